"""The annotator's queue and label services, as specifications.

Leases, overlap, order, skips, the one-label-per-person rule and label checks.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from annotation.models import Annotation, Item, ItemStatus, Lease, Role, Skip
from annotation.services.labeling import (
    AlreadyAnnotated,
    annotation_submit,
    annotation_update,
    item_skip,
    labels_changed_safely,
    queue_next,
)
from annotation.services.projects import membership_set, project_update
from tests.annotation.leases import lease_for


def add_items(project, n: int, **fields) -> list[Item]:
    items = [
        Item(project=project, external_id=f"x{i}", text=f"item {i}", sequence=i, **fields)
        for i in range(n)
    ]
    Item.objects.bulk_create(items)
    return list(Item.objects.filter(project=project).order_by("sequence"))


@pytest.fixture
def annotators(project, make_user):
    users = [make_user(f"ann{i}") for i in range(5)]
    for user in users:
        membership_set(project=project, user=user, role=Role.ANNOTATOR)
    return users


def served(project, user, **kwargs) -> Item | None:
    lease = queue_next(project=project, annotator=user, **kwargs)
    return lease.item if lease else None


def label(item, user, name="positive", **kwargs) -> Annotation:
    """Submit as the holder of a lease on the item (the queue's or one given directly)."""
    if not Lease.objects.filter(item=item, annotator=user).exists():
        lease_for(item, user)
    return annotation_submit(item=item, annotator=user, labels=[name], **kwargs)


def test_queue_order_is_priority_first_then_sequence(project, annotators):
    items = add_items(project, 4)
    Item.objects.filter(pk=items[2].pk).update(priority=0.9)
    Item.objects.filter(pk=items[3].pk).update(priority=0.5)
    alice = annotators[0]
    order = []
    while (item := served(project, alice)) is not None:
        order.append(item.pk)
        label(item, alice)
    assert order == [items[2].pk, items[3].pk, items[0].pk, items[1].pk]


def test_asking_again_while_holding_a_lease_returns_the_same_item(project, annotators):
    add_items(project, 3)
    first = queue_next(project=project, annotator=annotators[0])
    again = queue_next(project=project, annotator=annotators[0])
    assert again.item.pk == first.item.pk
    assert Lease.objects.filter(annotator=annotators[0]).count() == 1


def test_exclude_leases_another_item_and_keeps_the_first(project, annotators):
    items = add_items(project, 3)
    alice = annotators[0]
    assert served(project, alice) == items[0]
    assert served(project, alice, exclude_ids=[items[0].pk]) == items[1]
    assert set(Lease.objects.filter(annotator=alice).values_list("item", flat=True)) == {
        items[0].pk,
        items[1].pk,
    }
    # Without the exclusion, the oldest lease comes back first.
    assert served(project, alice) == items[0]


def test_overlap_one_gives_concurrent_annotators_different_items(project, annotators):
    items = add_items(project, 3)
    seen = [served(project, user) for user in annotators[:3]]
    assert sorted(item.pk for item in seen) == [item.pk for item in items]
    assert served(project, annotators[3]) is None  # all leased


def test_overlap_three_serves_each_item_to_three_annotators(project, annotators):
    project_update(project=project, overlap=3, max_overlap=3)
    items = add_items(project, 2, required_overlap=3)
    first_three = [served(project, user) for user in annotators[:3]]
    assert all(item == items[0] for item in first_three)
    assert served(project, annotators[3]) == items[1]  # items[0] is leased 3 times
    for user, item in zip(annotators[:3], first_three, strict=True):
        label(item, user)
    items[0].refresh_from_db()
    assert items[0].status == ItemStatus.COMPLETE and items[0].annotation_count == 3
    assert served(project, annotators[4]) == items[1]


def test_an_expired_lease_returns_the_item_to_the_pool(project, annotators):
    items = add_items(project, 2)
    alice, bob, carol = annotators[:3]
    assert served(project, alice) == items[0]
    assert served(project, bob) == items[1]
    assert served(project, carol) is None
    Lease.objects.filter(annotator=alice).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert served(project, carol) == items[0]
    assert served(project, alice) is None  # her lease lapsed and carol holds the item now


def test_the_lease_lasts_the_projects_lease_minutes(project, annotators):
    project_update(project=project, lease_minutes=3)
    add_items(project, 1)
    before = timezone.now()
    lease = queue_next(project=project, annotator=annotators[0])
    assert timedelta(minutes=3) <= lease.expires_at - before < timedelta(minutes=3, seconds=5)


def test_never_serves_what_the_annotator_labeled_or_skipped(project, annotators):
    project_update(project=project, overlap=3, max_overlap=3)
    items = add_items(project, 3, required_overlap=3)
    alice = annotators[0]
    label(items[0], alice)  # a lease given directly, not by the queue
    item_skip(item=items[1], annotator=alice, reason="unreadable")
    assert served(project, alice) == items[2]
    label(items[2], alice)
    assert served(project, alice) is None
    assert served(project, annotators[1]) == items[0]  # others still get them


def test_submit_removes_the_lease_and_completes_the_item(project, annotators):
    items = add_items(project, 2)
    alice = annotators[0]
    item = served(project, alice)
    annotation = label(item, alice, time_spent_ms=1500)
    assert not Lease.objects.filter(annotator=alice).exists()
    item.refresh_from_db()
    assert (item.status, item.annotation_count) == (ItemStatus.COMPLETE, 1)
    assert annotation.project == project and annotation.source == "human"
    assert annotation.time_spent_ms == 1500
    assert served(project, alice) == items[1]


def test_a_second_label_from_the_same_annotator_is_refused_with_the_first_id(project, annotators):
    (item,) = add_items(project, 1)
    first = label(item, annotators[0])
    with pytest.raises(AlreadyAnnotated) as refused:
        label(item, annotators[0], name="negative")
    assert refused.value.annotation_id == first.pk
    assert Annotation.objects.filter(item=item).count() == 1
    item.refresh_from_db()
    assert item.annotation_count == 1


def test_unknown_labels_are_refused_by_name(project, annotators):
    (item,) = add_items(project, 1)
    with pytest.raises(ValidationError, match="'sarcastic'"):
        annotation_submit(item=item, annotator=annotators[0], labels=["sarcastic"])
    assert not Annotation.objects.exists()


def test_single_label_projects_take_exactly_one_label(project, annotators):
    (item,) = add_items(project, 1)
    with pytest.raises(ValidationError, match="one label"):
        annotation_submit(item=item, annotator=annotators[0], labels=["positive", "negative"])
    with pytest.raises(ValidationError, match="at least one"):
        annotation_submit(item=item, annotator=annotators[0], labels=[])


def test_multi_label_projects_take_several(project, annotators):
    project_update(project=project, multi_label=True)
    (item,) = add_items(project, 1)
    lease_for(item, annotators[0])
    annotation = annotation_submit(
        item=item, annotator=annotators[0], labels=["positive", "neutral", "positive"]
    )
    assert annotation.labels == ["positive", "neutral"]


def test_update_changes_own_label_and_refreshes_status(project, annotators):
    project_update(project=project, overlap=2, max_overlap=3, min_item_agreement=1.0)
    (item,) = add_items(project, 1, required_overlap=2)
    alice, bob = annotators[:2]
    label(item, alice, "positive")
    theirs = label(item, bob, "negative")
    item.refresh_from_db()
    assert (item.status, item.required_overlap) == (ItemStatus.OPEN, 3)  # they disagree
    annotation_update(annotation=theirs, annotator=bob, labels=["positive"])
    theirs.refresh_from_db()
    assert theirs.labels == ["positive"]
    item.refresh_from_db()
    assert item.annotation_count == 2


def test_nobody_changes_someone_elses_annotation(project, annotators):
    (item,) = add_items(project, 1)
    mine = label(item, annotators[0])
    with pytest.raises(Annotation.DoesNotExist):
        annotation_update(annotation=mine, annotator=annotators[1], labels=["negative"])
    mine.refresh_from_db()
    assert mine.labels == ["positive"]


def test_skip_is_idempotent_and_releases_the_lease(project, annotators):
    items = add_items(project, 2)
    alice, bob = annotators[:2]
    assert served(project, alice) == items[0]
    skip, created = item_skip(item=items[0], annotator=alice, reason="too long")
    again, created_again = item_skip(item=items[0], annotator=alice)
    assert (created, created_again, again.pk) == (True, False, skip.pk)
    assert Skip.objects.get().reason == "too long"
    assert served(project, bob) == items[0]  # free for others
    assert served(project, alice) == items[1]


def test_model_in_the_loop_records_the_suggestion_shown(project, annotators):
    project_update(project=project, model_in_loop=True)
    (item,) = add_items(project, 1, predicted_label="negative", predicted_score=0.8)
    annotation = label(item, annotators[0], "negative")
    assert (annotation.suggestion, annotation.suggestion_accepted) == ("negative", True)


def test_without_model_in_the_loop_no_suggestion_is_recorded(project, annotators):
    (item,) = add_items(project, 1, predicted_label="negative", predicted_score=0.8)
    annotation = label(item, annotators[0], "negative", suggestion_accepted=True)
    assert (annotation.suggestion, annotation.suggestion_accepted) == ("", None)


def test_label_triggers_run_after_commit(project, annotators, django_capture_on_commit_callbacks):
    (item,) = add_items(project, 1)
    with django_capture_on_commit_callbacks() as callbacks:
        label(item, annotators[0])
    assert len(callbacks) == 1


def test_a_failing_trigger_is_logged_not_raised(project, caplog, monkeypatch):
    def broker_down(*, project_id):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr("annotation.services.labeling.labels_changed", broker_down)
    labels_changed_safely(project_id=project.pk)
    assert "label triggers failed" in caplog.text
