"""The agreement report: the pure report on hand-made export records (expected figures from
direct calls of annotator.agreement's metrics on lists built here), its SVG charts and
highlight segments, the `annotator agreement` command, and the pages (the project's
agreement page, a document's side-by-side view), escaping included."""

from __future__ import annotations

import copy
import json
import math
import random
import re
import xml.etree.ElementTree as ET
from collections import Counter
from itertools import combinations
from typing import Any

import pytest

from annotator.agreement import (
    cohen_kappa,
    cohen_kappa_table,
    fleiss_kappa,
    krippendorff_alpha,
    krippendorff_alpha_units,
    span_f1,
    unitizing_alpha,
    unitizing_tally,
)
from annotator.agreement.highlight import segments
from annotator.agreement.report import FIELDS, agreement_report, method_notes
from annotator.agreement.svg import heatmap, histogram, report_charts
from annotator.agreement.text import format_report
from annotator.services import agreement, claims, documents, projects, users
from tests.conftest import SAMPLE_TEXT, AuthActions, IsolatedClient, span

TEXT = "".join(f"Sentence {n:02d} of the report." for n in range(10))  # 260 code points
L = len(TEXT)
NONE = "(none)"


# ---------- hand-made records ----------


def claim(annotator: str, start: int, end: int, stance: str = "asserts", *,
          actor: str | None = None, verdict: str | None = None,
          relations: tuple[str, ...] = (), gold: bool = False,
          text: str = TEXT) -> dict[str, Any]:
    claim.counter += 1  # type: ignore[attr-defined]
    return {"id": claim.counter, "annotator": annotator, "start": start, "end": end,  # type: ignore[attr-defined]
            "text": text[start:end], "actor": actor, "actor_mention": None, "stance": stance,
            "verdict": verdict, "note": "", "is_gold": gold,
            "evidence": [{"id": n, "type": "video", "relation": r, "description": "",
                          "start": None, "end": None, "text": None}
                         for n, r in enumerate(relations)]}


claim.counter = 0  # type: ignore[attr-defined]


def record(rid: str, claims_: list[dict[str, Any]], statuses: dict[str, str] | None = None,
           *, text: str = TEXT, title: str = "") -> dict[str, Any]:
    """An export record; every annotator with a claim is `done` unless `statuses` says."""
    names = sorted({c["annotator"] for c in claims_ if not c["is_gold"]} | set(statuses or {}))
    statuses = {name: "done" for name in names} | (statuses or {})
    return {"id": rid, "document_id": int(re.sub(r"\D", "", rid) or 0), "title": title or rid,
            "text": text, "annotators": [{"annotator": n, "status": statuses[n]} for n in names],
            "claims": sorted(claims_, key=lambda c: (c["start"], c["end"], c["id"]))}


def value(c: dict[str, Any], field: str) -> str:
    """A claim's label for a field, as the report's docstring defines it (written anew)."""
    if field == "evidence_relation":
        relations = sorted({e["relation"] for e in c["evidence"]})
        return "+".join(relations) if relations else NONE
    return c[field] if c[field] else NONE


def of(rec: dict[str, Any], annotator: str) -> list[dict[str, Any]]:
    return [c for c in rec["claims"] if c["annotator"] == annotator and not c["is_gold"]]


def spans_of(rec: dict[str, Any], annotator: str) -> list[tuple[int, int, str]]:
    return [(c["start"], c["end"], "claim") for c in of(rec, annotator)]


def pair_of(report: dict[str, Any], a: str, b: str) -> dict[str, Any]:
    (found,) = [p for p in report["pairs"] if (p["a"], p["b"]) == (a, b)]
    return found


def same(x: float | None, y: float | None) -> bool:
    if x is None or y is None:
        return x is y
    return math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-15)


# Two coders, two documents: alice and bob agree on some spans exactly, on one by overlap,
# and each has claims the other has not.
TWO = [
    record("d1", [
        claim("alice", 0, 10, "asserts", actor="Ministry", verdict="supported",
              relations=("supports",)),
        claim("alice", 25, 50, "denies", actor="Amaq", verdict="refuted"),
        claim("alice", 100, 125, "asserts"),
        claim("bob", 0, 10, "asserts", actor="Ministry", verdict="refuted",
              relations=("supports", "contradicts")),
        claim("bob", 30, 50, "questions", actor="Amaq", verdict="refuted"),
        claim("bob", 150, 175, "denies"),
    ]),
    record("d2", [
        claim("alice", 5, 15, "asserts"),
        claim("bob", 5, 15, "asserts"),
        claim("bob", 200, 210, "denies", actor="Amaq"),
    ]),
]


