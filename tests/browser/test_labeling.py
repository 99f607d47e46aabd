"""The labeling page in real headless Chromium: keyboard-only labeling, going back,
skipping, guidelines, two annotators on one queue, script-free item text, multi-label,
and labels that survive a dropped connection or an expired session."""

import io
import re
import time
from datetime import timedelta

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image
from sklearn.datasets import load_digits

from annotation.models import Annotation, Item, Lease, Skip
from annotation.services.importing import import_objects
from annotation.services.labeling import annotation_submit, queue_next
from annotation.services.projects import membership_set, project_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GUIDELINES = "# How to label\n\nLabel the **overall** sentiment of the review.\n"
READY = "#lab[data-state=ready]"


def make_project(creator, *, annotators, n_items: int, texts=None, **fields):
    """A project whose items are ``texts`` (or numbered reviews), with annotator members."""
    project = project_create(
        creator=creator, name=fields.pop("name", "Reviews"),
        labels=fields.pop("labels", ["positive", "negative", "neutral"]),
        guidelines=GUIDELINES, **fields,
    )  # fmt: skip
    if texts is None:
        texts = [f"Review {i}.\nSecond line of review {i}." for i in range(n_items)]
    if texts:
        objects = [{"id": f"r{i}", "text": text} for i, text in enumerate(texts)]
        import_objects(project=project, objects=objects)
    for user in annotators:
        membership_set(project=project, user=user, role="annotator")
    return project


def open_labeling(page, live_url: str, project) -> None:
    page.goto(f"{live_url}/projects/{project.pk}/label")
    page.wait_for_selector(READY)


def shown_item(page) -> int:
    return int(page.get_attribute("#item", "data-item-id"))


def press_and_advance(page, key: str) -> int:
    """Press ``key`` on the shown item; wait for the next one. Returns the labeled item's id."""
    before = shown_item(page)
    page.keyboard.press(key)
    page.wait_for_function(
        "before => { const lab = document.getElementById('lab');"
        " const id = document.getElementById('item').dataset.itemId;"
        " return lab.dataset.state !== 'loading' && id !== String(before); }",
        arg=before,
    )
    return before


def wait_until_sent(page) -> None:
    page.wait_for_selector("#lab[data-pending='0']", state="attached")


def labels_in_db(user) -> dict[int, list[str]]:
    return dict(Annotation.objects.filter(annotator=user).values_list("item_id", "labels"))


def test_keyboard_only_labeling_back_skip_and_guidelines(
    page, live_url, login, make_user, screenshot, page_errors
):
    ann = make_user("ann")
    project = make_project(make_user("boss"), annotators=[ann], n_items=25)
    login(page, "ann")
    open_labeling(page, live_url, project)
    screenshot(page, "labeling-text")

    expected: dict[int, list[str]] = {}
    names = {"1": "positive", "2": "negative", "3": "neutral"}
    for i in range(20):
        key = "123"[i % 3]
        expected[press_and_advance(page, key)] = [names[key]]
    on_screen = shown_item(page)

    # Back twice reaches the 19th item; a new key changes its label and returns to the queue.
    nineteenth = list(expected)[18]
    page.keyboard.press("z")
    page.keyboard.press("Backspace")
    page.wait_for_function(
        f"() => document.getElementById('item').dataset.itemId === '{nineteenth}'"
    )
    assert page.get_attribute("#lab", "data-state") == "review"
    screenshot(page, "labeling-review")
    page.keyboard.press("3")
    page.wait_for_selector(READY)
    assert shown_item(page) == on_screen
    expected[nineteenth] = ["neutral"]

    skipped = press_and_advance(page, "s")

    page.keyboard.press("g")
    assert page.locator("#guidelines").is_visible()
    assert "overall" in page.locator("#guidelines h1 + p").inner_text()
    screenshot(page, "labeling-guidelines")
    page.keyboard.press("Escape")
    assert not page.locator("#guidelines").is_visible()
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    page.keyboard.press("Escape")

    wait_until_sent(page)
    assert labels_in_db(ann) == expected
    assert list(Skip.objects.filter(annotator=ann).values_list("item_id", flat=True)) == [skipped]
    assert not Annotation.objects.filter(annotator=ann, time_spent_ms__isnull=True).exists()
    page.wait_for_function("() => document.getElementById('mine').textContent === '20'")

    # After a reload, "back" comes from the server's history, with my label shown as chosen.
    page.reload()
    page.wait_for_selector(READY)
    page.keyboard.press("z")
    twentieth = list(expected)[19]
    page.wait_for_function(
        f"() => document.getElementById('item').dataset.itemId === '{twentieth}'"
    )
    pressed = page.locator(".label-btn[aria-pressed=true]").get_attribute("data-label")
    assert [pressed] == expected[twentieth]
    assert not page_errors


