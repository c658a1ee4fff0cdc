"""The native export: JSON Lines, one document per line with its claims."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any


class ExportRecordError(ValueError):
    """A record that would produce an invalid dataset line; nothing past it is written."""


def _spans(record: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for i, claim in enumerate(record.get("claims", [])):
        yield f"claims[{i}]", claim
        if claim.get("actor_mention"):
            yield f"claims[{i}].actor_mention", claim["actor_mention"]
        for j, evidence in enumerate(claim.get("evidence", [])):
            # A span in another article indexes that article's text, not this record's.
            elsewhere = evidence.get("document_id") not in (None, record.get("document_id"))
            if evidence.get("start") is not None and not elsewhere:
                yield f"claims[{i}].evidence[{j}]", evidence


def check_spans(record: dict[str, Any]) -> None:
    """Raise ExportRecordError unless text[start:end] == span text for every span."""
    text = record["text"]
    for where, span in _spans(record):
        if text[span["start"] : span["end"]] != span["text"]:
            raise ExportRecordError(
                f"document {record.get('id')!r}: {where} [{span['start']}, {span['end']}) "
                "does not match its text"
            )


def write_jsonl(
    records: Iterable[dict[str, Any]],
    out: IO[str],
    *,
    validate: Callable[[dict[str, Any]], None] | None = None,
) -> int:
    """Write each record as one JSON line to `out`; return the number written.

    Records are consumed one at a time, so memory does not grow with their number.
    Each record's spans are checked, and `validate` (e.g. a JSON Schema check) is
    called on it before it is written.
    """
    count = 0
    for record in records:
        check_spans(record)
        if validate is not None:
            validate(record)
        out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        out.write("\n")
        count += 1
    return count


def iter_jsonl_lines(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The same lines as write_jsonl, as an iterator (for streaming HTTP responses)."""
    for record in records:
        check_spans(record)
        yield json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
