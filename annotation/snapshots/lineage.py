"""Where a snapshot came from, and what it holds: lineage, statistics, the dataset card."""

import json
from collections import Counter, defaultdict
from typing import Any

from django.apps import apps

from annotation.models import AgreementRecord, ImportBatch, Job, JobKind, JobStatus, Project
from annotation.snapshots.batches import Batch
from annotation.snapshots.data_card import data_card_markdown
from annotation.snapshots.markdown import md_text
from annotation.snapshots.rows import SelectedItem
from annotation.snapshots.spec import SnapshotSpec


class Tally:
    """Counts gathered while the rows stream past: items per batch, annotations per
    annotator, rows per split and label. Memory grows with batches, annotators and
    labels, never with items."""

    def __init__(self) -> None:
        self.items = 0
        self.batches: Counter[int | None] = Counter()
        self.annotators: Counter[str] = Counter()
        self.rows = 0
        self.splits: Counter[str] = Counter()
        self.labels: Counter[str] = Counter()
        self.split_labels: dict[str, Counter[str]] = defaultdict(Counter)
        self.redacted = 0
        self.redacted_types: Counter[str] = Counter()

    def add_item(self, item: SelectedItem) -> None:
        self.items += 1
        if item.redacted_types:
            self.redacted += 1
            self.redacted_types.update(item.redacted_types)
        self.batches[item.batch_id] += 1
        annotators = self.annotators
        for name in item.annotators:  # Counter.update(generator) costs more per item
            annotators[name or "(imported)"] += 1

    def add_row(self, row: dict[str, Any]) -> None:
        self.rows += 1
        self.splits[row["split"]] += 1
        self.labels[row["label"]] += 1
        self.split_labels[row["split"]][row["label"]] += 1

    def add_batch(self, batch: Batch) -> None:
        """``add_row`` for each of the batch's rows, counted per (tail, split) first."""
        self.rows += len(batch)
        pairs = batch.pairs()
        for key, n in Counter(batch.keys()).items():
            tail, split = pairs[key]
            self.splits[split] += n
            self.labels[tail[0]] += n
            self.split_labels[split][tail[0]] += n

    def stats(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "rows": self.rows,
            "splits": dict(sorted(self.splits.items())),
            "labels": dict(sorted(self.labels.items())),
            "split_labels": {
                s: dict(sorted(c.items())) for s, c in sorted(self.split_labels.items())
            },
        }


def lineage_collect(*, project: Project, spec: SnapshotSpec, tally: Tally) -> dict[str, Any]:
    """The spec, the sources of the rows and the project's learning state at cut time."""
    # The learning app's model, read only and by name: annotation never imports learning.
    ModelVersion = apps.get_model("learning", "ModelVersion")
    batches = {b.pk: b for b in ImportBatch.objects.filter(pk__in=[k for k in tally.batches if k])}
    model = ModelVersion.objects.filter(project=project).order_by("-version").first()
    issues_run = (
        Job.objects.filter(project=project, kind=JobKind.LABEL_ISSUES, status=JobStatus.SUCCEEDED)
        .order_by("-finished_at", "-pk")
        .first()
    )
    return {
        "project": {"id": project.pk, "name": project.name},
        "spec": spec.as_dict(),
        "import_batches": [
            {
                "id": pk,
                "file_name": batches[pk].file_name if pk in batches else None,
                "sha256": batches[pk].sha256 if pk in batches else None,
                "items": count,
            }
            for pk, count in sorted(
                tally.batches.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)
            )
        ],
        "annotators": dict(sorted(tally.annotators.items())),
        "model_version": None
        if model is None
        else {
            "id": model.pk,
            "version": model.version,
            "strategy": model.strategy,
            "n_labels": model.n_labels,
            "cv_accuracy": model.cv_accuracy,
            "cv_macro_f1": model.cv_macro_f1,
            "created_at": model.created_at.isoformat(),
        },
        "label_issues_run": None
        if issues_run is None
        else {
            "job": issues_run.pk,
            "finished_at": _iso(issues_run.finished_at),
            "open_issues": project.label_issues.filter(status="open").count(),
        },
        "agreement": _latest_agreement(project),
    }


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _latest_agreement(project: Project) -> list[dict[str, Any]]:
    """The newest project-wide value of every agreement metric."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    recent = AgreementRecord.objects.filter(project=project, scope_key="").order_by("-created_at")
    for row in recent.values("metric", "scope", "value", "n_items", "created_at")[:200]:
        key = (row["metric"], row["scope"])
        if key not in seen:
            seen[key] = row | {"created_at": row["created_at"].isoformat()}
    return list(seen.values())


def dataset_card(
    *, title: str, stats: dict[str, Any], lineage: dict[str, Any], content_hash: str
) -> str:
    """The Markdown body of the Hugging Face README: statistics and lineage."""
    lines = [
        f"# {md_text(title)}",
        "",
        "Exported by Quorum. Rows per split and label:",
        "",
        "| split | rows | " + " | ".join(md_text(label) for label in stats["labels"]) + " |",
        "|---|---|" + "---|" * len(stats["labels"]),
    ]
    for split, count in stats["splits"].items():
        per_label = stats["split_labels"].get(split, {})
        cells = " | ".join(str(per_label.get(label, 0)) for label in stats["labels"])
        lines.append(f"| {split} | {count} | {cells} |")
    lines += [
        "",
        f"Content hash (sha256 of the JSON Lines rows): `{content_hash}`",
        "",
        *(data_card_markdown(lineage["data_card"]) if lineage.get("data_card") else []),
        "## Lineage",
        "",
        "```json",
        json.dumps(lineage, indent=2, default=str),
        "```",
        "",
    ]
    return "\n".join(lines)