def test_two_coders_figures_equal_direct_calls_on_the_matched_claims() -> None:
    report = agreement_report(TWO)

    exact = [span_f1(spans_of(r, "alice"), spans_of(r, "bob"), mode="exact") for r in TWO]
    overlap = [span_f1(spans_of(r, "alice"), spans_of(r, "bob"), mode="overlap") for r in TWO]
    assert [m.matched for m in exact] == [1, 1] and [m.matched for m in overlap] == [2, 1]
    labels: dict[str, tuple[list[str], list[str]]] = {f: ([], []) for f in FIELDS}
    for rec, matched in zip(TWO, overlap, strict=True):
        for i, j in matched.pairs:
            for f in FIELDS:
                labels[f][0].append(value(of(rec, "alice")[i], f))
                labels[f][1].append(value(of(rec, "bob")[j], f))
    assert labels["stance"] == (["asserts", "denies", "asserts"],
                                ["asserts", "questions", "asserts"])

    pair = pair_of(report, "alice", "bob")
    assert (pair["spans_a"], pair["spans_b"]) == (4, 5)
    assert (pair["matched_exact"], pair["matched_overlap"]) == (2, 3)
    assert same(pair["f1_exact"], 2 * 2 / 9) and same(pair["f1_overlap"], 2 * 3 / 9)
    for f in FIELDS:
        expected = cohen_kappa(*labels[f])
        assert same(pair["kappa"][f], None if math.isnan(expected) else expected), f
    assert report["summary"]["f1_exact"] == pair["f1_exact"]
    assert report["summary"]["f1_overlap"] == pair["f1_overlap"]
    assert report["summary"]["documents_compared"] == 2
    assert report["summary"]["annotators"] == ["alice", "bob"]

    # The stance confusion matrix counts each matched pair in both orders.
    confusion = report["stance_confusion"]
    assert confusion["labels"] == ["asserts", "denies", "questions"]
    assert confusion["counts"] == [[4, 0, 0], [0, 0, 1], [0, 1, 0]]

    # Krippendorff's alpha: one column per unit, the unmatched claims on their own.
    rows = [["asserts", "denies", "asserts", None, "asserts", None],
            ["asserts", "questions", None, "denies", "asserts", "denies"]]
    assert same(report["fields"]["stance"]["krippendorff_alpha"], krippendorff_alpha(rows))
    assert report["fields"]["stance"]["units"] == 6
    actors = [["Ministry", "Amaq", NONE, None, NONE, None],
              ["Ministry", "Amaq", None, NONE, NONE, "Amaq"]]
    assert same(report["fields"]["actor"]["krippendorff_alpha"], krippendorff_alpha(actors))

    # uα: the two documents end to end on one continuum.
    continuum = [spans_of(TWO[0], c) + [(s + L, e + L, x) for s, e, x in spans_of(TWO[1], c)]
                 for c in ("alice", "bob")]
    alpha_u = unitizing_alpha(continuum, 2 * L, overlaps="merge")
    assert same(report["summary"]["alpha_u"], alpha_u)
    assert report["unitizing"] == [{"coders": ["alice", "bob"], "documents": 2,
                                    "characters": 2 * L, "alpha_u": report["summary"]["alpha_u"]}]

    (alice, bob) = report["annotators"]
    assert (alice["annotator"], alice["documents_compared"], alice["claims_compared"]) == (
        "alice", 2, 4)
    assert (bob["documents_compared"], bob["claims_compared"]) == (2, 5)
    assert (bob["documents_coded"], bob["claims_coded"]) == (2, 5)  # nothing single-coded
    assert same(alice["f1_overlap"], 6 / 9) and same(alice["stance_kappa"],
                                                     cohen_kappa(*labels["stance"]))

    # Disagreement: 1 - labelled overlap F1 (matches with the same stance).
    d1, d2 = report["documents"]
    assert (d1["id"], d2["id"]) == ("d1", "d2")
    assert same(d1["disagreement"], 1 - 2 * 1 / 6) and same(d2["disagreement"], 1 - 2 * 1 / 3)
    assert same(d1["overlap_f1"], overlap[0].f1) and same(d2["overlap_f1"], overlap[1].f1)
    assert d1["claims"] == {"alice": 3, "bob": 3}
    assert report["f1_histogram"]["counts"] == [0, 0, 0, 0, 0, 0, 2, 0, 0, 0]
    json.dumps(report, allow_nan=False)  # plain JSON, no NaN


