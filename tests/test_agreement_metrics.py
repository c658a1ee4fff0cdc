"""annotator.agreement: published worked examples, reference implementations, edge cases.

Pure tests: no app, no database. The reference implementations (krippendorff, nltk,
statsmodels, scikit-learn) are test-only dependencies (the `test` extra).
"""

from __future__ import annotations

import itertools
import math
import random
import subprocess
import sys
from collections import Counter
from fractions import Fraction

import krippendorff
import numpy as np
import pytest
import sklearn.metrics as sklearn_metrics
from nltk.metrics import agreement as nltk_agreement
from nltk.metrics import distance as nltk_distance
from statsmodels.stats import inter_rater

from annotator.agreement import (
    SpanF1,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    span_f1,
    unitizing_alpha,
)
from annotator.agreement.unitizing import _disagreements_2004

TOL = 1e-9
LEVELS = ("nominal", "ordinal", "interval", "ratio")


def test_import_pulls_in_neither_flask_nor_sqlalchemy() -> None:
    code = (
        "import sys, annotator.agreement\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('flask', 'sqlalchemy', 'flask_sqlalchemy', 'numpy'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


# ---------------------------------------------------------------------------
# Published worked examples
# ---------------------------------------------------------------------------

# Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011): 4 coders x 12 units.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]
KRIPPENDORFF_2011_ALPHA = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}


def _as_float_array(data):
    return np.array([[np.nan if v is None else v for v in row] for row in data], dtype=float)


@pytest.mark.parametrize("level", LEVELS)
def test_krippendorff_2011_example(level: str) -> None:
    ours = krippendorff_alpha(KRIPPENDORFF_2011, level)
    assert round(ours, 3) == KRIPPENDORFF_2011_ALPHA[level]
    theirs = krippendorff.alpha(_as_float_array(KRIPPENDORFF_2011), level_of_measurement=level)
    assert ours == pytest.approx(theirs, abs=TOL)


def test_krippendorff_2011_example_exact_nominal_and_interval() -> None:
    # nominal: 1 - (n-1) D_o / D_e with n = 40 pairable values; exact 0.7434210526...
    assert krippendorff_alpha(KRIPPENDORFF_2011) == pytest.approx(0.743421052631579, abs=1e-12)
    assert krippendorff_alpha(KRIPPENDORFF_2011, "interval") == pytest.approx(
        0.8491071428571428, abs=1e-12
    )


def test_krippendorff_2011_example_ordinal_words_with_value_domain() -> None:
    words = ["very low", "low", "mid", "high", "very high"]
    data = [[None if v is None else words[v - 1] for v in row] for row in KRIPPENDORFF_2011]
    numeric = krippendorff_alpha(KRIPPENDORFF_2011, "ordinal")
    with_domain = krippendorff_alpha(data, "ordinal", value_domain=words)
    assert with_domain == pytest.approx(numeric, abs=TOL)
    assert krippendorff_alpha(data, "nominal") == pytest.approx(
        krippendorff_alpha(KRIPPENDORFF_2011), abs=TOL
    )
    # the domain order matters for ordinal, not the values' own (alphabetical) order
    assert krippendorff_alpha(data, "ordinal", value_domain=sorted(words)) != pytest.approx(
        numeric, abs=1e-3
    )


def test_wikipedia_alpha_example() -> None:
    # Wikipedia "Krippendorff's alpha", a computational example: 3 coders x 15 units, 0.691.
    u = None
    data = [
        [u, u, u, u, u, 3, 4, 1, 2, 1, 1, 3, 3, u, 3],
        [1, u, 2, 1, 3, 3, 4, 3, u, u, u, u, u, u, u],
        [u, u, 2, 1, 3, 4, 4, u, 2, 1, 1, 3, 3, u, 4],
    ]
    assert round(krippendorff_alpha(data), 3) == 0.691
    assert krippendorff_alpha(data) == pytest.approx(0.691358024691358, abs=1e-12)


# Fleiss (1971) as in Wikipedia's "Fleiss' kappa" worked example: 10 subjects, 14 raters,
# 5 categories; kappa = 0.210.
FLEISS_WIKIPEDIA = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_fleiss_wikipedia_example() -> None:
    ours = fleiss_kappa(FLEISS_WIKIPEDIA)
    assert round(ours, 3) == 0.210
    # P_bar = 0.378, P_e = 0.213 (Wikipedia's rounded intermediates); exact value:
    assert ours == pytest.approx(0.20993070442195522, abs=1e-12)
    assert ours == pytest.approx(inter_rater.fleiss_kappa(np.array(FLEISS_WIKIPEDIA)), abs=TOL)


