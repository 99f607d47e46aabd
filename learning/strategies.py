"""Query strategies: predicted probabilities in, "how much the model needs it" out.

One contract for every strategy: a function of ``proba`` (N, K) that returns
scores (N,) in [0, 1], where HIGHER means the item should be labeled sooner.
Strategies never call a classifier themselves (small-text's weak spot), so they
are tested with plain arrays.

Single-label ``proba`` rows are a distribution over K classes and must sum to 1.
Multi-label ``proba`` columns are K independent binary probabilities
P(label k applies); each column is scored as its own two-class problem and the
K binary uncertainties are averaged (``multi_label=True``).

No Django imports here: this module is pure numpy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "DEFAULT_STRATEGY",
    "STRATEGIES",
    "entropy",
    "least_confidence",
    "margin",
    "random",
    "score_pool",
    "validate_proba",
]

#: Margin is the default: on small pools it tracks accuracy gains at least as
#: well as entropy and, unlike entropy, ignores the long tail of unlikely classes.
DEFAULT_STRATEGY = "margin"

_ROW_SUM_TOLERANCE = 1e-3

Strategy = Callable[..., np.ndarray]


def validate_proba(proba: np.ndarray, *, multi_label: bool = False) -> np.ndarray:
    """Return ``proba`` as a float64 (N, K) array or raise ``ValueError``.

    Checks: 2-D, K >= 1, finite, every value in [0, 1] and, for single-label,
    every row sums to 1 (within 1e-3, to forgive float32 round-off).
    """
    arr = np.asarray(proba, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"proba must be 2-D (N, K); got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError("proba must have at least one column (K >= 1)")
    if not np.all(np.isfinite(arr)):
        raise ValueError("proba contains NaN or infinite values")
    if arr.size and (arr.min() < -1e-9 or arr.max() > 1 + 1e-9):
        raise ValueError("proba values must lie in [0, 1]")
    if not multi_label and arr.shape[0]:
        sums = arr.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1.0) > _ROW_SUM_TOLERANCE)
        if bad.size:
            raise ValueError(
                f"single-label proba rows must sum to 1; row {bad[0]} sums to "
                f"{sums[bad[0]]:.4f} (pass multi_label=True for independent binaries)"
            )
    return np.clip(arr, 0.0, 1.0)


def _per_label(fn: Callable[[np.ndarray], np.ndarray], proba: np.ndarray) -> np.ndarray:
    """Apply a single-label scorer to each column as a binary [1-p, p] problem.

    Returns the mean binary score over the K labels, shape (N,).
    """
    n, k = proba.shape
    binary = np.stack([1.0 - proba, proba], axis=-1).reshape(n * k, 2)
    return fn(binary).reshape(n, k).mean(axis=1)


def _least_confidence(p: np.ndarray) -> np.ndarray:
    return 1.0 - p.max(axis=1)


def _margin(p: np.ndarray) -> np.ndarray:
    if p.shape[1] == 1:
        return 1.0 - p[:, 0]
    top2 = np.partition(p, p.shape[1] - 2, axis=1)[:, -2:]
    return 1.0 - (top2[:, 1] - top2[:, 0])


def _entropy(p: np.ndarray) -> np.ndarray:
    k = p.shape[1]
    if k == 1:
        return np.zeros(p.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(p), 0.0)
    return terms.sum(axis=1) / np.log(k)


def _scored(
    fn: Callable[[np.ndarray], np.ndarray], proba: np.ndarray, multi_label: bool
) -> np.ndarray:
    p = validate_proba(proba, multi_label=multi_label)
    out = _per_label(fn, p) if multi_label else fn(p)
    return np.clip(out, 0.0, 1.0)


def least_confidence(proba: np.ndarray, *, multi_label: bool = False) -> np.ndarray:
    """``1 - max_k p_k``: how unsure the model is of its top guess.

    Parameters
    ----------
    proba : (N, K) predicted probabilities.
    multi_label : score each column as an independent binary and average.

    Returns
    -------
    (N,) scores in [0, 1 - 1/K] (binary labels: [0, 0.5]); higher = more needed.
    """
    return _scored(_least_confidence, proba, multi_label)


def margin(proba: np.ndarray, *, multi_label: bool = False) -> np.ndarray:
    """``1 - (p_(1) - p_(2))``: one minus the gap between the two best classes.

    Returns
    -------
    (N,) scores in [0, 1]; 1 when the top two classes tie, 0 when certain.
    """
    return _scored(_margin, proba, multi_label)


def entropy(proba: np.ndarray, *, multi_label: bool = False) -> np.ndarray:
    """Shannon entropy divided by ``log K`` so that it lies in [0, 1].

    Returns
    -------
    (N,) scores; 1 for the uniform distribution, 0 for a one-hot row.
    K = 1 has no uncertainty and scores 0.
    """
    return _scored(_entropy, proba, multi_label)


def random(proba: np.ndarray, *, rng: np.random.Generator, multi_label: bool = False) -> np.ndarray:
    """Uniform scores in [0, 1): the baseline every strategy must beat.

    ``proba`` is validated (so the contract is the same) but otherwise unused;
    the draw depends only on ``rng`` and N.
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError("random strategy needs an explicit numpy.random.Generator")
    p = validate_proba(proba, multi_label=multi_label)
    return rng.random(int(p.shape[0]))


def _deterministic(fn: Strategy) -> Strategy:
    def run(proba: np.ndarray, *, rng: np.random.Generator | None, multi_label: bool) -> np.ndarray:
        return fn(proba, multi_label=multi_label)

    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


#: name -> callable(proba, *, rng, multi_label) -> (N,) scores in [0, 1].
STRATEGIES: dict[str, Strategy] = {
    "least_confidence": _deterministic(least_confidence),
    "margin": _deterministic(margin),
    "entropy": _deterministic(entropy),
    "random": random,
}


def score_pool(
    name: str,
    proba: np.ndarray,
    *,
    rng: np.random.Generator | None = None,
    multi_label: bool = False,
) -> np.ndarray:
    """Score every pool item with the strategy registered under ``name``.

    Parameters
    ----------
    name : a key of ``STRATEGIES``.
    proba : (N, K) predicted probabilities for the unlabeled pool.
    rng : required by ``"random"``, ignored by the deterministic strategies.
    multi_label : ``proba`` holds K independent binary probabilities.

    Returns
    -------
    (N,) float scores in [0, 1]; higher = serve sooner.
    """
    try:
        strategy = STRATEGIES[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; choose one of {sorted(STRATEGIES)}") from None
    return strategy(proba, rng=rng, multi_label=multi_label)
