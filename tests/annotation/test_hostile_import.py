"""Hostile files through every import path: the service, ``import_items``, the API's
multipart upload (answered at once, or by the worker's import job), and the API's JSON
body. Each is refused with a clear error naming the problem, and nothing is imported.
The manage page's import is the API's multipart upload (see tests/browser)."""

import codecs
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from annotation.models import ImportBatch, Item
from annotation.services.importing import import_file
from quorum.celery import app

pytestmark = pytest.mark.django_db

DEEP = 5000  # far past QUORUM_MAX_JSON_DEPTH (32) and past json's recursion limit


def nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


HOSTILE = {
    "json-nested-brackets": ("x.json", b"[" * 200_000, "nested more than 32 levels"),
    "json-nested-meta": (
        "x.json",
        f'[{{"text": "a", "meta": {nested(DEEP)}}}]'.encode(),
        "nested more than 32 levels",
    ),
    "jsonl-nested-meta": (
        "x.jsonl",
        f'{{"text": "a", "meta": {nested(DEEP)}}}\n'.encode(),
        "nested more than 32 levels",
    ),
    "csv-nested-meta-cell": (
        "x.csv",
        b'text,meta\na,"' + nested(DEEP).replace('"', '""').encode() + b'"\n',
        "nested more than 32 levels",
    ),
    "csv-nul-in-text": ("x.csv", b"id,text\nr1,bad\x00text\n", "NUL characters"),
    "jsonl-nul-in-id": ("x.jsonl", b'{"id": "r\\u0000", "text": "a"}\n', "NUL characters"),
    "json-nul-in-label": (
        "x.json",
        b'[{"text": "a", "label": "positive\\u0000"}]',
        "NUL characters",
    ),
    "json-nul-in-meta-key": ("x.json", b'[{"text": "a", "meta": {"k\\u0000": 1}}]', "NUL"),
    "labelstudio-annotations-dict": (
        "x.json",
        b'[{"data": {"text": "a"}, "annotations": {"result": []}}]',
        "expected a list, found an object",
    ),
    "labelstudio-annotation-string": (
        "x.json",
        b'[{"data": {"text": "a"}, "annotations": ["x"]}]',
        "found a string",
    ),
    "labelstudio-annotation-null": (
        "x.json",
        b'[{"data": {"text": "a"}, "annotations": [null]}]',
        "found null",
    ),
    "labelstudio-result-string": (
        "x.json",
        b'[{"data": {"text": "a"}, "annotations": [{"result": "positive"}]}]',
        "expected 'result' to be a list",
    ),
    "labelstudio-value-list": (
        "x.json",
        b'[{"data": {"text": "a"}, "annotations": [{"result": [{"value": [1]}]}]}]',
        "expected 'value' to be an object",
    ),
    "labelstudio-choices-number": (
        "x.json",
        b'[{"data": {"text": "a"}, "annotations": [{"result": [{"value": {"choices": 3}}]}]}]',
        "list of label names",
    ),
    "latin-1": ("x.csv", "text\ncaf\xe9 cr\xe8me\n".encode("latin-1"), "not UTF-8"),
    "utf-16-without-bom": ("x.csv", "text\nhello\n".encode("utf-16-le"), "without a BOM"),
    "utf-32": ("x.csv", "text\nhello\n".encode("utf-32"), "UTF-32"),
    "csv-enormous-field": ("x.csv", b"text\n" + b"a" * 300_000 + b"\n", "over 200,000 bytes"),
    "csv-enormous-quoted-record": (
        "x.csv",
        b'text\n"' + b"a\n" * 150_000 + b'"\n',
        "over 200,000 bytes",
    ),
    "jsonl-enormous-line": (
        "x.jsonl",
        b'{"text": "' + b"a" * 300_000 + b'"}\n',
        "over 200,000 bytes",
    ),
    "json-enormous-string": (
        # 400 KB: the reader allows 128 KB of read-ahead past the limit
        "x.json",
        b'[{"text": "' + b"a" * 400_000 + b'"}]',
        "over 200,000 bytes",
    ),
    "json-not-an-array": ("x.json", b'{"items": []}', "must be an array of objects"),
    "json-scalar-items": ("x.json", b"[null, 5, true]", "Expected a JSON object, found null"),
}


@pytest.fixture
def limits(settings):
    """A row limit small enough to test the enormous field cheaply."""
    settings.QUORUM_MAX_ROW_BYTES = 200_000


def via_service(project, name, content, tmp_path, api, capture):
    result = import_file(project=project, stream=io.BytesIO(content), file_name=name)
    return [e["message"] for e in result.errors]


def via_command(project, name, content, tmp_path, api, capture):
    path = tmp_path / name
    path.write_bytes(content)
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_items", str(project.pk), str(path), "--no-progress", stderr=err)
    return [err.getvalue()]


def via_api_upload(project, name, content, tmp_path, api, capture):
    upload = io.BytesIO(content)
    upload.name = name
    response = api.post(f"/api/projects/{project.pk}/import", {"file": upload}, format="multipart")
    assert response.status_code == 400, response.content
    return [e["message"] for e in response.json()["errors"]]


