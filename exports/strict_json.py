"""JSON from outside, read strictly: what json.loads takes but JSON is not, refused.

Python's json.loads reads NaN, Infinity and -Infinity (not JSON), turns 1e400 into inf,
raises a plain ValueError for an integer of more digits than Python converts (4,300), and a
RecursionError for nesting deeper than the interpreter's recursion limit. Anything read
with it could then not be written back as JSON, or escaped a caller's JSONDecodeError
handler. ``strict_loads`` raises json.JSONDecodeError for all of these, at the position of
the refused value, so a caller's line and column stay right.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable
from typing import Any

# JSON's tokens that matter for finding a refused value: strings (skipped whole, so nothing
# inside one is taken for a value), numbers, the constants and brackets.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|-?(?:NaN|Infinity)|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?'
                    r"|[\[{\]}]", re.DOTALL)


class _Refused(ValueError):
    def __init__(self, message: str, literal: str) -> None:
        super().__init__(message)
        self.message = message
        self.literal = literal


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not valid JSON", name)


def _float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise _Refused(f"{literal} is too large a number", literal)
    return value


def _first(text: str, refused: Callable[[str], bool]) -> re.Match[str] | None:
    # The parser reads left to right and stops at the first refused value, so the first
    # token refused is the one. Only a refused read pays for this scan.
    return next((m for m in _TOKEN.finditer(text) if refused(m.group())), None)


def _too_long(token: str) -> bool:
    digits, limit = token.lstrip("-"), sys.get_int_max_str_digits()
    return digits.isdigit() and 0 < limit < len(digits)


def _deepest(text: str) -> tuple[int, int]:
    """The greatest nesting depth in `text` and where it is first reached."""
    depth = deepest = where = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > deepest:
                deepest, where = depth, match.start()
        elif token in ("]", "}"):
            depth -= 1
    return deepest, where


def strict_loads(text: str | bytes, **kwargs: Any) -> Any:
    """json.loads that refuses NaN, Infinity, -Infinity, numbers too large for a float,
    integers of more digits than Python converts, and nesting too deep for the parser: each
    a json.JSONDecodeError (a ValueError) at that value's position. `kwargs` go to
    json.loads (object_hook, …)."""
    if isinstance(text, bytes | bytearray):
        text = text.decode(json.detect_encoding(text), "surrogatepass")
    try:
        return json.loads(text, parse_constant=_constant, parse_float=_float, **kwargs)
    except _Refused as exc:
        message, literal = exc.message, exc.literal
        found = _first(text, lambda token: token == literal)
        raise json.JSONDecodeError(message, text, found.start() if found else 0) from None
    except json.JSONDecodeError:
        raise
    except ValueError:
        # An integer of more digits than Python converts (sys.get_int_max_str_digits()). A
        # parse_int hook would say so at once, but it made reading a file of span offsets
        # half as fast again.
        found = _first(text, _too_long)
        if found is None:
            raise
        digits = len(found.group().lstrip("-"))
        raise json.JSONDecodeError(f"a number of {digits} digits is too long", text,
                                   found.start()) from None
    except RecursionError:
        depth, where = _deepest(text)
        raise json.JSONDecodeError(f"nested too deeply ({depth} levels)", text,
                                   where) from None
