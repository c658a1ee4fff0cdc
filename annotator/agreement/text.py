"""The agreement report as plain text, for the terminal."""

from __future__ import annotations

from typing import Any

from .report import FIELDS


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def format_report(report: dict[str, Any]) -> str:
    """A few readable tables: summary, pairs, fields, annotators, most-disagreed documents."""
    summary = report["summary"]
    lines = [
        f"Documents: {summary['documents']} ({summary['documents_compared']} with 2+ coders)"
        f"   annotators: {', '.join(summary['annotators']) or '—'}",
        f"Span identification: F1 exact {_fmt(summary['f1_exact'])}, "
        f"overlap {_fmt(summary['f1_overlap'])}, unitizing alpha {_fmt(summary['alpha_u'])}",
        "",
        "Pairs                       spans   F1 exact  F1 overlap  kappa stance",
    ]
    for pair in report["pairs"]:
        names = f"{pair['a']} / {pair['b']}"
        lines.append(f"{names:<26} {pair['spans_a']:>4}/{pair['spans_b']:<4}"
                     f"  {_fmt(pair['f1_exact']):>7}  {_fmt(pair['f1_overlap']):>10}"
                     f"  {_fmt(pair['kappa']['stance']):>12}")
    lines += ["", "Field on matched claims   Krippendorff a  Fleiss k  mean pair k  units"]
    for field in FIELDS:
        f = report["fields"][field]
        lines.append(f"{field:<25} {_fmt(f['krippendorff_alpha']):>14}  "
                     f"{_fmt(f['fleiss_kappa']):>8}  {_fmt(f['mean_pair_kappa']):>11}  "
                     f"{f['units']:>5}")
    lines += ["", f"{'':21}{'compared':<19}coded in all",
              "Annotator            documents  claims  documents  claims  F1 overlap  kappa stance"]
    for a in report["annotators"]:
        lines.append(f"{a['annotator']:<20} {a['documents_compared']:>9}  "
                     f"{a['claims_compared']:>6}  {a['documents_coded']:>9}  "
                     f"{a['claims_coded']:>6}  {_fmt(a['f1_overlap']):>10}  "
                     f"{_fmt(a['stance_kappa']):>12}")
    if report.get("gold"):
        lines += ["", "Against gold         documents  F1 exact  F1 overlap  kappa stance"]
        for g in report["gold"]:
            lines.append(f"{g['annotator']:<20} {g['documents']:>9}  {_fmt(g['f1_exact']):>8}  "
                         f"{_fmt(g['f1_overlap']):>10}  {_fmt(g['kappa']['stance']):>12}")
    if report["documents"]:
        lines += ["", "Most disagreed documents  (disagreement, F1 overlap)"]
        for d in report["documents"]:
            lines.append(f"  {_fmt(d['disagreement'])}  {_fmt(d['overlap_f1'])}  {d['id']}  "
                         f"{d['title'][:60]}")
    return "\n".join(lines)
