"""Celery entry points of the learning seam: ids in, services do the work.

The active-learning job itself runs through the generic ``annotation.jobs.tasks.run_job``.
``score_chunk`` is its helper: the job sends one per extra chunk, and every worker that
picks one up claims and scores chunks of that job's pool until none is left. There is
no chord (no result backend): the chunk rows in the database say what is done.

``enqueue_agreement_jobs`` is the beat's agreement sweep. The threshold trigger
(``annotation.jobs.triggers``) runs agreement after every ``agreement_every`` new labels;
the sweep catches the rest (a project that stopped just short of the threshold still gets a
fresh number). It only enqueues; the job does the work.
"""

from celery import shared_task
from django.db import OperationalError

from annotation.jobs.dispatch import job_enqueue
from annotation.jobs.runner import job_report_progress
from annotation.jobs.selectors import annotation_watermark, projects_due_for_agreement
from annotation.models import Job, JobKind, JobStatus
from learning.services.score_chunks import chunks_progress, chunks_work


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=2,
    max_retries=3,
)
def score_chunk(job_id: int) -> int:
    """Help a running active-learning job score its pool. Idempotent: claims decide.

    Returns the number of chunks this call scored (0 when the job already finished).
    """
    job = Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).first()
    if job is None:
        return 0

    def progress() -> None:
        done, total = chunks_progress(job_id=job_id)
        job_report_progress(job_id, 0.3 + 0.65 * done / max(1, total))

    return chunks_work(job_id=job_id, on_chunk=progress)


@shared_task(ignore_result=True)
def enqueue_agreement_jobs() -> list[int]:
    """Enqueue (coalesced) an agreement job for every due project; returns the job ids."""
    jobs = []
    for project in projects_due_for_agreement():
        params = {"watermark": annotation_watermark(project=project), "trigger": "schedule"}
        job, _ = job_enqueue(project=project, kind=JobKind.AGREEMENT, params=params)
        jobs.append(job.pk)
    return jobs
