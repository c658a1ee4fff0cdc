"""Adjudication: settle the annotators' disagreements on a document into gold claims.

A gold claim is a Claim with is_gold set, made by the adjudicator, whose `source_claim_ids`
name the annotators' claims it was decided from; its creation (and every later change) is
an audit event. An annotator's claim an adjudicator leaves out is marked `rejected`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..agreement.alignment import align, differences
from ..agreement.report import agreement_report
from ..db import db, row_by_id
from ..models import (
    Assignment,
    AssignmentStatus,
    AuditEvent,
    Claim,
    Document,
    Membership,
    Project,
    Review,
    ReviewStatus,
    User,
)
from . import claims as claims_service
from . import review_state
from .errors import Conflict, InvalidInput
from .exporting import iter_records

COPIED_FIELDS = ("actor", "actor_mention", "stance", "verdict", "note", "evidence")
# A document's review: "none" before any decision, then "open", "done" when settled.
REVIEW_STATUSES = ("none", ReviewStatus.OPEN.value, ReviewStatus.DONE.value)


def _live_claims(document: Document, *, gold: bool) -> list[Claim]:
    return list(db.session.execute(
        select(Claim)
        .where(Claim.document_id == document.id, Claim.deleted_at.is_(None),
               Claim.is_gold.is_(gold))
        .options(selectinload(Claim.evidence), selectinload(Claim.actor),
                 selectinload(Claim.annotator))
        .order_by(Claim.start, Claim.end, Claim.id)
    ).scalars())


def coders(document: Document) -> list[str]:
    """The document's annotators: everyone assigned to it (skips excluded) or with a claim."""
    assigned = db.session.execute(
        select(User.username).join(Assignment, Assignment.user_id == User.id)
        .where(Assignment.document_id == document.id,
               Assignment.status != AssignmentStatus.SKIPPED.value)
    ).scalars()
    with_claims = {c.annotator.username for c in _live_claims(document, gold=False)}
    return sorted(set(assigned) | with_claims)


def unfinished(document: Document) -> list[str]:
    """The document's annotators who have not finished it: assigned members (and admins)
    whose assignment is neither done nor skipped, as the review queue counts them."""
    return sorted(db.session.execute(
        select(User.username).join(Assignment, Assignment.user_id == User.id)
        .join(Document, Document.id == Assignment.document_id)
        .outerjoin(Membership, and_(Membership.project_id == Document.project_id,
                                    Membership.user_id == Assignment.user_id))
        .where(Assignment.document_id == document.id,
               Assignment.status.not_in((AssignmentStatus.DONE.value,
                                         AssignmentStatus.SKIPPED.value)),
               or_(Membership.id.is_not(None), User.is_admin))
    ).scalars())


def review_status(document: Document) -> str:
    """"done" when the gold is settled, "open" while being decided, "none" before."""
    status = db.session.execute(
        select(Review.status).where(Review.document_id == document.id)
    ).scalar_one_or_none()
    return status or "none"


def review(document: Document) -> dict[str, Any]:
    """The document's units: each annotator's version, what differs, and what was decided."""
    names = coders(document)
    annotator_claims = _live_claims(document, gold=False)
    by_coder: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    rejected: set[int] = set()
    for claim in annotator_claims:
        by_coder.setdefault(claim.annotator.username, []).append(
            claims_service.claim_to_dict(claim))
        if claim.rejected:
            rejected.add(claim.id)
    gold = _live_claims(document, gold=True)
    decided_by_gold: dict[int, int] = {}
    for claim in gold:
        for source in claim.source_claim_ids or []:
            decided_by_gold.setdefault(source, claim.id)
    units = []
    for unit in align(by_coder):
        versions = {coder: by_coder[coder][index] for coder, index in unit.items()}
        ids = [claim["id"] for claim in versions.values()]
        found = differences(versions, names)
        gold_ids = sorted({decided_by_gold[i] for i in ids if i in decided_by_gold})
        units.append({
            "claims": versions,
            "claim_ids": ids,
            "differences": found,
            "agreed": not found,
            "gold_ids": gold_ids,
            "rejected": [i for i in ids if i in rejected],
            "decided": all(i in decided_by_gold or i in rejected for i in ids),
        })
    return {
        "document_id": document.id,
        "coders": names,
        "status": review_status(document),
        "units": units,
        "gold": [claims_service.claim_to_dict(c) for c in gold],
        "open_units": sum(1 for u in units if not u["decided"]),
        "unfinished": unfinished(document),
    }


