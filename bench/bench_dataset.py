"""The dataset bundle (every format, split) of a large synthetic project, timed and measured.

    python bench/bench_dataset.py [--docs 10000] [--claims-per-doc 5] [--zip | --stream]
                                  [--formats jsonl,claims,...] [--group-by source]
                                  [--database-url postgresql://...] [--tracemalloc auto|on|off]
                                  [--profile] [--no-verify] [--keep]

1. writes N synthetic documents (bench/generate.py) as one JSONL import file (not timed);
2. in a child process: migrates a fresh database, imports the file through
   documents.import_file and inserts M claims per document with their evidence and the
   annotators' statuses by bulk INSERTs (bench/common.py; setup, not timed);
3. in a fresh child process: ``datasets.write_bundle`` into a new folder (or ``--zip`` file),
   as ``annotator dataset`` does, or with ``--stream`` ``datasets.stream_bundle_zip`` piece
   by piece into a file, as the download does: wall and CPU time, peak RSS (``ru_maxrss`` and /proc
   VmHWM, before and after); then again in another child under tracemalloc for the Python
   heap peak (tracemalloc slows it several times, so ``auto`` runs it only up to 20,000
   documents and its time is not reported as the bundle's);
4. checks the bundle: every file's size and sha256 against manifest.json, every document in
   exactly one split (document-level files), the split counts of the manifest, and the
   claim rows of the claim-level files.

The phases run in child processes so that each one's peak memory is its own (ru_maxrss is
inherited across fork + exec on Linux). No target is set by an issue for the bundle; the
memory figures show that it streams (compare runs at different N). Exit status 1 when the
bundle does not verify.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import generate
from phases import run_phase

TRACEMALLOC_AUTO_MAX_DOCS = 20_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=10_000, help="documents (default 10,000)")
    parser.add_argument("--claims-per-doc", type=int, default=5)
    parser.add_argument("--formats", default="",
                        help="comma-separated bundle formats (default: all)")
    parser.add_argument("--group-by", choices=("source", "incident"))
    parser.add_argument("--zip", action="store_true", help="write a zip file, not a folder")
    parser.add_argument("--stream", action="store_true",
                        help="make the zip as the download does (stream_bundle_zip: one pass "
                             "per format), written to a file piece by piece")
    parser.add_argument("--database-url",
                        help="an existing empty database, e.g. postgresql://...; "
                             "default: a new SQLite file in a temporary instance folder")
    parser.add_argument("--seed", type=int, default=generate.SEED)
    parser.add_argument("--tracemalloc", choices=("auto", "on", "off"), default="auto",
                        help="a second run under tracemalloc (auto: up to "
                             f"{TRACEMALLOC_AUTO_MAX_DOCS:,} documents; it is slow)")
    parser.add_argument("--profile", action="store_true",
                        help="also run the bundle under cProfile and print its hot spots")
    parser.add_argument("--no-verify", action="store_true", help="skip checking the bundle")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary instance folder (database, bundle)")
    # Internal: the phases that run in child processes.
    parser.add_argument("--phase", choices=("load", "bundle"), help=argparse.SUPPRESS)
    parser.add_argument("--instance", help=argparse.SUPPRESS)
    parser.add_argument("--project-id", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profiled", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ---------- child processes ----------


def phase_load(args: argparse.Namespace) -> dict[str, Any]:
    from common import bulk_insert_claims, document_ids, make_app, make_project

    from annotator.db import db
    from annotator.models import Project
    from annotator.services import documents

    app = make_app(args.instance, os.environ.get("DATABASE_URL"))
    with app.app_context():
        setup = make_project()
        project = db.session.get(Project, setup.project_id)
        assert project is not None
        started = time.perf_counter()
        with open(args.file, "rb") as fh:
            imported = documents.import_file(project, Path(args.file).name, fh)
        n_claims, n_evidence = bulk_insert_claims(
            setup, generate.iter_documents(args.docs, args.seed),
            document_ids(setup.project_id), args.claims_per_doc, args.seed)
        setup_s = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    return {"project_id": setup.project_id, "imported": imported, "claims": n_claims,
            "evidence": n_evidence, "setup_s": setup_s}


def phase_bundle(args: argparse.Namespace) -> dict[str, Any]:
    import cProfile
    import io
    import pstats
    import tracemalloc

    from common import maxrss_mb, vmhwm_mb

    from annotator import create_app
    from annotator.db import db
    from annotator.models import Project
    from annotator.services import datasets

    os.environ["ANNOTATOR_INSTANCE_PATH"] = args.instance
    app = create_app()
    with app.app_context():
        project = db.session.get(Project, args.project_id)
        assert project is not None
        formats = datasets.parse_formats([args.formats])
        steps = datasets.bundle_steps(project)
        rss_before, hwm_before = maxrss_mb(), vmhwm_mb()
        if args.traced:
            tracemalloc.start()
        profiler = cProfile.Profile() if args.profiled else None
        calls = 0

        def progress(step: int) -> None:
            nonlocal calls
            calls += step

        started = time.perf_counter()
        cpu_started = time.process_time()
        first_piece = None
        longest_gap = 0.0
        if profiler is not None:
            profiler.enable()
        if args.stream:
            filename, pieces = datasets.stream_bundle_zip(project, formats=formats,
                                                          group_by=args.group_by)
            name = filename.removesuffix(".zip")
            last = started
            with open(args.out, "wb") as fh:
                for piece in pieces:
                    now = time.perf_counter()
                    if first_piece is None:
                        first_piece = now - started
                    longest_gap = max(longest_gap, now - last)
                    last = now
                    fh.write(piece)
                    calls += 1
            with zipfile.ZipFile(args.out) as archive:
                manifest = json.loads(archive.read(f"{name}/manifest.json"))
            steps = calls  # pieces handed on
        else:
            bundle = datasets.write_bundle(project, args.out, formats=formats,
                                           group_by=args.group_by, as_zip=args.zip,
                                           progress=progress)
            name, manifest = bundle.name, bundle.manifest
        if profiler is not None:
            profiler.disable()
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        profile = None
        if profiler is not None:
            report = io.StringIO()
            stats = pstats.Stats(profiler, stream=report)
            stats.sort_stats("cumulative").print_stats(25)
            stats.sort_stats("tottime").print_stats(15)
            profile = report.getvalue()
        heap_peak = None
        if args.traced:
            heap_peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        rss_peak, hwm_peak = maxrss_mb(), vmhwm_mb()
        db.session.remove()
        db.engine.dispose()
    return {"name": name, "seconds": elapsed, "cpu_seconds": cpu, "steps": steps,
            "progress_calls": calls, "first_piece_s": first_piece,
            "longest_gap_s": longest_gap, "rss_before_mb": rss_before, "rss_peak_mb": rss_peak,
            "vmhwm_before_mb": hwm_before, "vmhwm_peak_mb": hwm_peak,
            "heap_peak_mb": heap_peak, "manifest": manifest, "profile": profile}


# ---------- checking the bundle ----------


class _Reader:
    """The bundle's files, from its folder or its zip."""

    def __init__(self, path: str, name: str, zipped: bool) -> None:
        self.archive = zipfile.ZipFile(path) if zipped else None
        self.root = Path(path)
        self.name = name

    def open(self, member: str) -> Any:
        if self.archive is not None:
            return self.archive.open(f"{self.name}/{member}")
        return open(self.root / member, "rb")  # noqa: SIM115


