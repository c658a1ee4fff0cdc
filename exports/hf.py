"""Hugging Face ``datasets`` JSONL: one claim per line, flat columns, one file per split.

Load the files with::

    datasets.load_dataset("json", data_files={"train": "train.jsonl",
                                              "validation": "validation.jsonl",
                                              "test": "test.jsonl"},
                          features=datasets.Features.from_dict(exports.hf.FEATURES))

(``features`` is optional; it pins the column types even for a split whose rows all have
empty evidence lists, which ``datasets`` would otherwise type as lists of null.)

Every row has every column, always with the same type (valid against
``schemas/hf-claim-row.schema.json``); a missing value is never null:

* strings: "" when absent (``actor``, ``actor_mention``, ``verdict``, ``label``,
  ``fever_label``, ``note``, ``annotator``, ...);
* integers: -1 when absent (``claim_id``, ``actor_mention_start``/``_end``, ``label_id``,
  and per evidence item ``evidence_start``/``evidence_end``/``evidence_document_id``);
* lists: parallel lists with one entry per evidence item (``evidence_type``,
  ``evidence_relation``, ``evidence_description``, ``evidence_text`` ("" for evidence
  without a span), ``evidence_start``, ``evidence_end``, ``evidence_document_id``,
  ``evidence_source_url``), empty when the claim has no evidence. ``evidence_document_id``
  is -1 for a span in the claim's own document (or no span) and otherwise the other
  article's ``document_id`` in the native export (as in ``exports.claims``' evidence): its
  start/end index that article's text, not this row's;
* ``meta``: the document's meta object as a JSON string (its keys differ between
  documents, which a table cannot hold).

``label`` is the AVeriTeC label and ``fever_label`` the FEVER one (mapping in
``exports.claims``); ``label_id`` is the index of ``label`` in ``LABEL_NAMES``
(-1 for no or unknown verdict). Context columns follow ``exports.claims``.

Documents are assigned to splits by ``exports.splits.Splitter`` (by document or by group,
deterministic for a seed, streaming, approximate sizes); all claims of a document are in
its split. The splitter's "dev" is written as ``validation``, the name ``datasets`` uses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from ._common import ClaimFilter, Record, dumps
from .claims import DEFAULT_WINDOW, FEVER_LABELS, ContextKind, iter_claim_records
from .splits import Splitter

LABEL_NAMES = (
    "Supported",
    "Refuted",
    "Not Enough Evidence",
    "Conflicting Evidence/Cherrypicking",
)
HF_SPLITS = ("train", "validation", "test")
# Splitter names → datasets' split names.
SPLIT_ALIASES = {"dev": "validation"}

_STRING = {"dtype": "string", "_type": "Value"}
_INT = {"dtype": "int64", "_type": "Value"}
_BOOL = {"dtype": "bool", "_type": "Value"}


def _list(feature: dict[str, str]) -> dict[str, Any]:
    # "Sequence" (not datasets 4's "List") so that older datasets versions read it too.
    return {"feature": dict(feature), "_type": "Sequence"}


_COLUMNS: dict[str, dict[str, Any]] = {
    "id": _STRING, "claim_id": _INT, "document_id": _STRING, "title": _STRING,
    "claim": _STRING, "claim_start": _INT, "claim_end": _INT,
    "context": _STRING, "context_start": _INT, "context_end": _INT,
    "claim_context_start": _INT, "claim_context_end": _INT,
    "actor": _STRING, "actor_mention": _STRING,
    "actor_mention_start": _INT, "actor_mention_end": _INT,
    "stance": _STRING, "verdict": _STRING, "label": _STRING, "label_id": _INT,
    "fever_label": _STRING,
    "evidence_type": _list(_STRING), "evidence_relation": _list(_STRING),
    "evidence_description": _list(_STRING), "evidence_text": _list(_STRING),
    "evidence_start": _list(_INT), "evidence_end": _list(_INT),
    "evidence_document_id": _list(_INT), "evidence_source_url": _list(_STRING),
    "annotator": _STRING, "is_gold": _BOOL, "origin": _STRING, "note": _STRING,
    "meta": _STRING,
}
# datasets.Features.to_dict() form: datasets.Features.from_dict(FEATURES).
FEATURES: dict[str, dict[str, Any]] = {name: dict(spec) for name, spec in _COLUMNS.items()}
COLUMNS = tuple(_COLUMNS)


def _flatten(line: dict[str, Any]) -> dict[str, Any]:
    mention = line["actor_mention"]
    evidence = line["evidence"]
    verdict = line["verdict"]
    label = line["label"] or ""
    return {
        "id": line["id"],
        "claim_id": line["claim_id"] if line["claim_id"] is not None else -1,
        "document_id": line["document_id"],
        "title": line["title"],
        "claim": line["claim"],
        "claim_start": line["claim_start"],
        "claim_end": line["claim_end"],
        "context": line["context"],
        "context_start": line["context_start"],
        "context_end": line["context_end"],
        "claim_context_start": line["claim_context_start"],
        "claim_context_end": line["claim_context_end"],
        "actor": line["actor"] or "",
        "actor_mention": mention["text"] if mention else "",
        "actor_mention_start": mention["start"] if mention else -1,
        "actor_mention_end": mention["end"] if mention else -1,
        "stance": line["stance"],
        "verdict": verdict or "",
        "label": label,
        "label_id": LABEL_NAMES.index(label) if label in LABEL_NAMES else -1,
        "fever_label": FEVER_LABELS.get(verdict, "") if verdict else "",
        "evidence_type": [e["type"] for e in evidence],
        "evidence_relation": [e["relation"] for e in evidence],
        "evidence_description": [e["description"] for e in evidence],
        "evidence_text": [e["text"] or "" for e in evidence],
        "evidence_start": [e["start"] if e["start"] is not None else -1 for e in evidence],
        "evidence_end": [e["end"] if e["end"] is not None else -1 for e in evidence],
        "evidence_document_id": [e["document_id"] if e.get("document_id") is not None else -1
                                 for e in evidence],
        "evidence_source_url": [e["source_url"] or "" for e in evidence],
        "annotator": line["annotator"],
        "is_gold": line["is_gold"],
        "origin": line.get("origin") or "manual",
        "note": line["justification"],
        "meta": dumps(line["meta"]),
    }


def iter_hf_rows(
    records: Iterable[Record],
    *,
    context: ContextKind = "sentence",
    window: int = DEFAULT_WINDOW,
    keep: ClaimFilter | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield one flat row per claim of each document record (no split assignment).

    Raises ExportRecordError for a record whose spans do not match its text.
    """
    for line in iter_claim_records(records, context=context, window=window,
                                   label_set="averitec", keep=keep):
        yield _flatten(line)


