"""The agreement job's database seam: bulk load, every scope stored, history, edge cases, the sweep."""

import json
import math

import krippendorff
import numpy as np
import pytest

from annotation.agreement_selectors import agreement_history, agreement_latest
from annotation.jobs.selectors import projects_due_for_agreement
from annotation.models import (
    AgreementRecord,
    Annotation,
    AnnotationSource,
    Item,
    Job,
    JobKind,
    JobStatus,
)
from annotation.services.projects import project_create
from learning.agreement.reports import UNUSED
from learning.agreement.service import agreement_job_handler, load_ratings
from learning.tasks import enqueue_agreement_jobs

LABELS = ["positive", "negative", "neutral"]


def seeded_votes(seed: int, n_items: int, n_annotators: int) -> np.ndarray:
    """(N, R) label indices, -1 missing: 80%-accurate annotators, 2 or 3 per item."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n_items)
    M = np.where(rng.random((n_items, n_annotators)) < 0.8, truth[:, None],
                 rng.integers(0, 3, (n_items, n_annotators)))  # fmt: skip
    keep = rng.random(M.shape) < 0.6
    keep[np.arange(n_items), rng.integers(0, n_annotators, n_items)] = True
    keep[np.arange(n_items), (np.arange(n_items) + 1) % n_annotators] = True
    return np.where(keep, M, -1)


def store(project, users, M, labels=LABELS):
    items = Item.objects.bulk_create(
        [Item(project=project, external_id=str(u), text="t") for u in range(M.shape[0])]
    )
    Annotation.objects.bulk_create(
        Annotation(item=items[u], project=project, annotator=users[r], labels=[labels[M[u, r]]])
        for u, r in zip(*np.nonzero(M >= 0), strict=True)
    )
    for item, m in zip(items, (M >= 0).sum(axis=1), strict=True):
        item.annotation_count = m
    Item.objects.bulk_update(items, ["annotation_count"])
    return items


def run(project):
    job = Job.objects.create(project=project, kind=JobKind.AGREEMENT, status=JobStatus.RUNNING)
    progress = []
    result = agreement_job_handler(job, progress.append)
    assert progress == sorted(progress)
    return job, result


@pytest.fixture
def users(make_user):
    return [make_user(f"a{i}") for i in range(4)]


def test_records_match_the_reference_implementation(project, users):
    M = seeded_votes(0, 60, 4)
    store(project, users, M)
    job, result = run(project)
    latest = agreement_latest(project=project)
    expected = krippendorff.alpha(np.where(M < 0, np.nan, M).T.astype(float),
                                  level_of_measurement="nominal")  # fmt: skip
    assert latest["project"]["krippendorff_alpha"]["value"] == pytest.approx(expected, abs=1e-9)
    assert result["krippendorff_alpha"] == pytest.approx(expected, abs=1e-9)
    m = (M >= 0).sum(axis=1)
    assert latest["project"]["krippendorff_alpha"]["n_annotations"] == int(m[m >= 2].sum())
    assert result["n_annotations"] == int(m.sum())
    assert set(latest["project"]) == {
        "krippendorff_alpha",
        "fleiss_kappa",
        "percent",
        "cohen_kappa",
    }
    assert set(latest["labels"]) == set(LABELS)
    assert set(latest["annotators"]) == {u.username for u in users}
    assert len(latest["pairs"]) == 6  # every pair of 4 annotators co-rated something
    assert len(result["coincidence"]) == 3 and result["n_annotators"] == 4
    json.dumps(result)  # the job result is JSON


def test_history_grows_by_one_point_per_run_and_a_rerun_overwrites(project, users):
    store(project, users, seeded_votes(1, 30, 4))
    job, _ = run(project)
    n_rows = AgreementRecord.objects.filter(job=job).count()
    agreement_job_handler(job, lambda f: None)  # redelivered message: same job again
    assert AgreementRecord.objects.filter(job=job).count() == n_rows
    run(project)
    series = agreement_history(project=project)["series"]
    assert len(series["krippendorff_alpha"]) == 2
    assert series["krippendorff_alpha"][0]["at"] <= series["krippendorff_alpha"][1]["at"]


def test_bulk_load_skips_reviews_and_imports(project, users):
    items = store(project, users, np.array([[0, 0, -1, -1]]))
    Annotation.objects.create(item=items[0], project=project, labels=["negative"],
                              source=AnnotationSource.IMPORT)  # fmt: skip
    Annotation.objects.create(item=items[0], project=project, annotator=users[2],
                              labels=["negative"], source=AnnotationSource.REVIEW)  # fmt: skip
    data = load_ratings(project=project)
    assert data.M.tolist() == [[0, 0]] and data.categories == LABELS


@pytest.mark.parametrize(
    "M, reason",
    [
        (np.zeros((0, 0), dtype=int), "no item has two or more ratings"),  # all missing
        (np.array([[0], [1], [2]]), "no item has two or more ratings"),  # one annotator
        (np.array([[0, -1], [-1, 1]]), "no item has two or more ratings"),  # no overlap
    ],
)
def test_not_enough_data_is_a_reason_never_nan(project, users, M, reason):
    store(project, users, M)
    _, result = run(project)
    latest = agreement_latest(project=project)
    alpha = latest["project"]["krippendorff_alpha"]
    assert alpha["value"] is None and alpha["reason"] == reason and result["reason"] == reason
    for row in AgreementRecord.objects.values("value", "reason"):
        assert row["value"] is None and row["reason"] or math.isfinite(row["value"])


def test_perfect_agreement_is_one_and_an_unused_label_has_a_reason(project, users):
    store(project, users, np.array([[0, 0, 0, -1], [1, 1, -1, 1], [0, -1, 0, 0]]))
    run(project)
    latest = agreement_latest(project=project)
    assert latest["project"]["krippendorff_alpha"]["value"] == 1.0
    assert latest["project"]["cohen_kappa"]["value"] == 1.0
    assert latest["labels"]["neutral"]["krippendorff_alpha"] == {"value": None, "n_items": 3, "n_annotations": 9,
                                           "reason": UNUSED}  # fmt: skip


def test_multi_label_projects_get_per_label_binary_agreement(manager, users):
    project = project_create(
        creator=manager, name="Topics", labels=["a", "b", "c"], multi_label=True
    )
    items = store(project, users, np.array([[0, 0], [1, 1]]), labels=["a", "b"])
    Annotation.objects.filter(item=items[0], annotator=users[0]).update(labels=["a", "b"])
    run(project)
    labels = {
        k: v["krippendorff_alpha"] for k, v in agreement_latest(project=project)["labels"].items()
    }
    assert labels["a"]["value"] == 1.0  # both chose a on item 0, neither on item 1
    assert labels["b"]["value"] is not None and labels["b"]["value"] < 1.0
    assert labels["c"]["value"] is None


def test_the_sweep_picks_projects_with_new_multi_annotated_items(project, users):
    assert projects_due_for_agreement() == []
    store(project, users, np.array([[0, 1, -1, -1]]))
    assert projects_due_for_agreement() == [project]
    Job.objects.create(project=project, kind=JobKind.AGREEMENT,
                       params={"watermark": Annotation.objects.latest("id").id})  # fmt: skip
    assert projects_due_for_agreement() == []


def test_the_beat_task_enqueues_one_coalesced_job_per_due_project(project, users):
    store(project, users, np.array([[0, 1, -1, -1]]))
    first = enqueue_agreement_jobs()
    assert enqueue_agreement_jobs() == []  # nothing new since that job's watermark
    assert Job.objects.filter(kind=JobKind.AGREEMENT).count() == 1
    job = Job.objects.get(pk=first[0])
    assert (job.kind, job.status, job.params["trigger"]) == ("agreement", "queued", "schedule")
