"""Drift tests: has the data, the label mix or an annotator changed between two windows?

Each test returns a :class:`DriftResult` (a score whose meaning depends on the test, a
p-value, and ``drift = p_value < alpha``):

- :func:`data_drift`: an old-versus-new *domain classifier* (logistic regression on the
  items' features), fitted on a stratified half of the two windows; its ROC-AUC on the other
  half is the score (0.5 when the windows cannot be told apart). The p-value compares it with
  a permutation baseline: the same held-out scores against shuffled window labels. The model
  never saw the held-out rows, so with no shift their labels are exchangeable given the scores
  and the test is exact. Cross-validated AUC with the same shuffles is not: the folds' models
  share training rows, their AUCs are correlated, and false alarms reached 20% at alpha 0.05
  in trials (the permutation baseline would then need a refit per shuffle, ~100x the time).
- :func:`meta_drift`: per ``meta`` field (the ``MAX_META_FIELDS`` most common), the
  population stability index (PSI) and a test: chi-square on the category counts for
  categorical fields, two-sample Kolmogorov-Smirnov for numeric ones. Fields are
  Bonferroni-corrected within one call.
- :func:`label_drift`: chi-square on the label counts of recent labels against earlier ones.
- :func:`annotator_drift`: an annotator's agreement with consensus on recent items against
  their history, by a one-sided Fisher exact test (drift = agreeing less than before).
  Given the total number of agreements, the recent window's count is hypergeometric under
  no change, so the test is the exact permutation test of the two windows and its false-alarm
  rate never exceeds alpha. A two-proportion z-test does: agreement rates near 1 skew the
  recent count's distribution, and its exact size at a 90% rate, 1,000 history and 250
  recent items is 0.054 (0.059 at 98%, 0.062 with 40 / 20 items), while Fisher's is 0.040,
  at a power of 0.94 against a 20% random-answer mix (z: 0.95); both by enumeration.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedShuffleSplit

ALPHA = 0.05
PSI_BINS = 10
MAX_META_FIELDS = 50  # meta fields tested per pair of windows
_EPS = 1e-4  # PSI's floor for an empty bin (else log(0))


@dataclass(frozen=True)
class DriftResult:
    kind: str
    score: float | None
    p_value: float | None
    drift: bool
    detail: dict[str, Any] = field(default_factory=dict)


def _result(kind: str, score, p_value, alpha: float, **detail) -> DriftResult:
    p = None if p_value is None or not np.isfinite(p_value) else float(min(1.0, p_value))
    s = None if score is None or not np.isfinite(score) else float(score)
    return DriftResult(kind, s, p, p is not None and p < alpha, detail)


def auc_from_ranks(scores: np.ndarray, is_new: np.ndarray) -> np.ndarray:
    """ROC-AUC of ``scores`` (N,) for each row of 0/1 labels ``is_new`` (P, N), via ranks
    (Mann-Whitney): P AUCs in one pass, for the permutation baseline."""
    ranks = stats.rankdata(scores)
    n_pos = is_new.sum(axis=1)
    n_neg = is_new.shape[1] - n_pos
    return (is_new @ ranks - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def data_drift(
    X_old: Any,
    X_new: Any,
    *,
    rng: np.random.Generator,
    holdout: float = 0.5,
    permutations: int = 999,
    alpha: float = ALPHA,
) -> DriftResult:
    """Domain classifier between two windows of feature rows, (N_old, D) and (N_new, D)."""
    n_old, n_new = X_old.shape[0], X_new.shape[0]
    if min(n_old, n_new) < 4:
        return _result("data", None, None, alpha, reason="too few items", n_old=n_old, n_new=n_new)
    if sp.issparse(X_old) or sp.issparse(X_new):
        X = sp.vstack([X_old, X_new]).tocsr()
        X = X[:, np.unique(X.indices)]  # hashed text uses few of its 2^19 columns: fit on those
    else:
        X = np.vstack([X_old, X_new])
    y = np.r_[np.zeros(n_old, dtype=np.int64), np.ones(n_new, dtype=np.int64)]
    split = StratifiedShuffleSplit(1, test_size=holdout, random_state=int(rng.integers(2**31)))
    train, test = next(split.split(np.zeros(y.size), y))
    model = LogisticRegression(max_iter=1000).fit(X[train], y[train])
    scores, labels = model.decision_function(X[test]), y[test]
    auc = float(roc_auc_score(labels, scores))
    shuffled = np.stack([rng.permutation(labels) for _ in range(permutations)])
    null = auc_from_ranks(scores, shuffled.astype(np.float64))
    p_value = (1 + int(np.sum(null >= auc))) / (1 + permutations)
    return _result("data", auc, p_value, alpha, n_old=n_old, n_new=n_new,
                   baseline=float(np.median(null)))  # fmt: skip


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index between two count vectors over the same bins (K,)."""
    e = np.maximum(expected / max(1, expected.sum()), _EPS)
    a = np.maximum(actual / max(1, actual.sum()), _EPS)
    return float(np.sum((a - e) * np.log(a / e)))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)


