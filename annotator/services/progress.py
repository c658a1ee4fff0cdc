"""The managers' progress dashboard: per annotator and per document."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select

from ..db import db
from ..models import (
    Assignment,
    AssignmentStatus,
    Claim,
    Document,
    Project,
    User,
    as_utc,
    isoformat,
)
from .assignments import annotators

STATUSES = tuple(s.value for s in AssignmentStatus)

# The dashboard's filter and sort choices; the first of each is the default.
DOC_FILTERS = ("all", "incomplete", "complete")
DOC_SORTS = ("position", "done", "title")
ANNOTATOR_SORTS = ("username", "done", "claims")


def by_annotator(project: Project) -> list[dict[str, Any]]:
    """Per annotator (and anyone else with assignments or claims): status counts, claims,
    time spent (opening to done, summed over finished documents) and last activity."""
    rows: dict[int, dict[str, Any]] = {}

    def row(user_id: int, username: str) -> dict[str, Any]:
        if user_id not in rows:
            rows[user_id] = {"username": username, **dict.fromkeys(STATUSES, 0), "total": 0,
                             "claims": 0, "seconds_spent": 0, "last_activity": None}
        return rows[user_id]

    for user in annotators(project):
        row(user.id, user.username)
    for user_id, username, status, started, done in db.session.execute(
        select(Assignment.user_id, User.username, Assignment.status, Assignment.started_at,
               Assignment.done_at)
        .join(User, User.id == Assignment.user_id).join(Document)
        .where(Document.project_id == project.id)
    ).all():
        entry = row(user_id, username)
        entry[status] += 1
        entry["total"] += 1
        if status == AssignmentStatus.DONE.value and started and done:
            entry["seconds_spent"] += max(0, int((as_utc(done) - as_utc(started)).total_seconds()))
        for moment in (as_utc(started), as_utc(done)):
            if moment and (entry["last_activity"] is None or moment > entry["last_activity"]):
                entry["last_activity"] = moment
    for user_id, username, count, last in db.session.execute(
        select(Claim.annotator_id, User.username, func.count(Claim.id), func.max(Claim.updated_at))
        .join(User, User.id == Claim.annotator_id).join(Document)
        .where(Document.project_id == project.id, Claim.deleted_at.is_(None))
        .group_by(Claim.annotator_id, User.username)
    ).all():
        entry = row(user_id, username)
        entry["claims"] = count
        last = as_utc(last)
        if last and (entry["last_activity"] is None or last > entry["last_activity"]):
            entry["last_activity"] = last
    result = sorted(rows.values(), key=lambda r: r["username"])
    for entry in result:
        entry["progress"] = entry["done"] / entry["total"] if entry["total"] else 0.0
        entry["last_activity"] = (isoformat(entry["last_activity"])
                                  if entry["last_activity"] else None)
    return result


def by_document(project: Project) -> list[dict[str, Any]]:
    """Per document: its k, who has it with which status, how many are done."""
    k = project.annotators_per_document
    people: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for document_id, username, status, reason in db.session.execute(
        select(Assignment.document_id, User.username, Assignment.status, Assignment.skip_reason)
        .join(User, User.id == Assignment.user_id).join(Document)
        .where(Document.project_id == project.id)
        .order_by(User.username)
    ).all():
        people[document_id].append({"username": username, "status": status,
                                    "skip_reason": reason})
    result = []
    for document_id, external_id, title, position in db.session.execute(
        select(Document.id, Document.external_id, Document.title, Document.position)
        .where(Document.project_id == project.id).order_by(Document.position, Document.id)
    ).all():
        assigned = people.get(document_id, [])
        done = sum(1 for a in assigned if a["status"] == AssignmentStatus.DONE.value)
        result.append({
            "id": document_id, "external_id": external_id, "title": title,
            "position": position, "k": k, "assigned": len(assigned), "done": done,
            "complete": done >= k, "progress": min(1.0, done / k) if k else 0.0,
            "annotators": assigned,
        })
    return result


def _choice(value: str | None, allowed: tuple[str, ...]) -> str:
    return value if value in allowed else allowed[0]


def dashboard(project: Project, *, doc_filter: str | None = None, doc_sort: str | None = None,
              annotator_sort: str | None = None) -> dict[str, Any]:
    """Both tables, filtered and sorted; an unknown filter or sort falls back to the default.

    Sorting by done or claims puts the highest first for annotators (who is ahead) but the
    fewest done first for documents (what still needs work); ties keep the default order.
    """
    doc_filter = _choice(doc_filter, DOC_FILTERS)
    doc_sort = _choice(doc_sort, DOC_SORTS)
    annotator_sort = _choice(annotator_sort, ANNOTATOR_SORTS)
    people = by_annotator(project)  # already by username
    if annotator_sort in ("done", "claims"):
        people.sort(key=lambda r: -r[annotator_sort])
    docs = by_document(project)  # already in project order
    if doc_filter == "complete":
        docs = [d for d in docs if d["complete"]]
    elif doc_filter == "incomplete":
        docs = [d for d in docs if not d["complete"]]
    if doc_sort == "done":
        docs.sort(key=lambda d: d["done"])
    elif doc_sort == "title":
        docs.sort(key=lambda d: ((d["title"] or d["external_id"]).casefold(), d["id"]))
    return {"annotators": people, "documents": docs, "doc_filter": doc_filter,
            "doc_sort": doc_sort, "annotator_sort": annotator_sort}
