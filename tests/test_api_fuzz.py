"""The JSON API fuzzed by schemathesis against its own /api/v1/openapi.json.

Every operation gets generated requests (valid and invalid ones) as a project manager with a
real project behind the ids, so the fuzz reaches the services and not only 401/404. Each
response must be no server error, have a documented status code and content type, and
match its declared schema. Bounded and derandomized: CI stays fast and reproducible.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from annotator.api.openapi import openapi_document
from annotator.converters import MAX_ROW_ID
from annotator.db import db
from annotator.models import Claim, Document, Project
from annotator.services import adjudication, claims, users

from .conftest import NO_AIRCRAFT, annotate_sample

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture
def fuzz_ids(annotated, token_for) -> dict[str, object]:
    """A project with documents, claims of three people (the manager's own too), gold and a
    deleted claim; the manager's token."""
    document = annotated["document"]
    maria = users.by_username("maria")
    own = annotate_sample("maria", document, NO_AIRCRAFT, stance="denies")
    adjudication.accept(users.by_username("judy"), document, annotated["agreed"][0],
                        [annotated["agreed"][1]])
    claims.delete_claim(maria, own)
    annotate_sample("maria", document, NO_AIRCRAFT, stance="asserts")
    return {
        "headers": token_for("maria"),
        "pid": [p.id for p in db.session.scalars(db.select(Project))],
        "did": [d.id for d in db.session.scalars(db.select(Document))],
        "cid": [c.id for c in db.session.scalars(db.select(Claim))],
    }


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: schemathesis.SerializationContext, value: object) -> bytes:
    """The import's raw JSON Lines body. Its schema is a string (any text may come in, and a
    line that is not JSON must be a 422): send it as it is; a generated array (negative
    cases) goes one JSON value per line, so the parser meets well-formed lines too."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, list):
        return "".join(json.dumps(item) + "\n" for item in value).encode()
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return json.dumps(value).encode()


# The document the app serves is this one (test_served_document_is_the_fuzzed_one); it is
# built without an app, because the lazy fixture loader of schemathesis breaks on pytest 9.
schema = schemathesis.openapi.from_dict(openapi_document())


def test_served_document_is_the_fuzzed_one(client) -> None:
    assert client.get("/api/v1/openapi.json").get_json() == openapi_document()


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case, app, fuzz_ids) -> None:
    # Generated ids are folded onto the rows that exist (random ones would nearly all be
    # 404s); the negative cases (strings, 0, negative or too large ids) still test the 404s.
    for name, value in list(case.path_parameters.items()):
        known = fuzz_ids.get(name)
        if known and isinstance(value, int) and 0 < value <= MAX_ROW_ID:
            case.path_parameters[name] = known[value % len(known)]
    case.call_and_validate(app=app, headers=fuzz_ids["headers"], checks=CHECKS)


# ---------- what the fuzz found, pinned ----------


def test_an_id_too_large_for_the_database_is_not_found(annotated, token_for, client) -> None:
    headers = token_for("maria")
    for method, path in (("get", "/api/v1/projects/2147483648"),
                         ("patch", "/api/v1/claims/99999999999999999999999"),
                         ("delete", "/api/v1/claims/2147483648")):
        response = getattr(client, method)(path, headers=headers, json={"version": 1})
        assert response.status_code == 404, (method, path)
        assert "error" in response.get_json()
    assert client.get("/documents/2147483648", headers=headers).status_code == 404


def test_a_claim_id_too_large_in_a_body_is_a_422_naming_the_field(annotated, token_for,
                                                                   client) -> None:
    did = annotated["document"].id
    response = client.post(f"/api/v1/documents/{did}/gold", headers=token_for("judy"),
                           json={"accept": annotated["agreed"][0], "also": [2**70]})
    assert response.status_code == 422
    assert "also" in response.get_json()["fields"]
    response = client.post(f"/api/v1/documents/{did}/claims", headers=token_for("alice"),
                           json={"start": 0, "end": 8, "text": "Dispatch", "stance": "asserts",
                                 "evidence": [{"type": "video", "relation": "supports",
                                               "document_id": 2**40, "start": 0, "end": 1}]})
    assert response.status_code == 422
    assert any("document_id" in field for field in response.get_json()["fields"])


def test_text_a_database_cannot_store_is_a_422_naming_the_field(project, token_for,
                                                                client) -> None:
    for body, field in (({"name": "Amaq\x00"}, "name"),
                        ({"name": "Amaq", "aliases": ["ok", "\ud800"]}, "aliases.1")):
        response = client.post(f"/api/v1/projects/{project.id}/actors",
                               headers=token_for("maria"), json=body)
        assert response.status_code == 422
        assert field in response.get_json()["fields"]
    assert [a["name"] for a in client.get(f"/api/v1/projects/{project.id}/actors",
                                          headers=token_for("maria")).get_json()] \
        == ["Amaq", "Russian Defense Ministry"]
