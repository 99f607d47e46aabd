"""The classifier's training set: each item's label (``annotation.label_selectors``) as targets."""

from __future__ import annotations

import numpy as np

from annotation.label_selectors import TrainingLabels, training_labels

__all__ = ["TrainingLabels", "label_targets", "training_labels"]


def label_targets(training: TrainingLabels, *, names: list[str], multi_label: bool) -> np.ndarray:
    """Classifier targets: (N,) int class indices, or a (N, K) 0/1 indicator for multi-label."""
    index = {name: k for k, name in enumerate(names)}
    if multi_label:
        y = np.zeros((len(training), len(names)), dtype=np.int64)
        for row, chosen in enumerate(training.labels):
            y[row, [index[n] for n in chosen]] = 1
        return y
    return np.asarray([index[chosen[0]] for chosen in training.labels], dtype=np.int64)
