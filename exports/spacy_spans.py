"""spaCy-style span JSONL: one document per line with its claim spans.

Each line is ``{"text": ..., "spans": [{"start", "end", "label"}, ...], "meta": {"id",
"title", "document_meta"}}`` and valid against ``schemas/spacy-spans.schema.json``.
``start``/``end`` are code points (Python ``str`` indices, end exclusive), which is what
spaCy's ``Doc.char_span`` takes, so no conversion is needed::

    nlp = spacy.blank("en")
    doc = nlp.make_doc(line["text"])
    spans = [doc.char_span(s["start"], s["end"], label=s["label"], alignment_mode="strict")
             for s in line["spans"]]   # None where a span does not fall on token boundaries
    doc.spans["sc"] = spans            # span groups allow overlaps; doc.ents does not

``label`` is the claim's stance (``span_label="stance"``, the default) or the fixed string
given as ``span_label`` (e.g. ``"CLAIM"``). Identical (start, end, label) spans, e.g. the
same claim marked by several annotators, are written once; spans are sorted by start, then
longest first. Documents without claims are written with an empty ``spans`` list unless
``skip_empty`` is set.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, Any

from ._common import STANCE, ClaimFilter, Record, checked, claims_of, document_id, dumps, label_for


def iter_spacy_lines(
    records: Iterable[Record],
    *,
    span_label: str = STANCE,
    keep: ClaimFilter | None = None,
    skip_empty: bool = False,
) -> Iterator[dict[str, Any]]:
    """Yield one span line (a dict) per document record, in order.

    Raises ExportRecordError for a record whose spans do not match its text.
    """
    for record in checked(records):
        spans = sorted(
            {(c["start"], c["end"], label_for(c, span_label)) for c in claims_of(record, keep)},
            key=lambda s: (s[0], -s[1], s[2]),
        )
        if skip_empty and not spans:
            continue
        yield {
            "text": record["text"],
            "spans": [{"start": s, "end": e, "label": label} for s, e, label in spans],
            "meta": {
                "id": document_id(record),
                "title": record.get("title") or "",
                "document_meta": record.get("meta") or {},
            },
        }


def write_spacy_jsonl(
    records: Iterable[Record],
    out: IO[str],
    *,
    span_label: str = STANCE,
    keep: ClaimFilter | None = None,
    skip_empty: bool = False,
) -> int:
    """Write one span JSON line per document to `out`; return the number of lines written.

    Streams one record at a time. Raises ExportRecordError for a record whose spans do not
    match its text (the lines before it are already written).
    """
    count = 0
    for line in iter_spacy_lines(records, span_label=span_label, keep=keep,
                                 skip_empty=skip_empty):
        out.write(dumps(line))
        out.write("\n")
        count += 1
    return count
