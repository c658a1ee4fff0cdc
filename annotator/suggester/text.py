"""Tokens and sentences from spaCy's blank English pipeline (no model download)."""

from __future__ import annotations

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
            # sentence too.
            for token in doc[:-1]:
                if "\n" in token.text or "\n" in token.whitespace_:
                    doc[token.i + 1].is_sent_start = True
            return doc

    nlp = spacy.blank("en")
    nlp.add_pipe("paragraph_breaks")
    nlp.add_pipe("sentencizer")
    return nlp


def parse(text: str) -> Any:
    """The spaCy Doc of `text`; token offsets (`idx`) are code points, as everywhere here."""
    return pipeline()(text)


def sentence_spans(doc: Any) -> list[tuple[int, int]]:
    """(start, end) of each sentence, whitespace trimmed; empty sentences dropped."""
    text = doc.text
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
