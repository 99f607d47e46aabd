"""Alerts fire once per condition, not once per check; the rules are checked where their
data is written (a finished job), and each opening and resolution goes to the webhooks."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotation.jobs.runner import job_fail
from annotation.models import (
    AgreementRecord,
    Alert,
    AnnotatorQuality,
    Job,
    WebhookDelivery,
)
from annotation.services.alert_rules import (
    alert_drift,
    alert_rules_put,
    alert_stopping_rule,
    job_finished,
)
from annotation.services.alerts import alert_clear, alert_raise, alert_set
from annotation.services.webhooks import webhook_create


def _raise(project, key="agreement_below"):
    return alert_raise(project=project, kind="agreement_below", key=key, message="low")


@pytest.mark.django_db
def test_one_open_alert_per_condition_then_a_new_one_after_it_clears(project):
    first, opened = _raise(project)
    again, opened_again = _raise(project)
    assert opened and not opened_again and again.pk == first.pk
    assert alert_clear(project=project, key="agreement_below").pk == first.pk
    assert alert_clear(project=project, key="agreement_below") is None  # nothing open
    later, reopened = _raise(project)
    assert reopened and later.pk != first.pk
    first.refresh_from_db()
    assert first.resolved_at is not None and later.resolved_at is None
    assert Alert.objects.filter(project=project).count() == 2


@pytest.mark.django_db
def test_the_database_refuses_a_second_open_alert(project):
    _raise(project)
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(project=project, kind="agreement_below", key="agreement_below",
                             message="dup")  # fmt: skip


@pytest.mark.django_db
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)  # reset in the test
@given(st.lists(st.booleans(), max_size=25))
def test_alerts_open_once_per_run_of_the_condition(project, holds_by_check):
    """For any sequence of checks, alerts opened == runs of consecutive ``True``."""
    Alert.objects.all().delete()
    for holds in holds_by_check:
        alert_set(project=project, kind="drift", key="drift:data", holds=holds, message="d")
    runs = sum(
        1 for i, h in enumerate(holds_by_check) if h and (i == 0 or not holds_by_check[i - 1])
    )
    assert Alert.objects.filter(key="drift:data").count() == runs
    still = bool(holds_by_check) and holds_by_check[-1]
    assert Alert.objects.filter(key="drift:data", resolved_at__isnull=True).count() == int(still)


@pytest.mark.django_db
def test_opening_and_resolving_go_to_the_webhooks(project):
    webhook_create(project=project, url="http://127.0.0.1:9/", secret="x" * 16,
                   events=["alert.opened", "alert.resolved"])  # fmt: skip
    _raise(project)
    _raise(project)
    alert_clear(project=project, key="agreement_below")
    events = list(WebhookDelivery.objects.order_by("pk").values_list("event", flat=True))
    assert events == ["alert.opened", "alert.resolved"]


def _agreement(project, value):
    job = Job.objects.create(project=project, kind="agreement", status="succeeded",
                             finished_at=timezone.now())  # fmt: skip
    AgreementRecord.objects.create(project=project, job=job, metric="krippendorff_alpha",
                                   scope="project", value=value, n_items=10)  # fmt: skip
    job_finished(job_id=job.pk)


@pytest.mark.django_db
def test_agreement_below_fires_once_and_resolves_when_it_recovers(project):
    _agreement(project, 0.2)  # the rule is off: nothing
    assert not Alert.objects.exists()
    alert_rules_put(
        project=project, rules=[{"kind": "agreement_below", "params": {"threshold": 0.6}}]
    )
    for value in (0.3, 0.4, 0.5):  # three runs, one condition
        _agreement(project, value)
    (alert,) = Alert.objects.all()
    assert alert.resolved_at is None and alert.data["value"] == 0.5
    _agreement(project, 0.8)
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    _agreement(project, 0.1)
    assert Alert.objects.filter(resolved_at__isnull=True).count() == 1
    assert Alert.objects.count() == 2


@pytest.mark.django_db
def test_label_issues_and_annotator_quality_after_a_label_issues_run(project, members):
    alert_rules_put(project=project, rules=[
        {"kind": "label_issues_above", "params": {"count": 5}},
        {"kind": "annotator_quality", "params": {"threshold": 0.8, "min_items": 3}},
    ])  # fmt: skip
    webhook_create(project=project, url="http://127.0.0.1:9/", secret="x" * 16,
                   events=["label_issues.found"])  # fmt: skip
    AnnotatorQuality.objects.create(project=project, annotator=members["annotator"], score=0.5,
                                    n_items=10, method="x")  # fmt: skip
    AnnotatorQuality.objects.create(
        project=project, annotator=members["reviewer"], score=0.5, n_items=2, method="x"
    )  # fmt: skip  (too few items)
    for flagged in (9, 12):
        job = Job.objects.create(project=project, kind="label_issues", status="succeeded",
                                 result={"flagged": flagged})  # fmt: skip
        job_finished(job_id=job.pk)
    keys = set(Alert.objects.filter(resolved_at__isnull=True).values_list("key", flat=True))
    assert keys == {"label_issues_above", f"annotator_quality:{members['annotator'].pk}"}
    assert WebhookDelivery.objects.filter(event="label_issues.found").count() == 2
    job = Job.objects.create(project=project, kind="label_issues", status="succeeded",
                             result={"flagged": 2})  # fmt: skip
    job_finished(job_id=job.pk)
    assert not Alert.objects.filter(key="label_issues_above", resolved_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_a_failing_job_raises_through_the_runners_finish_path(project):
    """The runner's finish listener, on commit: a failed job opens ``job_failed:<kind>`` once;
    the next success of that kind resolves it; ``job.finished`` goes out each time."""
    alert_rules_put(project=project, rules=[{"kind": "job_failed"}])
    webhook_create(project=project, url="http://127.0.0.1:9/", secret="x" * 16,
                   events=["job.finished"])  # fmt: skip
    for _ in range(2):
        job = Job.objects.create(project=project, kind="audit", status="running")
        job_fail(job_id=job.pk, error="Boom")
    (alert,) = Alert.objects.all()
    assert alert.key == "job_failed:audit" and "Boom" in alert.message
    ok = Job.objects.create(project=project, kind="audit", status="succeeded")
    job_finished(job_id=ok.pk)
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    payloads = [d.payload["data"] for d in WebhookDelivery.objects.order_by("pk")]
    assert [(p["kind"], p["status"]) for p in payloads] == [
        ("audit", "failed"),
        ("audit", "failed"),
        ("audit", "succeeded"),
    ]


@pytest.mark.django_db
def test_hooks_for_drift_and_the_stopping_rule_respect_the_switch(project):
    assert alert_drift(project=project, kind="data", detected=True) is None
    assert alert_stopping_rule(project=project, fired=True) is None
    alert_rules_put(project=project, rules=[{"kind": "drift"}, {"kind": "stopping_rule"}])
    assert alert_drift(project=project, kind="data", detected=True).key == "drift:data"
    assert alert_stopping_rule(project=project, fired=True).key == "stopping_rule"
    assert alert_drift(project=project, kind="data", detected=False) is None
    assert set(Alert.objects.filter(resolved_at__isnull=True).values_list("key", flat=True)) == {
        "stopping_rule"
    }
    alert_rules_put(project=project, rules=[{"kind": "stopping_rule", "enabled": False}])
    assert not Alert.objects.filter(resolved_at__isnull=True).exists()  # turned off: resolved


@pytest.mark.django_db
@pytest.mark.parametrize("rules", [
    [{"kind": "nope"}], [{"kind": "agreement_below", "params": {"threshold": 5}}],
    [{"kind": "agreement_below", "params": {"threshold": True}}],
    [{"kind": "agreement_below", "params": {"metric": "x"}}],
    [{"kind": "label_issues_above", "params": {"count": -1}}],
    [{"kind": "job_failed", "params": {"kinds": ["nope"]}}],
    [{"kind": "job_failed", "params": {"other": 1}}], [{"kind": "drift", "params": []}],
    [{"kind": "drift"}, {"kind": "drift"}],
])  # fmt: skip
def test_bad_rules_are_refused_by_field(project, rules):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        alert_rules_put(project=project, rules=rules)


@pytest.mark.django_db(transaction=True)
def test_a_built_snapshot_sends_snapshot_ready_and_job_finished(project, manager):
    """Through the runner itself: the events are written once the job's outcome commits."""
    from annotation.jobs.runner import job_execute
    from annotation.models import Item
    from annotation.services.snapshots import snapshot_create

    Item.objects.create(project=project, external_id="a", text="hello")
    webhook_create(project=project, url="http://127.0.0.1:9/", secret="x" * 16,
                   events=["snapshot.ready", "job.finished"])  # fmt: skip
    snapshot = snapshot_create(project=project, spec={}, user=manager, enqueue=False)
    job_execute(job_id=snapshot.job_id, task_id="test")
    sent = {d.event: d.payload["data"] for d in WebhookDelivery.objects.all()}
    assert sent["job.finished"] == sent["job.finished"] | {"kind": "snapshot",
                                                           "status": "succeeded"}  # fmt: skip
    assert sent["snapshot.ready"]["snapshot"] == snapshot.pk
    assert sent["snapshot.ready"]["version"] == snapshot.version


