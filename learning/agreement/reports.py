"""Every agreement number a project tracks, from one rating matrix, and each annotator's share of it.
Pure numpy, no Django.

The Django seam (:mod:`learning.agreement.service`) loads the annotations into an (N, R) rating matrix
and stores the :class:`Record` rows this module returns; keeping the choice of metrics and scopes here
means it is tested with plain arrays.

Scopes and metrics (``scope``, ``scope_key``, ``metric``):

* ``project``, ``""``: ``krippendorff_alpha``, ``fleiss_kappa``, ``percent``, ``cohen_kappa`` (Cohen's
  kappa when R == 2, otherwise the mean over annotator pairs weighted by co-rated items);
* ``pair``, ``"<a>:<b>"``: ``cohen_kappa`` for every pair of annotators that co-rated an item;
* ``label``, label name: ``krippendorff_alpha`` one-vs-rest (multi-label: the label as a binary variable);
* ``annotator``, annotator key: ``cohen_kappa`` (mean with co-raters), ``consensus_agreement`` (share of
  their items matching the plurality of the *other* annotators).

Values are floats or None with a reason; never NaN (JSON cannot carry NaN, and NaN hides the cause).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from learning.agreement.metrics import (
    MISSING,
    Agreement,
    agreement,
    as_rating_matrix,
    category_counts,
    coincidence_matrix,
    multilabel_agreement,
    pairwise_cohen,
    per_label_agreement,
)

PROJECT_METRICS = ("krippendorff_alpha", "fleiss_kappa", "percent")
UNUSED = "nobody used this label on an item with two or more annotations"


@dataclass(frozen=True)
class Record:
    """One stored number: what was measured, over what, and how much data it rests on."""

    metric: str
    scope: str
    scope_key: str
    value: float | None
    n_items: int
    n_annotations: int
    reason: str = ""


@dataclass
class AgreementReport:
    records: list[Record]
    coincidence: list[list[float]] = field(default_factory=list)  # (K, K), rows/cols = categories
    categories: list[str] = field(default_factory=list)

    def as_dicts(self) -> list[dict]:
        return [asdict(r) for r in self.records]


@dataclass(frozen=True)
class AnnotatorAgreement:
    """One annotator vs the others: Cohen's kappa with each co-rater, averaged weighted by shared items
    (``n_items`` = shared item-pairs), and the fraction of their items matching the consensus label."""

    annotator: int
    n_items: int
    mean_pairwise_kappa: Agreement
    with_consensus: Agreement


def leave_one_out_consensus(M, annotator: int, n_categories: int) -> np.ndarray:
    """Plurality label (N,) of every annotator except ``annotator``; ties -> lowest index; -1 if none."""
    counts = category_counts(
        np.delete(as_rating_matrix(M, n_categories), annotator, axis=1), n_categories
    )
    return np.where(counts.sum(axis=1) > 0, counts.argmax(axis=1), MISSING)


def annotator_agreement(M, *, n_categories: int, consensus=None) -> list[AnnotatorAgreement]:
    """Per-annotator agreement for every column of the (N, R) matrix ``M``.

    ``consensus`` (N,) with -1 for unknown, e.g. a CROWDLAB consensus; by default each annotator is
    compared with the leave-one-out plurality of the others, so nobody agrees with themselves.
    """
    M = as_rating_matrix(M, n_categories)
    pairs = pairwise_cohen(M, n_categories)
    result = []
    for r in range(M.shape[1]):
        mine = [(k, n) for (i, j), (k, n) in pairs.items() if r in (i, j)]
        n_shared = sum(n for _, n in mine)
        kappa = (
            Agreement(sum(k * n for k, n in mine) / n_shared, n_shared, 2 * n_shared)
            if mine
            else Agreement(None, 0, 0, "shares no item with another annotator")
        )
        ref = (
            leave_one_out_consensus(M, r, n_categories)
            if consensus is None
            else as_rating_matrix(np.reshape(consensus, (-1, 1)), n_categories).ravel()
        )
        n_both = int((both := (M[:, r] >= 0) & (ref >= 0)).sum())
        with_consensus = (
            Agreement(float(np.mean(M[both, r] == ref[both])), n_both, n_both)
            if n_both
            else Agreement(None, 0, 0, "no rated item has a consensus label")
        )
        result.append(AnnotatorAgreement(r, int((M[:, r] >= 0).sum()), kappa, with_consensus))
    return result


def _record(metric: str, scope: str, key: str, a: Agreement) -> Record:
    value = a.value
    reason = a.reason or ""
    if value is not None and not math.isfinite(value):  # belt and braces: never store NaN
        value, reason = None, reason or "the coefficient is undefined for this data"
    return Record(metric, scope, key, value, a.n_items, a.n_annotations, reason)


def _unused_reason(a: Agreement, n_pairable: int) -> Agreement:
    """Name the label in words the dashboard can show, and say "no overlap" when that is why."""
    if a.value is None and a.reason and a.reason.endswith("was never used"):
        reason = UNUSED if n_pairable else "no item has two or more ratings"
        return Agreement(None, a.n_items, a.n_annotations, reason)
    return a


def _pooled_kappa(pairs: dict[tuple[int, int], tuple[float, int]], n_annotators: int) -> Agreement:
    """Cohen's kappa for two annotators; the co-rated-items-weighted mean over pairs otherwise."""
    if not pairs:
        reason = (
            "only one annotator" if n_annotators < 2 else "no two annotators rated the same item"
        )
        return Agreement(None, 0, 0, reason)
    n = sum(c for _, c in pairs.values())
    return Agreement(sum(k * c for k, c in pairs.values()) / n, n, 2 * n)


