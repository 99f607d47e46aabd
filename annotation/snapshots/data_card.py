"""The data card every snapshot carries (in its lineage and its Hugging Face README): where the
rows came from, what was left out or redacted and why, the audit's counts, the label
distribution, who labeled (counted, not named), agreement, and the known limitations.

An auditor reads it without access to the app, so it states facts as of the cut: the audit
run the exclusions came from, the findings still open then, and what the audit cannot see.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

from annotation.audit_selectors import Curation, latest_audit_run
from annotation.models import AuditFinding, FindingKind, FindingStatus, Item, Project
from annotation.snapshots.markdown import md_text
from annotation.snapshots.spec import SnapshotSpec

PII_LIMITATION = (
    "Personal data detection is pattern-based (emails, phone numbers, card numbers, IBANs, IP "
    "addresses, national ID formats): names and postal addresses are not detected."
)


def data_card_collect(*, project: Project, spec: SnapshotSpec, stats: dict[str, Any],
                      lineage: dict[str, Any], curation: Curation, redacted_items: int,
                      redacted_types: Counter[str]) -> dict[str, Any]:  # fmt: skip
    """The card as JSON-ready data (``lineage["data_card"]``)."""
    run = latest_audit_run(project=project)
    summary = (run.result or {}).get("summary", {}) if run else {}
    items = Item.objects.filter(project=project)
    annotators = lineage.get("annotators", {})
    guidelines = project.guidelines or ""
    return {
        "sources": [
            {k: b[k] for k in ("file_name", "sha256", "items")}
            for b in lineage.get("import_batches", [])
        ],  # fmt: skip
        "labels": list(project.labels.order_by("position", "id").values("name", "key")),
        "guidelines": {
            "sha256": hashlib.sha256(guidelines.encode()).hexdigest(),
            "characters": len(guidelines),
            "project_updated_at": project.updated_at.isoformat(),
        },  # fmt: skip
        "annotators": {
            "count": len([n for n in annotators if n != "(imported)"]),
            "annotations": sum(annotators.values()),
            "named": spec.annotator_names,
        },  # fmt: skip
        "agreement": lineage.get("agreement", []),
        "label_distribution": stats["labels"],
        "split_label_distribution": stats["split_labels"],
        "audit": None
        if run is None
        else {
            "run": run.pk,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "findings_per_kind": summary,
            "duplicate_rate": (run.result or {}).get("duplicate_rate"),
        },  # fmt: skip
        "excluded": {
            "by_audit": {
                "spec": list(spec.exclude),
                "items_per_kind": curation.excluded_by_kind,
                "run": curation.run_id,
            },  # fmt: skip
            "by_review": items.filter(excluded=True).count(),
            "content_deleted": items.filter(content_deleted_at__isnull=False).count(),
        },
        "redacted": {
            "spec": spec.redact_pii,
            "originals": spec.originals,
            "items": redacted_items,
            "entities_per_type": dict(sorted(redacted_types.items())),
        },  # fmt: skip
        "known_limitations": _limitations(project, spec, run, summary),
    }


def _limitations(project: Project, spec: SnapshotSpec, run, summary: dict) -> list[str]:
    notes = []
    if run is None:
        notes.append("No data audit has run on this project: duplicates, label conflicts and "
                     "personal data were not checked.")  # fmt: skip
    else:
        newest = project.items.order_by("-created_at").values_list("created_at", flat=True)[:1]
        if newest and run.created_at < newest[0]:
            notes.append(f"Items were imported after audit run {run.pk}; they were not audited.")
        open_kinds = Counter(
            AuditFinding.objects.filter(job=run, status=FindingStatus.OPEN)
            .exclude(kind=FindingKind.IMBALANCE)
            .values_list("kind", flat=True)
        )
        if open_kinds:
            listed = ", ".join(f"{n} {FindingKind(k).label.lower()}" for k, n in open_kinds.items())
            notes.append(f"Audit findings nobody had reviewed when this was cut: {listed}.")
        rare = [f.evidence.get("label") for f in AuditFinding.objects.filter(
            job=run, kind=FindingKind.IMBALANCE) if f.evidence.get("label")]  # fmt: skip
        if rare:
            notes.append(f"Labels too rare for a model to learn: {', '.join(rare)}.")
        if summary.get(FindingKind.PII) and not spec.redact_pii:
            notes.append(f"Personal data was found in {summary[FindingKind.PII]} items and this "
                         "snapshot did not ask for redaction (redact_pii is false).")  # fmt: skip
    issues = project.label_issues.filter(status="open").count()
    if issues:
        notes.append(f"{issues} items had open label issues (likely wrong labels).")
    notes.append(PII_LIMITATION)
    return notes


def data_card_markdown(card: dict[str, Any]) -> list[str]:
    """The card's Markdown section for the dataset README."""
    audit = card["audit"]
    excluded, redacted = card["excluded"], card["redacted"]
    lines = ["## Data card", "",
             f"- Sources: {len(card['sources'])} import batches (file names and sha256 in the "
             "lineage below).",
             f"- Labels: {', '.join(md_text(label['name']) for label in card['labels'])}; "
             "guidelines "
             f"sha256 `{card['guidelines']['sha256'][:12]}` ({card['guidelines']['characters']} "
             "characters).",
             f"- Annotators: {card['annotators']['count']}, "
             f"{card['annotators']['annotations']} annotations.",
             "- Audit: " + ("none ran" if audit is None else
                            f"run {audit['run']}, findings per kind {audit['findings_per_kind']}"),
             f"- Excluded by the audit ({', '.join(excluded['by_audit']['spec']) or 'nothing asked'})"
             f": {excluded['by_audit']['items_per_kind'] or 'none'}; by reviewers: "
             f"{excluded['by_review']}; content deleted: {excluded['content_deleted']}.",
             f"- Redacted: {redacted['items']} items, entities per type "
             f"{redacted['entities_per_type'] or 'none'} (redact_pii: "
             f"{str(redacted['spec']).lower()}).",
             "", "### Known limitations", ""]  # fmt: skip
    lines += [f"- {md_text(note)}" for note in card["known_limitations"]]
    return [*lines, ""]
