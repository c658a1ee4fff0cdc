"""Many annotators at once: `annotator serve` (gunicorn) on PostgreSQL, on loopback.

    python bench/bench_load.py [--users 50] [--seconds 60] [--workers N] [--database-url URL]

Starts a throwaway PostgreSQL cluster (durable: fsync on, unless --fast-pg; or uses
--database-url, an existing empty database), builds a project with --docs generated
documents and --users annotators (each assigned every document, with a mix of statuses and
some claims already there), and serves it with `annotator serve --workers N` in a
subprocess. Then --users simulated annotators, one thread each with its own Bearer token,
work for --seconds with a think time of --think-min..--think-max seconds between actions:

    GET   /api/v1/projects/{pid}/documents    their document list (at the start of a round)
    GET   /api/v1/documents/{id}              open a document ...
    GET   /api/v1/documents/{id}/claims       ... with their claims
    POST  /api/v1/documents/{id}/claims       1-3 new claims (span, actor, evidence)
    PATCH /api/v1/claims/{id}                 1-2 edits of their claims, with the version
    PUT   /api/v1/documents/{id}/status       done: the answer names the next document

It prints p50/p95/p99 latency per kind of request and overall, the errors (any unexpected
status or broken connection) and the throughput, then reads the database: every
acknowledged claim must be there with its acknowledged version, note and stance, and the
claims created during the run must be exactly the acknowledged ones. Targets (issue 7):
p99 < 100 ms, zero errors, zero lost writes; exit status 1 when one is missed.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TARGET_P99_MS = 100.0
KINDS = ("GET documents", "GET document", "GET claims", "POST claim", "PATCH claim",
         "PUT status")
ANNOTATOR = Path(sys.executable).parent / "annotator"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from annotator.serving import default_workers

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="simulated annotators")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long they work")
    parser.add_argument("--workers", type=int, default=default_workers(),
                        help="gunicorn workers (default: annotator serve's)")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument("--docs", type=int, default=200, help="documents in the project")
    parser.add_argument("--claims-per-doc", type=int, default=5,
                        help="claims already on each document (spread over the annotators)")
    parser.add_argument("--warmup", type=float, default=5.0,
                        help="seconds of work before the measured --seconds (not timed; "
                             "errors and writes still count)")
    parser.add_argument("--think-min", type=float, default=0.2)
    parser.add_argument("--think-max", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="an existing empty PostgreSQL database "
                                               "(default: a throwaway cluster)")
    parser.add_argument("--fast-pg", action="store_true",
                        help="throwaway cluster with fsync and synchronous_commit off")
    parser.add_argument("--keep", action="store_true", help="keep the instance folder and log")
    return parser.parse_args(argv)


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examples: list[str] = field(default_factory=list)
    acked: dict[int, dict[str, Any]] = field(default_factory=dict)  # claim id -> last answer
    lock: threading.Lock = field(default_factory=threading.Lock)
    measure_from: float = 0.0  # perf_counter: requests sent before are warm-up

    def record(self, kind: str, expected: int, status: int | None, payload: Any,
               started: float, ms: float) -> bool:
        with self.lock:
            if started >= self.measure_from:
                self.latencies[kind].append(ms)
            if status == expected:
                return True
            self.errors[kind] += 1
            if len(self.examples) < 8:
                self.examples.append(f"{kind}: {status} {str(payload)[:200]}")
            return False


class Client:
    """One annotator's HTTP client: a new loopback connection per request (gunicorn's sync
    workers close each connection after the answer)."""

    def __init__(self, port: int, token: str, results: Results) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.results = results

    def call(self, kind: str, method: str, path: str, expected: int,
             body: Any = None) -> Any | None:
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        status: int | None = None
        payload: Any = None
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
            status = response.status
            payload = json.loads(raw) if raw else None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            payload = repr(exc)
        finally:
            connection.close()
        ms = (time.perf_counter() - started) * 1000
        return payload if self.results.record(kind, expected, status, payload, started,
                                              ms) else None


def annotator_session(client: Client, project_id: int, texts: dict[int, Any], deadline: float,
                      rng: random.Random, think: tuple[float, float], start_at: int) -> None:
    """What one annotator does until the deadline (see the module docstring)."""
    import generate

    results = client.results

    def pause() -> bool:
        time.sleep(rng.uniform(*think))
        return time.monotonic() < deadline

    n = 0
    while time.monotonic() < deadline:
        listing = client.call("GET documents", "GET", f"/api/v1/projects/{project_id}/documents",
                              200)
        if not listing:
            if not pause():
                return
            continue
        order = [d["id"] for d in listing]
        document_id: int | None = order[start_at % len(order)]
        while document_id is not None and pause():
            if client.call("GET document", "GET", f"/api/v1/documents/{document_id}",
                           200) is None:
                break
            client.call("GET claims", "GET", f"/api/v1/documents/{document_id}/claims", 200)
            mine: list[dict[str, Any]] = []
            for _ in range(rng.randint(1, 3)):
                if not pause():
                    return
                n += 1
                body = generate.make_claims(texts[document_id], 1,
                                            seed=rng.randrange(1 << 30))[0]
                body["note"] = f"load {rng.getrandbits(40):x} #{n}"
                created = client.call("POST claim", "POST",
                                      f"/api/v1/documents/{document_id}/claims", 201, body)
                if created:
                    mine.append(created)
                    with results.lock:
                        results.acked[created["id"]] = created
            for claim in rng.sample(mine, min(len(mine), rng.randint(1, 2))):
                if not pause():
                    return
                stances = generate.STANCES
                patch = {"version": claim["version"],
                         "stance": stances[(stances.index(claim["stance"]) + 1) % len(stances)],
                         "note": claim["note"] + " (edited)",
                         "evidence": claim["evidence"][:1] + [{
                             "type": "other", "relation": "inconclusive",
                             "description": "added on a second look"}]}
                edited = client.call("PATCH claim", "PATCH", f"/api/v1/claims/{claim['id']}",
                                     200, patch)
                if edited:
                    with results.lock:
                        results.acked[edited["id"]] = edited
            if not pause():
                return
            answer = client.call("PUT status", "PUT", f"/api/v1/documents/{document_id}/status",
                                 200, {"status": "done"})
            document_id = answer["next_document_id"] if answer else None


def wait_ready(url: str, process: subprocess.Popen, log_path: Path, workers: int,
               timeout: float = 300) -> None:
    """Until every worker has built its app (its "worker N ready" line) and /healthz is 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"annotator serve exited with {process.returncode}")
        ready = log_path.read_text(errors="replace").count(" ready\n")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200 and ready >= workers:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"annotator serve not ready after {timeout} s")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    import generate
    from common import cpu_seconds, make_app, percentiles, seed_project
    from sqlalchemy import func, select

    from annotator.db import db
    from annotator.models import Claim, User
    from annotator.services import users
    from annotator.throwaway_postgres import free_port, throwaway_postgres

    failures: list[str] = []
    tmp = tempfile.mkdtemp(prefix="annotator-bench-load.")
    with ExitStack() as stack:
        url = args.database_url or stack.enter_context(
            throwaway_postgres("annotator_bench", durable=not args.fast_pg,
                               settings={"max_connections": "200"}))
        app = make_app(tmp, url)
        with app.app_context():
            setup, ids = seed_project(tmp, args.docs, args.claims_per_doc,
                                      annotators=args.users)
            tokens = [users.create_token(db.session.get(User, uid), "load")
                      for uid in setup.annotator_ids]
            claims_before = db.session.scalar(select(func.max(Claim.id))) or 0
            db.engine.dispose()
        texts = {ids[doc.external_id]: doc for doc in generate.iter_documents(args.docs)}

        port = free_port()
        log_path = Path(tmp) / "serve.log"
        env = {**os.environ, "DATABASE_URL": url, "ANNOTATOR_INSTANCE_PATH": tmp,
               "SECRET_KEY": "bench-load-secret"}
        with open(log_path, "wb") as log:
            server = subprocess.Popen(  # noqa: S603
                [str(ANNOTATOR), "serve", "--bind", f"127.0.0.1:{port}",
                 "--workers", str(args.workers), "--threads", str(args.threads)],
                env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)

        def stop_server() -> None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(5)

        stack.callback(stop_server)
        wait_ready(f"http://127.0.0.1:{port}", server, log_path, args.workers)

        print(f"database: PostgreSQL ({'given' if args.database_url else 'throwaway'}"
              f"{', fsync off' if args.fast_pg and not args.database_url else ''}); "
              f"server: annotator serve, gunicorn {args.workers} worker(s) × "
              f"{args.threads} thread(s); cpus: {os.cpu_count()}; "
              f"load average at start: {os.getloadavg()[0]:.2f}")
        print(f"annotators: {args.users} threads, think time {args.think_min:g}-"
              f"{args.think_max:g} s; documents: {args.docs} with {args.claims_per_doc} "
              f"claims each before the run; {args.warmup:g} s warm-up, then "
              f"{args.seconds:g} s measured")

        # The 50 simulated annotators share this process: a full collection of its heap
        # (the documents' texts, every answer kept for the lost-write check) stops all of
        # them at once, and its pause was counted as the server's latency. No collection
        # while they run (what they allocate is freed by reference counting).
        gc.collect()
        gc.freeze()
        gc.disable()
        cpu_before = (cpu_seconds(server.pid), cpu_seconds(command="postgres"),
                      time.process_time())
        results = Results(measure_from=time.perf_counter() + args.warmup)
        deadline = time.monotonic() + args.warmup + args.seconds
        threads = [threading.Thread(target=annotator_session, daemon=True, args=(
            Client(port, token, results), setup.project_id, texts, deadline,
            random.Random(f"{args.seed}:{i}"), (args.think_min, args.think_max), i * 7))
            for i, token in enumerate(tokens)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(args.warmup + args.seconds + 60)
        wall = time.perf_counter() - results.measure_from
        gc.enable()
        load_end = os.getloadavg()[0]
        # Where the 2 cores went, warm-up included: the server's workers, PostgreSQL, and
        # this process (the 50 simulated annotators), per request sent.
        cpu_used = [after - before for before, after in zip(cpu_before, (
            cpu_seconds(server.pid), cpu_seconds(command="postgres"), time.process_time()),
            strict=True)]
        sent = sum(len(v) for v in results.latencies.values()) * (args.seconds + args.warmup) \
            / args.seconds
        stop_server()

        all_ms = [ms for kind in KINDS for ms in results.latencies[kind]]
        total_errors = sum(results.errors.values())
        print(f"requests: {len(all_ms)} in {wall:.1f} s = {len(all_ms) / wall:.1f} req/s "
              f"({sum(len(results.latencies[k]) for k in ('POST claim', 'PATCH claim', 'PUT status')) / wall:.1f} "  # noqa: E501
              f"writes/s); load average at end: {load_end:.2f}")
        print("CPU per request (ms): " + ", ".join(
            f"{name} {seconds * 1000 / max(sent, 1):.1f}" for name, seconds in
            zip(("server", "PostgreSQL", "load generator"), cpu_used, strict=True))
            + f"; CPU busy {sum(cpu_used) / (wall + args.warmup) / (os.cpu_count() or 1):.0%}")
        print()
        print(f"{'request':<15}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
              f"{'mean ms':>9}{'max ms':>9}{'errors':>8}")
        for kind in (*KINDS, "overall"):
            values = all_ms if kind == "overall" else results.latencies[kind]
            errors = total_errors if kind == "overall" else results.errors[kind]
            stats = percentiles(values)
            print(f"{kind:<15}{len(values):>7}{stats['p50']:>9.1f}{stats['p95']:>9.1f}"
                  f"{stats['p99']:>9.1f}{stats['mean']:>9.1f}{stats['max']:>9.1f}{errors:>8}")
        for example in results.examples:
            print(f"  error: {example}")

        # No lost write: every acknowledged claim as acknowledged, and nothing else new.
        with app.app_context():
            rows = {row.id: row for row in db.session.execute(
                select(Claim.id, Claim.version, Claim.note, Claim.stance)
                .where(Claim.id > claims_before))}
            db.session.remove()
            db.engine.dispose()
        lost = [cid for cid, c in results.acked.items()
                if cid not in rows or (rows[cid].version, rows[cid].note, rows[cid].stance)
                != (c["version"], c["note"], c["stance"])]
        unacknowledged = sorted(set(rows) - set(results.acked))
        edits = sum(c["version"] - 1 for c in results.acked.values())
        print()
        print(f"database: {len(rows)} claim(s) created during the run; acknowledged: "
              f"{len(results.acked)} creates and {edits} edits; lost or different: "
              f"{len(lost)}; stored but never acknowledged: {len(unacknowledged)}")

        print()
        print("TARGETS")
        overall_p99 = percentiles(all_ms)["p99"] if all_ms else float("inf")
        checks = [(f"p99 < {TARGET_P99_MS:g} ms overall", overall_p99 < TARGET_P99_MS,
                   f"{overall_p99:.1f} ms")]
        checks += [(f"p99 < {TARGET_P99_MS:g} ms {kind}",
                    percentiles(results.latencies[kind])["p99"] < TARGET_P99_MS,
                    f"{percentiles(results.latencies[kind])['p99']:.1f} ms") for kind in KINDS
                   if results.latencies[kind]]
        checks += [("zero errors", total_errors == 0, str(total_errors)),
                   ("zero lost writes", not lost and not unacknowledged,
                    f"{len(lost)} lost, {len(unacknowledged)} unacknowledged")]
        for name, ok, value in checks:
            print(f"  {'met   ' if ok else 'MISSED'}  {name}: {value}")
            if not ok:
                failures.append(f"{name}: {value}")
        if args.keep:
            print(f"kept {tmp} (serve.log: the server's log)")
        else:
            stack.callback(shutil.rmtree, tmp, True)
    if failures:
        print("FAIL: " + "; ".join(failures))
        return 1
    print("PASS: all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
