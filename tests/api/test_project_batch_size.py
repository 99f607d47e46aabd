"""The diverse batch size is a project setting of its own, bounded, and the job uses it."""

import numpy as np

from annotation.jobs.runner import job_execute
from annotation.models import Item, Job, JobKind
from tests.learning.test_al_services import text_project  # noqa: F401


def test_batch_size_is_validated_in_the_api(api, project):
    url = f"/api/projects/{project.pk}"
    for bad in (0, 1001, -5):
        response = api.patch(url, {"batch_size": bad}, format="json")
        assert response.status_code == 400 and "batch_size" in response.json(), bad
    assert api.patch(url, {"batch_size": 1000}, format="json").json()["batch_size"] == 1000
    started = api.post(f"{url}/jobs", {"kind": "active_learning", "batch": 1001}, format="json")
    assert started.status_code == 400 and "batch" in started.json()


def test_the_job_puts_batch_size_items_first_whatever_retrain_every_is(text_project):  # noqa: F811
    text_project.retrain_every, text_project.batch_size = 1_000_000, 7
    text_project.save()
    job = Job.objects.create(project=text_project, kind=JobKind.ACTIVE_LEARNING)
    job_execute(job_id=job.pk, task_id="test")

    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    priority = np.asarray(
        Item.objects.filter(project=text_project, status="open").values_list("priority", flat=True)
    )
    assert (priority > 1).sum() == 7
