"""Who may see and do what, in one place, so every page and API route asks the same question."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from sqlalchemy import Select, bindparam, event, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..db import db
from ..models import Actor, Assignment, Claim, Document, Membership, Project, Review, Role, User
from .errors import Forbidden, NotFound

# Roles looked up in this session, by (user id, project id), once remember_roles() was
# called: one API request asks up to four times (may they see the project, all documents,
# all claims, the gold?). Any write through the session (flush, commit, rollback) empties
# it, and it is not trusted while the session holds unflushed changes. Only a session that
# lives for one request may use it: a longer one would miss other sessions' changes.
# document_for also leaves the user's assignment to the document there (assignment_of), and
# the document's review status (review_status_of).
_ROLES = "access.roles"


def remember_roles() -> None:
    """Let role_in keep its answers in this session until forget_roles() (end of request)."""
    db.session.info[_ROLES] = {}


def forget_roles() -> None:
    db.session.info.pop(_ROLES, None)


def remembered(key: tuple[object, ...]) -> tuple[bool, object]:
    """(found, value) from this request's cache (see remember_roles); other services keep
    their per-request lookups there too (projects.find_actor)."""
    session = db.session()
    cache = session.info.get(_ROLES)
    if cache is not None and key in cache and not (session.new or session.dirty
                                                  or session.deleted):
        return True, cache[key]
    return False, None


def remember(key: tuple[object, ...], value: object) -> None:
    """Keep `value` under `key` for the rest of the request (nothing outside one)."""
    cache = db.session.info.get(_ROLES)
    if cache is not None:
        cache[key] = value


def role_in(user: User, project: Project) -> str | None:
    """The user's role in the project, or None when not a member."""
    found, role = remembered((user.id, project.id))
    if found:
        return role  # type: ignore[return-value]
    role = db.session.execute(
        select(Membership.role).where(
            Membership.project_id == project.id, Membership.user_id == user.id
        )
    ).scalar_one_or_none()
    remember((user.id, project.id), role)
    return role


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_roles(session: Session, *_: object) -> None:
    if _ROLES in session.info:
        session.info[_ROLES] = {}


def can_manage(user: User, project: Project) -> bool:
    return user.is_admin or role_in(user, project) == Role.MANAGER


def sees_all_claims(user: User, project: Project) -> bool:
    """Managers, adjudicators and admins see every claim; blind annotators see only theirs."""
    if user.is_admin:
        return True
    role = role_in(user, project)
    if role in (Role.MANAGER, Role.ADJUDICATOR):
        return True
    return role == Role.ANNOTATOR and not project.blind


def sees_all_documents(user: User, project: Project) -> bool:
    """Managers, adjudicators and admins see every document; annotators their assigned ones."""
    return user.is_admin or role_in(user, project) in (Role.MANAGER, Role.ADJUDICATOR)


def assignment_of(user: User, document: Document) -> Assignment | None:
    """The user's assignment to the document, or None (remembered like role_in's answers:
    document_for reads it in the same query as the document)."""
    found, assignment = remembered(("assignment", user.id, document.id))
    if found:
        return assignment  # type: ignore[return-value]
    assignment = db.session.execute(
        select(Assignment).where(
            Assignment.document_id == document.id, Assignment.user_id == user.id
        )
    ).scalar_one_or_none()
    remember(("assignment", user.id, document.id), assignment)
    return assignment


def review_status_of(document: Document) -> tuple[bool, str | None]:
    """(known, status): the document's review status as document_for read it in this
    request (None: no review yet); (False, None) when it was not read or may be stale."""
    return remembered(("review", document.id))  # type: ignore[return-value]


def is_assigned(user: User, document: Document) -> bool:
    found, assignment = remembered(("assignment", user.id, document.id))
    if found:
        return assignment is not None
    return db.session.execute(
        select(Assignment.id).where(
            Assignment.document_id == document.id, Assignment.user_id == user.id
        )
    ).first() is not None


def annotatable_document_for(user: User, document_id: int) -> Document:
    """The document, for drawing a claim of one's own on it: only its assigned annotators
    may. A manager's, adjudicator's or admin's claim on a document they only oversee would
    make them a coder of it (the review page, the agreement figures, the exports); gold
    goes through the review instead."""
    document = document_for(user, document_id)
    require_assignment(user, document)
    return document


def require_assignment(user: User, document: Document) -> None:
    """Forbidden unless the user is one of the document's annotators."""
    if not is_assigned(user, document):
        raise Forbidden("you are not assigned to this document: claims are drawn by its "
                        "annotators (gold is decided on the review page)")


def closed_documents(user: User, project: Project, document_ids: Iterable[int | None]
                     ) -> set[int]:
    """Of these documents of `project`, the ones `user` may not open: one query at most,
    however many evidence items name them (a span quoting one stays as hidden as it)."""
    wanted = {i for i in document_ids if i is not None}
    if not wanted or sees_all_documents(user, project):
        return set()
    return wanted - set(db.session.execute(select(Assignment.document_id).where(
        Assignment.user_id == user.id, Assignment.document_id.in_(wanted))).scalars())


def _with_role(query: Select) -> Select:
    """`query` (on Project) joined to the membership of the user bound as :user_id."""
    return query.outerjoin(Membership, (Membership.project_id == Project.id)
                           & (Membership.user_id == bindparam("user_id")))


def _with_assignment(query: Select) -> Select:
    """`query` (on Document) joined to the assignment of the user bound as :user_id."""
    return query.outerjoin(Assignment, (Assignment.document_id == Document.id)
                           & (Assignment.user_id == bindparam("user_id")))


