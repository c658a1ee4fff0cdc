"""Inter-annotator agreement: pure functions, standard library only.

Nothing here imports Flask, SQLAlchemy or the rest of the application, so the module can
be used on any tool's data (``from annotator.agreement import krippendorff_alpha``).

* :func:`krippendorff_alpha` — Krippendorff's alpha, nominal/ordinal/interval/ratio,
  any number of coders, missing values.
* :func:`cohen_kappa` — Cohen's kappa for two coders.
* :func:`fleiss_kappa` — Fleiss' kappa from a subjects × categories count table.
* :func:`span_f1` — precision/recall/F1 of two annotators' spans (exact or overlap match,
  one-to-one), returning a :class:`SpanF1`.
* :func:`unitizing_alpha` — Krippendorff's unitizing alpha (uα, |uα, or the 2004 uα) for
  span identification on a character continuum.

Undefined coefficients (no data, a single coder, no variation) are ``float("nan")``;
malformed input raises ``ValueError``.
"""

from .metrics import cohen_kappa, fleiss_kappa, krippendorff_alpha
from .spans import SpanF1, span_f1
from .unitizing import unitizing_alpha

__all__ = [
    "SpanF1",
    "cohen_kappa",
    "fleiss_kappa",
    "krippendorff_alpha",
    "span_f1",
    "unitizing_alpha",
]
