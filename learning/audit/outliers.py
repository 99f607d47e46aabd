"""Items far from their neighbours in the project's feature space (as cleanlab's Datalab does
with kNN distances), on arrays alone.

Scoring every item against every other is quadratic, so each item is scored against a fixed,
seeded reference sample of at most ``reference`` items: its mean distance to its ``k`` nearest
reference items (itself excluded). Sparse text features are first reduced to ``dims`` dimensions
by a seeded sparse random projection (Johnson-Lindenstrauss: distances, which kNN scores are
made of, are kept up to a bounded distortion), block by block (``project_blocks``), so the
(N x 500k) TF-IDF matrix is never whole in memory; a TruncatedSVD needed two dense
(500k x 74) float64 matrices, 600 MB, at any N.
An item is an outlier when its score is a far-out value by Tukey's rule (above Q3 + 3 IQR); at
most ``max_share`` of the items are flagged, the farthest first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors
from sklearn.random_projection import SparseRandomProjection


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


def project_blocks(blocks: Iterable, *, n_features: int, dims: int = 64,
                   seed: int = 0) -> np.ndarray:  # fmt: skip
    """(N, dims) float32: the same seeded sparse random projection of each (n_i, n_features)
    sparse block, stacked. Memory: one block and the (N, dims) result."""
    projection = SparseRandomProjection(n_components=dims, dense_output=True, random_state=seed)
    projection.fit(sp.csr_matrix((1, n_features), dtype=np.float32))  # draws the matrix only
    parts = [np.asarray(projection.transform(block.astype(np.float32, copy=False)))
             for block in blocks]  # fmt: skip
    return np.vstack(parts) if parts else np.zeros((0, dims), dtype=np.float32)


def _reduced(X, *, dims: int, seed: int) -> np.ndarray:
    if sp.issparse(X):
        if X.shape[1] <= dims:
            return np.asarray(X.todense(), dtype=np.float32)
        return project_blocks([X.tocsr()], n_features=X.shape[1], dims=dims, seed=seed)
    return np.asarray(X, dtype=np.float32)
