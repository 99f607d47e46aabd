"""Celery beat entry point: recompute agreement for projects with new multi-annotated items.

The threshold trigger (``annotation.services.triggers``) runs agreement after every
``agreement_every`` new labels; this periodic sweep catches the rest (a project that stopped just
short of the threshold still gets a fresh number). Thin: it only enqueues, the job does the work.
"""

from celery import shared_task

from annotation.models import Annotation, Job, JobKind, Project
from annotation.services.jobs import job_enqueue
from annotation.services.triggers import annotation_watermark


def projects_due_for_agreement() -> list[Project]:
    """Projects with agreement turned on and a multi-annotated item labeled since the last run."""
    due = []
    for project in Project.objects.filter(agreement_every__gt=0):
        last = Job.objects.filter(project=project, kind=JobKind.AGREEMENT).order_by("-id").first()
        since = (last.params or {}).get("watermark", 0) if last else 0
        new = Annotation.objects.filter(
            project=project, id__gt=since, item__annotation_count__gte=2
        )
        if new.exists():
            due.append(project)
    return due


@shared_task(ignore_result=True)
def enqueue_agreement_jobs() -> list[int]:
    """Enqueue (coalesced) an agreement job for every due project; returns the job ids."""
    jobs = []
    for project in projects_due_for_agreement():
        params = {"watermark": annotation_watermark(project=project), "trigger": "schedule"}
        job, _ = job_enqueue(project=project, kind=JobKind.AGREEMENT, params=params)
        jobs.append(job.pk)
    return jobs
