"""Webhook bodies decoded into JSON that SQLite, UTF-8 and strict JSON can all hold.

``json.loads`` accepts things nothing downstream can store or re-encode: lone surrogates
(``"\\ud800"``, half an emoji), ``Infinity`` and ``1e400`` (infinite floats), integers beyond 64
bits, and nesting deep enough to exhaust the recursion limit. :func:`decode_body` repairs the first
three in place (U+FFFD for a surrogate, ``null`` for a number) and refuses the last.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from typing import Any

#: Deeper than any Messenger event (a template echo nests about a dozen levels).
MAX_DEPTH = 64

_SURROGATE = re.compile("[\ud800-\udfff]")


class BadPayload(ValueError):
    """A body that cannot be accepted at all; the message says why (for a 400)."""


def decode_body(raw: bytes) -> tuple[Any, Counter[str]]:
    """The JSON value of ``raw``, made storable, and how many values of each kind were repaired."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise BadPayload(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError):
        raise BadPayload("Invalid JSON") from None
    repairs: Counter[str] = Counter()
    root = [value]
    _repair_tree(root, repairs)
    return root[0], repairs


def _repair_tree(root: list[Any], repairs: Counter[str]) -> None:
    """Repair every value under ``root`` without recursion (the depth is what is checked)."""
    stack: list[tuple[list[Any] | dict[str, Any], int]] = [(root, 0)]
    while stack:
        container, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadPayload(f"JSON nested deeper than {MAX_DEPTH} levels")
        if isinstance(container, dict):
            items = list(container.items())
            container.clear()
            for key, item in items:
                container[_repair_text(key, repairs)] = _repair_value(item, repairs)
        else:
            for index, item in enumerate(container):
                container[index] = _repair_value(item, repairs)
        stack.extend((item, depth + 1) for item in _children(container))


def _children(container: list[Any] | dict[str, Any]) -> list[Any]:
    values = container.values() if isinstance(container, dict) else container
    return [value for value in values if isinstance(value, (dict, list))]


def _repair_value(value: Any, repairs: Counter[str]) -> Any:
    if isinstance(value, str):
        return _repair_text(value, repairs)
    if isinstance(value, float) and not math.isfinite(value):
        repairs["non-finite numbers"] += 1
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if not fits_in_64_bits(value):
            repairs["integers beyond 64 bits"] += 1
            return None
    return value


def _repair_text(text: str, repairs: Counter[str]) -> str:
    if text.isascii():
        return text
    repaired, count = _SURROGATE.subn("\ufffd", text)
    if count:
        repairs["lone surrogates"] += count
    return repaired


def fits_in_64_bits(number: int) -> bool:
    """Whether SQLite can store ``number`` as an INTEGER."""
    return -(2**63) <= number < 2**63


def describe(repairs: Counter[str]) -> str:
    """``"lone surrogates: 2, non-finite numbers: 1"``, for a log line."""
    return ", ".join(f"{kind}: {count}" for kind, count in sorted(repairs.items()))
