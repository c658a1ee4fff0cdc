"""Logging in and out (Flask-Login with a WTForms form)."""

from __future__ import annotations

from flask import Flask
from flask_login import LoginManager

from ..db import db
from ..models import User

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.session_protection = "strong"


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


def init_app(app: Flask) -> None:
    from .routes import bp

    login_manager.init_app(app)
    app.register_blueprint(bp)