def test_cohen_wikipedia_example() -> None:
    # Wikipedia "Cohen's kappa": 50 grant proposals, yes/yes 20, yes/no 5, no/yes 10,
    # no/no 15: p_o = 0.7, p_e = 0.5, kappa = 0.4.
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4, abs=1e-15)
    assert cohen_kappa(a, b) == pytest.approx(sklearn_metrics.cohen_kappa_score(a, b), abs=TOL)


def test_cohen_1960_style_three_categories() -> None:
    # A 3x3 table with a known kappa: counts [[25, 2, 3], [3, 20, 2], [2, 3, 40]] (n=100):
    # p_o = 0.85, p_e = (30*30 + 25*25 + 45*45) / 100**2 = 0.355, kappa = 0.495/0.645.
    table = [[25, 2, 3], [3, 20, 2], [2, 3, 40]]
    a, b = [], []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            a += [i] * count
            b += [j] * count
    assert cohen_kappa(a, b) == pytest.approx(0.495 / 0.645, abs=1e-12)


# ---------------------------------------------------------------------------
# Reference implementations on random data
# ---------------------------------------------------------------------------


def _random_reliability_data(rng: random.Random, *, missing: float) -> list[list]:
    coders = rng.randint(2, 6)
    units = rng.randint(1, 25)
    values = rng.sample(range(0, 12), rng.randint(2, 6))
    return [
        [None if rng.random() < missing else rng.choice(values) for _ in range(units)]
        for _ in range(coders)
    ]


def _pairable_values(data: list[list]) -> set:
    seen: set = set()
    for column in zip(*data, strict=True):
        present = [v for v in column if v is not None]
        if len(present) >= 2:
            seen.update(present)
    return seen


@pytest.mark.parametrize("level", LEVELS)
def test_alpha_matches_krippendorff_package(level: str) -> None:
    rng = random.Random(20240501 + LEVELS.index(level))
    compared = 0
    for _ in range(300):
        data = _random_reliability_data(rng, missing=rng.choice([0.0, 0.2, 0.5]))
        ours = krippendorff_alpha(data, level)
        if len(_pairable_values(data)) < 2:
            assert math.isnan(ours)
            continue
        theirs = krippendorff.alpha(_as_float_array(data), level_of_measurement=level)
        assert ours == pytest.approx(theirs, abs=TOL), data
        compared += 1
    assert compared > 200


def test_ordinal_value_domain_matches_krippendorff_package() -> None:
    # unused values of the domain do not change alpha; the domain's order is the scale
    rng = random.Random(31)
    domain = [9, 0, 4, 1, 7, 2, 11, 3, 5, 6, 8, 10]  # an order that is not numeric order
    for _ in range(100):
        data = _random_reliability_data(rng, missing=0.2)
        if len(_pairable_values(data)) < 2:
            continue
        ours = krippendorff_alpha(data, "ordinal", value_domain=domain)
        theirs = krippendorff.alpha(
            _as_float_array(data), level_of_measurement="ordinal", value_domain=domain
        )
        assert ours == pytest.approx(theirs, abs=TOL), data


@pytest.mark.parametrize(
    ("level", "distance"),
    [("nominal", "binary_distance"), ("interval", "interval_distance")],
)
def test_alpha_matches_nltk(level: str, distance: str) -> None:
    rng = random.Random(7 + len(level))
    compared = 0
    for _ in range(150):
        data = _random_reliability_data(rng, missing=rng.choice([0.0, 0.3]))
        if len(_pairable_values(data)) < 2:
            continue  # nltk returns 1 there; we return NaN (documented)
        triples = [
            (coder, unit, value)
            for coder, row in enumerate(data)
            for unit, value in enumerate(row)
            if value is not None
        ]
        task = nltk_agreement.AnnotationTask(
            data=triples, distance=getattr(nltk_distance, distance)
        )
        assert krippendorff_alpha(data, level) == pytest.approx(task.alpha(), abs=TOL), data
        compared += 1
    assert compared > 100


def test_cohen_matches_sklearn_and_nltk() -> None:
    rng = random.Random(1960)
    for _ in range(300):
        n = rng.randint(1, 60)
        labels = rng.sample("abcdefg", rng.randint(1, 5))
        a = [rng.choice(labels) for _ in range(n)]
        b = [x if rng.random() < 0.5 else rng.choice(labels) for x in a]
        ours = cohen_kappa(a, b)
        if len(set(a)) == 1 and set(a) == set(b):
            assert math.isnan(ours)  # p_e == 1
            continue
        assert ours == pytest.approx(sklearn_metrics.cohen_kappa_score(a, b), abs=TOL)
        triples = [("A", i, x) for i, x in enumerate(a)] + [("B", i, y) for i, y in enumerate(b)]
        task = nltk_agreement.AnnotationTask(data=triples)
        assert ours == pytest.approx(task.kappa(), abs=TOL)
        assert ours == pytest.approx(task.multi_kappa(), abs=TOL)  # = Cohen for 2 coders