def test_per_annotator_compared_counts_leave_out_single_coder_documents() -> None:
    """alice coded five documents (seven claims), bob three of them: only those three are
    compared, so alice's row counts three documents and three claims as the basis of her F1
    and kappa, and her five documents and seven claims apart, as coded in all. dave, alone
    on his one document, has nothing compared."""
    shared = [record(f"s{n}", [claim("alice", 0, 10), claim("bob", 0, 10, "denies")])
              for n in range(1, 4)]
    alone = [record(f"a{n}", [claim("alice", 0, 10), claim("alice", 50, 60)])
             for n in range(4, 6)]
    solo = record("z6", [claim("dave", 0, 10)])
    report = agreement_report([*shared, *alone, solo])

    assert report["summary"]["documents_compared"] == 3
    rows = {a["annotator"]: a for a in report["annotators"]}
    alice, bob, dave = rows["alice"], rows["bob"], rows["dave"]
    assert (alice["documents_compared"], alice["claims_compared"]) == (3, 3)
    assert (alice["documents_coded"], alice["claims_coded"]) == (5, 7)
    assert (bob["documents_compared"], bob["claims_compared"]) == (3, 3)
    assert (bob["documents_coded"], bob["claims_coded"]) == (3, 3)
    # The compared claims are the spans her pair figures (and so her F1) are made of.
    assert pair_of(report, "alice", "bob")["spans_a"] == alice["claims_compared"]
    assert same(alice["f1_overlap"], 1.0)
    assert (dave["documents_compared"], dave["claims_compared"]) == (0, 0)
    assert (dave["documents_coded"], dave["claims_coded"]) == (1, 1)
    assert dave["f1_overlap"] is None and dave["stance_kappa"] is None
    # The terminal's table says which count is which.
    text = format_report(report).splitlines()
    header = next(i for i, line in enumerate(text) if line.startswith("Annotator "))
    assert "compared" in text[header - 1] and "coded in all" in text[header - 1]
    assert text[header + 1].split()[:5] == ["alice", "3", "3", "5", "7"]


# Three coders on one document: two units everyone marked, one two of them marked, one
# claim of carol's alone.
THREE = record("d3", [
    claim("alice", 0, 20, "asserts"), claim("bob", 0, 20, "asserts"),
    claim("carol", 2, 20, "denies"),
    claim("alice", 50, 75, "denies"), claim("bob", 50, 70, "denies"),
    claim("carol", 50, 75, "denies"),
    claim("alice", 100, 125, "asserts"), claim("bob", 100, 125, "asserts"),
    claim("carol", 200, 225, "questions"),
])


def test_three_coders_fleiss_on_complete_units_and_alpha_on_all() -> None:
    report = agreement_report([THREE])

    stance = report["fields"]["stance"]
    # complete units: (asserts, asserts, denies) and (denies x 3); categories sorted
    assert same(stance["fleiss_kappa"], fleiss_kappa([[2, 1], [0, 3]]))
    assert (stance["fleiss_units"], stance["fleiss_raters"]) == (2, 3)
    rows = [["asserts", "denies", "asserts", None],
            ["asserts", "denies", "asserts", None],
            ["denies", "denies", None, "questions"]]
    assert same(stance["krippendorff_alpha"], krippendorff_alpha(rows))
    assert stance["units"] == 4
    assert [(p["a"], p["b"]) for p in report["pairs"]] == [
        ("alice", "bob"), ("alice", "carol"), ("bob", "carol")]
    for a, b in combinations(["alice", "bob", "carol"], 2):
        direct = span_f1(spans_of(THREE, a), spans_of(THREE, b), mode="overlap")
        assert same(pair_of(report, a, b)["f1_overlap"], direct.f1)
    kappas = [p["kappa"]["stance"] for p in report["pairs"]]
    present = [k for k in kappas if k is not None]
    assert same(stance["mean_pair_kappa"], sum(present) / len(present) if present else None)
    spans = [spans_of(THREE, c) for c in ("alice", "bob", "carol")]
    assert same(report["summary"]["alpha_u"], unitizing_alpha(spans, L, overlaps="merge"))


def test_unmatched_claims_are_units_of_their_own_and_lower_f1() -> None:
    rec = record("d4", [claim("alice", 0, 10), claim("alice", 100, 110, "denies"),
                        claim("bob", 0, 10), claim("bob", 200, 210)])
    report = agreement_report([rec])

    pair = pair_of(report, "alice", "bob")
    assert (pair["matched_overlap"], pair["spans_a"], pair["spans_b"]) == (1, 2, 2)
    assert same(pair["f1_overlap"], 0.5)
    assert report["fields"]["stance"]["units"] == 3  # one matched, two alone
    # a single pairable unit with one value: alpha and kappa are undefined
    assert report["fields"]["stance"]["krippendorff_alpha"] is None
    assert pair["kappa"]["stance"] is None


