"""The labels-to-target forecast: an inverse power law fitted to the learning curve.

    score(n) = a - b * n ** (-c),      a in [0, 1], b >= 0, c > 0

fitted by weighted least squares (``scipy.optimize.curve_fit`` with ``sigma``): a
cross-validated score over n labels has a standard error of about sqrt(s (1 - s) / n), so
points with more labels weigh more. ``a`` is the plateau. The labels a target needs solve
score(n) = target: n = (b / (a - target)) ** (1 / c).

Intervals come from a seeded parametric bootstrap (``bootstrap_params``): the fitted curve
plus normal noise of each point's standard error, refitted; each refitted curve gives its own
plateau and n, and the interval is their central quantiles. The noise is the binomial standard
error times max(1, the fit's reduced chi-square root), never less: successive versions share
most of their labels (and the app's cross-validation folds), so their scores err together and
the curve through them is smoother than their noise. Residual-based intervals (a wild
bootstrap of the residuals) then see almost no noise: in ``bench/monitoring.py`` (its former
loop, versions 15% of the labels apart; seeds 100-107, fitted on 20% of the curve, held-out
scores) their 80% intervals covered the labels needed in 3 of 8
digits and 3 of 8 SMS runs, the parametric ones in 8 and 5 (8 and 8 against the pair of
versions that brackets the truth). The price is width where few, small early versions carry
the fit: the interval's upper end is a median 7x its lower end on digits (SMS: 1.5x). The
band of the dashboard's curve (``Forecast.curve``) is the same draws' pointwise quantiles. A
draw whose plateau does not exceed the target never reaches it: an interval whose upper end
is such a draw is open (None).

Until the fit is identifiable (``MIN_POINTS`` versions over a ``MIN_SPREAD``-fold range of
label counts, and a finite covariance) the status is ``not_enough_versions``. A fit whose
plateau sits at the score's ceiling (a = 1, its bound) has not found a plateau: the curve is
still rising as a line in log(labels), and b, c and a trade off freely. Its status is
``no_plateau``, without the point estimates: "95% of the plateau" would be 95% of 1, a
target the data never suggested (``bench/monitoring.py``, binary sentiment fitted on its
first 300 labels: such fits asked for 7,000-840,000 labels where 460-1,100 reached the goal).
Points measured on fewer items than the labels (an evaluation sample) pass ``sizes``.
The intervals stay: their spread is an honest account of how little the curve says yet.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

MIN_POINTS = 5
MIN_SPREAD = 2.0  # largest n / smallest n
MIN_DRAWS = 10  # bootstrap refits needed for an interval
MIN_SAMPLE_ITEMS = 20  # items a score measured on an evaluation sample needs to be a point
MAX_LABELS = 1e9  # a forecast beyond this is "unreachable", not a number
CURVE_POINTS = 30  # points of the dashboard's extended curve
_C_BOUNDS = (1e-3, 5.0)
PLATEAU_CEILING = 1.0 - 1e-6  # a fitted plateau at least this is the bound, not an estimate


def power_law(n, a: float | np.ndarray, b: float | np.ndarray, c: float | np.ndarray):
    """score(n) = a - b n^-c, elementwise (parameters may be arrays that broadcast with n)."""
    return a - b * np.power(np.asarray(n, dtype=np.float64), -c)


@dataclass(frozen=True)
class CurveFit:
    params: np.ndarray  # (3,): a, b, c
    cov: np.ndarray  # (3, 3)
    n: np.ndarray  # (M,) the points fitted
    score: np.ndarray  # (M,)
    sigma: np.ndarray  # (M,) their relative standard errors


@dataclass(frozen=True)
class CurvePoint:
    labels: int
    value: float  # the fitted score at ``labels``
    low: float  # the band's ends: pointwise central quantiles of the bootstrap curves
    high: float


@dataclass(frozen=True)
class Forecast:
    status: str  # ok | reached | unreachable | not_enough_versions | no_plateau
    target: float | None  # the absolute score aimed at (a relative target times the plateau)
    plateau: float | None
    plateau_interval: tuple[float, float] | None
    labels_needed: int | None  # total labels (not additional ones) at which the target is met
    labels_needed_interval: tuple[int, int | None] | None  # upper None: may never be met
    curve: tuple[CurvePoint, ...] = ()  # the fit extended with its band; empty unless "ok"


def _clean(
    n: Sequence[float], score: Sequence[float | None], sizes: Sequence[float] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, score, sizes) without the points whose values are missing; ``sizes`` defaults to n."""
    n_arr = np.asarray(n, dtype=np.float64)
    s_arr = np.asarray([np.nan if s is None else s for s in score], dtype=np.float64)
    z_arr = n_arr if sizes is None else np.asarray(sizes, dtype=np.float64)
    if n_arr.shape != s_arr.shape or n_arr.shape != z_arr.shape or n_arr.ndim != 1:
        raise ValueError("n, score and sizes must be 1-D and of the same length")
    keep = np.isfinite(n_arr) & np.isfinite(s_arr) & (n_arr > 0) & np.isfinite(z_arr) & (z_arr > 0)
    return n_arr[keep], s_arr[keep], z_arr[keep]


