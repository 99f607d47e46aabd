"""From per-item scores to the order in which annotators see items.

Scores from ``learning.strategies`` say how much the model needs each item, but
serving the top-k blindly gives batches of near-copies (the same uncertain
template many times) and starves rare labels. This module adds diversity,
class balance and a cold start, and ``rank_pool`` combines them into one
priority per item for the Django seam to store. No Django imports here.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.random_projection import SparseRandomProjection

from learning.strategies import score_pool

__all__ = ["class_balance_boost", "cold_start", "diverse_top_k", "needs_cold_start", "rank_pool"]

_COLD_START_SAMPLE = 10_000
#: k-means runs on at most this many columns: k-means keeps dense
#: centroids, and on 2**19 hashed TF-IDF columns each step takes seconds.
_CLUSTER_DIMS = 256


def _check_scores(scores: Any, n_rows: int | None = None) -> np.ndarray:
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"scores must be 1-D (N,); got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("scores contain NaN or infinite values")
    if n_rows is not None and arr.shape[0] != n_rows:
        raise ValueError(f"scores have {arr.shape[0]} items but X has {n_rows} rows")
    return arr


def _order_by_score(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices by descending score; ties broken at random (not by pool position)."""
    return np.lexsort((rng.random(int(scores.shape[0])), -scores))


def diverse_top_k(
    scores: Any,
    X: Any,
    *,
    k: int,
    candidates_factor: int = 5,
    rng: np.random.Generator,
) -> np.ndarray:
    """Pick k high-scoring items that are not near-copies of each other.

    Takes the ``k * candidates_factor`` best-scored items, then chooses k of
    them greedily by max-min distance (k-center greedy, farthest-first
    traversal): it starts from the best-scored candidate and repeatedly adds
    the candidate farthest from everything chosen so far. Exact duplicates are
    at distance 0, so one is chosen only when no distinct candidate is left.
    Ties go to the higher score. Restricting to the candidates keeps the batch
    informative; the farthest-first step keeps it varied.

    Linear in k x candidates: distances are taken on a dense view of at most
    256 columns (``_dense_view``), and each pick updates every candidate's
    distance to the chosen set with one matrix-vector product.

    Parameters
    ----------
    scores : (N,) higher = more wanted.
    X : (N, D) dense array or sparse matrix, the items' features.
    k : batch size; min(k, N) indices are returned.
    candidates_factor : how many candidates per batch slot.
    rng : breaks score ties and seeds the projection, so the result is
        deterministic given its seed.

    Returns
    -------
    (min(k, N),) int64 indices into the pool, in the order they were chosen.
    """
    scores = _check_scores(scores, X.shape[0])
    k = min(int(k), scores.shape[0])
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    candidates = _order_by_score(scores, rng)[
        : min(scores.shape[0], k * max(1, int(candidates_factor)))
    ]
    return candidates[k_center_greedy(_dense_view(X[candidates], rng), k=k)].astype(np.int64)


def k_center_greedy(Xd: np.ndarray, *, k: int) -> np.ndarray:
    """Farthest-first traversal of the rows of dense (C, D) ``Xd`` from row 0.

    Returns (min(k, C),) row indices in the order chosen; ties go to the lower index.
    Squared distances come from ``|a|^2 + |b|^2 - 2 a.b`` in float32 (a third of the
    float64 time; the greedy choice needs no more digits); values within rounding of 0
    are snapped to 0, so exact copies of a chosen row count as covered.
    """
    k = min(int(k), Xd.shape[0])
    Xd = np.ascontiguousarray(Xd, dtype=np.float32)
    norms = np.einsum("ij,ij->i", Xd, Xd)
    tolerance = np.float32(1e-5 * max(float(norms.max(initial=0.0)), 1e-30))

    def distances_to(row: int) -> np.ndarray:
        d = norms + norms[row] - 2.0 * (Xd @ Xd[row])
        d[d <= tolerance] = 0.0
        return d

    chosen = np.empty(k, dtype=np.int64)
    chosen[0] = 0
    min_dist = distances_to(0)
    for i in range(1, k):
        min_dist[chosen[i - 1]] = -np.inf
        chosen[i] = int(np.argmax(min_dist))  # first maximum = best-scored among equals
        np.minimum(min_dist, distances_to(chosen[i]), out=min_dist)
    return chosen


