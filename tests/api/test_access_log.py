"""The access log: one entry for each logged action (with its time, actor and object), read by
managers through the API and the app, and impossible to change through either."""

import pytest
from django.test import Client

from annotation.jobs.runner import job_execute
from annotation.models import AccessLog, AuditFinding, Item
from annotation.services.audit import finding_resolve
from annotation.services.importing import import_objects
from annotation.services.projects import project_create
from tests.audit_helpers import audit_run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.QUORUM_EXPORT_DIR = tmp_path / "exports"


def log_of(project, action: str) -> list[AccessLog]:
    return list(AccessLog.objects.filter(project_id_logged=project.pk, action=action))


def test_snapshot_and_export_downloads_are_logged_but_not_an_unchanged_304(
    project, members, client_for
):
    assert import_objects(project=project, objects=[
        {"id": f"i{n}", "text": f"text {n}", "label": "positive"} for n in range(6)]).ok  # fmt: skip
    engineer = client_for(members["engineer"])
    created = engineer.post(f"/api/projects/{project.pk}/snapshots", {}, format="json").json()
    job_execute(job_id=created["job"]["id"], task_id="test")
    response = engineer.get(f"/api/snapshots/{created['id']}/download?format=csv")
    assert response.status_code == 200
    (entry,) = log_of(project, "snapshot_download")
    assert (entry.actor, entry.actor_id) == ("engineer", members["engineer"].pk)
    assert entry.object_type == "snapshot" and entry.object_id == str(created["id"])
    assert entry.detail == {"version": 1, "format": "csv", "range": ""}
    assert entry.created_at is not None
    etag = response["ETag"]
    again = engineer.get(f"/api/snapshots/{created['id']}/download?format=csv",
                         HTTP_IF_NONE_MATCH=etag)  # fmt: skip
    assert again.status_code == 304 and len(log_of(project, "snapshot_download")) == 1
    assert engineer.get(f"/api/projects/{project.pk}/export?format=json").status_code == 200
    (export,) = log_of(project, "export_download")
    assert export.actor == "engineer" and export.detail == {"format": "json", "originals": False}


def test_role_changes_through_the_api_and_the_members_page_are_logged(
    project, members, client_for, manager
):
    api = client_for(manager)
    assert api.patch(f"/api/projects/{project.pk}/members/annotator", {"role": "reviewer"},
                     format="json").status_code == 200  # fmt: skip
    assert api.delete(f"/api/projects/{project.pk}/members/engineer").status_code == 204
    page = Client()
    page.force_login(manager)
    page.post(f"/projects/{project.pk}/members",
              {"action": "add", "username": "outsider", "role": "annotator"})  # fmt: skip
    details = [(e.actor, e.detail) for e in reversed(log_of(project, "role_change"))]
    assert details[:3] == [  # the fixture's memberships, given by no one through the app
        ("", {"user": role, "from": None, "to": role})
        for role in ("annotator", "reviewer", "engineer")
    ]
    assert details[3:] == [
        ("manager", {"user": "annotator", "from": "annotator", "to": "reviewer"}),
        ("manager", {"user": "engineer", "from": "engineer", "to": None}),
        ("manager", {"user": "outsider", "from": None, "to": "annotator"}),
    ]
    api.patch(f"/api/projects/{project.pk}/members/annotator", {"role": "reviewer"},
              format="json")  # fmt: skip
    assert len(log_of(project, "role_change")) == 6  # the same role again changes nothing


def test_settings_changes_are_logged_with_what_changed(project, manager, client_for):
    api = client_for(manager)
    guidelines = "Read every message to the end. " * 20
    response = api.patch(f"/api/projects/{project.pk}",
                         {"overlap": 2, "name": "Sentiment", "guidelines": guidelines},
                         format="json")  # fmt: skip
    assert response.status_code == 200
    (entry,) = log_of(project, "project_settings")
    assert entry.actor == "manager" and entry.object_id == str(project.pk)
    assert set(entry.detail) == {"overlap", "guidelines"}  # the name did not change
    assert entry.detail["overlap"] == {"from": 1, "to": 2}
    assert entry.detail["guidelines"]["to"].startswith(
        f"{len(guidelines.strip())} characters, sha256 "
    )


def test_managers_read_the_log_paginated_and_filtered_and_nobody_writes_it(
    project, members, client_for, manager
):
    api = client_for(manager)
    for role in ("reviewer", "annotator", "reviewer"):
        api.patch(f"/api/projects/{project.pk}/members/engineer", {"role": role}, format="json")
    api.patch(f"/api/projects/{project.pk}", {"overlap": 2}, format="json")
    other = project_create(creator=manager, name="Elsewhere", labels=["a"])
    api.patch(f"/api/projects/{other.pk}", {"overlap": 3}, format="json")
    url = f"/api/projects/{project.pk}/access-log"
    everything = api.get(url).json()
    assert everything["count"] == 7  # with the fixture's three memberships
    actions = [(e["action"], e["actor"]) for e in everything["results"]]
    assert actions == [("project_settings", "manager")] + [("role_change", "manager")] * 3 + [
        ("role_change", "")] * 3  # fmt: skip
    first = everything["results"][0]
    assert set(first) == {"id", "created_at", "actor_id", "actor", "action", "object_type",
                          "object_id", "detail"}  # fmt: skip
    roles = api.get(url, {"action": "role_change"}).json()
    assert roles["count"] == 6 and [e["detail"]["to"] for e in roles["results"][:3]] == [
        "reviewer", "annotator", "reviewer"]  # fmt: skip
    assert api.get(url, {"action": "rm -rf"}).status_code == 400
    assert api.get(url, {"page": "99"}).status_code == 404
    for method in ("post", "put", "patch", "delete"):
        assert getattr(api, method)(url, {"action": "x"}, format="json").status_code in (403, 405)
        assert getattr(api, method)(f"{url}/{first['id']}", format="json").status_code in (404, 405)
    assert AccessLog.objects.filter(project_id_logged=project.pk).count() == 7
    for role, status in (("reviewer", 403), ("engineer", 403), ("outsider", 404)):
        assert client_for(members[role]).get(url).status_code == status


def test_the_log_outlives_the_items_and_the_project_it_names(project, manager, make_user):
    item = Item.objects.create(project=project, external_id="a", text="mail jo@example.com")
    item_pk = item.pk
    audit_run(project)
    finding_resolve(finding=AuditFinding.objects.get(kind="pii"), user=manager, action="redact")
    item.delete()
    pk = project.pk
    project.delete()
    (entry,) = AccessLog.objects.filter(project_id_logged=pk, action="finding_redact")
    assert entry.detail["items"] == [item_pk] and entry.actor == "manager"


def test_the_access_log_page_is_for_managers(project, members):
    for who, status in (("manager", 200), ("reviewer", 403), ("outsider", 404)):
        client = Client()
        client.force_login(members[who])
        assert client.get(f"/projects/{project.pk}/access-log").status_code == status
    client = Client()
    client.force_login(members["manager"])
    client.post(f"/projects/{project.pk}/members",
                {"action": "role", "username": "annotator", "role": "reviewer"})  # fmt: skip
    html = client.get(f"/projects/{project.pk}/access-log?action=role_change").content.decode()
    assert "role_change" in html and "&#x27;to&#x27;: &#x27;reviewer&#x27;" in html
