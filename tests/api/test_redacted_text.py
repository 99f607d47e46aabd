"""After a reviewer redacts an item's personal data, every path that serves item text gives
non-managers the redacted copy; only a manager who asks (``?originals=true``, a snapshot's
``originals``) reads the original, and that read is in the access log as ``pii_view``."""

import json

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from annotation.jobs.runner import job_execute
from annotation.models import AccessLog, AuditFinding, FindingKind, Item, LabelIssue
from annotation.services.audit import finding_resolve
from annotation.text_selectors import shown_text
from tests.audit_helpers import audited_project

pytestmark = pytest.mark.django_db
PHONE, EMAIL = "+44 20 7946 0958", "jo.bloggs@example.com"
REDACTED = "Call me on [PHONE] or mail [EMAIL]"


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.QUORUM_EXPORT_DIR = tmp_path / "exports"


@pytest.fixture
def redacted(project, members):
    """The audited project with its personal-data finding redacted by a reviewer."""
    run = audited_project(project, members["manager"])
    finding = AuditFinding.objects.get(job=run, kind=FindingKind.PII)
    finding_resolve(finding=finding, user=members["reviewer"], action="redact")
    item = Item.objects.get(project=project, external_id="pii")
    assert item.redacted_text == REDACTED and PHONE in item.text
    return item


def no_pii(body: bytes) -> bool:
    text = body.decode()
    return PHONE not in text and EMAIL not in text and "jo.bloggs" not in text


def pii_views(project) -> list[AccessLog]:
    return list(AccessLog.objects.filter(project_id_logged=project.pk, action="pii_view"))


def test_the_queue_and_history_give_an_annotator_the_redacted_copy(
    project, members, client_for, redacted
):
    annotator = client_for(members["annotator"])
    seen = []
    while (response := annotator.get(f"/api/projects/{project.pk}/next")).status_code == 200:
        assert no_pii(response.content)
        seen.append(response.json())
        item = response.json()["id"]
        assert annotator.post(f"/api/items/{item}/annotations", {"label": "ham"},
                              format="json").status_code == 201  # fmt: skip
    assert response.status_code == 204
    assert [s["text"] for s in seen if s["id"] == redacted.pk] == [REDACTED]
    history = annotator.get(f"/api/projects/{project.pk}/history?limit=200")
    assert history.status_code == 200 and no_pii(history.content)
    assert REDACTED in history.content.decode()


@pytest.mark.parametrize("role", ["annotator", "reviewer", "engineer", "manager"])
def test_the_items_api_gives_every_role_the_redacted_copy_by_default(
    project, members, client_for, redacted, role
):
    client = client_for(members[role])
    listing = client.get(f"/api/projects/{project.pk}/items?page_size=100")
    detail = client.get(f"/api/projects/{project.pk}/items/{redacted.pk}")
    assert listing.status_code == detail.status_code == 200
    assert no_pii(listing.content) and no_pii(detail.content)
    assert detail.json()["text"] == REDACTED
    assert pii_views(project) == []


@pytest.mark.parametrize("role", ["annotator", "reviewer", "engineer"])
def test_only_managers_may_ask_for_originals(project, members, client_for, redacted, role):
    client = client_for(members[role])
    for url in (f"/api/projects/{project.pk}/items?originals=true",
                f"/api/projects/{project.pk}/items/{redacted.pk}?originals=true",
                f"/api/projects/{project.pk}/export?originals=true"):  # fmt: skip
        response = client.get(url)
        assert response.status_code in (403, 404) and no_pii(response.content)
    assert pii_views(project) == []


def test_a_manager_reads_originals_on_request_and_the_view_is_logged(
    project, members, client_for, redacted
):
    manager = client_for(members["manager"])
    detail = manager.get(f"/api/projects/{project.pk}/items/{redacted.pk}?originals=true")
    assert detail.status_code == 200 and PHONE in detail.json()["text"]
    (entry,) = pii_views(project)
    assert (entry.actor, entry.object_type, entry.detail) == (
        "manager",
        "item",
        {"items": [redacted.pk], "count": 1},
    )
    listing = manager.get(f"/api/projects/{project.pk}/items?originals=true&page_size=100")
    assert PHONE in listing.content.decode() and len(pii_views(project)) == 2
    export = manager.get(f"/api/projects/{project.pk}/export?format=jsonl&originals=true")
    assert PHONE in b"".join(export.streaming_content).decode()
    assert [e.object_type for e in pii_views(project)] == [
        "project_export",
        "project_items",
        "item",
    ]


