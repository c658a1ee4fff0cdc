"""Settings, read from the environment when the app is created (never at import)."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask


def instance_path() -> str | None:
    """The instance folder from ANNOTATOR_INSTANCE_PATH, or None for Flask's default."""
    path = os.environ.get("ANNOTATOR_INSTANCE_PATH")
    return str(Path(path).resolve()) if path else None


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs that name no driver (as Heroku-style URLs do)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _secret_key(instance: Path) -> str:
    """The instance's secret key, generated once and kept, so sessions survive restarts."""
    key_file = instance / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_hex(32)
    # O_EXCL: two workers starting at once must not write two different keys.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def load(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Defaults, then the environment, then test_config (tests win)."""
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{instance / 'annotator.db'}",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        # Flask-Login's default is a year; a copied cookie then outlives any session. A
        # password change ends it sooner (User.get_id).
        REMEMBER_COOKIE_DURATION=timedelta(days=30),
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
    )
    # Answers keep their keys in the order the code builds them (id first, as the schemas
    # list them) and skip a sort per object; JSON_SORT_KEYS, which said so before, is
    # ignored since Flask 2.3.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if os.environ.get("ANNOTATOR_SECURE_COOKIES", "").lower() in ("1", "true", "yes"):
        # Production behind HTTPS: cookies never travel over plain HTTP.
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    if os.environ.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
    if test_config:
        app.config.update(test_config)
        if "DATABASE_URL" in test_config:
            app.config["SQLALCHEMY_DATABASE_URI"] = test_config["DATABASE_URL"]
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)
