"""Who runs a job: claims, heartbeats, and the fence that stops a runner which lost its claim.

A job's ``attempts`` number is its claim token. A runner takes the claim with a
compare-and-set on (status, attempts), beats ``heartbeat_at`` from a thread of its own
while the handler works (so a long step, like a million-row score swap or a large import
transaction, still beats), and writes only while it holds the claim:

- every INSERT, UPDATE or DELETE the handler sends on the runner's connection is preceded
  by a check that the job is still ``running`` under this attempt (``claim_fence``). On
  PostgreSQL the check also takes a shared advisory lock held until the transaction ends,
  and whoever takes a claim back must get the exclusive one first, so a claim cannot be
  taken back from a transaction that is writing. On SQLite the write lock does the same
  (transactions begin ``IMMEDIATE``).
- the heartbeat is a conditional UPDATE too: when it finds the claim gone, the runner's
  next progress report raises ``ClaimLost`` and the handler stops.

A claim is dead when its heartbeat is older than ``QUORUM_JOB_STALE_SECONDS``, or at once
when its process is gone from this machine (a pool child killed and its message
redelivered here). Dead claims are taken back by the beat sweep (``jobs_recover``) or by
the next message for the job.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from annotation.models import Job, JobStatus

logger = logging.getLogger(__name__)

_ADVISORY_SPACE = 0x51_4A  # first key of the (int, int) advisory locks: "QJ"
_WRITES = ("INSERT", "UPDATE", "DELETE")


class ClaimLost(Exception):
    """This runner's claim on the job was taken back: stop, and write nothing more."""


def stale_after() -> timedelta:
    return timedelta(seconds=settings.QUORUM_JOB_STALE_SECONDS)


def _process_namespace() -> str:
    """Kernel boot and PID namespace of this process: where a PID names one process.
    Empty where unknown (then only heartbeats tell a dead claim)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
        return f"{boot}/{os.readlink('/proc/self/ns/pid').strip('pid:[]')}"
    except OSError:
        return ""


_NAMESPACE = _process_namespace()


def worker_identity() -> str:
    """``host:pid@namespace`` of this process, stored on the claim (readable in errors)."""
    return f"{socket.gethostname()}:{os.getpid()}@{_NAMESPACE}"


def _process_gone(claimed_by: str) -> bool:
    """True when ``claimed_by`` names a process of this machine's PID namespace that has
    exited. False whenever that cannot be known (another machine, no /proc)."""
    name, _, namespace = claimed_by.rpartition("@")
    pid = name.rpartition(":")[2]
    if not namespace or namespace != _NAMESPACE or not pid.isdigit():
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]  # exited, not yet reaped


def claim_alive(job: Job, *, now: datetime | None = None) -> bool:
    """Whether the runner holding ``job`` (status running) is still alive."""
    if job.claimed_by and _process_gone(job.claimed_by):
        return False
    beat = job.heartbeat_at or job.started_at
    return beat is not None and beat >= (now or timezone.now()) - stale_after()


def claim_check(job_id: int, attempt: int, *, conn=None) -> None:
    """Raise ``ClaimLost`` unless ``job_id`` is running under ``attempt``; on PostgreSQL,
    inside a transaction, hold the claim's shared lock until that transaction ends.

    ``conn``: the connection about to write (default: this thread's); a writer thread may
    be writing on its caller's connection, inside the caller's transaction.
    """
    conn = conn or connection
    table = conn.ops.quote_name(Job._meta.db_table)
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql" and conn.in_atomic_block:
            cursor.execute(
                "SELECT pg_advisory_xact_lock_shared(%s, %s)", [_ADVISORY_SPACE, job_id % 2**31]
            )
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE id = %s AND status = %s AND attempts = %s",
            [job_id, JobStatus.RUNNING.value, attempt],
        )
        held = cursor.fetchone() is not None
    if not held:
        raise ClaimLost(f"job {job_id} attempt {attempt} lost its claim")


def claim_lock_for_take_back(job_id: int) -> bool:
    """In the caller's transaction: the right to take ``job_id``'s claim back, or False
    while a transaction of its runner is writing (PostgreSQL; SQLite has one writer)."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock(%s, %s)", [_ADVISORY_SPACE, job_id % 2**31]
        )
        return bool(cursor.fetchone()[0])


@contextmanager
def claim_fence(job_id: int, attempt: int) -> Iterator[None]:
    """Check the claim before every write this thread's connection sends (see module doc).

    A lone autocommit statement is checked just before it runs; writes inside a transaction
    are checked under the lock that keeps the claim until that transaction ends.
    """

    def guard(execute, sql, params, many, context):
        if sql.lstrip()[:6].upper() in _WRITES:
            claim_check(job_id, attempt, conn=context["connection"])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(guard):
        yield


def dead_claim_reason(job: Job) -> str:
    where = job.claimed_by.rpartition("@")[0] or "unknown"
    beat = job.heartbeat_at or job.started_at
    when = f" since {beat:%Y-%m-%d %H:%M:%S} UTC" if beat else ""
    return f"Its worker ({where}) stopped: no heartbeat{when}."


def gave_up_message(job: Job, reason: str) -> str:
    return (f"{reason} The job was started {job.attempts} times and never finished, so it is "
            "not retried again; start it again once the cause is fixed.")  # fmt: skip


class Heartbeat:
    """Beats ``heartbeat_at`` (and writes the latest progress) for one claim, from a thread
    with its own database connection, every ``QUORUM_JOB_HEARTBEAT_SECONDS`` and soon after
    each progress report. Notices a lost claim (``lost``)."""

    PROGRESS_SPACING = 0.5  # seconds between progress writes at most

    def __init__(self, job_id: int, attempt: int) -> None:
        self.job_id, self.attempt = job_id, attempt
        self.interval = float(settings.QUORUM_JOB_HEARTBEAT_SECONDS)
        self.lost = threading.Event()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._progress: float | None = None
        self._thread = threading.Thread(target=self._run, name=f"job-{job_id}-heartbeat",
                                        daemon=True)  # fmt: skip

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=self.interval + 30)

    def finishing(self) -> None:
        """The runner is recording its outcome: stop beating, quietly."""
        self._stopping.set()
        self._wake.set()

    def report(self, fraction: float) -> None:
        """Record progress (written by the thread); raise ``ClaimLost`` once it is lost."""
        if self.lost.is_set():
            raise ClaimLost(f"job {self.job_id} attempt {self.attempt} lost its claim")
        self._progress = max(0.0, min(1.0, fraction))
        self._wake.set()

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                if not self._beat():
                    self.lost.set()
                    if self._stopping.is_set():
                        return  # the runner finished the job meanwhile
                    logger.warning("job %s attempt %s lost its claim", self.job_id, self.attempt)
                    return
                self._wake.wait(self.interval)
                self._wake.clear()
                self._stopping.wait(self.PROGRESS_SPACING)
        finally:
            connection.close()  # this thread's own connection

    def _beat(self) -> bool:
        """One conditional UPDATE; False when the claim is gone. A database error is logged
        and counts as alive: the next beat tries again, and staleness decides."""
        fields: dict[str, datetime | float] = {"heartbeat_at": timezone.now()}
        if self._progress is not None:
            fields["progress"] = self._progress
        try:
            return bool(
                Job.objects.filter(
                    pk=self.job_id, status=JobStatus.RUNNING, attempts=self.attempt
                ).update(**fields)
            )
        except DatabaseError:
            logger.warning("heartbeat of job %s failed", self.job_id, exc_info=True)
            connection.close()
            return True