@pytest.mark.django_db(transaction=True)
def test_concurrent_checks_of_one_condition_open_one_alert(project):
    """Eight threads see the condition at once: one alert opens, one ``alert.opened`` goes."""
    import threading

    from django.db import connection

    webhook_create(project=project, url="http://127.0.0.1:9/", secret="x" * 16,
                   events=["alert.opened"])  # fmt: skip
    barrier, opened, errors = threading.Barrier(8), [], []

    def check():
        try:
            barrier.wait()
            opened.append(_raise(project)[1])
        except Exception as exc:  # noqa: BLE001  any error of a thread is reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=check) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sorted(opened) == [False] * 7 + [True]
    assert Alert.objects.count() == 1
    assert WebhookDelivery.objects.filter(event="alert.opened").count() == 1


@pytest.mark.django_db
def test_turning_a_rule_on_checks_the_stored_numbers_at_once(project, members):
    _agreement(project, 0.3)  # measured before any rule
    AnnotatorQuality.objects.create(project=project, annotator=members["annotator"], score=0.2,
                                    n_items=50, method="x")  # fmt: skip
    alert_rules_put(project=project, rules=[{"kind": "agreement_below"},
                                            {"kind": "annotator_quality"}])  # fmt: skip
    assert set(Alert.objects.values_list("key", flat=True)) == {
        "agreement_below",
        f"annotator_quality:{members['annotator'].pk}",
    }
    alert_rules_put(project=project, rules=[{"kind": "agreement_below",
                                             "params": {"threshold": 0.1}}])  # fmt: skip
    assert not Alert.objects.filter(key="agreement_below", resolved_at__isnull=True).exists()