def write_hf_splits(
    records: Iterable[Record],
    outs: Mapping[str, IO[str]],
    *,
    splitter: Callable[[Record], str] | None = None,
    context: ContextKind = "sentence",
    window: int = DEFAULT_WINDOW,
    keep: ClaimFilter | None = None,
) -> dict[str, int]:
    """Write each document's claim rows to the file of its split; return rows per split.

    `outs` maps split names ("train", "validation", "test") to text files opened for
    writing; `splitter(record)` names a document's split (default: ``Splitter()``,
    0.8/0.1/0.1 by document id, seed 0), and "dev" goes to ``outs["validation"]`` unless
    `outs` has a "dev" entry. Streams one document at a time. Raises KeyError for a split
    with no file in `outs`, and ExportRecordError for a record whose spans do not match
    its text (rows before it are already written).
    """
    split = splitter if splitter is not None else Splitter()
    counts = dict.fromkeys(outs, 0)
    for record in records:
        named = split(record)
        name = named if named in outs else SPLIT_ALIASES.get(named, named)
        if name not in outs:
            raise KeyError(f"no output file for split {named!r}")
        out = outs[name]
        for row in iter_hf_rows([record], context=context, window=window, keep=keep):
            out.write(dumps(row))
            out.write("\n")
            counts[name] += 1
    return counts


def write_hf_dataset_dir(
    records: Iterable[Record],
    directory: str | Path,
    *,
    splitter: Callable[[Record], str] | None = None,
    context: ContextKind = "sentence",
    window: int = DEFAULT_WINDOW,
    keep: ClaimFilter | None = None,
) -> dict[str, int]:
    """Write train.jsonl, validation.jsonl and test.jsonl (UTF-8) plus features.json (the
    FEATURES dict) into `directory`, creating it; return the rows per split.

    All three split files are created, possibly empty. Raises OSError if the directory
    cannot be written and what write_hf_splits raises.
    """
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        handles = {name: stack.enter_context(open(path / f"{name}.jsonl", "w",
                                                  encoding="utf-8"))
                   for name in HF_SPLITS}
        counts = write_hf_splits(records, handles, splitter=splitter, context=context,
                                 window=window, keep=keep)
    with open(path / "features.json", "w", encoding="utf-8") as fh:
        json.dump(FEATURES, fh, indent=1)
        fh.write("\n")
    return counts
