"""An import over HTTP on SQLite: its pages reach the database file after the response.

SQLite's automatic checkpoint copies a large write from the write-ahead log into the
database file inside the commit, with its fsyncs; an import now leaves that copy for after
the response has been sent (issue 7's import benchmark). The test runs on its own SQLite
file whichever database the suite uses: the behaviour is SQLite's.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import text

from annotator import create_app
from annotator.db import db
from annotator.services import projects, users

DOCUMENTS = 500
# 500 documents of 10,000 characters: 5 MB, past SQLite's automatic checkpoint (1,000 pages).
BODY = "".join(json.dumps({"id": f"d{i}", "text": f"Report {i}. " + "x" * 10_000}) + "\n"
               for i in range(DOCUMENTS)).encode()


def _documents_in_the_file_alone(database: Path, tmp_path: Path) -> int:
    """Documents in the database file itself, without its write-ahead log."""
    copy = tmp_path / "file-alone.db"
    shutil.copyfile(database, copy)  # the log (annotator.db-wal) is not copied
    with sqlite3.connect(copy) as connection:
        return connection.execute("SELECT count(*) FROM document").fetchone()[0]


def test_an_imports_pages_reach_the_database_file_after_the_response(tmp_path, monkeypatch):
    monkeypatch.setenv("ANNOTATOR_INSTANCE_PATH", str(tmp_path))
    database = tmp_path / "annotator.db"
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{database}",
                      # one pooled connection: the one the import used is the one checked below
                      "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 0}})
    with app.app_context():
        upgrade()
        manager = users.create_user("maria", "correct-horse-battery")
        project = projects.create_project("Checkpoint", manager=manager)
        project_id = project.id
        token = users.create_token(manager)
        db.session.remove()
        with db.engine.connect() as connection:  # everything so far into the file
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    assert _documents_in_the_file_alone(database, tmp_path) == 0

    response = app.test_client().post(
        f"/api/v1/projects/{project_id}/import?filename=reports.jsonl", data=BODY,
        headers={"Authorization": f"Bearer {token}"}, buffered=False)
    assert response.status_code == 201
    assert response.get_json()["documents"] == DOCUMENTS
    # Answered, not yet closed: the import is committed (in the log), not yet in the file.
    assert _documents_in_the_file_alone(database, tmp_path) == 0
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM document")).scalar() == DOCUMENTS
        db.session.remove()

    response.close()  # the server has sent the response: the checkpoint runs
    assert _documents_in_the_file_alone(database, tmp_path) == DOCUMENTS
    with app.app_context():
        # The pooled connection checkpoints by itself again, as SQLite does by default.
        setting = db.session.execute(text("PRAGMA wal_autocheckpoint")).scalar()
        assert setting == 1000
        db.session.remove()
        db.engine.dispose()
