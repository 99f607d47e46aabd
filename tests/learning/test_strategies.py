"""Every query strategy passes the same contract (``StrategyContract``).

A strategy's test class inherits the contract and states only what is special
about it: its name and which hand-made row it must rank above which.
"""

from __future__ import annotations

import numpy as np
import pytest

from learning.strategies import DEFAULT_STRATEGY, STRATEGIES, score_pool


def _dirichlet_pool(seed: int, n: int = 200, k: int = 4) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(k) * 0.5, size=n)


class StrategyContract:
    """The interface every registered strategy honours."""

    name: str = ""
    #: (confident row, unsure row): the unsure one must score strictly higher.
    confident = np.array([0.97, 0.01, 0.01, 0.01])
    unsure = np.array([0.40, 0.38, 0.12, 0.10])

    def score(self, proba: np.ndarray, *, seed: int = 0, multi_label: bool = False) -> np.ndarray:
        return score_pool(
            self.name, proba, rng=np.random.default_rng(seed), multi_label=multi_label
        )

    def test_is_registered(self) -> None:
        assert self.name in STRATEGIES

    def test_returns_one_float_per_item(self) -> None:
        scores = self.score(_dirichlet_pool(1))
        assert scores.shape == (200,)
        assert scores.dtype == np.float64

    def test_scores_lie_in_unit_interval(self) -> None:
        for seed in range(3):
            scores = self.score(_dirichlet_pool(seed))
            assert scores.min() >= 0.0 and scores.max() <= 1.0

    def test_same_generator_seed_gives_same_scores(self) -> None:
        proba = _dirichlet_pool(2)
        np.testing.assert_array_equal(self.score(proba, seed=7), self.score(proba, seed=7))

    def test_empty_pool_gives_empty_scores(self) -> None:
        assert self.score(np.empty((0, 3))).shape == (0,)

    def test_multi_label_path_accepts_rows_not_summing_to_one(self) -> None:
        proba = np.random.default_rng(3).random((50, 5))
        scores = self.score(proba, multi_label=True)
        assert scores.shape == (50,)
        assert scores.min() >= 0.0 and scores.max() <= 1.0

    @pytest.mark.parametrize(
        "bad, message",
        [
            (np.array([0.5, 0.5]), "2-D"),
            (np.array([[0.5, np.nan]]), "NaN"),
            (np.array([[0.9, 0.9]]), "sum to 1"),
            (np.array([[1.5, -0.5]]), r"\[0, 1\]"),
            (np.empty((3, 0)), "at least one column"),
        ],
    )
    def test_rejects_bad_probabilities(self, bad: np.ndarray, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            self.score(bad)


class UncertaintyContract(StrategyContract):
    """Deterministic uncertainty strategies: the ordering is the point."""

    def test_unsure_row_outranks_confident_row(self) -> None:
        scores = self.score(np.vstack([self.confident, self.unsure]))
        assert scores[1] > scores[0]

    def test_one_hot_rows_score_zero(self) -> None:
        np.testing.assert_allclose(self.score(np.eye(4)), 0.0, atol=1e-12)

    def test_does_not_depend_on_the_generator(self) -> None:
        proba = _dirichlet_pool(4)
        np.testing.assert_array_equal(self.score(proba, seed=1), self.score(proba, seed=2))

    def test_multi_label_ranks_a_coin_flip_label_above_certain_labels(self) -> None:
        certain = [0.99, 0.01, 0.98]
        coin_flip = [0.99, 0.50, 0.98]
        scores = self.score(np.array([certain, coin_flip]), multi_label=True)
        assert scores[1] > scores[0]


class TestLeastConfidence(UncertaintyContract):
    name = "least_confidence"

    def test_is_one_minus_the_top_probability(self) -> None:
        np.testing.assert_allclose(self.score(np.array([[0.6, 0.3, 0.1]])), [0.4])


class TestMargin(UncertaintyContract):
    name = "margin"

    def test_is_one_minus_the_gap_between_the_two_best(self) -> None:
        np.testing.assert_allclose(self.score(np.array([[0.1, 0.6, 0.3]])), [0.7])

    def test_a_tie_between_the_two_best_scores_one(self) -> None:
        np.testing.assert_allclose(self.score(np.array([[0.45, 0.1, 0.45]])), [1.0])


class TestEntropy(UncertaintyContract):
    name = "entropy"

    def test_uniform_distribution_scores_one_whatever_k(self) -> None:
        for k in (2, 3, 10):
            np.testing.assert_allclose(self.score(np.full((1, k), 1 / k)), [1.0])

    def test_prefers_spread_over_a_tail(self) -> None:
        # Same top probability, but the second row spreads its rest more evenly.
        scores = self.score(np.array([[0.5, 0.5, 0.0, 0.0], [0.5, 0.2, 0.15, 0.15]]))
        assert scores[1] > scores[0]


class TestRandom(StrategyContract):
    name = "random"

    def test_different_seeds_give_different_scores(self) -> None:
        proba = _dirichlet_pool(5)
        assert not np.array_equal(self.score(proba, seed=1), self.score(proba, seed=2))

    def test_ignores_the_probabilities(self) -> None:
        a, b = _dirichlet_pool(6), _dirichlet_pool(7)
        np.testing.assert_array_equal(self.score(a, seed=3), self.score(b, seed=3))

    def test_needs_an_explicit_generator(self) -> None:
        with pytest.raises(ValueError, match="Generator"):
            score_pool("random", _dirichlet_pool(8), rng=None)


def test_every_registered_strategy_has_a_contract_test() -> None:
    tested = {cls.name for cls in (TestLeastConfidence, TestMargin, TestEntropy, TestRandom)}
    assert tested == set(STRATEGIES)


def test_default_strategy_is_registered() -> None:
    assert DEFAULT_STRATEGY in STRATEGIES


def test_unknown_strategy_name_is_rejected_with_the_choices() -> None:
    with pytest.raises(ValueError, match="margin"):
        score_pool("bald", _dirichlet_pool(9))
