"""Celery entry points for annotation jobs: ids in, the service does the work."""

from datetime import timedelta

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import OperationalError

from annotation.services.jobs import JobBusy, job_execute, job_fail, jobs_resend_stale


class JobTask(Task):
    """Marks the job failed, readably, when the task gives up for good."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        if args:
            job_fail(job_id=args[0], error=f"{exc.__class__.__name__}: {exc}")


@shared_task(
    bind=True,
    base=JobTask,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=2,
    max_retries=3,
)
def run_job(self, job_id: int):
    """Run one job by id. Safe to deliver twice: the job row decides."""
    try:
        job_execute(job_id=job_id, task_id=self.request.id)
    except JobBusy as exc:
        # Coalescing: wait for the running job of the same kind to finish.
        raise self.retry(exc=exc, countdown=2, max_retries=None) from exc
    except SoftTimeLimitExceeded:
        job_fail(job_id=job_id, error="The job ran past its time limit.")
        raise


@shared_task(ignore_result=True)
def resend_stale_jobs() -> list[int]:
    """Beat: give every job queued for too long a new message (see ``jobs_resend_stale``)."""
    after = timedelta(seconds=settings.QUORUM_RESEND_QUEUED_AFTER_SECONDS)
    return jobs_resend_stale(older_than=after)