def _source(document: Document, claim_id: Any, field: str) -> Claim:
    claim = row_by_id(Claim, claim_id)
    if claim is None or claim.document_id != document.id or claim.is_gold \
            or claim.deleted_at is not None:
        raise InvalidInput("not an annotator's claim on this document",
                           {field: f"{claim_id!r} is not a live annotator claim of this document"})
    return claim


def _sources(document: Document, claim_ids: list[Any], field: str) -> list[Claim]:
    """The claims named, each once (first mention first): a repeated id is no second source."""
    found: dict[int, Claim] = {}
    for claim_id in claim_ids:
        claim = _source(document, claim_id, field)
        found.setdefault(claim.id, claim)
    return list(found.values())


def _payload(claim: Claim) -> dict[str, Any]:
    data = claims_service.claim_to_dict(claim)
    payload = {field: data[field] for field in ("start", "end", "text", *COPIED_FIELDS)}
    payload["evidence"] = [{k: v for k, v in e.items() if k != "id"} for e in data["evidence"]]
    return payload


def _opened(document: Document, user: User) -> None:
    row = db.session.execute(
        select(Review).where(Review.document_id == document.id)
    ).scalar_one_or_none()
    if row is None:
        db.session.add(Review(document_id=document.id, status=ReviewStatus.OPEN.value,
                              decided_by_id=user.id))


def _deciding(document: Document, user: User, source_ids: list[int]) -> None:
    """Open the document's review and refuse (409) a gold claim for claims that a live gold
    claim already settles: a second reviewer deciding the same unit, or one decision sent
    twice, would otherwise put the same claim twice in the gold set. That gold claim is
    edited, or deleted and decided again.

    The review row is written first (and flushed), so the check runs holding its row lock
    (PostgreSQL) or the write lock (SQLite): two decisions on a document are taken in turn.
    """
    for attempt in range(2):
        # A write that leaves the row as it is: only its lock is wanted.
        written = db.session.execute(
            update(Review).where(Review.document_id == document.id)
            .values(updated_at=Review.updated_at)
            .execution_options(synchronize_session=False))
        if written.rowcount:  # type: ignore[attr-defined]
            break
        _opened(document, user)
        try:
            db.session.flush()
            break
        except IntegrityError:
            # Another first decision made the row meanwhile (PostgreSQL: the unique
            # document_id waited for it); wait on that row's lock instead.
            db.session.rollback()
            if attempt:
                raise
    wanted = set(source_ids)
    settling = [gold for gold in _live_claims(document, gold=True)
                if wanted & set(gold.source_claim_ids or [])]
    if settling:
        # A unit whose claims were settled apart (one gold claim each) names every one: the
        # first alone let "keep mine" write onto it and leave the other as a second answer.
        settling.sort(key=lambda gold: (-len(wanted & set(gold.source_claim_ids)), gold.id))
        current = claims_service.claim_to_dict(settling[0])
        ids = [gold.id for gold in settling]
        db.session.rollback()
        if len(ids) == 1:
            raise Conflict(f"a gold claim (#{ids[0]}) already settles these claims: edit "
                           "that one, or delete it and decide again", current, settled_by=ids)
        named = ", ".join(f"#{i}" for i in ids[:-1]) + f" and #{ids[-1]}"
        raise Conflict(f"gold claims {named} already settle these claims, each some of them: "
                       "keep one (edit it) and delete the others, or delete them all and "
                       "decide again", current, settled_by=ids)


def accept(user: User, document: Document, claim_id: Any,
           also: list[Any] | None = None) -> Claim:
    """Gold = a copy of one annotator's claim; `also` names other claims it settles."""
    source = _source(document, claim_id, "claim_id")
    others = [c.id for c in _sources(document, also or [], "also") if c.id != source.id]
    _deciding(document, user, [source.id, *others])
    return claims_service.create_claim(user, document, _payload(source),
                                       sources=[source.id, *others])


