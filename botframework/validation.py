"""Checks that plugins' constructors share on the values a bot YAML gives them."""

from __future__ import annotations

import math


def is_finite_number(value: object) -> bool:
    """Whether ``value`` is an int or a float (not a bool) and neither NaN nor infinite."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
