"""Documents: import (all-or-nothing per file), listing with each user's progress, status."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, BinaryIO

from sqlalchemy import func, select

from exports import strict_loads

from .. import liveness
from ..bulk import insert_rows
from ..db import commit_keeping_state, db
from ..models import Assignment, AssignmentStatus, Claim, Document, Project, User, utcnow
from ..validation import MAX_NESTING, field_errors, nested_deeper_than, unstorable_text
from . import access
from .errors import InvalidInput

TITLE_LENGTH = 500


class DocumentImportError(InvalidInput):
    """A file that cannot be imported; `errors` lists (line number, message), nothing was stored."""

    def __init__(self, filename: str, errors: list[tuple[int, str]]) -> None:
        shown = "; ".join(f"line {line}: {msg}" for line, msg in errors[:20])
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        super().__init__(
            f"{filename}: nothing imported: {shown}{more}",
            {f"line {line}": msg for line, msg in errors[:100]},
        )
        self.filename = filename
        self.errors = errors


@dataclass
class ParsedDocument:
    line: int
    external_id: str
    title: str
    text: str
    meta: dict[str, Any]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _text_problem(text: str) -> str | None:
    # PostgreSQL cannot store NUL, and no database can store an unpaired surrogate as UTF-8.
    if "\x00" in text:
        return "text contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "text contains an unpaired surrogate"
    return None


def record_problem(record: dict[str, Any]) -> str | None:
    """What no database can store in an import record (its text, or any other field: id,
    title, meta), naming the field; None when it can be stored. Nesting deeper than
    MAX_NESTING is refused too."""
    problem = _text_problem(record["text"])
    if problem:
        return problem
    for key, value in record.items():
        # Checked first: the walk below, and writing meta to its JSON column, recurse.
        if nested_deeper_than(value):
            return f"{key} is nested more than {MAX_NESTING} levels deep"
    field = unstorable_text({k: v for k, v in record.items() if k != "text"})  # text: above
    return f"{field} contains a NUL character or an unpaired surrogate" if field else None


def _default_title(text: str) -> str:
    return text.strip().split("\n", 1)[0][:80]


def parse_txt(filename: str, raw: bytes) -> list[ParsedDocument]:
    """A .txt file is one document: the first line is its title, the rest its text.

    Line ends are normalised to "\\n" and blank lines between title and text are dropped.
    """
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DocumentImportError(filename, [(line, f"not UTF-8 (byte {exc.start})")]) from None
    content = content.replace("\r\n", "\n").replace("\r", "\n")
    title, _, text = content.partition("\n")
    text = text.lstrip("\n")
    if not text.strip():
        raise DocumentImportError(filename, [(2, "no text after the title line")])
    problem = _text_problem(content)
    if problem:
        # The file was UTF-8, so the problem is a NUL: name its line.
        line = content[: content.find("\x00")].count("\n") + 1 if "\x00" in content else 1
        raise DocumentImportError(filename, [(line, problem)])
    stem = PurePath(filename).stem
    return [ParsedDocument(1, stem, title.strip()[:TITLE_LENGTH], text, {"source_file": filename})]


MAX_REPORTED_ERRORS = 1000
BATCH = 2000


def parse_jsonl(
    filename: str, lines: Iterable[bytes], errors: list[tuple[int, str]]
) -> Iterator[ParsedDocument]:
    """Yield each good line's document; append (line number, message) to `errors` for bad ones.

    Each non-blank line is {"text", "title"?, "id"?, "meta"?}. Lines are read one at a time,
    so memory does not grow with the file; every line is checked even after an error, so
    one import reports every bad line (the first MAX_REPORTED_ERRORS of them).
    """
    seen: dict[str, int] = {}
    stem = PurePath(filename).stem

    def bad(number: int, message: str) -> None:
        if len(errors) < MAX_REPORTED_ERRORS:
            errors.append((number, message))

    for number, line_bytes in enumerate(lines, start=1):
        if number == 1 and line_bytes.startswith(b"\xef\xbb\xbf"):
            line_bytes = line_bytes[3:]
        line_bytes = line_bytes.rstrip(b"\r\n")
        if not line_bytes.strip():
            continue
        try:
            record = strict_loads(line_bytes.decode("utf-8"))
        except UnicodeDecodeError as exc:
            bad(number, f"not UTF-8 (byte {exc.start} of the line)")
            continue
        except json.JSONDecodeError as exc:
            bad(number, f"invalid JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(record, dict):
            bad(number, "expected a JSON object")
            continue
        problems = field_errors("import-record.schema.json", record)
        if problems:
            bad(number, "; ".join(f"{k}: {v}" for k, v in problems.items()))
            continue
        text = record["text"]
        problem = record_problem(record)
        if problem:
            bad(number, problem)
            continue
        external_id = str(record["id"]) if "id" in record else f"{stem}:{number}"
        if external_id in seen:
            bad(number, f"duplicate id '{external_id}' (first on line {seen[external_id]})")
            continue
        seen[external_id] = number
        title = record.get("title") or _default_title(text)
        yield ParsedDocument(number, external_id, title, text, record.get("meta") or {})


def import_file(project: Project, filename: str, source: bytes | BinaryIO, *,
                kind: str | None = None) -> int:
    """Import one file into the project, all or nothing; return how many documents were stored.

    `kind` ("txt" or "jsonl") overrides the file name's extension. `source` is the file's
    bytes or a binary file object; a JSONL file is read line by line
    and stored in batches inside one transaction, rolled back if any line is bad, so memory
    does not grow with the file and nothing of a bad file is stored. A document whose id is
    already in the project is an error on its line (importing a file twice never duplicates
    documents). Raises DocumentImportError (every bad line by number) or InvalidInput.
    """
    suffix = f".{kind}" if kind in ("txt", "jsonl") else PurePath(filename).suffix.lower()
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    errors: list[tuple[int, str]] = []
    if suffix == ".txt":
        parsed: Iterable[ParsedDocument] = parse_txt(filename, stream.read())
    elif suffix in (".jsonl", ".ndjson"):
        parsed = parse_jsonl(filename, stream, errors)
    else:
        raise InvalidInput(
            f"{filename}: unsupported file type", {"file": "expected a .txt or .jsonl file"}
        )
    position = db.session.execute(
        select(func.coalesce(func.max(Document.position), 0)).where(
            Document.project_id == project.id
        )
    ).scalar_one()
    stored = 0
    try:
        for batch in _chunks(parsed, BATCH):
            liveness.progress()
            ids = [doc.external_id for doc in batch]
            existing = set(db.session.execute(
                select(Document.external_id).where(
                    Document.project_id == project.id, Document.external_id.in_(ids))
            ).scalars())
            for doc in batch:
                if doc.external_id in existing and len(errors) < MAX_REPORTED_ERRORS:
                    errors.append((doc.line, f"id '{doc.external_id}' is already in the project"))
            if errors:
                continue  # keep checking the rest, store nothing more
            now = utcnow()
            db.session.flush()
            insert_rows(db.session.connection(), Document.__table__, [
                {"project_id": project.id, "external_id": doc.external_id,
                 "title": doc.title[:TITLE_LENGTH], "text": doc.text,
                 "text_sha256": sha256(doc.text), "meta": doc.meta,
                 "position": position + stored + offset, "created_at": now}
                for offset, doc in enumerate(batch, start=1)
            ])
            stored += len(batch)
        if not errors and not stored:
            errors.append((1, "the file holds no documents"))
        if errors:
            db.session.rollback()
            raise DocumentImportError(filename, sorted(errors))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return stored


def _chunks(items: Iterable[ParsedDocument], size: int) -> Iterator[list[ParsedDocument]]:
    batch: list[ParsedDocument] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def document_to_dict(document: Document, *, with_text: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": document.id,
        "project_id": document.project_id,
        "external_id": document.external_id,
        "title": document.title,
        "text_sha256": document.text_sha256,
        "length": len(document.text) if with_text else None,
        "meta": document.meta or {},
    }
    if with_text:
        data["text"] = document.text
    return data


def documents_with_progress(project: Project, user: User) -> list[dict[str, Any]]:
    """The documents this user may open, in order, with their status and own claim count.

    Annotators get the documents assigned to them; managers, adjudicators and admins get
    every document (status None where they have no assignment).
    """
    status = dict(
        db.session.execute(
            select(Assignment.document_id, Assignment.status)
            .join(Document)
            .where(Document.project_id == project.id, Assignment.user_id == user.id)
        ).all()
    )
    claims = dict(
        db.session.execute(
            select(Claim.document_id, func.count(Claim.id))
            .join(Document)
            .where(
                Document.project_id == project.id,
                Claim.annotator_id == user.id,
                Claim.deleted_at.is_(None),
            )
            .group_by(Claim.document_id)
        ).all()
    )
    query = (
        select(Document.id, Document.external_id, Document.title, Document.text_sha256)
        .where(Document.project_id == project.id)
        .order_by(Document.position, Document.id)
    )
    if not access.sees_all_documents(user, project):
        query = query.join(Assignment, Assignment.document_id == Document.id).where(
            Assignment.user_id == user.id
        )
    return [
        {
            "id": row.id,
            "external_id": row.external_id,
            "title": row.title,
            "text_sha256": row.text_sha256,
            "status": status.get(row.id),
            "claims": claims.get(row.id, 0),
        }
        for row in db.session.execute(query).all()
    ]


def status_of(document: Document, user: User) -> str | None:
    """The user's status on the document, or None when it is not assigned to them."""
    assignment = access.assignment_of(user, document)
    return assignment.status if assignment else None


