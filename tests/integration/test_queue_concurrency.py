"""16 annotators at once on one project: nobody gets an item beyond its overlap, no label is
lost or counted twice.

Runs on PostgreSQL when DATABASE_URL names it (CI: row locks with SKIP LOCKED), otherwise on
the file SQLite test database (writes serialize with BEGIN IMMEDIATE). With
QUORUM_REQUIRE_SERVICES=1 anything but PostgreSQL is a failure.
"""

import os
import threading
from collections import Counter, defaultdict

import pytest
from django.db import connection, connections

from annotation.models import Annotation, Item, ItemStatus, Role
from annotation.services.projects import membership_set, project_update

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

THREADS = 16


@pytest.fixture
def database():
    """The vendor under test; in-memory SQLite cannot be shared by threads."""
    vendor = connection.vendor
    if os.environ.get("QUORUM_REQUIRE_SERVICES") == "1" and vendor != "postgresql":
        pytest.fail(f"QUORUM_REQUIRE_SERVICES=1 but the database is {vendor}, not PostgreSQL")
    if vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("threads need a file or server database; this run uses in-memory SQLite")
    return vendor


@pytest.fixture
def crowd(project, make_user, client_for):
    users = [make_user(f"crowd{i}") for i in range(THREADS)]
    for user in users:
        membership_set(project=project, user=user, role=Role.ANNOTATOR)
    return users


def run_threads(target, n: int) -> list:
    """Run ``target(i)`` in n threads released together; return results, raise errors."""
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = target(i)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a labeling thread hung"
    if errors:
        raise errors[0]
    return results


@pytest.mark.parametrize(("overlap", "n_items"), [(1, 48), (3, 20)])
def test_concurrent_next_and_submit(database, project, crowd, client_for, overlap, n_items):
    project_update(project=project, overlap=overlap, max_overlap=overlap)
    Item.objects.bulk_create(
        Item(project=project, external_id=f"c{i}", text=f"item {i}", sequence=i,
             required_overlap=overlap)
        for i in range(n_items)
    )  # fmt: skip

    def label_until_done(i: int) -> dict:
        client = client_for(crowd[i])
        served, acked = [], []
        while True:
            response = client.get(f"/api/projects/{project.pk}/next")
            if response.status_code == 204:
                return {"served": served, "acked": acked}
            assert response.status_code == 200, response.content
            item = response.json()["id"]
            served.append(item)
            body = {"label": ["positive", "negative"][i % 2 if overlap == 1 else 0]}
            answer = client.post(f"/api/items/{item}/annotations/", body, format="json")
            assert answer.status_code == 201, answer.content
            acked.append(answer.json()["id"])

    results = run_threads(label_until_done, THREADS)

    served_to = defaultdict(set)
    for annotator, result in enumerate(results):
        assert len(result["served"]) == len(set(result["served"])), "an item came back"
        for item in result["served"]:
            served_to[item].add(annotator)
    assert max(len(who) for who in served_to.values()) <= overlap  # never beyond the overlap
    acked = [a for result in results for a in result["acked"]]
    stored = list(Annotation.objects.filter(project=project).values_list("id", flat=True))
    assert sorted(acked) == sorted(stored)  # nothing lost, nothing unacknowledged
    assert len(stored) == n_items * overlap
    per_item = Counter(Annotation.objects.filter(project=project).values_list("item", flat=True))
    assert set(per_item.values()) == {overlap}
    assert set(Item.objects.filter(project=project).values_list("status", flat=True)) == {
        ItemStatus.COMPLETE
    }
    assert sum(1 for result in results if result["acked"]) > 1  # the work was shared


def test_concurrent_duplicate_submits_store_one_label(database, project, crowd, client_for):
    item = Item.objects.create(project=project, external_id="dup", text="same item")
    client_of = [client_for(crowd[0]) for _ in range(8)]  # one annotator, eight tabs
    assert client_of[0].get(f"/api/projects/{project.pk}/next").json()["id"] == item.pk

    def submit(i: int):
        response = client_of[i].post(f"/api/items/{item.pk}/annotations/", {"label": "positive"},
                                     format="json")  # fmt: skip
        return response.status_code, response.json()

    results = run_threads(submit, 8)
    codes = Counter(code for code, _ in results)
    assert codes == {201: 1, 409: 7}
    (stored,) = Annotation.objects.filter(item=item)
    assert all(body.get("annotation_id", body.get("id")) == stored.pk for _, body in results)
    item.refresh_from_db()
    assert item.annotation_count == 1
