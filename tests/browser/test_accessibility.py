"""Accessibility beyond the journeys: the pages they do not visit pass axe-core too, the
labeling and review pages work by keyboard with a visible focus, and every label colour gets
a text colour with a contrast of at least 4.5:1."""

import pytest
from playwright.sync_api import expect

from annotation.services.importing import import_objects
from annotation.services.projects import PALETTE, membership_set, project_create
from tests.annotation.review_helpers import blobs_with_flips, run_job
from tests.browser.journey import Journey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LABELS = ["positive", "negative", "neutral"]


@pytest.fixture
def texts(make_user):
    boss = make_user("boss", is_staff=True)
    project = project_create(creator=boss, name="Reviews", labels=LABELS)
    rows, _ = blobs_with_flips()
    import_objects(project=project, objects=rows)
    for name, role in (("ann", "annotator"), ("rita", "reviewer")):
        membership_set(project=project, user=make_user(name), role=role)
    return project


def focus_ring(page) -> str:
    """The focused element's outline, as computed: a visible ring is not 'none' nor 0px."""
    return page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return `${s.outlineStyle} ${s.outlineWidth}`; }"
    )


def test_the_pages_no_journey_visits_pass_axe(page, live_url, login, texts):
    journey = Journey(page, "other-pages", refusals=(("/review", 403), ("/999999/", 404)))
    page.goto(f"{live_url}/login/")
    journey.seen("login")
    login(page, "boss")
    page.goto(f"{live_url}/projects/{texts.pk}/settings")
    journey.seen("settings")
    page.click("a.brand")
    page.click("#new-project")
    journey.seen("new-project")
    page.context.clear_cookies()
    login(page, "ann")
    assert page.goto(f"{live_url}/projects/{texts.pk}/review").status == 403
    expect(page.locator("[data-error='403']")).to_contain_text("Only reviewers and managers")
    journey.seen("forbidden")
    page.click("[data-error='403'] a.button")
    expect(page.locator("main > h1")).to_have_text("Reviews")
    assert page.goto(f"{live_url}/projects/999999/").status == 404
    journey.seen("not-found")
    journey.done()


def test_review_by_keyboard_alone_with_a_visible_focus(page, live_url, login, texts):
    run_job(texts)
    login(page, "rita")
    page.goto(f"{live_url}/projects/{texts.pk}/review")
    page.wait_for_selector("#rev[data-state=ready]")
    first = page.get_attribute("#item", "data-issue-id")
    for _ in range(30):  # Tab through the page to the first action button
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.dataset.action") == "accept":
            break
    assert page.evaluate("() => document.activeElement.dataset.action") == "accept"
    assert focus_ring(page).startswith("solid") and not focus_ring(page).endswith(" 0px")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "first => document.getElementById('item').dataset.issueId !== first", arg=first
    )
    # Relabel by Tab and Enter: the menu opens, its first label takes the focus by Tab.
    page.keyboard.press("Tab")  # Relabel
    page.keyboard.press("Enter")
    expect(page.locator("#labels")).to_be_visible()
    expect(page.locator("[data-action=relabel]")).to_have_attribute("aria-expanded", "true")


def test_labeling_keeps_the_keyboard_way_out_to_the_project_bar(page, live_url, login, texts):
    fresh = [{"id": f"n{i}", "text": f"New review {i}."} for i in range(5)]
    import_objects(project=texts, objects=fresh)
    login(page, "ann")
    page.goto(f"{live_url}/projects/{texts.pk}/label")
    page.wait_for_selector("#lab[data-state=ready]")
    item = page.get_attribute("#item", "data-item-id")
    for _ in range(40):  # Shift+Tab walks back to the project bar; nothing is skipped
        page.keyboard.press("Shift+Tab")
        if page.evaluate("() => document.activeElement.dataset.nav") == "project-detail":
            break
    assert page.evaluate("() => document.activeElement.dataset.nav") == "project-detail"
    assert focus_ring(page).startswith("solid")
    page.keyboard.press("Tab")  # on a link, Tab moves on: it does not skip the item
    assert page.get_attribute("#item", "data-item-id") == item
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_url}/projects/{texts.pk}/label")


MID_GREYS = ["#777777", "#767676", "#808080", "#8a8a8a", "#6f6f6f"]


def test_every_label_colour_gets_text_with_a_contrast_of_at_least_4_5(page, live_url, login, texts):
    login(page, "rita")
    page.click("table.projects a:has-text('Reviews')")
    page.wait_for_load_state("load")
    colours = [*PALETTE, *MID_GREYS, "#000000", "#ffffff", "#ff0000", "#00ff00", "#0000ff",
               *(f"#{v:02x}{(v * 7) % 256:02x}{(v * 13) % 256:02x}" for v in range(0, 256, 5))]  # fmt: skip
    worst = page.evaluate(
        "colours => Math.min(...colours.map((c) =>"
        " window.QuorumColors.contrast(c, window.QuorumColors.textFor(c))))",
        colours,
    )
    assert worst >= 4.5
    # And the chips on the review page carry it: text colour set beside the background.
    run_job(texts)
    page.click("[data-nav=review]")
    chip = page.locator("#given .label-chip").first
    assert chip.evaluate("n => n.style.getPropertyValue('--label-text')") in ("#000000", "#ffffff")
