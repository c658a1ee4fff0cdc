"""Back up one whole project to a file, and restore such a file as a new project.

What a backup holds is the list TABLES below: each table, how its rows belong to the project,
and which columns hold ids that a restore must translate. Foreign keys are found from the
models themselves, so a new table is one line here (parents before children).

Users are not part of a project: a backup names them by username. A restore gives each
username the existing account of that name, or creates a disabled placeholder account (no
usable password, not an admin) that keeps the person's work attributed; the restore's result
lists them. Accounts created before the restore are used instead. Restore runs in one
transaction: all of the file or nothing.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import IO, Any

from sqlalchemy import DateTime, LargeBinary, Table, func, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from .. import __version__
from ..backup_format import BackupFormatError, BackupWriter, read_backup
from ..db import db
from ..models import Project, User, as_utc, isoformat, utcnow
from .errors import InvalidInput

BATCH = 1000
# Marks a placeholder account: check_password_hash never matches a hash without a method.
PLACEHOLDER_PASSWORD_HASH = "!restored-placeholder"  # noqa: S105


@dataclass(frozen=True)
class Spec:
    """One table of a backup.

    `scope`: the column that ties a row to the project: "project_id", or a foreign key to
    a table earlier in TABLES. `id_lists`: JSON columns holding lists of ids of a table.
    `refs`: integer columns holding ids without a declared foreign key. `transient`: columns
    left out (they mean something only to the live database).
    """

    table: str
    scope: str | None
    id_lists: dict[str, str] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    transient: tuple[str, ...] = ()


TABLES: tuple[Spec, ...] = (
    Spec("project", None),
    Spec("membership", "project_id"),
    Spec("actor", "project_id"),
    Spec("document", "project_id"),
    Spec("assignment", "document_id"),
    # client_id is a browser's retry key: a copy must not answer the original's retries (and
    # would break its uniqueness per annotator when restored beside it).
    Spec("claim", "document_id", id_lists={"source_claim_ids": "claim"},
         transient=("client_id",)),
    Spec("evidence", "claim_id"),
    Spec("review", "document_id"),
    Spec("incident", "project_id"),
    Spec("proposition", "project_id"),
    Spec("claim_link", "claim_id"),
    Spec("suggestion_model", "project_id", id_lists={"document_ids": "document"}),
    Spec("suggestion_rejection", "document_id"),
    # entity_id names a row of the table `entity` (see _remap_event).
    Spec("audit_event", "project_id", refs={"claim_id": "claim"}),
)
# Tables that are not a project's: users are referenced by name, tokens never leave.
NOT_PROJECT_DATA = frozenset({"user", "api_token", "alembic_version", "login_throttle",
                              # a record of processes on this server, not the project's work
                              "training_job"})


class BackupError(InvalidInput):
    """A backup file that cannot be restored; the message names the line."""


@dataclass
class RestoreResult:
    project: Project
    counts: dict[str, int]
    placeholders: list[str]


def _table(name: str) -> Table:
    return db.metadata.tables[name]


def _specs() -> list[Spec]:
    """The specs whose tables this database has (the models define them)."""
    return [spec for spec in TABLES if spec.table in db.metadata.tables]


@cache
def _foreign_keys(table: Table) -> dict[str, str]:
    """Column name -> the table it references."""
    return {column.name: next(iter(column.foreign_keys)).column.table.name
            for column in table.columns if column.foreign_keys}


# ---------- backup ----------


def _belongs(spec_by_table: dict[str, Spec], name: str, project_id: int) -> Any:
    """The WHERE condition that picks `name`'s rows of the project."""
    table = _table(name)
    spec = spec_by_table[name]
    if spec.scope is None:
        return table.c.id == project_id
    if spec.scope == "project_id":
        return table.c.project_id == project_id
    parent = _table(_foreign_keys(table)[spec.scope])
    return table.c[spec.scope].in_(
        select(parent.c.id).where(_belongs(spec_by_table, parent.name, project_id)))


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return isoformat(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _rows(conn: Connection, table: Table, belongs: Any) -> Iterator[Any]:
    """The rows of `table` that meet `belongs`, in id order, a batch at a time."""
    last = None
    while True:
        query = select(table).where(belongs).order_by(table.c.id).limit(BATCH)
        if last is not None:
            query = query.where(table.c.id > last)
        batch = conn.execute(query).all()
        if not batch:
            return
        yield from batch
        last = batch[-1].id


def _revision(conn: Connection) -> str | None:
    try:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # noqa: BLE001  (a database built without migrations)
        return None


def write_backup(project: Project, out: IO[bytes]) -> dict[str, int]:
    """Write the whole project to `out` (binary); return the row count of each table.

    Read in one transaction (repeatable read on PostgreSQL): the file is one consistent
    moment of the project even while annotators work.
    """
    specs = _specs()
    by_table = {spec.table: spec for spec in specs}
    options = {"isolation_level": "REPEATABLE READ"} if db.engine.dialect.name == "postgresql" \
        else {}
    with db.engine.connect().execution_options(**options) as conn, conn.begin():
        usernames = dict(conn.execute(select(User.id, User.username)).all())
        counts = {}
        for spec in specs:
            belongs = _belongs(by_table, spec.table, project.id)
            count = conn.execute(select(func.count()).select_from(_table(spec.table))
                                 .where(belongs)).scalar()
            if count:
                counts[spec.table] = count
        writer = BackupWriter(out)
        writer.header(app_version=__version__, schema_revision=_revision(conn),
                      created_at=isoformat(utcnow()), project=project.name, counts=counts)
        for spec in specs:
            table = _table(spec.table)
            to_users = {column for column, target in _foreign_keys(table).items()
                        if target == "user"}
            for row in _rows(conn, table, _belongs(by_table, spec.table, project.id)):
                record = {}
                for column, value in row._mapping.items():
                    if column in spec.transient:
                        continue
                    record[column] = usernames.get(value) if column in to_users and \
                        value is not None else _encode_value(value)
                writer.row(spec.table, record)
        writer.close()
    return dict(writer.counts)


# ---------- restore ----------


class _Restorer:
    """Inserts rows as they are read, translating every id through the maps of new ids."""

    def __init__(self, name: str | None) -> None:
        self.name = name
        self.specs = {spec.table: spec for spec in _specs()}
        self.ids: dict[str, dict[int, int]] = {name: {} for name in self.specs}
        self.users: dict[str, int] = {}
        self.placeholders: list[str] = []
        self.counts: dict[str, int] = {}
        self.pending: list[tuple[int, dict[str, Any]]] = []
        self.pending_table: str | None = None
        self.done: set[str] = set()
        self.deferred: list[tuple[str, int, str, list[Any]]] = []
        self.project: Project | None = None

    # -- values --

    def user_id(self, username: str) -> int:
        if username not in self.users:
            user = db.session.execute(
                select(User).where(User.username == username)).scalar_one_or_none()
            if user is None:
                user = User(username=username, password_hash=PLACEHOLDER_PASSWORD_HASH)
                db.session.add(user)
                db.session.flush()
                self.placeholders.append(username)
            self.users[username] = user.id
        return self.users[username]

    def mapped(self, line: int, table: str, column: str, target: str, old: Any) -> int:
        try:
            return self.ids[target][old]
        except (KeyError, TypeError):
            raise BackupError(f"line {line}: {table}.{column} refers to {target} {old!r}, "
                              f"which is not earlier in the backup",
                              {f"line {line}": f"{column}: unknown {target} id"}) from None

    def _remap_snapshot(self, snapshot: Any, entity: str) -> Any:
        """Ids inside an audit event's before/after record, where this backup knows them."""
        if not isinstance(snapshot, dict):
            return snapshot
        out = dict(snapshot)
        # "id" is the entity's own; "<table>_id" names a row of that table.
        for key, value in snapshot.items():
            target = entity if key == "id" else key.removesuffix("_id")
            if isinstance(value, int) and key.endswith("id") and target in self.ids:
                out[key] = self.ids[target].get(value, value)
        # Claim ids in lists: a gold claim's sources ("source_claim_ids" in a row, "sources"
        # in claim_to_dict) and the claims a deleted proposition was linked to.
        for key in ("source_claim_ids", "sources", "claim_ids"):
            if isinstance(out.get(key), list):
                out[key] = [self.ids["claim"].get(i, i) for i in out[key]]
        if isinstance(out.get("evidence"), list):
            out["evidence"] = [self._remap_snapshot(item, "evidence")
                               for item in out["evidence"]]
        return out

    def _remap_event(self, line: int, values: dict[str, Any]) -> None:
        entity = values.get("entity")
        # Propositions and incidents are deleted outright, so events about a deleted one name a
        # row that is in no backup: they keep their old id, which nothing looks up (the
        # history lives in before/after), rather than refusing the whole file.
        if (entity in self.ids and values.get("entity_id") is not None
                and values["entity_id"] in self.ids[entity]):
            values["entity_id"] = self.mapped(line, "audit_event", "entity_id", entity,
                                              values["entity_id"])
        for key in ("before", "after"):
            values[key] = self._remap_snapshot(values.get(key), entity)

    def values(self, line: int, name: str, row: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        table = _table(name)
        spec = self.specs[name]
        unknown = sorted(set(row) - set(table.columns.keys()))
        if unknown:
            raise BackupError(f"line {line}: table {name} has no column {unknown[0]!r} "
                              "(a backup from a newer annotator?)",
                              {f"line {line}": f"unknown column {unknown[0]}"})
        values = dict(row)
        old_id = values.pop("id")
        for column, target in _foreign_keys(table).items():
            if values.get(column) is None:
                continue
            if target == "user":
                values[column] = self.user_id(str(values[column]))
            elif column == "project_id" or target == "project":
                values[column] = self.project.id if self.project else None
            else:
                values[column] = self.mapped(line, name, column, target, values[column])
        for column, target in spec.refs.items():
            if values.get(column) is not None:
                values[column] = self.mapped(line, name, column, target, values[column])
        if name == "audit_event":
            self._remap_event(line, values)
        for column in table.columns:
            value = values.get(column.name)
            if isinstance(value, str) and isinstance(column.type, DateTime):
                values[column.name] = _parse_time(line, column.name, value)
            elif isinstance(value, str) and isinstance(column.type, LargeBinary):
                values[column.name] = base64.b64decode(value)
        return old_id, values

    # -- rows --

    def add(self, line: int, name: str, row: dict[str, Any]) -> None:
        if name not in self.specs:
            raise BackupError(f"line {line}: unknown table {name!r} (a backup from a newer "
                              "annotator?)", {f"line {line}": f"unknown table {name}"})
        if name != self.pending_table:
            self.flush()
            if self.pending_table is not None:
                self.done.add(self.pending_table)
            if name in self.done:
                raise BackupError(f"line {line}: rows of {name} after other tables' rows",
                                  {f"line {line}": "out of order"})
            self.pending_table = name
        if name == "project":
            self.add_project(line, row)
            return
        if self.project is None:
            raise BackupError(f"line {line}: a {name} row before the project row",
                              {f"line {line}": "out of order"})
        old_id, values = self.values(line, name, row)
        for column in self.specs[name].id_lists:
            if isinstance(values.get(column), list):
                # Set once every row is in: the list may name rows of this same batch.
                self.deferred.append((name, old_id, column, values[column]))
                values[column] = None
        self.pending.append((old_id, values))
        if len(self.pending) >= BATCH:
            self.flush()

    def add_project(self, line: int, row: dict[str, Any]) -> None:
        if self.project is not None:
            raise BackupError(f"line {line}: a second project row",
                              {f"line {line}": "one project per backup"})
        _, values = self.values(line, "project", row)
        values["name"] = self.name or values.get("name")
        if db.session.execute(select(Project.id).where(Project.name == values["name"])).first():
            raise BackupError(f"a project named {values['name']!r} exists; restore it under "
                              "another name (--as NEW_NAME)",
                              {"name": f"a project '{values['name']}' exists"})
        table = _table("project")
        new_id = db.session.execute(insert(table).returning(table.c.id), values).scalar_one()
        self.ids["project"][row["id"]] = new_id
        self.counts["project"] = 1
        self.project = db.session.get(Project, new_id)

    def flush(self) -> None:
        if not self.pending:
            return
        name = self.pending_table
        table = _table(name)
        new_ids = db.session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True),
            [values for _, values in self.pending]).scalars().all()
        self.ids[name].update(zip((old for old, _ in self.pending), new_ids, strict=True))
        self.counts[name] = self.counts.get(name, 0) + len(new_ids)
        self.pending = []

    def finish(self) -> None:
        """Insert what is buffered, then the id lists (they may name later rows)."""
        self.flush()
        for name, old_id, column, old_ids in self.deferred:
            target = self.specs[name].id_lists[column]
            table = _table(name)
            new = [self.ids[target].get(i) for i in old_ids]
            if None in new:
                missing = old_ids[new.index(None)]
                raise BackupError(f"{name} {old_id}: {column} names {target} {missing}, which "
                                  "is not in the backup", {column: f"unknown {target} id"})
            # Columns with an onupdate (updated_at) keep their restored value.
            kept = {c.name: c for c in table.columns if c.onupdate is not None}
            db.session.execute(update(table).where(table.c.id == self.ids[name][old_id])
                               .values({column: new, **kept}))


