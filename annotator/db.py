"""The SQLAlchemy binding: one `db` for the whole app, SQLite pragmas, migrations."""

from __future__ import annotations

from collections import namedtuple
from functools import cache
from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

MIGRATIONS_DIR = str(Path(__file__).parent / "migrations")
# The largest id an id column holds (PostgreSQL integer): a larger one names no row, and
# handing it to the database fails, so callers answer "not found" before asking.
MAX_ROW_ID = 2**31 - 1


def row_by_id(model: type[Any], value: Any) -> Any | None:
    """The `model` row whose id is `value` (from a request's JSON), or None when `value` is
    not an id a column can hold: not an int, a bool (JSON `true` must not mean #1), or
    outside 1..MAX_ROW_ID."""
    if type(value) is not int or not 0 < value <= MAX_ROW_ID:
        return None
    return db.session.get(model, value)


class Base(DeclarativeBase):
    # Stable constraint names, so Alembic migrations are the same on every database.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
migrate = Migrate(directory=MIGRATIONS_DIR, render_as_batch=True)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:  # noqa: ANN001
    # SQLite ignores foreign keys unless asked, and WAL lets readers work during a write.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        # Takes effect only on a new, empty file (an existing one keeps its page size):
        # 16 KiB pages made a 2,000-document import a sixth faster than SQLite's 4 KiB (one
        # WAL frame and one B-tree step where there were four; the documents are ~3 KB).
        cursor.execute("PRAGMA page_size=16384")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # SQLite's recommendation for WAL: no fsync per commit, only at checkpoints. A
        # committed write survives a crash of the process (SIGKILL included); a power cut or
        # an OS crash may lose the last commits, never corrupt the file (README, deployment).
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        # Reads through a memory map of the file share the OS page cache between workers;
        # the default 2 MB page cache per connection made a fetch twice as slow once a
        # project outgrew it (a few thousand documents).
        cursor.execute("PRAGMA mmap_size=1073741824")
        # A big import is one transaction: with the default 2 MB page cache its dirty pages
        # spilled to the WAL mid-way and index pages were written again and again (a 2,000
        # document import spent a third of its time in SQLite's executemany). The cache
        # grows only as pages are used.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()


@cache
def _row_type(keys: tuple[str, ...]) -> Any:
    return namedtuple("PlainRow", keys)  # noqa: PYI024  (its fields are the query's)


def plain_rows(result: Any) -> list[Any]:
    """A Core result's rows as named tuples (same names, same values, read by attribute).

    Reading a column of a SQLAlchemy Row by name costs ~0.3 µs, a named tuple's field
    ~0.04 µs: with ~20 columns a claim, that was most of building the export's records
    (issue 7's side-by-side export at 20,000 documents)."""
    make = _row_type(tuple(result.keys()))._make
    return [make(row) for row in result]


def commit_keeping_state() -> None:
    """Commit without expiring the objects just written. The caller answers with what it
    wrote; with the default expiry, building that answer reloaded the claim, its
    annotator, actor, document and evidence: five more queries on every save (issue 7's
    load benchmark). The values kept are the ones this transaction committed."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def init_app(app: Flask) -> None:
    from . import models  # noqa: F401  (registers the tables on db.metadata)

    db.init_app(app)
    migrate.init_app(app, db)
