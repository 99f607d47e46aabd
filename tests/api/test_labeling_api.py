"""The labeling API as the page and scripts use it: next, annotations, edits, skips, history."""

import pytest

from annotation.models import Annotation, Item, Lease, Skip
from annotation.services.projects import project_update
from tests.annotation.leases import lease_for


@pytest.fixture
def items(project):
    Item.objects.bulk_create(
        Item(project=project, external_id=f"x{i}", text=f"item {i}\nline two", sequence=i)
        for i in range(3)
    )
    return list(Item.objects.filter(project=project).order_by("sequence"))


@pytest.fixture
def annotator(members, client_for):
    return client_for(members["annotator"])


def next_url(project) -> str:
    return f"/api/projects/{project.pk}/next"


def post_label(client, item, **body):
    """Label ``item`` as the client's user, holding a lease on it as the queue would give."""
    user = client.handler._force_user
    if not Lease.objects.filter(item_id=item.pk, annotator=user).exists():
        lease_for(Item.objects.get(pk=item.pk), user)
    body = body if body else {"label": "positive"}
    return client.post(f"/api/items/{item.pk}/annotations/", body, format="json")


def test_next_returns_the_item_and_its_lease(project, items, annotator):
    response = annotator.get(next_url(project))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "external_id", "text", "image_url", "meta",
                         "lease_expires_at", "suggestion"}  # fmt: skip
    assert (body["id"], body["text"], body["suggestion"]) == (items[0].pk, "item 0\nline two", None)
    assert annotator.get(next_url(project) + "/").json()["id"] == body["id"]  # reload: same item


def test_next_with_exclude_prefetches_the_following_item(project, items, annotator):
    first = annotator.get(next_url(project)).json()["id"]
    second = annotator.get(next_url(project), {"exclude": str(first)}).json()["id"]
    assert (first, second) == (items[0].pk, items[1].pk)
    assert annotator.get(next_url(project), {"exclude": "a,b"}).status_code == 400


@pytest.mark.parametrize("exclude", [str(2**63), "99999999999999999999999", "-1", "\uff11"])
def test_an_exclude_id_no_item_can_have_is_a_400(project, items, annotator, exclude):
    # A number past the id column's range answered 500 (OverflowError on SQLite).
    response = annotator.get(next_url(project), {"exclude": exclude})
    assert response.status_code == 400 and "exclude" in response.json()


def test_next_is_204_when_nothing_is_left(project, items, annotator):
    for _ in items:
        item_id = annotator.get(next_url(project)).json()["id"]
        assert post_label(annotator, Item(pk=item_id)).status_code == 201
    response = annotator.get(next_url(project))
    assert response.status_code == 204 and not response.content


def test_next_carries_the_models_suggestion_when_the_model_is_in_the_loop(
    project, items, annotator
):
    Item.objects.filter(pk=items[0].pk).update(predicted_label="negative", predicted_score=0.75)
    assert annotator.get(next_url(project)).json()["suggestion"] is None
    project_update(project=project, model_in_loop=True)
    suggestion = annotator.get(next_url(project)).json()["suggestion"]
    assert suggestion == {"label": "negative", "probability": 0.75}


def test_submit_records_the_label_and_time(project, items, annotator, members):
    response = post_label(annotator, items[0], label="negative", time_spent_ms=2300)
    assert response.status_code == 201
    body = response.json()
    assert (body["item"], body["labels"], body["time_spent_ms"]) == (
        items[0].pk,
        ["negative"],
        2300,
    )
    stored = Annotation.objects.get(pk=body["id"])
    assert (stored.annotator, stored.project) == (members["annotator"], project)


def test_a_second_submit_is_409_with_the_existing_id_and_no_second_row(items, annotator):
    first = post_label(annotator, items[0]).json()["id"]
    again = post_label(annotator, items[0], label="neutral")
    assert again.status_code == 409
    assert again.json()["annotation_id"] == first
    assert Annotation.objects.filter(item=items[0]).count() == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"label": "sarcastic"}, "'sarcastic'"),
        ({"labels": ["positive", "negative"]}, "one label"),
        ({"labels": []}, "at least one"),
        ({}, "either"),
        ({"label": "positive", "labels": ["positive"]}, "either"),
    ],
)
def test_bad_labels_are_400_and_say_why(items, annotator, body, message):
    response = annotator.post(f"/api/items/{items[0].pk}/annotations/", body, format="json")
    assert response.status_code == 400
    assert message in str(response.json())
    assert not Annotation.objects.exists()


def test_multi_label_projects_accept_a_list(project, items, annotator):
    project_update(project=project, multi_label=True)
    response = post_label(annotator, items[0], labels=["positive", "neutral"])
    assert response.status_code == 201 and response.json()["labels"] == ["positive", "neutral"]


def test_patch_changes_my_own_annotation(items, annotator):
    created = post_label(annotator, items[0]).json()
    response = annotator.patch(f"/api/annotations/{created['id']}/", {"label": "neutral"},
                               format="json")  # fmt: skip
    assert response.status_code == 200 and response.json()["labels"] == ["neutral"]
    assert Annotation.objects.get(pk=created["id"]).labels == ["neutral"]
    bad = annotator.patch(f"/api/annotations/{created['id']}", {"label": "nope"}, format="json")
    assert bad.status_code == 400


