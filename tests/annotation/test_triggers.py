"""New labels set off background jobs by per-project thresholds, cheaply and coalesced."""

import pytest

from annotation.jobs.triggers import items_imported, labels_changed
from annotation.models import Annotation, Item, Job, JobKind

pytestmark = pytest.mark.django_db


def add_labels(project, annotator, n, start=0):
    for i in range(start, start + n):
        item = Item.objects.create(project=project, external_id=f"t{i}", text=f"text {i}")
        Annotation.objects.create(
            item=item, project=project, annotator=annotator, labels=["positive"]
        )


@pytest.fixture
def thresholds(project):
    project.retrain_every, project.label_issues_every, project.agreement_every = 3, 5, 0
    project.save()
    return project


def kinds(project):
    return sorted(Job.objects.filter(project=project).values_list("kind", flat=True))


def test_nothing_before_a_threshold(thresholds, manager):
    add_labels(thresholds, manager, 2)
    assert labels_changed(project_id=thresholds.pk) == []
    assert kinds(thresholds) == []


def test_each_kind_starts_at_its_own_threshold_and_off_means_never(thresholds, manager):
    add_labels(thresholds, manager, 3)
    assert [j.kind for j in labels_changed(project_id=thresholds.pk)] == [JobKind.ACTIVE_LEARNING]
    add_labels(thresholds, manager, 2, start=3)
    assert [j.kind for j in labels_changed(project_id=thresholds.pk)] == [JobKind.LABEL_ISSUES]
    assert JobKind.AGREEMENT not in kinds(thresholds)  # agreement_every = 0: off


def test_a_job_records_its_watermark_and_counting_restarts_from_it(thresholds, manager):
    add_labels(thresholds, manager, 3)
    (job,) = labels_changed(project_id=thresholds.pk)
    assert job.params["watermark"] == Annotation.objects.order_by("-id").first().pk
    Job.objects.filter(pk=job.pk).update(status="succeeded")
    add_labels(thresholds, manager, 2, start=3)
    assert JobKind.ACTIVE_LEARNING not in [j.kind for j in labels_changed(project_id=thresholds.pk)]
    add_labels(thresholds, manager, 1, start=5)
    assert JobKind.ACTIVE_LEARNING in [j.kind for j in labels_changed(project_id=thresholds.pk)]


def test_a_burst_queues_one_waiting_job_per_kind(thresholds, manager):
    add_labels(thresholds, manager, 3)
    labels_changed(project_id=thresholds.pk)
    add_labels(thresholds, manager, 3, start=3)
    # The first job still waits: the burst coalesces into it.
    assert [j.kind for j in labels_changed(project_id=thresholds.pk)] == [JobKind.LABEL_ISSUES]
    assert kinds(thresholds).count(JobKind.ACTIVE_LEARNING) == 1


def test_the_check_is_a_fixed_number_of_queries(thresholds, manager, django_assert_max_num_queries):
    add_labels(thresholds, manager, 2)
    with django_assert_max_num_queries(3):
        labels_changed(project_id=thresholds.pk)


def test_while_a_job_waits_new_labels_cost_no_enqueue(
    thresholds, manager, django_assert_max_num_queries
):
    add_labels(thresholds, manager, 5)
    labels_changed(project_id=thresholds.pk)  # queues active learning and label issues
    add_labels(thresholds, manager, 5, start=5)
    with django_assert_max_num_queries(2):  # thresholds + latest jobs: both kinds are waiting
        assert labels_changed(project_id=thresholds.pk) == []


def import_pool(project, user, *, vectors: bool):
    from annotation.services.importing import import_objects

    objects = [{"id": f"i{i}", "text": f"item {i}"} for i in range(6)]
    if vectors:
        for i, row in enumerate(objects):
            row["vector"] = [float(i), 1.0]
    result = import_objects(project=project, objects=objects, user=user)
    assert result.created == 6, result.as_dict()


def test_the_first_import_of_an_embedding_project_starts_a_cold_start_job(
    project, manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        import_pool(project, manager, vectors=True)
    assert callbacks and kinds(project) == []  # only once the import has committed
    for callback in callbacks:
        callback()

    (job,) = Job.objects.filter(project=project)
    assert (job.kind, job.status, job.params["trigger"]) == (
        JobKind.ACTIVE_LEARNING,
        "queued",
        "import",
    )


def test_later_imports_start_no_other_job(project, manager):
    import_pool(project, manager, vectors=True)
    assert items_imported(project=project) is not None
    Job.objects.update(status="succeeded")
    assert items_imported(project=project) is None
    assert kinds(project) == [JobKind.ACTIVE_LEARNING]


@pytest.mark.parametrize(
    ("vectors", "strategy", "retrain_every"),
    [(False, "margin", 20), (True, "random", 20), (True, "margin", 0)],
    ids=["text (k-means did worse than the fallback order)", "random strategy", "manual jobs"],
)
def test_no_cold_start_job_for(project, manager, vectors, strategy, retrain_every):
    project.strategy, project.retrain_every = strategy, retrain_every
    project.save()
    import_pool(project, manager, vectors=vectors)
    assert items_imported(project=project) is None
    assert kinds(project) == []
