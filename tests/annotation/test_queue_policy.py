"""Queue policy with overlap: items that started collecting labels are completed before fresh
ones are started; the agreement sample gives a share of an overlap-1 project a second
annotator, spread through the queue from the start."""

from collections import Counter

import pytest

from annotation.models import Item, ItemStatus, Role
from annotation.services.labeling import annotation_submit, item_skip, queue_next
from annotation.services.overlap import base_overlap, in_agreement_sample
from annotation.services.projects import membership_set, project_update


@pytest.fixture
def annotators(project, make_user):
    users = [make_user(f"ann{i}") for i in range(3)]
    for user in users:
        membership_set(project=project, user=user, role=Role.ANNOTATOR)
    return users


def add_items(project, n: int, **fields) -> list[Item]:
    Item.objects.bulk_create(
        Item(project=project, external_id=f"x{i}", text=f"item {i}", sequence=i, **fields)
        for i in range(n)
    )
    return list(Item.objects.filter(project=project).order_by("sequence"))


def served(project, user) -> Item | None:
    lease = queue_next(project=project, annotator=user)
    return lease.item if lease else None


def label(item, user, name="positive"):
    return annotation_submit(item=item, annotator=user, labels=[name])


def test_an_item_waiting_for_its_second_label_comes_before_any_fresh_item(project, annotators):
    project_update(project=project, overlap=2, max_overlap=2)
    items = add_items(project, 5, required_overlap=2)
    for rank, item in enumerate(items):  # an active-learning batch: later items rank higher
        Item.objects.filter(pk=item.pk).update(priority=1.0 + rank / 10)
    alice, bob = annotators[:2]
    first = served(project, alice)
    assert first.pk == items[-1].pk  # active learning decides which item to start
    label(first, alice)
    assert served(project, bob).pk == first.pk  # ... and the started one is finished first


def test_items_with_more_labels_come_first(project, annotators):
    project_update(project=project, overlap=3, max_overlap=3)
    items = add_items(project, 3, required_overlap=3)
    carol = annotators[2]
    Item.objects.filter(pk=items[0].pk).update(annotation_count=1)
    Item.objects.filter(pk=items[1].pk).update(annotation_count=2)
    assert served(project, carol).pk == items[1].pk


def test_the_sample_is_the_share_asked_for_and_spread_through_the_queue(project):
    items = add_items(project, 2000)
    project_update(project=project, agreement_sample=0.2)
    needs = Counter(Item.objects.filter(project=project).values_list("required_overlap", flat=True))
    assert needs.keys() == {1, 2}
    assert 0.17 < needs[2] / 2000 < 0.23
    by_order = list(Item.objects.filter(project=project).order_by("sequence")
                    .values_list("required_overlap", flat=True))  # fmt: skip
    for start in range(0, 2000, 250):  # every stretch of the queue has its share
        assert 0.1 < by_order[start : start + 250].count(2) / 250 < 0.3
    assert all(
        (item.required_overlap == 2) == in_agreement_sample(item.pk, 0.2)
        for item in Item.objects.filter(project=project)
    )
    assert items


def test_changing_the_sample_reaches_only_items_nobody_labeled(project, annotators):
    items = add_items(project, 200)
    project_update(project=project, agreement_sample=0.5)
    sampled = next(i for i in items if in_agreement_sample(i.pk, 0.5))
    alice = annotators[0]
    label(served_until(project, alice, sampled), alice)
    project_update(project=project, agreement_sample=0.0)
    sampled.refresh_from_db()
    assert sampled.required_overlap == 2 and sampled.status == ItemStatus.OPEN
    others = Item.objects.filter(project=project).exclude(pk=sampled.pk)
    assert set(others.filter(annotation_count=0).values_list("required_overlap", flat=True)) == {1}


def served_until(project, user, wanted):
    """Serve ``user`` items (skipping the rest) until ``wanted`` comes up."""
    while (item := served(project, user)) is not None:
        if item.pk == wanted.pk:
            return item
        item_skip(item=item, annotator=user)
    raise AssertionError("the wanted item never came up")


def test_a_sampled_item_gets_its_second_label_next_and_disagreement_asks_for_a_third(
    project, annotators
):
    project_update(project=project, overlap=1, max_overlap=3, min_item_agreement=1.0,
                   agreement_sample=0.3)  # fmt: skip
    items = add_items(project, 50)
    project_update(project=project, agreement_sample=0.3)
    sampled = next(i for i in items if in_agreement_sample(i.pk, 0.3))
    alice, bob, carol = annotators[:3]
    label(served_until(project, alice, sampled), alice, "positive")
    assert served(project, bob).pk == sampled.pk
    label(sampled, bob, "negative")
    sampled.refresh_from_db()
    assert (sampled.required_overlap, sampled.status) == (3, ItemStatus.OPEN)
    assert served(project, carol).pk == sampled.pk


@pytest.mark.parametrize("overlap", [2, 3])
def test_the_sample_only_applies_to_overlap_one_projects(project, overlap):
    project_update(project=project, overlap=overlap, max_overlap=overlap, agreement_sample=1.0)
    assert {base_overlap(project, item_id) for item_id in range(1, 200)} == {overlap}


def test_a_manager_sets_the_sample_through_the_api(project, api):
    add_items(project, 500)
    response = api.patch(f"/api/projects/{project.pk}/", {"agreement_sample": 0.25}, format="json")
    assert response.status_code == 200 and response.json()["agreement_sample"] == 0.25
    twice = Item.objects.filter(project=project, required_overlap=2).count()
    assert 0.18 < twice / 500 < 0.32
    assert api.patch(f"/api/projects/{project.pk}/", {"agreement_sample": 1.5},
                     format="json").status_code == 400  # fmt: skip


def test_an_import_into_a_sampled_project_plans_its_new_items(project, api):
    project_update(project=project, agreement_sample=0.5)
    body = {"items": [{"id": str(i), "text": f"text {i}"} for i in range(300)]}
    assert api.post(f"/api/projects/{project.pk}/import", body, format="json").status_code == 201
    items = Item.objects.filter(project=project)
    assert all((i.required_overlap == 2) == in_agreement_sample(i.pk, 0.5) for i in items)
    assert 0.35 < items.filter(required_overlap=2).count() / 300 < 0.65
