"""Users and their API tokens."""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import Select, bindparam, case, delete, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash

from .. import models
from ..db import db
from ..models import ApiToken, LoginThrottle, User, as_utc, utcnow
from .errors import InvalidInput, NotFound

TOKEN_PREFIX = "ann_"  # noqa: S105  (a marker that makes leaked tokens greppable)


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def create_user(username: str, password: str, *, is_admin: bool = False) -> User:
    """Create a user; InvalidInput if the name is taken or empty, or the password too short."""
    username = username.strip()
    fields = {}
    if not username or len(username) > 80:
        fields["username"] = "must be 1 to 80 characters"
    elif db.session.execute(select(User).where(User.username == username)).scalar():
        fields["username"] = f"'{username}' is taken"
    if len(password) < 8:
        fields["password"] = "must be at least 8 characters"  # noqa: S105
    if fields:
        raise InvalidInput("cannot create user", fields)
    user = User(username=username, is_admin=is_admin)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def by_username(username: str) -> User | None:
    return db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str = "") -> str:
    """Make a new API token for the user and return it; only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, name=name, token_sha256=_hash(token)))
    db.session.commit()
    return token


@cache
def _token_query() -> Select:
    # Built once: building the statement cost as much as running it.
    return (select(ApiToken, User).join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_sha256 == bindparam("sha256"), ApiToken.revoked_at.is_(None)))


def user_for_token(token: str) -> User | None:
    """The user a live token belongs to (and note its use), or None."""
    # Every API call needs the user: one query (two entities; cheaper than a joinedload).
    row = db.session.execute(_token_query(), {"sha256": _hash(token)}).first()
    if row is None:
        return None
    found, user = row
    now = utcnow()
    last = as_utc(found.last_used_at)
    # At most one write a minute per token: every API call writing would serialise SQLite.
    if last is None or now - last > timedelta(minutes=1):
        found.last_used_at = now
        db.session.commit()
    return user


def tokens(user: User) -> list[ApiToken]:
    """The user's tokens, live first, newest first."""
    return list(db.session.execute(
        select(ApiToken).where(ApiToken.user_id == user.id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc())
    ).scalars())


def revoke_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens; NotFound for anyone else's."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("token not found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
    return token


def change_password(user: User, current: str, new: str) -> None:
    """Change the user's password after checking the current one."""
    if not user.check_password(current):
        raise InvalidInput("cannot change password", {"current_password": "is not correct"})
    if len(new) < 8:
        raise InvalidInput("cannot change password",
                           {"new_password": "must be at least 8 characters"})
    user.set_password(new)
    db.session.commit()


def list_users() -> list[User]:
    return list(db.session.execute(select(User).order_by(User.username)).scalars())


FREE_ATTEMPTS = 5
MAX_LOCK = timedelta(minutes=15)
# Across all addresses a name gets more free attempts and only short locks: enough to slow
# guessing from many addresses to a crawl (one try per 10 s at most), too short to keep
# the account's owner out for long. Counted under the address ANY_ADDRESS.
NAME_FREE_ATTEMPTS = 20
NAME_MAX_LOCK = timedelta(seconds=10)
ANY_ADDRESS = "*"
# A name's failures are forgotten a day after the last one (and the rows of names nobody
# uses go with them).
FORGET_AFTER = timedelta(days=1)


@cache
def _decoy_hash() -> str:
    # Hashed as real passwords are: an unknown name costs the same time as a wrong password.
    return models.generate_password_hash(secrets.token_urlsafe(12))


def client_key(address: str) -> str:
    """The address failures are counted under: an IPv6 client by its /64 (one machine
    commonly holds a whole /64, and would otherwise get a fresh count per address)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return (address or "unknown")[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d, an IPv4 client on a dual stack
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def authenticate(username: str, password: str, address: str = "") -> User:
    """The user with this name and password.

    Raises InvalidInput with the same message, after the same work, for an unknown name or a
    wrong password, and LoginThrottled while this name is locked, for this client address
    after repeated failures from it (5 free attempts, then a lock that doubles from 30 s up
    to 15 minutes) or for every address after many from anywhere (20 free, then locks of at
    most 10 s); a lock does not check the password. Counted per name as typed: a lock says
    nothing about whether the name exists, and only the short one reaches other addresses.
    """
    now = utcnow()
    name, address = username[:80], client_key(address)
    throttles = db.session.execute(select(LoginThrottle).where(
        LoginThrottle.username == name,
        LoginThrottle.address.in_((address, ANY_ADDRESS)))).scalars().all()
    until = max((as_utc(t.locked_until) for t in throttles if t.locked_until is not None),
                default=None)
    if until is not None and until > now:
        raise LoginThrottled(int((until - now).total_seconds()) + 1)
    user = by_username(username)
    if user is None:
        check_password_hash(_decoy_hash(), password)
    if user is None or not user.check_password(password):
        _count_failure(name, address, now)
        raise InvalidInput("unknown username or wrong password",
                           {"password": "Unknown username or wrong password."})
    own = [t for t in throttles if t.address == address]
    if own:  # this address's count starts again; the count across addresses decays
        db.session.delete(own[0])
        db.session.commit()
    return user


def _count_failure(name: str, address: str, now: datetime) -> None:
    """One more failure of `name` from `address` and from anywhere, counted in the database
    (UPDATE … SET failures = failures + 1): guesses sent at once are each counted."""
    for key, free, base, cap in ((address, FREE_ATTEMPTS, 30, MAX_LOCK),
                                 (ANY_ADDRESS, NAME_FREE_ATTEMPTS, 1, NAME_MAX_LOCK)):
        failures = _one_more(name, key, now)
        extra = failures - free
        if extra >= 0:
            db.session.execute(update(LoginThrottle).where(
                LoginThrottle.username == name, LoginThrottle.address == key).values(
                locked_until=now + min(timedelta(seconds=base * 2**min(extra, 20)), cap)))
    db.session.execute(delete(LoginThrottle).where(
        LoginThrottle.last_failed_at < now - FORGET_AFTER))
    db.session.commit()


def _one_more(name: str, address: str, now: datetime) -> int:
    """Count one failure on the (name, address) row, made if missing; the new count."""
    for _ in range(2):
        counted = db.session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.username == name, LoginThrottle.address == address)
            .values(failures=case((LoginThrottle.last_failed_at < now - FORGET_AFTER, 1),
                                  else_=LoginThrottle.failures + 1),
                    last_failed_at=now)
            .returning(LoginThrottle.failures)).scalar_one_or_none()
        if counted is not None:
            return counted
        try:
            with db.session.begin_nested():  # a savepoint: a racing insert loses only this
                db.session.add(LoginThrottle(username=name, address=address, failures=1,
                                             last_failed_at=now))
            return 1
        except IntegrityError:
            continue  # made meanwhile by the same name failing at once: count on it
    raise RuntimeError("login throttle row neither updated nor inserted")


class LoginThrottled(InvalidInput):
    """Too many failed logins for this account: try again after `wait_seconds`."""

    status = 429

    def __init__(self, wait_seconds: int) -> None:
        super().__init__(f"too many failed logins; try again in {wait_seconds} s",
                         {"password": f"Too many failed attempts. Try again in {wait_seconds} s."})
        self.wait_seconds = wait_seconds
