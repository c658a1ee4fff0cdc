"""Users and their API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select

from ..db import db
from ..models import ApiToken, User, utcnow
from .errors import InvalidInput

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


def user_for_token(token: str) -> User | None:
    """The user a live token belongs to (and note its use), or None."""
    row = db.session.execute(
        select(ApiToken).where(ApiToken.token_sha256 == _hash(token), ApiToken.revoked_at.is_(None))
    ).scalar_one_or_none()
    if row is None:
        return None
    now = utcnow()
    last = row.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    # At most one write a minute per token: every API call writing would serialise SQLite.
    if last is None or now - last > timedelta(minutes=1):
        row.last_used_at = now
        db.session.commit()
    return row.user
