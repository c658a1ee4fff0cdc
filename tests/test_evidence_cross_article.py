"""Evidence quoting another article: a reader who may not open that article never gets its
text, by any path (claim, claim lists, history, pages); the manager's exports keep it all."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event

import exports
from annotator.db import db
from annotator.models import Assignment, Claim, Document
from annotator.services import claims, documents, exporting, propositions, users
from tests.conftest import SAMPLE_TEXT, span

SECRET = "The informant Rahim Qasemi crossed at the northern checkpoint"
OTHER_TEXT = f"Closed dossier. {SECRET} before dawn."


@pytest.fixture
def setting(project):
    """Non-blind project: bob and alice are assigned article A; only alice also has B.
    alice's claim on A cites a span of B (created, then edited, so the history has it)."""
    project.blind = False
    documents.import_file(project, "a.jsonl", (
        json.dumps({"id": "A", "title": "Helicopter down", "text": SAMPLE_TEXT}) + "\n"
        + json.dumps({"id": "B", "title": "Dossier", "text": OTHER_TEXT}) + "\n").encode())
    docs = {d.external_id: d for d in db.session.scalars(
        db.select(Document).where(Document.project_id == project.id))}
    alice, bob = users.by_username("alice"), users.by_username("bob")
    for user, names in ((alice, "AB"), (bob, "A")):
        for name in names:
            db.session.add(Assignment(document_id=docs[name].id, user_id=user.id))
    db.session.commit()
    start, end = span(OTHER_TEXT, SECRET)
    own_start, own_end = span(SAMPLE_TEXT, "Local sources")
    needle = "no aircraft was lost"
    c_start, c_end = span(SAMPLE_TEXT, needle)
    claim = claims.create_claim(alice, docs["A"], {
        "start": c_start, "end": c_end, "text": needle, "stance": "denies",
        "evidence": [
            {"type": "official_statement", "relation": "contradicts",
             "document_id": docs["B"].id, "start": start, "end": end},
            {"type": "document", "relation": "supports", "start": own_start, "end": own_end}]})
    items = claims.claim_to_dict(claim)["evidence"]
    items[0]["relation"] = "supports"
    claims.update_claim(alice, claim, {"version": claim.version, "evidence": items})
    proposition = propositions.create_proposition(alice, project, {"text": "Nothing lost"})
    propositions.link_claim(alice, claim, proposition.id)
    return {"A": docs["A"], "B": docs["B"], "claim": claim.id, "proposition": proposition.id}


def _paths(setting) -> list[str]:
    a, cid, prid = setting["A"].id, setting["claim"], setting["proposition"]
    return [f"/api/v1/claims/{cid}", f"/api/v1/claims/{cid}/history",
            f"/api/v1/documents/{a}/claims", f"/api/v1/documents/{a}?include=claims",
            f"/documents/{a}", f"/documents/{a}/review", f"/documents/{a}/compare",
            f"/api/v1/documents/{a}/review", f"/propositions/{prid}",
            f"/api/v1/propositions/{prid}"]


def _bodies(client, paths: list[str]) -> dict[str, tuple[int, str]]:
    bodies = {}
    for path in paths:
        response = client.get(path)
        bodies[path] = (response.status_code, response.get_data(as_text=True))
    return bodies


def test_a_colleague_never_gets_the_text_of_an_article_they_may_not_open(
        setting, client, auth) -> None:
    auth.login("bob")
    bodies = _bodies(client, _paths(setting))
    for path, (status, body) in bodies.items():
        assert status != 500, path
        assert SECRET not in body and "Rahim" not in body, path
    # bob does read alice's claim: the paths above are not empty answers.
    cid, b = setting["claim"], setting["B"].id
    claim = client.get(f"/api/v1/claims/{cid}").get_json()
    hidden, own = claim["evidence"]
    assert hidden == {"id": hidden["id"], "type": "official_statement",
                      "relation": "supports", "description": "", "document_id": b,
                      "start": None, "end": None, "text": None}
    assert own["text"] == "Local sources"  # evidence in the shared article stays whole
    listed = client.get(f"/api/v1/documents/{setting['A'].id}/claims").get_json()
    assert [c["evidence"] for c in listed] == [claim["evidence"]]
    included = client.get(f"/api/v1/documents/{setting['A'].id}?include=claims").get_json()
    assert included["claims"] == listed
    history = client.get(f"/api/v1/claims/{cid}/history").get_json()
    evidence_events = [e for e in history if e["entity"] == "evidence"]
    assert {e["action"] for e in evidence_events} == {"create", "update"}
    for record in [e["before"] for e in evidence_events] + [e["after"] for e in evidence_events]:
        if record and record.get("document_id") == b:
            assert (record["start"], record["end"], record["text"]) == (None, None, None)
    assert bodies[f"/propositions/{setting['proposition']}"][0] == 200


