"""The chunk queue: the unlabeled pool split in id ranges that any worker claims and scores.

A chunk is an item-id range (``ScoringChunk``). Whoever claims it (the job's own task or
a helper ``score_chunk`` task on another worker) loads the model version's state
(``model_state``), featurizes the chunk's open items, ranks them and stores the arrays on
the chunk row; ``score_swap`` then writes them to the items. Claims are conditional
UPDATEs, so two workers never score the same chunk at once, and a chunk whose claimer died
is reclaimed after ``STALE_SECONDS``.
"""

from __future__ import annotations

import io
import math
import uuid
from collections.abc import Callable
from datetime import timedelta

import numpy as np
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from annotation.models import Item, ItemStatus, Job
from learning.classifier import predict_proba_full
from learning.models import ChunkStatus, ModelVersion, ScoringChunk
from learning.selection import rank_pool
from learning.services.model_state import scoring_features, state_load

STALE_SECONDS = 60  # a chunk takes seconds; a claim this old lost its worker


def chunk_rows(*, project_id: int, first_id: int, last_id: int, kind: str) -> list[tuple]:
    """Open items with ids in [first_id, last_id] as (id, text, image, vector) rows, by id;
    text pools read (id, text) only."""
    columns = ("id", "text") if kind == "text" else ("id", "text", "image", "vector")
    items = Item.objects.filter(project_id=project_id, status=ItemStatus.OPEN,
                                id__gte=first_id, id__lte=last_id)  # fmt: skip
    return list(items.order_by("id").values_list(*columns))


def chunks_plan(*, job: Job, model_version: ModelVersion, chunk_items: int) -> list[ScoringChunk]:
    """Split the open items into id ranges of about ``chunk_items`` items (fresh rows)."""
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
        proba = predict_proba_full(state["model"], scoring_features(state, rows),
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
