"""Every persona's way through the site, from login to done, in real Chromium, using only
what is on screen: links, buttons and keys (no typed URL after the login page).

Each journey (tests/browser/journey.py) screenshots every page it visits under
``var/ci/screenshots/<persona>/``, runs axe-core on it (no serious or critical WCAG 2.1 AA
violation), and fails on any console error, uncaught error or failed request.
"""

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from annotation.models import (
    Annotation,
    IssueStatus,
    Job,
    JobKind,
    LabelIssue,
    Membership,
    Project,
    ReviewAction,
    Snapshot,
)
from annotation.services.importing import import_objects
from annotation.services.projects import membership_set, project_create
from annotation.services.users import user_allow_project_creation
from tests.annotation.review_helpers import blobs_with_flips, run_job
from tests.browser.journey import Journey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LABELS = ["positive", "negative", "neutral"]
READY = "#lab[data-state=ready]"


def shown(page, selector: str, attribute: str) -> str:
    return page.get_attribute(selector, attribute)


def press_and_wait(page, key: str, *, root: str, item: str, attribute: str) -> str:
    """Press ``key``; wait until another item shows (or the page says it is done)."""
    before = shown(page, item, attribute)
    page.keyboard.press(key)
    page.wait_for_function(
        """([root, item, attribute, before]) => {
          const state = document.querySelector(root).dataset.state;
          return state === "empty" || (state !== "loading" &&
            document.querySelector(item).getAttribute(attribute) !== before);
        }""",
        arg=[root, item, attribute, before],
    )
    return before


def open_project_from_home(page, journey: Journey, name: str) -> None:
    journey.seen("home")
    page.click(f"table.projects a:has-text('{name}')")
    expect(page.locator("main > h1")).to_have_text(name)
    journey.seen("project")


def test_the_annotator_labels_twenty_items_and_fixes_one(page, login, make_user):
    boss, ann = make_user("boss", is_staff=True), make_user("ann")
    project = project_create(creator=boss, name="Phone reviews", labels=LABELS,
                             guidelines="# Rules\n\nThe **overall** tone.")  # fmt: skip
    import_objects(
        project=project, objects=[{"id": f"r{i}", "text": f"Review {i}."} for i in range(25)]
    )
    membership_set(project=project, user=ann, role="annotator")
    journey = Journey(page, "annotator")
    login(page, "ann")
    open_project_from_home(page, journey, "Phone reviews")
    page.click("[data-hub=label]")
    page.wait_for_selector(READY)
    journey.seen("label")

    said = {}
    for i in range(20):
        key = "123"[i % 3]
        said[press_and_wait(page, key, root="#lab", item="#item", attribute="data-item-id")] = key
    twentieth = list(said)[-1]
    page.keyboard.press("z")  # back to the 20th ("negative", key 2, by mistake): fix it
    page.wait_for_function(
        "id => document.getElementById('item').dataset.itemId === id", arg=twentieth
    )
    journey.seen("label-going-back")
    page.keyboard.press("3")
    page.wait_for_selector(READY)
    page.wait_for_selector("#lab[data-pending='0']", state="attached")
    journey.seen("label-fixed")

    page.click("nav.project-nav >> text=Overview")
    journey.seen("project-after")
    mine = dict(Annotation.objects.filter(annotator=ann).values_list("item_id", "labels"))
    assert len(mine) == 20 and mine[int(twentieth)] == ["neutral"]
    journey.done()


def test_the_reviewer_works_the_flags_relabels_and_undoes(page, login, make_user):
    boss, rita = make_user("boss", is_staff=True), make_user("rita")
    project = project_create(creator=boss, name="Sentiment", labels=LABELS)
    rows, flipped = blobs_with_flips()
    import_objects(project=project, objects=rows)
    run_job(project)
    membership_set(project=project, user=rita, role="reviewer")
    journey = Journey(page, "reviewer")
    login(page, "rita")
    open_project_from_home(page, journey, "Sentiment")
    expect(page.locator("[data-hub=review] .count")).to_have_text(f"{len(flipped)} open")
    page.click("[data-hub=review]")
    page.wait_for_selector("#rev[data-state=ready]")
    journey.seen("review")

    step = dict(root="#rev", item="#item", attribute="data-issue-id")
    accepted = press_and_wait(page, "a", **step)
    page.keyboard.press("r")
    expect(page.locator("#labels")).to_be_visible()
    journey.seen("review-relabel-menu")
    relabeled = press_and_wait(page, "2", **step)  # r, then the key of "negative"
    dismissed = press_and_wait(page, "d", **step)
    page.keyboard.press("u")  # that dismissal was a mistake: take it back
    expect(page.locator("#status")).to_contain_text("Undone: your dismissal of the flag on item")
    page.wait_for_function("id => document.getElementById('item').dataset.issueId === id",
                           arg=dismissed)  # fmt: skip
    journey.seen("review-undone")
    taken = press_and_wait(page, "t", **step)
    assert taken == dismissed
    while page.get_attribute("#rev", "data-state") != "empty":
        press_and_wait(page, "d", **step)
    journey.seen("review-done")
    page.click("#done >> text=Back to the project")
    page.click("[data-hub=project-dashboard]")
    journey.seen("dashboard")

    status = dict(LabelIssue.objects.values_list("pk", "status"))
    assert status[int(accepted)] == IssueStatus.ACCEPTED
    assert status[int(relabeled)] == status[int(taken)] == IssueStatus.RELABELED
    log = list(
        ReviewAction.objects.filter(reviewer=rita).order_by("id").values_list("action", flat=True)
    )
    assert log[:5] == ["accept", "relabel", "dismiss", "undo", "relabel"]
    journey.done()


