"""Jobs survive dead workers and never fail for waiting (real workers, real broker).

A worker is killed as a whole (main process and pool: nobody is left to requeue its
message, the case that used to leave a job "running" for ever), or frozen and woken up
after its job was taken back. The beat sweep (``resend_stale_jobs``) takes each job back
once its heartbeat is stale, and the job completes exactly once.
"""

import csv
import io
import time

import numpy as np
import pytest
from django.utils import timezone

from annotation.jobs.dispatch import job_enqueue
from annotation.models import (
    Annotation,
    ImportBatch,
    Item,
    Job,
    JobKind,
    JobStatus,
    LabelIssue,
    Snapshot,
)
from annotation.services.importing import import_objects
from tests.integration.test_active_learning import al_project, label_clear_items  # noqa: F401
from tests.integration.workers import (
    FAST_BEATS,
    freeze_while_running,
    kill_group,
    slow_chunks,
    sweep_until_claimed_or_sent,
    sweep_until_sent,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]
WORDS = {
    "positive": "great lovely excellent superb wonderful delightful perfect happy",
    "negative": "awful broken terrible horrible useless dreadful sad angry",
    "neutral": "table chair window paper street number average plain",
}


@pytest.fixture
def fast_beats(settings):
    """This process runs the sweep: it calls a claim dead when the workers do."""
    settings.QUORUM_JOB_HEARTBEAT_SECONDS = int(FAST_BEATS["QUORUM_JOB_HEARTBEAT_SECONDS"])
    settings.QUORUM_JOB_STALE_SECONDS = int(FAST_BEATS["QUORUM_JOB_STALE_SECONDS"])


def labeled_objects(n_per_class: int, *, flips: int = 0, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    names = list(WORDS)
    objects = [
        {"id": f"{name}-{i}", "text": " ".join(rng.choice(WORDS[name].split(), 6)), "label": name}
        for name in names for i in range(n_per_class)
    ]  # fmt: skip
    for j in rng.choice(len(objects), flips, replace=False):
        objects[j]["label"] = names[(names.index(objects[j]["label"]) + 1) % 3]
    return objects


def test_a_job_waiting_behind_a_20_s_job_of_its_kind_waits_then_runs(
    transactional_db,
    start_celery_worker,
    wait_for_job,
    al_project,  # noqa: F811
):
    """Issue #14: the waiting job used to fail with JobBusy after Celery's 3 retries (~8 s)."""
    # One chunk (no helper tasks, so the second process is free) on a worker that takes 22 s
    # more per chunk: a real active-learning job of over 20 s.
    worker = start_celery_worker(concurrency=2, env=FAST_BEATS | slow_chunks(22.0))
    label_clear_items(al_project, 4)
    slow, _ = job_enqueue(project=al_project, kind=JobKind.ACTIVE_LEARNING)
    deadline = time.monotonic() + 60
    while Job.objects.get(pk=slow.pk).status != JobStatus.RUNNING:
        assert time.monotonic() < deadline, worker.log_tail()
        time.sleep(0.1)
    waiting, created = job_enqueue(project=al_project, kind=JobKind.ACTIVE_LEARNING)
    assert created

    seen, silences = set(), []
    while (running := Job.objects.get(pk=slow.pk)).status == JobStatus.RUNNING:
        silences.append((timezone.now() - running.heartbeat_at).total_seconds())
        seen.add(Job.objects.get(pk=waiting.pk).status)
        time.sleep(0.25)
    assert seen == {JobStatus.QUEUED}
    # The 22 s step reports no progress, yet the job beat every second all along.
    assert len(silences) > 40 and max(silences) < 3.0
    assert f"job {waiting.pk} waits for job {slow.pk}" in worker.log()  # its message came early

    slow, waiting = (
        wait_for_job(slow.pk, workers=(worker,)),
        wait_for_job(waiting.pk, workers=(worker,)),
    )
    assert slow.status == waiting.status == JobStatus.SUCCEEDED, waiting.error
    assert slow.duration_seconds >= 20
    assert waiting.started_at >= slow.finished_at and waiting.attempts == 1


def test_a_killed_worker_never_blocks_the_next_job_of_its_kind(
    transactional_db,
    start_celery_worker,
    wait_for_job,
    fast_beats,
    al_project,  # noqa: F811
):
    """Issue #13.3: the killed job is superseded by the one waiting behind it, which runs."""
    worker = start_celery_worker(env=FAST_BEATS | slow_chunks(0.5))
    label_clear_items(al_project, 4)
    dead, _ = job_enqueue(project=al_project, kind=JobKind.ACTIVE_LEARNING,
                          params={"chunk_items": 10})  # fmt: skip
    freeze_while_running(worker, dead.pk, min_progress=0.4)
    kill_group(worker)
    label_clear_items(al_project, 2)
    waiting, created = job_enqueue(project=al_project, kind=JobKind.ACTIVE_LEARNING)
    assert created

    replacement = start_celery_worker(env=FAST_BEATS)
    assert sweep_until_claimed_or_sent(waiting.pk) in ("claimed", "sent")
    waiting = wait_for_job(waiting.pk, workers=(replacement,))
    assert waiting.status == JobStatus.SUCCEEDED, waiting.error
    dead.refresh_from_db()
    assert dead.status == JobStatus.FAILED
    assert "stopped: no heartbeat" in dead.error and f"Job #{waiting.pk}" in dead.error


def test_an_import_killed_mid_file_is_taken_back_and_imports_each_row_once(
    transactional_db, start_celery_worker, wait_for_job, fast_beats, settings, project, api
):
    worker = start_celery_worker(env=FAST_BEATS)
    settings.QUORUM_ASYNC_IMPORT_BYTES = 1000
    n = 120_000
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "text", "label"])
    writer.writerows([f"r{i}", f"row number {i} of the file", "positive"] for i in range(n))
    upload = io.BytesIO(out.getvalue().encode())
    upload.name = "big.csv"
    response = api.post(f"/api/projects/{project.pk}/import", {"file": upload}, format="multipart")
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]

    freeze_while_running(worker, job_id, settle=1.0)
    kill_group(worker)
    assert not Item.objects.filter(project=project).exists()  # its transaction died with it

    replacement = start_celery_worker(env=FAST_BEATS)
    sweep_until_sent(job_id)
    assert Job.objects.get(pk=job_id).error.startswith("Its worker")  # "retrying", meanwhile
    job = wait_for_job(job_id, timeout=240, workers=(replacement,))
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.attempts == 2 and job.result["created"] == n and job.error == ""
    assert Item.objects.filter(project=project).count() == n
    assert ImportBatch.objects.filter(project=project).count() == 1
    assert (
        Annotation.objects.filter(project=project).count() == n
    )  # labels: none lost, none counted twice


