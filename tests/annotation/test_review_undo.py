"""Undo of a review action: the item, its flag and the reviewer's annotation go back to what
they were, and the audit log keeps the action and its reversal."""

import pytest
from django.core.exceptions import ValidationError

from annotation.models import Annotation, IssueStatus, Item, LabelIssue, ReviewAction
from annotation.services.importing import import_objects
from annotation.services.review import item_fingerprint, review_item
from annotation.services.review_undo import review_undo
from learning.services.label_issues import reviewed_fingerprints
from tests.annotation.review_helpers import blobs_with_flips, run_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def issues(project, members):
    rows, flipped = blobs_with_flips()
    assert import_objects(project=project, objects=rows).ok
    run_job(project)
    return list(LabelIssue.objects.filter(project=project, status="open").order_by("quality"))


def snapshot(item: Item) -> tuple:
    item.refresh_from_db()
    annotations = sorted(Annotation.objects.filter(item=item).values_list("source", "labels"))
    return item.final_labels, item.status, item.required_overlap, annotations


@pytest.mark.parametrize("action", ["accept", "relabel", "dismiss", "requeue"])
def test_undo_restores_the_item_and_reopens_the_flag(project, members, issues, action):
    issue, reviewer = issues[0], members["reviewer"]
    before = snapshot(issue.item)
    label = issue.suggested_label if action == "relabel" else None
    review_item(item=issue.item, reviewer=reviewer, action=action, label=label)
    assert snapshot(issue.item) != before or action == "dismiss"
    logged = review_undo(project=project, reviewer=reviewer)
    assert snapshot(issue.item) == before
    issue.refresh_from_db()
    assert issue.status == IssueStatus.OPEN and issue.resolved_by is None
    original = ReviewAction.objects.get(item=issue.item, action=action)
    assert logged.action == "undo" and logged.after["reverses"] == original.pk
    # Unreviewed again for the label-issues job: the undo leaves no reviewed fingerprint.
    assert reviewed_fingerprints(project=project)[issue.item_id] == ""


def test_undo_goes_back_one_action_at_a_time_and_then_refuses(project, members, issues):
    reviewer = members["reviewer"]
    review_item(item=issues[0].item, reviewer=reviewer, action="accept")
    review_item(item=issues[1].item, reviewer=reviewer, action="dismiss")
    assert review_undo(project=project, reviewer=reviewer).item_id == issues[1].item_id
    assert review_undo(project=project, reviewer=reviewer).item_id == issues[0].item_id
    with pytest.raises(ValidationError, match="no review action of yours"):
        review_undo(project=project, reviewer=reviewer)


def test_one_reviewer_cannot_undo_anothers_action(project, members, issues):
    review_item(item=issues[0].item, reviewer=members["manager"], action="accept")
    with pytest.raises(ValidationError):
        review_undo(project=project, reviewer=members["reviewer"])


def test_an_item_that_changed_since_the_review_is_not_rolled_back(project, members, issues):
    item = issues[0].item
    review_item(item=item, reviewer=members["reviewer"], action="requeue")
    Annotation.objects.create(
        item=item, project=project, annotator=members["annotator"], labels=["neutral"]
    )
    fingerprint = item_fingerprint(item)
    with pytest.raises(ValidationError, match="changed after your review"):
        review_undo(project=project, reviewer=members["reviewer"])
    assert item_fingerprint(item) == fingerprint
    assert not ReviewAction.objects.filter(action="undo").exists()


def test_the_review_page_undo_answers_in_sentences_and_refuses_plainly(
    project, members, issues, client
):
    url = f"/projects/{project.pk}/review/undo"
    client.force_login(members["reviewer"])
    nothing = client.post(url)
    assert nothing.status_code == 409 and "no review action of yours" in nothing.json()["detail"]
    review_item(item=issues[0].item, reviewer=members["reviewer"], action="dismiss")
    answer = client.post(url).json()
    assert answer["item"] == issues[0].item_id
    assert answer["message"].startswith("Undone: your dismissal of the flag on item ")
    client.force_login(members["annotator"])
    assert client.post(url).status_code == 403
    assert client.get(url.replace("/undo", "/undo")).status_code == 405


def test_an_action_logged_without_its_states_is_refused_not_a_crash(project, members):
    """The admin can add a review action with ``before`` and ``after`` left blank (None):
    undoing it has nothing to restore, so it is refused like a changed item."""
    assert import_objects(project=project, objects=[{"id": "a", "text": "a"}]).ok
    reviewer = members["reviewer"]
    ReviewAction.objects.create(item=Item.objects.get(external_id="a"), reviewer=reviewer,
                                action="accept")  # fmt: skip
    with pytest.raises(ValidationError, match="cannot be undone"):
        review_undo(project=project, reviewer=reviewer)
