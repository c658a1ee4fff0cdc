"""Agreement coefficients for coded units: Krippendorff's alpha, Cohen's and Fleiss' kappa.

Standard library only. Every function returns a plain ``float``; where a coefficient is
undefined for the data it was given (no pairable values, a single category, no subjects) it
returns ``float("nan")`` rather than raising, and malformed input raises ``ValueError``.
No function raises ``ZeroDivisionError``.

Missing values are ``None`` or a float NaN (``float("nan")``, ``numpy.nan``), so data taken
from pandas or numpy can be passed as it is.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any, Literal

__all__ = [
    "Level", "cohen_kappa", "cohen_kappa_table", "fleiss_kappa", "krippendorff_alpha",
    "krippendorff_alpha_units",
]

Level = Literal["nominal", "ordinal", "interval", "ratio"]
_LEVELS: tuple[str, ...] = ("nominal", "ordinal", "interval", "ratio")
NAN = float("nan")


def _is_missing(value: object) -> bool:
    """True for ``None`` and for a floating NaN (Python's or numpy's)."""
    if value is None:
        return True
    kind = type(value)
    if kind is str or kind is int:  # the common cases, without the ABC checks below
        return False
    if kind is float:
        return math.isnan(value)  # type: ignore[arg-type]
    if isinstance(value, numbers.Integral) or not isinstance(value, numbers.Real):
        return False
    return math.isnan(value)


def _is_real_number(value: object) -> bool:
    """True for finite real numbers that are not booleans."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    return math.isfinite(float(value))


# ---------------------------------------------------------------------------
# Krippendorff's alpha
# ---------------------------------------------------------------------------


def krippendorff_alpha(
    reliability_data: Sequence[Sequence[Hashable | None]],
    level: Level = "nominal",
    *,
    value_domain: Sequence[Hashable] | None = None,
) -> float:
    """Krippendorff's alpha for any number of coders, with missing values.

    Follows Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011): values are
    paired within each unit, every pair weighted ``1 / (m_u - 1)`` where ``m_u`` is the
    number of values in the unit, into a coincidence matrix ``o_ck``; then
    ``alpha = 1 - (n - 1) * sum(o_ck * d_ck) / sum(n_c * n_k * d_ck)`` with ``n_c`` the
    number of pairable values equal to ``c`` and ``d_ck`` the squared difference of the
    level: nominal ``c != k``; ordinal ``(sum of n_g for g from c to k - (n_c + n_k) / 2)**2``
    in the order of the value domain; interval ``(c - k)**2``; ratio ``((c - k) / (c + k))**2``.
    The result equals the ``krippendorff`` package's ``alpha`` (same orientation: rows are
    coders) and nltk's ``AnnotationTask.alpha`` for the nominal and interval distances.

    Args:
        reliability_data: One row per coder, one column per unit; every row has the same
            length. ``None`` (or a float NaN) where a coder gave no value. Units with fewer
            than two values are not pairable and are dropped, as Krippendorff defines.
        level: ``"nominal"`` (values: any hashable), ``"ordinal"`` (real numbers, or any
            hashable listed in ``value_domain``), ``"interval"`` (finite real numbers) or
            ``"ratio"`` (finite, non-negative real numbers).
        value_domain: Optional list of the permitted values. Every value in the data must be
            in it. For ``"ordinal"`` its order is the order of the scale (the ``krippendorff``
            package's ``value_domain``), which is how non-numeric ordinal values are ranked;
            without it, ordinal values must be real numbers and are ranked numerically.
            Values of the domain nobody used do not change alpha.

    Returns:
        Alpha as a float, 1.0 for perfect agreement, 0.0 for agreement at chance level,
        negative below chance. ``float("nan")`` when alpha is undefined: no data at all
        (no rows or no columns), a single coder, no unit with at least two values, or only
        one distinct value among the pairable values (no variation; the ``krippendorff``
        package raises there).

    Raises:
        ValueError: ``level`` is not one of the four levels; rows differ in length (the
            message names the row); a value is not hashable; a value is outside
            ``value_domain`` or ``value_domain`` repeats a value; an interval or ratio value
            (or an ordinal value without ``value_domain``) is not a finite real number; a
            ratio value is negative.
    """
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {', '.join(_LEVELS)}, not {level!r}")
    rows = [list(row) for row in reliability_data]
    if not rows:
        return NAN
    n_units = len(rows[0])
    for index, row in enumerate(rows):
        if len(row) != n_units:
            raise ValueError(
                f"reliability_data row {index} has {len(row)} values; row 0 has {n_units} "
                "(every coder needs one entry per unit, None where missing)"
            )

    order = _domain_order(value_domain)
    numeric = level in ("interval", "ratio") or (level == "ordinal" and order is None)

    # Pair counts, grouped by the number of values in the unit so that each group is
    # divided by (m_u - 1) once: integer sums, one division per group.
    pair_counts: dict[int, Counter[tuple[Hashable, Hashable]]] = defaultdict(Counter)
    value_totals: Counter[Hashable] = Counter()
    for column in range(n_units):
        unit: Counter[Hashable] = Counter()
        for row_index, row in enumerate(rows):
            value = row[column]
            if _is_missing(value):
                continue
            _check_value(value, row_index, column, level, order, numeric)
            unit[value] += 1
        _add_unit(pair_counts, value_totals, unit)
    return _alpha(pair_counts, value_totals, level, order)


