"""Who annotates which document: balanced assignment, reassignment, queues, skipping."""

from __future__ import annotations

import heapq
from typing import Any

from sqlalchemy import delete, func, insert, select

from ..db import db
from ..models import (
    Assignment,
    AssignmentStatus,
    AuditEvent,
    Document,
    Membership,
    Project,
    Role,
    User,
    utcnow,
)
from . import access
from .errors import Conflict, Forbidden, InvalidInput, NotFound

OPEN_STATUSES = (AssignmentStatus.TODO.value, AssignmentStatus.IN_PROGRESS.value)


def annotators(project: Project) -> list[User]:
    """The project's members with the annotator role, by username."""
    return list(db.session.execute(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.project_id == project.id, Membership.role == Role.ANNOTATOR.value)
        .order_by(User.username)
    ).scalars())


def assign(project: Project, per_document: int, *, by: User | None = None) -> int:
    """Give every document up to `per_document` distinct annotators; return how many were added.

    Each missing place goes to the annotator with the fewest assignments in the project so
    far (ties by username) who does not have the document yet, so the load stays balanced
    and the result is the same for the same data. Existing assignments are kept.
    """
    team = annotators(project)
    if per_document < 1:
        raise InvalidInput("cannot assign", {"per_document": "must be at least 1"})
    if per_document > len(team):
        raise InvalidInput("cannot assign", {
            "per_document": f"{per_document} annotators per document, but the project has "
                            f"{len(team)} annotator(s)"})
    project.annotators_per_document = per_document
    ids = {user.id for user in team}
    load = dict.fromkeys(ids, 0)
    for user_id, count in db.session.execute(
        select(Assignment.user_id, func.count()).join(Document)
        .where(Document.project_id == project.id).group_by(Assignment.user_id)
    ).all():
        if user_id in load:
            load[user_id] = count
    holders: dict[int, set[int]] = {}
    for document_id, user_id in db.session.execute(
        select(Assignment.document_id, Assignment.user_id).join(Document)
        .where(Document.project_id == project.id)
    ).all():
        holders.setdefault(document_id, set()).add(user_id)
    names = {user.id: user.username for user in team}
    queue = [(load[i], names[i], i) for i in ids]
    heapq.heapify(queue)
    rows: list[dict[str, Any]] = []
    now = utcnow()
    document_ids = db.session.execute(
        select(Document.id).where(Document.project_id == project.id)
        .order_by(Document.position, Document.id)
    ).scalars()
    for document_id in document_ids:
        have = holders.get(document_id, set())
        missing = per_document - len(have & ids)
        passed_over = []
        while missing > 0 and queue:
            count, name, user_id = heapq.heappop(queue)
            if user_id in have:
                passed_over.append((count, name, user_id))
                continue
            rows.append({"document_id": document_id, "user_id": user_id,
                         "status": AssignmentStatus.TODO.value, "assigned_at": now})
            passed_over.append((count + 1, name, user_id))
            missing -= 1
        for entry in passed_over:
            heapq.heappush(queue, entry)
    for start in range(0, len(rows), 2000):
        db.session.execute(insert(Assignment), rows[start : start + 2000])
    if rows and by is not None:
        db.session.add(AuditEvent(user_id=by.id, project_id=project.id, action="assign",
                                  entity="project", entity_id=project.id, before=None,
                                  after={"per_document": per_document, "added": len(rows)}))
    db.session.commit()
    return len(rows)


def reassign(document: Document, from_user: User, to_user: User, *, by: User) -> Assignment:
    """Move a document from one annotator to another who does not have it yet.

    The first annotator's claims stay in the database (and in the history); only their
    place in the document's queue moves. A finished assignment is not moved.
    """
    old = access.assignment_of(from_user, document)
    if old is None:
        raise NotFound(f"{from_user.username} has no assignment on this document")
    if old.status == AssignmentStatus.DONE.value:
        raise Conflict(f"{from_user.username} has finished this document", {})
    if access.assignment_of(to_user, document) is not None:
        raise InvalidInput("cannot reassign",
                           {"to": f"{to_user.username} already has this document"})
    if to_user.id not in {u.id for u in annotators(document.project)}:
        raise InvalidInput("cannot reassign", {"to": f"{to_user.username} is not an annotator "
                                                      "of this project"})
    before = {"user": from_user.username, "status": old.status}
    db.session.execute(delete(Assignment).where(Assignment.id == old.id))
    new = Assignment(document_id=document.id, user_id=to_user.id,
                     status=AssignmentStatus.TODO.value, assigned_at=utcnow())
    db.session.add(new)
    db.session.flush()
    db.session.add(AuditEvent(user_id=by.id, project_id=document.project_id, action="reassign",
                              entity="document", entity_id=document.id, before=before,
                              after={"user": to_user.username, "status": new.status}))
    db.session.commit()
    return new


