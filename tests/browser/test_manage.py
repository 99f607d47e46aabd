"""A manager's first hour, in a real browser: create a project with three labels, import a
file (see the bad row, fix it, import again), add an annotator, and see the counts."""

import re

import pytest
from playwright.sync_api import expect

from annotation.models import Item, Membership, Project
from annotation.services.importing import import_objects

pytestmark = pytest.mark.browser

BAD_CSV = b"id,text,label\nr1,Great battery,positive\nr2,Broke in a week,angry\nr3,It is a phone,\n"
GOOD_CSV = BAD_CSV.replace(b"angry", b"negative")


def csv_file(name: str, content: bytes) -> dict:
    return {"name": name, "mimeType": "text/csv", "buffer": content}


def fill_in_a_new_project(page) -> None:
    page.click("#new-project")
    page.fill("#id_name", "Phone reviews")
    page.fill("#id_description", "What buyers say about the phone.")
    page.fill("#id_overlap", "2")
    page.fill("#id_max_overlap", "3")
    page.select_option("#id_strategy", "entropy")
    rows = page.locator("#label-table tbody tr")
    rows.nth(0).locator("input[name=label_name]").fill("positive")
    rows.nth(1).locator("input[name=label_name]").fill("negative")
    page.click("#add-label")
    expect(rows).to_have_count(3)
    rows.nth(2).locator("input[name=label_name]").fill("neutral")
    rows.nth(2).locator("input[name=label_key]").press("n")
    rows.nth(2).locator("input[name=label_color]").fill("#888888")
    rows.nth(2).locator(".move-up").click()  # neutral goes between positive and negative
    page.fill("#id_guidelines", "# Rules\n\n**Overall** tone only. <script>alert(1)</script>")
    preview = page.locator("#guidelines-preview")
    expect(preview.locator("h1")).to_have_text("Rules")
    expect(preview.locator("strong")).to_have_text("Overall")
    assert preview.locator("script").count() == 0  # sanitized by the server


def test_a_manager_sets_up_a_project_in_the_browser(
    page, live_url, login, make_user, screenshot, page_errors
):
    make_user("boss", is_staff=True)  # staff may start projects (can_create_project)
    make_user("ann")
    login(page, "boss")
    fill_in_a_new_project(page)
    screenshot(page, "manage_new_project")
    page.click("button[type=submit]:has-text('Create project')")
    page.wait_for_url(re.compile(r"/projects/\d+/import$"))

    project = Project.objects.get(name="Phone reviews")
    assert (project.overlap, project.max_overlap, project.strategy) == (2, 3, "entropy")
    labels = [(x.name, x.key) for x in project.labels.all()]
    assert labels == [("positive", "1"), ("neutral", "n"), ("negative", "2")]
    assert project.labels.get(name="neutral").color == "#888888"

    # A file with one bad row: the error table, and nothing imported.
    page.set_input_files("#import-file", csv_file("reviews.csv", BAD_CSV))
    page.click("#import-submit")
    errors = page.locator("#import-errors tbody tr")
    expect(errors).to_have_count(1)
    cells = errors.first.locator("td")
    expect(cells.nth(0)).to_have_text("2")
    expect(cells.nth(1)).to_have_text("3")  # the line in the file
    expect(cells.nth(2)).to_have_text("label")
    expect(cells.nth(3)).to_contain_text("Unknown label 'angry'")
    expect(page.locator("#import-result")).to_contain_text("nothing was imported")
    screenshot(page, "manage_import_errors")
    assert Item.objects.filter(project=project).count() == 0

    # Fixed, uploaded again: imported, and the counts follow.
    page.set_input_files("#import-file", csv_file("reviews.csv", GOOD_CSV))
    page.click("#import-submit")
    expect(page.locator("#import-result .notice.ok")).to_contain_text("3 items imported")
    expect(page.locator("[data-count=items]")).to_have_text("3")
    assert Item.objects.filter(project=project).count() == 3
    screenshot(page, "manage_import_done")

    # Members: add an annotator.
    page.click("nav.project-nav >> text=Members")
    page.fill("#id_username", "ann")
    page.select_option("#id_role", "annotator")
    page.click("#add-member button[type=submit]")
    expect(page.locator("tr[data-username=ann] select")).to_have_value("annotator")
    assert Membership.objects.get(project=project, user__username="ann").role == "annotator"
    screenshot(page, "manage_members")

    # The project page: the manage section with the counts.
    page.click(f"a[href='/projects/{project.pk}/']")
    section = page.locator("#manage")
    expect(section.locator("[data-count=items]")).to_have_text("3")
    expect(section.locator("[data-count=members]")).to_have_text("2")
    expect(section.locator(".chip")).to_have_count(3)
    screenshot(page, "manage_project_page")
    page.click("a.brand")
    expect(page.locator("tr[data-project] td").first).to_have_text("Phone reviews")
    screenshot(page, "manage_home")
    assert page_errors == []


