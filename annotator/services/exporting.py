"""Gather export records from the database in batches and hand them to the pure writers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import IO, Any

from sqlalchemy import select

from exports import ExportRecordError, write_jsonl
from exports.jsonl import iter_jsonl_lines

from .. import liveness
from ..db import db, plain_rows
from ..models import Actor, Assignment, Claim, Document, Evidence, Project, Review, User
from ..validation import field_errors, is_valid
from .claims import claim_to_dict
from .errors import InvalidInput

BATCH = 500
# Which claims an export carries: the adjudicated gold, the annotators' own, or both
# (each claim says which it is with `annotator` and `is_gold`).
CLAIM_SETS = ("all", "gold", "annotators")


def validate_record(record: dict[str, Any]) -> None:
    """Raise ExportRecordError unless the record matches schemas/export-record.schema.json."""
    if is_valid("export-record.schema.json", record):
        return
    errors = field_errors("export-record.schema.json", record)
    raise ExportRecordError(f"document {record.get('id')!r}: {errors}")


def _rows(statement: Any) -> Any:
    # Straight to the connection: the ORM's result machinery cost as much as the query.
    return db.session.connection().execute(statement)


def _batches(project: Project) -> Iterator[list[Any]]:
    """The project's documents as plain rows, BATCH at a time, in id order."""
    last_id = 0
    columns = (Document.id, Document.external_id, Document.title, Document.text,
               Document.text_sha256, Document.meta)
    while True:
        # Keyset pagination: constant memory and no long-held cursor, on both databases.
        # The ids first: SQLite picks the (project_id, position) index and sorts what it
        # finds by id, and sorting whole rows (texts) for every batch made the export
        # quadratic (20,000 documents took 25x as long as 2,000).
        ids = _rows(
            select(Document.id)
            .where(Document.project_id == project.id, Document.id > last_id)
            .order_by(Document.id)
            .limit(BATCH)
        ).scalars().all()
        if not ids:
            return
        last_id = ids[-1]
        yield plain_rows(_rows(
            select(*columns).where(Document.id.in_(ids)).order_by(Document.id)))


def iter_records(project: Project, claim_set: str = "all") -> Iterator[dict[str, Any]]:
    """One export record per document with its live claims (`claim_set`: see CLAIM_SETS).

    Every document has its line, with or without gold; `review_status` says whether its
    gold is settled ("done"), being decided ("open") or not started ("none"). Rows are read
    with plain (Core) queries, a batch of documents at a time: building ORM objects for
    every claim was most of the export's time.
    """
    if claim_set not in CLAIM_SETS:
        raise InvalidInput("unknown claim set", {"claims": f"one of {', '.join(CLAIM_SETS)}"})
    name, scheme_version = project.name, project.scheme_version
    claim_table = Claim.__table__
    for documents in _batches(project):
        ids = [d.id for d in documents]
        texts = {d.id: d.text for d in documents}
        wanted = (
            select(claim_table, User.username.label("annotator_name"),
                   Actor.name.label("actor_name"))
            .join(User, User.id == claim_table.c.annotator_id)
            .outerjoin(Actor, Actor.id == claim_table.c.actor_id)
            .where(claim_table.c.document_id.in_(ids), claim_table.c.deleted_at.is_(None))
            .order_by(claim_table.c.document_id, claim_table.c.start, claim_table.c.end,
                      claim_table.c.id)
        )
        if claim_set != "all":
            wanted = wanted.where(claim_table.c.is_gold.is_(claim_set == "gold"))
        claim_rows = plain_rows(_rows(wanted))
        evidence: dict[int, list[Any]] = defaultdict(list)
        claim_ids = [row.id for row in claim_rows]
        for start in range(0, len(claim_ids), 5000):
            for row in plain_rows(_rows(
                select(Evidence.__table__)
                .where(Evidence.claim_id.in_(claim_ids[start : start + 5000]),
                       Evidence.deleted_at.is_(None))
                .order_by(Evidence.claim_id, Evidence.position)
            )):
                evidence[row.claim_id].append(row)
        claims: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in claim_rows:
            claims[row.document_id].append(claim_to_dict(
                row, related=(row.annotator_name, row.actor_name, texts[row.document_id],
                              evidence.get(row.id, []))))
        reviews = dict(_rows(
            select(Review.document_id, Review.status).where(Review.document_id.in_(ids))
        ).all())
        statuses: dict[int, list[dict[str, str]]] = defaultdict(list)
        for document_id, username, status in _rows(
            select(Assignment.document_id, User.username, Assignment.status)
            .join(User, User.id == Assignment.user_id)
            .where(Assignment.document_id.in_(ids))
            .order_by(Assignment.id)
        ).all():
            statuses[document_id].append({"annotator": username, "status": status})
        for document in documents:
            yield {
                "id": document.external_id,
                "document_id": document.id,
                "project": name,
                "title": document.title,
                "text": document.text,
                "text_sha256": document.text_sha256,
                "meta": document.meta or {},
                "scheme_version": scheme_version,
                "annotators": statuses.get(document.id, []),
                "review_status": reviews.get(document.id, "none"),
                "claims": claims.get(document.id, []),
            }


def export_jsonl(project: Project, out: IO[str], claim_set: str = "all") -> int:
    """Write the project's document-level JSONL to `out`; return the number of documents."""
    return write_jsonl(iter_records(project, claim_set), out, validate=validate_record)


def documents_without_gold(project: Project) -> list[str]:
    """External ids of the documents whose gold is not settled (review not done)."""
    settled = select(Review.document_id).where(Review.status == "done")
    return list(db.session.execute(
        select(Document.external_id)
        .where(Document.project_id == project.id, Document.id.not_in(settled))
        .order_by(Document.position, Document.id)
    ).scalars())


STREAM_CHUNK = 1 << 16  # characters per piece of a streamed download


def stream_jsonl(project: Project, claim_set: str = "all") -> Iterator[str]:
    """The same lines, for a streamed download, in pieces of about STREAM_CHUNK characters:
    a piece per line was a write (and a chunk for the client to parse) per document."""
    def validated() -> Iterator[dict[str, Any]]:
        for record in iter_records(project, claim_set):
            validate_record(record)
            yield record
    piece: list[str] = []
    size = 0
    for line in iter_jsonl_lines(validated()):
        piece.append(line)
        size += len(line)
        if size >= STREAM_CHUNK:
            liveness.progress()  # a big project's export outlasts the worker timeout
            yield "".join(piece)
            piece, size = [], 0
    if piece:
        yield "".join(piece)
