"""Queueing a job: the row first, then its Celery message once the transaction commits."""

import logging

from celery import current_app
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.jobs.registry import COALESCED_KINDS, RUN_JOB_TASK
from annotation.jobs.selectors import annotation_watermark
from annotation.models import Job, JobKind, JobStatus, Project

logger = logging.getLogger(__name__)


def job_enqueue(
    *, project: Project, kind: str, params: dict | None = None, user=None
) -> tuple[Job, bool]:
    """Create a queued job and send its message once the transaction commits.

    Coalesced kinds keep at most one waiting job per project: asking again while
    one waits returns that job and ``created=False``.
    """
    if kind not in JobKind.values:
        raise ValueError(f"Unknown job kind {kind!r}.")
    params = dict(params or {})
    if kind in COALESCED_KINDS and "watermark" not in params:
        params["watermark"] = annotation_watermark(project=project)
    if kind in COALESCED_KINDS:
        waiting = Job.objects.filter(project=project, kind=kind, status=JobStatus.QUEUED).first()
        if waiting:
            return waiting, False
    try:
        with transaction.atomic():
            job = Job.objects.create(project=project, kind=kind, params=params, created_by=user)
    except IntegrityError:  # a concurrent request queued one first
        return Job.objects.get(project=project, kind=kind, status=JobStatus.QUEUED), False
    transaction.on_commit(lambda: send_job(job.pk))
    return job, True


def send_job(job_id: int, *, fail_if_unreachable: bool = True) -> bool:
    """Send the job's message; True when the broker took it.

    When the broker refuses, a job someone just asked for is marked failed with a readable
    error (they start it again once the broker is back); a job sent again by the sweep, or
    after the job it waited for, stays queued and the next sweep sends it once more.

    Sent by task name: the task's module imports the runner, which sends. Every process
    registers the task (``AnnotationConfig.ready()``), so an eager app runs it in place.
    """
    try:
        current_app.signature(RUN_JOB_TASK, args=(job_id,)).apply_async()
    except Exception as exc:
        logger.exception("could not send job %s", job_id)
        if fail_if_unreachable:
            Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
                status=JobStatus.FAILED,
                error=f"The task queue is unreachable ({exc.__class__.__name__}: {exc}). "
                "Start the job again when the broker is back.",
                finished_at=timezone.now(),
            )
        return False
    Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(sent_at=timezone.now())
    return True
