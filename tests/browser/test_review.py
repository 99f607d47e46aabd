"""The review page in headless Chromium, keyboard only: accept, relabel (r + key, and the
label key directly), take the model's suggestion (t; the whole set on a multi-label
project), dismiss, requeue, the help panel, and the empty queue."""

import pytest

from annotation.models import IssueStatus, Item, LabelIssue, ReviewAction
from annotation.services.importing import import_objects
from annotation.services.projects import membership_set
from tests.annotation.review_helpers import N_FLIPPED, blobs_with_flips, run_job
from tests.learning.multilabel_helpers import project_with_flipped_sets

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shown_issue(page) -> int:
    return int(page.get_attribute("#item", "data-issue-id"))


def press_and_advance(page, key: str) -> int:
    """Press ``key``; wait until another issue (or the empty panel) shows. Returns the issue."""
    before = shown_issue(page)
    page.keyboard.press(key)
    page.wait_for_function(
        "before => { const rev = document.getElementById('rev');"
        " return rev.dataset.state === 'empty' ||"
        " document.getElementById('item').dataset.issueId !== String(before); }",
        arg=before,
    )
    return before


def test_a_reviewer_works_the_queue_with_the_keyboard_only(
    page, live_url, login, screenshot, page_errors, project, members
):
    rows, _ = blobs_with_flips()
    import_objects(project=project, objects=rows)
    run_job(project)
    login(page, "reviewer")
    page.goto(f"{live_url}/projects/{project.pk}/review")
    page.wait_for_selector("#rev[data-state=ready]")
    most_severe = LabelIssue.objects.filter(project=project).order_by("quality", "id").first()
    assert shown_issue(page) == most_severe.pk
    assert page.text_content("#given") == most_severe.given_label
    assert most_severe.suggested_label in page.text_content("#suggested")
    assert "Imported label" in page.text_content("#annotations")
    screenshot(page, "review")

    page.keyboard.press("?")
    assert page.is_visible("#help")
    page.keyboard.press("Escape")
    assert not page.is_visible("#help")

    accepted = press_and_advance(page, "a")
    assert not page.is_visible("#labels")
    page.keyboard.press("r")
    assert page.is_visible("#labels")
    relabeled = press_and_advance(page, "2")  # "negative" has key 2
    direct = press_and_advance(page, "3")  # a label key alone relabels too
    dismissed = press_and_advance(page, "d")
    requeued = press_and_advance(page, "q")
    suggested = press_and_advance(page, "t")

    status = dict(LabelIssue.objects.values_list("pk", "status"))
    assert status[accepted] == IssueStatus.ACCEPTED
    assert status[relabeled] == status[direct] == IssueStatus.RELABELED
    assert status[dismissed] == IssueStatus.DISMISSED
    assert status[requeued] == IssueStatus.REQUEUED
    assert LabelIssue.objects.get(pk=relabeled).item.final_labels == ["negative"]
    assert Item.objects.get(label_issues__pk=direct).final_labels == ["neutral"]
    took = LabelIssue.objects.get(pk=suggested)
    assert took.status == IssueStatus.RELABELED
    assert took.item.final_labels == [took.suggested_label]
    assert ReviewAction.objects.filter(reviewer=members["reviewer"]).count() == 6

    # u takes the last action back: the flag reopens, its item shows again, the log keeps both.
    page.keyboard.press("u")
    page.wait_for_function(
        "() => document.getElementById('status').textContent.startsWith('Undone')"
    )
    page.wait_for_selector("#rev[data-state=ready]")
    assert shown_issue(page) == suggested
    assert "Undone: your relabel of item" in page.text_content("#status")
    assert LabelIssue.objects.get(pk=suggested).status == IssueStatus.OPEN
    assert ReviewAction.objects.filter(reviewer=members["reviewer"], action="undo").count() == 1
    press_and_advance(page, "d")

    for _ in range(N_FLIPPED - 6):
        press_and_advance(page, "d")
    page.wait_for_selector("#done:not([hidden])")
    assert page.text_content("#open-count") == "0"
    assert page_errors == []


def test_t_takes_the_whole_suggested_set_on_a_multi_label_project(
    page, live_url, login, page_errors, manager, make_user
):
    project, truth, _ = project_with_flipped_sets(manager)
    membership_set(project=project, user=make_user("rita"), role="reviewer")
    run_job(project)
    login(page, "rita")
    page.goto(f"{live_url}/projects/{project.pk}/review")
    page.wait_for_selector("#rev[data-state=ready]")
    issue = LabelIssue.objects.get(pk=press_and_advance(page, "t"))
    item = Item.objects.get(pk=issue.item_id)
    assert item.final_labels == issue.suggested_labels == truth[item.external_id]
    assert page_errors == []


def test_annotators_are_refused(page, live_url, login, project, members):
    login(page, "annotator")
    response = page.goto(f"{live_url}/projects/{project.pk}/review")
    assert response.status == 403


def test_an_image_under_review_is_as_large_as_on_the_labeling_page(
    page, live_url, login, page_errors, manager, make_user, settings, tmp_path
):
    """Issue #15: the review page showed an 8x8 digit at about 60 px; a reviewer could not
    judge it. It now fills the card as the labeling page's image does (over 300 px high)."""
    from django.core.files.base import ContentFile
    from sklearn.datasets import load_digits

    from annotation.models import Annotation, Job, JobKind
    from annotation.services.projects import project_create
    from tests.browser.test_labeling import digit_png

    settings.MEDIA_ROOT = tmp_path
    project = project_create(creator=manager, name="Digits", data_type="image",
                             labels=[str(d) for d in range(10)])  # fmt: skip
    membership_set(project=project, user=make_user("rita"), role="reviewer")
    item = Item(project=project, external_id="digit-0", sequence=0)
    item.image.save("digit-0.png", ContentFile(digit_png(load_digits().data[0])), save=True)
    Annotation.objects.create(item=item, project=project, annotator=manager, labels=["8"])
    run = Job.objects.create(project=project, kind=JobKind.LABEL_ISSUES)
    LabelIssue.objects.create(project=project, item=item, job=run, given_label="8",
                              given_labels=["8"], suggested_label="0", suggested_labels=["0"],
                              quality=0.05, reason="the model says 0", labels_fingerprint="f")  # fmt: skip

    login(page, "rita")
    page.goto(f"{live_url}/projects/{project.pk}/review")
    page.wait_for_selector("#rev[data-state=ready]")
    page.wait_for_function("() => document.getElementById('item-image').naturalWidth === 8")
    box = page.locator("#item-image").bounding_box()
    assert box["height"] > 300 and box["width"] > 300
    assert page_errors == []
