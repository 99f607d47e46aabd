"""Celery tasks of annotation's periodic services that are not jobs (no run record).

The job core's tasks live in ``annotation.jobs.tasks``; this module sits above the services,
which the job core must never import.
"""

from celery import shared_task

from annotation.services.retention import retention_apply


@shared_task(ignore_result=True)
def apply_retention() -> dict[int, int]:
    """Beat: delete the content of items past their project's ``content_retention_days``."""
    return retention_apply()
