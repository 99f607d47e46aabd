"""Classifier: K-column probabilities whatever labels were seen, honest CV metrics."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits

from learning.classifier import (
    cross_validated_metrics,
    fit_classifier,
    make_classifier,
    out_of_sample_proba,
    predict_proba_full,
)


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _blobs(
    seed: int, classes: list[int], per_class: int = 20, dim: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 1, size=(max(classes) + 1, dim))
    y = np.repeat(classes, per_class)
    return centers[y] + rng.normal(0, 0.2, size=(y.size, dim)), y


def test_make_classifier_uses_balanced_logistic_regression() -> None:
    single = make_classifier(multi_label=False, seed=3)
    assert single.class_weight == "balanced" and single.random_state == 3
    multi = make_classifier(multi_label=True)
    assert multi.estimator.class_weight == "balanced"


def test_unseen_classes_get_zero_columns_and_rows_sum_to_one() -> None:
    X, y = _blobs(0, classes=[1, 3])  # the project has 5 labels; only 1 and 3 used
    model = fit_classifier(X, y, multi_label=False, seed=0)
    proba = predict_proba_full(model, X, n_classes=5)
    assert proba.shape == (40, 5)
    np.testing.assert_allclose(proba[:, [0, 2, 4]], 0.0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (proba.argmax(axis=1) == y).mean() > 0.95


def test_a_single_seen_class_is_predicted_with_certainty() -> None:
    X, y = _blobs(1, classes=[2], per_class=4)
    proba = predict_proba_full(fit_classifier(X, y, multi_label=False), X, n_classes=3)
    np.testing.assert_allclose(proba, np.tile([0.0, 0.0, 1.0], (4, 1)))


def test_a_class_index_beyond_the_project_is_an_error() -> None:
    X, y = _blobs(2, classes=[0, 4])
    with pytest.raises(ValueError, match="only 3"):
        predict_proba_full(fit_classifier(X, y, multi_label=False), X, n_classes=3)


def test_single_label_y_must_be_integer_indices() -> None:
    with pytest.raises(ValueError, match="integer"):
        fit_classifier(np.zeros((2, 2)), np.array([0.5, 1.0]), multi_label=False)


def test_multi_label_predicts_each_label_independently() -> None:
    rng = np.random.default_rng(4)
    X = rng.normal(size=(120, 4))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, np.zeros(120)]).astype(int)
    model = fit_classifier(sp.csr_matrix(X), Y, multi_label=True, seed=0)
    proba = predict_proba_full(model, sp.csr_matrix(X), n_classes=4)
    assert proba.shape == (120, 4)
    assert ((proba[:, :2] >= 0.5) == Y[:, :2]).mean() > 0.9
    np.testing.assert_allclose(proba[:, 2:], 0.0)  # never used + beyond fitted Y
    assert not np.allclose(proba.sum(axis=1), 1.0)


def test_multi_label_with_one_label_keeps_one_column() -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 3))
    Y = (X[:, :1] > 0).astype(int)
    proba = predict_proba_full(fit_classifier(X, Y, multi_label=True), X, n_classes=1)
    assert proba.shape == (60, 1)
    assert ((proba[:, 0] >= 0.5) == Y[:, 0]).mean() > 0.9


def test_cv_metrics_on_digits_are_high_and_honest(digits: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = digits
    metrics = cross_validated_metrics(
        X[:400], y[:400], multi_label=False, n_classes=10, folds=3, seed=0
    )
    assert metrics["n_labels"] == 400 and metrics["folds"] == 3
    assert 0.85 < metrics["accuracy"] < 1.0
    assert 0.85 < metrics["macro_f1"] < 1.0


def test_cv_metrics_degrade_gracefully_with_tiny_classes(
    digits: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = digits
    idx = np.concatenate(
        [np.flatnonzero(y == 0)[:10], np.flatnonzero(y == 1)[:10], np.flatnonzero(y == 7)[:1]]
    )
    metrics = cross_validated_metrics(
        X[idx], y[idx], multi_label=False, n_classes=10, folds=5, seed=0
    )
    assert metrics["folds"] == 5
    assert 0.0 <= metrics["macro_f1"] <= 1.0
    assert metrics["accuracy"] >= 0.9  # the lone 7 is missed, the 0s and 1s are not


def test_cv_metrics_with_fewer_items_than_folds() -> None:
    X = np.array([[0.0], [1.0], [0.1]])
    metrics = cross_validated_metrics(
        X, np.array([0, 1, 0]), multi_label=False, n_classes=2, folds=5
    )
    assert metrics["folds"] == 3 and metrics["n_labels"] == 3
    one = cross_validated_metrics(X[:1], np.array([0]), multi_label=False, n_classes=2)
    assert np.isnan(one["accuracy"]) and one["n_labels"] == 1


def test_cv_metrics_for_multi_label() -> None:
    rng = np.random.default_rng(6)
    X = rng.normal(size=(150, 4))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0.5]).astype(int)
    metrics = cross_validated_metrics(X, Y, multi_label=True, n_classes=3, folds=3, seed=1)
    assert metrics["accuracy"] > 0.8 and metrics["macro_f1"] > 0.8


def test_out_of_sample_proba_never_predicts_an_item_from_its_own_label(
    digits: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = digits
    X, y = X[:300], y[:300].copy()
    y[:10] = (y[:10] + 1) % 10  # plant label errors
    oos = out_of_sample_proba(X, y, n_classes=10, folds=5, seed=0)
    assert oos.shape == (300, 10)
    np.testing.assert_allclose(oos.sum(axis=1), 1.0)
    in_sample = predict_proba_full(fit_classifier(X, y, multi_label=False), X, n_classes=10)
    # Out of sample the planted wrong labels look far less likely than in sample,
    # where the model partly fitted them, and far less likely than correct labels.
    wrong, right = np.arange(10), np.arange(10, 300)
    assert oos[wrong, y[wrong]].mean() < in_sample[wrong, y[wrong]].mean() / 3
    assert oos[wrong, y[wrong]].mean() < 0.1 < 0.5 < oos[right, y[right]].mean()


def test_out_of_sample_proba_handles_a_class_with_one_item() -> None:
    X, y = _blobs(7, classes=[0, 1], per_class=10)
    X = np.vstack([X, X[:1] + 2])
    y = np.append(y, 2)
    oos = out_of_sample_proba(X, y, n_classes=4, folds=5, seed=0)
    assert oos.shape == (21, 4)
    np.testing.assert_allclose(oos[:, 3], 0.0)
    assert oos[20, 2] == 0.0  # its only example was held out when it was predicted


def test_a_sparse_fit_on_few_used_columns_predicts_exactly_like_a_fit_on_all_of_them() -> None:
    # 60 rows over 2**16 hashed columns, of which they use about 300: the fit is done on
    # those, and the widened model must equal scikit-learn's fit on every column.
    X = sp.random(60, 2**16, density=0.0001, random_state=4, format="csr")
    X.data[:] = 1.0
    signal = np.asarray(X[:, : 2**15].sum(axis=1)).ravel()
    y = (signal > np.median(signal)).astype(np.int64)
    X_new = sp.random(40, 2**16, density=0.001, random_state=5, format="csr")

    model = fit_classifier(X, y, multi_label=False, seed=0)
    reference = make_classifier(multi_label=False, seed=0).fit(X, y)

    assert np.unique(X.indices).size < 2**16 // 2  # the reduced path is the one under test
    assert model.coef_.shape == reference.coef_.shape == (1, 2**16)
    np.testing.assert_allclose(model.predict_proba(X_new), reference.predict_proba(X_new),
                               rtol=0, atol=1e-12)  # fmt: skip


_REVIEWS = [
    "loved it, great fun", "awful and boring", "a great cast", "boring plot, bad acting",
    "fun for all", "bad sound", "", "the best film this year", "worst film ever", "fine",
]  # fmt: skip


@pytest.mark.parametrize(
    ("classes", "multi_label"),
    [([0, 1], False), ([0, 1, 2], False), ([1], False), ([0, 1], True)],
    ids=["binary", "multiclass", "one-class dummy", "multi-label"],
)
def test_text_blocks_predict_the_same_probabilities_as_joined_rows(
    classes: list[int], multi_label: bool
) -> None:
    """Scoring a pool skips the join of TF-IDF and word vectors; the answer must not change."""
    from learning.featurize import TextFeaturizer

    texts = _REVIEWS * 3
    featurizer = TextFeaturizer(n_features=2**12).fit(texts)
    y = np.asarray(classes)[np.arange(len(texts)) % len(classes)]
    if multi_label:
        y = np.column_stack([y, 1 - y, np.arange(len(texts)) % 3 == 0]).astype(int)
    model = fit_classifier(featurizer.transform(texts), y, multi_label=multi_label)
    joined = predict_proba_full(model, featurizer.transform(texts), 4)
    blocks = predict_proba_full(model, featurizer.transform_blocks(texts), 4)
    np.testing.assert_allclose(blocks, joined, atol=1e-6)
    assert blocks.shape == (len(texts), 4)


def test_text_blocks_of_another_width_than_the_model_are_refused() -> None:
    from learning.featurize import TextFeaturizer

    texts = _REVIEWS * 2
    with_vectors = TextFeaturizer(n_features=2**10).fit(texts)
    model = fit_classifier(with_vectors.transform(texts), np.arange(len(texts)) % 2,
                           multi_label=False)  # fmt: skip
    without = TextFeaturizer(n_features=2**10, word_vectors=False).fit(texts)
    with pytest.raises(ValueError, match="columns but the model was trained on"):
        predict_proba_full(model, without.transform_blocks(texts), 2)