def identifiable(n: np.ndarray) -> bool:
    """Enough distinct label counts, spread widely enough, to pin three parameters down."""
    distinct = np.unique(n)
    return distinct.size >= MIN_POINTS and distinct[-1] / distinct[0] >= MIN_SPREAD


def _fit(
    n: np.ndarray, s: np.ndarray, sigma: np.ndarray, p0, *, bounded: bool = True
) -> tuple[np.ndarray, np.ndarray] | None:
    """``curve_fit``; unbounded (Levenberg-Marquardt, ~10x faster) for the bootstrap's refits,
    which start at the bounded estimate and are clipped to the bounds after."""
    bounds = (
        ([0.0, 0.0, _C_BOUNDS[0]], [1.0, np.inf, _C_BOUNDS[1]]) if bounded else (-np.inf, np.inf)
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            params, cov = curve_fit(
                power_law, n, s, p0=p0, sigma=sigma, bounds=bounds, maxfev=2_000
            )
    except (RuntimeError, ValueError):
        return None
    if not bounded:
        params = np.clip(params, [0.0, 0.0, _C_BOUNDS[0]], [1.0, np.inf, _C_BOUNDS[1]])
    return params, cov


def fit_power_law(
    n: Sequence[float], score: Sequence[float | None], sizes: Sequence[float] | None = None
) -> CurveFit | None:
    """Weighted least-squares fit; None when the points cannot identify the curve.

    Parameters
    ----------
    n : (M,) label counts of the versions; score : (M,) their score in [0, 1] (None / NaN
        entries are ignored).
    sizes : (M,) how many items each score was measured on, for its binomial standard error:
        n by default (cross-validation over every label); the labeled part of the evaluation
        sample when the score is measured there.
    """
    n_arr, s_arr, z_arr = _clean(n, score, sizes)
    if not identifiable(n_arr):
        return None
    p = np.clip(s_arr, 0.02, 0.98)  # a score of exactly 1 would get zero error and all weight
    sigma = np.sqrt(p * (1 - p) / z_arr)
    a0 = float(min(1.0, s_arr.max() + 0.02))
    b0 = float(max(1e-3, (a0 - s_arr[np.argmin(n_arr)]) * n_arr.min() ** 0.5))
    fitted = _fit(n_arr, s_arr, sigma, [a0, b0, 0.5])
    if fitted is None:
        return None
    params, cov = fitted
    if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) < 0):
        return None
    return CurveFit(params=params, cov=cov, n=n_arr, score=s_arr, sigma=sigma)


def noise_scale(fit: CurveFit) -> float:
    """How many binomial standard errors each point's noise is: the root of the reduced
    chi-square of the fit's residuals (M - 3 degrees of freedom), but at least 1."""
    fitted = power_law(fit.n, *fit.params)
    chi2 = float(np.sum(((fit.score - fitted) / fit.sigma) ** 2)) / max(1, fit.n.size - 3)
    return max(1.0, float(np.sqrt(chi2)))


def bootstrap_params(fit: CurveFit, *, draws: int, rng: np.random.Generator) -> np.ndarray:
    """(<= draws, 3) parameters refitted to the fitted curve plus normal noise of
    ``noise_scale(fit)`` standard errors per point (draws whose refit fails are dropped).
    Refitting follows the curve's nonlinearity, which the fit's normal approximation does
    not: its 80% intervals covered the truth in 57% of synthetic trials."""
    fitted = power_law(fit.n, *fit.params)
    spread = noise_scale(fit) * fit.sigma
    out = []
    for _ in range(draws):
        noisy = fitted + spread * rng.standard_normal(fit.n.size)
        again = _fit(fit.n, noisy, fit.sigma, fit.params, bounded=False)
        if again is not None:
            out.append(again[0])
    return np.asarray(out).reshape(-1, 3)


