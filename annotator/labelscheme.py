"""Label schemes: load, validate against schemas/label-scheme.schema.json, look up values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from exports.strict_json import strict_loads

from .validation import MAX_NESTING, field_errors, nested_deeper_than, schema_dir

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
        errors.update(_key_errors(scheme))
    if errors:
        raise LabelSchemeError(errors)
    return scheme


def _key_errors(scheme: dict[str, Any]) -> dict[str, str]:
    """Every key of the scheme does one thing: the page's shortcuts, the stance and verdict
    keys and the suggestion keys must all differ (two stances on "1" would make the second
    unreachable). (Cues of a stance the scheme lacks are ignored, so a scheme derived from
    the default by changing its stances stays valid.)"""
    keys: list[tuple[str, str, str]] = [
        (f"shortcuts.{name}", f"shortcuts.{name}", key)
        for name, key in (scheme.get("shortcuts") or {}).items()]
    for list_key in ("stances", "verdicts"):
        keys += [(f"{list_key}.{i}.key", f"{list_key} {label['value']}", label["key"])
                 for i, label in enumerate(scheme.get(list_key, [])) if label.get("key")]
    keys += [(f"suggestions.keys.{name}", f"suggestions.keys.{name}", key)
             for name, key in ((scheme.get("suggestions") or {}).get("keys") or {}).items()]
    errors: dict[str, str] = {}
    seen: dict[str, str] = {}
    for field, owner, key in keys:
        clash = seen.get(key.lower())
        if clash:
            errors.setdefault(field, f"{key} is already the key of {clash}")
        else:
            seen[key.lower()] = owner
    return errors


def load_file(path: str | Path) -> dict[str, Any]:
    """Read and validate a label scheme file."""
    with open(path, encoding="utf-8-sig") as fh:
        try:
            scheme = strict_loads(fh.read())  # no NaN or Infinity into a stored scheme
        except json.JSONDecodeError as exc:
            raise LabelSchemeError({"(file)": f"not JSON: {exc}"}) from exc
    if nested_deeper_than(scheme):
        raise LabelSchemeError({"(file)": f"nested more than {MAX_NESTING} levels deep"})
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
