"""Assignment: k distinct annotators per document, balanced; reassigning; skipping; queues;
annotators reach only the documents assigned to them."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from sqlalchemy import delete, select

from annotator.db import db
from annotator.models import Assignment, AuditEvent, Claim, Document
from annotator.services import assignments, documents, projects, users
from annotator.services.errors import Conflict, InvalidInput
from tests.conftest import SAMPLE_TEXT


def _import(project, count: int, prefix: str = "doc") -> list[int]:
    lines = "".join(json.dumps({"id": f"{prefix}{i}", "text": f"Report number {i}."}) + "\n"
                    for i in range(count))
    documents.import_file(project, f"{prefix}.jsonl", lines.encode())
    return list(db.session.scalars(
        select(Document.id).where(Document.project_id == project.id,
                                  Document.external_id.like(f"{prefix}%"))
        .order_by(Document.position)))


def _holders() -> dict[int, list[str]]:
    db.session.rollback()
    found: dict[int, list[str]] = {}
    for assignment in db.session.scalars(select(Assignment)):
        found.setdefault(assignment.document_id, []).append(assignment.user.username)
    return found


@pytest.fixture
def team(project, make_user):
    for name in ("carol", "dave"):
        projects.add_member(project, make_user(name), "annotator")
    return project  # annotators: alice, bob, carol, dave


def test_assign_gives_each_document_k_distinct_annotators_balanced(team):
    ids = _import(team, 10)
    added = assignments.assign(team, 3)

    holders = _holders()
    assert added == 30
    assert all(len(holders[i]) == 3 == len(set(holders[i])) for i in ids)
    load = Counter(name for names in holders.values() for name in names)
    assert set(load) == {"alice", "bob", "carol", "dave"}
    assert max(load.values()) - min(load.values()) <= 1
    assert team.annotators_per_document == 3


def test_assign_only_fills_missing_places_and_rebalances_newcomers(team, make_user):
    _import(team, 4)
    assignments.assign(team, 1)
    first = _holders()
    projects.add_member(team, make_user("erin"), "annotator")
    new_ids = _import(team, 5, prefix="late")

    added = assignments.assign(team, 1)

    holders = _holders()
    assert added == 5
    assert all(holders[i] == first[i] for i in first)  # nothing already given moves
    assert [holders[i][0] for i in new_ids][0] == "erin"  # the least loaded goes first
    assert assignments.assign(team, 1) == 0  # idempotent


def test_assign_is_deterministic(team):
    _import(team, 7)
    assignments.assign(team, 2)
    once = _holders()
    db.session.execute(Assignment.__table__.delete())
    db.session.commit()
    assignments.assign(team, 2)
    assert _holders() == once


@pytest.mark.parametrize("k", [0, 5])
def test_assign_refuses_k_outside_the_team(team, k):
    _import(team, 2)
    with pytest.raises(InvalidInput) as caught:
        assignments.assign(team, k)
    assert "per_document" in caught.value.fields
    assert _holders() == {}


def test_reassign_moves_an_open_assignment_and_records_it(document, make_user):
    project = document.project
    carol = make_user("carol")
    projects.add_member(project, carol, "annotator")
    alice, maria = users.by_username("alice"), users.by_username("maria")

    assignments.reassign(document, alice, carol, by=maria)

    assert sorted(_holders()[document.id]) == ["bob", "carol"]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "reassign")).one()
    assert event.before["user"] == "alice" and event.after["user"] == "carol"


def test_reassign_refuses_done_work_and_existing_holders(document):
    alice, bob = users.by_username("alice"), users.by_username("bob")
    maria = users.by_username("maria")
    with pytest.raises(InvalidInput):
        assignments.reassign(document, alice, bob, by=maria)  # bob has it already
    documents.set_status(document, alice, "done")
    with pytest.raises(Conflict):
        assignments.reassign(document, alice, users.by_username("maria"), by=maria)
    assert sorted(_holders()[document.id]) == ["alice", "bob"]


def test_annotator_reaches_only_assigned_documents(client, document, token_for):
    project = document.project
    documents.import_file(project, "extra.jsonl",
                          (json.dumps({"id": "only-bob", "text": SAMPLE_TEXT}) + "\n").encode())
    extra = db.session.scalars(select(Document).where(Document.external_id == "only-bob")).one()
    db.session.add(Assignment(document_id=extra.id, user_id=users.by_username("bob").id))
    db.session.commit()
    alice = token_for("alice")

    listed = client.get(f"/api/v1/projects/{project.id}/documents", headers=alice).get_json()
    assert extra.id not in [d["id"] for d in listed] and document.id in [d["id"] for d in listed]
    assert client.get(f"/api/v1/documents/{extra.id}", headers=alice).status_code == 404
    posted = client.post(f"/api/v1/documents/{extra.id}/claims", headers=alice,
                         json={"start": 0, "end": 8, "text": SAMPLE_TEXT[:8], "stance": "asserts"})
    assert posted.status_code == 404
    assert client.get(f"/api/v1/documents/{extra.id}",
                      headers=token_for("bob")).status_code == 200
    assert client.get(f"/api/v1/documents/{extra.id}",
                      headers=token_for("maria")).status_code == 200  # managers see all


def test_skip_needs_a_reason_and_leaves_the_queue(client, document, token_for):
    alice = token_for("alice")
    url = f"/api/v1/documents/{document.id}/skip"

    refused = client.post(url, json={"reason": "  "}, headers=alice)
    assert refused.status_code == 422 and "reason" in refused.get_json()["fields"]
    assert _status("alice", document.id) == ("todo", None)

    skipped = client.post(url, json={"reason": "Not about a claim"}, headers=alice)
    assert skipped.status_code == 200
    assert skipped.get_json()["next_document_id"] != document.id
    assert _status("alice", document.id) == ("skipped", "Not about a claim")
    project = db.session.get(Document, document.id).project
    assert assignments.next_document(project, users.by_username("alice")).id != document.id
    assert assignments.queue_counts(project, users.by_username("alice"))["skipped"] == 1


def test_skip_of_an_unassigned_document_is_refused(client, document, token_for):
    response = client.post(f"/api/v1/documents/{document.id}/skip",
                           json={"reason": "nope"}, headers=token_for("maria"))
    assert response.status_code == 422
    assert _status("maria", document.id) is None


def test_mark_done_needs_an_assignment(client, document, token_for):
    url = f"/api/v1/documents/{document.id}/status"
    assert client.put(url, json={"status": "done"}, headers=token_for("maria")).status_code == 422
    assert client.put(url, json={"status": "done"}, headers=token_for("alice")).status_code == 200
    assert _status("alice", document.id)[0] == "done"
    assert _status("bob", document.id)[0] == "todo"


def _status_of(username: str, document_id: int) -> str:
    db.session.rollback()
    return db.session.scalars(select(Assignment.status).where(
        Assignment.user_id == users.by_username(username).id,
        Assignment.document_id == document_id)).one()


def test_opening_the_page_changes_nothing_until_the_page_posts_start(client, auth, document):
    auth.login("alice")
    page = client.get(f"/documents/{document.id}")
    assert page.status_code == 200
    assert _status_of("alice", document.id) == "todo"  # a GET (any site's link) wrote nothing

    # The page's POST carries its CSRF token; one forged without it is refused.
    forged = client.post(f"/api/v1/documents/{document.id}/start")
    assert forged.status_code == 400 and "CSRF" in forged.get_json()["error"]
    assert _status_of("alice", document.id) == "todo"

    token = auth.csrf_token(f"/documents/{document.id}")
    started = client.post(f"/api/v1/documents/{document.id}/start",
                          headers={"X-CSRFToken": token})
    assert started.status_code == 200 and started.get_json() == {"status": "in_progress"}
    assert _status_of("alice", document.id) == "in_progress"
    assert _status_of("bob", document.id) == "todo"  # only the caller's own assignment


def test_start_leaves_finished_and_skipped_work_as_it_is(client, document, token_for):
    headers = token_for("alice")
    done = client.put(f"/api/v1/documents/{document.id}/status", json={"status": "done"},
                      headers=headers)
    assert done.status_code == 200
    again = client.post(f"/api/v1/documents/{document.id}/start", headers=headers)
    assert again.get_json() == {"status": "done"}
    assert _status_of("alice", document.id) == "done"

    second = documents.neighbour(document, users.by_username("bob"))
    assert client.post(f"/api/v1/documents/{second.id}/skip", json={"reason": "duplicate"},
                       headers=token_for("bob")).status_code == 200
    assert client.post(f"/api/v1/documents/{second.id}/start", headers=token_for("bob")
                       ).get_json() == {"status": "skipped"}
    assert _status_of("bob", second.id) == "skipped"


def test_start_without_an_assignment_answers_null(client, project, document, make_user,
                                                  token_for):
    projects.add_member(project, make_user("maria2"), "manager")
    answer = client.post(f"/api/v1/documents/{document.id}/start", headers=token_for("maria2"))
    assert answer.status_code == 200 and answer.get_json() == {"status": None}
    db.session.rollback()
    assert db.session.scalars(select(Assignment).where(
        Assignment.user_id == users.by_username("maria2").id)).all() == []


def test_next_document_prefers_work_in_progress(document):
    project, alice = document.project, users.by_username("alice")
    second = documents.neighbour(document, alice)
    documents.start(second, alice)
    assert assignments.next_document(project, alice).id == second.id
    documents.set_status(second, alice, "done")
    assert assignments.next_document(project, alice).id == document.id


def test_mark_done_on_the_last_document_leads_back_to_an_unfinished_earlier_one(
        client, project, token_for):
    """Bob opened the last document first: done with it, his next unfinished document is
    the first one he has not finished, not the end of the list."""
    _import(project, 4)
    assignments.assign(project, 2)
    ordered = db.session.scalars(select(Document).where(Document.project_id == project.id)
                                 .order_by(Document.position, Document.id)).all()
    bob = token_for("bob")
    first_done = client.put(f"/api/v1/documents/{ordered[0].id}/status",
                            json={"status": "done"}, headers=bob)
    assert first_done.get_json()["next_document_id"] == ordered[1].id
    last = client.put(f"/api/v1/documents/{ordered[-1].id}/status", json={"status": "done"},
                      headers=bob)
    assert last.status_code == 200
    assert last.get_json()["next_document_id"] == ordered[1].id  # round to the top
    for document in ordered[1:-1]:
        client.put(f"/api/v1/documents/{document.id}/status", json={"status": "done"},
                   headers=bob)
    again = client.put(f"/api/v1/documents/{ordered[-1].id}/status", json={"status": "done"},
                       headers=bob)
    assert again.get_json()["next_document_id"] is None  # all done: nothing to go round to


def test_cli_assign(app, project):
    _import(project, 3)
    result = app.test_cli_runner().invoke(args=["assign", project.name, "--per-document", "2"])
    assert result.exit_code == 0, result.output
    assert "Added 6 assignment(s)" in result.output
    too_many = app.test_cli_runner().invoke(args=["assign", project.name, "--per-document", "3"])
    assert too_many.exit_code != 0 and "per_document" in too_many.output


def _status(username: str, document_id: int):
    db.session.rollback()
    row = db.session.execute(
        select(Assignment.status, Assignment.skip_reason).where(
            Assignment.document_id == document_id,
            Assignment.user_id == users.by_username(username).id)).first()
    return tuple(row) if row else None


def test_only_a_documents_assigned_annotators_draw_claims_on_it(
        client, project, document, make_user, token_for):
    """A manager, an adjudicator or an admin who only oversees a document would become one
    of its coders (review units, agreement, exports) by drawing a claim there: 403, nothing
    stored. Assigned, a manager annotates like anyone."""
    projects.add_member(project, make_user("adele"), "adjudicator")
    make_user("root", admin=True)
    body = {"start": 0, "end": 8, "text": SAMPLE_TEXT[:8], "stance": "asserts"}
    url = f"/api/v1/documents/{document.id}/claims"
    for name in ("maria", "adele", "root"):
        refused = client.post(url, headers=token_for(name), json=body)
        assert refused.status_code == 403, (name, refused.get_json())
        assert "not assigned" in refused.get_json()["error"]
    db.session.rollback()
    assert db.session.scalars(select(Claim)).all() == []
    assert client.post(url, headers=token_for("alice"), json=body).status_code == 201
    db.session.add(Assignment(document_id=document.id,
                              user_id=users.by_username("maria").id))
    db.session.commit()
    assert client.post(url, headers=token_for("maria"), json=body).status_code == 201


def test_an_overseer_joins_a_documents_annotators_by_choice(
        client, project, document, make_user, token_for):
    """Managers, adjudicators and admins read every document; joining one makes them one of
    its annotators (recorded), after which they draw claims on it. Annotators are assigned
    by a manager: they cannot join."""
    projects.add_member(project, make_user("adele"), "adjudicator")
    url = f"/api/v1/documents/{document.id}/join"
    for name in ("maria", "adele"):
        joined = client.post(url, headers=token_for(name))
        assert joined.status_code == 200 and joined.get_json() == {"status": "todo"}
        assert client.post(f"/api/v1/documents/{document.id}/claims", headers=token_for(name),
                           json={"start": 0, "end": 8, "text": SAMPLE_TEXT[:8],
                                 "stance": "asserts"}).status_code == 201
    assert client.post(url, headers=token_for("maria")).get_json() == {"status": "todo"}
    assert client.post(url, headers=token_for("alice")).get_json() == {"status": "todo"}
    other = _import(project, 1, prefix="solo")[0]
    db.session.add(Assignment(document_id=other, user_id=users.by_username("bob").id))
    db.session.commit()
    # alice may not open a document she is not assigned to, let alone join it.
    assert client.post(f"/api/v1/documents/{other}/join",
                       headers=token_for("alice")).status_code == 404
    db.session.rollback()
    joins = db.session.scalars(select(AuditEvent.after).where(AuditEvent.action == "join")).all()
    assert joins == [{"user": "maria"}, {"user": "adele"}]


def test_a_replayed_create_after_a_reassign_answers_with_its_claim(
        client, project, document, token_for):
    """The create was stored but its answer lost; meanwhile a manager moved the document to
    another annotator. The browser's retry gets the claim it made (200), not a 403 that
    would show stored work as refused; a new create is refused."""
    alice = token_for("alice")
    url = f"/api/v1/documents/{document.id}/claims"
    body = {"start": 0, "end": 8, "text": SAMPLE_TEXT[:8], "stance": "asserts",
            "client_id": "lost-answer-after-reassign"}
    made = client.post(url, headers=alice, json=body)
    assert made.status_code == 201
    db.session.execute(delete(Assignment).where(
        Assignment.document_id == document.id,
        Assignment.user_id == users.by_username("alice").id))
    db.session.commit()
    replay = client.post(url, headers=alice, json=body)
    assert replay.status_code == 200 and replay.get_json()["id"] == made.get_json()["id"]
    fresh = client.post(url, headers=alice, json={**body, "client_id": "a-new-one"})
    assert fresh.status_code in (403, 404)