@cache
def _project_query() -> Select:
    return _with_role(select(Project, Membership.role)).where(
        Project.id == bindparam("project_id"))


def project_for(user: User, project_id: int) -> Project:
    """The project if the user may see it; NotFound otherwise (existence is not revealed)."""
    # With the user's role, remembered for the request: one query where there were two.
    row = db.session.execute(_project_query(), {"project_id": project_id, "user_id": user.id}
                             ).first()
    if row is None:
        raise NotFound("project not found")
    project, role = row
    remember((user.id, project.id), role)
    if not (user.is_admin or role):
        raise NotFound("project not found")
    return project


def managed_project_for(user: User, project_id: int) -> Project:
    project = project_for(user, project_id)
    if not can_manage(user, project):
        raise Forbidden("only the project's managers can do this")
    return project


@cache
def _document_query() -> Select:
    # Built once: building the statement cost as much as running it.
    return _with_assignment(_with_role(
        select(Document, Project, Membership.role, Assignment, Review.status)
        .join(Project, Project.id == Document.project_id)
    )).outerjoin(Review, Review.document_id == Document.id).where(
        Document.id == bindparam("document_id"))


def document_for(user: User, document_id: int) -> Document:
    # One query for the document, its project, the user's role and assignment (each API
    # request on a document asks all four): the role and the assignment are remembered for
    # the rest of the request, and document.project holds the project (the session's
    # identity map alone keeps it only while something references it).
    row = db.session.execute(_document_query(),
                             {"document_id": document_id, "user_id": user.id}).first()
    if row is None:
        raise NotFound("document not found")
    document, project, role, assignment, review = row
    remember((user.id, project.id), role)
    remember(("assignment", user.id, document.id), assignment)
    remember(("review", document.id), review)
    document.project  # noqa: B018  (from the identity map: no query; now held)
    if not (user.is_admin or role):
        raise NotFound("document not found")
    sees_all = user.is_admin or role in (Role.MANAGER, Role.ADJUDICATOR)
    if not sees_all and assignment is None:
        raise NotFound("document not found")
    return document


@cache
def _claim_query() -> Select:
    return _with_assignment(_with_role(
        select(Claim, Document, Project, Membership.role, Assignment, Actor)
        .join(Document, Document.id == Claim.document_id)
        .join(Project, Project.id == Document.project_id)
    )).outerjoin(Actor, Actor.id == Claim.actor_id).where(Claim.id == bindparam("claim_id"))


def claim_for(user: User, claim_id: int, *, include_deleted: bool = False) -> Claim:
    """A claim the user may see; others' claims in blind mode are NotFound, never Forbidden."""
    # One query for the claim, its document and project, the user's role and assignment,
    # as document_for (an edit used to read them in four).
    row = db.session.execute(_claim_query(), {"claim_id": claim_id, "user_id": user.id}
                             ).first()
    if row is None:
        raise NotFound("claim not found")
    claim, document, project, role, assignment, actor = row
    if claim.deleted_at is not None and not include_deleted:
        raise NotFound("claim not found")
    remember((user.id, project.id), role)
    remember(("assignment", user.id, document.id), assignment)
    set_committed_value(claim, "actor", actor)
    if actor is not None:  # what projects.find_actor answers for its name (an edit asks)
        remember(("actor", project.id, actor.name), actor)
    # The session holds objects weakly: hung on the claim and the document, they stay
    # loaded for the rest of the request instead of being read again by each later get().
    set_committed_value(claim, "document", document)
    set_committed_value(document, "project", project)
    if not (user.is_admin or role):
        raise NotFound("claim not found")
    if claim.annotator_id != user.id and not sees_all_claims(user, project):
        raise NotFound("claim not found")
    # Gold would tell annotators what the "right" answer was: only reviewers see it.
    if claim.is_gold and not (user.is_admin
                              or role_in(user, project) in (Role.MANAGER, Role.ADJUDICATOR)):
        raise NotFound("claim not found")
    # A claim quotes its document: others' claims stay as hidden as the document itself.
    if claim.annotator_id != user.id and not sees_all_documents(user, project) \
            and not is_assigned(user, document):
        raise NotFound("claim not found")
    return claim


def editable_claim_for(user: User, claim_id: int) -> Claim:
    """A claim the user may change: their own, or a gold claim for those who adjudicate."""
    claim = claim_for(user, claim_id)
    if claim.is_gold:
        if not can_adjudicate(user, claim.document.project):
            raise Forbidden("only adjudicators and managers can change gold claims")
    elif claim.annotator_id != user.id:
        raise Forbidden("only the claim's annotator can change it")
    return claim


def can_adjudicate(user: User, project: Project) -> bool:
    return user.is_admin or role_in(user, project) in (Role.MANAGER, Role.ADJUDICATOR)


def adjudicable_document_for(user: User, document_id: int) -> Document:
    """A document the user may adjudicate; annotators get NotFound, as for any review page."""
    document = document_for(user, document_id)
    if not can_adjudicate(user, document.project):
        raise NotFound("document not found")
    return document


def adjudicable_project_for(user: User, project_id: int) -> Project:
    project = project_for(user, project_id)
    if not can_adjudicate(user, project):
        raise Forbidden("only adjudicators and managers can review")
    return project


def require_admin(user: User) -> None:
    """Site administration (creating users) is for site admins only."""
    if not user.is_admin:
        raise Forbidden("only site admins can do this")
