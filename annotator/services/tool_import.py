"""Import from other annotation tools: doccano JSONL and Label Studio JSON files become
documents and, for a named annotator, their spans become that annotator's claims.

Formats (``IMPORT_FORMATS``): ``txt`` and ``jsonl`` are the app's own article imports
(``documents.import_file``, unchanged); ``doccano`` is doccano's sequence-labeling JSONL
(``exports.doccano``: UTF-16 offsets, as doccano's browser counts them); ``label-studio`` a
Label Studio JSON export, an array of tasks (``exports.label_studio``: code-point offsets;
UTF-16 offsets of old Label Studio versions are recognised by the region's text). ``auto``
decides by the file name: ``.txt``; ``.json`` is Label Studio; ``.jsonl``/``.ndjson`` is
doccano when its first record has a ``label``, ``labels`` or ``entities`` list, else the
app's JSONL.

Each record becomes a document: its text exactly as given, its id (doccano's
``document_id`` or ``id``, Label Studio's ``data.document_id`` or the task's ``id``; else
``<file stem>:<record number>``), title and meta (doccano: every key that is not the text or
the spans; Label Studio: ``data.meta``).

Spans, with an annotator (who must be a member of the project): every span of a record
becomes a claim by that user whose **stance is the span's label**, which must be one of the
project's stances (any other label is an error naming the record and the label); the claim
has no actor, verdict, note or evidence. Identical spans (same start, end and label) of one
record, e.g. from several Label Studio annotations, become one claim. Each imported document
is assigned to the annotator and marked done, since their annotation of it is finished
(it then counts in progress and agreement). Without an annotator, spans are not imported
(`ImportResult.spans_skipped` counts them).

All or nothing per file: every bad record is reported by its number (``line N`` of a
doccano file, counting every line from 1; ``task N`` of a Label Studio array, counting tasks
from 1) and nothing of the file is stored. A document id already in the project, or twice
in the file, is an error on its record.
"""

from __future__ import annotations

import gc
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii
from pathlib import PurePath
from typing import Any, BinaryIO

from sqlalchemy import func, select

from exports import ImportFormatError, read_doccano_jsonl, read_label_studio_json, strict_loads

from .. import labelscheme, liveness
from ..bulk import insert_rows
from ..db import db
from ..models import (
    Assignment,
    AssignmentStatus,
    AuditEvent,
    Claim,
    Document,
    Project,
    User,
    utcnow,
)
from . import access, claims, documents
from .errors import InvalidInput

IMPORT_FORMATS = ("auto", "jsonl", "txt", "doccano", "label-studio")
ANNOTATED_FORMATS = ("doccano", "label-studio")
ID_LENGTH = 200
BATCH = 500
MAX_REPORTED_ERRORS = 1000


@dataclass
class ImportResult:
    """What one file brought: its format, documents and claims stored, spans left out."""

    format: str
    documents: int
    claims: int = 0
    spans_skipped: int = 0


class ToolImportError(InvalidInput):
    """A file that cannot be imported; `errors` lists (where, message), nothing was stored."""

    def __init__(self, filename: str, errors: list[tuple[str, str]]) -> None:
        shown = "; ".join(f"{where}: {message}" for where, message in errors[:20])
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        super().__init__(f"{filename}: nothing imported: {shown}{more}",
                         {where: message for where, message in errors[:100]})
        self.filename = filename
        self.errors = errors


@dataclass
class _Parsed:
    number: int  # the record's position, for sorting the errors
    where: str
    external_id: str
    title: str
    text: str
    meta: dict[str, Any]
    spans: list[tuple[int, int, str]] = field(default_factory=list)


Item = tuple[int, str, dict[str, Any] | None, str | None]  # number, where, record, error


