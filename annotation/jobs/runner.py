"""The one way every background job is run and finished (queueing: ``dispatch``).

A job is a row first and a Celery message second. The row's status decides whether a
message has work to do: a message claims the job (queued -> running, a new attempt) with a
compare-and-set, so a duplicated or redelivered message never runs it twice at once. The
runner beats a heartbeat and writes only while it holds its claim (``claims``).

A runner that dies (a killed worker, on any broker) stops beating; ``jobs_recover`` (the
beat sweep) takes its job back and sends it again, up to ``QUORUM_JOB_MAX_ATTEMPTS``
attempts, then fails it with a readable error. Coalesced kinds run one at a time per
project: a job queued behind a running one of its kind waits, without a message, for as
long as that one is alive, which sends it when it finishes.
"""

import logging
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from contextvars import ContextVar
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from annotation.jobs.claims import (
    ClaimLost,
    Heartbeat,
    claim_alive,
    claim_fence,
    claim_lock_for_take_back,
    dead_claim_reason,
    gave_up_message,
    worker_identity,
)
from annotation.jobs.dispatch import send_job
from annotation.jobs.registry import (
    COALESCED_KINDS,
    ONE_TRANSACTION_KINDS,
    JobRejected,
    ProgressFn,
    finish_listeners,
    job_handler,
)
from annotation.models import Job, JobKind, JobStatus, Snapshot

logger = logging.getLogger(__name__)

# Finished jobs whose after-commit work waits for the claim fence to close: sending the
# waiting job (its ``sent_at``) and the listeners (webhook deliveries, alerts) write, and the
# fence of a finished job refuses every write.
_AFTER_FENCE: ContextVar[list[Job] | None] = ContextVar("after_fence", default=None)


def _max_attempts() -> int:
    return max(1, int(settings.QUORUM_JOB_MAX_ATTEMPTS))


def job_take_back(job: Job) -> Job | None:
    """``job`` (locked, running under a dead claim): queue it again, or fail it for good.
    Returns the job whose message should be sent now, if any."""
    reason = dead_claim_reason(job)
    logger.warning("job %s attempt %s: %s", job.pk, job.attempts, reason)
    if job.attempts >= _max_attempts():
        _finish(job, JobStatus.FAILED, error=gave_up_message(job, reason))
        return _waiting_of_kind(job)
    return _requeue(job, reason=reason,
                    retrying=f"Retrying (attempt {job.attempts + 1} of {_max_attempts()}).")  # fmt: skip


def _requeue(job: Job, *, reason: str, retrying: str) -> Job | None:
    """Give ``job``'s claim back (running -> queued, noting ``reason`` and ``retrying``), or,
    when a job of its kind already waits (one waiting per kind), fail it as superseded by
    that one. Returns the job that now waits for a message."""
    waiting = _waiting_of_kind(job)
    while waiting is None:
        try:
            with transaction.atomic():
                Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts)\
                    .update(status=JobStatus.QUEUED, claimed_by="",
                            error=f"{reason} {retrying}"[:5000])  # fmt: skip
            return job
        except IntegrityError:  # a job of its kind was queued meanwhile
            # None: and it has left the queue since (claimed, or failed for its attempts),
            # so the way back to the queue is free again. Each pass needs another such job.
            waiting = _waiting_of_kind(job)
    _finish(job, JobStatus.FAILED, quiet=True, error=f"{reason} Job #{waiting.pk}, queued "
            "after it, does its work with newer labels.")  # fmt: skip
    return waiting


def _waiting_of_kind(job: Job) -> Job | None:
    if job.kind not in COALESCED_KINDS:
        return None
    return Job.objects.filter(project_id=job.project_id, kind=job.kind,
                              status=JobStatus.QUEUED).exclude(pk=job.pk).first()  # fmt: skip


