"""Active learning end to end: labels in, a real Celery worker retrains, the queue re-orders.

Labels go through the labeling service (which enqueues jobs on commit via the triggers),
jobs run on a worker subprocess, and the assertions read what annotators would get.
"""

import os
import signal
import time
from collections import Counter

import numpy as np
import pytest

from annotation.jobs.dispatch import job_enqueue
from annotation.models import Item, Job, JobKind, JobStatus
from annotation.services.labeling import annotation_submit, item_skip, queue_next
from annotation.services.projects import membership_set, project_create
from learning.models import ModelVersion
from learning.services.monitoring import evaluation_ids, forecast_section
from tests.integration.workers import slow_chunks
from tests.learning.test_al_services import make_texts

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def al_project(manager, make_user):
    """60 clear positive, 60 clear negative and 12 mixed texts; retrain after 16 labels."""
    project = project_create(
        creator=manager, name="AL live", labels=["positive", "negative"], retrain_every=16,
        label_issues_every=0, agreement_every=0, model_in_loop=True,
    )  # fmt: skip
    rng = np.random.default_rng(3)
    rows = [(k, t) for k, n in (("pos", 60), ("neg", 60), ("mixed", 12))
            for t in make_texts(rng, n, k)]  # fmt: skip
    order = rng.permutation(len(rows))  # fallback order mixes kinds, so labels cover both
    Item.objects.bulk_create(
        Item(project=project, external_id=str(i), text=rows[j][1], meta={"kind": rows[j][0]},
             sequence=i)
        for i, j in enumerate(order)
    )  # fmt: skip
    project.annotator = make_user("ann")
    membership_set(project=project, user=project.annotator, role="annotator")
    return project


def label_clear_items(project, n: int) -> None:
    """Oracle annotator: labels the next ``n`` clear items of the queue with their truth."""
    truth = {"pos": "positive", "neg": "negative"}
    done = 0
    while done < n:
        lease = queue_next(project=project, annotator=project.annotator)
        kind = lease.item.meta["kind"]
        label = truth.get(kind, "positive")
        annotation_submit(item=lease.item, annotator=project.annotator, labels=[label])
        done += 1


def al_jobs(project):
    return Job.objects.filter(project=project, kind=JobKind.ACTIVE_LEARNING)


def test_labels_trigger_a_job_and_the_queue_serves_the_most_uncertain_items(
    transactional_db, celery_worker, wait_for_job, al_project
):
    label_clear_items(al_project, 16)

    job = al_jobs(al_project).get()  # the 16th label enqueued it
    job = wait_for_job(job.pk, timeout=120)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.progress == 1.0 and job.result["n_labels"] == 16

    version = ModelVersion.objects.get(project=al_project)
    assert version.n_scored == Item.objects.filter(project=al_project, status="open").count()
    open_items = Item.objects.filter(project=al_project, status="open")
    expected = list(open_items.order_by("-priority", "sequence").values_list("id", flat=True)[:5])
    median_confidence = np.median(open_items.values_list("predicted_score", flat=True))
    served = []
    for _ in range(5):
        lease = queue_next(project=al_project, annotator=al_project.annotator)
        served.append(lease.item)
        annotation_submit(item=lease.item, annotator=al_project.annotator, labels=["positive"])
    # The queue follows the new scores: a diverse batch that opens with the most uncertain
    # item, every one of them less confident than the typical pool item.
    assert [item.pk for item in served] == expected
    # 16 labels make a weak model (the word vectors of the filler words are noise it cannot
    # average out yet), but it is already less sure of the mixed texts than of clear ones.
    confidence = {kind: np.mean(open_items.filter(meta__kind=kind).values_list(
        "predicted_score", flat=True)) for kind in ("mixed", "pos", "neg")}  # fmt: skip
    assert confidence["mixed"] < min(confidence["pos"], confidence["neg"])
    assert all(item.predicted_score < median_confidence for item in served)
    assert all(item.scored_by_id == version.pk for item in served)
    # Model in the loop: what the annotator was shown is the stored prediction.
    shown = served[0].annotations.get()
    assert (shown.suggestion, shown.model_version_id) == (served[0].predicted_label, version.pk)


