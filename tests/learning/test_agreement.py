"""Agreement maths: published worked examples, reference implementations, and every edge case.

Fleiss' kappa calls statsmodels, so it is checked against a formula written out here (Scott's pi
for two raters, which Fleiss' kappa reduces to) rather than against statsmodels again. Alpha and
Cohen's kappa are ours, checked against ``krippendorff`` and statsmodels on random matrices.
"""

import json
import time

import krippendorff
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import cohens_kappa as sm_cohens_kappa
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from learning.agreement.metrics import (
    Agreement,
    NotEnoughData,
    agreement,
    annotator_confusion,
    as_rating_matrix,
    category_counts,
    cohen_kappa,
    coincidence_matrix,
    fleiss_kappa,
    fleiss_kappa_from_counts,
    krippendorff_alpha_nominal,
    multilabel_agreement,
    pairwise_cohen,
    per_label_agreement,
    percent_agreement,
)
from tests.reference_data import shared_data


def load_example(name: str) -> dict:
    return json.loads(shared_data("agreement", name).read_text())


def random_matrix(seed: int, n_items: int, n_raters: int, k: int, p_missing: float) -> np.ndarray:
    """Raters who agree with a hidden truth 70% of the time, some entries missing (-1)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_items)
    noise = rng.integers(0, k, (n_items, n_raters))
    M = np.where(rng.random((n_items, n_raters)) < 0.7, truth[:, None], noise)
    return np.where(rng.random(M.shape) < p_missing, -1, M)


def to_reliability(M: np.ndarray) -> np.ndarray:
    """Our (N, R) with -1 -> krippendorff's (R, N) float with NaN."""
    return np.where(M < 0, np.nan, M).T.astype(float)


# --- published worked examples -------------------------------------------------------------


def test_fleiss_wikipedia_example_is_0_210():
    ex = load_example("fleiss_wikipedia_10x14.json")
    kappa = fleiss_kappa_from_counts(ex["counts"])
    assert kappa == pytest.approx(0.210, abs=5e-4)
    assert kappa == pytest.approx(ex["computed_here"]["statsmodels_fleiss_kappa"], abs=1e-12)


def test_fleiss_from_rating_matrix_matches_counts_table():
    counts = np.array(load_example("fleiss_wikipedia_10x14.json")["counts"])
    M = np.array([np.repeat(np.arange(5), row) for row in counts])  # 10 items x 14 raters
    assert np.array_equal(category_counts(M, 5), counts)
    assert fleiss_kappa(M, 5) == pytest.approx(fleiss_kappa_from_counts(counts), abs=1e-12)


def test_cohen_wikipedia_example_is_0_40():
    ex = load_example("cohen_wikipedia_2x2.json")
    code = {"Yes": 0, "No": 1}
    a = [code[x] for x in ex["as_label_lists"]["A"]]
    b = [code[x] for x in ex["as_label_lists"]["B"]]
    assert cohen_kappa(a, b) == pytest.approx(0.40, abs=1e-12)
    assert np.array_equal(annotator_confusion(np.c_[a, b], 0, 1, 2), ex["table"])


def test_krippendorff_wikipedia_example_nominal():
    ex = load_example("krippendorff_3x15_wikipedia.json")
    M = np.array(
        [[-1 if v is None else v for v in row] for row in ex["reliability_data"]]
    ).T  # (15, 3)
    assert krippendorff_alpha_nominal(M, 5) == pytest.approx(ex["expected"]["nominal"], abs=1e-6)


# --- equality with reference implementations ----------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_cohen_kappa_equals_sklearn_on_co_rated_items(seed):
    M = random_matrix(seed, 300, 2, 4, p_missing=0.2)
    both = (M >= 0).all(axis=1)
    assert cohen_kappa(M[:, 0], M[:, 1]) == pytest.approx(
        cohen_kappa_score(M[both, 0], M[both, 1]), abs=1e-9
    )


