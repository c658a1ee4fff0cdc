"""Logging in and out (Flask-Login with a WTForms form)."""

from __future__ import annotations

import hmac

from flask import Flask
from flask_login import LoginManager

from ..db import db
from ..models import User

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.session_protection = "strong"


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    # "id:mark" (User.get_id): a session or remember cookie made before the user's
    # password last changed names the user with another mark, and logs nobody in.
    user_id, _, mark = session_id.partition(":")
    if not (user_id.isdigit() and mark):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not hmac.compare_digest(mark, user.password_mark()):
        return None
    return user


def init_app(app: Flask) -> None:
    from .routes import bp

    login_manager.init_app(app)
    app.register_blueprint(bp)
