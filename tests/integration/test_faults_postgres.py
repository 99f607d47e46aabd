"""Fault: PostgreSQL restarts while annotators label through gunicorn.

The production shape: gunicorn's workers keep their database connections between
requests (``CONN_MAX_AGE``), so a restart leaves every one of them holding a dead
connection. Annotators (HTTP clients, retrying as the labeling page's outbox does) keep
labeling across a ``pg_ctl restart`` of the test's own cluster. Afterwards:

- the first request after the restart succeeds (connection health checks reconnect);
- while the database is down, the API answers 503 ``database_unavailable`` (a clear
  "retry"), never a bare 500;
- no label is lost or stored twice: the rows are exactly the acknowledged labels, and
  every item of this overlap-1 project ends with exactly one.

PostgreSQL only (a restart means nothing to SQLite): the cluster is the one
``scripts/services.sh`` started, found through ``var/services/pgdata.path``; without it
the test is skipped locally and fails in CI (``QUORUM_REQUIRE_SERVICES=1``).
"""

import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from django.db import connection
from rest_framework.authtoken.models import Token

from annotation.models import Annotation, Item, ItemStatus, Role
from annotation.services.projects import membership_set
from tests.integration.conftest import REPO, need_service

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
N_ITEMS, N_ANNOTATORS = 60, 3


def cluster_dir() -> Path:
    """The data directory of the PostgreSQL this test runs on (fails or skips if unknown)."""
    need_service("PostgreSQL", connection.vendor == "postgresql", "DATABASE_URL is not PostgreSQL")
    recorded = REPO / "var" / "services" / "pgdata.path"
    need_service("PostgreSQL's data directory", recorded.exists(), f"{recorded} is missing")
    data = Path(recorded.read_text().strip())
    pid_file = data / "postmaster.pid"
    need_service("the services.sh cluster", pid_file.exists(), f"{pid_file} is missing")
    port = pid_file.read_text().splitlines()[3].strip()
    need_service("the test's own cluster",
                 port == str(connection.settings_dict.get("PORT") or 5432),
                 f"{data} serves port {port}, the tests use another")  # fmt: skip
    return data


def pg_restart(data: Path) -> None:
    """``pg_ctl restart -m fast`` as the cluster's owner (``postgres`` when we are root)."""
    command = [str(PG_BIN / "pg_ctl"), "restart", "-D", str(data), "-m", "fast", "-w",
               "-t", "60", "-l", str(data.parent / "postgres.log")]  # fmt: skip
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, cwd="/", check=True, capture_output=True, timeout=90)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path):
    """gunicorn (2 sync workers) on the test database; labels' job triggers go to a
    private filesystem broker that no worker reads."""
    from tests.integration.conftest import _database_env

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env |= _database_env() | {"DEBUG": "0", "LOG_LEVEL": "WARNING", "SECRET_KEY": "fault-test",
                              "QUORUM_VAR_DIR": str(tmp_path / "var")}  # fmt: skip
    log = (tmp_path / "gunicorn.log").open("ab")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "quorum.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/healthz", timeout=5)
            break
        except requests.RequestException:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("gunicorn did not start:\n" + (tmp_path / "gunicorn.log").read_text())
    yield url
    server.terminate()
    server.wait(30)


class Annotator(threading.Thread):
    """Labels until the queue is empty, retrying a failed call like the page's outbox."""

    def __init__(self, url: str, token: str, project_id: int):
        super().__init__(daemon=True)
        self.url, self.project_id = url, project_id
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        self.acked: list[int] = []
        self.calls: list[tuple[float, int | str, str]] = []  # (sent at, status, code)
        self.error: str = ""

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            sent = time.monotonic()
            try:
                response = self.session.request(method, self.url + path, timeout=30, **kwargs)
            except requests.RequestException as exc:
                self.calls.append((sent, type(exc).__name__, ""))
                time.sleep(0.2)
                continue
            json_body = response.headers.get("Content-Type", "").startswith("application/json")
            code = response.json().get("code", "") if json_body and not response.ok else ""
            self.calls.append((sent, response.status_code, code))
            if response.status_code < 500:
                return response
            time.sleep(0.2)
        raise TimeoutError(f"{method} {path} kept failing")

    def run(self) -> None:
        try:
            while True:
                served = self.call("GET", f"/api/projects/{self.project_id}/next")
                if served.status_code == 204:
                    return
                item = served.json()["id"]
                answer = self.call("POST", f"/api/items/{item}/annotations/",
                                   json={"label": "positive"})  # fmt: skip
                body = answer.json()
                if answer.status_code == 201:
                    self.acked.append(body["id"])
                elif body.get("code") == "already_annotated":  # an earlier attempt committed
                    self.acked.append(body["annotation_id"])
                else:
                    raise AssertionError(f"label refused: {answer.status_code} {body}")
                time.sleep(0.02)
        except Exception as exc:  # noqa: BLE001 - any failure is the finding: the test reports it
            self.error = repr(exc)


@pytest.fixture
def cluster() -> Path:
    return cluster_dir()


def test_labeling_survives_a_postgres_restart(project, make_user, cluster, gunicorn):
    Item.objects.bulk_create(
        Item(project=project, external_id=f"p{i}", text=f"item {i}", sequence=i)
        for i in range(N_ITEMS)
    )
    tokens = []
    for n in range(N_ANNOTATORS):
        user = make_user(f"pg{n}")
        membership_set(project=project, user=user, role=Role.ANNOTATOR)
        tokens.append(Token.objects.create(user=user).key)
    crowd = [Annotator(gunicorn, token, project.pk) for token in tokens]
    for annotator in crowd:
        annotator.start()
    deadline = time.monotonic() + 60
    while Annotation.objects.filter(project=project).count() < N_ITEMS // 4:
        assert time.monotonic() < deadline, "labeling never got going"
        time.sleep(0.05)

    connection.close()  # this process's connection dies with the restart too
    down_from = time.monotonic()
    pg_restart(cluster)
    up_at = time.monotonic()
    for annotator in crowd:
        annotator.join(120)
    assert [a.error for a in crowd] == [""] * N_ANNOTATORS

    calls = [call for annotator in crowd for call in annotator.calls]
    after = [status for sent, status, _ in calls if sent >= up_at]
    assert after and all(isinstance(s, int) and s < 500 for s in after), Counter(after)
    during = [(status, code) for sent, status, code in calls if down_from <= sent < up_at]
    failures = [(s, c) for s, c in during if not isinstance(s, int) or s >= 500]
    assert all(f == (503, "database_unavailable") for f in failures), Counter(failures)

    acked = sorted(a for annotator in crowd for a in annotator.acked)
    stored = sorted(Annotation.objects.filter(project=project).values_list("id", flat=True))
    assert acked == stored  # nothing lost, nothing stored without an answer
    per_item = Counter(Annotation.objects.filter(project=project).values_list("item", flat=True))
    assert len(per_item) == N_ITEMS and set(per_item.values()) == {1}
    statuses = set(Item.objects.filter(project=project).values_list("status", flat=True))
    assert statuses == {ItemStatus.COMPLETE}
