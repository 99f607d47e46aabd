"""Background jobs that new labels set off.

Called after the transaction that saved labels commits. Each job kind has a
threshold on the project (``retrain_every``, ``label_issues_every``,
``agreement_every``); a job is enqueued when that many annotations arrived since
the last job of the kind started counting. The count is an index range scan
bounded by the threshold, so this stays cheap on the labeling hot path, and
job_enqueue coalesces, so a burst of labels queues at most one job per kind.
"""

import logging

from annotation.models import Annotation, Job, JobKind, Project
from annotation.services.jobs import job_enqueue

logger = logging.getLogger(__name__)

THRESHOLDS = {
    JobKind.ACTIVE_LEARNING: "retrain_every",
    JobKind.LABEL_ISSUES: "label_issues_every",
    JobKind.AGREEMENT: "agreement_every",
}


def annotation_watermark(*, project: Project) -> int:
    """The id of the newest annotation: jobs record it in ``params["watermark"]``."""
    last = Annotation.objects.filter(project=project).order_by("-id").values_list("id", flat=True)
    return last.first() or 0


def labels_since_last_job(*, project: Project, kind: str, limit: int) -> int:
    last_job = Job.objects.filter(project=project, kind=kind).order_by("-id").first()
    since = (last_job.params or {}).get("watermark", 0) if last_job else 0
    new = Annotation.objects.filter(project=project, id__gt=since).values("id")[:limit]
    return new.count()


def labels_changed(*, project_id: int) -> list[Job]:
    """Enqueue every job kind whose threshold of new labels is met."""
    project = Project.objects.get(pk=project_id)
    started = []
    for kind, field in THRESHOLDS.items():
        threshold = getattr(project, field)
        if not threshold:
            continue
        if labels_since_last_job(project=project, kind=kind, limit=threshold) >= threshold:
            params = {"watermark": annotation_watermark(project=project), "trigger": "labels"}
            job, created = job_enqueue(project=project, kind=kind, params=params)
            if created:
                logger.info("enqueued %s job %s for project %s", kind, job.pk, project.pk)
                started.append(job)
    return started
