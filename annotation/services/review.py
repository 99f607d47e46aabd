"""The data lead's review of flagged labels, and its audit log.

Four actions on an item, each written to the audit log (``ReviewAction``) with the item's labels
before and after and the run that flagged it:

* ``accept``: the given label (a multi-label project: the given label set) is right. It becomes the item's final label; the flag closes.
* ``relabel``: the reviewer's label becomes ``Item.final_labels``, recorded as the reviewer's
  ``Annotation`` with source ``review`` (if the reviewer had labeled the item as an annotator,
  that annotation turns into the review one; the audit log keeps the old label).
* ``dismiss``: the flag was not useful; no label changes.
* ``requeue``: send back for one more annotation. ``required_overlap`` becomes
  ``annotation_count + 1`` and the item reopens, even beyond ``project.max_overlap``: that
  setting bounds the *automatic* adaptive overlap, a reviewer's explicit request overrides it.
  A reviewer's earlier final label is cleared, or the item would stay complete.

A fifth entry, ``undo``, reverses a reviewer's latest action (``review_undo``): the item, its
flag and the reviewer's annotation go back to the action's ``before``; the log keeps both
rows, the undo pointing at the one it reverses (``after["reverses"]``).

The log's ``after["labels_fingerprint"]`` is what stops the label-issues job from flagging the item
again: it skips items whose labels still have the fingerprint a reviewer left behind.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from annotation.jobs.triggers import labels_changed
from annotation.models import (
    Annotation,
    AnnotationSource,
    IssueStatus,
    Item,
    ItemStatus,
    LabelIssue,
    ReviewAction,
    ReviewActionKind,
)
from annotation.services.overlap import item_refresh_status

# What a request may ask for; ``undo`` is logged by review_undo and has its own endpoint.
# Read with the requested action, a plain str (the members are str too).
_STATUS_AFTER: dict[str, IssueStatus] = {
    ReviewActionKind.ACCEPT: IssueStatus.ACCEPTED,
    ReviewActionKind.RELABEL: IssueStatus.RELABELED,
    ReviewActionKind.DISMISS: IssueStatus.DISMISSED,
    ReviewActionKind.REQUEUE: IssueStatus.REQUEUED,
}
REQUESTABLE_ACTIONS = tuple(_STATUS_AFTER)
IMPORT_KEY = "import"  # the annotator key of imported labels (they have no annotator)


def labels_fingerprint(annotations: Mapping[Any, list[str]], final_labels: list[str] | None) -> str:
    """A stable hash of an item's labels: ``{annotator key: labels}`` plus the final labels.

    Review annotations are not passed in: the reviewer's decision is ``final_labels``.
    """
    canonical = {
        "annotations": sorted([str(k), sorted(v)] for k, v in annotations.items()),
        "final": sorted(final_labels) if final_labels is not None else None,
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def item_fingerprint(item: Item) -> str:
    rows = (
        Annotation.objects.filter(item=item)
        .exclude(source=AnnotationSource.REVIEW)
        .values_list("annotator_id", "labels")
    )
    given = {(a if a is not None else IMPORT_KEY): labels for a, labels in rows}
    return labels_fingerprint(given, item.final_labels)


def review_state(item: Item, issue: LabelIssue | None) -> dict[str, Any]:
    """What the audit log keeps before and after an action: enough to undo it."""
    return {
        "final_labels": item.final_labels,
        "consensus_labels": item.consensus_labels,
        "given_label": issue.given_label if issue else None,
        "given_labels": issue.given_labels if issue else None,
        "issue_status": issue.status if issue else None,
        "required_overlap": item.required_overlap,
        "status": item.status,
        "labels_fingerprint": item_fingerprint(item),
    }


def _check_labels(item: Item, labels: list[str] | None) -> list[str]:
    names = set(item.project.labels.values_list("name", flat=True))
    labels = list(dict.fromkeys(labels or []))
    if not labels:
        raise ValidationError({"label": "Relabel needs a label."})
    unknown = [name for name in labels if name not in names]
    if unknown:
        raise ValidationError({"label": f"Unknown label(s): {', '.join(unknown)}."})
    if not item.project.multi_label and len(labels) != 1:
        raise ValidationError({"label": "This project takes exactly one label per item."})
    return labels


@transaction.atomic
def review_item(
    *,
    item: Item,
    reviewer,
    action: str,
    label: str | None = None,
    labels: list[str] | None = None,
    note: str = "",
) -> ReviewAction:
    """Apply one review action to ``item`` and log it. See the module docstring."""
    if action not in REQUESTABLE_ACTIONS:
        raise ValidationError(
            {"action": f"Unknown action {action!r}; one of {', '.join(REQUESTABLE_ACTIONS)}."}
        )
    if label is not None:
        labels = [label]
    item = Item.objects.select_for_update().select_related("project").get(pk=item.pk)
    issue = (
        LabelIssue.objects.select_for_update()
        .filter(item=item, status=IssueStatus.OPEN)
        .order_by("-job_id")
        .first()
    )
    if issue is None and action in (ReviewActionKind.ACCEPT, ReviewActionKind.DISMISS):
        raise ValidationError({"action": f"Nothing to {action}: the item has no open flag."})
    new_labels = _check_labels(item, labels) if action == ReviewActionKind.RELABEL else []
    before = review_state(item, issue) | {"reviewer_annotation": _own_annotation(item, reviewer)}
    if action == ReviewActionKind.ACCEPT and issue is not None:  # None: refused above
        item.final_labels = list(issue.given_labels)  # the whole set (multi-label)
    elif action == ReviewActionKind.RELABEL:
        item.final_labels = new_labels
        _save_review_annotation(item, reviewer, new_labels)
    elif action == ReviewActionKind.REQUEUE:
        item.final_labels = None
        item.required_overlap = item.annotation_count + 1
    item.save(update_fields=["final_labels", "required_overlap"])
    item = item_refresh_status(item=item, project=item.project)
    if action == ReviewActionKind.REQUEUE:
        # item_refresh_status clamps to max_overlap; the reviewer asked for one more label.
        item.required_overlap = item.annotation_count + 1
        item.status = ItemStatus.OPEN
        item.save(update_fields=["required_overlap", "status"])
    if issue is not None:
        issue.status = _STATUS_AFTER[action]
        issue.resolved_by, issue.resolved_at = reviewer, timezone.now()
        issue.save(update_fields=["status", "resolved_by", "resolved_at"])
    logged = ReviewAction.objects.create(
        item=item, issue=issue, job_id=issue.job_id if issue else None, reviewer=reviewer,
        action=action, before=before, after=review_state(item, issue), note=note[:500],
    )  # fmt: skip
    if action == ReviewActionKind.RELABEL:
        labels_changed_on_commit(item.project_id)
    return logged


def _own_annotation(item: Item, reviewer) -> dict[str, Any] | None:
    """The reviewer's own annotation of ``item`` (a relabel overwrites it; undo restores it)."""
    row = Annotation.objects.filter(item=item, annotator=reviewer).values("labels", "source")
    return dict(row[0]) if row else None


def _save_review_annotation(item: Item, reviewer, labels: list[str]) -> None:
    Annotation.objects.update_or_create(
        item=item, annotator=reviewer,
        defaults={"project_id": item.project_id, "labels": labels,
                  "source": AnnotationSource.REVIEW},
    )  # fmt: skip


def labels_changed_on_commit(project_id: int) -> None:
    transaction.on_commit(lambda: labels_changed(project_id=project_id))
