"""Compressed snapshots end to end: sweep, cut with a level, download, read the lineage."""

import io
import json
import zipfile

import pandas as pd
import pytest

from annotation.jobs.runner import job_execute
from annotation.models import Item
from tests.compression_helpers import compression_project

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.QUORUM_EXPORT_DIR = tmp_path / "exports"


@pytest.fixture
def swept(api, project, manager):
    """A planted project, one extra unlabeled item added after its sweep, and the sweep."""
    compression_project(project, manager, n=45)
    response = api.post(f"/api/projects/{project.pk}/jobs", {"kind": "compression"},
                        format="json")  # fmt: skip
    job_execute(job_id=response.json()["id"], task_id="test")
    job = api.get(f"/api/jobs/{response.json()['id']}").json()
    assert job["status"] == "succeeded", job["error"]
    return job["result"]


def cut(api, project, spec):
    return api.post(f"/api/projects/{project.pk}/snapshots", spec, format="json")


def built(api, project, spec) -> dict:
    response = cut(api, project, spec)
    assert response.status_code == 202, response.json()
    job_execute(job_id=response.json()["job"]["id"], task_id="test")
    return api.get(f"/api/snapshots/{response.json()['id']}").json()


def rows(api, snapshot_id, fmt="jsonl"):
    response = api.get(f"/api/snapshots/{snapshot_id}/download?format={fmt}")
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content


def test_a_compressed_snapshot_exports_compressed_text_counts_and_originals(api, project, swept):
    level = swept["settings"][-1]["level"]
    spec = {"compression": {"profile": swept["profile"], "level": level},
            "include_original": True}  # fmt: skip
    snapshot = built(api, project, spec)
    assert snapshot["status"] == "ready"
    lines = [json.loads(line) for line in rows(api, snapshot["id"]).splitlines()]
    assert len(lines) == 45
    originals = dict(Item.objects.values_list("external_id", "text"))
    for row in lines:
        assert list(row)[-3:] == ["tokens", "tokens_original", "original_text"]
        assert row["original_text"] == originals[row["id"]]
        assert len(row["text"]) < len(row["original_text"]) and "We use cookies" not in row["text"]
        assert 0 < row["tokens"] < row["tokens_original"]
    lineage = snapshot["lineage"]["compression"]
    assert lineage["profile"] == swept["profile"] and lineage["version"] == swept["version"]
    assert lineage["level"] == level and lineage["uncompressed_items"] == 0
    setting = swept["settings"][-1]
    assert 0 < lineage["project"]["token_ratio"] < 1
    assert 0 < lineage["project"]["attention_ratio"] <= lineage["project"]["token_ratio"]
    assert lineage["project"]["tokens"] <= setting["tokens"] * 2  # every item, labeled or not
    table = pd.read_parquet(io.BytesIO(rows(api, snapshot["id"], "parquet")))
    assert {"tokens", "tokens_original", "original_text"} <= set(table.columns)
    assert list(pd.read_csv(io.BytesIO(rows(api, snapshot["id"], "csv"))).columns)[-1] == (
        "original_text"
    )
    with zipfile.ZipFile(io.BytesIO(rows(api, snapshot["id"], "hf"))) as archive:
        assert any(name.endswith(".parquet") for name in archive.namelist())


def test_the_proposed_level_and_items_added_after_the_sweep(api, project, swept):
    Item.objects.create(project=project, external_id="late", text="<p>late arrival</p>")
    from annotation.models import Annotation

    Annotation.objects.create(item=Item.objects.get(external_id="late"), project=project,
                              annotator=project.created_by, labels=["positive"])  # fmt: skip
    snapshot = built(api, project, {"compression": {"profile": swept["profile"],
                                                    "level": "proposed"}})  # fmt: skip
    lineage = snapshot["lineage"]["compression"]
    assert lineage["level"] == swept["proposed"] and lineage["asked_level"] == "proposed"
    assert lineage["uncompressed_items"] == 1
    lines = {r["id"]: r for r in map(json.loads, rows(api, snapshot["id"]).splitlines())}
    assert lines["late"]["text"] == "<p>late arrival</p>" and lines["late"]["tokens"] is None
    assert "original_text" not in lines["m0"]


