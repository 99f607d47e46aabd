"""Review actions on flagged labels, their audit log, and when the job flags an item again."""

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from annotation.models import (
    Annotation,
    AnnotationSource,
    AnnotatorQuality,
    AnnotatorQualityRecord,
    IssueStatus,
    Item,
    LabelIssue,
    ReviewAction,
)
from annotation.services.importing import import_objects
from annotation.services.projects import membership_set
from annotation.services.review import item_fingerprint, review_item
from tests.annotation.review_helpers import (
    LABELS,
    N_FLIPPED,
    N_PER_CLASS,
    blobs_with_flips,
    run_job,
)


@pytest.fixture
def flagged(project, members):
    rows, flipped = blobs_with_flips()
    assert import_objects(project=project, objects=rows).ok
    job = run_job(project)
    return job, flipped


def open_issue(project, external_id: str) -> LabelIssue:
    return LabelIssue.objects.get(project=project, item__external_id=external_id, status="open")


def test_the_job_flags_exactly_the_flipped_labels_most_severe_first(project, flagged):
    job, flipped = flagged
    issues = list(LabelIssue.objects.filter(job=job).order_by("quality"))
    assert {i.item.external_id for i in issues} == flipped
    assert [i.quality for i in issues] == sorted(i.quality for i in issues)
    issue = issues[0]
    assert issue.given_label != issue.suggested_label
    assert issue.suggested_probability > 0.5 and issue.quality < 0.5
    assert "likely confused with" in issue.reason
    assert issue.labels_fingerprint == item_fingerprint(issue.item)
    assert job.result["flagged"] == N_FLIPPED and job.result["labeled"] == 3 * N_PER_CLASS


def test_accept_keeps_the_given_label_and_logs_before_and_after(project, members, flagged):
    job, flipped = flagged
    issue = open_issue(project, sorted(flipped)[0])
    action = review_item(item=issue.item, reviewer=members["reviewer"], action="accept")
    issue.refresh_from_db()
    assert issue.status == IssueStatus.ACCEPTED and issue.resolved_by == members["reviewer"]
    assert Item.objects.get(pk=issue.item_id).final_labels == [issue.given_label]
    assert action.job == job and action.issue == issue
    assert action.before["issue_status"] == "open" and action.after["issue_status"] == "accepted"
    assert action.before["final_labels"] is None
    assert action.after["final_labels"] == [issue.given_label]


def test_relabel_sets_the_final_label_as_a_review_annotation(project, members, flagged):
    _, flipped = flagged
    issue = open_issue(project, sorted(flipped)[1])
    review_item(
        item=issue.item,
        reviewer=members["reviewer"],
        action="relabel",
        label=issue.suggested_label,
        note="clearly the other one",
    )
    item = Item.objects.get(pk=issue.item_id)
    assert item.final_labels == [issue.suggested_label] and item.status == "complete"
    review = Annotation.objects.get(item=item, source=AnnotationSource.REVIEW)
    assert review.annotator == members["reviewer"] and review.labels == [issue.suggested_label]
    # the imported label is still there: the log and the data keep what was given
    assert Annotation.objects.get(item=item, source="import").labels == [issue.given_label]
    log = ReviewAction.objects.get(item=item)
    assert log.action == "relabel" and log.note == "clearly the other one"
    assert log.after["final_labels"] == [issue.suggested_label]


def test_relabel_rejects_unknown_or_missing_labels(project, members, flagged):
    _, flipped = flagged
    issue = open_issue(project, sorted(flipped)[1])
    for bad in ({"label": "sarcastic"}, {}):
        with pytest.raises(ValidationError):
            review_item(item=issue.item, reviewer=members["reviewer"], action="relabel", **bad)
    assert not ReviewAction.objects.exists()


def test_dismiss_closes_the_flag_without_touching_labels(project, members, flagged):
    _, flipped = flagged
    issue = open_issue(project, sorted(flipped)[2])
    review_item(item=issue.item, reviewer=members["manager"], action="dismiss")
    issue.refresh_from_db()
    item = Item.objects.get(pk=issue.item_id)
    assert issue.status == IssueStatus.DISMISSED and item.final_labels is None
    with pytest.raises(ValidationError):  # nothing left to dismiss
        review_item(item=item, reviewer=members["manager"], action="dismiss")


