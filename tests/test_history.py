"""History: every change to a claim or an evidence item is an audit event; deletes are soft;
managers restore deleted claims; nothing saved is lost."""

from __future__ import annotations

from sqlalchemy import select

from annotator.db import db
from annotator.models import AuditEvent, Claim, Evidence
from tests.conftest import SAMPLE_TEXT, span

NEEDLE = "a helicopter was shot down"
EVIDENCE = "machine-gun fire"


def _body(**extra):
    start, end = span(SAMPLE_TEXT, NEEDLE)
    e_start, e_end = span(SAMPLE_TEXT, EVIDENCE)
    return {"start": start, "end": end, "text": NEEDLE, "stance": "asserts",
            "evidence": [{"type": "video", "relation": "contradicts", "description": "first",
                          "start": e_start, "end": e_end, "text": EVIDENCE}], **extra}


def _create(client, document, headers):
    response = client.post(f"/api/v1/documents/{document.id}/claims", json=_body(),
                           headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_editing_evidence_keeps_its_identity_and_is_audited(client, document, token_for):
    alice = token_for("alice")
    claim = _create(client, document, alice)
    evidence_id = claim["evidence"][0]["id"]
    changed = [{**claim["evidence"][0], "description": "second"},
               {"type": "image", "relation": "supports", "description": "new one"}]

    patched = client.patch(f"/api/v1/claims/{claim['id']}", headers=alice,
                           json={"version": claim["version"], "evidence": changed})

    assert patched.status_code == 200, patched.get_json()
    after = patched.get_json()["evidence"]
    assert after[0]["id"] == evidence_id and after[0]["description"] == "second"
    assert after[1]["id"] != evidence_id
    events = [(e["action"], e["entity"]) for e in
              client.get(f"/api/v1/claims/{claim['id']}/history", headers=alice).get_json()]
    assert events == [("create", "claim"), ("create", "evidence"), ("update", "claim"),
                      ("update", "evidence"), ("create", "evidence")]


def test_removed_evidence_is_soft_deleted_and_in_the_history(client, document, token_for):
    alice = token_for("alice")
    claim = _create(client, document, alice)
    evidence_id = claim["evidence"][0]["id"]

    patched = client.patch(f"/api/v1/claims/{claim['id']}", headers=alice,
                           json={"version": claim["version"], "evidence": []})

    assert patched.get_json()["evidence"] == []
    db.session.rollback()
    row = db.session.get(Evidence, evidence_id)
    assert row is not None and row.deleted_at is not None and row.description == "first"
    history = client.get(f"/api/v1/claims/{claim['id']}/history", headers=alice).get_json()
    deletion = [e for e in history if e["entity"] == "evidence" and e["action"] == "delete"]
    assert deletion[0]["before"]["description"] == "first" and deletion[0]["after"] is None
    assert deletion[0]["user"] == "alice"


def test_evidence_id_of_another_claim_is_refused(client, document, token_for):
    alice = token_for("alice")
    first, second = _create(client, document, alice), _create(client, document, alice)
    stolen = first["evidence"][0]

    response = client.patch(f"/api/v1/claims/{second['id']}", headers=alice,
                            json={"version": second["version"], "evidence": [stolen]})

    assert response.status_code == 422
    assert "evidence.0.id" in response.get_json()["fields"]
    db.session.rollback()
    assert db.session.get(Evidence, stolen["id"]).claim_id == first["id"]


def test_history_records_before_and_after(client, document, token_for):
    alice = token_for("alice")
    claim = _create(client, document, alice)
    client.patch(f"/api/v1/claims/{claim['id']}", headers=alice,
                 json={"version": claim["version"], "stance": "denies"})
    history = client.get(f"/api/v1/claims/{claim['id']}/history", headers=alice).get_json()
    update = next(e for e in history if e["action"] == "update" and e["entity"] == "claim")
    assert update["before"]["stance"] == "asserts" and update["after"]["stance"] == "denies"
    assert update["at"].endswith("Z")


def test_manager_lists_and_restores_deleted_claims(client, document, token_for):
    alice, maria = token_for("alice"), token_for("maria")
    claim = _create(client, document, alice)
    assert client.delete(f"/api/v1/claims/{claim['id']}", headers=alice).status_code == 204

    deleted = client.get(f"/api/v1/documents/{document.id}/claims?deleted=true",
                         headers=maria).get_json()
    assert [c["id"] for c in deleted] == [claim["id"]] and deleted[0]["deleted_at"]

    restored = client.post(f"/api/v1/claims/{claim['id']}/restore", headers=maria)
    assert restored.status_code == 200
    visible = client.get(f"/api/v1/documents/{document.id}/claims", headers=alice).get_json()
    assert [c["id"] for c in visible] == [claim["id"]]
    assert visible[0]["evidence"][0]["text"] == EVIDENCE  # restored whole
    actions = [e["action"] for e in
               client.get(f"/api/v1/claims/{claim['id']}/history", headers=maria).get_json()
               if e["entity"] == "claim"]
    assert actions == ["create", "delete", "restore"]


def test_annotators_cannot_restore_or_list_deleted(client, document, token_for):
    alice, bob = token_for("alice"), token_for("bob")
    claim = _create(client, document, alice)
    client.delete(f"/api/v1/claims/{claim['id']}", headers=alice)

    assert client.post(f"/api/v1/claims/{claim['id']}/restore",
                       headers=alice).status_code == 404
    assert client.post(f"/api/v1/claims/{claim['id']}/restore", headers=bob).status_code == 404
    assert client.get(f"/api/v1/documents/{document.id}/claims?deleted=true",
                      headers=alice).status_code == 403
    assert client.get(f"/api/v1/claims/{claim['id']}/history", headers=alice).status_code == 404
    db.session.rollback()
    assert db.session.get(Claim, claim["id"]).deleted_at is not None


def test_blind_history_is_not_readable_by_other_annotators(client, document, token_for):
    claim = _create(client, document, token_for("alice"))
    response = client.get(f"/api/v1/claims/{claim['id']}/history", headers=token_for("bob"))
    assert response.status_code == 404
    assert NEEDLE not in response.get_data(as_text=True)


def test_every_write_leaves_an_event_with_its_claim(client, document, token_for):
    alice = token_for("alice")
    claim = _create(client, document, alice)
    client.patch(f"/api/v1/claims/{claim['id']}", headers=alice,
                 json={"version": claim["version"], "note": "n"})
    client.delete(f"/api/v1/claims/{claim['id']}", headers=alice)
    db.session.rollback()
    events = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    assert {e.claim_id for e in events} == {claim["id"]}
    assert [e.action for e in events if e.entity == "claim"] == ["create", "update", "delete"]
