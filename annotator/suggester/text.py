"""Tokens and sentences from spaCy's blank English pipeline (no model download)."""

from __future__ import annotations

import bisect
from functools import cache
from typing import Any


@cache
def pipeline() -> Any:
    """The shared blank pipeline: the rule-based tokenizer and sentencizer, built once.

    Imported lazily: spaCy takes about two seconds to load, which only the first
    suggestion of a process should pay.
    """
    import spacy
    from spacy.language import Language

    if not Language.has_factory("paragraph_breaks"):
        @Language.component("paragraph_breaks")
        def paragraph_breaks(doc: Any) -> Any:
            # Titles and paragraphs often end without a full stop: a line break ends a
            # sentence too. (Found with str.find: a loop over every token costs more.)
            text = doc.text if "text" not in doc.user_data else doc.user_data["text"]
            starts = token_starts(doc)
            at = text.find("\n")
            while at != -1:
                following = bisect.bisect_right(starts, at)
                if 0 < following < len(doc):
                    doc[following].is_sent_start = True
                at = text.find("\n", at + 1)
            return doc

    nlp = spacy.blank("en")
    nlp.add_pipe("paragraph_breaks")
    nlp.add_pipe("sentencizer")
    return nlp


def parse(text: str) -> Any:
    """The spaCy Doc of `text`; token offsets (`idx`) are code points, as everywhere here."""
    nlp = pipeline()
    doc = nlp.make_doc(text)
    doc.user_data["text"] = text  # Doc.text rebuilds the string from every token
    for _, component in nlp.pipeline:
        doc = component(doc)
    return doc


def token_starts(doc: Any) -> list[int]:
    """Each token's start offset (cached on the doc)."""
    starts = doc.user_data.get("starts")
    if starts is None:
        from spacy.attrs import IDX

        starts = doc.to_array([IDX]).tolist()
        doc.user_data["starts"] = starts
    return starts


def sentence_bounds(doc: Any) -> list[tuple[int, int]]:
    """(first token, end token) of each sentence, from the sentence-start flags."""
    from spacy.attrs import SENT_START

    flags = doc.to_array([SENT_START]).tolist()
    starts = [0] + [i for i, flag in enumerate(flags) if flag == 1 and i > 0]
    return list(zip(starts, [*starts[1:], len(doc)], strict=True))


def text_of(doc: Any) -> str:
    """The parsed string, without rebuilding it."""
    return doc.user_data.get("text") or doc.text


def sentence_spans(doc: Any) -> list[tuple[int, int]]:
    """(start, end) of each sentence, whitespace trimmed; empty sentences dropped."""
    text = text_of(doc)
    spans = []
    for sent in doc.sents:
        start, end = sent.start_char, sent.end_char
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            spans.append((start, end))
    return spans