BAD_CSV = (
    "id,text,label\nr1,Great battery,positive\nr2,Broke in a week,angry\n"
    "r3,It is a phone,\nr4,Loud speaker,loud\nr1,Great battery again,positive\n"
)


def upload(page, content: str) -> None:
    page.set_input_files(
        "#import-file", {"name": "reviews.csv", "mimeType": "text/csv", "buffer": content.encode()}
    )
    page.click("#import-submit")


def test_the_manager_creates_a_project_imports_fixes_and_adds_members(page, login, make_user):
    user_allow_project_creation(user=make_user("mia"))
    make_user("ann")
    make_user("rita")
    journey = Journey(page, "manager", refusals=(("/import", 400),))
    login(page, "mia")
    journey.seen("home")
    page.click("#new-project")
    journey.seen("new-project")
    page.fill("#id_name", "Phone reviews")
    rows = page.locator("#label-table tbody tr")
    rows.nth(0).locator("input[name=label_name]").fill("positive")
    rows.nth(1).locator("input[name=label_name]").fill("negative")
    page.click("#add-label")
    rows.nth(2).locator("input[name=label_name]").fill("neutral")
    page.click("button[type=submit]:has-text('Create project')")
    page.wait_for_url(re.compile(r"/projects/\d+/import$"))
    journey.seen("import")

    upload(page, BAD_CSV)
    # One pass lists every bad row, the repeated id too, in the page's words.
    expect(page.locator("#import-errors tbody tr")).to_have_count(3)
    expect(page.locator("#import-errors tr[data-code=duplicate]")).to_contain_text(
        "The id “r1” is used earlier in this file, on row 1."
    )
    expect(page.locator("#import-summary")).to_contain_text("2 rows have problems to fix")
    journey.seen("import-errors")
    fixed = BAD_CSV.replace("angry", "negative").replace("loud", "positive")
    upload(page, fixed.replace("r1,Great battery again", "r5,Great battery again"))
    expect(page.locator("#import-result .notice.ok")).to_contain_text("5 items imported")
    journey.seen("import-done")

    page.click("nav.project-nav >> text=Members")
    for username, role in (("ann", "annotator"), ("rita", "reviewer")):
        page.fill("#id_username", username)
        page.select_option("#id_role", role)
        page.click("#add-member button[type=submit]")
        expect(page.locator(f"tr[data-username={username}] select")).to_have_value(role)
    journey.seen("members")
    page.click("nav.project-nav >> text=Overview")
    journey.seen("project")

    project = Project.objects.get(name="Phone reviews")
    assert project.items.count() == 5
    assert set(Membership.objects.filter(project=project).values_list("user__username", "role")) == {
        ("mia", "manager"), ("ann", "annotator"), ("rita", "reviewer"),
    }  # fmt: skip
    journey.done()


@pytest.fixture
def jobs_run_in_the_server():
    """Jobs run eagerly in the server, as a worker would run them (tests/integration proves a
    real worker does): no message reaches a broker that a test worker might be reading."""
    from quorum.celery import app

    saved = {key: app.conf.get(key) for key in ("task_always_eager", "task_eager_propagates")}
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield
    app.conf.update(saved)


def test_the_engineer_cuts_a_snapshot_and_downloads_it(
    page, login, make_user, settings, tmp_path, jobs_run_in_the_server
):
    settings.QUORUM_EXPORT_DIR = tmp_path
    boss, eve = make_user("boss", is_staff=True), make_user("eve")
    project = project_create(creator=boss, name="Training set", labels=LABELS)
    objects = [{"id": f"w{n}", "text": f"text {n}", "label": LABELS[n % 3]} for n in range(30)]
    import_objects(project=project, objects=objects)
    membership_set(project=project, user=eve, role="engineer")
    journey = Journey(page, "engineer")
    login(page, "eve")
    open_project_from_home(page, journey, "Training set")
    page.click("[data-hub=snapshots]")
    page.click("#snapshots button:has-text('Cut a new snapshot')")
    expect(page.locator(".messages")).to_contain_text("Snapshot v1 is being built.")
    assert Job.objects.get(project=project, kind=JobKind.SNAPSHOT).status == "succeeded"
    page.reload()  # the browser's reload button: the table shows it ready
    expect(page.locator("#snapshots td").nth(1)).to_have_text("ready")
    journey.seen("snapshot-ready")
    with page.expect_download() as download:
        page.click("#snapshots .download-buttons a:has-text('CSV')")
    path = tmp_path / "download.csv"
    download.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert len(rows) == Snapshot.objects.get(project=project).row_count == 30
    journey.done()
