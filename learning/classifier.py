"""The one model Quorum trains: (one-vs-rest) logistic regression.

Why logistic regression, and why it is "calibrated enough":

* It minimises log-loss, so its probabilities are close to calibrated whenever
  the linear model fits reasonably, which is the regime of TF-IDF text and
  small images. Query strategies only need the *ranking* of uncertainty, and
  cleanlab needs out-of-sample probabilities that are roughly right, not exact.
* Post-hoc calibration (``CalibratedClassifierCV``) needs several examples of
  every class per fold, which an active-learning project does not have early on.
* It trains in seconds on a few thousand sparse rows and predicts a million
  rows in one sparse matrix product, which keeps retraining interactive.

``class_weight="balanced"`` is deliberate: annotators label the uncertain
items, not a random sample, so label frequencies are not the true priors, and
rare labels must still win predictions.

A project has K labels but only some may have been used yet. Everything here
therefore returns (N, K) probabilities with columns placed by class index.
No Django imports here.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.multiclass import OneVsRestClassifier

from learning.featurize import TextBlocks

__all__ = [
    "cross_validated_metrics",
    "fit_classifier",
    "make_classifier",
    "multilabel_out_of_sample_proba",
    "out_of_sample_proba",
    "predict_proba_full",
]

_MAX_ITER = 1000
MIN_POSITIVES = 5  # a label needs this many items with it (and without it) to get its own model


def make_classifier(*, multi_label: bool, seed: int = 0) -> Any:
    """An unfitted scikit-learn estimator.

    Single-label: multinomial ``LogisticRegression(solver="lbfgs")``. Multi-label: one
    liblinear binary model per label. lbfgs, not saga: both minimise the same convex loss
    (the fitted models agree to the solver tolerance), but once the fit is restricted to
    the columns the labeled rows use (``_fit_on_used_columns``) the problem is small and
    dense-ish, where lbfgs is 3-10x faster; saga also crawled on the 100 dense word-vector
    columns (8.7 s against 2.2 s for 5,000 SMS).

    Features are expected on a unit scale, as every featurizer in
    ``learning.featurize`` produces. They are not rescaled here because per-column scaling
    would inflate rare TF-IDF n-grams.
    """
    if multi_label:
        binary = LogisticRegression(
            solver="liblinear", class_weight="balanced", max_iter=_MAX_ITER, random_state=seed
        )
        return OneVsRestClassifier(binary)
    return LogisticRegression(
        solver="lbfgs", class_weight="balanced", max_iter=_MAX_ITER, random_state=seed
    )


def _check_single(y: Any) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"single-label y must be 1-D (N,) class indices; got shape {arr.shape}")
    if arr.size and (not np.issubdtype(arr.dtype, np.integer) or arr.min() < 0):
        raise ValueError("single-label y must hold non-negative integer class indices")
    return arr.astype(np.int64)


def _check_multi(y: Any) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 2:
        raise ValueError(f"multi-label y must be a 2-D (N, K) indicator; got shape {arr.shape}")
    if arr.size and not np.isin(arr, (0, 1)).all():
        raise ValueError("multi-label y must be a binary 0/1 indicator matrix")
    return arr.astype(np.int64)


def fit_classifier(X: Any, y: Any, *, multi_label: bool, seed: int = 0) -> Any:
    """Fit the project's classifier on labeled items.

    Parameters
    ----------
    X : (N, D) dense array or sparse matrix.
    y : (N,) int class indices (single-label) or (N, K) 0/1 indicator (multi-label).
    multi_label : which of the two.
    seed : random_state of the solver.

    Returns
    -------
    A fitted estimator for ``predict_proba_full``. With fewer than two distinct
    classes a single-label model cannot be trained, so a ``DummyClassifier``
    that predicts the observed class frequencies stands in.
    """
    if multi_label:
        Y = _check_multi(y)
        if Y.shape[1] == 1:
            # OneVsRest reads one column as a binary target; a constant second
            # column keeps it in multi-label mode. predict_proba_full drops it.
            Y = np.hstack([Y, np.zeros_like(Y)])
        model = make_classifier(multi_label=True, seed=seed)
        with warnings.catch_warnings():
            # Labels nobody has used yet are constant columns: expected, not news.
            warnings.filterwarnings(
                "ignore", message="Label .* is present in all training examples"
            )
            return model.fit(X, Y)
    labels = _check_single(y)
    if labels.size == 0:
        raise ValueError("cannot fit a classifier on zero labeled items")
    if np.unique(labels).size < 2:
        return DummyClassifier(strategy="prior").fit(X, labels)
    return _fit_on_used_columns(make_classifier(multi_label=False, seed=seed), X, labels)


def _fit_on_used_columns(model: LogisticRegression, X: Any, y: np.ndarray) -> LogisticRegression:
    """Fit on the columns some row uses, then widen ``coef_`` back to all D columns.

    For the same reason as ``_used_columns``: a column that is zero in every training
    row gets weight exactly 0, so the fitted model and its predictions are unchanged, but
    the solver no longer touches 2**19 weights per iteration (about 1 s saved per retrain).
    """
    if not sp.issparse(X):
        return model.fit(X, y)
    X = sp.csr_matrix(X)
    used = np.unique(X.indices)
    if used.size * 2 > X.shape[1]:
        return model.fit(X, y)
    model.fit(X[:, used], y)
    coef = np.zeros((model.coef_.shape[0], X.shape[1]), dtype=model.coef_.dtype)
    coef[:, used] = model.coef_
    model.coef_ = coef
    model.n_features_in_ = X.shape[1]
    return model


def predict_proba_full(model: Any, X: Any, n_classes: int) -> np.ndarray:
    """Predicted probabilities for all K project labels.

    Returns
    -------
    (N, K) float64. Single-label: column k is P(class k); classes the model never
    saw get 0 and every row sums to 1. Multi-label: column k is P(label k
    applies), independently per label; labels beyond the fitted Y get 0.

    ``X`` may be ``TextBlocks``: a single-label logistic regression then scores the
    blocks without joining them (same probabilities, see ``_linear_proba``).
    """
    if isinstance(X, TextBlocks):
        linear = isinstance(model, LogisticRegression)
        proba = _linear_proba(model, X) if linear else model.predict_proba(X.joined())
    else:
        proba = model.predict_proba(X)
    proba = np.asarray(proba, dtype=np.float64)
    out = np.zeros((proba.shape[0], n_classes))
    if getattr(model, "multilabel_", False):
        width = min(n_classes, proba.shape[1])
        out[:, :width] = proba[:, :width]
        return out
    classes = np.asarray(model.classes_)
    if classes.size and classes.max() >= n_classes:
        raise ValueError(f"model knows class {classes.max()} but the project has only {n_classes}")
    out[:, classes] = proba
    sums = out.sum(axis=1, keepdims=True)
    return np.divide(out, sums, out=np.full_like(out, 1.0 / n_classes), where=sums > 0)


def _linear_proba(model: LogisticRegression, blocks: TextBlocks) -> np.ndarray:
    """``model.predict_proba(blocks.joined())``, computed from the blocks.

    The same formulas as scikit-learn's ``LogisticRegression.predict_proba``: the logistic
    function of the decision for two classes, the softmax of the decisions for more.
    """
    if model.coef_.shape[1] != blocks.shape[1]:  # what predict_proba would check
        raise ValueError(
            f"the features have {blocks.shape[1]} columns but the model was trained on "
            f"{model.coef_.shape[1]}"
        )
    decision = blocks.dot(model.coef_.T) + model.intercept_
    if model.classes_.size <= 2:
        positive = expit(decision[:, 0])
        return np.column_stack([1.0 - positive, positive])
    return softmax(decision, axis=1)


def _splits(
    y: np.ndarray, *, multi_label: bool, folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index pairs, stratified when the labels allow it.

    Uses ``min(folds, N)`` folds. Stratification needs the most frequent class
    to have at least that many items; classes rarer than the fold count end up
    in only some test folds (the model of the other folds never sees them, and
    ``predict_proba_full`` gives them probability 0 there). Otherwise, and for
    multi-label, shuffled plain K-fold.
    """
    n = y.shape[0]
    n_splits = min(folds, n)
    if n_splits < 2:
        raise ValueError(f"cross-validation needs at least 2 labeled items; got {n}")
    if not multi_label and np.bincount(y).max() >= n_splits:
        splitter: KFold | StratifiedKFold = StratifiedKFold(
            n_splits, shuffle=True, random_state=seed
        )
    else:
        splitter = KFold(n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class")
        return list(splitter.split(np.zeros((n, 1)), y if not multi_label else None))


def out_of_sample_proba(
    X: Any,
    y: Any,
    *,
    n_classes: int,
    folds: int = 5,
    seed: int = 0,
    multi_label: bool = False,
) -> np.ndarray:
    """Cross-validated (out-of-sample) probabilities, as cleanlab expects.

    Every item is predicted by a model that did not train on it.

    Parameters
    ----------
    X : (N, D) features of the labeled items.
    y : (N,) class indices or (N, K) indicator.
    n_classes : K, the project's label count (including labels absent from y).

    Returns
    -------
    (N, K) float64 probabilities, same conventions as ``predict_proba_full``.
    """
    y = _check_multi(y) if multi_label else _check_single(y)
    X = _used_columns(X)
    out = np.zeros((y.shape[0], n_classes))
    for train, test in _splits(y, multi_label=multi_label, folds=folds, seed=seed):
        model = fit_classifier(X[train], y[train], multi_label=multi_label, seed=seed)
        out[test] = predict_proba_full(model, X[test], n_classes)
    return out


def _used_columns(X: Any) -> Any:
    """(N, D) sparse X without the columns that are zero in every row: (N, D_used).

    Hashed TF-IDF has 2**19 columns but a few hundred labeled texts use a few
    thousand. A zero column gets weight 0 in the L2-regularised fit and adds nothing
    to a prediction, so the models' probabilities do not change; but the solver touches every
    weight once per iteration, and fold models run 100+ of them: 2.5 s of CV becomes 0.3 s.
    """
    if not sp.issparse(X):
        return X
    X = sp.csr_matrix(X)
    used = np.unique(X.indices)
    if used.size * 2 > X.shape[1]:
        return X
    return X[:, used]


def cross_validated_metrics(
    X: Any,
    y: Any,
    *,
    multi_label: bool,
    n_classes: int,
    folds: int = 5,
    seed: int = 0,
    evaluate: Any | None = None,
) -> dict[str, float | int]:
    """Estimate how good the current model is from the labeled items alone.

    ``evaluate``: an optional (N,) bool mask of the items that were labeled as a random
    sample of the pool (the project's evaluation sample). The out-of-fold predictions of
    those items alone score the model without active learning's bias: the actively chosen
    items are the hardest ones, so scores over all of them understate the model.

    Returns
    -------
    dict with ``accuracy`` (subset accuracy for multi-label), ``macro_f1``
    (over the labels present in y; multi-label predicts p >= 0.5),
    ``n_labels`` (N, the labeled items evaluated) and ``folds`` (used); with ``evaluate``,
    also ``eval_macro_f1`` (NaN under 2 items) and ``eval_n`` (the items in the mask).
    Fewer than two labeled items give NaN metrics rather than an error, so a
    dashboard can show "not enough labels yet".
    """
    y = _check_multi(y) if multi_label else _check_single(y)
    n = int(y.shape[0])
    mask = None if evaluate is None else np.asarray(evaluate, dtype=bool)
    if mask is not None and mask.shape != (n,):
        raise ValueError(f"evaluate must be a mask of the {n} labeled items")
    extra: dict[str, float | int] = {}
    if mask is not None:
        extra = {"eval_macro_f1": float("nan"), "eval_n": int(mask.sum())}
    if n < 2:
        return {"accuracy": float("nan"), "macro_f1": float("nan"), "n_labels": n, "folds": 0,
                **extra}  # fmt: skip
    proba = out_of_sample_proba(
        X, y, n_classes=n_classes, folds=folds, seed=seed, multi_label=multi_label
    )
    if multi_label:
        predicted = (proba[:, : y.shape[1]] >= 0.5).astype(np.int64)
    else:
        predicted = proba.argmax(axis=1)
    if mask is not None and mask.sum() >= 2:
        extra["eval_macro_f1"] = _macro_f1(y[mask], predicted[mask], multi_label=multi_label)
    return {
        "accuracy": float(accuracy_score(y, predicted)),
        "macro_f1": _macro_f1(y, predicted, multi_label=multi_label),
        "n_labels": n,
        "folds": min(folds, n),
        **extra,
    }


def _macro_f1(y: np.ndarray, predicted: np.ndarray, *, multi_label: bool) -> float:
    """Macro-F1 over the labels present in ``y`` (multi-label: columns with a positive)."""
    if multi_label:
        present = np.flatnonzero(y.any(axis=0))
        if not present.size:
            return 0.0
        return float(
            f1_score(y[:, present], predicted[:, present], average="macro", zero_division=0)
        )
    return float(f1_score(y, predicted, labels=np.unique(y), average="macro", zero_division=0))


def multilabel_out_of_sample_proba(
    X: Any, Y: Any, *, folds: int = 5, seed: int = 0, min_positives: int = MIN_POSITIVES
) -> tuple[np.ndarray, np.ndarray]:
    """Cross-validated P(label k applies), one binary model per label, and which were modeled.

    Seeded shuffled K-fold; every item is predicted by models that did not train on it.
    A label with fewer than ``min_positives`` items with it (or without it) gets no model: a
    binary model on one or two positives predicts noise, and a fold holding them all out
    predicts 0 for them. Its column is then the label's frequency in the training folds and
    ``modeled[k]`` is False, so callers (cleanlab) can leave it unjudged.

    Parameters
    ----------
    X : (N, D) features; Y : (N, K) 0/1 indicator.

    Returns
    -------
    proba : (N, K) float64 in [0, 1]; rows need not sum to 1.
    modeled : (K,) bool.
    """
    Y = _check_multi(Y)
    n, k = Y.shape
    positives = Y.sum(axis=0)
    modeled = (positives >= min_positives) & (n - positives >= min_positives)
    columns = np.flatnonzero(modeled)
    out = np.zeros((n, k))
    for train, test in _splits(Y, multi_label=True, folds=folds, seed=seed):
        out[test] = Y[train].mean(axis=0)
        if columns.size:
            model = fit_classifier(X[train], Y[train][:, columns], multi_label=True, seed=seed)
            out[np.ix_(test, columns)] = predict_proba_full(model, X[test], columns.size)
    return out, modeled