def merge(user: User, document: Document, span_from: Any, fields_from: Any) -> Claim:
    """Gold = the span of one annotator's claim with the labels of another's."""
    span_claim = _source(document, span_from, "span_from")
    field_claim = _source(document, fields_from, "fields_from")
    payload = _payload(field_claim)
    payload.update(start=span_claim.start, end=span_claim.end, text=span_claim.text)
    sources = sorted({span_claim.id, field_claim.id})
    _deciding(document, user, sources)
    return claims_service.create_claim(user, document, payload, sources=sources)


def decide(user: User, document: Document, payload: Any, sources: Any) -> Claim:
    """Gold = a claim the adjudicator wrote (e.g. edited from a version), with its sources."""
    if not isinstance(sources, list):
        raise InvalidInput("sources must be a list of claim ids", {"sources": "list of ids"})
    ids = [claim.id for claim in _sources(document, sources, "sources")]
    _deciding(document, user, ids)
    return claims_service.create_claim(user, document, payload, sources=ids)


def reject(user: User, document: Document, claim_ids: Any) -> int:
    """Leave these annotators' claims out of the gold set; returns how many were marked."""
    if not isinstance(claim_ids, list) or not claim_ids:
        raise InvalidInput("name the claims to reject", {"claim_ids": "a non-empty list"})
    found = _sources(document, claim_ids, "claim_ids")
    _opened(document, user)
    for claim in found:
        if not claim.rejected:
            # A plain UPDATE: a review decision is not an edit of the annotator's claim, so its
            # version and updated_at stay (the annotator's open page must not get a 409).
            db.session.execute(update(Claim).where(Claim.id == claim.id)
                               .values(rejected=True, updated_at=Claim.updated_at))
            db.session.add(AuditEvent(user_id=user.id, project_id=document.project_id,
                                      action="reject", entity="claim", entity_id=claim.id,
                                      claim_id=claim.id, before={"rejected": False},
                                      after={"rejected": True}))
    db.session.commit()
    return len(found)


def unreject(user: User, document: Document, claim_ids: Any) -> int:
    """Undo the rejection of these annotators' claims: their units are open again (a done
    review too). Conflict, and nothing undone, when one of them is not rejected (anymore):
    someone undid it since the page showed it."""
    if not isinstance(claim_ids, list) or not claim_ids:
        raise InvalidInput("name the claims whose rejection to undo",
                           {"claim_ids": "a non-empty list"})
    found = _sources(document, claim_ids, "claim_ids")
    undone = []
    for claim in found:
        # Conditional, so that of two reviewers undoing one rejection the second is told.
        if db.session.execute(
                update(Claim).where(Claim.id == claim.id, Claim.rejected.is_(True))
                .values(rejected=False, updated_at=Claim.updated_at)
                .execution_options(synchronize_session=False)).rowcount:  # type: ignore[attr-defined]
            undone.append(claim.id)
    stale = [claim for claim in found if claim.id not in undone]
    if stale:
        db.session.rollback()
        current = claims_service.claim_to_dict(db.session.get(Claim, stale[0].id))
        named = ", ".join(f"#{claim.id}" for claim in stale)
        raise Conflict(f"claim {named} is not rejected: its rejection was undone meanwhile, "
                       "or it never was", current, not_rejected=[claim.id for claim in stale])
    for claim_id in undone:
        db.session.add(AuditEvent(user_id=user.id, project_id=document.project_id,
                                  action="unreject", entity="claim", entity_id=claim_id,
                                  claim_id=claim_id, before={"rejected": True},
                                  after={"rejected": False}))
    db.session.flush()
    review_state.reopen_if_open_unit(user, document,
                                     {"action": "unreject", "claim_ids": undone})
    db.session.commit()
    return len(undone)


def accept_agreed(user: User, document: Document) -> int:
    """Accept every undecided unit on which all annotators agree exactly; returns how many."""
    accepted = 0
    for unit in review(document)["units"]:
        # A unit that a gold claim settles in part (its claims re-aligned since) is left to
        # the reviewer: accepting it would settle those claims twice.
        if unit["agreed"] and not unit["decided"] and not unit["gold_ids"]:
            first, *rest = unit["claim_ids"]
            try:
                accept(user, document, first, rest)
            except Conflict:  # decided meanwhile by someone else
                continue
            accepted += 1
    return accepted


