"""A job whose message was lost still runs: the beat sweep sends it again."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from annotation.jobs.sweep import jobs_resend_stale
from annotation.jobs.tasks import resend_stale_jobs
from annotation.models import Job, JobKind, JobStatus
from annotation.services.projects import project_create

pytestmark = [pytest.mark.integration]


def _project(manager, name: str):
    return project_create(
        creator=manager, name=name, labels=["a", "b"], retrain_every=0, label_issues_every=0,
        agreement_every=0,
    )  # fmt: skip


def _queued_without_message(project, kind: str, *, minutes_ago: float) -> Job:
    """A queued row whose message never reached the broker (created, never sent)."""
    job = Job.objects.create(project=project, kind=kind)
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=minutes_ago))
    return job


def test_a_stale_queued_job_is_sent_again_and_runs(
    transactional_db, celery_worker, wait_for_job, manager
):
    project = _project(manager, "Lost message")
    lost = _queued_without_message(project, JobKind.ACTIVE_LEARNING, minutes_ago=20)
    fresh = _queued_without_message(project, JobKind.AGREEMENT, minutes_ago=1)

    assert jobs_resend_stale(older_than=timedelta(minutes=10)) == [lost.pk]

    assert wait_for_job(lost.pk, timeout=60).status == JobStatus.SUCCEEDED
    fresh.refresh_from_db()
    assert fresh.status == JobStatus.QUEUED  # not due yet: nothing was sent for it


def test_a_job_waiting_behind_a_running_one_of_its_kind_is_left_alone(db, manager):
    """Its message is alive (retrying until the running job ends): a second would be noise."""
    project = _project(manager, "Busy")
    Job.objects.create(project=project, kind=JobKind.ACTIVE_LEARNING, status=JobStatus.RUNNING)
    _queued_without_message(project, JobKind.ACTIVE_LEARNING, minutes_ago=30)
    other = _queued_without_message(_project(manager, "Idle"), JobKind.ACTIVE_LEARNING,
                                    minutes_ago=30)  # fmt: skip

    assert jobs_resend_stale(older_than=timedelta(minutes=10)) == [other.pk]


@override_settings(QUORUM_RESEND_QUEUED_AFTER_SECONDS=300)
def test_the_beat_task_uses_the_configured_age(db, manager, settings):
    project = _project(manager, "Beat")
    due = _queued_without_message(project, JobKind.ACTIVE_LEARNING, minutes_ago=6)
    _queued_without_message(project, JobKind.AGREEMENT, minutes_ago=4)

    assert resend_stale_jobs() == [due.pk]
    assert settings.CELERY_BEAT_SCHEDULE["resend-stale-jobs"]["task"] == (
        "annotation.jobs.tasks.resend_stale_jobs"
    )
