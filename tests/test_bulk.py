"""annotator.bulk.insert_rows stores exactly what SQLAlchemy's insert(table) stores."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select

from annotator.bulk import insert_rows
from annotator.db import db
from annotator.models import AuditEvent, Claim, Document, User

NOW = datetime(2026, 11, 22, 14, 30, 5, 123456, tzinfo=UTC)
LATER = datetime(2026, 11, 22, 15, 0, 0, tzinfo=UTC)


def _rows(table_rows: list, skip: set[str]) -> list[dict]:
    return [{k: v for k, v in row._mapping.items() if k not in skip} for row in table_rows]


def test_documents_read_back_as_through_sqlalchemy(project) -> None:
    text = "Emoji \U0001F681, Cyrillic Игорь, NBSP\u00a0and “quotes”."
    meta = {"source": "wire", "tags": ["a", "ß"], "nested": {"n": 1}}
    common = {"project_id": project.id, "title": "T", "text": text, "text_sha256": "0" * 64,
              "created_at": NOW}
    with_helper = [{**common, "external_id": f"bulk-{i}", "meta": meta, "position": i}
                   for i in range(3)]
    # one row's meta a different object: not taken for the previous row's
    with_helper[2]["meta"] = {"other": True}
    through_core = [{**row, "external_id": row["external_id"].replace("bulk", "core")}
                    for row in with_helper]
    insert_rows(db.session.connection(), Document.__table__, with_helper)
    db.session.execute(insert(Document.__table__), through_core)
    db.session.commit()
    table = Document.__table__
    got = db.session.execute(select(table).where(table.c.external_id.like("bulk-%"))
                             .order_by(table.c.position)).all()
    want = db.session.execute(select(table).where(table.c.external_id.like("core-%"))
                              .order_by(table.c.position)).all()
    assert len(got) == 3
    assert _rows(got, {"id", "external_id"}) == _rows(want, {"id", "external_id"})
    assert [row.meta for row in got] == [meta, meta, {"other": True}]
    assert got[0].created_at.replace(tzinfo=UTC) == NOW


def test_left_out_columns_get_their_defaults(document) -> None:
    """Claims without is_gold, note, origin, rejected: the model's defaults, as insert()."""
    alice = db.session.execute(select(User).where(User.username == "alice")).scalar_one()
    base = {"document_id": document.id, "annotator_id": alice.id, "start": 0, "end": 8,
            "text": document.text[0:8], "stance": "asserts", "scheme_version": 1,
            "version": 1, "created_at": NOW, "updated_at": LATER}
    insert_rows(db.session.connection(), Claim.__table__, [dict(base), dict(base)])
    db.session.execute(insert(Claim.__table__), [{**base, "start": 1, "end": 9,
                                                  "text": document.text[1:9]}])
    db.session.commit()
    stored = db.session.execute(select(Claim).order_by(Claim.id)).scalars().all()
    assert len(stored) == 3
    for claim in stored:
        assert (claim.is_gold, claim.note, claim.origin, claim.rejected, claim.verdict) == \
               (False, "", "manual", False, None)
    assert stored[0].updated_at.replace(tzinfo=UTC) == LATER


def test_json_none_and_values_in_audit_rows(project) -> None:
    rows = [{"user_id": None, "project_id": project.id, "action": "create", "entity": "claim",
             "entity_id": i, "claim_id": i, "before": None,
             "after": {"id": i, "text": "ок", "evidence": []}, "at": NOW} for i in (1, 2)]
    insert_rows(db.session.connection(), AuditEvent.__table__, rows)
    db.session.commit()
    stored = db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
    assert [(e.entity_id, e.before, e.after["text"]) for e in stored] == \
           [(1, None, "ок"), (2, None, "ок")]


def test_rows_roll_back_with_the_session(project) -> None:
    insert_rows(db.session.connection(), Document.__table__, [
        {"project_id": project.id, "external_id": "gone", "text": "x", "text_sha256": "0",
         "position": 1}])
    db.session.rollback()
    assert db.session.execute(select(Document.id).where(Document.external_id == "gone")
                              ).first() is None


def test_empty_rows_do_nothing(project) -> None:
    insert_rows(db.session.connection(), Document.__table__, [])
    assert db.session.execute(select(Document.id)).first() is None


def test_unknown_column_is_refused(project) -> None:
    with pytest.raises(KeyError):
        insert_rows(db.session.connection(), Document.__table__, [{"no_such_column": 1}])


def test_ready_json_text_is_stored_as_it_is(project) -> None:
    """A `ready` JSON column takes JSON text and reads back as the object it spells."""
    text = '{"id": 7, "text": "\\u043e\\u043a \\"quoted\\"", "evidence": []}'
    insert_rows(db.session.connection(), AuditEvent.__table__, [
        {"user_id": None, "project_id": project.id, "action": "create", "entity": "claim",
         "entity_id": 7, "claim_id": 7, "before": None, "after": text, "at": NOW}],
        ready={"after"})
    db.session.commit()
    stored = db.session.execute(select(AuditEvent)).scalar_one()
    assert stored.after == {"id": 7, "text": 'ок "quoted"', "evidence": []}


def test_plain_rows_read_as_the_result_rows_by_name_and_by_position(project) -> None:
    from annotator.db import plain_rows

    document = Document(project_id=project.id, external_id="plain", title="T",
                        text="Plain rows.", text_sha256="1" * 64, meta={"k": [1]}, position=1,
                        created_at=NOW)
    db.session.add(document)
    db.session.flush()
    statement = (select(Document.__table__, Document.text.label("again"))
                 .where(Document.id == document.id))
    expected = db.session.connection().execute(statement).all()

    found = plain_rows(db.session.connection().execute(statement))

    assert [tuple(row) for row in found] == [tuple(row) for row in expected]
    (row,) = found
    assert (row.id, row.title, row.meta, row.again) == (document.id, "T", {"k": [1]},
                                                         "Plain rows.")
    assert row.created_at == expected[0].created_at
    assert plain_rows(db.session.connection().execute(statement.where(Document.id < 0))) == []
