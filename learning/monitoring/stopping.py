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
conjunction of the two models is p. The bound is for a binary task (F of the positive class).

Which kappa: the least stable class's. For K > 2 classes the bound holds for each class's
one-vs-rest F given *that class's* one-vs-rest kappa, and the kappa over all K labels bounds
none of them: it is the average of the per-class kappas weighted by each class's chance
disagreement (:func:`class_kappas`), so a few flips between two of ten classes barely move it
(ten of 1,000 items moving from one of ten equal classes to another: 0.989 overall, 0.942 and
0.947 for the two classes). The rule therefore uses, per version, the smallest one-vs-rest
kappa over the classes (:func:`least_stable`): when it reaches T, every class's F (of those
the stop set resolves, below), and so the macro-F1, changed by at most the bound. That is
stricter than the macro-F1 alone needs (the mean of the per-class bounds, close to the plain
kappa's on balanced classes, and no better than it on the digits, 9 of 16), and the
strictness is what stops the early firing. With two
classes both one-vs-rest kappas equal the plain one, so binary tasks are unchanged. On the
ten digits the plain kappa fired 1-3 versions early (at 200-260 labels, 1.0-1.8 points of
macro-F1 short of the whole pool in 7 of 16 seeds, and in 6 of 16 fresh ones); the least
stable class's fired at 260-480 labels, in time in 15 of 16 and 16 of 16
(``bench/monitoring.py``).

Which classes: those the stop set resolves (:func:`resolved`). One stop-set item changing moves
a rare class's kappa a lot (one of ten items: to 0.95), so over every class the rule would wait
for rare classes to stop flipping single items, a change the stop set cannot tell from noise:
on the digits cut to a long tail (178 down to 18 items a class, pool 367, a stop set of about
350) it fired past half the pool or not at all in 31 of 32 seeds (at 200-240 labels; in 9 not
by 60% of the pool). A class counts only when both versions predict it, and something else,
often enough that one item changing leaves its kappa at or above the default threshold (at
0.99: 54 predictions on 1,000 items, 62 on 350); the plain kappa over all classes, which every
class moves, is the rule's kappa whenever it is smaller or no class is resolved. On the long
tail the rule then fires at 140-200 labels, as the plain kappa does (18 of 32 seeds within a
point by half the pool, where the first version within a point comes by then in 27); on the ten
digits exactly as over every class (31 of 32; plain: 19). The resolution reads the default
threshold, not the project's, so stored kappas do not depend on a setting. Multi-label
predictions compare each label's presence.

The plateau criterion (optional, a project setting): on some tasks kappa levels off below
0.99 (binary sentiment on ~2,500 short reviews: about 0.975 at half the pool, where macro-F1 is
already within a point of the whole pool's), because a few stop-set items near the boundary
flip with every refit however many labels there are. The rule then never fires. The plateau
criterion also fires when kappa has stopped increasing: the window mean is at least
``PLATEAU_FLOOR`` and the least-squares slope of kappa against log2(labels) is not positive
(no gain per doubling of the labels) over the versions of the last doubling of the labels, and
never fewer than the last ``PLATEAU_VERSIONS``. The stretch is measured in labels because the
versions' spacing is the project's: at the default cadence (a version every 20 labels) five
versions are 100 labels, a stretch in which kappa's noise looks flat long before it is
(``bench/monitoring.py``, seeds 0-7: over 5 versions the plateau fired at 520-780 labels on
binary sentiment, 1.6-3.4 points of macro-F1 short in 3 of 8 runs; over the last doubling, in
none).
``StoppingSignal.fired_by`` says which criterion fired first.

``STOP_SET_SIZE``: the app's stop set, here so the benchmark simulates the same one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from learning.agreement.metrics import cohen_kappa

DEFAULT_THRESHOLD = 0.99
DEFAULT_WINDOW = 3
STOP_SET_SIZE = 1000  # Bloodgood & Vijay-Shanker used a few thousand; kappa's error ~ 1/sqrt(N)
PLATEAU_VERSIONS = 5  # the fewest versions whose kappa trend decides the plateau
PLATEAU_SPAN = 2.0  # ... and every version with at least 1/PLATEAU_SPAN of today's labels
PLATEAU_FLOOR = 0.95  # window mean kappa below which a flat stretch is not a plateau


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


def _class_columns(previous, current) -> dict:
    """{class: (previous says it, current says it)} as boolean arrays over the stop set:
    single-label, every class either version predicts; multi-label (N, K), each column."""
    a, b = np.asarray(previous), np.asarray(current)
    if a.shape != b.shape:
        raise ValueError(f"predictions differ in shape: {a.shape} vs {b.shape}")
    if a.size == 0:
        raise ValueError("the stop set is empty")
    if a.ndim == 2:
        return {j: (a[:, j].astype(bool), b[:, j].astype(bool)) for j in range(a.shape[1])}
    a, b = a.astype(str), b.astype(str)
    return {c: (a == c, b == c) for c in np.unique(np.concatenate([a, b])).tolist()}


def class_kappas(previous, current) -> dict:
    """One-vs-rest Cohen's kappa of each class between two versions' predictions.

    ``previous``, ``current``: as :func:`prediction_kappa`. Single-label: {class value: kappa
    of "predicted this class" between the two}, over every class either version predicts.
    Multi-label (N, K) indicators: {column index: kappa of that column}. A class predicted for
    no item, or for every item, by both versions did not change: kappa 1 (``cohen_kappa``'s
    convention for identical constant ratings).

    The plain kappa over all classes is the weighted mean of these, each weighted by its chance
    disagreement ``p + q - 2pq`` (p, q: the class's predicted shares in the two versions), so
    the smallest of them is never above it.
    """
    return {c: _one_vs_rest(x, y) for c, (x, y) in _class_columns(previous, current).items()}


def _one_vs_rest(x: np.ndarray, y: np.ndarray) -> float:
    """Cohen's kappa of "predicts this class" (booleans per item) between two versions."""
    return cohen_kappa(x.astype(np.int64), y.astype(np.int64), n_categories=2)


def one_change_kappa(positives: int, size: int) -> float:
    """The one-vs-rest kappa of a class between two versions that differ in one item only:
    one of the ``positives`` items (of ``size``) predicted as the class no longer is. The
    smallest change a stop set can see in that class's kappa: about 1 - 1/(2 positives - 1)
    on a large stop set. ``positives``: the smaller side, so at most ``size`` / 2."""
    if not 1 <= positives <= size / 2:
        raise ValueError("positives must lie in [1, size / 2]")
    n, m = positives / size, (positives - 1) / size
    chance = n * m + (1 - n) * (1 - m)
    return float(1 - (1 / size) / (1 - chance))


def resolved(x: np.ndarray, y: np.ndarray, threshold: float) -> bool:
    """Whether a stop set measures this class's kappa (``x``, ``y``: whether each version
    predicts it, per item) finely enough for ``threshold``: in both versions the class and the
    rest are predicted often enough that one item changing leaves the kappa at or above it
    (:func:`one_change_kappa`). At 0.99 on 1,000 items: 54 predictions."""
    fewest = min(x.sum(), y.sum(), x.size - x.sum(), y.size - y.sum())
    return bool(fewest >= 1 and one_change_kappa(int(fewest), x.size) >= threshold)


def least_stable(
    previous, current, *, resolve_at: float | None = DEFAULT_THRESHOLD
) -> tuple[float, Any | None]:
    """The stopping rule's kappa for a pair of versions, and the class it comes from: the
    smallest one-vs-rest kappa (:func:`class_kappas`) over the classes the stop set resolves
    at ``resolve_at`` (:func:`resolved`; None: every class), or the plain kappa
    (:func:`prediction_kappa`) with class None when that is smaller, or no class is resolved.
    Ties go to the first class in sorted order. With two classes it is the plain kappa."""
    columns = _class_columns(previous, current)
    plain = prediction_kappa(previous, current)
    kappas = {c: _one_vs_rest(x, y) for c, (x, y) in columns.items()
              if resolve_at is None or resolved(x, y, resolve_at)}  # fmt: skip
    worst = min(sorted(kappas, key=str), key=lambda c: kappas[c], default=None)
    if worst is None or kappas[worst] >= plain - 1e-12:  # two classes: equal up to rounding
        return plain, None
    return kappas[worst], worst


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
    fired_by: str | None = None  # "threshold" | "plateau" | None (not fired)


def kappa_plateaued(kappas: Sequence[float | None], labels: Sequence[float], end: int) -> bool:
    """Kappa stopped increasing at version ``end``: over its stretch (the versions with at
    least 1/``PLATEAU_SPAN`` of its labels, and at least the last ``PLATEAU_VERSIONS``; all
    defined, with distinct label counts) the least-squares slope of kappa against
    log2(labels) is <= 0."""
    start = end - PLATEAU_VERSIONS + 1
    if start < 0:
        return False
    while start > 0 and labels[start - 1] * PLATEAU_SPAN >= labels[end]:
        start -= 1
    k = kappas[start : end + 1]
    if any(x is None or not np.isfinite(x) for x in k):
        return False
    x = np.log2(np.asarray(labels[start : end + 1], dtype=np.float64))
    if not np.all(np.isfinite(x)) or np.ptp(x) == 0:
        return False
    y = np.asarray(k, dtype=np.float64)
    slope = np.sum((x - x.mean()) * (y - y.mean())) / np.sum((x - x.mean()) ** 2)
    return bool(slope <= 1e-12)  # not > 0 beyond rounding: a constant kappa is flat


def stopping_signal(
    kappas: Sequence[float | None],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    window: int = DEFAULT_WINDOW,
    labels: Sequence[float] | None = None,
) -> StoppingSignal:
    """Apply the rule to the kappa of every version against its predecessor, oldest first.

    ``kappas[i]`` is None where version i has no predecessor to compare with (the first one,
    or one whose predecessor predicted nothing on the stop set); a window must be ``window``
    consecutive defined kappas. The rule fires at the first version whose window mean reaches
    ``threshold``, and stays fired (the data lead decides whether to keep labeling).

    ``labels``: each version's label count, (len(kappas),); given, the plateau criterion
    (:func:`kappa_plateaued`, with a window mean of at least ``PLATEAU_FLOOR``) fires too.
    """
    if labels is not None and len(labels) != len(kappas):
        raise ValueError("labels and kappas differ in length")
    if window < 1:
        raise ValueError("window must be at least 1")
    if not -1.0 <= threshold <= 1.0:
        raise ValueError("threshold must lie in [-1, 1]")
    stopped_at = fired_by = None
    mean = None
    lowest = None
    for i in range(len(kappas)):
        recent = kappas[max(0, i - window + 1) : i + 1]
        if len(recent) < window or any(k is None or not np.isfinite(k) for k in recent):
            mean = lowest = None
            continue
        values = np.asarray(recent, dtype=np.float64)
        mean, lowest = float(values.mean()), float(values.min())
        if stopped_at is not None:
            continue
        if mean >= threshold:
            stopped_at, fired_by = i, "threshold"
        elif labels is not None and mean >= PLATEAU_FLOOR and kappa_plateaued(kappas, labels, i):
            stopped_at, fired_by = i, "plateau"
    return StoppingSignal(
        threshold=threshold, window=window, mean_kappa=mean, stopped=stopped_at is not None,
        stopped_at=stopped_at, f_bound=f_change_bound(lowest), fired_by=fired_by,
    )  # fmt: skip
