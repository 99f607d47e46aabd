"""Model-guided filtering: drop the sentences the project's own model gives no weight.

Boilerplate rules know nothing of the task; the fitted classifier does. A sentence whose
features move no class's score (all of its words have near-zero coefficients) can go,
within an item that keeps enough sentences. The judge is the project's fitted linear model,
never a hub model, and it must be fitted on the *training* items only, or a
cross-validated score of the compressed text is optimistic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from learning.compress.spans import Edit, from_dropped
from learning.compress.units import sentence_spans

__all__ = ["ModelGuided", "SentenceScorer", "linear_sentence_scorer"]

SentenceScorer = Callable[[Sequence[str]], np.ndarray]  # S sentences -> (S,) weights >= 0


def linear_sentence_scorer(
    featurize: Callable[[Sequence[str]], Any], coef: np.ndarray
) -> SentenceScorer:
    """A scorer from a featurizer and a fitted linear model's (K, D) or (D,) coefficients.

    A sentence's weight is the spread of its class scores, ``max_k s_k - min_k s_k`` with
    ``s = x @ coef.T``: how much it pushes one class against another. Binary models have
    one row, whose absolute score is used. Intercepts are left out: they do not depend on
    the sentence.
    """
    weights = np.atleast_2d(np.asarray(coef, dtype=np.float64))

    def score(sentences: Sequence[str]) -> np.ndarray:
        scores = np.asarray(featurize(list(sentences)) @ weights.T)
        if scores.shape[1] == 1:
            return np.abs(scores[:, 0])
        return scores.max(axis=1) - scores.min(axis=1)

    return score


@dataclass(frozen=True)
class ModelGuided:
    """Drop the ``drop_fraction`` lowest-weight sentences of items with enough sentences.

    Parameters
    ----------
    scorer : (S,) non-negative weights for S sentences; given at build time, not in a spec.
    drop_fraction : share of an item's sentences to drop (rounded down).
    min_sentences : items with fewer sentences are left alone (short items lose nothing).
    """

    name: ClassVar[str] = "model"
    scorer: SentenceScorer | None = None
    drop_fraction: float = 0.25
    min_sentences: int = 3

    def __post_init__(self) -> None:
        if not 0 <= self.drop_fraction < 1:
            raise ValueError("drop_fraction must be in [0, 1)")
        if self.min_sentences < 2:
            raise ValueError("min_sentences must be >= 2")

    @staticmethod
    def at_level(level: float) -> dict[str, object]:
        """Up to half the sentences at level 1."""
        return {"drop_fraction": 0.5 * level}

    def apply(self, text: str) -> Edit:
        if self.scorer is None:
            raise ValueError("the model filter needs a scorer from the project's fitted model")
        spans = [(s, e) for s, e in sentence_spans(text) if text[s:e].strip()]
        n_drop = int(len(spans) * self.drop_fraction)
        if len(spans) < self.min_sentences or n_drop == 0:
            return from_dropped(text, [])
        weights = np.asarray(self.scorer([text[s:e] for s, e in spans]), dtype=np.float64)
        order = np.argsort(weights, kind="stable")[:n_drop]
        return from_dropped(text, [spans[i] for i in order])
