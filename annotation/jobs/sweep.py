"""The beat sweep: jobs whose message was lost are sent again, and running jobs whose worker
died (stale heartbeat) are taken back (``tasks.resend_stale_jobs`` calls both)."""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from annotation.jobs.claims import claim_alive, claim_lock_for_take_back, stale_after
from annotation.jobs.dispatch import send_job
from annotation.jobs.registry import COALESCED_KINDS
from annotation.jobs.runner import job_take_back
from annotation.models import Job, JobStatus

logger = logging.getLogger(__name__)


def jobs_resend_stale(*, older_than: timedelta) -> list[int]:
    """Send again the message of every job still queued ``older_than`` after it was created
    and after its last message was sent.

    A queued row whose message was lost (a broker restarted without persistence, a message
    file lost by kombu's filesystem transport) would otherwise wait for ever. Sending twice
    is safe: a job runs once whatever the number of messages (``job_claim``). Coalesced jobs
    waiting behind a running one of their kind are skipped: that one sends them when it
    finishes, and ``jobs_recover`` when it died. Returns the ids sent again, oldest first.
    """
    cutoff = timezone.now() - older_than
    running = Job.objects.filter(
        status=JobStatus.RUNNING, project_id=OuterRef("project_id"), kind=OuterRef("kind")
    )
    stale = (
        Job.objects.filter(status=JobStatus.QUEUED, created_at__lt=cutoff)
        .filter(Q(sent_at__isnull=True) | Q(sent_at__lt=cutoff))
        .exclude(Q(kind__in=COALESCED_KINDS) & Exists(running))
        .order_by("created_at")
    )
    ids = list(stale.values_list("pk", flat=True))
    for job_id in ids:
        logger.warning(
            "job %s still queued after %s: sending its message again", job_id, older_than
        )
        send_job(job_id, fail_if_unreachable=False)
    return ids


def jobs_recover() -> list[int]:
    """Take back every running job whose heartbeat is stale: send it again, or fail it for
    good when its attempts are spent (or a newer job of its kind waits to do its work, which
    is sent instead). Returns the ids of the jobs sent, oldest first."""
    cutoff = timezone.now() - stale_after()
    suspects = Job.objects.filter(status=JobStatus.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
        | Q(heartbeat_at__isnull=True, started_at__isnull=True)
    )  # fmt: skip
    sent = []
    for job_id in suspects.order_by("created_at").values_list("pk", flat=True):
        with transaction.atomic():
            job = Job.objects.select_for_update().filter(pk=job_id).first()
            if job is None or job.status != JobStatus.RUNNING or claim_alive(job):
                continue
            if not claim_lock_for_take_back(job.pk):
                continue  # its runner is inside a write transaction: alive
            to_send = job_take_back(job)
        if to_send is not None and send_job(to_send.pk, fail_if_unreachable=False):
            sent.append(to_send.pk)
    return sent
