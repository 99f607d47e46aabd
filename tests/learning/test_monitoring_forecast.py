"""The labels-to-target forecast on synthetic learning curves whose answers are known."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from learning.monitoring.forecast import (
    fit_power_law,
    forecast,
    labels_for,
    noise_scale,
    power_law,
)

N = np.arange(20, 520, 20)


def noisy_curve(a, b, c, *, seed, noise=0.3):
    rng = np.random.default_rng(seed)
    clean = power_law(N, a, b, c)
    return clean + rng.normal(0, noise * np.sqrt(clean * (1 - clean) / N))


def test_recovers_a_known_curve():
    fit = fit_power_law(N, noisy_curve(0.9, 1.2, 0.7, seed=1))
    assert fit is not None
    a, b, c = fit.params
    assert a == pytest.approx(0.9, abs=0.01)
    assert c == pytest.approx(0.7, abs=0.15)


def test_labels_needed_on_a_noiseless_curve_is_exact():
    s = power_law(N, 0.85, 2.0, 0.5)
    f = forecast(N, s, target=0.95, relative=True)
    truth = (2.0 / (0.85 * 0.05)) ** 2
    assert f.status == "ok" and f.plateau == pytest.approx(0.85, abs=1e-4)
    assert f.labels_needed == pytest.approx(truth, rel=0.01)
    lo, hi = f.labels_needed_interval
    # The points carry no noise, but the fit assumes each has at least its binomial standard
    # error (sqrt(s (1 - s) / n): 0.09 at 20 labels), which can leave the upper end open.
    assert lo <= f.labels_needed <= (hi if hi is not None else np.inf)


def test_absolute_target_and_reached_and_unreachable():
    s = power_law(N, 0.85, 2.0, 0.5)
    assert forecast(N, s, target=0.80, relative=False).labels_needed == pytest.approx(
        (2.0 / 0.05) ** 2, rel=0.01
    )
    assert forecast(N, s, target=0.5, relative=False).status == "reached"
    unreachable = forecast(N, s, target=0.9, relative=False)
    assert unreachable.status == "unreachable" and unreachable.labels_needed is None


@pytest.mark.parametrize(
    ("n", "s"),
    [
        ([20, 40, 60, 80], [0.5, 0.6, 0.65, 0.7]),  # four points
        ([100, 110, 120, 130, 140, 150], [0.5, 0.6, 0.65, 0.7, 0.7, 0.72]),  # < 2x spread
        ([20, 20, 20, 20, 20, 40], [0.5] * 6),  # two distinct counts
        ([20, 40, 80, 160, 320], [None, None, 0.6, float("nan"), 0.7]),  # undefined scores
        ([], []),
    ],
)
def test_not_enough_versions_until_identifiable(n, s):
    assert forecast(n, s, target=0.95, relative=True).status == "not_enough_versions"


def test_no_plateau_when_the_curve_still_rises_as_a_line_in_log_labels():
    """A curve that gains the same per doubling has no plateau under 1: the fit's plateau sits
    at its bound, and 95% of it would be a target the data never showed. No numbers then."""
    rising = 0.55 + 0.04 * np.log2(N / 20)  # 0.55 .. 0.82, not bending
    f = forecast(N, rising, target=0.95, relative=True)
    assert f.status == "no_plateau"
    assert (f.plateau, f.target, f.labels_needed, f.curve) == (None, None, None, ())
    lo, hi = f.labels_needed_interval  # the draws' spread stays: it says how little is known
    assert lo < 20 * 2 ** ((0.95 - 0.55) / 0.04) and (hi is None or hi > N[-1])
    assert fit_power_law(N, rising).params[0] == pytest.approx(1.0)  # the reason
    # The same curve bending toward 0.85 has a plateau, and a forecast.
    bending = power_law(N, 0.85, 2.0, 0.5)
    assert forecast(N, bending, target=0.95, relative=True).status == "ok"


def test_points_measured_on_fewer_items_weigh_less_and_widen_the_intervals():
    """A score over an evaluation sample of 50 items errs more than one over every label:
    ``sizes`` sets each point's standard error, so the same curve gets wider intervals."""
    s = noisy_curve(0.9, 1.2, 0.7, seed=4)
    wide = forecast(N, s, target=0.95, relative=True, sizes=np.full(N.size, 50))
    narrow = forecast(N, s, target=0.95, relative=True)
    assert wide.plateau == pytest.approx(narrow.plateau, abs=0.02)
    # Wider below (above, both reach the ceiling 1 here).
    assert wide.plateau_interval[0] < narrow.plateau_interval[0] - 0.01
    assert wide.labels_needed_interval[0] < narrow.labels_needed_interval[0]
    with pytest.raises(ValueError):
        forecast(N, s, target=0.95, relative=True, sizes=[50])


def test_rejects_bad_targets_and_shapes():
    with pytest.raises(ValueError):
        forecast(N, power_law(N, 0.9, 1, 0.5), target=0, relative=True)
    with pytest.raises(ValueError):
        forecast([1, 2], [0.5], target=0.9, relative=True)


