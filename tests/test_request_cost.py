"""What the hot API requests cost the database: statements per request (each one a round trip
on PostgreSQL), and reads outside any transaction (on PostgreSQL: no BEGIN, no ROLLBACK)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from annotator.db import db
from tests.conftest import SAMPLE_TEXT, span

NEEDLE = "a helicopter was shot down"


def _in_transaction(dbapi: Any) -> bool:
    if hasattr(dbapi, "in_transaction"):  # sqlite3
        return bool(dbapi.in_transaction)
    return dbapi.info.transaction_status != 0  # psycopg: 0 is IDLE, no transaction open


@pytest.fixture
def statements(app) -> Iterator[list[tuple[str, bool]]]:
    """(statement, a transaction open after it ran?) for everything the app runs meanwhile."""
    seen: list[tuple[str, bool]] = []

    def record(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append((" ".join(statement.split()),
                     _in_transaction(conn.connection.dbapi_connection)))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", record)
    yield seen
    event.remove(engine, "after_cursor_execute", record)


def _claim(**extra: Any) -> dict[str, Any]:
    start, end = span(SAMPLE_TEXT, NEEDLE)
    return {"start": start, "end": end, "text": NEEDLE, "stance": "asserts", **extra}


def _run(client, statements, method: str, url: str, headers: dict[str, str],
         **kwargs: Any) -> tuple[Any, list[tuple[str, bool]]]:
    client.open(url, method=method, headers=headers, **kwargs)  # warm: tokens, caches
    statements.clear()
    response = client.open(url, method=method, headers=headers, **kwargs)
    return response, list(statements)


def test_hot_requests_stay_within_their_statement_counts(client, document, token_for,
                                                         statements) -> None:
    alice = token_for("alice")
    url = f"/api/v1/documents/{document.id}"
    db.session.commit()

    response, ran = _run(client, statements, "GET", f"{url}?include=claims", alice)
    assert response.status_code == 200
    assert len(ran) <= 4, ran  # token, document with role and assignment, claims, evidence

    response, ran = _run(client, statements, "POST", f"{url}/claims", alice,
                         json=_claim(note="one"))
    assert response.status_code in (200, 201)
    assert len(ran) <= 4, ran  # token, document, INSERT claim, INSERT audit
    claim = response.get_json()

    client.post(f"/api/v1/projects/{document.project_id}/actors",
                headers=token_for("maria"), json={"name": "Local sources"})
    response, ran = _run(client, statements, "POST", f"{url}/claims", alice, json=_claim(
        note="two", actor="Local sources",
        evidence=[{"type": "video", "relation": "contradicts", "description": "Amaq"}]))
    assert response.status_code in (200, 201), response.get_json()
    # token, document, actor, INSERT claim, INSERT evidence, one INSERT of both audit events
    assert len(ran) <= 6, ran
    with_evidence = response.get_json()

    statements.clear()
    response = client.patch(f"/api/v1/claims/{claim['id']}", headers=alice,
                            json={"version": claim["version"], "note": "edited"})
    assert response.status_code == 200, response.get_json()
    # token, claim with document/project/role/assignment, evidence, UPDATE, INSERT audit
    assert len(statements) <= 5, statements

    statements.clear()
    response = client.patch(f"/api/v1/claims/{with_evidence['id']}", headers=alice, json={
        "version": with_evidence["version"], "stance": "denies",
        "evidence": [{"type": "other", "relation": "inconclusive", "description": "new"}]})
    assert response.status_code == 200, response.get_json()
    edited = response.get_json()
    assert (edited["actor"], [e["description"] for e in edited["evidence"]]) == \
        ("Local sources", ["new"])
    # token, claim with its document, project, role, assignment and actor, evidence,
    # UPDATE claim, UPDATE (soft-delete) and INSERT evidence, one INSERT of the audit events
    assert len(statements) <= 7, statements

    statements.clear()
    response = client.put(f"{url}/status", headers=alice, json={"status": "done"})
    assert response.status_code == 200
    assert len(statements) <= 4, statements  # token, document, UPDATE, next document

    response, ran = _run(client, statements, "GET",
                         f"/api/v1/projects/{document.project_id}/documents", alice)
    assert response.status_code == 200
    assert len(ran) <= 5, ran  # token, project with role, statuses, counts, documents


def test_reads_run_outside_a_transaction_writes_inside_one(client, document, token_for,
                                                           statements) -> None:
    alice = token_for("alice")
    url = f"/api/v1/documents/{document.id}"
    db.session.commit()
    db.session.close()  # the request gets a session of its own, as under a server

    response, ran = _run(client, statements, "GET", f"{url}?include=claims", alice)
    assert response.status_code == 200
    assert ran and not any(in_transaction for _, in_transaction in ran), ran

    statements.clear()
    response = client.post(f"{url}/claims", headers=alice, json=_claim())
    assert response.status_code == 201
    writes = [(sql, open_) for sql, open_ in statements if sql.startswith("INSERT")]
    assert len(writes) == 2 and all(open_ for _, open_ in writes), statements
