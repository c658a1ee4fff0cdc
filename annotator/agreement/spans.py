"""Span-level agreement: precision, recall and F1 of two sets of labelled spans.

Standard library only. Spans are ``(start, end, label)`` with integer offsets, ``end``
exclusive (``text[start:end]``), and any hashable label.
"""

from __future__ import annotations

import numbers
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["Span", "SpanF1", "span_f1"]

Span = tuple[int, int, Hashable]
MatchMode = Literal["exact", "overlap"]


@dataclass(frozen=True, slots=True)
class SpanF1:
    """The result of :func:`span_f1`.

    Attributes:
        precision: ``matched / n_b`` (``spans_b`` judged against ``spans_a``).
        recall: ``matched / n_a``.
        f1: ``2 * matched / (n_a + n_b)``, the harmonic mean of precision and recall.
        matched: Number of one-to-one pairs (true positives).
        n_a: Number of spans in ``spans_a``.
        n_b: Number of spans in ``spans_b``.
        pairs: The matched pairs as ``(index in spans_a, index in spans_b)``, sorted by the
            index in ``spans_a``.
    """

    precision: float
    recall: float
    f1: float
    matched: int
    n_a: int
    n_b: int
    pairs: tuple[tuple[int, int], ...]


def span_f1(
    spans_a: Sequence[Span],
    spans_b: Sequence[Span],
    mode: MatchMode = "exact",
) -> SpanF1:
    """Agreement between two annotators' spans as precision, recall and F1.

    ``spans_a`` is taken as the reference: every span of ``a`` left unmatched is a false
    negative, every span of ``b`` left unmatched is a false positive, so
    ``precision = matched / len(spans_b)``, ``recall = matched / len(spans_a)`` and
    ``f1 = 2 * matched / (len(spans_a) + len(spans_b))``. Swapping the arguments swaps
    precision and recall and leaves ``f1`` and ``matched`` unchanged.

    Spans are paired one to one: a span takes part in at most one pair, so two spans of
    ``a`` that both overlap a single span of ``b`` count as one match (and one false
    negative).

    * ``"exact"``: a pair needs the same start, end and label. Identical spans repeated
      within one side are matched in input order (the k-th copy in ``a`` with the k-th copy
      in ``b``), so ``matched`` is the size of the multiset intersection.
    * ``"overlap"``: a pair needs the same label and at least one shared character
      (``max(start) < min(end)``). The pairs form an optimal assignment: first the
      largest possible number of pairs (a maximum-cardinality matching), and among all
      matchings of that size one with the largest total number of shared characters.
      It is computed exactly (the Hungarian algorithm on each connected group of
      overlapping spans, weight ``M + overlap`` per pair with ``M`` larger than any total
      overlap); when several matchings tie on both counts the choice is deterministic —
      the same inputs in the same order always give the same ``pairs``. The cost is
      O(k³) for a group of k spans linked by overlaps: nothing for ordinary documents,
      seconds for hundreds of spans that all overlap one another.

    Args:
        spans_a: Reference spans ``(start, end, label)``; ``0 <= start < end``, integers.
        spans_b: The other annotator's spans, same form.
        mode: ``"exact"`` or ``"overlap"``.

    Returns:
        A :class:`SpanF1`. When both sides are empty, precision, recall and F1 are all 1.0
        (the annotators agree that there is nothing to mark) and ``matched`` is 0. When only
        ``spans_b`` is empty, precision is 0.0 (as scikit-learn's default
        ``zero_division``), recall and F1 are 0.0; when only ``spans_a`` is empty, recall is
        0.0 and precision and F1 are 0.0.

    Raises:
        ValueError: ``mode`` is not ``"exact"`` or ``"overlap"``; a span is not a 3-item
            sequence, its offsets are not integers, ``start < 0`` or ``end <= start``, or its
            label is not hashable (the message names the side and index).
    """
    if mode not in ("exact", "overlap"):
        raise ValueError(f"mode must be 'exact' or 'overlap', not {mode!r}")
    a = [_check_span(span, "spans_a", index) for index, span in enumerate(spans_a)]
    b = [_check_span(span, "spans_b", index) for index, span in enumerate(spans_b)]
    pairs = _exact_pairs(a, b) if mode == "exact" else _overlap_pairs(a, b)
    matched, n_a, n_b = len(pairs), len(a), len(b)
    if n_a == 0 and n_b == 0:
        return SpanF1(1.0, 1.0, 1.0, 0, 0, 0, ())
    precision = matched / n_b if n_b else 0.0
    recall = matched / n_a if n_a else 0.0
    f1 = 2 * matched / (n_a + n_b)
    return SpanF1(precision, recall, f1, matched, n_a, n_b, tuple(sorted(pairs)))


def _check_span(span: object, side: str, index: int) -> Span:
    """``span`` as a validated ``(start, end, label)`` tuple, or ValueError."""
    if type(span) is tuple and len(span) == 3:  # the common case, without ABC checks
        start, end, label = span
        if type(start) is int and type(end) is int and 0 <= start < end and (
                type(label) is str or label is None):
            return span
    where = f"{side}[{index}] = {span!r}"
    if isinstance(span, str | bytes) or not isinstance(span, Sequence) or len(span) != 3:
        raise ValueError(f"{where}: a span is a (start, end, label) triple")
    start, end, label = span
    for offset in (start, end):
        if isinstance(offset, bool) or not isinstance(offset, numbers.Integral):
            raise ValueError(f"{where}: offsets must be integers")
    start, end = int(start), int(end)
    if start < 0 or end <= start:
        raise ValueError(f"{where}: offsets must satisfy 0 <= start < end")
    try:
        hash(label)
    except TypeError:
        raise ValueError(f"{where}: the label must be hashable") from None
    return (start, end, label)