def krippendorff_alpha_units(
    units: Mapping[tuple[Hashable, ...], int] | Iterable[tuple[tuple[Hashable, ...], int]],
    level: Level = "nominal",
    *,
    value_domain: Sequence[Hashable] | None = None,
) -> float:
    """Krippendorff's alpha from units given by their values, with repeated units counted.

    The same coefficient as :func:`krippendorff_alpha`, which only looks at the values each
    unit got (not at which coder gave which), so a large data set whose units repeat a few
    value combinations can be given compactly, without a coder × unit matrix.

    Args:
        units: ``{values: count}`` (or an iterable of such pairs): ``values`` is the tuple
            of the values one unit got, missing ones left out, in any order; ``count`` is the
            number of units that got exactly these values (a non-negative integer). A key
            given twice (in an iterable) counts twice.
        level, value_domain: as for :func:`krippendorff_alpha`.

    Returns:
        The same float as :func:`krippendorff_alpha` on a matrix holding those units, up to
        floating-point rounding; ``float("nan")`` where it is undefined.

    Raises:
        ValueError: as :func:`krippendorff_alpha` for the values; a count is not a
            non-negative integer.
    """
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {', '.join(_LEVELS)}, not {level!r}")
    order = _domain_order(value_domain)
    numeric = level in ("interval", "ratio") or (level == "ordinal" and order is None)
    pair_counts: dict[int, Counter[tuple[Hashable, Hashable]]] = defaultdict(Counter)
    value_totals: Counter[Hashable] = Counter()
    items = units.items() if isinstance(units, Mapping) else units
    for index, (values, repeat) in enumerate(items):
        weight = _whole(repeat, f"units[{index}] count")
        unit: Counter[Hashable] = Counter()
        for position, value in enumerate(values):
            if _is_missing(value):
                continue
            _check_value(value, position, index, level, order, numeric,
                         where=f"units[{index}] value {position}")
            unit[value] += 1
        _add_unit(pair_counts, value_totals, unit, weight)
    return _alpha(pair_counts, value_totals, level, order)


def _domain_order(value_domain: Sequence[Hashable] | None) -> dict[Hashable, int] | None:
    if value_domain is None:
        return None
    domain = list(value_domain)
    try:
        order = {value: position for position, value in enumerate(domain)}
    except TypeError as exc:
        raise ValueError(f"value_domain holds an unhashable value: {exc}") from None
    if len(order) != len(domain):
        raise ValueError("value_domain lists a value more than once")
    return order


