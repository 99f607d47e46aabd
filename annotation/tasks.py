"""Celery tasks of annotation's services that are not jobs (no run record): retention and
webhook deliveries.

The job core's tasks live in ``annotation.jobs.tasks``; this module sits above the services,
which the job core must never import.
"""

from celery import shared_task

from annotation.services.retention import retention_apply
from annotation.services.webhooks import (
    DELIVER_WEBHOOK_TASK,
    retry_countdown,
    webhook_deliver,
    webhook_deliveries_resend,
)


@shared_task(ignore_result=True)
def apply_retention() -> dict[int, int]:
    """Beat: delete the content of items past their project's ``content_retention_days``."""
    return retention_apply()


@shared_task(name=DELIVER_WEBHOOK_TASK, bind=True, ignore_result=True, acks_late=True,
             max_retries=None, soft_time_limit=60, time_limit=90)  # fmt: skip
def deliver_webhook(self, delivery_id: int) -> None:
    """One attempt at one delivery, by id; the delivery row counts the attempts and decides
    when to stop (``QUORUM_WEBHOOK_MAX_ATTEMPTS``), so ``max_retries`` is not Celery's."""
    if webhook_deliver(delivery_id=delivery_id):
        raise self.retry(countdown=retry_countdown(self.request.retries))


@shared_task(ignore_result=True)
def resend_stranded_deliveries() -> list[int]:
    """Beat: a new message for each pending delivery that has none left."""
    return webhook_deliveries_resend()
