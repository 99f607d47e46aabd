"""The audit job on a small project: what it finds, what acting on a finding does, and the log."""

import pytest

from annotation.models import (
    AccessLog,
    AuditFinding,
    FindingKind,
    FindingStatus,
    Item,
    Job,
    JobKind,
)
from annotation.services.audit import finding_resolve
from learning.services.audit import audit_job_handler
from tests.audit_helpers import TEXTS, audited_project


@pytest.fixture
def audited(project, make_user):
    return audited_project(project, make_user("audit-annotator"))


def members(finding) -> set[str]:
    return set(finding.items.values_list("external_id", flat=True))


def test_the_audit_finds_duplicates_conflicts_pii_and_empty_items(audited):
    found = {kind: list(AuditFinding.objects.filter(job=audited, kind=kind))
             for kind in FindingKind.values}  # fmt: skip
    assert [members(f) for f in found["duplicate"]] == [{"same", "same-copy"}]
    assert [members(f) for f in found["near_duplicate"]] == [{"near-a", "near-b"}]
    assert {frozenset(members(f)) for f in found["conflict"]} == {
        frozenset({"same", "same-copy"}),
        frozenset({"near-a", "near-b"}),
    }
    (pii,) = found["pii"]
    assert members(pii) == {"pii"}
    assert sorted(e["type"] for e in pii.evidence["entities"]) == ["email", "phone"]
    assert any(f.evidence["reason"] == "empty" and members(f) == {"empty"}
               for f in found["low_information"])  # fmt: skip
    summary = audited.result["summary"]
    assert summary["duplicate"] == 1 and summary["pii"] == 1
    assert audited.result["pii_by_type"] == {"phone": 1, "email": 1}
    assert audited.result["duplicate_rate"] == pytest.approx(4 / len(TEXTS), abs=1e-4)


def test_a_second_run_replaces_open_findings_and_keeps_resolved_ones(audited, project, manager):
    duplicate = AuditFinding.objects.get(job=audited, kind="duplicate")
    finding_resolve(finding=duplicate, user=manager, action="keep")
    again = Job.objects.create(project=project, kind=JobKind.AUDIT, status="running")
    audit_job_handler(again, lambda fraction: None)
    assert AuditFinding.objects.filter(status="open", job=audited).count() == 0
    assert AuditFinding.objects.get(pk=duplicate.pk).status == FindingStatus.KEPT


def test_merge_keeps_one_item_with_the_group_label_and_excludes_the_rest(audited, manager):
    near = AuditFinding.objects.get(job=audited, kind="near_duplicate")
    keep = Item.objects.get(external_id="near-b")
    finding_resolve(finding=near, user=manager, action="merge", keep_item=keep.pk)
    keep.refresh_from_db()
    assert keep.final_labels == ["ham"] and not keep.excluded  # a tie goes to label order
    assert Item.objects.get(external_id="near-a").excluded
    entry = AccessLog.objects.get(action="finding_merge")
    assert (entry.actor, entry.object_id) == ("manager", str(near.pk))


def test_redaction_applies_the_spans_the_audit_found(audited, manager):
    pii = AuditFinding.objects.get(job=audited, kind="pii")
    finding_resolve(finding=pii, user=manager, action="redact")
    item = Item.objects.get(external_id="pii")
    assert item.redacted_text == "Call me on [PHONE] or mail [EMAIL]"
    assert item.text.startswith("Call me on +44")  # the original stays


def test_actions_that_do_not_fit_the_finding_are_refused(audited, manager):
    from django.core.exceptions import ValidationError

    pii = AuditFinding.objects.get(job=audited, kind="pii")
    with pytest.raises(ValidationError):
        finding_resolve(finding=pii, user=manager, action="merge")
    duplicate = AuditFinding.objects.get(job=audited, kind="duplicate")
    with pytest.raises(ValidationError):
        finding_resolve(finding=duplicate, user=manager, action="redact")
    finding_resolve(finding=duplicate, user=manager, action="exclude")
    with pytest.raises(ValidationError):
        finding_resolve(finding=duplicate, user=manager, action="keep")


