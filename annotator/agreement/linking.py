"""Agreement on linking claims to propositions, between annotators.

Pure (standard library and ``spans``). Each annotator marks claims (spans in documents) and
links some of them to a proposition. Their claims are first matched one to one within each
document by span overlap (:func:`annotator.agreement.spans.span_f1`, ``"overlap"``); on the
matched pairs two figures are computed:

* **link agreement**: of the matched pairs where at least one side is linked, the share
  linked to the same proposition (both unlinked pairs say nothing about linking);
* **B-cubed** precision, recall and F1 (Bagga & Baldwin 1998; Amigó et al. 2009) of the two
  clusterings of the matched pairs into propositions, the first annotator's as reference.
  An unlinked claim is a cluster of its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

from .spans import span_f1

__all__ = ["BCubed", "LinkedClaim", "PairLinking", "bcubed", "linking_agreement",
           "pair_linking"]


@dataclass(frozen=True, slots=True)
class LinkedClaim:
    """One annotator's claim: where it is, and the proposition it is linked to (or None)."""

    document: Hashable
    start: int
    end: int
    proposition: Hashable | None


@dataclass(frozen=True, slots=True)
class BCubed:
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True, slots=True)
class PairLinking:
    """Linking agreement of two annotators (see the module docstring).

    ``matched``: claim pairs matched by overlap; ``linked_pairs``: of them, those where at
    least one side is linked; ``same``: of those, linked to the same proposition;
    ``agreement``: ``same / linked_pairs`` (None without linked pairs); ``bcubed``: over the
    matched pairs (None without any).
    """

    coder_a: str
    coder_b: str
    matched: int
    linked_pairs: int
    same: int
    agreement: float | None
    bcubed: BCubed | None


def _f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def bcubed(reference: Mapping[Hashable, Hashable], response: Mapping[Hashable, Hashable]
           ) -> BCubed:
    """B-cubed of `response` against `reference`, both mapping the same items to clusters.

    For each item e: precision(e) = |R(e) ∩ S(e)| / |S(e)| and recall(e) = |R(e) ∩ S(e)| /
    |R(e)|, with R(e)/S(e) the items sharing e's cluster in the reference/response (e
    included); precision and recall are their means over the items, F1 their harmonic mean.
    Raises ValueError when the item sets differ or are empty.
    """
    if set(reference) != set(response):
        raise ValueError("both clusterings must cover the same items")
    if not reference:
        raise ValueError("no items to compare")
    ref_members: dict[Hashable, set[Hashable]] = defaultdict(set)
    res_members: dict[Hashable, set[Hashable]] = defaultdict(set)
    for item, cluster in reference.items():
        ref_members[cluster].add(item)
    for item, cluster in response.items():
        res_members[cluster].add(item)
    precision = recall = 0.0
    for item in reference:
        ours, theirs = ref_members[reference[item]], res_members[response[item]]
        common = len(ours & theirs)
        precision += common / len(theirs)
        recall += common / len(ours)
    precision /= len(reference)
    recall /= len(reference)
    return BCubed(precision, recall, _f1(precision, recall))


def _matched(claims_a: Sequence[LinkedClaim], claims_b: Sequence[LinkedClaim]
             ) -> list[tuple[LinkedClaim, LinkedClaim]]:
    by_document: dict[Hashable, tuple[list[LinkedClaim], list[LinkedClaim]]] = defaultdict(
        lambda: ([], []))
    for claim in claims_a:
        by_document[claim.document][0].append(claim)
    for claim in claims_b:
        by_document[claim.document][1].append(claim)
    pairs = []
    for document in sorted(by_document, key=repr):
        side_a, side_b = by_document[document]
        if not side_a or not side_b:
            continue
        result = span_f1([(c.start, c.end, "claim") for c in side_a],
                         [(c.start, c.end, "claim") for c in side_b], mode="overlap")
        pairs += [(side_a[i], side_b[j]) for i, j in result.pairs]
    return pairs


def pair_linking(coder_a: str, claims_a: Sequence[LinkedClaim], coder_b: str,
                 claims_b: Sequence[LinkedClaim]) -> PairLinking:
    """Linking agreement of two annotators' claims (``coder_a`` the B-cubed reference)."""
    pairs = _matched(claims_a, claims_b)
    linked = [(a, b) for a, b in pairs if a.proposition is not None or b.proposition is not None]
    same = sum(1 for a, b in linked if a.proposition == b.proposition)
    cubed = None
    if pairs:
        # An unlinked claim is its own cluster: a key no proposition id can equal.
        reference = {n: a.proposition if a.proposition is not None else ("unlinked", n)
                     for n, (a, _) in enumerate(pairs)}
        response = {n: b.proposition if b.proposition is not None else ("unlinked", n)
                    for n, (_, b) in enumerate(pairs)}
        cubed = bcubed(reference, response)
    return PairLinking(coder_a, coder_b, len(pairs), len(linked), same,
                       same / len(linked) if linked else None, cubed)


def linking_agreement(claims: Mapping[str, Sequence[LinkedClaim]]) -> dict[str, object]:
    """Every pair of annotators (names in sorted order) and the means over the pairs that
    have linked pairs: {"pairs": [PairLinking...], "agreement", "bcubed_precision",
    "bcubed_recall", "bcubed_f1", "linked_claims"} (None for a mean over no pairs)."""
    coders = sorted(claims)
    pairs = [pair_linking(a, claims[a], b, claims[b]) for a, b in combinations(coders, 2)]
    scored = [p for p in pairs if p.linked_pairs]

    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    return {
        "pairs": pairs,
        "linked_claims": sum(1 for coder in coders for c in claims[coder]
                             if c.proposition is not None),
        "agreement": mean([p.agreement for p in scored if p.agreement is not None]),
        "bcubed_precision": mean([p.bcubed.precision for p in scored if p.bcubed]),
        "bcubed_recall": mean([p.bcubed.recall for p in scored if p.bcubed]),
        "bcubed_f1": mean([p.bcubed.f1 for p in scored if p.bcubed]),
    }
