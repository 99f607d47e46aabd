"""bench/scale.py's growth words: a cost c * N**k is named by k alone, whatever c and the sizes."""

import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from scale import growth

SIZES = [100_000, 1_000_000, 10_000_000]


@given(
    c=st.floats(1e-3, 1e6),
    k=st.sampled_from([0.0, 0.1, 0.5, 0.7, 0.9, 1.0, 1.1, 1.5, 2.0]),
    sizes=st.sampled_from([SIZES, SIZES[:2], SIZES[1:]]),
)
def test_growth_names_the_exponent(c: float, k: float, sizes: list[int]) -> None:
    word = growth([(n, c * n**k) for n in sizes])
    expected = "flat" if k < 0.25 else "sublinear" if k < 0.8 else "linear" if k < 1.2 else "worse"
    assert word.startswith(expected + " (x^")
    assert f"{k:.2f}" in word
    assert ("; steps " in word) == (len(sizes) == 3)  # each step's slope once there are two


def test_growth_needs_two_sizes_with_values() -> None:
    assert growth([(100_000, 5.0)]) == "?"
    assert growth([(100_000, 5.0), (1_000_000, None)]) == "?"
    assert growth([(100_000, 0.0), (1_000_000, 3.0)]) == "?"  # no ratio from zero


def test_growth_falls_as_flat() -> None:
    assert growth([(100_000, 10.0), (1_000_000, 1.0)]).startswith("flat")


def test_growth_lists_each_steps_slope() -> None:
    word = growth([(100_000, 1.0), (1_000_000, 1.0), (10_000_000, 100.0)])
    assert word == "linear (x^1.00; steps 0.00, 2.00)"
