"""The compression sweep end to end on a real Celery worker: started through the API, its
result read back from the API, then a compressed snapshot cut from its cache."""

import json

import pytest

from annotation.models import CompressedText, Item, Snapshot
from annotation.services.snapshots import snapshot_file
from tests.compression_helpers import compression_project

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_sweep_on_a_worker_feeds_a_compressed_snapshot(
    transactional_db, celery_worker, wait_for_job, worker_exports, project, members, client_for
):
    api = client_for(members["manager"])
    compression_project(project, members["manager"], n=45)
    originals = dict(Item.objects.values_list("external_id", "text"))
    started = api.post(f"/api/projects/{project.pk}/jobs", {"kind": "compression"},
                       format="json")  # fmt: skip
    assert started.status_code == 202, started.content
    job = wait_for_job(started.json()["id"], timeout=180, workers=(celery_worker,))
    assert job.status == "succeeded", job.error
    result = api.get(f"/api/jobs/{job.pk}").json()["result"]
    assert set(result) == {"profile", "version", "baseline", "settings", "proposed"}
    assert CompressedText.objects.filter(profile_id=result["profile"]).count() == 45 * len(
        result["settings"]
    )
    cut = api.post(f"/api/projects/{project.pk}/snapshots",
                   {"compression": {"profile": result["profile"], "level": "proposed"}},
                   format="json")  # fmt: skip
    assert cut.status_code == 202, cut.json()
    built = wait_for_job(cut.json()["job"]["id"], timeout=120, workers=(celery_worker,))
    assert built.status == "succeeded", built.error
    snapshot = api.get(f"/api/snapshots/{cut.json()['id']}").json()
    assert snapshot["lineage"]["compression"]["level"] == result["proposed"]
    with snapshot_file(Snapshot.objects.get(pk=snapshot["id"]), "jsonl").open() as rows:
        for row in map(json.loads, rows):
            assert row["tokens"] <= row["tokens_original"]
            assert len(row["text"]) <= len(originals[row["id"]])
    assert dict(Item.objects.values_list("external_id", "text")) == originals
