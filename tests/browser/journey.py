"""A persona's way through the site, watched: every page it visits is screenshotted (under
``var/ci/screenshots/<journey>/``, kept by CI as artefacts), checked by axe-core for serious
or critical WCAG 2.1 AA violations, and any console error, uncaught error or failed request
fails the journey.

axe-core (``static/vendor/axe-core``) is injected with ``add_init_script``: CDP puts it in
every document before the page's own scripts, outside the Content-Security-Policy, and no
page ever links it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "ci" / "screenshots"
AXE = ROOT / "static" / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

RUN_AXE = """async ([tags, blocking]) => {
  const result = await axe.run(document, {
    runOnly: { type: "tag", values: tags }, resultTypes: ["violations"],
  });
  return result.violations.filter((v) => blocking.includes(v.impact)).map((v) =>
    `${v.id} (${v.impact}): ${v.help}: ` +
    v.nodes.slice(0, 3).map((n) => n.target.join(" ") + " " + (n.failureSummary || "")).join(" | "));
}"""


class Journey:
    """``journey.seen("name")`` after each step that shows a new page or state."""

    def __init__(self, page, name: str, *, refusals: tuple[tuple[str, int], ...] = ()):
        self.page, self.name = page, name
        # Answers the journey provokes on purpose: (path fragment, status), e.g. the import
        # API's 400 for a file with bad rows. Anything else >= 400 is a failure.
        self.refusals = refusals
        self.problems: list[str] = []
        self.pages: list[Path] = []
        self.folder = SCREENSHOTS / name
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        page.add_init_script(path=str(AXE))
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)

    def _expected(self, url: str, status: int) -> bool:
        return any(fragment in url and status == code for fragment, code in self.refusals)

    def _console(self, message) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        if "Failed to load resource" in message.text and any(f in url for f, _ in self.refusals):
            return  # the browser's own log line for a refusal we provoked (checked below)
        self.problems.append(f"console: {message.text} ({url})")

    def _request_failed(self, request) -> None:
        failure = request.failure or ""
        if "ERR_ABORTED" in failure:
            # The browser cancelled it: the page navigated away while a fetch was in flight, or
            # a download went to the downloads folder. No answer was refused or lost.
            return
        self.problems.append(f"failed: {request.method} {request.url}: {failure}")

    def _response(self, response) -> None:
        if response.status >= 400 and not self._expected(response.url, response.status):
            self.problems.append(f"{response.status}: {response.request.method} {response.url}")

    def seen(self, step: str) -> Path:
        """Screenshot the page, run axe-core on it, and fail on anything gone wrong so far."""
        page = self.page
        page.wait_for_load_state("networkidle")  # the page's own fetches are in the picture
        path = self.folder / f"{len(self.pages) + 1:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        self.pages.append(path)
        violations = page.evaluate(RUN_AXE, [WCAG_21_AA, list(BLOCKING)])
        assert not violations, f"{self.name}/{step}: axe-core:\n" + "\n".join(violations)
        self.done()
        return path

    def done(self) -> None:
        assert not self.problems, f"{self.name}: " + "\n".join(self.problems)
