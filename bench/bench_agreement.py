"""The agreement report on a large synthetic project, timed and measured.

    python bench/bench_agreement.py [--docs 10000] [--annotators 3] [--claims 10]
                                    [--materialize] [--profile] [--tracemalloc on|off]

1. builds N export records in memory (not timed): document i's text comes from
   bench/generate.py (~3,000 code points), a reference set of C claims with
   generate.make_claims' labels and evidence, each on a sentence of its own (one in ten
   nested in the previous one), and every annotator's C claims from that reference, each
   perturbed with its own seeded generator: most keep the span, some move a boundary by a
   few characters or mark part of the clause, some are replaced by a claim elsewhere; the
   stance, verdict, actor and evidence relations change now and then. About 3 % of
   assignments are still in progress, so the report leaves those annotators out;
2. runs ``agreement_report`` on them (timed: wall and CPU, the time spent making the
   records subtracted), then again under tracemalloc for the Python heap peak
   (tracemalloc slows it several times; that run is not timed against the target);
3. ``--profile`` adds a run under cProfile and prints the hot spots.

By default the records are made one at a time as the report reads them, as
``services.agreement.project_report`` streams them from the database and ``annotator
agreement --from-jsonl`` from a file; ``--materialize`` builds the whole list first (about
50 KB a record: 10,000 records take ~500 MB by themselves).

Target (the agreement issue, on this 2-core machine): the full report of 10,000 documents ×
3 annotators × 10 claims in under 5 s and under 500 MB peak memory (ru_maxrss of the whole
process; with ``--materialize``, its growth during the report). Exit status 1 when a target
is missed.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import random
import resource
import sys
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import generate

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from annotator.agreement.report import agreement_report  # noqa: E402

TARGET_S = 5.0
TARGET_MB = 500.0
STAMP = "2026-11-22T09:00:00+00:00"


def maxrss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _perturbed_span(text: str, start: int, end: int, rng: random.Random) -> tuple[int, int]:
    """The span with one or both boundaries moved by a few characters (still valid)."""
    start = min(max(0, start + rng.randint(-6, 6)), len(text) - 1)
    end = min(max(start + 1, end + rng.randint(-6, 6)), len(text))
    return start, end


def _claim(text: str, base: dict[str, Any], rng: random.Random, coder: str, claim_id: int,
           document_id: int) -> dict[str, Any]:
    start, end = base["start"], base["end"]
    roll = rng.random()
    if roll < 0.15:
        start, end = _perturbed_span(text, start, end, rng)
    elif roll < 0.22 and end - start > 1:  # part of the clause only
        middle = (start + end) // 2
        start, end = (start, middle) if rng.random() < 0.5 else (middle, end)
    elif roll < 0.30:  # a claim somewhere else
        start = rng.randrange(0, len(text) - 60)
        end = start + rng.randint(15, 60)
    stance = base["stance"] if rng.random() < 0.8 else rng.choice(generate.STANCES)
    verdict = base["verdict"] if rng.random() < 0.8 else rng.choice(generate.VERDICTS)
    actor = base["actor"] if rng.random() < 0.9 else rng.choice(generate.ACTORS)
    evidence = []
    for n, item in enumerate(base["evidence"]):
        if rng.random() < 0.1:
            continue
        relation = item["relation"] if rng.random() < 0.85 else rng.choice(
            generate.EVIDENCE_RELATIONS)
        evidence.append({"id": claim_id * 10 + n, "type": item["type"], "relation": relation,
                         "description": item["description"], "start": item.get("start"),
                         "end": item.get("end"), "text": item.get("text")})
    mention = base.get("actor_mention")
    return {
        "id": claim_id, "version": 1, "document_id": document_id, "annotator": coder,
        "start": start, "end": end, "text": text[start:end], "actor": actor,
        "actor_mention": mention if actor == base["actor"] else None,
        "stance": stance, "verdict": verdict, "note": base["note"], "scheme_version": 1,
        "is_gold": False, "created_at": STAMP, "updated_at": STAMP, "evidence": evidence,
    }


def _reference(doc: generate.GeneratedDocument, count: int, seed: int) -> list[dict[str, Any]]:
    """`count` reference claims: generate.make_claims' labels and evidence, each on a sentence
    of its own (the quoted clause, or a run of words), one in ten nested inside the previous
    claim, as an annotator would mark them (make_claims alone often repeats a span)."""
    rng = random.Random(f"{seed}:reference:{doc.index}")
    claims = generate.make_claims(doc, count, seed)
    sentences = list(doc.sentences)
    rng.shuffle(sentences)
    sentences.sort(key=lambda s: s.claim is None)  # quoted sentences first
    previous: generate.Span | None = None
    for n, claim in enumerate(claims):
        sentence = sentences[n % len(sentences)]
        if previous is not None and rng.random() < 0.1:
            span = generate._word_span(doc.text, previous, rng)
        elif sentence.claim is not None and rng.random() < 0.7:
            span = sentence.claim
        else:
            span = generate._word_span(doc.text, sentence.claim or sentence.span, rng)
        claim["start"], claim["end"] = span.start, span.end
        claim["text"] = doc.text[span.start:span.end]
        previous = span
    return claims


def make_record(index: int, coders: list[str], per_coder: int,
                seed: int = generate.SEED) -> dict[str, Any]:
    """Export record `index` (export-record.schema.json): every coder's claims on it."""
    doc = generate.make_document(index, seed)
    reference = _reference(doc, per_coder, seed)
    claims = []
    annotators = []
    for n, coder in enumerate(coders):
        rng = random.Random(f"{seed}:agreement:{index}:{coder}")
        annotators.append({"annotator": coder,
                           "status": "done" if rng.random() < 0.97 else "in_progress"})
        for k, base in enumerate(reference):
            claim_id = (index * len(coders) + n) * per_coder + k + 1
            claims.append(_claim(doc.text, base, rng, coder, claim_id, index + 1))
    claims.sort(key=lambda c: (c["start"], c["end"], c["id"]))
    return {
        "id": doc.external_id, "document_id": index + 1, "project": "Benchmark",
        "title": doc.title, "text": doc.text, "text_sha256": "", "meta": doc.meta,
        "scheme_version": 1, "annotators": annotators, "claims": claims,
    }


