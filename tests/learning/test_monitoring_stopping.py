"""The stopping rule: kappa between versions' predictions, the window rule, the F bound."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from learning.monitoring.stopping import (
    class_kappas,
    f_change_bound,
    kappa_plateaued,
    least_stable,
    one_change_kappa,
    prediction_kappa,
    resolved,
    stopping_signal,
)

labels = st.lists(st.sampled_from(["a", "b", "c"]), min_size=2, max_size=60)


@given(labels, st.data())
def test_kappa_matches_sklearn_and_is_symmetric(a, data):
    b = data.draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=len(a), max_size=len(a)))
    k = prediction_kappa(a, b)
    assert k == pytest.approx(prediction_kappa(b, a))
    if len(set(a) | set(b)) > 1 and not (len(set(a)) == 1 and a == b):
        expected = cohen_kappa_score(a, b)
        if np.isfinite(expected):
            assert k == pytest.approx(expected)


@given(labels)
def test_identical_predictions_have_kappa_one(a):
    assert prediction_kappa(a, list(a)) == pytest.approx(1.0)


def test_multilabel_indicators_compare_cell_by_cell():
    a = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    b = a.copy()
    b[0, 0] = 0
    assert prediction_kappa(a, b) == pytest.approx(cohen_kappa_score(a.ravel(), b.ravel()))


def test_kappa_rejects_mismatched_or_empty():
    with pytest.raises(ValueError):
        prediction_kappa(["a"], ["a", "b"])
    with pytest.raises(ValueError):
        prediction_kappa([], [])


def test_a_few_flips_between_two_of_ten_classes_hide_in_the_plain_kappa():
    """Ten of 1,000 items move from class 3 to class 4: the plain kappa is 0.989, above a
    0.985 threshold, while those two classes' own kappas are 0.942 and 0.947."""
    a = np.repeat(np.arange(10), 100)
    b = a.copy()
    b[300:310] = 4
    assert prediction_kappa(a, b) == pytest.approx(0.98889, abs=1e-5)
    per_class = class_kappas(a, b)
    assert per_class["3"] == pytest.approx(0.94186, abs=1e-5)
    assert per_class["4"] == pytest.approx(0.94681, abs=1e-5)
    assert all(per_class[str(c)] == 1.0 for c in (0, 1, 2, 5, 6, 7, 8, 9))
    assert least_stable(a, b) == (per_class["3"], "3")


def test_class_kappas_are_one_vs_rest_cohen_kappas():
    a = ["cat", "dog", "cat", "bird", "dog", "cat"]
    b = ["cat", "cat", "cat", "bird", "dog", "bird"]
    for c, k in class_kappas(a, b).items():
        expected = cohen_kappa_score([x == c for x in a], [x == c for x in b])
        assert k == pytest.approx(expected)


@given(st.lists(st.sampled_from(["a", "b"]), min_size=2, max_size=60), st.data())
def test_with_two_classes_the_least_stable_kappa_is_the_plain_kappa(a, data):
    """Both one-vs-rest kappas equal the plain one, so no class is named."""
    b = data.draw(st.lists(st.sampled_from(["a", "b"]), min_size=len(a), max_size=len(a)))
    for resolve_at in (None, 0.99):
        kappa, label = least_stable(a, b, resolve_at=resolve_at)
        assert kappa == pytest.approx(prediction_kappa(a, b)) and label is None


@given(labels, st.data())
def test_the_plain_kappa_is_a_weighted_mean_of_the_class_kappas(a, data):
    """Weights: each class's chance disagreement p + q - 2pq. So the least stable class's
    kappa is never above the plain one, and the rule on it never fires earlier."""
    b = data.draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=len(a), max_size=len(a)))
    per_class = class_kappas(a, b)
    weights = {c: (p := np.mean(np.array(a) == c)) + (q := np.mean(np.array(b) == c)) - 2 * p * q
               for c in per_class}  # fmt: skip
    if sum(weights.values()) > 0:
        mean = sum(weights[c] * per_class[c] for c in per_class) / sum(weights.values())
        assert prediction_kappa(a, b) == pytest.approx(mean)
        assert least_stable(a, b)[0] <= prediction_kappa(a, b) + 1e-12


