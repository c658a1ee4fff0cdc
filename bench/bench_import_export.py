"""Import and export throughput on a fresh database, with the export checked line by line.

    python bench/bench_import_export.py [--docs 10000] [--claims-per-doc 5]
                                        [--database-url postgresql://...]

1. writes N synthetic documents (bench/generate.py) as JSONL import files (not timed);
2. in a child process: migrates a fresh database, imports the files through
   documents.import_file (timed), then inserts M claims per document with their evidence and
   the annotators' statuses by bulk INSERTs (setup, not timed against a target);
3. in a fresh child process: exporting.export_jsonl to a file (timed; peak RSS from
   getrusage ru_maxrss and /proc VmHWM), then again in another child with tracemalloc on
   (Python heap peak; tracemalloc slows it several times, so its time is not used);
4. validates every exported line against export-record.schema.json, checks text[start:end]
   for every claim, actor mention and evidence span, and compares the claims with the
   generated ones.

The phases run in child processes of a small parent so that each one's peak memory is its
own (ru_maxrss is inherited across fork + exec on Linux).

Targets (the datasets issue, on a 2-core machine): import 100,000 documents in under 60 s;
export 100,000 documents with 500,000 claims in under 60 s with under 300 MB peak memory.
For N < 100,000 the times are also extrapolated linearly to 100,000 documents, labelled as
such, and the time targets are judged on that extrapolation. Exit status 1 when a target is
missed or the export does not verify.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import generate
from phases import run_phase

TARGET_DOCS = 100_000
TARGET_CLAIMS_PER_DOC = 5
TARGET_IMPORT_S = 60.0
TARGET_EXPORT_S = 60.0
TARGET_EXPORT_MB = 300.0
TRACEMALLOC_AUTO_MAX_DOCS = 20_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=10_000, help="documents (default 10,000)")
    parser.add_argument("--claims-per-doc", type=int, default=TARGET_CLAIMS_PER_DOC)
    parser.add_argument("--per-file", type=int, default=0,
                        help="documents per import file (default: all in one file)")
    parser.add_argument("--database-url",
                        help="an existing empty database, e.g. postgresql://...; "
                             "default: a new SQLite file in a temporary instance folder")
    parser.add_argument("--seed", type=int, default=generate.SEED)
    parser.add_argument("--tracemalloc", choices=("auto", "on", "off"), default="auto",
                        help="a second export run under tracemalloc (auto: up to "
                             f"{TRACEMALLOC_AUTO_MAX_DOCS:,} documents; it is slow)")
    parser.add_argument("--no-verify", action="store_true", help="skip checking the export")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary instance folder (database, export file)")
    parser.add_argument("--profile", action="store_true",
                        help="also run the export under cProfile and print its hot spots")
    # Internal: the phases that run in child processes.
    parser.add_argument("--phase", choices=("load", "export"), help=argparse.SUPPRESS)
    parser.add_argument("--instance", help=argparse.SUPPRESS)
    parser.add_argument("--project-id", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profiled", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--files", nargs="*", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ---------- child processes ----------


def phase_load(args: argparse.Namespace) -> dict[str, Any]:
    """Migrate, import the files (timed), insert the claims (setup)."""
    from common import (
        bulk_insert_claims,
        document_ids,
        make_app,
        make_project,
        maxrss_mb,
        vmhwm_mb,
    )

    from annotator.db import db
    from annotator.models import Project
    from annotator.services import documents

    app = make_app(args.instance, os.environ.get("DATABASE_URL"))
    with app.app_context():
        setup = make_project()
        project = db.session.get(Project, setup.project_id)
        assert project is not None
        rss_before = maxrss_mb()
        started = time.perf_counter()
        imported = 0
        for name in args.files:
            path = Path(name)
            imported += documents.import_file(project, path.name, path.read_bytes())
        import_s = time.perf_counter() - started
        import_rss = maxrss_mb()

        started = time.perf_counter()
        ids = document_ids(setup.project_id)
        n_claims, n_evidence = bulk_insert_claims(
            setup, generate.iter_documents(args.docs, args.seed), ids, args.claims_per_doc,
            args.seed)
        setup_s = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    return {"project_id": setup.project_id, "imported": imported, "import_s": import_s,
            "import_rss_before_mb": rss_before, "import_rss_peak_mb": import_rss,
            "import_vmhwm_mb": vmhwm_mb(), "claims": n_claims, "evidence": n_evidence,
            "setup_s": setup_s}


def phase_export(args: argparse.Namespace) -> dict[str, Any]:
    """export_jsonl to a file, as `annotator export` does, timed and measured."""
    import cProfile
    import io
    import pstats
    import tracemalloc

    from common import maxrss_mb, vmhwm_mb

    from annotator import create_app
    from annotator.db import db
    from annotator.models import Project
    from annotator.services import exporting

    os.environ["ANNOTATOR_INSTANCE_PATH"] = args.instance
    app = create_app()
    with app.app_context():
        project = db.session.get(Project, args.project_id)
        assert project is not None
        rss_before, hwm_before = maxrss_mb(), vmhwm_mb()
        if args.traced:
            tracemalloc.start()
        profiler = cProfile.Profile() if args.profiled else None
        started = time.perf_counter()
        cpu_started = time.process_time()
        with open(args.out, "w", encoding="utf-8", newline="\n") as fh:
            if profiler is not None:
                profiler.enable()
            count = exporting.export_jsonl(project, fh)
            if profiler is not None:
                profiler.disable()
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        profile = None
        if profiler is not None:
            report = io.StringIO()
            stats = pstats.Stats(profiler, stream=report)
            stats.sort_stats("cumulative").print_stats(25)
            stats.sort_stats("tottime").print_stats(12)
            profile = report.getvalue()
        heap_peak = None
        if args.traced:
            heap_peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        rss_peak, hwm_peak = maxrss_mb(), vmhwm_mb()
        db.session.remove()
        db.engine.dispose()
    return {"documents": count, "seconds": elapsed, "cpu_seconds": cpu,
            "rss_before_mb": rss_before, "rss_peak_mb": rss_peak,
            "vmhwm_before_mb": hwm_before, "vmhwm_peak_mb": hwm_peak,
            "heap_peak_mb": heap_peak, "bytes": os.path.getsize(args.out), "profile": profile}


# ---------- checking the export ----------


def _claim_key(claim: dict[str, Any]) -> tuple[Any, ...]:
    return (claim["start"], claim["end"], claim["text"], claim["stance"],
            claim["verdict"] or "", claim.get("note") or "", len(claim["evidence"]))


def _verify_lines(job: tuple[list[str], int, int]) -> dict[str, Any]:
    """Check one batch of exported lines; return counts and the first problems found."""
    from annotator.validation import field_errors

    lines, per_doc, seed = job
    counts: Counter[str] = Counter()
    problems: list[str] = []
    ids: list[str] = []
    for line in lines:
        rec = json.loads(line)
        counts["lines"] += 1
        ids.append(rec.get("id"))
        errors = field_errors("export-record.schema.json", rec)
        if errors:
            counts["schema_invalid"] += 1
            problems.append(f"{rec.get('id')}: schema: {errors}")
            continue
        text = rec["text"]
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != rec["text_sha256"]:
            counts["sha_mismatch"] += 1
            problems.append(f"{rec['id']}: text_sha256 does not match")
        if any(ord(ch) > 0xFFFF for ch in text):
            counts["docs_with_non_bmp"] += 1
        for claim in rec["claims"]:
            counts["claims"] += 1
            spans = [("claim", claim)]
            if claim.get("actor_mention"):
                spans.append(("actor_mention", claim["actor_mention"]))
            for ev in claim["evidence"]:
                counts["evidence"] += 1
                if ev.get("start") is not None:
                    spans.append(("evidence", ev))
            for kind, span in spans:
                counts[f"{kind}_spans"] += 1
                if text[span["start"] : span["end"]] == span["text"]:
                    counts[f"{kind}_spans_ok"] += 1
                else:
                    problems.append(f"{rec['id']}: {kind} [{span['start']}, {span['end']}) "
                                    "does not match the text")
        # The exported document and claims are the generated ones.
        doc = generate.make_document(rec["meta"]["seq"], seed)
        expected = sorted(map(_claim_key, generate.make_claims(doc, per_doc, seed)))
        if doc.text != text or expected != sorted(map(_claim_key, rec["claims"])):
            counts["content_mismatch"] += 1
            problems.append(f"{rec['id']}: text or claims differ from the generated ones")
    return {"counts": counts, "problems": problems[:5], "ids": ids}


def _jobs(path: str, size: int, per_doc: int,
          seed: int) -> Iterator[tuple[list[str], int, int]]:
    batch: list[str] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            batch.append(line)
            if len(batch) >= size:
                yield batch, per_doc, seed
                batch = []
    if batch:
        yield batch, per_doc, seed


def verify_export(path: str, per_doc: int, seed: int) -> tuple[Counter[str], list[str], int]:
    counts: Counter[str] = Counter()
    problems: list[str] = []
    seen: set[str] = set()
    duplicates = 0
    workers = max(1, min(2, os.cpu_count() or 1))
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for result in pool.imap(_verify_lines, _jobs(path, 500, per_doc, seed)):
            counts.update(result["counts"])
            problems.extend(result["problems"][: max(0, 10 - len(problems))])
            for ident in result["ids"]:
                duplicates += ident in seen
                seen.add(ident)
    return counts, problems, duplicates


# ---------- the benchmark ----------


def _rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s" if seconds > 0 else "n/a"


def _mb(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f} MB"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.phase:
        result = phase_load(args) if args.phase == "load" else phase_export(args)
        print(json.dumps(result))
        return 0

    n_docs, per_doc, seed = args.docs, args.claims_per_doc, args.seed
    traced = args.tracemalloc == "on" or (
        args.tracemalloc == "auto" and n_docs <= TRACEMALLOC_AUTO_MAX_DOCS)
    tmp = tempfile.mkdtemp(prefix="annotator-bench.")
    database_url = args.database_url or f"sqlite:///{os.path.join(tmp, 'bench.db')}"
    dialect = database_url.split(":", 1)[0].split("+", 1)[0]
    failures: list[str] = []
    try:
        print(f"database: {dialect} ({'given' if args.database_url else 'new SQLite file'}); "
              f"cpus: {os.cpu_count()}; python {sys.version.split()[0]}; "
              f"load average {os.getloadavg()[0]:.2f}")
        print(f"documents: {n_docs:,}; claims per document: {per_doc}; seed: {seed}")

        # -- the import files (not timed)
        per_file = args.per_file or n_docs
        files: list[str] = []
        started = time.perf_counter()
        total_bytes = 0
        for first in range(0, n_docs, per_file):
            path = os.path.join(tmp, f"import-{first:07d}.jsonl")
            total_bytes += generate.write_import_jsonl(
                path, min(per_file, n_docs - first), seed, first)
            files.append(path)
        print(f"generated {len(files)} import file(s), {total_bytes / 2**20:,.1f} MiB, "
              f"in {time.perf_counter() - started:.1f} s (not timed)")

        # -- import (timed) and claims (setup), in a child
        load = run_phase(__file__, database_url, "--phase", "load", "--instance", tmp,
                         "--docs", str(n_docs), "--claims-per-doc", str(per_doc),
                         "--seed", str(seed), "--files", *files)
        import_s = load["import_s"]
        n_claims, n_evidence = load["claims"], load["evidence"]
        print()
        print(f"IMPORT  {load['imported']:,} documents in {import_s:.2f} s = "
              f"{_rate(load['imported'], import_s)} documents; peak RSS "
              f"{_mb(load['import_rss_peak_mb'])} (ru_maxrss; "
              f"+{load['import_rss_peak_mb'] - load['import_rss_before_mb']:,.1f} MB during "
              f"the import; VmHWM {_mb(load['import_vmhwm_mb'])})")
        if load["imported"] != n_docs:
            failures.append(f"imported {load['imported']} documents, expected {n_docs}")
        print(f"SETUP   {n_claims:,} claims with {n_evidence:,} evidence items inserted by "
              f"bulk INSERT in {load['setup_s']:.1f} s (not a target)")

        # -- export (timed), in fresh children
        out = os.path.join(tmp, "export.jsonl")
        export_args = ["--phase", "export", "--instance", tmp,
                  "--project-id", str(load["project_id"]), "--out", out]
        result = run_phase(__file__, database_url, *export_args)
        export_s = result["seconds"]
        print(f"EXPORT  {result['documents']:,} documents, {n_claims:,} claims, "
              f"{result['bytes'] / 2**20:,.1f} MiB in {export_s:.2f} s "
              f"(CPU {result['cpu_seconds']:.2f} s) = {_rate(result['documents'], export_s)} "
              f"documents, {_rate(n_claims, export_s)} claims")
        print(f"        peak RSS of the export process: {_mb(result['rss_peak_mb'])} "
              f"(ru_maxrss; {_mb(result['rss_before_mb'])} before the export, "
              f"+{result['rss_peak_mb'] - result['rss_before_mb']:,.1f} MB during it); "
              f"VmHWM {_mb(result['vmhwm_peak_mb'])}")
        heap_peak = None
        if traced:
            again = run_phase(__file__, database_url, *export_args, "--traced")
            heap_peak = again["heap_peak_mb"]
            print(f"        Python heap peak (tracemalloc, second run): {_mb(heap_peak)}; "
                  f"that run took {again['seconds']:.2f} s under tracemalloc (not used)")
        else:
            print("        Python heap peak: not measured (--tracemalloc on to force; "
                  f"auto runs it up to {TRACEMALLOC_AUTO_MAX_DOCS:,} documents)")

        if args.profile:
            profiled = run_phase(__file__, database_url, *export_args, "--profiled")
            print(f"PROFILE of a third export run (cProfile; {profiled['seconds']:.2f} s "
                  "under the profiler):")
            print(profiled["profile"])

        # -- verify the export
        if not args.no_verify:
            started = time.perf_counter()
            counts, problems, duplicates = verify_export(out, per_doc, seed)
            print()
            print(f"VERIFY  ({time.perf_counter() - started:.1f} s) lines {counts['lines']:,}; "
                  f"schema-valid {counts['lines'] - counts['schema_invalid']:,}; "
                  f"duplicate ids {duplicates}; sha256 mismatches {counts['sha_mismatch']}; "
                  f"documents with non-BMP characters {counts['docs_with_non_bmp']:,}")
            for kind in ("claim", "actor_mention", "evidence"):
                print(f"        {kind} spans: {counts[f'{kind}_spans_ok']:,} of "
                      f"{counts[f'{kind}_spans']:,} match text[start:end]")
            print(f"        claims {counts['claims']:,} (expected {n_claims:,}); evidence "
                  f"items {counts['evidence']:,} (expected {n_evidence:,}); documents whose "
                  f"text or claims differ from the generated ones: "
                  f"{counts['content_mismatch']}")
            for problem in problems:
                print(f"        problem: {problem}")
            bad = (counts["schema_invalid"] or counts["sha_mismatch"] or duplicates
                   or counts["content_mismatch"] or counts["lines"] != n_docs
                   or counts["claims"] != n_claims or counts["evidence"] != n_evidence
                   or any(counts[f"{k}_spans_ok"] != counts[f"{k}_spans"]
                          for k in ("claim", "actor_mention", "evidence")))
            if bad:
                failures.append("the export does not verify")

        # -- targets
        print()
        load_end = os.getloadavg()[0]
        busy = " (above the CPU count: other work competed)" if load_end > (
            os.cpu_count() or 1) else ""
        print(f"load average at the end: {load_end:.2f}{busy}")
        scale = TARGET_DOCS / n_docs
        if n_docs != TARGET_DOCS:
            print(f"EXTRAPOLATION (linear, x{scale:g}, to {TARGET_DOCS:,} documents; an "
                  "estimate, not a measurement):")
            print(f"        import {import_s * scale:,.1f} s; export {export_s * scale:,.1f} s")
        if per_doc != TARGET_CLAIMS_PER_DOC:
            print(f"note: the export target assumes {TARGET_CLAIMS_PER_DOC} claims per document; "
                  f"this run had {per_doc}")
        label = "" if n_docs == TARGET_DOCS else " (extrapolated)"
        checks = [
            (f"import {TARGET_DOCS:,} documents < {TARGET_IMPORT_S:g} s{label}",
             import_s * scale, TARGET_IMPORT_S, "s"),
            (f"export {TARGET_DOCS:,} documents < {TARGET_EXPORT_S:g} s{label}",
             export_s * scale, TARGET_EXPORT_S, "s"),
            (f"export peak RSS (ru_maxrss) < {TARGET_EXPORT_MB:g} MB, measured at "
             f"{n_docs:,} documents", result["rss_peak_mb"], TARGET_EXPORT_MB, "MB"),
        ]
        if heap_peak is not None:
            checks.append((f"export Python heap peak < {TARGET_EXPORT_MB:g} MB",
                           heap_peak, TARGET_EXPORT_MB, "MB"))
        print("TARGETS")
        for name, value, limit, unit in checks:
            ok = value < limit
            print(f"  {'met   ' if ok else 'MISSED'}  {name}: {value:,.1f} {unit}")
            if not ok:
                failures.append(f"missed: {name} ({value:,.1f} {unit})")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("FAILED: " + "; ".join(failures))
        return 1
    print("OK: all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