def test_only_done_annotators_count_unless_unfinished_are_included() -> None:
    rec = record("d5", [claim("alice", 0, 10), claim("bob", 0, 10, "denies")],
                 {"alice": "done", "bob": "in_progress", "carol": "skipped", "dave": "todo"})

    finished = agreement_report([rec])
    assert finished["summary"]["documents_compared"] == 0
    assert finished["pairs"] == [] and finished["documents"] == []
    assert finished["summary"]["annotators"] == ["alice"]
    assert finished["summary"]["f1_overlap"] is None
    assert finished["summary"]["include_unfinished"] is False

    everyone = agreement_report([rec], include_unfinished=True)
    assert everyone["summary"]["documents_compared"] == 1
    # carol skipped and dave has not started: neither has claims to compare
    assert everyone["summary"]["annotators"] == ["alice", "bob"]
    assert pair_of(everyone, "alice", "bob")["matched_overlap"] == 1
    assert everyone["summary"]["include_unfinished"] is True


def test_gold_claims_are_ignored() -> None:
    gold = [claim("maria", 0, 10, "denies", gold=True), claim("maria", 40, 60, gold=True),
            claim("alice", 150, 160, gold=True)]
    with_gold = [record(r["id"], r["claims"] + gold) for r in TWO]
    mixed, plain = agreement_report(with_gold), agreement_report(TWO)
    # Gold is no coder: it only feeds the comparison with gold.
    assert {k: v for k, v in mixed.items() if k != "gold"} == \
        {k: v for k, v in plain.items() if k != "gold"}
    assert plain["gold"] == [] and [g["annotator"] for g in mixed["gold"]] == ["alice", "bob"]


def test_records_without_an_annotators_list_compare_everyone_with_claims() -> None:
    bare = [{k: v for k, v in r.items() if k != "annotators"} for r in TWO]
    assert agreement_report(bare) == agreement_report(TWO)
    # ...even an annotator whose only claim is gold is no coder there
    lone = [{**bare[0], "claims": bare[0]["claims"] + [claim("maria", 0, 5, gold=True)]}]
    assert agreement_report(lone)["summary"]["annotators"] == ["alice", "bob"]


def test_undefined_figures_are_none_never_nan() -> None:
    same_stance = record("d6", [claim("alice", 0, 10), claim("bob", 0, 10),
                                claim("alice", 50, 60), claim("bob", 52, 60)])
    nothing = record("d7", [], {"alice": "done", "bob": "done"})
    report = agreement_report([same_stance, nothing])

    stance = report["fields"]["stance"]
    assert stance["krippendorff_alpha"] is None  # one value only
    assert stance["fleiss_kappa"] is None and stance["mean_pair_kappa"] is None
    assert pair_of(report, "alice", "bob")["kappa"]["stance"] is None
    assert report["documents"][-1]["overlap_f1"] == 1.0  # nothing to mark: agreement
    alone = agreement_report([nothing])
    assert alone["summary"]["f1_exact"] is None and alone["summary"]["alpha_u"] is None
    assert alone["fields"]["actor"] == {
        "krippendorff_alpha": None, "units": 0, "fleiss_kappa": None, "fleiss_units": 0,
        "fleiss_raters": None, "mean_pair_kappa": None}
    assert pair_of(alone, "alice", "bob")["f1_overlap"] is None
    text = json.dumps(report, allow_nan=False)
    assert "NaN" not in text
    assert "—" in format_report(alone)


def test_most_disagreed_documents_come_first_ties_by_id_and_top_limits() -> None:
    def doc(rid: str, bob_stances: list[str]) -> dict[str, Any]:
        starts = [0, 50, 100, 150]
        return record(rid, [claim("alice", s, s + 10) for s in starts]
                      + [claim("bob", s, s + 10, st) for s, st in zip(starts, bob_stances,
                                                                        strict=True)])

    records = [doc("d-b", ["asserts", "asserts", "denies", "denies"]),   # disagreement 0.5
               doc("d-c", ["denies"] * 4),                                 # 1.0
               doc("d-a", ["denies", "denies", "asserts", "asserts"]),   # 0.5
               doc("d-d", ["asserts"] * 4)]                                # 0.0
    order = [d["id"] for d in agreement_report(records, top=None)["documents"]]
    assert order == ["d-c", "d-a", "d-b", "d-d"]
    assert [d["id"] for d in agreement_report(records, top=2)["documents"]] == ["d-c", "d-a"]
    assert agreement_report(records, top=0)["documents"] == []
    assert [d["disagreement"] for d in agreement_report(records)["documents"]] == [
        1.0, 0.5, 0.5, 0.0]
    with pytest.raises(ValueError):
        agreement_report(records, top=-1)


def test_bad_offsets_name_the_document() -> None:
    bad = record("broken-7", [claim("alice", 0, 10), claim("bob", 30, 20)])
    with pytest.raises(ValueError, match="broken-7"):
        agreement_report([bad])


