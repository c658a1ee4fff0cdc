"""Label schemes: load, validate against schemas/label-scheme.schema.json, look up values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .validation import field_errors, schema_dir

DEFAULT_SCHEME_FILE = "claim-verification.json"


class LabelSchemeError(ValueError):
    """A label scheme that breaks the schema; `fields` maps each bad field to a message."""

    def __init__(self, fields: dict[str, str]) -> None:
        details = "; ".join(f"{k}: {v}" for k, v in fields.items())
        super().__init__(f"invalid label scheme: {details}")
        self.fields = fields


def validate(scheme: dict[str, Any]) -> dict[str, Any]:
    """Return `scheme` if valid; raise LabelSchemeError naming each bad field otherwise."""
    errors = field_errors("label-scheme.schema.json", scheme)
    for key in ("stances", "verdicts", "evidence_types", "evidence_relations"):
        values = [label.get("value") for label in scheme.get(key, []) if isinstance(label, dict)]
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            errors.setdefault(key, f"duplicate values: {', '.join(dupes)}")
    if not errors:
        errors.update(_suggestion_errors(scheme))
    if errors:
        raise LabelSchemeError(errors)
    return scheme


def _suggestion_errors(scheme: dict[str, Any]) -> dict[str, str]:
    """Suggestion keys must not take another key. (Cues of a stance the scheme lacks are
    ignored, so a scheme derived from the default by changing its stances stays valid.)"""
    suggestions = scheme.get("suggestions") or {}
    errors: dict[str, str] = {}
    taken = {key.lower(): f"shortcuts.{name}"
             for name, key in (scheme.get("shortcuts") or {}).items()}
    for list_key in ("stances", "verdicts"):
        for label in scheme.get(list_key, []):
            if label.get("key"):
                taken[label["key"].lower()] = f"{list_key} {label['value']}"
    seen: dict[str, str] = {}
    for name, key in (suggestions.get("keys") or {}).items():
        clash = taken.get(key.lower()) or seen.get(key.lower())
        if clash:
            errors[f"suggestions.keys.{name}"] = f"{key} is already the key of {clash}"
        seen[key.lower()] = f"suggestions.keys.{name}"
    return errors


def load_file(path: str | Path) -> dict[str, Any]:
    """Read and validate a label scheme file."""
    with open(path, encoding="utf-8-sig") as fh:
        try:
            scheme = json.load(fh)
        except json.JSONDecodeError as exc:
            raise LabelSchemeError({"(file)": f"not JSON: {exc}"}) from exc
    return validate(scheme)


def default_scheme() -> dict[str, Any]:
    """The default claim-verification scheme shipped in schemas/."""
    return load_file(schema_dir() / DEFAULT_SCHEME_FILE)


def values(scheme: dict[str, Any], key: str) -> list[str]:
    """The allowed values of one label list, e.g. values(scheme, "stances")."""
    return [label["value"] for label in scheme.get(key, [])]


def actor_names(scheme: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """The scheme's starting actors as (name, aliases) pairs."""
    actors = []
    for entry in scheme.get("actors", []):
        if isinstance(entry, str):
            actors.append((entry, []))
        else:
            actors.append((entry["name"], list(entry.get("aliases", []))))
    return actors
