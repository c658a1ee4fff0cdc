"""Krippendorff's unitizing alpha: agreement on where units are in a continuum (and their labels).

Standard library only; all sums are exact integers or fractions, converted to ``float`` once.

Each coder marks units ``(start, end, label)`` on a continuum ``[0, L)`` (for text: code
point offsets, ``end`` exclusive). What a coder did not mark is a gap. Three coefficients
are available through :func:`unitizing_alpha`'s ``variant``:

``"u"`` (default) — uα of Krippendorff, Mathet, Bouvry and Widlöcher, "On the reliability of
unitizing textual continua: Further developments", *Quality & Quantity* 50 (2016) 2347–2364,
also Krippendorff, *Content Analysis*, 4th ed. (2019), section 12.6. Every coder's units and
gaps partition the continuum into segments whose value is a label or the gap φ. For every
ordered pair of coders ``i != j``, each character counts once in the coincidence matrix cell
of the two values it has, so

    l_ck = 1/(m-1) * sum over i != j of sum over segments g of i with value c and
           h of j with value k of |g ∩ h|

and ``l_c. = N_c`` (the characters with value ``c``, over all coders), ``l.. = T = m L``.
Expected coincidences exclude pairing a segment with itself: a unit of length ``l`` cannot
pair its characters with one another (``l**2`` pairs removed) while a gap can be cut
anywhere (``l`` pairs removed, as for ``l`` single characters):

    e_ck = T * (N_c N_k - [c = k] * C_c) / (T**2 - C),
    C_c = sum of l**2 over units of value c (sum of l over gaps for c = φ),  C = sum_c C_c

and with the nominal difference (every mismatch, label against label or against gap,
counts 1)

    uα = 1 - D_o / D_e,  D_o = sum_{c != k} l_ck,
         D_e = sum_{c != k} e_ck = T (T**2 - sum_c N_c**2) / (T**2 - C).

uα compares values character by character: a unit and two adjacent units with the same
label covering the same stretch are in perfect observed agreement (the split only enters
the expected disagreement through the ``l**2`` terms). When every unit is one character
long this is exactly Krippendorff's nominal alpha with one unit per character (the gap
being one more value), which the tests check against the ``krippendorff`` package.

``"binary"`` — |uα of the same paper: whether a stretch is marked at all, labels ignored.
It is uα after replacing every label by one common label (units stay separate units, so
the ``l**2`` corrections are the same), which equals collapsing uα's coincidence matrices to
"gap" against "any unit". With a single label ``"binary"`` and ``"u"`` coincide: for claim
spans (identification only) either gives the identification agreement.

``"2004"`` — the earlier uα of Krippendorff, "Measuring the reliability of qualitative text
analysis data", *Quality & Quantity* 38 (2004) 787–800 (its worked example, fig. 2, is
also in *Content Analysis*, 2nd ed., 2004, p. 254), which corrects Krippendorff 1995,
*Sociological Methodology* 25:47–76.
Each label ``c`` is assessed on its own: a coder's units of ``c`` and the gaps between them
(other labels count as gap) partition the continuum; for segments ``g`` of coder ``i`` and
``h`` of coder ``j`` (begin ``b``, length ``l``, ``w = 1`` for a unit, 0 for a gap):

    δ²(g, h) = (b_g - b_h)**2 + (b_g + l_g - b_h - l_h)**2  two units that overlap
             = l_g**2                                       unit g inside gap h
             = l_h**2                                       unit h inside gap g
             = 0                                            otherwise

    D_o(c) = sum over ordered pairs i != j of sum_g sum_h δ²(g, h) / (m (m-1) L**2)

    D_e(c) = (2/L) * sum over units g of c of
               [ (N_c - 1) (2 l_g**3 - 3 l_g**2 + l_g) / 3
                 + l_g**2 * sum over gaps h (all coders) with l_h >= l_g of (l_h - l_g + 1) ]
             / ( m L (m L - 1) - sum over units g of c of l_g (l_g - 1) )

with ``N_c`` the number of units of ``c`` over all coders; ``α(c) = 1 - D_o(c) / D_e(c)``
and the overall value ``1 - sum_c D_o(c) / sum_c D_e(c)``. The 2016 paper revised this
definition because it misbehaves with more than two coders; it is offered to reproduce
published values.
"""

from __future__ import annotations

import bisect
import numbers
import operator
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

__all__ = ["UnitizingTally", "unitizing_alpha", "unitizing_tally"]

Unit = tuple[int, int, Hashable]
Variant = Literal["u", "binary", "2004"]
OverlapPolicy = Literal["error", "merge"]
NAN = float("nan")


class _Gap:
    """The value of every stretch a coder did not mark (φ); never equal to a label."""

    def __repr__(self) -> str:
        return "<gap>"


class _AnyLabel:
    """The single label that ``variant="binary"`` gives every unit."""

    def __repr__(self) -> str:
        return "<unit>"


_GAP = _Gap()
_ANY = _AnyLabel()
_BOUNDS = operator.itemgetter(0, 1)  # a unit's (start, end), to sort units by position


def _checked_input(
    annotations: Sequence[Sequence[Unit]], continuum_length: int, overlaps: str
) -> tuple[list[list[Unit]], int]:
    """The coders' units, checked, and the continuum's length; ValueError naming the fault."""
    if overlaps not in ("error", "merge"):
        raise ValueError(f"overlaps must be 'error' or 'merge', not {overlaps!r}")
    if (
        isinstance(continuum_length, bool)
        or not isinstance(continuum_length, numbers.Integral)
        or continuum_length < 0
    ):
        raise ValueError(
            f"continuum_length must be a non-negative integer, not {continuum_length!r}"
        )
    length = int(continuum_length)
    coders = [
        [_check_unit(unit, coder, index, length) for index, unit in enumerate(units)]
        for coder, units in enumerate(annotations)
    ]
    return coders, length


def unitizing_alpha(
    annotations: Sequence[Sequence[Unit]],
    continuum_length: int,
    *,
    variant: Variant = "u",
    overlaps: OverlapPolicy = "error",
) -> float:
    """Krippendorff's unitizing alpha for coders who marked units on a common continuum.

    See the module documentation for the formulas of the three variants: ``"u"`` (uα,
    Krippendorff et al. 2016, the default), ``"binary"`` (|uα, same paper, labels ignored)
    and ``"2004"`` (Krippendorff 2004's per-label uα, pooled as
    ``1 - sum D_o / sum D_e``). To assess one label with ``"2004"``, pass only that
    label's units. To pool several documents into one value, put them end to end on one
    continuum (add each document's start offset to its units), or for ``"u"`` and
    ``"binary"`` add up the documents' :func:`unitizing_tally` (the same value, without
    building the long continuum).

    Args:
        annotations: One entry per coder, each a sequence of units ``(start, end, label)``
            with integer ``0 <= start < end <= continuum_length`` (``end`` exclusive) and any
            hashable label. A coder with no units marked nothing (all gap) and still counts.
            For identification only, give every unit the same label (or use ``"binary"``).
        continuum_length: ``L``, the length of the continuum (for a text, its number of
            code points).
        variant: ``"u"``, ``"binary"`` or ``"2004"``.
        overlaps: What to do when one coder's units overlap (share a character; units that
            merely touch are separate units and always allowed). ``"error"`` raises
            ValueError. ``"merge"`` replaces overlapping units with the same label by their
            union (for ``"binary"``, whatever their labels) — e.g. nested claims become the
            stretch covered by claims. Overlapping units with different labels still raise
            for ``"u"``, as a character cannot have two values; for ``"2004"`` units of
            different labels may always overlap, each label being assessed on its own.

    Returns:
        Alpha as a float: 1.0 for perfect agreement, about 0 at chance, negative below.
        ``float("nan")`` when it is undefined: no coders, a single coder,
        ``continuum_length == 0``, or no variation — for ``"u"``/``"binary"`` one value
        covers the whole continuum for every coder (nobody marked anything, or everybody
        marked all of it with the same label); for ``"2004"`` no unit at all, or an expected
        disagreement of 0 (every coder covers the continuum with one-character units of the
        one label). The ``"2004"`` expected disagreement ranges over all possible
        unitizations, so coders who all mark the whole continuum as one unit get 1.0 there.

    Raises:
        ValueError: ``variant`` or ``overlaps`` is not one of the names above;
            ``continuum_length`` is not a non-negative integer; a unit is not a
            ``(start, end, label)`` triple, its offsets are not integers or fall outside
            ``0 <= start < end <= continuum_length``, or its label is not hashable; one
            coder's units overlap and ``overlaps="error"`` (or, for ``"u"``, they overlap
            with different labels). Messages name the coder and unit.
    """
    if variant not in ("u", "binary", "2004"):
        raise ValueError(f"variant must be 'u', 'binary' or '2004', not {variant!r}")
    coders, length = _checked_input(annotations, continuum_length, overlaps)
    if len(coders) < 2 or length == 0:
        return NAN
    if variant == "binary":
        coders = [[(start, end, _ANY) for start, end, _ in units] for units in coders]
    if variant == "2004":
        return _alpha_2004(coders, length, overlaps)
    return _tally_2016(coders, length, overlaps).alpha()


