"""When drift checks run by themselves: after an import (a setting), and on a schedule."""

from annotation.jobs.tasks import enqueue_drift_checks
from annotation.jobs.triggers import drifts_due
from annotation.models import Annotation, Item, Job, JobKind


def import_texts(api, project, ids, capture) -> None:
    body = {"items": [{"id": str(i), "text": f"t{i}"} for i in ids]}
    with capture(execute=True):  # the trigger runs once the import commits
        answer = api.post(f"/api/projects/{project.pk}/import", body, format="json")
    assert answer.status_code == 201


def test_an_import_queues_one_drift_job_when_the_setting_is_on(
    project, api, settings, django_capture_on_commit_callbacks
):
    settings.QUORUM_DRIFT_AFTER_IMPORT = True
    import_texts(api, project, range(10), django_capture_on_commit_callbacks)
    import_texts(api, project, range(10, 20), django_capture_on_commit_callbacks)
    assert Job.objects.filter(project=project, kind=JobKind.DRIFT).count() == 1  # coalesced


def test_no_drift_job_after_import_when_the_setting_is_off(
    project, api, settings, django_capture_on_commit_callbacks
):
    settings.QUORUM_DRIFT_AFTER_IMPORT = False
    import_texts(api, project, range(3), django_capture_on_commit_callbacks)
    assert not Job.objects.filter(project=project, kind=JobKind.DRIFT).exists()


def test_the_schedule_checks_projects_with_new_items_or_labels(project, manager):
    assert drifts_due() == []  # no items: nothing to compare
    item = Item.objects.create(project=project, external_id="a", text="t")
    (first,) = drifts_due()
    Job.objects.filter(pk=first.pk).update(status="succeeded")
    assert drifts_due() == []  # nothing new since
    Annotation.objects.create(item=item, project=project, annotator=manager, labels=["positive"])
    assert len(enqueue_drift_checks()) == 1
