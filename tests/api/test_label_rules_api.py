"""Who may label an item, through the API: only the queue's lease holder, a late label only
while the item still needs one, never a completed item (reviewers relabel by review)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import Annotation, Item, ItemStatus, Lease, Role
from annotation.services.projects import membership_set, project_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(project):
    Item.objects.bulk_create(
        Item(project=project, external_id=f"x{i}", text=f"item {i}", sequence=i) for i in range(3)
    )
    return list(Item.objects.filter(project=project).order_by("sequence"))


@pytest.fixture
def people(project, members, make_user, client_for):
    """Two annotators (alice, bob), the reviewer and the manager, as API clients."""
    bob = make_user("bob")
    membership_set(project=project, user=bob, role=Role.ANNOTATOR)
    return {"alice": client_for(members["annotator"]), "bob": client_for(bob),
            "reviewer": client_for(members["reviewer"]), "manager": client_for(members["manager"]),
            "users": {"alice": members["annotator"], "bob": bob}}  # fmt: skip


def take_next(client, project) -> int:
    response = client.get(f"/api/projects/{project.pk}/next")
    assert response.status_code == 200, response.content
    return response.json()["id"]


def submit(client, item_id, label="positive"):
    return client.post(f"/api/items/{item_id}/annotations/", {"label": label}, format="json")


def expire(user) -> None:
    """The user's leases run out (as if the clock moved past them)."""
    Lease.objects.filter(annotator=user).update(expires_at=timezone.now() - timedelta(seconds=1))


def refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["detail"]
    return body


def test_the_lease_holder_labels(project, items, people):
    item_id = take_next(people["alice"], project)
    assert submit(people["alice"], item_id).status_code == 201
    assert not Lease.objects.filter(item_id=item_id).exists()


def test_an_item_never_leased_is_refused_403_and_nothing_is_written(items, people):
    refused(submit(people["alice"], items[2].pk), 403, "not_leased")
    assert not Annotation.objects.exists()
    assert Item.objects.get(pk=items[2].pk).status == ItemStatus.OPEN


def test_someone_elses_lease_does_not_let_me_label(project, items, people):
    item_id = take_next(people["bob"], project)
    refused(submit(people["alice"], item_id), 403, "not_leased")
    assert submit(people["bob"], item_id).status_code == 201
    assert Annotation.objects.filter(item_id=item_id).count() == 1


def test_a_late_label_is_accepted_while_the_item_still_needs_it(project, items, people):
    """The labeling page's outbox may deliver after the lease ran out: if nobody else
    took the item meanwhile, the label is still wanted."""
    item_id = take_next(people["alice"], project)
    expire(people["users"]["alice"])
    assert submit(people["alice"], item_id).status_code == 201
    item = Item.objects.get(pk=item_id)
    assert (item.status, item.annotation_count) == (ItemStatus.COMPLETE, 1)


def test_a_late_label_for_an_item_someone_else_now_holds_is_409(project, items, people):
    item_id = take_next(people["alice"], project)
    expire(people["users"]["alice"])
    assert take_next(people["bob"], project) == item_id  # back in the queue, bob has it
    body = refused(submit(people["alice"], item_id), 409, "lease_lost")
    assert "annotation_id" not in body
    assert submit(people["bob"], item_id).status_code == 201
    item = Item.objects.get(pk=item_id)
    assert (item.annotation_count, item.required_overlap) == (1, 1)


def test_a_late_label_for_an_item_completed_meanwhile_is_409(project, items, people):
    item_id = take_next(people["alice"], project)
    expire(people["users"]["alice"])
    assert take_next(people["bob"], project) == item_id
    assert submit(people["bob"], item_id).status_code == 201
    refused(submit(people["alice"], item_id), 409, "item_complete")
    assert Annotation.objects.filter(item_id=item_id).count() == 1  # overlap 1: one label


def test_overlap_two_where_i_already_labeled_answers_with_my_annotation(project, items, people):
    project_update(project=project, overlap=2, max_overlap=2)
    Item.objects.update(required_overlap=2)
    item_id = take_next(people["alice"], project)
    first = submit(people["alice"], item_id).json()["id"]
    body = refused(submit(people["alice"], item_id, "negative"), 409, "already_annotated")
    assert body["annotation_id"] == first
    assert take_next(people["bob"], project) == item_id  # the second label is still wanted
    assert submit(people["bob"], item_id).status_code == 201
    assert Annotation.objects.filter(item_id=item_id).count() == 2


def test_a_completed_item_refuses_everyone_and_reviewers_relabel_it_by_review(
    project, items, people
):
    item_id = take_next(people["alice"], project)
    assert submit(people["alice"], item_id).status_code == 201
    for who in ("bob", "reviewer", "manager"):
        body = refused(submit(people[who], item_id, "negative"), 409, "item_complete")
        assert f"/api/items/{item_id}/review" in body["detail"]
    assert Annotation.objects.filter(item_id=item_id).count() == 1
    review = people["reviewer"].post(f"/api/items/{item_id}/review",
                                     {"action": "relabel", "label": "negative"}, format="json")  # fmt: skip
    assert review.status_code == 201, review.content
    assert Item.objects.get(pk=item_id).final_labels == ["negative"]


def test_reviewers_and_managers_label_through_the_queue_like_annotators(project, items, people):
    for who in ("reviewer", "manager"):
        item_id = take_next(people[who], project)
        assert submit(people[who], item_id).status_code == 201
    refused(submit(people["reviewer"], items[2].pk), 403, "not_leased")


def test_a_skipped_item_cannot_be_labeled_afterwards(project, items, people):
    item_id = take_next(people["alice"], project)
    assert people["alice"].post(f"/api/items/{item_id}/skip", {}, format="json").status_code == 201
    refused(submit(people["alice"], item_id), 403, "not_leased")


def test_editing_my_own_label_needs_no_lease(project, items, people):
    item_id = take_next(people["alice"], project)
    created = submit(people["alice"], item_id).json()
    response = people["alice"].patch(f"/api/annotations/{created['id']}/", {"label": "neutral"},
                                     format="json")  # fmt: skip
    assert response.status_code == 200 and response.json()["labels"] == ["neutral"]


def test_a_database_that_does_not_answer_is_503_retry_not_500(project, items, people, monkeypatch):
    """What the labeling page's outbox sees while PostgreSQL restarts (the real restart is
    tests/integration/test_faults_postgres.py): a clear "retry", and nothing written."""
    from django.db import OperationalError

    import api.views.labeling

    def connection_dropped(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    item_id = take_next(people["alice"], project)
    monkeypatch.setattr(api.views.labeling, "annotation_submit", connection_dropped)
    response = submit(people["alice"], item_id)
    assert response.status_code == 503 and response["Retry-After"] == "2"
    assert response.json()["code"] == "database_unavailable"
    assert not Annotation.objects.exists()
