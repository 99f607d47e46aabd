"""Per-annotator agreement: each annotator against their co-raters and against a consensus. No Django.

Uses the (N, R) rating-matrix layout and the :class:`~learning.agreement.Agreement` result of
:mod:`learning.agreement` (split out of it to keep both modules short).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learning.agreement import (
    MISSING,
    Agreement,
    as_rating_matrix,
    category_counts,
    pairwise_cohen,
)


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