def verify_bundle(path: str, manifest: dict[str, Any], docs: int, claims: int,
                  zipped: bool) -> list[str]:
    problems: list[str] = []
    reader = _Reader(path, manifest["name"], zipped)
    for entry in manifest["files"]:
        digest, size = hashlib.sha256(), 0
        with reader.open(entry["path"]) as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
        if (size, digest.hexdigest()) != (entry["size"], entry["sha256"]):
            problems.append(f"{entry['path']}: size or sha256 differs from the manifest")
    formats = manifest["parameters"]["formats"]
    splits = manifest["splits"]
    if sum(s["documents"] for s in splits.values()) != docs:
        problems.append(f"the splits hold {sum(s['documents'] for s in splits.values())} "
                        f"documents, not {docs}")
    if "jsonl" in formats:
        seen: dict[str, str] = {}
        for split in splits:
            count = 0
            with reader.open(f"documents/{split}.jsonl") as fh:
                for line in fh:
                    doc_id = json.loads(line)["id"]
                    if doc_id in seen:
                        problems.append(f"{doc_id} is in {seen[doc_id]} and {split}")
                    seen[doc_id] = split
                    count += 1
            if count != splits[split]["documents"]:
                problems.append(f"documents/{split}.jsonl: {count} lines, manifest "
                                f"{splits[split]['documents']}")
        if len(seen) != docs:
            problems.append(f"{len(seen)} distinct documents, not {docs}")
    if "claims" in formats:
        rows = 0
        for split in splits:
            with reader.open(f"claims/{split}.jsonl") as fh:
                rows += sum(1 for _ in fh)
        if rows != claims:
            problems.append(f"claims/: {rows} rows, not {claims}")
    return problems


