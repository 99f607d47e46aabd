"""Label quality: suspicious labels and multi-annotator consensus, thin wrappers over cleanlab. No Django.

Arrays in, arrays out. ``labels`` are class indices (N,); ``pred_probs`` (N, K) are *out-of-sample*
predicted probabilities (e.g. from ``cross_val_predict``), as confident learning requires. Multi-annotator
labels use the rating-matrix layout of :mod:`learning.agreement.metrics`: (N, R) with -1 (or NaN) for missing.
Multi-label sets: :func:`find_multilabel_issues` (in :mod:`learning.multilabel_quality`, re-exported).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from cleanlab.filter import find_label_issues as _cl_find_label_issues
from cleanlab.multiannotator import get_label_quality_multiannotator
from cleanlab.rank import get_label_quality_scores

from learning.agreement.metrics import MISSING, as_rating_matrix, category_counts
from learning.multilabel_quality import MultiLabelIssues, find_multilabel_issues

__all__ = [
    "Consensus",
    "LabelIssues",
    "MultiLabelIssues",
    "find_label_issues",
    "find_multilabel_issues",
    "majority_consensus",
    "majority_vote",
    "multiannotator_consensus",
]

logger = logging.getLogger(__name__)
MIN_PER_CLASS = 2  # below ~2 labelled items per class, per-class noise rates are meaningless


@dataclass(frozen=True)
class LabelIssues:
    """Per-item verdicts, all of shape (N,), plus ``ranked``: issue indices, most severe first.

    ``label_quality`` is the self-confidence (the model's probability of the given label) and
    ``suggested_label`` the most probable class that occurs in ``labels``. ``note`` says why no issues
    were searched for (too little data); it is None after a real search.
    """

    is_issue: np.ndarray
    label_quality: np.ndarray
    suggested_label: np.ndarray
    reasons: tuple[str, ...]
    ranked: np.ndarray
    note: str | None = None


def _check_probs(pred_probs, n: int) -> np.ndarray:
    pred_probs = np.asarray(pred_probs, dtype=np.float64)
    if pred_probs.ndim != 2 or pred_probs.shape[0] != n:
        raise ValueError(f"pred_probs must have shape ({n}, K), got {pred_probs.shape}")
    if not np.allclose(pred_probs.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("pred_probs rows must sum to 1")
    return pred_probs


def find_label_issues(
    labels,
    pred_probs,
    *,
    filter_by: str = "prune_by_noise_rate",
    class_names: Sequence[str] | None = None,
) -> LabelIssues:
    """Flag likely mislabelled items with confident learning.

    Parameters
    ----------
    labels : (N,) int, given labels in [0, K).
    pred_probs : (N, K) float, out-of-sample predicted probabilities.
    filter_by : cleanlab's ``filter_by`` ("prune_by_noise_rate", "prune_by_class", "both", ...).
    class_names : optional (K,) names used in the reason strings.

    Classes absent from ``labels`` are dropped and the remaining columns renormalised before cleanlab
    sees them (it cannot estimate noise rates for a class with no examples); indices map back to the
    original K. With fewer than two classes, or fewer than ``MIN_PER_CLASS`` items per present class
    on average, nothing is flagged and ``note`` explains why; quality scores are still returned.
    """
    labels = np.asarray(labels, dtype=np.int64).ravel()
    pred_probs = _check_probs(pred_probs, labels.size)
    K = pred_probs.shape[1]
    if labels.size and (labels.min() < 0 or labels.max() >= K):
        raise ValueError(f"labels must lie in [0, {K})")
    present = np.flatnonzero(np.bincount(labels, minlength=K))
    to_local = np.full(K, -1)
    to_local[present] = np.arange(present.size)
    local_labels = to_local[labels]
    probs = pred_probs[:, present] if present.size else pred_probs[:, :0]
    probs = probs / np.clip(probs.sum(axis=1, keepdims=True), 1e-12, None)
    if probs.shape[1]:
        quality = get_label_quality_scores(local_labels, probs, method="self_confidence")
        suggested = present[probs.argmax(axis=1)]
    else:
        quality, suggested = np.ones(0), labels.copy()

    def result(ranked: np.ndarray, note: str | None) -> LabelIssues:
        is_issue = np.zeros(labels.size, dtype=bool)
        is_issue[ranked] = True
        names = list(class_names) if class_names is not None else [str(k) for k in range(K)]
        reasons = tuple(
            _reason(quality[i], suggested[i], labels[i], names) if is_issue[i] else ""
            for i in range(labels.size)
        )
        return LabelIssues(is_issue, quality, suggested, reasons, ranked, note)

    if present.size < 2 or labels.size < MIN_PER_CLASS * present.size:
        note = (
            f"too few labelled items to search for label issues: {labels.size} items over "
            f"{present.size} class(es) (need >= 2 classes and >= {MIN_PER_CLASS} items per class on average)"
        )
        return result(np.zeros(0, dtype=np.int64), note)
    # n_jobs=1: cleanlab otherwise forks a process pool, which a Celery prefork child (a
    # daemonic process) may not do; on one job's data the pool saves well under a second.
    ranked = _cl_find_label_issues(
        local_labels, probs, filter_by=filter_by, return_indices_ranked_by="self_confidence",
        n_jobs=1,
    )  # fmt: skip
    return result(np.asarray(ranked, dtype=np.int64), None)


def _reason(quality: float, suggested: int, given: int, names: list[str]) -> str:
    text = f"low self-confidence {quality:.2f}" if quality >= 0.005 else "low self-confidence <0.01"
    return text if suggested == given else f"{text}; likely confused with {names[suggested]}"


def majority_vote(
    M, *, n_categories: int | None = None, pred_probs=None
) -> tuple[np.ndarray, np.ndarray]:
    """Plurality label per item and the fraction of its annotators who gave it.

    Parameters
    ----------
    M : (N, R) int rating matrix, -1 (or NaN) for missing.
    pred_probs : optional (N, K); ties go to the class the model finds most probable, then to the
        lowest class index.

    Returns
    -------
    labels : (N,) int, -1 for items nobody labelled.
    agreement : (N,) float in [0, 1], 0.0 for items nobody labelled.
    """
    M = as_rating_matrix(M, n_categories)
    if n_categories is None:
        n_categories = (
            np.shape(pred_probs)[1]
            if pred_probs is not None
            else (max(int(M.max()) + 1, 1) if M.size else 1)
        )
    counts = category_counts(M, n_categories)
    n = counts.sum(axis=1)
    tied = counts == counts.max(axis=1, keepdims=True)
    if pred_probs is not None:
        tie_score = np.where(tied, _check_probs(pred_probs, M.shape[0]), -np.inf)
        winner = tie_score.argmax(axis=1)  # argmax returns the lowest index among equal scores
    else:
        winner = tied.argmax(axis=1)
    labels = np.where(n > 0, winner, MISSING)
    share = counts[np.arange(M.shape[0]), winner] / np.maximum(n, 1)
    return labels, np.where(n > 0, share, 0.0)


@dataclass(frozen=True)
class Consensus:
    """Consensus labels (N,) with quality in [0, 1], and annotator quality (R,).

    ``consensus_label`` is -1 (quality 0.0) for items nobody labelled; ``annotator_quality`` is NaN for
    annotators with no items, or none shared with another annotator (nothing to compare against).
    ``method`` is "crowdlab" or "majority" (the fallback; ``note`` then says why).
    """

    consensus_label: np.ndarray
    consensus_quality: np.ndarray
    annotator_quality: np.ndarray
    annotator_n_items: np.ndarray
    method: str
    note: str | None = None


def multiannotator_consensus(labels_multiannotator, pred_probs) -> Consensus:
    """CROWDLAB consensus of several annotators, weighted by their estimated quality and the model.

    Parameters
    ----------
    labels_multiannotator : (N, R) labels with -1 or NaN for missing.
    pred_probs : (N, K) out-of-sample predicted probabilities, e.g. from a model trained on majority votes.

    Falls back to :func:`majority_vote` (``method="majority"``, ``note`` says why) when no item has two
    annotators, fewer than two annotators labelled anything, or cleanlab rejects the data.
    """
    pred_probs = _check_probs(pred_probs, np.shape(labels_multiannotator)[0])
    M = as_rating_matrix(labels_multiannotator, pred_probs.shape[1])
    rated = M >= 0
    rows, cols = np.flatnonzero(rated.any(axis=1)), np.flatnonzero(rated.any(axis=0))
    if cols.size < 2 or not (rated.sum(axis=1) >= 2).any():
        return _fallback(M, pred_probs, "no item has labels from two or more annotators")
    sub = M[np.ix_(rows, cols)]
    frame = pd.DataFrame(np.where(sub >= 0, sub, np.nan), columns=cols)
    try:
        out = get_label_quality_multiannotator(frame, pred_probs[rows], verbose=False)
    except Exception as exc:  # noqa: BLE001 - any cleanlab failure on odd data degrades to majority
        logger.warning("CROWDLAB failed, using majority vote: %r", exc)
        return _fallback(M, pred_probs, f"cleanlab could not run CROWDLAB: {exc!r}")
    label = np.full(M.shape[0], MISSING, dtype=np.int64)
    quality = np.zeros(M.shape[0])
    label[rows] = out["label_quality"]["consensus_label"].to_numpy()
    quality[rows] = out["label_quality"]["consensus_quality_score"].to_numpy()
    annotator_quality = np.full(M.shape[1], np.nan)
    annotator_quality[cols] = out["annotator_stats"]["annotator_quality"].reindex(cols).to_numpy()
    return Consensus(label, quality, annotator_quality, rated.sum(axis=0), "crowdlab")


def _fallback(M: np.ndarray, pred_probs: np.ndarray, why: str) -> Consensus:
    result = majority_consensus(M, n_categories=pred_probs.shape[1], pred_probs=pred_probs)
    return replace(result, note=f"majority vote instead of CROWDLAB: {why}")


def majority_consensus(
    labels_multiannotator, *, n_categories: int | None = None, pred_probs=None
) -> Consensus:
    """Majority-vote :class:`Consensus` (``method="majority"``); ties as in :func:`majority_vote`.

    Annotator quality is the fraction of an annotator's labels that match the majority, counted on
    items with >= 2 annotators (on an item they labelled alone they would trivially agree).
    """
    label, share = majority_vote(
        labels_multiannotator, n_categories=n_categories, pred_probs=pred_probs
    )
    M = as_rating_matrix(labels_multiannotator, n_categories)
    rated = M >= 0
    shared = rated & (rated.sum(axis=1) >= 2)[:, None]
    hits = (shared & (M == label[:, None])).sum(axis=0)
    n_shared = shared.sum(axis=0)
    annotator_quality = np.where(n_shared > 0, hits / np.maximum(n_shared, 1), np.nan)
    return Consensus(label, share, annotator_quality, rated.sum(axis=0), "majority")