def test_a_burst_of_labels_keeps_one_job_running_and_one_waiting(
    transactional_db, start_celery_worker, wait_for_job, al_project
):
    # A slow job (a worker that takes a second more per chunk of 10) runs while labels keep
    # arriving.
    worker = start_celery_worker(env=slow_chunks(1.0))
    label_clear_items(al_project, 4)
    slow, _ = job_enqueue(project=al_project, kind=JobKind.ACTIVE_LEARNING,
                          params={"chunk_items": 10})  # fmt: skip
    deadline = time.monotonic() + 60
    while Job.objects.get(pk=slow.pk).status == JobStatus.QUEUED:
        assert time.monotonic() < deadline, worker.log_tail()
        time.sleep(0.1)
    al_project.retrain_every = 1
    al_project.save(update_fields=["retrain_every"])

    seen = []
    for _ in range(15):
        label_clear_items(al_project, 1)
        seen.append(Counter(al_jobs(al_project).values_list("status", flat=True)))
    assert all(s.get("running", 0) <= 1 and s.get("queued", 0) <= 1 for s in seen)
    # 15 labels with retrain_every=1 coalesce into a few jobs (2 unless the slow one ends
    # mid-burst on a busy machine and the waiting one starts).
    assert 2 <= al_jobs(al_project).count() <= 4

    for job in al_jobs(al_project):
        assert wait_for_job(job.pk, timeout=180, workers=(worker,)).status == JobStatus.SUCCEEDED
    assert ModelVersion.objects.filter(project=al_project).count() == al_jobs(al_project).count()


def test_a_worker_killed_mid_job_leaves_previous_scores_and_the_job_is_retried_to_success(
    transactional_db, start_celery_worker, wait_for_job, al_project
):
    worker = start_celery_worker(env=slow_chunks(0.5))
    label_clear_items(al_project, 16)
    first = wait_for_job(al_jobs(al_project).get().pk, timeout=120, workers=(worker,))
    assert first.status == JobStatus.SUCCEEDED, first.error
    label_clear_items(al_project, 4)
    before = dict(Item.objects.filter(project=al_project).values_list("id", "priority"))
    job, _ = job_enqueue(project=al_project, kind=JobKind.ACTIVE_LEARNING,
                         params={"chunk_items": 10})  # fmt: skip

    deadline = time.monotonic() + 90
    while Job.objects.get(pk=job.pk).progress < 0.4:  # scoring chunks: the model is trained
        assert time.monotonic() < deadline, worker.log_tail()
        time.sleep(0.1)
    (child,) = worker.pool_pids()
    os.kill(child, signal.SIGKILL)

    assert dict(Item.objects.filter(project=al_project).values_list("id", "priority")) == before
    job = wait_for_job(job.pk, timeout=180, workers=(worker,))
    assert job.status == JobStatus.SUCCEEDED, job.error + worker.log_tail()
    assert job.attempts == 2
    assert "WorkerLostError" in worker.log()
    version = ModelVersion.objects.get(job=job)
    assert version.version == 2 and version.n_labels == 20
    assert (
        not Item.objects.filter(project=al_project, status="open")
        .exclude(scored_by=version)
        .exists()
    )


def test_the_first_import_of_an_embedding_project_puts_cluster_representatives_first(
    transactional_db, celery_worker, wait_for_job, manager, make_user
):
    """Three well-separated groups of embeddings, the largest first in import order: the
    import's cold-start job (run by the worker) makes the first three items served one per
    group, where the fallback order would serve three of the largest."""
    from annotation.services.importing import import_objects

    project = project_create(creator=manager, name="Embeddings", labels=["a", "b", "c"],
                             retrain_every=3, batch_size=3, label_issues_every=0,
                             agreement_every=0)  # fmt: skip
    rng = np.random.default_rng(0)
    centers = {"a": (10.0, 0.0), "b": (0.0, 10.0), "c": (-10.0, -10.0)}
    objects = [
        {"id": f"{group}{i}", "text": f"{group} {i}", "meta": {"group": group},
         "vector": (np.asarray(centers[group]) + rng.normal(0, 0.5, 2)).tolist()}
        for group, n in (("a", 30), ("b", 12), ("c", 8)) for i in range(n)
    ]  # fmt: skip
    assert import_objects(project=project, objects=objects, user=manager).created == 50

    job = wait_for_job(al_jobs(project).get().pk, timeout=120)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["cold_start"] is True and job.params["trigger"] == "import"
    annotator = make_user("ann")
    membership_set(project=project, user=annotator, role="annotator")
    served = []
    for _ in range(3):
        item = queue_next(project=project, annotator=annotator).item
        item_skip(item=item, annotator=annotator)  # not a label: no job is set off
        served.append(item)
    assert sorted(item.meta["group"] for item in served) == ["a", "b", "c"]


