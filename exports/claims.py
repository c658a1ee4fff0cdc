"""Claim-level JSONL for verification models: one claim per line, with its context.

Each line is valid against ``schemas/claim-record.schema.json``. The line carries the claim
under the field names of FEVER (``claim``, ``label``, ``evidence``) and of AVeriTeC
(``claim``, ``label``, ``speaker``, ``justification``, ``claim_date``,
``original_claim_url``, ``reporting_source``), so loaders written for either read it.

Fields
    ``id`` ("<document id>#<claim id>", or "#<index in the document>" for claims without
    an id), ``claim_id`` (int or null), ``document_id`` (the document's external id),
    ``title``, ``claim`` (the claim's text), ``claim_start``/``claim_end`` (code points into
    the document text), ``context`` with ``context_start``/``context_end`` (where the
    context is in the document) and ``claim_context_start``/``claim_context_end`` (where the
    claim is in the context: ``context[claim_context_start:claim_context_end] == claim``),
    ``actor``, ``speaker`` and ``claimant`` (all three the claim's actor or null: ``speaker``
    is AVeriTeC's name, ``claimant`` ClaimReview's), ``actor_mention`` (``{start, end,
    text}`` in document offsets, or null), ``stance``, ``verdict`` (the raw verdict value,
    or null), ``label`` and ``label_set`` (below), ``evidence`` (a list of ``{type,
    relation, description, start, end, text, source_url}``: ``start``/``end``/``text`` are
    the evidence span in the document or null when the evidence has no span,
    ``description`` is "" when there is none), ``justification`` (the annotator's note,
    "" if none), ``claim_date``/``original_claim_url``/``reporting_source`` (from the
    document's meta keys ``claim_date`` or ``date``, ``original_claim_url`` or ``url``,
    ``reporting_source`` or ``source``; null when absent or not a string), ``annotator``,
    ``is_gold`` and ``meta`` (the document's meta object).

Context
    ``context="sentence"`` (default): the whole sentences the claim overlaps, from the
    first to the last (sentence rules in ``exports.segmentation``); ``"paragraph"``: the
    whole lines it overlaps; ``"window"``: ``window`` code points on each side of the claim,
    cut at the document's start and end (not at word boundaries). The context always
    contains the whole claim.

Labels
    ``label_set="averitec"`` (default; our default scheme's verdicts are AVeriTeC's):
    supported → "Supported", refuted → "Refuted", not_enough_evidence → "Not Enough
    Evidence", conflicting_evidence → "Conflicting Evidence/Cherrypicking".
    ``label_set="fever"``: supported → "SUPPORTS", refuted → "REFUTES",
    not_enough_evidence and conflicting_evidence → "NOT ENOUGH INFO" (FEVER has no
    conflicting class). A claim without a verdict, and a verdict the mapping does not know
    (custom label schemes), get ``label`` null; ``verdict`` always keeps the raw value.
    Pass ``label_map`` to map a custom scheme's verdicts (``label_set`` is then "custom").
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any, Literal

from ._common import ClaimFilter, Record, checked, claims_of, document_id, dumps
from .segmentation import Span, paragraph_spans, sentence_spans

ContextKind = Literal["sentence", "paragraph", "window"]
LabelSet = Literal["averitec", "fever"]

AVERITEC_LABELS: dict[str, str] = {
    "supported": "Supported",
    "refuted": "Refuted",
    "not_enough_evidence": "Not Enough Evidence",
    "conflicting_evidence": "Conflicting Evidence/Cherrypicking",
}
FEVER_LABELS: dict[str, str] = {
    "supported": "SUPPORTS",
    "refuted": "REFUTES",
    "not_enough_evidence": "NOT ENOUGH INFO",
    "conflicting_evidence": "NOT ENOUGH INFO",
}
LABEL_SETS: dict[str, dict[str, str]] = {"averitec": AVERITEC_LABELS, "fever": FEVER_LABELS}

DEFAULT_WINDOW = 200


class _Contexts:
    """Finds a claim's context in one document; segments are computed once, on first use."""

    def __init__(self, text: str, kind: ContextKind, window: int) -> None:
        if kind not in ("sentence", "paragraph", "window"):
            raise ValueError(f"unknown context kind {kind!r}")
        if window < 0:
            raise ValueError("window must not be negative")
        self.text, self.kind, self.window = text, kind, window
        self._segments: list[Span] | None = None
        self._starts: list[int] = []
        self._ends: list[int] = []

    def _load(self) -> list[Span]:
        if self._segments is None:
            split = sentence_spans if self.kind == "sentence" else paragraph_spans
            self._segments = split(self.text)
            self._starts = [s for s, _ in self._segments]
            self._ends = [e for _, e in self._segments]
        return self._segments

    def around(self, start: int, end: int) -> Span:
        """(context_start, context_end) for the claim [start, end)."""
        if self.kind == "window":
            return max(0, start - self.window), min(len(self.text), end + self.window)
        segments = self._load()
        first = bisect_right(self._ends, start)  # first segment ending after the start
        last = bisect_left(self._starts, end) - 1  # last segment starting before the end
        if first <= last:
            return min(segments[first][0], start), max(segments[last][1], end)
        return start, end  # the claim lies in whitespace between segments