def set_status(user: User, document: Document, status: str) -> dict[str, Any]:
    """Settle the document's gold ("done") or reopen it ("open"): the stored status and the
    annotators who have not finished the document (a warning, not a refusal: a claim they
    add later opens the review again).

    Done is refused (Conflict, with ``open_units``) while a unit is undecided: the gold
    export would call the document settled and leave out what was never decided.
    """
    if status not in (ReviewStatus.OPEN.value, ReviewStatus.DONE.value):
        raise InvalidInput("unknown review status", {"status": "must be 'open' or 'done'"})
    # Held until the commit, so a gold claim deleted meanwhile is either counted here or
    # reopens the review after this (review_state.lock).
    review_state.lock(document.id)
    row = db.session.execute(
        select(Review).where(Review.document_id == document.id)
    ).scalar_one_or_none()
    before = row.status if row else "none"
    if status == ReviewStatus.DONE.value:
        open_units = review(document)["open_units"]
        if open_units:
            db.session.rollback()
            raise Conflict(
                f"{open_units} unit{'s are' if open_units > 1 else ' is'} still open: accept, "
                "merge, edit or reject "
                f"{'each' if open_units > 1 else 'it'} before marking the review done",
                open_units=open_units)
    if row is None:
        row = Review(document_id=document.id)
        db.session.add(row)
    row.status = status
    row.decided_by_id = user.id
    db.session.flush()
    db.session.add(AuditEvent(user_id=user.id, project_id=document.project_id,
                              action="review", entity="document", entity_id=document.id,
                              before={"status": before}, after={"status": status}))
    db.session.commit()
    return {"status": status, "unfinished": unfinished(document)}


def _ready_ids(project: Project) -> set[int]:
    """Documents whose assigned annotators (at least k of them) have all finished.

    An unfinished assignment of someone no longer in the project does not count: they cannot
    finish it, and `assign` gives their place to another annotator (a finished one counts).
    """
    done = Assignment.status == AssignmentStatus.DONE.value
    rows = db.session.execute(
        select(Assignment.document_id,
               func.count(Assignment.id),
               func.sum(case((done, 1), else_=0)))
        .join(Document)
        .join(User, User.id == Assignment.user_id)
        .outerjoin(Membership, and_(Membership.project_id == Document.project_id,
                                    Membership.user_id == Assignment.user_id))
        .where(Document.project_id == project.id,
               Assignment.status != AssignmentStatus.SKIPPED.value,
               or_(Membership.id.is_not(None), User.is_admin, done))
        .group_by(Assignment.document_id)
    ).all()
    k = max(1, project.annotators_per_document)
    return {document_id for document_id, assigned, done in rows
            if assigned >= k and (done or 0) == assigned}


def review_queue(project: Project, *, status: str | None = None,
                 min_disagreement: float | None = None) -> list[dict[str, Any]]:
    """Documents ready for review, most disagreed first, each with its review status.

    `status` filters by review status ("none", "open", "done"); `min_disagreement` keeps
    documents at least that disagreed (0 to 1, as in the agreement report). An unknown
    status or a minimum that is no number is InvalidInput, not a silently empty queue.
    """
    if status is not None and status not in REVIEW_STATUSES:
        raise InvalidInput("unknown review status",
                           {"status": f"one of {', '.join(REVIEW_STATUSES)}"})
    if min_disagreement is not None and not 0 <= min_disagreement <= 1:
        raise InvalidInput("the minimum disagreement is a number from 0 to 1",
                           {"min_disagreement": "a number from 0 to 1"})
    ready = _ready_ids(project)
    statuses = dict(db.session.execute(
        select(Review.document_id, Review.status).join(Document)
        .where(Document.project_id == project.id)
    ).all())

    def ready_records() -> Iterator[dict[str, Any]]:
        for record in iter_records(project):
            if record["document_id"] in ready:
                yield record

    report = agreement_report(ready_records(), include_unfinished=True, top=None)
    queue = []
    for row in report["documents"]:
        row_status = statuses.get(row["document_id"], "none")
        if status and row_status != status:
            continue
        if min_disagreement is not None and row["disagreement"] < min_disagreement:
            continue
        queue.append({**row, "review_status": row_status})
    return queue
