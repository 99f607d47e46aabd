"""Selectors for the data lead's dashboard and ``GET /api/projects/{id}/stats``.

Every number is an aggregate query or a read of stored job output (agreement records, model
versions, the latest agreement run's coincidence matrix): opening the dashboard never recomputes
agreement. Values are JSON-ready (no NaN; None where undefined, with a reason). The agreement
reads live in :mod:`annotation.agreement_selectors`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from annotation.agreement_selectors import agreement_history, agreement_latest, latest_confusion
from annotation.label_selectors import predicted_label_counts, training_labels
from annotation.models import (
    Annotation,
    AnnotatorQuality,
    IssueStatus,
    ItemStatus,
    LabelIssue,
    Project,
)
from annotation.stats_registry import section_values

HOURS_SHOWN = 14 * 24
MIN_HOURS = 6  # a short burst still shows its hours around it, not a single dot


def progress_stats(*, project: Project) -> dict:
    """Items done / in progress (labeled at least once, not complete) / left, annotations per
    annotator, and labels per hour with every hour in the span (zeros included)."""
    counts = project.items.aggregate(
        total=Count("id"),
        done=Count("id", filter=Q(status=ItemStatus.COMPLETE)),
        in_progress=Count("id", filter=Q(annotation_count__gt=0) & ~Q(status=ItemStatus.COMPLETE)),
    )
    counts["left"] = counts["total"] - counts["done"] - counts["in_progress"]
    human = Annotation.objects.filter(project=project, annotator__isnull=False)
    per_annotator = list(
        human.values("annotator__username")
        .annotate(n=Count("id"))
        .order_by("-n", "annotator__username")
    )
    return counts | {
        "annotations": human.count(),
        "per_annotator": [
            {"annotator": r["annotator__username"], "annotations": r["n"]} for r in per_annotator
        ],
        "per_hour": labels_per_hour(annotations=human),
    }


def labels_per_hour(*, annotations, now: datetime | None = None) -> list[dict]:
    """``[{"hour", "annotations"}]``, one row per hour from the first labeled hour of the last
    two weeks (at least ``MIN_HOURS`` back) to the current hour: the axis fits the data's
    span, and an hour without labels is a zero, not a gap the line silently bridges."""
    now = (now or timezone.now()).replace(minute=0, second=0, microsecond=0)
    since = now - timedelta(hours=HOURS_SHOWN - 1)
    rows = (
        annotations.filter(created_at__gte=since)
        .annotate(hour=TruncHour("created_at"))
        .values("hour")
        .annotate(n=Count("id"))
        .order_by("hour")
    )
    counts = {row["hour"]: row["n"] for row in rows}
    if not counts:
        return []
    start = min(min(counts), now - timedelta(hours=MIN_HOURS - 1))
    end = max(max(counts), now)
    hours = int((end - start) / timedelta(hours=1)) + 1
    buckets = [start + timedelta(hours=i) for i in range(hours)]
    return [{"hour": hour, "annotations": counts.get(hour, 0)} for hour in buckets]


def label_distribution(*, project: Project) -> dict:
    """Labels of the labeled set (share of labeled items carrying each label, by the one label
    rule, ``annotation.item_label``: what the model trains on) vs the model's predicted labels on
    the unlabeled pool (share of pool items predicted as each, ``predicted_label_counts``)."""
    names = list(project.labels.order_by("position", "id").values_list("name", flat=True))
    given: Counter[str] = Counter(
        name
        for labels in training_labels(project=project, exclude_open_issues=False).labels
        for name in labels
    )
    predicted = predicted_label_counts(project=project)
    names += sorted((set(given) | set(predicted)) - set(names))
    n_given, n_pred = sum(given.values()), sum(predicted.values())
    return {
        "labels": names,
        "labeled": [given[n] for n in names],
        "predicted": [predicted.get(n, 0) for n in names],
        "labeled_share": [round(given[n] / n_given, 4) if n_given else 0 for n in names],
        "predicted_share": [round(predicted.get(n, 0) / n_pred, 4) if n_pred else 0 for n in names],
    }


def annotator_stats(*, project: Project, latest: dict) -> list[dict]:
    """Per annotator: agreement (from the latest run) and quality (from the label-quality job)."""
    quality: dict[str, Mapping[str, Any]] = {
        r["annotator__username"]: r
        for r in AnnotatorQuality.objects.filter(project=project).values(
            "annotator__username", "score", "n_items", "method"
        )
    }
    rows = []
    for name in sorted(set(latest["annotators"]) | set(quality)):
        agree, q = latest["annotators"].get(name, {}), quality.get(name, {})
        rows.append(
            {
                "annotator": name,
                "kappa": agree.get("cohen_kappa", {}).get("value"),
                "consensus_agreement": agree.get("consensus_agreement", {}).get("value"),
                "quality": q.get("score"),
                "quality_method": q.get("method"),
            }
        )
    return rows


def learning_curve(*, project: Project) -> list[Mapping[str, Any]]:
    return list(
        project.model_versions.order_by("version").values(
            "version",
            "n_labels",
            "cv_accuracy",
            "cv_macro_f1",
            "eval_macro_f1",
            "eval_n",
            "created_at",
        )
    )


def project_stats(*, project: Project) -> dict:
    """Everything the dashboard shows, in one JSON-ready dict."""
    latest = agreement_latest(project=project)
    return {
        "progress": progress_stats(project=project),
        "distribution": label_distribution(project=project),
        "agreement": latest,
        "agreement_history": agreement_history(project=project)["series"],
        "annotators": annotator_stats(project=project, latest=latest),
        "confusion": latest_confusion(project=project),
        "learning_curve": learning_curve(project=project),
        "open_issues": LabelIssue.objects.filter(project=project, status=IssueStatus.OPEN).count(),
    } | section_values(project=project)