def _dense_view(X: Any, rng: np.random.Generator) -> np.ndarray:
    """(C, D) rows as a dense array of at most 256 columns.

    Wide rows (hashed TF-IDF: half a million columns) go through the sparsest random
    projection, a seeded count sketch: each input column adds to one of 256 outputs with a
    random sign. It keeps inner products and distances in expectation, within a small factor
    (Johnson-Lindenstrauss), costs one pass over the non-zeros (sklearn's
    ``SparseRandomProjection`` spent a second drawing its matrix for 2**19 columns), and
    maps exact copies to exact copies. Narrow rows are used as they are.
    """
    if X.shape[1] > _CLUSTER_DIMS:
        d = X.shape[1]
        sketch = sp.csr_matrix(
            (rng.choice([-1.0, 1.0], size=d), (np.arange(d), rng.integers(0, _CLUSTER_DIMS, d))),
            shape=(d, _CLUSTER_DIMS),
        )
        X = X @ sketch
    return np.asarray(X.toarray() if hasattr(X, "toarray") else X)


def class_balance_boost(
    scores: Any,
    proba: Any,
    label_counts: Any,
    *,
    weight: float = 0.5,
) -> np.ndarray:
    """Lift items the model assigns to under-represented labels.

    Each label gets a rarity ``r_k = 1 - count_k / max(count)`` in [0, 1]
    (unused labels: 1, the most used label: 0). An item's expected rarity is
    its proba-weighted mean ``r`` (rows normalised, so multi-label works too),
    and the result is ``scores * (1 + weight * expected_rarity)``.
    Multiplicative, so an item the model is sure about stays at 0.

    Parameters
    ----------
    scores : (N,) strategy scores.
    proba : (N, K) predicted probabilities.
    label_counts : (K,) labeled items per label so far.
    weight : 0 disables the boost; scores grow by at most a factor 1 + weight.

    Returns
    -------
    (N,) boosted scores in [0, (1 + weight) * max(scores)].
    """
    proba = np.asarray(proba, dtype=np.float64)
    scores = _check_scores(scores, proba.shape[0] if proba.ndim == 2 else None)
    counts = np.asarray(label_counts, dtype=np.float64)
    if proba.ndim != 2 or counts.shape != (proba.shape[1],):
        raise ValueError(
            f"need proba (N, K) and label_counts (K,); got {proba.shape} and {counts.shape}"
        )
    if weight < 0 or np.any(counts < 0):
        raise ValueError("weight and label_counts must be non-negative")
    rarity = 1.0 - counts / counts.max() if counts.max() > 0 else np.ones_like(counts)
    mass = proba.sum(axis=1)
    expected = np.divide(proba @ rarity, mass, out=np.zeros_like(mass), where=mass > 0)
    return scores * (1.0 + weight * expected)


def needs_cold_start(label_counts: Any, *, min_per_class: int = 2) -> bool:
    """True while fewer than two labels have ``min_per_class`` labeled items.

    A project may define labels nobody has used yet, so "every label" would
    keep a project cold forever; two usable labels are what a classifier needs.
    """
    counts = np.asarray(label_counts)
    return int(np.count_nonzero(counts >= min_per_class)) < 2


def cold_start(
    X: Any, *, k: int, rng: np.random.Generator, sample_size: int = _COLD_START_SAMPLE
) -> np.ndarray:
    """Representative items to label first, before any model exists.

    Clusters (at most ``sample_size`` sampled rows of) X into k groups with
    k-means (3 restarts) and returns, for each centroid, the nearest not-yet-chosen
    sampled item, largest cluster first. Every well-separated group of the pool
    gets a representative, unlike random sampling, which misses small groups.
    Wide X (more than 256 columns, e.g. hashed TF-IDF) is first reduced by a
    sparse random projection, which keeps Euclidean distances within a small
    factor (Johnson-Lindenstrauss) at a fraction of the cost of an SVD.

    Returns
    -------
    (min(k, N),) int64 pool indices, deterministic given ``rng``'s seed.
    """
    n = X.shape[0]
    k = min(int(k), n)
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    sample = np.sort(rng.choice(n, size=min(n, sample_size), replace=False))
    Xs = _narrow(X[sample], rng)
    km = KMeans(n_clusters=k, n_init=3, random_state=int(rng.integers(2**31 - 1)))
    with warnings.catch_warnings():
        # Fewer distinct points than k (duplicates) is fine: we fill up below.
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        labels = km.fit_predict(Xs)
    dist = euclidean_distances(km.cluster_centers_, Xs, squared=True)
    chosen: list[int] = []
    for cluster in np.argsort(-np.bincount(labels, minlength=k), kind="stable"):
        j = int(np.argmin(dist[cluster]))
        chosen.append(j)
        dist[:, j] = np.inf
    return sample[np.asarray(chosen)].astype(np.int64)


