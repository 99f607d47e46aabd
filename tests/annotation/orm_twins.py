"""The ORM code each statement of ``annotation.rawsql`` replaces, for tests and the bench only.

Same names, same arguments, same results: ``tests/annotation/test_rawsql.py`` checks that
on random data, and ``bench/rawsql_speed.py`` times each twin against its statement.
"""

import json
from collections.abc import Sequence
from datetime import datetime

from django.db.models import Count, F, IntegerField, Model, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from rest_framework.authtoken.models import Token

from annotation.models import (
    Annotation,
    AnnotationSource,
    Item,
    ItemStatus,
    Label,
    Lease,
    Membership,
    Project,
)  # fmt: skip
from annotation.queue_selectors import QUEUE_ORDER
from annotation.rawsql import LARGE_ITEM_FIELDS


def queue_head(*, project_id: int, annotator_id: int, now: datetime, exclude_ids: Sequence[int],
               lock: bool) -> Item | None:  # fmt: skip
    held = (
        Lease.objects.filter(item=OuterRef("pk"), expires_at__gt=now)
        .exclude(annotator_id=annotator_id)
        .values("item")
        .annotate(n=Count("id"))
        .values("n")
    )
    items = (
        Item.objects.filter(project_id=project_id, status=ItemStatus.OPEN,
                            annotation_count__lt=F("required_overlap"))
        .exclude(Q(annotations__annotator_id=annotator_id) | Q(skips__annotator_id=annotator_id))
        .exclude(pk__in=list(exclude_ids))
        .annotate(held=Coalesce(Subquery(held, output_field=IntegerField()), Value(0)))
        .filter(required_overlap__gt=F("annotation_count") + F("held"))
        .defer(*LARGE_ITEM_FIELDS)
        .order_by(*QUEUE_ORDER)
    )  # fmt: skip
    if lock:
        items = items.select_for_update(skip_locked=True, of=("self",))
    return items.first()


def held_lease(*, project: Project, annotator: Model, now: datetime,
               exclude_ids: Sequence[int]) -> Lease | None:  # fmt: skip
    return (
        Lease.objects.filter(project=project, annotator=annotator, expires_at__gt=now,
                             item__status=ItemStatus.OPEN)
        .exclude(item_id__in=list(exclude_ids))
        .select_related("item")
        .defer(*(f"item__{name}" for name in LARGE_ITEM_FIELDS))
        .order_by("created_at", "id")
        .first()
    )  # fmt: skip


def lease_if_room(*, item_id: int, annotator_id: int, project_id: int, now: datetime,
                  expires_at: datetime, required_overlap: int,
                  annotation_count: int) -> int | None:  # fmt: skip
    others = Lease.objects.filter(item_id=item_id, expires_at__gt=now).exclude(
        annotator_id=annotator_id
    )
    if annotation_count + others.count() >= required_overlap:
        return None
    lease, created = Lease.objects.update_or_create(
        item_id=item_id, annotator_id=annotator_id,
        defaults={"project_id": project_id, "created_at": now, "expires_at": expires_at},
    )  # fmt: skip
    if created:  # auto_now_add wrote the clock's time, not ``now``
        Lease.objects.filter(pk=lease.pk).update(created_at=now)
    return lease.pk


def lease_take(*, item_id: int, annotator_id: int) -> datetime | None:
    leases = Lease.objects.filter(item_id=item_id, annotator_id=annotator_id)
    expires = leases.values_list("expires_at", flat=True).first()
    leases.delete()
    return expires


def item_locked(item_id: int) -> Item:
    return Item.objects.select_for_update().defer(*LARGE_ITEM_FIELDS).get(pk=item_id)


def annotation_labels(item_id: int) -> list[list[str] | None]:
    rows = Annotation.objects.filter(item_id=item_id).exclude(source=AnnotationSource.REVIEW)
    return list(rows.order_by("id").values_list("labels", flat=True))


def item_status_write(*, item_id: int, annotation_count: int, required_overlap: int,
                      status: str) -> None:  # fmt: skip
    Item.objects.filter(pk=item_id).update(annotation_count=annotation_count,
                                           required_overlap=required_overlap, status=status)  # fmt: skip


def project_label_names(*, project_id: int) -> set[str]:
    return set(Label.objects.filter(project_id=project_id).values_list("name", flat=True))


def token_user(key: str) -> Model | None:
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None:
        return None
    token.user.token_created = token.created
    return token.user


def project_with_role(*, project_id: int, user_id: int) -> Project | None:
    role = Membership.objects.filter(project=OuterRef("pk"), user_id=user_id).values("role")[:1]
    return Project.objects.annotate(requester_role=Subquery(role)).filter(pk=project_id).first()


def object_by_id(model: type[Model], pk: int, *, deferred: tuple[str, ...] = ()) -> Model | None:
    return model.objects.defer(*deferred).filter(pk=pk).first()


def fast_insert(model: type[Model], columns: Sequence[str], rows: Sequence[tuple], *,
                conn=None) -> None:  # fmt: skip
    """``bulk_create`` of the same rows (``conn`` is ignored: the ORM uses this thread's).
    The rows are database-ready, as ``fast_insert`` takes them: JSON as text, datetimes
    adapted; both are turned back into Python values first."""
    fields = [model._meta.get_field(c) for c in columns]

    def value(field, raw):
        if raw is not None and field.get_internal_type() == "JSONField":
            return json.loads(raw)
        if raw is not None and field.get_internal_type() == "DateTimeField":
            return field.to_python(raw)
        return raw

    objs = [model(**{f.attname: value(f, raw) for f, raw in zip(fields, row, strict=True)})
            for row in rows]  # fmt: skip
    model.objects.bulk_create(objs, batch_size=5000)


def item_ids_by_external_id(*, project_id: int, external_ids: Sequence[str],
                            conn=None) -> list[tuple[str, int]]:  # fmt: skip
    items = Item.objects.filter(project_id=project_id, external_id__in=list(external_ids))
    return list(items.values_list("external_id", "id"))
