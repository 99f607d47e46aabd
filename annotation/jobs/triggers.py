"""Background jobs that new labels, imports and the beat set off.

Called after the transaction that saved labels commits. Each job kind has a
threshold on the project (``retrain_every``, ``label_issues_every``,
``agreement_every``); a job is enqueued when that many annotations arrived since
the last job of the kind started counting (``selectors.kinds_due_after_labels``, one
query bounded by the thresholds), and job_enqueue coalesces, so a burst of labels
queues at most one job per kind.
"""

import logging

from django.conf import settings

from annotation.jobs.dispatch import job_enqueue
from annotation.jobs.selectors import (
    annotation_watermark,
    kinds_due_after_labels,
    projects_due_for_audit,
    projects_due_for_drift,
)
from annotation.models import Job, JobKind, Project
from annotation.selectors import featurizer_kind

logger = logging.getLogger(__name__)

THRESHOLDS = {
    JobKind.ACTIVE_LEARNING: "retrain_every",
    JobKind.LABEL_ISSUES: "label_issues_every",
    JobKind.AGREEMENT: "agreement_every",
}


def labels_changed(*, project_id: int, project: Project | None = None) -> list[Job]:
    """Enqueue every job kind whose threshold of new labels is met.

    ``project``: the caller's copy of the project (loaded by the same request), whose
    thresholds are used instead of reading them again: one query on the labeling hot path
    when nothing is due.
    """
    fields = list(THRESHOLDS.values())
    if project is not None and project.pk == project_id:
        thresholds = {field: getattr(project, field) for field in fields}
    else:
        project = None
        thresholds = Project.objects.filter(pk=project_id).values(*fields).first()
    if thresholds is None:
        return []
    every: dict[str, int] = {
        kind: thresholds[field] for kind, field in THRESHOLDS.items() if thresholds[field]
    }
    if not every:
        return []
    due = kinds_due_after_labels(project_id=project_id, every=every)
    if not due:
        return []
    project = project or Project.objects.get(pk=project_id)
    params = {"watermark": annotation_watermark(project=project), "trigger": "labels"}
    started = []
    for kind in due:
        job, created = job_enqueue(project=project, kind=kind, params=params)
        if created:
            logger.info("enqueued %s job %s for project %s", kind, job.pk, project.pk)
            started.append(job)
    return started


def items_imported(*, project: Project) -> Job | None:
    """After the first import of an image or embedding project, start its first
    active-learning job: with fewer labels than a model needs it is a cold start, which puts
    k-means representatives of the pool at the head of the queue (``learning.selection``).

    Why these projects only: on digits the representatives got margin sampling to 95% of
    full-pool accuracy in 80 labels instead of 100 (8 seeds), because pixels and embeddings
    cluster by class. On text they did no better than the fallback order in an 8-seed
    replica: k-means over the text features took SMS spam 80 labels instead of 60 (its few
    spam messages got no cluster of their own), and k-means over the word vectors alone
    took sentiment 360 instead of 280. Text clusters follow topic and length, not labels.
    Not when the project's jobs are manual (``retrain_every`` 0) or its strategy is random,
    and once only: later items are ranked by the jobs that labels set off.
    """
    if project.strategy == "random" or not project.retrain_every:
        return None
    if Job.objects.filter(project=project, kind=JobKind.ACTIVE_LEARNING).exists():
        return None
    if featurizer_kind(project) == "text":
        return None
    job, created = job_enqueue(
        project=project, kind=JobKind.ACTIVE_LEARNING, params={"trigger": "import"}
    )
    if created:
        logger.info("enqueued cold-start job %s for project %s", job.pk, project.pk)
    return job


def _after_import(*, project: Project, kind: str, enabled: bool) -> Job | None:
    """A coalesced job of ``kind`` once new items arrived (a burst of imports queues one),
    unless the deployment turned it off (``enabled``)."""
    if not enabled:
        return None
    job, created = job_enqueue(project=project, kind=kind, params={"trigger": "import"})
    if created:
        logger.info("enqueued %s job %s for project %s", kind, job.pk, project.pk)
    return job


def audit_after_import(*, project: Project) -> Job | None:
    """An audit of the project once new items arrived (``QUORUM_AUDIT_AFTER_IMPORT``)."""
    return _after_import(project=project, kind=JobKind.AUDIT,
                         enabled=settings.QUORUM_AUDIT_AFTER_IMPORT)  # fmt: skip


def audits_due() -> list[Job]:
    """Beat: an audit for every project with items newer than its latest audit (or never
    audited). ``job_enqueue`` coalesces with an audit already waiting."""
    return [job_enqueue(project=p, kind=JobKind.AUDIT, params={"trigger": "schedule"})[0]
            for p in projects_due_for_audit()]  # fmt: skip


def drift_after_import(*, project: Project) -> Job | None:
    """Drift checks once new items arrived (``QUORUM_DRIFT_AFTER_IMPORT``)."""
    return _after_import(project=project, kind=JobKind.DRIFT,
                         enabled=settings.QUORUM_DRIFT_AFTER_IMPORT)  # fmt: skip


def drifts_due() -> list[Job]:
    """Beat: drift checks for every project with new items or labels since its last ones."""
    return [job_enqueue(project=p, kind=JobKind.DRIFT, params={"trigger": "schedule"})[0]
            for p in projects_due_for_drift()]  # fmt: skip


def items_imported_safely(*, project: Project) -> None:
    """``items_imported``, ``audit_after_import`` and ``drift_after_import`` after the import
    committed; a failure is
    logged, never raised (the items are saved, and the first labels start a job anyway)."""
    try:
        items_imported(project=project)
        audit_after_import(project=project)
        drift_after_import(project=project)
    except Exception:
        logger.exception("import trigger failed for project %s (items are saved)", project.pk)
