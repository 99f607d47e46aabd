"""A reviewer resolves multi-label issues over the API: the sets travel as lists."""

from annotation.models import Item, LabelIssue
from annotation.services.importing import import_objects
from annotation.services.projects import membership_set
from tests.annotation.review_helpers import blobs_with_flips, run_job
from tests.learning.multilabel_helpers import project_with_flipped_sets


def flagged_project_and_reviewer(manager, make_user, client_for):
    """A multi-label project with flipped sets, its label-issues job run, a reviewer's client."""
    project, truth, _ = project_with_flipped_sets(manager)
    reviewer = make_user("rev")
    membership_set(project=project, user=reviewer, role="reviewer")
    run_job(project)
    return project, truth, client_for(reviewer)


def test_a_reviewer_relabels_with_the_suggested_set_and_accepts_a_given_set(
    manager, make_user, client_for
):
    project, truth, client = flagged_project_and_reviewer(manager, make_user, client_for)
    listed = client.get(f"/api/projects/{project.pk}/label-issues?status=open").json()["results"]
    assert len(listed) >= 2
    first = listed[0]
    second = next(i for i in listed[1:] if len(i["given_labels"]) > 1)
    assert first["suggested_labels"] == truth[first["item"]["external_id"]]
    assert first["given_labels"] == first["item"]["annotations"][0]["labels"]

    relabel = {"action": "relabel", "labels": first["suggested_labels"]}
    response = client.post(f"/api/items/{first['item']['id']}/review", relabel, format="json")
    assert (
        response.status_code == 201
        and response.json()["after"]["final_labels"] == (first["suggested_labels"])
    )
    accept = client.post(
        f"/api/items/{second['item']['id']}/review", {"action": "accept"}, format="json"
    )
    assert accept.status_code == 201
    # the whole given set, not its display text
    assert Item.objects.get(pk=second["item"]["id"]).final_labels == second["given_labels"]
    statuses = dict(
        LabelIssue.objects.filter(id__in=[first["id"], second["id"]]).values_list("id", "status")
    )
    assert statuses == {first["id"]: "relabeled", second["id"]: "accepted"}

    rerun = run_job(project)
    assert rerun.result["flagged"] == len(listed) - 2
    assert not LabelIssue.objects.filter(job=rerun, item_id=first["item"]["id"]).exists()


def test_single_label_issues_list_their_labels_as_one_element_lists(project, members, client_for):
    rows, _ = blobs_with_flips()
    assert import_objects(project=project, objects=rows).ok
    run_job(project)
    issue = (
        client_for(members["reviewer"])
        .get(f"/api/projects/{project.pk}/label-issues")
        .json()["results"][0]
    )
    assert issue["given_labels"] == [issue["given_label"]]
    assert issue["suggested_labels"] == [issue["suggested_label"]]


def test_the_label_filter_finds_a_label_inside_given_and_suggested_sets(
    manager, make_user, client_for
):
    project, _, client = flagged_project_and_reviewer(manager, make_user, client_for)
    url = f"/api/projects/{project.pk}/label-issues"
    every = client.get(url).json()["results"]

    for topic in ("sports", "politics", "tech"):
        listed = {i["id"] for i in client.get(f"{url}?label={topic}").json()["results"]}
        expected = {
            i["id"] for i in every if topic in i["given_labels"] or topic in i["suggested_labels"]
        }
        assert listed == expected and expected
    assert client.get(f"{url}?label=port").json()["results"] == []  # whole names only
