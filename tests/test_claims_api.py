"""The claims API: the offsets contract, the label scheme, versions, soft deletes, the audit
trail and blind annotation."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from annotator.db import db
from annotator.models import Actor, AuditEvent, Claim, Evidence, Project
from annotator.validation import validator
from tests.conftest import SAMPLE_TEXT, span

NEEDLE = "a helicopter was shot down"


def claims_url(document) -> str:
    return f"/api/v1/documents/{document.id}/claims"


def body_for(needle: str = NEEDLE, **extra: Any) -> dict[str, Any]:
    start, end = span(SAMPLE_TEXT, needle)
    return {"start": start, "end": end, "text": needle, "stance": "asserts", **extra}


def stored_claims(*, include_deleted: bool = True) -> list[Claim]:
    """What the server committed (the test's own session is refreshed first)."""
    db.session.rollback()
    query = select(Claim).order_by(Claim.id)
    if not include_deleted:
        query = query.where(Claim.deleted_at.is_(None))
    return list(db.session.scalars(query))


def count(model: type) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def create(client, headers: dict[str, str], document, **body: Any) -> dict[str, Any]:
    response = client.post(claims_url(document), json=body_for(**body), headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# ---------- creating: the offsets contract and the label scheme ----------


def test_create_claim_returns_201_matching_the_claim_schema(client, document, token_for):
    body = body_for(verdict="refuted", note="checked against the video")
    response = client.post(claims_url(document), json=body, headers=token_for("alice"))

    assert response.status_code == 201
    created = response.get_json()
    validator("claim.schema.json").validate(created)
    assert response.headers["Location"] == f"/api/v1/claims/{created['id']}"
    assert {k: created[k] for k in body} == body
    assert created["annotator"] == "alice"
    assert created["version"] == 1
    [claim] = stored_claims()
    assert (claim.id, claim.start, claim.end, claim.text, claim.stance, claim.verdict) == (
        created["id"], body["start"], body["end"], NEEDLE, "asserts", "refuted")


def test_answers_keep_the_claims_key_order(client, document, token_for):
    """id first, as the schema and the exports list them; not sorted (actor, annotator...)."""
    created = create(client, token_for("alice"), document)
    answer = client.get(f"/api/v1/claims/{created['id']}", headers=token_for("alice"))
    keys = list(json.loads(answer.get_data()))  # json.loads keeps the order of the text
    assert keys[:7] == ["id", "version", "document_id", "annotator", "start", "end", "text"]


def test_timestamps_are_rfc3339_with_a_utc_offset(client, document, token_for):
    created = create(client, token_for("alice"), document)
    for field in ("created_at", "updated_at"):
        moment = datetime.fromisoformat(created[field])
        assert moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0


def test_span_after_the_emoji_is_counted_in_code_points(client, document, token_for):
    needle = "Игорь Конашенков"
    start, end = span(SAMPLE_TEXT, needle)
    utf16_start = len(SAMPLE_TEXT[:start].encode("utf-16-le")) // 2
    assert utf16_start == start + 1  # the helicopter emoji is one code point, two UTF-16 units

    created = create(client, token_for("alice"), document, needle=needle)

    assert (created["start"], created["end"], created["text"]) == (start, end, needle)
    fetched = client.get(f"/api/v1/claims/{created['id']}", headers=token_for("alice"))
    assert fetched.get_json()["start"] == start
    [claim] = stored_claims()
    assert document.text[claim.start:claim.end] == needle


def _without(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda body: body.pop(key)


def _set(**values: Any) -> Callable[[dict[str, Any]], None]:
    return lambda body: body.update(values)


def _shift(by: int) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        body["start"] += by
        body["end"] += by
    return change


def _last_chars(body: dict[str, Any]) -> None:
    n = len(SAMPLE_TEXT)
    body.update(start=n - 8, end=n + 1, text=SAMPLE_TEXT[n - 8:])


EVIDENCE_AT = span(SAMPLE_TEXT, "machine-gun fire")

INVALID_CLAIMS = [
    ("unknown-stance", _set(stance="maybe"), "stance"),
    ("unknown-verdict", _set(verdict="mostly_true"), "verdict"),
    ("unknown-evidence-type",
     _set(evidence=[{"type": "rumour", "relation": "supports"}]), "evidence.0.type"),
    ("unknown-evidence-relation",
     _set(evidence=[{"type": "video", "relation": "maybe"}]), "evidence.0.relation"),
    ("unknown-actor", _set(actor="Unknown Ministry"), "actor"),
    ("end-past-the-text", _last_chars, "end"),
    ("end-equals-start", lambda b: b.update(end=b["start"]), "end"),
    ("end-before-start", lambda b: b.update(end=b["start"] - 1), "end"),
    ("negative-start", _set(start=-1), "start"),
    ("text-mismatch", _set(text="a helicopter was shot up"), "text"),
    ("utf16-offsets-after-the-emoji", _shift(1), "text"),
    ("missing-stance", _without("stance"), "stance"),
    ("missing-text", _without("text"), "text"),
    ("evidence-text-mismatch",
     _set(evidence=[{"type": "video", "relation": "contradicts", "start": EVIDENCE_AT[0],
                     "end": EVIDENCE_AT[1], "text": "machine-gun file"}]), "evidence.0.text"),
    ("evidence-past-the-text",
     _set(evidence=[{"type": "video", "relation": "contradicts", "start": 5,
                     "end": len(SAMPLE_TEXT) + 1}]), "evidence.0.end"),
    ("actor-mention-mismatch",
     _set(actor="Amaq", actor_mention={"start": 0, "end": 4, "text": "Amaq"}),
     "actor_mention.text"),
    ("unknown-field", _set(confidence=0.9), "(body)"),
]


@pytest.mark.parametrize(("mutate", "field"), [pytest.param(m, f, id=i)
                                               for i, m, f in INVALID_CLAIMS])
def test_invalid_claim_is_422_naming_the_field_and_stores_nothing(
        client, document, token_for, mutate, field):
    body = body_for()
    mutate(body)

    response = client.post(claims_url(document), json=body, headers=token_for("alice"))

    assert response.status_code == 422
    assert response.is_json
    answer = response.get_json()
    assert field in answer["fields"], answer
    assert answer["error"]
    validator("error.schema.json").validate(answer)
    assert count(Claim) == 0
    assert count(Evidence) == 0
    assert count(AuditEvent) == 0


def test_body_that_is_not_json_is_422(client, document, token_for):
    response = client.post(claims_url(document), data="start=1",
                           headers={**token_for("alice"), "Content-Type": "text/plain"})
    assert response.status_code == 422
    assert count(Claim) == 0


def _json_text(body: dict[str, Any], **raw: str) -> str:
    """`body` as JSON with `raw` fields added as the JSON text given (not all of it JSON)."""
    return json.dumps(body)[:-1] + "".join(f', "{k}": {v}' for k, v in raw.items()) + "}"


UNREADABLE_BODIES = [
    ("nested-5000", "[" * 5000 + "]" * 5000, "nested too deeply (5000 levels)"),
    ("nested-101", _json_text(body_for(), note="[" * 100 + "]" * 100),
     "nested more than 100 levels deep"),
    ("nan", _json_text(body_for(), note="NaN"), "NaN is not valid JSON"),
    ("infinity", _json_text(body_for(), start="-Infinity"), "-Infinity is not valid JSON"),
    ("overflow", _json_text(body_for(), start="1e400"), "1e400 is too large a number"),
    ("digits", _json_text(body_for(), start="1" * 5000), "a number of 5000 digits is too long"),
    ("not-json", "{not json", "Expecting property name"),
]


@pytest.mark.parametrize(("body", "reason"), [pytest.param(b, r, id=i)
                                              for i, b, r in UNREADABLE_BODIES])
def test_a_body_that_cannot_be_read_is_400_naming_the_body(client, document, token_for, body,
                                                           reason):
    # The first was a 500 (RecursionError); NaN and Infinity were read, 1e400 too (as inf).
    response = client.post(claims_url(document), data=body,
                           headers={**token_for("alice"), "Content-Type": "application/json"})

    assert response.status_code == 400
    answer = response.get_json()
    validator("error.schema.json").validate(answer)
    assert answer["fields"]["(body)"].startswith(reason), answer
    assert answer["error"].startswith(f"the body cannot be read: {reason}")
    assert count(Claim) == 0 and count(AuditEvent) == 0


def test_an_unreadable_patch_body_is_400_and_changes_nothing(client, auth, document,
                                                             token_for):
    created = create(client, token_for("alice"), document)
    auth.login("alice")  # the session's requests go the same way as a token's
    headers = {"X-CSRFToken": auth.csrf_token(f"/documents/{document.id}"),
               "Content-Type": "application/json"}
    response = client.patch(f"/api/v1/claims/{created['id']}", headers=headers,
                            data=_json_text({"version": 1}, note="NaN"))
    assert response.status_code == 400
    assert response.get_json()["fields"]["(body)"].startswith("NaN is not valid JSON")
    assert [(c.version, c.note) for c in stored_claims()] == [(1, "")]


def test_actor_alias_resolves_to_the_actor(client, document, token_for):
    mention = span(SAMPLE_TEXT, "Amaq")
    created = create(client, token_for("alice"), document, needle="machine-gun fire",
                     actor="Amaq News Agency",
                     actor_mention={"start": mention[0], "end": mention[1]})

    assert created["actor"] == "Amaq"
    assert created["actor_mention"] == {"start": mention[0], "end": mention[1], "text": "Amaq"}
    [claim] = stored_claims()
    amaq = db.session.scalar(select(Actor).where(Actor.name == "Amaq"))
    assert claim.actor_id == amaq.id


def test_an_actor_typed_in_another_case_is_that_actor_not_a_new_one(
        client, document, token_for):
    alice = token_for("alice")
    for typed in ("amaq", "AMAQ NEWS AGENCY", "russian defense ministry"):
        created = create(client, alice, document, needle="machine-gun fire", actor=typed)
        assert created["actor"] in ("Amaq", "Russian Defense Ministry"), typed
    db.session.rollback()
    assert sorted(db.session.scalars(select(Actor.name))) == ["Amaq", "Russian Defense Ministry"]
    url = f"/api/v1/projects/{document.project_id}/actors"
    same = client.post(url, headers=alice, json={"name": "AMAQ"})
    assert same.status_code == 422 and "'Amaq' exists" in same.get_json()["fields"]["name"]
    # An alias naming another actor would make that name mean two claimants.
    clash = client.post(url, headers=alice, json={"name": "Tass", "aliases": ["amaq news agency"]})
    assert clash.status_code == 422
    assert "already names the actor 'Amaq'" in clash.get_json()["fields"]["aliases.0"]
    assert client.post(url, headers=alice, json={"name": "Tass", "aliases": ["TASS agency"]}
                       ).status_code == 201


def test_evidence_span_text_is_filled_by_the_server(client, document, token_for):
    start, end = EVIDENCE_AT
    created = create(client, token_for("alice"), document, stance="denies", evidence=[
        {"type": "video", "relation": "contradicts", "start": start, "end": end},
        {"type": "official_statement", "relation": "supports", "description": "no span",
         "source_url": "https://example.org/statement"},
    ])

    spanned, unspanned = created["evidence"]
    assert spanned["text"] == SAMPLE_TEXT[start:end] == "machine-gun fire"
    assert "start" not in unspanned and unspanned["source_url"] == "https://example.org/statement"
    db.session.rollback()
    rows = list(db.session.scalars(select(Evidence).order_by(Evidence.position)))
    assert [(e.start, e.end, e.text) for e in rows] == [
        (start, end, "machine-gun fire"), (None, None, None)]


# ---------- changing: versions ----------


def test_patch_with_the_current_version_increments_it_and_stores(client, document, token_for):
    alice = token_for("alice")
    created = create(client, alice, document)

    response = client.patch(f"/api/v1/claims/{created['id']}", headers=alice,
                            json={"version": 1, "stance": "denies", "verdict": "refuted",
                                  "note": "the ministry denied it"})

    assert response.status_code == 200, response.get_json()
    changed = response.get_json()
    validator("claim.schema.json").validate(changed)
    assert (changed["version"], changed["stance"], changed["verdict"]) == (2, "denies", "refuted")
    assert (changed["start"], changed["text"]) == (created["start"], created["text"])
    [claim] = stored_claims()
    assert (claim.version, claim.stance, claim.verdict, claim.note) == (
        2, "denies", "refuted", "the ministry denied it")


def test_patch_of_a_claim_with_an_actor_bumps_the_version_once(client, document, token_for):
    alice = token_for("alice")
    created = create(client, alice, document, actor="Amaq", evidence=[
        {"type": "video", "relation": "contradicts", "start": EVIDENCE_AT[0],
         "end": EVIDENCE_AT[1]}])
    url = f"/api/v1/claims/{created['id']}"

    first = client.patch(url, headers=alice, json={"version": 1, "note": "one"})
    second = client.patch(url, headers=alice, json={"version": 2, "actor": "Russian Defense "
                                                    "Ministry"})

    assert (first.status_code, first.get_json()["version"]) == (200, 2)
    assert (second.status_code, second.get_json()["version"]) == (200, 3)
    [claim] = stored_claims()
    assert (claim.version, claim.note, claim.actor.name) == (3, "one", "Russian Defense Ministry")
    assert [e.text for e in claim.evidence] == ["machine-gun fire"]


def test_a_patch_that_changes_nothing_stores_nothing(client, document, token_for):
    """A form opened and saved as it is: same version, no history event, and another tab's
    edit made on that version still goes through instead of meeting a needless 409."""
    alice = token_for("alice")
    created = create(client, alice, document, actor="Amaq", note="as it was", evidence=[
        {"type": "video", "relation": "contradicts", "start": EVIDENCE_AT[0],
         "end": EVIDENCE_AT[1]}])
    url = f"/api/v1/claims/{created['id']}"
    same = {k: created[k] for k in ("start", "end", "text", "actor", "stance", "note")}
    same["evidence"] = [{k: e[k] for k in ("id", "type", "relation", "start", "end")}
                        for e in created["evidence"]]
    history = client.get(f"{url}/history", headers=alice).get_json()
    for body in ({"version": 1}, {"version": 1, **same}):
        response = client.patch(url, headers=alice, json=body)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["version"] == 1
    assert client.get(f"{url}/history", headers=alice).get_json() == history
    other_tab = client.patch(url, headers=alice, json={"version": 1, "note": "changed"})
    assert other_tab.status_code == 200 and other_tab.get_json()["version"] == 2
    # Reordering the evidence is a change (its order is the claim's).
    reordered = client.patch(url, headers=alice, json={"version": 2, "evidence": [
        *same["evidence"], {"type": "video", "relation": "supports"}]})
    assert reordered.get_json()["version"] == 3
    items = reordered.get_json()["evidence"]
    swapped = client.patch(url, headers=alice, json={"version": 3, "evidence": [
        {k: e[k] for k in ("id", "type", "relation")} | (
            {"start": e["start"], "end": e["end"]} if e.get("start") is not None else {})
        for e in reversed(items)]})
    assert swapped.status_code == 200 and swapped.get_json()["version"] == 4
    assert [e["id"] for e in swapped.get_json()["evidence"]] == [e["id"] for e in
                                                                reversed(items)]


def test_patch_moving_the_span_with_its_text_is_stored(client, document, token_for):
    alice = token_for("alice")
    created = create(client, alice, document)
    start, end = span(SAMPLE_TEXT, "shot down by a missile")

    response = client.patch(f"/api/v1/claims/{created['id']}", headers=alice, json={
        "version": 1, "start": start, "end": end, "text": "shot down by a missile"})

    assert response.status_code == 200, response.get_json()
    [claim] = stored_claims()
    assert (claim.start, claim.end, claim.text, claim.version) == (
        start, end, "shot down by a missile", 2)


def test_patch_with_a_stale_version_is_409_with_the_stored_claim(client, document, token_for):
    alice = token_for("alice")
    created = create(client, alice, document)
    url = f"/api/v1/claims/{created['id']}"
    assert client.patch(url, headers=alice, json={"version": 1, "stance": "denies"}
                        ).status_code == 200

    response = client.patch(url, headers=alice, json={"version": 1, "stance": "questions"})

    assert response.status_code == 409
    current = response.get_json()["current"]
    validator("claim.schema.json").validate(current)
    assert (current["version"], current["stance"]) == (2, "denies")
    [claim] = stored_claims()
    assert (claim.version, claim.stance) == (2, "denies")


@pytest.mark.parametrize("change", [{"start": 1}, {"end": 40}, {"start": 1, "end": 40}])
def test_patch_moving_the_span_without_text_is_422(client, document, token_for, change):
    alice = token_for("alice")
    created = create(client, alice, document)

    response = client.patch(f"/api/v1/claims/{created['id']}", headers=alice,
                            json={"version": 1, **change})

    assert response.status_code == 422
    assert "text" in response.get_json()["fields"]
    [claim] = stored_claims()
    assert (claim.start, claim.end, claim.version) == (created["start"], created["end"], 1)


WHOLE_NUMBER_FIELDS = [
    ("start", lambda b: b.update(start=float(b["start"]))),
    ("end", lambda b: b.update(end=float(b["end"]))),
    ("actor_mention.start", _set(actor="Amaq", actor_mention={"start": 0.0, "end": 4})),
    ("actor_mention.end", _set(actor="Amaq", actor_mention={"start": 0, "end": 4.0})),
    ("evidence.0.start", _set(evidence=[{"type": "video", "relation": "supports",
                                         "start": float(EVIDENCE_AT[0]),
                                         "end": EVIDENCE_AT[1]}])),
    ("evidence.0.end", _set(evidence=[{"type": "video", "relation": "supports",
                                       "start": EVIDENCE_AT[0],
                                       "end": EVIDENCE_AT[1] + 0.5}])),
    ("evidence.0.document_id", _set(evidence=[{"type": "video", "relation": "supports",
                                               "document_id": 1.0, "start": 0, "end": 4}])),
]


@pytest.mark.parametrize(("field", "mutate"), WHOLE_NUMBER_FIELDS)
def test_a_float_for_a_whole_number_is_422_naming_the_field(client, document, token_for,
                                                             field, mutate):
    # JSON Schema counts 38.0 as an integer: the claim was stored with it, and answered
    # "start": 38.0, which a client slicing the text with fails on.
    alice = token_for("alice")
    body = body_for()
    mutate(body)
    response = client.post(claims_url(document), json=body, headers=alice)
    assert response.status_code == 422
    assert response.get_json()["fields"] == {field: "must be a whole number"}
    assert count(Claim) == 0 and count(AuditEvent) == 0

    created = create(client, alice, document)
    body["version"] = 1
    response = client.patch(f"/api/v1/claims/{created['id']}", json=body, headers=alice)
    assert response.status_code == 422
    assert response.get_json()["fields"] == {field: "must be a whole number"}
    response = client.patch(f"/api/v1/claims/{created['id']}", headers=alice,
                            json={"version": 1.0, "stance": "denies"})
    assert response.get_json()["fields"] == {"version": "must be a whole number"}
    [claim] = stored_claims()
    assert (claim.version, claim.stance, claim.evidence) == (1, "asserts", [])
    assert count(AuditEvent) == 1


def test_patch_without_a_version_is_422(client, document, token_for):
    alice = token_for("alice")
    created = create(client, alice, document)
    response = client.patch(f"/api/v1/claims/{created['id']}", headers=alice,
                            json={"stance": "denies"})
    assert response.status_code == 422
    assert "version" in response.get_json()["fields"]
    assert stored_claims()[0].stance == "asserts"


def test_patch_breaking_the_scheme_is_422_and_changes_nothing(client, document, token_for):
    alice = token_for("alice")
    created = create(client, alice, document)
    response = client.patch(f"/api/v1/claims/{created['id']}", headers=alice,
                            json={"version": 1, "evidence": [{"type": "x", "relation": "y"}]})
    assert response.status_code == 422
    assert {"evidence.0.type", "evidence.0.relation"} <= set(response.get_json()["fields"])
    [claim] = stored_claims()
    assert (claim.version, claim.evidence) == (1, [])


@pytest.mark.parametrize("other", ["bob", "maria"])
def test_others_cannot_patch_or_delete_a_claim(client, document, token_for, other):
    created = create(client, token_for("alice"), document)
    url = f"/api/v1/claims/{created['id']}"
    headers = token_for(other)

    patched = client.patch(url, headers=headers, json={"version": 1, "stance": "denies"})
    deleted = client.delete(f"{url}?version=1", headers=headers)

    assert patched.status_code in (403, 404)
    assert deleted.status_code in (403, 404)
    [claim] = stored_claims()
    assert (claim.version, claim.stance, claim.deleted_at) == (1, "asserts", None)
    assert count(AuditEvent) == 1  # the creation only


# ---------- deleting ----------


def test_delete_is_soft_and_hides_the_claim_everywhere(client, document, token_for):
    alice = token_for("alice")
    created = create(client, alice, document)
    kept = create(client, alice, document, needle="machine-gun fire")

    response = client.delete(f"/api/v1/claims/{created['id']}?version=1", headers=alice)

    assert response.status_code == 204
    row = next(c for c in stored_claims() if c.id == created["id"])
    assert row.deleted_at is not None
    assert row.text == NEEDLE
    listed = client.get(claims_url(document), headers=alice).get_json()
    assert [c["id"] for c in listed] == [kept["id"]]
    assert client.get(f"/api/v1/claims/{created['id']}", headers=alice).status_code == 404
    export = client.get(f"/api/v1/projects/{document.project_id}/export.jsonl",
                        headers=token_for("maria"))
    assert export.status_code == 200
    exported_ids = [c["id"] for line in export.get_data(as_text=True).splitlines()
                    for c in json.loads(line)["claims"]]
    assert exported_ids == [kept["id"]]


def test_delete_with_a_stale_version_is_409(client, document, token_for):
    alice = token_for("alice")
    created = create(client, alice, document)
    url = f"/api/v1/claims/{created['id']}"
    client.patch(url, headers=alice, json={"version": 1, "note": "edited"})

    response = client.delete(f"{url}?version=1", headers=alice)

    assert response.status_code == 409
    assert response.get_json()["current"]["version"] == 2
    [claim] = stored_claims()
    assert claim.deleted_at is None


def test_deleting_twice_is_404(client, document, token_for):
    alice = token_for("alice")
    created = create(client, alice, document)
    url = f"/api/v1/claims/{created['id']}"
    assert client.delete(url, headers=alice).status_code == 204
    assert client.delete(url, headers=alice).status_code == 404


# ---------- the audit trail ----------


def test_audit_events_record_create_update_delete_with_before_and_after(
        client, document, token_for):
    alice = token_for("alice")
    created = create(client, alice, document)
    url = f"/api/v1/claims/{created['id']}"
    client.patch(url, headers=alice, json={"version": 1, "stance": "denies"})
    client.delete(f"{url}?version=2", headers=alice)

    db.session.rollback()
    events = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    alice_id = stored_claims()[0].annotator_id
    assert [e.action for e in events] == ["create", "update", "delete"]
    assert {(e.entity, e.entity_id, e.user_id, e.project_id) for e in events} == {
        ("claim", created["id"], alice_id, document.project_id)}
    create_event, update_event, delete_event = events
    assert create_event.before is None
    assert (create_event.after["stance"], create_event.after["version"]) == ("asserts", 1)
    assert (update_event.before["stance"], update_event.before["version"]) == ("asserts", 1)
    assert (update_event.after["stance"], update_event.after["version"]) == ("denies", 2)
    assert delete_event.before["stance"] == "denies"
    assert delete_event.after is None


# ---------- blind annotation ----------


def test_blind_annotators_list_only_their_own_claims(client, document, token_for):
    alices = create(client, token_for("alice"), document)
    bobs = create(client, token_for("bob"), document, needle="machine-gun fire")

    def listed(user: str) -> set[int]:
        response = client.get(claims_url(document), headers=token_for(user))
        assert response.status_code == 200
        return {c["id"] for c in response.get_json()}

    assert listed("bob") == {bobs["id"]}
    assert listed("alice") == {alices["id"]}
    assert listed("maria") == {alices["id"], bobs["id"]}


def test_blind_annotator_gets_404_for_anothers_claim(client, document, token_for):
    alices = create(client, token_for("alice"), document)
    url = f"/api/v1/claims/{alices['id']}"
    assert client.get(url, headers=token_for("bob")).status_code == 404
    assert client.get(url, headers=token_for("maria")).status_code == 200
    assert client.get(url, headers=token_for("alice")).status_code == 200


def test_without_blind_mode_annotators_see_each_others_claims(client, document, token_for):
    alices = create(client, token_for("alice"), document)
    db.session.get(Project, document.project_id).blind = False
    db.session.commit()
    listed = client.get(claims_url(document), headers=token_for("bob")).get_json()
    assert [c["id"] for c in listed] == [alices["id"]]


# ---------- races: the version check holds between reading and writing ----------


def _loaded_then_changed_elsewhere(client, document, token_for) -> Claim:
    """A claim loaded into this session at version 1, then saved by another request."""
    alice = token_for("alice")
    created = create(client, alice, document)
    db.session.rollback()
    loaded = db.session.get(Claim, created["id"])
    assert loaded.version == 1 and loaded.evidence == []
    changed = client.patch(f"/api/v1/claims/{created['id']}", headers=alice,
                           json={"version": 1, "stance": "denies"})
    assert changed.status_code == 200
    return loaded


def test_racing_update_is_a_conflict_not_a_lost_write(client, document, token_for):
    from annotator.services import claims
    from annotator.services.errors import Conflict

    loaded = _loaded_then_changed_elsewhere(client, document, token_for)

    with pytest.raises(Conflict) as caught:
        claims.update_claim(loaded.annotator, loaded, {"version": 1, "stance": "questions"})

    assert (caught.value.current["version"], caught.value.current["stance"]) == (2, "denies")
    [claim] = stored_claims()
    assert (claim.version, claim.stance) == (2, "denies")
    assert count(AuditEvent) == 2


def test_racing_delete_is_a_conflict(client, document, token_for):
    from annotator.services import claims
    from annotator.services.errors import Conflict

    loaded = _loaded_then_changed_elsewhere(client, document, token_for)

    with pytest.raises(Conflict) as caught:
        claims.delete_claim(loaded.annotator, loaded, 1)

    assert caught.value.current["version"] == 2
    [claim] = stored_claims()
    assert claim.deleted_at is None