def start(document: Document, user: User) -> str | None:
    """Note that the user opened the document; returns their status (None: not assigned)."""
    assignment = access.assignment_of(user, document)
    if assignment is None:
        return None
    if assignment.status == AssignmentStatus.TODO.value:
        assignment.status = AssignmentStatus.IN_PROGRESS.value
        assignment.started_at = utcnow()
        db.session.commit()
    return assignment.status


def set_status(document: Document, user: User, status: str) -> str:
    """Mark the user's assignment done (or reopen it)."""
    if status not in (AssignmentStatus.DONE.value, AssignmentStatus.IN_PROGRESS.value):
        raise InvalidInput("unknown status", {"status": "must be 'done' or 'in_progress'"})
    assignment = access.assignment_of(user, document)
    if assignment is None:
        raise InvalidInput("not assigned", {"status": "this document is not assigned to you"})
    assignment.status = status
    assignment.started_at = assignment.started_at or utcnow()
    assignment.done_at = utcnow() if status == AssignmentStatus.DONE.value else None
    assignment.skip_reason = None
    # The answer then names the next document: kept, the document and user need no reload.
    commit_keeping_state()
    return status


def neighbour(document: Document, user: User, *, forward: bool = True,
              unfinished_only: bool = True) -> Document | None:
    """The next (or previous) document the user may open, in project order.

    With `unfinished_only`, only documents assigned to the user and still open for them;
    forward, the first such one from the top when none is left after this document.
    """
    order = (Document.position, Document.id)
    query = select(Document).where(Document.project_id == document.project_id)
    if forward:
        query = query.where(
            (Document.position > document.position)
            | ((Document.position == document.position) & (Document.id > document.id))
        ).order_by(*order)
    else:
        query = query.where(
            (Document.position < document.position)
            | ((Document.position == document.position) & (Document.id < document.id))
        ).order_by(*(c.desc() for c in order))
    mine = select(Assignment.document_id).where(Assignment.user_id == user.id)
    if unfinished_only:
        mine = mine.where(Assignment.status.in_(
            [AssignmentStatus.TODO.value, AssignmentStatus.IN_PROGRESS.value]))
        query = query.where(Document.id.in_(mine))
    elif not access.sees_all_documents(user, document.project):
        query = query.where(Document.id.in_(mine))
    found = db.session.execute(query.limit(1)).scalar_one_or_none()
    if found is None and forward and unfinished_only:
        # "Your next unfinished document" also means one earlier in the list (skipped
        # over, or opened out of order): past the last, the queue goes round once.
        found = db.session.execute(
            select(Document).where(Document.project_id == document.project_id,
                                   Document.id != document.id, Document.id.in_(mine))
            .order_by(*order).limit(1)).scalar_one_or_none()
    return found


def first_document(project: Project) -> Document | None:
    """The project's first document in order."""
    return db.session.execute(
        select(Document).where(Document.project_id == project.id)
        .order_by(Document.position, Document.id).limit(1)
    ).scalar_one_or_none()