def _meta_str(meta: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = meta.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _evidence(item: Mapping[str, Any]) -> dict[str, Any]:
    has_span = item.get("start") is not None
    elsewhere = {"document_id": item["document_id"]} \
        if has_span and item.get("document_id") is not None else {}
    return {
        "type": item["type"],
        "relation": item["relation"],
        "description": item.get("description") or "",
        "start": item["start"] if has_span else None,
        "end": item["end"] if has_span else None,
        "text": item.get("text") if has_span else None,
        "source_url": item.get("source_url") or None,
        **elsewhere,  # a span in another article (its document_id)
    }


def iter_claim_records(
    records: Iterable[Record],
    *,
    context: ContextKind = "sentence",
    window: int = DEFAULT_WINDOW,
    label_set: LabelSet = "averitec",
    label_map: Mapping[str, str] | None = None,
    keep: ClaimFilter | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield one claim-level record per claim of each document record, in order.

    `keep(claim)` selects claims (default: all). Records are consumed one at a time.
    Raises ExportRecordError for a record whose spans do not match its text, and
    ValueError for an unknown `context` or `label_set` or a negative `window`.
    """
    if label_map is not None:
        mapping, set_name = dict(label_map), "custom"
    elif label_set in LABEL_SETS:
        mapping, set_name = LABEL_SETS[label_set], label_set
    else:
        raise ValueError(f"unknown label set {label_set!r}")
    for record in checked(records):
        claims = claims_of(record, keep)
        if not claims:
            continue
        text = record["text"]
        doc_id = document_id(record)
        meta = record.get("meta") or {}
        contexts = _Contexts(text, context, window)
        for index, claim in enumerate(claims):
            start, end = claim["start"], claim["end"]
            context_start, context_end = contexts.around(start, end)
            verdict = claim.get("verdict")
            actor = claim.get("actor")
            mention = claim.get("actor_mention")
            claim_id = claim.get("id")
            yield {
                "id": f"{doc_id}#{claim_id if claim_id is not None else index}",
                "claim_id": claim_id,
                "document_id": doc_id,
                "title": record.get("title") or "",
                "claim": claim["text"],
                "claim_start": start,
                "claim_end": end,
                "context": text[context_start:context_end],
                "context_start": context_start,
                "context_end": context_end,
                "claim_context_start": start - context_start,
                "claim_context_end": end - context_start,
                "actor": actor,
                "speaker": actor,
                "claimant": actor,
                "actor_mention": (
                    {"start": mention["start"], "end": mention["end"], "text": mention["text"]}
                    if mention else None
                ),
                "stance": claim.get("stance") or "",
                "verdict": verdict,
                "label": mapping.get(verdict) if verdict is not None else None,
                "label_set": set_name,
                "evidence": [_evidence(item) for item in claim.get("evidence") or []],
                "justification": claim.get("note") or "",
                "claim_date": _meta_str(meta, "claim_date", "date"),
                "original_claim_url": _meta_str(meta, "original_claim_url", "url"),
                "reporting_source": _meta_str(meta, "reporting_source", "source"),
                "annotator": claim.get("annotator") or "",
                "is_gold": bool(claim.get("is_gold", False)),
                "origin": claim.get("origin") or "manual",
                "meta": meta,
            }


def write_claims_jsonl(
    records: Iterable[Record],
    out: IO[str],
    *,
    context: ContextKind = "sentence",
    window: int = DEFAULT_WINDOW,
    label_set: LabelSet = "averitec",
    label_map: Mapping[str, str] | None = None,
    keep: ClaimFilter | None = None,
    validate: Callable[[dict[str, Any]], None] | None = None,
) -> int:
    """Write one claim-level JSON line per claim to `out`; return the number of lines.

    Streams: one document record is held at a time. `validate` (e.g. a JSON Schema check)
    is called on each line's object before it is written. Raises ExportRecordError for a
    record whose spans do not match its text (lines before it are already written) and
    ValueError for bad options (see iter_claim_records).
    """
    count = 0
    for line in iter_claim_records(records, context=context, window=window,
                                   label_set=label_set, label_map=label_map, keep=keep):
        if validate is not None:
            validate(line)
        out.write(dumps(line))
        out.write("\n")
        count += 1
    return count