def via_worker_job(project, name, content, tmp_path, api, capture):
    upload = io.BytesIO(content)
    upload.name = name
    app.conf.task_always_eager = True  # the job runs when the upload commits
    try:
        with capture(execute=True):
            response = api.post(
                f"/api/projects/{project.pk}/import", {"file": upload}, format="multipart"
            )
    finally:
        app.conf.task_always_eager = False
    assert response.status_code == 202, response.content
    job = api.get(f"/api/jobs/{response.json()['job']}").json()
    assert job["status"] == "failed"
    return [job["error"], *(e["message"] for e in (job["result"] or {}).get("errors", []))]


PATHS = {
    "service": via_service,
    "command": via_command,
    "api-upload": via_api_upload,
    "worker-job": via_worker_job,
}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", HOSTILE)
def test_a_hostile_file_is_refused_with_a_clear_error_and_nothing_imported(
    project, api, tmp_path, limits, settings, django_capture_on_commit_callbacks, case, path
):
    name, content, expected = HOSTILE[case]
    if path == "worker-job":
        settings.QUORUM_ASYNC_IMPORT_BYTES = 10
    capture = django_capture_on_commit_callbacks
    messages = PATHS[path](project, name, content, tmp_path, api, capture)
    assert any(expected in message for message in messages), messages
    assert not Item.objects.filter(project=project).exists()
    assert not ImportBatch.objects.filter(project=project).exists()


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("utf-8"),
        lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
        lambda text: text.encode("utf-16"),  # with a BOM, the platform's byte order
        lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-bom", "utf-16-be-bom"],
)
@pytest.mark.parametrize(
    "name, text",
    [
        ("x.csv", "id,text,label\nr1,café crème,positive\nr2,naïve — ok,negative\n"),
        ("x.jsonl", '{"id": "r1", "text": "café crème"}\n{"id": "r2", "text": "naïve — ok"}\n'),
        ("x.json", '[{"id": "r1", "text": "café crème"}, {"id": "r2", "text": "naïve — ok"}]'),
    ],
)
def test_utf8_with_or_without_bom_and_utf16_with_bom_are_read_alike(project, encode, name, text):
    result = import_file(project=project, stream=io.BytesIO(encode(text)), file_name=name)
    assert result.ok, result.errors
    texts = dict(Item.objects.filter(project=project).values_list("external_id", "text"))
    assert texts == {"r1": "café crème", "r2": "naïve — ok"}


def test_json_up_to_the_depth_limit_is_accepted(project):
    meta = json.loads(nested(30))  # the row is depth 1 of a JSON line, meta 2 to 31
    line = json.dumps({"id": "r1", "text": "a", "meta": meta}) + "\n"
    result = import_file(project=project, stream=io.BytesIO(line.encode()), file_name="x.jsonl")
    assert result.ok, result.errors
    assert Item.objects.get(project=project).meta == meta


def test_a_file_of_a_million_tiny_rows_streams(project):
    """Not refused: read in chunks, so memory does not follow the row count (bench/hostile_import.py
    measures the peak); here only that a file of many rows is not held at once."""
    content = b"text\n" + b"x\n" * 20_000
    result = import_file(project=project, stream=io.BytesIO(content), file_name="x.csv")
    assert result.ok and result.created == 20_000


def test_a_file_of_many_unreadable_rows_is_reported_in_bounded_memory(project):
    """Rows that fail to parse (here: a column too many) are reported a chunk at a time, like
    good rows: 50,000 of them once peaked at 24 MB (a million: about 480 MB), now about 3 MB."""
    import tracemalloc

    content = b"text,label\n" + b"x,a,extra\n" * 50_000
    tracemalloc.start()
    try:
        result = import_file(project=project, stream=io.BytesIO(content), file_name="x.csv")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.error_count == 50_000 and len(result.errors) == 100
    assert result.error_codes == {"column_count": 50_000}
    assert peak < 10_000_000, peak
    assert not Item.objects.exists()


def test_image_files_named_by_the_command_take_the_decoded_format_s_extension(
    manager, tmp_path, settings
):
    """``import_items`` reads image paths beside the data file: the name's extension is
    as untrusted as a data URI's media type."""
    from PIL import Image

    from annotation.services.projects import project_create

    settings.MEDIA_ROOT = tmp_path / "media"
    project = project_create(creator=manager, name="Pics", labels=["a"], data_type="image")
    Image.new("RGB", (4, 4)).save(tmp_path / "page.html", format="PNG")  # a PNG named .html
    (tmp_path / "evil.svg").write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>')
    bad = tmp_path / "bad.csv"
    bad.write_text("id,image\np1,page.html\np2,evil.svg\n")
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 error"):
        call_command("import_items", str(project.pk), str(bad), "--no-progress", stderr=err)
    assert "allowed formats: GIF, JPEG, PNG, WEBP" in err.getvalue()
    assert not Item.objects.filter(project=project).exists()

    good = tmp_path / "good.csv"
    good.write_text("id,image\np1,page.html\n")
    call_command("import_items", str(project.pk), str(good), "--no-progress")
    assert Item.objects.get(project=project).image.name.endswith("/page.png")
