"""Shared fixtures: the app on SQLite or a throwaway PostgreSQL, users, an auth helper,
and the app served in-process for real-browser tests.

ANNOTATOR_TEST_DB=sqlite (default) or postgresql picks the database; TEST_DATABASE_URL
points the suite at an existing empty database instead.
"""

from __future__ import annotations

import contextvars
import os
import re
import threading
from collections.abc import Iterator
from functools import partial

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from annotator import create_app, models
from annotator.db import db
from annotator.models import User
from annotator.services import assignments, claims, documents, projects, users
from annotator.throwaway_postgres import postgres_bin, throwaway_postgres

TEST_DB = os.environ.get("ANNOTATOR_TEST_DB", "sqlite")
PASSWORD = "correct-horse-battery"  # noqa: S105

# ---------- databases ----------


def _postgres_server() -> Iterator[str]:
    if postgres_bin() is None:
        pytest.fail("ANNOTATOR_TEST_DB=postgresql but no PostgreSQL server is installed "
                    "(apt-get install -y postgresql; the README's test command does this)")
    with throwaway_postgres("annotator_test") as url:
        yield url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("TEST_DATABASE_URL"):
        yield os.environ["TEST_DATABASE_URL"]
    elif TEST_DB == "postgresql":
        yield from _postgres_server()
    elif TEST_DB == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    else:
        pytest.fail(f"ANNOTATOR_TEST_DB must be sqlite or postgresql, not {TEST_DB!r}")


@pytest.fixture(scope="session")
def instance_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("instance"))


@pytest.fixture(scope="session")
def app(database_url: str, instance_path: str) -> Iterator[Flask]:
    """The app, its schema built by the real Alembic migrations (as `annotator db upgrade`)."""
    from flask_migrate import upgrade

    previous = os.environ.get("ANNOTATOR_INSTANCE_PATH")
    os.environ["ANNOTATOR_INSTANCE_PATH"] = instance_path
    try:
        application = create_app({"TESTING": True, "DATABASE_URL": database_url})
    finally:
        if previous is None:
            os.environ.pop("ANNOTATOR_INSTANCE_PATH", None)
        else:
            os.environ["ANNOTATOR_INSTANCE_PATH"] = previous
    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _empty_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts from empty tables (the schema stays)."""
    yield
    if "app" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    from flask import has_app_context

    if has_app_context():  # pytest-flask's request context: close the test's own session
        db.session.remove()
    with application.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                quoted = ", ".join(f'"{name}"' for name in tables)
                conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
            else:
                for name in tables:
                    conn.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    """Cheap hashes for the test users (scrypt costs 0.2 s each); checking is unchanged."""
    patch = pytest.MonkeyPatch()
    patch.setattr(models, "generate_password_hash",
                  partial(generate_password_hash, method="pbkdf2:sha256:1000"))
    yield
    patch.undo()


# ---------- people and data ----------


@pytest.fixture
def make_user(app: Flask):
    def make(username: str, *, admin: bool = False) -> User:
        return users.create_user(username, PASSWORD, is_admin=admin)
    return make


@pytest.fixture
def project(app: Flask, make_user):
    """A project on the default scheme: manager 'maria', annotators 'alice' and 'bob'."""
    manager = make_user("maria")
    created = projects.create_project("Palmyra reports", manager=manager)
    for name in ("alice", "bob"):
        projects.add_member(created, make_user(name), "annotator")
    projects.add_actor(created, "Russian Defense Ministry")
    projects.add_actor(created, "Amaq", aliases=["Amaq News Agency"])
    return created


SAMPLE_TEXT = (
    "Dispatch from Tadmur \U0001F681: the ministry’s spokesman, Игорь Конашенков, said\u00a0"
    "“no aircraft was lost”. Local sources (مصادر محلية) said a helicopter was shot down "
    "by a missile.\nAmaq’s video shows machine-gun fire, not a missile."
)


@pytest.fixture
def document(project):
    documents.import_file(project, "sample.jsonl", (
        '{"id": "d1", "title": "Helicopter down", "text": ' + _json(SAMPLE_TEXT) + '}\n'
        '{"id": "d2", "title": "Second report", "text": "A short second report."}\n'
    ).encode())
    assignments.assign(project, 2)  # both documents to both annotators, alice and bob
    return documents.first_document(project)


def _json(value: str) -> str:
    import json
    return json.dumps(value, ensure_ascii=False)


def span(text_: str, needle: str) -> tuple[int, int]:
    """Code point offsets of `needle` in `text_`."""
    start = text_.index(needle)
    return start, start + len(needle)


# ---------- adjudication: two annotators' versions of one document ----------

HELICOPTER = "a helicopter was shot down"
NO_AIRCRAFT = "no aircraft was lost"
VIDEO = "Amaq’s video shows machine-gun fire"


def annotate_sample(username: str, document, needle: str, **fields):
    """A claim by `username` on the SAMPLE_TEXT document, quoting `needle`."""
    start, end = span(SAMPLE_TEXT, needle)
    return claims.create_claim(users.by_username(username), document,
                               {"start": start, "end": end, "text": needle,
                                "stance": "asserts", **fields})


@pytest.fixture
def annotated(document, make_user):
    """alice and bob annotated the first document and are done: one claim agreed exactly,
    one with other boundaries and stance, one only alice marked. judy adjudicates."""
    projects.add_member(document.project, make_user("judy"), "adjudicator")
    agreed = (annotate_sample("alice", document, NO_AIRCRAFT, actor="Russian Defense Ministry",
                              stance="denies"),
              annotate_sample("bob", document, NO_AIRCRAFT, actor="Russian Defense Ministry",
                              stance="denies"))
    differ = (annotate_sample("alice", document, HELICOPTER, stance="asserts"),
              annotate_sample("bob", document, "said " + HELICOPTER, stance="questions"))
    lonely = annotate_sample("alice", document, VIDEO, actor="Amaq", stance="asserts")
    for name in ("alice", "bob"):
        documents.set_status(document, users.by_username(name), "done")
    return {"agreed": [c.id for c in agreed], "differ": [c.id for c in differ],
            "lonely": lonely.id, "document": document}


# ---------- the browser-side helpers ----------


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in its own context, as on a real server.

    pytest-flask pushes a request context for the whole test, and Flask then reuses its app
    context for every request, so `g` (Flask-Login's current user, Flask-WTF's CSRF token)
    would leak from one request, and one client, to the next.
    """

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)  # streamed bodies are read inside that context
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def client(app: Flask) -> IsolatedClient:
    return IsolatedClient(app, app.response_class, use_cookies=True)