def _first_record(stream: BinaryIO) -> Any:
    for line in stream:
        if line.strip():
            try:
                return strict_loads(line.decode("utf-8-sig"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                return None
    return None


def detect_format(filename: str, stream: BinaryIO) -> str:
    """The format of a file for ``auto`` (see the module docstring); `stream` is read from
    its start and left at its start. InvalidInput for an unknown extension."""
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".txt":
        return "txt"
    if suffix == ".json":
        return "label-studio"
    if suffix in (".jsonl", ".ndjson"):
        stream.seek(0)
        first = _first_record(stream)
        stream.seek(0)
        if isinstance(first, dict) and any(
                isinstance(first.get(key), list) for key in ("label", "labels", "entities")):
            return "doccano"
        return "jsonl"
    raise InvalidInput(f"{filename}: unsupported file type",
                       {"file": "expected .txt, .jsonl (the app's or doccano's) or .json "
                                "(Label Studio); or give the format"})


def _doccano_items(stream: BinaryIO) -> Iterator[Item]:
    for number, line in enumerate(stream, start=1):
        where = f"line {number}"
        try:
            parsed = list(read_doccano_jsonl([line]))  # one line: reports its own number
        except ImportFormatError as exc:
            yield number, where, None, exc.message
            continue
        if parsed:
            yield number, where, parsed[0], None


def _label_studio_items(stream: BinaryIO) -> Iterator[Item]:
    raw = stream.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield 0, "file", None, f"not UTF-8: {exc.reason}"
        return
    try:
        tasks = strict_loads(text)
    except json.JSONDecodeError as exc:
        yield 0, "file", None, f"invalid JSON: {exc.msg} at line {exc.lineno}"
        return
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        yield 0, "file", None, "expected a JSON array of Label Studio tasks"
        return
    for number, task in enumerate(tasks, start=1):
        where = f"task {number}"
        try:
            record = next(read_label_studio_json([task]))
        except ImportFormatError as exc:
            yield number, where, None, exc.message
            continue
        yield number, where, record, None


def _parsed(number: int, where: str, record: dict[str, Any], stem: str,
            errors: list[tuple[int, str, str]]) -> _Parsed | None:
    text = record["text"]
    # Only what is stored: a span's text is a slice of the checked text and its label must be
    # a stance (_check_labels); the spans were most of what the check walked.
    problem = documents.record_problem({k: v for k, v in record.items() if k != "claims"})
    external_id = str(record.get("id") or f"{stem}:{number}")
    if problem is None and len(external_id) > ID_LENGTH:
        problem = f"id is longer than {ID_LENGTH} characters"
    if problem is not None:
        errors.append((number, where, problem))
        return None
    title = record.get("title") or documents._default_title(text)
    spans = sorted({(c["start"], c["end"], c["label"]) for c in record.get("claims") or []})
    return _Parsed(number, where, external_id, title[: documents.TITLE_LENGTH], text,
                   record.get("meta") or {}, spans)


def _check_labels(item: _Parsed, stances: list[str], errors: list[tuple[int, str, str]]
                  ) -> None:
    unknown = sorted({label for _, _, label in item.spans if label not in stances})
    if unknown:
        first = next(s for s in item.spans if s[2] == unknown[0])
        errors.append((item.number, item.where,
                       f"span label{'s' if len(unknown) > 1 else ''} "
                       f"{', '.join(repr(label) for label in unknown)} "
                       f"(first at [{first[0]}, {first[1]})) "
                       f"{'are' if len(unknown) > 1 else 'is'} not a stance of this project; "
                       f"a label becomes the claim's stance: expected one of "
                       f"{', '.join(stances)}"))


def _store(project: Project, batch: list[_Parsed], annotator: User | None, position: int,
           errors: list[tuple[int, str, str]]) -> int:
    """Store a batch of documents (and their claims); return the claims stored."""
    existing = set(db.session.execute(
        select(Document.external_id).where(
            Document.project_id == project.id,
            Document.external_id.in_([item.external_id for item in batch]))
    ).scalars())
    for item in batch:
        if item.external_id in existing:
            errors.append((item.number, item.where,
                           f"id '{item.external_id}' is already in the project"))
    if errors:
        return 0
    now = utcnow()
    # One executemany without RETURNING: the ORM's flush (and RETURNING, which SQLite
    # answers row by row) cost more than the rest of the import.
    db.session.flush()
    connection = db.session.connection()
    insert_rows(connection, Document.__table__, [
        {"project_id": project.id, "external_id": item.external_id, "title": item.title,
         "text": item.text, "text_sha256": documents.sha256(item.text), "meta": item.meta,
         "position": position + offset, "created_at": now}
        for offset, item in enumerate(batch, start=1)])
    if annotator is None:
        return 0
    ids = dict(db.session.execute(
        select(Document.external_id, Document.id).where(
            Document.project_id == project.id,
            Document.external_id.in_([item.external_id for item in batch]))).all())
    rows: list[dict[str, Any]] = []
    annotator_id, scheme_version = annotator.id, project.scheme_version  # read once, not per span
    for item in batch:
        # validate_claim reads the document's text and id only
        document = _DocumentText(ids[item.external_id], item.text)
        for start, end, label in item.spans:
            data = {"start": start, "end": end, "text": item.text[start:end], "stance": label}
            problems = claims.validate_claim(project, document, data)  # type: ignore[arg-type]
            if problems:
                detail = "; ".join(f"{k} {v}" for k, v in problems.items())
                errors.append((item.number, item.where, f"span [{start}, {end}): {detail}"))
                break
            rows.append({"document_id": document.id, "annotator_id": annotator_id,
                         "start": start, "end": end, "text": data["text"], "stance": label,
                         "verdict": None, "note": "", "scheme_version": scheme_version,
                         "is_gold": False, "version": 1, "created_at": now,
                         "updated_at": now})
    if errors:
        return 0
    _insert_claims(project, annotator, rows, {ids[item.external_id]: item.text
                                              for item in batch})
    insert_rows(connection, Assignment.__table__, [
        {"document_id": document_id, "user_id": annotator_id,
         "status": AssignmentStatus.DONE.value, "assigned_at": now, "started_at": now,
         "done_at": now} for document_id in ids.values()])
    return len(rows)


@dataclass
class _DocumentText:
    id: int
    text: str


def _insert_claims(project: Project, annotator: User, rows: list[dict[str, Any]],
                   texts: dict[int, str]) -> None:
    """Insert checked claim rows on new documents (`texts`: their id → text) and the claims'
    "create" audit events, in a few statements.

    Thousands of claims through ``claims.create_claim`` (an ORM object, a flush and an audit
    event each) took ~3 ms a claim. The audit event's `after` is claim_to_dict of the stored
    row, as create_claim writes it; `before` is left NULL (reads as None, as there).
    """
    if not rows:
        return
    table = Claim.__table__
    insert_rows(db.session.connection(), table, rows)
    stored = db.session.execute(
        select(table.c.id, table.c.document_id, table.c.start, table.c.end, table.c.text,
               table.c.stance)
        .where(table.c.document_id.in_(list(texts)), table.c.is_gold.is_(False))
        .order_by(table.c.id)).all()
    # Every row differs from the first only in these columns (same user, time, no actor,
    # verdict, note or evidence): one claim_to_dict, the rest of it serialised once, and
    # per claim only its own values (a whole json.dumps per claim was a sixth of an import).
    first = db.session.execute(select(table).where(table.c.id == stored[0].id)).one()
    template = claims.claim_to_dict(
        first, related=(annotator.username, None, texts[first.document_id], []))
    rest = json.dumps({key: value for key, value in template.items() if key not in
                       ("id", "document_id", "start", "end", "text", "stance")})
    # json.dumps of a str is this C function (ensure_ascii): the same text, without the
    # encoder's setup for each of two calls per claim.
    dumps = encode_basestring_ascii
    user_id, project_id = annotator.id, project.id
    # Unpacked as tuples: a Row's attribute lookups took more time than the formatting.
    insert_rows(db.session.connection(), AuditEvent.__table__, [
        {"user_id": user_id, "project_id": project_id, "action": "create",
         "entity": "claim", "entity_id": claim_id, "claim_id": claim_id,
         "after": f'{{"id": {claim_id}, "document_id": {document_id}, "start": {start}, '
                  f'"end": {end}, "text": {dumps(text)}, '
                  f'"stance": {dumps(stance)}, {rest[1:]}'}
        for claim_id, document_id, start, end, text, stance in stored], ready={"after"})


def _import_annotated(project: Project, filename: str, items: Iterator[Item],
                      annotator: User | None) -> tuple[int, int, int]:
    stem = PurePath(filename).stem
    stances = labelscheme.values(project.label_scheme, "stances")
    errors: list[tuple[int, str, str]] = []
    seen: dict[str, str] = {}
    position = db.session.execute(
        select(func.coalesce(func.max(Document.position), 0))
        .where(Document.project_id == project.id)).scalar_one()
    stored = made = skipped = 0
    batch: list[_Parsed] = []

    def flush() -> None:
        nonlocal stored, made
        if batch and not errors:
            made += _store(project, batch, annotator, position + stored, errors)
            stored += len(batch)
            liveness.progress()
        batch.clear()

    try:
        for number, where, record, error in items:
            if len(errors) >= MAX_REPORTED_ERRORS:
                break
            if record is None:
                errors.append((number, where, error or "unreadable"))
                continue
            item = _parsed(number, where, record, stem, errors)
            if item is None:
                continue
            if item.external_id in seen:
                errors.append((number, where, f"duplicate id '{item.external_id}' "
                                              f"(first in {seen[item.external_id]})"))
                continue
            seen[item.external_id] = where
            if annotator is None:
                skipped += len(item.spans)
            else:
                _check_labels(item, stances, errors)
            if errors:
                continue  # keep checking the rest, store nothing more
            batch.append(item)
            if len(batch) >= BATCH:
                flush()
        flush()
        if not errors and not stored:
            errors.append((0, "file", "the file holds no documents"))
        if errors:
            db.session.rollback()
            raise ToolImportError(filename, [(where, message) for _, where, message
                                             in sorted(errors, key=lambda e: e[0])])
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return stored, made, skipped


def import_file(project: Project, filename: str, source: bytes | BinaryIO, *,
                fmt: str = "auto", annotator: User | None = None) -> ImportResult:
    """Import one file in `fmt` (see IMPORT_FORMATS) into the project, all or nothing.

    With `annotator`, a doccano or Label Studio file's spans become that user's claims
    (label → stance; see the module docstring). Raises ToolImportError naming every bad
    record, DocumentImportError for the app's own formats, InvalidInput for an unknown
    format, an annotator who is not a member, or an annotator with a format without spans.
    """
    if fmt not in IMPORT_FORMATS:
        raise InvalidInput("unknown import format", {"format": ", ".join(IMPORT_FORMATS)})
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    if not stream.seekable():
        stream = io.BytesIO(stream.read())
    if fmt == "auto":
        fmt = detect_format(filename, stream)
    if annotator is not None:
        if fmt not in ANNOTATED_FORMATS:
            raise InvalidInput(f"{filename}: a {fmt} file has no annotations",
                               {"annotator": "only doccano and Label Studio files carry "
                                             "spans to import as claims"})
        if access.role_in(annotator, project) is None:
            raise InvalidInput(f"{annotator.username} is not a member of {project.name}",
                               {"annotator": "must be a member of the project"})
    if fmt in ("txt", "jsonl"):
        return ImportResult(fmt, documents.import_file(project, filename, stream, kind=fmt))
    items = _doccano_items(stream) if fmt == "doccano" else _label_studio_items(stream)
    with _gc_paused():
        stored, made, skipped = _import_annotated(project, filename, items, annotator)
    return ImportResult(fmt, stored, made, skipped)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection during a bulk import: it allocates a dozen containers
    per span and keeps a batch's records alive, so the collector kept walking them (about
    a quarter of the import's CPU time); reference counting still frees everything."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
