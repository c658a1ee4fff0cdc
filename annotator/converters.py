"""URL converters: an id in a URL is a database row id, or the answer is 404."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from .db import MAX_ROW_ID  # a larger id was a 500 on every /x/<int:id> route (API fuzz test)


class RowIdConverter(IntegerConverter):
    """`<int:...>` that answers 404 for an id no id column can hold.

    Not IntegerConverter's `max`: a value out of its range makes the rule not match, and
    Werkzeug then answers 405 for the other methods of the same path instead of 404.
    """

    def to_python(self, value: str) -> Any:
        number = super().to_python(value)
        if number > MAX_ROW_ID:
            raise NotFound()
        return number


def init_app(app: Flask) -> None:
    """Replace the `int` converter; call before any blueprint is registered."""
    app.url_map.converters["int"] = RowIdConverter
