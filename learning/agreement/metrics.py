"""Inter-annotator agreement for categorical labels: the coefficients. Pure numpy, no Django.

A *rating matrix* ``M`` is an int array (N, R): ``M[u, r]`` is the category (0..K-1) annotator r gave
item u, ``-1`` means "not rated" (float input with NaN for missing is converted). K (``n_categories``)
is passed explicitly, so categories nobody used still exist.

Two layers, one rule for "cannot be computed":

* low-level functions (``cohen_kappa``, ``fleiss_kappa``, ``krippendorff_alpha_nominal``, ...) return a
  plain float or raise :class:`NotEnoughData` (a ``ValueError``) with a readable reason;
* high-level functions (``agreement``, ``per_label_agreement``, ``multilabel_agreement``,
  :func:`learning.agreement.reports.annotator_agreement`) never raise on thin data: they return
  :class:`Agreement` with ``value=None`` and ``reason`` set. Neither layer ever returns NaN.

When every rating falls in one category, chance agreement is 1 and the formulas divide 0 by 0; we define
the coefficient as 1.0 (observed agreement is then perfect too). sklearn returns NaN, krippendorff raises.

Fleiss' kappa is statsmodels' (the same O(N K) formula, behind our guards). Cohen's kappa is ours,
vectorised over every annotator pair at once, which no library offers. Krippendorff's alpha is a
closed form over the (N, K) counts: ``krippendorff.alpha`` gives the same value (the tests check
it) but builds an (N, K, K) coincidence tensor, over a gigabyte for 500k items and 10 categories,
and a multi-label project has one category per label set seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from statsmodels.stats.inter_rater import fleiss_kappa as _statsmodels_fleiss_kappa

MISSING = -1


class NotEnoughData(ValueError):
    """The data cannot support the requested coefficient (no overlap, no pairable item, ...)."""


@dataclass(frozen=True)
class Agreement:
    """A coefficient with the amount of data behind it; ``value`` is None when undefined."""

    value: float | None
    n_items: int
    n_annotations: int
    reason: str | None = None


def as_rating_matrix(M, n_categories: int | None = None) -> np.ndarray:
    """Validate ``M`` and return it as an int64 (N, R) array with -1 for missing."""
    M = np.asarray(M)
    if M.ndim != 2:
        raise ValueError(f"rating matrix must be 2-D (items, annotators), got shape {M.shape}")
    if M.dtype.kind == "f":
        if np.any(M[~np.isnan(M)] % 1):
            raise ValueError("rating matrix holds non-integer labels")
        M = np.where(np.isnan(M), MISSING, M)
    M = M.astype(np.int64, copy=False)
    if np.any(M < MISSING) or (n_categories is not None and np.any(M >= n_categories)):
        raise ValueError(f"labels must be -1 (missing) or in [0, {n_categories})")
    return M


def category_counts(M, n_categories: int) -> np.ndarray:
    """Per-item category counts, shape (N, K): ``counts[u, k]`` = annotators who gave item u label k."""
    M = as_rating_matrix(M, n_categories)
    flat = np.bincount(
        np.nonzero(M >= 0)[0] * n_categories + M[M >= 0], minlength=M.shape[0] * n_categories
    )
    return flat.reshape(M.shape[0], n_categories)


def percent_agreement(M) -> float:
    """Mean over items with >= 2 ratings of the fraction of agreeing rating pairs."""
    M = as_rating_matrix(M)
    counts = category_counts(M, int(M.max()) + 1 if M.size and M.max() >= 0 else 1)
    c, m = counts[counts.sum(axis=1) >= 2], counts.sum(axis=1)[counts.sum(axis=1) >= 2]
    if m.size == 0:
        raise NotEnoughData("no item has two or more ratings")
    return float(np.mean((c * (c - 1)).sum(axis=1) / (m * (m - 1))))


def _kappa_from_confusion(C: np.ndarray) -> np.ndarray:
    """Cohen's kappa for confusion tables of shape (..., K, K); 1.0 where chance agreement is 1."""
    C = C.astype(np.float64)
    n = C.sum(axis=(-2, -1))
    observed = np.trace(C, axis1=-2, axis2=-1) * n
    chance = (C.sum(axis=-1) * C.sum(axis=-2)).sum(axis=-1)
    denom = n * n - chance
    return np.where(denom == 0, 1.0, (observed - chance) / np.where(denom == 0, 1.0, denom))