@pytest.mark.parametrize("seed", range(3))
def test_pairwise_cohen_equals_sklearn_for_every_pair(seed):
    M = random_matrix(seed, 200, 5, 3, p_missing=0.5)
    result = pairwise_cohen(M, 3)
    assert len(result) == 10
    for (i, j), (kappa, n) in result.items():
        both = (M[:, i] >= 0) & (M[:, j] >= 0)
        assert n == both.sum()
        assert kappa == pytest.approx(cohen_kappa_score(M[both, i], M[both, j]), abs=1e-9)


def rating_matrices(min_raters: int = 2, max_raters: int = 5, k: int = 4, missing: bool = True):
    """(N, R) label matrices, -1 = missing, small enough to shrink to a readable counterexample."""
    return st.tuples(st.integers(1, 40), st.integers(min_raters, max_raters)).flatmap(
        lambda shape: arrays(np.int64, shape, elements=st.integers(-1 if missing else 0, k - 1))
    )


def scotts_pi(a: list[int], b: list[int]) -> float:
    """Two raters, every item rated by both: observed agreement against pooled-margin chance."""
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pooled = a + b
    chance = sum((pooled.count(c) / (2 * n)) ** 2 for c in set(pooled))
    return 1.0 if chance == 1 else (observed - chance) / (1 - chance)


@given(M=rating_matrices(2, 2, missing=False))
def test_fleiss_kappa_of_two_raters_is_scotts_pi(M):
    assert fleiss_kappa(M, 4) == pytest.approx(scotts_pi(M[:, 0].tolist(), M[:, 1].tolist()))


@given(M=rating_matrices())
def test_pairwise_cohen_equals_statsmodels_for_every_pair(M):
    for (i, j), (kappa, n) in pairwise_cohen(M, 4).items():
        table = annotator_confusion(M, i, j, 4)
        assert n == table.sum() > 0
        if np.trace(table) == n and (table.sum(axis=0) * table.sum(axis=1)).sum() == n * n:
            assert kappa == 1.0  # one category only: statsmodels divides 0 by 0, we define 1
        else:
            assert kappa == pytest.approx(sm_cohens_kappa(table, return_results=False), abs=1e-9)


@given(M=rating_matrices(max_raters=6))
def test_alpha_equals_the_krippendorff_package(M):
    counts = category_counts(M, 4)
    pairable = counts[counts.sum(axis=1) >= 2]
    if pairable.size == 0:
        with pytest.raises(NotEnoughData):
            krippendorff_alpha_nominal(M, 4)
    elif (pairable.sum(axis=0) > 0).sum() == 1:
        assert krippendorff_alpha_nominal(M, 4) == 1.0  # one category: krippendorff raises
    else:
        expected = krippendorff.alpha(value_counts=pairable, level_of_measurement="nominal")
        assert krippendorff_alpha_nominal(M, 4) == pytest.approx(expected, abs=1e-9)


def test_fleiss_kappa_uses_items_with_the_most_common_rating_count():
    M = random_matrix(7, 100, 4, 3, p_missing=0.0)
    M[:30, 3] = -1  # 70 items with 4 ratings, 30 with 3
    assert fleiss_kappa(M, 3) == pytest.approx(
        sm_fleiss_kappa(category_counts(M[30:], 3)), abs=1e-9
    )
    three = sm_fleiss_kappa(category_counts(M[:30], 3))
    assert fleiss_kappa(M, 3, n_raters=3) == pytest.approx(three, abs=1e-9)
    assert agreement(M, n_categories=3, metric="fleiss_kappa").n_items == 70


@pytest.mark.parametrize(
    "seed,raters,p_missing", [(0, 2, 0.1), (1, 3, 0.4), (2, 7, 0.6), (3, 4, 0.0)]
)
def test_alpha_equals_krippendorff_package_with_missing_and_varying_raters(seed, raters, p_missing):
    M = random_matrix(seed, 400, raters, 5, p_missing)
    expected = krippendorff.alpha(
        reliability_data=to_reliability(M), level_of_measurement="nominal"
    )
    assert krippendorff_alpha_nominal(M, 5) == pytest.approx(expected, abs=1e-9)