def _exact_pairs(a: list[Span], b: list[Span]) -> list[tuple[int, int]]:
    """Pair identical spans, the k-th copy in ``a`` with the k-th copy in ``b``."""
    waiting: dict[Span, list[int]] = defaultdict(list)
    for j, span in enumerate(b):
        waiting[span].append(j)
    pairs: list[tuple[int, int]] = []
    used: dict[Span, int] = defaultdict(int)
    for i, span in enumerate(a):
        candidates = waiting.get(span)
        if candidates and used[span] < len(candidates):
            pairs.append((i, candidates[used[span]]))
            used[span] += 1
    return pairs


def _overlap_pairs(a: list[Span], b: list[Span]) -> list[tuple[int, int]]:
    """An optimal assignment of same-label overlapping spans (see :func:`span_f1`)."""
    # Candidate edges, found per label with b sorted by start (j unique: labels never
    # compared).
    b_by_label: dict[Hashable, list[tuple[int, int, int]]] = {}
    for b_start, b_end, j, label in sorted(
            [(span[0], span[1], j, span[2]) for j, span in enumerate(b)]):
        b_by_label.setdefault(label, []).append((b_start, b_end, j))
    edges: dict[tuple[int, int], int] = {}
    degree_a = [0] * len(a)
    degree_b = [0] * len(b)
    for i, (start, end, label) in enumerate(a):
        for b_start, b_end, j in b_by_label.get(label, ()):
            if b_start >= end:
                break
            if b_end > start:  # they share min(ends) - max(starts) > 0 characters
                edges[i, j] = (b_end if b_end < end else end) - (
                    b_start if b_start > start else start)
                degree_a[i] += 1
                degree_b[j] += 1
    if not edges:
        return []

    # An edge whose two spans overlap nothing else is a pair of its own: no assignment.
    pairs: list[tuple[int, int]] = []
    shared: list[tuple[int, int]] = []
    for edge in edges:
        if degree_a[edge[0]] == 1 and degree_b[edge[1]] == 1:
            pairs.append(edge)
        else:
            shared.append(edge)
    if not shared:
        return pairs

    # Connected components of the rest (union-find over a-nodes i and b-nodes n_a + j).
    n_a = len(a)
    parent = list(range(n_a + len(b)))

    def find(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for i, j in shared:
        root_a, root_b = find(i), find(n_a + j)
        if root_a != root_b:
            parent[max(root_a, root_b)] = min(root_a, root_b)
    components: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for edge in sorted(shared):
        components[find(edge[0])].append(edge)

    for component in components.values():
        rows = sorted({i for i, _ in component})
        cols = sorted({j for _, j in component})
        if len(rows) == 1 or len(cols) == 1:
            # One span against several: the assignment below takes the first of the largest
            # overlaps (in index order); taken directly here.
            best = max(edges[edge] for edge in component)
            pairs.append(next(edge for edge in component if edges[edge] == best))
            continue
        big = 1 + sum(edges[edge] for edge in component)
        weight = [
            [big + edges[i, j] if (i, j) in edges else 0 for j in cols] for i in rows
        ]
        for r, c in _max_weight_assignment(weight):
            if weight[r][c]:
                pairs.append((rows[r], cols[c]))
    return pairs


def _max_weight_assignment(weight: list[list[int]]) -> list[tuple[int, int]]:
    """A maximum-weight assignment of a rectangular non-negative integer matrix.

    Returns ``(row, column)`` pairs covering every row (or every column, whichever is
    fewer). Hungarian algorithm with potentials (Kuhn-Munkres, O(n^2 m)) on the costs
    ``-weight``; deterministic.
    """
    if len(weight) == 2 and len(weight[0]) == 2:
        return _assignment_2x2(weight)
    transposed = len(weight) > len(weight[0])
    matrix = [list(column) for column in zip(*weight, strict=True)] if transposed else weight
    n, m = len(matrix), len(matrix[0])
    infinity = float("inf")
    columns = range(1, m + 1)
    u = [0] * (n + 1)
    v = [0] * (m + 1)
    owner = [0] * (m + 1)  # owner[j]: the row (1-based) assigned to column j, 0 if none
    way = [0] * (m + 1)
    for row in range(1, n + 1):
        owner[0] = row
        j0 = 0
        best = [infinity] * (m + 1)
        used = [False] * (m + 1)
        while True:
            used[j0] = True
            i0 = owner[j0]
            costs = matrix[i0 - 1]
            u_i0 = u[i0]
            delta = infinity
            j1 = 0
            for j in columns:
                if used[j]:
                    continue
                reduced = -costs[j - 1] - u_i0 - v[j]
                if reduced < best[j]:
                    best[j] = reduced
                    way[j] = j0
                if best[j] < delta:
                    delta = best[j]
                    j1 = j
            for j in range(m + 1):
                if used[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    best[j] -= delta
            j0 = j1
            if owner[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    result = [(owner[j] - 1, j - 1) for j in columns if owner[j]]
    if transposed:
        result = [(column, row) for row, column in result]
    return result


def _assignment_2x2(weight: list[list[int]]) -> list[tuple[int, int]]:
    """What :func:`_max_weight_assignment` returns for a 2 x 2 matrix, without its loops.

    Traced from the algorithm: each row takes its best column (the first on a tie); if both
    want the same column ``c``, the row that loses less by taking the other column ``o``
    moves there, row 1 (the second) on a tie.
    """
    (p, q), (r, s) = weight
    first = 0 if p >= q else 1
    second = 0 if r >= s else 1
    if first != second:
        return [(0, first), (1, second)]
    c, o = first, 1 - first
    if weight[0][c] - weight[0][o] < weight[1][c] - weight[1][o]:
        return [(0, o), (1, c)]
    return [(0, c), (1, o)]
