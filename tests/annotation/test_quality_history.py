"""Annotator quality over time: one record per annotator per label-quality run, the
"quality dropping" rule against the annotator's own earlier level (once per condition,
resolved when it clears), and the series the dashboard and the API show."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotation.models import Alert, AnnotatorQuality, AnnotatorQualityRecord, Job, WebhookDelivery
from annotation.quality_selectors import QualityLevel, quality_history, quality_levels
from annotation.services.alert_rules import alert_rules_put, job_finished, quality_dropped
from annotation.services.webhooks import webhook_create

DROP_RULE = {"kind": "annotator_quality_drop", "params": {"drop": 0.1, "min_items": 20, "runs": 3}}


def _run(project, scores: dict, n_items: int = 30, at=None) -> Job:
    """A finished label-quality run that measured ``scores`` ({user: score})."""
    job = Job.objects.create(project=project, kind="label_issues", status="succeeded",
                             finished_at=timezone.now(), result={"flagged": 0})  # fmt: skip
    for user, score in scores.items():
        record = AnnotatorQualityRecord.objects.create(
            project=project,
            annotator=user,
            job=job,
            score=score,
            n_items=n_items,
            method="crowdlab",
        )
        if at is not None:
            AnnotatorQualityRecord.objects.filter(pk=record.pk).update(created_at=at)
        AnnotatorQuality.objects.update_or_create(
            project=project, annotator=user,
            defaults={"score": score, "n_items": n_items, "method": "crowdlab", "job": job},
        )  # fmt: skip
    job_finished(job_id=job.pk)
    return job


def _drop_alerts(project, user=None):
    alerts = Alert.objects.filter(project=project, kind="annotator_quality_drop")
    return alerts.filter(key=f"annotator_quality_drop:{user.pk}") if user else alerts


@pytest.mark.django_db
def test_a_drop_against_the_own_earlier_level_fires_once_and_resolves(project, members):
    ann = members["annotator"]
    alert_rules_put(project=project, rules=[DROP_RULE])
    _run(project, {ann: 0.9})
    _run(project, {ann: 0.8})  # earlier level 0.9: a drop of exactly 0.1 counts
    (alert,) = _drop_alerts(project, ann)
    assert alert.resolved_at is None and "dropped to 0.800 from 0.900" in alert.message
    assert alert.data["earlier"] == pytest.approx(0.9) and alert.data["earlier_runs"] == 1
    _run(project, {ann: 0.7})  # still 0.15 below mean(0.9, 0.8): the same alert
    assert _drop_alerts(project, ann).count() == 1
    _run(project, {ann: 0.85})  # mean(0.9, 0.8, 0.7) = 0.8: recovered
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    assert _drop_alerts(project).filter(resolved_at__isnull=True).count() == 0


@pytest.mark.django_db
def test_the_level_is_the_annotators_own_not_the_teams(project, members):
    """A steady weak annotator does not fire; a strong one who slips does."""
    weak, strong = members["annotator"], members["reviewer"]
    alert_rules_put(project=project, rules=[DROP_RULE])
    _run(project, {weak: 0.5, strong: 0.95})
    _run(project, {weak: 0.5, strong: 0.8})
    assert list(_drop_alerts(project).values_list("key", flat=True)) == [
        f"annotator_quality_drop:{strong.pk}"
    ]


@pytest.mark.django_db
def test_small_measurements_neither_fire_nor_set_the_level(project, members):
    ann = members["annotator"]
    alert_rules_put(project=project, rules=[DROP_RULE])
    _run(project, {ann: 1.0}, n_items=5)  # too few items to be a level
    _run(project, {ann: 0.7})
    assert not _drop_alerts(project).exists()
    _run(project, {ann: 0.4}, n_items=5)  # too few items to judge the latest
    assert not _drop_alerts(project).exists()
    (level,) = quality_levels(project=project, runs=3, min_items=20)
    assert (level.latest, level.latest_items, level.earlier) == (0.4, 5, 0.7)


@pytest.mark.django_db
def test_the_rule_off_says_nothing_and_turning_it_off_resolves(project, members):
    ann = members["annotator"]
    _run(project, {ann: 0.9})
    _run(project, {ann: 0.5})
    assert not _drop_alerts(project).exists()
    alert_rules_put(project=project, rules=[DROP_RULE])  # checked at once on the stored history
    assert _drop_alerts(project, ann).filter(resolved_at__isnull=True).count() == 1
    alert_rules_put(project=project, rules=[DROP_RULE | {"enabled": False}])
    assert _drop_alerts(project, ann).filter(resolved_at__isnull=True).count() == 0


@pytest.mark.django_db
def test_opening_goes_to_the_webhooks(project, members):
    webhook_create(project=project, url="http://127.0.0.1:9/", secret="x" * 16,
                   events=["alert.opened"])  # fmt: skip
    alert_rules_put(project=project, rules=[DROP_RULE])
    _run(project, {members["annotator"]: 0.9})
    _run(project, {members["annotator"]: 0.6})
    (delivery,) = WebhookDelivery.objects.all()
    assert delivery.payload["data"]["kind"] == "annotator_quality_drop"


@pytest.mark.django_db
@pytest.mark.parametrize("params", [
    {"drop": 0}, {"drop": 1.5}, {"drop": "0.1"}, {"drop": True}, {"runs": 0}, {"runs": 51},
    {"runs": 2.5}, {"min_items": -1}, {"nope": 1},
])  # fmt: skip
def test_hostile_params_are_refused(project, params):
    with pytest.raises(ValidationError):
        alert_rules_put(
            project=project, rules=[{"kind": "annotator_quality_drop", "params": params}]
        )


scores = st.floats(min_value=0, max_value=1, allow_nan=False)


@given(latest=scores, earlier=st.lists(scores, max_size=6), drop=st.floats(0.01, 1),
       items=st.integers(0, 40), runs=st.integers(1, 5))  # fmt: skip
def test_the_condition_is_the_mean_of_the_last_runs_minus_the_latest(
    latest, earlier, drop, items, runs
):
    kept = earlier[:runs]
    level = QualityLevel(annotator_id=1, annotator="a", latest=latest, latest_items=items,
                         earlier=sum(kept) / len(kept) if kept else None, earlier_runs=len(kept))  # fmt: skip
    fired = quality_dropped(level, drop=drop, min_items=20)
    if not kept or items < 20:
        assert not fired
    else:
        assert fired == (sum(kept) / len(kept) - latest >= drop - 1e-9)


@pytest.mark.django_db
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(st.lists(st.sampled_from([0.9, 0.85, 0.6, 0.5]), min_size=1, max_size=8))
def test_alerts_open_once_per_run_of_the_condition(project, members, series):
    """For any series of runs, the alerts opened are the runs of consecutive drops."""
    AnnotatorQualityRecord.objects.all().delete()
    Alert.objects.all().delete()
    ann = members["annotator"]
    alert_rules_put(project=project, rules=[DROP_RULE])
    start = timezone.now() - timedelta(days=1)
    holds = []
    for i, score in enumerate(series):
        _run(project, {ann: score}, at=start + timedelta(minutes=i))
        before = series[max(0, i - 3) : i]
        holds.append(bool(before) and sum(before) / len(before) - score >= 0.1 - 1e-9)
    opened = sum(1 for i, h in enumerate(holds) if h and (i == 0 or not holds[i - 1]))
    assert _drop_alerts(project, ann).count() == opened
    assert _drop_alerts(project, ann).filter(resolved_at__isnull=True).count() == int(holds[-1])


@pytest.mark.django_db
def test_the_history_is_one_column_per_run_oldest_first(project, members):
    a, r = members["annotator"], members["reviewer"]
    now = timezone.now()
    first = _run(project, {a: 0.9}, at=now - timedelta(hours=2))
    second = _run(project, {a: 0.8, r: 0.7}, at=now - timedelta(hours=1))
    history = quality_history(project=project)
    assert [run["job"] for run in history["runs"]] == [first.pk, second.pk]
    by_name = {row["annotator"]: row for row in history["annotators"]}
    assert by_name["annotator"]["scores"] == [0.9, 0.8]
    assert by_name["reviewer"]["scores"] == [None, 0.7] and by_name["reviewer"]["n_items"] == [
        None,
        30,
    ]
    assert [run["job"] for run in quality_history(project=project, runs=1)["runs"]] == [second.pk]
    assert quality_history(project=project, runs=1)["annotators"][0]["scores"] == [0.8]


@pytest.mark.django_db
def test_the_api_shows_the_history_to_managers_and_reviewers_only(project, members, client_for):
    _run(project, {members["annotator"]: 0.9})
    url = f"/api/projects/{project.pk}/annotator-quality/history"
    for role, code in (("manager", 200), ("reviewer", 200), ("annotator", 403), ("outsider", 404)):
        response = client_for(members[role]).get(url)
        assert response.status_code == code, (role, response.content)
    body = client_for(members["manager"]).get(url).json()
    assert body["annotators"] == [{"annotator": "annotator", "scores": [0.9], "n_items": [30]}]
