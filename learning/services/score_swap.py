"""The score swap: every chunk's scores written to the items, the new batch first, in short
transactions, on two database sessions at once where that helps (see ``scores_apply``)."""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction

from annotation.models import Item
from learning.models import ChunkStatus, ModelVersion, ScoringChunk
from learning.rawsql import scores_write
from learning.selection import batch_priorities, diverse_top_k
from learning.services.model_state import pool_features

SWAP_ROWS = 20_000  # rows per score-swap transaction: well under a second of row locks
_CANDIDATES = 5  # batch candidates per batch slot, as in ``selection.diverse_top_k``


def scores_apply(*, job_id: int, model_version: ModelVersion, state: dict[str, Any]) -> int:
    """Write every chunk's scores to the items, in short transactions; returns items written.

    Before writing, the batch is chosen over the whole pool: the ``batch * 5`` best-scored
    items are featurized again and ``diverse_top_k`` picks ``batch`` of them, which get
    ``batch_priorities`` (the layout ``rank_pool`` documents).

    One transaction over a million rows would hold a million row locks for half a minute,
    and the queue (``FOR UPDATE SKIP LOCKED``) would skip every locked item and tell
    annotators there is nothing left; on SQLite every submit would wait. So the chosen
    batch goes first, then the rest in id order, ``SWAP_ROWS`` rows per transaction. While
    it runs the queue serves a mix of the two models' scores (each item names its model in
    ``scored_by``); a job that dies part-way is retried and rewrites them all.
    """
    # A chunk is DONE only once its scores are written, so no blob here is NULL.
    parts = [np.load(io.BytesIO(bytes(blob))) for blob in ScoringChunk.objects.filter(  # type: ignore[arg-type]
        job_id=job_id, status=ChunkStatus.DONE).values_list("scores", flat=True)]  # fmt: skip
    if not parts:
        return 0
    ids = np.concatenate([p["ids"] for p in parts])
    priority = np.concatenate([p["priority"] for p in parts])
    label_idx = np.concatenate([p["label"] for p in parts]).astype(np.int64)
    score = np.concatenate([p["score"] for p in parts])
    head = np.empty(0, dtype=np.int64)
    if state["strategy"] != "random" and ids.size:
        head = _mark_batch(ids, priority, state, seed=[state["seed"], job_id])
    names = list(state["labels"])

    def write(rows: np.ndarray) -> None:
        with transaction.atomic():
            scores_write(ids[rows], priority[rows], label_idx[rows], names, score[rows],
                          model_version_id=model_version.pk)  # fmt: skip

    slices = swap_slices(ids, head=head, rows_per_slice=SWAP_ROWS)
    if head.size:
        write(slices.pop(0))  # the new batch is served first, so it is written first
    _write_in_parallel(write, slices, connections=_writer_connections())
    ScoringChunk.objects.filter(job_id=job_id).delete()
    return int(ids.size)


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


def swap_slices(ids: np.ndarray, *, head: np.ndarray, rows_per_slice: int) -> list[np.ndarray]:
    """Positions into (N,) ``ids`` in write order: ``head`` (positions) alone first, then the
    others by ascending id (neighbouring rows share table pages) in slices of at most
    ``rows_per_slice``. Every position appears exactly once."""
    rest = np.setdiff1d(np.arange(ids.size), head, assume_unique=True)
    rest = rest[np.argsort(ids[rest], kind="stable")]
    slices = [rest[i : i + rows_per_slice] for i in range(0, rest.size, rows_per_slice)]
    return ([head] if head.size else []) + slices


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