def test_random_projects_pair_figures_equal_direct_calls() -> None:
    """Many small random documents, two to four coders each: every pair's F1 and kappa, and
    uα per coder set, equal the metrics called directly on what the report describes."""
    rng = random.Random(20261122)
    coders_pool = ["ann", "ben", "cy", "dee"]
    records = []
    for n in range(60):
        text = TEXT[: rng.randint(40, L)]
        coders = sorted(rng.sample(coders_pool, rng.randint(2, 4)))
        cs = []
        for c in coders:
            for _ in range(rng.randint(0, 5)):
                s = rng.randrange(len(text) - 1)
                cs.append(claim(c, s, rng.randint(s + 1, min(len(text), s + 30)),
                                rng.choice(["asserts", "denies", "questions"]),
                                actor=rng.choice([None, "Amaq", "Ministry"]), text=text))
        records.append(record(f"r{n}", cs, {c: "done" for c in coders}, text=text))
    report = agreement_report(records, top=None)

    for pair in report["pairs"]:
        a, b = pair["a"], pair["b"]
        matched = n_a = n_b = 0
        labels: tuple[list[str], list[str]] = ([], [])
        for rec in records:
            names = {x["annotator"] for x in rec["annotators"]}
            if not {a, b} <= names:
                continue
            result = span_f1(spans_of(rec, a), spans_of(rec, b), mode="overlap")
            matched, n_a, n_b = matched + result.matched, n_a + result.n_a, n_b + result.n_b
            for i, j in result.pairs:
                labels[0].append(value(of(rec, a)[i], "stance"))
                labels[1].append(value(of(rec, b)[j], "stance"))
        assert (pair["matched_overlap"], pair["spans_a"], pair["spans_b"]) == (matched, n_a, n_b)
        kappa = cohen_kappa(*labels) if labels[0] else math.nan
        assert same(pair["kappa"]["stance"], None if math.isnan(kappa) else kappa)
    for unit in report["unitizing"]:
        members = [r for r in records
                   if sorted(x["annotator"] for x in r["annotators"]) == unit["coders"]]
        offset, continuum = 0, [[] for _ in unit["coders"]]
        for rec in members:
            for k, c in enumerate(unit["coders"]):
                continuum[k] += [(s + offset, e + offset, x) for s, e, x in spans_of(rec, c)]
            offset += len(rec["text"])
        expected = unitizing_alpha(continuum, offset, overlaps="merge")
        assert same(unit["alpha_u"], None if math.isnan(expected) else expected)


# ---------- the compact forms the report computes with ----------


def test_compact_metric_forms_equal_the_plain_ones() -> None:
    rng = random.Random(7)
    for _ in range(50):
        rows = [[rng.choice(["a", "b", "c", None]) for _ in range(12)] for _ in range(3)]
        units = Counter(tuple(v for v in column if v is not None)
                        for column in zip(*rows, strict=True))
        plain, compact = krippendorff_alpha(rows), krippendorff_alpha_units(units)
        assert (math.isnan(plain) and math.isnan(compact)) or math.isclose(plain, compact)
        x = [rng.choice("pqr") for _ in range(15)]
        y = [rng.choice("pqr") for _ in range(15)]
        k1, k2 = cohen_kappa(x, y), cohen_kappa_table(Counter(zip(x, y, strict=True)))
        assert (math.isnan(k1) and math.isnan(k2)) or k1 == k2
        table = [[2, 1, 0], [0, 3, 0], [1, 1, 1], [3, 0, 0]]
        weights = [rng.randint(0, 3) for _ in table]
        repeated = [row for row, w in zip(table, weights, strict=True) for _ in range(w)]
        f1, f2 = (fleiss_kappa(repeated) if repeated else math.nan,
                  fleiss_kappa(table, weights=weights))
        assert (math.isnan(f1) and math.isnan(f2)) or f1 == f2
    # uα tallies of documents add up to uα of the documents end to end
    first = [[(0, 5, "c"), (8, 12, "c")], [(1, 5, "c")]]
    second = [[(2, 9, "c")], [(0, 3, "c"), (5, 9, "c")]]
    moved = [a + [(s + 20, e + 20, x) for s, e, x in b] for a, b in zip(first, second,
                                                                        strict=True)]
    tally = unitizing_tally(first, 20) + unitizing_tally(second, 10)
    assert tally.alpha() == unitizing_alpha(moved, 30)


# ---------- charts and highlights ----------

EVIL = '<script>alert("x")</script> & \'q\''


