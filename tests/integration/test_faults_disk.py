"""Fault: the disk fills up while a real worker writes a snapshot.

The worker runs with ``tests/integration/faults/sitecustomize.py``, which gives every
snapshot file a few kilobytes of room and then raises ``OSError(ENOSPC)`` at the write,
as a full disk does. The snapshot must end ``failed`` with an error a person can act on,
leave no file behind (a download never serves half a file), and a cut made once there is
room again must succeed.
"""

import json
import os
from pathlib import Path

import pytest

from annotation.models import Snapshot
from annotation.services.importing import import_objects

pytestmark = pytest.mark.integration
FAULTS = Path(__file__).resolve().parent / "faults"
LABELS = ["positive", "negative", "neutral"]


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_a_full_disk_fails_the_snapshot_cleanly_and_the_next_cut_succeeds(
    transactional_db, start_celery_worker, wait_for_job, settings, project, api, tmp_path
):
    exports = tmp_path / "exports"
    settings.QUORUM_EXPORT_DIR = exports
    full = tmp_path / "disk-full"
    full.write_text("4096")  # bytes of room per snapshot file while this file exists
    paths = [str(FAULTS), os.environ.get("PYTHONPATH", "")]
    worker = start_celery_worker(env={
        "PYTHONPATH": os.pathsep.join(p for p in paths if p),
        "QUORUM_FAULT_DISK_FULL": str(full), "QUORUM_EXPORT_DIR": str(exports),
    })  # fmt: skip
    objects = [{"id": f"d{n}", "text": f"a long enough review text number {n} " * 4,
                "label": LABELS[n % 3]} for n in range(300)]  # fmt: skip
    assert import_objects(project=project, objects=objects).ok

    failed = api.post(f"/api/projects/{project.pk}/snapshots", {}, format="json").json()
    job = wait_for_job(failed["job"]["id"], timeout=90, workers=(worker,))
    assert job.status == "failed"
    assert "disk holding the exports is full" in job.error and "cut it again" in job.error
    assert str(exports) not in job.error  # no server paths in what users read
    shown = api.get(f"/api/snapshots/{failed['id']}").json()
    assert shown["status"] == "failed"
    assert shown["job"]["status"] == "failed" and shown["job"]["error"] == job.error
    download = api.get(f"/api/snapshots/{failed['id']}/download?format=jsonl")
    assert download.status_code == 409 and download.json()["status"] == "failed"
    assert files_under(exports) == []  # no partial file, not even in a scratch folder

    full.unlink()  # room again
    retried = api.post(f"/api/projects/{project.pk}/snapshots", {}, format="json").json()
    job = wait_for_job(retried["job"]["id"], timeout=90, workers=(worker,))
    assert job.status == "succeeded", job.error
    snapshot = Snapshot.objects.get(pk=retried["id"])
    assert snapshot.status == "ready" and snapshot.row_count == 300
    response = api.get(f"/api/snapshots/{snapshot.pk}/download?format=jsonl")
    rows = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert sorted(r["id"] for r in rows) == sorted(o["id"] for o in objects)
    assert {p.parent.name for p in files_under(exports)} == {str(snapshot.version)}
    assert Snapshot.objects.get(pk=failed["id"]).status == "failed"  # the record stays, honest