def test_interval_covers_truth_in_most_seeds():
    """80% intervals of the labels needed cover the true value in most noisy replicates."""
    truth = labels_for(0.9, 1.2, 0.7, 0.95 * 0.9)
    covered = 0
    for seed in range(40):
        f = forecast(N, noisy_curve(0.9, 1.2, 0.7, seed=seed), target=0.95, relative=True)
        lo, hi = f.labels_needed_interval
        covered += lo <= truth <= (hi if hi is not None else np.inf)
    assert covered >= 0.6 * 40


def correlated_curve(a, b, c, *, seed, rho=0.9):
    """Points whose errors are one standard error each but correlated as successive versions'
    are (AR(1), correlation ``rho`` between neighbours): the curve through them is smooth."""
    rng = np.random.default_rng(seed)
    clean = power_law(N, a, b, c)
    z = np.empty(N.size)
    z[0] = rng.normal()
    for i in range(1, N.size):
        z[i] = rho * z[i - 1] + np.sqrt(1 - rho**2) * rng.normal()
    return clean + z * np.sqrt(clean * (1 - clean) / N)


def test_interval_covers_truth_when_the_points_err_together():
    """Residuals of correlated points understate their noise (a wild bootstrap of them covered
    the truth in 21 of these 40 trials); the binomial floor keeps the 80% intervals honest
    (32 of 40)."""
    truth = labels_for(0.9, 1.2, 0.7, 0.95 * 0.9)
    covered = 0
    for seed in range(40):
        f = forecast(N, correlated_curve(0.9, 1.2, 0.7, seed=seed), target=0.95, relative=True)
        if f.labels_needed_interval is not None:
            lo, hi = f.labels_needed_interval
            covered += lo <= truth <= (hi if hi is not None else np.inf)
    assert covered >= 0.7 * 40


def test_noise_scale_is_at_least_one_and_grows_with_the_residuals():
    smooth = fit_power_law(N, power_law(N, 0.9, 1.2, 0.7))
    rough = fit_power_law(N, noisy_curve(0.9, 1.2, 0.7, seed=2, noise=2.0))
    assert smooth is not None and rough is not None
    assert noise_scale(smooth) == 1.0
    assert noise_scale(rough) == pytest.approx(2.0, rel=0.3)


def test_curve_extends_the_fit_with_its_band():
    s = noisy_curve(0.9, 2.0, 0.5, seed=4)  # 95% of the plateau at ~2,000 labels
    f = forecast(N[:10], s[:10], target=0.95, relative=True)
    assert f.status == "ok" and f.labels_needed_interval is not None
    labels = [p.labels for p in f.curve]
    high_end = f.labels_needed_interval[1] or f.labels_needed
    assert 25 <= len(labels) <= 30 and labels[0] == N[0]
    assert labels[-1] == round(max(high_end, 2 * N[9]))
    fit = fit_power_law(N[:10], s[:10])
    assert [p.value for p in f.curve] == pytest.approx(power_law(labels, *fit.params).tolist())
    assert all(p.low <= p.value <= p.high for p in f.curve)
    # the band is wider where the curve is extrapolated than at the last fitted point
    width = {p.labels: p.high - p.low for p in f.curve}
    last_fitted = min(width, key=lambda x: abs(x - N[9]))
    assert width[labels[-1]] > width[last_fitted]
    assert forecast(N, power_law(N, 0.85, 2.0, 0.5), target=0.5, relative=False).curve == ()


def test_seeded():
    s = noisy_curve(0.9, 1.2, 0.7, seed=3)
    assert forecast(N, s, target=0.95, relative=True, seed=5) == forecast(
        N, s, target=0.95, relative=True, seed=5
    )


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=0, max_size=12), st.floats(0.01, 1.0), st.booleans())
def test_any_curve_gives_a_well_formed_answer(scores, target, relative):
    n = list(range(10, 10 * len(scores) + 10, 10))
    f = forecast(n, scores, target=target, relative=relative, draws=20)
    assert f.status in {"ok", "reached", "unreachable", "not_enough_versions", "no_plateau"}
    if f.status != "ok":
        assert f.curve == ()
    for p in f.curve:
        assert 0 <= p.low <= p.value <= p.high <= 1
    assert [p.labels for p in f.curve] == sorted({p.labels for p in f.curve})
    if f.status in {"ok", "reached"}:
        assert f.labels_needed >= 1 and 0 <= f.plateau < 1
        if f.plateau_interval is not None:  # None when the bootstrap refits fail (below)
            lo, hi = f.plateau_interval
            assert lo <= hi


def test_no_interval_when_the_bootstrap_refits_fail(monkeypatch):
    import learning.monitoring.forecast as module

    monkeypatch.setattr(module, "bootstrap_params", lambda fit, **kw: np.zeros((0, 3)))
    f = forecast(N, power_law(N, 0.85, 2.0, 0.5), target=0.95, relative=True)
    assert f.status == "ok" and f.labels_needed is not None
    assert f.plateau_interval is None and f.labels_needed_interval is None
