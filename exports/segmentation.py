"""Simple, documented, offset-keeping segmentation: paragraphs, sentences and tokens.

All spans are ``(start, end)`` pairs of code-point offsets (Python ``str`` indices, end
exclusive) into the original text; nothing is normalised, so ``text[start:end]`` is always
the segment. The rules are deliberately simple and language-neutral (no abbreviation lists,
no models), so the same text always gives the same segments:

Paragraphs
    Runs of text between line breaks (``\\n``, ``\\r``, U+2028, U+2029); one line is one
    paragraph. Surrounding whitespace is left out; empty lines give no paragraph.

Sentences
    Paragraphs are further cut after a run of sentence-final punctuation
    (``. ! ? …`` and ``。 ！ ？ ؟``), optionally followed by closing quotes or brackets
    (``" ' ” ’ » ) ]``), when whitespace follows. "Mr. Smith" is therefore two sentences;
    a claim's context is still whole, because every sentence the claim touches is included.

Tokens
    Maximal runs of word characters (``\\w``: letters and digits of any script,
    underscore), each other non-space character on its own (punctuation, symbols, each
    emoji code point). Combining marks (categories Mn, Mc, Me, e.g. Arabic harakat, emoji
    variation selectors), zero-width joiners (U+200D) and emoji skin-tone modifiers stay
    attached to the token before them; a joiner also attaches the token after it, and so
    does a mark between two word characters, so "كَتَبَ" and "👨🏻‍🚒" are single tokens.
    Whitespace (including no-break space U+00A0) separates tokens and is never part of
    one.
"""

from __future__ import annotations

import re
import unicodedata

Span = tuple[int, int]

_LINE_BREAK = re.compile(r"[\n\r\u2028\u2029]+")
_SENTENCE_BREAK = re.compile(
    r"""[.!?\u2026\u3002\uff01\uff1f\u061f]+["'\u201d\u2019\u00bb)\]]*(?=\s)|[\n\r\u2028\u2029]+"""
)
_TOKEN = re.compile(r"\w+|[^\w\s]")
_ZWJ = "\u200d"
_SKIN_TONES = frozenset(chr(c) for c in range(0x1F3FB, 0x1F400))


def _stripped(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _cut(text: str, breaks: re.Pattern[str]) -> list[Span]:
    spans: list[Span] = []
    position = 0
    for match in breaks.finditer(text):
        piece = _stripped(text, position, match.end())
        if piece:
            spans.append(piece)
        position = match.end()
    piece = _stripped(text, position, len(text))
    if piece:
        spans.append(piece)
    return spans


def paragraph_spans(text: str) -> list[Span]:
    """The paragraphs (lines) of `text` as (start, end) code-point spans, in order."""
    return _cut(text, _LINE_BREAK)


def sentence_spans(text: str) -> list[Span]:
    """The sentences of `text` as (start, end) code-point spans, in order (rules above)."""
    return _cut(text, _SENTENCE_BREAK)


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch).startswith("M")


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _attaches_to_previous(ch: str) -> bool:
    return ch == _ZWJ or ch in _SKIN_TONES or _is_mark(ch)


def token_spans(text: str) -> list[Span]:
    """The tokens of `text` as (start, end) code-point spans, in order (rules above)."""
    tokens: list[Span] = []
    for match in _TOKEN.finditer(text):
        start, end = match.span()
        if tokens and tokens[-1][1] == start and (
            _attaches_to_previous(text[start])
            or text[start - 1] == _ZWJ
            or (_is_mark(text[start - 1]) and _is_word(text[tokens[-1][0]])
                and _is_word(text[start]))
        ):
            tokens[-1] = (tokens[-1][0], end)
        else:
            tokens.append((start, end))
    return tokens
