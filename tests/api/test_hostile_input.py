"""Hostile request input: deeply nested JSON, NUL characters and malformed import bodies
are each one clear 400 (JSON under /api/), never a 500, and nothing is written."""

import json
import time

import pytest
from django.test import Client

from annotation.models import ImportBatch, Item, Label, Project

pytestmark = pytest.mark.django_db


def nested(depth: int, leaf: str = "1") -> str:
    return '{"a": ' * depth + leaf + "}" * depth


def post_raw(api, url: str, body: str | bytes):
    return api.generic("POST", url, body, content_type="application/json")


def import_url(project) -> str:
    return f"/api/projects/{project.pk}/import"


@pytest.mark.parametrize(
    "body",
    [
        "[" * 200_000,  # issue #13: took the web process past 20 GB
        '{"items": [{"text": "a", "meta": ' + nested(60_000) + "}]}",  # 600 KB: 10 GB, 500
        '{"a": ' + "[" * 3000 + "]" * 3000 + "}",  # issue #13: RecursionError, 500
    ],
    ids=["brackets", "meta", "recursion"],
)
def test_deeply_nested_json_is_a_quick_400(api, project, body):
    started = time.perf_counter()
    response = post_raw(api, import_url(project), body)
    assert response.status_code == 400, response.content
    assert "nested more than 32 levels" in response.json()["detail"]
    assert time.perf_counter() - started < 5
    assert not Item.objects.exists()


def test_the_depth_limit_counts_from_the_body(api, project):
    # body 1, items 2, item 3: meta may open 29 more levels, not 30.
    fits = '{"items": [{"text": "a", "meta": ' + nested(29) + "}]}"
    too_deep = '{"items": [{"text": "a", "meta": ' + nested(30) + "}]}"
    assert post_raw(api, import_url(project), too_deep).status_code == 400
    assert post_raw(api, import_url(project), fits).status_code == 201


def test_every_json_endpoint_has_the_bound(api, project):
    body = '{"name": "x", "labels": ["a", "b"], "meta": ' + nested(5000) + "}"
    response = post_raw(api, "/api/projects/", body)
    assert response.status_code == 400
    assert "nested more than 32 levels" in response.json()["detail"]


@pytest.mark.parametrize("body", ["null", "5", "true", '"items"', "[]", '[{"text": "a"}]'])
def test_an_import_body_that_is_not_an_object_is_a_400(api, project, body):
    response = post_raw(api, import_url(project), body)
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["message"] == (
        'Send {"items": [...]} as the JSON body, or a file.'
    )
    assert not Item.objects.exists()


@pytest.mark.parametrize(
    "item",
    [
        {"text": "bad\u0000text"},
        {"id": "r\u0000", "text": "a"},
        {"text": "a", "label": "positive\u0000"},
        {"text": "a", "meta": {"k": ["v\u0000"]}},
        {"text": "a", "meta": {"k\u0000": 1}},
    ],
    ids=["text", "id", "label", "meta-value", "meta-key"],
)
def test_a_nul_in_an_import_body_is_a_400(api, project, item):
    body = json.dumps({"items": [{"text": "fine"}, item]})
    assert "\\u0000" in body
    response = post_raw(api, import_url(project), body)
    assert response.status_code == 400, response.content
    assert "NUL characters (U+0000) are not allowed." in response.json()["detail"]
    assert not Item.objects.exists()


def test_a_nul_in_a_label_name_is_a_400(api):
    body = json.dumps({"name": "x", "labels": ["good", "b\u0000d"]})
    response = post_raw(api, "/api/projects/", body)
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]
    assert not Project.objects.filter(name="x").exists()
    assert not Label.objects.filter(name="good").exists()


@pytest.mark.parametrize(
    "url",
    ["/api/projects/?search=a%00b", "/api/projects/?a%00=b", "/api/projects/%00/"],
    ids=["query-value", "query-key", "path"],
)
def test_a_nul_in_an_api_url_is_a_json_400(api, project, url):
    response = api.get(url)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "NUL characters (U+0000) are not allowed" in response.json()["detail"]


def test_a_nul_in_a_form_field_is_a_400(manager, project):
    client = Client()
    client.force_login(manager)
    response = client.post(
        f"/projects/{project.pk}/settings", {"name": "Re\x00named", "labels": "a"}
    )
    assert response.status_code == 400
    assert b"NUL characters (U+0000) are not allowed in a form field." in response.content
    assert Project.objects.get(pk=project.pk).name == "Sentiment"


def test_a_nul_in_the_login_form_is_a_400_not_a_500(make_user):
    make_user("ann")
    response = Client().post("/login/", {"username": "ann\x00", "password": "pw-ann"})
    assert response.status_code == 400


def test_a_nul_in_an_uploaded_file_name_never_reaches_the_database(api, project):
    """Django's multipart parser drops unprintable characters from file names."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("a\x00.csv", b"text\nok\n", content_type="text/csv")
    response = api.post(import_url(project), {"file": upload}, format="multipart")
    assert response.status_code == 201
    assert ImportBatch.objects.get(project=project).file_name == "a.csv"


def test_a_json_body_over_the_request_limit_is_a_400(api, project, settings):
    """Django refuses it (RequestDataTooBig) before any parser runs."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"items": [{"text": "x" * 2000}]})
    response = post_raw(api, import_url(project), body)
    assert response.status_code == 400
    assert not Item.objects.exists()