def cohen_kappa(a, b, n_categories: int | None = None) -> float:
    """Cohen's kappa between two rating vectors of shape (N,), over items both rated (-1 = missing)."""
    a, b = (as_rating_matrix(np.asarray(x).reshape(-1, 1), n_categories).ravel() for x in (a, b))
    if a.shape != b.shape:
        raise ValueError(f"rating vectors differ in length: {a.shape} vs {b.shape}")
    both = (a >= 0) & (b >= 0)
    if not both.any():
        raise NotEnoughData("the two annotators rated no item in common")
    K = n_categories or int(max(a.max(), b.max())) + 1  # only co-rated items enter the table below
    return float(_kappa_from_confusion(annotator_confusion(np.c_[a, b], 0, 1, K)))


def annotator_confusion(M, i: int, j: int, n_categories: int) -> np.ndarray:
    """Counts (K, K) over items rated by both: rows = annotator i's label, columns = annotator j's."""
    M = as_rating_matrix(M, n_categories)
    both = (M[:, i] >= 0) & (M[:, j] >= 0)
    K = n_categories
    return np.bincount(M[both, i] * K + M[both, j], minlength=K * K).reshape(K, K)


def _rating_pairs(M: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All co-rated pairs (annotator a < annotator b, label_a, label_b); cost ~ number of pairs."""
    items, raters = np.nonzero(M >= 0)  # row-major: sorted by item, then annotator
    labels = M[items, raters]
    lo = [np.nonzero(items[d:] == items[:-d])[0] for d in range(1, M.shape[1])]  # d-th next rating
    hi = [t + d for d, t in enumerate(lo, start=1)]
    none = np.empty(0, dtype=np.int64)
    first, second = np.concatenate([none, *lo]), np.concatenate([none, *hi])
    return raters[first], raters[second], labels[first], labels[second]


def pairwise_cohen(M, n_categories: int | None = None) -> dict[tuple[int, int], tuple[float, int]]:
    """``{(i, j): (kappa, n_items)}`` for every annotator pair i < j that co-rated >= 1 item (others absent).

    Vectorised over pairs, so sparse crowds with hundreds of annotators stay cheap.
    """
    M = as_rating_matrix(M, n_categories)
    K = n_categories or int(M.max()) + 1
    a, b, la, lb = _rating_pairs(M)
    if a.size == 0:
        return {}
    pair_ids, inverse = np.unique(a * M.shape[1] + b, return_inverse=True)
    C = np.zeros((pair_ids.size, K, K), dtype=np.int64)
    np.add.at(C, (inverse, la, lb), 1)
    kappas, n = _kappa_from_confusion(C), C.sum(axis=(1, 2))
    R = M.shape[1]
    return {
        (int(p // R), int(p % R)): (float(k), int(c))
        for p, k, c in zip(pair_ids, kappas, n, strict=True)
    }


def fleiss_kappa_from_counts(counts) -> float:
    """Fleiss' kappa from a (N, K) table of per-item category counts, every row with the same sum."""
    counts = np.asarray(counts, dtype=np.float64)
    n = counts.sum(axis=1)
    if counts.shape[0] == 0 or n[0] < 2 or np.any(n != n[0]):
        raise NotEnoughData(
            "Fleiss' kappa needs >= 1 item and the same number (>= 2) of ratings per item"
        )
    p_j = counts.sum(axis=0) / counts.sum()
    if np.sum(p_j * p_j) >= 1.0:  # one category only: statsmodels would divide 0 by 0
        return 1.0
    return float(_statsmodels_fleiss_kappa(counts, method="fleiss"))


def fleiss_kappa(M, n_categories: int, *, n_raters: int | None = None) -> float:
    """Fleiss' kappa over the items with exactly ``n_raters`` ratings (the formula needs a fixed number).

    ``n_raters`` defaults to the most common count among items with >= 2 ratings (ties: the larger)."""
    m_counts = category_counts(M, n_categories)
    m = m_counts.sum(axis=1)
    n_raters = n_raters or _common_size(m)
    if n_raters is None:
        raise NotEnoughData("no item has two or more ratings")
    return fleiss_kappa_from_counts(m_counts[m == n_raters])


def _common_size(m: np.ndarray) -> int | None:
    """Most common number of ratings among items with >= 2 (ties: the larger), None if no such item."""
    per_size = np.bincount(m[m >= 2])
    return int(per_size.size - 1 - np.argmax(per_size[::-1])) if per_size.size else None


def coincidence_matrix(M, n_categories: int) -> np.ndarray:
    """Krippendorff's coincidence matrix (K, K) over pairable items (>= 2 ratings)."""
    counts = category_counts(M, n_categories).astype(np.float64)
    m = counts.sum(axis=1)
    counts, m = counts[m >= 2], m[m >= 2]
    return counts.T @ (counts / (m - 1)[:, None]) - np.diag((counts / (m - 1)[:, None]).sum(axis=0))


def krippendorff_alpha_nominal(M, n_categories: int) -> float:
    """Krippendorff's alpha, nominal metric; any number of annotators per item, missing allowed.

    alpha = 1 - (n - 1) * D / (n^2 - sum_c n_c^2), where D = n - trace(o) is the coincidence matrix's
    off-diagonal mass, n_c its margins and n the number of pairable values. Both are taken in closed
    form from the (N, K) counts, integers where possible, so perfect agreement gives exactly 1.0
    (also when only one category was ever used).
    """
    counts = category_counts(M, n_categories)
    m = counts.sum(axis=1)
    counts, m = counts[m >= 2], m[m >= 2]
    if m.size == 0:
        raise NotEnoughData("no item has two or more ratings")
    n, n_c = int(m.sum()), counts.sum(axis=0)
    expected = n * n - int(np.sum(n_c * n_c))
    if expected == 0:
        return 1.0
    disagreement = np.sum((m * m - (counts * counts).sum(axis=1)) / (m - 1))
    return float(1.0 - (n - 1) * disagreement / expected)


def _two_column_kappa(M: np.ndarray, n_categories: int) -> float:
    if M.shape[1] != 2:
        raise ValueError(f"cohen_kappa needs exactly two annotators, got {M.shape[1]}")
    return cohen_kappa(M[:, 0], M[:, 1], n_categories)


_METRICS = {
    "krippendorff_alpha": krippendorff_alpha_nominal,
    "fleiss_kappa": fleiss_kappa,
    "cohen_kappa": _two_column_kappa,
    "percent": lambda M, K: percent_agreement(M),
}


def agreement(M, *, n_categories: int, metric: str = "krippendorff_alpha") -> Agreement:
    """One coefficient over a (N, R) matrix; never raises on thin data (``value=None`` + ``reason``).

    ``metric``: ``krippendorff_alpha`` (default), ``fleiss_kappa``, ``percent``, or ``cohen_kappa``
    (R must be 2). ``n_items``/``n_annotations`` count the items the coefficient actually used.
    """
    if metric not in _METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose from {sorted(_METRICS)}")
    M = as_rating_matrix(M, n_categories)
    m = (M >= 0).sum(axis=1)
    pairable = m >= 2
    if metric == "fleiss_kappa" and pairable.any():
        pairable = m == _common_size(m)  # Fleiss uses a fixed rater count; see fleiss_kappa
    n_items, n_ann = int(pairable.sum()), int(m[pairable].sum())
    try:
        return Agreement(float(_METRICS[metric](M, n_categories)), n_items, n_ann)
    except NotEnoughData as exc:
        return Agreement(None, n_items, n_ann, str(exc))


def per_label_agreement(
    M, *, n_categories: int, metric: str = "krippendorff_alpha"
) -> dict[int, Agreement]:
    """One-vs-rest agreement per category (ratings binarised to "is k"); unused categories get None."""
    M = as_rating_matrix(M, n_categories)
    return {
        k: _binary_agreement(np.where(M >= 0, M == k, MISSING), k, metric)
        for k in range(n_categories)
    }


def _binary_agreement(B: np.ndarray, label: int, metric: str) -> Agreement:
    if (B == 1).any():
        return agreement(B, n_categories=2, metric=metric)
    # nobody chose the label: "all agree it is absent" would be a vacuous 1.0
    m = (B >= 0).sum(axis=1)
    return Agreement(
        None, int((m >= 2).sum()), int(m[m >= 2].sum()), f"label {label} was never used"
    )


def multilabel_agreement(Y, *, metric: str = "krippendorff_alpha") -> dict[int, Agreement]:
    """Agreement per label of a multi-label project, each label a binary variable.

    ``Y``: (N, R, K) array: 1 = the annotator chose label k, 0 = annotated the item without k (an
    empty set is a real "none of these"), -1 = never annotated it (bool input means fully rated).
    """
    Y = np.asarray(Y).astype(np.int64)
    if Y.ndim != 3:
        raise ValueError(
            f"multi-label array must be (items, annotators, labels), got shape {Y.shape}"
        )
    return {k: _binary_agreement(Y[:, :, k], k, metric) for k in range(Y.shape[2])}
