"""The stopping rule: stabilizing predictions (Bloodgood & Vijay-Shanker, CoNLL 2009).

Keep a fixed, unlabeled *stop set*; after each model version, compare its predictions on that
set with the previous version's by Cohen's kappa. When the mean kappa over the last
``window`` comparisons reaches ``threshold``, the model has stopped changing and more labels
chosen the same way are unlikely to move it.

What a kappa says about F (Bloodgood & Grothendieck, "Analysis of Stopping Active Learning
based on Stabilizing Predictions", CoNLL 2013, the theoretical analysis of the 2009 rule): if
the kappa agreement between two successive models is at least T > 0, the difference in
F-measure of those two models is bounded by

    |ΔF| <= 4 (1 - T) / T

in all cases, and by ``4 (1 - T) / ((p + 1) T)`` when the precision of the positive
conjunction of the two models is p. The bound is for a binary task (F of the positive class);
for K classes it holds for each class's one-vs-rest F, hence for the macro average.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from learning.agreement.metrics import cohen_kappa

DEFAULT_THRESHOLD = 0.99
DEFAULT_WINDOW = 3


def prediction_kappa(previous, current) -> float:
    """Cohen's kappa between two versions' predictions on the same stop set.

    Parameters
    ----------
    previous, current : array-like of shape (N,) or (N, K)
        Predicted labels (any hashable values: names or indices) or, for multi-label, (N, K)
        0/1 indicator rows, which are compared cell by cell. Identical constant predictions
        have kappa 1 (nothing changed), by the convention of ``cohen_kappa``.
    """
    a, b = np.asarray(previous), np.asarray(current)
    if a.shape != b.shape:
        raise ValueError(f"predictions differ in shape: {a.shape} vs {b.shape}")
    if a.size == 0:
        raise ValueError("the stop set is empty")
    _, codes = np.unique(np.concatenate([a.ravel(), b.ravel()]).astype(str), return_inverse=True)
    return cohen_kappa(codes[: a.size], codes[a.size :])


def f_change_bound(kappa: float | None, precision: float | None = None) -> float | None:
    """Bloodgood & Grothendieck's bound on |ΔF| between two models whose kappa is ``kappa``:
    ``4 (1 - T) / T``, or ``4 (1 - T) / ((p + 1) T)`` given the positive conjunction's
    precision p. None where it says nothing (kappa undefined or not positive); capped at 1,
    since F lies in [0, 1]."""
    if kappa is None or not np.isfinite(kappa) or kappa <= 0:
        return None
    p = 0.0 if precision is None else float(precision)
    return float(min(1.0, 4.0 * (1.0 - kappa) / ((p + 1.0) * kappa)))


@dataclass(frozen=True)
class StoppingSignal:
    threshold: float
    window: int
    mean_kappa: float | None  # over the last ``window`` comparisons; None until there are that many
    stopped: bool  # the rule has fired at some version so far
    stopped_at: int | None  # index (into ``kappas``) of the version where it first fired
    f_bound: float | None  # bound on |ΔF| implied by the window's smallest kappa


def stopping_signal(
    kappas: Sequence[float | None],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    window: int = DEFAULT_WINDOW,
) -> StoppingSignal:
    """Apply the rule to the kappa of every version against its predecessor, oldest first.

    ``kappas[i]`` is None where version i has no predecessor to compare with (the first one,
    or one whose predecessor predicted nothing on the stop set); a window must be ``window``
    consecutive defined kappas. The rule fires at the first version whose window mean reaches
    ``threshold``, and stays fired (the data lead decides whether to keep labeling).
    """
    if window < 1:
        raise ValueError("window must be at least 1")
    if not -1.0 <= threshold <= 1.0:
        raise ValueError("threshold must lie in [-1, 1]")
    stopped_at = None
    mean = None
    lowest = None
    for i in range(len(kappas)):
        recent = kappas[max(0, i - window + 1) : i + 1]
        if len(recent) < window or any(k is None or not np.isfinite(k) for k in recent):
            mean = lowest = None
            continue
        values = np.asarray(recent, dtype=np.float64)
        mean, lowest = float(values.mean()), float(values.min())
        if stopped_at is None and mean >= threshold:
            stopped_at = i
    return StoppingSignal(
        threshold=threshold, window=window, mean_kappa=mean, stopped=stopped_at is not None,
        stopped_at=stopped_at, f_bound=f_change_bound(lowest),
    )  # fmt: skip
