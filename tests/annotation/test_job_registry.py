"""The job core's registry: every kind has the handler its app registered from ``ready()``,
and "is a job due?" is one query each, however many kinds or projects."""

import pytest

from annotation.jobs import registry
from annotation.jobs.dispatch import job_enqueue
from annotation.jobs.runner import job_execute
from annotation.jobs.selectors import (
    kinds_due_after_labels,
    projects_due_for_agreement,
    projects_due_for_audit,
)
from annotation.models import Annotation, Item, Job, JobKind, JobStatus
from annotation.services.projects import project_create


def test_every_kind_has_the_handler_its_app_registered():
    assert registry.registered_kinds() == frozenset(JobKind.values)
    learning = {JobKind.ACTIVE_LEARNING, JobKind.LABEL_ISSUES, JobKind.AGREEMENT, JobKind.AUDIT,
                JobKind.COMPRESSION, JobKind.DRIFT}  # fmt: skip
    for kind in JobKind.values:
        handler = registry.job_handler(kind)
        owner = "learning." if kind in learning else "annotation."
        assert handler.__module__.startswith(owner), (kind, handler.__module__)


def test_registering_again_is_a_no_op_and_a_second_handler_is_refused():
    path = registry._HANDLERS[JobKind.AUDIT]
    registry.register_handler(JobKind.AUDIT, path)  # ready() may run twice
    with pytest.raises(ValueError, match="already runs"):
        registry.register_handler(JobKind.AUDIT, "somewhere.else.handler")
    with pytest.raises(ValueError, match="Unknown job kind"):
        registry.register_handler("compress", "somewhere.else.handler")


@pytest.mark.django_db(transaction=True)
def test_a_kind_without_a_handler_fails_its_job_readably(project, monkeypatch):
    monkeypatch.delitem(registry._HANDLERS, JobKind.SNAPSHOT)  # its app is "not installed"
    job = Job.objects.create(project=project, kind=JobKind.SNAPSHOT)
    assert job_execute(job_id=job.pk, task_id="t1") is None
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error == "No handler is registered for 'snapshot' jobs."


def _label(project, user, n, start=0):
    for i in range(start, start + n):
        item = Item.objects.create(project=project, external_id=f"d{i}", text=f"text {i}")
        Annotation.objects.create(item=item, project=project, annotator=user, labels=["positive"])


@pytest.mark.django_db
def test_kinds_due_after_labels_is_one_query(project, manager, django_assert_num_queries):
    every = {JobKind.ACTIVE_LEARNING: 3, JobKind.LABEL_ISSUES: 5, JobKind.AGREEMENT: 1}
    _label(project, manager, 3)
    with django_assert_num_queries(1):
        due = kinds_due_after_labels(project_id=project.pk, every=every)
    assert due == [JobKind.ACTIVE_LEARNING, JobKind.AGREEMENT]
    job_enqueue(project=project, kind=JobKind.ACTIVE_LEARNING)  # waits: not due again
    Job.objects.create(project=project, kind=JobKind.AGREEMENT, status=JobStatus.SUCCEEDED,
                       params={"watermark": Annotation.objects.latest("id").pk})  # fmt: skip
    _label(project, manager, 2, start=3)
    with django_assert_num_queries(1):
        due = kinds_due_after_labels(project_id=project.pk, every=every)
    assert due == [JobKind.LABEL_ISSUES, JobKind.AGREEMENT]


@pytest.mark.django_db
def test_the_beat_due_checks_are_one_query_for_any_number_of_projects(
    manager, django_assert_num_queries
):
    projects = []
    for n in range(3):
        project = project_create(creator=manager, name=f"P{n}", labels=["positive", "negative"])
        project.agreement_every = 10
        project.save()
        projects.append(project)
    for project in projects[:2]:
        item = Item.objects.create(project=project, external_id="x", text="x", annotation_count=2)
        Annotation.objects.create(
            item=item, project=project, annotator=manager, labels=["positive"]
        )
    Item.objects.create(project=projects[2], external_id="y", text="y")
    Job.objects.create(project=projects[0], kind=JobKind.AGREEMENT,
                       params={"watermark": Annotation.objects.latest("id").pk})  # fmt: skip
    with django_assert_num_queries(1):
        assert projects_due_for_agreement() == [projects[1]]
    with django_assert_num_queries(1):
        assert sorted(p.pk for p in projects_due_for_audit()) == [p.pk for p in projects]
