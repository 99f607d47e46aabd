"""Label quality for multi-label items: which label *sets* look wrong. No Django.

Confident learning one-vs-rest, through cleanlab's multi-label support: every label is a binary
question ("does label k apply?"), cleanlab estimates each one's noise rates and flags an item when
any of its labels looks wrongly applied or wrongly left out. ``pred_probs`` (N, K) hold
*out-of-sample* P(label k applies) from independent binary models (rows need not sum to 1), e.g.
``learning.classifier.multilabel_out_of_sample_proba``. Re-exported by ``learning.label_quality``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from cleanlab.multilabel_classification import get_label_quality_scores
from cleanlab.multilabel_classification.filter import find_label_issues as _cl_find_label_issues

MIN_PER_SIDE = 2  # a label needs this many items with it and without it to have noise rates
THRESHOLD = 0.5  # the model believes label k applies when P(k) >= THRESHOLD


@dataclass(frozen=True)
class MultiLabelIssues:
    """Per-item verdicts (N,), suggested label sets (N, K) and ``ranked``: issues, most severe first.

    ``label_quality`` is cleanlab's multi-label score in [0, 1] (lower is worse; per-label
    self-confidences aggregated by an exponential moving average that weighs the worst most).
    ``suggested`` (N, K) bool is the set the model believes (P >= 0.5 on judged labels, the given
    label elsewhere, and the most probable judged label when that leaves the set empty).
    ``judged`` (K,) bool marks the labels searched; ``note`` says why nothing was searched.
    """

    is_issue: np.ndarray
    label_quality: np.ndarray
    suggested: np.ndarray
    reasons: tuple[str, ...]
    ranked: np.ndarray
    judged: np.ndarray
    note: str | None = None


def as_indicator(labels, n_classes: int) -> np.ndarray:
    """(N, K) int 0/1 indicator from a list of class-index lists or an (N, K) 0/1 matrix."""
    if isinstance(labels, np.ndarray) and labels.ndim == 2:
        if labels.shape[1] != n_classes or not np.isin(labels, (0, 1)).all():
            raise ValueError(f"an indicator must be (N, {n_classes}) with 0/1 entries")
        return labels.astype(np.int64)
    Y = np.zeros((len(labels), n_classes), dtype=np.int64)
    for i, row in enumerate(labels):
        row = np.asarray(list(row), dtype=np.int64)
        if row.size and (row.min() < 0 or row.max() >= n_classes):
            raise ValueError(f"labels of item {i} must lie in [0, {n_classes})")
        Y[i, row] = 1
    return Y


def find_multilabel_issues(
    labels,
    pred_probs,
    *,
    judge: np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
    filter_by: str = "prune_by_noise_rate",
) -> MultiLabelIssues:
    """Flag items whose label set is likely wrong, with confident learning per label.

    Parameters
    ----------
    labels : N lists of class indices in [0, K) (a list may be empty), or an (N, K) 0/1 matrix.
    pred_probs : (N, K) float in [0, 1], out-of-sample P(label k applies).
    judge : optional (K,) bool, the labels the model may judge (e.g. those it could be trained
        on). Labels with fewer than ``MIN_PER_SIDE`` items on either side are never judged.
    class_names : optional (K,) names for the reason strings.
    filter_by : cleanlab's ``filter_by``.

    Unjudged labels are dropped before cleanlab sees the data and keep their given value in
    ``suggested``. With no judged label, nothing is flagged and ``note`` says why.
    """
    probs = np.asarray(pred_probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] != len(labels):
        raise ValueError(f"pred_probs must have shape ({len(labels)}, K), got {probs.shape}")
    if probs.size and (probs.min() < 0 or probs.max() > 1):
        raise ValueError("pred_probs must lie in [0, 1]")
    n, k = probs.shape
    Y = as_indicator(labels, k)
    positives = Y.sum(axis=0)
    judged = (positives >= MIN_PER_SIDE) & (n - positives >= MIN_PER_SIDE)
    if judge is not None:
        judged &= np.asarray(judge, dtype=bool)
    suggested = _suggest(Y, probs, judged)
    names = list(class_names) if class_names is not None else [str(c) for c in range(k)]
    if not judged.any():
        note = (
            f"no label can be judged: every label needs >= {MIN_PER_SIDE} items with it and "
            f"{MIN_PER_SIDE} without it (and a model)"
        )
        return MultiLabelIssues(
            np.zeros(n, bool), np.ones(n), suggested, ("",) * n, np.zeros(0, np.int64), judged, note
        )
    sub_y, sub_p = Y[:, judged], probs[:, judged]
    if sub_y.shape[1] == 1:
        # cleanlab wants K >= 2; "not k" carries the same evidence and the same flags.
        sub_y, sub_p = np.hstack([sub_y, 1 - sub_y]), np.hstack([sub_p, 1 - sub_p])
    sets = [np.flatnonzero(row).tolist() for row in sub_y]
    quality = get_label_quality_scores(sets, sub_p)
    # n_jobs=1: cleanlab otherwise forks a process pool, which a Celery prefork child (a
    # daemonic process) may not do; per-label counting is cheap next to cross-validation.
    ranked = _cl_find_label_issues(
        sets, sub_p, filter_by=filter_by,
        return_indices_ranked_by="self_confidence", n_jobs=1,
    )  # fmt: skip
    ranked = np.asarray(ranked, dtype=np.int64)
    is_issue = np.zeros(n, dtype=bool)
    is_issue[ranked] = True
    reasons = tuple(
        _reason(quality[i], Y[i], suggested[i], names) if is_issue[i] else "" for i in range(n)
    )
    return MultiLabelIssues(is_issue, quality, suggested, reasons, ranked, judged)


def _suggest(Y: np.ndarray, probs: np.ndarray, judged: np.ndarray) -> np.ndarray:
    suggested = np.where(judged, probs >= THRESHOLD, Y.astype(bool))
    empty = ~suggested.any(axis=1) & judged.any()
    if empty.any():  # an item needs at least one label: the most probable judged one
        best = np.where(judged, probs, -1.0)[empty].argmax(axis=1)
        suggested[np.flatnonzero(empty), best] = True
    return suggested


def _reason(quality: float, given: np.ndarray, suggested: np.ndarray, names: list[str]) -> str:
    text = f"low label quality {quality:.2f}" if quality >= 0.005 else "low label quality <0.01"
    extra = [names[c] for c in np.flatnonzero(given.astype(bool) & ~suggested)]
    missing = [names[c] for c in np.flatnonzero(~given.astype(bool) & suggested)]
    if extra:
        text += f"; probably not {', '.join(extra)}"
    if missing:
        text += f"; probably also {', '.join(missing)}"
    return text
