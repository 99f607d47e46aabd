"""Label quality: confident learning finds injected label noise; CROWDLAB beats majority vote."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.datasets import load_digits, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from learning.label_quality import (
    find_label_issues,
    majority_consensus,
    majority_vote,
    multiannotator_consensus,
)
from tests.reference_data import shared_data


def out_of_sample_probs(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=500))
    return cross_val_predict(model, X, y, cv=5, method="predict_proba")


@pytest.fixture(scope="module")
def noisy_digits():
    """Real digits, 15% of labels flipped to another class; probabilities from a model fit on them."""
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    flipped = rng.random(y.size) < 0.15
    noisy = y.copy()
    noisy[flipped] = (y[flipped] + rng.integers(1, 10, flipped.sum())) % 10
    return X, y, noisy, flipped, out_of_sample_probs(X, noisy)


# --- find_label_issues -------------------------------------------------------------------------


def test_flagged_items_are_mostly_the_corrupted_ones(noisy_digits):
    _, _, noisy, flipped, probs = noisy_digits
    result = find_label_issues(noisy, probs)
    precision = flipped[result.is_issue].mean()
    recall = result.is_issue[flipped].mean()
    # measured precision 0.78, recall 0.91 (chance precision 0.15); thresholds leave a margin
    assert precision > 0.65
    assert recall > 0.8
    assert result.note is None


def test_ranking_puts_corrupted_labels_first(noisy_digits):
    _, _, noisy, flipped, probs = noisy_digits
    result = find_label_issues(noisy, probs)
    half = result.ranked.size // 2
    assert (
        flipped[result.ranked[:half]].mean() > flipped[result.ranked[half:]].mean() + 0.2
    )  # 0.94 vs 0.62
    assert roc_auc_score(flipped, -result.label_quality) > 0.95  # measured 0.986
    assert np.all(np.diff(result.label_quality[result.ranked]) >= 0)  # most severe first


def test_per_item_fields_explain_each_issue(noisy_digits):
    _, truth, noisy, flipped, probs = noisy_digits
    result = find_label_issues(noisy, probs, class_names=[f"digit {k}" for k in range(10)])
    n = noisy.size
    assert (
        result.is_issue.shape == result.label_quality.shape == result.suggested_label.shape == (n,)
    )
    assert np.allclose(result.label_quality, probs[np.arange(n), noisy])
    assert np.array_equal(result.suggested_label, probs.argmax(axis=1))
    caught = result.is_issue & flipped
    assert (
        np.mean(result.suggested_label[caught] == truth[caught]) > 0.85
    )  # suggestions restore truth
    worst = result.ranked[0]
    assert result.reasons[worst].startswith("low self-confidence")
    assert f"likely confused with digit {result.suggested_label[worst]}" in result.reasons[worst]
    assert all(
        r == "" for r, issue in zip(result.reasons, result.is_issue, strict=True) if not issue
    )


def test_classes_absent_from_labels_are_handled_and_never_suggested():
    X, y = make_classification(
        n_samples=400, n_classes=3, n_informative=5, class_sep=3.0, random_state=1
    )
    rng = np.random.default_rng(1)
    flipped = rng.random(y.size) < 0.1
    noisy = np.where(flipped, (y + 1) % 3, y)
    probs3 = out_of_sample_probs(X, noisy)
    probs5 = np.full((400, 5), 0.05)  # the model gives a little mass to classes nobody used
    probs5[:, [0, 3, 4]] = 0.9 * probs3
    labels5 = np.array([0, 3, 4])[noisy]  # classes 1 and 2 were never used
    result = find_label_issues(labels5, probs5)
    assert set(result.suggested_label) <= {0, 3, 4}
    assert (
        result.is_issue.sum() > 0 and flipped[result.is_issue].mean() > 0.45
    )  # measured 0.64; chance 0.1
    same = find_label_issues(noisy, probs3)
    assert np.array_equal(
        result.is_issue, same.is_issue
    )  # renormalising removed the unused columns


def test_too_little_data_flags_nothing_and_says_why():
    probs = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8]])
    result = find_label_issues([1, 0, 2], probs)
    assert not result.is_issue.any() and result.ranked.size == 0
    assert "too few labelled items" in result.note
    assert np.allclose(result.label_quality, [0.1, 0.2, 0.8])
    one_class = find_label_issues([0, 0, 0, 0], np.tile([0.5, 0.5], (4, 1)))
    assert "1 class" in one_class.note and not one_class.is_issue.any()


def test_invalid_inputs_are_rejected():
    with pytest.raises(ValueError):
        find_label_issues([0, 1], np.array([[0.5, 0.5]]))
    with pytest.raises(ValueError):
        find_label_issues([0, 2], np.array([[0.5, 0.5], [0.5, 0.5]]))
    with pytest.raises(ValueError):
        find_label_issues([0, 1], np.array([[0.5, 0.9], [0.5, 0.5]]))


# --- majority vote and consensus ----------------------------------------------------------------


def test_majority_vote_ties_go_to_the_model_then_the_lowest_index():
    M = np.array([[0, 1, -1], [2, 2, 1], [1, 0, -1], [-1, -1, -1]])
    probs = np.array([[0.2, 0.7, 0.1], [0.4, 0.3, 0.3], [0.5, 0.5, 0.0], [0.1, 0.1, 0.8]])
    labels, share = majority_vote(M, pred_probs=probs)
    assert list(labels) == [1, 2, 0, -1]
    assert np.allclose(share, [0.5, 2 / 3, 0.5, 0.0])
    plain, _ = majority_vote(M, n_categories=3)
    assert list(plain) == [0, 2, 0, -1]


def simulated_crowd(seed: int):
    """600 items, 5 annotators of accuracy 0.9 .. 0.4, three per item; a model trained on majority votes."""
    X, truth = make_classification(
        n_samples=600, n_features=10, n_informative=6, n_classes=3, random_state=seed
    )
    rng = np.random.default_rng(seed)
    accuracy = np.array([0.9, 0.75, 0.6, 0.45, 0.4])
    M = np.full((600, 5), -1)
    for u in range(600):
        for r in rng.choice(5, 3, replace=False):
            wrong = (truth[u] + rng.integers(1, 3)) % 3
            M[u, r] = truth[u] if rng.random() < accuracy[r] else wrong
    majority, _ = majority_vote(M, n_categories=3)
    probs = cross_val_predict(
        LogisticRegression(max_iter=1000), X, majority, cv=5, method="predict_proba"
    )
    return M, truth, probs, accuracy


@pytest.mark.parametrize("seed", [0, 1])
def test_crowdlab_beats_majority_and_ranks_annotators(seed):
    M, truth, probs, accuracy = simulated_crowd(seed)
    majority, _ = majority_vote(M, n_categories=3, pred_probs=probs)
    consensus = multiannotator_consensus(M, probs)
    assert consensus.method == "crowdlab" and consensus.note is None
    # measured: majority 0.76 / 0.79, CROWDLAB 0.76 / 0.83
    assert np.mean(consensus.consensus_label == truth) >= np.mean(majority == truth)
    assert spearmanr(consensus.annotator_quality, accuracy).statistic >= 0.8
    assert np.array_equal(consensus.annotator_n_items, (M >= 0).sum(axis=0))
    assert np.all((consensus.consensus_quality >= 0) & (consensus.consensus_quality <= 1))


def test_unlabelled_items_and_idle_annotators_are_reported_not_dropped():
    M, _, probs, _ = simulated_crowd(0)
    M = np.c_[M, np.full(600, -1)]
    M[:5] = -1
    consensus = multiannotator_consensus(M.astype(float), probs)  # NaN-free float input works too
    assert consensus.method == "crowdlab"
    assert (
        list(consensus.consensus_label[:5]) == [-1] * 5
        and not consensus.consensus_quality[:5].any()
    )
    assert np.isnan(consensus.annotator_quality[5]) and consensus.annotator_n_items[5] == 0
    assert consensus.consensus_label.shape == (600,) and consensus.annotator_quality.shape == (6,)


@pytest.mark.parametrize(
    "M",
    [
        np.array([[0, -1], [1, -1], [-1, 2], [-1, 0]]),  # no overlap between annotators
        np.array([[0], [1], [2], [0]]),  # a single annotator
        np.array([[0, np.nan], [1, np.nan], [np.nan, 2], [0, np.nan]]),  # NaN for missing
    ],
)
def test_too_little_overlap_falls_back_to_majority_and_says_so(M):
    consensus = multiannotator_consensus(M, np.tile([0.2, 0.3, 0.5], (4, 1)))
    assert consensus.method == "majority"
    assert consensus.note == (
        "majority vote instead of CROWDLAB: no item has labels from two or more annotators"
    )
    assert list(consensus.consensus_label) == [0, 1, 2, 0]
    assert np.all(
        np.isnan(consensus.annotator_quality)
    )  # nobody shares an item: nothing to compare


def test_majority_consensus_scores_annotators_by_agreement_with_the_majority():
    M = np.array([[0, 0, 1], [1, 1, 1], [2, 2, 0], [0, -1, -1]])
    consensus = majority_consensus(M, n_categories=3)
    assert consensus.method == "majority" and consensus.note is None
    assert list(consensus.consensus_label) == [0, 1, 2, 0]
    assert np.allclose(consensus.annotator_quality, [1.0, 1.0, 1 / 3])
    assert np.allclose(consensus.consensus_quality, [2 / 3, 1.0, 2 / 3, 1.0])


# --- real crowd data -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rte():
    rte_csv = shared_data("snow2008-rte-crowd", "rte.standardized.csv")
    df = pd.read_csv(rte_csv, usecols=["!amt_worker_ids", "orig_id", "response", "gold"])
    items = pd.Index(sorted(df["orig_id"].unique()))
    workers = pd.Index(sorted(df["!amt_worker_ids"].unique()))
    M = np.full((items.size, workers.size), -1)
    M[items.get_indexer(df["orig_id"]), workers.get_indexer(df["!amt_worker_ids"])] = df["response"]
    gold = df.groupby("orig_id")["gold"].first().reindex(items).to_numpy()
    return M, gold


def test_rte_majority_vote_matches_the_published_91_9_percent(rte):
    M, gold = rte
    assert M.shape == (800, 164) and np.all((M >= 0).sum(axis=1) == 10)
    majority, share = majority_vote(M, n_categories=2)  # 5-5 ties go to the lowest index, 0
    assert np.mean(majority == gold) == pytest.approx(0.91875)
    assert np.sum(share == 0.5) == 65


def test_rte_crowdlab_consensus_is_at_least_as_good_as_majority(rte):
    M, gold = rte
    uninformative = np.full(
        (M.shape[0], 2), 0.5
    )  # no model: consensus rests on annotator quality alone
    consensus = multiannotator_consensus(M, uninformative)
    assert consensus.method == "crowdlab"
    assert np.mean(consensus.consensus_label == gold) >= 0.91875  # measured 0.925
    worker_accuracy = [np.mean(M[M[:, r] >= 0, r] == gold[M[:, r] >= 0]) for r in range(M.shape[1])]
    assert spearmanr(consensus.annotator_quality, worker_accuracy).statistic > 0.7  # measured 0.87