def _add_unit(
    pair_counts: dict[int, Counter[tuple[Hashable, Hashable]]],
    value_totals: Counter[Hashable],
    unit: Counter[Hashable],
    weight: int = 1,
) -> None:
    """Add a unit's pairable values (``weight`` times) to the coincidence counts."""
    m_u = sum(unit.values())
    if m_u < 2 or weight == 0:
        return
    for value, n in unit.items():
        value_totals[value] += n * weight
    if len(unit) > 1:
        counts = pair_counts[m_u]
        for c, n_uc in unit.items():
            for k, n_uk in unit.items():
                if c != k:
                    counts[c, k] += n_uc * n_uk * weight


def _alpha(
    pair_counts: dict[int, Counter[tuple[Hashable, Hashable]]],
    value_totals: Counter[Hashable],
    level: str,
    order: dict[Hashable, int] | None,
) -> float:
    """Alpha from the pair counts (grouped by values per unit) and the value totals."""
    n = sum(value_totals.values())
    if n == 0 or len(value_totals) < 2:
        return NAN

    distance = _distance_function(level, value_totals, order)
    # fsum over the groups too: the same float whatever order the units came in
    observed = math.fsum(
        math.fsum(count * distance(c, k) for (c, k), count in counts.items()) / (m_u - 1)
        for m_u, counts in pair_counts.items()
    )
    values = list(value_totals)
    expected = math.fsum(
        value_totals[c] * value_totals[k] * distance(c, k)
        for c in values
        for k in values
        if c != k
    )
    if expected == 0:  # cannot happen with two distinct values, kept as a guard
        return NAN
    return 1.0 - (n - 1) * observed / expected


def _check_value(
    value: object,
    row: int,
    column: int,
    level: str,
    order: dict[Hashable, int] | None,
    numeric: bool,
    where: str | None = None,
) -> None:
    """Raise ValueError when ``value`` cannot be used at ``level``."""
    where = where or f"reliability_data[{row}][{column}]"
    try:
        hash(value)
    except TypeError:
        raise ValueError(f"{where} = {value!r} is not hashable") from None
    if order is not None and value not in order:
        raise ValueError(f"{where} = {value!r} is not in value_domain")
    if numeric and not _is_real_number(value):
        if level == "ordinal":
            raise ValueError(
                f"{where} = {value!r}: ordinal values must be real numbers unless "
                "value_domain gives their order"
            )
        raise ValueError(f"{where} = {value!r}: {level} values must be finite real numbers")
    if level == "ratio" and float(value) < 0:  # type: ignore[arg-type]
        raise ValueError(f"{where} = {value!r}: ratio values must not be negative")


def _distance_function(
    level: str,
    totals: Counter[Hashable],
    order: dict[Hashable, int] | None,
) -> Callable[[Any, Any], float]:
    """The squared difference function ``d(c, k)`` of ``level`` (0 when ``c == k``)."""
    if level == "nominal":
        return lambda c, k: 0.0 if c == k else 1.0
    if level == "interval":
        return lambda c, k: float((c - k) ** 2)
    if level == "ratio":

        def ratio(c, k) -> float:
            total = c + k
            return 0.0 if total == 0 else float(((c - k) / total) ** 2)

        return ratio
    # ordinal: ranks in the domain order (or numeric order), cumulative pairable counts
    ranked = sorted(totals, key=order.__getitem__) if order is not None else sorted(totals)
    rank = {value: index for index, value in enumerate(ranked)}
    cumulative = [0]
    for value in ranked:
        cumulative.append(cumulative[-1] + totals[value])

    def ordinal(c, k) -> float:
        low, high = sorted((rank[c], rank[k]))
        between = cumulative[high + 1] - cumulative[low]
        return float((between - (totals[c] + totals[k]) / 2) ** 2)

    return ordinal


