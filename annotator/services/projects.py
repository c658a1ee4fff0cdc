"""Projects, their members, label schemes and actors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select

from .. import labelscheme
from ..db import db
from ..models import Actor, Claim, Document, Membership, Project, Role, User
from . import access
from .errors import InvalidInput, NotFound


def create_project(
    name: str,
    *,
    scheme: dict[str, Any] | None = None,
    manager: User | None = None,
    description: str = "",
) -> Project:
    """Create a project with its own copy of a label scheme (the default one if none given)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("cannot create project", {"name": "must be 1 to 200 characters"})
    if db.session.execute(select(Project.id).where(Project.name == name)).scalar():
        raise InvalidInput("cannot create project", {"name": f"a project '{name}' exists"})
    scheme = labelscheme.validate(scheme) if scheme is not None else labelscheme.default_scheme()
    project = Project(name=name, label_scheme=scheme, scheme_version=1, description=description)
    db.session.add(project)
    db.session.flush()
    for actor_name, aliases in labelscheme.actor_names(scheme):
        db.session.add(Actor(project_id=project.id, name=actor_name, aliases=aliases))
    if manager is not None:
        db.session.add(Membership(project_id=project.id, user_id=manager.id, role=Role.MANAGER))
    db.session.commit()
    return project


def by_name(name: str) -> Project:
    project = db.session.execute(select(Project).where(Project.name == name)).scalar_one_or_none()
    if project is None:
        raise NotFound(f"no project named '{name}'")
    return project


def add_member(project: Project, user: User, role: str) -> Membership:
    """Give the user a role in the project (replacing any role they had)."""
    if role not in {r.value for r in Role}:
        raise InvalidInput("unknown role", {"role": f"must be one of {', '.join(Role)}"})
    membership = db.session.execute(
        select(Membership).where(
            Membership.project_id == project.id, Membership.user_id == user.id
        )
    ).scalar_one_or_none()
    if membership is None:
        membership = Membership(project_id=project.id, user_id=user.id, role=role)
        db.session.add(membership)
    else:
        membership.role = role
    db.session.commit()
    return membership


def add_member_named(project: Project, username: str, role: str) -> Membership:
    """add_member for a username typed into a form; an unknown name is a field error."""
    username = username.strip()
    user = db.session.execute(
        select(User).where(User.username == username)
    ).scalar_one_or_none()
    if user is None:
        raise InvalidInput("unknown user", {"username": f"no user named '{username}'"})
    return add_member(project, user, role)


def members(project: Project) -> list[tuple[User, str]]:
    """The project's members and their roles, by username."""
    return [(user, role) for user, role in db.session.execute(
        select(User, Membership.role).join(Membership, Membership.user_id == User.id)
        .where(Membership.project_id == project.id).order_by(User.username)
    ).all()]


def member(project: Project, user_id: int) -> User:
    """A member of the project by user id; NotFound for anyone else."""
    user = db.session.execute(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.project_id == project.id, User.id == user_id)
    ).scalar_one_or_none()
    if user is None:
        raise NotFound("member not found")
    return user


def _membership(project: Project, user: User) -> Membership:
    membership = db.session.execute(
        select(Membership).where(
            Membership.project_id == project.id, Membership.user_id == user.id
        )
    ).scalar_one_or_none()
    if membership is None:
        raise NotFound(f"{user.username} is not a member of this project")
    return membership


def _keeps_a_manager(project: Project, membership: Membership) -> None:
    # A project whose last manager demotes or removes themselves could only be rescued by a
    # site admin; refuse instead. Projects created without a manager are not affected.
    if membership.role != Role.MANAGER.value:
        return
    managers = db.session.execute(
        select(func.count()).select_from(Membership).where(
            Membership.project_id == project.id, Membership.role == Role.MANAGER.value)
    ).scalar_one()
    if managers <= 1:
        raise InvalidInput("the project needs a manager",
                           {"role": "the project's only manager cannot be removed or demoted"})


