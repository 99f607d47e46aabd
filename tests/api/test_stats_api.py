"""GET /api/projects/{id}/stats and /agreement: shapes, roles, and JSON without NaN."""

import json

import pytest

from annotation.models import Annotation, Item, Job, JobKind, JobStatus
from learning.agreement.service import agreement_job_handler


def parse(response):
    """Strict JSON: NaN or Infinity would fail here."""

    def no_constants(name):
        raise AssertionError(f"non-JSON constant {name} in the response")

    return json.loads(response.content, parse_constant=no_constants)


@pytest.fixture
def labeled(project, members, make_user):
    """Twelve items, each labeled by two annotators who disagree on a third of them; one run."""
    people = [members["annotator"], members["reviewer"]]
    for n in range(12):
        item = Item.objects.create(
            project=project, external_id=str(n), text="t", annotation_count=2
        )
        second = "negative" if n % 3 == 0 else "positive"
        for user, name in zip(people, ["positive", second], strict=True):
            Annotation.objects.create(item=item, project=project, annotator=user, labels=[name])
    Item.objects.create(project=project, external_id="pool", text="t", predicted_label="neutral")
    job = Job.objects.create(project=project, kind=JobKind.AGREEMENT, status=JobStatus.RUNNING)
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.SUCCEEDED, result=agreement_job_handler(job, lambda f: None)
    )
    return project


def test_stats_shape(labeled, api):
    body = parse(api.get(f"/api/projects/{labeled.pk}/stats"))
    assert set(body) == {"progress", "distribution", "agreement", "agreement_history", "annotators",
                         "confusion", "learning_curve", "open_issues", "stopping",
                         "forecast"}  # fmt: skip
    assert (body["progress"]["total"], body["progress"]["annotations"]) == (13, 24)
    assert {r["annotator"] for r in body["progress"]["per_annotator"]} == {"annotator", "reviewer"}
    assert sum(r["annotations"] for r in body["progress"]["per_hour"]) == 24
    dist = body["distribution"]
    assert dist["labels"][:3] == ["positive", "negative", "neutral"]
    # Labeled items by their decided label: the 4 ties go to "positive", first in label order.
    assert dist["labeled"][:3] == [12, 0, 0] and dist["predicted"][:3] == [0, 0, 1]
    assert len(body["agreement_history"]["krippendorff_alpha"]) == 1
    assert body["confusion"]["matrix"][0][1] == 4  # 4 items: positive met negative (both ways)
    assert body["open_issues"] == 0 and body["learning_curve"] == []
    assert {r["annotator"] for r in body["annotators"]} == {"annotator", "reviewer"}


def test_agreement_latest_and_history(labeled, client_for, members):
    client = client_for(members["reviewer"])
    latest = parse(client.get(f"/api/projects/{labeled.pk}/agreement"))
    assert set(latest["project"]) == {
        "krippendorff_alpha",
        "fleiss_kappa",
        "percent",
        "cohen_kappa",
    }
    assert latest["pairs"][0]["a"] in {"annotator", "reviewer"}
    assert set(latest["labels"]) == {"positive", "negative", "neutral"}
    assert latest["labels"]["neutral"]["krippendorff_alpha"]["value"] is None
    assert latest["labels"]["neutral"]["krippendorff_alpha"]["reason"]
    history = parse(client.get(f"/api/projects/{labeled.pk}/agreement?history=1"))
    assert history["scope"] == "project"
    point = history["series"]["cohen_kappa"][0]
    assert set(point) == {"at", "value", "n_items", "n_annotations", "reason"}
    labels = parse(
        client.get(f"/api/projects/{labeled.pk}/agreement?history=1&scope=label&key=positive")
    )
    assert len(labels["series"]["krippendorff_alpha"]) == 1
    bad = client.get(f"/api/projects/{labeled.pk}/agreement?history=1&scope=planet")
    assert bad.status_code == 400


def test_before_any_run_the_answer_is_a_reason(project, api):
    body = parse(api.get(f"/api/projects/{project.pk}/agreement"))
    assert body["project"] == {} and body["reason"] == "agreement has not been computed yet"
    stats = parse(api.get(f"/api/projects/{project.pk}/stats"))
    assert stats["confusion"]["reason"] and stats["progress"]["total"] == 0


@pytest.mark.parametrize(
    "who, status",
    [("manager", 200), ("reviewer", 200), ("annotator", 403), ("engineer", 403), ("outsider", 404)],
)
@pytest.mark.parametrize("path", ["stats", "agreement"])
def test_only_managers_and_reviewers_read_it(project, members, client_for, who, status, path):
    assert client_for(members[who]).get(f"/api/projects/{project.pk}/{path}").status_code == status


def test_anonymous_is_refused(project, client_for):
    assert client_for().get(f"/api/projects/{project.pk}/stats").status_code in (401, 403)
