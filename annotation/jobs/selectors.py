"""Reads of the job core: the label watermark jobs record, and "is a job due?", one query each.

A job of a coalesced kind records in ``params["watermark"]`` the id of the newest annotation
when it was queued; the next one is due once enough annotations arrived above it.
"""

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
    threshold-th new row, so this stays cheap on the labeling hot path, however large the
    project.
    """
    columns = {}
    for n, (kind, threshold) in enumerate(every.items()):
        jobs = Job.objects.filter(project_id=project_id, kind=kind)
        new = Annotation.objects.filter(project_id=project_id, id__gt=_latest_watermark(jobs))
        columns[f"waits{n}"] = Exists(jobs.filter(status=JobStatus.QUEUED))
        columns[f"due{n}"] = Exists(new[threshold - 1 : threshold])
    row = Project.objects.filter(pk=project_id).values(**columns).first()
    if row is None:
        return []
    return [kind for n, kind in enumerate(every) if row[f"due{n}"] and not row[f"waits{n}"]]


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