@dataclass
class UnitizingTally:
    """The integer sums behind uα and |uα (2016) of ``coders`` coders on a continuum.

    Tallies add up: the tally of several continua put end to end (the same coders on each)
    is the sum of their tallies, so a corpus can be assessed one document at a time
    (``total = a + b``, or ``total.add(b)`` in place) and :meth:`alpha` gives exactly what
    :func:`unitizing_alpha` gives on the documents put end to end.

    Attributes:
        coders: ``m``.
        length: ``L``, the length of the continuum.
        disagreeing_pairs: ``(m - 1) * D_o``: every character counted once per ordered pair
            of coders whose values (label, or gap) differ there.
        unit_squares: ``sum of l**2`` over the (merged) units of every coder.
        totals: ``N_c`` per label: the characters coded ``c``, over all coders (the gap is
            what is left of ``m * L``).
    """

    coders: int
    length: int = 0
    disagreeing_pairs: int = 0
    unit_squares: int = 0
    totals: Counter[Hashable] = field(default_factory=Counter)

    def add(self, other: UnitizingTally) -> None:
        """Add ``other`` (a continuum put after this one) in place."""
        if other.coders != self.coders:
            raise ValueError(f"cannot add a tally of {other.coders} coders to one of "
                             f"{self.coders}")
        self.length += other.length
        self.disagreeing_pairs += other.disagreeing_pairs
        self.unit_squares += other.unit_squares
        totals = self.totals
        for label, size in other.totals.items():
            totals[label] += size

    def __add__(self, other: UnitizingTally) -> UnitizingTally:
        total = UnitizingTally(self.coders, self.length, self.disagreeing_pairs,
                               self.unit_squares, Counter(self.totals))
        total.add(other)
        return total

    def alpha(self) -> float:
        """uα (or |uα, as tallied); ``float("nan")`` when undefined (see unitizing_alpha)."""
        m = self.coders
        if m < 2 or self.length == 0:
            return NAN
        total = m * self.length  # T = l..
        gaps = total - sum(self.totals.values())  # N_φ
        spread = total * total - sum(n * n for n in self.totals.values()) - gaps * gaps
        if spread == 0:  # T**2 - sum N_c**2 (the gap included): no variation
            return NAN
        # C: l**2 per unit, l per gap (a coder's gaps add up to what it did not cover)
        correction = self.unit_squares + gaps
        observed = Fraction(self.disagreeing_pairs, m - 1)
        expected = Fraction(total * spread, total * total - correction)
        return float(1 - observed / expected)


def unitizing_tally(
    annotations: Sequence[Sequence[Unit]],
    continuum_length: int,
    *,
    variant: Literal["u", "binary"] = "u",
    overlaps: OverlapPolicy = "error",
) -> UnitizingTally:
    """The :class:`UnitizingTally` of uα (``"u"``) or |uα (``"binary"``) for one continuum.

    Arguments and errors as :func:`unitizing_alpha` (which, for these two variants, is
    ``unitizing_tally(...).alpha()``). With fewer than two coders or an empty continuum
    nothing is tallied and :meth:`UnitizingTally.alpha` is NaN.
    """
    if variant not in ("u", "binary"):
        raise ValueError(f"variant must be 'u' or 'binary', not {variant!r}")
    coders, length = _checked_input(annotations, continuum_length, overlaps)
    if len(coders) < 2 or length == 0:
        return UnitizingTally(len(coders), length)
    if variant == "binary":
        coders = [[(start, end, _ANY) for start, end, _ in units] for units in coders]
    return _tally_2016(coders, length, overlaps)