def _counts(old: Sequence, new: Sequence) -> tuple[np.ndarray, np.ndarray, list[str]]:
    c_old, c_new = Counter(map(str, old)), Counter(map(str, new))
    keys = sorted(set(c_old) | set(c_new))
    return (np.array([c_old[k] for k in keys], dtype=np.float64),
            np.array([c_new[k] for k in keys], dtype=np.float64), keys)  # fmt: skip


def _chi_square(old: np.ndarray, new: np.ndarray) -> tuple[float, float]:
    """Chi-square of homogeneity on a 2 x K table; (0, 1) when fewer than two categories."""
    table = np.vstack([old, new])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    return float(chi2), float(p)


def field_drift(name: str, old: Sequence, new: Sequence, *, alpha: float = ALPHA) -> DriftResult:
    """One meta field: KS + PSI (decile bins of the old window) when every present value is a
    number, else chi-square + PSI over categories (a missing value is a category)."""
    present_old = [v for v in old if v is not None]
    present_new = [v for v in new if v is not None]
    numeric = (
        bool(present_old)
        and bool(present_new)
        and all(_is_number(v) for v in present_old + present_new)
    )
    if numeric:
        a, b = np.asarray(present_old, dtype=float), np.asarray(present_new, dtype=float)
        ks = stats.ks_2samp(a, b)
        edges = np.unique(np.quantile(a, np.linspace(0, 1, PSI_BINS + 1)[1:-1]))
        bins_a = np.bincount(np.searchsorted(edges, a, side="right"), minlength=edges.size + 1)
        bins_b = np.bincount(np.searchsorted(edges, b, side="right"), minlength=edges.size + 1)
        return _result("meta", psi(bins_a, bins_b), ks.pvalue, alpha, field=name, test="ks",
                       statistic=float(ks.statistic))  # fmt: skip
    c_old, c_new, _ = _counts(["∅" if v is None else v for v in old],
                              ["∅" if v is None else v for v in new])  # fmt: skip
    chi2, p = _chi_square(c_old, c_new)
    return _result("meta", psi(c_old, c_new), p, alpha, field=name, test="chi2", statistic=chi2)


def meta_drift(
    old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]], *, alpha: float = ALPHA
) -> list[DriftResult]:
    """The fields of the items' ``meta`` dicts, each tested at alpha / (number tested): the
    ``MAX_META_FIELDS`` carried by the most items (ties by name), since items may carry fields
    of their own (an id as a key), and one test per field would then be one per item."""
    carried = Counter(k for row in [*old, *new] for k in row)
    names = sorted(sorted(carried, key=lambda k: (-carried[k], k))[:MAX_META_FIELDS])
    level = alpha / max(1, len(names))
    return [
        field_drift(k, [r.get(k) for r in old], [r.get(k) for r in new], alpha=level) for k in names
    ]


def label_drift(earlier: Sequence, recent: Sequence, *, alpha: float = ALPHA) -> DriftResult:
    """Label mix of recent labels vs earlier ones; score: PSI of the two distributions."""
    c_old, c_new, keys = _counts(earlier, recent)
    if not len(earlier) or not len(recent):
        return _result("label", None, None, alpha, reason="an empty window")
    chi2, p = _chi_square(c_old, c_new)
    return _result("label", psi(c_old, c_new), p, alpha, labels=keys, statistic=chi2)


def annotator_drift(
    history: Sequence[bool], recent: Sequence[bool], *, alpha: float = ALPHA
) -> DriftResult:
    """Agreement with consensus (True/False per item) recently vs before; score: the drop in
    agreement rate (history minus recent). One-sided Fisher exact: only a drop is drift."""
    h, r = np.asarray(history, dtype=bool), np.asarray(recent, dtype=bool)
    if h.size == 0 or r.size == 0:
        return _result("annotator", None, None, alpha, reason="an empty window")
    p_h, p_r = h.mean(), r.mean()
    # P(recent agreements <= observed | total agreements): hypergeometric under no change
    agreed = int(h.sum() + r.sum())
    p_value = float(stats.hypergeom.cdf(int(r.sum()), h.size + r.size, agreed, r.size))
    return _result("annotator", p_h - p_r, p_value, alpha, history_rate=float(p_h),
                   recent_rate=float(p_r), n_history=int(h.size), n_recent=int(r.size))  # fmt: skip
