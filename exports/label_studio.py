"""Label Studio JSON tasks for named-entity-style span labeling: export and import.

A Label Studio JSON file is one JSON array of tasks (Label Studio docs, "Label Studio JSON
format of annotated tasks", labelstud.io/guide/task_format)::

    [{"data": {"text": "..."},
      "annotations": [{"result": [{"id": "...", "from_name": "label", "to_name": "text",
                                   "type": "labels",
                                   "value": {"start": 0, "end": 4, "text": "Some",
                                             "labels": ["asserts"]}}]}]}]

for a labeling config such as ``<Labels name="label" toName="text">…</Labels>
<Text name="text" value="$text"/>``.

Offsets: for the ``Text`` tag, Label Studio stores ``start``/``end`` as **code points**
(Python ``str`` indices), not JavaScript's UTF-16 units: its editor's test
``web/libs/editor/tests/integration/e2e/ner/emoji.cy.ts`` ("Should calculate offsets by
code points in text") expects start 21 for "test" in "🐱 Warning: This is a test text",
which is the Python index (UTF-16 would give 22); the fix landed in
label-studio-frontend PR #308 (2022; before it, issue #1347 reported UTF-16 offsets). So
``offsets="codepoint"`` is the default. Exports from old versions (before about 1.6) may
hold UTF-16 offsets: the reader's default ``offsets="auto"`` checks each region's
``value.text`` against the text and takes the UTF-16 reading when only that one matches.

Written tasks: ``data`` = ``{"text", "document_id", "title", "meta", "annotators"}``;
one annotation per annotator (in order of first claim; ``annotators`` names them in the
same order, gold claims under "gold" with ``"ground_truth": true``); region ids are
``claim-<id>`` (or ``region-<n>``). Each task is valid against
``schemas/label-studio-task.schema.json``. The array is written task by task: an error
part-way leaves the file unterminated.
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

WriteOffsets = Literal["codepoint", "utf16"]
ReadOffsets = Literal["auto", "codepoint", "utf16"]
GOLD = "gold"


def _task(
    record: Record,
    *,
    span_label: str,
    keep: ClaimFilter | None,
    offsets: WriteOffsets,
    from_name: str,
    to_name: str,
) -> dict[str, Any]:
    text = record["text"]
    offset_map = OffsetMap(text) if offsets == "utf16" else None
    groups: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    for n, claim in enumerate(claims_of(record, keep)):
        is_gold = bool(claim.get("is_gold", False))
        key = (GOLD if is_gold else str(claim.get("annotator") or ""), is_gold)
        start, end = claim["start"], claim["end"]
        if offset_map is not None:
            start, end = offset_map.to_utf16(start), offset_map.to_utf16(end)
        claim_id = claim.get("id")
        groups.setdefault(key, []).append({
            "id": f"claim-{claim_id}" if claim_id is not None else f"region-{n}",
            "from_name": from_name,
            "to_name": to_name,
            "type": "labels",
            "value": {"start": start, "end": end, "text": claim["text"],
                      "labels": [label_for(claim, span_label)]},
        })
    return {
        "data": {
            "text": text,
            "document_id": document_id(record),
            "title": record.get("title") or "",
            "meta": record.get("meta") or {},
            "annotators": [name for name, _ in groups],
        },
        "annotations": [{"result": result, "ground_truth": is_gold}
                        for (_, is_gold), result in groups.items()],
    }


def iter_label_studio_tasks(
    records: Iterable[Record],
    *,
    span_label: str = STANCE,
    keep: ClaimFilter | None = None,
    offsets: WriteOffsets = "codepoint",
    from_name: str = "label",
    to_name: str = "text",
) -> Iterator[dict[str, Any]]:
    """Yield one Label Studio task (a dict) per document record, in order.

    Raises ExportRecordError for a record whose spans do not match its text, ValueError
    for an unknown `offsets`.
    """
    if offsets not in ("codepoint", "utf16"):
        raise ValueError(f"offsets must be 'codepoint' or 'utf16', not {offsets!r}")
    for record in checked(records):
        yield _task(record, span_label=span_label, keep=keep, offsets=offsets,
                    from_name=from_name, to_name=to_name)


def write_label_studio_json(
    records: Iterable[Record],
    out: IO[str],
    *,
    span_label: str = STANCE,
    keep: ClaimFilter | None = None,
    offsets: WriteOffsets = "codepoint",
    from_name: str = "label",
    to_name: str = "text",
) -> int:
    """Write the documents to `out` as one JSON array of Label Studio tasks; return the
    number of tasks.

    Streams: tasks are written one at a time. Raises ExportRecordError for a record whose
    spans do not match its text (the array is then left unterminated), ValueError for an
    unknown `offsets`.
    """
    count = 0
    out.write("[")
    for task in iter_label_studio_tasks(records, span_label=span_label, keep=keep,
                                        offsets=offsets, from_name=from_name, to_name=to_name):
        out.write(",\n" if count else "\n")
        out.write(dumps(task))
        count += 1
    out.write("\n]\n")
    return count


# ---------- reading ----------


def _convert(
    offset_map: OffsetMap, start: int, end: int, region_text: Any, offsets: ReadOffsets
) -> tuple[int, int]:
    """Code-point (start, end) for a region; ValueError if it cannot be placed.

    With "auto", a region that quotes a text (its `text`) that neither reading of its
    offsets gives is refused: a claim must quote what the annotator marked. "codepoint" and
    "utf16" trust the offsets as they are."""
    text = offset_map.text
    if offsets == "codepoint":
        return start, end
    if offsets == "utf16":
        return offset_map.from_utf16(start), offset_map.from_utf16(end)
    # auto: code points unless only the UTF-16 reading reproduces the region's text.
    if not isinstance(region_text, str) or text[start:end] == region_text:
        return start, end
    try:
        converted = offset_map.from_utf16(start), offset_map.from_utf16(end)
    except ValueError:
        converted = None
    if converted and text[converted[0]:converted[1]] == region_text:
        return converted
    if not 0 <= start < end <= len(text):
        return start, end  # the caller names what is wrong with these offsets
    raise ValueError(f"its text {region_text!r} is not the text at these offsets, counted "
                     f"in code points ({text[start:end]!r}) or in UTF-16 units")


def _annotator(annotation: dict[str, Any], names: list[Any], index: int) -> str | None:
    if index < len(names) and isinstance(names[index], str):
        return names[index]
    by = annotation.get("completed_by")
    if isinstance(by, dict):
        by = by.get("email") or by.get("id")
    return None if by is None else str(by)


def parse_label_studio_task(
    task: Any,
    where: str,
    *,
    offsets: ReadOffsets = "auto",
    text_key: str = "text",
    include_predictions: bool = False,
) -> dict[str, Any]:
    """One Label Studio task (parsed JSON) as an import record with its claims.

    Reads ``annotations`` (and the older ``completions``; ``predictions`` too when
    `include_predictions`), skipping cancelled annotations and regions that are not
    ``labels`` regions with integer start/end. Also reads Label Studio's "JSON-MIN" rows
    (``{"text": ..., "label": [{"start", "end", "text", "labels"}]}``). Returns ``{"text",
    "id"?, "title"?, "meta"?, "claims": [{"start", "end", "text", "label", "annotator"?,
    "is_gold"}]}`` (code-point offsets, one claim per region label, sorted by start, end).
    Raises ImportFormatError naming `where` for a task without a text or with a region
    outside the text, empty, or splitting a character.
    """
    if offsets not in ("auto", "codepoint", "utf16"):
        raise ValueError(f"offsets must be 'auto', 'codepoint' or 'utf16', not {offsets!r}")
    if not isinstance(task, dict):
        raise ImportFormatError(where, "a task must be a JSON object")
    data = task.get("data") if isinstance(task.get("data"), dict) else task
    text = data.get(text_key)
    if not isinstance(text, str) or not text:
        raise ImportFormatError(where, f"data.{text_key} must be a non-empty string")
    offset_map = None
    names = data.get("annotators") if isinstance(data.get("annotators"), list) else []
    groups: list[tuple[dict[str, Any], list[Any], str | None, bool]] = []
    if "data" in task:
        keys = ["annotations", "completions"] + (["predictions"] if include_predictions else [])
        index = 0
        for key in keys:
            for annotation in task.get(key) or []:
                if not isinstance(annotation, dict) or annotation.get("was_cancelled"):
                    continue
                is_prediction = key == "predictions"
                annotator = None if is_prediction else _annotator(annotation, names, index)
                if not is_prediction:
                    index += 1
                groups.append((annotation, annotation.get("result") or [], annotator,
                               bool(annotation.get("ground_truth", False))))
    else:  # JSON-MIN: regions as a list under any key, e.g. "label"
        regions = [r for value in task.values() if isinstance(value, list)
                   for r in value if isinstance(r, dict) and "start" in r and "end" in r]
        annotator = task.get("annotator")
        groups.append(({}, [{"type": "labels", "value": r} for r in regions],
                       str(annotator) if annotator is not None else None, False))
    claims = []
    for _, result, annotator, is_gold in groups:
        for region in result:
            if not isinstance(region, dict) or not str(region.get("type", "labels")).endswith(
                    "labels"):
                continue
            value = region.get("value") or {}
            start, end = value.get("start"), value.get("end")
            if isinstance(start, float) or isinstance(end, float):
                # An offset gone wrong, not an XPath region: skipped, its span would be lost.
                raise ImportFormatError(where, f"region offsets must be whole numbers: "
                                        f"[{start}, {end}]")
            if not (type(start) is int and type(end) is int):
                continue  # e.g. HyperText regions (XPath start/end) or choices
            try:
                if offset_map is None:
                    offset_map = OffsetMap(text)
                start, end = _convert(offset_map, start, end, value.get("text"), offsets)
            except ValueError as exc:
                raise ImportFormatError(where, f"region [{start}, {end}): {exc}") from None
            if not 0 <= start < end <= len(text):
                raise ImportFormatError(where, f"region [{start}, {end}) is empty or outside "
                                        f"the text (length {len(text)})")
            labels = value.get("labels")
            if not isinstance(labels, list):  # e.g. "hypertextlabels": [...]
                labels = next((v for k, v in value.items()
                               if k.endswith("labels") and isinstance(v, list)), [])
            for label in labels or [""]:
                claim: dict[str, Any] = {"start": start, "end": end, "text": text[start:end],
                                         "label": str(label), "is_gold": is_gold}
                if annotator is not None:
                    claim["annotator"] = annotator
                claims.append(claim)
    claims.sort(key=lambda c: (c["start"], c["end"], c["label"]))
    record: dict[str, Any] = {"text": text}
    external = data.get("document_id", task.get("id"))
    if isinstance(external, str | int) and not isinstance(external, bool) and external != "":
        record["id"] = str(external)
    if isinstance(data.get("title"), str) and data["title"]:
        record["title"] = data["title"]
    if isinstance(data.get("meta"), dict) and data["meta"]:
        record["meta"] = data["meta"]
    record["claims"] = claims
    return record


def read_label_studio_json(
    source: IO[str] | IO[bytes] | str | bytes | list[Any],
    *,
    offsets: ReadOffsets = "auto",
    text_key: str = "text",
    include_predictions: bool = False,
) -> Iterator[dict[str, Any]]:
    """Read a Label Studio JSON export (an array of tasks, or one task object).

    `source` is a file object, the JSON text, or the already parsed list. The JSON is
    parsed whole (it is one array), then records are yielded one task at a time, as
    parse_label_studio_task returns them. Raises ImportFormatError for invalid JSON, a
    top level that is not an array of tasks, or an invalid task (named by its index).
    """
    if isinstance(source, list):
        tasks: Any = source
    else:
        raw = source if isinstance(source, str | bytes) else source.read()
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise ImportFormatError("file", f"not UTF-8: {exc.reason}") from None
        try:
            tasks = strict_loads(raw.removeprefix("\ufeff"))
        except json.JSONDecodeError as exc:
            raise ImportFormatError("file", f"invalid JSON: {exc.msg} at line {exc.lineno}"
                                    ) from None
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise ImportFormatError("file", "expected a JSON array of tasks")
    for index, task in enumerate(tasks):
        yield parse_label_studio_task(task, f"task {index}", offsets=offsets,
                                      text_key=text_key,
                                      include_predictions=include_predictions)
