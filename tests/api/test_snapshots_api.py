"""Snapshots over HTTP: who may, what a bad spec gets, and downloads that cache and resume."""

import io

import pandas as pd
import pytest
import requests
from rest_framework.authtoken.models import Token

from annotation.jobs.runner import job_execute
from annotation.models import Item, Snapshot
from annotation.services.importing import import_objects
from annotation.services.snapshots import snapshot_file

pytestmark = pytest.mark.django_db
LABELS = ["positive", "negative", "neutral"]
FORMATS = ["jsonl", "csv", "parquet", "hf", "labelstudio"]


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.QUORUM_EXPORT_DIR = tmp_path / "exports"


@pytest.fixture
def labeled(project, members):
    objects = [{"id": f"i{n:03}", "text": f"text {n}", "label": LABELS[n % 3]} for n in range(30)]
    assert import_objects(project=project, objects=objects).ok
    return project


def cut(client, project, spec=None):
    """POST a snapshot and run its job here (the message is only sent on commit)."""
    response = client.post(f"/api/projects/{project.pk}/snapshots", spec or {}, format="json")
    assert response.status_code == 202, response.content
    job_execute(job_id=response.json()["job"]["id"], task_id="test")
    return response.json()


def download(client, snapshot_id, fmt="jsonl", **headers):
    return client.get(f"/api/snapshots/{snapshot_id}/download?format={fmt}", **headers)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


class TestPermissions:
    def test_a_snapshot_with_names_is_the_managers_alone(self, labeled, members, client_for):
        engineer, manager = client_for(members["engineer"]), client_for(members["manager"])
        refused = engineer.post(f"/api/projects/{labeled.pk}/snapshots",
                                {"annotator_names": True}, format="json")  # fmt: skip
        assert refused.status_code == 403
        created = cut(manager, labeled, {"annotator_names": True})
        assert manager.get(f"/api/snapshots/{created['id']}").json()["lineage"] is not None
        assert engineer.get(f"/api/snapshots/{created['id']}").json()["lineage"] is None
        listed = engineer.get(f"/api/projects/{labeled.pk}/snapshots").json()["results"]
        assert [s["lineage"] for s in listed] == [None]
        assert download(engineer, created["id"]).status_code == 403
        assert download(manager, created["id"]).status_code == 200

    @pytest.mark.parametrize("role", ["manager", "engineer"])
    def test_managers_and_engineers_cut_list_read_and_download(self, labeled, members,
                                                                client_for, role):  # fmt: skip
        client = client_for(members[role])
        created = cut(client, labeled)
        assert created["version"] == 1 and created["status"] == "queued"
        listed = client.get(f"/api/projects/{labeled.pk}/snapshots").json()["results"]
        assert [s["id"] for s in listed] == [created["id"]]
        detail = client.get(f"/api/snapshots/{created['id']}").json()
        assert detail["status"] == "ready" and detail["row_count"] == 30
        assert detail["stats"]["splits"] == {"test": 3, "train": 24, "validation": 3}
        assert detail["lineage"]["content_hash"] == detail["content_hash"]
        for fmt in FORMATS:
            assert download(client, created["id"], fmt).status_code == 200, fmt

    @pytest.mark.parametrize("role, code", [("annotator", 403), ("reviewer", 403),
                                            ("outsider", 404)])  # fmt: skip
    def test_everyone_else_is_refused(self, labeled, members, client_for, api, role, code):
        snapshot = cut(api, labeled)["id"]
        client = client_for(members[role])
        assert (
            client.post(f"/api/projects/{labeled.pk}/snapshots", {}, format="json").status_code
            == code
        )
        assert client.get(f"/api/projects/{labeled.pk}/snapshots").status_code == code
        assert client.get(f"/api/snapshots/{snapshot}").status_code == code
        assert download(client, snapshot).status_code == code
        assert client.get(f"/api/snapshots/{snapshot}/diff/{snapshot}").status_code == code
        assert client_for().get(f"/api/snapshots/{snapshot}").status_code in (401, 403)


