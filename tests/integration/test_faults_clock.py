"""Fault: the clock jumps past lease expiry while annotators hold items.

The server's clock (``django.utils.timezone.now``, which every lease decision reads) is
moved forward past ``lease_minutes``. The leased items go back to the queue, the late
labels follow the queue's rule (annotation/services/label_rules.py), and no item ends
with more labels than its overlap, nor loses one that was acknowledged.
"""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import Annotation, Item, ItemStatus, Role
from annotation.services.projects import membership_set, project_update

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def clock(monkeypatch):
    """``clock.jump(minutes)`` moves the server's notion of now forward for good."""

    class Clock:
        offset = timedelta(0)
        real_now = staticmethod(timezone.now)

        def jump(self, minutes: float) -> None:
            self.offset += timedelta(minutes=minutes)

        def now(self):
            return self.real_now() + self.offset

    fake = Clock()
    monkeypatch.setattr(timezone, "now", fake.now)
    return fake


@pytest.fixture
def crowd(project, make_user, client_for):
    users = [make_user(f"ann{i}") for i in range(4)]
    for user in users:
        membership_set(project=project, user=user, role=Role.ANNOTATOR)
    return [client_for(user) for user in users]


def take(client, project) -> int | None:
    response = client.get(f"/api/projects/{project.pk}/next")
    assert response.status_code in (200, 204), response.content
    return response.json()["id"] if response.status_code == 200 else None


def submit(client, item_id: int):
    return client.post(f"/api/items/{item_id}/annotations/", {"label": "positive"}, format="json")


@pytest.mark.parametrize("overlap", [1, 2])
def test_after_the_jump_items_return_and_late_labels_never_exceed_the_overlap(
    project, crowd, clock, overlap
):
    project_update(project=project, overlap=overlap, max_overlap=overlap, lease_minutes=5)
    Item.objects.bulk_create(
        Item(project=project, external_id=f"c{i}", text=f"item {i}", sequence=i,
             required_overlap=overlap)
        for i in range(4)
    )  # fmt: skip
    first, second, third = crowd[:3]
    held = [take(first, project), take(second, project)]  # leases from before the jump
    # overlap 1: two items, one each; overlap 2: both on the first item.
    ids = list(
        Item.objects.filter(project=project).order_by("sequence").values_list("id", flat=True)
    )
    assert held == (ids[:2] if overlap == 1 else [ids[0], ids[0]])

    clock.jump(minutes=6)  # past every lease
    assert take(third, project) == held[0]  # the item went back to the queue, first in line
    response = submit(third, held[0])
    assert response.status_code == 201, response.content
    acked = [response.json()["id"]]

    # The early labels arrive late: kept only while the item still needs a label.
    # overlap 1: the first's item is complete now (409); the second's nobody took (201).
    # overlap 2: the first's label fills the second place (201); then it is complete (409).
    expected = {1: [409, 201], 2: [201, 409]}[overlap]
    for client, item_id, status in zip((first, second), held, expected, strict=True):
        response = submit(client, item_id)
        assert response.status_code == status, response.content
        if status == 201:
            acked.append(response.json()["id"])
        else:
            assert response.json()["code"] == "item_complete"

    # Everyone keeps labeling until the queue is empty.
    for client in crowd:
        while (item_id := take(client, project)) is not None:
            response = submit(client, item_id)
            assert response.status_code == 201, response.content
            acked.append(response.json()["id"])

    stored = list(Annotation.objects.filter(project=project).values_list("id", flat=True))
    assert sorted(stored) == sorted(acked)  # nothing lost, nothing unacknowledged
    per_item = Counter(Annotation.objects.filter(project=project).values_list("item", flat=True))
    assert set(per_item.values()) == {overlap}  # never over (nor under) the overlap
    assert set(Item.objects.filter(project=project).values_list("status", flat=True)) == {
        ItemStatus.COMPLETE
    }