def reassign_named(project: Project, external_id: str, from_username: str, to_username: str,
                   *, by: User) -> Assignment:
    """reassign for what a form carries: the document's id as listed, and two usernames.

    Each name that matches nothing is a field error (`document`, `from`, `to`).
    """
    external_id, from_username, to_username = (
        (value or "").strip() for value in (external_id, from_username, to_username))
    document = db.session.execute(
        select(Document).where(Document.project_id == project.id,
                               Document.external_id == external_id)
    ).scalar_one_or_none()
    from_user, to_user = (
        db.session.execute(select(User).where(User.username == name)).scalar_one_or_none()
        for name in (from_username, to_username))
    if document is None or from_user is None or to_user is None:
        fields = {}
        if document is None:
            fields["document"] = f"no document '{external_id}' in this project"
        if from_user is None:
            fields["from"] = f"no user named '{from_username}'"
        if to_user is None:
            fields["to"] = f"no user named '{to_username}'"
        raise InvalidInput("cannot reassign", fields)
    if from_user.id == to_user.id:
        raise InvalidInput("cannot reassign", {"to": "choose another annotator"})
    return reassign(document, from_user, to_user, by=by)


def join(document: Document, user: User) -> Assignment:
    """A manager, adjudicator or admin becomes one of the document's annotators (by choice:
    their claims then count as a coder's in the review, the agreement and the exports).
    Annotators are assigned by a manager; an existing assignment is returned as it is."""
    assignment = access.assignment_of(user, document)
    if assignment is not None:
        return assignment
    if not access.sees_all_documents(user, document.project):
        raise Forbidden("annotators are assigned their documents by a manager")
    assignment = Assignment(document_id=document.id, user_id=user.id,
                            status=AssignmentStatus.TODO.value)
    db.session.add(assignment)
    db.session.add(AuditEvent(user_id=user.id, project_id=document.project_id, action="join",
                              entity="document", entity_id=document.id, before=None,
                              after={"user": user.username}))
    db.session.commit()
    access.remember(("assignment", user.id, document.id), assignment)
    return assignment


def assignees(project: Project) -> list[User]:
    """Everyone holding an assignment in the project (members who left too), by username."""
    return list(db.session.execute(
        select(User).where(User.id.in_(
            select(Assignment.user_id).join(Document).where(Document.project_id == project.id)
        )).order_by(User.username)
    ).scalars())


def skip(document: Document, user: User, reason: str) -> Assignment:
    """The user sets the document aside, saying why; it leaves their open queue."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("say why you skip the document", {"reason": "is required"})
    assignment = access.assignment_of(user, document)
    if assignment is None:
        raise InvalidInput("not assigned", {"status": "this document is not assigned to you"})
    assignment.status = AssignmentStatus.SKIPPED.value
    assignment.skip_reason = reason[:2000]
    assignment.started_at = assignment.started_at or utcnow()
    assignment.done_at = None
    db.session.commit()
    return assignment


def queue_counts(project: Project, user: User) -> dict[str, int]:
    """How many of the user's documents in the project are in each status."""
    counts = dict.fromkeys((s.value for s in AssignmentStatus), 0)
    for status, count in db.session.execute(
        select(Assignment.status, func.count()).join(Document)
        .where(Document.project_id == project.id, Assignment.user_id == user.id)
        .group_by(Assignment.status)
    ).all():
        counts[status] = count
    return counts


def next_document(project: Project, user: User) -> Document | None:
    """The user's first open document in project order (in progress before to do)."""
    return db.session.execute(
        select(Document).join(Assignment, Assignment.document_id == Document.id)
        .where(Document.project_id == project.id, Assignment.user_id == user.id,
               Assignment.status.in_(OPEN_STATUSES))
        .order_by((Assignment.status == AssignmentStatus.TODO.value), Document.position,
                  Document.id)
        .limit(1)
    ).scalar_one_or_none()
