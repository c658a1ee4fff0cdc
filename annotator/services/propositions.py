"""Propositions and incidents: claims across articles that state the same thing.

A proposition is a project entity every member may see and link to; the claims linked to it
are not: a timeline shows a user only the claims they could open one by one (blind
annotators their own, gold only to reviewers). A link belongs to its claim, so it is made by
whoever may change the claim (its annotator; adjudicators for gold claims), and several
annotators' links can be compared (agreement/linking.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import selectinload

from exports.propositions import article_date, timeline_key

from .. import labelscheme
from ..agreement.linking import LinkedClaim, linking_agreement
from ..db import MAX_ROW_ID, db, row_by_id
from ..models import (
    Assignment,
    AuditEvent,
    Claim,
    ClaimLink,
    Document,
    Evidence,
    Incident,
    Project,
    Proposition,
    User,
    isoformat,
)
from . import access
from .errors import Forbidden, InvalidInput, NotFound, require_object

if TYPE_CHECKING:  # scikit-learn takes seconds to import: load it on first use only
    from ..similarity import SimilarityIndex

MAX_TEXT = 5000
SUGGESTIONS = 8


# ---------- shapes ----------


def incident_to_dict(incident: Incident, propositions: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": incident.id, "project_id": incident.project_id, "title": incident.title,
        "location": incident.location or "", "date_start": incident.date_start,
        "date_end": incident.date_end, "description": incident.description or "",
    }
    if propositions is not None:
        data["propositions"] = propositions
    return data


def proposition_to_dict(proposition: Proposition, viewer: User, *, claims: int | None = None,
                        score: float | None = None) -> dict[str, Any]:
    """The proposition as `viewer` sees it: in blind mode an annotator is not told who wrote
    another's proposition (it would say which colleague coded that statement)."""
    author = proposition.created_by.username if proposition.created_by else None
    if proposition.created_by_id != viewer.id and not access.sees_all_claims(
            viewer, db.session.get(Project, proposition.project_id)):
        author = None
    data: dict[str, Any] = {
        "id": proposition.id, "project_id": proposition.project_id, "text": proposition.text,
        "incident_id": proposition.incident_id,
        "incident": proposition.incident.title if proposition.incident else None,
        "verdict": proposition.verdict, "verdict_note": proposition.verdict_note or "",
        "created_by": author,
        "created_at": isoformat(proposition.created_at),
    }
    if claims is not None:
        data["claims"] = claims
    if score is not None:
        data["score"] = score
    return data


# ---------- who sees which linked claims ----------


def _visible(user: User, project: Project) -> list[Any]:
    """Conditions on Claim: the linked claims `user` may see (as access.claim_for decides
    for one claim), so a timeline never shows what the claim's own page would refuse."""
    conditions: list[Any] = [Claim.deleted_at.is_(None)]
    if not access.sees_all_claims(user, project):
        conditions.append(Claim.annotator_id == user.id)
    if not access.can_adjudicate(user, project):
        conditions.append(Claim.is_gold.is_(False))
    if not access.sees_all_documents(user, project):
        assigned = select(Assignment.document_id).where(Assignment.user_id == user.id)
        conditions.append(or_(Claim.annotator_id == user.id, Claim.document_id.in_(assigned)))
    return conditions


def visible_claim_counts(user: User, project: Project) -> dict[int, int]:
    """Proposition id -> how many of its linked claims `user` may see."""
    rows = db.session.execute(
        select(ClaimLink.proposition_id, func.count(Claim.id))
        .join(Claim, Claim.id == ClaimLink.claim_id)
        .join(Proposition, Proposition.id == ClaimLink.proposition_id)
        .where(Proposition.project_id == project.id, *_visible(user, project))
        .group_by(ClaimLink.proposition_id)
    ).all()
    return dict(rows)


# ---------- propositions ----------


def _member_row(user: User, model: type[Any], row_id: int, noun: str) -> Any:
    """The row (of a table with project_id) if the user is a member of its project;
    NotFound otherwise, the same for a row that does not exist."""
    row = db.session.get(model, row_id)
    if row is None:
        raise NotFound(f"{noun} not found")
    try:
        access.project_for(user, row.project_id)
    except NotFound:
        raise NotFound(f"{noun} not found") from None
    return row


