"""The active-learning seam on a real database: training labels, model versions, bulk scores.

The handler is called directly (no worker) with a list as its progress callback.
Texts are synthetic and seeded: "great"-words are positive, "awful"-words negative,
and items holding both are the ones a margin strategy must put first.
"""

import threading
import time

import numpy as np
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from annotation.label_selectors import predicted_label_counts
from annotation.models import Annotation, IssueStatus, Item, Job, JobKind, LabelIssue
from annotation.queue_selectors import QUEUE_ORDER
from annotation.services.labeling import queue_next
from annotation.services.projects import membership_set, project_create
from annotation.stats import label_distribution
from learning.models import ModelVersion, ScoringChunk
from learning.rawsql import scores_write
from learning.services import score_swap
from learning.services.active_learning import active_learning_job_handler
from learning.services.score_chunks import chunk_claim, chunk_score, chunks_plan
from learning.services.training_data import label_targets, training_labels

POS = ["great", "lovely", "excellent", "superb", "wonderful"]
NEG = ["awful", "terrible", "horrible", "dreadful", "poor"]
FILL = ["the", "film", "was", "plot", "it", "and", "acting"]


def make_texts(rng: np.random.Generator, n: int, kind: str) -> list[str]:
    out = []
    for _ in range(n):
        words = list(rng.choice(FILL, 4))
        if kind in ("pos", "mixed"):
            words += list(rng.choice(POS, 2))
        if kind in ("neg", "mixed"):
            words += list(rng.choice(NEG, 2))
        rng.shuffle(words)
        out.append(" ".join(words))
    return out


@pytest.fixture
def text_project(manager):
    """40 positive, 40 negative, 10 mixed items; 8 + 8 clear ones labeled by the manager."""
    project = project_create(
        creator=manager, name="AL", labels=["positive", "negative"], retrain_every=5
    )
    rng = np.random.default_rng(0)
    specs = [("pos", 40), ("neg", 40), ("mixed", 10)]
    items = []
    for kind, n in specs:
        for text in make_texts(rng, n, kind):
            items.append(Item(project=project, external_id=f"{kind}-{len(items)}", text=text,
                              meta={"kind": kind}, sequence=len(items)))  # fmt: skip
    Item.objects.bulk_create(items)
    for kind, label in (("pos", "positive"), ("neg", "negative")):
        for item in Item.objects.filter(project=project, meta__kind=kind).order_by("id")[:8]:
            label_item(item, [label], manager)
    return project


def label_item(item: Item, labels: list[str], user, **extra) -> Annotation:
    annotation = Annotation.objects.create(
        item=item, project=item.project, annotator=user, labels=labels, **extra
    )
    Item.objects.filter(pk=item.pk).update(status="complete", annotation_count=1)
    return annotation


def run(project, **params) -> tuple[Job, dict, list[float]]:
    job = Job.objects.create(project=project, kind=JobKind.ACTIVE_LEARNING, params=params,
                             status="running", attempts=1)  # fmt: skip
    progress: list[float] = []
    return job, active_learning_job_handler(job, progress.append), progress


def test_training_labels_prefer_final_then_consensus_then_majority(db, project, make_user):
    users = [make_user(f"u{i}") for i in range(3)]
    items = Item.objects.bulk_create(
        [Item(project=project, external_id=str(i), text=f"t{i}") for i in range(5)]
    )
    for user, label in zip(users, ["negative", "negative", "positive"], strict=True):
        for item in items:
            Annotation.objects.create(item=item, project=project, annotator=user, labels=[label])
    Item.objects.filter(pk=items[0].pk).update(
        final_labels=["neutral"], consensus_labels=["positive"]
    )
    Item.objects.filter(pk=items[1].pk).update(consensus_labels=["positive"])
    run_job = Job.objects.create(project=project, kind=JobKind.LABEL_ISSUES)
    LabelIssue.objects.create(project=project, item=items[2], job=run_job, given_label="negative",
                              suggested_label="positive", quality=0.1, reason="x",
                              labels_fingerprint="f")  # fmt: skip
    LabelIssue.objects.create(project=project, item=items[3], job=run_job, given_label="negative",
                              suggested_label="positive", quality=0.1, reason="x",
                              labels_fingerprint="f", status=IssueStatus.DISMISSED)  # fmt: skip

    training = training_labels(project=project)

    assert training.item_ids.tolist() == [items[0].pk, items[1].pk, items[3].pk, items[4].pk]
    assert training.labels == [("neutral",), ("positive",), ("negative",), ("negative",)]
    assert training.sources == ["final", "consensus", "majority", "majority"]
    names = ["positive", "negative", "neutral"]
    assert label_targets(training, names=names, multi_label=False).tolist() == [2, 0, 1, 1]


