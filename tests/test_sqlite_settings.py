"""What every SQLite connection is set to (annotator/db.py), on a new file and an old one."""

from __future__ import annotations

import sqlite3

import pytest
from flask_migrate import upgrade

from annotator import create_app
from annotator.db import db


def _app(tmp_path, monkeypatch: pytest.MonkeyPatch, name: str):  # noqa: ANN202
    monkeypatch.setenv("ANNOTATOR_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return create_app({"TESTING": True, "SECRET_KEY": "settings-test",
                       "DATABASE_URL": f"sqlite:///{tmp_path / name}"})


def _pragmas(app) -> dict[str, object]:  # noqa: ANN001
    with app.app_context():
        connection = db.engine.raw_connection()
        try:
            return {name: connection.execute(f"PRAGMA {name}").fetchone()[0]
                    for name in ("page_size", "journal_mode", "synchronous", "cache_size",
                                 "foreign_keys")}
        finally:
            connection.close()
            db.engine.dispose()


def test_a_new_database_gets_16_kib_pages_wal_and_a_64_mib_cache(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch, "new.db")
    with app.app_context():
        upgrade()

    settings = _pragmas(app)

    assert settings == {"page_size": 16384, "journal_mode": "wal", "synchronous": 1,
                        "cache_size": -65536, "foreign_keys": 1}
    # The file itself was written with the new page size, not only this connection's view.
    with sqlite3.connect(tmp_path / "new.db") as plain:
        assert plain.execute("PRAGMA page_size").fetchone()[0] == 16384


def test_an_existing_4_kib_database_keeps_its_pages_and_its_rows(tmp_path, monkeypatch):
    with sqlite3.connect(tmp_path / "old.db") as plain:
        plain.execute("CREATE TABLE kept (id INTEGER PRIMARY KEY, word TEXT)")
        plain.executemany("INSERT INTO kept (word) VALUES (?)", [("alpha",), ("beta",)])
    app = _app(tmp_path, monkeypatch, "old.db")

    settings = _pragmas(app)
    with app.app_context():
        words = db.session.execute(db.text("SELECT word FROM kept ORDER BY id")).scalars()
        assert list(words) == ["alpha", "beta"]
        db.session.remove()
        db.engine.dispose()

    assert settings["page_size"] == 4096
    assert settings["journal_mode"] == "wal"
