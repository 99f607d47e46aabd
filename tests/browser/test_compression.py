"""A manager previews a compression profile in the browser: the curve, removed spans struck
through (hostile text shown as text), and the level picker driven by keys, under the CSP and
axe-core (tests/browser/journey.py)."""

import re

import pytest
from playwright.sync_api import expect

from annotation.jobs.runner import job_execute
from annotation.models import Item, Job
from annotation.services.compression import compression_job_start
from tests.browser.journey import Journey
from tests.compression_helpers import compression_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
WATCH = """window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective));
"""


@pytest.fixture
def swept(project, manager) -> Job:
    items = compression_project(project, manager, n=30)
    Item.objects.filter(pk=items[0].pk).update(text=f"{HOSTILE}\n{items[0].text}")
    job, _ = compression_job_start(project=project, user=manager)
    job_execute(job_id=job.pk, task_id="test")
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    return job


def test_a_manager_reads_the_curve_and_walks_the_levels_by_keyboard(
    page, live_url, login, project, swept
):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.add_init_script(WATCH)
    journey = Journey(page, "compression-preview")
    login(page, "manager")
    page.goto(f"{live_url}/projects/{project.pk}/compression")
    proposed = swept.result["proposed"]
    levels = [0.0] + [s["level"] for s in swept.result["settings"]]
    table = page.locator("#curve-table")
    expect(table.locator("tbody tr")).to_have_count(len(levels))
    expect(page.locator("#proposed-link")).to_have_text(str(proposed))
    journey.seen("proposed")

    # the most aggressive level: the banner is struck through, the content is not
    page.goto(f"{live_url}/projects/{project.pk}/compression?level={levels[-1]}")
    expect(page.locator(".curve-table tr[aria-current=true]")).to_have_attribute(
        "data-level", str(levels[-1])
    )
    first = page.locator(".sample").first
    expect(first.locator("del").first).to_be_visible()
    struck = " ".join(page.locator(".sample-text del").all_inner_texts())
    assert "We use cookies" in struck and "Order" not in struck
    expect(page.locator(".sample-text").filter(has_text="<script>alert(1)</script>")).to_have_count(
        1
    )
    before = int(first.locator(".tokens-before").inner_text())
    after = int(first.locator(".tokens-after").inner_text())
    assert after < before
    journey.seen("most-aggressive")

    page.keyboard.press("ArrowLeft")  # one level down
    page.wait_for_url(re.compile(rf"level={re.escape(str(levels[-2]))}$"))
    expect(page.locator(".curve-table tr[aria-current=true]")).to_have_attribute(
        "data-level", str(levels[-2])
    )
    page.keyboard.press("p")
    page.wait_for_url(re.compile(rf"level={re.escape(str(proposed))}$"))
    page.keyboard.press("j")
    expect(page.locator(".sample").first).to_be_focused()
    page.keyboard.press("j")
    expect(page.locator(".sample").nth(1)).to_be_focused()
    journey.seen("keyboard")
    assert dialogs == [] and page.evaluate("window.__csp") == []
    journey.done()


def test_r_starts_a_sweep_from_the_page(page, live_url, login, project, manager):
    compression_project(project, manager, n=12)
    journey = Journey(page, "compression-run")
    login(page, "manager")
    page.goto(f"{live_url}/projects/{project.pk}/compression")
    expect(page.locator("#no-sweep")).to_be_visible()
    journey.seen("no-sweep")
    page.keyboard.press("r")
    expect(page.locator(".messages")).to_contain_text("Compression sweep")
    assert Job.objects.filter(kind="compression").count() == 1
    journey.seen("queued")
    journey.done()
