"""Celery entry points for annotation jobs: ids in, the service does the work."""

from datetime import timedelta

from celery import Task, shared_task
from django.conf import settings
from django.db import OperationalError

from annotation.jobs.registry import RUN_JOB_TASK
from annotation.jobs.runner import job_execute, job_fail
from annotation.jobs.sweep import jobs_recover, jobs_resend_stale
from annotation.jobs.triggers import audits_due, drifts_due


class JobTask(Task):
    """Marks the job failed, readably, when the task gives up for good (only while this
    message still owns the job: a later attempt's run is left alone)."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        if args:
            job_fail(job_id=args[0], error=f"{exc.__class__.__name__}: {exc}", task_id=task_id)


@shared_task(
    name=RUN_JOB_TASK,
    bind=True,
    base=JobTask,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=2,
    max_retries=3,
)
def run_job(self, job_id: int):
    """Run one job by id. Safe to deliver twice: the job row decides (``job_claim``).

    A job waiting behind a running one of its kind returns at once, without retrying:
    that one sends it again when it finishes, however long it runs.
    """
    job_execute(job_id=job_id, task_id=self.request.id)


@shared_task(ignore_result=True)
def resend_stale_jobs() -> list[int]:
    """Beat: take back running jobs whose worker died (stale heartbeat, ``jobs_recover``),
    and give every job queued for too long a new message (``jobs_resend_stale``)."""
    after = timedelta(seconds=settings.QUORUM_RESEND_QUEUED_AFTER_SECONDS)
    return jobs_recover() + jobs_resend_stale(older_than=after)


@shared_task(ignore_result=True)
def enqueue_audits() -> list[int]:
    """Beat: an audit for every project whose items changed since its latest audit."""
    return [job.pk for job in audits_due()]


@shared_task(ignore_result=True)
def enqueue_drift_checks() -> list[int]:
    """Beat: drift checks for every project with new items or labels since its last ones."""
    return [job.pk for job in drifts_due()]