def set_role(project: Project, user: User, role: str) -> Membership:
    """Change an existing member's role (NotFound for non-members)."""
    if role not in {r.value for r in Role}:
        raise InvalidInput("unknown role", {"role": f"must be one of {', '.join(Role)}"})
    membership = _membership(project, user)
    if role != membership.role:
        _keeps_a_manager(project, membership)
        membership.role = role
        db.session.commit()
    return membership


def remove_member(project: Project, user: User) -> None:
    """Take the user out of the project.

    Their assignments and claims stay (the history and the export keep them); `assign`
    only counts current annotators, so it fills their open places with someone else.
    """
    membership = _membership(project, user)
    _keeps_a_manager(project, membership)
    db.session.execute(delete(Membership).where(Membership.id == membership.id))
    db.session.commit()


def update_settings(project: Project, annotators_per_document: int, blind: bool) -> Project:
    """Set how many annotators each document gets and whether annotators work blind."""
    if not isinstance(annotators_per_document, int) or annotators_per_document < 1:
        raise InvalidInput("cannot change settings",
                           {"annotators_per_document": "must be a whole number, at least 1"})
    project.annotators_per_document = annotators_per_document
    project.blind = bool(blind)
    db.session.commit()
    return project


def visible_projects(user: User) -> list[Project]:
    query = select(Project).order_by(Project.name)
    if not user.is_admin:
        query = query.join(Membership).where(Membership.user_id == user.id)
    return list(db.session.execute(query).scalars())


def project_summary(project: Project) -> dict[str, Any]:
    documents = db.session.execute(
        select(func.count()).select_from(Document).where(Document.project_id == project.id)
    ).scalar_one()
    return {
        "id": project.id,
        "name": project.name,
        "description": project.description,
        "scheme_version": project.scheme_version,
        "blind": project.blind,
        "documents": documents,
    }


def actors(project: Project) -> list[Actor]:
    return list(
        db.session.execute(
            select(Actor).where(Actor.project_id == project.id).order_by(Actor.name)
        ).scalars()
    )


def actor_to_dict(actor: Actor) -> dict[str, Any]:
    return {"id": actor.id, "name": actor.name, "aliases": actor.aliases or []}


def find_actor(project: Project, name: str) -> Actor | None:
    """The actor whose name (or, failing that, one of whose aliases) is `name`."""
    name = name.strip()
    # A save checks the actor, then stores it: asked twice per request, read once.
    key = ("actor", project.id, name)
    known, actor = access.remembered(key)
    if known:
        return actor  # type: ignore[return-value]
    found = db.session.execute(
        select(Actor).where(Actor.project_id == project.id, Actor.name == name)
    ).scalar_one_or_none()
    if found is None:
        # "ministry" is the Ministry, not a new actor beside it: names, then aliases, in any
        # case (Python's casefold: SQL's lower() knows only ASCII).
        wanted, listed = name.casefold(), actors(project)
        found = next((a for a in listed if a.name.casefold() == wanted), None) or next(
            (a for a in listed if any(alias.casefold() == wanted for alias in a.aliases or [])),
            None)
    access.remember(key, found)
    return found


def add_actor(project: Project, name: str, aliases: list[str] | None = None) -> Actor:
    """Add a claimant to the project; InvalidInput if the name is empty or taken."""
    name = " ".join(name.split())
    if not name or len(name) > 300:
        raise InvalidInput("cannot add actor", {"name": "must be 1 to 300 characters"})
    existing = find_actor(project, name)
    if existing is not None:
        raise InvalidInput("cannot add actor", {"name": f"an actor '{existing.name}' exists"})
    aliases = [" ".join(a.split()) for a in aliases or [] if a.strip()]
    for i, alias in enumerate(aliases):
        # An alias that names another actor would make that name mean two claimants.
        taken = find_actor(project, alias)
        if taken is not None:
            raise InvalidInput("cannot add actor", {
                f"aliases.{i}": f"'{alias}' already names the actor '{taken.name}'"})
    actor = Actor(project_id=project.id, name=name, aliases=aliases)
    db.session.add(actor)
    db.session.commit()
    return actor


def claim_count(project: Project) -> int:
    return db.session.execute(
        select(func.count(Claim.id))
        .join(Document)
        .where(Document.project_id == project.id, Claim.deleted_at.is_(None))
    ).scalar_one()