def job_claim(*, job_id: int, task_id: str) -> Job | None:
    """Move the job to running under a new attempt for this message, or return None when
    this message has no work: the job is finished, its runner is alive, or (coalesced kinds)
    it waits behind a running job of its kind, which sends it again when it finishes.

    A running job whose claim is dead (its process gone from this machine, or its heartbeat
    stale) is taken over; a running job of the kind whose claim is dead no longer blocks.
    """
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            return None
        if job.status == JobStatus.RUNNING:
            if claim_alive(job, now=now) or not claim_lock_for_take_back(job.pk):
                return None  # a duplicate message while its runner works
            logger.warning("job %s attempt %s: %s Taking it over.", job.pk, job.attempts,
                           dead_claim_reason(job))  # fmt: skip
        if job.attempts >= _max_attempts():
            reason = job.error if job.status == JobStatus.QUEUED else dead_claim_reason(job)
            _mark(job, from_status=job.status, status=JobStatus.FAILED,
                  error=gave_up_message(job, reason or "It never finished."))  # fmt: skip
            return None
        if job.kind in COALESCED_KINDS:
            running = (
                Job.objects.select_for_update()
                .filter(project_id=job.project_id, kind=job.kind, status=JobStatus.RUNNING)
                .exclude(pk=job.pk)
            )
            for blocker in running:
                if claim_alive(blocker, now=now) or not claim_lock_for_take_back(blocker.pk):
                    logger.info("job %s waits for job %s of its kind", job.pk, blocker.pk)
                    return None
                job_take_back(blocker)  # dead: it fails, superseded by this job
        taken = Job.objects.filter(pk=job.pk, status=job.status, attempts=job.attempts).update(
            status=JobStatus.RUNNING, attempts=job.attempts + 1, task_id=task_id,
            claimed_by=worker_identity()[:200], started_at=job.started_at or now,
            heartbeat_at=now, error="",
        )  # fmt: skip
        return Job.objects.get(pk=job.pk) if taken else None


def job_report_progress(job_id: int, fraction: float) -> None:
    """Progress written by a helper of the job (a chunk scorer on another worker)."""
    Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        progress=max(0.0, min(1.0, fraction))
    )


def job_execute(*, job_id: int, task_id: str) -> dict[str, Any] | None:
    """Run the job's handler if the job still needs running, under a claim; record the outcome.

    Returns the result, or None when this message had no work or the claim was lost.
    """
    job = job_claim(job_id=job_id, task_id=task_id)
    if job is None:
        return None
    try:
        handler = job_handler(job.kind)
    except LookupError as exc:
        _finish(job, JobStatus.FAILED, error=str(exc), quiet=True)
        return None
    try:
        return _run_claimed(job, handler)
    except ClaimLost:
        logger.warning("job %s attempt %s lost its claim: stopped, nothing more written",
                       job.pk, job.attempts, exc_info=True)  # fmt: skip
        return None
    except JobRejected as exc:
        _finish(job, JobStatus.FAILED, error=str(exc), result=exc.result, quiet=True)
        return exc.result
    except SoftTimeLimitExceeded:
        limit = settings.CELERY_TASK_SOFT_TIME_LIMIT
        _finish(job, JobStatus.FAILED, error=f"The job ran past its time limit ({limit} s).",
                quiet=True)  # fmt: skip
        raise
    except Exception as exc:
        if isinstance(exc, OperationalError) or getattr(exc, "transient", False):
            _release(job, exc)
            raise  # the task retries; its failure hook fails the job when it gives up
        _finish(job, JobStatus.FAILED, error=_readable(exc), quiet=True)
        raise


def _run_claimed(job: Job, handler: Callable) -> dict[str, Any]:
    """The handler, fenced by the claim, with a heartbeat thread unless the caller's own
    transaction holds the job (tests, ``manage.py`` commands run inside one): no other
    connection could see the job then. ``ONE_TRANSACTION_KINDS`` finish in the handler's
    transaction."""
    pending: list[Job] = []
    token = _AFTER_FENCE.set(pending)
    try:
        return _run_fenced(job, handler)
    finally:
        _AFTER_FENCE.reset(token)
        for finished in pending:
            _after_finish(finished)


def _run_fenced(job: Job, handler: Callable) -> dict[str, Any]:
    with ExitStack() as stack:
        stack.enter_context(claim_fence(job.pk, job.attempts))
        if connection.in_atomic_block:
            beat = None
            progress: ProgressFn = lambda fraction: _progress_in_transaction(job, fraction)  # noqa: E731
        else:
            beat = stack.enter_context(Heartbeat(job.pk, job.attempts))
            progress = beat.report
        if job.kind in ONE_TRANSACTION_KINDS:
            with transaction.atomic():
                result = handler(job, progress) or {}
                _finish(job, JobStatus.SUCCEEDED, result=result, heartbeat=beat)
            return result
        result = handler(job, progress) or {}
        _finish(job, JobStatus.SUCCEEDED, result=result, heartbeat=beat)
        return result