def test_svg_heatmap_escapes_every_label_and_is_well_formed() -> None:
    svg = heatmap([EVIL, "bob"], [EVIL, "bob\x01"], [[None, 0.5], [0.25, 1.0]],
                  title=f"Title {EVIL}")

    assert "<script" not in svg and "&lt;script&gt;" in svg
    root = ET.fromstring(svg)  # well-formed XML: every label escaped, control chars gone
    texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert f"Title {EVIL}" in titles and EVIL in titles and "bob" in titles
    assert "—" in texts and "0.50" in texts
    assert 'style=' not in svg and "fill=" in svg
    assert root.get("aria-label") == f"Title {EVIL}"


def test_svg_histogram_and_report_charts() -> None:
    svg = histogram([0, 0.5, 1], [3, 0], title="T <b>", x_label="x & y", y_label="n")
    root = ET.fromstring(svg)
    assert root.get("aria-label") == "T <b>" and "x &amp; y" in svg
    with pytest.raises(ValueError):
        histogram([0, 1], [1, 2], title="t", x_label="x", y_label="y")
    charts = report_charts(agreement_report(TWO), stance_names={"asserts": EVIL})
    assert set(charts) == {"pairs", "confusion", "f1"}
    for chart in charts.values():
        ET.fromstring(chart)
        assert "<script" not in chart
    assert "&lt;script&gt;" in charts["confusion"]


def test_highlight_segments_cover_the_text_and_name_the_innermost_claim() -> None:
    found = segments("abcdefghij", [(2, 8), (4, 6), (7, 10)])
    assert "".join(s.text for s in found) == "abcdefghij"
    assert [(s.start, s.end, s.covering, s.innermost) for s in found] == [
        (0, 2, (), None), (2, 4, (0,), 0), (4, 6, (0, 1), 1), (6, 7, (0,), 0),
        (7, 8, (0, 2), 2), (8, 10, (2,), 2)]
    assert segments("", []) == []
    with pytest.raises(ValueError):
        segments("abc", [(1, 5)])


def test_method_notes_come_from_the_report_docstring() -> None:
    notes = dict(method_notes())
    assert set(notes) == {"Coders of a document", "Span identification",
                          "Labels on matched claims", "Disagreement of a document",
                          "Per annotator", "Agreement with gold"}
    assert "Fleiss' kappa" in notes["Labels on matched claims"]
    assert "``" not in "".join(notes.values()) and ":func:" not in "".join(notes.values())


# ---------- the database: a project where alice and bob finished both documents ----------


def make_claim(username: str, doc, needle: str, stance: str = "asserts", **extra: Any):
    start, end = span(doc.text, needle)
    return claims.create_claim(users.by_username(username), doc, {
        "start": start, "end": end, "text": needle, "stance": stance, **extra})


@pytest.fixture
def annotated(project, document):
    """alice and bob annotated both documents and marked them done; bob's second document
    only partly agrees with alice's."""
    d1 = document
    d2 = [d for d in documents_of(project) if d.external_id == "d2"][0]
    make_claim("alice", d1, "no aircraft was lost", "denies", actor="Russian Defense Ministry",
               verdict="refuted", evidence=[{"type": "video", "relation": "contradicts",
                                              "description": "Amaq video"}])
    make_claim("alice", d1, "a helicopter was shot down", "asserts")
    make_claim("bob", d1, "no aircraft was lost", "denies", actor="Russian Defense Ministry")
    make_claim("bob", d1, "helicopter was shot down by a missile", "questions")
    make_claim("bob", d1, "machine-gun fire", "asserts", actor="Amaq")
    make_claim("alice", d2, "short second report", "asserts")
    make_claim("bob", d2, "A short second", "unclear")
    for name in ("alice", "bob"):
        for doc in (d1, d2):
            documents.set_status(doc, users.by_username(name), "done")
    return project


def documents_of(project):
    from sqlalchemy import select

    from annotator.db import db
    from annotator.models import Document
    return list(db.session.scalars(select(Document).where(Document.project_id == project.id)
                                   .order_by(Document.position)))


