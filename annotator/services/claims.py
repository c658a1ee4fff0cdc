"""Claims and their evidence: validated against the offsets contract and the label scheme."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from .. import labelscheme
from ..db import commit_keeping_state, db, plain_rows
from ..models import (
    Actor,
    AuditEvent,
    Claim,
    Document,
    Evidence,
    Project,
    ReviewStatus,
    User,
    isoformat,
    utcnow,
)
from ..validation import field_errors
from . import access, projects, review_state
from .errors import Conflict, InvalidInput, NotFound, require_object

CLAIM_FIELDS = ("start", "end", "text", "actor", "actor_mention", "stance", "verdict", "note",
                "evidence")


def evidence_to_dict(evidence: Evidence, claim_document_id: int | None = None,
                     closed: Collection[int] = ()) -> dict[str, Any]:
    """The evidence item as the API shows it; `document_id` only for a span in another
    article than the claim's (`claim_document_id`), so same-document evidence reads as before.

    A span in an article of `closed` (ones the viewer may not open) keeps its `document_id`
    but not its start, end or text, as on the proposition timeline: the quote would show
    what the article says."""
    data: dict[str, Any] = {
        "id": evidence.id,
        "type": evidence.type,
        "relation": evidence.relation,
        "description": evidence.description or "",
    }
    if evidence.start is not None:
        elsewhere = evidence.document_id is not None and claim_document_id is not None \
            and evidence.document_id != claim_document_id
        if elsewhere:
            data["document_id"] = evidence.document_id
        if elsewhere and evidence.document_id in closed:
            data.update(start=None, end=None, text=None)
        else:
            data.update(start=evidence.start, end=evidence.end, text=evidence.text)
    if evidence.source_url:
        data["source_url"] = evidence.source_url
    return data


def claim_to_dict(
    claim: Claim,
    *,
    with_deleted_at: bool = False,
    related: tuple[str, str | None, str, list[Any]] | None = None,
    closed: Collection[int] = (),
) -> dict[str, Any]:
    """The claim as the API and the exports show it (claim.schema.json).

    `claim` may also be a plain row with the claim table's columns; `related` then gives
    what the ORM relationships would: (annotator username, actor name or None, the
    document's text, the live evidence rows in position order). The export uses that to
    skip building ORM objects for every claim. `closed`: articles whose evidence text is
    withheld (see evidence_to_dict); a viewer's answer takes it from viewed_claim.
    """
    if related is None:
        related = (claim.annotator.username, claim.actor.name if claim.actor else None,
                   claim.document.text, claim.evidence)
    annotator, actor, document_text, evidence = related
    data = {
        "id": claim.id,
        "version": claim.version,
        "document_id": claim.document_id,
        "annotator": annotator,
        "start": claim.start,
        "end": claim.end,
        "text": claim.text,
        "actor": actor,
        "actor_mention": (
            {
                "start": claim.actor_start,
                "end": claim.actor_end,
                "text": document_text[claim.actor_start : claim.actor_end],
            }
            if claim.actor_start is not None
            else None
        ),
        "stance": claim.stance,
        "verdict": claim.verdict,
        "note": claim.note or "",
        "scheme_version": claim.scheme_version,
        "is_gold": claim.is_gold,
        "created_at": isoformat(claim.created_at),
        "updated_at": isoformat(claim.updated_at),
        "evidence": [evidence_to_dict(e, claim.document_id, closed) for e in evidence],
    }
    if claim.is_gold:
        data["sources"] = list(claim.source_claim_ids or [])
    # Hand-drawn or accepted from a suggestion (what was proposed is kept alongside).
    data["origin"] = claim.origin or "manual"
    if claim.suggestion:
        data["suggestion"] = claim.suggestion
    if with_deleted_at and claim.deleted_at is not None:
        data["deleted_at"] = isoformat(claim.deleted_at)
    return data


def _closed_to(user: User, project: Project, claim_document_id: int,
               document_ids: Iterable[int | None]) -> set[int]:
    """The other articles among `document_ids` that `user` may not open (one query)."""
    return access.closed_documents(
        user, project, (i for i in document_ids if i != claim_document_id))


def viewed_claim(user: User, claim: Claim, **options: Any) -> dict[str, Any]:
    """claim_to_dict as `user` may read it: no text of articles they may not open."""
    project = db.session.get(Project, claim.document.project_id)
    closed = _closed_to(user, project, claim.document_id,
                        (e.document_id for e in claim.evidence))
    return claim_to_dict(claim, closed=closed, **options)


def _check_span(
    text: str, start: Any, end: Any, quoted: Any, prefix: str, errors: dict[str, str]
) -> None:
    """Check [start, end) against the document; `quoted`, when given, must be its text."""
    if not isinstance(start, int) or not isinstance(end, int):
        return
    if start < 0:
        errors[f"{prefix}start"] = "must be at least 0"
    elif end > len(text):
        errors[f"{prefix}end"] = f"{end} is past the end of the document ({len(text)} characters)"
    elif end <= start:
        errors[f"{prefix}end"] = "must be greater than start"
    elif quoted is not None and text[start:end] != quoted:
        errors[f"{prefix}text"] = (
            f"does not match the document at [{start}, {end}) "
            "(offsets are Unicode code points, end exclusive)"
        )


def _scheme_value(scheme: dict[str, Any], key: str, field: str, value: Any,
                  errors: dict[str, str]) -> None:
    allowed = labelscheme.values(scheme, key)
    if value not in allowed:
        errors[field] = f"unknown {field.split('.')[-1]} {value!r}; expected one of: " + ", ".join(
            allowed
        )


def _evidence_document(project: Project, document: Document, item: dict[str, Any],
                       user: User | None) -> Document | None:
    """The article an evidence span indexes: the claim's own, or another of the project
    that `user` may see; None when there is no such document (for this user)."""
    other = item.get("document_id")
    if other is None or other == document.id:
        return document
    found = db.session.get(Document, other)
    if found is None or found.project_id != project.id:
        return None
    if user is not None:
        try:
            access.document_for(user, found.id)
        except NotFound:
            return None
    return found


def validate_claim(project: Project, document: Document, data: dict[str, Any],
                   user: User | None = None, kept: Collection[int] = ()) -> dict[str, str]:
    """Every problem with a full claim record, by field; empty when it can be stored.

    An evidence span may index another article of the project (its `document_id`); with
    `user`, only one that user may see (another is reported as not in the project), except
    the evidence items at the indexes in `kept`: spans already stored (see _kept_spans).
    """
    scheme = project.label_scheme
    errors: dict[str, str] = {}
    _check_span(document.text, data["start"], data["end"], data["text"], "", errors)
    _scheme_value(scheme, "stances", "stance", data["stance"], errors)
    if data.get("verdict") is not None:
        _scheme_value(scheme, "verdicts", "verdict", data["verdict"], errors)
    elif scheme.get("verdict_required"):
        errors["verdict"] = "is required by this project's label scheme"
    if data.get("actor") and projects.find_actor(project, data["actor"]) is None:
        errors["actor"] = f"unknown actor {data['actor']!r}; add it to the project's actors first"
    mention = data.get("actor_mention")
    if mention:
        _check_span(document.text, mention["start"], mention["end"], mention.get("text"),
                    "actor_mention.", errors)
    for i, item in enumerate(data.get("evidence") or []):
        _scheme_value(scheme, "evidence_types", f"evidence.{i}.type", item["type"], errors)
        _scheme_value(scheme, "evidence_relations", f"evidence.{i}.relation", item["relation"],
                      errors)
        source = _evidence_document(project, document, item, None if i in kept else user)
        if source is None:
            errors[f"evidence.{i}.document_id"] = (
                f"document {item.get('document_id')} is not a document of this project")
        elif item.get("document_id") is not None and item.get("start") is None:
            errors[f"evidence.{i}.start"] = "evidence in another document needs a span"
        elif (item.get("start") is None) != (item.get("end") is None):
            errors[f"evidence.{i}.end"] = "an evidence span needs both start and end"
        elif item.get("start") is not None:
            _check_span(source.text, item["start"], item["end"], item.get("text"),
                        f"evidence.{i}.", errors)
    return errors


def _checked(project: Project, document: Document, data: dict[str, Any],
             user: User | None = None, kept: Collection[int] = ()) -> None:
    errors = validate_claim(project, document, data, user, kept)
    if errors:
        raise InvalidInput("the claim breaks the label scheme or the offsets contract", errors)


def _schema_checked(payload: Any, *, required: tuple[str, ...]) -> dict[str, Any]:
    require_object(payload)
    errors = field_errors("claim-write.schema.json", payload)
    for field in required:
        if field not in payload:
            errors.setdefault(field, "is required")
    if errors:
        raise InvalidInput("the request does not match the claim schema", errors)
    return payload


def _apply(claim: Claim, project: Project, data: dict[str, Any]) -> None:
    # Looked up before any change: the query autoflushes, and flushing a half-applied edit
    # would bump the version twice for one save.
    actor = projects.find_actor(project, data["actor"]) if data.get("actor") else None
    claim.start, claim.end, claim.text = data["start"], data["end"], data["text"]
    claim.stance = data["stance"]
    claim.verdict = data.get("verdict")
    claim.note = data.get("note") or ""
    claim.actor_id = actor.id if actor else None
    claim.actor = actor  # loaded: the answer names it without reading it back by id
    mention = data.get("actor_mention")
    claim.actor_start = mention["start"] if mention else None
    claim.actor_end = mention["end"] if mention else None
    claim.scheme_version = project.scheme_version


EvidenceChange = tuple[str, Evidence, dict[str, Any] | None]


def _apply_evidence(claim: Claim, items: list[dict[str, Any]]) -> list[EvidenceChange]:
    """Bring the claim's live evidence in line with `items`, matching items by id.

    Items without an id are new; live evidence whose id is not sent is soft-deleted.
    Returns (action, evidence, before) for each change, for the audit trail.
    """
    document = claim.document
    live = {e.id: e for e in claim.all_evidence if e.deleted_at is None}
    # Other articles were loaded by validate_claim: get() finds them without a query (and so
    # without an autoflush of the half-applied edit).
    changes: list[EvidenceChange] = []
    kept: set[int] = set()
    for position, item in enumerate(items):
        has_span = item.get("start") is not None
        source = document if item.get("document_id") in (None, document.id) \
            else db.session.get(Document, item["document_id"])
        fields = {
            "position": position,
            "type": item["type"],
            "relation": item["relation"],
            "description": item.get("description") or "",
            "document_id": source.id if has_span else None,
            "start": item.get("start"),
            "end": item.get("end"),
            "text": source.text[item["start"] : item["end"]] if has_span else None,
            "source_url": item.get("source_url"),
        }
        evidence = live.get(item["id"]) if item.get("id") is not None else None
        if evidence is None:
            evidence = Evidence(**fields)
            claim.all_evidence.append(evidence)
            changes.append(("create", evidence, None))
            continue
        kept.add(evidence.id)
        before = evidence_to_dict(evidence, document.id)
        for name, value in fields.items():
            setattr(evidence, name, value)
        if evidence_to_dict(evidence, document.id) != before:
            changes.append(("update", evidence, before))
    now = utcnow()
    for evidence_id, evidence in live.items():
        if evidence_id not in kept:
            changes.append(("delete", evidence, evidence_to_dict(evidence, document.id)))
            evidence.deleted_at = now
    return changes


def _kept_spans(claim: Claim, items: list[dict[str, Any]]
                ) -> tuple[list[dict[str, Any]], set[int]]:
    """The edit's evidence items, with the stored spans in other articles that it leaves as
    they are; and the indexes of those items.

    An item leaves its stored span in another article as it is when it names that article
    and either the same start and end, or no span at all: the form in which an editor who
    may no longer open the article received it (claim_to_dict's `closed`). Such a span is
    kept without asking whether the editor may still open the article: losing access to it
    must neither make the claim uneditable nor erase the span. Removing the span takes an
    item without `document_id`; a different span must be in an article the editor may open.
    """
    stored = {e.id: e for e in claim.all_evidence
              if e.deleted_at is None and e.start is not None
              and e.document_id not in (None, claim.document_id)}
    if not stored:
        return items, set()
    result: list[dict[str, Any]] = []
    kept: set[int] = set()
    for i, item in enumerate(items):
        evidence = stored.get(item.get("id"))  # type: ignore[arg-type]
        if evidence is not None and item.get("document_id") == evidence.document_id:
            withheld = item.get("start") is None and item.get("end") is None \
                and item.get("text") is None
            same = (item.get("start"), item.get("end")) == (evidence.start, evidence.end) \
                and item.get("text") in (None, evidence.text)
            if withheld or same:
                item = {**item, "start": evidence.start, "end": evidence.end,
                        "text": evidence.text}
                kept.add(i)
        result.append(item)
    return result, kept


def _unknown_evidence_ids(claim: Claim | None, items: list[dict[str, Any]]) -> dict[str, str]:
    live = {e.id for e in claim.all_evidence if e.deleted_at is None} if claim else set()
    return {
        f"evidence.{i}.id": f"{item['id']} is not an evidence item of this claim"
        for i, item in enumerate(items)
        if item.get("id") is not None and item["id"] not in live
    }


def _insert_audit(rows: list[dict[str, Any]]) -> None:
    # A Core INSERT in the session's transaction: the events are never read back as
    # objects, and the unit of work's second flush cost as much as the rest of a create
    # (issue 7). Callers have flushed the claim first, so its id (and evidence ids) exist.
    if rows:
        db.session.connection().execute(insert(AuditEvent.__table__), rows)


def _audit(user: User, project: Project, action: str, claim: Claim,
           before: dict[str, Any] | None, after: dict[str, Any] | None,
           changes: Sequence[EvidenceChange] = ()) -> None:
    """The claim's event, then one per evidence change: one INSERT for all of them."""
    now = utcnow()
    _insert_audit([
        {"at": now, "user_id": user.id, "project_id": project.id, "action": action,
         "entity": "claim", "entity_id": claim.id, "claim_id": claim.id, "before": before,
         "after": after},
        *({"at": now, "user_id": user.id, "project_id": project.id, "action": change,
           "entity": "evidence", "entity_id": evidence.id, "claim_id": claim.id,
           "before": previous,
           "after": None if change == "delete" else evidence_to_dict(evidence,
                                                                      claim.document_id)}
          for change, evidence, previous in changes)])


def list_claims(user: User, document: Document) -> list[Claim]:
    """The claims on the document that this user may see (only their own in blind mode)."""
    project = db.session.get(Project, document.project_id)
    query = (
        select(Claim)
        .where(Claim.document_id == document.id, Claim.deleted_at.is_(None))
        .options(selectinload(Claim.evidence), selectinload(Claim.actor),
                 selectinload(Claim.annotator))
        .order_by(Claim.start, Claim.end, Claim.id)
    )
    if not access.sees_all_claims(user, project):
        query = query.where(Claim.annotator_id == user.id)
    if not access.can_adjudicate(user, project):
        query = query.where(Claim.is_gold.is_(False))
    return list(db.session.execute(query).scalars())


@cache
def _listing_queries(*, all_annotators: bool, with_gold: bool) -> tuple[Select, Select]:
    """listed_claims' two statements, built once per kind of viewer (building them cost as
    much as running them); parameters document_id and user_id."""
    table, users, actors, evidence_table = (Claim.__table__, User.__table__, Actor.__table__,
                                            Evidence.__table__)
    query = (
        select(table, users.c.username.label("annotator_name"),
               actors.c.name.label("actor_name"))
        .join(users, users.c.id == table.c.annotator_id)
        .outerjoin(actors, actors.c.id == table.c.actor_id)
        .where(table.c.document_id == bindparam("document_id"), table.c.deleted_at.is_(None))
        .order_by(table.c.start, table.c.end, table.c.id)
    )
    if not all_annotators:
        query = query.where(table.c.annotator_id == bindparam("user_id"))
    if not with_gold:
        query = query.where(table.c.is_gold.is_(False))
    evidence_query = (
        select(evidence_table)
        .join(table, table.c.id == evidence_table.c.claim_id)
        .where(table.c.document_id == bindparam("document_id"),
               evidence_table.c.deleted_at.is_(None))
        .order_by(evidence_table.c.claim_id, evidence_table.c.position)
    )
    return query, evidence_query


def listed_claims(user: User, document: Document) -> list[dict[str, Any]]:
    """What list_claims returns, as claim_to_dict records, read with plain (Core) rows.

    The annotation page loads every claim of a document at once; building ORM objects took
    most of that time for a long document (1,000 claims).
    """
    project = db.session.get(Project, document.project_id)
    claims_query, evidence_query = _listing_queries(
        all_annotators=access.sees_all_claims(user, project),
        with_gold=access.can_adjudicate(user, project))
    # Core statements on the session's connection (its transaction): no ORM step at all,
    # which is most of the cost of two small reads (issue 7's fetch benchmark).
    db.session.flush()  # what session.execute would do first (nothing, on a GET)
    connection = db.session.connection()
    parameters = {"document_id": document.id, "user_id": user.id}
    rows = plain_rows(connection.execute(claims_query, parameters))
    evidence: dict[int, list[Any]] = {}
    for item in plain_rows(connection.execute(evidence_query, parameters)):
        evidence.setdefault(item.claim_id, []).append(item)
    text = document.text
    closed = _closed_to(user, project, document.id,
                        (e.document_id for items in evidence.values() for e in items))
    return [claim_to_dict(row, related=(row.annotator_name, row.actor_name, text,
                                        evidence.get(row.id, [])), closed=closed)
            for row in rows]


def _insert_claim(claim: Claim) -> None:
    """Store the new (transient) `claim` with one Core INSERT and make it the session's
    persistent object for that row, as a flush would, minus the unit of work's cost (about
    half of create_claim's time in issue 7's benchmark). For claims without evidence: those
    with evidence go through the flush, which orders the evidence INSERTs after the claim's."""
    db.session.flush()  # anything pending goes first, as in one flush
    # Read and written through the instance's __dict__: the object is transient, and
    # make_transient_to_detached below marks what the dict holds as loaded. Instrumented
    # setattr/getattr on its ~20 columns cost more than the INSERT itself.
    state = claim.__dict__
    values = {column: state[key] for key, column, _ in _claim_columns() if key in state}
    values["document_id"] = claim.document.id  # set through the relationship
    values["version"] = 1  # what the version counter starts at
    result = db.session.connection().execute(insert(Claim.__table__), values)
    stored = result.last_inserted_params()  # with the column defaults filled in
    for key, column, server_default in _claim_columns():
        if column in stored:
            state[key] = stored[column]
        elif not server_default:
            state[key] = None
        # else: left unloaded, read from the row if ever asked
    state["id"] = result.inserted_primary_key[0]
    make_transient_to_detached(claim)  # its attributes count as loaded from the row
    db.session.add(claim)


@cache
def _claim_columns() -> tuple[tuple[str, str, bool], ...]:
    """Each Claim column: (attribute name, column name, whether it has a server default)."""
    return tuple((attr.key, attr.columns[0].key, attr.columns[0].server_default is not None)
                 for attr in sa_inspect(Claim).column_attrs)


def create_claim(user: User, document: Document, payload: Any, *,
                 sources: list[int] | None = None, commit: bool = True,
                 suggestion: dict[str, Any] | None = None) -> Claim:
    """Store a new claim by `user`; InvalidInput (naming each bad field) stores nothing.

    With `sources` the claim is a gold claim decided from those annotators' claims. With
    ``commit=False`` the claim is only flushed: the caller's unit of work (e.g. an
    all-or-nothing import) commits or rolls back. With `suggestion` (what the suggester
    proposed) the claim's origin is "suggestion".
    """
    data = _schema_checked(payload, required=("start", "end", "text", "stance"))
    # Read before any write empties the request's cache: the review status document_for
    # read spares the hot path a statement when no done review is there to reopen.
    known, review = access.review_status_of(document)
    project = db.session.get(Project, document.project_id)
    _checked(project, document, data, user)
    unknown = _unknown_evidence_ids(None, data.get("evidence") or [])
    if unknown:
        raise InvalidInput("a new claim has no evidence items yet", unknown)
    claim = Claim(document=document, annotator_id=user.id, start=0, end=1, text="", stance="",
                  is_gold=sources is not None, source_claim_ids=sources,
                  client_id=data.get("client_id"),
                  origin="suggestion" if suggestion else "manual", suggestion=suggestion,
                  suggestion_key=suggestion_key(suggestion),
                  all_evidence=[])  # set: read after the flush without a query
    _apply(claim, project, data)
    if data.get("evidence"):
        db.session.add(claim)
        changes = _apply_evidence(claim, data["evidence"])
        db.session.flush()
    else:
        changes = []
        _insert_claim(claim)
    _set_live_evidence(claim)  # a new claim's evidence: set, not read back
    _audit(user, project, "create", claim, None, claim_to_dict(claim), changes)
    # A new annotator claim is a unit no decision covers yet: a done review reopens. One
    # read as open (under review) may have been marked done since, without this claim's
    # unit (not committed when the open units were counted): its row's lock orders the two.
    if sources is None and (not known or review == "done" or (
            review is not None and review_state.lock(document.id) == ReviewStatus.DONE.value)):
        review_state.reopen(user, document, {"action": "create", "claim_id": claim.id})
    if commit:
        commit_keeping_state()
    return claim


def suggestion_key(provenance: dict[str, Any] | None) -> str | None:
    """The accepted suggestion's id ("start-end" of the span it proposed), or None."""
    if not provenance:
        return None
    return f"{provenance['start']}-{provenance['end']}"


def live_claim_from_suggestion(annotator_id: int, document_id: int, key: str
                               ) -> Claim | None:
    """The annotator's live claim on the document accepted from this suggestion, if any."""
    return db.session.execute(select(Claim).where(
        Claim.document_id == document_id, Claim.annotator_id == annotator_id,
        Claim.suggestion_key == key, Claim.deleted_at.is_(None))).scalar_one_or_none()


def claim_by_client_id(user: User, client_id: str) -> Claim | None:
    """The claim the user's create with this idempotency key made (even one deleted since)."""
    return db.session.execute(
        select(Claim).where(Claim.annotator_id == user.id, Claim.client_id == client_id)
    ).scalar_one_or_none()


def create_claim_once(user: User, document: Document, payload: Any, *,
                      suggestion: dict[str, Any] | None = None,
                      key_unused: bool = False) -> tuple[Claim, bool]:
    """Create a claim, unless the payload's `client_id` already made one: (claim, created).

    A browser that lost the response to a create sends it again with the same key; it gets
    the claim the first request stored (even one deleted since), never a second claim. Two
    racing requests with one key meet the unique constraint: the loser returns the winner's.
    """
    key = payload.get("client_id") if isinstance(payload, dict) else None
    # key_unused: the caller has just looked the key up and found no claim of this document.
    existing = claim_by_client_id(user, key) if isinstance(key, str) and not key_unused \
        else None
    if existing is None:
        try:
            return create_claim(user, document, payload, suggestion=suggestion), True
        except IntegrityError:
            db.session.rollback()
            existing = claim_by_client_id(user, key) if isinstance(key, str) else None
            if existing is None:
                _raise_if_suggestion_taken(user, document, suggestion)
                raise
    if existing.document_id != document.id:
        raise InvalidInput("this client_id already made a claim on another document",
                           {"client_id": "already used for another document"})
    return existing, False


def _set_live_evidence(claim: Claim) -> None:
    """Set the view-only `evidence` list from `all_evidence` (its live items in position
    order, what reading it would load): after a write, without reading it back; before an
    edit, one query where reading `evidence` and then `all_evidence` was two."""
    set_committed_value(claim, "evidence", sorted(
        (e for e in claim.all_evidence if e.deleted_at is None), key=lambda e: e.position))


def update_claim(user: User, claim: Claim, payload: Any) -> Claim:
    """Change a claim; the payload's `version` must be the stored one, else Conflict. A
    payload that changes nothing stores nothing: same version, no history event."""
    data = _schema_checked(payload, required=("version",))
    if "client_id" in data:
        raise InvalidInput("client_id names a create, not an edit",
                           {"client_id": "only allowed when creating a claim"})
    if "suggestion_id" in data:
        raise InvalidInput("suggestion_id names a create, not an edit",
                           {"suggestion_id": "only allowed when creating a claim"})
    if data["version"] != claim.version:
        raise Conflict("the claim was changed since you loaded it", viewed_claim(user, claim))
    project = db.session.get(Project, claim.document.project_id)
    if "evidence" not in sa_inspect(claim).dict:
        _set_live_evidence(claim)
    before = claim_to_dict(claim)
    merged = {field: before[field] for field in CLAIM_FIELDS}
    merged.update({k: v for k, v in data.items() if k != "version"})
    if ("start" in data or "end" in data) and "text" not in data:
        raise InvalidInput("moving a claim needs its new text",
                           {"text": "is required when start or end change"})
    merged["evidence"], kept = _kept_spans(claim, merged["evidence"] or [])
    _checked(project, claim.document, merged, user, kept)
    unknown = _unknown_evidence_ids(claim, merged["evidence"])
    if unknown:
        raise InvalidInput("unknown evidence id", unknown)
    _apply(claim, project, merged)
    changes = _apply_evidence(claim, merged["evidence"])
    moved = any(db.session.is_modified(e) for e in claim.all_evidence)  # reordered
    if not (changes or moved or db.session.is_modified(claim, include_collections=False)):
        # Saved as it is (a form opened and saved, a replay): nothing to store. A new
        # version would make another tab's pending edit of the claim a needless conflict.
        return claim
    claim.updated_at = utcnow()  # also forces the version bump when only evidence changed
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        current = db.session.get(Claim, claim.id)
        raise Conflict("the claim was changed since you loaded it",
                       viewed_claim(user, current)) from None
    if changes or moved:  # the view-only `evidence` list is stale (or in the old order)
        _set_live_evidence(claim)
    _audit(user, project, "update", claim, before, claim_to_dict(claim), changes)
    commit_keeping_state()
    return claim


def delete_claim(user: User, claim: Claim, version: int | None = None) -> None:
    """Soft-delete: the claim leaves every list and export but stays in the history."""
    if version is not None and version != claim.version:
        raise Conflict("the claim was changed since you loaded it", viewed_claim(user, claim))
    project = db.session.get(Project, claim.document.project_id)
    before = claim_to_dict(claim)
    claim.deleted_at = utcnow()
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise Conflict("the claim was changed since you loaded it",
                       viewed_claim(user, db.session.get(Claim, claim.id))) from None
    _audit(user, project, "delete", claim, before, None)
    if claim.is_gold:  # the claims it settled are undecided again, unless settled otherwise
        review_state.reopen_if_open_unit(user, claim.document,
                                         {"action": "delete", "claim_id": claim.id})
    db.session.commit()


def _raise_if_suggestion_taken(user: User, document: Document,
                               suggestion: dict[str, Any] | None) -> None:
    """After a create met uq_claim_live_suggestion (an accept of the same suggestion
    committed between the service's check and this INSERT): Conflict with that claim."""
    key = suggestion_key(suggestion)
    twin = live_claim_from_suggestion(user.id, document.id, key) if key else None
    if twin is not None:
        raise suggestion_taken(user, twin)


def suggestion_taken(user: User, claim: Claim) -> Conflict:
    """The 409 for a second claim from one suggestion: `claim` is the annotator's first."""
    return Conflict(f"this suggestion was already accepted as claim #{claim.id}",
                    viewed_claim(user, claim))


def restore_claim(user: User, claim: Claim) -> Claim:
    """Bring a soft-deleted claim back (managers); a live claim is returned unchanged.
    Conflict when the annotator has accepted the claim's suggestion again since: one
    suggestion makes at most one live claim of each annotator."""
    if claim.deleted_at is None:
        return claim
    project = db.session.get(Project, claim.document.project_id)
    before = {"deleted_at": isoformat(claim.deleted_at)}
    twin = (live_claim_from_suggestion(claim.annotator_id, claim.document_id,
                                       claim.suggestion_key)
            if claim.suggestion_key else None)
    if twin is None:
        claim.deleted_at = None
        try:
            db.session.flush()
        except IntegrityError:  # the twin was accepted meanwhile
            db.session.rollback()
            twin = live_claim_from_suggestion(claim.annotator_id, claim.document_id,
                                              claim.suggestion_key)
            if twin is None:
                raise
    if twin is not None:
        raise Conflict(f"claim #{twin.id} was accepted from the same suggestion since: "
                       "delete it to restore this one", viewed_claim(user, twin))
    _audit(user, project, "restore", claim, before, claim_to_dict(claim))
    if not claim.is_gold:  # back as a unit, undecided unless rejected or settled before
        review_state.reopen_if_open_unit(user, claim.document,
                                         {"action": "restore", "claim_id": claim.id})
    db.session.commit()
    return claim


def deleted_claims(document: Document) -> list[Claim]:
    """Every annotator's deleted claims on the document, newest deletion first."""
    return list(db.session.execute(
        select(Claim)
        .where(Claim.document_id == document.id, Claim.deleted_at.is_not(None))
        .options(selectinload(Claim.evidence), selectinload(Claim.actor),
                 selectinload(Claim.annotator))
        .order_by(Claim.deleted_at.desc(), Claim.id)
    ).scalars())


def _evidence_records(record: dict[str, Any] | None, entity: str) -> list[dict[str, Any]]:
    """The evidence dicts inside an audit record (a claim's list, or an evidence item)."""
    if not isinstance(record, dict):
        return []
    if entity == "evidence":
        return [record]
    return [e for e in record.get("evidence") or [] if isinstance(e, dict)]


def _withheld(record: dict[str, Any] | None, entity: str,
              closed: set[int]) -> dict[str, Any] | None:
    """The audit record without the spans of `closed` articles (a copy; stored JSON stays)."""
    if not closed or not any(e.get("document_id") in closed
                             for e in _evidence_records(record, entity)):
        return record

    def blanked(item: dict[str, Any]) -> dict[str, Any]:
        if item.get("document_id") in closed:
            return {**item, "start": None, "end": None, "text": None}
        return item

    assert record is not None
    if entity == "evidence":
        return blanked(record)
    return {**record, "evidence": [blanked(e) if isinstance(e, dict) else e
                                   for e in record["evidence"]]}


REVIEW_ACTIONS = frozenset({"reject", "unreject"})  # shown in a claim's history to reviewers only


def history(claim: Claim, user: User | None = None) -> list[dict[str, Any]]:
    """The claim's audit trail, oldest first: the claim's own events and its evidence's.

    With `user`, evidence spans in articles that user may not open lose their text (as in
    viewed_claim), one query for all of them; and review decisions (REVIEW_ACTIONS) are left
    out unless the user may adjudicate the project."""
    events = db.session.execute(
        select(AuditEvent, User.username)
        .outerjoin(User, User.id == AuditEvent.user_id)
        .where(AuditEvent.claim_id == claim.id)
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    closed: set[int] = set()
    if user is not None:
        project = db.session.get(Project, claim.document.project_id)
        if not access.can_adjudicate(user, project):
            # A review decision on the claim is the reviewers' business, as gold is: it would
            # tell the annotator what the "right" answer was.
            events = [row for row in events if row[0].action not in REVIEW_ACTIONS]
        closed = _closed_to(user, project, claim.document_id, (
            e.get("document_id") for event, _ in events
            for record in (event.before, event.after)
            for e in _evidence_records(record, event.entity)))
    return [
        {
            "id": event.id,
            "at": isoformat(event.at),
            "user": username,
            "action": event.action,
            "entity": event.entity,
            "entity_id": event.entity_id,
            "before": _withheld(event.before, event.entity, closed),
            "after": _withheld(event.after, event.entity, closed),
        }
        for event, username in events
    ]
