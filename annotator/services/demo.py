"""The demo project: short articles about conflicting claims, three users, a few claims."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from ..db import db
from ..models import Project, Role, User
from . import assignments, claims, documents, projects, users

DEMO_PROJECT = "Demo: conflicting claims"
DEMO_FILE = Path(__file__).parent.parent / "demo" / "articles.jsonl"
DEMO_USERS = (("admin", True, Role.MANAGER), ("alice", False, Role.ANNOTATOR),
              ("bob", False, Role.ANNOTATOR))
DEMO_ACTORS = ("Northern Front media office", "Defence Ministry of Veldoria",
               "Yusuf al-Haddad (local council member)", "Open Conflict Monitor")


def _user(username: str, is_admin: bool) -> tuple[User, str]:
    """The demo user, created if missing, with a fresh password (returned once, never stored)."""
    password = users.generate_password()
    user = users.by_username(username)
    if user is None:
        user = users.create_user(username, password, is_admin=is_admin)
    else:
        user.set_password(password)
        db.session.commit()
    return user, password


def load_demo() -> dict[str, str]:
    """Create (or refresh) the demo project and users; return each demo user's new password."""
    credentials = {}
    members = []
    for username, is_admin, role in DEMO_USERS:
        user, password = _user(username, is_admin)
        credentials[username] = password
        members.append((user, role))
    project = db.session.execute(
        select(Project).where(Project.name == DEMO_PROJECT)
    ).scalar_one_or_none()
    if project is None:
        project = projects.create_project(
            DEMO_PROJECT,
            description="Short made-up news reports in which actors claim, deny and confirm "
                        "the same events. Mark each claim, its claimant, stance and evidence.",
        )
        for name in DEMO_ACTORS:
            projects.add_actor(project, name)
        documents.import_file(project, DEMO_FILE.name, DEMO_FILE.read_bytes())
        for user, role in members:
            projects.add_member(project, user, role)
        # Every demo article to both annotators, so agreement has something to compare.
        assignments.assign(project, 2)
        _example_claims(project, members[1][0], members[2][0])
    for user, role in members:
        projects.add_member(project, user, role)
    return credentials


def _example_claims(project: Project, alice: User, bob: User) -> None:
    """Alice and Bob have annotated the first article, not quite alike: agreement has data."""
    first = documents.first_document(project)
    if first is None:
        return
    text = first.text

    def at(phrase: str) -> dict[str, object]:
        start = text.index(phrase)
        return {"start": start, "end": start + len(phrase), "text": phrase}

    video = {"type": "video", "relation": "contradicts",
             "description": "The group's own footage shows machine-gun fire, not a missile.",
             **at("does not appear to show a missile strike")}
    claims.create_claim(alice, first, {
        **at("shot down an enemy helicopter with a guided missile"),
        "actor": "Northern Front media office", "stance": "asserts", "verdict": "refuted",
        "evidence": [video]})
    claims.create_claim(alice, first, {
        **at("at first denied that any aircraft had been lost"),
        "actor": "Defence Ministry of Veldoria", "stance": "denies"})
    claims.create_claim(alice, first, {
        **at("a technical failure, not enemy fire"),
        "actor": "Defence Ministry of Veldoria", "stance": "asserts",
        "verdict": "not_enough_evidence"})
    claims.create_claim(bob, first, {
        **at("its fighters “shot down an enemy helicopter with a guided missile”"),
        "actor": "Northern Front media office", "stance": "asserts",
        "verdict": "conflicting_evidence", "evidence": [video]})
    claims.create_claim(bob, first, {
        **at("denied that any aircraft had been lost"),
        "actor": "Defence Ministry of Veldoria", "stance": "denies"})
    claims.create_claim(bob, first, {
        **at("residents heard two explosions before the aircraft fell"),
        "actor": "Yusuf al-Haddad (local council member)", "stance": "asserts"})
    for annotator in (alice, bob):
        documents.set_status(first, annotator, "done")