class AuthActions:
    """Log in and out through the real login form, as a browser would."""

    def __init__(self, client) -> None:
        self._client = client

    def login(self, username: str, password: str = PASSWORD):
        token = self.csrf_token("/login")
        return self._client.post("/login", data={
            "username": username, "password": password, "csrf_token": token})

    def csrf_token(self, path: str = "/") -> str:
        page = self._client.get(path, follow_redirects=True).get_data(as_text=True)
        match = re.search(r'name="csrf-token" content="([^"]+)"', page)
        assert match, f"no CSRF token on {path}"
        return match.group(1)


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


def before_the_next_claim_insert(monkeypatch, action) -> None:
    """Run `action` once, just before the next claim INSERT: a race made deterministic (the
    other request commits after this one's checks passed, before it stores its claim)."""
    insert_claim = claims._insert_claim

    def action_first(claim):
        monkeypatch.setattr(claims, "_insert_claim", insert_claim)  # once
        action()
        insert_claim(claim)

    monkeypatch.setattr(claims, "_insert_claim", action_first)


@pytest.fixture
def token_for(app: Flask):
    def make(username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {users.create_token(users.by_username(username))}"}
    return make


# ---------- real browser: Debian's Chromium driven by pytest-playwright ----------

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        # In CI a missing browser is a broken install step, never a reason to skip.
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing in CI (apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} missing (apt-get install -y chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture(scope="session")
def server_url(app: Flask) -> Iterator[str]:
    """The app served by a thread of this process, so tests can read its database directly."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="session")
def base_url(server_url: str) -> str:
    return server_url
