"""The `annotator` command: in-process through Flask's CLI runner, and as the installed console
script in a subprocess against its own fresh database."""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from annotator import create_app
from annotator.db import db
from annotator.models import Claim, Document, Membership, Project, User
from annotator.services import exporting, projects, users
from annotator.validation import validator
from tests.conftest import SAMPLE_TEXT, AuthActions, IsolatedClient

ANNOTATOR = Path(sys.executable).parent / "annotator"


def jsonl(*records: dict) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def check_export(path: Path, count: int) -> list[dict]:
    raw = path.read_bytes()
    assert raw.endswith(b"\n") and b"\r" not in raw
    records = [json.loads(line) for line in raw.decode("utf-8").splitlines()]
    assert len(records) == count
    for record in records:
        validator("export-record.schema.json").validate(record)
        for claim in record["claims"]:
            assert record["text"][claim["start"]:claim["end"]] == claim["text"]
    return records


# ---------- in-process, with Flask's CLI runner ----------


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


def test_users_create_generates_a_password_without_a_terminal(runner, client):
    result = runner.invoke(args=["users", "create", "carol"])

    assert result.exit_code == 0, result.output
    password = re.search(r"Password: (\S+)", result.output).group(1)
    assert len(password) >= 12
    db.session.rollback()
    carol = users.by_username("carol")
    assert carol is not None and not carol.is_admin
    assert carol.check_password(password)
    assert password not in carol.password_hash
    assert AuthActions(client).login("carol", password).status_code == 302


def test_users_create_admin(runner):
    result = runner.invoke(args=["users", "create", "root", "--admin"])
    assert result.exit_code == 0, result.output
    assert "(admin)" in result.output
    db.session.rollback()
    assert users.by_username("root").is_admin


