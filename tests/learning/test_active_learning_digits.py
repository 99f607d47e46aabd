"""End to end on real data: the default strategy must save labeling effort.

Simulates annotators on scikit-learn's digits: both arms start from the same
cold-start batch, then label batches of 15 chosen by ``rank_pool``, retrain,
and stop when held-out accuracy reaches the target. Uncertainty sampling must
need fewer labels than random sampling, on average over a few seeds.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from learning.classifier import fit_classifier, predict_proba_full
from learning.selection import cold_start, rank_pool
from learning.strategies import DEFAULT_STRATEGY

N_CLASSES = 10
BATCH = 15
TARGET_ACCURACY = 0.88
BUDGET = 150
SEEDS = (0, 1, 2)


def labels_needed(
    strategy: str, seed: int, X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray
) -> int:
    """Labels an annotator gives before held-out accuracy reaches the target."""
    rng = np.random.default_rng(seed)
    labeled = cold_start(X, k=BATCH, rng=np.random.default_rng(seed))  # shared by both arms
    while labeled.size < BUDGET:
        model = fit_classifier(X[labeled], y[labeled], multi_label=False, seed=seed)
        accuracy = (predict_proba_full(model, X_test, N_CLASSES).argmax(axis=1) == y_test).mean()
        if accuracy >= TARGET_ACCURACY:
            return int(labeled.size)
        pool = np.setdiff1d(np.arange(y.size), labeled)
        proba = predict_proba_full(model, X[pool], N_CLASSES)
        counts = np.bincount(y[labeled], minlength=N_CLASSES)
        priority = rank_pool(strategy, proba, X[pool], counts, batch=BATCH, rng=rng)
        labeled = np.concatenate([labeled, pool[priority > 1]])
    return BUDGET


def test_default_strategy_needs_fewer_labels_than_random() -> None:
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    order = np.random.default_rng(123).permutation(y.size)
    pool, test = order[:1200], order[1200:]
    smart = [labels_needed(DEFAULT_STRATEGY, s, X[pool], y[pool], X[test], y[test]) for s in SEEDS]
    rand = [labels_needed("random", s, X[pool], y[pool], X[test], y[test]) for s in SEEDS]
    print(f"labels to {TARGET_ACCURACY:.0%}: {DEFAULT_STRATEGY}={smart} random={rand}")
    assert max(smart) < BUDGET, "uncertainty sampling never reached the target"
    assert np.mean(smart) < 0.8 * np.mean(rand)
