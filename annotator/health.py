"""`GET /healthz`: for load balancers and monitors, no login, no secrets."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from . import __version__
from .db import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 when this worker can reach the database, 503 when it cannot."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        db.session.rollback()
        # The reason goes to the log only: a driver's message may name hosts and users.
        current_app.logger.warning("health check: database unreachable: %s",
                                   type(exc).__name__)
        response = jsonify(status="error", database="unreachable", version=__version__)
        response.status_code = 503
    else:
        response = jsonify(status="ok", database="ok", version=__version__)
    response.headers["Cache-Control"] = "no-store"
    return response
