"""When audits run by themselves: after an import (a setting), and on a schedule."""

from annotation.jobs.tasks import enqueue_audits
from annotation.jobs.triggers import audits_due
from annotation.models import Item, Job, JobKind


def import_texts(api, project, ids, capture) -> None:
    body = {"items": [{"id": str(i), "text": f"t{i}"} for i in ids]}
    with capture(execute=True):  # the trigger runs once the import commits
        answer = api.post(f"/api/projects/{project.pk}/import", body, format="json")
    assert answer.status_code == 201


def test_an_import_queues_one_audit_when_the_setting_is_on(
    project, api, settings, django_capture_on_commit_callbacks
):
    settings.QUORUM_AUDIT_AFTER_IMPORT = True
    import_texts(api, project, range(10), django_capture_on_commit_callbacks)
    import_texts(api, project, range(10, 20), django_capture_on_commit_callbacks)
    # two imports in a row: the audit still waiting absorbs the second request
    assert Job.objects.filter(project=project, kind=JobKind.AUDIT).count() == 1


def test_no_audit_after_import_when_the_setting_is_off(
    project, api, settings, django_capture_on_commit_callbacks
):
    settings.QUORUM_AUDIT_AFTER_IMPORT = False
    import_texts(api, project, range(3), django_capture_on_commit_callbacks)
    assert not Job.objects.filter(project=project, kind=JobKind.AUDIT).exists()


def test_the_schedule_audits_projects_whose_items_changed_since_their_last_audit(project):
    assert audits_due() == []  # no items: nothing to audit
    Item.objects.create(project=project, external_id="a", text="t")
    (first,) = audits_due()
    Job.objects.filter(pk=first.pk).update(status="succeeded")
    assert audits_due() == []  # nothing new since
    Item.objects.create(project=project, external_id="b", text="t")
    assert len(enqueue_audits()) == 1
