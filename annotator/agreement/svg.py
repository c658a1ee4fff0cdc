"""Small server-side SVG charts for the agreement pages: a heatmap and a histogram.

Pure, standard library only: each function returns SVG markup as a ``str``. Every piece of
text that goes into it (titles, labels: annotator names and stance values are user data)
is escaped here, for element content and attribute values alike, and characters XML does
not allow are dropped, so the caller may mark the result safe (``markupsafe.Markup``)
without escaping it again. Colours are presentation attributes (``fill="#…"``), never
``style`` attributes, so the markup passes a Content-Security-Policy without
``'unsafe-inline'``; the charts size themselves through their ``viewBox``.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["escape", "heatmap", "histogram", "report_charts"]

# XML 1.0 allows tab, newline, carriage return and everything from U+0020 on, except the
# surrogates and U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
LOW = (247, 251, 255)  # the colour of the smallest value (near white)
HIGH = (8, 81, 156)  # the colour of the largest value (dark blue)
EMPTY = "#eeeeee"  # cells without a value
MAX_LABEL = 18  # characters of a label shown on an axis (the full label is its tooltip)


def escape(text: object) -> str:
    """``text`` as a string safe in SVG/HTML element content and quoted attribute values."""
    return html.escape(_NOT_XML.sub("", str(text)), quote=True)


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def _colour(fraction: float) -> str:
    fraction = min(1.0, max(0.0, fraction))
    r, g, b = (round(lo + (hi - lo) * fraction) for lo, hi in zip(LOW, HIGH, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def _number(value: float) -> str:
    """A coordinate: integers as integers, others with two decimals."""
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def _open(width: float, height: float, title: str, css_class: str) -> list[str]:
    label = escape(title)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{escape(css_class)}" '
        f'viewBox="0 0 {_number(width)} {_number(height)}" width="{_number(width)}" '
        f'height="{_number(height)}" role="img" aria-label="{label}">',
        f"<title>{label}</title>",
    ]


def _fraction(value: float, low: float, high: float) -> float:
    return 0.0 if high <= low else (value - low) / (high - low)


def heatmap(
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    title: str,
    value_range: tuple[float, float] | None = None,
    value_format: Callable[[float], str] = lambda v: f"{v:.2f}",
    cell: int = 48,
    css_class: str = "chart heatmap",
) -> str:
    """A grid of coloured cells, one per (row, column), with the value written in each.

    Args:
        row_labels, column_labels: The axes' labels (any text; escaped, and shortened to
            ``MAX_LABEL`` characters on the axis with the full label as the tooltip).
        values: One row per row label, one value per column label; ``None`` is a grey
            cell marked "—".
        title: The chart's accessible name and tooltip.
        value_range: The values coloured lightest and darkest; default: 0 to the largest
            value (or 1 when there is none).
        value_format: How a value is written in its cell and tooltip.
        cell: The side of a cell, in pixels.

    Raises:
        ValueError: ``values`` does not have one row per row label and one value per column
            label.
    """
    if len(values) != len(row_labels) or any(len(r) != len(column_labels) for r in values):
        raise ValueError("values must have one row per row label and one value per column")
    present = [v for row in values for v in row if v is not None and not math.isnan(v)]
    low, high = value_range if value_range is not None else (0.0, max(present, default=1.0))
    left = 12 + 7 * max((len(_short(label)) for label in row_labels), default=1)
    top = 12 + 5 * max((len(_short(label)) for label in column_labels), default=1)
    # rotated column labels reach to the right of their column by about 0.7 of their width
    width = left + cell * len(column_labels) + max(8, top - cell // 2)
    height = top + cell * len(row_labels) + 8
    parts = _open(width, height, title, css_class)
    for j, label in enumerate(column_labels):
        x, y = left + cell * j + cell / 2, top - 6
        parts.append(
            f'<text x="{_number(x)}" y="{_number(y)}" font-size="12" text-anchor="start" '
            f'transform="rotate(-45 {_number(x)} {_number(y)})" fill="#333333">'
            f"<title>{escape(label)}</title>{escape(_short(label))}</text>")
    for i, (label, row) in enumerate(zip(row_labels, values, strict=True)):
        y = top + cell * i
        parts.append(
            f'<text x="{left - 6}" y="{_number(y + cell / 2)}" font-size="12" '
            f'text-anchor="end" dominant-baseline="middle" fill="#333333">'
            f"<title>{escape(label)}</title>{escape(_short(label))}</text>")
        for j, value in enumerate(row):
            x = left + cell * j
            missing = value is None or math.isnan(value)
            fraction = 0.0 if missing else _fraction(value, low, high)
            shown = "—" if missing else value_format(value)
            fill = EMPTY if missing else _colour(fraction)
            ink = "#ffffff" if fraction > 0.55 else "#111111"
            tooltip = f"{row_labels[i]} / {column_labels[j]}: {shown}"
            parts.append(
                f'<g class="cell"><rect x="{x}" y="{y}" width="{cell}" height="{cell}" '
                f'fill="{fill}" stroke="#ffffff"><title>{escape(tooltip)}</title></rect>'
                f'<text x="{_number(x + cell / 2)}" y="{_number(y + cell / 2)}" '
                f'font-size="12" text-anchor="middle" dominant-baseline="middle" '
                f'fill="{ink}">{escape(shown)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def histogram(
    edges: Sequence[float],
    counts: Sequence[int],
    *,
    title: str,
    x_label: str,
    y_label: str,
    edge_format: Callable[[float], str] = lambda v: f"{v:.1f}",
    bar: int = 40,
    height: int = 160,
    css_class: str = "chart histogram",
) -> str:
    """Bars of ``counts`` over the bins between consecutive ``edges``.

    Raises:
        ValueError: there is not one more edge than counts.
    """
    if len(edges) != len(counts) + 1:
        raise ValueError("a histogram needs one more edge than counts")
    left, bottom, top = 44, 44, 14
    width = left + bar * len(counts) + 12
    total_height = top + height + bottom
    peak = max(counts, default=0)
    parts = _open(width, total_height, title, css_class)
    base = top + height
    parts.append(f'<line x1="{left}" y1="{base}" x2="{width - 8}" y2="{base}" '
                 'stroke="#999999"/>')
    for tick in sorted({0, peak}):
        y = base - (height * tick / peak if peak else 0)
        parts.append(f'<text x="{left - 6}" y="{_number(y)}" font-size="11" text-anchor="end" '
                     f'dominant-baseline="middle" fill="#333333">{tick}</text>')
    for n, count in enumerate(counts):
        x = left + bar * n
        h = height * count / peak if peak else 0
        span = f"{edge_format(edges[n])}–{edge_format(edges[n + 1])}"
        parts.append(
            f'<g class="bar"><rect x="{x + 3}" y="{_number(base - h)}" width="{bar - 6}" '
            f'height="{_number(h)}" fill="{_colour(0.35 + 0.65 * n / max(1, len(counts) - 1))}">'
            f"<title>{escape(f'{span}: {count}')}</title></rect>"
            f'<text x="{_number(x + bar / 2)}" y="{_number(base - h - 3)}" font-size="11" '
            f'text-anchor="middle" fill="#333333">{count if count else ""}</text></g>')
    for n in range(0, len(edges), 2):
        x = left + bar * n
        parts.append(f'<text x="{x}" y="{base + 14}" font-size="11" text-anchor="middle" '
                     f'fill="#333333">{escape(edge_format(edges[n]))}</text>')
    parts.append(f'<text x="{_number(left + bar * len(counts) / 2)}" y="{base + 34}" '
                 f'font-size="12" text-anchor="middle" fill="#333333">{escape(x_label)}</text>')
    parts.append(f'<text x="12" y="{_number(top + height / 2)}" font-size="12" '
                 f'text-anchor="middle" transform="rotate(-90 12 {_number(top + height / 2)})" '
                 f'fill="#333333">{escape(y_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def report_charts(report: dict[str, Any], *, stance_names: Mapping[str, str] | None = None
                  ) -> dict[str, str]:
    """The agreement report's charts (see annotator.agreement.report): ``pairs`` (overlap F1
    of every annotator pair), ``confusion`` (the stance confusion matrix) and ``f1``
    (documents by mean overlap F1). ``stance_names`` shows stance values by their labels.
    """
    names = report["summary"]["annotators"]
    f1 = {(p["a"], p["b"]): p["f1_overlap"] for p in report["pairs"]}
    pair_values = [[None if a == b else f1.get((a, b), f1.get((b, a))) for b in names]
                   for a in names]
    stances = report["stance_confusion"]["labels"]
    shown = [(stance_names or {}).get(s, s) for s in stances]
    histogram_data = report["f1_histogram"]
    return {
        "pairs": heatmap(names, names, pair_values, title="Span overlap F1 per annotator pair",
                         value_range=(0.0, 1.0)),
        "confusion": heatmap(shown, shown, report["stance_confusion"]["counts"],
                             title="Stance on matched claims (both orders)",
                             value_format=lambda v: str(int(v))),
        "f1": histogram(histogram_data["bins"], histogram_data["counts"],
                        title="Documents by mean overlap F1 of their annotator pairs",
                        x_label="overlap F1", y_label="documents"),
    }
