"""Who may see what, how the API authenticates, CSRF protection and the security headers."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from annotator.db import db
from annotator.models import ApiToken, Claim, utcnow
from tests.conftest import SAMPLE_TEXT, AuthActions, IsolatedClient, span


def claim_body(needle: str = "a helicopter was shot down") -> dict[str, Any]:
    start, end = span(SAMPLE_TEXT, needle)
    return {"start": start, "end": end, "text": needle, "stance": "asserts"}


def claim_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Claim))


@pytest.fixture
def alices_claim(client, document, token_for) -> int:
    response = client.post(f"/api/v1/documents/{document.id}/claims", json=claim_body(),
                           headers=token_for("alice"))
    assert response.status_code == 201
    return response.get_json()["id"]


# ---------- membership ----------


def test_non_member_gets_404_for_the_project_its_documents_and_claims(
        client, document, make_user, token_for, alices_claim):
    make_user("mallory")
    mallory = token_for("mallory")
    pid, did = document.project_id, document.id
    urls = [f"/api/v1/projects/{pid}", f"/api/v1/projects/{pid}/documents",
            f"/api/v1/projects/{pid}/actors", f"/api/v1/projects/{pid}/export.jsonl",
            f"/api/v1/documents/{did}", f"/api/v1/documents/{did}/claims",
            f"/api/v1/claims/{alices_claim}"]
    for url in urls:
        response = client.get(url, headers=mallory)
        assert response.status_code == 404, url
        assert response.is_json
    assert client.get(f"/api/v1/projects/{pid}", headers=token_for("alice")).status_code == 200

    writes = [
        client.post(f"/api/v1/documents/{did}/claims", json=claim_body("machine-gun fire"),
                    headers=mallory),
        client.patch(f"/api/v1/claims/{alices_claim}", json={"version": 1, "stance": "denies"},
                     headers=mallory),
        client.delete(f"/api/v1/claims/{alices_claim}", headers=mallory),
        client.post(f"/api/v1/projects/{pid}/actors", json={"name": "Someone"}, headers=mallory),
        client.put(f"/api/v1/documents/{did}/status", json={"status": "done"}, headers=mallory),
    ]
    assert [w.status_code for w in writes] == [404] * len(writes)
    db.session.rollback()
    [claim] = db.session.scalars(select(Claim))
    assert (claim.stance, claim.deleted_at) == ("asserts", None)
    assert client.get("/api/v1/projects", headers=mallory).get_json() == []


def test_non_member_gets_404_for_the_pages(client, auth, document, make_user):
    make_user("mallory")
    auth.login("mallory")
    assert client.get(f"/projects/{document.project_id}").status_code == 404
    assert client.get(f"/documents/{document.id}").status_code == 404
    assert "Palmyra reports" not in client.get("/").get_data(as_text=True)


def test_admin_who_is_not_a_member_may_see_the_project(client, document, make_user, token_for):
    make_user("root", admin=True)
    assert client.get(f"/api/v1/projects/{document.project_id}",
                      headers=token_for("root")).status_code == 200


def test_annotators_get_403_for_the_export(client, document, token_for):
    url = f"/api/v1/projects/{document.project_id}/export.jsonl"
    for annotator in ("alice", "bob"):
        response = client.get(url, headers=token_for(annotator))
        assert response.status_code == 403
        assert response.is_json
    assert client.get(url, headers=token_for("maria")).status_code == 200


# ---------- authentication ----------


def test_unauthenticated_api_requests_are_401_json(client, document):
    pid, did = document.project_id, document.id
    requests = [("get", "/api/v1/projects"), ("get", f"/api/v1/projects/{pid}"),
                ("get", f"/api/v1/documents/{did}/claims"),
                ("get", f"/api/v1/projects/{pid}/export.jsonl"),
                ("post", f"/api/v1/documents/{did}/claims"), ("patch", "/api/v1/claims/1"),
                ("delete", "/api/v1/claims/1")]
    for method, url in requests:
        kwargs = {"json": claim_body()} if method in ("post", "patch") else {}
        response = getattr(client, method)(url, **kwargs)
        assert response.status_code == 401, (method, url)
        assert response.is_json and response.get_json()["error"]
    assert claim_count() == 0


@pytest.mark.parametrize("header", [
    "Bearer garbage", "Bearer ", "Bearer ann_not-a-real-token", "Basic YWxpY2U6cGFzc3dvcmQ=",
    "token", "Bearer {valid}x",
])
def test_invalid_bearer_tokens_are_401(client, document, token_for, header):
    valid = token_for("alice")["Authorization"].removeprefix("Bearer ")
    headers = {"Authorization": header.format(valid=valid)}
    assert client.get("/api/v1/projects", headers=headers).status_code == 401
    response = client.post(f"/api/v1/documents/{document.id}/claims", json=claim_body(),
                           headers=headers)
    assert response.status_code == 401
    assert response.is_json
    assert claim_count() == 0


def test_a_bad_bearer_token_is_refused_even_with_a_session(client, auth, document):
    auth.login("alice")
    assert client.get("/api/v1/projects").status_code == 200
    response = client.get("/api/v1/projects", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


def test_a_revoked_token_is_401(client, document, token_for):
    headers = token_for("alice")
    assert client.get("/api/v1/projects", headers=headers).status_code == 200
    db.session.rollback()
    for row in db.session.scalars(select(ApiToken)):
        row.revoked_at = utcnow()
    db.session.commit()
    assert client.get("/api/v1/projects", headers=headers).status_code == 401


def test_the_token_authenticates_as_its_user(client, document, token_for):
    for user in ("alice", "bob"):
        created = client.post(f"/api/v1/documents/{document.id}/claims", json=claim_body(),
                              headers=token_for(user))
        assert created.get_json()["annotator"] == user


def test_tokens_are_stored_only_as_hashes(client, document, token_for):
    token = token_for("alice")["Authorization"].removeprefix("Bearer ")
    db.session.rollback()
    stored = db.session.scalars(select(ApiToken.token_sha256)).all()
    assert token not in stored and len(stored) == 1 and len(stored[0]) == 64


# ---------- CSRF ----------


def test_session_json_post_without_csrf_header_is_400_and_stores_nothing(
        client, auth, document):
    auth.login("alice")
    response = client.post(f"/api/v1/documents/{document.id}/claims", json=claim_body())
    assert response.status_code == 400
    assert response.is_json and "CSRF" in response.get_json()["error"]
    assert claim_count() == 0


def test_session_patch_and_delete_without_csrf_header_are_400(client, auth, document):
    auth.login("alice")
    token = auth.csrf_token("/")
    created = client.post(f"/api/v1/documents/{document.id}/claims", json=claim_body(),
                          headers={"X-CSRFToken": token})
    assert created.status_code == 201
    url = f"/api/v1/claims/{created.get_json()['id']}"
    assert client.patch(url, json={"version": 1, "stance": "denies"}).status_code == 400
    assert client.delete(url).status_code == 400
    db.session.rollback()
    [claim] = db.session.scalars(select(Claim))
    assert (claim.stance, claim.version, claim.deleted_at) == ("asserts", 1, None)


def test_csrf_token_from_another_session_is_refused(app, client, auth, document):
    other = IsolatedClient(app, app.response_class, use_cookies=True)
    other_auth = AuthActions(other)
    other_auth.login("bob")
    foreign = other_auth.csrf_token("/")
    auth.login("alice")
    own = auth.csrf_token("/")
    assert foreign != own

    response = client.post(f"/api/v1/documents/{document.id}/claims", json=claim_body(),
                           headers={"X-CSRFToken": foreign})

    assert response.status_code == 400
    assert claim_count() == 0


def test_session_json_post_with_the_right_csrf_token_is_201(client, auth, document):
    auth.login("alice")
    response = client.post(f"/api/v1/documents/{document.id}/claims", json=claim_body(),
                           headers={"X-CSRFToken": auth.csrf_token("/")})
    assert response.status_code == 201
    assert response.get_json()["annotator"] == "alice"
    assert claim_count() == 1


def test_login_form_without_csrf_token_is_refused(client, project):
    from tests.conftest import PASSWORD

    response = client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/api/v1/projects").status_code == 401
    home = client.get("/")
    assert home.status_code == 302 and "/login" in home.headers["Location"]


def test_login_with_a_wrong_password_is_refused(client, auth, project):
    response = auth.login("alice", "not-the-password")
    assert response.status_code == 400
    assert client.get("/api/v1/projects").status_code == 401


def test_logout_needs_a_csrf_token(client, auth, project):
    auth.login("alice")
    client.post("/logout")
    assert client.get("/api/v1/projects").status_code == 200
    client.post("/logout", data={"csrf_token": auth.csrf_token("/")})
    assert client.get("/api/v1/projects").status_code == 401


def test_bearer_requests_need_no_csrf_token(client, document, token_for):
    response = client.post(f"/api/v1/documents/{document.id}/claims", json=claim_body(),
                           headers=token_for("alice"))
    assert response.status_code == 201
    url = f"/api/v1/claims/{response.get_json()['id']}"
    assert client.patch(url, json={"version": 1, "stance": "denies"},
                        headers=token_for("alice")).status_code == 200
    assert client.delete(url, headers=token_for("alice")).status_code == 204


# ---------- security headers ----------


def _directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


@pytest.mark.parametrize("path", ["/login", "/", "/api/v1/projects", "/api/v1/openapi.json",
                                  "/no-such-page"])
def test_content_security_policy_forbids_inline_script(client, auth, project, path):
    auth.login("alice")
    response = client.get(path)
    policy = _directives(response.headers["Content-Security-Policy"])
    script = policy.get("script-src", policy.get("default-src"))
    assert script is not None
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert not any(s in ("*", "data:", "http:", "https:") for s in script)
    assert policy.get("object-src") == ["'none'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_carry_no_inline_script(client, auth, document):
    auth.login("alice")
    for path in ("/login", "/", f"/projects/{document.project_id}",
                 f"/documents/{document.id}"):
        page = client.get(path, follow_redirects=True).get_data(as_text=True)
        for tag in page.split("<script")[1:]:
            attributes = tag.split(">", 1)[0]
            # A JSON data block is never run; anything else must come from a file.
            assert "src=" in attributes or 'type="application/json"' in attributes, (
                f"inline script on {path}: <script{attributes}>")
        assert " onclick=" not in page and " onload=" not in page



def test_api_errors_outside_any_route_are_json(client, document, token_for):
    missing = client.get("/api/v1/no-such-thing", headers=token_for("alice"))
    wrong_method = client.put(f"/api/v1/documents/{document.id}/claims",
                              headers=token_for("alice"), json={})
    unknown_claim = client.get("/api/v1/claims/999999", headers=token_for("alice"))
    for response, status in ((missing, 404), (wrong_method, 405), (unknown_claim, 404)):
        assert response.status_code == status
        assert response.is_json and response.get_json()["error"]
    page = client.get("/no-such-page")
    assert page.status_code == 404 and not page.is_json
