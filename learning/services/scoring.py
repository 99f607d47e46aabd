"""Score the unlabeled pool chunk by chunk, on any worker, and write the scores in bulk.

A chunk is an item-id range (``ScoringChunk``). Whoever claims it (the job's own task or
a helper ``score_chunk`` task on another worker) loads the model version's state from the
database, featurizes the chunk's open items, ranks them and stores the arrays on the
chunk row. ``scores_apply`` then writes every chunk to the items, the new batch first, in
short transactions (see its docstring for why not one).
Claims are conditional UPDATEs, so two workers never score the same chunk at once, and a
chunk whose claimer died is reclaimed after ``STALE_SECONDS``.
"""

from __future__ import annotations

import io
import math
import pickle
import uuid
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import lru_cache
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from annotation.models import Item, ItemStatus, Job
from learning.classifier import predict_proba_full
from learning.featurize import TextFeaturizer, image_features, vector_features
from learning.models import ChunkStatus, ModelVersion, ScoringChunk
from learning.selection import diverse_top_k, rank_pool

STALE_SECONDS = 60  # a chunk takes seconds; a claim this old lost its worker
_WRITE_BATCH = 5000
SWAP_ROWS = 20_000  # rows per score-swap transaction: well under a second of row locks
_CANDIDATES = 5  # batch candidates per batch slot, as in ``selection.diverse_top_k``
_TEXT_BLOCK = 50_000  # texts featurized at once (the largest default chunk)


def state_dump(state: dict[str, Any]) -> bytes:
    return zlib.compress(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL), 1)


@lru_cache(maxsize=2)
def state_load(model_version_id: int, attempt: int = 0) -> dict[str, Any]:
    """The stored model of a version (cached: a worker scores many chunks of one version).

    ``attempt``, the job's attempt number, is part of the cache key: a retried job
    stores its new model in the same version row, and no worker may score with the
    model it cached from the failed attempt.
    """
    blob = ModelVersion.objects.values_list("state", flat=True).get(pk=model_version_id)
    if blob is None:
        raise ValueError(f"model version {model_version_id} has no stored model")
    state = pickle.loads(zlib.decompress(bytes(blob)))  # noqa: S301 - written by this app only
    if state.get("text_state") is not None:
        state["text"] = TextFeaturizer.from_state(state["text_state"])
    return state


def pool_features(state: dict[str, Any], rows: list[tuple]) -> Any:
    """(N, D) features of ``rows`` = [(id, text, image, vector), ...] the way ``state`` says."""
    kind = state["featurizer"]
    if kind == "vector":
        return vector_features([r[3] for r in rows])
    if kind == "image":
        return image_features([default_storage.path(r[2]) for r in rows])
    # One block per chunk: stacking 10k-row blocks cost ~5% of featurizing.
    return state["text"].transform([r[1] for r in rows], chunk_size=_TEXT_BLOCK)


def _scoring_features(state: dict[str, Any], rows: list[tuple]) -> Any:
    """``pool_features`` for prediction only: text stays in its two blocks (``TextBlocks``),
    which the linear model scores without the costly join."""
    if state["featurizer"] == "text":
        return state["text"].transform_blocks([r[1] for r in rows])
    return pool_features(state, rows)


def chunk_rows(*, project_id: int, first_id: int, last_id: int, kind: str) -> list[tuple]:
    """Open items with ids in [first_id, last_id] as (id, text, image, vector) rows, by id.

    Text pools read (id, text) only, with a plain cursor: the ORM's per-row conversion of
    four columns cost more than PostgreSQL's whole scan (0.24 s against 0.10 s per 50k).
    """
    if kind != "text":
        return list(
            Item.objects.filter(
                project_id=project_id, status=ItemStatus.OPEN, id__gte=first_id, id__lte=last_id
            ).order_by("id").values_list("id", "text", "image", "vector")
        )  # fmt: skip
    table = connection.ops.quote_name(Item._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, text FROM {table} WHERE project_id = %s AND status = %s"
            " AND id >= %s AND id <= %s ORDER BY id",
            [project_id, ItemStatus.OPEN.value, first_id, last_id],
        )
        return cursor.fetchall()