def test_job_trains_a_version_and_puts_mixed_items_first(db, text_project):
    # batch=2 draws its diverse pair from the 2 * 5 best-scored candidates, mostly mixed.
    job, result, progress = run(text_project, batch=2)

    version = ModelVersion.objects.get(project=text_project)
    assert (version.version, version.n_labels, version.job_id) == (1, 16, job.pk)
    assert version.cv_accuracy == pytest.approx(1.0) and result["cv_macro_f1"] == pytest.approx(1.0)
    open_items = Item.objects.filter(project=text_project, status="open")
    assert result["n_scored"] == open_items.count() == version.n_scored == 74
    assert set(open_items.values_list("scored_by", flat=True)) == {version.pk}
    top = list(open_items.order_by("-priority").values_list("meta__kind", flat=True)[:10])
    # 16 labels make a modest model: a few one-sided texts are about as unsure as a mixed one.
    assert top[0] == "mixed" and top.count("mixed") >= 8
    clear = open_items.filter(meta__kind="pos").values_list("predicted_label", "predicted_score")
    assert {label for label, _ in clear} == {"positive"}
    assert min(score for _, score in clear) > 0.5
    assert progress == sorted(progress) and progress[-1] < 1.0  # job_succeed sets 1.0


def test_chunked_scoring_covers_the_pool_and_cleans_up(db, text_project):
    _, result, _ = run(text_project, chunk_items=10, batch=2)

    assert result["chunks"] >= 7
    assert not Item.objects.filter(project=text_project, status="open", scored_by=None).exists()
    assert not ScoringChunk.objects.exists()
    top = Item.objects.filter(project=text_project, status="open").order_by("-priority")[:10]
    kinds = [item.meta["kind"] for item in top]
    assert kinds[0] == "mixed" and kinds.count("mixed") >= 8


def test_a_job_that_dies_before_the_swap_leaves_previous_scores_and_a_rerun_replaces_its_model(
    db, text_project
):
    job, _, _ = run(text_project, batch=5)
    before = dict(Item.objects.filter(project=text_project).values_list("id", "priority"))
    version = ModelVersion.objects.get(job=job)
    # Half a rerun: chunks planned, one scored, then the worker "dies" (nothing applied).
    chunks_plan(job=job, model_version=version, chunk_items=10)
    chunk_score(chunk_claim(job_id=job.pk, claim="dead"))
    assert dict(Item.objects.filter(project=text_project).values_list("id", "priority")) == before
    ModelVersion.objects.filter(pk=version.pk).update(cv_accuracy=0.0, n_scored=0)  # stale

    Job.objects.filter(pk=job.pk).update(attempts=2)
    job.refresh_from_db()
    active_learning_job_handler(job, lambda _: None)

    rerun = ModelVersion.objects.get(project=text_project)
    assert (rerun.pk, rerun.version) == (version.pk, 1)  # the same row, a new model in it
    assert rerun.cv_accuracy == pytest.approx(1.0) and rerun.n_scored == 74
    assert not ScoringChunk.objects.exists()


def queue_order(project) -> list[int]:
    return list(Item.objects.filter(project=project, status="open").order_by(*QUEUE_ORDER)
                .values_list("id", flat=True))  # fmt: skip


