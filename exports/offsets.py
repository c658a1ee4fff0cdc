"""Convert offsets between Unicode code points (ours, Python) and UTF-16 code units (JavaScript).

Our offsets are code points: Python ``str`` indices. Browser-based tools that count with
JavaScript's ``String.length`` (doccano) count UTF-16 code units instead, where every
character outside the Basic Multilingual Plane (most emoji, e.g. U+1F681 🚁) takes two
units. Both counts agree on text without such characters.
"""

from __future__ import annotations

import re
from bisect import bisect_left

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class OffsetMap:
    """Converts offsets into one text between code points and UTF-16 code units.

    Built once per text in O(len(text)); each conversion is O(log n) in the number of
    astral (non-BMP) characters, and O(1) for texts without any.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        # isascii() is a flag CPython keeps on the string: no scan for most imported texts
        self._astral = [] if text.isascii() else [m.start() for m in _ASTRAL.finditer(text)]
        # Where each astral character starts in UTF-16 units: its code-point index plus one
        # extra unit for every astral character before it.
        self._astral_utf16 = [index + k for k, index in enumerate(self._astral)]
        self.utf16_length = len(text) + len(self._astral)

    def to_utf16(self, index: int) -> int:
        """The UTF-16 offset of code-point offset `index`.

        Raises ValueError if `index` is outside 0..len(text).
        """
        if not 0 <= index <= len(self.text):
            raise ValueError(f"offset {index} is outside the text (0..{len(self.text)})")
        if not self._astral:
            return index
        return index + bisect_left(self._astral, index)

    def from_utf16(self, index: int) -> int:
        """The code-point offset of UTF-16 offset `index`.

        Raises ValueError if `index` is outside the text or falls between the two halves
        (surrogates) of one character.
        """
        if not 0 <= index <= self.utf16_length:
            raise ValueError(
                f"UTF-16 offset {index} is outside the text (0..{self.utf16_length})"
            )
        if not self._astral:
            return index
        before = bisect_left(self._astral_utf16, index)  # astral characters starting before
        if before and self._astral_utf16[before - 1] + 1 == index:
            raise ValueError(f"UTF-16 offset {index} splits a surrogate pair")
        return index - before


def codepoint_to_utf16(text: str, index: int) -> int:
    """The UTF-16 offset of code-point offset `index` in `text` (ValueError if out of range)."""
    return OffsetMap(text).to_utf16(index)


def utf16_to_codepoint(text: str, index: int) -> int:
    """The code-point offset of UTF-16 offset `index` in `text`.

    Raises ValueError if it is out of range or splits a surrogate pair.
    """
    return OffsetMap(text).from_utf16(index)