def test_fleiss_matches_statsmodels_and_nltk_pi() -> None:
    rng = random.Random(1971)
    for _ in range(200):
        subjects = rng.randint(1, 15)
        raters = rng.randint(2, 6)
        categories = rng.randint(2, 5)
        ratings = [[rng.randrange(categories) for _ in range(raters)] for _ in range(subjects)]
        table = [[row.count(c) for c in range(categories)] for row in ratings]
        ours = fleiss_kappa(table)
        if len({c for row in ratings for c in row}) == 1:
            assert math.isnan(ours)
            continue
        assert ours == pytest.approx(inter_rater.fleiss_kappa(np.array(table)), abs=TOL)
        # nltk's pi is multi-pi (Siegel & Castellan's K), i.e. Fleiss' kappa on complete data
        triples = [
            (r, s, c) for s, row in enumerate(ratings) for r, c in enumerate(row)
        ]
        pi = nltk_agreement.AnnotationTask(data=triples).pi()
        assert ours == pytest.approx(pi, abs=TOL)


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_perfect_agreement_is_one(level: str) -> None:
    rng = random.Random(3)
    for _ in range(50):
        truth = [rng.choice([1, 2, 3, 5, 8]) for _ in range(rng.randint(2, 20))]
        if len(set(truth)) < 2:
            continue
        data = [
            [None if rng.random() < 0.2 else v for v in truth] for _ in range(rng.randint(2, 5))
        ]
        if len(_pairable_values(data)) < 2:
            continue
        assert krippendorff_alpha(data, level) == 1.0


def test_alpha_ignores_coder_and_unit_order() -> None:
    rng = random.Random(11)
    for _ in range(50):
        data = _random_reliability_data(rng, missing=0.2)
        if len(_pairable_values(data)) < 2:
            continue
        shuffled = [list(row) for row in data]
        rng.shuffle(shuffled)
        order = list(range(len(data[0])))
        rng.shuffle(order)
        shuffled = [[row[i] for i in order] for row in shuffled]
        for level in LEVELS:
            assert krippendorff_alpha(shuffled, level) == pytest.approx(
                krippendorff_alpha(data, level), abs=1e-12
            )


def test_kappa_is_symmetric() -> None:
    rng = random.Random(5)
    for _ in range(100):
        n = rng.randint(1, 30)
        a = [rng.choice("xyz") for _ in range(n)]
        b = [rng.choice("xyz") for _ in range(n)]
        k_ab, k_ba = cohen_kappa(a, b), cohen_kappa(b, a)
        assert (math.isnan(k_ab) and math.isnan(k_ba)) or k_ab == k_ba


def test_kappa_perfect_agreement_and_chance() -> None:
    assert cohen_kappa([1, 2, 3, 1], [1, 2, 3, 1]) == 1.0
    # independent marginals: p_o == p_e
    assert cohen_kappa(["a", "a", "b", "b"], ["a", "b", "a", "b"]) == 0.0
    assert fleiss_kappa([[3, 0], [0, 3], [3, 0]]) == 1.0


# ---------------------------------------------------------------------------
# Edge cases: documented values, clear errors, never ZeroDivisionError
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize(
    "data",
    [
        [],  # no coders
        [[], []],  # no units
        [[1, 2, 3]],  # a single coder
        [[None, None], [None, None]],  # all missing
        [[1, None, 2], [None, 3, None]],  # no unit with two values
        [[4, 4, 4], [4, 4, None]],  # one value only: no variation
    ],
    ids=["empty", "no-units", "one-coder", "all-missing", "unpairable", "one-value"],
)
def test_alpha_undefined_is_nan(data, level: str) -> None:
    assert math.isnan(krippendorff_alpha(data, level))


def test_alpha_accepts_nan_as_missing_and_any_hashable_for_nominal() -> None:
    with_nan = [[1.0, float("nan"), 2.0], [1.0, 2.0, float("nan")], [2.0, 2.0, 2.0]]
    with_none = [[1.0, None, 2.0], [1.0, 2.0, None], [2.0, 2.0, 2.0]]
    assert krippendorff_alpha(with_nan) == krippendorff_alpha(with_none)
    labels = [["a", ("t", 1), None, "b"], ["a", ("t", 1), "b", "b"]]
    assert krippendorff_alpha(labels) == 1.0