class Records:
    """The records, made one at a time as the report asks for them (as `project_report`
    streams them from the database), with the time spent making them."""

    def __init__(self, count: int, coders: list[str], per_coder: int, seed: int) -> None:
        self.count, self.coders, self.per_coder, self.seed = count, coders, per_coder, seed
        self.seconds = self.cpu_seconds = 0.0
        self.claims = self.characters = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for index in range(self.count):
            started, cpu_started = time.perf_counter(), time.process_time()
            record = make_record(index, self.coders, self.per_coder, self.seed)
            self.claims += len(record["claims"])
            self.characters += len(record["text"])
            self.seconds += time.perf_counter() - started
            self.cpu_seconds += time.process_time() - cpu_started
            yield record


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--annotators", type=int, default=3)
    parser.add_argument("--claims", type=int, default=10, help="claims per annotator and document")
    parser.add_argument("--seed", type=int, default=generate.SEED)
    parser.add_argument("--materialize", action="store_true",
                        help="build every record first and pass the list (ru_maxrss then "
                             "includes all the records, ~50 KB each)")
    parser.add_argument("--tracemalloc", choices=("on", "off"), default="on",
                        help="a second run under tracemalloc for the report's heap peak")
    parser.add_argument("--profile", action="store_true",
                        help="also run the report under cProfile and print its hot spots")
    return parser.parse_args(argv)


def run(args: argparse.Namespace, coders: list[str], materialized: list[dict[str, Any]] | None
        ) -> tuple[dict[str, Any], float, float]:
    """One report: (report, wall seconds, CPU seconds), record making excluded."""
    records = Records(args.docs, coders, args.claims, args.seed)
    source = materialized if materialized is not None else records
    started, cpu_started = time.perf_counter(), time.process_time()
    report = agreement_report(source)
    elapsed = time.perf_counter() - started - records.seconds
    cpu = time.process_time() - cpu_started - records.cpu_seconds
    return report, elapsed, cpu


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs; "
          f"Python {sys.version.split()[0]}; {args.docs:,} documents x {args.annotators} "
          f"annotators x {args.claims} claims")
    coders = [f"annotator{n}" for n in range(args.annotators)]
    materialized = None
    if args.materialize:
        started = time.perf_counter()
        materialized = list(Records(args.docs, coders, args.claims, args.seed))
        print(f"made {len(materialized):,} records in {time.perf_counter() - started:.1f} s "
              f"(not timed); ru_maxrss {maxrss_mb():.0f} MB")
    gc.collect()
    rss_before = maxrss_mb()

    report, elapsed, cpu = run(args, coders, materialized)
    rss_peak = maxrss_mb()
    summary = report["summary"]
    print(f"report: {elapsed:.2f} s wall, {cpu:.2f} s CPU (making the records excluded); "
          f"ru_maxrss {rss_before:.0f} MB before, {rss_peak:.0f} MB after")
    print(f"  {summary['documents_compared']:,} documents compared; F1 exact "
          f"{summary['f1_exact']:.3f}, overlap {summary['f1_overlap']:.3f}, "
          f"alpha_u {summary['alpha_u']:.3f}; stance alpha "
          f"{report['fields']['stance']['krippendorff_alpha']:.3f}, Fleiss "
          f"{report['fields']['stance']['fleiss_kappa']:.3f}")

    if args.tracemalloc == "on":
        tracemalloc.start()
        run(args, coders, materialized)
        heap_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        print(f"  Python heap peak during the report (tracemalloc): {heap_mb:.1f} MB")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        run(args, coders, materialized)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(20)
        print(out.getvalue())

    rss_peak = max(rss_peak, maxrss_mb())
    # Streamed (the default, as the app and the CLI run it): the whole process's peak.
    # Materialized: the records are scaffolding, so the report's own growth counts.
    memory = rss_peak - rss_before if materialized is not None else rss_peak
    what = "ru_maxrss growth during the report" if materialized is not None else "ru_maxrss"
    met_time, met_memory = elapsed < TARGET_S, memory < TARGET_MB
    print(f"target: under {TARGET_S:.0f} s — {elapsed:.2f} s, "
          f"{'met' if met_time else 'MISSED'}; under {TARGET_MB:.0f} MB — {what} "
          f"{memory:.0f} MB, {'met' if met_memory else 'MISSED'}")
    return 0 if met_time and met_memory else 1


if __name__ == "__main__":
    sys.exit(main())