def _narrow(X: Any, rng: np.random.Generator) -> np.ndarray:
    """(S, D) rows as a dense (S, min(D, 256)) array fit for k-means."""
    if X.shape[1] > _CLUSTER_DIMS:
        seed = int(rng.integers(2**31 - 1))
        X = SparseRandomProjection(_CLUSTER_DIMS, random_state=seed).fit_transform(X)
    return X.toarray() if hasattr(X, "toarray") else np.asarray(X, dtype=np.float64)


def rank_pool(
    strategy: str,
    proba: Any | None,
    X: Any | None,
    label_counts: Any | None,
    *,
    batch: int,
    rng: np.random.Generator,
    multi_label: bool = False,
    balance_weight: float = 0.5,
    candidates_factor: int = 5,
) -> np.ndarray:
    """Priority of every unlabeled pool item; serve larger first.

    The one entry point for the Django seam. Three paths:

    * ``proba is None`` (cold start, no model yet): the batch is
      ``cold_start(X, k=batch)``; the rest get random scores.
    * ``strategy == "random"``: uniform scores, batch = the top ``batch`` of
      them (no diversity or balance: an unbiased baseline). ``proba`` may be None.
    * otherwise: ``score_pool(strategy, proba)``; if ``label_counts`` is given,
      ``class_balance_boost`` then rescaled by ``1 + balance_weight`` back into
      [0, 1]; batch = ``diverse_top_k`` on X (plain top-k if X is None).

    Returns
    -------
    (N,) float64 priorities with this exact layout:
    the ``min(batch, N)`` batch items get ``batch_priorities`` (in (1, 2], best
    first: by score, or cluster size for cold start);
    every other item gets its score in [0, 1]. Hence ``priority > 1`` marks the
    batch, and ``argsort(-priority)`` is the full serving order.
    """
    if batch < 0:
        raise ValueError("batch must be non-negative")
    if strategy == "random":
        if proba is not None:
            n = int(np.asarray(proba).shape[0])
        elif X is not None:
            n = int(X.shape[0])
        else:
            raise ValueError("the random strategy needs proba or features X")
        base = rng.random(n)
        return _with_batch(base, _order_by_score(base, rng)[:batch])
    if proba is None:
        if X is None:
            raise ValueError("cold start (proba is None) needs features X")
        base = rng.random(int(X.shape[0]))
        return _with_batch(base, cold_start(X, k=batch, rng=rng))
    base = score_pool(strategy, proba, rng=rng, multi_label=multi_label)
    if label_counts is not None:
        boosted = class_balance_boost(base, proba, label_counts, weight=balance_weight)
        base = boosted / (1.0 + balance_weight)
    if X is None:
        chosen = _order_by_score(base, rng)[:batch]
    else:
        chosen = diverse_top_k(base, X, k=batch, candidates_factor=candidates_factor, rng=rng)
        # Serve the best-scored first within the batch.
        chosen = chosen[np.argsort(-base[chosen], kind="stable")]
    return _with_batch(base, chosen)


def batch_priorities(n: int) -> np.ndarray:
    """(n,) priorities of a batch of ``n`` items, best first: ``2 - i / n``, all in (1, 2].

    The one statement of the rule that batch items rank above every scored item (whose
    priority is in [0, 1]): ``rank_pool``, the pool-wide batch of a chunked job and the
    cold start all use it, so ``priority > 1`` marks the batch wherever it was chosen (and
    ``priority > 2`` the evaluation sample, ``evaluation_priorities``, served before it).
    """
    return 2.0 - np.arange(n, dtype=np.float64) / max(n, 1)


def evaluation_priorities(n: int) -> np.ndarray:
    """(n,) priorities of ``n`` evaluation-sample items, in serving order: ``3 - i / n``, all
    in (2, 3], above every batch (``batch_priorities``): the random sample is labeled before
    the model's picks, so it stays a random sample."""
    return 1.0 + batch_priorities(n)


def _with_batch(base: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    priority = np.clip(np.asarray(base, dtype=np.float64), 0.0, 1.0)
    if chosen.size:
        priority[chosen] = batch_priorities(chosen.size)
    return priority
