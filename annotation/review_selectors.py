"""Read-only queries for the review queue, the audit log and annotator quality.

Everything here shows other people's labels: callers check the role first (``CAN_REVIEW``).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from annotation.models import (
    AnnotatorQuality,
    IssueStatus,
    Item,
    Job,
    JobKind,
    JobStatus,
    LabelIssue,
    Project,
    ReviewAction,
)
from annotation.services.overlap import item_agreement


def label_issues_for_project(
    *, project: Project, label: str | None = None, status: str | None = None
) -> QuerySet[LabelIssue]:
    """Flagged items, most severe (lowest label quality) first.

    ``label`` matches the given or the suggested label (a data lead checking one label wants
    both directions of confusion); ``status`` is one of ``IssueStatus``.
    """
    issues = (
        LabelIssue.objects.filter(project=project)
        .select_related("item__project")  # item_label_summary needs multi_label
        .prefetch_related("item__annotations__annotator")  # item_label_summary, per page
    )
    if label:
        issues = issues.filter(
            _names_label("given_label", label) | _names_label("suggested_label", label)
        )
    if status:
        issues = issues.filter(status=status)
    return issues.order_by("quality", "id")


def _names_label(field: str, label: str) -> Q:
    """``field`` (a label, or a multi-label set shown as "a, b, c") includes ``label``.

    Text matching rather than a JSON lookup on the ``*_labels`` lists, which SQLite lacks.
    """
    sep = ", "
    return (
        Q(**{field: label})
        | Q(**{f"{field}__startswith": label + sep})
        | Q(**{f"{field}__endswith": sep + label})
        | Q(**{f"{field}__contains": sep + label + sep})
    )


def open_issue_count(*, project: Project) -> int:
    return LabelIssue.objects.filter(project=project, status=IssueStatus.OPEN).count()


def item_label_summary(*, item: Item) -> dict[str, Any]:
    """Each annotator's label on the item (with usernames: reviewers only) and their agreement."""
    rows = sorted(item.annotations.all(), key=lambda a: (a.created_at, a.pk))  # prefetched
    annotations = [
        {
            "annotator": a.annotator.username if a.annotator else None,
            "source": a.source,
            "labels": a.labels,
        }
        for a in rows
    ]
    label_sets = [tuple(sorted(a["labels"])) for a in annotations if a["source"] != "review"]
    return {
        "annotations": annotations,
        "agreement": item_agreement(label_sets, multi_label=item.project.multi_label)
        if label_sets
        else None,
        "n_annotations": len(label_sets),
    }


def audit_log_for_item(*, item: Item) -> QuerySet[ReviewAction]:
    """The item's review actions, newest first."""
    return ReviewAction.objects.filter(item=item).select_related("reviewer").order_by("-id")


def annotator_quality_for_project(*, project: Project) -> QuerySet[AnnotatorQuality]:
    """Annotators' quality scores, best first, with the number of items each rests on."""
    return (
        AnnotatorQuality.objects.filter(project=project)
        .select_related("annotator")
        .order_by("-score", "annotator__username")
    )


def latest_issue_search(*, project: Project) -> dict[str, Any] | None:
    """The newest finished label-issue run: when, what its gate saw and decided
    (``learning.issue_gate``), and how many it flagged; None before the first run."""
    job = (
        Job.objects.filter(project=project, kind=JobKind.LABEL_ISSUES, status=JobStatus.SUCCEEDED)
        .order_by("-id")
        .first()
    )
    if job is None:
        return None
    result = job.result or {}
    return {"job": job.pk, "finished_at": job.finished_at, "flagged": result.get("flagged", 0),
            "held_back": result.get("mild_doubts_not_flagged", 0),
            "gate": result.get("gate") or {}}  # fmt: skip