def proposition_for(user: User, proposition_id: int) -> Proposition:
    """The proposition if the user is a member of its project; NotFound otherwise."""
    return _member_row(user, Proposition, proposition_id, "proposition")


def list_propositions(project: Project, *, incident_id: int | None = None,
                      query: str = "") -> list[Proposition]:
    statement = (select(Proposition).where(Proposition.project_id == project.id)
                 .options(selectinload(Proposition.incident),
                          selectinload(Proposition.created_by))
                 .order_by(Proposition.id))
    if incident_id is not None:
        # An id no column can hold names no incident (the database would refuse it: a 500).
        statement = statement.where(Proposition.incident_id == incident_id
                                    if 0 < incident_id <= MAX_ROW_ID else false())
    if query.strip():
        statement = statement.where(Proposition.text.ilike(f"%{_like(query.strip())}%",
                                                           escape="\\"))
    return list(db.session.execute(statement).scalars())


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _IndexCache:
    """One TF-IDF index per project, rebuilt when its propositions change (their count or
    last change moves). Suggestions are asked at every claim opened: fitting once keeps
    them fast."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, int], tuple[Any, list[int], SimilarityIndex]] = {}

    def get(self, project: Project) -> tuple[list[int], SimilarityIndex]:
        signature = tuple(db.session.execute(
            select(func.count(Proposition.id), func.max(Proposition.updated_at),
                   func.max(Proposition.id))
            .where(Proposition.project_id == project.id)).one())
        key = (str(db.engine.url), project.id)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == signature:
                return entry[1], entry[2]
        rows = db.session.execute(
            select(Proposition.id, Proposition.text)
            .where(Proposition.project_id == project.id).order_by(Proposition.id)).all()
        from ..similarity import SimilarityIndex

        ids, index = [r.id for r in rows], SimilarityIndex([r.text for r in rows])
        with self._lock:
            self._entries[key] = (signature, ids, index)
        return ids, index


_indexes = _IndexCache()


def suggest(project: Project, text: str, limit: int = SUGGESTIONS
            ) -> list[tuple[Proposition, float]]:
    """The project's propositions most similar to `text` (TF-IDF cosine), best first."""
    ids, index = _indexes.get(project)
    ranked = index.rank(text, limit=limit, minimum=0.05)
    found = {p.id: p for p in db.session.execute(
        select(Proposition).where(Proposition.id.in_([ids[i] for i, _ in ranked]))
        .options(selectinload(Proposition.incident), selectinload(Proposition.created_by))
    ).scalars()}
    return [(found[ids[i]], score) for i, score in ranked if ids[i] in found]


def _text(value: Any, field: str, errors: dict[str, str], *, required: bool,
          limit: int = MAX_TEXT) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        errors[field] = "is required" if required else "must be text"
        return ""
    if len(value) > limit:
        errors[field] = f"at most {limit} characters"
    return value.strip()


def _incident_of(project: Project, value: Any, errors: dict[str, str]) -> int | None:
    if value is None:
        return None
    incident = row_by_id(Incident, value)
    if incident is None or incident.project_id != project.id:
        errors["incident_id"] = f"{value!r} is not an incident of this project"
        return None
    return incident.id


