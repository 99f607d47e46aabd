"""Selection: varied batches, rare labels lifted, cold start that covers the pool."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from learning.featurize import TextFeaturizer
from learning.selection import (
    class_balance_boost,
    cold_start,
    diverse_top_k,
    k_center_greedy,
    needs_cold_start,
    rank_pool,
)


def _duplicated_pool(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """10 distinct points, each repeated 5 times; copies of point 0 score highest.

    Near-copies get near-identical scores, so the 25 best candidates of a batch
    of 5 are 5 copies each of only 5 distinct points.
    """
    rng = np.random.default_rng(seed)
    distinct = rng.normal(size=(10, 6))
    X = np.repeat(distinct, 5, axis=0)
    scores = np.repeat(np.linspace(1.0, 0.5, 10), 5)
    return X, scores


def _blobs(seed: int, sizes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 1, size=(len(sizes), 8)) * 20
    groups = np.repeat(np.arange(len(sizes)), sizes)
    return centers[groups] + rng.normal(size=(groups.size, 8)), groups


@pytest.mark.parametrize("as_sparse", [False, True])
def test_a_batch_from_a_pool_of_duplicates_has_no_duplicates(as_sparse: bool) -> None:
    X, scores = _duplicated_pool(0)
    pool = sp.csr_matrix(X) if as_sparse else X
    chosen = diverse_top_k(scores, pool, k=5, rng=np.random.default_rng(1))
    assert chosen.shape == (5,)
    assert np.unique(X[chosen], axis=0).shape[0] == 5
    assert np.array_equal(X[chosen[0]], X[0])  # the best-scored item leads


def test_plain_top_k_would_have_been_all_copies() -> None:
    # Guards the test above: without diversity the batch is one point five times.
    X, scores = _duplicated_pool(0)
    top = np.argsort(-scores, kind="stable")[:5]
    assert np.unique(X[top], axis=0).shape[0] == 1


def test_diverse_top_k_stays_among_the_best_candidates() -> None:
    X, scores = _duplicated_pool(2)
    chosen = diverse_top_k(scores, X, k=3, candidates_factor=10, rng=np.random.default_rng(0))
    assert scores[chosen].min() >= np.sort(scores)[-30]


def test_diverse_top_k_is_deterministic_given_the_seed() -> None:
    X = np.random.default_rng(3).normal(size=(300, 4))
    scores = np.round(np.random.default_rng(4).random(300), 1)  # many ties
    a = diverse_top_k(scores, X, k=10, rng=np.random.default_rng(5))
    b = diverse_top_k(scores, X, k=10, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert np.unique(a).size == 10


def test_diverse_top_k_returns_the_whole_pool_when_k_exceeds_it() -> None:
    X = np.eye(3)
    chosen = diverse_top_k(np.array([0.1, 0.9, 0.5]), X, k=10, rng=np.random.default_rng(0))
    assert sorted(chosen) == [0, 1, 2] and chosen[0] == 1


def test_scores_and_rows_must_agree() -> None:
    with pytest.raises(ValueError, match="X has 2 rows"):
        diverse_top_k(np.ones(3), np.ones((2, 2)), k=1, rng=np.random.default_rng(0))


def test_balance_boost_favors_the_rare_class() -> None:
    scores = np.array([0.5, 0.5])
    proba = np.array([[0.9, 0.1], [0.1, 0.9]])  # item 0 looks common, item 1 rare
    boosted = class_balance_boost(scores, proba, label_counts=[50, 2], weight=0.5)
    assert boosted[1] > boosted[0]
    assert boosted[1] <= 0.5 * 1.5


def test_balance_boost_is_neutral_when_labels_are_balanced_or_weight_is_zero() -> None:
    scores = np.array([0.2, 0.7])
    proba = np.array([[0.9, 0.1], [0.1, 0.9]])
    np.testing.assert_allclose(class_balance_boost(scores, proba, [5, 5], weight=0.0), scores)
    balanced = class_balance_boost(scores, proba, [5, 5])
    np.testing.assert_allclose(balanced, scores)


def test_balance_boost_treats_unused_labels_as_rarest() -> None:
    proba = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]])
    boosted = class_balance_boost(np.ones(2), proba, [10, 10, 0])
    assert boosted[1] > boosted[0]


def test_balance_boost_checks_shapes() -> None:
    with pytest.raises(ValueError, match=r"label_counts \(K,\)"):
        class_balance_boost(np.ones(2), np.ones((2, 3)) / 3, [1, 2])


def test_needs_cold_start_until_two_labels_have_enough_items() -> None:
    assert needs_cold_start([0, 0, 0])
    assert needs_cold_start([5, 1, 0])
    assert not needs_cold_start([5, 2, 0])
    assert needs_cold_start([5, 2, 0], min_per_class=3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cold_start_covers_every_cluster_even_small_ones(seed: int) -> None:
    X, groups = _blobs(seed, sizes=(400, 100, 30, 8))
    chosen = cold_start(X, k=4, rng=np.random.default_rng(seed))
    assert sorted(groups[chosen]) == [0, 1, 2, 3]
    assert groups[chosen[0]] == 0  # largest cluster first


def test_cold_start_on_sparse_duplicates_returns_distinct_items() -> None:
    X = sp.csr_matrix(np.repeat(np.eye(3), 10, axis=0))
    chosen = cold_start(X, k=5, rng=np.random.default_rng(0))
    assert np.unique(chosen).size == 5
    assert np.unique(X[chosen].toarray(), axis=0).shape[0] == 3


def test_cold_start_is_deterministic_given_the_seed() -> None:
    X, _ = _blobs(4, sizes=(50, 50, 50))
    a = cold_start(X, k=6, rng=np.random.default_rng(9))
    np.testing.assert_array_equal(a, cold_start(X, k=6, rng=np.random.default_rng(9)))


def test_rank_pool_marks_the_batch_above_one_and_orders_the_rest_by_score() -> None:
    X, _ = _duplicated_pool(5)
    proba = np.column_stack([np.linspace(0.5, 1.0, 50), np.linspace(0.5, 0.0, 50)])
    priority = rank_pool("margin", proba, X, None, batch=4, rng=np.random.default_rng(0))
    batch = np.flatnonzero(priority > 1)
    assert batch.size == 4 and priority.max() == 2.0
    assert np.unique(X[batch], axis=0).shape[0] == 4
    rest = np.setdiff1d(np.arange(50), batch)
    expected = 1 - np.abs(proba[rest, 0] - proba[rest, 1])
    np.testing.assert_allclose(priority[rest], expected)


def test_rank_pool_balance_lifts_the_rare_prediction_into_the_batch() -> None:
    X = np.eye(4)
    # Item 2 is a little less uncertain than items 0 and 1 but leans to the rare label.
    proba = np.array([[0.75, 0.25], [0.75, 0.25], [0.22, 0.78], [0.95, 0.05]])
    without = rank_pool("margin", proba, X, None, batch=1, rng=np.random.default_rng(0))
    with_balance = rank_pool("margin", proba, X, [40, 1], batch=1, rng=np.random.default_rng(0))
    assert without[2] < 2.0 and with_balance[2] == 2.0


def test_rank_pool_cold_start_path() -> None:
    X, groups = _blobs(6, sizes=(100, 40, 10))
    priority = rank_pool("margin", None, X, [0, 0, 0], batch=3, rng=np.random.default_rng(1))
    batch = np.flatnonzero(priority > 1)
    assert sorted(groups[batch]) == [0, 1, 2]
    assert priority[priority <= 1].min() >= 0.0


def test_rank_pool_random_needs_no_model() -> None:
    priority = rank_pool(
        "random", None, np.zeros((30, 2)), None, batch=5, rng=np.random.default_rng(2)
    )
    assert (priority > 1).sum() == 5
    np.testing.assert_allclose(np.sort(priority)[-5:], 2.0 - np.arange(5)[::-1] / 5)


def test_rank_pool_cold_start_needs_features() -> None:
    with pytest.raises(ValueError, match="needs features"):
        rank_pool("entropy", None, None, None, batch=3, rng=np.random.default_rng(0))


def test_cold_start_covers_topics_of_wide_sparse_text_features() -> None:
    # 2 * 2**10 hashed columns exceed the k-means width, so the projection path runs.
    rng = np.random.default_rng(8)
    topics = [["goal", "match", "league", "striker"], ["stock", "market", "shares", "bank"]]
    topics.append(["rain", "storm", "forecast", "cloud"])
    groups = np.repeat([0, 1, 2], [60, 30, 10])
    texts = [" ".join(rng.choice(topics[g], 6)) for g in groups]
    X = TextFeaturizer(n_features=2**10).fit(texts).transform(texts)
    chosen = cold_start(X, k=3, rng=np.random.default_rng(0))
    assert sorted(groups[chosen]) == [0, 1, 2]


def test_wide_sparse_duplicates_are_projected_and_still_never_chosen_twice() -> None:
    """Hashed TF-IDF width (2**19 columns): the dense 256-column view keeps copies exact."""
    rng = np.random.default_rng(7)
    rows = sp.random(40, 2**19, density=2e-4, random_state=8, format="csr")
    X = sp.vstack([rows] * 5, format="csr")  # 40 distinct rows, each 5 times
    scores = rng.random(200)
    chosen = diverse_top_k(scores, X, k=40, candidates_factor=5, rng=np.random.default_rng(1))
    assert chosen[0] == int(np.argmax(scores))
    assert len({i % 40 for i in chosen.tolist()}) == 40  # one of each distinct row


def test_k_center_greedy_adds_the_farthest_point_each_time() -> None:
    Xd = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0], [5.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(k_center_greedy(Xd, k=5), [0, 2, 3, 1, 4])
