"""The sweep measures every level against the baseline and proposes within the tolerance."""

import random

import pytest

from learning.compress import DEFAULT_PROFILE, propose_level, sweep


def test_propose_picks_the_most_aggressive_level_within_tolerance():
    settings = [
        {"level": 0.25, "macro_f1": 0.90},
        {"level": 0.5, "macro_f1": 0.895},
        {"level": 1.0, "macro_f1": 0.85},
    ]
    assert propose_level(0.90, settings, 0.01) == 0.5
    assert propose_level(0.99, settings, 0.01) == 0.0
    assert propose_level(0.90, settings, 0.06) == 1.0


def test_sweep_removes_label_free_boilerplate_without_losing_f1():
    rng = random.Random(0)
    good = "great lovely excellent happy superb".split()
    bad = "awful broken terrible sad refund".split()
    footer = (
        "\n-- \nSent via the Example Shop app. Unsubscribe at any time from your settings page."
    )
    texts, labels = [], []
    for i in range(120):
        label = i % 2
        words = rng.sample(bad if label else good, 3) + rng.sample(
            "the item box order day".split(), 2
        )
        texts.append(" ".join(words) + footer)
        labels.append(label)
    result = sweep(texts, labels, profile=DEFAULT_PROFILE, levels=[0.5, 1.0], folds=3)
    assert set(result) == {"baseline", "settings", "proposed"}
    assert result["baseline"]["macro_f1"] > 0.9
    assert [s["level"] for s in result["settings"]] == [0.5, 1.0]
    for setting in result["settings"]:
        assert setting["tokens"] < 0.5 * result["baseline"]["tokens"]
        assert setting["attention_ratio"] < setting["token_ratio"] < 0.5
    assert result["proposed"] == 1.0


def test_sweep_rejects_bad_arguments():
    with pytest.raises(ValueError):
        sweep(["a", "b"], [0, 1], profile=DEFAULT_PROFILE, levels=[0])
    with pytest.raises(ValueError):
        sweep(["a", "b"], [0], profile=DEFAULT_PROFILE)
