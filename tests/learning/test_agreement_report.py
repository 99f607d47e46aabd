"""The choice of metrics and scopes, on plain arrays: every record defined or explained."""

import math

import numpy as np
from sklearn.metrics import cohen_kappa_score

from learning.agreement.reports import UNUSED, agreement_report


def records(M, n_annotators):
    report = agreement_report(
        np.asarray(M), categories=["a", "b", "c"], annotators=[f"u{i}" for i in range(n_annotators)]
    )
    return {(r.scope, r.scope_key, r.metric): r for r in report.records}


def test_two_annotators_project_kappa_is_cohens():
    rng = np.random.default_rng(3)
    M = rng.integers(0, 3, (200, 2))
    got = records(M, 2)
    expected = cohen_kappa_score(M[:, 0], M[:, 1])
    assert math.isclose(got["project", "", "cohen_kappa"].value, expected, abs_tol=1e-9)
    assert math.isclose(got["pair", "u0:u1", "cohen_kappa"].value, expected, abs_tol=1e-9)


def test_a_label_seen_only_on_single_annotated_items_is_not_a_vacuous_one():
    got = records([[0, 0], [1, 1], [2, -1]], 2)
    assert got["label", "c", "krippendorff_alpha"].value is None
    assert got["label", "c", "krippendorff_alpha"].reason == UNUSED
    assert got["label", "a", "krippendorff_alpha"].value == 1.0


def test_every_record_is_a_finite_number_or_a_reason():
    cases = [np.zeros((0, 0), int), [[0], [1]], [[0, -1], [-1, 1]], [[1, 1], [1, 1]], [[-1, -1]]]
    for M in cases:
        M = np.asarray(M).reshape(len(M), -1) if len(M) else np.zeros((0, 0), int)
        for r in records(M, M.shape[1]).values():
            assert (r.value is None and r.reason) or math.isfinite(r.value), r
