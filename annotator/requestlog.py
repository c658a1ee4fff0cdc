"""One log line per request, with a request id that the response echoes in X-Request-ID.

The line names the method, the path (never the query string: it may carry a token), the
status, the time spent in the app in milliseconds, the user id when someone is logged in
(session or Bearer token) and the request id. It goes to the `annotator.requests` logger at
INFO; `annotator serve` sends it to standard error.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

logger = logging.getLogger("annotator.requests")

HEADER = "X-Request-ID"
# A proxy's id is kept only when it is short and plain, so it cannot forge log lines.
_GOOD_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _start() -> None:
    g.request_started = time.perf_counter()
    incoming = request.headers.get(HEADER, "")
    g.request_id = incoming if _GOOD_ID.fullmatch(incoming) else uuid.uuid4().hex


def _user_id() -> int | None:
    # The API puts its user (session or token) in g.user; pages load Flask-Login's user,
    # cached in g._login_user. Reading these never loads a user just to log it.
    user = g.get("user") or g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "id", None)


def _printable(path: str) -> str:
    # A decoded path may hold %0A: a newline must not start a forged log line.
    return path.encode("unicode_escape").decode("ascii") if not path.isprintable() else path


def _finish(response: Response) -> Response:
    started = g.get("request_started")
    request_id = g.get("request_id") or uuid.uuid4().hex
    response.headers[HEADER] = request_id
    if started is not None and logger.isEnabledFor(logging.INFO):
        duration_ms = (time.perf_counter() - started) * 1000
        user_id = _user_id()
        path = _printable(request.path)
        logger.info(
            "%s %s %s %.1fms user=%s request_id=%s",
            request.method, path, response.status_code, duration_ms,
            user_id if user_id is not None else "-", request_id,
            extra={"method": request.method, "path": path,
                   "status": response.status_code, "duration_ms": round(duration_ms, 1),
                   "user_id": user_id, "request_id": request_id},
        )
    return response


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
