"""Drift tests, each with a known shift (always flagged) and with none (rarely flagged)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import roc_auc_score

from learning.monitoring.drift import (
    MAX_META_FIELDS,
    annotator_drift,
    auc_from_ranks,
    data_drift,
    field_drift,
    label_drift,
    meta_drift,
    psi,
)


def windows(rng, shift_share, n=600, d=20):
    old = rng.normal(size=(n, d))
    new = rng.normal(size=(n, d))
    k = int(shift_share * n)
    new[:k, :4] += 1.5  # a new source: different in a few features
    return old, new


def test_no_shift_rarely_flags_and_a_half_shift_always_does():
    rng = np.random.default_rng(0)
    alarms = sum(data_drift(*windows(rng, 0.0), rng=rng, permutations=199).drift for _ in range(30))
    assert alarms <= 5  # 30 windows at alpha 0.05: 1.5 expected, P(> 5) < 0.5%
    for _ in range(5):
        result = data_drift(*windows(rng, 0.5), rng=rng, permutations=199)
        assert result.drift and result.score > 0.6


def test_data_drift_with_sparse_rows_and_tiny_windows():
    import scipy.sparse as sp

    rng = np.random.default_rng(1)
    old, new = windows(rng, 0.5)
    assert data_drift(sp.csr_matrix(old), sp.csr_matrix(new), rng=rng).drift
    tiny = data_drift(old[:2], new[:2], rng=rng)
    assert not tiny.drift and tiny.p_value is None


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=4, max_size=40), st.integers(0, 2**31))
def test_auc_from_ranks_matches_sklearn(scores, seed):
    rng = np.random.default_rng(seed)
    y = np.r_[[0, 1], rng.integers(0, 2, len(scores) - 2)]
    rows = np.stack([y, rng.permutation(y)]).astype(float)
    expected = [roc_auc_score(r, scores) for r in rows]
    assert auc_from_ranks(np.asarray(scores), rows) == pytest.approx(expected)


def test_label_drift_known_and_none():
    assert label_drift(["a"] * 100 + ["b"] * 100, ["a"] * 150 + ["b"] * 50).drift
    rng = np.random.default_rng(2)
    labels = np.array(["a", "b", "c"])
    alarms = sum(
        label_drift(rng.choice(labels, 300), rng.choice(labels, 300)).drift for _ in range(100)
    )
    assert alarms <= 12
    assert label_drift([], ["a"]).p_value is None
    assert not label_drift(["a"] * 5, ["a"] * 9).drift  # one category: nothing to test


def test_annotator_drift_is_one_sided():
    good, worse = [True] * 90 + [False] * 10, [True] * 60 + [False] * 40
    assert annotator_drift(good, worse).drift
    assert not annotator_drift(worse, good).drift  # getting better is not drift
    assert annotator_drift([], good).p_value is None
    assert not annotator_drift([True] * 10, [True] * 10).drift


def test_annotator_drift_is_fishers_one_sided_exact_test():
    history, recent = [True] * 90 + [False] * 10, [True] * 20 + [False] * 8
    expected = stats.fisher_exact([[90, 10], [20, 8]], alternative="greater").pvalue
    assert annotator_drift(history, recent).p_value == pytest.approx(expected, rel=1e-9)


@settings(max_examples=8, deadline=None)
@given(st.integers(5, 60), st.integers(5, 30), st.floats(0.3, 0.99))
def test_annotator_false_alarms_never_exceed_alpha(n_history, n_recent, rate):
    """Exact size by enumeration over both windows' agreement counts (no sampling error):
    with no change, P(drift) <= alpha for any sizes and agreement rate."""
    size = 0.0
    for h in range(n_history + 1):
        p_h = stats.binom.pmf(h, n_history, rate)
        flagged = [
            annotator_drift([True] * h + [False] * (n_history - h),
                            [True] * r + [False] * (n_recent - r)).drift
            for r in range(n_recent + 1)
        ]  # fmt: skip
        size += p_h * stats.binom.pmf(np.arange(n_recent + 1), n_recent, rate)[flagged].sum()
    assert size <= 0.05 + 1e-9


def test_meta_fields_numeric_and_categorical():
    rng = np.random.default_rng(3)
    old = [
        {"source": rng.choice(["web", "app"]), "length": float(rng.normal())} for _ in range(400)
    ]
    same = [
        {"source": rng.choice(["web", "app"]), "length": float(rng.normal())} for _ in range(400)
    ]
    moved = [{"source": "web", "length": float(rng.normal(1.0))} for _ in range(400)]
    by_field = {r.detail["field"]: r for r in meta_drift(old, moved)}
    assert by_field["length"].detail["test"] == "ks" and by_field["length"].drift
    assert by_field["source"].detail["test"] == "chi2" and by_field["source"].drift
    assert not any(r.drift for r in meta_drift(old, same))


def test_meta_drift_tests_at_most_max_meta_fields_the_most_common_first():
    """Every item may carry fields of its own (an id as a key): one test per field would be
    a test, and a stored check, per item. The most common fields are tested, at most
    ``MAX_META_FIELDS``, Bonferroni-corrected over those."""
    old = [{"source": "web", f"id{i}": 1} for i in range(500)]
    new = [{"source": "app", f"id{i}": 1} for i in range(500, 1000)]
    results = meta_drift(old, new)
    assert len(results) == MAX_META_FIELDS
    assert "source" in {r.detail["field"] for r in results}
    assert [r for r in results if r.detail["field"] == "source"][0].drift


def test_meta_field_missing_values_and_mixed_types():
    result = field_drift("x", [1, "a", None] * 30, [1, "a", None] * 30)
    assert result.detail["test"] == "chi2" and not result.drift
    assert field_drift("x", [None] * 50, [True] * 50).drift  # bools are categories


@given(st.lists(st.integers(0, 50), min_size=2, max_size=8))
def test_psi_is_zero_for_same_distribution_and_nonnegative(counts):
    c = np.asarray(counts, dtype=float)
    assert psi(c, c * 3) == pytest.approx(0.0, abs=1e-9)
    assert psi(c, c[::-1]) >= 0
