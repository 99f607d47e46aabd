"""Celery beat entry point: recompute agreement for projects with new multi-annotated items.

The threshold trigger (``annotation.jobs.triggers``) runs agreement after every
``agreement_every`` new labels; this periodic sweep catches the rest (a project that stopped just
short of the threshold still gets a fresh number). Thin: it only enqueues, the job does the work.
"""

from celery import shared_task

from annotation.jobs.dispatch import job_enqueue
from annotation.jobs.selectors import annotation_watermark, projects_due_for_agreement
from annotation.models import JobKind


@shared_task(ignore_result=True)
def enqueue_agreement_jobs() -> list[int]:
    """Enqueue (coalesced) an agreement job for every due project; returns the job ids."""
    jobs = []
    for project in projects_due_for_agreement():
        params = {"watermark": annotation_watermark(project=project), "trigger": "schedule"}
        job, _ = job_enqueue(project=project, kind=JobKind.AGREEMENT, params=params)
        jobs.append(job.pk)
    return jobs