def test_an_evaluation_sample_is_served_first_and_scores_the_next_version(
    transactional_db, celery_worker, wait_for_job, al_project
):
    """On a real worker, through the chunked rescore: once the first model exists, the
    evaluation sample is what annotators get, before the model's picks, and the version
    trained after it is scored on it."""
    al_project.eval_sample = 10
    al_project.save(update_fields=["eval_sample"])
    label_clear_items(al_project, 4)
    first, _ = job_enqueue(project=al_project, kind=JobKind.ACTIVE_LEARNING,
                           params={"chunk_items": 10})  # fmt: skip
    assert wait_for_job(first.pk, timeout=120).status == JobStatus.SUCCEEDED
    sample = evaluation_ids(project=al_project)
    served = []
    for _ in range(10):
        lease = queue_next(project=al_project, annotator=al_project.annotator)
        served.append(lease.item_id)
        kind = lease.item.meta["kind"]
        annotation_submit(item=lease.item, annotator=al_project.annotator,
                          labels=["negative" if kind == "neg" else "positive"])  # fmt: skip
    assert served == sample
    second, _ = job_enqueue(project=al_project, kind=JobKind.ACTIVE_LEARNING,
                            params={"chunk_items": 10})  # fmt: skip
    assert wait_for_job(second.pk, timeout=120).status == JobStatus.SUCCEEDED
    latest = ModelVersion.objects.filter(project=al_project).latest("version")
    assert (latest.n_labels, latest.eval_n) == (14, 10) and latest.eval_macro_f1 is not None
    assert forecast_section(project=al_project)["metric"] == "eval_macro_f1"
    # The sample is labeled: the queue is back to the model's own order.
    nxt = queue_next(project=al_project, annotator=al_project.annotator)
    assert nxt.item_id not in sample and nxt.item.priority <= 2


def test_with_three_labels_each_version_stores_the_least_stable_labels_kappa(
    transactional_db, celery_worker, wait_for_job, al_project
):
    """On a real worker: the second version's stop-set kappa is the rule's on the predictions
    both versions stored (the smallest one-vs-rest kappa over the labels the stop set
    resolves, or the plain kappa when smaller), and the stats name its label, if any. 150
    items of each kind, so the stop set can resolve each label's kappa."""
    from annotation.models import Label
    from annotation.stats import project_stats
    from learning.monitoring.stopping import least_stable, prediction_kappa

    Label.objects.create(project=al_project, name="mixed", position=2)
    rng = np.random.default_rng(4)
    more = [(k, t) for k, n in (("pos", 90), ("neg", 90), ("mixed", 138))
            for t in make_texts(rng, n, k)]  # fmt: skip
    Item.objects.bulk_create(
        Item(project=al_project, external_id=f"more-{i}", text=text, meta={"kind": kind},
             sequence=1000 + i)
        for i, (kind, text) in enumerate(more)
    )  # fmt: skip
    truth = {"pos": "positive", "neg": "negative", "mixed": "mixed"}
    for _ in range(2):
        for _ in range(12):
            lease = queue_next(project=al_project, annotator=al_project.annotator)
            annotation_submit(item=lease.item, annotator=al_project.annotator,
                              labels=[truth[lease.item.meta["kind"]]])  # fmt: skip
        job, _ = job_enqueue(project=al_project, kind=JobKind.ACTIVE_LEARNING,
                             params={"chunk_items": 40})  # fmt: skip
        assert wait_for_job(job.pk, timeout=120).status == JobStatus.SUCCEEDED
    first, second = ModelVersion.objects.filter(project=al_project).order_by("version")
    ids = sorted(first.stop_predictions)
    before = [first.stop_predictions[i] for i in ids]
    after = [second.stop_predictions[i] for i in ids]
    kappa, label = least_stable(before, after)
    assert second.stop_kappa == pytest.approx(kappa) and second.stop_least_stable == (label or "")
    assert label in {"positive", "negative", "mixed", None}
    assert kappa <= prediction_kappa(before, after) + 1e-12
    assert label is not None or kappa == pytest.approx(prediction_kappa(before, after))
    kappas = project_stats(project=al_project)["stopping"]["kappas"]
    assert [(k["kappa"], k["least_stable"]) for k in kappas] == [
        (None, None), (second.stop_kappa, label)]  # fmt: skip