def test_next_item_appears_without_waiting_for_the_network(page, live_url, login, make_user):
    ann = make_user("ann")
    project = make_project(make_user("boss"), annotators=[ann], n_items=5)
    login(page, "ann")
    open_labeling(page, live_url, project)
    page.wait_for_selector("#lab[data-buffered='1']", state="attached")
    # The prefetched item is on screen in the same task as the key press: no round trip.
    changed = page.evaluate(
        "() => { const before = document.getElementById('item').dataset.itemId;"
        " document.body.dispatchEvent(new KeyboardEvent('keydown', {key: '1', bubbles: true}));"
        " return document.getElementById('item').dataset.itemId !== before; }"
    )
    assert changed
    wait_until_sent(page)


def test_the_count_of_my_labels_stays_exact_when_labels_arrive_during_a_progress_refresh(
    page, live_url, login, make_user, page_errors
):
    """Label, go back with z and change it, label the next item while the page's progress
    request is on its way: the server's answer already counts that label, so "labeled by
    you" must not add it a second time (it read one too many)."""
    ann = make_user("ann")
    project = make_project(make_user("boss"), annotators=[ann], n_items=6)
    login(page, "ann")
    open_labeling(page, live_url, project)
    page.wait_for_function("() => document.getElementById('mine').textContent === '0'")
    page.evaluate(
        "() => { window.shownCounts = [];"
        " new MutationObserver(() => window.shownCounts.push("
        "   document.getElementById('mine').textContent))"
        " .observe(document.getElementById('mine'), {childList: true, characterData: true,"
        "   subtree: true}); }"
    )
    held = []  # progress requests, held here: the test decides when the server answers
    page.route(re.compile(r"/api/projects/\d+/progress$"), lambda route: held.append(route))

    press_and_advance(page, "1")
    wait_until_sent(page)
    page.wait_for_function("() => document.getElementById('mine').textContent === '1'")
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:  # the refresh after the delivery
        page.wait_for_timeout(100)
    assert len(held) == 1

    page.keyboard.press("z")  # back to the first item, and change its label
    page.wait_for_selector("#lab[data-state=review]", state="attached")
    page.keyboard.press("2")
    page.wait_for_selector(READY)
    press_and_advance(page, "3")  # delivered while the progress request is held
    wait_until_sent(page)
    assert Annotation.objects.filter(annotator=ann).count() == 2

    held.pop(0).continue_()  # the server counts both labels
    page.wait_for_timeout(300)
    for route in held:  # later refreshes fail: the page keeps its own count
        route.abort()
    page.unroute(re.compile(r"/api/projects/\d+/progress$"))
    page.wait_for_timeout(1500)
    assert page.text_content("#mine") == "2"
    assert "3" not in page.evaluate("() => window.shownCounts")


def test_two_annotators_on_an_overlap_one_project_never_share_an_item(
    new_context, live_url, login, make_user, screenshot
):
    ann, bob = make_user("ann"), make_user("bob")
    project = make_project(make_user("boss"), annotators=[ann, bob], n_items=12, overlap=1)
    pages = {}
    for user in (ann, bob):
        pages[user.username] = new_context().new_page()
        login(pages[user.username], user.username)
        open_labeling(pages[user.username], live_url, project)
    seen: dict[str, set[int]] = {"ann": set(), "bob": set()}
    while any(p.get_attribute("#lab", "data-state") == "ready" for p in pages.values()):
        for name, page in pages.items():
            if page.get_attribute("#lab", "data-state") == "ready":
                seen[name].add(press_and_advance(page, "1"))
    for page in pages.values():
        page.wait_for_selector("#done-panel", state="visible")
        wait_until_sent(page)
    screenshot(pages["bob"], "labeling-done")

    assert seen["ann"].isdisjoint(seen["bob"])
    assert seen["ann"] | seen["bob"] == set(project.items.values_list("pk", flat=True))
    assert set(labels_in_db(ann)) == seen["ann"] and set(labels_in_db(bob)) == seen["bob"]


