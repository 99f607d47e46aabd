"""The project export leaves out what snapshots leave out: items a reviewer excluded from
exports and items whose content was deleted; every other item stays."""

import csv
import io
import json

import pytest

from annotation.exporting import export_rows
from annotation.models import AuditFinding, FindingKind, Item
from annotation.services.audit import finding_resolve
from annotation.services.retention import items_content_delete
from annotation.snapshots.rows import select_items
from annotation.snapshots.spec import spec_parse
from tests.audit_helpers import TEXTS, audited_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def curated(project, members):
    """The audited project with its duplicate group excluded by a reviewer and one item's
    content deleted by a manager."""
    run = audited_project(project, members["manager"])
    duplicates = AuditFinding.objects.get(job=run, kind=FindingKind.DUPLICATE)
    finding_resolve(finding=duplicates, user=members["reviewer"], action="exclude")
    gone = Item.objects.get(project=project, external_id="filler-0")
    assert items_content_delete(project=project, item_ids=[gone.pk], actor=members["manager"],
                                reason="data subject request") == 1  # fmt: skip
    return project


def exported_ids(response, fmt: str) -> list[str]:
    body = b"".join(response.streaming_content).decode()
    if fmt == "jsonl":
        return [json.loads(line)["id"] for line in body.splitlines() if line]
    if fmt == "json":
        return [row["id"] for row in json.loads(body)]
    return [row["id"] for row in csv.DictReader(io.StringIO(body))]


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_excluded_and_content_deleted_items_are_not_exported(curated, members, client_for, fmt):
    response = client_for(members["engineer"]).get(
        f"/api/projects/{curated.pk}/export?format={fmt}"
    )
    assert response.status_code == 200
    ids = exported_ids(response, fmt)
    excluded = set(Item.objects.filter(project=curated, excluded=True)
                   .values_list("external_id", flat=True))  # fmt: skip
    assert excluded == {"same", "same-copy"}
    expected = [ext for ext, _, _ in TEXTS if ext not in excluded and ext != "filler-0"]
    assert sorted(ids) == sorted(expected)
    assert all(row["text"] for row in export_rows(project=curated) if row["id"] != "empty")


def test_the_export_and_a_snapshot_agree_on_which_items_go_out(curated, manager):
    """Both rules in one place each; this keeps them equal (snapshot rows: labeled items)."""
    spec = spec_parse({}, label_names=["ham", "spam"])
    in_snapshot = {i.external_id for i in select_items(project=curated, spec=spec)}
    exported = {row["id"] for row in export_rows(project=curated) if row["annotations"]}
    assert in_snapshot == exported and in_snapshot