def test_settings_edit_reorders_labels_and_role_changes_save_themselves(
    page, live_url, login, project, members, screenshot, page_errors
):
    login(page, "manager")
    page.goto(f"{live_url}/projects/{project.pk}/settings")
    rows = page.locator("#label-table tbody tr")
    rows.nth(0).locator(".move-down").click()
    rows.nth(2).locator(".remove-label").click()
    page.check("#id_model_in_loop")
    screenshot(page, "manage_settings")
    page.click("button[type=submit]:has-text('Save settings')")
    expect(page.locator(".messages")).to_contain_text("Settings saved.")
    project.refresh_from_db()
    assert [x.name for x in project.labels.all()] == ["negative", "positive"]
    assert project.model_in_loop

    page.goto(f"{live_url}/projects/{project.pk}/members")
    page.select_option("tr[data-username=engineer] select", "reviewer")  # saves on change
    expect(page.locator(".messages")).to_contain_text("engineer is now reviewer")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("tr[data-username=annotator] .remove-member")
    expect(page.locator("tr[data-username=annotator]")).to_have_count(0)
    assert set(project.memberships.values_list("user__username", "role")) == {
        ("manager", "manager"), ("reviewer", "reviewer"), ("engineer", "reviewer")
    }  # fmt: skip
    assert page_errors == []


def test_a_large_file_becomes_a_job_the_page_follows(
    page, live_url, login, project, settings, screenshot, page_errors
):
    from quorum.celery import app

    settings.QUORUM_ASYNC_IMPORT_BYTES = 10  # every file is "large"
    app.conf.task_always_eager = True  # the job runs when the upload commits: no broker needed
    try:
        login(page, "manager")
        page.goto(f"{live_url}/projects/{project.pk}/import")
        page.set_input_files(
            "#import-file", csv_file("big.csv", b"text,label\nok,positive\nx,bad\n")
        )
        with page.expect_response(re.compile(r"/api/jobs/\d+$")) as polled:
            page.click("#import-submit")
        assert polled.value.json()["status"] == "failed"
        expect(page.locator("#import-errors tbody tr")).to_have_count(1)
        assert Item.objects.filter(project=project).count() == 0

        page.set_input_files("#import-file", csv_file("big.csv", b"text\nfirst\nsecond\n"))
        with page.expect_response(re.compile(r"/api/jobs/\d+$")) as polled:
            page.click("#import-submit")
        assert polled.value.json()["status"] == "succeeded"
        expect(page.locator("#import-result .notice.ok")).to_contain_text("2 items imported")
        expect(page.locator("[data-count=items]")).to_have_text("2")
        expect(page.locator("#import-batches tbody tr")).to_have_count(1)  # "nothing yet" went
        assert Item.objects.filter(project=project).count() == 2
        screenshot(page, "manage_import_job")
    finally:
        app.conf.task_always_eager = False
    assert page_errors == []


@pytest.mark.parametrize(("who", "status"), [("annotator", 403), ("outsider", 404)])
def test_other_roles_cannot_open_manager_pages(
    page, live_url, login, project, members, who, status
):
    login(page, who)
    response = page.goto(f"{live_url}/projects/{project.pk}/settings")
    assert response.status == status


def test_a_file_with_many_bad_rows_lists_a_hundred_and_counts_the_rest(
    page, live_url, login, project, page_errors
):
    login(page, "manager")
    page.goto(f"{live_url}/projects/{project.pk}/import")
    page.set_input_files("#import-file", csv_file("empty.csv", b"text\n" + b" \n" * 130))
    page.click("#import-submit")
    expect(page.locator("#import-errors tbody tr")).to_have_count(100)
    expect(page.locator("#import-result .more")).to_have_text("… and 30 more")
    expect(page.locator("#import-result .notice.bad")).to_contain_text("130 errors")
    assert page_errors == []


