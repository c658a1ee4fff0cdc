"""A project's agreement report, computed from document-level export records.

Pure: the input is the same records that ``annotator export`` writes (one dict per
document, ``schemas/export-record.schema.json``), so the report can be computed from the
database or from any exported file.

How the figures are made:

* **Coders of a document**: the annotators whose status on it is ``done`` (from the
  record's ``annotators`` list). With ``include_unfinished`` also every annotator with a
  claim on it; when a record has no ``annotators`` list (files from elsewhere), every
  annotator with a claim on it. A document with fewer than two coders is not compared.
  Gold claims are ignored.
* **Span identification**: for every pair of coders of a document, their claim spans
  (labels ignored) are matched one to one by :func:`span_f1`: ``exact`` (same start and
  end) and ``overlap`` (at least one shared character; the most pairs, then the most
  shared characters). F1 is ``2 × matched / (spans of one + spans of the other)``. Pair
  and overall figures are micro-averaged: matched spans and span counts are summed over
  the documents first. ``unitizing_alpha`` (uα of Krippendorff et al. 2016, character by
  character, nested claims of one coder merged) is computed on the documents of each coder
  set put end to end on one continuum, since uα needs every coder to have seen all of the
  continuum; the summary gives the mean of the sets' uα weighted by their characters.
* **Labels on matched claims**: the overlap matches of each pair give the claim pairs on
  which Cohen's kappa is computed per field and pair (and, pooled over an annotator's
  partners, per annotator); the stance confusion matrix counts them in both orders.
  Across coders, claims joined by pairwise matches form one unit (at most one claim per
  coder: the first by position);
  Krippendorff's alpha (nominal) runs on all units, coders who did not mark a unit being
  missing values; Fleiss' kappa on the units marked by every coder of their document, for
  the most common number of coders. A field with no value is the category ``(none)``;
  the evidence relation of a claim is the sorted set of its evidence items' relations
  (``(none)`` without evidence).
* **Disagreement of a document**: 1 minus the mean, over its coder pairs, of the labelled
  overlap F1 (a match counts only if the two claims also share the stance).
* **Per annotator**: documents and claims *compared* are those of the documents the
  figures above are computed on (two or more coders), so they are the basis of the
  annotator's span F1 and stance kappa; documents and claims *coded* count every document
  on which the annotator is a coder, those with a single coder included (the reliability
  sample beside the annotator's whole share of the work).
* **Agreement with gold**: on documents whose gold is settled (``review_status`` done, or
  any gold claim in records without a status), each coder's claims against the gold
  claims as if gold were one more coder: span F1 exact and overlap (micro-averaged) and
  Cohen's kappa per field on the overlap-matched claims.

Undefined figures are ``None`` in the report (NaN inside the metrics).
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from itertools import accumulate, combinations
from typing import Any

from .metrics import cohen_kappa_table, fleiss_kappa, krippendorff_alpha_units
from .spans import _overlap_pairs, span_f1
from .unitizing import _tally_2016, unitizing_tally

FIELDS = ("actor", "stance", "verdict", "evidence_relation")
NONE = "(none)"
HISTOGRAM_BINS = 10
_STANCE = FIELDS.index("stance")

Values = tuple[str, str, str, str]  # a claim's value of each field, in the order of FIELDS


def _values(claim: dict[str, Any]) -> Values:
    """The claim's value of every field, in the order of FIELDS: the field as a string,
    NONE when it is empty; for evidence_relation its items' relations, sorted, joined by
    "+" (NONE without evidence)."""
    evidence = claim.get("evidence")
    if not evidence:
        relation = NONE
    elif len(evidence) == 1 and type(evidence[0]["relation"]) is str:
        relation = evidence[0]["relation"]
    else:
        relation = "+".join(sorted({e["relation"] for e in evidence}))
    actor, stance, verdict = claim.get("actor"), claim.get("stance"), claim.get("verdict")
    return (
        actor if type(actor) is str and actor else NONE if actor in (None, "") else str(actor),
        stance if type(stance) is str and stance else NONE if stance in (None, "")
        else str(stance),
        verdict if type(verdict) is str and verdict else NONE if verdict in (None, "")
        else str(verdict),
        relation,
    )


def _number(value: float) -> float | None:
    return None if value is None or math.isnan(value) else value


def _f1(matched: int, n_a: int, n_b: int) -> float | None:
    return 2 * matched / (n_a + n_b) if n_a + n_b else None


def _coders(record: dict[str, Any], with_claims: Iterable[str],
            include_unfinished: bool) -> list[str]:
    """The coders of a document (see the module docstring); ``with_claims``: the annotators
    with a claim (not gold) on it."""
    if "annotators" not in record:
        return sorted(with_claims)
    done = {a["annotator"] for a in record["annotators"] if a.get("status") == "done"}
    # Unfinished work: whoever has claims; someone who has not started is no coder (they
    # would count as agreeing that there is nothing to mark).
    return sorted(done.union(with_claims) if include_unfinished else done)


def _units(sizes: list[int], matches: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Join pairwise matches into units: lists of ``(coder position, claim index)``.

    Claims are numbered coder after coder (``sizes`` claims each); ``matches`` are pairs of
    such numbers. A unit keeps one claim per coder, the first by index; every claim not
    matched is a unit of its own. Units come in the order of their first claim.
    """
    parent = list(range(sum(sizes)))

    def find(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for x, y in matches:
        root_x, root_y = find(x), find(y)
        if root_x != root_y:
            parent[max(root_x, root_y)] = min(root_x, root_y)
    found: dict[int, dict[int, int]] = {}
    node = 0
    for coder, size in enumerate(sizes):
        for index in range(size):
            root = parent[node]
            if root != node:
                root = find(node)
            unit = found.get(root)
            if unit is None:
                found[root] = {coder: index}
            elif coder not in unit:
                unit[coder] = index
            node += 1
    return [list(unit.items()) for unit in found.values()]


class _MostDisagreed:
    """The ``top`` documents of the highest disagreement (ties: by id), kept as they come."""

    def __init__(self, top: int | None) -> None:
        if top is not None and top < 0:
            raise ValueError(f"top must be a non-negative number or None, not {top!r}")
        self.top = top
        self.kept: list[dict[str, Any]] = []

    @staticmethod
    def key(document: dict[str, Any]) -> tuple[float, str]:
        return (-document["disagreement"], str(document["id"]))

    def offer(self, document: dict[str, Any]) -> None:
        if self.top is not None and len(self.kept) >= self.top:
            if self.top == 0 or self.key(document) >= self.key(self.kept[-1]):
                return
            self.kept.pop()
        # after any equal key: the earlier document stays first, as a stable sort would
        bisect.insort_right(self.kept, document, key=self.key)


def agreement_report(
    records: Iterable[dict[str, Any]], *, include_unfinished: bool = False,
    top: int | None = 10,
) -> dict[str, Any]:
    """Compute the agreement report (see the module docstring) from export records.

    Returns a JSON-serialisable dict with ``summary``, ``pairs``, ``fields``,
    ``annotators``, ``documents`` (most disagreed first, ``top`` of them; all with
    ``top=None``), ``stance_confusion``, ``f1_histogram`` and ``unitizing``.

    Records are read one at a time and not kept: memory grows with the number of coders
    and labels, not with the documents, texts and claims.

    Raises:
        ValueError: a claim's offsets are not integers with ``0 <= start < end`` within
            its document's text (the message names the document).
    """
    # per pair: exact matches, overlap matches, spans of a, spans of b
    pair_spans: dict[tuple[str, str], list[int]] = {}
    # per pair and field: {(a's value, b's value): matched claim pairs}
    pair_tables: dict[tuple[str, str], list[Counter[tuple[str, str]]]] = {}
    # per field: how many units got each combination of values (in any order), for alpha...
    alpha_units: list[Counter[tuple[str, ...]]] = [Counter() for _ in FIELDS]
    # ...and, per number of coders, the units every coder of their document marked (Fleiss)
    fleiss_units: dict[int, list[Counter[tuple[str, ...]]]] = {}
    # per set of coders: the uα tally of their documents put end to end
    continua: dict[tuple[str, ...], dict[str, Any]] = {}
    per_annotator: dict[str, Counter[str]] = defaultdict(Counter)
    # per annotator against gold: [exact, overlap, their spans, gold spans], field tables
    gold_spans: dict[str, list[int]] = {}
    gold_tables: dict[str, list[Counter[tuple[str, str]]]] = {}
    gold_documents: Counter[str] = Counter()
    most_disagreed = _MostDisagreed(top)
    histogram = [0] * HISTOGRAM_BINS
    documents_total = documents_compared = 0

    for record in records:
        documents_total += 1
        by_annotator: dict[str, list[dict[str, Any]]] = {}
        gold: list[dict[str, Any]] = []
        for claim in record.get("claims", []):
            if claim.get("is_gold"):
                gold.append(claim)
            else:
                by_annotator.setdefault(claim["annotator"], []).append(claim)
        coders = _coders(record, by_annotator, include_unfinished)
        claims = {c: by_annotator.get(c, []) for c in coders}
        if record.get("review_status", "done" if gold else "none") == "done":
            for coder in coders:
                _against_gold(claims[coder], gold, gold_spans.setdefault(coder, [0, 0, 0, 0]),
                              gold_tables.setdefault(coder, [Counter() for _ in FIELDS]))
                gold_documents[coder] += 1
        for coder in coders:
            per_annotator[coder]["claims_coded"] += len(claims[coder])
            per_annotator[coder]["documents_coded"] += 1
        if len(coders) < 2:
            continue
        documents_compared += 1
        for coder in coders:
            per_annotator[coder]["claims_compared"] += len(claims[coder])
            per_annotator[coder]["documents_compared"] += 1
        try:
            document = _compare(record, coders, claims, pair_spans, pair_tables, alpha_units,
                                fleiss_units, continua)
        except ValueError as exc:
            raise ValueError(f"document {record.get('id')!r}: {exc}") from None
        histogram[min(HISTOGRAM_BINS - 1, int(document["overlap_f1"] * HISTOGRAM_BINS))] += 1
        most_disagreed.offer(document)

    coders_all = sorted(per_annotator)
    no_tables: list[Counter[tuple[str, str]]] = [Counter() for _ in FIELDS]
    pairs = []
    totals = [0, 0, 0, 0]
    for (a, b), tally in sorted(pair_spans.items()):
        exact, overlap, n_a, n_b = tally
        totals = [t + x for t, x in zip(totals, tally, strict=True)]
        tables = pair_tables.get((a, b), no_tables)
        kappas = {field: _number(cohen_kappa_table(tables[f])) if tables[f] else None
                  for f, field in enumerate(FIELDS)}
        pairs.append({
            "a": a, "b": b, "spans_a": n_a, "spans_b": n_b,
            "matched_exact": exact, "matched_overlap": overlap,
            "f1_exact": _f1(exact, n_a, n_b),
            "f1_overlap": _f1(overlap, n_a, n_b),
            "kappa": kappas,
        })
        for coder in (a, b):
            per_annotator[coder]["pair_matched"] += overlap
            per_annotator[coder]["pair_spans"] += n_a + n_b

    modal_n = max(fleiss_units, key=lambda n: (fleiss_units[n][_STANCE].total(), n),
                  default=None)
    fields = {}
    for f, field in enumerate(FIELDS):
        units = alpha_units[f]
        alpha = krippendorff_alpha_units(units, "nominal") if units else float("nan")
        fleiss = float("nan")
        fleiss_n = 0
        if modal_n is not None and fleiss_units[modal_n][f]:
            complete_units = fleiss_units[modal_n][f]
            categories = sorted({k for key in complete_units for k in key})
            rows, weights = [], []
            for key, count in complete_units.items():
                chosen = Counter(key)
                rows.append([chosen[k] for k in categories])
                weights.append(count)
            fleiss = fleiss_kappa(rows, weights=weights)
            fleiss_n = complete_units.total()
        fields[field] = {
            "krippendorff_alpha": _number(alpha), "units": units.total(),
            "fleiss_kappa": _number(fleiss), "fleiss_units": fleiss_n, "fleiss_raters": modal_n,
            "mean_pair_kappa": _mean(p["kappa"][field] for p in pairs),
        }

    unitizing = []
    for coders_set, continuum in sorted(continua.items()):
        unitizing.append({"coders": list(coders_set), "documents": continuum["documents"],
                          "characters": continuum["tally"].length,
                          "alpha_u": _number(continuum["tally"].alpha())})

    annotators = []
    for coder in coders_all:
        stats = per_annotator[coder]
        annotators.append({
            "annotator": coder,
            "documents_compared": stats["documents_compared"],
            "claims_compared": stats["claims_compared"],
            "documents_coded": stats["documents_coded"], "claims_coded": stats["claims_coded"],
            "f1_overlap": (2 * stats["pair_matched"] / stats["pair_spans"]
                           if stats["pair_spans"] else None),
            "stance_kappa": _number(_pooled_kappa(coder, pair_tables, _STANCE)),
        })

    against_gold = []
    for coder, (exact, overlap, n_coder, n_gold) in sorted(gold_spans.items()):
        tables = gold_tables[coder]
        against_gold.append({
            "annotator": coder, "documents": gold_documents[coder],
            "spans": n_coder, "gold_spans": n_gold,
            "f1_exact": _f1(exact, n_coder, n_gold), "f1_overlap": _f1(overlap, n_coder, n_gold),
            "kappa": {field: _number(cohen_kappa_table(tables[f])) if tables[f] else None
                      for f, field in enumerate(FIELDS)},
        })

    confusion: Counter[tuple[str, str]] = Counter()
    for tables in pair_tables.values():  # each match counts in both orders: symmetric
        for (x, y), n in tables[_STANCE].items():
            confusion[(x, y)] += n
            confusion[(y, x)] += n
    stances = sorted({s for pair in confusion for s in pair})
    return {
        "summary": {
            "documents": documents_total, "documents_compared": documents_compared,
            "annotators": coders_all, "pairs": len(pairs),
            "f1_exact": _f1(totals[0], totals[2], totals[3]),
            "f1_overlap": _f1(totals[1], totals[2], totals[3]),
            "alpha_u": _pooled_alpha_u(unitizing),
            "include_unfinished": include_unfinished,
        },
        "pairs": pairs,
        "fields": fields,
        "annotators": annotators,
        "documents": most_disagreed.kept,
        "stance_confusion": {"labels": stances,
                             "counts": [[confusion[(a, b)] for b in stances] for a in stances]},
        "f1_histogram": {"bins": [i / HISTOGRAM_BINS for i in range(HISTOGRAM_BINS + 1)],
                         "counts": histogram},
        "unitizing": unitizing,
        "gold": against_gold,
    }


def _against_gold(mine: list[dict[str, Any]], gold: list[dict[str, Any]], spans: list[int],
                  tables: list[Counter[tuple[str, str]]]) -> None:
    """Add one document's comparison of a coder's claims with the gold claims."""
    a = [(c["start"], c["end"], "claim") for c in mine]
    b = [(c["start"], c["end"], "claim") for c in gold]
    exact, overlap = span_f1(a, b, mode="exact"), span_f1(a, b, mode="overlap")
    spans[0] += exact.matched
    spans[1] += overlap.matched
    spans[2] += len(a)
    spans[3] += len(b)
    for i, j in overlap.pairs:
        for f, (x, y) in enumerate(zip(_values(mine[i]), _values(gold[j]), strict=True)):
            tables[f][(x, y)] += 1


def _compare(
    record: dict[str, Any],
    coders: list[str],
    claims: dict[str, list[dict[str, Any]]],
    pair_spans: dict[tuple[str, str], list[int]],
    pair_tables: dict[tuple[str, str], list[Counter[tuple[str, str]]]],
    alpha_units: list[Counter[tuple[str, ...]]],
    fleiss_units: dict[int, list[Counter[tuple[str, ...]]]],
    continua: dict[tuple[str, ...], dict[str, Any]],
) -> dict[str, Any]:
    """Compare one document's coders (two or more): add to the running sums; return the
    document's entry (its mean overlap F1 and disagreement)."""
    spans = {c: [(x["start"], x["end"], "claim") for x in claims[c]] for c in coders}
    length = len(record.get("text", "")) or max(
        (e for c in coders for _, e, _ in spans[c]), default=0)
    # Checked once here; the checking entry points (span_f1, unitizing_tally) would check
    # every span again for every pair. Anything unusual goes through them (and their errors).
    checked = all(type(s) is int and type(e) is int and 0 <= s < e <= length
                  for c in coders for s, e, _ in spans[c])
    values = {c: [_values(x) for x in claims[c]] for c in coders}
    bounds = {c: {span[:2] for span in spans[c]} for c in coders}
    distinct = all(len(bounds[c]) == len(spans[c]) for c in coders)
    sizes = [len(claims[c]) for c in coders]
    first = dict(zip(coders, accumulate([0, *sizes]), strict=False))  # node numbers
    matches: list[tuple[int, int]] = []
    labelled_f1s: list[float] = []
    overlap_f1s: list[float] = []
    for a, b in combinations(coders, 2):
        # span_f1(mode="overlap") checks the spans; the exact matches (one to one, same
        # start and end) that span_f1(mode="exact") would count are their multiset overlap.
        if checked:
            matched_pairs = _overlap_pairs(spans[a], spans[b])
        else:
            matched_pairs = list(span_f1(spans[a], spans[b], mode="overlap").pairs)
        n_a, n_b = len(spans[a]), len(spans[b])
        tally = pair_spans.setdefault((a, b), [0, 0, 0, 0])
        tally[0] += len(bounds[a] & bounds[b]) if distinct else sum((
            Counter(s[:2] for s in spans[a]) & Counter(s[:2] for s in spans[b])).values())
        tally[1] += len(matched_pairs)
        tally[2] += n_a
        tally[3] += n_b
        same_stance = 0
        if matched_pairs:
            tables = pair_tables.get((a, b))
            if tables is None:
                tables = pair_tables[(a, b)] = [Counter() for _ in FIELDS]
            actors, stances, verdicts, relations = tables
            values_a, values_b = values[a], values[b]
            base_a, base_b = first[a], first[b]
            for i, j in matched_pairs:
                va, vb = values_a[i], values_b[j]
                matches.append((base_a + i, base_b + j))
                actors[va[0], vb[0]] += 1
                stances[va[1], vb[1]] += 1
                verdicts[va[2], vb[2]] += 1
                relations[va[3], vb[3]] += 1
                same_stance += va[1] == vb[1]
        # span_f1's F1: 1.0 when neither marked anything
        overlap_f1s.append(2 * len(matched_pairs) / (n_a + n_b) if n_a + n_b else 1.0)
        labelled = _f1(same_stance, n_a, n_b)
        labelled_f1s.append(1.0 if labelled is None else labelled)

    # The units' values: one tuple per unit and field (alpha and Fleiss ignore the order).
    complete = len(coders)
    by_coder = [values[c] for c in coders]
    actors, stances, verdicts, relations = alpha_units
    for unit in _units(sizes, matches):
        actor, stance, verdict, relation = zip(*[by_coder[c][i] for c, i in unit],
                                               strict=True)
        actors[actor] += 1
        stances[stance] += 1
        verdicts[verdict] += 1
        relations[relation] += 1
        if len(unit) == complete:
            full = fleiss_units.get(complete)
            if full is None:
                full = fleiss_units[complete] = [Counter() for _ in FIELDS]
            full[0][actor] += 1
            full[1][stance] += 1
            full[2][verdict] += 1
            full[3][relation] += 1

    coders_units = [spans[c] for c in coders]
    tally_u = _tally_2016(coders_units, length, "merge") if checked and length \
        else unitizing_tally(coders_units, length, overlaps="merge")
    continuum = continua.get(tuple(coders))
    if continuum is None:
        continua[tuple(coders)] = {"documents": 1, "tally": tally_u}
    else:
        continuum["documents"] += 1
        continuum["tally"].add(tally_u)
    return {
        "id": record.get("id"), "document_id": record.get("document_id"),
        "title": record.get("title", ""), "coders": coders,
        "claims": {c: len(claims[c]) for c in coders},
        "overlap_f1": sum(overlap_f1s) / len(overlap_f1s),
        "disagreement": 1 - sum(labelled_f1s) / len(labelled_f1s),
    }


def method_notes() -> list[tuple[str, str]]:
    """How the figures are made (this module's documentation), as ``(title, text)`` pairs of
    plain text for a page to show; empty when documentation is stripped (``python -OO``)."""
    notes: list[tuple[str, str]] = []
    for block in re.split(r"\n\* ", "\n" + (__doc__ or "").split("How the figures are made:")[-1]):
        match = re.match(r"\*\*(.+?)\*\*:\s*(.*)", block.strip(), re.S)
        if match:
            text = " ".join(match.group(2).split("\n\n")[0].split())
            text = re.sub(r":\w+:`([^`]+)`", r"\1", text).replace("``", "")
            notes.append((match.group(1), text))
    return notes


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _pooled_alpha_u(unitizing: list[dict[str, Any]]) -> float | None:
    """The character-weighted mean of the coder sets' αu (the only one when there is one)."""
    weighted = [(u["alpha_u"], u["characters"]) for u in unitizing if u["alpha_u"] is not None]
    total = sum(w for _, w in weighted)
    return sum(a * w for a, w in weighted) / total if total else None


def _pooled_kappa(coder: str, pair_tables: dict[tuple[str, str], list[Counter[tuple[str, str]]]],
                  field: int) -> float:
    """Cohen's kappa of one coder against every partner, their matched pairs pooled."""
    pooled: Counter[tuple[str, str]] = Counter()
    for (a, b), tables in pair_tables.items():
        if coder == a:
            pooled.update(tables[field])
        elif coder == b:
            for (x, y), n in tables[field].items():
                pooled[y, x] += n
    return cohen_kappa_table(pooled) if pooled else float("nan")
