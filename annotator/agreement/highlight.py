"""A text cut into segments at every claim boundary, for showing one annotator's claims.

Pure, standard library only. A page renders each segment once, highlighted when claims
cover it; overlapping and nested claims need no nested markup, since a segment lists every
claim that covers it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Segment", "segments"]


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of the text on which the covering claims do not change.

    Attributes:
        start, end: Code point offsets, ``end`` exclusive.
        text: ``text[start:end]``.
        covering: Indices (into the spans given) of the claims covering the stretch, in
            the order given.
        innermost: The index of the shortest covering claim (the first of them on a tie),
            the one whose label the stretch shows; None when no claim covers it.
    """

    start: int
    end: int
    text: str
    covering: tuple[int, ...]
    innermost: int | None


def segments(text: str, spans: Sequence[tuple[int, int]]) -> list[Segment]:
    """Cut ``text`` at every start and end of ``spans`` (``(start, end)`` code point offsets,
    end exclusive); the segments cover the whole text in order.

    Raises:
        ValueError: a span is not ``0 <= start < end <= len(text)``.
    """
    length = len(text)
    for index, (start, end) in enumerate(spans):
        if not 0 <= start < end <= length:
            raise ValueError(f"span {index} ({start}, {end}) is not within the text "
                             f"({length} code points)")
    cuts = sorted({0, length, *(s for s, _ in spans), *(e for _, e in spans)})
    found: list[Segment] = []
    for left, right in zip(cuts, cuts[1:], strict=False):
        covering = tuple(i for i, (s, e) in enumerate(spans) if s <= left and right <= e)
        innermost = min(covering, key=lambda i: (spans[i][1] - spans[i][0], i)) \
            if covering else None
        found.append(Segment(left, right, text[left:right], covering, innermost))
    return found