def _audit(user: User, project: Project, action: str, entity: str, entity_id: int,
           before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    # A link is part of its claim's history (GET /claims/{id}/history lists it).
    claim_id = entity_id if entity == "claim" else None
    db.session.add(AuditEvent(user_id=user.id, project_id=project.id, action=action,
                              entity=entity, entity_id=entity_id, claim_id=claim_id,
                              before=before, after=after))


def create_proposition(user: User, project: Project, payload: Any) -> Proposition:
    """A new proposition ({"text", "incident_id"?}); any member may make one while
    annotating. InvalidInput names each bad field."""
    require_object(payload)
    errors: dict[str, str] = {}
    text = _text(payload.get("text"), "text", errors, required=True)
    incident_id = _incident_of(project, payload.get("incident_id"), errors)
    if errors:
        raise InvalidInput("the proposition is not valid", errors)
    proposition = Proposition(project_id=project.id, text=text, incident_id=incident_id,
                              created_by_id=user.id, verdict_note="")
    db.session.add(proposition)
    db.session.flush()
    _audit(user, project, "create", "proposition", proposition.id, None,
           {"text": text, "incident_id": incident_id})
    db.session.commit()
    return proposition


def can_edit(user: User, proposition: Proposition) -> bool:
    """Reviewers edit any proposition; its creator may reword it too."""
    return access.can_adjudicate(user, _project(proposition)) \
        or proposition.created_by_id == user.id


def _project(proposition: Proposition) -> Project:
    return db.session.get(Project, proposition.project_id)


def update_proposition(user: User, proposition: Proposition, payload: Any) -> Proposition:
    """Change text and/or incident ({"text"?, "incident_id"?}); Forbidden unless can_edit."""
    if not can_edit(user, proposition):
        raise Forbidden("only adjudicators, managers and its creator can change a proposition")
    require_object(payload)
    project = _project(proposition)
    errors: dict[str, str] = {}
    before = {"text": proposition.text, "incident_id": proposition.incident_id}
    text = _text(payload["text"], "text", errors, required=True) if "text" in payload else None
    incident_id = _incident_of(project, payload["incident_id"], errors) \
        if "incident_id" in payload else proposition.incident_id
    if errors:
        raise InvalidInput("the proposition is not valid", errors)
    if text is not None:
        proposition.text = text
    proposition.incident_id = incident_id
    db.session.flush()
    _audit(user, project, "update", "proposition", proposition.id, before,
           {"text": proposition.text, "incident_id": proposition.incident_id})
    db.session.commit()
    return proposition


def set_verdict(user: User, proposition: Proposition, verdict: Any, note: Any = "") -> None:
    """The proposition-level verdict (a value of the scheme's verdicts, or None) and its
    note; adjudicators and managers only."""
    project = _project(proposition)
    if not access.can_adjudicate(user, project):
        raise Forbidden("only adjudicators and managers set a proposition's verdict")
    errors: dict[str, str] = {}
    allowed = labelscheme.values(project.label_scheme, "verdicts")
    if verdict in ("", None):
        verdict = None
    elif verdict not in allowed:
        errors["verdict"] = f"unknown verdict {verdict!r}; expected one of: " + ", ".join(allowed)
    note = _text(note, "verdict_note", errors, required=False, limit=20000)
    if errors:
        raise InvalidInput("the verdict is not valid", errors)
    before = {"verdict": proposition.verdict, "verdict_note": proposition.verdict_note}
    proposition.verdict, proposition.verdict_note = verdict, note
    proposition.verdict_by_id = user.id
    db.session.flush()
    _audit(user, project, "verdict", "proposition", proposition.id, before,
           {"verdict": verdict, "verdict_note": note})
    db.session.commit()


def delete_proposition(user: User, proposition: Proposition) -> None:
    """Remove a proposition and its links (reviewers only); its claims stay."""
    project = _project(proposition)
    if not access.can_adjudicate(user, project):
        raise Forbidden("only adjudicators and managers delete propositions")
    linked = list(db.session.scalars(select(ClaimLink.claim_id).where(
        ClaimLink.proposition_id == proposition.id).order_by(ClaimLink.claim_id)))
    _audit(user, project, "delete", "proposition", proposition.id,
           {"text": proposition.text, "incident_id": proposition.incident_id,
            "claim_ids": linked}, None)
    # Each claim's history says it lost its link: its last "link" event would otherwise
    # stand, and on SQLite name whatever proposition gets the freed id next.
    for claim_id in linked:
        _audit(user, project, "unlink", "claim", claim_id,
               {"proposition_id": proposition.id}, None)
    db.session.execute(ClaimLink.__table__.delete().where(
        ClaimLink.proposition_id == proposition.id))
    db.session.delete(proposition)
    db.session.commit()


# ---------- links ----------


def link_of(claim: Claim) -> ClaimLink | None:
    return db.session.execute(select(ClaimLink).where(ClaimLink.claim_id == claim.id)
                              ).scalar_one_or_none()


def link_claim(user: User, claim: Claim, proposition_id: Any) -> Proposition:
    """Link the claim (which `user` may change) to a proposition of its project, replacing
    any link it had. InvalidInput names proposition_id when it is not one."""
    project = claim.document.project
    proposition = row_by_id(Proposition, proposition_id)
    if proposition is None or proposition.project_id != project.id:
        raise InvalidInput("no such proposition in this project",
                           {"proposition_id": f"{proposition_id!r} is not a proposition of "
                                              "this project"})
    link = link_of(claim)
    before = {"proposition_id": link.proposition_id} if link else None
    if link is None:
        link = ClaimLink(claim_id=claim.id, proposition_id=proposition.id)
        db.session.add(link)
    link.proposition_id, link.linked_by_id = proposition.id, user.id
    db.session.flush()
    _audit(user, project, "link", "claim", claim.id, before,
           {"proposition_id": proposition.id})
    db.session.commit()
    return proposition


def unlink_claim(user: User, claim: Claim) -> None:
    link = link_of(claim)
    if link is None:
        return
    project = claim.document.project
    _audit(user, project, "unlink", "claim", claim.id,
           {"proposition_id": link.proposition_id}, None)
    db.session.delete(link)
    db.session.commit()


def claim_panel(claim: Claim, viewer: User) -> dict[str, Any]:
    """What the annotation panel shows for one claim: its proposition (or None) and the
    project's propositions ranked by similarity to the claim's text."""
    project = claim.document.project
    link = link_of(claim)
    current = db.session.get(Proposition, link.proposition_id) if link else None
    return {
        "claim_id": claim.id,
        "proposition": proposition_to_dict(current, viewer) if current else None,
        "suggestions": [proposition_to_dict(p, viewer, score=score)
                        for p, score in suggest(project, claim.text)],
    }


# ---------- the timeline ----------


def _document_brief(document: Any) -> dict[str, Any]:
    return {"document_id": document.id, "document": document.external_id,
            "title": document.title or document.external_id,
            "article_date": article_date(document.meta)}


def timeline(user: User, proposition: Proposition) -> list[dict[str, Any]]:
    """Every linked claim `user` may see, ordered by article date (undated last): document,
    date, actor, stance, text, annotator and evidence (with the article a span is in)."""
    project = _project(proposition)
    found = list(db.session.execute(
        select(Claim)
        .join(ClaimLink, ClaimLink.claim_id == Claim.id)
        .where(ClaimLink.proposition_id == proposition.id, *_visible(user, project))
        .options(selectinload(Claim.document), selectinload(Claim.actor),
                 selectinload(Claim.annotator), selectinload(Claim.evidence))
    ).scalars())
    others = {e.document_id for c in found for e in c.evidence
              if e.document_id is not None and e.document_id != c.document_id}
    # Evidence quoting an article the viewer may not open stays as hidden as the article.
    others -= access.closed_documents(user, project, others)
    elsewhere = {d.id: d for d in db.session.execute(
        select(Document).where(Document.id.in_(others))).scalars()} if others else {}
    entries = []
    for claim in found:
        evidence = []
        for item in claim.evidence:
            in_other = item.document_id not in (None, claim.document_id)
            source = elsewhere.get(item.document_id) if in_other \
                else claim.document if item.start is not None else None
            hidden = in_other and source is None
            evidence.append({
                "id": item.id, "type": item.type, "relation": item.relation,
                "description": item.description or "",
                "start": None if hidden else item.start, "end": None if hidden else item.end,
                "text": None if hidden else item.text, "source_url": item.source_url,
                "document_id": source.id if source else None,
                "document": (source.title or source.external_id) if source else None,
            })
        entries.append({
            "claim_id": claim.id, **_document_brief(claim.document),
            "annotator": claim.annotator.username, "is_gold": claim.is_gold,
            "actor": claim.actor.name if claim.actor else None, "stance": claim.stance,
            "verdict": claim.verdict, "text": claim.text, "start": claim.start,
            "end": claim.end, "evidence": evidence,
        })
    return sorted(entries, key=timeline_key)


def evidence_by_relation(entries: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The timeline's evidence grouped by relation (supports, contradicts, ...), each item
    with the claim it was given for."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        for item in entry["evidence"]:
            grouped.setdefault(item["relation"], []).append(
                {**item, "claim_id": entry["claim_id"], "claim_document": entry["title"]})
    return grouped


# ---------- incidents ----------


def incident_for(user: User, incident_id: int) -> Incident:
    return _member_row(user, Incident, incident_id, "incident")


def list_incidents(project: Project) -> list[tuple[Incident, int]]:
    """The project's incidents with their number of propositions, by date then title."""
    counts = dict(db.session.execute(
        select(Proposition.incident_id, func.count(Proposition.id))
        .where(Proposition.project_id == project.id, Proposition.incident_id.is_not(None))
        .group_by(Proposition.incident_id)).all())
    incidents = db.session.execute(
        select(Incident).where(Incident.project_id == project.id)
        .order_by(Incident.date_start.is_(None), Incident.date_start, Incident.title,
                  Incident.id)).scalars()
    return [(i, counts.get(i.id, 0)) for i in incidents]


def _date(value: Any, field: str, errors: dict[str, str]) -> str | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(value).isoformat() if isinstance(value, str) else _bad()
    except ValueError:
        errors[field] = "a date as YYYY-MM-DD"
        return None


def _bad() -> str:
    raise ValueError


def _incident_fields(payload: Any, current: Incident | None) -> dict[str, Any]:
    require_object(payload)

    def given(name: str) -> Any:
        return payload[name] if name in payload else getattr(current, name, None)

    errors: dict[str, str] = {}
    fields = {
        "title": _text(given("title"), "title", errors, required=True, limit=300),
        "location": _text(given("location"), "location", errors, required=False, limit=300),
        "date_start": _date(given("date_start"), "date_start", errors),
        "date_end": _date(given("date_end"), "date_end", errors),
        "description": _text(given("description"), "description", errors, required=False,
                             limit=20000),
    }
    if fields["date_end"] and not fields["date_start"] and "date_start" not in errors:
        errors["date_start"] = "a date range needs its start"
    elif fields["date_end"] and fields["date_start"] and fields["date_end"] < fields["date_start"]:
        errors["date_end"] = "must not be before date_start"
    if errors:
        raise InvalidInput("the incident is not valid", errors)
    return fields


def _require_reviewer(user: User, project: Project) -> None:
    if not access.can_adjudicate(user, project):
        raise Forbidden("only adjudicators and managers manage incidents")


def create_incident(user: User, project: Project, payload: Any) -> Incident:
    """A new incident ({"title", "location"?, "date_start"?, "date_end"?, "description"?});
    adjudicators and managers only."""
    _require_reviewer(user, project)
    incident = Incident(project_id=project.id, created_by_id=user.id,
                        **_incident_fields(payload, None))
    db.session.add(incident)
    db.session.flush()
    _audit(user, project, "create", "incident", incident.id, None, incident_to_dict(incident))
    db.session.commit()
    return incident


def update_incident(user: User, incident: Incident, payload: Any) -> Incident:
    project = db.session.get(Project, incident.project_id)
    _require_reviewer(user, project)
    before = incident_to_dict(incident)
    for name, value in _incident_fields(payload, incident).items():
        setattr(incident, name, value)
    db.session.flush()
    _audit(user, project, "update", "incident", incident.id, before, incident_to_dict(incident))
    db.session.commit()
    return incident


def delete_incident(user: User, incident: Incident) -> None:
    """Remove the incident; its propositions stay, with no incident."""
    project = db.session.get(Project, incident.project_id)
    _require_reviewer(user, project)
    _audit(user, project, "delete", "incident", incident.id, incident_to_dict(incident), None)
    db.session.execute(Proposition.__table__.update().where(
        Proposition.incident_id == incident.id).values(incident_id=None))
    db.session.delete(incident)
    db.session.commit()


def set_incident_propositions(user: User, incident: Incident, project: Project,
                              proposition_ids: list[int]) -> int:
    """Make these propositions (of the project) the incident's: they join it, its others
    leave it (no incident); one transaction, each move audited. Return how many moved."""
    _require_reviewer(user, project)
    chosen = set(proposition_ids)
    changed = 0
    for proposition in db.session.execute(select(Proposition).where(
            Proposition.project_id == project.id,
            or_(Proposition.id.in_(chosen), Proposition.incident_id == incident.id))
            .order_by(Proposition.id)).scalars():
        target = incident.id if proposition.id in chosen else None
        if proposition.incident_id != target:
            _audit(user, project, "update", "proposition", proposition.id,
                   {"text": proposition.text, "incident_id": proposition.incident_id},
                   {"text": proposition.text, "incident_id": target})
            proposition.incident_id = target
            changed += 1
    db.session.commit()
    return changed


# ---------- agreement and exports ----------


def linking_report(project: Project, *, include_unfinished: bool = True) -> dict[str, Any]:
    """Linking agreement between the project's annotators (agreement/linking.py) over the
    documents that at least two of them have claims on (gold and deleted claims left out;
    without `include_unfinished`, only the annotators who marked the document done)."""
    statement = (
        select(User.username, Claim.document_id, Claim.start, Claim.end,
               ClaimLink.proposition_id)
        .join(User, User.id == Claim.annotator_id)
        .join(Document, Document.id == Claim.document_id)
        .outerjoin(ClaimLink, ClaimLink.claim_id == Claim.id)
        .where(Document.project_id == project.id, Claim.deleted_at.is_(None),
               Claim.is_gold.is_(False)))
    if not include_unfinished:
        statement = statement.join(Assignment, and_(
            Assignment.document_id == Claim.document_id,
            Assignment.user_id == Claim.annotator_id)).where(Assignment.status == "done")
    rows = db.session.execute(statement).all()
    coders_on: dict[int, set[str]] = {}
    for row in rows:
        coders_on.setdefault(row.document_id, set()).add(row.username)
    shared = {d for d, names in coders_on.items() if len(names) >= 2}
    claims: dict[str, list[LinkedClaim]] = {}
    for row in rows:
        if row.document_id in shared:
            claims.setdefault(row.username, []).append(
                LinkedClaim(row.document_id, row.start, row.end, row.proposition_id))
    return linking_agreement(claims)


def proposition_records(project: Project, claim_set: str = "all",
                        split_of: Callable[[dict[str, Any]], str] | None = None
                        ) -> Iterator[dict[str, Any]]:
    """One record per proposition with its live, unrejected linked claims (`claim_set`: all,
    gold or annotators), as schemas/proposition-record.schema.json describes. With `split_of` (a
    dataset bundle's splitter, given {"id", "meta"} of a document) each claim says the split
    of its document."""
    propositions = db.session.execute(
        select(Proposition).where(Proposition.project_id == project.id)
        .options(selectinload(Proposition.incident)).order_by(Proposition.id)).scalars().all()
    for proposition in propositions:
        # A claim an adjudicator rejected is not evidence of what was said.
        conditions = [ClaimLink.proposition_id == proposition.id, Claim.deleted_at.is_(None),
                      Claim.rejected.is_(False)]
        if claim_set != "all":
            conditions.append(Claim.is_gold.is_(claim_set == "gold"))
        linked = db.session.execute(
            select(Claim).join(ClaimLink, ClaimLink.claim_id == Claim.id).where(*conditions)
            .options(selectinload(Claim.document), selectinload(Claim.actor),
                     selectinload(Claim.annotator), selectinload(Claim.evidence))
        ).scalars().all()
        claims = [{
            "claim_id": c.id, "document_id": c.document_id, "document": c.document.external_id,
            "title": c.document.title or "", "article_date": article_date(c.document.meta),
            "annotator": c.annotator.username, "is_gold": c.is_gold,
            "actor": c.actor.name if c.actor else None, "stance": c.stance,
            "verdict": c.verdict, "text": c.text, "start": c.start, "end": c.end,
            "evidence": [_evidence_record(e, c) for e in c.evidence],
            **({"split": split_of({"id": c.document.external_id, "meta": c.document.meta or {}})}
               if split_of else {}),
        } for c in linked]
        incident = proposition.incident
        yield {
            "proposition_id": proposition.id, "project": project.name,
            "proposition": proposition.text, "verdict": proposition.verdict,
            "verdict_note": proposition.verdict_note or "",
            "incident": {k: v for k, v in incident_to_dict(incident).items()
                         if k != "project_id"} if incident else None,
            "claims": sorted(claims, key=timeline_key),
        }


def _evidence_record(evidence: Evidence, claim: Claim) -> dict[str, Any]:
    has_span = evidence.start is not None
    return {"type": evidence.type, "relation": evidence.relation,
            "description": evidence.description or "",
            "document_id": (evidence.document_id or claim.document_id) if has_span else None,
            "start": evidence.start, "end": evidence.end, "text": evidence.text,
            "source_url": evidence.source_url}