# ---------- the parent ----------


def _mb(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} MB"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.phase == "load":
        print(json.dumps(phase_load(args)))
        return 0
    if args.phase == "bundle":
        print(json.dumps(phase_bundle(args)))
        return 0

    instance = tempfile.mkdtemp(prefix="bench-dataset.")
    database_url = args.database_url or f"sqlite:///{os.path.join(instance, 'bench.db')}"
    try:
        print(f"load average at start: {os.getloadavg()[0]:.1f}")
        source = os.path.join(instance, "documents.jsonl")
        generate.write_import_jsonl(source, args.docs, args.seed)
        loaded = run_phase(__file__, database_url, "--phase", "load", "--instance", instance,
                           "--file", source, "--docs", str(args.docs),
                           "--claims-per-doc", str(args.claims_per_doc),
                           "--seed", str(args.seed))
        print(f"setup: {loaded['imported']:,} documents, {loaded['claims']:,} claims, "
              f"{loaded['evidence']:,} evidence items in {loaded['setup_s']:.1f} s")

        zipped = args.zip or args.stream
        suffix = ".zip" if zipped else ""
        common = ["--phase", "bundle", "--instance", instance,
                  "--project-id", str(loaded["project_id"]), "--formats", args.formats]
        if args.group_by:
            common += ["--group-by", args.group_by]
        if args.zip:
            common.append("--zip")
        if args.stream:
            common.append("--stream")
        out = os.path.join(instance, f"bundle{suffix}")
        run = run_phase(__file__, database_url, *common, "--out", out,
                        *(["--profiled"] if args.profile else []))
        manifest = run["manifest"]
        written = sum(f["size"] for f in manifest["files"])
        on_disk = os.path.getsize(out) if zipped else written
        docs = args.docs
        print(f"bundle {run['name']} ({', '.join(manifest['parameters']['formats'])}): "
              f"{run['seconds']:.2f} s (CPU {run['cpu_seconds']:.2f} s), "
              f"{docs / run['seconds']:,.0f} documents/s; "
              f"{len(manifest['files']) + 1} files, {written / 2**20:,.1f} MiB of data"
              + (f", zip {on_disk / 2**20:,.1f} MiB" if zipped else ""))
        if args.stream:
            print(f"  streamed in {run['steps']:,} pieces, the first after "
                  f"{run['first_piece_s']:.3f} s, at most {run['longest_gap_s']:.2f} s between "
                  "two; one pass per format and one for agreement")
        else:
            print(f"  passes: {run['steps'] // max(docs, 1)} over {docs:,} documents "
                  f"({run['progress_calls']:,} progress calls for {run['steps']:,} steps)")
        for split, counts in manifest["splits"].items():
            print(f"  {split}: {counts['documents']:,} documents, {counts['claims']:,} claims")
        print(f"  peak RSS {_mb(run['rss_peak_mb'])} (before the bundle "
              f"{_mb(run['rss_before_mb'])}; VmHWM {_mb(run['vmhwm_peak_mb'])})")
        traced = args.tracemalloc == "on" or (
            args.tracemalloc == "auto" and docs <= TRACEMALLOC_AUTO_MAX_DOCS)
        if traced:
            again = run_phase(__file__, database_url, *common, "--out",
                              os.path.join(instance, f"traced{suffix}"), "--traced")
            print(f"  Python heap peak {_mb(again['heap_peak_mb'])} (tracemalloc run, "
                  f"{again['seconds']:.1f} s under tracing)")
        if run["profile"]:
            print(run["profile"])
        status = 0
        if not args.no_verify:
            problems = verify_bundle(out, manifest, docs, loaded["claims"], zipped)
            if problems:
                status = 1
                print("verification FAILED:\n  " + "\n  ".join(problems[:20]))
            else:
                print("verified: every file's size and sha256 match the manifest, every "
                      "document is in exactly one split, claim rows match")
        print(f"load average at end: {os.getloadavg()[0]:.1f}")
        return status
    finally:
        if args.keep:
            print(f"kept {instance}")
        else:
            shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    raise SystemExit(main())
