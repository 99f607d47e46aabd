"""The annotator's queue and the labels people give: next, submit, update, skip.

Concurrency design
------------------
PostgreSQL: ``queue_next`` locks the head of the candidate queue with
``SELECT ... FOR UPDATE SKIP LOCKED`` (so concurrent annotators never wait on
each other), then, holding the item's row lock, re-counts the other annotators'
unexpired leases in a new statement before taking its own. Everyone who leases
or labels an item holds that row lock while doing so, so the re-count sees every
committed lease: an item is never leased beyond its overlap, also when the
overlap is above one (where the candidate statement's older snapshot alone
could miss a lease committed a moment earlier).

SQLite: ``select_for_update`` is a no-op, but the settings open every
transaction with ``BEGIN IMMEDIATE``, so writing transactions run one at a time
and the same code is correct.

Submits lock the item row, take the annotator's lease (``label_rules``: only a lease
holder may label, a late label only while the item still needs one), insert the
annotation (the unique constraint on (item, annotator) makes a second label from the
same person impossible) and refresh the item's status in one transaction; the job
triggers run after commit and can never fail the request.
"""

import logging
from collections.abc import Iterable, Sequence
from datetime import timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.jobs.triggers import labels_changed
from annotation.models import Annotation, AnnotationSource, Item, Lease, Project, Skip
from annotation.queue_selectors import item_suggestion
from annotation.rawsql import (
    held_lease,
    item_locked,
    lease_if_room,
    lease_take,
    project_label_names,
    queue_head,
)
from annotation.services.label_rules import AlreadyAnnotated, label_check
from annotation.services.overlap import item_refresh_status

logger = logging.getLogger(__name__)

# How many locked candidates to try before giving up on a request. A candidate is
# only rejected after locking when another lease committed in the same instant.
MAX_CLAIM_ATTEMPTS = 5


def queue_next(
    *, project: Project, annotator: User, exclude_ids: Iterable[int] = ()
) -> Lease | None:
    """Lease the annotator's next item, or return None when nothing is left for them.

    A lease the annotator still holds is returned again (a reload burns no items).
    ``exclude_ids`` lets the page prefetch: items listed there (typically the one
    on screen) keep their leases but are not returned, so the next one is leased.
    """
    exclude = tuple(exclude_ids)
    now = timezone.now()
    held = held_lease(project=project, annotator=annotator, now=now, exclude_ids=exclude)
    if held is not None:
        return held
    with transaction.atomic():
        return _claim_next(project=project, annotator=annotator, now=now, exclude=exclude)


def _claim_next(*, project: Project, annotator: User, now, exclude: Sequence[int]) -> Lease | None:
    rejected: list[int] = []
    for _ in range(MAX_CLAIM_ATTEMPTS):
        item = queue_head(project_id=project.pk, annotator_id=annotator.pk, now=now,
                          exclude_ids=(*exclude, *rejected), lock=True)  # fmt: skip
        if item is None:
            return None
        lease = _lease_if_room(project=project, item=item, annotator=annotator, now=now)
        if lease is not None:
            return lease
        rejected.append(item.pk)
    return None


def _lease_if_room(*, project: Project, item: Item, annotator: User, now) -> Lease | None:
    """Lease the (locked) item unless other people's leases already fill its overlap.

    A new statement taken after the row lock (``rawsql.lease_if_room``), so its count sees
    every lease committed before it, which the candidate query's snapshot may not.
    """
    expires_at = now + timedelta(minutes=project.lease_minutes)
    lease_id = lease_if_room(item_id=item.pk, annotator_id=annotator.pk, project_id=project.pk,
                             now=now, expires_at=expires_at,
                             required_overlap=item.required_overlap,
                             annotation_count=item.annotation_count)  # fmt: skip
    if lease_id is None:
        return None
    return Lease(id=lease_id, item=item, annotator=annotator, project=project,
                 created_at=now, expires_at=expires_at)  # fmt: skip


def clean_labels(*, project: Project, labels: Sequence[str]) -> list[str]:
    """Check label names against the project's label set; duplicates dropped, order kept."""
    names = list(dict.fromkeys(str(name) for name in labels))
    if not names:
        raise ValidationError({"labels": ["Give at least one label."]})
    known = project_label_names(project_id=project.pk)
    unknown = [name for name in names if name not in known]
    if unknown:
        listed = ", ".join(repr(name) for name in unknown)
        raise ValidationError(
            {
                "labels": [
                    f"Unknown label {listed}; this project's labels are: {', '.join(sorted(known))}."
                ]
            }
        )
    if len(names) > 1 and not project.multi_label:
        raise ValidationError(
            {"labels": [f"This project takes one label per item; got {len(names)}."]}
        )
    return names


