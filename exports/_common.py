"""Helpers shared by the dataset writers and readers (private)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .jsonl import check_spans

Record = dict[str, Any]
ClaimFilter = Callable[[dict[str, Any]], bool]

# The special span label meaning "use the claim's stance"; any other string is used as is.
STANCE = "stance"


class ImportFormatError(ValueError):
    """A file in another tool's format that cannot be read; `where` says which task/line."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


def dumps(obj: Any) -> str:
    """Compact JSON with UTF-8 text (no \\u escapes), as every writer here writes it."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def checked(records: Iterable[Record]) -> Iterator[Record]:
    """Each record after check_spans (ExportRecordError on a span that does not match)."""
    for record in records:
        check_spans(record)
        yield record


def claims_of(record: Record, keep: ClaimFilter | None) -> list[dict[str, Any]]:
    """The record's claims that `keep` accepts (all when it is None), in their order."""
    claims = record.get("claims") or []
    return [c for c in claims if keep is None or keep(c)]


def label_for(claim: dict[str, Any], span_label: str) -> str:
    """The claim's stance when span_label == "stance", else span_label itself."""
    return str(claim.get("stance") or "") if span_label == STANCE else span_label


def document_id(record: Record) -> str:
    """The document's external id as a string ("" when the record has none)."""
    value = record.get("id")
    return "" if value is None else str(value)
