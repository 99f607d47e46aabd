"""Undo of a reviewer's latest review action, logged as a reversal in the audit log.

A reviewer who pressed the wrong key takes it back (``u`` on the review page). Only the
reviewer's own latest action that is not yet undone can be undone, one at a time, newest
first; pressing again undoes the one before. The item, its flag and the reviewer's own
annotation return to the action's ``before``. If the item changed since (someone labeled it,
another review), the undo is refused: restoring the old state would erase their work.

The undo row's ``after["labels_fingerprint"]`` is the fingerprint the review *before* the
undone one left (or ``""``): the label-issues job must treat the item as unreviewed again.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from annotation.models import (
    Annotation,
    IssueStatus,
    Item,
    LabelIssue,
    Project,
    ReviewAction,
    ReviewActionKind,
)
from annotation.services.overlap import item_refresh_status
from annotation.services.review import (
    item_fingerprint,
    labels_changed_on_commit,
    review_state,
)


def last_undoable_action(*, project: Project, reviewer) -> ReviewAction | None:
    """The reviewer's newest action in ``project`` that no undo has reversed yet."""
    actions = ReviewAction.objects.filter(item__project=project, reviewer=reviewer)
    undone = actions.filter(action=ReviewActionKind.UNDO).values_list("after__reverses", flat=True)
    return (
        actions.exclude(action=ReviewActionKind.UNDO)
        .exclude(pk__in=list(undone))
        .order_by("-id")
        .first()
    )


@transaction.atomic
def review_undo(*, project: Project, reviewer) -> ReviewAction:
    """Reverse the reviewer's latest action in ``project`` and log the reversal."""
    target = last_undoable_action(project=project, reviewer=reviewer)
    if target is None:
        raise ValidationError({"action": "There is no review action of yours left to undo."})
    item = Item.objects.select_for_update().select_related("project").get(pk=target.item_id)
    issue = (
        None
        if target.issue_id is None
        else LabelIssue.objects.select_for_update().filter(pk=target.issue_id).first()
    )
    old, after = target.before, target.after
    if old is None or after is None:  # logged without its states (the admin can): none to restore
        raise ValidationError(
            {"action": f"The {target.action} of item {item.external_id} cannot be undone."}
        )
    if item_fingerprint(item) != after.get("labels_fingerprint") or (
        item.status != after.get("status")
    ):
        raise ValidationError(
            {"action": f"Item {item.external_id} changed after your review; it cannot be undone."}
        )
    before = review_state(item, issue)
    item.final_labels = old["final_labels"]
    item.consensus_labels = old["consensus_labels"]
    item.save(update_fields=["final_labels", "consensus_labels"])
    if target.action == ReviewActionKind.RELABEL:
        _restore_own_annotation(item, reviewer, old.get("reviewer_annotation"))
        item = item_refresh_status(item=item, project=item.project)  # recounts annotations
    item.required_overlap, item.status = old["required_overlap"], old["status"]
    item.save(update_fields=["required_overlap", "status"])
    if issue is not None and old.get("issue_status"):
        issue.status = old["issue_status"]
        if issue.status == IssueStatus.OPEN:
            issue.resolved_by, issue.resolved_at = None, None
        issue.save(update_fields=["status", "resolved_by", "resolved_at"])
    logged = ReviewAction.objects.create(
        item=item, issue=issue, job_id=target.job_id, reviewer=reviewer,
        action=ReviewActionKind.UNDO, before=before, after=review_state(item, issue) | _reversal(target),
        note=f"Undid {target.action} #{target.pk}",
    )  # fmt: skip
    if target.action == ReviewActionKind.RELABEL:
        labels_changed_on_commit(item.project_id)
    return logged


def _reversal(target: ReviewAction) -> dict[str, Any]:
    earlier = (
        ReviewAction.objects.filter(item_id=target.item_id, id__lt=target.pk)
        .exclude(action=ReviewActionKind.UNDO)
        .order_by("-id")
        .values_list("after", flat=True)
        .first()
    )
    return {
        "reverses": target.pk,
        "undone_action": target.action,
        "labels_fingerprint": (earlier or {}).get("labels_fingerprint", ""),
    }


def _restore_own_annotation(item: Item, reviewer, saved: dict[str, Any] | None) -> None:
    if saved is None:
        Annotation.objects.filter(item=item, annotator=reviewer).delete()
        return
    Annotation.objects.filter(item=item, annotator=reviewer).update(
        labels=saved["labels"], source=saved["source"]
    )
