"""Gold claims through the API: accept, merge, write, reject, accept all agreed, review
status, provenance in the history, who may see and change gold, and the gold export."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from annotator.db import db
from annotator.models import AuditEvent, Claim, Review
from annotator.services import (
    adjudication,
    assignments,
    claims,
    documents,
    exporting,
    progress,
    projects,
    users,
)
from tests.conftest import SAMPLE_TEXT, annotate_sample, before_the_next_claim_insert, span

HELICOPTER = "a helicopter was shot down"
NO_AIRCRAFT = "no aircraft was lost"
VIDEO = "Amaq’s video shows machine-gun fire"


def _claim(username: str, document, needle: str, **fields) -> int:
    start, end = span(SAMPLE_TEXT, needle)
    return claims.create_claim(users.by_username(username), document,
                               {"start": start, "end": end, "text": needle,
                                "stance": "asserts", **fields}).id


@pytest.fixture
def two_versions(document, make_user):
    projects.add_member(document.project, make_user("judy"), "adjudicator")
    ids = {
        "agreed": [_claim(name, document, NO_AIRCRAFT, stance="denies")
                   for name in ("alice", "bob")],
        "alice": _claim("alice", document, HELICOPTER, stance="asserts", verdict="refuted"),
        "bob": _claim("bob", document, "said " + HELICOPTER, stance="questions"),
        "lonely": _claim("alice", document, VIDEO),
    }
    for name in ("alice", "bob"):
        documents.set_status(document, users.by_username(name), "done")
    return ids


def _gold(client, document, headers, body):
    return client.post(f"/api/v1/documents/{document.id}/gold", json=body, headers=headers)


def _decide_every_unit(client, document, two_versions, headers) -> None:
    url = f"/api/v1/documents/{document.id}"
    assert client.post(url + "/gold/accept-agreed", headers=headers).status_code == 200
    assert _gold(client, document, headers, {"accept": two_versions["bob"],
                                             "also": [two_versions["alice"]]}).status_code == 201
    assert client.post(url + "/reject", json={"claim_ids": [two_versions["lonely"]]},
                       headers=headers).status_code == 200


def _review_events(document) -> list[tuple[str, str, dict]]:
    db.session.rollback()
    return [(e.before["status"], e.after["status"], e.after.get("reopened_by"))
            for e in db.session.scalars(select(AuditEvent).where(
                AuditEvent.action == "review", AuditEvent.entity_id == document.id)
                .order_by(AuditEvent.id))]


def _stored(claim_id: int) -> Claim:
    db.session.rollback()
    return db.session.get(Claim, claim_id)


def test_accept_copies_a_version_and_records_its_sources(client, document, two_versions,
                                                         token_for):
    judy = token_for("judy")
    response = _gold(client, document, judy, {"accept": two_versions["agreed"][1],
                                              "also": [two_versions["agreed"][0]]})
    assert response.status_code == 201, response.get_json()
    gold = response.get_json()
    assert gold["is_gold"] and gold["annotator"] == "judy"
    assert sorted(gold["sources"]) == sorted(two_versions["agreed"])
    assert gold["text"] == NO_AIRCRAFT and gold["stance"] == "denies"
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_id == gold["id"], AuditEvent.action == "create")).one()
    assert event.user_id == users.by_username("judy").id
    assert sorted(event.after["sources"]) == sorted(two_versions["agreed"])


def test_merge_takes_the_span_from_one_and_the_labels_from_another(client, document,
                                                                     two_versions, token_for):
    response = _gold(client, document, token_for("judy"),
                     {"span_from": two_versions["alice"], "fields_from": two_versions["bob"]})
    assert response.status_code == 201, response.get_json()
    gold = response.get_json()
    assert (gold["text"], gold["stance"], gold["verdict"]) == (HELICOPTER, "questions", None)
    assert sorted(gold["sources"]) == sorted([two_versions["alice"], two_versions["bob"]])


def test_written_gold_is_validated_like_any_claim(client, document, two_versions, token_for):
    start, end = span(SAMPLE_TEXT, HELICOPTER)
    bad = _gold(client, document, token_for("judy"), {
        "claim": {"start": start, "end": end, "text": HELICOPTER, "stance": "agrees"},
        "sources": [two_versions["alice"]]})
    assert bad.status_code == 422 and "stance" in bad.get_json()["fields"]
    good = _gold(client, document, token_for("judy"), {
        "claim": {"start": start, "end": end, "text": HELICOPTER, "stance": "denies"},
        "sources": [two_versions["alice"], two_versions["bob"]]})
    assert good.status_code == 201
    db.session.rollback()
    assert db.session.scalars(select(Claim).where(Claim.is_gold.is_(True))).all() \
        == [db.session.get(Claim, good.get_json()["id"])]


def test_sources_must_be_annotator_claims_of_the_document(client, document, two_versions,
                                                          token_for):
    gold = _gold(client, document, token_for("judy"), {"accept": two_versions["lonely"]})
    again = _gold(client, document, token_for("judy"), {"accept": gold.get_json()["id"]})
    assert again.status_code == 422 and "claim_id" in again.get_json()["fields"]
    missing = _gold(client, document, token_for("judy"), {"accept": 999999})
    assert missing.status_code == 422


def test_reject_and_accept_agreed_decide_every_unit(client, document, two_versions,
                                                    token_for):
    judy = token_for("judy")
    url = f"/api/v1/documents/{document.id}"
    assert client.post(url + "/reject", json={"claim_ids": [two_versions["lonely"]]},
                       headers=judy).get_json() == {"rejected": 1}
    assert client.post(url + "/gold/accept-agreed", headers=judy).get_json() == {"accepted": 1}
    assert client.post(url + "/gold/accept-agreed", headers=judy).get_json() == {"accepted": 0}
    _gold(client, document, judy, {"accept": two_versions["bob"], "also": [two_versions["alice"]]})

    review = client.get(url + "/review", headers=judy).get_json()
    assert review["open_units"] == 0 and all(u["decided"] for u in review["units"])
    assert _stored(two_versions["lonely"]).rejected


def test_review_status_done_and_reopened(client, document, two_versions, token_for):
    url = f"/api/v1/documents/{document.id}/review"
    judy = token_for("judy")
    _decide_every_unit(client, document, two_versions, judy)
    assert client.put(url, json={"status": "done"}, headers=judy).get_json() == {
        "status": "done", "unfinished": []}
    assert client.get(url, headers=judy).get_json()["status"] == "done"
    assert client.put(url, json={"status": "open"}, headers=judy).status_code == 200
    assert client.put(url, json={"status": "final"}, headers=judy).status_code == 422
    db.session.rollback()
    assert db.session.scalars(select(Review.status)).one() == "open"


def test_gold_is_edited_by_adjudicators_and_hidden_from_annotators(client, document,
                                                                   two_versions, token_for):
    gold = _gold(client, document, token_for("judy"), {"accept": two_versions["alice"]}).get_json()
    url = f"/api/v1/claims/{gold['id']}"
    assert client.patch(url, json={"version": gold["version"], "stance": "denies"},
                        headers=token_for("alice")).status_code == 404
    assert client.get(url, headers=token_for("alice")).status_code == 404
    listed = client.get(f"/api/v1/documents/{document.id}/claims",
                        headers=token_for("alice")).get_json()
    assert gold["id"] not in [c["id"] for c in listed]
    edited = client.patch(url, json={"version": gold["version"], "stance": "denies"},
                          headers=token_for("maria"))
    assert edited.status_code == 200 and edited.get_json()["stance"] == "denies"
    assert client.delete(url, headers=token_for("judy")).status_code == 204


def test_annotators_cannot_reach_review(client, document, two_versions, token_for):
    alice = token_for("alice")
    assert client.get(f"/api/v1/documents/{document.id}/review", headers=alice).status_code == 404
    assert _gold(client, document, alice, {"accept": two_versions["alice"]}).status_code == 404
    assert client.get(f"/api/v1/projects/{document.project_id}/review-queue",
                      headers=alice).status_code == 403
    db.session.rollback()
    assert db.session.scalars(select(Claim).where(Claim.is_gold.is_(True))).all() == []


def test_review_queue_lists_finished_documents_most_disagreed_first(client, document,
                                                                     two_versions, token_for):
    queue = client.get(f"/api/v1/projects/{document.project_id}/review-queue",
                       headers=token_for("judy")).get_json()
    assert [row["document_id"] for row in queue] == [document.id]  # the second is not done
    assert queue[0]["review_status"] == "none" and queue[0]["disagreement"] > 0
    filtered = client.get(f"/api/v1/projects/{document.project_id}/review-queue?status=done",
                          headers=token_for("judy")).get_json()
    assert filtered == []


def test_gold_export_reports_documents_without_gold(client, document, two_versions,
                                                    token_for, app):
    judy = token_for("judy")
    _decide_every_unit(client, document, two_versions, judy)
    assert client.put(f"/api/v1/documents/{document.id}/review", json={"status": "done"},
                      headers=judy).status_code == 200

    response = client.get(f"/api/v1/projects/{document.project_id}/export.jsonl?claims=gold",
                          headers=token_for("maria"))
    records = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert response.headers["X-Documents-Without-Gold"] == "1"
    assert [r["review_status"] for r in records] == ["done", "none"]
    assert [c["is_gold"] for c in records[0]["claims"]] == [True, True]
    assert records[1]["claims"] == []  # reported by its status, not dropped

    annotators_only = io.StringIO()
    exporting.export_jsonl(document.project, annotators_only, "annotators")
    first = json.loads(annotators_only.getvalue().splitlines()[0])
    assert not any(c["is_gold"] for c in first["claims"]) and len(first["claims"]) == 5

    result = app.test_cli_runner().invoke(args=["export", document.project.name, "--out", "-",
                                                "--claims", "gold"])
    assert result.exit_code == 0
    assert "1 document(s) have no settled gold" in result.output
    assert client.get(f"/api/v1/projects/{document.project_id}/export.jsonl?claims=x",
                      headers=token_for("maria")).status_code == 422


def test_rejecting_leaves_the_annotators_claim_version_alone(client, document, two_versions,
                                                             token_for):
    before = _stored(two_versions["lonely"])
    version, updated = before.version, before.updated_at
    client.post(f"/api/v1/documents/{document.id}/reject",
                json={"claim_ids": [two_versions["lonely"]]}, headers=token_for("judy"))
    after = _stored(two_versions["lonely"])
    assert after.rejected and (after.version, after.updated_at) == (version, updated)
    saved = client.patch(f"/api/v1/claims/{after.id}", json={"version": version, "note": "x"},
                         headers=token_for("alice"))
    assert saved.status_code == 200


def test_agreement_with_gold_per_annotator(client, document, two_versions, token_for):
    from annotator.services.agreement import project_report

    judy = token_for("judy")
    _gold(client, document, judy, {"accept": two_versions["agreed"][0],
                                   "also": [two_versions["agreed"][1]]})
    _gold(client, document, judy, {"accept": two_versions["bob"],
                                   "also": [two_versions["alice"]]})
    assert project_report(document.project)["gold"] == []  # review not done yet
    client.post(f"/api/v1/documents/{document.id}/reject", headers=judy,
                json={"claim_ids": [two_versions["lonely"]]})
    client.put(f"/api/v1/documents/{document.id}/review", json={"status": "done"}, headers=judy)

    db.session.rollback()
    gold = {g["annotator"]: g for g in project_report(document.project)["gold"]}
    # alice: 3 claims, 2 overlap gold (1 exact); bob: 2 claims, both exact copies of gold.
    assert gold["alice"]["f1_exact"] == pytest.approx(2 * 1 / (3 + 2))
    assert gold["alice"]["f1_overlap"] == pytest.approx(2 * 2 / (3 + 2))
    assert gold["bob"]["f1_exact"] == pytest.approx(1.0)
    assert gold["bob"]["kappa"]["stance"] == pytest.approx(1.0)
    page = client.get(f"/projects/{document.project_id}/agreement", headers=judy)
    assert page.status_code in (200, 302)


def _live_gold(document) -> list[Claim]:
    db.session.rollback()
    return list(db.session.scalars(select(Claim).where(
        Claim.document_id == document.id, Claim.is_gold.is_(True),
        Claim.deleted_at.is_(None))))


def test_a_unit_decided_once_is_not_decided_twice(client, document, two_versions,
                                                  token_for) -> None:
    agreed, alice, bob = two_versions["agreed"], two_versions["alice"], two_versions["bob"]
    first = _gold(client, document, token_for("judy"), {"accept": agreed[0], "also": [agreed[1]]})
    assert first.status_code == 201
    # A second reviewer (or the same decision sent twice) on claims the gold already settles:
    # every way of deciding is refused, naming the gold claim that settles them.
    for body in ({"accept": agreed[0], "also": [agreed[1]]}, {"accept": agreed[1]},
                 {"span_from": agreed[0], "fields_from": alice},
                 {"claim": {"start": span(SAMPLE_TEXT, NO_AIRCRAFT)[0],
                            "end": span(SAMPLE_TEXT, NO_AIRCRAFT)[1], "text": NO_AIRCRAFT,
                            "stance": "denies"}, "sources": [bob, agreed[1]]}):
        again = _gold(client, document, token_for("maria"), body)
        assert again.status_code == 409, (body, again.get_json())
        assert again.get_json()["current"]["id"] == first.get_json()["id"]
    assert [c.id for c in _live_gold(document)] == [first.get_json()["id"]]
    # Other units are still decided as before.
    assert _gold(client, document, token_for("maria"), {"accept": alice}).status_code == 201
    # A deleted gold claim settles nothing: its unit is decided again.
    gold = first.get_json()
    deleted = client.delete(f"/api/v1/claims/{gold['id']}?version={gold['version']}",
                            headers=token_for("judy"))
    assert deleted.status_code == 204
    assert _gold(client, document, token_for("maria"),
                 {"accept": agreed[1]}).status_code == 201
    assert len(_live_gold(document)) == 2


def test_a_unit_settled_apart_names_every_gold_claim_that_settles_it(
        client, document, two_versions, token_for) -> None:
    """alice's and bob's versions of one unit were settled by a gold claim each; a decision
    on the whole unit is refused naming both (the first alone left the other unseen)."""
    alice, bob, lonely = two_versions["alice"], two_versions["bob"], two_versions["lonely"]
    judy = token_for("judy")
    first = _gold(client, document, judy, {"accept": alice}).get_json()
    second = _gold(client, document, judy, {"accept": bob}).get_json()
    refused = _gold(client, document, token_for("maria"), {"accept": bob, "also": [alice]})
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["settled_by"] == [first["id"], second["id"]]  # a tie: the older first
    assert body["current"]["id"] == first["id"]
    assert f"#{first['id']} and #{second['id']}" in body["error"]
    # The gold claim that settles more of the decision's claims comes first.
    both = _gold(client, document, judy, {"accept": lonely, "also": [alice]})
    assert both.status_code == 409 and both.get_json()["settled_by"] == [first["id"]]
    assert f"(#{first['id']})" in both.get_json()["error"]
    client.delete(f"/api/v1/claims/{first['id']}?version={first['version']}", headers=judy)
    third = _gold(client, document, judy, {"accept": lonely, "also": [alice]}).get_json()
    refused = _gold(client, document, judy, {"accept": bob, "also": [alice, lonely]})
    assert refused.get_json()["settled_by"] == [third["id"], second["id"]]
    assert [c.id for c in _live_gold(document)] == [second["id"], third["id"]]


def test_a_removed_annotators_unfinished_document_still_reaches_the_review_queue(
        document, make_user, client, token_for) -> None:
    """alice leaves the project half-way through d1; the manager's `assign` gives her place
    to carol; once bob and carol are done, d1 is ready for review."""
    project = document.project
    projects.add_member(project, make_user("judy"), "adjudicator")
    alice, bob = users.by_username("alice"), users.by_username("bob")
    annotate_sample("alice", document, NO_AIRCRAFT, stance="denies")
    documents.set_status(document, alice, "in_progress")
    projects.remove_member(project, alice)
    carol = make_user("carol")
    projects.add_member(project, carol, "annotator")
    assert assignments.assign(project, 2) >= 1
    for user in (bob, carol):
        annotate_sample(user.username, document, NO_AIRCRAFT, stance="denies")
        documents.set_status(document, user, "done")

    row = next(d for d in progress.by_document(project) if d["id"] == document.id)
    assert row["complete"]
    queued = client.get(f"/api/v1/projects/{project.id}/review-queue",
                        headers=token_for("judy")).get_json()
    assert document.id in [d["document_id"] for d in queued]
    # Her claim is still one of the versions to decide.
    assert "alice" in adjudication.review(document)["coders"]


def test_a_removed_annotators_finished_work_still_counts_for_review(
        document, make_user, client, token_for) -> None:
    project = document.project
    projects.add_member(project, make_user("judy"), "adjudicator")
    project.annotators_per_document = 2
    db.session.commit()
    for name in ("alice", "bob"):
        _claim(name, document, NO_AIRCRAFT, stance="denies")
        documents.set_status(document, users.by_username(name), "done")
    projects.remove_member(project, users.by_username("alice"))
    queued = client.get(f"/api/v1/projects/{project.id}/review-queue",
                        headers=token_for("judy")).get_json()
    assert document.id in [d["document_id"] for d in queued]


def test_accept_agreed_leaves_a_unit_a_gold_claim_settles_in_part(client, document,
                                                                  two_versions, token_for):
    judy = token_for("judy")
    agreed = two_versions["agreed"]
    start, end = span(SAMPLE_TEXT, NO_AIRCRAFT)
    # Written from alice's claim alone: the unit is settled in part.
    partial = _gold(client, document, judy, {"claim": {
        "start": start, "end": end, "text": NO_AIRCRAFT, "stance": "denies"},
        "sources": [agreed[0]]})
    assert partial.status_code == 201
    _claim("bob", document, VIDEO)  # agrees with alice's "lonely" claim
    answer = client.post(f"/api/v1/documents/{document.id}/gold/accept-agreed", headers=judy)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"accepted": 1}
    gold = _live_gold(document)
    assert sorted(c.text for c in gold) == sorted([NO_AIRCRAFT, VIDEO])
    assert [c.source_claim_ids for c in gold if c.text == NO_AIRCRAFT] == [[agreed[0]]]


def test_two_reviewers_deciding_a_unit_at_once_make_one_gold_claim(
        app, document, two_versions, token_for, monkeypatch) -> None:
    """The second decision waits for the first (the review row's lock): it then finds the
    unit settled (409) instead of checking before the first is stored."""
    import threading
    import time

    agreed, url = two_versions["agreed"], f"/api/v1/documents/{document.id}/gold"
    headers = {who: token_for(who) for who in ("judy", "maria")}
    db.session.rollback()
    checking = adjudication._live_claims

    def slow(document_, *, gold: bool):  # the window between the check and the insert
        found = checking(document_, gold=gold)
        if gold:
            time.sleep(0.4)
        return found

    monkeypatch.setattr(adjudication, "_live_claims", slow)
    answers: dict[str, int] = {}

    def decide(who: str, delay: float) -> None:
        time.sleep(delay)
        with app.test_client() as c:
            answers[who] = c.post(url, json={"accept": agreed[0], "also": [agreed[1]]},
                                  headers=headers[who]).status_code

    threads = [threading.Thread(target=decide, args=("judy", 0)),
               threading.Thread(target=decide, args=("maria", 0.15))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert answers == {"judy": 201, "maria": 409}
    assert len(_live_gold(document)) == 1


# ---------- a done review holds only while no unit is open ----------


def test_review_done_is_refused_while_units_are_open(client, document, two_versions,
                                                     token_for):
    url = f"/api/v1/documents/{document.id}/review"
    judy = token_for("judy")
    refused = client.put(url, json={"status": "done"}, headers=judy)
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["open_units"] == 3 and body["error"].startswith("3 units are still open")
    assert client.get(url, headers=judy).get_json()["status"] == "none"
    assert _review_events(document) == []

    _gold(client, document, judy, {"accept": two_versions["bob"], "also": [two_versions["alice"]]})
    client.post(url.replace("/review", "/gold/accept-agreed"), headers=judy)
    one_left = client.put(url, json={"status": "done"}, headers=judy)
    assert one_left.status_code == 409 and one_left.get_json()["open_units"] == 1
    assert "1 unit is still open" in one_left.get_json()["error"]
    assert client.get(url, headers=judy).get_json()["status"] == "open"

    client.post(url.replace("/review", "/reject"), headers=judy,
                json={"claim_ids": [two_versions["lonely"]]})
    assert client.put(url, json={"status": "done"}, headers=judy).status_code == 200
    assert _review_events(document) == [("open", "done", None)]


def _bob_claims_the_machine_gun_fire(client, document, token_for):
    """bob's new claim, a unit no decision covers; the 201 answer."""
    start, end = span(SAMPLE_TEXT, "machine-gun fire")
    added = client.post(f"/api/v1/documents/{document.id}/claims", headers=token_for("bob"),
                        json={"start": start, "end": end, "text": "machine-gun fire",
                              "stance": "asserts"})
    assert added.status_code == 201, added.get_json()
    return added


def _assert_status(response, status: int) -> None:
    assert response.status_code == status, response.get_json()


def test_review_done_with_unfinished_annotators_is_stored_with_a_warning(
        client, document, two_versions, token_for):
    """bob reopened his work: done is accepted (a claim he adds later reopens the review)
    and the answer, like the review, names him."""
    url = f"/api/v1/documents/{document.id}/review"
    judy = token_for("judy")
    _decide_every_unit(client, document, two_versions, judy)
    documents.set_status(document, users.by_username("bob"), "in_progress")
    assert client.get(url, headers=judy).get_json()["unfinished"] == ["bob"]
    stored = client.put(url, json={"status": "done"}, headers=judy)
    assert stored.status_code == 200
    assert stored.get_json() == {"status": "done", "unfinished": ["bob"]}

    added = _bob_claims_the_machine_gun_fire(client, document, token_for)
    review = client.get(url, headers=judy).get_json()
    assert (review["status"], review["open_units"]) == ("open", 1)
    assert _review_events(document)[-1] == (
        "done", "open", {"action": "create", "claim_id": added.get_json()["id"]})


def test_a_claim_stored_while_the_review_is_marked_done_reopens_it(
        monkeypatch, client, document, two_versions, token_for):
    """bob's create read the review as open; judy marked it done before his claim was
    stored (her count of open units could not see it): the review must not stay done."""
    url = f"/api/v1/documents/{document.id}/review"
    judy = token_for("judy")
    _decide_every_unit(client, document, two_versions, judy)
    before_the_next_claim_insert(monkeypatch, lambda: _assert_status(
        client.put(url, json={"status": "done"}, headers=judy), 200))
    _bob_claims_the_machine_gun_fire(client, document, token_for)
    review = client.get(url, headers=judy).get_json()
    assert (review["status"], review["open_units"]) == ("open", 1)


def test_deleting_gold_reopens_a_done_review_and_the_export_says_so(
        client, document, two_versions, token_for):
    url = f"/api/v1/documents/{document.id}/review"
    judy = token_for("judy")
    _decide_every_unit(client, document, two_versions, judy)
    assert client.put(url, json={"status": "done"}, headers=judy).status_code == 200
    gold = client.get(url, headers=judy).get_json()["gold"][0]

    deleted = client.delete(f"/api/v1/claims/{gold['id']}?version={gold['version']}",
                            headers=judy)
    assert deleted.status_code == 204
    review = client.get(url, headers=judy).get_json()
    assert (review["status"], review["open_units"]) == ("open", 1)
    assert _review_events(document)[-1] == (
        "done", "open", {"action": "delete", "claim_id": gold["id"]})
    export = client.get(f"/api/v1/projects/{document.project_id}/export.jsonl?claims=gold",
                        headers=token_for("maria"))
    first = json.loads(export.get_data(as_text=True).splitlines()[0])
    assert first["review_status"] == "open"
    assert export.headers["X-Documents-Without-Gold"] == "2"  # this one and the untouched d2


def test_only_a_change_that_opens_a_unit_reopens_a_done_review(client, document, two_versions,
                                                               token_for):
    """An annotator's claim deleted, a rejected one restored: every unit stays decided, and
    the review done. A new claim, or one restored that no decision covers, opens it."""
    url = f"/api/v1/documents/{document.id}/review"
    judy, maria = token_for("judy"), token_for("maria")
    _decide_every_unit(client, document, two_versions, judy)
    assert client.put(url, json={"status": "done"}, headers=judy).status_code == 200
    lonely = two_versions["lonely"]
    assert client.delete(f"/api/v1/claims/{lonely}", headers=token_for("alice")
                         ).status_code == 204
    assert client.get(url, headers=judy).get_json()["status"] == "done"
    assert client.post(f"/api/v1/claims/{lonely}/restore", headers=maria).status_code == 200
    review = client.get(url, headers=judy).get_json()
    assert (review["status"], review["open_units"]) == ("done", 0)  # still rejected

    start, end = span(SAMPLE_TEXT, NO_AIRCRAFT)
    fresh = claims.create_claim(users.by_username("alice"), document, {
        "start": start, "end": end, "text": NO_AIRCRAFT, "stance": "asserts"})
    assert client.get(url, headers=judy).get_json()["status"] == "open"
    claims.delete_claim(users.by_username("alice"), fresh)
    assert client.put(url, json={"status": "done"}, headers=judy).status_code == 200
    assert client.post(f"/api/v1/claims/{fresh.id}/restore", headers=maria).status_code == 200
    review = client.get(url, headers=judy).get_json()
    assert (review["status"], review["open_units"]) == ("open", 1)
    assert _review_events(document)[-3:] == [
        ("done", "open", {"action": "create", "claim_id": fresh.id}),
        ("open", "done", None),
        ("done", "open", {"action": "restore", "claim_id": fresh.id})]
