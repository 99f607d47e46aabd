"""A real Celery worker for integration tests, on the test database and a private broker.

Fixtures
--------
celery_worker : session-wide ``celery -A tests.integration.worker_app worker`` (prefork, concurrency 1).
start_celery_worker : factory for a worker of one's own (``concurrency``, ``pool``, extra env);
    stopped at the end of the test. Use it to kill pool children or tune settings.
wait_for_job : ``wait_for_job(job_id, timeout=60.0) -> Job`` polls the run record until it
    succeeded or failed; on timeout it fails with the worker's log tail.

The worker sees the test's rows because tests use ``transactional_db`` (committed rows) and
the worker is pointed at pytest-django's test database: the SQLite file that
``quorum.settings_test`` names, or PostgreSQL's ``test_<name>``. The broker is Redis when
``REDIS_URL`` is set (on a queue named for this run, so a shared Redis is safe), else kombu's
filesystem transport in a temporary folder that this process is re-pointed at too.

With ``QUORUM_REQUIRE_SERVICES=1`` (CI) a missing PostgreSQL or Redis fails the test
instead of skipping it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
from django.db import connection

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 60.0


def services_required() -> bool:
    return os.environ.get("QUORUM_REQUIRE_SERVICES", "") == "1"


def need_service(name: str, available: bool, why: str = "") -> None:
    """Skip when ``name`` is missing locally; fail when services are required (CI)."""
    if available:
        return
    message = f"{name} is not available{': ' + why if why else ''}"
    if services_required():
        pytest.fail(f"{message} (QUORUM_REQUIRE_SERVICES=1)")
    pytest.skip(message)


def redis_reachable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@dataclass
class CeleryWorker:
    """A running worker subprocess: its PID, its log, and how to stop it."""

    process: subprocess.Popen
    log_path: Path
    env: dict[str, str] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def pool_pids(self) -> list[int]:
        """PIDs of the prefork pool children (the processes that run tasks)."""
        try:
            return [child.pid for child in psutil.Process(self.pid).children()]
        except psutil.NoSuchProcess:
            return []

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """Warm shutdown (SIGTERM) of this worker only; SIGKILL its process group if it hangs."""
        if not self.alive():
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)


def _database_env() -> dict[str, str]:
    """Environment that points a worker at the database this test process is using."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        if db["NAME"] in ("", ":memory:") or "mode=memory" in str(db["NAME"]):
            pytest.fail("the SQLite test database is in memory; run with --ds=quorum.settings_test")
        return {"SQLITE_PATH": str(db["NAME"]), "DATABASE_URL": ""}
    if db["ENGINE"].endswith("postgresql"):
        url = "postgres://{USER}:{PASSWORD}@{HOST}:{PORT}/{NAME}".format(
            **{k: db.get(k) or "" for k in ("USER", "PASSWORD", "HOST", "NAME")},
            PORT=db.get("PORT") or 5432,
        )
        return {"DATABASE_URL": url}
    pytest.fail(f"no worker set-up for database engine {db['ENGINE']}")


@pytest.fixture(scope="session")
def celery_broker(tmp_path_factory) -> Iterator[dict[str, str]]:
    """Point this process's Celery app at a private broker; yield the env for workers."""
    from django.conf import settings

    from quorum.celery import app

    redis_url = os.environ.get("REDIS_URL", "")
    if services_required() and not redis_url:
        pytest.fail("REDIS_URL is unset but QUORUM_REQUIRE_SERVICES=1")
    var_dir = tmp_path_factory.mktemp("worker-var")
    queue = f"quorum-test-{uuid.uuid4().hex[:10]}"
    saved = {
        "broker_transport_options": dict(app.conf.broker_transport_options or {}),
        "task_default_queue": app.conf.task_default_queue,
    }
    env = {"QUORUM_VAR_DIR": str(var_dir), "QUORUM_CELERY_QUEUE": queue, "REDIS_URL": redis_url}
    if redis_url:
        if not redis_reachable(redis_url):
            need_service("Redis", False, f"no answer at {redis_url}")
    else:
        folders = {name: var_dir / "celery" / name for name in ("out", "processed")}
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        app.conf.broker_transport_options = dict(
            settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            data_folder_in=str(folders["out"]),
            data_folder_out=str(folders["out"]),
            processed_folder=str(folders["processed"]),
        )
    # Until a test asks for ``celery_worker``, messages go to a queue nobody reads: the
    # session's worker would otherwise take the jobs of later tests that run their jobs
    # in-process (job_execute), and race them for the claim.
    app.conf.task_default_queue = unread_queue(env)
    _reset_connections(app)
    yield env
    for key, value in saved.items():
        app.conf[key] = value
    _reset_connections(app)


def unread_queue(broker_env: dict[str, str]) -> str:
    """The queue this process sends to while no worker of the session should see messages."""
    return f"{broker_env['QUORUM_CELERY_QUEUE']}-unread"


def _use_queue(app, queue: str) -> None:
    app.conf.task_default_queue = queue
    _reset_connections(app)