def test_users_create_refuses_a_taken_name(runner, make_user):
    make_user("carol")
    result = runner.invoke(args=["users", "create", "carol"])
    assert result.exit_code != 0
    assert "taken" in result.output
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_users_token_prints_a_token_that_authenticates(runner, client, project):
    result = runner.invoke(args=["users", "token", "alice"])

    assert result.exit_code == 0, result.output
    token = result.output.strip()
    response = client.get("/api/v1/projects", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert [p["name"] for p in response.get_json()] == ["Palmyra reports"]
    second = runner.invoke(args=["users", "token", "alice"]).output.strip()
    assert second != token


def test_users_token_for_an_unknown_user_fails(runner, app):
    result = runner.invoke(args=["users", "token", "nobody"])
    assert result.exit_code != 0
    assert "nobody" in result.output


def test_projects_create_and_members_add(runner, make_user):
    make_user("maria")
    make_user("alice")

    created = runner.invoke(args=["projects", "create", "Field reports", "--manager", "maria"])
    added = runner.invoke(args=["members", "add", "Field reports", "alice"])
    promoted = runner.invoke(args=["members", "add", "Field reports", "alice", "--role",
                                   "adjudicator"])

    assert [r.exit_code for r in (created, added, promoted)] == [0, 0, 0], created.output
    db.session.rollback()
    project = projects.by_name("Field reports")
    roles = dict(db.session.execute(
        select(User.username, Membership.role).join(Membership.user)
        .where(Membership.project_id == project.id)).all())
    assert roles == {"maria": "manager", "alice": "adjudicator"}


def test_members_add_to_an_unknown_project_fails(runner, make_user):
    make_user("alice")
    result = runner.invoke(args=["members", "add", "Nowhere", "alice"])
    assert result.exit_code != 0
    assert "Nowhere" in result.output


def test_import_stores_good_files_and_names_the_bad_line(runner, project, tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_text(jsonl({"id": "g1", "text": SAMPLE_TEXT}, {"id": "g2", "text": "two"}))
    bad = tmp_path / "bad.jsonl"
    bad.write_text(jsonl({"id": "b1", "text": "fine"}) + '{"id": "b2", "text": \n')
    txt = tmp_path / "note.txt"
    txt.write_bytes(b"\xef\xbb\xbfA title\r\nThe body.\r\n")

    result = runner.invoke(args=["import", project.name, str(good), str(bad), str(txt)])

    assert result.exit_code != 0
    assert "bad.jsonl" in result.stderr and "line 2" in result.stderr
    assert "1 of 3" in result.output
    db.session.rollback()
    stored = dict(db.session.execute(select(Document.external_id, Document.text)).all())
    assert stored == {"g1": SAMPLE_TEXT, "g2": "two", "note": "The body.\n"}


def test_import_into_an_unknown_project_fails(runner, app, tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(jsonl({"text": "x"}))
    result = runner.invoke(args=["import", "Nowhere", str(path)])
    assert result.exit_code != 0
    assert "Nowhere" in result.output


def test_export_writes_valid_jsonl(runner, document, token_for, client, tmp_path):
    start = SAMPLE_TEXT.index("Игорь")
    client.post(f"/api/v1/documents/{document.id}/claims", headers=token_for("alice"),
                json={"start": start, "end": start + 5, "text": "Игорь", "stance": "asserts"})
    out = tmp_path / "out.jsonl"

    result = runner.invoke(args=["export", "Palmyra reports", "--out", str(out)])

    assert result.exit_code == 0, result.output
    records = check_export(out, 2)
    assert [c["text"] for c in records[0]["claims"]] == ["Игорь"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".export-")]


def test_export_into_a_missing_directory_fails_clearly(runner, document, tmp_path):
    result = runner.invoke(args=["export", "Palmyra reports", "--out",
                                 str(tmp_path / "missing" / "out.jsonl")])
    assert result.exit_code == 1
    assert "cannot write" in result.output


def test_export_to_standard_output(runner, document):
    result = runner.invoke(args=["export", "Palmyra reports", "--out", "-"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["d1", "d2"]


def test_db_upgrade_on_a_current_database_changes_nothing(runner, project):
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Project)) == 1


# ---------- the installed console script, in a subprocess ----------


def script_env(tmp_path: Path, *, database: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FLASK_", "DATABASE_URL", "SECRET_KEY", "ANNOTATOR_"))}
    env["ANNOTATOR_INSTANCE_PATH"] = str(tmp_path / "instance")
    if database:
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    return env


def annotator(tmp_path: Path, *args: str, env: dict[str, str],
              ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(ANNOTATOR), *args], cwd=tmp_path, env=env, text=True,
                            capture_output=True, stdin=subprocess.DEVNULL, timeout=120)
    if ok:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture
def other_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[dict[str, str]], Flask]]:
    """Build a second app on the subprocess's database, to log in and call the API there."""
    built: list[Flask] = []

    def build(env: dict[str, str]) -> Flask:
        monkeypatch.setenv("ANNOTATOR_INSTANCE_PATH", env["ANNOTATOR_INSTANCE_PATH"])
        if "DATABASE_URL" in env:
            monkeypatch.setenv("DATABASE_URL", env["DATABASE_URL"])
        else:
            monkeypatch.delenv("DATABASE_URL", raising=False)
        monkeypatch.delenv("SECRET_KEY", raising=False)
        application = create_app({"TESTING": True})
        built.append(application)
        return application

    yield build
    for application in built:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def test_console_script_from_an_empty_database(tmp_path, other_app):
    assert ANNOTATOR.exists(), f"the console script is not installed at {ANNOTATOR}"
    env = script_env(tmp_path)
    (tmp_path / "good.jsonl").write_text(jsonl({"id": "a", "text": SAMPLE_TEXT},
                                               {"id": "b", "text": "Second."}))
    (tmp_path / "bad.jsonl").write_text('{"id": "c", "text": "fine"}\n{"id": "d"}\n')

    annotator(tmp_path, "db", "upgrade", env=env)
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert {"user", "project", "document", "claim", "alembic_version"} <= tables
    created = annotator(tmp_path, "users", "create", "maria", "--admin", env=env).stdout
    password = re.search(r"Password: (\S+)", created).group(1)
    annotator(tmp_path, "users", "create", "alice", env=env)
    annotator(tmp_path, "projects", "create", "Field reports", "--manager", "maria", env=env)
    annotator(tmp_path, "members", "add", "Field reports", "alice", env=env)
    annotator(tmp_path, "import", "Field reports", "good.jsonl", env=env)
    bad = annotator(tmp_path, "import", "Field reports", "bad.jsonl", env=env, ok=False)
    token = annotator(tmp_path, "users", "token", "alice", env=env).stdout.strip()
    annotator(tmp_path, "export", "Field reports", "--out", "export.jsonl", env=env)

    assert bad.returncode != 0
    assert "line 2" in bad.stderr and "Traceback" not in bad.stderr
    records = check_export(tmp_path / "export.jsonl", 2)
    assert records[0]["text"] == SAMPLE_TEXT
    application = other_app(env)
    client = IsolatedClient(application, application.response_class)
    listed = client.get("/api/v1/projects", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200
    assert [(p["name"], p["documents"]) for p in listed.get_json()] == [("Field reports", 2)]
    assert AuthActions(client).login("maria", password).status_code == 302
    assert not (tmp_path / "instance" / "annotator.db").exists()


def test_console_script_demo_in_a_fresh_instance(tmp_path, other_app):
    env = script_env(tmp_path, database=False)

    result = annotator(tmp_path, "demo", "--no-serve", env=env)

    assert (tmp_path / "instance" / "annotator.db").exists()
    credentials = dict(re.findall(r"^\s+(admin|alice|bob)\s+(\S+)$", result.stdout, re.M))
    assert set(credentials) == {"admin", "alice", "bob"}, result.stdout
    application = other_app(env)
    for username, password in credentials.items():
        client = IsolatedClient(application, application.response_class)
        assert AuthActions(client).login(username, password).status_code == 302, username
        assert client.get("/api/v1/projects").get_json()[0]["documents"] == 4
    with application.app_context():
        texts = db.session.scalars(select(Document.text)).all()
        assert len(texts) == 4
        every = "".join(texts)
        assert any(ord(ch) > 0xFFFF for ch in every), "no character outside the BMP"
        assert re.search("[\u0600-\u06ff\u0400-\u04ff]", every), "no Arabic or Cyrillic"
        assert re.search("[\u2018\u2019\u201c\u201d]", every), "no curly quotes"
        assert "\u00a0" in every, "no non-breaking space"
        assert db.session.scalar(select(func.count()).select_from(Claim)) >= 1
        project = db.session.scalar(select(Project))
        out = io.StringIO()
        assert exporting.export_jsonl(project, out) == 4