# ---------- the command line ----------


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def test_cli_json_equals_the_service_report(runner, annotated) -> None:
    result = runner.invoke(args=["agreement", "Palmyra reports", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown == json.loads(json.dumps(agreement.project_report(annotated)))
    assert shown["summary"]["documents_compared"] == 2
    assert shown["summary"]["project"] == "Palmyra reports"

    text = runner.invoke(args=["agreement", "Palmyra reports"])
    assert text.exit_code == 0 and "alice / bob" in text.output
    assert "F1 exact" in text.output


def test_cli_from_an_exported_file_gives_the_project_figures(runner, annotated, tmp_path) -> None:
    out = tmp_path / "dataset.jsonl"
    assert runner.invoke(args=["export", "Palmyra reports", "--out", str(out)]).exit_code == 0
    for extra in ([], ["--include-unfinished"]):
        from_file = runner.invoke(args=["agreement", "--from-jsonl", str(out), "--json", *extra])
        from_db = runner.invoke(args=["agreement", "Palmyra reports", "--json", *extra])
        assert from_file.exit_code == 0, from_file.output
        file_report, db_report = json.loads(from_file.output), json.loads(from_db.output)
        for key in ("project", "annotators_per_document"):
            db_report["summary"].pop(key)
        assert file_report == db_report


def test_cli_reports_a_bad_jsonl_line_by_its_number(runner, tmp_path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(TWO[0]) + "\n\n{not json}\n", encoding="utf-8")
    result = runner.invoke(args=["agreement", "--from-jsonl", str(bad)])
    assert result.exit_code == 1
    assert "line 3" in result.output and "invalid JSON" in result.output
    # Python's json reads NaN; JSON has none, and the report would print it back.
    bad.write_text(json.dumps(TWO[0]) + '\n{"document_id": NaN}\n', encoding="utf-8")
    result = runner.invoke(args=["agreement", "--from-jsonl", str(bad)])
    assert result.exit_code == 1
    assert "line 2: invalid JSON: NaN is not valid JSON" in result.output


def test_cli_reports_bad_offsets_without_a_traceback(runner, tmp_path) -> None:
    bad = tmp_path / "offsets.jsonl"
    broken = record("broken-9", [claim("alice", 0, 10), claim("bob", 30, 20)])
    bad.write_text(json.dumps(broken) + "\n", encoding="utf-8")
    result = runner.invoke(args=["agreement", "--from-jsonl", str(bad)])
    assert result.exit_code == 1 and "broken-9" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args", [[], ["Palmyra reports", "--from-jsonl", "{file}"]])
def test_cli_wants_either_a_project_or_a_file(runner, project, tmp_path, args) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text("", encoding="utf-8")
    result = runner.invoke(args=["agreement", *[a.format(file=path) for a in args]])
    assert result.exit_code == 2
    assert "either PROJECT or --from-jsonl" in result.output


# ---------- the pages ----------


def login(client, username: str) -> None:
    assert AuthActions(client).login(username).status_code == 302


def element(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', page, re.S)
    assert match, f"no #{element_id}"
    return match.group(1).strip()


def test_agreement_page_shows_the_report_figures_to_the_manager(client, annotated) -> None:
    report = agreement.project_report(annotated)
    login(client, "maria")
    response = client.get(f"/projects/{annotated.id}/agreement")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert element(page, "documents-compared") == "2"
    assert element(page, "f1-exact") == f"{report['summary']['f1_exact']:.3f}"
    assert element(page, "f1-overlap") == f"{report['summary']['f1_overlap']:.3f}"
    assert element(page, "alpha-u") == f"{report['summary']['alpha_u']:.3f}"
    pair = report["pairs"][0]
    assert f"{pair['f1_overlap']:.3f}" in page
    stance_alpha = report["fields"]["stance"]["krippendorff_alpha"]
    assert (f"{stance_alpha:.3f}" if stance_alpha is not None else "—") in page
    assert page.count("<svg") == 3 and 'class="chart heatmap"' in page
    for row in report["annotators"]:
        cells = re.search(rf'<tr data-username="{row["annotator"]}">(.*?)</tr>',
                          page.split('id="annotators"')[1], re.S).group(1)
        for col in ("documents_compared", "claims_compared", "documents_coded",
                    "claims_coded"):
            assert f'data-col="{col}">{row[col]}<' in cells, col
    assert "Coded in all" in page
    for d in report["documents"]:
        assert f'href="/documents/{d["document_id"]}/compare"' in page
    assert "How the figures are computed" in page and "Fleiss&#39; kappa" in page
    assert "agreement.css" in page
    assert "—" in page  # e.g. the diagonal of the heatmap, undefined kappas
    # the project page links here for managers
    assert f"/projects/{annotated.id}/agreement" in client.get(
        f"/projects/{annotated.id}").get_data(as_text=True)


def test_include_unfinished_toggles_the_option(client, project, document) -> None:
    make_claim("alice", document, "no aircraft was lost", "denies")
    make_claim("bob", document, "no aircraft was lost", "denies")  # neither marked done
    login(client, "maria")

    finished = client.get(f"/projects/{project.id}/agreement").get_data(as_text=True)
    everyone = client.get(f"/projects/{project.id}/agreement?include_unfinished=1")
    page = everyone.get_data(as_text=True)
    assert element(finished, "documents-compared") == "0"
    assert element(page, "documents-compared") == "1"
    assert element(page, "f1-exact") == "1.000"
    assert 'name="include_unfinished" value="1" checked' in page
    assert f"/documents/{document.id}/compare?include_unfinished=1" in page


def test_adjudicators_and_admins_may_see_agreement_annotators_may_not(
        app, annotated, make_user) -> None:
    projects.add_member(annotated, make_user("adele"), "adjudicator")
    make_user("root", admin=True)
    make_user("outsider")
    doc = documents_of(annotated)[0]
    # annotators: 403 on the project's page; a document's view is not found for them
    for name, page, compare in (("adele", 200, 200), ("root", 200, 200), ("maria", 200, 200),
                                ("alice", 403, 404), ("outsider", 404, 404)):
        session = IsolatedClient(app, app.response_class, use_cookies=True)
        login(session, name)
        assert session.get(f"/projects/{annotated.id}/agreement").status_code == page, name
        assert session.get(f"/documents/{doc.id}/compare").status_code == compare, name
    anonymous = IsolatedClient(app, app.response_class, use_cookies=True)
    assert anonymous.get(f"/projects/{annotated.id}/agreement").status_code == 302
    assert anonymous.get(f"/documents/{doc.id}/compare").status_code == 302


def test_compare_view_shows_each_annotators_claims(client, annotated) -> None:
    d1 = documents_of(annotated)[0]
    login(client, "maria")
    response = client.get(f"/documents/{d1.id}/compare")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    lanes = re.findall(r'<section class="lane" data-username="([^"]+)"', page)
    assert lanes == ["alice", "bob"]
    alice_lane, bob_lane = page.split('data-username="alice"')[1].split('data-username="bob"')
    assert alice_lane.count('data-claim-id="') == 2 and bob_lane.count('data-claim-id="') == 3
    assert '<mark class="claim" data-stance="denies"' in alice_lane
    assert "machine-gun fire" in bob_lane and "Amaq" in bob_lane
    assert 'data-stance="questions"' in bob_lane and 'data-stance="questions"' not in alice_lane
    assert "contradicts (video)" in alice_lane  # evidence relation and type
    assert 'class="claim nested"' in bob_lane or bob_lane.count("<mark") >= 3
    # the article text is there once per annotator, whole
    text_once = re.sub(r"<[^>]+>", "", alice_lane.split('class="article">')[1].split("</div>")[0])
    import html as html_module
    assert html_module.unescape(text_once) == SAMPLE_TEXT
    assert 'src="/static/compare.js"' in page and 'id="stance-colors"' in page
    assert 'style="' not in page  # colours come from compare.js, not inline styles
    assert "alice / bob" in page  # this document's pair figures


@pytest.fixture
def evil_project(make_user):
    """A project whose stance label and one annotator's name are markup."""
    from annotator import labelscheme
    scheme = copy.deepcopy(labelscheme.default_scheme())
    scheme["stances"][0]["label"] = '<script>alert("stance")</script>'
    manager = make_user("maria")
    project = projects.create_project("Evil", scheme=scheme, manager=manager)
    evil = make_user('<script>alert("user")</script>')
    projects.add_member(project, evil, "annotator")
    projects.add_member(project, make_user("alice"), "annotator")
    documents.import_file(project, "e.jsonl", json.dumps(
        {"id": "e1", "title": "<b>title</b>", "text": SAMPLE_TEXT}).encode() + b"\n")
    from annotator.services import assignments
    assignments.assign(project, 2)
    doc = documents_of(project)[0]
    for name in ('<script>alert("user")</script>', "alice"):
        make_claim(name, doc, "no aircraft was lost", "asserts")
        make_claim(name, doc, "a helicopter was shot down", "denies")
        documents.set_status(doc, users.by_username(name), "done")
    return project, doc


def test_markup_in_names_and_labels_is_escaped_in_html_and_svg(client, evil_project) -> None:
    project, doc = evil_project
    login(client, "maria")
    for url in (f"/projects/{project.id}/agreement", f"/documents/{doc.id}/compare"):
        page = client.get(url).get_data(as_text=True)
        assert "<script>alert(" not in page, url
        assert "<b>title</b>" not in page
        assert "&lt;script&gt;alert(&#34;user&#34;)&lt;/script&gt;" in page or \
            "&lt;script&gt;alert(&quot;user&quot;)&lt;/script&gt;" in page, url
    page = client.get(f"/projects/{project.id}/agreement").get_data(as_text=True)
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    assert len(svgs) == 3
    for svg in svgs:
        ET.fromstring(svg)  # still well-formed: nothing broke out
    assert "&lt;script&gt;alert(&quot;user&quot;)&lt;/script&gt;" in svgs[0]  # pair heatmap
    assert "&lt;script&gt;alert(&quot;stance&quot;)&lt;/script&gt;" in svgs[1]  # confusion
