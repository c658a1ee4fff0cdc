"""Proposition-level datasets: one proposition per line with every claim that states it,
and claim pairs (same proposition or not) for training claim-matching models.

Pure: plain records in, JSON lines out. A proposition record
(``schemas/proposition-record.schema.json``) holds the proposition's text, verdict and
incident, and its claims across articles, each with actor, stance, article date, quoted
text and evidence, ordered by article date.

Claim pairs (``schemas/claim-pair-record.schema.json``), from the same records:

* **positives**: every pair of claims linked to the same proposition, at most
  ``max_positives`` per proposition (chosen by the seeded hash below when there are more);
* **negatives**: for each claim, up to ``negatives_per_claim`` claims of *other*
  propositions: the claims are put in a ring ordered by ``sha256(seed, claim id)`` and each
  claim takes the next ones along the ring that state another proposition. Deterministic
  (same seed, same pairs), bounded (at most ``negatives_per_claim`` × claims, never all
  O(n²) pairs), and spread over the project rather than clustered by document.

``contradicting_stances`` flags a same-proposition pair where one claim puts it forward
(asserts, confirms) and the other denies it: "initially denied … then confirmed".
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import combinations
from typing import IO, Any

from ._common import dumps

Record = dict[str, Any]

# Meta keys that may carry an article's publication date, in order of preference.
DATE_KEYS = ("published_at", "published", "date", "claim_date")
POSITIVE_STANCES = frozenset({"asserts", "confirms"})
NEGATIVE_STANCES = frozenset({"denies"})
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$")


def article_date(meta: Mapping[str, Any] | None) -> str | None:
    """The article's date as YYYY-MM-DD from its meta (DATE_KEYS, ISO 8601 date or date-time),
    or None when no key holds one."""
    for key in DATE_KEYS:
        value = (meta or {}).get(key)
        if isinstance(value, str):
            match = _DATE.match(value.strip())
            if match:
                return match.group(1)
    return None


def timeline_key(claim: Mapping[str, Any]) -> tuple[Any, ...]:
    """Sort key of a claim on a timeline: dated articles first by date, then the article,
    then the position in it."""
    date = claim.get("article_date")
    return (date is None, date or "", claim.get("document_id") or 0, claim.get("start") or 0,
            claim.get("claim_id") or 0)


def contradicting(stance_a: str | None, stance_b: str | None) -> bool:
    """Whether one stance puts the proposition forward and the other denies it."""
    pair = {stance_a, stance_b}
    return bool(pair & POSITIVE_STANCES) and bool(pair & NEGATIVE_STANCES)


def write_proposition_jsonl(records: Iterable[Record], out: IO[str], *,
                            validate: Callable[[Record], None] | None = None) -> int:
    """Write one proposition record per line (`validate` called on each first); return how
    many were written."""
    count = 0
    for record in records:
        if validate is not None:
            validate(record)
        out.write(dumps(record) + "\n")
        count += 1
    return count


def _rank(seed: int, *parts: Any) -> str:
    return hashlib.sha256("\x00".join(map(str, (seed, *parts))).encode()).hexdigest()


def _pair(a: Mapping[str, Any], b: Mapping[str, Any], prop_a: Record, prop_b: Record
          ) -> Record:
    if a["claim_id"] > b["claim_id"]:
        a, b, prop_a, prop_b = b, a, prop_b, prop_a
    same = prop_a["proposition_id"] == prop_b["proposition_id"]
    record: Record = {"id": f"{a['claim_id']}-{b['claim_id']}", "label": int(same),
                      "same_proposition": same,
                      "contradicting_stances": same and contradicting(a["stance"], b["stance"])}
    for side, claim, prop in (("a", a, prop_a), ("b", b, prop_b)):
        record.update({
            f"claim_id_{side}": claim["claim_id"], f"text_{side}": claim["text"],
            f"actor_{side}": claim["actor"], f"stance_{side}": claim["stance"],
            f"document_id_{side}": claim["document_id"],
            f"article_date_{side}": claim["article_date"],
            f"proposition_id_{side}": prop["proposition_id"],
            f"incident_id_{side}": (prop.get("incident") or {}).get("id"),
        })
    if "split" in a and "split" in b:
        # A pair straddling two splits belongs to neither: training on it would leak.
        record["split"] = a["split"] if a["split"] == b["split"] else None
    return record


def iter_claim_pairs(records: Iterable[Record], *, seed: int = 0, negatives_per_claim: int = 2,
                     max_positives: int = 200) -> Iterator[Record]:
    """Claim pairs from proposition records (see the module docstring): the positives of
    each proposition in its order, then the negatives along the seeded ring."""
    propositions = list(records)
    owner: dict[int, Record] = {}
    claims: list[Record] = []
    for prop in propositions:
        for claim in prop["claims"]:
            owner[claim["claim_id"]] = prop
            claims.append(claim)
    for prop in propositions:
        pairs = list(combinations(prop["claims"], 2))
        if len(pairs) > max_positives:
            pairs = sorted(pairs, key=lambda p: _rank(seed, p[0]["claim_id"],
                                                      p[1]["claim_id"]))[:max_positives]
            pairs.sort(key=lambda p: (p[0]["claim_id"], p[1]["claim_id"]))
        for a, b in pairs:
            yield _pair(a, b, prop, prop)
    ring = sorted(claims, key=lambda c: _rank(seed, c["claim_id"]))
    seen: set[tuple[int, int]] = set()
    for index, claim in enumerate(ring):
        taken = 0
        # Bounded scan: a claim whose neighbours all share its proposition gives up early.
        for step in range(1, min(len(ring), 1 + 100 * max(negatives_per_claim, 1))):
            if taken >= negatives_per_claim:
                break
            other = ring[(index + step) % len(ring)]
            if owner[other["claim_id"]] is owner[claim["claim_id"]]:
                continue
            key = tuple(sorted((claim["claim_id"], other["claim_id"])))
            taken += 1
            if key in seen:
                continue
            seen.add(key)
            yield _pair(claim, other, owner[claim["claim_id"]], owner[other["claim_id"]])


def write_claim_pairs_jsonl(records: Iterable[Record], out: IO[str], *, seed: int = 0,
                            negatives_per_claim: int = 2, max_positives: int = 200,
                            validate: Callable[[Record], None] | None = None) -> int:
    """Write the claim pairs of `records` one per line; return how many were written."""
    count = 0
    for pair in iter_claim_pairs(records, seed=seed, negatives_per_claim=negatives_per_claim,
                                 max_positives=max_positives):
        if validate is not None:
            validate(pair)
        out.write(dumps(pair) + "\n")
        count += 1
    return count
