"""The fuzz run's world: a live server on 127.0.0.1, and a project with real objects in it.

A live server (not the WSGI app in-process) so that the fuzzer sees exactly what a client
sees, through the same CLI a developer runs by hand. The database is transactional so the
server's threads see what the fixture committed. Celery messages (job starts) go to the
private broker of ``tests/integration/conftest.py``: no worker runs, jobs stay queued.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from rest_framework.authtoken.models import Token

from annotation.jobs.dispatch import job_enqueue
from annotation.jobs.runner import job_execute
from annotation.models import Role
from annotation.services.alerts import alert_raise
from annotation.services.importing import import_objects
from annotation.services.labeling import annotation_submit, queue_next
from annotation.services.projects import membership_set, project_create
from annotation.services.snapshots import snapshot_create
from annotation.services.users import user_allow_project_creation
from annotation.services.webhooks import webhook_create
from tests.integration.conftest import celery_broker  # noqa: F401 (a fixture)

ITEMS = [{"id": f"item-{i}", "text": f"Item {i}: the service was {w}."}
         for i, w in enumerate(["great", "slow", "fine", "awful", "quick", "ok"] * 2)]  # fmt: skip


@dataclass(frozen=True)
class FuzzWorld:
    url: str
    token: str
    username: str
    project_id: int
    ids: dict[str, list]  # seeded objects by kind, for tests/fuzz/hooks.py
    spare_token: str  # another user's, for the account routes (see tests/fuzz/hooks.py)


@pytest.fixture
def live_url(django_db_setup, django_db_blocker, transactional_db) -> Iterator[str]:
    from pytest_django.live_server_helper import LiveServer

    with django_db_blocker.unblock():
        server = LiveServer("127.0.0.1", start=True)
    server._live_server_modified_settings.enable()
    yield server.url
    server._live_server_modified_settings.disable()
    server.stop()


@pytest.fixture
def fuzz_world(live_url, celery_broker, settings, tmp_path, make_user) -> FuzzWorld:  # noqa: F811
    """A text project with labels, items, an annotation, two built snapshots and a job."""
    settings.QUORUM_EXPORT_DIR = tmp_path / "exports"
    settings.QUORUM_UPLOAD_DIR = tmp_path / "uploads"
    manager = make_user("fuzz-manager")
    user_allow_project_creation(user=manager)  # may create projects too (can_create_project)
    project = project_create(creator=manager, name="Fuzzed", labels=["positive", "negative"])
    membership_set(project=project, user=make_user("fuzz-annotator"), role=Role.ANNOTATOR)
    result = import_objects(project=project, objects=ITEMS, user=manager)
    assert result.ok, result.as_dict()
    lease = queue_next(project=project, annotator=manager)
    annotation = annotation_submit(item=lease.item, annotator=manager, labels=["positive"])
    snapshots = []
    for _ in range(2):
        snapshot = snapshot_create(project=project, spec={}, user=manager, enqueue=False)
        job_execute(job_id=snapshot.job_id, task_id="fuzz-fixture")
        snapshots.append(snapshot.pk)
    job, _ = job_enqueue(project=project, kind="agreement", user=manager)
    # A webhook with a delivery in its log and an open alert (the receiver is never started:
    # nothing is sent during the run, the rows are only read).
    webhook = webhook_create(project=project, url="http://127.0.0.1:9/hook", secret="f" * 16,
                             events=["job.finished", "alert.opened"], user=manager)  # fmt: skip
    alert_raise(project=project, kind="drift", key="drift:data", message="Data drift.")
    token = Token.objects.create(user=manager)
    spare = Token.objects.create(user=make_user("fuzz-spare"))
    ids = {
        "project": [project.pk], "item": list(project.items.values_list("pk", flat=True)),
        "annotation": [annotation.pk], "job": [job.pk], "snapshot": snapshots,
        "webhook": [webhook.pk],
        "username": [manager.username, "fuzz-annotator"],
    }  # fmt: skip
    return FuzzWorld(url=live_url, token=token.key, username=manager.username,
                     project_id=project.pk, ids=ids, spare_token=spare.key)  # fmt: skip
