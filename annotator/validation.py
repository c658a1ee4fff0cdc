"""The JSON Schemas in schemas/, loaded once, with validators that name the failing field."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource


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


@cache
def _registry() -> Registry:
    resources = [
        (path.name, Resource.from_contents(load_schema(path.name)))
        for path in sorted(schema_dir().glob("*.schema.json"))
    ]
    return Registry().with_resources(resources)


@cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(load_schema(name), registry=_registry())


def field_errors(name: str, instance: Any) -> dict[str, str]:
    """Validate `instance` against schema `name`; map each failing field's path to a message.

    Returns an empty dict when the instance is valid.
    """
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
        else:
            message = error.message
        errors.setdefault(path or "(body)", message)
    return errors