def test_level_zero_exports_the_originals_with_their_counts(api, project, swept):
    snapshot = built(api, project, {"compression": {"profile": swept["profile"], "level": 0}})
    originals = dict(Item.objects.values_list("external_id", "text"))
    for row in map(json.loads, rows(api, snapshot["id"]).splitlines()):
        assert row["text"] == originals[row["id"]] and row["tokens"] == row["tokens_original"]


@pytest.mark.parametrize(
    ("compression", "extra", "field", "words"),
    [
        ({"profile": 999999}, {}, "compression", "no such"),
        ({"profile": "default"}, {}, "compression", "Must be"),
        ({"level": 0.5}, {}, "compression", "Must be"),
        ("PROFILE", {}, "level", "was not measured"),
        ("PROFILE", {"level": 2}, "compression", "from 0 to 1"),
        ("PROFILE", {"level": 0.33}, "compression", "was not measured"),
        ("PROFILE", {"level": "most"}, "compression", "from 0 to 1"),
        ("PROFILE", {"extra": 1}, "compression", "Must be"),
        (None, {"include_original": True}, "include_original", "compressed"),
        ("PROFILE", {"redact_pii": True}, "redact_pii", "not both"),
    ],
)  # fmt: skip
def test_bad_compression_specs_answer_400(api, project, swept, compression, extra, field, words):
    if compression == "PROFILE":
        compression = {"profile": swept["profile"]}
        if field == "level":  # "proposed" that was not measured: ask for an unmeasured level
            compression["level"], field = 0.6, "compression"
    spec = {} if compression is None else {"compression": compression | {
        k: v for k, v in extra.items() if k in ("level", "extra")}}  # fmt: skip
    spec |= {k: v for k, v in extra.items() if k not in ("level", "extra")}
    response = cut(api, project, spec)
    assert response.status_code == 400, response.json()
    assert words in json.dumps(response.json()[field]), response.json()


def test_proposed_without_a_finished_sweep_is_a_400(api, project, manager):
    compression_project(project, manager, n=12)
    profiles = api.get(f"/api/projects/{project.pk}/compression-profiles").json()
    response = cut(api, project, {"compression": {"profile": profiles[0]["id"],
                                                  "level": "proposed"}})  # fmt: skip
    assert response.status_code == 400
    assert "no finished compression job" in response.json()["compression"][0]


def test_a_profile_changed_after_its_sweep_needs_a_new_sweep(api, project, swept):
    api.patch(f"/api/projects/{project.pk}/compression-profiles/{swept['profile']}",
              {"filters": [{"name": "markup"}]}, format="json")  # fmt: skip
    response = cut(api, project, {"compression": {"profile": swept["profile"]}})
    assert response.status_code == 400 and "v2" in response.json()["compression"][0]


def test_a_redacted_item_is_compressed_from_its_redacted_copy_so_no_snapshot_leaks_it(
    api, project, manager
):
    """The cache is derived data that engineers download: it is computed from the text
    everyone reads, never from an original a reviewer redacted."""
    compression_project(project, manager, n=45)
    secret = "jo.bloggs@example.org"
    item = Item.objects.filter(project=project).order_by("pk").first()
    Item.objects.filter(pk=item.pk).update(text=f"{item.text} Mail {secret} now.",
                                           redacted_text=f"{item.text} Mail [EMAIL] now.")  # fmt: skip
    response = api.post(f"/api/projects/{project.pk}/jobs", {"kind": "compression"},
                        format="json")  # fmt: skip
    job_execute(job_id=response.json()["id"], task_id="test")
    result = api.get(f"/api/jobs/{response.json()['id']}").json()["result"]
    for setting in result["settings"]:
        spec = {"compression": {"profile": result["profile"], "level": setting["level"]},
                "include_original": True}  # fmt: skip
        body = rows(api, built(api, project, spec)["id"])
        assert secret.encode() not in body, setting["level"]
