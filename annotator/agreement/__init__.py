"""Inter-annotator agreement: pure functions, standard library only.

Nothing here imports Flask, SQLAlchemy or the rest of the application, so the module can
be used on any tool's data (``from annotator.agreement import krippendorff_alpha``).

* :func:`krippendorff_alpha` — Krippendorff's alpha, nominal/ordinal/interval/ratio,
  any number of coders, missing values.
* :func:`krippendorff_alpha_units` — the same from units given by their values, each
  combination of values counted once (no coder × unit matrix).
* :func:`cohen_kappa` — Cohen's kappa for two coders; :func:`cohen_kappa_table` from a
  contingency table.
* :func:`fleiss_kappa` — Fleiss' kappa from a subjects × categories count table (rows may
  carry weights: how many subjects each stands for).
* :func:`span_f1` — precision/recall/F1 of two annotators' spans (exact or overlap match,
  one-to-one), returning a :class:`SpanF1`.
* :func:`unitizing_alpha` — Krippendorff's unitizing alpha (uα, |uα, or the 2004 uα) for
  span identification on a character continuum; :func:`unitizing_tally` gives the sums
  behind uα and |uα, which add up over documents (:class:`UnitizingTally`).

Also here, for the agreement pages: ``report`` (the project report from export records),
``text`` (it as plain text), ``svg`` (charts as escaped SVG markup) and ``highlight`` (a
text cut at claim boundaries).

Undefined coefficients (no data, a single coder, no variation) are ``float("nan")``;
malformed input raises ``ValueError``.
"""

from .metrics import (
    cohen_kappa,
    cohen_kappa_table,
    fleiss_kappa,
    krippendorff_alpha,
    krippendorff_alpha_units,
)
from .spans import SpanF1, span_f1
from .unitizing import UnitizingTally, unitizing_alpha, unitizing_tally

__all__ = [
    "SpanF1",
    "UnitizingTally",
    "cohen_kappa",
    "cohen_kappa_table",
    "fleiss_kappa",
    "krippendorff_alpha",
    "krippendorff_alpha_units",
    "span_f1",
    "unitizing_alpha",
    "unitizing_tally",
]
