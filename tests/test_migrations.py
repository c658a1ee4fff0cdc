"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import select

from annotator.db import db


def test_migrated_database_matches_the_models(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "compare_server_default": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_database_is_at_the_single_head_revision(app):
    config = current_app.extensions["migrate"].migrate.get_config()
    script = ScriptDirectory.from_config(config)
    heads = script.get_heads()
    assert len(heads) == 1
    with db.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == heads[0]


def test_0008_puts_old_link_events_in_their_claims_history(document, client, token_for):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import select

    from annotator.models import AuditEvent
    from annotator.services import claims, users
    from tests.conftest import SAMPLE_TEXT, span

    alice = users.by_username("alice")
    alice_id, project_id = alice.id, document.project_id
    start, end = span(SAMPLE_TEXT, "no aircraft was lost")
    claim_id = claims.create_claim(alice, document, {
        "start": start, "end": end, "text": "no aircraft was lost", "stance": "denies"}).id
    # As link events were written before 0008: no claim_id. One names a claim that is gone.
    for entity_id, action in ((claim_id, "link"), (claim_id, "unlink"), (claim_id + 99, "link")):
        db.session.add(AuditEvent(user_id=alice_id, project_id=project_id,
                                  action=action, entity="claim", entity_id=entity_id,
                                  before=None, after={"proposition_id": 7}))
    db.session.commit()
    db.session.remove()
    downgrade(revision="0007")
    upgrade()
    events = db.session.execute(select(AuditEvent.action, AuditEvent.entity_id,
                                       AuditEvent.claim_id)
                                .where(AuditEvent.action.in_(("link", "unlink")))
                                .order_by(AuditEvent.id)).all()
    assert [tuple(e) for e in events] == [("link", claim_id, claim_id),
                                          ("unlink", claim_id, claim_id),
                                          ("link", claim_id + 99, None)]
    history = client.get(f"/api/v1/claims/{claim_id}/history",
                         headers=token_for("alice")).get_json()
    assert [e["action"] for e in history] == ["create", "link", "unlink"]



def test_0009_keys_accepted_claims_and_keeps_a_raced_second_one_unkeyed(document):
    """Before 0009 two racing accepts could store two live claims from one suggestion: the
    first gets the key (under the unique index), the second stays, unkeyed; a deleted one
    gets its key, a manual one none."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade
    from sqlalchemy.exc import IntegrityError

    from annotator.models import Claim, utcnow
    from annotator.services import users
    from tests.conftest import SAMPLE_TEXT, span

    alice_id = users.by_username("alice").id
    start, end = span(SAMPLE_TEXT, "no aircraft was lost")
    document_id = document.id
    db.session.remove()
    downgrade(revision="0008")
    # The claim table as 0008 left it: every column of the model but suggestion_key.
    old_claim = sa.table("claim", *(sa.column(c.name, c.type) for c in Claim.__table__.c
                                    if c.name != "suggestion_key"))

    def stored(origin: str, deleted: bool = False) -> int:
        row = {"document_id": document_id, "annotator_id": alice_id, "start": start,
               "end": end, "text": "no aircraft was lost", "stance": "denies", "note": "",
               "scheme_version": 1, "is_gold": False, "rejected": False, "version": 1,
               "created_at": utcnow(), "updated_at": utcnow(), "origin": origin,
               "deleted_at": utcnow() if deleted else None,
               "suggestion": ({"start": start, "end": end, "source": "rules"}
                              if origin == "suggestion" else None)}
        with db.engine.begin() as connection:
            return connection.execute(sa.insert(old_claim).values(row)
                                      .returning(old_claim.c.id)).scalar_one()

    deleted, first, raced, manual = (stored("suggestion", deleted=True), stored("suggestion"),
                                     stored("suggestion"), stored("manual"))
    upgrade()
    keys = dict(db.session.execute(select(Claim.id, Claim.suggestion_key)).all())
    assert keys == {deleted: f"{start}-{end}", first: f"{start}-{end}", raced: None,
                    manual: None}
    # The index holds from now on: the raced claim cannot take the key while the first lives.
    with pytest.raises(IntegrityError):
        db.session.execute(sa.update(Claim.__table__).where(Claim.id == raced)
                           .values(suggestion_key=f"{start}-{end}"))
        db.session.flush()
    db.session.rollback()


def test_downgrades_that_rebuild_the_claim_table_keep_its_evidence(document):
    """SQLite's batch migrations copy a table and drop the old one: with foreign keys on,
    the drop cascaded to every evidence item (0009's and 0006's downgrades)."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import func

    from annotator.models import Evidence
    from annotator.services import claims, users
    from tests.conftest import SAMPLE_TEXT, span

    start, end = span(SAMPLE_TEXT, "no aircraft was lost")
    claims.create_claim(users.by_username("alice"), document, {
        "start": start, "end": end, "text": "no aircraft was lost", "stance": "denies",
        "evidence": [{"type": "other", "relation": "supports", "description": "kept"}]})
    db.session.remove()
    downgrade(revision="0005")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM evidence").scalar() == 1
    upgrade()
    assert db.session.scalar(select(func.count()).select_from(Evidence)) == 1
    with db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":  # and the app's connections still enforce them
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
