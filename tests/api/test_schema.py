"""The OpenAPI schema generates without a warning and says what the API answers.

The fuzz test (tests/fuzz) checks every answer against the schema; these pin the places
where schema and API once disagreed, so a regression names itself.
"""

import pytest
import yaml
from django.core.management import call_command

from annotation.snapshots.spec import FIELDS


@pytest.fixture(scope="module")
def schema(tmp_path_factory) -> dict:
    """``manage.py spectacular --fail-on-warn --validate``: any warning fails the test."""
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(path))
    return yaml.safe_load(path.read_text())


def body(schema: dict, path: str, method: str, status: str, media="application/json") -> dict:
    return schema["paths"][path][method]["responses"][status]["content"][media]["schema"]


def resolve(schema: dict, ref: dict) -> dict:
    return schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


def test_the_members_list_is_a_plain_array(schema):
    members = body(schema, "/api/projects/{project_pk}/members/", "get", "200")
    assert members["type"] == "array"


def test_models_is_an_object_with_the_curve(schema):
    models = resolve(schema, body(schema, "/api/projects/{project_pk}/models/", "get", "200"))
    assert set(models["properties"]) == {"models", "current", "job"}


def test_a_job_duration_may_be_null(schema):
    assert schema["components"]["schemas"]["Job"]["properties"]["duration_seconds"]["nullable"]


def test_the_import_documents_its_400_body(schema):
    bad = body(schema, "/api/projects/{project_pk}/import/", "post", "400")
    refs = {option["$ref"].rsplit("/", 1)[1] for option in bad["anyOf"]}
    assert refs == {"ImportResult", "FieldErrors"}


def test_the_snapshot_spec_documents_every_field_spec_parse_takes(schema):
    post = schema["paths"]["/api/projects/{project_pk}/snapshots/"]["post"]
    spec = post["requestBody"]["content"]["application/json"]["schema"]
    assert set(spec["properties"]) == FIELDS
    assert {"originals", "annotator_names", "redact_pii"} <= set(spec["properties"])


def test_the_snapshot_diff_is_a_diff(schema):
    diff = body(schema, "/api/snapshots/{id}/diff/{other}/", "get", "200")
    assert diff["$ref"].endswith("/SnapshotDiff")


def test_downloads_name_every_content_type(schema):
    export = schema["paths"]["/api/projects/{project_pk}/export/"]["get"]["responses"]["200"]
    assert set(export["content"]) == {"application/x-ndjson", "application/json", "text/csv"}
    snapshot = schema["paths"]["/api/snapshots/{id}/download/"]["get"]["responses"]["200"]
    assert set(snapshot["content"]) == {
        "application/x-ndjson", "application/json", "text/csv", "application/zip",
        "application/vnd.apache.parquet",
    }  # fmt: skip


def test_every_operation_documents_its_errors(schema):
    """Signed-in routes document 401/403, routes naming an object (or a page) 404, inputs
    and writes 400."""
    missing = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            anonymous_ok = {} in operation.get("security", [{}])
            want = set() if anonymous_ok else {"401", "403"}
            query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            want |= {"404"} if "{" in path or "page" in query else set()
            writes = method in {"post", "put", "patch", "delete"}
            want |= {"400"} if "requestBody" in operation or query or writes else set()
            if want - codes:
                missing.append((method.upper(), path, sorted(want - codes)))
    assert missing == []


def test_path_ids_are_integers(schema):
    untyped = [
        (path, parameter["name"])
        for path, item in schema["paths"].items()
        for operation in item.values()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path" and parameter["name"] != "username"
        and parameter["schema"]["type"] != "integer"
    ]  # fmt: skip
    assert untyped == []


def test_stats_spells_out_the_stopping_rule_and_the_forecast(schema):
    stats = resolve(schema, body(schema, "/api/projects/{project_pk}/stats/", "get", "200"))
    stopping = resolve(schema, stats["properties"]["stopping"])
    assert set(stopping["properties"]) >= {
        "threshold", "window", "kappas", "stopped", "stopped_at_labels", "stop_on_plateau",
        "fired_by",
    }  # fmt: skip
    assert stopping["properties"]["stopped_at_labels"]["nullable"]
    assert stopping["properties"]["fired_by"]["nullable"]
    forecast = resolve(schema, stats["properties"]["forecast"])
    assert set(forecast["properties"]) >= {
        "metric", "target", "plateau", "plateau_interval", "labels_needed",
        "labels_needed_interval", "status",
    }  # fmt: skip
    assert forecast["properties"]["labels_needed"]["nullable"]
    assert "curve" in forecast["required"]  # always sent: empty unless status is ok
    point = resolve(schema, forecast["properties"]["curve"]["items"])
    assert set(point["properties"]) == {"labels", "value", "low", "high"}
    assert point["properties"]["labels"]["type"] == "integer"


def test_a_webhook_never_documents_its_secret_in_an_answer(schema):
    webhooks = "/api/projects/{project_pk}/webhooks/"
    created = resolve(schema, body(schema, webhooks, "post", "201"))
    assert "secret" not in created["properties"]
    sent = schema["paths"][webhooks]["post"]["requestBody"]["content"]["application/json"]
    assert "secret" in resolve(schema, sent["schema"])["properties"]


def test_deliveries_and_alerts_are_pages(schema):
    for path in ("/api/projects/{project_pk}/webhooks/{id}/deliveries/",
                 "/api/projects/{project_pk}/alerts/"):  # fmt: skip
        page = resolve(schema, body(schema, path, "get", "200"))
        assert {"count", "next", "previous", "results"} <= set(page["properties"])


def test_the_delivery_log_documents_its_status_filter(schema):
    get = schema["paths"]["/api/projects/{project_pk}/webhooks/{id}/deliveries/"]["get"]
    params = {p["name"]: p for p in get["parameters"]}
    assert params["status"]["in"] == "query"
    assert set(params["status"]["schema"]["enum"]) == {"pending", "succeeded", "failed"}


def test_the_test_event_answers_a_delivery_or_429(schema):
    post = schema["paths"]["/api/projects/{project_pk}/webhooks/{id}/test/"]["post"]
    assert set(post["responses"]) >= {"202", "429"}
    assert body(schema, "/api/projects/{project_pk}/webhooks/{id}/test/", "post", "202")[
        "$ref"
    ].endswith("/WebhookDelivery")


def test_the_quality_history_is_typed(schema):
    history = resolve(schema, body(schema, "/api/projects/{project_pk}/annotator-quality/history/",
                                   "get", "200"))  # fmt: skip
    assert set(history["properties"]) == {"runs", "annotators"}
