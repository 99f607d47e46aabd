"""Reads behind the annotator's queue: candidate items, held leases, history, progress.

The queue's order: an item that has started collecting labels comes before any fresh
item (more labels first), so items waiting for a second opinion (overlap, the agreement
sample, adaptive overlap, a reviewer's requeue) are completed before new ones are started;
among items with as many labels, the active-learning priority decides, then the fallback
order. Active learning thus decides which items to *start*.

The candidate query is the labeling hot path. It walks the partial index of open items
(``item_open_queue_idx``: project, -annotation_count, -priority, sequence, id WHERE open) in
queue order and stops at the first row that passes the per-row checks, so its cost depends
on how many items at the head of the queue this annotator cannot take (their own labels and
skips, other people's leases), not on project size. One annotator alone on an overlap-2
project walks past every item they labeled that still waits for its second label.
"""

from datetime import datetime
from functools import lru_cache

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import QuerySet

from annotation.models import Annotation, Assignment, Item, ItemStatus, Label, Project, Skip
from annotation.rawsql import fetch_instance, field_value, model_columns

QUEUE_ORDER = ("-annotation_count", "-priority", "sequence", "id")
# Item columns the queue never shows nor needs (embeddings can be kilobytes of JSON).
LARGE_ITEM_FIELDS = ("vector", "consensus_labels", "redacted_text")


def queue_head(
    *, project: Project, annotator: AbstractBaseUser, now: datetime, exclude_ids=(), lock: bool
) -> Item | None:
    """The first open item, in queue order, that this annotator may be given; or None.

    An item qualifies when the annotator has neither labeled nor skipped it and
    its annotations plus the unexpired leases of other annotators leave room
    under its ``required_overlap``. With ``lock`` (inside a transaction) the row
    is taken with ``FOR UPDATE SKIP LOCKED`` where the database has it; callers
    re-check the lease count once the lock is held, because this statement's
    snapshot may predate a lease committed by whoever held the lock before.

    Hand-written SQL, as the hottest statement of the labeling path: the ORM spent
    more CPU building it than PostgreSQL spent running it, and the open status is
    a literal so that a prepared (generic) plan still matches the partial index
    ``item_open_queue_idx``.
    """
    sql = _queue_head_sql(connection.vendor, exclude_count=len(exclude_ids), lock=lock)
    stamp = connection.ops.adapt_datetimefield_value(now)
    params = [project.pk, annotator.pk, annotator.pk, stamp, annotator.pk, *exclude_ids]
    return fetch_instance(Item, sql, params, skip=LARGE_ITEM_FIELDS)


@lru_cache(maxsize=64)
def _queue_head_sql(vendor: str, *, exclude_count: int, lock: bool) -> str:
    quote = connection.ops.quote_name
    item, annotation, skip, lease = (quote(m._meta.db_table)
                                     for m in (Item, Annotation, Skip, Assignment))  # fmt: skip
    columns = model_columns(Item, skip=LARGE_ITEM_FIELDS, alias="i")
    open_status = _open_status()
    excluded = f"AND i.id NOT IN ({', '.join(['%s'] * exclude_count)})" if exclude_count else ""
    locking = ""
    if lock and connection.features.has_select_for_update_skip_locked:
        locking = "FOR UPDATE SKIP LOCKED"
    sql = f"""
        SELECT {columns} FROM {item} i
        WHERE i.project_id = %s AND i.status = '{open_status}'
          AND i.annotation_count < i.required_overlap
          AND NOT EXISTS (SELECT 1 FROM {annotation} a
                          WHERE a.item_id = i.id AND a.annotator_id = %s)
          AND NOT EXISTS (SELECT 1 FROM {skip} s WHERE s.item_id = i.id AND s.annotator_id = %s)
          AND i.required_overlap > i.annotation_count + (
              SELECT COUNT(*) FROM {lease} l
              WHERE l.item_id = i.id AND l.expires_at > %s AND l.annotator_id <> %s)
          {excluded}
        ORDER BY i.annotation_count DESC, i.priority DESC, i.sequence ASC, i.id ASC
        LIMIT 1 {locking}"""
    return sql