def test_readers_who_may_open_the_article_get_its_text(setting, client, auth) -> None:
    cid = setting["claim"]
    for name in ("alice", "maria"):  # assigned to it; the manager sees every document
        auth.login(name)
        claim = client.get(f"/api/v1/claims/{cid}").get_json()
        assert claim["evidence"][0]["text"] == SECRET
        listed = client.get(f"/api/v1/documents/{setting['A'].id}/claims").get_json()
        assert listed[0]["evidence"][0]["text"] == SECRET
        history = client.get(f"/api/v1/claims/{cid}/history").get_data(as_text=True)
        assert SECRET in history
        client.post("/logout", data={"csrf_token": auth.csrf_token()})


def test_the_claim_list_asks_once_whatever_the_number_of_evidence_items(setting) -> None:
    bob, alice = users.by_username("bob"), users.by_username("alice")
    document = setting["A"]

    def statements() -> int:
        seen: list[str] = []

        def record(_conn, _cursor, statement, *_args) -> None:
            seen.append(statement)

        engine = db.engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            db.session.expire_all()
            listed = claims.listed_claims(bob, db.session.get(type(document), document.id))
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert all(c["evidence"][0]["text"] is None for c in listed)
        return len(seen)

    one = statements()
    start, end = span(OTHER_TEXT, SECRET)
    for needle in ("a helicopter was shot down", "Amaq’s video", "Dispatch from Tadmur"):
        c_start, c_end = span(SAMPLE_TEXT, needle)
        claims.create_claim(alice, document, {
            "start": c_start, "end": c_end, "text": needle, "stance": "asserts",
            "evidence": [{"type": "document", "relation": "supports",
                          "document_id": setting["B"].id, "start": start, "end": end}]})
    assert statements() == one


def test_hugging_face_rows_name_the_article_of_each_evidence_span(setting) -> None:
    from tests.test_exports_formats import assert_valid

    project = setting["A"].project
    records = list(exporting.iter_records(project))
    # The export is the manager's: complete, the other article's quote included.
    (row,) = [r for r in exports.iter_hf_rows(records) if r["claim_id"] == setting["claim"]]
    assert_valid("hf-claim-row.schema.json", row)
    assert row["evidence_document_id"] == [setting["B"].id, -1]
    assert row["evidence_text"] == [SECRET, "Local sources"]
    start, end = span(OTHER_TEXT, SECRET)
    assert (row["evidence_start"][0], row["evidence_end"][0]) == (start, end)
    by_native = {r["document_id"]: r for r in records}
    other = by_native[row["evidence_document_id"][0]]
    assert other["text"][start:end] == SECRET
    assert "evidence_document_id" in exports.HF_FEATURES


def _unassign(user_name: str, document) -> None:
    user = users.by_username(user_name)
    db.session.execute(db.delete(Assignment).where(Assignment.user_id == user.id,
                                                   Assignment.document_id == document.id))
    db.session.commit()


def _stored_evidence(claim_id: int) -> list[tuple]:
    db.session.expire_all()
    return [(e.id, e.document_id, e.start, e.end, e.text, e.relation)
            for e in db.session.get(Claim, claim_id).evidence]


@pytest.fixture
def cut_off(setting):
    """alice, whose claim on A cites B, is no longer assigned B: she may not open it."""
    _unassign("alice", setting["B"])
    return setting


def test_losing_the_cited_article_leaves_the_claim_editable_and_its_span_stored(
        cut_off, client, token_for) -> None:
    cid = cut_off["claim"]
    alice = token_for("alice")
    assert client.get(f"/api/v1/documents/{cut_off['B'].id}", headers=alice).status_code == 404
    stored = _stored_evidence(cid)
    assert stored[0][1:5] == (cut_off["B"].id, *span(OTHER_TEXT, SECRET), SECRET)

    # An edit that leaves the evidence out: before the fix, 422 on evidence.0.document_id.
    response = client.patch(f"/api/v1/claims/{cid}", headers=alice,
                            json={"version": 2, "stance": "questions"})
    assert response.status_code == 200, response.get_json()
    assert SECRET not in response.get_data(as_text=True)
    assert _stored_evidence(cid) == stored

    # The evidence sent back as alice read it (the span withheld), one relation changed.
    served = client.get(f"/api/v1/claims/{cid}", headers=alice).get_json()
    hidden = served["evidence"][0]
    assert (hidden["document_id"], hidden["start"], hidden["text"]) == (cut_off["B"].id, None,
                                                                        None)
    served["evidence"][0]["relation"] = "contradicts"
    response = client.patch(f"/api/v1/claims/{cid}", headers=alice,
                            json={"version": served["version"], "evidence": served["evidence"]})
    assert response.status_code == 200, response.get_json()
    after = _stored_evidence(cid)
    assert after[0][:5] == stored[0][:5] and after[0][5] == "contradicts"
    assert after[1] == stored[1]

    # The page sends a withheld item the same way, by its article alone.
    item = {k: v for k, v in hidden.items() if k not in ("start", "end", "text")}
    response = client.patch(f"/api/v1/claims/{cid}", headers=alice, json={
        "version": served["version"] + 1, "note": "kept",
        "evidence": [item, served["evidence"][1]]})
    assert response.status_code == 200, response.get_json()
    assert [e[:5] for e in _stored_evidence(cid)] == [e[:5] for e in stored]


