"""Deleting items' content and keeping their labels: on request through the API, and after a
project's content retention, by the daily beat task and the management command."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from annotation.jobs.runner import job_execute
from annotation.models import AccessLog, Annotation, Item, ItemStatus, Snapshot
from annotation.services.importing import import_objects
from annotation.services.projects import project_create
from annotation.services.retention import retention_apply
from annotation.services.snapshots import snapshot_file
from annotation.stats import label_distribution
from annotation.tasks import apply_retention
from tests.audit_helpers import audit_run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.QUORUM_EXPORT_DIR = tmp_path / "exports"


@pytest.fixture
def imported(project, members):
    objects = [{"id": f"i{n}", "text": f"message {n} from jo{n}@example.com",
                "meta": {"sender": f"jo{n}"}, "label": ["positive", "negative"][n % 2]}
               for n in range(6)]  # fmt: skip
    assert import_objects(project=project, objects=objects).ok
    return {i.external_id: i for i in Item.objects.filter(project=project)}


def delete_content(api, project, ids, reason="data subject request #12"):
    return api.post(f"/api/projects/{project.pk}/delete-content",
                    {"items": ids, "reason": reason}, format="json")  # fmt: skip


def snapshot_ids(api, project) -> list[str]:
    created = api.post(f"/api/projects/{project.pk}/snapshots", {}, format="json").json()
    job_execute(job_id=created["job"]["id"], task_id="test")
    path = snapshot_file(Snapshot.objects.get(pk=created["id"]), "jsonl")
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def test_a_manager_deletes_content_and_the_labels_stay(project, imported, api, manager):
    before = label_distribution(project=project)
    target = imported["i1"]
    response = delete_content(api, project, [target.pk])
    assert response.status_code == 200 and response.json() == {"deleted": 1, "already_deleted": []}
    item = Item.objects.get(pk=target.pk)
    assert (item.text, item.meta, item.redacted_text) == ("", {}, None)
    assert item.content_deleted_at is not None and item.status == ItemStatus.COMPLETE
    assert item.external_id == "i1"
    assert Annotation.objects.filter(item=item).count() == 1
    assert label_distribution(project=project) == before
    (entry,) = AccessLog.objects.filter(action="content_delete")
    assert entry.actor == "manager" and entry.detail["reason"] == "data subject request #12"
    assert entry.detail["items"] == 1 and entry.detail["item_ids"] == [target.pk]
    again = delete_content(api, project, [target.pk])
    assert again.json() == {"deleted": 0, "already_deleted": [target.pk]}
    assert AccessLog.objects.filter(action="content_delete").count() == 1


def test_later_snapshots_and_audits_omit_the_deleted_item(project, imported, api):
    assert "i1" in snapshot_ids(api, project)
    delete_content(api, project, [imported["i1"].pk])
    assert snapshot_ids(api, project) == ["i0", "i2", "i3", "i4", "i5"]
    run = audit_run(project)
    assert run.result["items"] == 5
    pii_items = {i.pk for f in run.audit_findings.filter(kind="pii") for i in f.items.all()}
    assert imported["i1"].pk not in pii_items and len(pii_items) == 5


def test_hostile_requests_change_nothing(project, imported, api, members, client_for):
    other_item = Item.objects.create(project=imported["i0"].project, external_id="x", text="t")
    elsewhere = project_create(creator=members["manager"], name="Other", labels=["a"])
    foreign = Item.objects.create(project=elsewhere, external_id="f", text="secret")
    for body in ({"items": [imported["i0"].pk, foreign.pk], "reason": "x"},
                 {"items": [imported["i0"].pk, 2**63], "reason": "x"},
                 {"items": [], "reason": "x"}, {"items": [other_item.pk], "reason": ""},
                 {"items": [other_item.pk], "reason": "x" * 201}, {"items": "all"}, [1, 2]):  # fmt: skip
        response = api.post(f"/api/projects/{project.pk}/delete-content", body, format="json")
        assert response.status_code == 400, body
    for role, status in (("reviewer", 403), ("engineer", 403), ("outsider", 404)):
        response = delete_content(client_for(members[role]), project, [other_item.pk])
        assert response.status_code == status
    assert not Item.objects.filter(content_deleted_at__isnull=False).exists()
    assert not AccessLog.objects.filter(action="content_delete").exists()


def test_retention_deletes_content_older_than_the_setting_and_is_logged(project, imported, api):
    assert api.patch(f"/api/projects/{project.pk}", {"content_retention_days": 30},
                     format="json").status_code == 200  # fmt: skip
    assert api.patch(f"/api/projects/{project.pk}", {"content_retention_days": 0},
                     format="json").status_code == 400  # fmt: skip
    now = timezone.now()
    assert retention_apply(now=now + timedelta(days=29)) == {}
    fresh = Item.objects.create(project=project, external_id="late", text="kept a while")
    Item.objects.filter(pk=fresh.pk).update(created_at=now + timedelta(days=20))
    assert retention_apply(now=now + timedelta(days=31)) == {project.pk: 6}
    assert Item.objects.get(pk=fresh.pk).content_deleted_at is None
    assert set(Item.objects.filter(text="").values_list("external_id", flat=True)) == set(imported)
    entry = AccessLog.objects.get(action="content_delete")
    assert entry.actor == "" and entry.detail["reason"] == "retention: 30 days"
    assert retention_apply(now=now + timedelta(days=31)) == {}  # already done: nothing twice


def test_the_beat_task_and_the_command_apply_retention(project, imported, api, clock):
    api.patch(f"/api/projects/{project.pk}", {"content_retention_days": 1}, format="json")
    assert apply_retention() == {}
    clock.advance(days=2)
    out = StringIO()
    call_command("apply_retention", stdout=out)
    assert f"project {project.pk}: content of 6 items deleted" in out.getvalue()
    assert apply_retention() == {}
    assert Item.objects.filter(content_deleted_at__isnull=False).count() == 6
