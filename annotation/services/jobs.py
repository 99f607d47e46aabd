"""Run records and the one way every background job is started, run and finished.

A job is a row first and a Celery message second. The row's status decides
whether a message has work to do, so a duplicated or redelivered message never
does the work twice, and a crashed run is taken over by the redelivered message.
"""

import logging
import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from annotation.models import Job, JobKind, JobStatus, Project

logger = logging.getLogger(__name__)

# kind -> dotted path of ``handler(job, report_progress) -> result dict``.
JOB_HANDLERS: dict[str, str] = {
    JobKind.IMPORT: "annotation.services.importing.import_job_handler",
    JobKind.ACTIVE_LEARNING: "learning.services.active_learning.active_learning_job_handler",
    JobKind.LABEL_ISSUES: "learning.services.label_issues.label_issues_job_handler",
    JobKind.AGREEMENT: "learning.services.agreement.agreement_job_handler",
    JobKind.SNAPSHOT: "annotation.services.snapshots.snapshot_job_handler",
    JobKind.AUDIT: "learning.services.audit.audit_job_handler",
}
COALESCED_KINDS = frozenset(
    {JobKind.ACTIVE_LEARNING, JobKind.LABEL_ISSUES, JobKind.AGREEMENT, JobKind.AUDIT}
)

ProgressFn = Callable[[float], None]


class JobRejected(Exception):
    """The job ran but its input was refused (e.g. an import with bad rows)."""

    def __init__(self, message: str, result: dict):
        super().__init__(message)
        self.result = result


class JobBusy(Exception):
    """Another job of the same kind is running for this project: try again shortly."""


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
        from annotation.services.triggers import annotation_watermark

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


def send_job(job_id: int, *, countdown: float | None = None) -> None:
    from annotation.tasks import run_job

    try:
        run_job.apply_async((job_id,), countdown=countdown)
    except Exception as exc:  # broker down: the row says so instead of vanishing
        logger.exception("could not send job %s", job_id)
        Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
            status=JobStatus.FAILED,
            error=f"The task queue is unreachable ({exc.__class__.__name__}: {exc}). "
            "Start the job again when the broker is back.",
            finished_at=timezone.now(),
        )


def jobs_resend_stale(*, older_than: timedelta) -> list[int]:
    """Send again the message of every job still queued ``older_than`` after it was created.

    A queued row whose message was lost (a broker restarted without persistence, a message
    file lost by kombu's filesystem transport) would otherwise wait for ever. Sending twice
    is safe: a job runs once whatever the number of messages (``_claim``). Coalesced jobs
    waiting behind a running one of their kind are skipped: their message is alive,
    retrying until that one finishes. Returns the ids sent again, oldest first.
    """
    running = Job.objects.filter(
        status=JobStatus.RUNNING, project_id=OuterRef("project_id"), kind=OuterRef("kind")
    )
    stale = (
        Job.objects.filter(status=JobStatus.QUEUED, created_at__lt=timezone.now() - older_than)
        .exclude(Q(kind__in=COALESCED_KINDS) & Exists(running))
        .order_by("created_at")
    )
    ids = list(stale.values_list("pk", flat=True))
    for job_id in ids:
        logger.warning(
            "job %s still queued after %s: sending its message again", job_id, older_than
        )
        send_job(job_id)
    return ids


def _claim(job_id: int, task_id: str) -> Job | None:
    """Move the job to running for this message, or return None when there is no work."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            return None
        if job.status == JobStatus.RUNNING and job.task_id != task_id:
            return None  # a duplicate message while the original runs
        # Queued, or running under this very message: its earlier delivery died.
        if job.kind in COALESCED_KINDS:
            other = (
                Job.objects.filter(project_id=job.project_id, kind=job.kind)
                .filter(status=JobStatus.RUNNING)
                .exclude(pk=job.pk)
            )
            if other.exists():
                raise JobBusy(f"{job.kind} already running for project {job.project_id}")
        job.status = JobStatus.RUNNING
        job.task_id = task_id
        job.attempts += 1
        job.started_at = job.started_at or timezone.now()
        job.heartbeat_at = timezone.now()
        job.error = ""
        job.save(
            update_fields=["status", "task_id", "attempts", "started_at", "heartbeat_at", "error"]
        )
        return job


def job_report_progress(job_id: int, fraction: float) -> None:
    Job.objects.filter(pk=job_id).update(
        progress=max(0.0, min(1.0, fraction)), heartbeat_at=timezone.now()
    )


def job_execute(*, job_id: int, task_id: str) -> dict[str, Any] | None:
    """Run the job's handler if the job still needs running; record the outcome."""
    job = _claim(job_id, task_id)
    if job is None:
        return None
    handler = import_string(JOB_HANDLERS[job.kind])
    try:
        result = handler(job, lambda f: job_report_progress(job.pk, f))
    except JobRejected as exc:
        job_fail(job_id=job.pk, error=str(exc), result=exc.result)
        return exc.result
    except Exception as exc:
        if isinstance(exc, OperationalError) or getattr(exc, "transient", False):
            raise  # the task retries; its failure hook marks the job failed at the end
        job_fail(job_id=job.pk, error=_readable(exc))
        raise
    job_succeed(job_id=job.pk, result=result or {})
    return result


def job_succeed(*, job_id: int, result: dict) -> None:
    Job.objects.filter(pk=job_id).update(
        status=JobStatus.SUCCEEDED, progress=1.0, result=result, finished_at=timezone.now()
    )


def job_fail(*, job_id: int, error: str, result: dict | None = None) -> None:
    fields = {"status": JobStatus.FAILED, "error": error[:5000], "finished_at": timezone.now()}
    if result is not None:
        fields["result"] = result
    Job.objects.filter(pk=job_id).exclude(status=JobStatus.SUCCEEDED).update(**fields)


def _readable(exc: BaseException) -> str:
    message = f"{exc.__class__.__name__}: {exc}"
    if settings.DEBUG:
        message += "\n" + "".join(traceback.format_exception(exc)[-3:])
    return message