def test_a_label_issues_run_killed_mid_run_is_taken_back_and_flags_each_item_once(
    transactional_db, start_celery_worker, wait_for_job, fast_beats, project, api
):
    worker = start_celery_worker(env=FAST_BEATS)
    assert import_objects(project=project, objects=labeled_objects(4000, flips=200)).ok
    job_id = api.post(f"/api/projects/{project.pk}/jobs", {"kind": "label_issues"},
                      format="json").json()["id"]  # fmt: skip

    freeze_while_running(worker, job_id, min_progress=0.1)
    kill_group(worker)
    replacement = start_celery_worker(env=FAST_BEATS)
    sweep_until_sent(job_id)
    job = wait_for_job(job_id, timeout=240, workers=(replacement,))

    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2, job.error
    issues = LabelIssue.objects.filter(project=project)
    assert issues.count() == job.result["flagged"] > 0
    assert issues.values("item_id").distinct().count() == issues.count()
    assert set(issues.values_list("job_id", flat=True)) == {job.pk}


def test_a_snapshot_build_killed_mid_build_is_taken_back_and_built_once(
    transactional_db, start_celery_worker, wait_for_job, fast_beats, celery_broker, settings,
    project, api,
):  # fmt: skip
    from pathlib import Path

    settings.QUORUM_EXPORT_DIR = Path(celery_broker["QUORUM_VAR_DIR"]) / "exports"
    worker = start_celery_worker(env=FAST_BEATS)
    n = 3 * 10_000
    assert import_objects(project=project, objects=labeled_objects(n // 3)).ok
    created = api.post(f"/api/projects/{project.pk}/snapshots", {"seed": 1}, format="json").json()
    job_id = created["job"]["id"]

    freeze_while_running(worker, job_id, settle=0.3)
    kill_group(worker)
    replacement = start_celery_worker(env=FAST_BEATS)
    sweep_until_sent(job_id)
    job = wait_for_job(job_id, timeout=240, workers=(replacement,))

    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2, job.error
    snapshot = Snapshot.objects.get(project=project)  # one snapshot, built once, complete
    assert snapshot.status == "ready" and snapshot.row_count == n
    response = api.get(f"/api/snapshots/{snapshot.pk}/download?format=jsonl")
    lines = b"".join(response.streaming_content).splitlines()
    assert len(lines) == n and snapshot.content_hash == job.result["content_hash"]


def test_a_frozen_worker_that_wakes_after_its_job_was_taken_back_writes_nothing(
    transactional_db, start_celery_worker, wait_for_job, fast_beats, project, api
):
    import os
    import signal

    zombie = start_celery_worker(env=FAST_BEATS)
    # 12k items: long enough to be caught mid-run between two polls on a quiet machine.
    assert import_objects(project=project, objects=labeled_objects(4000, flips=200)).ok
    job_id = api.post(f"/api/projects/{project.pk}/jobs", {"kind": "label_issues"},
                      format="json").json()["id"]  # fmt: skip
    freeze_while_running(zombie, job_id, min_progress=0.1)

    replacement = start_celery_worker(env=FAST_BEATS)
    sweep_until_sent(job_id)
    job = wait_for_job(job_id, timeout=240, workers=(replacement,))
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2, job.error
    flagged = sorted(LabelIssue.objects.filter(project=project).values_list("pk", flat=True))

    os.killpg(zombie.pid, signal.SIGCONT)
    deadline = time.monotonic() + 120
    while "nothing more written" not in zombie.log():
        assert time.monotonic() < deadline, zombie.log_tail()
        time.sleep(0.2)
    time.sleep(1.0)
    assert sorted(LabelIssue.objects.filter(project=project).values_list("pk", flat=True)) == (
        flagged
    )
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2
