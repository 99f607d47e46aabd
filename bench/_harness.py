"""The one way benchmarks set up the app: Django in this process, and the web server and
Celery workers as subprocesses, like the tests do (``tests/integration/conftest.py``).

- ``app_env`` is the environment of every app process: throw-away ``QUORUM_VAR_DIR``, a
  SQLite file or a PostgreSQL URL, the filesystem broker unless a Redis URL is given (a
  shared Redis's workers must not receive messages about a throw-away database).
- ``django_setup`` points this process at the same database (and migrates it), for seeding
  and for reading results.
- ``Stack`` starts gunicorn (``web``) and Celery workers (``worker``), each in a session of
  its own (like a service: under autogroup scheduling the bench's own work then does not
  share their CPU), waits until they answer, logs each to a file, and stops them by PID,
  however the bench ends.
- ``manage`` runs a ``manage.py`` command in a subprocess.

Servers listen on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"

#: A worker started by ``app.worker_main``: the same worker as ``celery -A quorum worker``,
#: with the broker's polling interval set when asked (kombu's 1 s default adds a second of
#: idle latency to every job on the filesystem broker).
_WORKER = (
    "import json, sys\n"
    "import django; django.setup()\n"
    "from quorum.celery import app\n"
    "polling, argv = json.loads(sys.argv[1])\n"
    "if polling:\n"
    "    app.conf.broker_transport_options = {**app.conf.broker_transport_options,"
    " 'polling_interval': polling}\n"
    "app.worker_main(['worker', *argv])\n"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(
    var_dir: Path,
    *,
    database_url: str = "",
    redis_url: str = "",
    debug: bool = True,
    **extra: str,
) -> dict[str, str]:
    """The environment of the app's processes. No ``database_url``: SQLite in ``var_dir``."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_TASK_ALWAYS_EAGER")}  # fmt: skip
    env |= {
        "DEBUG": "1" if debug else "0", "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "quorum.settings", "QUORUM_VAR_DIR": str(var_dir),
        "MEDIA_ROOT": str(var_dir / "media"),
    }  # fmt: skip
    env.setdefault("SECRET_KEY", "bench-only-secret")
    if database_url:
        env["DATABASE_URL"] = database_url
    else:
        env["SQLITE_PATH"] = str(var_dir / "bench.sqlite3")
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env | extra


def django_setup(env: dict[str, str], *, migrate: bool = True) -> None:
    """Configure Django in this process with ``env`` (``app_env``'s), then migrate."""
    sys.path.insert(0, str(ROOT))
    for key in ("DATABASE_URL", "REDIS_URL", "SQLITE_PATH", "CELERY_TASK_ALWAYS_EAGER"):
        os.environ.pop(key, None)
    os.environ.update(env)
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def manage(env: dict[str, str], *args: str, root: Path = ROOT) -> str:
    """``manage.py *args`` in a subprocess (of the checkout at ``root``); its stdout. Raises
    with its stderr on failure."""
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=root, env=env,
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout


class Stack:
    """gunicorn and Celery workers on one environment; a context manager that stops them.

    ``log_dir`` holds one log per process (``web.log``, ``worker-<n>.log``).
    """

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env, self.log_dir = env, log_dir
        self.procs: list[subprocess.Popen] = []
        self.workers = 0
        log_dir.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _start(self, argv: list[str], log_name: str, env: dict[str, str],
               cwd: Path = ROOT) -> subprocess.Popen:  # fmt: skip
        with (self.log_dir / log_name).open("ab") as log:
            # A session of its own, as a service has: with the kernel's autogroup
            # scheduling (on here) CPU is shared between sessions, so in the bench's session
            # the bench's own sampling and polling took their CPU from the worker's share.
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        self.procs.append(proc)
        return proc

    def web(
        self, *, workers: int = 1, timeout: int = 600, **env: str
    ) -> tuple[subprocess.Popen, str]:
        """gunicorn (``workers`` sync workers) on a free port; returns it and its URL once
        ``/healthz`` answers. ``env``: overrides for the server only."""
        port = free_port()
        proc = self._start(
            [sys.executable, "-m", "gunicorn", "quorum.wsgi:application", "-w", str(workers),
             "-b", f"127.0.0.1:{port}", "--timeout", str(timeout), "--log-level", "warning"],
            "web.log", self.env | env,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        self._wait(lambda: requests.get(f"{url}/healthz", timeout=10).status_code < 500,
                   proc, "web.log")  # fmt: skip
        return proc, url

    def worker(
        self, *, pool: str = "solo", concurrency: int = 1, queue: str = "",
        polling: float | None = None, wait: bool = True, root: Path = ROOT,
    ) -> subprocess.Popen:  # fmt: skip
        """One Celery worker; returns once it is ready to take messages (``wait``).

        ``root``: the checkout whose code it runs (another one: a baseline to compare with).
        """
        n, self.workers = self.workers, self.workers + 1
        argv = ["--pool", pool, "--concurrency", str(concurrency), "--loglevel", "INFO",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                "-n", f"bench{n}-{uuid.uuid4().hex[:6]}@%h"]  # fmt: skip
        if queue:
            argv += ["-Q", queue]
        log = self.log_dir / f"worker-{n}.log"
        # Logs append across runs: only what this worker writes can say it is ready.
        start = log.stat().st_size if log.exists() else 0
        proc = self._start([sys.executable, "-c", _WORKER, json.dumps([polling, argv])],
                           log.name, self.env | {"PYTHONPATH": str(root)}, cwd=root)  # fmt: skip

        def ready() -> bool:
            with log.open("rb") as fh:
                fh.seek(start)
                return b" ready." in fh.read()

        if wait:
            self._wait(ready, proc, log.name)
        return proc

    def _wait(self, ready, proc: subprocess.Popen, log: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if ready():
                    return
            except (requests.ConnectionError, requests.Timeout, FileNotFoundError):
                pass
            time.sleep(0.2)
        self.stop()  # nothing may outlive a failed start
        tail = (self.log_dir / log).read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{log.split('.')[0]} did not start; {self.log_dir / log}:\n{tail}")

    def stop(self, only: subprocess.Popen | None = None) -> None:
        """SIGTERM every process (or ``only`` that one) by PID, then SIGKILL what is still
        alive after 30 s."""
        if only is not None:
            only.send_signal(signal.SIGTERM)
            try:
                only.wait(timeout=30)
            except subprocess.TimeoutExpired:
                only.kill()
                only.wait()
            self.procs.remove(only)
            return
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
