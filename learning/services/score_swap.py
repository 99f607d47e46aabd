"""The score swap: the head of the new ranking written to the items under a new score
generation, which the queue serves before every older one (see ``scores_apply``)."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction

from annotation.models import Item
from learning.models import ChunkStatus, ModelVersion, ScoringChunk
from learning.rawsql import scores_write
from learning.selection import batch_priorities, diverse_top_k, evaluation_priorities
from learning.services.model_state import pool_features

SWAP_ROWS = 5_000  # rows per score-swap transaction: a fraction of a second of row locks
HEAD_MIN_ROWS = 20_000  # a rescore writes at least this many of its best-ranked items ...
HEAD_PER_SERVED = 20  # ... and 20 per item served before the next retrain (see head_rows)
_ATTEMPT_SPAN = 2**20  # generations per job: one per attempt
_CANDIDATES = 5  # batch candidates per batch slot, as in ``selection.diverse_top_k``


def score_generation(*, job_id: int, attempt: int) -> int:
    """The ``Item.score_generation`` a job's attempt writes: larger for every later job
    (ids only grow) and for every later attempt of the same job."""
    return job_id * _ATTEMPT_SPAN + min(max(attempt, 0), _ATTEMPT_SPAN - 1)


def head_rows(*, batch: int, retrain_every: int) -> int:
    """How many of its best-ranked items a rescore writes.

    The queue consumes the head of the ranking: the next retrain comes after
    ``retrain_every`` labels (and a manual one typically after a batch), so a head 20 times
    that, and never under ``HEAD_MIN_ROWS``, is not exhausted before it is replaced. Were it
    exhausted, the queue goes on with the previous generations' heads, each in its own
    model's order: never an empty answer, only an older opinion.
    """
    return max(HEAD_MIN_ROWS, HEAD_PER_SERVED * max(int(batch), int(retrain_every)))


def scores_apply(*, job_id: int, model_version: ModelVersion, state: dict[str, Any],
                 generation: int, head: int, evaluation: Sequence[int] = ()) -> dict[str, Any]:  # fmt: skip
    """Write the ``head`` best-ranked items' scores to the items under ``generation``;
    returns ``{"n_scored", "n_written", "predicted_counts"}``.

    Before writing, the batch is chosen over the whole pool: the ``batch * 5`` best-scored
    items are featurized again and ``diverse_top_k`` picks ``batch`` of them, which get
    ``batch_priorities`` (the layout ``rank_pool`` documents). The ``evaluation`` sample's
    items still in the pool get ``evaluation_priorities`` above it and are written with it.

    Why only the head: the queue orders open items by ``score_generation`` before
    ``priority``, so the new head ranks above every row an older rescore wrote, and those
    rows need no rewrite (rewriting a million rows, three index entries each, was most of
    a job at 1M items). The batch goes first, then the rest in ``SWAP_ROWS``-row slices in
    id order (``head_slices`` says why), each its own short transaction (the queue's
    ``SKIP LOCKED`` walks past locked rows; SQLite's submits wait on the writer). A swap
    that dies part-way leaves part of the new head on top, in the new model's order; the
    retry writes the whole head under its own, larger generation. The pool-wide predicted label counts are
    returned for the model version (the rows outside the head keep an older model's
    prediction, and ``scored_by`` says which).
    """
    # A chunk is DONE only once its scores are written, so no blob here is NULL.
    parts = [np.load(io.BytesIO(bytes(blob))) for blob in ScoringChunk.objects.filter(  # type: ignore[arg-type]
        job_id=job_id, status=ChunkStatus.DONE).values_list("scores", flat=True)]  # fmt: skip
    names = list(state["labels"])
    if not parts:
        return {"n_scored": 0, "n_written": 0, "predicted_counts": {}}
    ids = np.concatenate([p["ids"] for p in parts])
    priority = np.concatenate([p["priority"] for p in parts])
    label_idx = np.concatenate([p["label"] for p in parts]).astype(np.int64)
    score = np.concatenate([p["score"] for p in parts])
    batch = np.empty(0, dtype=np.int64)
    if state["strategy"] != "random" and ids.size:
        batch = _mark_batch(ids, priority, state, seed=[state["seed"], job_id])
    first = _mark_evaluation(ids, priority, evaluation)
    if first.size:
        batch = np.concatenate([first, np.setdiff1d(batch, first)])

    def write(rows: np.ndarray) -> None:
        with transaction.atomic():
            scores_write(ids[rows], priority[rows], label_idx[rows], names, score[rows],
                         model_version_id=model_version.pk, generation=generation)  # fmt: skip

    slices = head_slices(ids, priority, head=head, batch=batch, rows_per_slice=SWAP_ROWS)
    n_written = sum(s.size for s in slices)
    if batch.size:
        write(slices.pop(0))  # the new batch is served first, so it is written first
    _write_in_parallel(write, slices, connections=_writer_connections())
    ScoringChunk.objects.filter(job_id=job_id).delete()
    counts = np.bincount(label_idx, minlength=len(names))
    return {
        "n_scored": int(ids.size), "n_written": int(n_written),
        "predicted_counts": {n: int(c) for n, c in zip(names, counts, strict=True) if c},
    }  # fmt: skip


def _writer_connections() -> int:
    """Database sessions that write score slices at once.

    PostgreSQL does the work of a score swap (new row versions, three index entries per
    row), one core per session, while this process mostly waits; two sessions halve the
    swap on two cores. SQLite has one writer, and a caller's open transaction must see
    its own writes, so both write in this connection only.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    return max(1, int(getattr(settings, "QUORUM_SCORE_WRITERS", 2)))


def _write_in_parallel(write: Callable[[np.ndarray], None], slices: list[np.ndarray], *,
                       connections: int) -> None:  # fmt: skip
    """``write`` every slice, on ``connections`` threads (each with its own database
    connection, closed after each slice). On the first error, or an exception in this
    thread (Celery's soft time limit), slices not yet started are dropped, the running
    ones finish, and the exception is raised: a failed swap is retried as a whole."""
    if connections <= 1 or len(slices) <= 1:
        for rows in slices:
            write(rows)
        return

    def in_thread(rows: np.ndarray) -> None:
        try:
            write(rows)
        finally:
            connection.close()  # this thread's own connection

    pool = ThreadPoolExecutor(max_workers=connections)
    try:
        for future in [pool.submit(in_thread, rows) for rows in slices]:
            future.result()
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def head_slices(ids: np.ndarray, priority: np.ndarray, *, head: int, batch: np.ndarray,
                rows_per_slice: int) -> list[np.ndarray]:  # fmt: skip
    """Positions into (N,) ``ids`` / ``priority`` of the ``head`` best-ranked items (ties by
    id) and the ``batch`` (positions), in write order: the batch alone first, then the
    others by ascending id in slices of at most ``rows_per_slice``. No position appears
    twice.

    Why id order and not rank order: the new head overlaps the head of the queue (the
    previous model's best), and ``next`` walks past every row a slice holds locked (about
    10 us each). Locking the 5,000 best rows at once cost ``next`` 50 ms (median, 1M items,
    loaded 2-core machine); a slice in id order holds a quarter of the head's rows,
    scattered through the queue's order, so ``next`` meets few of them.
    """
    top = np.lexsort((ids, -priority))[: max(int(head), 0)]
    rest = np.setdiff1d(top, batch)
    rest = rest[np.argsort(ids[rest], kind="stable")]
    slices = [rest[i : i + rows_per_slice] for i in range(0, rest.size, rows_per_slice)]
    return ([batch] if batch.size else []) + slices


def _mark_evaluation(
    ids: np.ndarray, priority: np.ndarray, evaluation: Sequence[int]
) -> np.ndarray:
    """Give the evaluation sample's items that are still in the pool
    ``evaluation_priorities``, in the sample's order, in place; returns their positions."""
    if not evaluation or not ids.size:
        return np.empty(0, dtype=np.int64)
    rank = {int(i): r for r, i in enumerate(evaluation)}  # at most 1,000; the pool may be 10M
    found = np.flatnonzero(np.isin(ids, np.fromiter(rank, dtype=np.int64)))
    chosen = found[np.argsort([rank[int(i)] for i in ids[found]], kind="stable")]
    priority[chosen] = evaluation_priorities(chosen.size)
    return chosen


def _mark_batch(
    ids: np.ndarray, priority: np.ndarray, state: dict, *, seed: list[int]
) -> np.ndarray:
    """Give the pool-wide diverse batch its ``batch_priorities``, in place; returns their
    positions."""
    batch = min(int(state["batch"]), ids.size)
    if batch <= 0:
        return np.empty(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    candidates = np.argsort(-priority, kind="stable")[: batch * _CANDIDATES]
    by_id = {r[0]: r for r in Item.objects.filter(pk__in=ids[candidates].tolist())
             .values_list("id", "text", "image", "vector")}  # fmt: skip
    X = pool_features(state, [by_id[i] for i in ids[candidates].tolist()])
    chosen = candidates[diverse_top_k(priority[candidates], X, k=batch, rng=rng)]
    chosen = chosen[np.argsort(-priority[chosen], kind="stable")]
    priority[chosen] = batch_priorities(chosen.size)
    return chosen
