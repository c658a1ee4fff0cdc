"""Many rows into one table with one executemany, without SQLAlchemy's per-row work.

`session.execute(insert(table), rows)` runs every value of every row through the
statement's parameter machinery and the column types' bind processors: for an import of
2,000 documents with 10,000 claims that was about half of the import's time (issue 7's
side-by-side benchmark). Here the statement is compiled once per table, column set and
dialect, each column's processor is looked up once, and a value that is the same object as
the previous row's (the batch's one timestamp, a user id) is processed once. The DBAPI gets
plain tuples (positional parameters: sqlite3's qmark, psycopg's format) through
``exec_driver_sql``, on the session's connection and so in its transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.engine import Dialect

_Processor = Callable[[Any], Any] | None
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


@cache
def _plan(table: Table, keys: tuple[str, ...], dialect: Dialect
          ) -> tuple[str, tuple[_Processor, ...]]:
    """(the INSERT of `keys` into `table`, in that order, with positional parameters; each
    column's bind processor) on `dialect`."""
    placeholder = _PLACEHOLDERS.get(dialect.paramstyle)
    if placeholder is None:
        raise ValueError(f"bulk inserts do not support the {dialect.paramstyle} paramstyle")
    quote = dialect.identifier_preparer.quote
    columns = [table.c[key] for key in keys]
    # Only names from the table's metadata, quoted by the dialect; every value is a parameter.
    table_name = dialect.identifier_preparer.format_table(table)
    names = ", ".join(quote(column.name) for column in columns)
    marks = ", ".join([placeholder] * len(columns))
    sql = f"INSERT INTO {table_name} ({names}) VALUES ({marks})"  # noqa: S608
    processors = tuple(column.type.dialect_impl(dialect).bind_processor(dialect)
                       for column in columns)
    return sql, processors


def _defaults(table: Table, given: Sequence[str]) -> dict[str, Any]:
    """The Python-side defaults of the columns the rows leave out, one value for the whole
    statement (an INSERT in the ORM or Core would fill them in)."""
    values: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if column.key in given or default is None:
            continue
        if getattr(default, "is_scalar", False):
            values[column.key] = default.arg  # type: ignore[attr-defined]
        elif getattr(default, "is_callable", False):
            values[column.key] = default.arg(None)  # type: ignore[attr-defined]
        else:  # a SQL expression or a sequence: compile through insert(table) instead
            raise ValueError(f"cannot bulk-insert {table.name}: {column.key} has a "
                             "default this helper does not evaluate")
    return values


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]], *,
                ready: Collection[str] = ()) -> None:
    """INSERT `rows` (dicts with the same keys: column keys) into `table` in one executemany.

    Columns the rows leave out get their Python-side default, as with ``insert(table)``;
    no primary keys are returned. The columns named in `ready` hold values the database
    takes as they are (a JSON column's JSON text): their type's processing is skipped.
    """
    if not rows:
        return
    given = tuple(rows[0])
    defaults = _defaults(table, given)
    sql, processors = _plan(table, given + tuple(defaults), connection.dialect)
    # The defaults are one value per statement: processed once, the same tail on every row.
    tail = tuple(value if processor is None or value is None else processor(value)
                 for value, processor in zip(defaults.values(), processors[len(given):],
                                             strict=True))
    processed = [(index, processor) for index, processor in enumerate(processors[:len(given)])
                 if processor is not None and given[index] not in ready]
    last_raw: list[Any] = [object()] * len(given)
    last_done: list[Any] = [None] * len(given)
    prepared: list[tuple[Any, ...]] = []
    for row in rows:
        values = [row[key] for key in given]
        for index, processor in processed:
            value = values[index]
            if value is None:
                continue
            if value is last_raw[index]:
                values[index] = last_done[index]
            else:
                last_raw[index] = value
                values[index] = last_done[index] = processor(value)
        prepared.append((*values, *tail))
    connection.exec_driver_sql(sql, prepared)