FOUR_BAD_ROWS = (
    "id,text,label\n"
    "r1,Great battery,positive\n"
    "r2,Broke in a week,angry\n"
    "old,Already imported,\n"
    "r4,,negative\n"
    "r1,Loud speaker,neutral\n"
)


def test_the_import_form_lists_every_bad_row_and_duplicate_in_one_pass_in_its_own_words(
    page, live_url, login, project, screenshot, page_errors
):
    import_objects(project=project, objects=[{"id": "old", "text": "imported last week"}])
    login(page, "manager")
    page.goto(f"{live_url}/projects/{project.pk}/import")
    page.set_input_files("#import-file", csv_file("reviews.csv", FOUR_BAD_ROWS.encode()))
    page.click("#import-submit")

    errors = page.locator("#import-errors tbody tr")
    expect(errors).to_have_count(4)  # the bad label, both repeated ids and the empty text
    codes = [errors.nth(i).get_attribute("data-code") for i in range(4)]
    assert codes == ["unknown_label", "duplicate", "empty_text", "duplicate"]
    expect(errors.nth(1).locator("td").nth(3)).to_have_text(
        "The id “old” is already an item of this project."
    )
    expect(errors.nth(3).locator("td").nth(3)).to_have_text(
        "The id “r1” is used earlier in this file, on row 1."
    )
    summary = page.locator("#import-summary li")
    expect(summary.nth(0)).to_have_text(
        "2 rows repeat an item already in the project or earlier in the file; choose "
        "“Skip duplicates” to leave them out."
    )
    expect(summary.nth(1)).to_have_text("2 rows have problems to fix in the file.")
    expect(page.locator("#import-result")).not_to_contain_text("on_duplicate")
    screenshot(page, "manage_import_every_bad_row")
    assert Item.objects.filter(project=project).count() == 1

    # Only the duplicates left: the page says skipping imports the rest, and it does.
    fixed = FOUR_BAD_ROWS.replace("angry", "negative").replace("r4,,", "r4,Too quiet,")
    page.set_input_files("#import-file", csv_file("reviews.csv", fixed.encode()))
    page.click("#import-submit")
    expect(errors).to_have_count(2)
    expect(page.locator("#import-summary li")).to_have_text(
        "2 rows repeat an item already in the project or earlier in the file; choose "
        "“Skip duplicates” to import the rest."
    )
    page.check("#import-skip")
    page.set_input_files("#import-file", csv_file("reviews.csv", fixed.encode()))
    page.click("#import-submit")
    expect(page.locator("#import-result .notice.ok")).to_contain_text(
        "3 items imported, 2 duplicates skipped"
    )
    assert Item.objects.filter(project=project).count() == 4
    assert page_errors == []


@pytest.mark.parametrize(
    ("content", "code", "words"),
    [
        (
            b'id,text\nr1,fine\nr2,"Broke in a week\nr3,ok\n',
            "unclosed_quote",
            "A quote opens on line 3 and is never closed, so the rest of the file reads as one "
            'cell. Close it; a quote inside a cell is written "".',
        ),
        (
            "text\nfine\ncafé\n".encode("cp1252"),
            "bad_encoding",
            "The file is not saved as UTF-8: byte 0xE9 at position 13 (line 3) is not UTF-8 "
            "text. Save it as UTF-8 (“CSV UTF-8” in a spreadsheet program) and upload it again.",
        ),
        (
            b"title,body\na,b\n",
            "missing_text_column",
            "The first line must name the columns, one of them “text” (or “image”); this "
            "file's first line has: title, body.",
        ),
    ],
)
def test_the_import_form_names_the_parser_cause_and_where_it_starts(
    page, live_url, login, project, content, code, words, page_errors
):
    login(page, "manager")
    page.goto(f"{live_url}/projects/{project.pk}/import")
    page.set_input_files("#import-file", csv_file("items.csv", content))
    page.click("#import-submit")
    row = page.locator("#import-errors tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-code", code)
    expect(row.locator("td").nth(3)).to_have_text(words)
    assert Item.objects.filter(project=project).count() == 0
    assert page_errors == []
