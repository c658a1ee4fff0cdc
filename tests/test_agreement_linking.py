"""Linking agreement and B-cubed, against figures computed by hand."""

from __future__ import annotations

import pytest

from annotator.agreement.linking import LinkedClaim, bcubed, linking_agreement, pair_linking


def test_bcubed_matches_the_hand_computed_example() -> None:
    # reference {1,2,3} {4,5}; response {1,2} {3,4,5}
    reference = {1: "x", 2: "x", 3: "x", 4: "y", 5: "y"}
    response = {1: "p", 2: "p", 3: "q", 4: "q", 5: "q"}
    # precision per item: 1, 1, 1/3, 2/3, 2/3 -> 11/15; recall: 2/3, 2/3, 1/3, 1, 1 -> 11/15
    result = bcubed(reference, response)
    assert result.precision == pytest.approx(11 / 15)
    assert result.recall == pytest.approx(11 / 15)
    assert result.f1 == pytest.approx(11 / 15)


def test_bcubed_of_one_cluster_against_singletons() -> None:
    # Amigó et al.'s extreme cases: all in one cluster vs. every item alone.
    reference = {i: "all" for i in range(4)}
    response = {i: i for i in range(4)}
    result = bcubed(reference, response)
    assert result.precision == 1.0
    assert result.recall == pytest.approx(1 / 4)
    assert result.f1 == pytest.approx(2 * 0.25 / 1.25)


def test_bcubed_refuses_different_items() -> None:
    with pytest.raises(ValueError):
        bcubed({1: "a"}, {2: "a"})


def test_pair_linking_counts_only_pairs_with_a_link_and_clusters_unlinked_alone() -> None:
    # Two documents; alice and bob mark overlapping claims (their spans differ a little).
    alice = [LinkedClaim("d1", 0, 10, "P1"), LinkedClaim("d1", 20, 30, "P1"),
             LinkedClaim("d2", 0, 10, "P2"), LinkedClaim("d2", 40, 50, None)]
    bob = [LinkedClaim("d1", 2, 12, "P1"), LinkedClaim("d1", 21, 29, "P2"),
           LinkedClaim("d2", 1, 9, "P2"), LinkedClaim("d2", 41, 50, None),
           LinkedClaim("d3", 0, 5, "P1")]  # no counterpart: not matched
    result = pair_linking("alice", alice, "bob", bob)
    assert result.matched == 4
    assert result.linked_pairs == 3  # the both-unlinked pair says nothing
    assert result.same == 2
    assert result.agreement == pytest.approx(2 / 3)
    # items 0..3; alice: {0,1} {2} {3}; bob: {0} {1,2} {3}
    # precision (bob's clusters): 1, 1/2, 1/2, 1 -> 3/4; recall (alice's): 1/2, 1/2, 1, 1 -> 3/4
    assert result.bcubed.precision == pytest.approx(0.75)
    assert result.bcubed.recall == pytest.approx(0.75)
    assert result.bcubed.f1 == pytest.approx(0.75)


def test_linking_agreement_averages_the_pairs_with_links() -> None:
    same = [LinkedClaim("d1", 0, 10, 7)]
    summary = linking_agreement({"bob": same, "alice": same,
                                 "carol": [LinkedClaim("d9", 0, 3, None)]})
    names = [(p.coder_a, p.coder_b) for p in summary["pairs"]]
    assert names == [("alice", "bob"), ("alice", "carol"), ("bob", "carol")]
    assert summary["agreement"] == 1.0  # only alice-bob has a linked pair
    assert summary["bcubed_f1"] == 1.0
    assert summary["linked_claims"] == 2


def test_no_matched_claims_gives_no_figures() -> None:
    result = pair_linking("a", [LinkedClaim("d1", 0, 5, 1)], "b", [LinkedClaim("d1", 5, 9, 1)])
    assert (result.matched, result.agreement, result.bcubed) == (0, None, None)
    assert linking_agreement({"a": [], "b": []})["agreement"] is None