def test_a_rescore_writes_its_head_above_older_generations_and_leaves_the_rest(
    db, text_project, manager, monkeypatch
):
    monkeypatch.setattr(score_swap, "HEAD_MIN_ROWS", 30)  # 74 open items: 30 written
    monkeypatch.setattr(score_swap, "HEAD_PER_SERVED", 1)
    monkeypatch.setattr(score_swap, "SWAP_ROWS", 7)
    first, _, _ = run(text_project, batch=3)
    open_items = Item.objects.filter(project=text_project, status="open")
    old = dict(open_items.values_list("id", "score_generation"))
    assert sorted(set(old.values())) == [0, score_swap.score_generation(job_id=first.pk, attempt=1)]
    label_item(open_items.order_by(*QUEUE_ORDER).first(), ["positive"], manager)

    job, result, _ = run(text_project, batch=3)

    version = ModelVersion.objects.get(job=job)
    generation = score_swap.score_generation(job_id=job.pk, attempt=1)
    head = open_items.filter(score_generation=generation)
    assert (result["n_scored"], result["n_written"], head.count()) == (73, 30, 30)
    assert set(head.values_list("scored_by", flat=True)) == {version.pk}
    assert sum(version.predicted_counts.values()) == version.n_scored == 73
    # The queue serves the new head by its priority, the batch first, then older heads.
    order = queue_order(text_project)
    assert order[:30] == list(
        head.order_by("-priority", "sequence", "id").values_list("id", flat=True)
    )
    assert open_items.filter(pk__in=order[:3], priority__gt=1).count() == 3
    rest = open_items.exclude(score_generation=generation)
    assert {i: old[i] for i in rest.values_list("id", flat=True)} == dict(
        rest.values_list("id", "score_generation")
    )  # untouched, in their own generation's order below the head
    assert [old[i] for i in order[30:]] == sorted((old[i] for i in order[30:]), reverse=True)


def test_a_job_that_dies_mid_swap_and_is_retried_leaves_the_queue_as_a_clean_run_does(
    db, text_project, monkeypatch
):
    monkeypatch.setattr(score_swap, "HEAD_MIN_ROWS", 40)
    monkeypatch.setattr(score_swap, "HEAD_PER_SERVED", 1)
    monkeypatch.setattr(score_swap, "SWAP_ROWS", 7)
    job = Job.objects.create(project=text_project, kind=JobKind.ACTIVE_LEARNING,
                             params={"batch": 3}, status="running", attempts=1)  # fmt: skip
    with transaction.atomic():  # a clean run, rolled back: the order to reach
        active_learning_job_handler(job, lambda _: None)
        clean = queue_order(text_project)
        transaction.set_rollback(True)
    write, calls = score_swap.scores_write, []

    def dies_on_the_third_slice(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("worker lost")
        return write(*args, **kwargs)

    monkeypatch.setattr(score_swap, "scores_write", dies_on_the_third_slice)
    with pytest.raises(RuntimeError):
        active_learning_job_handler(job, lambda _: None)
    open_items = Item.objects.filter(project=text_project, status="open")
    dead = score_swap.score_generation(job_id=job.pk, attempt=1)
    assert open_items.filter(score_generation=dead).count() == 3 + 7  # the batch and a slice
    assert queue_order(text_project)[:3] == clean[:3]  # the new batch already leads

    monkeypatch.setattr(score_swap, "scores_write", write)
    Job.objects.filter(pk=job.pk).update(attempts=2)
    job.refresh_from_db()
    with CaptureQueriesContext(connection) as queries:
        active_learning_job_handler(job, lambda _: None)

    assert queue_order(text_project) == clean
    assert not open_items.filter(score_generation=dead).exists()  # all rewritten, newer
    assert not [q for q in queries if 'scored_by_id" = NULL' in q["sql"]]


def test_items_waiting_for_more_labels_come_before_a_new_head(db, text_project, manager, make_user):
    """Started items first: an overlap item labeled once, never rescored, leads the queue."""
    waiting = Item.objects.filter(project=text_project, status="open").order_by("id").last()
    Item.objects.filter(pk=waiting.pk).update(required_overlap=2)
    label_item(waiting, ["positive"], manager)
    Item.objects.filter(pk=waiting.pk).update(status="open")
    Item.objects.filter(project=text_project, status="open").exclude(pk=waiting.pk).update(
        required_overlap=1
    )
    run(text_project, batch=3)
    waiting.refresh_from_db()
    annotator = make_user("second")
    membership_set(project=text_project, user=annotator, role="annotator")

    first = queue_next(project=text_project, annotator=annotator)

    assert first.item_id == waiting.pk == queue_order(text_project)[0]
    assert waiting.score_generation > 0  # rescored too, yet ordered by its labels first


def test_the_stats_and_the_audit_count_predictions_over_the_pool_not_only_the_head(
    db, text_project, monkeypatch
):
    monkeypatch.setattr(score_swap, "HEAD_MIN_ROWS", 10)
    monkeypatch.setattr(score_swap, "HEAD_PER_SERVED", 1)

    run(text_project, batch=2)

    version = ModelVersion.objects.get(project=text_project)
    open_items = Item.objects.filter(project=text_project, status="open")
    assert open_items.exclude(predicted_label="").count() == 10  # the head only
    counts = predicted_label_counts(project=text_project)
    assert counts == version.predicted_counts and sum(counts.values()) == 74
    assert counts["positive"] >= 30 and counts["negative"] >= 30
    dist = label_distribution(project=text_project)
    assert dict(zip(dist["labels"], dist["predicted"], strict=True)) == counts


@given(priority=st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.5, 2.0]), max_size=40),
       head=st.integers(0, 50), rows=st.integers(1, 9), data=st.data())  # fmt: skip