def test_alpha_errors() -> None:
    with pytest.raises(ValueError, match="level must be"):
        krippendorff_alpha([[1, 2], [1, 2]], "cardinal")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="row 1 has 1 values"):
        krippendorff_alpha([[1, 2], [1]])
    with pytest.raises(ValueError, match=r"\[1\]\[0\] = 'x'.*interval"):
        krippendorff_alpha([[1, 2], ["x", 2]], "interval")
    with pytest.raises(ValueError, match="ordinal values must be real numbers"):
        krippendorff_alpha([["a", "b"], ["a", "b"]], "ordinal")
    with pytest.raises(ValueError, match="must not be negative"):
        krippendorff_alpha([[1, -2], [1, 2]], "ratio")
    with pytest.raises(ValueError, match="not in value_domain"):
        krippendorff_alpha([[1, 2], [1, 3]], value_domain=[1, 2])
    with pytest.raises(ValueError, match="more than once"):
        krippendorff_alpha([[1, 2], [1, 2]], "ordinal", value_domain=[1, 2, 1])
    with pytest.raises(ValueError, match="not hashable"):
        krippendorff_alpha([[[1], 2], [1, 2]])
    with pytest.raises(ValueError, match="finite"):
        krippendorff_alpha([[1, float("inf")], [1, 2]], "interval")


def test_ratio_zero_pair() -> None:
    # (0, 0) has difference 0 and no division by zero; (0, k) has difference 1.
    assert krippendorff_alpha([[0, 0, 3], [0, 0, 3]], "ratio") == 1.0
    data = [[0, 2, 5, 0], [0, 3, 5, 1]]
    ours = krippendorff_alpha(data, "ratio")
    assert ours == pytest.approx(
        krippendorff.alpha(_as_float_array(data), level_of_measurement="ratio"), abs=TOL
    )


def test_cohen_edge_cases() -> None:
    assert math.isnan(cohen_kappa([], []))
    assert math.isnan(cohen_kappa([None, "a"], ["b", None]))  # nothing left after dropping
    assert math.isnan(cohen_kappa(["a", "a"], ["a", "a"]))  # one category: p_e == 1
    # pairs with a None on either side are dropped from both sequences
    assert cohen_kappa(["a", None, "b", "a", "b"], ["a", "b", "b", None, "b"]) == cohen_kappa(
        ["a", "b", "b"], ["a", "b", "b"]
    )
    assert cohen_kappa(["a", float("nan"), "b"], ["a", "a", "b"]) == 1.0
    with pytest.raises(ValueError, match="labels_a has 2 items and labels_b has 1"):
        cohen_kappa(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="hashable"):
        cohen_kappa([["a"]], [["a"]])


