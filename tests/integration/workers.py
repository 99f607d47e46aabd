"""Helpers for tests that hurt real workers: freeze or kill a worker's whole process group at
a chosen moment of a job, and run the beat sweep until it sends a job again."""

from __future__ import annotations

import os
import signal
import time

from annotation.jobs.tasks import resend_stale_jobs
from annotation.models import Job, JobStatus
from tests.integration.conftest import CeleryWorker

# Workers that beat every second and call a claim dead after 4 silent seconds; the tests'
# own process (which runs the sweep) gets the same numbers through the ``fast_beats`` fixture.
FAST_BEATS = {"QUORUM_JOB_HEARTBEAT_SECONDS": "1", "QUORUM_JOB_STALE_SECONDS": "4"}


def slow_chunks(seconds: float) -> dict[str, str]:
    """Worker env: every active-learning chunk takes ``seconds`` longer (a slow machine, see
    ``tests/integration/worker_app.py``), so a test can catch a job half-way."""
    return {"QUORUM_TEST_CHUNK_SECONDS": str(seconds)}


def freeze_while_running(worker: CeleryWorker, job_id: int, *, min_progress: float = 0.0,
                         settle: float = 0.0, timeout: float = 120.0) -> Job:  # fmt: skip
    """SIGSTOP the worker's process group (main process and pool) once the job runs with at
    least ``min_progress`` (and ``settle`` seconds more); fails when the job finished first.
    Returns the job as the frozen worker left it."""
    deadline = time.monotonic() + timeout
    while True:
        job = Job.objects.get(pk=job_id)
        assert job.status in (JobStatus.QUEUED, JobStatus.RUNNING), (
            f"job {job_id} ended {job.status} before it could be stopped: {job.error}\n"
            + worker.log_tail()
        )
        if job.status == JobStatus.RUNNING and job.progress >= min_progress:
            break
        assert time.monotonic() < deadline, worker.log_tail()
        time.sleep(0.02)
    time.sleep(settle)
    os.killpg(worker.pid, signal.SIGSTOP)
    job = Job.objects.get(pk=job_id)
    assert job.status == JobStatus.RUNNING, f"job {job_id} finished before the freeze"
    return job


def kill_group(worker: CeleryWorker) -> None:
    """SIGKILL the worker's main process and pool at once: nobody is left to requeue."""
    os.killpg(worker.pid, signal.SIGKILL)
    worker.process.wait(10)


def sweep_until_sent(job_id: int, *, timeout: float = 60.0) -> float:
    """Run the beat sweep until it sends ``job_id`` (again); returns the seconds it took."""
    started = time.monotonic()
    while job_id not in resend_stale_jobs():
        assert time.monotonic() - started < timeout, f"the sweep never sent job {job_id}"
        time.sleep(0.5)
    return time.monotonic() - started


def sweep_until_claimed_or_sent(job_id: int, *, timeout: float = 60.0) -> str:
    """Run the beat sweep until a queued ``job_id`` with a message of its own in the broker
    leaves the queue either way: a worker took its message after the blocking claim went
    stale (and took the dead job back itself), or the sweep took the dead job back and sent
    it. Which one wins depends on how fast the new worker starts; both are correct.
    Returns ``"claimed"`` or ``"sent"``."""
    started = time.monotonic()
    while True:
        if Job.objects.get(pk=job_id).status != JobStatus.QUEUED:
            return "claimed"
        if job_id in resend_stale_jobs():
            return "sent"
        assert time.monotonic() - started < timeout, f"job {job_id} was neither run nor sent"
        time.sleep(0.5)
