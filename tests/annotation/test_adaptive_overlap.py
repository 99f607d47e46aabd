"""Adaptive overlap: disagreeing items get one more annotator, agreeing ones stop, never beyond max."""

import pytest

from annotation.models import Annotation, Item, ItemStatus
from annotation.services.overlap import item_agreement, item_refresh_status, required_overlap


@pytest.fixture
def adaptive(project):
    """Two annotators minimum, up to four, and everyone must agree."""
    project.overlap, project.max_overlap, project.min_item_agreement = 2, 4, 1.0
    project.save()
    return project


@pytest.fixture
def annotators(make_user):
    return [make_user(f"ann{i}") for i in range(6)]


def label(item, user, *names):
    """Save one annotation the way the labeling service does: write, then refresh in place."""
    Annotation.objects.create(item=item, project=item.project, annotator=user, labels=list(names))
    return item_refresh_status(item=item, project=item.project)


def new_item(project, n=0):
    return Item.objects.create(project=project, external_id=f"x{n}", text="t")


def test_agreeing_item_stops_at_min_overlap(adaptive, annotators):
    item = new_item(adaptive)
    assert label(item, annotators[0], "positive").status == ItemStatus.OPEN
    item = label(item, annotators[1], "positive")
    assert (item.status, item.required_overlap, item.annotation_count) == (
        ItemStatus.COMPLETE,
        2,
        2,
    )


def test_disagreeing_item_gets_exactly_one_more_annotator(adaptive, annotators):
    item = new_item(adaptive)
    label(item, annotators[0], "positive")
    item = label(item, annotators[1], "negative")
    assert (item.status, item.required_overlap) == (ItemStatus.OPEN, 3)
    item = item_refresh_status(item=item, project=adaptive)  # a repeated call adds nobody
    assert item.required_overlap == 3


def test_a_tie_breaker_that_still_leaves_disagreement_asks_again_up_to_max(adaptive, annotators):
    item = new_item(adaptive)
    for user, name in zip(
        annotators, ["positive", "negative", "neutral", "positive"], strict=False
    ):
        item = label(item, user, name)
    assert (item.required_overlap, item.status) == (4, ItemStatus.COMPLETE)  # max reached: done
    item = label(item, annotators[4], "negative")  # a late lease still counts, but asks nobody else
    assert (item.required_overlap, item.status) == (4, ItemStatus.COMPLETE)


def test_never_beyond_max_overlap_on_many_items(adaptive, annotators):
    votes = [["positive", "negative", "neutral", "negative", "positive", "neutral"]] * 3
    for n, names in enumerate(votes):
        item = new_item(adaptive, n)
        for user, name in zip(annotators, names, strict=True):
            item = label(item, user, name)
            assert item.required_overlap <= adaptive.max_overlap
    assert set(Item.objects.values_list("required_overlap", flat=True)) == {4}


def test_majority_rule_stops_once_enough_annotators_agree(adaptive, annotators):
    adaptive.min_item_agreement = 0.6
    adaptive.save()
    item = new_item(adaptive)
    label(item, annotators[0], "positive")
    label(item, annotators[1], "negative")
    item = label(item, annotators[2], "positive")  # 2 of 3 = 0.67 >= 0.6
    assert (item.required_overlap, item.status) == (3, ItemStatus.COMPLETE)


def test_fixed_overlap_projects_are_unchanged(project, annotators):
    project.overlap = project.max_overlap = 2
    project.save()
    item = new_item(project)
    label(item, annotators[0], "positive")
    item = label(item, annotators[1], "negative")
    assert (item.required_overlap, item.status) == (2, ItemStatus.COMPLETE)


def test_low_consensus_quality_asks_for_one_more_only_when_fresh(adaptive, annotators):
    item = new_item(adaptive)
    label(item, annotators[0], "positive")
    item = label(item, annotators[1], "positive")
    item.consensus_labels, item.consensus_quality = ["positive"], 0.3
    item.save()
    item = item_refresh_status(item=item, project=adaptive)  # stale score: ignored
    assert (item.required_overlap, item.status) == (2, ItemStatus.COMPLETE)
    item = item_refresh_status(item=item, project=adaptive, consensus_fresh=True)
    assert (item.required_overlap, item.status) == (3, ItemStatus.OPEN)


def test_multi_label_sets_agree_regardless_of_order(adaptive, annotators):
    item = new_item(adaptive)
    label(item, annotators[0], "positive", "neutral")
    item = label(item, annotators[1], "neutral", "positive")
    assert item.status == ItemStatus.COMPLETE


def test_required_overlap_pure_rule():
    rule = {"overlap": 2, "max_overlap": 3, "min_agreement": 1.0}
    assert required_overlap([("a",)], **rule) == 2
    assert required_overlap([("a",), ("b",)], **rule) == 3
    assert required_overlap([("a",), ("b",), ("c",), ("d",)], **rule) == 3
    assert required_overlap([("a",), ("a",), ("b",)], **rule) == 2  # first two agreed: done at 2
    assert item_agreement([("a",), ("a",), ("b",)], multi_label=False) == pytest.approx(2 / 3)
