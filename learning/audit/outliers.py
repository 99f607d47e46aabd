"""Items far from their neighbours in the project's feature space (as cleanlab's Datalab does
with kNN distances), on arrays alone.

Scoring every item against every other is quadratic, so each item is scored against a fixed,
seeded reference sample of at most ``reference`` items: its mean distance to its ``k`` nearest
reference items (itself excluded). Sparse text features are first reduced to ``dims`` dimensions
with a seeded TruncatedSVD, so 100k items cost one (N x dims) by (dims x reference) product.
An item is an outlier when its score is a far-out value by Tukey's rule (above Q3 + 3 IQR); at
most ``max_share`` of the items are flagged, the farthest first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.neighbors import NearestNeighbors


@dataclass(frozen=True)
class Outliers:
    """``scores`` (N,) mean kNN distances; ``flagged`` indices, farthest first; ``cutoff``."""

    scores: np.ndarray
    flagged: np.ndarray
    cutoff: float


def knn_outliers(X, *, k: int = 10, reference: int = 5000, dims: int = 64, seed: int = 0,
                 max_share: float = 0.01) -> Outliers:  # fmt: skip
    """Score (N, D) dense or sparse features; flag the far-out ones."""
    n = X.shape[0]
    if n < k + 2:
        return Outliers(np.zeros(n), np.zeros(0, dtype=np.int64), float("inf"))
    rng = np.random.default_rng(seed)
    dense = _reduced(X, dims=dims, seed=seed)
    sample = np.sort(rng.choice(n, min(reference, n), replace=False))
    neighbours = NearestNeighbors(n_neighbors=min(k + 1, sample.size)).fit(dense[sample])
    distances, indices = neighbours.kneighbors(dense)
    is_self = sample[indices] == np.arange(n)[:, None]
    distances = np.where(is_self, np.nan, distances)
    scores = np.nanmean(distances[:, : k + 1], axis=1)
    q1, q3 = np.percentile(scores, [25, 75])
    cutoff = float(q3 + 3 * (q3 - q1))
    far = np.flatnonzero(scores > cutoff)
    far = far[np.argsort(-scores[far], kind="stable")][: max(1, int(max_share * n))]
    return Outliers(scores, far, cutoff)


def _reduced(X, *, dims: int, seed: int) -> np.ndarray:
    if sp.issparse(X):
        if X.shape[1] <= dims:
            return np.asarray(X.todense(), dtype=np.float32)
        svd = TruncatedSVD(n_components=min(dims, X.shape[0] - 1), random_state=seed)
        return svd.fit_transform(X).astype(np.float32)
    return np.asarray(X, dtype=np.float32)
