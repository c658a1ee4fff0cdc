"""Import over the API (POST /api/v1/projects/<pid>/import), a document with its claims in
one request (GET /api/v1/documents/<did>?include=claims), and the per-request role memo."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from annotator.db import db
from annotator.models import Assignment, AuditEvent, Claim, Document, Membership
from annotator.services import access, claims, users
from tests.conftest import span

FIRST = "The ministry said no aircraft was lost. Locals saw a helicopter fall."
SECOND = "A second report 🚁 with an emoji before its claim."


def _doccano(*lines: dict) -> bytes:
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()


def _count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count(model.id)))


def test_a_doccano_body_becomes_documents_and_the_annotators_claims_with_history(
        client, project, token_for):
    # doccano counts UTF-16 units: after the emoji its offsets are one more than ours
    start = SECOND.index("with an emoji")
    lost, fall = span(FIRST, "no aircraft was lost"), span(FIRST, "saw a helicopter fall.")
    body = _doccano(
        {"id": "r1", "text": FIRST, "label": [[*lost, "asserts"], [*fall, "questions"]]},
        {"id": "r2", "text": SECOND, "label": [[start + 1, start + 14, "denies"]]},
    )
    response = client.post(f"/api/v1/projects/{project.id}/import?format=doccano"
                           "&annotator=alice", data=body, headers={
                               **token_for("maria"), "Content-Type": "application/x-ndjson"})

    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"format": "doccano", "documents": 2, "claims": 3,
                                   "spans_skipped": 0}
    db.session.rollback()
    alice = users.by_username("alice")
    stored = db.session.execute(select(Claim).order_by(Claim.id)).scalars().all()
    assert [(c.document.external_id, c.text, c.stance, c.annotator_id) for c in stored] == [
        ("r1", "no aircraft was lost", "asserts", alice.id),
        ("r1", "saw a helicopter fall.", "questions", alice.id),
        ("r2", "with an emoji", "denies", alice.id),
    ]
    # every claim has its one "create" event, recording the claim as the API shows it
    for claim in stored:
        events = db.session.execute(
            select(AuditEvent).where(AuditEvent.claim_id == claim.id)).scalars().all()
        assert [(e.action, e.entity, e.user_id, e.project_id) for e in events] == [
            ("create", "claim", alice.id, project.id)]
        assert events[0].before is None
        assert events[0].after == claims.claim_to_dict(claim)
    statuses = db.session.execute(select(Assignment.status).where(
        Assignment.user_id == alice.id)).scalars().all()
    assert statuses == ["done", "done"]


def test_label_studio_as_a_multipart_file_and_spans_skipped_without_an_annotator(
        client, project, token_for):
    task = {"data": {"text": FIRST}, "annotations": [{"result": [
        {"type": "labels", "from_name": "label", "to_name": "text",
         "value": {"start": 9, "end": 38, "labels": ["asserts"]}}]}]}
    response = client.post(f"/api/v1/projects/{project.id}/import", headers=token_for("maria"),
                           data={"file": (io.BytesIO(json.dumps([task]).encode()), "ls.json")})

    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"format": "label-studio", "documents": 1, "claims": 0,
                                   "spans_skipped": 1}
    assert _count(Document) == 1 and _count(Claim) == 0


def test_a_bad_record_or_annotator_is_422_and_nothing_is_stored(client, project, token_for,
                                                                   make_user):
    headers = {**token_for("maria"), "Content-Type": "application/x-ndjson"}
    bad = _doccano({"text": FIRST, "label": [[9, 38, "asserts"]]},
                   {"text": SECOND, "label": [[0, 5, "agrees"]]})
    response = client.post(f"/api/v1/projects/{project.id}/import?annotator=alice",
                           data=bad, headers=headers)
    assert response.status_code == 422
    error = response.get_json()
    assert "line 2" in error["fields"] and "'agrees'" in error["fields"]["line 2"]
    assert _count(Document) == 0 and _count(Claim) == 0 and _count(AuditEvent) == 0

    make_user("stranger")
    good = _doccano({"text": FIRST, "label": [[9, 38, "asserts"]]})
    for name in ("stranger", "nobody-of-that-name"):  # the same answer: no username probing
        response = client.post(f"/api/v1/projects/{project.id}/import?annotator={name}",
                               data=good, headers=headers)
        assert response.status_code == 422
        assert response.get_json()["fields"] == {"annotator": "must be a member of the project"}
    assert _count(Document) == 0


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _line(**fields: str) -> str:
    """A JSONL line whose fields are JSON text as given (not all of it JSON)."""
    return "{" + ", ".join(f'"{key}": {value}' for key, value in fields.items()) + "}\n"


def _tasks(*metas: str, sep: str = ", ") -> str:
    """A Label Studio file of tasks with these data.meta, as JSON text as given."""
    return "[" + sep.join(f'{{"data": {{"text": "hello", "meta": {m}}}}}' for m in metas) + "]"


@pytest.mark.parametrize(("query", "name", "body", "where", "message"), [
    # each was a 500, or (NaN) stored and then served as a bare NaN no client can parse
    ("", "a.jsonl", _line(text='"hello"', id='"nan1"', meta='{"n": NaN}'), "line 2",
     "invalid JSON: NaN is not valid JSON"),
    ("", "a.jsonl", _deep(5000) + "\n", "line 2", "invalid JSON: nested too deeply"),
    ("", "a.jsonl", _line(text='"hello"', meta=f'{{"a": {_deep(3000)}}}'), "line 2",
     "invalid JSON: nested too deeply"),
    ("", "a.jsonl", _line(text='"hello"', id="1" * 5000), "line 2",
     "invalid JSON: a number of 5000 digits is too long"),
    ("", "a.jsonl", _line(text='"hello"', meta=f'{{"n": {"1" * 5000}}}'), "line 2",
     "invalid JSON: a number of 5000 digits is too long"),
    ("?format=doccano", "a.jsonl", _line(text='"hello"', label="[]", n="Infinity"),
     "line 2", "invalid JSON: Infinity is not valid JSON"),
    ("", "ls.json", _tasks("{}", f'{{"a": {_deep(3000)}}}'), "file",
     "invalid JSON: nested too deeply (3004 levels) at line 1"),
    ("", "ls.json", _tasks("{}", '{"n": NaN}', sep=",\n"), "file",
     "invalid JSON: NaN is not valid JSON at line 2"),
    ("", "ls.json", _tasks("{}", f'{{"a": {_deep(200)}}}'), "task 2",
     "meta is nested more than 100 levels deep"),
])
def test_a_file_that_is_not_json_is_422_naming_the_line_or_task_and_nothing_is_stored(
        client, project, token_for, query, name, body, where, message):
    if name.endswith(".jsonl"):
        body = '{"text": "fine"}\n' + body
    url = f"/api/v1/projects/{project.id}/import{query}"
    response = client.post(url, headers=token_for("maria"),
                           data={"file": (io.BytesIO(body.encode()), name)})

    assert response.status_code == 422, response.get_json()
    assert response.get_json()["fields"][where].startswith(message)
    assert _count(Document) == 0


def test_a_raw_json_body_that_is_not_json_is_the_imports_422_naming_where(client, project,
                                                                        token_for):
    # The API reads JSON bodies before the view, refusing these with a 400; an import's raw
    # body is a file, whose errors the import names.
    headers = {**token_for("maria"), "Content-Type": "application/json"}
    for body, where in ((_tasks("{}", '{"n": NaN}', sep=",\n"), "file"),
                        (_tasks("{}", f'{{"a": {_deep(200)}}}'), "task 2")):
        response = client.post(f"/api/v1/projects/{project.id}/import", data=body,
                               headers=headers)
        assert response.status_code == 422, response.get_json()
        assert where in response.get_json()["fields"]
    assert _count(Document) == 0


def test_a_document_with_its_claims_in_one_request_shows_what_get_claims_shows(
        client, annotated, token_for):
    document = annotated["document"]
    for name in ("bob", "judy"):  # blind annotator: his own only; adjudicator: all
        headers = token_for(name)
        together = client.get(f"/api/v1/documents/{document.id}?include=claims",
                              headers=headers)
        apart = client.get(f"/api/v1/documents/{document.id}/claims", headers=headers)
        plain = client.get(f"/api/v1/documents/{document.id}", headers=headers)
        assert together.status_code == apart.status_code == plain.status_code == 200
        body = together.get_json()
        assert body.pop("claims") == apart.get_json()
        assert body == plain.get_json()
    bob = users.by_username("bob")
    seen = {c["annotator"] for c in client.get(
        f"/api/v1/documents/{document.id}?include=claims",
        headers=token_for("bob")).get_json()["claims"]}
    assert seen == {bob.username}


def test_remembered_roles_follow_a_change_made_through_the_session(project):
    bob = users.by_username("bob")
    access.remember_roles()
    try:
        assert access.role_in(bob, project) == "annotator"
        membership = db.session.execute(select(Membership).where(
            Membership.user_id == bob.id, Membership.project_id == project.id)).scalar_one()
        membership.role = "manager"
        assert access.role_in(bob, project) == "manager"  # unflushed: not from the memo
        db.session.commit()
        assert access.role_in(bob, project) == "manager"
        db.session.delete(membership)
        db.session.flush()
        assert access.role_in(bob, project) is None
    finally:
        access.forget_roles()
