"""Mann–Kendall and Theil–Sen, written in coplib, against scipy (the independent reference,
in the dev extra only) and against their definitions."""

from __future__ import annotations

import math
from itertools import permutations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from coplib.domain.decline import mann_kendall, theil_sen
from coplib.domain.errors import InvalidInputError

COUNTS = st.lists(st.integers(0, 8), min_size=3, max_size=14)
DISTINCT = st.lists(st.integers(-1000, 1000), min_size=3, max_size=14, unique=True)


@settings(max_examples=60, deadline=None)
@given(DISTINCT)
def test_without_ties_the_p_value_of_a_decrease_is_scipys_exact_one(values: list[int]) -> None:
    result = mann_kendall(values)
    assert not result.ties
    expected = stats.kendalltau(range(len(values)), values, method="exact", alternative="less").pvalue
    assert result.p_decreasing == pytest.approx(expected, rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(COUNTS)
def test_with_ties_the_variance_and_the_normal_p_value_are_scipys(values: list[int]) -> None:
    if len(set(values)) == 1:
        assert mann_kendall(values).p_decreasing == 1.0
        return
    result = mann_kendall(values, continuity=False)
    if not result.ties:
        return
    expected = stats.kendalltau(range(len(values)), values, method="asymptotic", alternative="less").pvalue
    assert result.p_decreasing == pytest.approx(expected, rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(COUNTS)
def test_the_theil_sen_slope_and_intercept_are_scipys(values: list[int]) -> None:
    slope, intercept = theil_sen(values)
    expected = stats.theilslopes(values, range(len(values)))
    assert slope == pytest.approx(expected.slope, abs=1e-9)
    assert intercept == pytest.approx(expected.intercept, abs=1e-9)


@pytest.mark.parametrize("n", [3, 4, 5, 6])
def test_the_exact_distribution_is_the_share_of_orderings_with_an_s_at_most_the_observed_one(n: int) -> None:
    values = [5, 1, 4, 2, 6, 3][:n]
    observed = mann_kendall(values).s

    def s_of(order: tuple[int, ...]) -> int:
        return sum((b > a) - (b < a) for i, a in enumerate(order) for b in order[i + 1 :])

    orders = list(permutations(values))
    assert mann_kendall(values).p_decreasing == pytest.approx(
        sum(1 for o in orders if s_of(o) <= observed) / len(orders)
    )


def test_a_strictly_falling_series_of_six_has_the_smallest_exact_p_value() -> None:
    result = mann_kendall([60, 50, 40, 30, 20, 10])
    assert result.s == -15
    assert result.p_decreasing == pytest.approx(1 / math.factorial(6))
    assert result.variance == pytest.approx(6 * 5 * 17 / 18)


def test_the_variance_is_corrected_for_ties_by_the_textbook_formula() -> None:
    values = [3, 3, 2, 2, 2, 1]  # a pair and a triple
    expected = (6 * 5 * 17 - (2 * 1 * 9) - (3 * 2 * 11)) / 18
    assert mann_kendall(values).variance == pytest.approx(expected)


def test_too_short_a_series_is_refused_with_a_typed_error() -> None:
    with pytest.raises(InvalidInputError, match=r"\$\.values"):
        mann_kendall([1, 2])
    with pytest.raises(InvalidInputError, match=r"\$\.values"):
        theil_sen([1])