@pytest.mark.parametrize("value", ["yes", "1", "TRUE", "", "true,true"])
def test_a_bad_originals_value_is_a_400(project, members, client_for, redacted, value):
    response = client_for(members["manager"]).get(
        f"/api/projects/{project.pk}/items?originals={value}"
    )
    assert response.status_code == 400 and "originals" in response.json()


def test_the_review_api_gives_reviewers_the_redacted_copy(project, members, client_for, redacted):
    run = AuditFinding.objects.filter(project=project).first().job
    LabelIssue.objects.create(project=project, item=redacted, job=run, given_label="ham",
                              suggested_label="spam", given_labels=["ham"],
                              suggested_labels=["spam"], quality=0.1, reason="test",
                              labels_fingerprint="x")  # fmt: skip
    response = client_for(members["reviewer"]).get(f"/api/projects/{project.pk}/label-issues")
    assert response.status_code == 200 and no_pii(response.content)
    assert REDACTED in response.content.decode()


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_exports_carry_the_redacted_copy(project, members, client_for, redacted, fmt):
    for role in ("engineer", "manager"):
        response = client_for(members[role]).get(f"/api/projects/{project.pk}/export?format={fmt}")
        body = b"".join(response.streaming_content)
        assert response.status_code == 200 and no_pii(body) and REDACTED.encode() in body


def _snapshot_body(client, project, spec) -> tuple[int, bytes]:
    created = client.post(f"/api/projects/{project.pk}/snapshots", spec, format="json")
    if created.status_code != 202:
        return created.status_code, created.content
    job_execute(job_id=created.json()["job"]["id"], task_id="test")
    response = client.get(f"/api/snapshots/{created.json()['id']}/download?format=jsonl")
    return response.status_code, b"".join(response.streaming_content)


def test_snapshots_carry_the_redacted_copy_unless_a_manager_asks(
    project, members, client_for, redacted
):
    engineer, manager = client_for(members["engineer"]), client_for(members["manager"])
    status, body = _snapshot_body(engineer, project, {"splits": {"train": 1}})
    assert status == 200 and no_pii(body) and REDACTED.encode() in body
    status, body = _snapshot_body(engineer, project, {"originals": True})
    assert status == 403 and no_pii(body)
    status, body = _snapshot_body(manager, project, {"originals": True, "splits": {"train": 1}})
    assert status == 200 and PHONE.encode() in body
    (entry,) = pii_views(project)
    assert (entry.actor, entry.object_type) == ("manager", "snapshot")
    originals = [s for s in manager.get(f"/api/projects/{project.pk}/snapshots").json()["results"]
                 if s["spec"]["originals"]]  # fmt: skip
    refused = engineer.get(f"/api/snapshots/{originals[0]['id']}/download?format=jsonl")
    assert refused.status_code == 403 and no_pii(refused.content)
    assert manager.post(f"/api/projects/{project.pk}/snapshots",
                        {"originals": True, "redact_pii": True},
                        format="json").status_code == 400  # fmt: skip


def test_the_labeling_and_review_pages_hold_no_text_of_their_own(project, members, redacted):
    """The pages are shells that read the APIs above; neither embeds an item's text."""
    for role, path in (("annotator", "label"), ("reviewer", "review")):
        page = Client()
        page.force_login(members[role])
        response = page.get(f"/projects/{project.pk}/{path}")
        assert response.status_code == 200 and no_pii(response.content)


@given(text=st.text(max_size=40), redacted_text=st.none() | st.text(max_size=40))
def test_only_an_originals_view_shows_the_original(text, redacted_text):
    assert shown_text(text, redacted_text, originals=True) == text
    shown = shown_text(text, redacted_text)
    assert shown == (text if redacted_text is None else redacted_text)
    assert json.dumps(shown)  # always a plain string