def test_multilabel_class_kappas_are_per_column():
    a = np.array([[1, 0], [0, 1], [1, 1], [0, 0], [1, 0]])
    b = a.copy()
    b[1, 1] = 0
    per_label = class_kappas(a, b)
    assert per_label[0] == 1.0
    assert per_label[1] == pytest.approx(cohen_kappa_score(a[:, 1], b[:, 1]))
    assert least_stable(a, b, resolve_at=None) == (per_label[1], 1)
    assert class_kappas(np.zeros((3, 2)), np.zeros((3, 2))) == {0: 1.0, 1: 1.0}


def test_least_stable_breaks_ties_by_the_first_class():
    a = ["a", "b", "c", "c"]
    assert least_stable(a, ["b", "a", "c", "c"], resolve_at=None)[1] == "a"


@given(st.integers(2, 5000), st.data())
def test_one_change_kappa_is_cohens_kappa_of_one_item_leaving_the_class(size, data):
    positives = data.draw(st.integers(1, size // 2))
    before = np.zeros(size, dtype=int)
    before[:positives] = 1
    after = before.copy()
    after[0] = 0
    expected = cohen_kappa_score(before, after)
    if np.isfinite(expected):  # one positive of two items: sklearn's 0/0
        assert one_change_kappa(positives, size) == pytest.approx(expected)


def test_a_thousand_item_stop_set_resolves_a_class_from_54_predictions_at_0_99():
    """One item changing leaves the kappa of a class predicted 54 times at 0.9901, of one
    predicted 53 times at 0.9899: below the threshold, so that class's kappa cannot tell one
    item from a real change."""
    for n, expected in ((53, False), (54, True), (946, True), (947, False)):
        says = np.arange(1000) < n
        assert resolved(says, says, 0.99) is expected, n
    assert not resolved(np.zeros(1000, bool), np.zeros(1000, bool), 0.99)  # never predicted
    says = np.arange(1000) < 100
    assert not resolved(says, np.arange(1000) < 50, 0.99)  # too few in the second version


def test_a_rare_class_changing_does_not_set_the_kappa_but_a_common_one_does():
    """900 items in three common classes, 10 in a rare one. One rare item becoming common:
    the rare class's kappa is 0.95, but the rule reads the common class's (above 0.99). Five
    common items moving: that class is named, below 0.99."""
    a = np.array(["a", "b", "c"] * 300 + ["d"] * 10)
    b = a.copy()
    b[-1] = "c"
    per_class = class_kappas(a, b)
    assert per_class["d"] < 0.96 and least_stable(a, b, resolve_at=None)[1] == "d"
    assert least_stable(a, b) == (per_class["c"], "c") and per_class["c"] > 0.99
    b = a.copy()
    b[[0, 3, 6, 9, 12]] = "b"
    kappa, label = least_stable(a, b)
    assert label == "a" and kappa == pytest.approx(class_kappas(a, b)["a"]) and kappa < 0.99


@given(labels, st.data(), st.sampled_from([None, 0.5, 0.9, 0.99]))
def test_the_rules_kappa_lies_between_every_classs_smallest_and_the_plain_kappa(
    a, data, resolve_at
):
    """Counting fewer classes can only raise the kappa, never above the plain one; a named
    class's kappa is the one returned."""
    b = data.draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=len(a), max_size=len(a)))
    kappa, label = least_stable(a, b, resolve_at=resolve_at)
    plain, per_class = prediction_kappa(a, b), class_kappas(a, b)
    assert min(per_class.values()) - 1e-12 <= kappa <= plain + 1e-12
    assert label is None and kappa == plain or per_class[label] == pytest.approx(kappa)