def _progress_in_transaction(job: Job, fraction: float) -> None:
    updated = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts).update(
        progress=max(0.0, min(1.0, fraction)), heartbeat_at=timezone.now()
    )
    if not updated:
        raise ClaimLost(f"job {job.pk} attempt {job.attempts} lost its claim")


def _finish(job: Job, status: str, *, error: str = "", result: dict | None = None,
            heartbeat: Heartbeat | None = None, quiet: bool = False) -> None:  # fmt: skip
    """Succeed or fail the running ``job`` under its current attempt. Raises ``ClaimLost``
    when that attempt lost its claim (``quiet``: logs it instead, for failures recorded
    after the handler stopped)."""
    if heartbeat is not None:
        heartbeat.finishing()
    if _mark(job, from_status=JobStatus.RUNNING, status=status, error=error, result=result):
        return
    if not quiet:
        raise ClaimLost(f"job {job.pk} attempt {job.attempts} lost its claim")
    logger.warning("job %s attempt %s lost its claim; not marked %s", job.pk, job.attempts, status)


def _mark(job: Job, *, from_status: str, status: str, error: str = "",
          result: dict | None = None) -> bool:  # fmt: skip
    """Compare-and-set ``job`` from (``from_status``, its attempt) to a final ``status``;
    a failed snapshot job fails its snapshot, and a finished coalesced job sends the job of
    its kind that waited for it. False when the row had moved on."""
    fields: dict[str, Any] = {
        "status": status,
        "finished_at": timezone.now(),
        "error": error[:5000],
    }
    if status == JobStatus.SUCCEEDED:
        fields["progress"] = 1.0
    if result is not None:
        fields["result"] = result
    rows = Job.objects.filter(pk=job.pk, status=from_status, attempts=job.attempts)
    if not rows.update(**fields):
        return False
    if status == JobStatus.FAILED and job.kind == JobKind.SNAPSHOT:
        Snapshot.objects.filter(job_id=job.pk).exclude(status="ready").update(status="failed")
    transaction.on_commit(lambda: _after_finish(job))
    return True


def _after_finish(job: Job) -> None:
    """Once the outcome commits: send the job of its kind that waited, and tell the
    listeners; both write, so under a claim fence they wait for it to close."""
    pending = _AFTER_FENCE.get()
    if pending is not None:
        pending.append(job)
        return
    if job.kind in COALESCED_KINDS:
        _send_waiting(job)
    _tell_listeners(job.pk)


def _tell_listeners(job_id: int) -> None:
    """The finished job's listeners (webhooks, alert rules); one failing stops no other,
    and none can undo the job's outcome, which has committed."""
    for listener in finish_listeners():
        try:
            listener(job_id=job_id)
        except Exception:
            logger.exception("job %s: finish listener %s failed", job_id, listener)


def _send_waiting(job: Job) -> None:
    waiting = _waiting_of_kind(job)
    if waiting is not None:
        send_job(waiting.pk, fail_if_unreachable=False)


def _release(job: Job, exc: BaseException) -> None:
    """Give the claim back after a transient error: the task's retry claims it again."""
    reason = f"A transient error stopped it ({exc.__class__.__name__}: {exc})."
    _requeue(job, reason=reason, retrying="Retrying.")


def job_fail(*, job_id: int, error: str, task_id: str | None = None) -> None:
    """Fail the job for good unless it finished; with ``task_id``, only while that message
    still owns it (a Celery failure hook must not fail a later attempt's run)."""
    jobs = Job.objects.filter(pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
    if task_id is not None:
        jobs = jobs.filter(task_id=task_id)
    for job in jobs:
        _mark(job, from_status=job.status, status=JobStatus.FAILED, error=error)


def _readable(exc: BaseException) -> str:
    message = f"{exc.__class__.__name__}: {exc}"
    if settings.DEBUG:
        message += "\n" + "".join(traceback.format_exception(exc)[-3:])
    return message
