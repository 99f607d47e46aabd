"""Deleting items' content while keeping their labels: on a data subject's request, or when a
project's ``content_retention_days`` have passed since the import.

What goes: the text, its redacted copy, its cached compressed texts, the image file, the
metadata and any user-supplied vector. What stays: the item row (its id and external id), its annotations, review decisions
and final labels, so the project's label statistics, agreement and quality numbers still
count it. ``content_deleted_at`` marks it: snapshots omit it, the audit skips it, and it is
closed so the queue never serves an empty item again. Every deletion is in the access log.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from annotation.models import CompressedText, Item, ItemStatus, Project
from annotation.services.audit import access_log_write

BATCH = 2000
MAX_REASON = 200


def items_content_delete(
    *, project: Project, item_ids: Sequence[int], actor: User | None, reason: str,
    now: datetime | None = None,
) -> int:  # fmt: skip
    """Delete the content of these items of ``project`` (ones already deleted are skipped).

    Returns how many items lost their content. The rows change in one transaction; image
    files are removed after it commits (a failed removal leaves a file no item points to,
    never an item pointing to no file).
    """
    if not reason.strip() or len(reason) > MAX_REASON:
        raise ValidationError({"reason": f"Say why, in 1 to {MAX_REASON} characters."})
    now = now or timezone.now()
    deleted = 0
    images: list[str] = []
    with transaction.atomic():
        for start in range(0, len(item_ids), BATCH):
            chunk = list(item_ids[start : start + BATCH])
            items = Item.objects.select_for_update().filter(
                project=project, pk__in=chunk, content_deleted_at__isnull=True
            )
            ids, files = [], []
            for pk, image in items.values_list("pk", "image"):
                ids.append(pk)
                if image:
                    files.append(image)
            Item.objects.filter(pk__in=ids).update(
                text="", redacted_text=None, image="", meta={}, vector=None,
                content_deleted_at=now, status=ItemStatus.COMPLETE,
            )  # fmt: skip
            CompressedText.objects.filter(item_id__in=ids).delete()
            deleted += len(ids)
            images += files
        if deleted:
            access_log_write(actor=actor, action="content_delete", object_type="project",
                             object_id=project.pk, project_id=project.pk,
                             detail={"reason": reason.strip(), "items": deleted,
                                     "item_ids": list(item_ids)[:1000]})  # fmt: skip
        transaction.on_commit(lambda: _remove_files(images))
    return deleted


def _remove_files(names: list[str]) -> None:
    for name in names:
        if default_storage.exists(name):
            default_storage.delete(name)


def retention_apply(*, now: datetime | None = None) -> dict[int, int]:
    """Delete the content of every item older than its project's retention (daily beat and
    ``manage.py apply_retention``). Returns ``{project id: items whose content went}``."""
    now = now or timezone.now()
    done = {}
    for project in Project.objects.filter(content_retention_days__isnull=False):
        days = project.content_retention_days
        if days is None:  # never: the filter; ruff forbids an assert outside the tests
            continue
        cutoff = now - timedelta(days=days)
        due = list(
            Item.objects.filter(project=project, created_at__lt=cutoff,
                                content_deleted_at__isnull=True)
            .order_by("pk").values_list("pk", flat=True)
        )  # fmt: skip
        if due:
            reason = f"retention: {days} days"
            done[project.pk] = items_content_delete(project=project, item_ids=due, actor=None,
                                                    reason=reason, now=now)  # fmt: skip
    return done
