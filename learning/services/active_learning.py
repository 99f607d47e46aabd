"""Retrain on the labels so far and re-rank the unlabeled pool: the active-learning job.

The seam between the database and ``learning``'s pure maths: load labels and features in
bulk, fit, cross-validate, record a ``ModelVersion`` (the project's learning curve), then
score the pool in item-id chunks that any number of workers share (see
``learning.services.score_chunks``) and write the head of the new ranking under a new score
generation, which the queue serves first (``learning.services.score_swap``), in short
transactions that never hold the queue up. Until the swap the queue keeps serving the
previous model's order, so a job that crashes before it changes nothing; one that crashes
during it is retried and writes its head again under a newer generation.

Job params (all optional): ``batch`` (diverse batch size, default the project's
``batch_size``; at most ``MAX_BATCH`` whatever the caller asked), ``chunk_items`` (items per
chunk).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import Max

from annotation.models import Item, ItemStatus, Job
from annotation.selectors import featurizer_kind
from learning.classifier import cross_validated_metrics, fit_classifier
from learning.featurize import TextFeaturizer
from learning.models import ModelVersion
from learning.selection import batch_priorities, cold_start, needs_cold_start
from learning.services.model_state import pool_features, state_dump
from learning.services.monitoring import evaluation_ids, monitoring_record
from learning.services.score_chunks import chunks_plan, chunks_progress, chunks_work
from learning.services.score_swap import head_rows, score_generation, scores_apply
from learning.services.training_data import label_targets, training_labels

logger = logging.getLogger(__name__)

IDF_POOL_SAMPLE = 2000  # pool texts added to the labeled ones when fitting IDF weights
COLD_START_SAMPLE = 5000
MAX_BATCH = 1000  # as Project.batch_size and the API's "batch": bounds one job's selection cost


def default_chunk_items(pool_size: int) -> int:
    """About eight chunks per pool (so two to four workers share it evenly), 2k-50k items each."""
    return int(min(50_000, max(2_000, math.ceil(pool_size / 8))))


def _rows(queryset) -> list[tuple]:
    return list(queryset.order_by("id").values_list("id", "text", "image", "vector"))


def active_learning_job_handler(job: Job, report_progress: Callable[[float], None]) -> dict:
    """Train, record a model version, score the open items; returns the job's result JSON."""
    project = job.project
    params = job.params or {}
    clock = _Clock()
    names = list(project.labels.values_list("name", flat=True))
    pool = Item.objects.filter(project=project, status=ItemStatus.OPEN)
    pool_size = pool.count()
    training = training_labels(project=project)
    y = label_targets(training, names=names, multi_label=project.multi_label)
    counts = y.sum(axis=0) if project.multi_label else np.bincount(y, minlength=len(names))
    batch = min(int(params.get("batch") or project.batch_size), MAX_BATCH)
    kind = featurizer_kind(project)
    clock.lap("load")
    if not names or pool_size == 0:
        return {
            "skipped": "no labels defined" if not names else "no open items",
            "n_labels": len(training),
        }
    if len(training) < 2 or needs_cold_start(counts):
        return _cold_start(job, pool, kind, batch=batch, n_labels=len(training)) | {
            "timings": clock.timings
        }

    train_rows = _rows(Item.objects.filter(pk__in=training.item_ids.tolist()))
    text = None
    if kind == "text":
        sample = list(pool.order_by("id").values_list("text", flat=True)[:IDF_POOL_SAMPLE])
        text = TextFeaturizer().fit([r[1] for r in train_rows] + sample)
    state: dict[str, Any] = {"featurizer": kind, "text": text}
    X = pool_features(state, train_rows)
    clock.lap("featurize")
    model = fit_classifier(X, y, multi_label=project.multi_label, seed=project.seed)
    clock.lap("fit")
    evaluation = evaluation_ids(project=project)
    metrics = cross_validated_metrics(
        X, y, multi_label=project.multi_label, n_classes=len(names), seed=project.seed,
        evaluate=np.isin(training.item_ids, evaluation) if evaluation else None,
    )  # fmt: skip
    clock.lap("cv")
    report_progress(0.3)
    state.update(
        text=None, text_state=text.to_state() if text else None, model=model, labels=names,
        label_counts=counts, multi_label=project.multi_label, strategy=project.strategy,
        seed=project.seed, batch=batch, pool_size=pool_size,
    )  # fmt: skip
    version = _model_version_save(job, project, state, metrics, counts, names)
    monitoring = monitoring_record(version=version, state={**state, "text": text})
    clock.lap("monitor")
    chunk_items = int(params.get("chunk_items") or default_chunk_items(pool_size))
    chunks = chunks_plan(job=job, model_version=version, chunk_items=chunk_items)
    if len(chunks) > 1:
        _dispatch_helpers(job.pk, helpers=len(chunks) - 1)
    _score_all(job, report_progress=report_progress)
    clock.lap("score")
    state["text"] = text
    written = scores_apply(
        job_id=job.pk, model_version=version, state=state,
        generation=score_generation(job_id=job.pk, attempt=job.attempts),
        head=head_rows(batch=batch, retrain_every=project.retrain_every), evaluation=evaluation,
    )  # fmt: skip
    ModelVersion.objects.filter(pk=version.pk).update(
        n_scored=written["n_scored"], predicted_counts=written["predicted_counts"]
    )
    clock.lap("write")
    return {
        "model_version": version.version, "model_version_id": version.pk,
        "n_labels": len(training), "n_scored": written["n_scored"],
        "n_written": written["n_written"], "chunks": len(chunks),
        "featurizer": kind, "strategy": project.strategy,
        "cv_accuracy": _finite(metrics["accuracy"]), "cv_macro_f1": _finite(metrics["macro_f1"]),
        **monitoring, "timings": clock.timings,
    }  # fmt: skip


