"""Logging in and out, and tokens: password hashing, throttling, redirects, cookies."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from annotator import create_app, models
from annotator.db import db
from annotator.models import ApiToken, LoginThrottle, User, as_utc, utcnow
from annotator.services import users
from annotator.services.errors import InvalidInput
from tests.conftest import PASSWORD, AuthActions, IsolatedClient


def logged_in(client) -> bool:
    return client.get("/api/v1/projects").status_code == 200


def login_error(response) -> str:
    """The message the login form shows under the password field."""
    found = re.findall(r'<p class="field-error">([^<]*)</p>', response.get_data(as_text=True))
    assert len(found) == 1, found
    return found[0]


def stored_user(username: str) -> User:
    db.session.rollback()
    return db.session.scalars(select(User).where(User.username == username)).one()


# ---------- password hashes ----------


def test_passwords_are_stored_as_scrypt_hashes(client, auth, app, monkeypatch):
    # The suite hashes cheaply (conftest); put back what the app really calls.
    monkeypatch.setattr(models, "generate_password_hash", generate_password_hash)
    users.create_user("sam", PASSWORD)

    stored = stored_user("sam").password_hash
    assert stored.startswith("scrypt:")
    assert PASSWORD not in stored
    assert auth.login("sam").status_code == 302
    assert logged_in(client)


# ---------- throttling ----------


def throttle_of(username: str, address: str = "127.0.0.1") -> LoginThrottle | None:
    db.session.rollback()
    return db.session.scalars(select(LoginThrottle).where(
        LoginThrottle.username == username, LoginThrottle.address == address)).one_or_none()


def test_repeated_failures_lock_the_name_until_the_lock_expires(
        client, auth, project, monkeypatch):
    for attempt in range(5):
        response = auth.login("alice", f"wrong-{attempt}")
        assert response.status_code == 400, attempt
    assert throttle_of("alice").failures == 5

    locked = auth.login("alice", PASSWORD)  # the right password, but too late
    assert locked.status_code == 429
    assert "Try again in" in login_error(locked)
    assert not logged_in(client)

    real_now = utcnow

    def later(seconds: int):
        monkeypatch.setattr(users, "utcnow", lambda: real_now() + timedelta(seconds=seconds))

    later(20)  # the first lock is 30 s
    assert auth.login("alice", PASSWORD).status_code == 429
    assert not logged_in(client)

    later(31)
    response = auth.login("alice", PASSWORD)
    assert response.status_code == 302
    assert logged_in(client)
    assert throttle_of("alice") is None  # a success starts the count again


def test_the_lock_doubles_and_is_capped(client, auth, project, monkeypatch):
    base = utcnow()
    clock = {"now": base}
    monkeypatch.setattr(users, "utcnow", lambda: clock["now"])
    locks = []
    for _ in range(12):
        auth.login("alice", "wrong")
        throttle = throttle_of("alice")
        if throttle.locked_until is not None:
            until = as_utc(throttle.locked_until)
            locks.append(round((until - clock["now"]).total_seconds()))
            clock["now"] = until + timedelta(seconds=1)  # wait the lock out, then fail again
    assert locks == [30, 60, 120, 240, 480, 900, 900, 900]


def test_a_name_that_does_not_exist_is_locked_the_same_way(client, auth, project, monkeypatch):
    """Whether a name exists must not show: not in the answers (a lock included), and not
    in the time taken (the password is hashed either way)."""
    checked = []
    real_check = users.check_password_hash
    monkeypatch.setattr(users, "check_password_hash",
                        lambda stored, given: checked.append(given) or real_check(stored, given))
    for name in ("alice", "nobody-by-this-name"):
        answers = [auth.login(name, f"wrong-{attempt}").status_code for attempt in range(6)]
        assert answers == [400] * 5 + [429], name
    assert checked == [f"wrong-{attempt}" for attempt in range(5)]  # the unknown name's five


def test_failures_from_one_address_lock_nobody_out_elsewhere(app, project):
    """Someone guessing alice's password from their own address cannot keep her out."""
    attacker = IsolatedClient(app, app.response_class, use_cookies=True)
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for attempt in range(5):
        AuthActions(attacker).login("alice", f"wrong-{attempt}")
    assert AuthActions(attacker).login("alice").status_code == 429
    alice = IsolatedClient(app, app.response_class, use_cookies=True)
    alice.environ_base["REMOTE_ADDR"] = "198.51.100.4"
    assert AuthActions(alice).login("alice").status_code == 302
    assert throttle_of("alice", "203.0.113.9").failures == 5  # her login did not reset it