def held_lease(
    *, project: Project, annotator: AbstractBaseUser, now: datetime, exclude_ids=()
) -> Assignment | None:
    """The annotator's oldest unexpired lease on a still-open item, with the item.

    Hand-written SQL like ``queue_head``: it runs before every ``next``.
    """
    sql = _held_lease_sql(connection.vendor, exclude_count=len(exclude_ids))
    stamp = connection.ops.adapt_datetimefield_value(now)
    params = [project.pk, annotator.pk, stamp, *exclude_ids]
    lease_columns = ("lease_id", "lease_created_at", "lease_expires_at")
    item = fetch_instance(Item, sql, params, skip=LARGE_ITEM_FIELDS, extra=lease_columns)
    if item is None:
        return None
    return Assignment(
        id=item.lease_id, item=item, annotator=annotator, project=project,
        created_at=field_value(Assignment, "created_at", item.lease_created_at),
        expires_at=field_value(Assignment, "expires_at", item.lease_expires_at),
    )  # fmt: skip


@lru_cache(maxsize=64)
def _held_lease_sql(vendor: str, *, exclude_count: int) -> str:
    quote = connection.ops.quote_name
    item, lease = quote(Item._meta.db_table), quote(Assignment._meta.db_table)
    columns = model_columns(Item, skip=LARGE_ITEM_FIELDS, alias="i")
    excluded = (
        f"AND l.item_id NOT IN ({', '.join(['%s'] * exclude_count)})" if exclude_count else ""
    )
    return f"""
        SELECT {columns}, l.id AS lease_id, l.created_at AS lease_created_at,
               l.expires_at AS lease_expires_at
        FROM {lease} l JOIN {item} i ON i.id = l.item_id
        WHERE l.project_id = %s AND l.annotator_id = %s AND l.expires_at > %s
          AND i.status = '{_open_status()}' {excluded}
        ORDER BY l.created_at ASC, l.id ASC
        LIMIT 1"""


def _open_status() -> str:
    status = ItemStatus.OPEN.value
    if not status.isalnum():  # written into SQL as a literal (an assert would vanish under -O)
        raise ValueError(f"item status {status!r} cannot be an SQL literal")
    return status


def item_locked(item_id: int) -> Item:
    """The item, its row locked until the transaction ends (large columns deferred)."""
    item = fetch_instance(Item, _item_locked_sql(connection.vendor), [item_id],
                          skip=LARGE_ITEM_FIELDS)  # fmt: skip
    if item is None:
        raise Item.DoesNotExist(f"No item {item_id}.")
    return item


@lru_cache(maxsize=4)
def _item_locked_sql(vendor: str) -> str:
    columns = model_columns(Item, skip=LARGE_ITEM_FIELDS, alias="i")
    locking = " FOR UPDATE" if connection.features.has_select_for_update else ""
    table = connection.ops.quote_name(Item._meta.db_table)
    return f"SELECT {columns} FROM {table} i WHERE i.id = %s{locking}"


def project_label_names(*, project_id: int) -> set[str]:
    """The names of the project's labels (read on every submit: a precompiled statement)."""
    sql = (
        f"SELECT name FROM {connection.ops.quote_name(Label._meta.db_table)} WHERE project_id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [project_id])
        return {name for (name,) in cursor.fetchall()}


def item_suggestion(*, project: Project, item: Item) -> dict | None:
    """The model's suggested label when the project shows it, else None."""
    if not project.model_in_loop or not item.predicted_label:
        return None
    return {"label": item.predicted_label, "probability": item.predicted_score}


def my_history(
    *, project: Project, annotator: AbstractBaseUser, limit: int = 20, before_id: int | None = None
) -> QuerySet[Annotation]:
    """The annotator's own annotations in the project, newest first, with their items.

    Ordered by id (creation order) so the (project, id) index serves it backwards;
    ``before_id`` pages further into the past.
    """
    annotations = Annotation.objects.filter(project=project, annotator=annotator)
    if before_id is not None:
        annotations = annotations.filter(id__lt=before_id)
    return annotations.select_related("item").order_by("-id")[:limit]


def my_progress(*, project: Project, annotator: AbstractBaseUser) -> dict[str, int]:
    """``{"mine", "done", "total"}``: my annotations, complete items, all items."""
    items = Item.objects.filter(project=project)
    return {
        "mine": Annotation.objects.filter(project=project, annotator=annotator).count(),
        "done": items.filter(status=ItemStatus.COMPLETE).count(),
        "total": items.count(),
    }
