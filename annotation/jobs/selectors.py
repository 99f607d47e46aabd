"""Reads of the job core: the label watermark jobs record, and "is a job due?", one query each.

A job of a coalesced kind records in ``params["watermark"]`` the id of the newest annotation
when it was queued; the next one is due once enough annotations arrived above it.
"""

from functools import lru_cache

from django.db import connection
from django.db.models import (
    BigIntegerField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce

from annotation.models import Annotation, Item, Job, JobKind, JobStatus, Project


def annotation_watermark(*, project: Project) -> int:
    """The id of the newest annotation: jobs record it in ``params["watermark"]``."""
    last = Annotation.objects.filter(project=project).order_by("-id").values_list("id", flat=True)
    return last.first() or 0


def _latest_watermark(jobs: QuerySet) -> Coalesce:
    """The watermark of the newest of ``jobs`` (0 when there is none, or it recorded none)."""
    newest = jobs.order_by("-id").annotate(
        mark=Cast(KeyTextTransform("watermark", "params"), BigIntegerField())
    )
    return Coalesce(Subquery(newest.values("mark")[:1]), Value(0))


def kinds_due_after_labels(*, project_id: int, every: dict[str, int]) -> list[str]:
    """The kinds of ``every`` (kind -> threshold, > 0) due now, in one query: no job of the
    kind waits (a waiting one reads every label when it starts), and at least ``threshold``
    annotations arrived above the watermark of the kind's latest job.

    Each threshold is an index range scan (``annotation_by_project``) that stops at the
    threshold-th new row, so the statement costs about 0.2 ms on PostgreSQL however large
    the project. This runs after every label: its SQL is built by the ORM once per set of
    thresholds (building it costs ~15 ms of Python) and reused with the project's id.
    """
    sql, template, slots = _due_statement(connection.vendor, tuple(every.items()))
    params = list(template)
    for slot in slots:
        params[slot] = project_id
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return []
    waits, due = row[0::2], row[1::2]
    return [kind for kind, w, d in zip(every, waits, due, strict=True) if d and not w]


# A project id no row has: it marks where the real id goes in the cached statement.
_PROJECT_SLOT = -7_351_919


@lru_cache(maxsize=64)
def _due_statement(vendor: str, every: tuple[tuple[str, int], ...]) -> tuple[str, tuple, list[int]]:
    """(SQL, params, indices of the project id in params) of the due check for ``every``;
    its columns are (waits, due) for each kind in order."""
    columns = {}
    for n, (kind, threshold) in enumerate(every):
        jobs = Job.objects.filter(project_id=_PROJECT_SLOT, kind=kind)
        new = Annotation.objects.filter(project_id=_PROJECT_SLOT, id__gt=_latest_watermark(jobs))
        columns[f"waits{n}"] = Exists(jobs.filter(status=JobStatus.QUEUED))
        columns[f"due{n}"] = Exists(new[threshold - 1 : threshold])
    query = Project.objects.filter(pk=_PROJECT_SLOT).order_by().values(**columns)
    sql, params = query.query.sql_with_params()
    return sql, tuple(params), [i for i, p in enumerate(params) if p == _PROJECT_SLOT]


def projects_due_for_agreement() -> list[Project]:
    """Projects with agreement turned on and an annotation of a multi-annotated item above
    the watermark of their latest agreement job (one query)."""
    jobs = Job.objects.filter(project=OuterRef(OuterRef("pk")), kind=JobKind.AGREEMENT)
    new = Annotation.objects.filter(
        project=OuterRef("pk"), id__gt=_latest_watermark(jobs), item__annotation_count__gte=2
    )
    return list(Project.objects.filter(agreement_every__gt=0).filter(Exists(new)).order_by("pk"))


def projects_due_for_audit() -> QuerySet[Project]:
    """Projects with items newer than their latest audit job, or never audited (one query)."""
    last_audit = Job.objects.filter(project=OuterRef("pk"), kind=JobKind.AUDIT).order_by("-id")
    newest_item = Item.objects.filter(project=OuterRef("pk")).order_by("-id")
    projects = Project.objects.annotate(
        audited_at=Subquery(last_audit.values("created_at")[:1]),
        item_at=Subquery(newest_item.values("created_at")[:1]),
    ).filter(item_at__isnull=False)
    return projects.filter(Q(audited_at__isnull=True) | Q(item_at__gt=F("audited_at")))


def projects_due_for_drift() -> QuerySet[Project]:
    """Projects with items or human labels newer than their latest drift job, or never
    checked (one query): drift needs something new to compare."""
    last = Job.objects.filter(project=OuterRef("pk"), kind=JobKind.DRIFT).order_by("-id")
    newest_item = Item.objects.filter(project=OuterRef("pk")).order_by("-id")
    newest_label = Annotation.objects.filter(
        project=OuterRef("pk"), annotator__isnull=False
    ).order_by("-id")
    projects = Project.objects.annotate(
        checked_at=Subquery(last.values("created_at")[:1]),
        item_at=Subquery(newest_item.values("created_at")[:1]),
        label_at=Subquery(newest_label.values("created_at")[:1]),
    ).filter(item_at__isnull=False)
    return projects.filter(
        Q(checked_at__isnull=True)
        | Q(item_at__gt=F("checked_at"))
        | Q(label_at__gt=F("checked_at"))
    )
