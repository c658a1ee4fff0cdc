"""Creates carry an idempotency key (client_id): a create sent again after a lost response
returns the claim the first one stored, never a second claim."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from annotator.db import db
from annotator.models import AuditEvent, Claim, Document
from annotator.services import claims, users
from tests.conftest import SAMPLE_TEXT, span

NEEDLE = "a helicopter was shot down"


def body_for(needle: str = NEEDLE, **extra):
    start, end = span(SAMPLE_TEXT, needle)
    return {"start": start, "end": end, "text": needle, "stance": "asserts", **extra}


def claim_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Claim))


def test_a_replayed_create_returns_the_first_claim_and_stores_one(client, document, token_for):
    key = str(uuid.uuid4())
    url = f"/api/v1/documents/{document.id}/claims"
    first = client.post(url, json=body_for(client_id=key), headers=token_for("alice"))
    again = client.post(url, json=body_for(client_id=key), headers=token_for("alice"))

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    assert claim_count() == 1
    assert db.session.scalar(select(Claim.client_id)) == key
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 1


def test_the_key_is_per_annotator_and_other_keys_make_new_claims(client, document, token_for):
    key = str(uuid.uuid4())
    url = f"/api/v1/documents/{document.id}/claims"
    mine = client.post(url, json=body_for(client_id=key), headers=token_for("alice"))
    bobs = client.post(url, json=body_for(client_id=key), headers=token_for("bob"))
    other = client.post(url, json=body_for(client_id=str(uuid.uuid4())),
                        headers=token_for("alice"))
    plain = client.post(url, json=body_for(), headers=token_for("alice"))

    assert [r.status_code for r in (mine, bobs, other, plain)] == [201, 201, 201, 201]
    assert len({r.get_json()["id"] for r in (mine, bobs, other, plain)}) == 4
    assert claim_count() == 4


def test_a_key_reused_on_another_document_is_422(client, document, token_for):
    second = db.session.scalar(select(Document).where(
        Document.project_id == document.project_id, Document.external_id == "d2"))
    key = str(uuid.uuid4())
    client.post(f"/api/v1/documents/{document.id}/claims", json=body_for(client_id=key),
                headers=token_for("alice"))
    other = client.post(f"/api/v1/documents/{second.id}/claims",
                        json={"start": 0, "end": 1, "text": "A", "stance": "asserts",
                              "client_id": key}, headers=token_for("alice"))
    assert other.status_code == 422
    assert "client_id" in other.get_json()["fields"]
    assert claim_count() == 1


def test_an_edit_cannot_carry_a_client_id(client, document, token_for):
    created = client.post(f"/api/v1/documents/{document.id}/claims", json=body_for(),
                          headers=token_for("alice")).get_json()
    response = client.patch(f"/api/v1/claims/{created['id']}",
                            json={"version": 1, "client_id": str(uuid.uuid4())},
                            headers=token_for("alice"))
    assert response.status_code == 422
    assert "client_id" in response.get_json()["fields"]


def test_a_race_on_one_key_meets_the_unique_constraint(app, document, monkeypatch):
    """The second of two racing creates fails to insert; it returns the first's claim."""
    alice = users.by_username("alice")
    key = str(uuid.uuid4())
    first, created = claims.create_claim_once(alice, document, body_for(client_id=key))
    assert created
    # As if the second request had looked before the first committed: the lookup misses.
    original = claims.claim_by_client_id
    calls = []

    def miss_once(user, client_id):
        calls.append(client_id)
        return None if len(calls) == 1 else original(user, client_id)

    monkeypatch.setattr(claims, "claim_by_client_id", miss_once)
    second, created = claims.create_claim_once(alice, document, body_for(client_id=key))
    assert (second.id, created) == (first.id, False)
    assert len(calls) == 2
    assert claim_count() == 1