def _reset_connections(app) -> None:
    """Drop pooled broker connections and Celery's cached queue declarations, so the next send
    uses the current app.conf.

    kombu keeps producer pools in a global registry keyed by connection: clear it too,
    or a later send reuses a pool closed here ("Acquire on closed pool"). Celery caches the
    default queue (and the queue map and router built on it) at the first send: without
    dropping them, once a package's broker fixture had sent a message (the fuzz run's), every
    later message of the session went to that package's queue, which no worker read.
    """
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
    for cached in ("default_queue", "queues", "router", "default_exchange", "send_task_message"):
        app.amqp.__dict__.pop(cached, None)


def _launch(
    env_extra: dict[str, str], *, concurrency: int, pool: str, log_path: Path
) -> CeleryWorker:
    env = dict(os.environ)
    env.update(env_extra)
    env.update(_database_env())
    env.setdefault("SECRET_KEY", "test-only-secret-key")
    env["DJANGO_SETTINGS_MODULE"] = "quorum.settings_test"
    env["PYTHONUNBUFFERED"] = "1"
    command = [
        sys.executable, "-m", "celery", "-A", "tests.integration.worker_app", "worker",
        "--pool", pool, "--concurrency", str(concurrency), "-l", "info",
        "--without-mingle", "--without-gossip", "--without-heartbeat",
        "-Q", env["QUORUM_CELERY_QUEUE"], "-n", f"test-{uuid.uuid4().hex[:8]}@%h",
    ]  # fmt: skip
    log = log_path.open("ab")
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    log.close()
    worker = CeleryWorker(process=process, log_path=log_path, env=env)
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if " ready." in worker.log():
            return worker
        if not worker.alive():
            pytest.fail(f"celery worker exited with {process.returncode}:\n{worker.log_tail()}")
        time.sleep(0.2)
    worker.stop()
    pytest.fail(f"celery worker not ready after {READY_TIMEOUT:.0f} s:\n{worker.log_tail()}")


def _require_services() -> None:
    if services_required() and not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.fail("integration tests need PostgreSQL (DATABASE_URL) in CI")


@pytest.fixture(scope="session")
def session_celery_worker(
    celery_broker, django_db_setup, django_db_blocker, tmp_path_factory
) -> Iterator[CeleryWorker]:
    """One prefork worker (concurrency 1) for the whole session (``celery_worker`` gives it
    this test's messages)."""
    _require_services()
    with django_db_blocker.unblock():
        worker = _launch(
            celery_broker,
            concurrency=1,
            pool="prefork",
            log_path=tmp_path_factory.mktemp("worker-log") / "worker.log",
        )
    yield worker
    worker.stop()


@pytest.fixture
def celery_worker(session_celery_worker, celery_broker) -> Iterator[CeleryWorker]:
    """The session's worker, and this test's messages sent to it; after the test, messages
    go back to the queue nobody reads."""
    from quorum.celery import app

    _use_queue(app, celery_broker["QUORUM_CELERY_QUEUE"])
    yield session_celery_worker
    _use_queue(app, unread_queue(celery_broker))


@pytest.fixture
def start_celery_worker(
    celery_broker, django_db_setup, tmp_path
) -> Iterator[Callable[..., CeleryWorker]]:
    """Factory: ``start_celery_worker(concurrency=1, pool="prefork", env={...})``.

    These workers and this test's messages use a queue of their own, so the session's
    ``celery_worker`` (if running) takes none of their work: a test can kill a worker's
    pool child and know which task died.
    """
    from quorum.celery import app

    _require_services()
    started: list[CeleryWorker] = []
    shared_queue = app.conf.task_default_queue
    queue = f"quorum-test-{uuid.uuid4().hex[:10]}"
    app.conf.task_default_queue = queue
    _reset_connections(app)
    celery_broker = celery_broker | {"QUORUM_CELERY_QUEUE": queue}

    def start(
        *, concurrency: int = 1, pool: str = "prefork", env: dict[str, str] | None = None
    ) -> CeleryWorker:
        worker = _launch(
            celery_broker | dict(env or {}),
            concurrency=concurrency,
            pool=pool,
            log_path=tmp_path / f"worker-{len(started)}.log",
        )
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
    app.conf.task_default_queue = shared_queue
    _reset_connections(app)


@pytest.fixture
def wait_for_job(request) -> Callable[..., object]:
    """``wait_for_job(job_id, timeout=60.0)``: the finished Job, or a failure with the log."""
    from annotation.models import Job, JobStatus

    def wait(job_id: int, timeout: float = 60.0, *, workers: tuple[CeleryWorker, ...] = ()):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = Job.objects.get(pk=job_id)
            if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
                return job
            time.sleep(0.2)
        logs = [w.log_tail() for w in workers]
        if not logs and "celery_worker" in request.fixturenames:
            logs = [request.getfixturevalue("celery_worker").log_tail()]
        job = Job.objects.get(pk=job_id)
        pytest.fail(
            f"job {job_id} still {job.status} (progress {job.progress:.2f}) after {timeout} s\n"
            + "\n---\n".join(logs)
        )

    return wait


@pytest.fixture
def worker_exports(celery_broker, settings) -> Path:
    """Read snapshot files where the worker wrote them: under its own var dir."""
    exports = (
        os.environ.get("QUORUM_EXPORT_DIR") or Path(celery_broker["QUORUM_VAR_DIR"]) / "exports"
    )
    settings.QUORUM_EXPORT_DIR = Path(exports)
    return Path(exports)