def _check_unit(unit: object, coder: int, index: int, length: int) -> Unit:
    """``unit`` as a validated ``(start, end, label)`` tuple, or ValueError."""
    if type(unit) is tuple and len(unit) == 3:  # the common case, without ABC checks
        start, end, label = unit
        if type(start) is int and type(end) is int and 0 <= start < end <= length and (
                type(label) is str or label is None):
            return unit
    where = f"annotations[{coder}][{index}] = {unit!r}"
    if isinstance(unit, str | bytes) or not isinstance(unit, Sequence) or len(unit) != 3:
        raise ValueError(f"{where}: a unit is a (start, end, label) triple")
    start, end, label = unit
    for offset in (start, end):
        if isinstance(offset, bool) or not isinstance(offset, numbers.Integral):
            raise ValueError(f"{where}: offsets must be integers")
    start, end = int(start), int(end)
    if not 0 <= start < end <= length:
        raise ValueError(
            f"{where}: offsets must satisfy 0 <= start < end <= continuum_length ({length})"
        )
    try:
        hash(label)
    except TypeError:
        raise ValueError(f"{where}: the label must be hashable") from None
    return (start, end, label)


def _resolve_overlaps(
    units: list[Unit], coder: int, overlaps: OverlapPolicy, *, mixed_labels_ok: bool
) -> list[Unit]:
    """One coder's units sorted by position, overlaps merged or reported.

    With ``mixed_labels_ok`` units of different labels may overlap (the caller treats each
    label separately); otherwise any overlap of different labels raises ValueError.
    """
    by_label: dict[Hashable, list[Unit]] = defaultdict(list)
    for unit in units:
        by_label[unit[2]].append(unit)
    resolved: list[Unit] = []
    for label_units in by_label.values():
        label_units.sort(key=_BOUNDS)
        merged: list[Unit] = []
        for unit in label_units:
            if merged and unit[0] < merged[-1][1]:
                if overlaps == "error":
                    raise ValueError(
                        f"coder {coder} has overlapping units {merged[-1]!r} and {unit!r}; "
                        "pass overlaps='merge' to use their union"
                    )
                previous = merged[-1]
                merged[-1] = (previous[0], max(previous[1], unit[1]), previous[2])
            else:
                merged.append(unit)
        resolved.extend(merged)
    if len(by_label) <= 1:  # one label: already sorted, and merged ones never overlap
        return resolved
    resolved.sort(key=_BOUNDS)
    if not mixed_labels_ok:
        for previous, unit in zip(resolved, resolved[1:], strict=False):
            if unit[0] < previous[1]:
                raise ValueError(
                    f"coder {coder} has overlapping units with different labels {previous!r} "
                    f"and {unit!r}; a character can have only one value for this variant "
                    "(variant='2004' assesses each label on its own; variant='binary' with "
                    "overlaps='merge' takes their union)"
                )
    return resolved


def _partition(units: list[Unit], length: int, gap: Hashable) -> list[Unit]:
    """Sorted non-overlapping ``units`` plus the gaps between them, covering ``[0, length)``."""
    segments: list[Unit] = []
    position = 0
    for start, end, label in units:
        if start > position:
            segments.append((position, start, gap))
        segments.append((start, end, label))
        position = end
    if position < length:
        segments.append((position, length, gap))
    return segments


# ---------------------------------------------------------------------------
# uα and |uα (Krippendorff, Mathet, Bouvry & Widlöcher 2016)
# ---------------------------------------------------------------------------


def _tally_2016(coders: list[list[Unit]], length: int, overlaps: OverlapPolicy
                ) -> UnitizingTally:
    m = len(coders)
    resolved = [_resolve_overlaps(units, coder, overlaps, mixed_labels_ok=False)
                for coder, units in enumerate(coders)]
    # N_c per label, each coder's covered length, and sum of l**2 over units
    totals: Counter[Hashable] = Counter()
    covered = []
    unit_squares = 0
    for units in resolved:
        coder_covered = 0
        for start, end, label in units:
            size = end - start
            totals[label] += size
            coder_covered += size
            unit_squares += size * size
        covered.append(coder_covered)
    # (m - 1) * D_o: every character counts once per ordered pair of coders whose values
    # differ there. For coders i and j that is cov_i + cov_j - both - same, "both" being the
    # characters both covered and "same" those of them with the same label.
    disagreeing_pairs = 0
    for i in range(m):
        for j in range(i + 1, m):
            both, same = _shared_coverage(resolved[i], resolved[j])
            disagreeing_pairs += 2 * (covered[i] + covered[j] - both - same)
    return UnitizingTally(m, length, disagreeing_pairs, unit_squares, totals)