def chunks_plan(*, job: Job, model_version: ModelVersion, chunk_items: int) -> list[ScoringChunk]:
    """Split the open items into id ranges of about ``chunk_items`` items (fresh rows)."""
    from django.db.models import Count, Max, Min

    pool = Item.objects.filter(project_id=job.project_id, status=ItemStatus.OPEN)
    stats = pool.aggregate(lo=Min("id"), hi=Max("id"), n=Count("id"))
    ScoringChunk.objects.filter(job=job).delete()  # a rerun starts over with its new model
    if not stats["n"]:
        return []
    n_chunks = max(1, math.ceil(stats["n"] / chunk_items))
    # Equal id widths: imported items have nearly contiguous ids, so sizes stay even,
    # and bounds cost one aggregate instead of reading a million ids.
    edges = np.linspace(stats["lo"], stats["hi"] + 1, n_chunks + 1).astype(np.int64)
    rows = [
        ScoringChunk(job=job, model_version=model_version, index=i,
                     first_id=int(edges[i]), last_id=int(edges[i + 1]) - 1)
        for i in range(n_chunks) if edges[i + 1] > edges[i]
    ]  # fmt: skip
    return ScoringChunk.objects.bulk_create(rows)


def chunk_claim(*, job_id: int, claim: str) -> ScoringChunk | None:
    """Take the next pending (or abandoned) chunk of the job, or None when none is left."""
    stale = timezone.now() - timedelta(seconds=STALE_SECONDS)
    free = Q(status=ChunkStatus.PENDING) | Q(status=ChunkStatus.RUNNING, claimed_at__lt=stale)
    for pk in ScoringChunk.objects.filter(free, job_id=job_id).values_list("pk", flat=True)[:8]:
        taken = (
            ScoringChunk.objects.filter(free, pk=pk)
            .update(status=ChunkStatus.RUNNING, claim=claim, claimed_at=timezone.now())
        )  # fmt: skip
        if taken:
            return ScoringChunk.objects.defer("scores").select_related("job").get(pk=pk)
    return None


def chunk_score(chunk: ScoringChunk) -> int:
    """Rank the chunk's open items with its model; store the arrays on the chunk row.

    Returns the number of items scored. Writing is keyed by the claim, so a chunk that was
    reclaimed (or deleted by a rerun) meanwhile is not overwritten by this late result.
    """
    state = state_load(chunk.model_version_id, chunk.job.attempts)
    rows = chunk_rows(
        project_id=chunk.job.project_id, first_id=chunk.first_id, last_id=chunk.last_id,
        kind=state["featurizer"],
    )  # fmt: skip
    ids = np.asarray([r[0] for r in rows], dtype=np.int64)
    if rows:
        proba = predict_proba_full(state["model"], _scoring_features(state, rows),
                                   len(state["labels"]))  # fmt: skip
        rng = np.random.default_rng([state["seed"], chunk.job_id, chunk.index])
        # batch=0: scores only, so no features needed. The diverse batch is chosen over
        # the whole pool at the end (``_mark_batch``).
        priority = rank_pool(
            state["strategy"], proba, None, state["label_counts"], batch=0, rng=rng,
            multi_label=state["multi_label"],
        )  # fmt: skip
        best = proba.argmax(axis=1)
        score = proba[np.arange(len(rows)), best]
    else:
        priority = score = np.empty(0)
        best = np.empty(0, dtype=np.int64)
    buffer = io.BytesIO()
    np.savez(buffer, ids=ids, priority=priority, label=best, score=score)
    ScoringChunk.objects.filter(pk=chunk.pk, claim=chunk.claim).update(
        status=ChunkStatus.DONE, n_items=len(rows), scores=buffer.getvalue()
    )
    return len(rows)


def chunks_work(
    *, job_id: int, claim: str | None = None, on_chunk: Callable[[], None] | None = None,
) -> int:  # fmt: skip
    """Claim and score chunks of the job until none is left; returns how many were scored."""
    claim = claim or uuid.uuid4().hex
    done = 0
    while (chunk := chunk_claim(job_id=job_id, claim=claim)) is not None:
        chunk_score(chunk)
        done += 1
        if on_chunk:
            on_chunk()
    return done


def chunks_progress(*, job_id: int) -> tuple[int, int]:
    """(done, total) chunks of the job."""
    chunks = ScoringChunk.objects.filter(job_id=job_id)
    return chunks.filter(status=ChunkStatus.DONE).count(), chunks.count()