def test_head_slices_write_the_batch_then_the_best_ranked_rest_by_id_each_once(
    priority, head, rows, data
):
    ids = np.random.default_rng(len(priority)).permutation(1000)[: len(priority)]
    priority = np.asarray(priority, dtype=np.float64)
    batch = np.asarray(data.draw(st.lists(st.integers(0, max(0, ids.size - 1)), unique=True,
                                          max_size=min(5, ids.size))), dtype=np.int64)  # fmt: skip

    slices = score_swap.head_slices(ids, priority, head=head, batch=batch, rows_per_slice=rows)

    flat = np.concatenate(slices).tolist() if slices else []
    ranked = sorted(range(ids.size), key=lambda k: (-priority[k], ids[k]))
    assert len(flat) == len(set(flat))
    assert set(flat) == set(ranked[:head]) | set(batch.tolist())
    rest = slices[1:] if batch.size else slices
    if batch.size:
        assert slices[0].tolist() == batch.tolist()
    assert all(0 < s.size <= rows for s in rest)
    rest_ids = [int(ids[k]) for s in rest for k in s]
    assert rest_ids == sorted(rest_ids)


def test_a_swap_in_many_small_transactions_still_writes_every_score(db, text_project, monkeypatch):
    monkeypatch.setattr(score_swap, "SWAP_ROWS", 7)  # 74 open items: 11 slices after the batch

    _, result, _ = run(text_project, batch=3)

    version = ModelVersion.objects.get(project=text_project)
    open_items = Item.objects.filter(project=text_project, status="open")
    assert result["n_scored"] == 74
    assert set(open_items.values_list("scored_by", flat=True)) == {version.pk}
    assert open_items.filter(priority__gt=1).count() == 3
    assert not ScoringChunk.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_swap_outside_a_transaction_writes_its_slices_on_parallel_connections(
    text_project, monkeypatch
):
    """PostgreSQL does the work of a swap, so two sessions write slices at once; SQLite has
    one writer. Either way every score lands exactly once and the batch stays on top."""
    monkeypatch.setattr(score_swap, "SWAP_ROWS", 7)
    write, threads = score_swap.scores_write, []

    def recording(ids, *args, **kwargs):
        threads.append((threading.get_ident(), ids.size))
        return write(ids, *args, **kwargs)

    monkeypatch.setattr(score_swap, "scores_write", recording)
    _, result, _ = run(text_project, batch=3)

    version = ModelVersion.objects.get(project=text_project)
    open_items = Item.objects.filter(project=text_project, status="open")
    assert result["n_scored"] == sum(size for _, size in threads) == 74
    assert set(open_items.values_list("scored_by", flat=True)) == {version.pk}
    assert open_items.filter(priority__gt=1).count() == 3
    assert threads[0] == (threading.get_ident(), 3)  # the batch first, by the job itself
    writers = {ident for ident, _ in threads[1:]}
    if connection.vendor == "postgresql":
        assert len(writers) == 2 and threading.get_ident() not in writers
    else:
        assert writers == {threading.get_ident()}


