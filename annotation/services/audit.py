"""Writing audit findings, acting on them, and the access log.

A run's findings replace the open findings of earlier runs (the newest audit's view wins);
findings someone acted on stay as history. Acting on a finding is a reviewer's or manager's
decision, recorded on the finding and in the access log:

- ``keep``: nothing changes; the finding is closed.
- ``exclude``: its items are left out of snapshots and exports.
- ``merge`` (duplicate groups): one item stays, the others are excluded, and the one kept
  takes the group's label by the one label rule (``annotation.item_label``) over every
  member's votes, as a reviewer's final label.
- ``redact`` (personal data): the item gets a redacted copy of its text, which everyone but
  managers sees from then on; the original stays for managers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from annotation.item_label import decide_label
from annotation.models import (
    AccessLog,
    Annotation,
    AnnotationSource,
    AuditFinding,
    FindingKind,
    FindingStatus,
    Item,
    Job,
)
from annotation.redaction import redact_spans

ACTIONS = {
    "keep": FindingStatus.KEPT,
    "exclude": FindingStatus.EXCLUDED,
    "merge": FindingStatus.MERGED,
    "redact": FindingStatus.REDACTED,
}
MERGEABLE = {FindingKind.DUPLICATE, FindingKind.NEAR_DUPLICATE, FindingKind.CONFLICT}
WRITE_BATCH = 2000
LOGGED_ITEMS = 1000  # item ids an access-log entry lists (a larger group adds its count)


@dataclass
class FindingDraft:
    """A finding before it is written: its kind, item ids, score and evidence."""

    kind: str
    item_ids: Sequence[int]
    score: float
    evidence: dict[str, Any] = field(default_factory=dict)


def findings_replace(*, job: Job, drafts: Sequence[FindingDraft]) -> int:
    """Write a run's findings in one transaction; an earlier attempt's rows go first."""
    with transaction.atomic():
        AuditFinding.objects.filter(project=job.project, status=FindingStatus.OPEN).delete()
        AuditFinding.objects.filter(job=job).delete()
        rows = AuditFinding.objects.bulk_create(
            [
                AuditFinding(
                    project=job.project,
                    job=job,
                    kind=d.kind,
                    score=round(d.score, 4),
                    evidence=d.evidence,
                )
                for d in drafts
            ],  # fmt: skip
            batch_size=WRITE_BATCH,
        )
        links = [
            AuditFinding.items.through(auditfinding_id=row.pk, item_id=item_id)
            for row, draft in zip(rows, drafts, strict=True)
            for item_id in draft.item_ids
        ]
        AuditFinding.items.through.objects.bulk_create(links, batch_size=WRITE_BATCH)
    return len(rows)


@transaction.atomic
def finding_resolve(
    *, finding: AuditFinding, user: User, action: str, keep_item: int | None = None
) -> AuditFinding:
    """Act on a finding (``keep``, ``exclude``, ``merge`` or ``redact``)."""
    if action not in ACTIONS:
        raise ValidationError(
            {"action": f"Unknown action {action!r}; one of {', '.join(ACTIONS)}."}
        )
    # The row is locked and its status read again: two reviewers who loaded the same open
    # finding must not both act on it (the second would exclude or merge a kept group).
    current = (AuditFinding.objects.select_for_update().filter(pk=finding.pk)
               .values_list("status", flat=True).first())  # fmt: skip
    if current is None:  # a newer audit run replaced the open findings meanwhile
        raise ValidationError({"action": "This finding is gone: a newer audit replaced it."})
    if current != FindingStatus.OPEN:
        finding.status = current
        raise ValidationError({"action": f"This finding was already resolved ({finding.status})."})
    # A duplicate group can hold a million items: they are locked and counted by id, and every
    # write names them by a subquery (a list of ids would pass PostgreSQL's 65,535 parameters).
    members = Item.objects.filter(audit_findings=finding)
    ids = list(members.select_for_update().order_by("pk").values_list("pk", flat=True))
    if action == "exclude":
        members.update(excluded=True)
    elif action == "merge":
        _merge(finding, members, ids, keep_item)
    elif action == "redact":
        _redact(finding, members)
    finding.status, finding.resolved_by, finding.resolved_at = ACTIONS[action], user, timezone.now()
    finding.save(update_fields=["status", "resolved_by", "resolved_at"])
    access_log_write(actor=user, action=f"finding_{action}", object_type="audit_finding",
                     object_id=finding.pk, project_id=finding.project_id,
                     detail={"kind": finding.kind, "items": ids[:LOGGED_ITEMS],
                             **({"item_count": len(ids)} if len(ids) > LOGGED_ITEMS else {})})  # fmt: skip
    return finding


def _merge(finding: AuditFinding, members: QuerySet[Item], ids: list[int],
           keep_item: int | None) -> None:  # fmt: skip
    if finding.kind not in MERGEABLE:
        raise ValidationError({"action": "Only duplicate groups can be merged."})
    if keep_item is not None and keep_item not in set(ids):
        raise ValidationError({"keep_item": "The item to keep must be one of the finding's items."})
    # By default the most-annotated item stays (the lowest id among equals).
    kept = keep_item or members.order_by("-annotation_count", "pk").values_list("pk", flat=True)[0]
    project = finding.project
    order = list(project.labels.order_by("position", "id").values_list("name", flat=True))
    votes = Annotation.objects.filter(item__audit_findings=finding).exclude(
        source=AnnotationSource.REVIEW
    )
    finals = list(islice((f for f in members.exclude(final_labels=None).order_by("pk")
                          .values_list("final_labels", flat=True).iterator() if f), 2))  # fmt: skip
    decision = decide_label(final=finals[0] if len(finals) == 1 else None, consensus=None,
                            votes=votes.values_list("labels", flat=True),
                            multi_label=project.multi_label, order=order)  # fmt: skip
    if decision.labels:
        Item.objects.filter(pk=kept).update(final_labels=list(decision.labels))
    members.exclude(pk=kept).update(excluded=True)
    finding.evidence = {**finding.evidence, "kept_item": kept, "label": list(decision.labels)}
    finding.save(update_fields=["evidence"])


def _redact(finding: AuditFinding, members: QuerySet[Item]) -> None:
    """Apply the spans the audit recorded (``evidence["entities"]``) to each item's text."""
    if finding.kind != FindingKind.PII:
        raise ValidationError({"action": "Only personal-data findings can be redacted."})
    for item in members.only("pk", "text"):
        spans = [e for e in finding.evidence.get("entities", []) if e.get("item") == item.pk]
        Item.objects.filter(pk=item.pk).update(redacted_text=redact_spans(item.text, spans))


def access_log_write(*, actor: User | None, action: str, object_type: str,
                     object_id: Any = "", project_id: int | None = None,
                     detail: dict | None = None) -> AccessLog:  # fmt: skip
    """Append one entry to the access log (the only way anything writes it)."""
    return AccessLog.objects.create(
        actor_id=getattr(actor, "pk", None), actor=getattr(actor, "username", "") or "",
        project_id_logged=project_id, action=action, object_type=object_type,
        object_id=str(object_id), detail=detail or {},
    )  # fmt: skip
