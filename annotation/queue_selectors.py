"""Reads behind the annotator's queue: candidate items, held leases, history, progress.

The candidate query is the labeling hot path. It walks the partial index of open
items (``item_open_queue_idx``: project, -priority, sequence, id WHERE open) in
queue order and stops at the first row that passes the per-row checks, so its
cost depends on how many items at the head of the queue this annotator cannot
take (their own labels and skips, other people's leases), not on project size.
"""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, F, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from annotation.models import Annotation, Assignment, Item, ItemStatus, Project, Skip

QUEUE_ORDER = ("-priority", "sequence", "id")
# Item columns the queue never shows nor needs (embeddings can be kilobytes of JSON).
LARGE_ITEM_FIELDS = ("vector", "consensus_labels")


def leases_by_others(*, item_ref, annotator: AbstractBaseUser, now: datetime) -> QuerySet:
    """Unexpired leases on an item held by anyone but ``annotator``."""
    return Assignment.objects.filter(item=item_ref, expires_at__gt=now).exclude(annotator=annotator)


def queue_candidates(
    *, project: Project, annotator: AbstractBaseUser, now: datetime, exclude_ids=()
) -> QuerySet[Item]:
    """Open items this annotator may be given, in queue order.

    An item qualifies when the annotator has neither labeled nor skipped it and
    its annotations plus the unexpired leases of other annotators leave room
    under its ``required_overlap``. Callers lock the head of this queryset
    (``select_for_update(skip_locked=True)``) and re-check the lease count once
    the lock is held, because this statement's snapshot may predate a lease
    committed by whoever held the lock before.
    """
    leased = (
        leases_by_others(item_ref=OuterRef("pk"), annotator=annotator, now=now)
        .values("item")
        .annotate(n=Count("id"))
        .values("n")
    )
    items = (
        Item.objects.filter(project=project, status=ItemStatus.OPEN)
        .filter(annotation_count__lt=F("required_overlap"))
        .exclude(Exists(Annotation.objects.filter(item=OuterRef("pk"), annotator=annotator)))
        .exclude(Exists(Skip.objects.filter(item=OuterRef("pk"), annotator=annotator)))
        .alias(leased=Coalesce(Subquery(leased, output_field=IntegerField()), Value(0)))
        .filter(required_overlap__gt=F("annotation_count") + F("leased"))
    )
    if exclude_ids:
        items = items.exclude(pk__in=list(exclude_ids))
    return items.defer(*LARGE_ITEM_FIELDS).order_by(*QUEUE_ORDER)


def held_lease(
    *, project: Project, annotator: AbstractBaseUser, now: datetime, exclude_ids=()
) -> Assignment | None:
    """The annotator's oldest unexpired lease on a still-open item, with the item."""
    leases = Assignment.objects.filter(
        project=project, annotator=annotator, expires_at__gt=now, item__status=ItemStatus.OPEN
    )
    if exclude_ids:
        leases = leases.exclude(item_id__in=list(exclude_ids))
    deferred = [f"item__{name}" for name in LARGE_ITEM_FIELDS]
    return leases.select_related("item").defer(*deferred).order_by("created_at", "id").first()


def other_leases_count(*, item: Item, annotator: AbstractBaseUser, now: datetime) -> int:
    return leases_by_others(item_ref=item, annotator=annotator, now=now).count()


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