# ---------------------------------------------------------------------------
# Cohen's kappa
# ---------------------------------------------------------------------------


def cohen_kappa(labels_a: Sequence[Hashable | None], labels_b: Sequence[Hashable | None]) -> float:
    """Cohen's (1960) kappa for two coders who labelled the same items.

    ``kappa = (p_o - p_e) / (1 - p_e)`` where ``p_o`` is the share of items on which the two
    labels are equal and ``p_e = sum_c p_a(c) * p_b(c)`` uses each coder's own label
    distribution. Computed from integer counts, so it is exact up to the final division.
    It equals scikit-learn's ``cohen_kappa_score`` and nltk's ``AnnotationTask.kappa``.
    The result does not depend on the order of the two arguments.

    Args:
        labels_a: The first coder's labels, one per item (any hashable).
        labels_b: The second coder's labels for the same items, same length.
            An item where either label is ``None`` (or a float NaN) is dropped from both
            sequences before anything is counted.

    Returns:
        Kappa as a float in [-1, 1]. ``float("nan")`` when no item is left after dropping
        the missing pairs (including two empty sequences), or when ``p_e == 1``: both coders
        used one and the same label for every item, so agreement cannot exceed chance.

    Raises:
        ValueError: the sequences differ in length, or a label is not hashable.
    """
    a, b = list(labels_a), list(labels_b)
    if len(a) != len(b):
        raise ValueError(f"labels_a has {len(a)} items and labels_b has {len(b)}; they must match")
    if set(map(type, a)) | set(map(type, b)) <= {str}:
        # Nothing missing, everything hashable: count at C speed (the same integers).
        count_a, count_b = Counter(a), Counter(b)
        total, agree = len(a), sum(map(operator.eq, a, b))
        return _kappa(total, agree, count_a, count_b)
    count_a = Counter()
    count_b = Counter()
    agree = total = 0
    for index, (x, y) in enumerate(zip(a, b, strict=True)):
        if _is_missing(x) or _is_missing(y):
            continue
        try:
            count_a[x] += 1
            count_b[y] += 1
        except TypeError:
            raise ValueError(f"item {index}: labels must be hashable") from None
        total += 1
        agree += x == y
    return _kappa(total, agree, count_a, count_b)


def cohen_kappa_table(table: Mapping[tuple[Hashable, Hashable], int]) -> float:
    """Cohen's kappa from a contingency table: ``{(label_a, label_b): number of items}``.

    The same value as :func:`cohen_kappa` on the two label sequences the table counts
    (missing labels already left out), for data kept as counts instead of item lists.

    Raises:
        ValueError: a key is not a pair, or a count is not a non-negative integer.
    """
    count_a: Counter[Hashable] = Counter()
    count_b: Counter[Hashable] = Counter()
    agree = total = 0
    for key, count in table.items():
        if not isinstance(key, tuple) or len(key) != 2:
            raise ValueError(f"table key {key!r} is not a (label_a, label_b) pair")
        n = _whole(count, f"table[{key!r}]")
        x, y = key
        count_a[x] += n
        count_b[y] += n
        total += n
        if x == y:
            agree += n
    return _kappa(total, agree, count_a, count_b)


def _kappa(total: int, agree: int, count_a: Counter[Hashable], count_b: Counter[Hashable]
           ) -> float:
    if total == 0:
        return NAN
    chance = sum(count_a[c] * count_b[c] for c in count_a)
    denominator = total * total - chance
    if denominator == 0:
        return NAN
    return float(Fraction(total * agree - chance, denominator))


# ---------------------------------------------------------------------------
# Fleiss' kappa
# ---------------------------------------------------------------------------


