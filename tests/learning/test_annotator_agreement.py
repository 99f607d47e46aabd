"""Per-annotator agreement: who agrees with their co-raters and with the consensus."""

import numpy as np
import pytest

from learning.agreement.reports import annotator_agreement, leave_one_out_consensus


def test_annotator_agreement_ranks_the_noisy_annotator_last():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 3, 500)
    good = np.where(rng.random((500, 3)) < 0.9, truth[:, None], rng.integers(0, 3, (500, 3)))
    noisy = rng.integers(0, 3, 500)
    M = np.c_[good, noisy]
    stats = annotator_agreement(M, n_categories=3)
    assert [s.annotator for s in stats] == [0, 1, 2, 3]
    assert all(stats[3].mean_pairwise_kappa.value < s.mean_pairwise_kappa.value for s in stats[:3])
    assert all(stats[3].with_consensus.value < s.with_consensus.value for s in stats[:3])
    assert stats[3].with_consensus.value == pytest.approx(1 / 3, abs=0.06)
    with_truth = annotator_agreement(M, n_categories=3, consensus=truth)
    assert with_truth[0].with_consensus.value == pytest.approx(np.mean(good[:, 0] == truth))


def test_leave_one_out_consensus_ignores_the_annotator_and_breaks_ties_low():
    M = np.array([[2, 1, 0], [1, 1, -1], [0, -1, -1]])
    assert list(leave_one_out_consensus(M, 0, 3)) == [0, 1, -1]


def test_a_lone_annotator_gets_no_values_but_a_count_and_reasons():
    [stats] = annotator_agreement(np.array([[0], [1], [1]]), n_categories=2)
    assert stats.n_items == 3
    assert stats.mean_pairwise_kappa.value is None and stats.with_consensus.value is None
    assert stats.mean_pairwise_kappa.reason == "shares no item with another annotator"


def test_an_annotator_without_overlap_is_reported_next_to_those_with_it():
    M = np.array([[0, 0, -1], [1, 1, -1], [0, 1, -1], [-1, -1, 2]])
    stats = annotator_agreement(M, n_categories=3)
    assert stats[0].mean_pairwise_kappa.n_items == 3 and stats[
        0
    ].with_consensus.value == pytest.approx(2 / 3)
    assert stats[2].n_items == 1 and stats[2].mean_pairwise_kappa.value is None
    assert stats[2].with_consensus.reason == "no rated item has a consensus label"
