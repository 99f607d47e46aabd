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