def _parse_time(line: int, column: str, value: str) -> datetime:
    try:
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise BackupError(f"line {line}: {column} is not a date-time: {value!r}",
                          {f"line {line}": f"{column}: not a date-time"}) from None


def restore_backup(source: IO[bytes], *, name: str | None = None) -> RestoreResult:
    """Restore a backup (binary stream) as a new project, named `name` or as it was.

    All or nothing: raises BackupError (naming the line) for a corrupt, truncated, altered
    or too-new file, or when the project name is taken, and then nothing is stored.
    """
    if name is not None and not 1 <= len(name.strip()) <= 200:
        raise InvalidInput("cannot restore", {"name": "must be 1 to 200 characters"})
    restorer = _Restorer(name.strip() if name else None)
    try:
        for line, kind, payload in read_backup(source):
            if kind != "header":
                restorer.add(line, kind, payload)
        if restorer.project is None:
            raise BackupError("the backup has no project row", {"project": "missing"})
        restorer.finish()
        db.session.commit()
    except BackupFormatError as exc:
        db.session.rollback()
        raise BackupError(str(exc), {f"line {exc.line}": exc.problem}) from None
    except IntegrityError as exc:
        db.session.rollback()
        raise BackupError(f"the backup breaks a rule of this database: {exc.orig}",
                          {"(file)": "conflicts with this database"}) from None
    except BaseException:
        db.session.rollback()
        raise
    return RestoreResult(project=restorer.project, counts=restorer.counts,
                         placeholders=restorer.placeholders)


def backup_tables() -> list[str]:
    """The tables a backup holds, parents first."""
    return [spec.table for spec in _specs()]
