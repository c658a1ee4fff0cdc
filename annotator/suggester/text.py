"""Tokens and sentences: spaCy's rule-based English tokenizer (a blank pipeline, no model
download) and sentence boundaries at sentence-final punctuation and line breaks."""

from __future__ import annotations

from functools import cache
from typing import Any

# What ends a sentence (as spaCy's Sentencizer, a token that is exactly one of these), and
# what may follow it in the same sentence (closing quotes and brackets).
SENTENCE_ENDS = (".", "!", "?", "…", "?!", "!?", "...", "‼", "⁇", "⁈", "⁉", "。", "！",
                 "？", "؟", "۔", "।")
CLOSERS = ("\"", "”", "’", "'", ")", "]", "»", "›")


@cache
def pipeline() -> Any:
    """The shared blank English pipeline (its tokenizer), built once.

    Imported lazily: spaCy takes about two seconds to load, which only the first
    suggestion of a process should pay.
    """
    import spacy

    return spacy.blank("en")


class Tokens:
    """Per-token columns of a Doc as plain lists: reading them does not build a spaCy Token
    each time (which dominates the cost of walking a long article token by token)."""

    def __init__(self, doc: Any) -> None:
        from spacy.attrs import IDX, IS_PUNCT, IS_SPACE, LENGTH, LOWER, ORTH

        columns = doc.to_array([IDX, LENGTH, IS_SPACE, IS_PUNCT, LOWER, ORTH]).T.tolist()
        self.idx, self.length, self.is_space, self.is_punct, self.lower, self.orth = (
            columns if columns else ([], [], [], [], [], []))
        self.strings = doc.vocab.strings
        self._sets: dict[Any, frozenset[Any]] = {}

    def hash(self, word: str) -> int:
        return self.strings.add(word)

    def hashed(self, words: frozenset[Any]) -> frozenset[Any]:
        """The hashes of a set of words (or of word pairs), computed once per doc."""
        found = self._sets.get(words)
        if found is None:
            found = self._sets[words] = frozenset(
                (self.hash(w[0]), self.hash(w[1])) if isinstance(w, tuple) else self.hash(w)
                for w in words)
        return found


def parse(text: str) -> Any:
    """The spaCy Doc of `text` with its sentences; token offsets (`idx`) are code points,
    as everywhere here."""
    doc = pipeline().make_doc(text)
    doc.user_data["text"] = text  # Doc.text would rebuild the string from every token
    table = doc.user_data["tokens"] = Tokens(doc)
    doc.user_data["sentences"] = _sentences(text, table)
    return doc


def _sentences(text: str, t: Tokens) -> list[tuple[int, int]]:
    n = len(t.idx)
    if not n:
        return []
    ends = {t.hash(p) for p in SENTENCE_ENDS}
    closers = {t.hash(p) for p in CLOSERS} | ends
    starts = [0]
    i = 0
    while i < n:
        newline = t.is_space[i] and "\n" in text[t.idx[i]:t.idx[i] + t.length[i]]
        if t.orth[i] in ends or newline:
            j = i + 1
            while j < n and (t.orth[j] in closers or t.is_space[j]):
                j += 1
            if j < n and j > starts[-1]:
                starts.append(j)
            i = j
            continue
        i += 1
    return list(zip(starts, [*starts[1:], n], strict=True))


def tokens(doc: Any) -> Tokens:
    """The doc's token columns."""
    return doc.user_data["tokens"]


def token_starts(doc: Any) -> list[int]:
    return tokens(doc).idx


def sentence_bounds(doc: Any) -> list[tuple[int, int]]:
    """(first token, end token) of each sentence."""
    return doc.user_data["sentences"]


def text_of(doc: Any) -> str:
    """The parsed string."""
    return doc.user_data["text"]


def sentence_spans(doc: Any) -> list[tuple[int, int]]:
    """(start, end) code points of each sentence, whitespace trimmed; empty ones dropped."""
    text, t = text_of(doc), tokens(doc)
    spans = []
    for first, end in sentence_bounds(doc):
        start = t.idx[first]
        stop = t.idx[end - 1] + t.length[end - 1]
        while start < stop and text[start].isspace():
            start += 1
        while stop > start and text[stop - 1].isspace():
            stop -= 1
        if start < stop:
            spans.append((start, stop))
    return spans
