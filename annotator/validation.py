"""The JSON Schemas in schemas/, loaded once, with validators that name the failing field."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

# jsonschema-rs needs absolute ids; the files' relative ones are resolved against this base.
_RS_BASE = "https://annotator.invalid/schemas/"


def schema_dir() -> Path:
    """Where the schemas are: inside the installed package, or at the repository's top."""
    installed = Path(__file__).parent / "schemas"
    if installed.is_dir():
        return installed
    return Path(__file__).parent.parent / "schemas"


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema file `name` (e.g. "claim.schema.json") as a dict."""
    with open(schema_dir() / name, encoding="utf-8") as fh:
        return json.load(fh)


def _dialectless(schema: dict[str, Any]) -> dict[str, Any]:
    # jsonschema checks a $ref'd schema that names its dialect with that dialect's stock
    # validator class (whose "integer" takes 38.0); one that names none, with _Validator.
    return {key: value for key, value in schema.items() if key != "$schema"}


@cache
def _registry() -> Registry:
    resources = [
        (path.name, Resource.from_contents(_dialectless(load_schema(path.name)),
                                           default_specification=DRAFT202012))
        for path in sorted(schema_dir().glob("*.schema.json"))
    ]
    return Registry().with_resources(resources)


def _is_whole_number(checker: Any, instance: Any) -> bool:
    # Not JSON Schema's "integer", which 38.0 is: offsets index Python strings (and slices
    # with 38.0 are a TypeError), and a stored 38.0 comes back as 38.0 to every client.
    return isinstance(instance, int) and not isinstance(instance, bool)


_Validator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_whole_number),
)


@cache
def validator(name: str) -> Draft202012Validator:
    """Schema `name`'s validator; "integer" in it means a whole number that is no float."""
    return _Validator(_dialectless(load_schema(name)), registry=_registry())


def field_errors(name: str, instance: Any) -> dict[str, str]:
    """Validate `instance` against schema `name`; map each failing field's path to a message.

    Returns an empty dict when the instance is valid. A float is no integer here, not even
    38.0 ("must be a whole number").
    """
    # Most writes are valid: the compiled check answers those in microseconds, and only a
    # failing instance pays for the Python validator's per-field messages. The compiled
    # check takes 38.0 for an integer; the Python validator settles a value holding one
    # (rare: no client sends a float for a number it counts).
    if is_valid(name, instance) and not _has_whole_float(instance):
        return {}
    errors: dict[str, str] = {}
    for error in sorted(validator(name).iter_errors(instance), key=lambda e: list(e.path)):
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            path = f"{path}.{missing}" if path else missing
            message = "is required"
        elif error.validator == "additionalProperties":
            message = error.message
            path = path or "(body)"
        elif error.validator == "type" and isinstance(error.instance, float) \
                and "integer" in error.validator_value:
            message = "must be a whole number" + (
                " or a string" if "string" in error.validator_value else "")
        else:
            message = error.message
        errors.setdefault(path or "(body)", message)
    return errors


@cache
def _fast_validator(name: str) -> Any:
    resources = []
    for path in sorted(schema_dir().glob("*.schema.json")):
        schema = dict(load_schema(path.name), **{"$id": _RS_BASE + path.name})
        resources.append((_RS_BASE + path.name, schema))
    schema = dict(resources)[_RS_BASE + name]
    return jsonschema_rs.validator_for(schema, registry=jsonschema_rs.Registry(resources))


def is_valid(name: str, instance: Any) -> bool:
    """Whether `instance` matches schema `name` (compiled in Rust: ~500x faster than
    field_errors, for hot paths such as exports; use field_errors to say what is wrong).
    It takes 38.0 for an integer, as JSON Schema does: check what comes from outside with
    field_errors."""
    return _fast_validator(name).is_valid(instance)


def _has_whole_float(value: Any) -> bool:
    stack = [value]
    while stack:  # not recursive: the value may be nested deeper than the stack allows
        item = stack.pop()
        if isinstance(item, float):
            if item.is_integer():
                return True
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def unstorable_text(value: Any, path: str = "") -> str | None:
    """The path ("aliases.3") of the first string in `value` that no database can store, or
    None: a NUL character (PostgreSQL refuses it) or a lone surrogate (it has no UTF-8)."""
    trail = _unstorable(value)
    if trail is None:
        return None
    return ".".join([path, *trail] if path else trail) or "(body)"


def _bad_text(text: str) -> bool:
    if "\x00" in text:
        return True
    if text.isascii():  # a flag CPython keeps: ASCII has no surrogates
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _unstorable(value: Any) -> list[str] | None:
    # The steps to the first bad string ([] for `value` itself; a bad key as its repr), or
    # None. The path is spelt out only once one is found: building it for every value
    # was most of the cost of checking a 2,000-document import.
    if isinstance(value, str):
        return [] if _bad_text(value) else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if isinstance(key, str) and _bad_text(key):  # a JSON object's keys are text too
            return [repr(key)]
        if isinstance(item, (str, dict, list)):
            found = _unstorable(item)
            if found is not None:
                return [str(key), *found]
    return None


# Deeper than any body or record the app reads (a Label Studio task is about 8 levels) and
# far from the interpreter's recursion limit, which the recursive walks over a value
# (unstorable_text, json.dumps when a JSON column is written) would otherwise reach.
MAX_NESTING = 100


def nested_deeper_than(value: Any, limit: int = MAX_NESTING) -> bool:
    """Whether `value` has lists or objects nested more than `limit` deep (`[]` is 1)."""
    # Level by level, not recursively: the value may be nested deeper than the stack allows.
    level = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        level = [item for container in level
                 for item in (container.values() if isinstance(container, dict) else container)
                 if isinstance(item, dict | list)]
    return False