def test_coincidence_matrix_is_symmetric_and_counts_pairable_values():
    M = random_matrix(4, 100, 3, 4, p_missing=0.3)
    o = coincidence_matrix(M, 4)
    m = (M >= 0).sum(axis=1)
    assert np.allclose(o, o.T)
    assert o.sum() == pytest.approx(m[m >= 2].sum())


def test_percent_agreement_is_mean_pairwise_agreement():
    M = np.array([[0, 0, 0], [0, 0, 1], [1, -1, 2], [2, -1, -1]])  # last item unpairable
    assert percent_agreement(M) == pytest.approx((1 + 1 / 3 + 0) / 3)


def test_alpha_on_20k_items_is_fast_and_matches_reference():
    M = random_matrix(11, 20_000, 2, 3, p_missing=0.1)
    start = time.perf_counter()
    ours = krippendorff_alpha_nominal(M, 3)
    elapsed = time.perf_counter() - start
    reference = krippendorff.alpha(
        reliability_data=to_reliability(M), level_of_measurement="nominal"
    )
    assert ours == pytest.approx(reference, abs=1e-9)
    assert (
        elapsed < 5
    )  # generous: a sanity bound on vectorisation, not a benchmark (that lives in bench/)


# --- per label, per annotator, multi-label ------------------------------------------------


def test_per_label_alpha_is_alpha_of_the_binarised_matrix():
    M = random_matrix(5, 300, 3, 4, p_missing=0.2)
    result = per_label_agreement(M, n_categories=4)
    for k in range(4):
        B = np.where(M >= 0, (M == k).astype(int), -1)
        assert result[k].value == pytest.approx(krippendorff_alpha_nominal(B, 2), abs=1e-12)


def test_per_label_kappa_for_two_annotators():
    M = random_matrix(6, 200, 2, 3, p_missing=0.1)
    both = (M >= 0).all(axis=1)
    res = per_label_agreement(M, n_categories=3, metric="cohen_kappa")
    assert res[1].value == pytest.approx(
        cohen_kappa_score(M[both, 0] == 1, M[both, 1] == 1), abs=1e-9
    )


def test_a_label_nobody_used_has_no_value_and_says_why():
    M = np.array([[0, 0], [1, 1], [0, 1]])
    result = per_label_agreement(M, n_categories=3)
    assert result[2] == Agreement(None, 3, 6, "label 2 was never used")
    assert result[0].value is not None
    assert krippendorff_alpha_nominal(M, 3) == pytest.approx(krippendorff_alpha_nominal(M, 2))


def test_multilabel_per_label_agreement():
    # (items, annotators, labels): 1 chose it, 0 annotated without it, -1 never annotated
    Y = np.full((4, 2, 4), -1)
    Y[:3] = 0
    Y[0, 0, [0, 2]] = Y[0, 1, 0] = 1  # item 0: {0, 2} vs {0}
    Y[1, :, 1] = 1  # item 1: both {1}; item 2: both chose nothing; item 3: not annotated
    result = multilabel_agreement(Y)
    assert result[0].value == pytest.approx(krippendorff_alpha_nominal(Y[:, :, 0], 2))
    assert result[1].value == 1.0
    assert result[0].n_items == 3 and result[0].n_annotations == 6
    assert result[3].value is None and "never used" in result[3].reason


def test_multilabel_accepts_a_fully_rated_boolean_array():
    Y = np.random.default_rng(0).random((50, 3, 2)) < 0.5
    result = multilabel_agreement(Y)
    assert result[1].value == pytest.approx(krippendorff_alpha_nominal(Y[:, :, 1].astype(int), 2))


