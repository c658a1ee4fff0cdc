"""URL converters: an id in a URL is a database row id, or no route matches (404)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

# PostgreSQL's integer: a larger id cannot name a row, and handing it to the database fails
# (a 500 on every /x/<int:id> route, found by the API fuzz test).
MAX_ROW_ID = 2**31 - 1


class RowIdConverter(IntegerConverter):
    """`<int:...>` bounded to what an id column holds."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    """Replace the `int` converter; call before any blueprint is registered."""
    app.url_map.converters["int"] = RowIdConverter