class TestBadRequests:
    @pytest.mark.parametrize("spec, field, words", [
        ({"labels": ["positive", "sarcastic"]}, "labels", "'sarcastic'"),
        ({"splits": {"train": 0.7, "test": 0.2}}, "splits", "sum to 0.9"),
        ({"label_source": "newest"}, "label_source", "final, every"),
    ])  # fmt: skip
    def test_bad_spec_names_the_field(self, labeled, api, spec, field, words):
        response = api.post(f"/api/projects/{labeled.pk}/snapshots", spec, format="json")
        assert response.status_code == 400 and list(response.json()) == [field]
        assert words in response.json()[field][0]
        assert not Snapshot.objects.exists()

    def test_unknown_format_names_the_field(self, labeled, api):
        response = download(api, cut(api, labeled)["id"], "xlsx")
        assert response.status_code == 400 and "xlsx" in response.json()["format"][0]

    def test_download_before_the_build_is_a_conflict(self, labeled, api):
        response = api.post(f"/api/projects/{labeled.pk}/snapshots", {}, format="json")
        refused = download(api, response.json()["id"])
        assert refused.status_code == 409 and refused.json()["status"] == "queued"


class TestCachingAndResuming:
    def test_etag_and_if_none_match(self, labeled, api):
        snapshot = cut(api, labeled)
        first = download(api, snapshot["id"], "csv")
        assert first["ETag"] == f'"{snapshot_hash(snapshot)}-csv"'
        assert first["Accept-Ranges"] == "bytes"
        again = download(api, snapshot["id"], "csv", HTTP_IF_NONE_MATCH=first["ETag"])
        assert again.status_code == 304 and again.content == b""
        other = download(api, snapshot["id"], "jsonl", HTTP_IF_NONE_MATCH=first["ETag"])
        assert other.status_code == 200

    def test_range_resumes_a_download(self, labeled, api):
        snapshot = cut(api, labeled)
        whole = body(download(api, snapshot["id"], "parquet"))
        part = download(api, snapshot["id"], "parquet", HTTP_RANGE="bytes=100-")
        assert part.status_code == 206
        assert part["Content-Range"] == f"bytes 100-{len(whole) - 1}/{len(whole)}"
        assert whole[:100] + body(part) == whole
        middle = download(api, snapshot["id"], "parquet", HTTP_RANGE="bytes=10-19")
        assert body(middle) == whole[10:20] and middle["Content-Length"] == "10"
        tail = download(api, snapshot["id"], "parquet", HTTP_RANGE="bytes=-7")
        assert body(tail) == whole[-7:]
        beyond = download(api, snapshot["id"], "parquet", HTTP_RANGE=f"bytes={len(whole)}-")
        assert beyond.status_code == 416
        stale = download(api, snapshot["id"], "parquet", HTTP_RANGE="bytes=0-9",
                         HTTP_IF_RANGE='"an-older-version"')  # fmt: skip
        assert stale.status_code == 200 and body(stale) == whole


def snapshot_hash(created: dict) -> str:
    return Snapshot.objects.get(pk=created["id"]).content_hash


def test_diff_between_versions(labeled, api):
    first = cut(api, labeled)
    Item.objects.filter(project=labeled, external_id="i001").update(final_labels=["positive"])
    second = cut(api, labeled)
    diff = api.get(f"/api/snapshots/{first['id']}/diff/{second['id']}").json()
    assert (diff["added"], diff["removed"], diff["relabeled"]) == (0, 0, 1)
    assert diff["examples"]["relabeled"][0]["id"] == "i001"


def test_two_line_path_from_a_live_server_to_a_training_set(labeled, manager, live_server, api):
    """What README shows: a ``requests`` call, then ``pandas.read_json(..., lines=True)``."""
    snapshot_id = cut(api, labeled)["id"]
    token = Token.objects.create(user=manager).key
    url = f"{live_server.url}/api/snapshots/{snapshot_id}/download?format=jsonl"

    response = requests.get(url, headers={"Authorization": f"Token {token}"}, timeout=30)
    train = pd.read_json(io.BytesIO(response.content), lines=True).query("split == 'train'")

    assert response.status_code == 200 and len(train) == 24
    assert set(train["label"]) == set(LABELS) and train["text"].str.startswith("text").all()
    on_disk = snapshot_file(Snapshot.objects.get(pk=snapshot_id), "jsonl").read_bytes()
    assert response.content == on_disk
