"""Claims on jobs: one runner at a time, dead runners taken back, bounded attempts, fences.

On the test database with no worker: ``job_claim`` and ``jobs_recover`` are called as a
message and the beat sweep would call them; heartbeats are set by hand.
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from annotation.jobs.claims import ClaimLost, claim_fence
from annotation.jobs.runner import job_claim, job_fail
from annotation.jobs.sweep import jobs_recover
from annotation.models import Item, Job, JobKind, JobStatus
from annotation.services.projects import project_create


@pytest.fixture
def quiet_project(manager):
    """A project whose labels set off no job."""
    return project_create(creator=manager, name="Claims", labels=["a", "b"], retrain_every=0,
                          label_issues_every=0, agreement_every=0)  # fmt: skip


def running(project, kind=JobKind.ACTIVE_LEARNING, *, silent_for: float = 0, attempts: int = 1):
    beat = timezone.now() - timedelta(seconds=silent_for)
    return Job.objects.create(project=project, kind=kind, status=JobStatus.RUNNING,
                              attempts=attempts, started_at=beat, heartbeat_at=beat,
                              claimed_by="elsewhere:1@other")  # fmt: skip


def test_a_second_message_does_not_claim_a_job_whose_runner_is_alive(quiet_project):
    job = Job.objects.create(project=quiet_project, kind=JobKind.AGREEMENT)
    first = job_claim(job_id=job.pk, task_id="m1")
    assert first.status == JobStatus.RUNNING and first.attempts == 1
    assert job_claim(job_id=job.pk, task_id="m2") is None  # a redelivery, same or other id
    assert job_claim(job_id=job.pk, task_id="m1") is None
    assert Job.objects.get(pk=job.pk).attempts == 1


def test_a_stale_job_is_queued_again_with_a_retrying_note(quiet_project, settings, celery_broker):
    settings.QUORUM_JOB_STALE_SECONDS = 30
    dead = running(quiet_project, silent_for=31)
    alive = running(quiet_project, JobKind.LABEL_ISSUES, silent_for=5)

    assert jobs_recover() == [dead.pk]
    dead.refresh_from_db()
    assert dead.status == JobStatus.QUEUED and dead.sent_at is not None
    assert dead.error.startswith("Its worker (elsewhere:1) stopped: no heartbeat since")
    assert dead.error.endswith("Retrying (attempt 2 of 3).")
    assert Job.objects.get(pk=alive.pk).status == JobStatus.RUNNING
    assert job_claim(job_id=dead.pk, task_id="again").attempts == 2


def test_a_job_is_failed_readably_when_its_attempts_are_spent(quiet_project, settings):
    settings.QUORUM_JOB_STALE_SECONDS = 30
    dead = running(quiet_project, silent_for=60, attempts=3)

    assert jobs_recover() == []
    dead.refresh_from_db()
    assert dead.status == JobStatus.FAILED and dead.finished_at is not None
    assert "started 3 times and never finished" in dead.error


def test_a_dead_job_of_a_kind_never_blocks_the_next_one(quiet_project, settings, celery_broker):
    settings.QUORUM_JOB_STALE_SECONDS = 30
    dead = running(quiet_project, silent_for=60)
    waiting = Job.objects.create(project=quiet_project, kind=JobKind.ACTIVE_LEARNING)

    claimed = job_claim(job_id=waiting.pk, task_id="next")
    assert claimed is not None and claimed.status == JobStatus.RUNNING
    dead.refresh_from_db()
    assert dead.status == JobStatus.FAILED and f"Job #{waiting.pk}" in dead.error


def test_a_job_behind_a_live_one_of_its_kind_waits_queued(quiet_project, settings):
    settings.QUORUM_JOB_STALE_SECONDS = 30
    running(quiet_project, silent_for=5)
    waiting = Job.objects.create(project=quiet_project, kind=JobKind.ACTIVE_LEARNING)

    assert job_claim(job_id=waiting.pk, task_id="early") is None
    waiting.refresh_from_db()
    assert waiting.status == JobStatus.QUEUED and waiting.error == "" and waiting.attempts == 0


def test_a_runner_that_lost_its_claim_cannot_write(quiet_project):
    job = job_claim(job_id=Job.objects.create(project=quiet_project, kind=JobKind.IMPORT).pk,
                    task_id="m1")  # fmt: skip
    with claim_fence(job.pk, job.attempts):
        Item.objects.create(project=quiet_project, text="while holding the claim")
    Job.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)  # the sweep took it back
    with pytest.raises(ClaimLost), transaction.atomic(), claim_fence(job.pk, job.attempts):
        Item.objects.create(project=quiet_project, text="after losing it")
    assert list(Item.objects.values_list("text", flat=True)) == ["while holding the claim"]


def test_a_failure_hook_leaves_a_later_attempt_alone(quiet_project):
    job = running(quiet_project)
    Job.objects.filter(pk=job.pk).update(task_id="second")
    job_fail(job_id=job.pk, error="WorkerLostError", task_id="first")
    assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING
    job_fail(job_id=job.pk, error="TimeLimitExceeded", task_id="second")
    assert Job.objects.get(pk=job.pk).status == JobStatus.FAILED