def test_fires_at_first_window_reaching_threshold():
    kappas = [None, 0.5, 0.9, 0.995, 0.99, 0.992, 0.999, 0.8]
    signal = stopping_signal(kappas, threshold=0.99, window=3)
    assert signal.stopped and signal.stopped_at == 5  # mean(0.995, 0.99, 0.992) >= 0.99
    # It stays fired even though the latest window dropped below the threshold.
    assert signal.mean_kappa == pytest.approx(np.mean([0.992, 0.999, 0.8]))


def test_no_full_window_no_signal():
    signal = stopping_signal([None, 1.0, 1.0], window=3)
    assert not signal.stopped and signal.mean_kappa is None and signal.f_bound is None


def test_a_gap_breaks_the_window():
    signal = stopping_signal([None, 1.0, 1.0, None, 1.0, 1.0], window=3)
    assert not signal.stopped


@given(st.lists(st.one_of(st.none(), st.floats(-1, 1)), max_size=30), st.integers(1, 5),
       st.floats(0.5, 1.0))  # fmt: skip
def test_fires_iff_some_window_mean_reaches_threshold(kappas, window, threshold):
    signal = stopping_signal(kappas, threshold=threshold, window=window)
    means = [
        np.mean(kappas[i - window + 1 : i + 1])
        for i in range(window - 1, len(kappas))
        if all(k is not None for k in kappas[i - window + 1 : i + 1])
    ]
    assert signal.stopped == any(m >= threshold for m in means)


def test_f_bound_formula():
    assert f_change_bound(0.99) == pytest.approx(4 * 0.01 / 0.99)
    assert f_change_bound(0.99, precision=1.0) == pytest.approx(4 * 0.01 / (2 * 0.99))
    assert f_change_bound(1.0) == 0.0
    assert f_change_bound(0.0) is None and f_change_bound(None) is None
    assert f_change_bound(0.3) == 1.0  # capped: F lies in [0, 1]


@given(st.floats(0.01, 1.0), st.floats(0.01, 1.0))
def test_f_bound_shrinks_as_kappa_grows(k1, k2):
    lo, hi = sorted((k1, k2))
    assert f_change_bound(hi) <= f_change_bound(lo)