def test_nobody_patches_or_reads_someone_elses_annotation(items, annotator, members, client_for):
    created = post_label(annotator, items[0]).json()
    reviewer = client_for(members["reviewer"])
    url = f"/api/annotations/{created['id']}/"
    assert reviewer.patch(url, {"label": "neutral"}, format="json").status_code == 404
    assert reviewer.get(url).status_code == 404
    assert Annotation.objects.get(pk=created["id"]).labels == ["positive"]


def test_skip_takes_a_reason_and_the_queue_moves_on(project, items, annotator):
    first = annotator.get(next_url(project)).json()["id"]
    response = annotator.post(f"/api/items/{first}/skip", {"reason": "unreadable"}, format="json")
    assert response.status_code == 201 and response.json()["reason"] == "unreadable"
    assert annotator.post(f"/api/items/{first}/skip/").status_code == 200  # idempotent
    assert Skip.objects.count() == 1 and not Lease.objects.filter(item_id=first).exists()
    assert annotator.get(next_url(project)).json()["id"] == items[1].pk


def test_history_lists_my_annotations_newest_first_with_items(project, items, annotator,
                                                              members, client_for):  # fmt: skip
    for item in items:
        post_label(annotator, item)
    post_label(client_for(members["reviewer"]), items[0])  # not mine
    body = annotator.get(f"/api/projects/{project.pk}/history").json()
    assert [entry["item"]["id"] for entry in body] == [i.pk for i in reversed(items)]
    assert body[0]["item"]["text"] == "item 2\nline two" and body[0]["labels"] == ["positive"]
    older = annotator.get(f"/api/projects/{project.pk}/history",
                          {"limit": 1, "before": body[0]["id"]}).json()  # fmt: skip
    assert [entry["id"] for entry in older] == [body[1]["id"]]


def test_progress_counts_mine_done_and_total(project, items, annotator, members, client_for):
    post_label(annotator, items[0])
    post_label(client_for(members["reviewer"]), items[1])
    body = annotator.get(f"/api/projects/{project.pk}/progress").json()
    assert body == {"mine": 1, "done": 2, "total": 3}


ROUTES = [
    ("get", "next"), ("get", "history"), ("get", "progress"),
    ("post", "annotate"), ("post", "skip"),
]  # fmt: skip


def call(client, project, item, method, route):
    urls = {
        "next": next_url(project), "history": f"/api/projects/{project.pk}/history",
        "progress": f"/api/projects/{project.pk}/progress",
        "annotate": f"/api/items/{item.pk}/annotations/", "skip": f"/api/items/{item.pk}/skip",
    }  # fmt: skip
    body = {"label": "positive"} if route == "annotate" else {}
    if route == "annotate" and client.handler._force_user is not None:
        lease_for(item, client.handler._force_user)  # the rule under test is the role
    return getattr(client, method)(urls[route], body, format="json")


@pytest.mark.parametrize(("method", "route"), ROUTES)
@pytest.mark.parametrize(
    ("role", "expected"),
    [("annotator", 2), ("reviewer", 2), ("manager", 2), ("engineer", 403), ("outsider", 404)],
)
def test_who_may_label(project, items, members, client_for, method, route, role, expected):
    response = call(client_for(members[role]), project, items[0], method, route)
    if expected == 2:
        assert response.status_code in (200, 201), response.content
    else:
        assert response.status_code == expected


def test_anonymous_requests_are_refused_without_disclosing_anything(project, items, client_for):
    for method, route in ROUTES:
        assert call(client_for(), project, items[0], method, route).status_code in (401, 403)


def test_missing_objects_are_404(project, annotator):
    assert annotator.post("/api/items/999999/annotations/", {"label": "x"}).status_code == 404
    assert annotator.patch("/api/annotations/999999/", {"label": "x"}).status_code == 404
    assert annotator.get("/api/projects/999999/next").status_code == 404


def test_the_fast_hot_path_responses_equal_their_documented_serializers(
    project, items, annotator, members
):
    """next and submit build plain dicts for speed; the schema's serializers must agree."""
    from api.serializers.labeling import AnnotationSerializer, QueueItemSerializer

    project_update(project=project, model_in_loop=True)
    Item.objects.filter(pk=items[0].pk).update(
        predicted_label="negative", predicted_score=0.75, meta={"k": [1, "two"]}
    )
    served = annotator.get(next_url(project)).json()
    lease = Lease.objects.select_related("item").get(item_id=served["id"])
    project.refresh_from_db()
    assert (
        served == QueueItemSerializer(lease, context={"project": project, "role": "annotator"}).data
    )
    assert annotator.get(next_url(project)).json() == served  # the held lease, read back
    created = post_label(annotator, items[0], label="negative", time_spent_ms=1200).json()
    assert created == AnnotationSerializer(Annotation.objects.get(pk=created["id"])).data
    assert created["suggestion_accepted"] is True and created["source"] == "human"


@pytest.mark.parametrize("bad_id", ["99999999999999999999", "١٢"])
@pytest.mark.parametrize("route", ["projects/{}/progress", "items/{}/skip", "annotations/{}"])
def test_ids_no_row_can_have_are_404_not_server_errors(members, client_for, bad_id, route):
    client = client_for(members["annotator"])
    url = "/api/" + route.format(bad_id)

    response = client.post(url) if "skip" in route else client.get(url)

    assert response.status_code == 404
