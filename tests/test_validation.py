"""The value checks plugins share (``botframework.is_finite_number``)."""

from __future__ import annotations

import math

import pytest

from botframework import is_finite_number


@pytest.mark.parametrize("value", [0, -3, 2.5, 1e300])
def test_ints_and_floats_are_finite_numbers(value) -> None:
    assert is_finite_number(value)


@pytest.mark.parametrize("value", [True, False, math.nan, math.inf, -math.inf, "1", None, [1]])
def test_bools_nan_infinities_and_non_numbers_are_not(value) -> None:
    assert not is_finite_number(value)
