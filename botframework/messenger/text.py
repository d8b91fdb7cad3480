"""Splitting a long reply into Send API messages: word boundaries first, never inside a grapheme.

Meta's limit is "under 2000 characters" without saying which unit; lengths here count UTF-16 code
units (an emoji outside the BMP counts 2), which is never less than the number of code points.
"""

from __future__ import annotations

import unicodedata

MESSAGE_LIMIT = 2000

_ZWJ = "\u200d"


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """``text`` in parts of at most ``limit`` UTF-16 units, none empty, nothing dropped but the
    whitespace at the cuts. Cuts at the last whitespace that fits; a word longer than a whole part
    is cut at the last grapheme boundary that fits."""
    if limit < 2:
        raise ValueError(f"limit must be at least 2, got {limit}")
    parts: list[str] = []
    rest = text.strip()
    while rest:
        if utf16_length(rest) <= limit:
            parts.append(rest)
            break
        end = _last_fitting_boundary(rest, limit)
        space = _last_space(rest, end)
        cut = space if space > 0 else end
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return [part for part in parts if part]


def _last_fitting_boundary(text: str, limit: int) -> int:
    """The largest grapheme boundary ``i`` with ``text[:i]`` at most ``limit`` UTF-16 units."""
    units, end = 0, 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            break
        end = index + 1
    cut = end
    while cut > 0 and not is_grapheme_boundary(text, cut):
        cut -= 1
    # A single grapheme longer than the limit (pathological): cut at the code point instead.
    return cut if cut > 0 else max(end, 1)


def _last_space(text: str, end: int) -> int:
    for index in range(end, 0, -1):
        if index < len(text) and text[index].isspace() and is_grapheme_boundary(text, index):
            return index
    return 0


def is_grapheme_boundary(text: str, index: int) -> bool:
    """An approximation of Unicode extended grapheme cluster boundaries (UAX #29) that covers
    combining marks, ZWJ emoji sequences, variation selectors, skin-tone modifiers, tag
    sequences, flags (regional-indicator pairs) and CR LF."""
    if index <= 0 or index >= len(text):
        return True
    before, after = text[index - 1], text[index]
    if before == "\r" and after == "\n":
        return False
    if after == _ZWJ or before == _ZWJ:
        return False
    if _extends(after):
        return False
    if _regional(before) and _regional(after):
        run = 0
        position = index - 1
        while position >= 0 and _regional(text[position]):
            run += 1
            position -= 1
        return run % 2 == 0
    return True


def _extends(char: str) -> bool:
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
    )


def _regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF
