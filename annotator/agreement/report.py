"""A project's agreement report, computed from document-level export records.

Pure: the input is the same records that ``annotator export`` writes (one dict per
document, ``schemas/export-record.schema.json``), so the report can be computed from the
database or from any exported file.

How the figures are made:

* **Coders of a document**: the annotators whose status on it is ``done`` (from the
  record's ``annotators`` list). With ``include_unfinished`` (or when a record has no
  ``annotators`` list, as in files from elsewhere) every annotator with a claim on it. A
  document with fewer than two coders is not compared. Gold claims are ignored.
* **Span identification**: for every pair of coders of a document, their claim spans
  (labels ignored) are matched one to one by :func:`span_f1`, ``exact`` and ``overlap``.
  Pair and overall figures are micro-averaged: matched spans and span counts are summed
  over the documents first. ``unitizing_alpha`` (uα of Krippendorff et al. 2016, nested
  claims of one coder merged) is computed on the documents of each coder set put end to end
  on one continuum, since uα needs every coder to have seen all of the continuum.
* **Labels on matched claims**: the overlap matches of each pair give the claim pairs on
  which Cohen's kappa is computed per field and pair. Across coders, claims joined by
  pairwise matches form one unit (at most one claim per coder: the first by position);
  Krippendorff's alpha (nominal) runs on all units, coders who did not mark a unit being
  missing values; Fleiss' kappa on the units marked by every coder of their document, for
  the most common number of coders. A field with no value is the category ``(none)``;
  the evidence relation of a claim is the sorted set of its evidence items' relations
  (``(none)`` without evidence).
* **Disagreement of a document**: 1 minus the mean, over its coder pairs, of the labelled
  overlap F1 (a match counts only if the two claims also share the stance).

Undefined figures are ``None`` in the report (NaN inside the metrics).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from itertools import combinations
from typing import Any

from .metrics import cohen_kappa, fleiss_kappa, krippendorff_alpha
from .spans import span_f1
from .unitizing import unitizing_alpha

FIELDS = ("actor", "stance", "verdict", "evidence_relation")
NONE = "(none)"
HISTOGRAM_BINS = 10


def _value(claim: dict[str, Any], field: str) -> str:
    if field == "evidence_relation":
        relations = sorted({e["relation"] for e in claim.get("evidence") or []})
        return "+".join(relations) if relations else NONE
    value = claim.get(field)
    return NONE if value in (None, "") else str(value)


def _number(value: float) -> float | None:
    return None if value is None or math.isnan(value) else value


def _f1(matched: int, n_a: int, n_b: int) -> float | None:
    return 2 * matched / (n_a + n_b) if n_a + n_b else None


def _coders(record: dict[str, Any], include_unfinished: bool) -> list[str]:
    with_claims = {c["annotator"] for c in record.get("claims", []) if not c.get("is_gold")}
    if include_unfinished or "annotators" not in record:
        listed = {a["annotator"] for a in record.get("annotators", [])
                  if a.get("status") != "skipped"}
        return sorted(with_claims | listed)
    return sorted({a["annotator"] for a in record["annotators"] if a.get("status") == "done"})


class _Units:
    """Joins pairwise matches into units: one claim per coder at most."""

    def __init__(self) -> None:
        self.parent: dict[tuple[str, int], tuple[str, int]] = {}

    def find(self, node: tuple[str, int]) -> tuple[str, int]:
        self.parent.setdefault(node, node)
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def join(self, a: tuple[str, int], b: tuple[str, int]) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[dict[str, int]]:
        found: dict[tuple[str, int], dict[str, int]] = {}
        for node in sorted(self.parent):
            unit = found.setdefault(self.find(node), {})
            coder, index = node
            unit.setdefault(coder, index)
        return list(found.values())


def agreement_report(
    records: Iterable[dict[str, Any]], *, include_unfinished: bool = False, top: int = 10
) -> dict[str, Any]:
    """Compute the agreement report (see the module docstring) from export records.

    Returns a JSON-serialisable dict with ``summary``, ``pairs``, ``fields``,
    ``annotators``, ``documents`` (most disagreed first, ``top`` of them),
    ``stance_confusion``, ``f1_histogram`` and ``unitizing``.
    """
    pair_spans: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    pair_labels: dict[tuple[str, str], dict[str, tuple[list[str], list[str]]]] = defaultdict(
        lambda: {f: ([], []) for f in FIELDS})
    confusion: Counter[tuple[str, str]] = Counter()
    unit_columns: dict[str, list[dict[str, str]]] = {f: [] for f in FIELDS}
    fleiss_units: dict[int, dict[str, list[Counter[str]]]] = defaultdict(
        lambda: {f: [] for f in FIELDS})
    continua: dict[tuple[str, ...], dict[str, Any]] = {}
    per_annotator: dict[str, Counter[str]] = defaultdict(Counter)
    per_document: list[dict[str, Any]] = []
    documents_total = documents_compared = 0

    for record in records:
        documents_total += 1
        coders = _coders(record, include_unfinished)
        claims: dict[str, list[dict[str, Any]]] = {c: [] for c in coders}
        for claim in record.get("claims", []):
            if not claim.get("is_gold") and claim["annotator"] in claims:
                claims[claim["annotator"]].append(claim)
        for coder in coders:
            per_annotator[coder]["claims"] += len(claims[coder])
            per_annotator[coder]["documents"] += 1
        if len(coders) < 2:
            continue
        documents_compared += 1
        spans = {c: [(x["start"], x["end"], "claim") for x in claims[c]] for c in coders}
        units = _Units()
        labelled_f1s: list[float] = []
        overlap_f1s: list[float] = []
        for a, b in combinations(coders, 2):
            exact = span_f1(spans[a], spans[b], mode="exact")
            overlap = span_f1(spans[a], spans[b], mode="overlap")
            tally = pair_spans[(a, b)]
            tally["exact"] += exact.matched
            tally["overlap"] += overlap.matched
            tally["n_a"] += exact.n_a
            tally["n_b"] += exact.n_b
            same_stance = 0
            for i, j in overlap.pairs:
                ca, cb = claims[a][i], claims[b][j]
                units.join((a, i), (b, j))
                for field in FIELDS:
                    values = pair_labels[(a, b)][field]
                    values[0].append(_value(ca, field))
                    values[1].append(_value(cb, field))
                sa, sb = _value(ca, "stance"), _value(cb, "stance")
                confusion[(sa, sb)] += 1
                confusion[(sb, sa)] += 1
                same_stance += sa == sb
            overlap_f1s.append(overlap.f1)
            labelled = _f1(same_stance, overlap.n_a, overlap.n_b)
            labelled_f1s.append(1.0 if labelled is None else labelled)
        for coder in coders:  # unmatched claims are units of their own
            for index in range(len(claims[coder])):
                units.find((coder, index))
        for unit in units.groups():
            for field in FIELDS:
                unit_columns[field].append(
                    {coder: _value(claims[coder][index], field) for coder, index in unit.items()})
                if len(unit) == len(coders):
                    fleiss_units[len(coders)][field].append(
                        Counter(_value(claims[c][i], field) for c, i in unit.items()))
        continuum = continua.setdefault(tuple(coders), {"length": 0, "documents": 0,
                                                       "units": {c: [] for c in coders}})
        offset = continuum["length"]
        for coder in coders:
            continuum["units"][coder].extend(
                (s + offset, e + offset, "claim") for s, e, _ in spans[coder])
        continuum["length"] += len(record.get("text", "")) or max(
            (e for c in coders for _, e, _ in spans[c]), default=0)
        continuum["documents"] += 1
        mean_f1 = sum(overlap_f1s) / len(overlap_f1s)
        per_document.append({
            "id": record.get("id"), "document_id": record.get("document_id"),
            "title": record.get("title", ""), "coders": coders,
            "claims": {c: len(claims[c]) for c in coders},
            "overlap_f1": mean_f1,
            "disagreement": 1 - sum(labelled_f1s) / len(labelled_f1s),
        })

    coders_all = sorted(per_annotator)
    pairs = []
    totals: Counter[str] = Counter()
    for (a, b), tally in sorted(pair_spans.items()):
        totals.update(tally)
        kappas = {f: _number(cohen_kappa(*pair_labels[(a, b)][f])) if pair_labels[(a, b)][f][0]
                  else None for f in FIELDS}
        pairs.append({
            "a": a, "b": b, "spans_a": tally["n_a"], "spans_b": tally["n_b"],
            "matched_exact": tally["exact"], "matched_overlap": tally["overlap"],
            "f1_exact": _f1(tally["exact"], tally["n_a"], tally["n_b"]),
            "f1_overlap": _f1(tally["overlap"], tally["n_a"], tally["n_b"]),
            "kappa": kappas,
        })
        for coder in (a, b):
            per_annotator[coder]["pair_matched"] += tally["overlap"]
            per_annotator[coder]["pair_spans"] += tally["n_a"] + tally["n_b"]

    modal_n = max(fleiss_units, key=lambda n: (len(fleiss_units[n]["stance"]), n), default=None)
    fields = {}
    for field in FIELDS:
        columns = unit_columns[field]
        matrix = [[column.get(coder) for column in columns] for coder in coders_all]
        alpha = krippendorff_alpha(matrix, "nominal") if columns else float("nan")
        fleiss = float("nan")
        fleiss_n = 0
        if modal_n is not None and fleiss_units[modal_n][field]:
            counters = fleiss_units[modal_n][field]
            categories = sorted({k for counter in counters for k in counter})
            fleiss = fleiss_kappa([[counter[k] for k in categories] for counter in counters])
            fleiss_n = len(counters)
        fields[field] = {
            "krippendorff_alpha": _number(alpha), "units": len(columns),
            "fleiss_kappa": _number(fleiss), "fleiss_units": fleiss_n, "fleiss_raters": modal_n,
            "mean_pair_kappa": _mean(p["kappa"][field] for p in pairs),
        }

    unitizing = []
    for coders_set, continuum in sorted(continua.items()):
        alpha = unitizing_alpha([continuum["units"][c] for c in coders_set],
                                continuum["length"], overlaps="merge") \
            if continuum["length"] else float("nan")
        unitizing.append({"coders": list(coders_set), "documents": continuum["documents"],
                          "characters": continuum["length"], "alpha_u": _number(alpha)})

    annotators = []
    for coder in coders_all:
        stats = per_annotator[coder]
        annotators.append({
            "annotator": coder, "documents": stats["documents"], "claims": stats["claims"],
            "f1_overlap": (2 * stats["pair_matched"] / stats["pair_spans"]
                           if stats["pair_spans"] else None),
            "stance_kappa": _number(_pooled_kappa(coder, pair_labels, "stance")),
        })

    stances = sorted({s for pair in confusion for s in pair})
    histogram = [0] * HISTOGRAM_BINS
    for document in per_document:
        histogram[min(HISTOGRAM_BINS - 1, int(document["overlap_f1"] * HISTOGRAM_BINS))] += 1
    per_document.sort(key=lambda d: (-d["disagreement"], str(d["id"])))
    return {
        "summary": {
            "documents": documents_total, "documents_compared": documents_compared,
            "annotators": coders_all, "pairs": len(pairs),
            "f1_exact": _f1(totals["exact"], totals["n_a"], totals["n_b"]),
            "f1_overlap": _f1(totals["overlap"], totals["n_a"], totals["n_b"]),
            "alpha_u": _pooled_alpha_u(unitizing),
            "include_unfinished": include_unfinished,
        },
        "pairs": pairs,
        "fields": fields,
        "annotators": annotators,
        "documents": per_document[:top],
        "stance_confusion": {"labels": stances,
                             "counts": [[confusion[(a, b)] for b in stances] for a in stances]},
        "f1_histogram": {"bins": [i / HISTOGRAM_BINS for i in range(HISTOGRAM_BINS + 1)],
                         "counts": histogram},
        "unitizing": unitizing,
    }


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _pooled_alpha_u(unitizing: list[dict[str, Any]]) -> float | None:
    """The character-weighted mean of the coder sets' αu (the only one when there is one)."""
    weighted = [(u["alpha_u"], u["characters"]) for u in unitizing if u["alpha_u"] is not None]
    total = sum(w for _, w in weighted)
    return sum(a * w for a, w in weighted) / total if total else None


def _pooled_kappa(coder: str, pair_labels: dict, field: str) -> float:
    """Cohen's kappa of one coder against every partner, their matched pairs pooled."""
    mine: list[str] = []
    theirs: list[str] = []
    for (a, b), labels in pair_labels.items():
        if coder == a:
            mine += labels[field][0]
            theirs += labels[field][1]
        elif coder == b:
            mine += labels[field][1]
            theirs += labels[field][0]
    return cohen_kappa(mine, theirs) if mine else float("nan")
