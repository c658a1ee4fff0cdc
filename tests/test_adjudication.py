"""Adjudication: the review queue, the review of a document, gold claims with provenance.

The `annotated` fixture (alice and bob done, three units) lives in tests/conftest.py: the
review pages and the browser tests use it too."""

from __future__ import annotations

from tests.conftest import SAMPLE_TEXT, VIDEO, span


def test_review_shows_units_and_their_differences(client, annotated, token_for):
    document = annotated["document"]
    response = client.get(f"/api/v1/documents/{document.id}/review", headers=token_for("judy"))
    assert response.status_code == 200, response.get_json()
    review = response.get_json()
    assert review["coders"] == ["alice", "bob"]
    by_ids = {tuple(sorted(u["claim_ids"])): u for u in review["units"]}
    assert by_ids[tuple(sorted(annotated["agreed"]))]["differences"] == []
    assert set(by_ids[tuple(sorted(annotated["differ"]))]["differences"]) == {
        "boundaries", "stance"}
    assert by_ids[(annotated["lonely"],)]["differences"] == ["missing"]
    assert review["open_units"] == 3 and review["status"] == "none"


def test_json_true_names_no_claim(client, annotated, token_for):
    """bool is an int to Python: `true` was taken for claim #1."""
    document = annotated["document"]
    judy = token_for("judy")
    for body in ({"accept": True}, {"span_from": True, "fields_from": annotated["agreed"][0]},
                 {"accept": annotated["agreed"][0], "also": [True]}):
        response = client.post(f"/api/v1/documents/{document.id}/gold", json=body, headers=judy)
        assert response.status_code == 422, (body, response.get_json())
    response = client.post(f"/api/v1/documents/{document.id}/reject",
                           json={"claim_ids": [True]}, headers=judy)
    assert response.status_code == 422
    assert client.get(f"/api/v1/documents/{document.id}/review",
                      headers=judy).get_json()["gold"] == []


def test_a_repeated_claim_id_is_one_source(client, annotated, token_for):
    document = annotated["document"]
    judy = token_for("judy")
    first, second = annotated["agreed"]
    accepted = client.post(f"/api/v1/documents/{document.id}/gold", headers=judy, json={
        "accept": first, "also": [first, second, second]})
    assert accepted.status_code == 201 and accepted.get_json()["sources"] == [first, second]
    start, end = span(SAMPLE_TEXT, VIDEO)
    written = client.post(f"/api/v1/documents/{document.id}/gold", headers=judy, json={
        "claim": {"start": start, "end": end, "text": VIDEO, "stance": "denies"},
        "sources": [annotated["lonely"], annotated["lonely"]]})
    assert written.status_code == 201 and written.get_json()["sources"] == [annotated["lonely"]]
    rejected = client.post(f"/api/v1/documents/{document.id}/reject", headers=judy,
                           json={"claim_ids": annotated["differ"] * 2})
    assert rejected.get_json() == {"rejected": 2}


def test_review_queue_refuses_unknown_filters(client, annotated, token_for):
    """An unknown status (a typo) used to answer an empty queue, as if nothing were ready."""
    url = f"/api/v1/projects/{annotated['document'].project_id}/review-queue"
    judy = token_for("judy")
    assert len(client.get(url, headers=judy).get_json()) == 1
    for query, field in (("status=Done", "status"), ("min_disagreement=nan", "min_disagreement"),
                         ("min_disagreement=2", "min_disagreement")):
        response = client.get(f"{url}?{query}", headers=judy)
        assert response.status_code == 422, query
        assert field in response.get_json()["fields"]


