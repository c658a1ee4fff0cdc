"""The demo project: a few short articles about conflicting claims, three users, two claims."""

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
        _example_claims(project, members[0][0])
    for user, role in members:
        projects.add_member(project, user, role)
    # Every demo article to both annotators, so agreement has something to compare.
    assignments.assign(project, 2)
    return credentials


def _example_claims(project: Project, manager: User) -> None:
    first = documents.first_document(project)
    if first is None:
        return
    text = first.text
    span = "shot down an enemy helicopter with a guided missile"
    evidence = "does not appear to show a missile strike"
    start, ev_start = text.index(span), text.index(evidence)
    claims.create_claim(manager, first, {
        "start": start, "end": start + len(span), "text": span,
        "actor": "Northern Front media office", "stance": "asserts", "verdict": "refuted",
        "note": "Example claim made by the demo loader.",
        "evidence": [{"type": "video", "relation": "contradicts",
                      "description": "The group's own video shows machine-gun fire, not a missile.",
                      "start": ev_start, "end": ev_start + len(evidence), "text": evidence}],
    })
    denial = "at first denied that any aircraft had been lost"
    d_start = text.index(denial)
    claims.create_claim(manager, first, {
        "start": d_start, "end": d_start + len(denial), "text": denial,
        "actor": "Defence Ministry of Veldoria", "stance": "denies",
    })