def test_fleiss_edge_cases() -> None:
    assert math.isnan(fleiss_kappa([]))
    assert math.isnan(fleiss_kappa([[0, 3], [0, 3]]))  # one category used: P_e == 1
    assert math.isnan(fleiss_kappa([[3]]))  # a single category column
    with pytest.raises(ValueError, match="row 2 sums to 4 ratings but row 0 sums to 3"):
        fleiss_kappa([[1, 2], [3, 0], [2, 2]])
    with pytest.raises(ValueError, match="row 1 has 3 categories"):
        fleiss_kappa([[1, 2], [1, 1, 1]])
    with pytest.raises(ValueError, match="at least 2 raters"):
        fleiss_kappa([[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="at least 2 raters"):
        fleiss_kappa([[], []])
    with pytest.raises(ValueError, match="negative"):
        fleiss_kappa([[3, -1], [1, 1]])
    with pytest.raises(ValueError, match="whole number"):
        fleiss_kappa([[1.5, 0.5], [1, 1]])
    with pytest.raises(ValueError, match="not a count"):
        fleiss_kappa([["1", 1], [1, 1]])
    assert fleiss_kappa([[2.0, 1.0], [0.0, 3.0]]) == fleiss_kappa([[2, 1], [0, 3]])


# ---------------------------------------------------------------------------
# span_f1
# ---------------------------------------------------------------------------


def test_span_f1_exact_vs_overlap() -> None:
    a = [(0, 10, "claim"), (20, 30, "claim"), (40, 50, "claim")]
    b = [(0, 10, "claim"), (22, 35, "claim"), (60, 70, "claim"), (80, 90, "claim")]
    exact = span_f1(a, b)
    assert (exact.matched, exact.n_a, exact.n_b) == (1, 3, 4)
    assert exact.precision == 1 / 4 and exact.recall == 1 / 3
    assert exact.f1 == pytest.approx(2 / 7)
    assert exact.pairs == ((0, 0),)
    overlap = span_f1(a, b, "overlap")
    assert overlap.matched == 2
    assert overlap.pairs == ((0, 0), (1, 1))
    assert overlap.f1 == pytest.approx(4 / 7)
    assert isinstance(overlap, SpanF1)


def test_span_f1_one_to_one() -> None:
    # two spans of a overlapping the one span of b count once
    a = [(0, 5, "x"), (5, 10, "x")]
    b = [(2, 8, "x")]
    result = span_f1(a, b, "overlap")
    assert (result.matched, result.precision, result.recall) == (1, 1.0, 0.5)
    assert result.f1 == pytest.approx(2 / 3)
    # and the other way round
    assert span_f1(b, a, "overlap").matched == 1
    # duplicates in exact mode: multiset intersection
    assert span_f1([(0, 1, "x")] * 3, [(0, 1, "x")] * 2).matched == 2


def test_span_f1_overlap_prefers_maximum_cardinality_then_overlap() -> None:
    # greedy by overlap would pair a0-b0 (9 shared) and leave a1 unmatched
    a = [(0, 10, "x"), (9, 12, "x")]
    b = [(1, 11, "x"), (0, 2, "x")]
    result = span_f1(a, b, "overlap")
    assert result.matched == 2
    assert result.pairs == ((0, 1), (1, 0))
    # among matchings of equal size the one sharing more characters wins
    a = [(0, 10, "x"), (0, 10, "x")]
    b = [(0, 3, "x"), (0, 9, "x")]
    assert span_f1(a, b, "overlap").pairs in (((0, 1), (1, 0)), ((0, 0), (1, 1)))
    a = [(0, 10, "x"), (5, 6, "x")]
    b = [(0, 9, "x"), (4, 7, "x")]
    # a0-b0 (9) + a1-b1 (1) = 10 beats a0-b1 (3) + a1-b0 (1) = 4
    assert span_f1(a, b, "overlap").pairs == ((0, 0), (1, 1))


def test_span_f1_labels_and_touching() -> None:
    a = [(0, 10, "claim")]
    assert span_f1(a, [(0, 10, "evidence")]).matched == 0
    assert span_f1(a, [(0, 10, "evidence")], "overlap").matched == 0
    assert span_f1(a, [(10, 20, "claim")], "overlap").matched == 0  # touching, no shared char
    assert span_f1(a, [(9, 20, "claim")], "overlap").matched == 1


def test_span_f1_empty_sides() -> None:
    both = span_f1([], [])
    assert (both.precision, both.recall, both.f1, both.matched) == (1.0, 1.0, 1.0, 0)
    assert span_f1([], [], "overlap").f1 == 1.0
    only_a = span_f1([(0, 1, "x")], [])
    assert (only_a.precision, only_a.recall, only_a.f1) == (0.0, 0.0, 0.0)
    only_b = span_f1([], [(0, 1, "x")], "overlap")
    assert (only_b.precision, only_b.recall, only_b.f1, only_b.n_b) == (0.0, 0.0, 0.0, 1)


def test_span_f1_errors() -> None:
    with pytest.raises(ValueError, match="mode must be"):
        span_f1([], [], "fuzzy")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"spans_b\[0\].*0 <= start < end"):
        span_f1([], [(5, 5, "x")])
    with pytest.raises(ValueError, match=r"spans_a\[1\].*triple"):
        span_f1([(0, 1, "x"), (0, 1)], [])
    with pytest.raises(ValueError, match="integers"):
        span_f1([(0.0, 1, "x")], [])
    with pytest.raises(ValueError, match="hashable"):
        span_f1([(0, 1, ["x"])], [])
    with pytest.raises(ValueError, match="0 <= start"):
        span_f1([(-1, 1, "x")], [])


def _brute_force_best(a, b) -> tuple[int, int]:
    """(max matched pairs, max total shared characters among matchings of that size)."""
    edges = {
        (i, j): min(x[1], y[1]) - max(x[0], y[0])
        for i, x in enumerate(a)
        for j, y in enumerate(b)
        if x[2] == y[2] and max(x[0], y[0]) < min(x[1], y[1])
    }
    best = (0, 0)

    def search(i: int, used: frozenset, size: int, shared: int) -> None:
        nonlocal best
        if i == len(a):
            best = max(best, (size, shared))
            return
        search(i + 1, used, size, shared)
        for j in range(len(b)):
            if j not in used and (i, j) in edges:
                search(i + 1, used | {j}, size + 1, shared + edges[i, j])

    search(0, frozenset(), 0, 0)
    return best


def _random_spans(rng: random.Random, count: int, labels: str) -> list:
    spans = []
    for _ in range(count):
        start = rng.randint(0, 20)
        spans.append((start, start + rng.randint(1, 8), rng.choice(labels)))
    return spans


def test_span_f1_overlap_matching_is_optimal_brute_force() -> None:
    rng = random.Random(99)
    for _ in range(600):
        labels = rng.choice(["x", "xy"])
        a = _random_spans(rng, rng.randint(0, 6), labels)
        b = _random_spans(rng, rng.randint(0, 6), labels)
        result = span_f1(a, b, "overlap")
        size, shared = _brute_force_best(a, b)
        assert result.matched == size, (a, b)
        # the pairs are a valid one-to-one matching with the best total overlap
        assert len({i for i, _ in result.pairs}) == len({j for _, j in result.pairs}) == size
        total = 0
        for i, j in result.pairs:
            assert a[i][2] == b[j][2]
            overlap = min(a[i][1], b[j][1]) - max(a[i][0], b[j][0])
            assert overlap > 0
            total += overlap
        assert total == shared, (a, b)
        # deterministic, and symmetric in f1/matched
        assert span_f1(a, b, "overlap") == result
        swapped = span_f1(b, a, "overlap")
        assert (swapped.matched, swapped.f1) == (result.matched, result.f1)
        assert (swapped.precision, swapped.recall) == (result.recall, result.precision)


def test_span_f1_exact_against_multiset_intersection() -> None:
    rng = random.Random(12)
    for _ in range(300):
        a = _random_spans(rng, rng.randint(0, 8), "xy")
        b = _random_spans(rng, rng.randint(0, 8), "xy")
        expected = sum((Counter(a) & Counter(b)).values())
        result = span_f1(a, b)
        assert result.matched == expected
        assert all(a[i] == b[j] for i, j in result.pairs)


# ---------------------------------------------------------------------------
# unitizing_alpha
# ---------------------------------------------------------------------------

# Krippendorff (2004), "Measuring the reliability of qualitative text analysis data",
# Quality & Quantity 38, fig. 2 / Content Analysis 2nd ed. p. 254: two observers on the
# continuum [150, 450); published: alpha_c = 0.7286 (D_o 0.0144, D_e 0.0532),
# alpha_k = 1.0 (D_e 0.0490), overall 0.859.
_OFFSET = 150
KRIPPENDORFF_2004 = [
    [(225, 295, "c"), (370, 400, "c"), (180, 240, "k"), (300, 350, "k")],
    [(220, 300, "c"), (355, 375, "c"), (400, 420, "c"), (180, 240, "k"), (300, 350, "k")],
]
KRIPPENDORFF_2004 = [[(s - _OFFSET, e - _OFFSET, c) for s, e, c in u] for u in KRIPPENDORFF_2004]


def test_unitizing_2004_published_example() -> None:
    per_label = _disagreements_2004(KRIPPENDORFF_2004, 300, "error")
    d_o, d_e = per_label["c"]
    assert float(d_o) == pytest.approx(0.0144, abs=5e-5)
    assert float(d_e) == pytest.approx(0.0532, abs=5e-5)
    assert 1 - float(d_o / d_e) == pytest.approx(0.7286, abs=5e-5)
    d_o, d_e = per_label["k"]
    assert d_o == 0 and float(d_e) == pytest.approx(0.0490, abs=5e-5)
    overall = unitizing_alpha(KRIPPENDORFF_2004, 300, variant="2004")
    assert round(overall, 3) == 0.859
    only_c = [[u for u in coder if u[2] == "c"] for coder in KRIPPENDORFF_2004]
    assert unitizing_alpha(only_c, 300, variant="2004") == pytest.approx(0.7286, abs=5e-5)
    only_k = [[u for u in coder if u[2] == "k"] for coder in KRIPPENDORFF_2004]
    assert unitizing_alpha(only_k, 300, variant="2004") == 1.0


def _krippendorff_1995(stretch: int):
    """Krippendorff (1995, p. 57): 4 pairs of observers (A-D) on 24 positions."""
    units = {  # label: [(begin, length, observer)]
        "A": [(2, 8, 0), (14, 6, 0), (4, 4, 1), (15, 2, 1)],
        "B": [(0, 18, 0), (0, 2, 1), (2, 1, 1), (3, 1, 1), (4, 1, 1), (5, 1, 1), (6, 3, 1),
              (9, 1, 1)],
        "C": [(2, 6, 0), (10, 2, 0), (14, 4, 0), (20, 2, 0), (0, 2, 1), (4, 4, 1), (10, 4, 1),
              (16, 2, 1), (20, 2, 1)],
        "D": [(0, 2, 0), (2, 8, 0), (10, 4, 0), (14, 6, 0), (20, 4, 0), (0, 4, 1), (4, 4, 1),
              (8, 7, 1), (15, 2, 1), (17, 7, 1)],
    }
    coders: list[list] = [[], []]
    for label, spans in units.items():
        for begin, length, observer in spans:
            start = begin * stretch
            coders[observer].append((start, start + length * stretch, label))
    return coders, 24 * stretch


def test_unitizing_2004_on_krippendorff_1995_example() -> None:
    coders, length = _krippendorff_1995(1)
    per_label = _disagreements_2004(coders, length, "error")
    # observed disagreements are exact (as in DKPro Statistics' test of this example)
    observed = {label: float(d_o) for label, (d_o, _) in per_label.items()}
    assert observed == pytest.approx(
        {"A": 0.03125, "B": 2.26736, "C": 0.02777, "D": 0.38715}, abs=1e-5
    )
    # the 1995 paper's alphas treat the continuum as continuous, and its D_e formula had a
    # slip that the 2004 version corrects: on a finely divided continuum they agree to 0.02
    coders, length = _krippendorff_1995(50_000)
    per_label = _disagreements_2004(coders, length, "error")
    alphas = {label: 1 - float(d_o / d_e) for label, (d_o, d_e) in per_label.items()}
    assert alphas == pytest.approx({"A": 0.553, "B": -0.926, "C": 0.679, "D": 0.066}, abs=0.02)


def test_unitizing_u_hand_computed() -> None:
    # L = 10; coder 0 marks [0, 5), coder 1 marks [0, 4).  l_xφ = l_φx = 1 (position 4),
    # D_o = 2; N_x = 9, N_φ = 11, T = 20, C = 5² + 5 + 4² + 6 = 52;
    # D_e = 20 (400 - 81 - 121) / (400 - 52) = 3960 / 348; uα = 1 - 696/3960 = 136/165.
    value = unitizing_alpha([[(0, 5, "x")], [(0, 4, "x")]], 10)
    assert value == pytest.approx(float(Fraction(136, 165)), abs=1e-15)
    assert unitizing_alpha([[(0, 5, "x")], [(0, 4, "x")]], 10, variant="binary") == value


def test_unitizing_u_reduces_to_alpha_for_single_character_units() -> None:
    # With every unit one character long, uα is Krippendorff's nominal alpha over the
    # characters, the gap being one more value: checked against the krippendorff package.
    rng = random.Random(2016)
    gap = -1
    compared = 0
    for _ in range(200):
        length = rng.randint(1, 30)
        coders = rng.randint(2, 5)
        labels = list(range(rng.randint(1, 3)))
        grid = [
            [rng.choice(labels) if rng.random() < 0.4 else gap for _ in range(length)]
            for _ in range(coders)
        ]
        annotations = [
            [(p, p + 1, v) for p, v in enumerate(row) if v != gap] for row in grid
        ]
        ours = unitizing_alpha(annotations, length)
        if len({v for row in grid for v in row}) < 2:
            assert math.isnan(ours)
            continue
        theirs = krippendorff.alpha(np.array(grid, dtype=float), level_of_measurement="nominal")
        assert ours == pytest.approx(theirs, abs=TOL), grid
        compared += 1
    assert compared > 150


# Values from the PyPI package krippendorff-unitized-alpha 0.1.0 (an implementation of uα
# from Krippendorff et al. 2016), given these partitions directly. It cannot be a test
# dependency (it pins numpy<2 and pytest<8); on 1,938 random continua it agreed with
# unitizing_alpha to 1.2e-15.
UNITIZED_ALPHA_REFERENCE = [
    ([[(3, 15, "kp"), (22, 53, "kp")], [(3, 10, "kp"), (22, 53, "kp")], [(22, 46, "kp")]],
     56, 0.5645448655652737),
    ([[(0, 4, "a"), (4, 9, "b"), (12, 20, "a")], [(1, 4, "a"), (5, 9, "b"), (12, 18, "b")],
      [(0, 9, "a"), (13, 20, "a")]], 24, 0.39017660044150115),
    ([[(2, 7, "x"), (10, 12, "y")], [(2, 6, "y"), (9, 12, "y")]], 15, 0.3828996282527881),
]


@pytest.mark.parametrize(("annotations", "length", "expected"), UNITIZED_ALPHA_REFERENCE)
def test_unitizing_u_matches_reference_values(annotations, length: int, expected: float) -> None:
    assert unitizing_alpha(annotations, length) == pytest.approx(expected, abs=1e-12)


def test_unitizing_perfect_agreement_and_binary() -> None:
    units = [(0, 4, "a"), (6, 9, "b"), (9, 12, "a")]
    for variant in ("u", "binary", "2004"):
        assert unitizing_alpha([units, units, list(reversed(units))], 20, variant=variant) == 1.0
    # labels differ but the stretches agree: |uα = 1, uα < 1
    relabelled = [(0, 4, "b"), (6, 9, "a"), (9, 12, "a")]
    assert unitizing_alpha([units, relabelled], 20, variant="binary") == 1.0
    assert unitizing_alpha([units, relabelled], 20) < 1.0
    # with one label, "binary" is "u"
    rng = random.Random(4)
    for _ in range(50):
        coders = []
        for _ in range(rng.randint(2, 4)):
            spans, position = [], 0
            while (position := position + rng.randint(0, 6)) < 30:
                end = min(30, position + rng.randint(1, 6))
                spans.append((position, end, "claim"))
                position = end
            coders.append(spans)
        u = unitizing_alpha(coders, 30)
        b = unitizing_alpha(coders, 30, variant="binary")
        assert (math.isnan(u) and math.isnan(b)) or u == pytest.approx(b, abs=1e-15)


def test_unitizing_overlaps() -> None:
    nested = [[(0, 10, "claim"), (2, 5, "claim")], [(0, 10, "claim")]]
    with pytest.raises(ValueError, match="coder 0 has overlapping units"):
        unitizing_alpha(nested, 20)
    assert unitizing_alpha(nested, 20, overlaps="merge") == 1.0
    assert unitizing_alpha(nested, 20, variant="2004", overlaps="merge") == 1.0
    # touching units are two units, not an overlap: allowed, and kept apart. uα compares
    # values character by character, so it does not see the boundary between them (only
    # the expected disagreement changes); the 2004 uα compares units and does.
    touching = [[(0, 5, "x"), (5, 10, "x")], [(0, 10, "x")]]
    assert unitizing_alpha(touching, 20) == 1.0
    assert unitizing_alpha(touching, 20, variant="2004") < 1.0
    assert unitizing_alpha([[(0, 5, "x"), (5, 10, "x")], [(0, 10, "x"), (12, 14, "x")]], 20) != (
        unitizing_alpha([[(0, 10, "x")], [(0, 10, "x"), (12, 14, "x")]], 20)
    )
    # different labels overlapping: one value per character for "u"
    mixed = [[(0, 10, "a"), (5, 8, "b")], [(0, 10, "a")]]
    with pytest.raises(ValueError, match="different labels"):
        unitizing_alpha(mixed, 20, overlaps="merge")
    assert unitizing_alpha(mixed, 20, variant="binary", overlaps="merge") == 1.0
    assert not math.isnan(unitizing_alpha(mixed, 20, variant="2004"))


@pytest.mark.parametrize("variant", ["u", "binary", "2004"])
def test_unitizing_undefined_is_nan(variant: str) -> None:
    assert math.isnan(unitizing_alpha([], 10, variant=variant))  # no coders
    assert math.isnan(unitizing_alpha([[(0, 3, "x")]], 10, variant=variant))  # one coder
    assert math.isnan(unitizing_alpha([[], []], 10, variant=variant))  # nobody marked anything
    assert math.isnan(unitizing_alpha([[], []], 0, variant=variant))  # empty continuum
    # a single value everywhere: no variation (for 2004: one-character units, no gap)
    assert math.isnan(unitizing_alpha([[(0, 1, "x")], [(0, 1, "x")]], 1, variant=variant))
    whole = unitizing_alpha([[(0, 10, "x")], [(0, 10, "x")]], 10, variant=variant)
    if variant == "2004":  # its expected disagreement ranges over all unitizations
        assert whole == 1.0
    else:
        assert math.isnan(whole)


def test_unitizing_one_coder_marks_nothing() -> None:
    value = unitizing_alpha([[(2, 6, "claim")], []], 10)
    assert value < 0.5 and not math.isnan(value)
    assert not math.isnan(unitizing_alpha([[(2, 6, "claim")], []], 10, variant="2004"))


def test_unitizing_errors() -> None:
    with pytest.raises(ValueError, match="variant must be"):
        unitizing_alpha([[], []], 10, variant="1995")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="overlaps must be"):
        unitizing_alpha([[], []], 10, overlaps="ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-negative integer"):
        unitizing_alpha([[], []], -1)
    with pytest.raises(ValueError, match="non-negative integer"):
        unitizing_alpha([[], []], 10.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"annotations\[1\]\[0\].*<= continuum_length \(10\)"):
        unitizing_alpha([[], [(5, 11, "x")]], 10)
    with pytest.raises(ValueError, match="0 <= start < end"):
        unitizing_alpha([[(4, 4, "x")], []], 10)
    with pytest.raises(ValueError, match="triple"):
        unitizing_alpha([[(4, 5)], []], 10)
    with pytest.raises(ValueError, match="integers"):
        unitizing_alpha([[(4, 5.5, "x")], []], 10)
    with pytest.raises(ValueError, match="hashable"):
        unitizing_alpha([[(4, 5, {})], []], 10)


def test_no_zero_division_anywhere_on_tiny_inputs() -> None:
    # exhaustive over tiny inputs: every function returns a float or raises ValueError
    values = [None, 0, 1]
    for row_a, row_b in itertools.product(itertools.product(values, repeat=2), repeat=2):
        for level in LEVELS:
            result = krippendorff_alpha([list(row_a), list(row_b)], level)
            assert isinstance(result, float)
        assert isinstance(cohen_kappa(row_a, row_b), float)
    for length in range(0, 4):
        spans = [(s, e, "x") for s in range(length) for e in range(s + 1, length + 1)]
        for first in [[], *[[span] for span in spans]]:
            for second in [[], *[[span] for span in spans]]:
                for variant in ("u", "binary", "2004"):
                    assert isinstance(unitizing_alpha([first, second], length, variant=variant),
                                      float)