def agreement_report(
    M,
    *,
    categories: Sequence[str],
    annotators: Sequence[str],
    Y=None,
    label_names: Sequence[str] | None = None,
) -> AgreementReport:
    """All scopes for one project.

    Parameters
    ----------
    M : (N, R) int array, ``M[u, r]`` = category index of annotator r on item u, -1 = not annotated.
    categories : K names, one per category index (K may exceed the categories used).
    annotators : R keys naming the columns (stored as ``scope_key``).
    Y : optional (N, R, L) array, 1 / 0 / -1, for multi-label projects: per-label binary agreement
        replaces the one-vs-rest split of ``M`` (whose categories are then whole label sets).
    label_names : L names of ``Y``'s last axis.
    """
    K = max(len(categories), 1)
    M = as_rating_matrix(M, K)
    if M.shape[1] != len(annotators):
        raise ValueError(f"{M.shape[1]} columns but {len(annotators)} annotator keys")
    # Only items with two or more annotations carry agreement information; dropping the rest up
    # front is faster and keeps a label seen only on single-annotated items from scoring a vacuous 1.0.
    pairable = (M >= 0).sum(axis=1) >= 2
    M = M[pairable]
    if Y is not None:
        Y = np.asarray(Y)[pairable]
    records = [
        _record(metric, "project", "", agreement(M, n_categories=K, metric=metric))
        for metric in PROJECT_METRICS
    ]
    pairs = pairwise_cohen(M, K) if M.shape[0] else {}
    records.append(_record("cohen_kappa", "project", "", _pooled_kappa(pairs, M.shape[1])))
    records += [
        Record("cohen_kappa", "pair", f"{annotators[i]}:{annotators[j]}", k, n, 2 * n)
        for (i, j), (k, n) in sorted(pairs.items())
    ]
    if Y is not None:
        names = list(label_names or [])
        per_label = multilabel_agreement(Y)
    else:
        names, per_label = list(categories), per_label_agreement(M, n_categories=K)
    records += [
        _record("krippendorff_alpha", "label", names[k], _unused_reason(a, M.shape[0]))
        for k, a in per_label.items()
        if k < len(names)
    ]
    for a in annotator_agreement(M, n_categories=K) if M.shape[1] else []:
        key = annotators[a.annotator]
        records.append(_record("cohen_kappa", "annotator", key, a.mean_pairwise_kappa))
        records.append(_record("consensus_agreement", "annotator", key, a.with_consensus))
    coincidence = coincidence_matrix(M, K) if M.shape[0] else np.zeros((K, K))
    return AgreementReport(records, np.round(coincidence, 6).tolist(), list(categories))