def test_requeue_asks_for_one_more_annotation_even_beyond_max_overlap(project, members, flagged):
    _, flipped = flagged
    issue = open_issue(project, sorted(flipped)[3])
    assert project.max_overlap == 1
    review_item(item=issue.item, reviewer=members["reviewer"], action="requeue")
    item = Item.objects.get(pk=issue.item_id)
    assert item.required_overlap == 2 and item.status == "open"
    assert LabelIssue.objects.get(pk=issue.pk).status == IssueStatus.REQUEUED
    log = ReviewAction.objects.get(item=item)
    assert (log.before["required_overlap"], log.after["required_overlap"]) == (1, 2)


def test_a_reviewed_item_is_not_flagged_again_until_its_labels_change(project, members, flagged):
    _, flipped = flagged
    reviewed = sorted(flipped)[:2]
    for ext in reviewed:
        review_item(
            item=open_issue(project, ext).item, reviewer=members["reviewer"], action="dismiss"
        )
    second = run_job(project)
    again = set(LabelIssue.objects.filter(job=second).values_list("item__external_id", flat=True))
    assert again == flipped - set(reviewed)
    assert second.result["suppressed_after_review"] == 2
    # an annotator labels one of them again (agreeing with the wrong label): its labels
    # changed, so the next run may flag it again
    item = Item.objects.get(project=project, external_id=reviewed[0])
    wrong = LabelIssue.objects.get(item=item).given_label
    Annotation.objects.create(
        item=item, project=project, annotator=members["annotator"], labels=[wrong]
    )
    third = run_job(project)
    assert LabelIssue.objects.filter(job=third, item=item).exists()


def test_a_rerun_replaces_open_flags_and_keeps_resolved_ones(project, members, flagged):
    first, flipped = flagged
    review_item(
        item=open_issue(project, sorted(flipped)[0]).item,
        reviewer=members["reviewer"],
        action="accept",
    )
    second = run_job(project)
    assert not LabelIssue.objects.filter(job=first, status="open").exists()
    assert LabelIssue.objects.filter(job=first, status="accepted").count() == 1
    assert LabelIssue.objects.filter(project=project, status="open").count() == N_FLIPPED - 1
    assert LabelIssue.objects.filter(job=second).count() == N_FLIPPED - 1


def test_consensus_and_annotator_quality_for_multi_annotated_items(project, members, make_user):
    rows, _ = blobs_with_flips()
    for row in rows:
        row.pop("label")
    assert import_objects(project=project, objects=rows).ok
    truth = {r["id"]: r["id"].split("-")[0] for r in rows}
    rng = np.random.default_rng(1)
    users = []
    for name, accuracy in (("ann-good", 0.95), ("ann-ok", 0.8), ("ann-poor", 0.5)):
        user = make_user(name)
        membership_set(project=project, user=user, role="annotator")
        users.append((user, accuracy))
    for item in Item.objects.filter(project=project):
        for user, accuracy in users:
            right = truth[item.external_id]
            label = (
                right if rng.random() < accuracy else rng.choice([n for n in LABELS if n != right])
            )
            Annotation.objects.create(item=item, project=project, annotator=user, labels=[label])
    job = run_job(project)
    assert job.result["consensus_method"] == "crowdlab"
    items = Item.objects.filter(project=project)
    correct = sum(i.consensus_labels == [truth[i.external_id]] for i in items)
    assert correct / items.count() >= 0.95
    assert all(i.consensus_method == "crowdlab" and 0 <= i.consensus_quality <= 1 for i in items)
    quality = {q.annotator.username: q for q in AnnotatorQuality.objects.filter(project=project)}
    assert quality["ann-good"].score > quality["ann-ok"].score > quality["ann-poor"].score
    assert quality["ann-good"].n_items == 3 * N_PER_CLASS and quality["ann-good"].job == job
    # The run's numbers are kept as history too: one record per annotator of this run.
    history = {r.annotator.username: r for r in AnnotatorQualityRecord.objects.filter(job=job)}
    assert set(history) == set(quality)
    assert all((history[n].score, history[n].n_items) == (q.score, q.n_items)
               for n, q in quality.items())  # fmt: skip