def test_a_new_span_in_an_article_the_editor_may_not_open_is_still_refused(
        cut_off, client, token_for) -> None:
    cid = cut_off["claim"]
    alice = token_for("alice")
    served = client.get(f"/api/v1/claims/{cid}", headers=alice).get_json()
    stored = _stored_evidence(cid)
    start, end = span(OTHER_TEXT, "Closed dossier")
    moved = {**served["evidence"][0], "start": start, "end": end, "text": "Closed dossier"}
    cited = {"type": "document", "relation": "supports", "document_id": cut_off["B"].id,
             "start": start, "end": end, "text": "Closed dossier"}
    for evidence in ([moved, served["evidence"][1]], [*served["evidence"], cited]):
        response = client.patch(f"/api/v1/claims/{cid}", headers=alice,
                                json={"version": served["version"], "evidence": evidence})
        assert response.status_code == 422, response.get_json()
        body = response.get_json()
        assert any(f.endswith(".document_id") for f in body["fields"]), body
        assert SECRET not in response.get_data(as_text=True)
    assert _stored_evidence(cid) == stored
    # Nor may another claim of hers cite the span she still holds.
    c_start, c_end = span(SAMPLE_TEXT, "Local sources")
    s_start, s_end = span(OTHER_TEXT, SECRET)
    response = client.post(f"/api/v1/documents/{cut_off['A'].id}/claims", headers=alice, json={
        "start": c_start, "end": c_end, "text": "Local sources", "stance": "asserts",
        "evidence": [{"type": "document", "relation": "supports",
                      "document_id": cut_off["B"].id, "start": s_start, "end": s_end}]})
    assert response.status_code == 422


def test_an_edit_may_drop_the_span_it_cannot_read(cut_off, client, token_for) -> None:
    cid = cut_off["claim"]
    alice = token_for("alice")
    served = client.get(f"/api/v1/claims/{cid}", headers=alice).get_json()
    cleared = {k: v for k, v in served["evidence"][0].items()
               if k not in ("document_id", "start", "end", "text")}
    response = client.patch(f"/api/v1/claims/{cid}", headers=alice, json={
        "version": served["version"], "evidence": [cleared, served["evidence"][1]]})
    assert response.status_code == 200, response.get_json()
    first = _stored_evidence(cid)[0]
    assert first[1:5] == (None, None, None, None)


def test_a_replayed_create_or_accept_withholds_what_its_author_may_no_longer_open(
        setting, client, token_for) -> None:
    alice = token_for("alice")
    a, b = setting["A"], setting["B"]
    start, end = span(OTHER_TEXT, SECRET)
    c_start, c_end = span(SAMPLE_TEXT, "Local sources")
    body = {"client_id": "replayed-create-1", "start": c_start, "end": c_end,
            "text": "Local sources", "stance": "asserts",
            "evidence": [{"type": "document", "relation": "supports", "document_id": b.id,
                          "start": start, "end": end, "text": SECRET}]}
    first = client.post(f"/api/v1/documents/{a.id}/claims", json=body, headers=alice)
    assert first.status_code == 201 and first.get_json()["evidence"][0]["text"] == SECRET
    s_start, s_end = span(SAMPLE_TEXT, "Dispatch from Tadmur")
    accepted = claims.create_claim(users.by_username("alice"), a, {
        "start": s_start, "end": s_end, "text": "Dispatch from Tadmur", "stance": "asserts",
        "evidence": body["evidence"]}, suggestion={
        "source": "rules", "start": s_start, "end": s_end, "stance": "asserts", "actor": None,
        "score": 1.0, "edited": False, "model_version": None})
    _unassign("alice", b)

    replay = client.post(f"/api/v1/documents/{a.id}/claims", json=body, headers=alice)
    again = client.post(f"/api/v1/documents/{a.id}/suggestions/{s_start}-{s_end}/accept",
                        headers=alice)
    for answer, claim_id in ((replay, first.get_json()["id"]), (again, accepted.id)):
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["id"] == claim_id
        assert SECRET not in answer.get_data(as_text=True)
        (evidence,) = answer.get_json()["evidence"]
        assert (evidence["document_id"], evidence["start"], evidence["text"]) == (b.id, None,
                                                                                  None)