def test_a_swap_inside_a_callers_transaction_writes_in_that_transaction(db):
    assert connection.in_atomic_block  # pytest-django's test transaction
    assert score_swap._writer_connections() == 1


def test_a_failed_parallel_slice_fails_the_swap_and_drops_the_slices_not_started():
    written = []

    def write(rows):
        if rows[0] == 30:
            raise RuntimeError("lost the database")
        time.sleep(0.01)
        written.append(int(rows[0]))

    slices = [np.array([i]) for i in range(0, 1000, 10)]
    with pytest.raises(RuntimeError, match="lost the database"):
        score_swap._write_in_parallel(write, slices, connections=2)
    assert 0 in written and 30 not in written
    assert len(written) < 50  # most of the 96 slices queued behind it were cancelled


def test_cold_start_puts_a_diverse_batch_first(db, manager):
    project = project_create(creator=manager, name="Cold", labels=["positive", "negative"])
    rng = np.random.default_rng(1)
    texts = make_texts(rng, 30, "pos") + make_texts(rng, 30, "neg")
    Item.objects.bulk_create(
        [Item(project=project, external_id=str(i), text=t) for i, t in enumerate(texts)]
    )

    _, result, _ = run(project, batch=4)

    assert result["cold_start"] is True and not ModelVersion.objects.exists()
    first = Item.objects.filter(project=project, priority__gt=1).values_list("text", flat=True)
    assert len(first) == 4
    assert any(set(t.split()) & set(POS) for t in first)
    assert any(set(t.split()) & set(NEG) for t in first)


def test_bulk_score_write_sets_every_field(db, text_project):
    version = ModelVersion.objects.create(project=text_project, version=9, strategy="margin",
                                          featurizer="text", n_labels=0)  # fmt: skip
    ids = np.asarray(Item.objects.filter(project=text_project).values_list("id", flat=True)[:3])
    scores_write(ids, np.array([0.1, 1.5, 0.7]), np.array([0, 1, 0]), ["a", "b"],
                 np.array([0.9, 0.6, 0.8]), model_version_id=version.pk, generation=5)  # fmt: skip

    rows = Item.objects.filter(pk__in=ids.tolist()).order_by("id")
    got = list(rows.values_list("priority", "predicted_label", "predicted_score", "scored_by",
                                "score_generation"))  # fmt: skip
    assert got == [
        (0.1, "a", 0.9, version.pk, 5),
        (1.5, "b", 0.6, version.pk, 5),
        (0.7, "a", 0.8, version.pk, 5),
    ]


def test_models_endpoint_gives_the_learning_curve_and_the_version_in_use(
    db, text_project, api, members, client_for
):
    run(text_project, batch=2)

    body = api.get(f"/api/projects/{text_project.pk}/models").json()

    assert [m["version"] for m in body["models"]] == [1]
    assert body["current"]["n_labels"] == 16 and body["current"]["cv_accuracy"] == 1.0
    assert body["job"]["kind"] == "active_learning"
    assert (
        client_for(members["outsider"]).get(f"/api/projects/{text_project.pk}/models").status_code
        == 404
    )


def test_project_page_shows_the_learning_section_and_only_managers_get_the_button(
    db, text_project, manager, make_user
):
    from django.test import Client

    from annotation.services.projects import membership_set

    viewer = make_user("viewer")
    membership_set(project=text_project, user=viewer, role="annotator")
    pages = {}
    for user in (manager, viewer):
        client = Client()
        client.force_login(user)
        pages[user.username] = client.get(f"/projects/{text_project.pk}/").content.decode()
    assert 'id="learning"' in pages["manager"] and 'data-learning="start"' in pages["manager"]
    assert 'id="learning"' in pages["viewer"] and 'data-learning="start"' not in pages["viewer"]
    assert "vendor/chart.js/chart.umd.min.js" in pages["manager"]
