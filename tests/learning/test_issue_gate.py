"""The label-issue gate: no flags until every used class has enough labels and the
out-of-sample model clearly beats chance; every run records what the gate saw."""

import numpy as np
import pytest

from annotation.models import IssueStatus, LabelIssue
from annotation.services.importing import import_objects
from learning.issue_gate import Gate, confident_flags, gate_verdict, multilabel_gate
from tests.annotation.review_helpers import LABELS, blobs_with_flips, run_job


def confident(labels: np.ndarray, k: int, right: float, rng) -> np.ndarray:
    """(N, k) probabilities that put 0.9 on the true label for a share ``right`` of rows."""
    guess = np.where(rng.random(labels.size) < right, labels, (labels + 1) % k)
    probs = np.full((labels.size, k), 0.1 / (k - 1))
    probs[np.arange(labels.size), guess] = 0.9
    return probs


def test_a_good_model_on_enough_labels_passes():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 20)
    verdict = gate_verdict(labels, confident(labels, 3, 0.95, rng), n_classes=3)
    assert verdict.passed and verdict.note is None
    assert verdict.inputs["labels"] == 60 and verdict.inputs["min_class_count"] == 20


def test_a_rare_class_closes_the_gate_and_the_note_names_it():
    rng = np.random.default_rng(0)
    labels = np.array([0] * 40 + [1] * 3)
    verdict = gate_verdict(labels, confident(labels, 2, 1.0, rng), n_classes=2, gate=Gate(10, 0.5))
    assert not verdict.passed
    assert verdict.note.startswith("not enough labels yet: need at least 10 labels")
    assert "rarest has 3" in verdict.note


def test_a_model_at_chance_closes_the_gate_even_with_high_plain_accuracy():
    labels = np.array([0] * 87 + [1] * 13)  # 87% accuracy for a model that always says 0
    probs = np.tile([0.9, 0.1], (100, 1))
    verdict = gate_verdict(labels, probs, n_classes=2)
    assert verdict.inputs["cv_accuracy"] == pytest.approx(0.87)
    assert verdict.inputs["lift"] == pytest.approx(0.0)
    assert not verdict.passed and "better than chance" in verdict.note


def test_labels_unused_in_the_project_do_not_close_the_gate():
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 2], 15)  # class 1 of 3 never used yet
    assert gate_verdict(labels, confident(labels, 3, 1.0, rng), n_classes=3).passed


def test_multilabel_gate_trusts_only_labels_with_enough_of_both_sides():
    rng = np.random.default_rng(2)
    Y = np.zeros((40, 2), dtype=np.int64)
    Y[:20, 0] = 1
    Y[:3, 1] = 1  # label 1: 3 positives
    proba = np.where(Y == 1, 0.9, 0.1) + rng.normal(0, 0.01, Y.shape)
    passed, inputs = multilabel_gate(Y, proba, gate=Gate(10, 0.5))
    assert passed.tolist() == [True, False]
    assert inputs[1]["min_class_count"] == 3


def test_only_flags_whose_given_label_the_model_finds_improbable_are_kept():
    quality = np.array([0.05, 0.5, 0.15, 0.3, 0.01])
    kept = confident_flags(np.array([4, 0, 2, 3, 1]), quality, gate=Gate(max_quality=0.2))
    assert kept.tolist() == [4, 0, 2]  # the order (most severe first) is kept


# --- in the job ------------------------------------------------------------------------------


def test_the_job_flags_nothing_while_the_gate_is_closed_and_records_why(project, settings):
    rows, flipped = blobs_with_flips()
    assert import_objects(project=project, objects=rows).ok
    settings.QUORUM_ISSUE_GATE_MIN_PER_CLASS = 31  # each class has 30 labels
    job = run_job(project)
    gate = job.result["gate"]
    assert job.result["flagged"] == 0 and not LabelIssue.objects.filter(project=project).exists()
    assert not gate["passed"] and gate["labels"] == 90
    assert gate["thresholds"] == {"min_per_class": 31, "min_lift": Gate().min_lift,
                                  "max_quality": Gate().max_quality}  # fmt: skip
    assert gate["cv_accuracy"] > 0.8  # recorded even when closed
    assert job.result["note"].startswith("not enough labels yet")


def test_open_flags_of_an_earlier_run_survive_a_closed_gate(project, settings):
    rows, flipped = blobs_with_flips()
    assert import_objects(project=project, objects=rows).ok
    first = run_job(project)
    assert first.result["gate"]["passed"] and first.result["flagged"] == len(flipped)
    settings.QUORUM_ISSUE_GATE_MIN_LIFT = 1.01  # nothing can pass
    second = run_job(project)
    assert second.result["flagged"] == 0
    still_open = LabelIssue.objects.filter(project=project, status=IssueStatus.OPEN)
    assert set(still_open.values_list("job", flat=True)) == {first.pk}


def test_labels_with_no_signal_flag_nothing(project):
    rng = np.random.default_rng(3)
    rows = [{"id": str(i), "text": str(i), "vector": rng.normal(size=3).round(4).tolist(),
             "label": LABELS[i % 3]} for i in range(90)]  # fmt: skip
    assert import_objects(project=project, objects=rows).ok
    job = run_job(project)
    assert job.result["flagged"] == 0 and not job.result["gate"]["passed"]
    assert job.result["gate"]["lift"] < Gate().min_lift
