"""Account pages (password, API tokens), the site admin's users page and the nav bar."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from annotator.db import db
from annotator.models import ApiToken, User
from annotator.services import users
from tests.conftest import PASSWORD

NEW_PASSWORD = "a-much-better-passphrase"  # noqa: S105


def login(client, auth, username: str, password: str = PASSWORD) -> str:
    assert auth.login(username, password).status_code == 302
    return auth.csrf_token("/")


def logout(client, auth) -> None:
    client.post("/logout", data={"csrf_token": auth.csrf_token("/")})


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    db.session.rollback()
    return {table.name: [tuple(row) for row in db.session.execute(
        select(*table.columns).order_by(*table.primary_key.columns))]
        for table in db.metadata.sorted_tables}


def field_error(page: str, field: str) -> list[str]:
    return re.findall(rf'<p class="field-error" data-error-for="{field}">([^<]*)</p>', page)


def shown_tokens(page: str) -> list[str]:
    return re.findall(r"ann_[A-Za-z0-9_-]{20,}", page)


def api_status(client, token: str) -> int:
    return client.get("/api/v1/projects",
                      headers={"Authorization": f"Bearer {token}"}).status_code


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def root(make_user):
    return make_user("root", admin=True)


# ---------- who may open what ----------


@pytest.mark.parametrize("path", ["/account/password", "/account/tokens", "/admin/users"])
def test_pages_need_a_login(client, alice, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("path", ["/account/password", "/account/tokens"])
def test_account_pages_render_for_any_user(client, auth, alice, path):
    login(client, auth, "alice")
    assert client.get(path).status_code == 200


def test_users_page_is_for_site_admins_only(client, auth, alice, root):
    token = login(client, auth, "alice")
    assert client.get("/admin/users").status_code == 403
    before = snapshot()
    response = client.post("/admin/users", data={"username": "intruder",
                                                  "password": "long-enough-1",
                                                  "csrf_token": token})
    assert response.status_code == 403
    assert snapshot() == before
    logout(client, auth)
    login(client, auth, "root")
    assert client.get("/admin/users").status_code == 200


def test_nav_bar_links_and_admin_only_for_site_admins(client, auth, alice, root):
    login(client, auth, "alice")
    nav = client.get("/").get_data(as_text=True).split("</nav>", 1)[0]
    for href in ('href="/"', 'href="/account/tokens"', 'href="/account/password"'):
        assert href in nav
    assert "/admin/users" not in nav
    assert '<span class="who">alice</span>' in nav
    logout(client, auth)
    login(client, auth, "root")
    nav = client.get("/account/tokens").get_data(as_text=True).split("</nav>", 1)[0]
    assert 'href="/admin/users"' in nav
    assert 'href="/account/tokens" aria-current="page"' in nav


# ---------- password ----------


def test_password_change_needs_the_current_password(client, auth, alice):
    token = login(client, auth, "alice")
    before = snapshot()
    response = client.post("/account/password", data={
        "current_password": "wrong-password", "new_password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD, "csrf_token": token})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "current_password") == [
        "is not correct"]
    assert snapshot() == before


@pytest.mark.parametrize(("new", "confirm", "field"), [
    ("short", "short", "new_password"),
    (NEW_PASSWORD, NEW_PASSWORD + "x", "confirm"),
    ("", "", "new_password"),
])
def test_password_change_checks_the_new_password(client, auth, alice, new, confirm, field):
    token = login(client, auth, "alice")
    before = snapshot()
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": new, "confirm": confirm,
        "csrf_token": token})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), field)
    assert snapshot() == before


def test_password_change_then_the_new_one_logs_in(client, auth, alice):
    token = login(client, auth, "alice")
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
        "csrf_token": token})
    assert response.status_code == 302
    assert "Your password has been changed." in client.get(
        response.headers["Location"]).get_data(as_text=True)
    logout(client, auth)
    assert auth.login("alice", PASSWORD).status_code == 400
    assert auth.login("alice", NEW_PASSWORD).status_code == 302


def test_password_form_without_csrf_token_is_400(client, auth, alice):
    login(client, auth, "alice")
    before = snapshot()
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert snapshot() == before


# ---------- API tokens ----------


def test_a_new_token_is_shown_once_then_only_listed(client, auth, alice):
    csrf = login(client, auth, "alice")
    response = client.post("/account/tokens", data={"name": "nightly export",
                                                    "csrf_token": csrf})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    [token] = shown_tokens(page)
    assert f'<code class="secret" id="new-token">{token}</code>' in page
    assert api_status(client, token) == 200

    listing = client.get("/account/tokens").get_data(as_text=True)
    assert shown_tokens(listing) == []
    assert "nightly export" in listing
    db.session.rollback()
    [stored] = db.session.scalars(select(ApiToken)).all()
    assert stored.name == "nightly export" and stored.user.username == "alice"
    assert token not in str(stored.token_sha256)


def test_token_listing_shows_created_last_used_and_revoked(client, auth, alice):
    unused = users.create_token(alice, "unused")
    used = users.create_token(alice, "used")
    assert api_status(client, used) == 200
    login(client, auth, "alice")
    page = client.get("/account/tokens").get_data(as_text=True)
    rows = dict(re.findall(r"<tr data-token-id=\"\d+\"[^>]*>\s*<td>([^<]*)</td>(.*?)</tr>",
                           page, re.S))
    cells = {name: re.findall(r"<td>([^<]*)</td>", html) for name, html in rows.items()}
    assert cells["unused"][1] == "never" and cells["unused"][2] == "—"
    assert cells["used"][1].endswith(" UTC") and cells["used"][0].endswith(" UTC")
    assert api_status(client, unused) == 200


def test_token_name_is_required(client, auth, alice):
    csrf = login(client, auth, "alice")
    before = snapshot()
    response = client.post("/account/tokens", data={"name": "  ", "csrf_token": csrf})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "name")
    assert snapshot() == before


def test_revoking_my_token_makes_it_401(client, auth, alice):
    token = users.create_token(alice, "laptop")
    token_id = db.session.scalar(select(ApiToken.id))
    csrf = login(client, auth, "alice")
    assert api_status(client, token) == 200
    response = client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    assert response.status_code == 302
    assert api_status(client, token) == 401
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "Token “laptop” is revoked." in page
    assert re.search(rf'<tr data-token-id="{token_id}" class="revoked">', page)
    assert f'/account/tokens/{token_id}/revoke' not in page  # no button for a revoked one


def test_someone_elses_token_cannot_be_revoked_or_seen(client, auth, alice, make_user):
    make_user("mallory")
    token = users.create_token(alice, "alice-private-name")
    token_id = db.session.scalar(select(ApiToken.id))
    csrf = login(client, auth, "mallory")
    assert "alice-private-name" not in client.get("/account/tokens").get_data(as_text=True)
    before = snapshot()
    response = client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    assert response.status_code == 404
    assert "alice-private-name" not in response.get_data(as_text=True)
    assert snapshot() == before
    assert api_status(client, token) == 200


@pytest.mark.parametrize("action", ["create", "revoke"])
def test_token_forms_without_csrf_token_are_400(client, auth, alice, action):
    token = users.create_token(alice, "laptop")
    token_id = db.session.scalar(select(ApiToken.id))
    login(client, auth, "alice")
    before = snapshot()
    if action == "create":
        response = client.post("/account/tokens", data={"name": "sneaky"})
    else:
        response = client.post(f"/account/tokens/{token_id}/revoke", data={})
    assert response.status_code == 400
    assert snapshot() == before
    assert api_status(client, token) == 200


def test_token_names_are_escaped(client, auth, alice):
    users.create_token(alice, '<img src=x onerror="alert(1)">')
    login(client, auth, "alice")
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page


# ---------- site admin: users ----------


def test_admin_lists_users(client, auth, alice, root):
    login(client, auth, "root")
    page = client.get("/admin/users").get_data(as_text=True)
    rows = dict(re.findall(r'<tr data-username="([^"]+)"><td>[^<]*</td><td>(yes|no)</td>', page))
    assert rows == {"alice": "no", "root": "yes"}


def test_admin_creates_a_user_with_a_generated_password_shown_once(client, auth, root):
    csrf = login(client, auth, "root")
    response = client.post("/admin/users", data={"username": "newbie", "csrf_token": csrf})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    match = re.search(r'<code class="secret" id="generated-password">([^<]+)</code>', page)
    assert match
    password = match.group(1)
    assert len(password) >= 12
    assert password not in client.get("/admin/users").get_data(as_text=True)
    db.session.rollback()
    newbie = users.by_username("newbie")
    assert newbie is not None and not newbie.is_admin
    logout(client, auth)
    assert auth.login("newbie", password).status_code == 302


def test_admin_creates_a_site_admin_with_a_chosen_password(client, auth, root):
    csrf = login(client, auth, "root")
    response = client.post("/admin/users", data={
        "username": "second", "is_admin": "y", "password": NEW_PASSWORD, "csrf_token": csrf})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "generated-password" not in page and NEW_PASSWORD not in page
    assert "created as a site admin" in page
    db.session.rollback()
    assert users.by_username("second").is_admin
    logout(client, auth)
    assert auth.login("second", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"username": "alice"}, "username", "&#39;alice&#39; is taken"),
    ({"username": "shorty", "password": "short"}, "password",
     "Field must be between 8 and 200 characters long."),
    ({"username": ""}, "username", "This field is required."),
])
def test_admin_create_user_errors_by_field(client, auth, alice, root, data, field, message):
    csrf = login(client, auth, "root")
    before = snapshot()
    response = client.post("/admin/users", data={**data, "csrf_token": csrf})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), field) == [message]
    assert snapshot() == before


def test_admin_create_user_without_csrf_token_is_400(client, auth, root):
    login(client, auth, "root")
    before = snapshot()
    response = client.post("/admin/users", data={"username": "sneaky"})
    assert response.status_code == 400
    assert snapshot() == before
    db.session.rollback()
    assert db.session.scalar(select(User).where(User.username == "sneaky")) is None


def test_usernames_are_escaped_on_the_users_page(client, auth, root):
    users.create_user("<b>bold</b>", "long-enough-1")
    login(client, auth, "root")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
