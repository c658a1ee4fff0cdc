"""Adjudication: the review queue, the review of a document, gold claims with provenance."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from annotator.db import db
from annotator.models import AuditEvent, Claim
from annotator.services import claims, documents, projects, users
from tests.conftest import SAMPLE_TEXT, span

HELICOPTER = "a helicopter was shot down"
NO_AIRCRAFT = "no aircraft was lost"
VIDEO = "Amaq’s video shows machine-gun fire"


def _claim(username: str, document, needle: str, **fields):
    start, end = span(SAMPLE_TEXT, needle)
    return claims.create_claim(users.by_username(username), document,
                               {"start": start, "end": end, "text": needle,
                                "stance": "asserts", **fields})


@pytest.fixture
def annotated(document, make_user):
    """alice and bob annotated the first document and are done: one claim agreed exactly,
    one with other boundaries and stance, one only alice marked."""
    projects.add_member(document.project, make_user("judy"), "adjudicator")
    agreed = (_claim("alice", document, NO_AIRCRAFT, actor="Russian Defense Ministry",
                     stance="denies"),
              _claim("bob", document, NO_AIRCRAFT, actor="Russian Defense Ministry",
                     stance="denies"))
    differ = (_claim("alice", document, HELICOPTER, stance="asserts"),
              _claim("bob", document, "said " + HELICOPTER, stance="questions"))
    lonely = _claim("alice", document, VIDEO, actor="Amaq", stance="asserts")
    for name in ("alice", "bob"):
        documents.set_status(document, users.by_username(name), "done")
    return {"agreed": [c.id for c in agreed], "differ": [c.id for c in differ],
            "lonely": lonely.id, "document": document}


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
