"""Reads behind the data audit: the latest run and its findings."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import Count, Prefetch, QuerySet

from annotation.models import (
    AccessLog,
    Annotation,
    AuditFinding,
    FindingKind,
    FindingStatus,
    Item,
    Job,
    JobKind,
    JobStatus,
    Project,
)

LISTED_MEMBERS = 1000  # items listed per finding (the API's ``items``; the page shows fewer)


def latest_audit_run(*, project: Project) -> Job | None:
    """The newest audit job that finished successfully, or None."""
    return (
        Job.objects.filter(project=project, kind=JobKind.AUDIT, status=JobStatus.SUCCEEDED)
        .order_by("-id")
        .first()
    )


def audit_findings(*, project: Project, kind: str | None = None, status: str | None = None,
                   members: int = LISTED_MEMBERS) -> QuerySet[AuditFinding]:  # fmt: skip
    """Findings, strongest first, each with ``item_count`` and its first ``members`` items by
    id as ``listed_items`` (one query per page for them): a duplicate group can hold a
    million items, and a page of findings must not load them all."""
    first = Prefetch("items", queryset=Item.objects.order_by("pk")[:members],
                     to_attr="listed_items")  # fmt: skip
    findings = (AuditFinding.objects.filter(project=project)
                .annotate(item_count=Count("items")).prefetch_related(first))  # fmt: skip
    if kind:
        findings = findings.filter(kind=kind)
    if status:
        findings = findings.filter(status=status)
    return findings.order_by("-score", "id")


def listed_items(finding: AuditFinding) -> list[Item]:
    """The first items of a finding that ``audit_findings`` read: its prefetch's ``to_attr``,
    a plain attribute the model does not declare."""
    return vars(finding)["listed_items"]


# The spec's names for finding kinds (annotation.snapshots.spec.AUDIT_EXCLUSIONS).
SPEC_KINDS = {
    "duplicates": FindingKind.DUPLICATE, "near_duplicates": FindingKind.NEAR_DUPLICATE,
    "conflicts": FindingKind.CONFLICT, "pii": FindingKind.PII, "outliers": FindingKind.OUTLIER,
    "low_information": FindingKind.LOW_INFORMATION,
}  # fmt: skip
GROUP_KINDS = {FindingKind.DUPLICATE, FindingKind.NEAR_DUPLICATE}


@dataclass
class Curation:
    """What a snapshot leaves out or redacts because of the latest audit run."""

    run_id: int | None = None
    excluded: set[int] = field(default_factory=set)
    excluded_by_kind: dict[str, int] = field(default_factory=dict)
    spans: dict[int, list[dict]] = field(default_factory=dict)

    def lineage(self) -> dict | None:
        if self.run_id is None:
            return None
        return {"run": self.run_id, "excluded_items": len(self.excluded),
                "excluded_by_kind": self.excluded_by_kind,
                "redacted_items": len(self.spans)}  # fmt: skip


def audit_curation(*, project: Project, exclude: Sequence[str], redact_pii: bool) -> Curation:
    """Items the latest audit's findings exclude (a duplicate group keeps its lowest id), and
    the personal-data spans to redact. Findings a reviewer kept count for nothing."""
    run = latest_audit_run(project=project)
    if run is None or not (exclude or redact_pii):
        return Curation(run_id=run.pk if run else None)
    kinds = {SPEC_KINDS[name] for name in exclude}
    curation = Curation(run_id=run.pk)
    findings = (AuditFinding.objects.filter(job=run).exclude(status=FindingStatus.KEPT)
                .prefetch_related("items"))  # fmt: skip
    for finding in findings:
        members = sorted(item.pk for item in finding.items.all())
        if finding.kind in kinds:
            dropped = members[1:] if finding.kind in GROUP_KINDS else members
            new = set(dropped) - curation.excluded
            curation.excluded |= new
            name = finding.get_kind_display()
            curation.excluded_by_kind[name] = curation.excluded_by_kind.get(name, 0) + len(new)
        if redact_pii and finding.kind == FindingKind.PII:
            for span in finding.evidence.get("entities", []):
                curation.spans.setdefault(span["item"], []).append(span)
    return curation


AUDIT_HISTORY = 8  # runs shown in the dashboard's "over time" table


def audit_overview(*, project: Project) -> dict:
    """The dashboard's audit panel: the latest run's numbers, the open findings per kind (what
    is left to review), and the counts of the last runs, oldest first (counts over time)."""
    runs = list(
        Job.objects.filter(project=project, kind=JobKind.AUDIT, status=JobStatus.SUCCEEDED)
        .order_by("-id")
        .values("id", "finished_at", "result")[:AUDIT_HISTORY]
    )
    open_counts = dict(
        AuditFinding.objects.filter(project=project, status=FindingStatus.OPEN)
        .values_list("kind")
        .annotate(n=Count("id"))
    )
    latest = (runs[0]["result"] or {}) if runs else {}
    return {
        "run": runs[0]["id"] if runs else None,
        "finished_at": runs[0]["finished_at"] if runs else None,
        "kinds": [
            {
                "kind": kind,
                "label": label,
                "open": open_counts.get(kind, 0),
                "found": (latest.get("summary") or {}).get(kind, 0),
            }
            for kind, label in FindingKind.choices
        ],  # fmt: skip
        "open": sum(open_counts.values()),
        "duplicate_rate": latest.get("duplicate_rate"),
        "pii_by_type": latest.get("pii_by_type") or {},
        "history": [
            {
                "run": r["id"],
                "finished_at": r["finished_at"],
                "counts": [
                    (r["result"] or {}).get("summary", {}).get(k, 0) for k in FindingKind.values
                ],
            }
            for r in reversed(runs)
        ],  # fmt: skip
    }


def pii_spans(*, item_ids: Sequence[int]) -> dict[int, list[dict]]:
    """Where personal data sits in these items, by item, from their PII findings that were not
    kept (a reviewer who kept one judged it not personal). For showing texts redacted."""
    spans: dict[int, list[dict]] = {}
    links = AuditFinding.items.through.objects.filter(item_id__in=list(item_ids))
    findings = (
        AuditFinding.objects.filter(kind=FindingKind.PII, pk__in=links.values("auditfinding_id"))
        .exclude(status=FindingStatus.KEPT)
        .values_list("evidence", flat=True)
    )
    wanted = set(item_ids)
    for evidence in findings:
        for span in (evidence or {}).get("entities", []):
            if span.get("item") in wanted:
                spans.setdefault(span["item"], []).append(span)
    return spans


def annotation_votes(*, item_ids: Sequence[int]) -> dict[int, list[str]]:
    """Each item's labels as its annotators gave them (distinct, in arrival order): what a
    reviewer compares in a conflict when no final or consensus label exists yet."""
    votes: dict[int, list[str]] = {}
    rows = (Annotation.objects.filter(item_id__in=list(item_ids))
            .order_by("item_id", "created_at", "pk").values_list("item_id", "labels"))  # fmt: skip
    for item_id, labels in rows:
        given = votes.setdefault(item_id, [])
        for name in [labels] if isinstance(labels, str) else labels or []:
            if name not in given:
                given.append(name)
    return votes


def open_finding_count(*, project: Project) -> int:
    """Open findings a person can act on (imbalance findings are about the project as a whole,
    shown on the dashboard, not in the review)."""
    return (
        AuditFinding.objects.filter(project=project, status=FindingStatus.OPEN)
        .exclude(kind=FindingKind.IMBALANCE)
        .count()
    )


# What the access log records (the services that write it name these actions).
ACCESS_ACTIONS = ["snapshot_download", "export_download", "role_change", "project_settings",
                  "pii_view", "content_delete", "finding_keep", "finding_exclude",
                  "finding_merge", "finding_redact"]  # fmt: skip


def access_log_entries(*, project: Project, action: str | None = None) -> QuerySet[AccessLog]:
    """The project's access log, newest first, optionally one action's entries."""
    entries = AccessLog.objects.filter(project_id_logged=project.pk)
    if action:
        entries = entries.filter(action=action)
    return entries.order_by("-id")
