"""Giving a running job's claim back (a transient error, a dead runner taken back) while other
workers queue and claim jobs of its kind: it is queued again or superseded, never an error."""

import pytest

import annotation.jobs.runner as runner
from annotation.models import Job, JobStatus


@pytest.mark.django_db
def test_requeue_when_the_job_queued_meanwhile_has_already_left_the_queue(project, monkeypatch):
    running = Job.objects.create(project=project, kind="audit", status=JobStatus.RUNNING,
                                 attempts=1)  # fmt: skip
    other = Job.objects.create(project=project, kind="audit")  # queued as it gives its claim back
    real_waiting_of_kind = runner._waiting_of_kind
    looks = []

    def waiting_of_kind(job):
        looks.append(job.pk)
        if len(looks) == 1:
            return None  # the first look came before the other job was queued
        # By the second look the other job has left the queue (another worker failed it
        # for its attempts, or claimed it), so nothing of the kind waits any more.
        Job.objects.filter(pk=other.pk).update(status=JobStatus.FAILED)
        return real_waiting_of_kind(job)

    monkeypatch.setattr(runner, "_waiting_of_kind", waiting_of_kind)
    assert runner._requeue(running, reason="A transient error.", retrying="Retrying.") == running
    running.refresh_from_db()
    assert running.status == JobStatus.QUEUED
    assert running.error == "A transient error. Retrying."
