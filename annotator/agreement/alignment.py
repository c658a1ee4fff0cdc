"""Aligning several annotators' claims on one document into units, and what differs in each.

Pure: claims are plain dicts as the API and the export give them. Used by adjudication to
show a document's disagreements; the same one-to-one overlap matching as the agreement
report (:func:`span_f1` with ``mode="overlap"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

from .spans import span_f1

COMPARED_FIELDS = ("actor", "stance", "verdict", "evidence")


def align(claims: Mapping[str, Sequence[dict[str, Any]]]) -> list[dict[str, int]]:
    """Group claims into units: {annotator: index into that annotator's claims}.

    Two claims are in one unit when the one-to-one overlap matching of their annotators
    pairs them; chains of such pairs join. A unit holds at most one claim per annotator
    (the first by position, should a chain bring two; the other starts a unit of its own),
    so every claim is in exactly one unit. Units come in text order.
    """
    coders = sorted(claims)
    parent: dict[tuple[str, int], tuple[str, int]] = {}

    def find(node: tuple[str, int]) -> tuple[str, int]:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for coder in coders:
        for index in range(len(claims[coder])):
            find((coder, index))
    for a, b in combinations(coders, 2):
        spans_a = [(c["start"], c["end"], "claim") for c in claims[a]]
        spans_b = [(c["start"], c["end"], "claim") for c in claims[b]]
        for i, j in span_f1(spans_a, spans_b, mode="overlap").pairs:
            ra, rb = find((a, i)), find((b, j))
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    groups: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for node in sorted(parent):
        groups.setdefault(find(node), []).append(node)
    units: list[dict[str, int]] = []
    for members in groups.values():
        unit: dict[str, int] = {}
        for coder, index in sorted(members, key=lambda n: (claims[n[0]][n[1]]["start"], n)):
            if coder in unit:
                units.append({coder: index})  # a second claim of one annotator: its own unit
            else:
                unit[coder] = index
        units.append(unit)
    return sorted(units, key=lambda u: min((claims[c][i]["start"], claims[c][i]["end"])
                                           for c, i in u.items()))


def evidence_key(claim: dict[str, Any]) -> tuple:
    """What two claims' evidence must share to count as the same evidence."""
    return tuple(sorted((e.get("type"), e.get("relation"), e.get("start"), e.get("end"))
                        for e in claim.get("evidence") or []))


def differences(unit_claims: Mapping[str, dict[str, Any]], coders: Sequence[str]) -> list[str]:
    """What differs among one unit's claims: "missing" (some coders did not mark it),
    "boundaries", and each of COMPARED_FIELDS whose values differ. Empty: exact agreement."""
    found = []
    if any(coder not in unit_claims for coder in coders):
        found.append("missing")
    versions = list(unit_claims.values())
    if len({(c["start"], c["end"]) for c in versions}) > 1:
        found.append("boundaries")
    for field in COMPARED_FIELDS:
        values = {evidence_key(c) if field == "evidence" else c.get(field) for c in versions}
        if len(values) > 1:
            found.append(field)
    return found