def scores_apply(*, job_id: int, model_version: ModelVersion, state: dict[str, Any]) -> int:
    """Write every chunk's scores to the items, in short transactions; returns items written.

    Before writing, the batch is chosen over the whole pool: the ``batch * 5`` best-scored
    items are featurized again and ``diverse_top_k`` picks ``batch`` of them, which get
    priorities in (1, 2] (the layout ``rank_pool`` documents).

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
            _scores_write(ids[rows], priority[rows], label_idx[rows], names, score[rows],
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
    """Give the pool-wide diverse batch priorities 2 - i / batch, in place; returns their
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
    priority[chosen] = 2.0 - np.arange(chosen.size) / chosen.size
    return chosen


def _scores_write(
    ids: np.ndarray, priority: np.ndarray, label_idx: np.ndarray, names: list[str],
    score: np.ndarray, *, model_version_id: int,
) -> None:  # fmt: skip
    """Bulk UPDATE of priority / predicted_label / predicted_score / scored_by, all (N,);
    labels as (N,) indices into ``names``.

    PostgreSQL: COPY into a temporary table and one UPDATE ... FROM (seconds for a
    million rows). SQLite: executemany in batches. Call inside a transaction.
    """
    if ids.size == 0:
        return
    table = connection.ops.quote_name(Item._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _scores_write_postgresql(
                cursor, table, ids, priority, label_idx, names, score, model_version_id
            )
            return
        labels = np.asarray(names, dtype=object)[label_idx]
        rows = zip(ids.tolist(), priority.tolist(), labels.tolist(), score.tolist(), strict=True)
        sql = (
            f"UPDATE {table} SET priority = %s, predicted_label = %s, predicted_score = %s,"
            " scored_by_id = %s WHERE id = %s"
        )
        batch: list[tuple] = []
        for item_id, prio, label, sc in rows:
            batch.append((prio, label, sc, model_version_id, item_id))
            if len(batch) >= _WRITE_BATCH:
                cursor.executemany(sql, batch)
                batch.clear()
        if batch:
            cursor.executemany(sql, batch)


_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_COPY_ROW = np.dtype([
    ("n", ">i2"), ("id_len", ">i4"), ("id", ">i8"), ("priority_len", ">i4"), ("priority", ">f8"),
    ("label_len", ">i4"), ("label", ">i4"), ("score_len", ">i4"), ("score", ">f8"),
])  # fmt: skip


def _scores_write_postgresql(
    cursor, table, ids, priority, label_idx, names, score, model_version_id
) -> None:  # fmt: skip
    """COPY the (N,) arrays in PostgreSQL's binary format, built by numpy in one buffer (no
    per-row Python), then one UPDATE ... FROM. Labels travel as 1-based indices into the
    array of names."""
    rows = np.zeros(ids.size, dtype=_COPY_ROW)
    rows["n"] = 4
    rows["id_len"], rows["priority_len"], rows["label_len"], rows["score_len"] = 8, 8, 4, 8
    rows["id"], rows["priority"], rows["score"] = ids, priority, score
    rows["label"] = label_idx + 1  # SQL arrays count from 1
    # A caller's outer transaction may already hold one from an earlier write.
    cursor.execute("DROP TABLE IF EXISTS pg_temp.al_scores")
    cursor.execute(
        "CREATE TEMP TABLE al_scores (id bigint, priority float8, label int4, score float8)"
        " ON COMMIT DROP"
    )
    with cursor.cursor.copy("COPY al_scores (id, priority, label, score) FROM STDIN BINARY") as cp:
        cp.write(_COPY_HEADER + rows.tobytes() + b"\xff\xff")
    cursor.execute("ANALYZE al_scores")
    # The id range lets a slice of a large pool be found by a primary-key range scan
    # instead of a scan of the whole table per slice.
    cursor.execute(
        f"UPDATE {table} AS i SET priority = s.priority, predicted_label = (%s::text[])[s.label],"
        " predicted_score = s.score, scored_by_id = %s FROM al_scores AS s WHERE i.id = s.id"
        " AND i.id BETWEEN %s AND %s",
        [names, model_version_id, int(ids.min()), int(ids.max())],
    )
