"""Errors a service raises; the web layers turn each into one HTTP status."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class InvalidInput(ServiceError):
    """The input breaks the label scheme, the offsets contract or a schema (HTTP 422)."""

    status = 422


class NotFound(ServiceError):
    """Missing, or not visible to this user: the two are not told apart (HTTP 404)."""

    status = 404


class Forbidden(ServiceError):
    """Visible, but this user's role does not allow the action (HTTP 403)."""

    status = 403


class Conflict(ServiceError):
    """A write based on a stale version, or one the stored state refuses (HTTP 409);
    `current` is the stored record, when there is one to show."""

    status = 409

    def __init__(self, message: str, current: dict[str, Any] | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.current = current
        self.extra = extra  # more of the answer's fields (e.g. settled_by)


def require_object(payload: Any) -> dict[str, Any]:
    """`payload` when it is a JSON object; otherwise InvalidInput naming the body."""
    if not isinstance(payload, dict):
        raise InvalidInput("expected a JSON object", {"(body)": "expected a JSON object"})
    return payload
