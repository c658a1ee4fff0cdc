"""The app's JSON provider: request bodies are read with exports.strict_loads.

Flask's default reads NaN and Infinity, which the app would then store and serve as JSON no
browser can parse, and lets a RecursionError (a body nested thousands deep) escape
request.get_json as a 500. Here both are a ValueError, which get_json answers as a bad
request (or None when silent); so is a body nested deeper than MAX_NESTING, which the
parser takes but the recursive walks after it might not.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from exports import strict_loads

from .validation import MAX_NESTING, nested_deeper_than


class StrictJSONProvider(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        value = strict_loads(s, **kwargs)
        if nested_deeper_than(value):
            raise ValueError(f"nested more than {MAX_NESTING} levels deep")
        return value


def init_app(app: Flask) -> None:
    """Use StrictJSONProvider; call before anything sets the provider's options."""
    app.json = StrictJSONProvider(app)