def _shared_coverage(first: list[Unit], second: list[Unit]) -> tuple[int, int]:
    """Characters covered by both coders' units (sorted, disjoint), and those of them where
    the two units have the same label."""
    both = same = 0
    i = j = 0
    n_first, n_second = len(first), len(second)
    while i < n_first and j < n_second:
        start_1, end_1, label_1 = first[i]
        start_2, end_2, label_2 = second[j]
        shared = (end_1 if end_1 < end_2 else end_2) - (start_1 if start_1 > start_2 else start_2)
        if shared > 0:
            both += shared
            if label_1 == label_2:
                same += shared
        if end_1 <= end_2:
            i += 1
        else:
            j += 1
    return both, same


# ---------------------------------------------------------------------------
# uα of Krippendorff (2004)
# ---------------------------------------------------------------------------


def _delta_2004(g: Unit, h: Unit) -> int:
    """δ² of two segments ``(start, end, is_unit)`` of different coders (Krippendorff 2004)."""
    g_start, g_end, g_unit = g
    h_start, h_end, h_unit = h
    if g_unit and h_unit:
        if g_start < h_end and h_start < g_end:
            return (g_start - h_start) ** 2 + (g_end - h_end) ** 2
        return 0
    if g_unit and not h_unit:
        return (g_end - g_start) ** 2 if h_start <= g_start and g_end <= h_end else 0
    if h_unit and not g_unit:
        return (h_end - h_start) ** 2 if g_start <= h_start and h_end <= g_end else 0
    return 0


def _intersecting_pairs(first: list[Unit], second: list[Unit]):
    """Every pair of segments, one from each partition of the same range, that intersect."""
    i = j = 0
    while i < len(first) and j < len(second):
        yield first[i], second[j]
        if first[i][1] < second[j][1]:
            i += 1
        elif first[i][1] > second[j][1]:
            j += 1
        else:
            i += 1
            j += 1


def _disagreements_2004(
    coders: list[list[Unit]], length: int, overlaps: OverlapPolicy
) -> dict[Hashable, tuple[Fraction, Fraction]]:
    """``{label: (D_o, D_e)}`` of Krippendorff's (2004) uα, exact, labels in first-seen order."""
    m = len(coders)
    per_label: dict[Hashable, list[list[tuple[int, int]]]] = {}
    for coder, units in enumerate(coders):
        for start, end, label in _resolve_overlaps(units, coder, overlaps, mixed_labels_ok=True):
            per_label.setdefault(label, [[] for _ in coders])[coder].append((start, end))
    result: dict[Hashable, tuple[Fraction, Fraction]] = {}
    for label, spans in per_label.items():
        # Partitions into units (True) and gaps (False); spans are sorted per coder.
        partitions = [
            _partition([(s, e, True) for s, e in coder_spans], length, False)
            for coder_spans in spans
        ]
        squared = 0
        for i in range(m):
            for j in range(m):
                if i != j:
                    pairs = _intersecting_pairs(partitions[i], partitions[j])
                    squared += sum(_delta_2004(g, h) for g, h in pairs)
        observed = Fraction(squared, m * (m - 1) * length * length)

        unit_lengths = [e - s for coder_spans in spans for s, e in coder_spans]
        gaps = sorted(e - s for segments in partitions for s, e, is_unit in segments if not is_unit)
        # suffix sums of gap lengths, to sum (l_h - l + 1) over gaps with l_h >= l quickly
        suffix = [0] * (len(gaps) + 1)
        for index in range(len(gaps) - 1, -1, -1):
            suffix[index] = suffix[index + 1] + gaps[index]
        n_units = len(unit_lengths)
        numerator = 0  # times 3, to keep (2l^3 - 3l^2 + l) / 3 an integer sum
        for size in unit_lengths:
            first = bisect.bisect_left(gaps, size)
            fitting = len(gaps) - first
            placements = suffix[first] - (size - 1) * fitting
            numerator += (n_units - 1) * (2 * size**3 - 3 * size**2 + size)
            numerator += 3 * size * size * placements
        denominator = m * length * (m * length - 1) - sum(s * (s - 1) for s in unit_lengths)
        expected = Fraction(2 * numerator, 3 * length * denominator)
        result[label] = (observed, expected)
    return result


def _alpha_2004(coders: list[list[Unit]], length: int, overlaps: OverlapPolicy) -> float:
    disagreements = _disagreements_2004(coders, length, overlaps)
    observed = sum((d_o for d_o, _ in disagreements.values()), Fraction(0))
    expected = sum((d_e for _, d_e in disagreements.values()), Fraction(0))
    if expected == 0:
        return NAN
    return float(1 - observed / expected)
