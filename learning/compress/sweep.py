"""The aggressiveness sweep and threshold selection, as one pure function.

Compressing can remove what edge cases need, so no level is chosen by taste: each level is
measured by cross-validating the project's own featurizer and classifier on the compressed
labeled items, and the proposal is the most aggressive level whose macro-F1 stays within
``tolerance`` of the uncompressed baseline. The whole curve is returned so a person can see
why (and see where compression starts to hurt).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from learning.classifier import cross_validated_metrics
from learning.compress.profile import Profile
from learning.compress.tokens import count_tokens, token_report
from learning.featurize import TextFeaturizer

__all__ = ["DEFAULT_LEVELS", "compress_texts", "propose_level", "sweep"]

DEFAULT_LEVELS = (0.25, 0.5, 0.75, 1.0)


def compress_texts(texts: Sequence[str], profile: Profile, level: float) -> list[str]:
    """The compressed texts of a corpus (corpus filters fitted on it) at ``level``."""
    return [e.text for e in profile.build(level).fit_transform(texts)]


def _featurizer() -> TextFeaturizer:
    return TextFeaturizer()


def _macro_f1(
    texts: Sequence[str],
    y: np.ndarray,
    *,
    n_classes: int,
    folds: int,
    seed: int,
    featurizer: Callable[[], Any],
) -> float:
    X = featurizer().fit(texts).transform(texts)
    metrics = cross_validated_metrics(
        X, y, multi_label=False, n_classes=n_classes, folds=folds, seed=seed
    )
    return float(metrics["macro_f1"])


def propose_level(
    baseline_f1: float, settings: Sequence[dict[str, Any]], tolerance: float
) -> float:
    """The highest level with ``macro_f1 >= baseline_f1 - tolerance``; 0 if none is."""
    ok = [s["level"] for s in settings if s["macro_f1"] >= baseline_f1 - tolerance - 1e-12]
    return max(ok, default=0.0)


def sweep(
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    *,
    profile: Profile,
    levels: Sequence[float] = DEFAULT_LEVELS,
    tolerance: float = 0.01,
    n_classes: int | None = None,
    folds: int = 5,
    seed: int = 0,
    encoding: str = "cl100k_base",
    featurizer: Callable[[], Any] = _featurizer,
) -> dict[str, Any]:
    """Compress at each level and cross-validate the project's model on the result.

    Parameters
    ----------
    texts : N labeled items (originals).
    labels : (N,) class indices.
    profile : without a ``model`` filter (that one needs a scorer fitted per fold).
    levels : aggressiveness settings in (0, 1]; the baseline (level 0) is always measured.
    tolerance : allowed macro-F1 loss against the baseline (0.01 = one point).

    Returns
    -------
    ``{"baseline": {"tokens", "macro_f1"}, "settings": [{"level", "tokens", "token_ratio",
    "attention_ratio", "macro_f1", "seconds"}], "proposed": level}``
    """
    if not 0 <= tolerance < 1:
        raise ValueError("tolerance must be in [0, 1)")
    if any(not 0 < lv <= 1 for lv in levels):
        raise ValueError("levels must be in (0, 1]")
    y = np.asarray(labels, dtype=np.int64)
    if y.shape != (len(texts),):
        raise ValueError(f"labels must have shape ({len(texts)},); got {y.shape}")
    k = int(n_classes if n_classes is not None else y.max() + 1)
    before = count_tokens(texts, encoding=encoding)
    baseline = {
        "tokens": int(before.sum()),
        "macro_f1": _macro_f1(texts, y, n_classes=k, folds=folds, seed=seed, featurizer=featurizer),
    }
    settings = []
    for level in sorted(set(levels)):
        start = time.perf_counter()
        compressed = compress_texts(texts, profile, level)
        seconds = time.perf_counter() - start
        report = token_report(before, count_tokens(compressed, encoding=encoding))
        settings.append(
            {
                "level": level,
                "tokens": report["tokens_after"],
                "token_ratio": report["token_ratio"],
                "attention_ratio": report["attention_ratio"],
                "macro_f1": _macro_f1(
                    compressed, y, n_classes=k, folds=folds, seed=seed, featurizer=featurizer
                ),
                "seconds": seconds,
            }
        )
    return {
        "baseline": baseline,
        "settings": settings,
        "proposed": propose_level(baseline["macro_f1"], settings, tolerance),
    }
