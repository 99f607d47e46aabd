"""``POST /api/projects/{id}/import`` answers bad files with every bad row at once, each
with a machine-readable code and its place; whatever the bytes, a 4xx (never a 500) and
nothing written. The fields of the answer before codes existed keep their meaning."""

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotation.importing import errors as codes
from annotation.models import ImportBatch, Item

pytestmark = pytest.mark.django_db

KNOWN_CODES = {v for k, v in vars(codes).items() if k.isupper() and isinstance(v, str)}


def upload(api, project, content: bytes, name: str = "items.csv", **query):
    stream = io.BytesIO(content)
    stream.name = name
    url = f"/api/projects/{project.pk}/import"
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return api.post(url, {"file": stream}, format="multipart")


def test_every_bad_row_and_duplicate_in_one_answer(api, project):
    assert upload(api, project, b"id,text\nr9,already\n").status_code == 201
    content = b"id,text,label\nr1,ok,positive\nr2,bad,angry\nr9,again,\nr1,twice,negative\n"
    response = upload(api, project, content)
    assert response.status_code == 400
    body = response.json()
    assert {"created", "skipped", "labels", "rows", "errors", "error_count", "batch"} <= set(body)
    assert (body["created"], body["error_count"], body["batch"]) == (0, 3, None)
    assert [(e["row"], e["line"], e["field"], e["code"]) for e in body["errors"]] == [
        (2, 3, "label", "unknown_label"),
        (3, 4, "id", "duplicate"),
        (4, 5, "id", "duplicate"),
    ]
    assert body["errors"][1]["params"] == {"id": "r9", "in": "project"}
    assert body["errors"][2]["params"] == {"id": "r1", "in": "file", "first_row": 1}
    assert body["error_codes"] == {"unknown_label": 1, "duplicate": 2}
    assert Item.objects.filter(project=project).count() == 1


def test_an_unclosed_quote_is_answered_as_one(api, project):
    response = upload(api, project, b'text,label\nok,positive\n"Broke,negative\nfine,neutral\n')
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert (error["row"], error["line"], error["code"]) == (2, 3, "unclosed_quote")


def test_a_request_without_a_file_or_items_has_a_code(api, project):
    response = api.post(f"/api/projects/{project.pk}/import", [1, 2], format="json")
    assert response.status_code == 400
    assert [e["code"] for e in response.json()["errors"]] == ["bad_request"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    content=st.one_of(
        st.binary(max_size=200),
        st.text(alphabet='id,text\n"\r{}[]é\\a', max_size=120).map(str.encode),
    ),
    name=st.sampled_from(["x.csv", "x.jsonl", "x.json", "x.bin"]),
)
def test_any_bytes_get_a_201_or_a_400_with_codes_and_never_a_partial_import(
    api, project, content, name
):
    items, batches = Item.objects.count(), ImportBatch.objects.count()
    response = upload(api, project, content, name)
    assert response.status_code in (201, 400)
    body = response.json()
    if response.status_code == 400:
        assert body["errors"] and {e["code"] for e in body["errors"]} <= KNOWN_CODES
        assert all(isinstance(e["row"], int) and e["message"] for e in body["errors"])
        assert (Item.objects.count(), ImportBatch.objects.count()) == (items, batches)
    else:
        assert Item.objects.count() == items + body["created"]