def test_the_api_lists_findings_by_kind_for_reviewers_only(audited, project, members, client_for):
    reviewer = client_for(members["reviewer"])
    body = reviewer.get(f"/api/projects/{project.pk}/audit?kind=pii").json()
    assert body["run"]["id"] == audited.pk and body["summary"]["pii"] == 1
    (finding,) = body["findings"]
    assert finding["items"][0]["external_id"] == "pii"
    assert {e["type"] for e in finding["evidence"]["entities"]} == {"phone", "email"}
    assert (
        client_for(members["annotator"]).get(f"/api/projects/{project.pk}/audit").status_code == 403
    )
    assert (
        client_for(members["outsider"]).get(f"/api/projects/{project.pk}/audit").status_code == 404
    )
    resolved = reviewer.post(f"/api/findings/{finding['id']}/resolve", {"action": "keep"},
                             format="json")  # fmt: skip
    assert resolved.status_code == 200 and resolved.json()["status"] == "kept"
    engineer = client_for(members["engineer"])
    assert engineer.post(f"/api/findings/{finding['id']}/resolve", {"action": "keep"},
                         format="json").status_code == 403  # fmt: skip


def test_a_snapshot_leaves_out_and_redacts_what_the_spec_names_with_the_audit_in_lineage(
    audited, project, manager, settings, tmp_path
):
    import json

    from annotation.jobs.runner import job_execute
    from annotation.services.snapshots import snapshot_create, snapshot_file

    settings.QUORUM_EXPORT_DIR = tmp_path

    def cut(**spec):
        snapshot = snapshot_create(project=project, spec=spec, user=manager, enqueue=False)
        job_execute(job_id=snapshot.job_id, task_id="test")
        snapshot.refresh_from_db()
        lines = snapshot_file(snapshot, "jsonl").read_text(encoding="utf-8").splitlines()
        return snapshot, {row["id"]: row for row in map(json.loads, lines)}

    _, everything = cut()
    assert {"same", "same-copy", "near-a", "near-b", "pii"} <= set(everything)
    snapshot, curated = cut(exclude=["duplicates", "near_duplicates"], redact_pii=True)
    assert "same" in curated and "same-copy" not in curated  # a group keeps its lowest id
    assert "near-a" in curated and "near-b" not in curated
    assert curated["pii"]["text"] == "Call me on [PHONE] or mail [EMAIL]"
    assert snapshot.lineage["audit"] == {
        "run": audited.pk, "excluded_items": 2, "redacted_items": 1,
        "excluded_by_kind": {"Exact duplicates": 1, "Near-duplicates": 1},
    }  # fmt: skip
    Item.objects.filter(external_id="pii").update(excluded=True)
    _, after_exclusion = cut()
    assert "pii" not in after_exclusion  # a reviewer's exclusion holds for every snapshot


def test_a_spec_names_only_known_exclusions(project, api):
    response = api.post(f"/api/projects/{project.pk}/snapshots", {"exclude": ["typos"]},
                        format="json")  # fmt: skip
    assert response.status_code == 400 and "exclude" in response.json()


def test_image_projects_group_exact_copies_and_resized_near_copies(
    make_user, manager, settings, tmp_path
):
    import io

    import numpy as np
    from django.core.files.base import ContentFile
    from PIL import Image

    from annotation.services.projects import project_create

    settings.MEDIA_ROOT = tmp_path
    project = project_create(creator=manager, name="pics", labels=["a", "b"], data_type="image")
    rng = np.random.default_rng(0)

    def png(pixels: np.ndarray, size: int) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(pixels).resize((size, size)).save(buffer, format="PNG")
        return buffer.getvalue()

    base, other = ((rng.random((16, 16)) * 255).astype(np.uint8) for _ in range(2))
    for ext, content in [("orig", png(base, 64)), ("copy", png(base, 64)),
                         ("smaller", png(base, 48)), ("other", png(other, 64))]:  # fmt: skip
        item = Item(project=project, external_id=ext)
        item.image.save(f"{ext}.png", ContentFile(content), save=True)
    job = Job.objects.create(project=project, kind=JobKind.AUDIT, status="running")
    audit_job_handler(job, lambda fraction: None)
    kinds = {f.kind: members(f) for f in AuditFinding.objects.filter(job=job)}
    assert kinds["duplicate"] == {"orig", "copy"}
    assert kinds["near_duplicate"] == {"orig", "copy", "smaller"}
