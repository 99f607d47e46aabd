"""A snapshot cut over the API is built by a real Celery worker, and downloads the same rows."""

import json

import pytest

from annotation.models import Snapshot
from annotation.services.importing import import_objects

pytestmark = pytest.mark.integration
LABELS = ["positive", "negative", "neutral"]


def test_a_worker_builds_the_snapshot(transactional_db, worker_exports, celery_worker,
                                      wait_for_job, project, api):  # fmt: skip
    objects = [{"id": f"w{n}", "text": f"text {n}", "label": LABELS[n % 3]} for n in range(40)]
    assert import_objects(project=project, objects=objects).ok

    created = api.post(f"/api/projects/{project.pk}/snapshots", {"seed": 4}, format="json").json()
    job = wait_for_job(created["job"]["id"], timeout=90)

    assert job.status == "succeeded", job.error
    snapshot = Snapshot.objects.get(pk=created["id"])
    assert snapshot.status == "ready" and snapshot.row_count == 40
    response = api.get(f"/api/snapshots/{snapshot.pk}/download?format=jsonl")
    rows = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert len(rows) == 40 and {r["label"] for r in rows} == set(LABELS)
    assert job.result["content_hash"] == snapshot.content_hash
