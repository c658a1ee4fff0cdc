"""Proposition suggestions and claim pairs: how fast at project scale.

Ranks N synthetic propositions (news-like sentences from a small vocabulary, so many share
words) against claim texts with annotator.similarity.SimilarityIndex, the index the
annotation panel uses (built once per project and cached), and samples the claim-pair
dataset of N propositions × 3 claims with exports.propositions.iter_claim_pairs.

Targets: building the index for 10,000 propositions under 5 s (once per change), one
ranked suggestion list under 50 ms (every claim opened), the pairs of 30,000 claims under
10 s with at most (positives + 2 per claim) pairs.

    python bench/bench_propositions.py [N]
"""

from __future__ import annotations

import random
import statistics
import sys
import time

from annotator.similarity import SimilarityIndex
from exports.propositions import iter_claim_pairs

WORDS = ("ministry army helicopter convoy missile village rebels shelling ceasefire hospital "
         "airstrike spokesman killed wounded denied confirmed border drone checkpoint aid "
         "Palmyra Tadmur Aleppo Idlib Homs Raqqa dawn night Saturday civilians troops").split()


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))).capitalize() + "."


def main(n: int = 10_000) -> int:
    rng = random.Random(0)
    texts = [sentence(rng) for _ in range(n)]
    started = time.perf_counter()
    index = SimilarityIndex(texts)
    build = time.perf_counter() - started
    queries = [sentence(rng) for _ in range(200)]
    timings = []
    for query in queries:
        started = time.perf_counter()
        index.rank(query, limit=8, minimum=0.05)
        timings.append(time.perf_counter() - started)
    p50, p95 = statistics.median(timings), sorted(timings)[int(len(timings) * 0.95)]

    records = [{"proposition_id": i, "incident": None, "claims": [
        {"claim_id": i * 3 + k, "text": texts[i], "actor": None, "stance": "asserts",
         "document_id": 1, "article_date": None} for k in range(3)]} for i in range(n)]
    started = time.perf_counter()
    pairs = sum(1 for _ in iter_claim_pairs(records, seed=0, negatives_per_claim=2))
    pairing = time.perf_counter() - started
    bound = n * 3 + n * 3 * 2

    print(f"{n} propositions: index built in {build:.2f} s (target < 5 s)")
    print(f"suggestions: median {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms (target < 50 ms)")
    print(f"claim pairs of {n * 3} claims: {pairs} pairs (bound {bound}) in {pairing:.2f} s "
          "(target < 10 s)")
    ok = build < 5 and p95 < 0.05 and pairing < 10 and pairs <= bound
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))
