"""The broker stops mid-job, then returns: nothing is lost, and every job ends succeeded.

The broker is a private ``redis-server`` on a free 127.0.0.1 port (with an append-only file,
as a production Redis keeps its messages), stopped and started again by the test. The
filesystem broker has no server to stop: its outage would be a folder that disappears,
which is not a fault a deployment meets, so it is not simulated here.

What the user sees meanwhile: a job asked for while the broker is down fails at once with
"The task queue is unreachable ... Start the job again when the broker is back" (failed,
retry); a job already queued stays queued and is sent again by the sweep once the broker
is back (retrying); a running job finishes, since it needs the database only.
"""

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from annotation.jobs.dispatch import job_enqueue
from annotation.jobs.tasks import resend_stale_jobs
from annotation.models import Job, JobKind, JobStatus
from learning.models import ModelVersion
from tests.integration.conftest import _reset_connections, need_service, redis_reachable
from tests.integration.test_active_learning import al_project, label_clear_items  # noqa: F401
from tests.integration.workers import FAST_BEATS, slow_chunks

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class PrivateRedis:
    """A redis-server of this test's own, which it may stop and start again."""

    def __init__(self, folder: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.folder, self.process = folder, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.folder), "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while not redis_reachable(self.url):
            assert time.monotonic() < deadline, "private redis-server did not start"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


@pytest.fixture
def private_redis(tmp_path, start_celery_worker):
    """A private Redis, and this process's Celery app pointed at it for the test."""
    from quorum.celery import app

    need_service("redis-server", Path(REDIS_SERVER).exists(), REDIS_SERVER)
    redis = PrivateRedis(tmp_path)
    redis.start()
    saved = {key: app.conf[key] for key in
             ("broker_url", "broker_transport", "broker_transport_options")}  # fmt: skip
    app.conf.update(broker_url=redis.url, broker_transport=None,
                    broker_transport_options={"visibility_timeout": 30})  # fmt: skip
    _reset_connections(app)
    yield redis
    redis.stop()
    app.conf.update(saved)
    _reset_connections(app)


def test_the_broker_stops_mid_job_and_returns(
    transactional_db, private_redis, start_celery_worker, wait_for_job, settings, project, api,
    al_project,  # noqa: F811
):  # fmt: skip
    settings.QUORUM_RESEND_QUEUED_AFTER_SECONDS = 1
    worker = start_celery_worker(
        env=FAST_BEATS | slow_chunks(0.5) | {"REDIS_URL": private_redis.url}
    )
    label_clear_items(al_project, 4)
    slow, _ = job_enqueue(project=al_project, kind=JobKind.ACTIVE_LEARNING,
                          params={"chunk_items": 10})  # fmt: skip
    deadline = time.monotonic() + 90
    while Job.objects.get(pk=slow.pk).progress < 0.4:
        assert time.monotonic() < deadline, worker.log_tail()
        time.sleep(0.1)
    waiting, _ = job_enqueue(project=al_project, kind=JobKind.ACTIVE_LEARNING)

    private_redis.stop()
    refused = api.post(f"/api/projects/{project.pk}/jobs", {"kind": "agreement"}, format="json")
    refused = Job.objects.get(pk=refused.json()["id"])
    assert refused.status == JobStatus.FAILED  # "failed, retry", said at once
    assert refused.error.startswith("The task queue is unreachable")
    slow = wait_for_job(slow.pk, timeout=120, workers=(worker,))  # needs the database only
    assert slow.status == JobStatus.SUCCEEDED, slow.error
    time.sleep(1)
    assert Job.objects.get(pk=waiting.pk).status == JobStatus.QUEUED  # not failed: it waits

    private_redis.start()
    deadline = time.monotonic() + 60
    # Its first message may have survived in Redis's append-only file; if not, the beat
    # sweep sends it again once the broker answers.
    while Job.objects.get(pk=waiting.pk).status == JobStatus.QUEUED:
        resend_stale_jobs()
        assert time.monotonic() < deadline, worker.log_tail()
        time.sleep(1)
    waiting = wait_for_job(waiting.pk, timeout=120, workers=(worker,))
    assert waiting.status == JobStatus.SUCCEEDED and waiting.attempts == 1, waiting.error
    again = api.post(f"/api/projects/{project.pk}/jobs", {"kind": "agreement"}, format="json")
    assert wait_for_job(again.json()["id"], workers=(worker,)).status == JobStatus.SUCCEEDED

    jobs = Job.objects.filter(project=al_project, kind=JobKind.ACTIVE_LEARNING)
    assert set(jobs.values_list("status", flat=True)) == {JobStatus.SUCCEEDED}
    assert ModelVersion.objects.filter(project=al_project).count() == jobs.count()