def test_review_and_queue_answers_match_the_openapi_description(client, annotated, token_for):
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    spec = client.get("/api/v1/openapi.json").get_json()
    registry = Registry().with_resource("openapi.json", Resource.from_contents(
        spec, default_specification=DRAFT202012))

    def validate(path: str, method: str, status: str, instance) -> None:
        pointer = "/".join(part.replace("~", "~0").replace("/", "~1") for part in (
            "paths", path, method, "responses", status, "content", "application/json",
            "schema"))
        Draft202012Validator({"$ref": f"openapi.json#/{pointer}"},
                             registry=registry).validate(instance)

    document = annotated["document"]
    judy = token_for("judy")
    accepted = client.post(f"/api/v1/documents/{document.id}/gold", headers=judy,
                           json={"accept": annotated["agreed"][0]})
    validate("/documents/{did}/gold", "post", "201", accepted.get_json())
    rejected = client.post(f"/api/v1/documents/{document.id}/reject", headers=judy,
                           json={"claim_ids": [annotated["lonely"]]})
    validate("/documents/{did}/reject", "post", "200", rejected.get_json())
    review = client.get(f"/api/v1/documents/{document.id}/review", headers=judy).get_json()
    assert review["gold"] and review["units"]
    validate("/documents/{did}/review", "get", "200", review)
    queue = client.get(f"/api/v1/projects/{document.project_id}/review-queue", headers=judy)
    assert queue.get_json()
    validate("/projects/{pid}/review-queue", "get", "200", queue.get_json())
    refused = client.put(f"/api/v1/documents/{document.id}/review", headers=judy,
                         json={"status": "done"})
    assert refused.status_code == 409
    validate("/documents/{did}/review", "put", "409", refused.get_json())
    unrejected = client.post(f"/api/v1/documents/{document.id}/unreject", headers=judy,
                             json={"claim_ids": [annotated["lonely"]]})
    validate("/documents/{did}/unreject", "post", "200", unrejected.get_json())
    again = client.post(f"/api/v1/documents/{document.id}/unreject", headers=judy,
                        json={"claim_ids": [annotated["lonely"]]})
    validate("/documents/{did}/unreject", "post", "409", again.get_json())
    # A rejection and its undoing are part of the claim's history, which the description allows.
    history = client.get(f"/api/v1/claims/{annotated['lonely']}/history", headers=judy)
    assert [e["action"] for e in history.get_json()] == ["create", "reject", "unreject"]
    validate("/claims/{cid}/history", "get", "200", history.get_json())
    for unit_id in (annotated["lonely"], annotated["agreed"][1], *annotated["differ"]):
        client.post(f"/api/v1/documents/{document.id}/reject", headers=judy,
                    json={"claim_ids": [unit_id]})
    done = client.put(f"/api/v1/documents/{document.id}/review", headers=judy,
                      json={"status": "done"})
    validate("/documents/{did}/review", "put", "200", done.get_json())


def test_an_annotator_does_not_see_a_review_decision_in_their_claims_history(
        client, annotated, token_for):
    """A rejection, like gold, would tell the annotator what the "right" answer was."""
    document, lonely = annotated["document"], annotated["lonely"]
    rejected = client.post(f"/api/v1/documents/{document.id}/reject", headers=token_for("judy"),
                           json={"claim_ids": [lonely]})
    assert rejected.status_code == 200
    url = f"/api/v1/claims/{lonely}/history"
    assert [e["action"] for e in client.get(url, headers=token_for("alice")).get_json()] == [
        "create"]
    assert [e["action"] for e in client.get(url, headers=token_for("maria")).get_json()] == [
        "create", "reject"]  # the project's manager reviews too



def test_a_rejection_is_undone_by_reviewers_and_reopens_its_unit(client, annotated, token_for):
    from sqlalchemy import select

    from annotator.db import db
    from annotator.models import AuditEvent, Claim

    document, lonely = annotated["document"], annotated["lonely"]
    url = f"/api/v1/documents/{document.id}"
    judy = token_for("judy")
    client.post(url + "/gold/accept-agreed", headers=judy)
    client.post(url + "/reject", headers=judy, json={"claim_ids": annotated["differ"]})
    client.post(url + "/reject", headers=judy, json={"claim_ids": [lonely]})
    assert client.put(url + "/review", headers=judy, json={"status": "done"}).status_code == 200

    # Annotators cannot undo a review decision, nor learn of one.
    assert client.post(url + "/unreject", headers=token_for("alice"),
                       json={"claim_ids": [lonely]}).status_code == 404
    undone = client.post(url + "/unreject", headers=judy, json={"claim_ids": [lonely]})
    assert undone.status_code == 200, undone.get_json()
    assert undone.get_json() == {"unrejected": 1, "review_status": "open"}
    review = client.get(url + "/review", headers=judy).get_json()
    unit = next(u for u in review["units"] if u["claim_ids"] == [lonely])
    assert (unit["rejected"], unit["decided"]) == ([], False)
    assert (review["status"], review["open_units"]) == ("open", 1)

    db.session.rollback()
    stored = db.session.get(Claim, lonely)
    assert stored.rejected is False and stored.version == 1  # no edit of alice's claim
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "unreject", AuditEvent.claim_id == lonely)).one()
    assert (event.before, event.after) == ({"rejected": True}, {"rejected": False})
    reopened = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "review").order_by(AuditEvent.id.desc())).first()
    assert reopened.after == {"status": "open",
                              "reopened_by": {"action": "unreject", "claim_ids": [lonely]}}
    assert [e["action"] for e in client.get(f"/api/v1/claims/{lonely}/history",
                                            headers=token_for("alice")).get_json()] == ["create"]

    # Undone meanwhile by someone else (or never rejected): 409, nothing undone.
    stale = client.post(url + "/unreject", headers=token_for("maria"),
                        json={"claim_ids": [*annotated["differ"], lonely]})
    assert stale.status_code == 409
    assert stale.get_json()["not_rejected"] == [lonely]
    assert stale.get_json()["current"]["id"] == lonely
    db.session.rollback()
    assert all(db.session.get(Claim, i).rejected for i in annotated["differ"])
    assert client.post(url + "/unreject", headers=judy,
                       json={"claim_ids": []}).status_code == 422
    # The same rejection undone twice at once: only one of the two undoes it.
    assert client.post(url + "/unreject", headers=judy,
                       json={"claim_ids": annotated["differ"]}).get_json()["unrejected"] == 2
