"""Drift over time: every check of the latest drift runs, oldest first, on the chart of its
scale with the score of no drift, as the dashboard embeds it."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from annotation.drift_selectors import drift_history
from annotation.models import DriftCheck, Job


def _run(project, checks, at):
    job = Job.objects.create(project=project, kind="drift", status="succeeded")
    for kind, reference, score, p_value, detail in checks:
        DriftCheck.objects.create(project=project, job=job, kind=kind, reference=reference,
                                  score=score, p_value=p_value, drift=p_value is not None and p_value < 0.05,
                                  detail=detail)  # fmt: skip
    DriftCheck.objects.filter(job=job).update(created_at=at)
    return job


def _two_runs(project):
    now = timezone.now()
    first = _run(project, [
        ("data", "labeled set vs unlabeled pool", 0.52, 0.4, {"baseline": 0.5}),
        ("data", "meta.source: labeled set vs unlabeled pool", 0.02, 0.5,
         {"field": "source", "test": "chi2"}),
        ("label", "latest annotations vs earlier ones", 0.01, 0.7, {}),
    ], now - timedelta(days=1))  # fmt: skip
    second = _run(project, [
        ("data", "labeled set vs unlabeled pool", 0.81, 0.001, {"baseline": 0.49}),
        ("annotator", "annotator ann1", 0.3, 0.002, {}),
        ("label", "latest annotations vs earlier ones", 0.02, 0.6, {}),
    ], now)  # fmt: skip
    return first, second


@pytest.mark.django_db
def test_each_check_is_a_point_on_the_chart_of_its_scale(project):
    first, second = _two_runs(project)
    points = drift_history(project=project)
    assert [p["run"] for p in points] == [first.pk] * 3 + [second.pk] * 3
    panels = {(p["run"], p["series"]): p["panel"] for p in points}
    assert panels[(first.pk, "meta.source: labeled set vs unlabeled pool")] == "meta"
    assert panels[(second.pk, "annotator ann1")] == "annotator"
    data = [p for p in points if p["panel"] == "data"]
    assert [(p["score"], p["baseline"], p["drift"]) for p in data] == [
        (0.52, 0.5, False), (0.81, 0.49, True)
    ]  # fmt: skip
    assert {p["baseline"] for p in points if p["panel"] != "data"} == {0.0}
    assert len({p["at"] for p in points}) == 2  # one time per run


@pytest.mark.django_db
def test_only_the_latest_runs_and_never_a_check_without_a_job(project):
    first, second = _two_runs(project)
    DriftCheck.objects.create(project=project, job=None, kind="label", reference="orphan",
                              score=0.1, p_value=0.5)  # fmt: skip
    points = drift_history(project=project, runs=1)
    assert {p["run"] for p in points} == {second.pk}
    assert "orphan" not in {p["series"] for p in drift_history(project=project)}


@pytest.mark.django_db
def test_an_untested_check_has_no_baseline_and_a_data_check_without_one_gets_chance(project):
    _run(project, [("data", "a vs b", None, None, {"reason": "too few items"}),
                   ("data", "c vs d", 0.6, 0.3, {})], timezone.now())  # fmt: skip
    assert [p["baseline"] for p in drift_history(project=project)] == [None, 0.5]


@pytest.mark.django_db
def test_the_dashboard_embeds_the_history_with_the_latest_table(project, members):
    _two_runs(project)
    client = Client()
    client.force_login(members["reviewer"])
    html = client.get(f"/projects/{project.pk}/dashboard").content.decode()
    blob = html.split('id="dashboard-data" type="application/json">')[1].split("</script>")[0]
    data = json.loads(blob)
    assert len(data["drift_history"]) == 6
    for panel in ("data", "meta", "label", "annotator"):
        assert f'data-chart="drift-{panel}"' in html
    assert html.count('<tr data-drift="yes"') == 2  # the table: the latest run only