def labels_for(a, b, c, target) -> np.ndarray:
    """n solving a - b n^-c = target, elementwise; inf where the plateau a does not exceed it."""
    a, b, c, target = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.float64) for x in (a, b, c, target))
    )
    out = np.full(a.shape, np.inf)
    ok = (a > target) & (c > 0)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        out[ok] = np.power(np.maximum(b[ok], 0.0) / (a[ok] - target[ok]), 1.0 / c[ok])
    out[out > MAX_LABELS] = np.inf
    return np.maximum(out, 1.0)


def curve_band(
    params: np.ndarray, sample: np.ndarray, *, start: float, end: float, level: float
) -> tuple[CurvePoint, ...]:
    """The fitted curve at ~``CURVE_POINTS`` label counts spaced evenly in log from ``start``
    to ``end``, with the pointwise central ``level`` band of the ``sample`` (D, 3) curves
    (widened to contain the fit, where the draws are skewed)."""
    end = min(max(end, start + 1.0), MAX_LABELS)
    grid = np.unique(np.round(np.geomspace(start, end, CURVE_POINTS)).astype(np.int64))
    value = np.clip(power_law(grid, *params), 0.0, 1.0)
    curves = power_law(grid[None, :], sample[:, :1], sample[:, 1:2], sample[:, 2:3])
    low, high = np.quantile(np.clip(curves, 0.0, 1.0), [(1 - level) / 2, (1 + level) / 2], axis=0)
    low, high = np.minimum(low, value), np.maximum(high, value)
    return tuple(
        CurvePoint(int(g), float(v), float(lo), float(hi))
        for g, v, lo, hi in zip(grid, value, low, high, strict=True)
    )


def forecast(
    n: Sequence[float],
    score: Sequence[float | None],
    *,
    target: float,
    relative: bool,
    level: float = 0.8,
    draws: int = 200,
    seed: int = 0,
    sizes: Sequence[float] | None = None,
) -> Forecast:
    """Plateau and labels needed for ``target`` (a fraction of the plateau when ``relative``,
    else an absolute score), each with a central ``level`` interval. ``sizes``: as in
    :func:`fit_power_law`."""
    if not 0 < target <= 1:
        raise ValueError("target must lie in (0, 1]")
    fit = fit_power_law(n, score, sizes)
    if fit is None:
        return Forecast("not_enough_versions", None, None, None, None, None)
    a, b, c = fit.params
    sample = bootstrap_params(fit, draws=draws, rng=np.random.default_rng(seed))
    goal = target * a if relative else target
    needed = float(labels_for(a, b, c, goal))
    n_now = float(np.max(fit.n))
    if not np.isfinite(needed):
        status, labels = "unreachable", None
    else:
        status, labels = ("reached" if needed <= n_now else "ok"), int(np.ceil(needed))
    pinned = a >= PLATEAU_CEILING
    if pinned:
        status, labels = "no_plateau", None
    plateau_interval: tuple[float, float] | None = None
    labels_interval: tuple[int, int | None] | None = None
    if len(sample) >= MIN_DRAWS:  # else the refits failed: no interval rather than a made-up one
        goals = target * sample[:, 0] if relative else np.full(len(sample), target)
        lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
        low, high = np.quantile(sample[:, 0], [lo_q, hi_q])
        plateau_interval = (float(low), float(high))
        spread = np.sort(labels_for(sample[:, 0], sample[:, 1], sample[:, 2], goals))
        ends = [spread[min(len(spread) - 1, int(q * len(spread)))] for q in (lo_q, hi_q)]
        if np.isfinite(ends[0]):
            labels_interval = (int(np.ceil(ends[0])),
                               int(np.ceil(ends[1])) if np.isfinite(ends[1]) else None)  # fmt: skip
    curve: tuple[CurvePoint, ...] = ()
    if status == "ok" and labels is not None and labels_interval is not None:
        # to the interval's upper end (or the forecast, if open), and at least twice today's
        end = max(labels_interval[1] or labels, 2 * n_now)
        curve = curve_band(fit.params, sample, start=float(fit.n.min()), end=end, level=level)
    return Forecast(
        status=status, target=None if pinned and relative else float(goal),
        plateau=None if pinned else float(a), plateau_interval=plateau_interval,
        labels_needed=labels, labels_needed_interval=labels_interval, curve=curve,
    )  # fmt: skip
