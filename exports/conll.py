"""BIO (IOB2) token tags in CoNLL columns, for claim-span detection.

Layout (UTF-8 text)::

    # doc_id = demo-001
    The<TAB>O
    army<TAB>O
    shot<TAB>B-CLAIM
    down<TAB>I-CLAIM
    ...
    <blank line>                  ← after every sentence, so also between documents

Each document starts with a ``# doc_id = <id>`` comment line (line breaks in an id are
written as spaces). Each token line is ``token<TAB>tag``, or with ``offsets=True``
``token<TAB>start<TAB>end<TAB>tag`` where start/end are the token's code-point offsets in
the document text. Tokens never contain whitespace; a token may be ``#`` (a lone ``#`` on
a token line is not a comment: comments are ``# key = value``).

Tokens and sentences come from ``exports.segmentation`` (``token_spans``,
``sentence_spans``). A claim tags every token it overlaps, so a claim that starts or ends
inside a token is widened to whole tokens. Tags are ``B-<label>`` on a span's first token,
``I-<label>`` on the others, ``O`` elsewhere; ``<label>`` is ``span_label`` ("CLAIM" by
default, or "stance" for each claim's stance).

Sentence breaks never fall inside a tagged span: sentences a span crosses are written as
one.

Overlapping and nested claims (BIO can hold one span per token): the longest span, in
tokens, wins, then the earliest; a claim overlapping tokens already tagged is left out
and counted in ``ConllStats.conflicts``. A claim with exactly the same tokens and label as
a tagged one (e.g. the same claim from several annotators) is counted in ``duplicates``,
one with no tokens (only whitespace) in ``empty``.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO

from ._common import ClaimFilter, ImportFormatError, Record, checked, claims_of, document_id
from ._common import label_for as _label_for
from .segmentation import Span, sentence_spans, token_spans

DEFAULT_LABEL = "CLAIM"
_COMMENT = re.compile(r"^# (\w+) = (.*)$")


@dataclass
class ConllStats:
    """What write_conll wrote: documents, sentences, tokens and tagged spans, and the
    claims it left out (duplicates, conflicts, empty)."""

    documents: int = 0
    sentences: int = 0
    tokens: int = 0
    spans: int = 0
    duplicates: int = 0
    conflicts: int = 0
    empty: int = 0


def token_span_of(tokens: Sequence[Span], start: int, end: int) -> tuple[int, int] | None:
    """The (first, last + 1) indices of the tokens overlapping [start, end), or None.

    `tokens` are sorted, non-overlapping (start, end) spans as token_spans returns them.
    """
    ends = [e for _, e in tokens]
    starts = [s for s, _ in tokens]
    first = bisect_right(ends, start)
    last = bisect_left(starts, end) - 1
    return (first, last + 1) if first <= last else None


def bio_tags(
    tokens: Sequence[Span],
    spans: Iterable[tuple[int, int, str]],
    stats: ConllStats | None = None,
) -> list[str]:
    """BIO tags for `tokens` given character spans (start, end, label), policy above.

    Counts tagged spans, duplicates, conflicts and empty spans into `stats` if given.
    """
    stats = stats if stats is not None else ConllStats()
    ends = [e for _, e in tokens]
    starts = [s for s, _ in tokens]
    candidates: list[tuple[int, int, str]] = []
    for start, end, label in spans:
        first = bisect_right(ends, start)
        last = bisect_left(starts, end) - 1
        if first > last:
            stats.empty += 1
        else:
            candidates.append((first, last + 1, label))
    candidates.sort(key=lambda c: (c[0] - c[1], c[0], c[2]))  # longest, then earliest
    tags = ["O"] * len(tokens)
    tagged: set[tuple[int, int, str]] = set()
    for first, stop, label in candidates:
        if (first, stop, label) in tagged:
            stats.duplicates += 1
        elif any(tag != "O" for tag in tags[first:stop]):
            stats.conflicts += 1
        else:
            tags[first] = f"B-{label}"
            for k in range(first + 1, stop):
                tags[k] = f"I-{label}"
            tagged.add((first, stop, label))
            stats.spans += 1
    return tags


def _sentence_groups(text: str, tokens: Sequence[Span], tags: Sequence[str]) -> list[range]:
    """Token index ranges, one per sentence, never breaking inside a tagged span."""
    sentence_starts = [s for s, _ in sentence_spans(text)]
    groups: list[range] = []
    begin = 0
    for k in range(1, len(tokens)):
        new_sentence = (bisect_right(sentence_starts, tokens[k][0])
                        != bisect_right(sentence_starts, tokens[k - 1][0]))
        if new_sentence and not tags[k].startswith("I-"):
            groups.append(range(begin, k))
            begin = k
    if tokens:
        groups.append(range(begin, len(tokens)))
    return groups


def _one_line(value: str) -> str:
    return " ".join(value.split())


def iter_conll_lines(
    records: Iterable[Record],
    *,
    span_label: str = DEFAULT_LABEL,
    keep: ClaimFilter | None = None,
    offsets: bool = False,
    stats: ConllStats | None = None,
) -> Iterator[str]:
    """Yield the CoNLL lines (each ending in "\\n") for the document records, in order.

    Streams one record at a time; counts into `stats` if given. Raises ExportRecordError
    for a record whose spans do not match its text.
    """
    stats = stats if stats is not None else ConllStats()
    for record in checked(records):
        text = record["text"]
        tokens = token_spans(text)
        spans = [(c["start"], c["end"], _label_for(c, span_label))
                 for c in claims_of(record, keep)]
        tags = bio_tags(tokens, spans, stats)
        stats.documents += 1
        stats.tokens += len(tokens)
        yield f"# doc_id = {_one_line(document_id(record))}\n"
        groups = _sentence_groups(text, tokens, tags)
        if not groups:
            yield "\n"
        for group in groups:
            stats.sentences += 1
            for k in group:
                start, end = tokens[k]
                if offsets:
                    yield f"{text[start:end]}\t{start}\t{end}\t{tags[k]}\n"
                else:
                    yield f"{text[start:end]}\t{tags[k]}\n"
            yield "\n"


def write_conll(
    records: Iterable[Record],
    out: IO[str],
    *,
    span_label: str = DEFAULT_LABEL,
    keep: ClaimFilter | None = None,
    offsets: bool = False,
) -> ConllStats:
    """Write the documents as CoNLL BIO lines to `out`; return the counts (ConllStats).

    Streams one record at a time. Raises ExportRecordError for a record whose spans do
    not match its text (documents before it are already written).
    """
    stats = ConllStats()
    for line in iter_conll_lines(records, span_label=span_label, keep=keep,
                                 offsets=offsets, stats=stats):
        out.write(line)
    return stats


# ---------- reading ----------


@dataclass(frozen=True)
class ConllToken:
    """One token line: its text, tag, and offsets when the file has them (else None)."""

    text: str
    tag: str
    start: int | None = None
    end: int | None = None


@dataclass
class ConllDocument:
    """One document of a CoNLL file: its id (None before any ``# doc_id``) and sentences."""

    doc_id: str | None
    sentences: list[list[ConllToken]] = field(default_factory=list)

    @property
    def tokens(self) -> list[ConllToken]:
        """All tokens of the document, sentences concatenated."""
        return [token for sentence in self.sentences for token in sentence]


def read_conll(lines: Iterable[str]) -> Iterator[ConllDocument]:
    """Parse CoNLL lines as write_conll writes them (2 or 4 tab-separated columns).

    A ``# doc_id = ...`` comment or a ``-DOCSTART-`` line starts a new document; other
    ``# key = value`` comments are skipped; blank lines end sentences. Yields documents
    one at a time. Raises ImportFormatError for a token line with another column count or
    non-integer offsets.
    """
    document: ConllDocument | None = None
    sentence: list[ConllToken] = []

    def flush() -> None:
        nonlocal sentence, document
        if sentence:
            if document is None:
                document = ConllDocument(None)
            document.sentences.append(sentence)
            sentence = []

    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        comment = _COMMENT.match(line)
        if comment or line.startswith("-DOCSTART-"):
            if comment and comment.group(1) != "doc_id":
                continue
            flush()
            if document is not None:
                yield document
            document = ConllDocument(comment.group(2) if comment else None)
            continue
        if not line.strip():
            flush()
            continue
        columns = line.split("\t")
        if len(columns) == 2:
            sentence.append(ConllToken(columns[0], columns[1]))
        elif len(columns) == 4:
            try:
                start, end = int(columns[1]), int(columns[2])
            except ValueError:
                raise ImportFormatError(f"line {number}", "offsets must be integers") from None
            sentence.append(ConllToken(columns[0], columns[3], start, end))
        else:
            raise ImportFormatError(f"line {number}", f"expected 2 or 4 columns, not "
                                    f"{len(columns)}")
    flush()
    if document is not None:
        yield document


def bio_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Token spans (first, last + 1, label) from BIO tags, in order.

    An ``I-`` tag that does not continue a span of the same label starts a new span
    (lenient IOB1-style reading); ``O`` and any other tag end the current span.
    """
    spans: list[tuple[int, int, str]] = []
    first, label = -1, ""
    for k, tag in enumerate(tags):
        kind, _, tag_label = tag.partition("-")
        if kind == "I" and first >= 0 and tag_label == label:
            continue
        if first >= 0:
            spans.append((first, k, label))
            first = -1
        if kind in ("B", "I") and tag_label:
            first, label = k, tag_label
    if first >= 0:
        spans.append((first, len(tags), label))
    return spans
