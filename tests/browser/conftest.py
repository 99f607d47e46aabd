"""Browser fixtures: the system Chromium driven by Playwright against a live Django server.

Reuse them from any ``tests/browser/test_*.py``::

    @pytest.mark.browser
    def test_something(page, live_url, login, screenshot, make_user):
        make_user("ann")
        login(page, "ann")                 # password is "pw-ann", as in tests/conftest.py
        page.goto(live_url + "/projects/1/label")
        screenshot(page, "labeling")       # -> tests/artifacts/labeling.png

Fixtures: ``browser`` (session), ``new_context()`` (a fresh, isolated browser profile: a
second annotator), ``page`` (one page in its own context), ``live_url``, ``login``,
``screenshot``, ``page_errors`` (uncaught JavaScript errors of ``page``).
"""

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer

CHROMIUM = Path(os.environ.get("QUORUM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
VIEWPORT = {"width": 1280, "height": 800}
# Short waits: a page that takes longer than this to react is a failure worth seeing.
TIMEOUT_MS = 5_000


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"browser tests need Chromium at {CHROMIUM} (apt install chromium)"
    if os.environ.get("CI") or os.environ.get("QUORUM_REQUIRE_SERVICES"):
        pytest.fail(message)
    pytest.skip(message)


class _SerializedWSGIServer(ThreadedWSGIServer):
    """A threaded server that runs one request at a time through the app.

    With an in-memory SQLite test database Django hands every server thread the *same*
    connection; two concurrent requests would interleave their transactions on it. Holding
    a lock around the application keeps each request's transaction whole. On PostgreSQL
    (CI) the ordinary threaded server is used, so real concurrency is exercised there.
    """

    def set_app(self, application):
        lock = threading.Lock()

        def serialized(environ, start_response):
            with lock:
                return application(environ, start_response)

        super().set_app(serialized)


@pytest.fixture(scope="session")
def _live_server(django_db_setup, django_db_blocker) -> Iterator[str]:
    from pytest_django.live_server_helper import LiveServer

    with django_db_blocker.unblock():
        server = LiveServer("localhost", start=False)
        if server.thread.connections_override:  # in-memory SQLite: one shared connection
            server.thread.server_class = _SerializedWSGIServer
        server.start()
    server._live_server_modified_settings.enable()
    yield server.url
    server._live_server_modified_settings.disable()
    server.stop()


@pytest.fixture
def live_url(_live_server, transactional_db) -> str:
    """Base URL of the live server (no trailing slash). The database is transactional:
    the server's threads must see what the test commits."""
    return _live_server


@pytest.fixture(scope="session")
def browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop in this thread, which makes Django refuse
    # ORM calls from the test ("async unsafe"). Nothing here is async: the loop only drives
    # the browser, so the check is switched off while the browser lives.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()
    playwright.stop()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_context(browser) -> Iterator[Callable]:
    """Make isolated browser contexts (own cookies and localStorage); closed after the test."""
    contexts = []

    def make(**options):
        context = browser.new_context(viewport=VIEWPORT, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page_errors() -> list[str]:
    return []


@pytest.fixture
def page(new_context, page_errors):
    page = new_context().new_page()
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    return page


@pytest.fixture
def login(live_url) -> Callable:
    """``login(page, username)``: sign in through the login form (password "pw-<username>")."""

    def do_login(page, username: str) -> None:
        page.goto(f"{live_url}/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", f"pw-{username}")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_url}/")

    return do_login


@pytest.fixture
def screenshot() -> Callable:
    """``screenshot(page, name)`` saves tests/artifacts/<name>.png (gitignored) and returns it."""

    def take(page, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