def test_bound_holds_on_binary_predictions():
    """|ΔF| between two models (against any truth) is within the bound their kappa implies."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        truth = rng.integers(0, 2, 300)
        a = np.where(rng.random(300) < 0.8, truth, 1 - truth)
        b = np.where(rng.random(300) < 0.05, 1 - a, a)
        f = [2 * np.sum(p & truth) / (p.sum() + truth.sum()) for p in (a, b)]
        bound = f_change_bound(prediction_kappa(a, b))
        assert bound is not None and abs(f[0] - f[1]) <= bound + 1e-12


LABELS = [20 * 2 ** (i / 2) for i in range(12)]


def test_plateau_fires_where_kappa_levels_off_below_the_threshold():
    kappas = [None, 0.6, 0.8, 0.9, 0.94, 0.96, 0.975, 0.978, 0.974, 0.976, 0.972, 0.975]
    assert not stopping_signal(kappas).stopped  # the default rule never fires here
    signal = stopping_signal(kappas, labels=LABELS)
    assert signal.stopped and signal.fired_by == "plateau"
    # Fires at the first version whose last five kappas have no upward trend.
    assert signal.stopped_at == 10 and kappa_plateaued(kappas, LABELS, 10)
    assert not kappa_plateaued(kappas, LABELS, 9)  # 0.96 ... 0.976: still rising


def test_plateau_needs_the_floor_and_a_full_defined_stretch():
    flat_low = [None] + [0.9] * 11
    assert not stopping_signal(flat_low, labels=LABELS).stopped  # flat, but below the floor
    gap = [None, 0.97, 0.97, 0.97, None] + [0.97] * 5
    assert stopping_signal(gap, labels=LABELS[:10]).stopped_at == 9  # after the gap: 5 defined
    assert not kappa_plateaued([None, 0.97, 0.97, 0.97, 0.97], LABELS[:5], 4)
    assert not kappa_plateaued([0.97] * 5, [100] * 5, 4)  # no spread in labels
    with pytest.raises(ValueError):
        stopping_signal([None, 0.99], labels=[1])


def test_plateau_reads_the_last_doubling_of_labels_not_five_versions():
    """At the app's cadence (a version every 20 labels) five versions are a short stretch:
    kappa still rising over 300..600 labels but flat over its last 100 is no plateau."""
    labels = list(range(20, 620, 20))  # 30 versions, 20 labels apart
    rising = np.linspace(0.9, 0.975, len(labels) - 5)
    kappas = [None] + rising[1:].tolist() + [0.975, 0.976, 0.974, 0.975, 0.975]
    flat_tail = stopping_signal(kappas, labels=labels)
    assert not flat_tail.stopped  # the last 5 are flat, the last doubling is not
    # Flat from 320 labels on: fires at 620, the first version whose stretch (at least half
    # its labels: 310 and up) holds only flat values.
    labels = list(range(20, 820, 20))
    kappas_flat = [None] + rising[1:15].tolist() + [0.975] * (len(labels) - 15)
    signal = stopping_signal(kappas_flat, labels=labels)
    assert labels[signal.stopped_at] == 620
    assert signal.stopped and signal.fired_by == "plateau"
    end = signal.stopped_at
    first = next(i for i, n in enumerate(labels) if 2 * n >= labels[end])
    assert all(k == 0.975 for k in kappas_flat[first : end + 1])


@given(st.integers(5, 40), st.floats(1.05, 2.5))
def test_plateau_stretch_is_a_doubling_or_five_versions(count, ratio):
    """The stretch never has fewer than 5 versions, and holds every version with at least
    half the labels of the last: kappa rising before it never matters, inside it always."""
    labels = [20 * ratio**i for i in range(count)]
    end = count - 1
    start = min(end - 4, next(i for i, n in enumerate(labels) if 2 * n >= labels[end]))
    kappas = [0.95] * count
    assert kappa_plateaued(kappas, labels, end)
    rising_before = [0.5 + 0.001 * i for i in range(start)] + [0.97] * (count - start)
    assert kappa_plateaued(rising_before, labels, end)
    if start < end:
        rising_inside = list(rising_before)
        rising_inside[end] = 0.99  # a rise at the end of the stretch
        assert not kappa_plateaued(rising_inside, labels, end)


def test_the_threshold_wins_when_both_hold_and_says_so():
    kappas = [None, 0.995, 0.995, 0.995, 0.995, 0.995]
    signal = stopping_signal(kappas, labels=LABELS[:6])
    assert (signal.stopped_at, signal.fired_by) == (3, "threshold")
    assert stopping_signal(kappas).fired_by == "threshold"
    assert stopping_signal([None, 0.5]).fired_by is None


@given(st.lists(st.one_of(st.none(), st.floats(-1, 1)), min_size=1, max_size=12),
       st.floats(0.5, 1.0))  # fmt: skip
def test_plateau_only_adds_firing_points(kappas, threshold):
    """With labels, the rule fires at the default rule's version or earlier, never later, and
    at every version where the default fires the answer is the same or earlier."""
    labels = LABELS[: len(kappas)]
    default = stopping_signal(kappas, threshold=threshold)
    both = stopping_signal(kappas, threshold=threshold, labels=labels)
    if default.stopped:
        assert both.stopped and both.stopped_at <= default.stopped_at
    if both.fired_by == "plateau":
        i = both.stopped_at
        assert kappa_plateaued(kappas, labels, i) and np.mean(kappas[i - 2 : i + 1]) >= 0.95
    assert both.mean_kappa == default.mean_kappa
