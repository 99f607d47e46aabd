"""The review queue over the API: listing, filters, review actions, audit log, permissions."""

import pytest

from annotation.models import Annotation, Item, LabelIssue
from annotation.services.importing import import_objects
from annotation.services.projects import membership_set
from tests.annotation.review_helpers import N_FLIPPED, blobs_with_flips, run_job


@pytest.fixture
def flagged(project, members):
    rows, flipped = blobs_with_flips()
    assert import_objects(project=project, objects=rows).ok
    return run_job(project), flipped


def issues_url(project, **query) -> str:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return f"/api/projects/{project.pk}/label-issues" + (f"?{params}" if params else "")


def test_lists_flagged_items_most_severe_first_with_what_a_reviewer_needs(
    project, members, client_for, flagged
):
    job, flipped = flagged
    response = client_for(members["reviewer"]).get(issues_url(project))
    assert response.status_code == 200
    results = response.json()["results"]
    assert {r["item"]["external_id"] for r in results} == flipped
    qualities = [r["quality"] for r in results]
    assert qualities == sorted(qualities)
    first = results[0]
    assert first["run"] == job.pk and first["status"] == "open"
    assert first["given_label"] != first["suggested_label"] and first["reason"]
    assert 0.5 < first["suggested_probability"] <= 1
    assert first["item"]["annotations"] == [
        {"annotator": None, "source": "import", "labels": [first["given_label"]]}
    ]
    assert first["item"]["agreement"] == 1.0


def test_filters_by_label_and_status(project, members, client_for, flagged):
    client = client_for(members["manager"])
    everything = client.get(issues_url(project)).json()["results"]
    by_label = client.get(issues_url(project, label="negative")).json()["results"]
    assert by_label and all(
        "negative" in (r["given_label"], r["suggested_label"]) for r in by_label
    )
    assert len(by_label) < len(everything)
    item_id = everything[0]["item"]["id"]
    assert (
        client.post(
            f"/api/items/{item_id}/review", {"action": "dismiss"}, format="json"
        ).status_code
        == 201
    )
    dismissed = client.get(issues_url(project, status="dismissed")).json()["results"]
    assert [r["item"]["id"] for r in dismissed] == [item_id]
    assert len(client.get(issues_url(project, status="open")).json()["results"]) == N_FLIPPED - 1
    assert client.get(issues_url(project, status="bogus")).status_code == 400


def test_review_actions_and_the_audit_log(project, members, client_for, flagged):
    client = client_for(members["reviewer"])
    results = client.get(issues_url(project)).json()["results"]
    item_id, suggested = results[0]["item"]["id"], results[0]["suggested_label"]
    answer = client.post(
        f"/api/items/{item_id}/review",
        {"action": "relabel", "label": suggested, "note": "obvious"},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    assert Item.objects.get(pk=item_id).final_labels == [suggested]
    assert (
        client.post(
            f"/api/items/{item_id}/review", {"action": "relabel"}, format="json"
        ).status_code
        == 400
    )
    assert (
        client.post(
            f"/api/items/{item_id}/review", {"action": "requeue"}, format="json"
        ).status_code
        == 201
    )
    log = client.get(f"/api/items/{item_id}/audit").json()
    assert [entry["action"] for entry in log] == ["requeue", "relabel"]
    assert log[1]["reviewer"] == "reviewer" and log[1]["note"] == "obvious"
    assert log[1]["before"]["final_labels"] is None and log[1]["after"]["final_labels"] == [
        suggested
    ]
    assert log[1]["run"] == results[0]["run"]


@pytest.mark.parametrize(("role", "status"), [
    ("manager", 200), ("reviewer", 200), ("annotator", 403), ("engineer", 403), ("outsider", 404),
])  # fmt: skip
def test_only_managers_and_reviewers_see_the_queue(
    project, members, client_for, flagged, role, status
):
    client = client_for(members[role])
    item_id = LabelIssue.objects.filter(project=project).first().item_id
    assert client.get(issues_url(project)).status_code == status
    assert client.get(f"/api/projects/{project.pk}/annotator-quality").status_code == status
    assert client.get(f"/api/items/{item_id}/audit").status_code == status
    review = client.post(f"/api/items/{item_id}/review", {"action": "dismiss"}, format="json")
    assert review.status_code == (201 if status == 200 else status)


def test_anonymous_requests_are_refused(project, client_for, flagged):
    assert client_for().get(issues_url(project)).status_code in (401, 403)


def test_annotator_quality_lists_scores_with_their_item_counts(
    project, members, client_for, make_user
):
    rows, _ = blobs_with_flips()
    for row in rows:
        row.pop("label")
    import_objects(project=project, objects=rows)
    users = [make_user(f"a{i}") for i in range(3)]
    for i, user in enumerate(users):
        membership_set(project=project, user=user, role="annotator")
        for j, item in enumerate(Item.objects.filter(project=project).order_by("id")):
            truth = item.external_id.split("-")[0]
            wrong = {"positive": "negative", "negative": "neutral", "neutral": "positive"}[truth]
            label = wrong if (i == 2 and j % 2) else truth  # a2 is wrong half the time
            Annotation.objects.create(item=item, project=project, annotator=user, labels=[label])
    run_job(project)
    rows = (
        client_for(members["reviewer"]).get(f"/api/projects/{project.pk}/annotator-quality").json()
    )
    assert [r["annotator"] for r in rows][-1] == "a2"
    assert all(r["n_items"] == 90 and r["method"] == "crowdlab" for r in rows)


def test_the_listing_reads_a_page_in_a_fixed_number_of_queries(
    project, members, client_for, flagged, django_assert_max_num_queries
):
    client = client_for(members["reviewer"])
    with django_assert_max_num_queries(8):  # session, role, count, page, 2 prefetches
        assert len(client.get(issues_url(project)).json()["results"]) == N_FLIPPED