def annotation_submit(
    *,
    item: Item,
    annotator: User,
    labels: Sequence[str],
    time_spent_ms: int | None = None,
    suggestion_accepted: bool | None = None,
) -> Annotation:
    """Record the annotator's label(s) for the item, durably and exactly once.

    Raises ``ValidationError`` for labels outside the project's set (or several on
    a single-label project), and a ``LabelRefused`` (``AlreadyAnnotated`` when this
    annotator already labeled the item) when the queue's rule refuses the label.
    """
    project = item.project
    names = clean_labels(project=project, labels=labels)
    try:
        with transaction.atomic():
            # Locked and re-read for the counts; the large columns are not needed here.
            locked = item_locked(item.pk)
            lease_expires = lease_take(item_id=locked.pk, annotator_id=annotator.pk)
            label_check(item=locked, annotator_id=annotator.pk, lease_expires=lease_expires,
                        now=timezone.now())  # fmt: skip
            suggestion = item_suggestion(project=project, item=locked)
            shown = suggestion["label"] if suggestion else ""
            if shown and suggestion_accepted is None:
                suggestion_accepted = names == [shown]
            annotation = Annotation.objects.create(
                item=locked,
                project=project,
                annotator=annotator,
                labels=names,
                source=AnnotationSource.HUMAN,
                time_spent_ms=time_spent_ms,
                suggestion=shown,
                suggestion_accepted=suggestion_accepted if shown else None,
                model_version_id=locked.scored_by_id,
            )
            item_refresh_status(item=locked, project=project)
            _labels_changed_on_commit(project.pk, project=project)
    except IntegrityError:
        existing = (
            Annotation.objects.filter(item=item, annotator=annotator)
            .values_list("id", flat=True)
            .first()
        )
        if existing is None:
            raise  # some other constraint: not a duplicate label
        raise AlreadyAnnotated(existing) from None
    return annotation


def annotation_update(
    *,
    annotation: Annotation,
    annotator: User,
    labels: Sequence[str],
    time_spent_ms: int | None = None,
) -> Annotation:
    """Change the annotator's own label(s); the item's status is recomputed.

    ``time_spent_ms`` is added to the time already recorded (time spent changing it).
    """
    if annotation.annotator_id != annotator.pk:
        raise Annotation.DoesNotExist("Only your own annotations can be changed.")
    project = annotation.project
    names = clean_labels(project=project, labels=labels)
    with transaction.atomic():
        locked = Item.objects.select_for_update().get(pk=annotation.item_id)
        annotation.labels = names
        fields = ["labels", "updated_at"]
        if annotation.suggestion:
            annotation.suggestion_accepted = names == [annotation.suggestion]
            fields.append("suggestion_accepted")
        if time_spent_ms is not None:
            annotation.time_spent_ms = (annotation.time_spent_ms or 0) + time_spent_ms
            fields.append("time_spent_ms")
        annotation.save(update_fields=fields)
        item_refresh_status(item=locked, project=project)
        _labels_changed_on_commit(project.pk)
    return annotation


def item_skip(*, item: Item, annotator: User, reason: str = "") -> tuple[Skip, bool]:
    """Skip the item for this annotator (idempotent) and release their lease on it."""
    with transaction.atomic():
        skip, created = Skip.objects.get_or_create(
            item=item, annotator=annotator, defaults={"reason": reason[:500]}
        )
        Lease.objects.filter(item_id=item.pk, annotator_id=annotator.pk).delete()
    return skip, created


def _labels_changed_on_commit(project_id: int, *, project: Project | None = None) -> None:
    transaction.on_commit(lambda: labels_changed_safely(project_id=project_id, project=project))


def labels_changed_safely(*, project_id: int, project: Project | None = None) -> None:
    """Run the job triggers; a broken broker or database hiccup is logged, never raised.

    The label is already committed when this runs: failing the request now would
    tell the annotator their label was lost when it was not.
    """
    try:
        labels_changed(project_id=project_id, project=project)
    except Exception:
        logger.exception("label triggers failed for project %s (labels are saved)", project_id)