def test_item_text_that_looks_like_html_is_shown_as_text_and_runs_nothing(
    page, live_url, login, make_user, screenshot
):
    ann = make_user("ann")
    attack = "<img src=x onerror=alert(1)>"
    project = make_project(
        make_user("boss"), annotators=[ann], n_items=1, texts=[attack],
        labels=["<b>bold</b>", "<script>alert(2)</script>"],
    )  # fmt: skip
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login(page, "ann")
    open_labeling(page, live_url, project)
    page.wait_for_timeout(300)  # time for a broken <img> to fire onerror, were there one
    screenshot(page, "labeling-xss")

    assert page.locator("#item-text").text_content() == attack
    assert page.locator("#item img:not(#item-image)").count() == 0
    assert page.locator(".label-btn span").all_text_contents() == [
        "<b>bold</b>", "<script>alert(2)</script>",
    ]  # fmt: skip
    assert dialogs == []


def test_multi_label_keys_toggle_and_enter_submits(page, live_url, login, make_user, screenshot):
    ann = make_user("ann")
    project = make_project(
        make_user("boss"), annotators=[ann], n_items=3, multi_label=True,
        labels=["sports", "politics", "science"],
    )  # fmt: skip
    login(page, "ann")
    open_labeling(page, live_url, project)
    first = shown_item(page)
    page.keyboard.press("Enter")  # nothing selected: nothing is sent
    for key in ("3", "1", "2", "2"):  # 2 twice: toggled on, then off
        page.keyboard.press(key)
    assert page.locator(".label-btn[aria-pressed=true]").count() == 2
    screenshot(page, "labeling-multi")
    assert press_and_advance(page, "Enter") == first
    second = shown_item(page)
    page.click(".label-btn[data-label=politics]")  # the mouse works too
    page.click("#submit-btn")
    page.wait_for_function(f"() => document.getElementById('item').dataset.itemId !== '{second}'")

    skipped = press_and_advance(page, "Tab")

    wait_until_sent(page)
    assert labels_in_db(ann) == {first: ["sports", "science"], second: ["politics"]}
    assert list(Skip.objects.filter(annotator=ann).values_list("item_id", flat=True)) == [skipped]


def test_labels_made_offline_are_kept_and_arrive_when_the_connection_returns(
    page, live_url, login, make_user, screenshot
):
    ann = make_user("ann")
    project = make_project(make_user("boss"), annotators=[ann], n_items=6)
    login(page, "ann")
    open_labeling(page, live_url, project)
    page.wait_for_selector("#lab[data-buffered='1']", state="attached")

    page.context.set_offline(True)
    labeled = press_and_advance(page, "2")  # the prefetched item is shown even offline
    banner = page.locator("#outbox")
    banner.wait_for(state="visible")
    assert banner.text_content() == "1 label waiting to send — offline"
    screenshot(page, "labeling-offline")
    assert labels_in_db(ann) == {}

    page.context.set_offline(False)
    wait_until_sent(page)
    assert labels_in_db(ann) == {labeled: ["negative"]}
    banner.wait_for(state="hidden")

    # Offline again, and the page is closed before the label could leave: the next visit sends it.
    page.wait_for_selector(READY)
    page.context.set_offline(True)
    closed_with = press_and_advance(page, "3")
    page.close()
    page.context.set_offline(False)
    again = page.context.new_page()
    open_labeling(again, live_url, project)
    wait_until_sent(again)
    assert labels_in_db(ann) == {labeled: ["negative"], closed_with: ["neutral"]}