def fleiss_kappa(table: Sequence[Sequence[int]], *, weights: Sequence[int] | None = None
                 ) -> float:
    """Fleiss' (1971) kappa for a fixed number of raters per subject.

    With ``N`` subjects, ``n`` ratings per subject and ``n_ij`` the number of raters who put
    subject ``i`` in category ``j``: ``P_i = (sum_j n_ij**2 - n) / (n * (n - 1))``,
    ``P_bar`` the mean of the ``P_i``, ``p_j = sum_i n_ij / (N * n)``,
    ``P_e = sum_j p_j**2`` and ``kappa = (P_bar - P_e) / (1 - P_e)``. Computed with integers,
    exact up to the final division. It equals statsmodels'
    ``statsmodels.stats.inter_rater.fleiss_kappa`` (method ``"fleiss"``) and nltk's
    ``AnnotationTask.pi`` (multi-pi, Siegel and Castellan's K) on complete data.

    Args:
        table: One row per subject, one column per category; each cell is the number of
            raters who chose that category for that subject (a non-negative integer; floats
            with an integral value are accepted). Every row must have the same length and
            sum to the same number of raters ``n >= 2``.
        weights: Optional, one per row: the number of subjects the row stands for (a
            non-negative integer), so that subjects rated alike can be given once. The
            result is that of the table with each row repeated ``weight`` times.

    Returns:
        Kappa as a float (at most 1.0). ``float("nan")`` when the table has no rows, or when
        ``P_e == 1``: every rating in the table is the same category.

    Raises:
        ValueError: a row has a different length than row 0, or sums to a different number
            of raters than row 0 (the message names the row); a cell is not a non-negative
            integer; the rows sum to fewer than 2 raters; ``weights`` does not give one
            non-negative integer per row.
    """
    rows = [list(row) for row in table]
    if not rows:
        return NAN
    if weights is None:
        repeats = [1] * len(rows)
    else:
        repeats = [_whole(w, f"weights[{i}]") for i, w in enumerate(weights)]
        if len(repeats) != len(rows):
            raise ValueError(f"weights has {len(repeats)} items for {len(rows)} table rows")
    width = len(rows[0])
    raters: int | None = None
    column_totals = [0] * width
    squares = 0
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"table row {i} has {len(row)} categories; row 0 has {width}")
        counts = [_count(cell, i, j) for j, cell in enumerate(row)]
        row_total = sum(counts)
        if raters is None:
            raters = row_total
            if raters < 2:
                raise ValueError(
                    f"table row 0 sums to {raters} ratings; Fleiss' kappa needs at least 2 "
                    "raters per subject"
                )
        elif row_total != raters:
            raise ValueError(
                f"table row {i} sums to {row_total} ratings but row 0 sums to {raters}; "
                "every subject must be rated by the same number of raters"
            )
        repeat = repeats[i]
        for j, count in enumerate(counts):
            column_totals[j] += count * repeat
            squares += count * count * repeat
    assert raters is not None
    all_ratings = sum(repeats) * raters  # N * n
    chance = sum(total * total for total in column_totals)  # (N n)^2 * P_e
    denominator = (all_ratings * all_ratings - chance) * (raters - 1)
    if denominator == 0:
        return NAN
    numerator = (squares - all_ratings) * all_ratings - chance * (raters - 1)
    return float(Fraction(numerator, denominator))


def _count(cell: object, row: int, column: int) -> int:
    """A table cell as a non-negative int, or ValueError."""
    if type(cell) is int and cell >= 0:  # the common case, without the ABC checks below
        return cell
    return _whole(cell, f"table[{row}][{column}]")


def _whole(value: object, where: str) -> int:
    """``value`` as a non-negative int (an integral float is accepted), or ValueError."""
    if type(value) is int and value >= 0:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{where} = {value!r} is not a count")
    if isinstance(value, numbers.Integral):
        number = int(value)
    else:
        as_float = float(value)
        if not as_float.is_integer():
            raise ValueError(f"{where} = {value!r} is not a whole number")
        number = int(as_float)
    if number < 0:
        raise ValueError(f"{where} = {value!r} is negative")
    return number
