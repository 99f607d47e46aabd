"""What happens once a job's outcome commits, run by the runner itself (autocommit, under
its claim fence): the job of its kind that waited is sent, and the finish listeners run."""

import pytest

import annotation.jobs.registry as registry
from annotation.jobs.runner import job_execute
from annotation.models import Job


def queue_another(job, progress):
    Job.objects.create(project=job.project, kind=job.kind)  # asked for while this one ran
    return {}


@pytest.mark.django_db(transaction=True)
def test_the_waiting_job_is_sent_and_marked_sent(project, monkeypatch, caplog):
    monkeypatch.setitem(registry._HANDLERS, "audit",
                        "tests.annotation.test_job_finish.queue_another")  # fmt: skip
    running = Job.objects.create(project=project, kind="audit")
    assert job_execute(job_id=running.pk, task_id="t") == {}
    waiting = Job.objects.get(kind="audit", status="queued")
    assert waiting.sent_at is not None
    assert not [r for r in caplog.records if "lost its claim" in r.message]


def writes_nothing(job, progress):
    return {"created": 0}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["import", "audit"])  # one transaction, and autocommit
def test_listeners_run_once_the_fence_is_gone(project, monkeypatch, caplog, kind):
    from annotation.models import WebhookDelivery
    from annotation.services.webhooks import webhook_create

    monkeypatch.setitem(registry._HANDLERS, kind, "tests.annotation.test_job_finish.writes_nothing")
    webhook_create(project=project, url="http://127.0.0.1:9/", secret="x" * 16,
                   events=["job.finished"])  # fmt: skip
    job = Job.objects.create(project=project, kind=kind)
    assert job_execute(job_id=job.pk, task_id="t") == {"created": 0}
    (delivery,) = WebhookDelivery.objects.all()
    assert (
        delivery.payload["data"] | {"kind": kind, "status": "succeeded"} == delivery.payload["data"]
    )
    assert not [r for r in caplog.records if "lost its claim" in r.message or "failed" in r.message]
