"""doccano sequence-labeling JSONL: export and import.

doccano's sequence-labeling format (import and export) is one JSON object per line,
``{"text": ..., "label": [[start, end, "LABEL"], ...]}``, with any other keys kept as the
example's metadata (doccano's own export adds ``id``, its example number). Documented in
doccano's repository: ``backend/data_export/pipeline/examples/sequence_labeling/example.jsonl``
and ``backend/data_import/pipeline/label.py`` (``SpanLabel.parse`` reads
``[start_offset, end_offset, label]`` lists or dicts with those keys).

Offsets: doccano's annotation page computes offsets in the browser with JavaScript string
indices, i.e. **UTF-16 code units**: an emoji before a span shifts it by one against
Python's code points (doccano issue #2290, "Sequence labels are TypeScript/JavaScript-
style": 👨🏻‍🚒 is 3 code points but 5 UTF-16 units). So the default here is
``offsets="utf16"``: the writer converts our code points to UTF-16 and the reader converts
back. Use ``offsets="codepoint"`` for files whose offsets are Python indices (files
written by Python tools). doccano's optional "count grapheme clusters as one character"
project setting counts yet another way, which this module does not read or write.

Written lines: ``{"text", "label", "document_id", "title", "meta"}`` (``label`` sorted by
start, then longest first, identical spans once; ``document_id`` rather than ``id`` so it
does not collide with doccano's own example id). Valid against
``schemas/doccano-record.schema.json``. Spans may overlap (several annotators, nested
claims): import into a doccano project that allows overlapping spans, or select claims
with ``keep`` (e.g. gold only).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import IO, Any, Literal

from ._common import (
    STANCE,
    ClaimFilter,
    ImportFormatError,
    Record,
    checked,
    claims_of,
    document_id,
    dumps,
    label_for,
)
from .offsets import OffsetMap
from .strict_json import strict_loads

Offsets = Literal["utf16", "codepoint"]
# Keys that are the example itself, not its metadata.
_OWN_KEYS = frozenset({"text", "data", "label", "labels", "entities", "relations", "id",
                       "document_id", "title", "meta", "Comments", "comments"})


def _check_offsets(offsets: str) -> None:
    if offsets not in ("utf16", "codepoint"):
        raise ValueError(f"offsets must be 'utf16' or 'codepoint', not {offsets!r}")


def iter_doccano_lines(
    records: Iterable[Record],
    *,
    span_label: str = STANCE,
    keep: ClaimFilter | None = None,
    offsets: Offsets = "utf16",
) -> Iterator[dict[str, Any]]:
    """Yield one doccano line (a dict) per document record, in order.

    Raises ExportRecordError for a record whose spans do not match its text and
    ValueError for an unknown `offsets`.
    """
    _check_offsets(offsets)
    for record in checked(records):
        text = record["text"]
        spans = sorted(
            {(c["start"], c["end"], label_for(c, span_label)) for c in claims_of(record, keep)},
            key=lambda s: (s[0], -s[1], s[2]),
        )
        if offsets == "utf16" and spans:
            offset_map = OffsetMap(text)
            spans = [(offset_map.to_utf16(s), offset_map.to_utf16(e), label)
                     for s, e, label in spans]
        yield {
            "text": text,
            "label": [[s, e, label] for s, e, label in spans],
            "document_id": document_id(record),
            "title": record.get("title") or "",
            "meta": record.get("meta") or {},
        }


def write_doccano_jsonl(
    records: Iterable[Record],
    out: IO[str],
    *,
    span_label: str = STANCE,
    keep: ClaimFilter | None = None,
    offsets: Offsets = "utf16",
) -> int:
    """Write one doccano JSON line per document to `out`; return the number of lines.

    Streams one record at a time. Raises ExportRecordError for a record whose spans do
    not match its text (lines before it are already written), ValueError for an unknown
    `offsets`.
    """
    count = 0
    for line in iter_doccano_lines(records, span_label=span_label, keep=keep, offsets=offsets):
        out.write(dumps(line))
        out.write("\n")
        count += 1
    return count


def _raw_spans(obj: dict[str, Any], where: str) -> list[tuple[Any, Any, Any]]:
    raw: list[tuple[Any, Any, Any]] = []
    for key in ("label", "labels"):
        if key not in obj:
            continue
        items = obj[key]
        if not isinstance(items, list):
            raise ImportFormatError(where, f"'{key}' must be a list of [start, end, label]")
        for item in items:
            if isinstance(item, list | tuple) and len(item) == 3:
                raw.append((item[0], item[1], item[2]))
            elif isinstance(item, dict) and {"start_offset", "end_offset"} <= item.keys():
                raw.append((item["start_offset"], item["end_offset"], item.get("label", "")))
            else:
                raise ImportFormatError(
                    where, f"'{key}' holds {item!r}, not a [start, end, label] span "
                    "(is this a sequence-labeling export?)")
        break
    for item in obj.get("entities") or []:
        if not isinstance(item, dict) or not {"start_offset", "end_offset"} <= item.keys():
            raise ImportFormatError(where, f"entity {item!r} lacks start_offset/end_offset")
        raw.append((item["start_offset"], item["end_offset"], item.get("label", "")))
    return raw


def parse_doccano_line(obj: Any, where: str, *, offsets: Offsets = "utf16") -> dict[str, Any]:
    """One doccano line (parsed JSON) as an import record with its claims.

    Returns ``{"text", "id"?, "title"?, "meta"?, "claims": [{"start", "end", "text",
    "label"}]}`` with code-point offsets, claims sorted by (start, end). Raises
    ImportFormatError (naming `where`) for a line that is not a doccano sequence-labeling
    object or has a span outside the text, empty, or splitting a character.
    """
    _check_offsets(offsets)
    if not isinstance(obj, dict):
        raise ImportFormatError(where, "expected a JSON object")
    text = obj.get("text", obj.get("data"))
    if not isinstance(text, str) or not text:
        raise ImportFormatError(where, "'text' must be a non-empty string")
    offset_map = OffsetMap(text) if offsets == "utf16" else None
    claims = []
    for start, end, label in _raw_spans(obj, where):
        if not (isinstance(start, int) and isinstance(end, int)) \
                or isinstance(start, bool) or isinstance(end, bool):
            raise ImportFormatError(where, f"span offsets must be integers: {[start, end]}")
        try:
            if offset_map is not None:
                start, end = offset_map.from_utf16(start), offset_map.from_utf16(end)
        except ValueError as exc:
            raise ImportFormatError(where, f"span [{start}, {end}): {exc}") from None
        if not 0 <= start < end <= len(text):
            raise ImportFormatError(where, f"span [{start}, {end}) is empty or outside the "
                                    f"text (length {len(text)})")
        claims.append({"start": start, "end": end, "text": text[start:end],
                       "label": str(label)})
    claims.sort(key=lambda c: (c["start"], c["end"], c["label"]))
    record: dict[str, Any] = {"text": text}
    external = obj.get("document_id", obj.get("id"))
    if isinstance(external, str | int) and not isinstance(external, bool) and external != "":
        record["id"] = str(external)
    if isinstance(obj.get("title"), str) and obj["title"]:
        record["title"] = obj["title"]
    meta = dict(obj["meta"]) if isinstance(obj.get("meta"), dict) else {}
    for key, value in obj.items():
        if key not in _OWN_KEYS:
            meta.setdefault(key, value)
    if meta:
        record["meta"] = meta
    record["claims"] = claims
    return record


def read_doccano_jsonl(
    lines: Iterable[str | bytes], *, offsets: Offsets = "utf16"
) -> Iterator[dict[str, Any]]:
    """Read doccano sequence-labeling JSONL, one import record per non-blank line.

    Yields records as parse_doccano_line returns them, one at a time (a file object can
    be passed as `lines`, text or binary). Raises ImportFormatError naming the line number
    for bytes that are not UTF-8, invalid JSON or invalid content.
    """
    for number, line in enumerate(lines, start=1):
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise ImportFormatError(f"line {number}", f"not UTF-8: {exc.reason}") from None
        elif number == 1:
            line = line.removeprefix("\ufeff")
        if not line.strip():
            continue
        try:
            obj = strict_loads(line)
        except json.JSONDecodeError as exc:
            raise ImportFormatError(f"line {number}", f"invalid JSON: {exc.msg}") from None
        yield parse_doccano_line(obj, f"line {number}", offsets=offsets)
