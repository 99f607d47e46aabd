"""Every main page under the enforced Content-Security-Policy, in real Chromium: no
violation is reported (console or ``securitypolicyviolation`` events), and label colours
still reach the page through data attributes, valid ones only."""

import re

import pytest
from django.test import override_settings

from annotation.models import Label
from annotation.services.importing import import_objects
from annotation.services.projects import membership_set, project_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs in every page before its own scripts: CDP-injected, so the policy does not apply to it.
WATCH_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""
PNG_1PX = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture
def watched(page, page_errors):
    """The page, with every CSP report it gets: ``(page, reports)``."""
    reports: list[str] = []
    page.add_init_script(WATCH_VIOLATIONS)

    def on_console(message):
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            reports.append(message.text)

    page.on("console", on_console)
    return page, reports


def violations(page, reports) -> list[str]:
    return reports + page.evaluate("window.__csp || []")


@pytest.fixture
def world(make_user):
    boss = make_user("boss", is_staff=True)
    texts = project_create(
        creator=boss, name="Reviews", labels=[{"name": "pos", "color": "#12ab34"}, "neg"],
        guidelines="# Rules\n\n[a link](https://example.org) and `code`.",
    )  # fmt: skip
    import_objects(
        project=texts, objects=[{"id": f"r{i}", "text": f"review {i}"} for i in range(3)]
    )
    images = project_create(creator=boss, name="Digits", data_type="image", labels=["0", "1"])
    import_objects(project=images, objects=[{"id": "d0", "image": PNG_1PX}])
    for project in (texts, images):
        membership_set(project=project, user=boss, role="manager")
    return {"boss": boss, "texts": texts, "images": images}


def main_pages(world) -> list[tuple[str, str]]:
    t, i = world["texts"].pk, world["images"].pk
    return [
        ("home", "/"),
        ("new project", "/projects/new"),
        ("project", f"/projects/{t}/"),
        ("label", f"/projects/{t}/label"),
        ("label images", f"/projects/{i}/label"),
        ("review", f"/projects/{t}/review"),
        ("dashboard", f"/projects/{t}/dashboard"),
        ("settings", f"/projects/{t}/settings"),
        ("import", f"/projects/{t}/import"),
        ("members", f"/projects/{t}/members"),
        ("alerts & webhooks", f"/projects/{t}/webhooks"),
        ("admin", "/admin/"),
        ("api docs", "/api/docs/"),
    ]


def test_no_page_reports_a_violation(watched, live_url, login, world, page_errors, make_user):
    page, reports = watched
    for who, path in (("login", "/login/"), ("admin login", "/admin/login/")):
        response = page.goto(live_url + path)
        assert "default-src 'self'" in response.headers["content-security-policy"], who
        page.wait_for_load_state("networkidle")
        assert violations(page, reports) == [], who
    login(page, "boss")
    for name, path in main_pages(world):
        response = page.goto(live_url + path)
        assert response.status == 200, name
        assert "script-src 'self'" in response.headers["content-security-policy"], name
        page.wait_for_load_state("networkidle")
        assert violations(page, reports) == [], name
    assert page.locator(".swagger-ui").count() == 1  # Swagger UI really rendered
    # The error pages are pages too: styled, under the same policy (403: an annotator's review).
    membership_set(project=world["texts"], user=make_user("ann"), role="annotator")
    for name, path, status, who in (("404", "/projects/999999/", 404, "boss"),
                                    ("403", f"/projects/{world['texts'].pk}/review", 403, "ann")):  # fmt: skip
        page.context.clear_cookies()
        login(page, who)
        response = page.goto(live_url + path)
        assert response.status == status, name
        assert "script-src 'self'" in response.headers["content-security-policy"], name
        page.wait_for_load_state("networkidle")
        assert page.locator(f"[data-error='{status}']").count() == 1, name
        assert violations(page, reports) == [], name
    page.context.clear_cookies()
    login(page, "boss")
    # The snapshot form posts and lands on the project page.
    page.goto(f"{live_url}/projects/{world['texts'].pk}/")
    page.click("#snapshots button[type=submit]")
    page.wait_for_url(re.compile(r"#snapshots$"))
    page.wait_for_load_state("networkidle")
    assert violations(page, reports) == []
    assert page_errors == []


def test_label_colours_come_from_data_attributes_and_only_as_rrggbb(
    watched, live_url, login, world
):
    page, reports = watched
    project = world["texts"]
    # A colour that slipped past validation (written straight to the database) is not applied.
    Label.objects.filter(project=project, name="neg").update(
        color="#1;}*{x"
    )  # 7 characters: the column holds 7
    login(page, "boss")
    page.goto(f"{live_url}/projects/{project.pk}/label")
    page.wait_for_selector("#lab[data-state=ready]")
    colour = "getComputedStyle(document.querySelector('[data-label=\"%s\"]'))" \
             ".getPropertyValue('--label-color').trim()"  # fmt: skip
    assert page.evaluate(colour % "pos") == "#12ab34"
    assert page.evaluate(colour % "neg") == "#4e79a7"  # the stylesheet's default
    assert violations(page, reports) == []


@override_settings(QUORUM_CSP_REPORT_ONLY=True)
def test_report_only_mode_sends_the_same_policy_under_the_report_only_header(page, live_url):
    response = page.goto(f"{live_url}/login/")
    headers = response.headers
    assert "content-security-policy" not in headers
    assert "script-src 'self'" in headers["content-security-policy-report-only"]
