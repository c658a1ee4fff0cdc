"""Gather export records from the database in batches and hand them to the pure writers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from exports import ExportRecordError, write_jsonl
from exports.jsonl import iter_jsonl_lines

from ..db import db
from ..models import Assignment, Claim, Document, Project, Review
from ..validation import field_errors
from .claims import claim_to_dict
from .errors import InvalidInput

BATCH = 500
# Which claims an export carries: the adjudicated gold, the annotators' own, or both
# (each claim says which it is with `annotator` and `is_gold`).
CLAIM_SETS = ("all", "gold", "annotators")


def validate_record(record: dict[str, Any]) -> None:
    """Raise ExportRecordError unless the record matches schemas/export-record.schema.json."""
    errors = field_errors("export-record.schema.json", record)
    if errors:
        raise ExportRecordError(f"document {record.get('id')!r}: {errors}")


def _batches(project: Project) -> Iterator[list[Document]]:
    last_id = 0
    while True:
        # Keyset pagination: constant memory and no long-held cursor, on both databases.
        batch = list(
            db.session.execute(
                select(Document)
                .where(Document.project_id == project.id, Document.id > last_id)
                .order_by(Document.id)
                .limit(BATCH)
            ).scalars()
        )
        if not batch:
            return
        last_id = batch[-1].id
        # The session's identity map holds objects weakly, so finished batches are freed.
        yield batch


def iter_records(project: Project, claim_set: str = "all") -> Iterator[dict[str, Any]]:
    """One export record per document with its live claims (`claim_set`: see CLAIM_SETS).

    Every document has its line, with or without gold; `review_status` says whether its
    gold is settled ("done"), being decided ("open") or not started ("none").
    """
    if claim_set not in CLAIM_SETS:
        raise InvalidInput("unknown claim set", {"claims": f"one of {', '.join(CLAIM_SETS)}"})
    name, scheme_version = project.name, project.scheme_version
    for documents in _batches(project):
        ids = [d.id for d in documents]
        claims: dict[int, list[Claim]] = defaultdict(list)
        wanted = select(Claim).where(Claim.document_id.in_(ids), Claim.deleted_at.is_(None))
        if claim_set != "all":
            wanted = wanted.where(Claim.is_gold.is_(claim_set == "gold"))
        reviews = dict(db.session.execute(
            select(Review.document_id, Review.status).where(Review.document_id.in_(ids))
        ).all())
        for claim in db.session.execute(
            wanted
            .options(selectinload(Claim.evidence), selectinload(Claim.actor),
                     selectinload(Claim.annotator), selectinload(Claim.document))
            .order_by(Claim.document_id, Claim.start, Claim.end, Claim.id)
        ).scalars():
            claims[claim.document_id].append(claim)
        statuses: dict[int, list[dict[str, str]]] = defaultdict(list)
        for assignment in db.session.execute(
            select(Assignment)
            .where(Assignment.document_id.in_(ids))
            .options(selectinload(Assignment.user))
            .order_by(Assignment.id)
        ).scalars():
            statuses[assignment.document_id].append(
                {"annotator": assignment.user.username, "status": assignment.status}
            )
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
                "claims": [claim_to_dict(c) for c in claims.get(document.id, [])],
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


def stream_jsonl(project: Project, claim_set: str = "all") -> Iterator[str]:
    """The same lines, one at a time, for a streamed download."""
    def validated() -> Iterator[dict[str, Any]]:
        for record in iter_records(project, claim_set):
            validate_record(record)
            yield record
    return iter_jsonl_lines(validated())
