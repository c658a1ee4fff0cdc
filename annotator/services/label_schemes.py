"""Changing a project's label scheme once work has started.

A project keeps its own copy of the scheme and a version; every claim records the version
it was written under. A new scheme may add labels, rename their display names, recolour
them, change keys and cues; it may not drop a value that stored work still uses (a claim's
stance or verdict, an evidence item's type or relation, a proposition's verdict): that work
would no longer be valid under its own project's scheme, and exports would carry values the
scheme does not describe.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from .. import labelscheme
from ..db import db
from ..models import (
    Actor,
    AuditEvent,
    Claim,
    Document,
    Evidence,
    Project,
    Proposition,
    User,
    utcnow,
)
from . import projects
from .errors import InvalidInput

# (scheme list, what stores its values, how the message names them)
_USES = (
    ("stances", Claim.stance, "claim"),
    ("verdicts", Claim.verdict, "claim"),
    ("evidence_types", Evidence.type, "evidence item"),
    ("evidence_relations", Evidence.relation, "evidence item"),
)


def values_in_use(project: Project) -> dict[str, dict[str, int]]:
    """Per scheme list, each value the project's work uses and how often: deleted claims
    included, since a manager may restore them."""
    used: dict[str, dict[str, int]] = {}
    for list_key, column, _ in _USES:
        query = (select(column, func.count()).select_from(Claim)
                 .join(Document, Document.id == Claim.document_id)
                 .where(Document.project_id == project.id, column.is_not(None)))
        if column.class_ is Evidence:
            query = query.join(Evidence, Evidence.claim_id == Claim.id).where(
                Evidence.deleted_at.is_(None))
        used[list_key] = {value: n for value, n in db.session.execute(query.group_by(column))}
    verdicts = db.session.execute(
        select(Proposition.verdict, func.count()).where(
            Proposition.project_id == project.id, Proposition.verdict.is_not(None))
        .group_by(Proposition.verdict))
    for value, count in verdicts:
        used["verdicts"][value] = used["verdicts"].get(value, 0) + count
    return used


def change_scheme(project: Project, scheme: Any, user: User | None = None) -> Project:
    """Give the project `scheme` as its next version. InvalidInput (422) naming each field:
    a scheme that breaks the schema, or that drops a value stored work uses. Nothing
    changes unless the new scheme differs; the change is an audit event with both
    versions."""
    if not isinstance(scheme, dict):
        raise InvalidInput("a label scheme is a JSON object", {"(body)": "expected an object"})
    try:
        scheme = labelscheme.validate(scheme)
    except labelscheme.LabelSchemeError as exc:
        raise InvalidInput(str(exc), exc.fields) from None
    if scheme == project.label_scheme:
        return project
    # One change at a time: a second manager's change waits, then is checked against the
    # first's version instead of overwriting it (PostgreSQL; SQLite writes one at a time).
    db.session.refresh(project, with_for_update=True)
    dropped: dict[str, str] = {}
    nouns = {list_key: noun for list_key, _, noun in _USES}
    for list_key, counts in values_in_use(project).items():
        kept = set(labelscheme.values(scheme, list_key))
        lost = {value: n for value, n in sorted(counts.items()) if value not in kept}
        if lost:
            dropped[list_key] = "still used: " + ", ".join(
                f"'{value}' by {n} {nouns[list_key]}{'s' if n != 1 else ''}"
                for value, n in lost.items()) + (
                " (deleted claims count: they can be restored); keep it, or change that "
                "work first")
    if dropped:
        raise InvalidInput("the new scheme drops values that stored work uses", dropped)
    before = {"scheme_version": project.scheme_version, "label_scheme": project.label_scheme}
    for name, aliases in labelscheme.actor_names(scheme):  # actors the new scheme brings
        if projects.find_actor(project, name) is None:
            db.session.add(Actor(project_id=project.id, name=name, aliases=aliases))
    project.label_scheme = scheme
    project.scheme_version += 1
    db.session.add(AuditEvent(
        at=utcnow(), user_id=user.id if user else None, project_id=project.id,
        action="scheme", entity="project", entity_id=project.id, before=before,
        after={"scheme_version": project.scheme_version, "label_scheme": scheme}))
    db.session.commit()
    return project
