"""Multi-label label quality: confident learning per label finds flipped labels in label sets.

Probabilities come from ``learning.classifier.multilabel_out_of_sample_proba`` (the job's own
cross-validated one-vs-rest models), so these tests cover the pair as the job uses it.
"""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from learning.classifier import multilabel_out_of_sample_proba
from learning.label_quality import find_multilabel_issues
from learning.multilabel_quality import MIN_PER_SIDE, as_indicator


def flip_one_label(Y: np.ndarray, fraction: float, rng) -> tuple[np.ndarray, set[int]]:
    """A copy of Y where ``fraction`` of the items have one label added or removed."""
    noisy = Y.copy()
    flipped = rng.choice(Y.shape[0], int(fraction * Y.shape[0]), replace=False)
    for i in flipped:
        noisy[i, rng.integers(Y.shape[1])] ^= 1
    return noisy, set(flipped.tolist())


@pytest.fixture(scope="module")
def synthetic():
    """400 items, 5 labels from linear rules on 10 features; 8% of items get one label flipped."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 10))
    W = rng.normal(size=(10, 5)) * 2
    Y = (X @ W + rng.normal(size=(400, 5)) * 0.3 > 1.0).astype(np.int64)
    noisy, flipped = flip_one_label(Y, 0.08, rng)
    proba, modeled = multilabel_out_of_sample_proba(X, noisy, seed=0)
    return noisy, flipped, proba, modeled


def precision_recall(found: set[int], truth: set[int]) -> tuple[float, float]:
    hits = len(found & truth)
    return hits / max(len(found), 1), hits / len(truth)


def test_flipped_label_sets_are_found(synthetic):
    noisy, flipped, proba, modeled = synthetic
    result = find_multilabel_issues(noisy, proba)
    precision, recall = precision_recall(set(result.ranked.tolist()), flipped)
    # measured on this seed: precision 0.83, recall 0.78 (seeds 0-3: P 0.83-0.88, R 0.75-0.88;
    # chance precision is 0.08)
    assert precision >= 0.7 and recall >= 0.7
    assert modeled.all() and result.judged.all() and result.note is None


def test_a_multi_label_variant_of_real_digits():
    """Digits described by four attributes (even, > 4, prime, has a loop); 10% get one flipped."""
    X, digit = load_digits(return_X_y=True)
    attributes = [{0, 2, 4, 6, 8}, {5, 6, 7, 8, 9}, {2, 3, 5, 7}, {0, 6, 8, 9}]
    Y = np.array([[d in a for a in attributes] for d in digit], dtype=np.int64)
    noisy, flipped = flip_one_label(Y, 0.10, np.random.default_rng(1))
    proba, _ = multilabel_out_of_sample_proba(X / 16.0, noisy, seed=0)
    result = find_multilabel_issues(noisy, proba)
    precision, recall = precision_recall(set(result.ranked.tolist()), flipped)
    # measured: precision 0.52, recall 0.78 (chance precision 0.10). The linear model gets each
    # attribute only ~91% right on the clean data, so its own mistakes cap the precision.
    assert precision >= 0.45 and recall >= 0.7


def test_lists_of_indices_and_indicator_matrices_give_the_same_verdicts(synthetic):
    noisy, _, proba, _ = synthetic
    as_lists = [np.flatnonzero(row).tolist() for row in noisy]
    a, b = find_multilabel_issues(as_lists, proba), find_multilabel_issues(noisy, proba)
    assert np.array_equal(a.ranked, b.ranked) and np.allclose(a.label_quality, b.label_quality)
    assert np.array_equal(as_indicator(as_lists, 5), noisy)


def test_issues_come_most_severe_first_with_a_reason(synthetic):
    noisy, _, proba, _ = synthetic
    result = find_multilabel_issues(noisy, proba, class_names=list("abcde"))
    qualities = result.label_quality[result.ranked]
    assert np.all(np.diff(qualities) >= 0)
    assert np.array_equal(np.flatnonzero(result.is_issue), np.sort(result.ranked))
    worst = result.ranked[0]
    assert result.reasons[worst].startswith("low label quality")
    assert "probably" in result.reasons[worst]
    assert all(result.reasons[i] == "" for i in np.flatnonzero(~result.is_issue))


def test_the_suggestion_is_what_the_model_believes_and_never_empty():
    labels = [[0], [1], [0, 1], [], [0], [1]] * 3
    proba = np.tile(
        [[0.9, 0.2], [0.1, 0.8], [0.7, 0.6], [0.3, 0.4], [0.2, 0.1], [0.6, 0.9]], (3, 1)
    )
    result = find_multilabel_issues(labels, proba)
    expected = [[1, 0], [0, 1], [1, 1], [0, 1], [1, 0], [1, 1]] * 3  # rows 3, 4: best guess
    assert result.suggested.astype(int).tolist() == expected


def test_labels_too_rare_to_judge_keep_their_given_value_and_cause_no_flag():
    rng = np.random.default_rng(3)
    common = rng.random(60) < 0.5
    labels = [[0] if c else [] for c in common]
    labels[7] = labels[7] + [1]  # label 1 is used once: no noise rate to estimate
    proba = np.column_stack([np.where(common, 0.9, 0.1), np.zeros(60)])
    result = find_multilabel_issues(labels, proba)
    assert result.judged.tolist() == [True, False]
    assert not result.is_issue.any()  # one judged label works (cleanlab needs K >= 2)
    assert result.suggested[7].tolist() == [bool(common[7]), True]


def test_judge_mask_and_too_little_data_leave_nothing_flagged_with_a_note():
    labels = [[0], [1], [0], [1], [0], [1]]
    proba = np.array([[0.1, 0.9], [0.9, 0.1]] * 3)  # every label contradicted
    assert find_multilabel_issues(labels, proba).is_issue.any()
    result = find_multilabel_issues(labels, proba, judge=np.array([False, False]))
    assert not result.is_issue.any() and "no label can be judged" in result.note
    tiny = find_multilabel_issues([[0], [1]], proba[:2])
    assert f">= {MIN_PER_SIDE} items" in tiny.note and tiny.ranked.size == 0


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="shape"):
        find_multilabel_issues([[0], [1]], np.full((3, 2), 0.5))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        find_multilabel_issues([[0], [1]], np.array([[1.2, 0.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="must lie in"):
        find_multilabel_issues([[0], [2]], np.full((2, 2), 0.5))


# --- multilabel_out_of_sample_proba ---------------------------------------------------------


def test_out_of_sample_is_seeded_and_rare_labels_fall_back_to_their_frequency():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(50, 4))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, np.zeros(50), np.zeros(50)]).astype(int)
    Y[3, 2] = 1  # one positive: a binary model on it would predict noise
    Y[:, 3] = 1  # applied everywhere: nothing to learn
    proba, modeled = multilabel_out_of_sample_proba(X, Y, seed=1)
    again, _ = multilabel_out_of_sample_proba(X, Y, seed=1)
    assert np.array_equal(proba, again)
    assert modeled.tolist() == [True, True, False, False]
    assert np.all(proba[:, 2] <= 1 / 40) and proba[3, 2] == 0  # training-fold frequency
    assert np.all(proba[:, 3] == 1.0)
    accuracy = ((proba[:, :2] >= 0.5) == Y[:, :2]).mean()
    assert accuracy > 0.85
