"""A document's review status kept true to its units: "done" only while no unit is open.

A unit is open while one of its annotators' claims is neither rejected nor a source of a
live gold claim (adjudication.review), so whether any unit is open is a question about
claims, not about how they align. A change that can open one (a new or restored annotator
claim, a deleted gold claim, an undone rejection) sets a done review back to open, with an
audit event naming the change. Apart from adjudication and claims because both call it and
adjudication imports claims.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from ..db import db
from ..models import AuditEvent, Claim, Document, Review, ReviewStatus, User


def lock(document_id: int) -> str | None:
    """Hold the document's review row until the transaction ends and return its status (None
    without a row).

    Marking a review done takes it before counting open units, and a change that may open
    one takes it before checking: on PostgreSQL the two then run in turn (the row's lock),
    so neither counts without the other's committed change; SQLite writes in turn anyway.
    """
    return db.session.execute(
        update(Review).where(Review.document_id == document_id)
        # A write that leaves the row as it is: only its lock (and its status) is wanted.
        .values(updated_at=Review.updated_at)
        .returning(Review.status)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()


def has_open_unit(document_id: int) -> bool:
    """Whether a live annotator claim of the document is neither rejected nor settled by a
    live gold claim (what leaves its unit undecided)."""
    rows = db.session.execute(
        select(Claim.id, Claim.is_gold, Claim.rejected, Claim.source_claim_ids)
        .where(Claim.document_id == document_id, Claim.deleted_at.is_(None))
    ).all()
    settled = {source for row in rows if row.is_gold for source in row.source_claim_ids or []}
    return any(not row.is_gold and not row.rejected and row.id not in settled for row in rows)


def reopen(user: User, document: Document, cause: dict[str, Any]) -> bool:
    """Set a done review back to open, recording `cause` (what opened a unit) in the audit
    event; True when it was done. For a change known to open a unit (a new annotator claim);
    part of the caller's transaction, which commits it."""
    reopened = db.session.execute(
        update(Review)
        .where(Review.document_id == document.id, Review.status == ReviewStatus.DONE.value)
        .values(status=ReviewStatus.OPEN.value)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if reopened:
        db.session.add(AuditEvent(
            user_id=user.id, project_id=document.project_id, action="review",
            entity="document", entity_id=document.id, before={"status": "done"},
            after={"status": ReviewStatus.OPEN.value, "reopened_by": cause}))
    return bool(reopened)


def reopen_if_open_unit(user: User, document: Document, cause: dict[str, Any]) -> bool:
    """After a change that may have opened a unit (a gold claim deleted, a rejection undone,
    an annotator claim restored): a done review with an open unit is open again. Part of
    the caller's transaction, after its change is flushed."""
    if lock(document.id) != ReviewStatus.DONE.value or not has_open_unit(document.id):
        return False
    return reopen(user, document, cause)