# --- edge cases: never NaN, never a crash -----------------------------------------------------


def test_perfect_agreement_is_one_everywhere():
    M = np.array([[0, 0], [1, 1], [2, 2], [1, 1]])
    assert krippendorff_alpha_nominal(M, 3) == 1.0
    assert cohen_kappa(M[:, 0], M[:, 1]) == 1.0
    assert fleiss_kappa(M, 3) == 1.0
    assert percent_agreement(M) == 1.0


def test_single_category_used_by_everyone_is_defined_as_one():
    M = np.zeros((5, 3), dtype=int)
    assert krippendorff_alpha_nominal(M, 2) == 1.0
    assert cohen_kappa(M[:, 0], M[:, 1]) == 1.0
    assert fleiss_kappa(M, 2) == 1.0
    assert pairwise_cohen(M, 2)[(0, 1)] == (1.0, 5)


def test_all_missing_raises_for_low_level_and_reports_for_high_level():
    M = np.full((4, 3), -1)
    for fn in (
        lambda: percent_agreement(M),
        lambda: krippendorff_alpha_nominal(M, 2),
        lambda: fleiss_kappa(M, 2),
        lambda: cohen_kappa(M[:, 0], M[:, 1], 2),
    ):
        with pytest.raises(NotEnoughData):
            fn()
    for metric in ("krippendorff_alpha", "fleiss_kappa", "percent", "cohen_kappa"):
        result = agreement(M[:, :2], n_categories=2, metric=metric)
        assert result.value is None and result.reason and result.n_items == 0
    assert pairwise_cohen(M, 2) == {}


def test_one_annotator_has_nothing_to_agree_with():
    M = np.array([[0], [1], [1]])
    result = agreement(M, n_categories=2)
    assert result == Agreement(None, 0, 0, "no item has two or more ratings")


def test_annotators_with_no_overlap():
    M = np.array([[0, -1], [1, -1], [-1, 0], [-1, 1]])
    with pytest.raises(NotEnoughData, match="no item in common"):
        cohen_kappa(M[:, 0], M[:, 1])
    assert pairwise_cohen(M) == {}
    assert agreement(M, n_categories=2).value is None
    assert annotator_confusion(M, 0, 1, 2).sum() == 0


def test_empty_matrix_and_fleiss_without_equal_sizes():
    assert agreement(np.empty((0, 2), dtype=int), n_categories=2).value is None
    with pytest.raises(NotEnoughData):
        fleiss_kappa_from_counts([[2, 0], [1, 2]])


def test_nan_float_input_is_read_as_missing_and_bad_labels_are_rejected():
    M = np.array([[0.0, np.nan], [1.0, 1.0]])
    assert list(as_rating_matrix(M).ravel()) == [0, -1, 1, 1]
    with pytest.raises(ValueError):
        as_rating_matrix([[0, 3]], n_categories=3)
    with pytest.raises(ValueError):
        as_rating_matrix([[0.5, 1.0]])
    with pytest.raises(ValueError):
        as_rating_matrix([0, 1])


def test_alpha_from_the_coincidence_matrix_equals_the_closed_form():
    M = random_matrix(8, 200, 4, 3, p_missing=0.3)
    o = coincidence_matrix(M, 3)
    n_c, n = o.sum(axis=1), o.sum()
    from_matrix = 1 - (n - 1) * (n - np.trace(o)) / (n * n - np.sum(n_c * n_c))
    assert krippendorff_alpha_nominal(M, 3) == pytest.approx(from_matrix, abs=1e-12)


def test_perfect_agreement_with_odd_rater_counts_is_exactly_one():
    M = np.array([[1, 1, 1, -1], [0, 0, 0, 0], [1, 1, -1, -1]] * 7)
    assert krippendorff_alpha_nominal(M, 2) == 1.0
    assert krippendorff_alpha_nominal(np.where(M >= 0, 2, -1), 3) == 1.0