def test_a_label_made_after_the_session_expired_arrives_after_logging_in_again(
    page, live_url, login, make_user
):
    ann = make_user("ann")
    project = make_project(make_user("boss"), annotators=[ann], n_items=4)
    login(page, "ann")
    open_labeling(page, live_url, project)
    page.wait_for_selector("#lab[data-buffered='1']", state="attached")

    page.context.clear_cookies()  # the session is gone
    labeled = press_and_advance(page, "1")
    page.wait_for_function(
        "() => document.getElementById('outbox').textContent.includes('expired')"
    )
    assert labels_in_db(ann) == {}

    login(page.context.new_page(), "ann")  # another tab; the labeling page retries by itself
    page.wait_for_selector("#lab[data-pending='0']", state="attached", timeout=10_000)
    assert labels_in_db(ann) == {labeled: ["positive"]}


def test_a_late_label_arrives_if_the_item_still_needs_it_and_says_why_if_not(
    page, live_url, login, make_user
):
    """Labels sent after the lease ran out (the page was offline): the queue's rule decides
    (annotation/services/label_rules.py), and a refusal is shown, not retried for ever."""
    ann, bob = make_user("ann"), make_user("bob")
    project = make_project(make_user("boss"), annotators=[ann, bob], n_items=4)
    login(page, "ann")
    open_labeling(page, live_url, project)
    page.wait_for_selector("#lab[data-buffered='1']", state="attached")

    page.context.set_offline(True)
    taken = press_and_advance(page, "1")
    still_needed = shown_item(page)
    Lease.objects.filter(annotator=ann).update(expires_at=timezone.now() - timedelta(seconds=1))
    lease = queue_next(project=project, annotator=bob)  # the item went back to the queue
    assert lease.item.pk == taken
    annotation_submit(item=lease.item, annotator=bob, labels=["negative"])

    page.context.set_offline(False)
    page.wait_for_function(
        # A function, not a bare expression: Playwright evals an expression, which the CSP
        # (script-src 'self', no 'unsafe-eval') refuses.
        "() => document.getElementById('outbox').textContent.includes('Not saved')",
        timeout=10_000,
    )
    assert f"item {taken}" in page.locator("#outbox").text_content()
    wait_until_sent(page)
    press_and_advance(page, "3")  # its lease lapsed too, but nobody else holds it
    wait_until_sent(page)
    assert labels_in_db(ann) == {still_needed: ["neutral"]}
    assert list(Annotation.objects.filter(item_id=taken).values_list("labels", flat=True)) == [
        ["negative"]
    ]


def digit_png(pixels: np.ndarray) -> bytes:
    """One 8x8 scikit-learn digit (values 0-16) as a dark-on-white PNG."""
    gray = (255 - pixels.reshape(8, 8) * 15).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(gray, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def test_image_items_are_scaled_up_to_fit_and_served_to_members(
    page, live_url, login, make_user, screenshot, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    ann = make_user("ann")
    project = make_project(
        make_user("boss"), annotators=[ann], n_items=0, data_type="image",
        labels=[{"name": str(d), "key": str(d)} for d in range(10)],
    )  # fmt: skip
    digits = load_digits()
    for i in range(3):
        item = Item(project=project, external_id=f"digit-{i}", sequence=i)
        item.image.save(f"digit-{i}.png", ContentFile(digit_png(digits.data[i])), save=True)
    login(page, "ann")
    open_labeling(page, live_url, project)
    image = page.locator("#item-image")
    page.wait_for_function("() => document.getElementById('item-image').naturalWidth === 8")
    screenshot(page, "labeling-image")

    assert image.bounding_box()["height"] > 300  # an 8x8 digit, enlarged to fill the card
    assert "pixelated" in image.get_attribute("class")
    first = press_and_advance(page, str(digits.target[0]))
    wait_until_sent(page)
    assert labels_in_db(ann) == {first: [str(digits.target[0])]}


def test_the_labeling_page_is_for_members_who_can_label(client, make_user):
    boss, engineer, outsider = make_user("boss"), make_user("eng"), make_user("outsider")
    project = make_project(boss, annotators=[], n_items=1)
    membership_set(project=project, user=engineer, role="engineer")
    url = f"/projects/{project.pk}/label"
    assert client.get(url).status_code == 302  # to the login page
    for user, status in ((boss, 200), (engineer, 403), (outsider, 404)):
        client.force_login(user)
        assert client.get(url).status_code == status