def _score_all(job: Job, *, report_progress: Callable[[float], None]) -> None:
    """Score chunks here and wait for the ones other workers took (reclaiming abandoned ones)."""

    def progress() -> None:
        done, total = chunks_progress(job_id=job.pk)
        report_progress(0.3 + 0.65 * done / max(1, total))

    claim = f"job-{job.pk}-{job.attempts}"
    while True:
        chunks_work(job_id=job.pk, claim=claim, on_chunk=progress)
        done, total = chunks_progress(job_id=job.pk)
        if done >= total:
            return
        time.sleep(0.2)


def _dispatch_helpers(job_id: int, *, helpers: int) -> None:
    """Ask other workers to share the chunks. Idle workers pick them up; busy ones are not
    waited on. Best effort: with the broker down, this job scores every chunk itself."""
    from celery import group

    from learning.tasks import score_chunk

    def send() -> None:
        try:
            group(score_chunk.s(job_id) for _ in range(helpers)).apply_async()
        except Exception:
            logger.warning("job %s: no helpers (broker unreachable)", job_id, exc_info=True)

    transaction.on_commit(send)


def _model_version_save(job, project, state, metrics, counts, names) -> ModelVersion:
    """One version per job: a retried job stores its new model in its own version row.

    In place rather than delete-and-create: a swap that died part-way left items pointing
    at the row, and deleting it would null ``scored_by`` on all of them in one long
    transaction (the queue would skip every locked item). Workers key their model cache by
    the job's attempt (``state_load``), so none scores with the failed attempt's model."""
    fields = dict(
        strategy=project.strategy, featurizer=state["featurizer"], n_labels=int(metrics["n_labels"]),
        label_counts={n: int(c) for n, c in zip(names, counts, strict=True)},
        cv_accuracy=_finite(metrics["accuracy"]), cv_macro_f1=_finite(metrics["macro_f1"]),
        eval_macro_f1=_finite(metrics.get("eval_macro_f1", float("nan"))),
        eval_n=metrics.get("eval_n"), n_scored=0, state=state_dump(state),
    )  # fmt: skip
    existing = ModelVersion.objects.filter(job=job).first()
    if existing:
        ModelVersion.objects.filter(pk=existing.pk).update(**fields)
        existing.refresh_from_db()
        return existing
    for _ in range(5):
        latest = ModelVersion.objects.filter(project=project).aggregate(v=Max("version"))["v"] or 0
        try:
            with transaction.atomic():
                return ModelVersion.objects.create(
                    project=project, job=job, version=latest + 1, **fields
                )
        except IntegrityError:  # another project job took the number: take the next
            continue
    raise RuntimeError("could not allocate a model version number")


def _cold_start(job: Job, pool, kind: str, *, batch: int, n_labels: int) -> dict:
    """No model yet: put representative items (k-means over a pool sample) first."""
    rng = np.random.default_rng(job.project.seed)
    ids = np.asarray(pool.values_list("id", flat=True), dtype=np.int64)
    sample = np.sort(rng.choice(ids, size=min(ids.size, COLD_START_SAMPLE), replace=False))
    rows = _rows(Item.objects.filter(pk__in=sample.tolist()))
    state: dict[str, Any] = {"featurizer": kind}
    if kind == "text":
        state["text"] = TextFeaturizer().fit([r[1] for r in rows])
    chosen = cold_start(pool_features(state, rows), k=batch, rng=rng)
    # A generation of its own puts the batch above every item, with no write to the others.
    generation = score_generation(job_id=job.pk, attempt=job.attempts)
    with transaction.atomic():
        for index, priority in zip(chosen, batch_priorities(len(chosen)).tolist(), strict=True):
            Item.objects.filter(pk=rows[index][0]).update(
                priority=priority, score_generation=generation
            )
    return {"cold_start": True, "n_labels": n_labels, "n_scored": len(chosen), "featurizer": kind}


def _finite(value: float) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


class _Clock:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self._last, 3)
        self._last = now
