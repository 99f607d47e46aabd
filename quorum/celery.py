"""The Celery app. Workers scale out by running more of them: `celery -A quorum worker`."""

import os

from celery import Celery
from celery.signals import task_prerun

from quorum.logging import current_request_id

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quorum.settings")

app = Celery("quorum")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["learning", "annotation", "annotation.jobs"])


@task_prerun.connect
def _tag_logs_with_task_id(task_id=None, **_):
    current_request_id.set(f"task:{task_id[:8]}" if task_id else "-")