def test_failures_sent_at_once_are_each_counted(app, project):
    """A double click, or a script guessing in parallel: every failure counts, none is a
    500 (two inserts of the first row met its unique constraint)."""
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def guess(attempt: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                users.authenticate("alice", f"wrong-{attempt}", "198.51.100.7")
            except users.LoginThrottled:
                outcomes.append("locked")
            except InvalidInput:
                outcomes.append("refused")
            except Exception as exc:  # noqa: BLE001  (what the test is about)
                outcomes.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 6, outcomes
    assert throttle_of("alice", "198.51.100.7").failures == 6
    assert throttle_of("alice", users.ANY_ADDRESS).failures == 6


def test_guessing_from_many_addresses_is_slowed_for_the_name(app, project, monkeypatch):
    """Each address gets its 5 free attempts, but across addresses the name gets 20, then
    short locks everywhere: at most one guess per 10 s, while its owner waits seconds."""
    clock = {"now": utcnow()}
    monkeypatch.setattr(users, "utcnow", lambda: clock["now"])
    for i in range(20):
        with pytest.raises(InvalidInput):
            users.authenticate("alice", "wrong", f"203.0.113.{i}")
    with pytest.raises(users.LoginThrottled) as locked:
        users.authenticate("alice", PASSWORD, "198.51.100.4")  # her own address
    assert locked.value.wait_seconds <= 2
    clock["now"] += timedelta(seconds=2)
    assert users.authenticate("alice", PASSWORD, "198.51.100.4").username == "alice"
    waits = []
    for i in range(6):
        clock["now"] += timedelta(seconds=11)  # out of the last lock
        with pytest.raises(InvalidInput):
            users.authenticate("alice", "wrong", f"192.0.2.{i}")
        until = as_utc(throttle_of("alice", users.ANY_ADDRESS).locked_until)
        waits.append(round((until - clock["now"]).total_seconds()))
    assert waits == [2, 4, 8, 10, 10, 10]  # doubling, capped at 10 s


def test_an_ipv6_client_is_counted_by_its_slash_64(app, project):
    for i in range(5):
        with pytest.raises(InvalidInput):
            users.authenticate("alice", "wrong", f"2001:db8:1:2::{i + 1:x}")
    with pytest.raises(users.LoginThrottled):
        users.authenticate("alice", PASSWORD, "2001:db8:1:2:ffff::9")  # the same /64
    assert users.authenticate("alice", PASSWORD, "2001:db8:1:3::1").username == "alice"
    assert users.client_key("::ffff:192.0.2.5") == "192.0.2.5"


def test_old_failures_are_forgotten_after_a_day(client, auth, project, monkeypatch):
    for attempt in range(4):
        auth.login("nobody-1", f"wrong-{attempt}")
        auth.login("alice", f"wrong-{attempt}")
    real_now = utcnow
    monkeypatch.setattr(users, "utcnow", lambda: real_now() + timedelta(days=1, minutes=1))
    assert auth.login("alice", "wrong-again").status_code == 400
    assert throttle_of("alice").failures == 1  # counted anew
    assert throttle_of("nobody-1") is None  # a name nobody uses leaves no row behind


def test_unknown_user_and_wrong_password_get_the_same_answer(client, auth, project):
    unknown = auth.login("nobody-by-this-name", PASSWORD)
    wrong = auth.login("alice", "not-the-password")
    assert unknown.status_code == wrong.status_code == 400
    assert login_error(unknown) == login_error(wrong) == "Unknown username or wrong password."
    assert not logged_in(client)


# ---------- where the login leads ----------


@pytest.mark.parametrize("target", [
    "//evil.example", "https://evil.example", "/\\evil.example", "javascript:alert(1)",
    "///evil.example", "\\\\evil.example", "http:evil.example", " //evil.example",
    "/\\/evil.example", "//evil.example/projects/1", "/\t/evil.example", "/\n/evil.example",
])
def test_next_cannot_lead_off_site(client, project, target):
    auth = AuthActions(client)
    token = auth.csrf_token("/login")
    response = client.post(f"/login?next={quote(target, safe='')}", data={
        "username": "alice", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert parts.scheme in ("", "http") and parts.netloc in ("", "localhost"), location
    assert location == "/"
    assert logged_in(client)


def test_a_local_next_is_honoured(client, project):
    auth = AuthActions(client)
    token = auth.csrf_token("/login")
    response = client.post("/login?next=/projects/1", data={
        "username": "alice", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/projects/1"


# ---------- cookies ----------


def cookie_attributes(response, name: str) -> set[str]:
    """The attributes of the Set-Cookie header for `name`, lower-cased ("httponly", ...)."""
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            return {part.strip().lower() for part in header.split(";")[1:]}
    raise AssertionError(f"no {name} cookie set: {response.headers.getlist('Set-Cookie')}")


def login_with_remember(client, base_url: str = "http://localhost"):
    page = client.get("/login", base_url=base_url).get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    # Over HTTPS Flask-WTF also wants a same-site Referer, as a browser sends.
    return client.post("/login", base_url=base_url, headers={"Referer": f"{base_url}/login"}, data={
        "username": "alice", "password": PASSWORD, "remember": "y", "csrf_token": token})


def test_session_cookies_are_httponly_and_samesite_lax(client, project):
    response = login_with_remember(client)
    assert response.status_code == 302
    for name in ("session", "remember_token"):
        attributes = cookie_attributes(response, name)
        assert "httponly" in attributes, (name, attributes)
        assert "samesite=lax" in attributes, (name, attributes)
        assert "secure" not in attributes  # plain HTTP in development
    # A remembered login lasts 30 days (Flask-Login's default was a year).
    expires = next(a for a in cookie_attributes(response, "remember_token")
                   if a.startswith("expires="))
    left = parsedate_to_datetime(expires.split("=", 1)[1]) - utcnow()
    assert timedelta(days=29, hours=23) < left <= timedelta(days=30)


def test_secure_cookies_from_the_environment(project, database_url, instance_path, monkeypatch):
    monkeypatch.setenv("ANNOTATOR_SECURE_COOKIES", "1")
    monkeypatch.setenv("ANNOTATOR_INSTANCE_PATH", instance_path)
    secure_app = create_app({"TESTING": True, "DATABASE_URL": database_url})
    try:
        client = IsolatedClient(secure_app, secure_app.response_class, use_cookies=True)
        response = login_with_remember(client, base_url="https://localhost")
        assert response.status_code == 302
        for name in ("session", "remember_token"):
            attributes = cookie_attributes(response, name)
            assert {"secure", "httponly", "samesite=lax"} <= attributes, (name, attributes)
    finally:
        with secure_app.app_context():
            db.session.remove()
            db.engine.dispose()


# ---------- API tokens ----------


def api_requests(app) -> list[tuple[str, str]]:
    """(method, path) for every method of every non-public API route, ids filled with 1."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.endpoint == "api.openapi":
            continue
        path = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)
        found += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


def test_revoked_and_unknown_tokens_are_401_json_on_every_api_route(
        app, client, document, token_for):
    revoked = token_for("alice")
    users.revoke_token(users.by_username("alice"), db.session.scalars(select(ApiToken.id)).one())
    unknown = {"Authorization": "Bearer ann_" + "x" * 43}
    requests = api_requests(app)
    assert any(m != "GET" for m, _ in requests) and any(m == "GET" for m, _ in requests)
    for headers in (revoked, unknown):
        for method, path in requests:
            kwargs = {"json": {"status": "done"}} if method != "GET" else {}
            response = client.open(path, method=method, headers=headers, **kwargs)
            assert response.status_code == 401, (method, path)
            assert response.is_json and response.get_json()["error"], (method, path)


def test_a_tokens_last_use_is_recorded(client, document, token_for):
    headers = token_for("alice")
    assert db.session.scalars(select(ApiToken.last_used_at)).one() is None
    before = utcnow()
    assert client.get("/api/v1/projects", headers=headers).status_code == 200
    db.session.rollback()
    used = as_utc(db.session.scalars(select(ApiToken.last_used_at)).one())
    assert used is not None and before - timedelta(seconds=1) <= used <= utcnow()


# ---------- logging out ----------


def test_logout_is_a_post_with_this_sessions_csrf_token(app, client, auth, project):
    auth.login("alice")
    assert client.get("/logout").status_code == 405
    assert logged_in(client)

    other = IsolatedClient(app, app.response_class, use_cookies=True)
    foreign = AuthActions(other).csrf_token("/login")  # a page of the attacker's own session
    assert client.post("/logout", data={"csrf_token": foreign}).status_code == 400
    assert client.post("/logout", data={}).status_code == 400
    assert logged_in(client)

    response = client.post("/logout", data={"csrf_token": auth.csrf_token("/")})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert not logged_in(client)


# ---------- sessions end with the password ----------


def change_password(client, auth, new: str):
    return client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": new, "confirm": new,
        "csrf_token": auth.csrf_token("/account/password")})


def test_a_password_change_logs_out_the_other_sessions_and_remember_cookies(app, project):
    """Someone who learnt alice's password logged in (and was remembered) in their own
    browser; alice changes her password in hers: theirs stops working, hers goes on."""
    thief = IsolatedClient(app, app.response_class, use_cookies=True)
    assert login_with_remember(thief).status_code == 302
    remember = thief.get_cookie("remember_token").value
    alice = IsolatedClient(app, app.response_class, use_cookies=True)
    alice_auth = AuthActions(alice)
    alice_auth.login("alice")
    assert logged_in(thief) and logged_in(alice)

    response = change_password(alice, alice_auth, "a-new-long-password")
    assert response.status_code == 302
    assert logged_in(alice)
    assert "other sessions are logged out" in alice.get(
        "/account/password").get_data(as_text=True)
    assert not logged_in(thief)
    # The remember cookie alone (no session) no longer logs anybody in either.
    replay = IsolatedClient(app, app.response_class, use_cookies=True)
    replay.set_cookie("remember_token", remember)
    assert not logged_in(replay)
    # The new password works, the old one does not.
    assert AuthActions(IsolatedClient(app, app.response_class, use_cookies=True)).login(
        "alice", "a-new-long-password").status_code == 302
    assert AuthActions(IsolatedClient(app, app.response_class, use_cookies=True)).login(
        "alice").status_code == 400


def test_a_remembered_browser_stays_remembered_after_its_own_password_change(app, project):
    alice = IsolatedClient(app, app.response_class, use_cookies=True)
    assert login_with_remember(alice).status_code == 302
    old = alice.get_cookie("remember_token").value
    assert change_password(alice, AuthActions(alice), "a-new-long-password").status_code == 302
    new = alice.get_cookie("remember_token").value
    assert new != old
    # The new cookie alone (the session gone, as after closing the browser) logs alice in.
    fresh = IsolatedClient(app, app.response_class, use_cookies=True)
    fresh.set_cookie("remember_token", new)
    assert logged_in(fresh)


def test_a_session_cookie_without_the_password_mark_logs_nobody_in(app, project):
    """Sessions written before the mark (the bare id) or with a forged one."""
    from flask.sessions import SecureCookieSessionInterface

    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    alice_id = users.by_username("alice").id
    # A real session of this client (its "strong" protection identifier kept), with only
    # the user id changed: without that, the protection alone would refuse it.
    client = IsolatedClient(app, app.response_class, use_cookies=True)
    AuthActions(client).login("alice")
    real = serializer.loads(client.get_cookie("session").value)
    assert real["_user_id"].startswith(f"{alice_id}:") and logged_in(client)
    for forged in (str(alice_id), f"{alice_id}:", f"{alice_id}:{'0' * 20}"):
        client.set_cookie("session", serializer.dumps({**real, "_user_id": forged}))
        assert not logged_in(client), forged
    client.set_cookie("session", serializer.dumps(real))
    assert logged_in(client)  # the same session with its true mark still works


def test_logging_out_deletes_the_remember_cookie(app, project):
    client = IsolatedClient(app, app.response_class, use_cookies=True)
    assert login_with_remember(client).status_code == 302
    response = client.post("/logout", data={"csrf_token": AuthActions(client).csrf_token("/")})
    assert response.status_code == 302
    assert client.get_cookie("remember_token") is None
    assert any(h.startswith("remember_token=;") for h in response.headers.getlist("Set-Cookie"))
    assert not logged_in(client)


def test_the_csrf_secret_of_the_session_before_login_does_not_work_after_it(app, project):
    """A cookie planted before the login (its CSRF token known to whoever planted it) must
    not give them a working token for the logged-in session."""
    client = IsolatedClient(app, app.response_class, use_cookies=True)
    auth = AuthActions(client)
    planted = auth.csrf_token("/login")
    assert client.post("/login", data={"username": "alice", "password": PASSWORD,
                                       "csrf_token": planted}).status_code == 302
    attempt = client.post(f"/api/v1/projects/{project.id}/actors",
                          json={"name": "Planted Actor"}, headers={"X-CSRFToken": planted})
    assert attempt.status_code == 400
    own = auth.csrf_token("/")
    assert own != planted
    made = client.post(f"/api/v1/projects/{project.id}/actors",
                       json={"name": "Own Actor"}, headers={"X-CSRFToken": own})
    assert made.status_code == 201, made.get_json()
