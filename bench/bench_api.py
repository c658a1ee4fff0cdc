"""Latency of the annotation loop through the HTTP API, on loopback, with a Bearer token.

    python bench/bench_api.py [--iterations 300] [--docs 50] [--database-url URL]

The app is served by werkzeug (make_server(..., threaded=True)) from a thread of this process
on 127.0.0.1, on a fresh SQLite database in a temporary instance folder (or --database-url).
One client then runs, per iteration, what the annotation page does for one claim:

    GET   /api/v1/documents/{id}          the document with its text
    GET   /api/v1/documents/{id}/claims   the annotator's claims on it
    POST  /api/v1/documents/{id}/claims   a new claim (span, actor, stance, evidence)
    PATCH /api/v1/claims/{id}             change its stance, verdict, note and evidence

and reports p50/p95/p99 latency per operation and the errors (any unexpected status).
Target: p95 < 50 ms for each operation on SQLite. The run is bounded by --iterations and
--max-seconds. Exit status 1 when a target is missed or a request fails.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from typing import Any

TARGET_P95_MS = 50.0
OPERATIONS = ("GET document", "GET claims", "POST claim", "PATCH claim")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=300, help="measured iterations")
    parser.add_argument("--warmup", type=int, default=10, help="iterations not measured")
    parser.add_argument("--docs", type=int, default=50, help="documents the loop cycles over")
    parser.add_argument("--claims-per-doc", type=int, default=5,
                        help="claims inserted per document before the loop")
    parser.add_argument("--max-seconds", type=float, default=300.0,
                        help="stop the loop after this long, whatever --iterations says")
    parser.add_argument("--database-url", help="default: a new SQLite file")
    parser.add_argument("--keep", action="store_true", help="keep the instance folder")
    return parser.parse_args(argv)


class Client:
    """One new loopback connection per request (werkzeug's server speaks HTTP/1.0)."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any, float]:
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        elapsed_ms = (time.perf_counter() - started) * 1000
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw[:200]
        return response.status, payload, elapsed_ms


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    import generate
    from common import make_app, percentiles, seed_project
    from werkzeug.serving import make_server

    from annotator.db import db
    from annotator.models import User
    from annotator.services import users

    tmp = tempfile.mkdtemp(prefix="annotator-bench-api.")
    server = None
    failures: list[str] = []
    try:
        app = make_app(tmp, args.database_url)
        dialect = app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0]
        with app.app_context():
            setup, ids = seed_project(tmp, args.docs, args.claims_per_doc)
            annotator = db.session.get(User, setup.annotator_ids[0])
            assert annotator is not None
            token = users.create_token(annotator, "bench")
            username = annotator.username
        generated = list(generate.iter_documents(args.docs))

        server = make_server("127.0.0.1", 0, app, threaded=True)
        port = server.server_port
        threading.Thread(target=server.serve_forever, daemon=True).start()
        client = Client(port, token)
        print(f"database: {dialect}; server: werkzeug threaded on 127.0.0.1:{port}; "
              f"client: 1, sequential; cpus: {os.cpu_count()}; "
              f"load average at start: {os.getloadavg()[0]:.2f}")
        print(f"documents: {args.docs}; claims per document before the loop: "
              f"{args.claims_per_doc} (spread over 3 annotators); acting as {username} "
              "(blind annotator, Bearer token)")

        latencies: dict[str, list[float]] = defaultdict(list)
        errors: dict[str, int] = defaultdict(int)
        examples: list[str] = []

        def record(op: str, expected: int, result: tuple[int, Any, float],
                   measured: bool) -> bool:
            status, payload, ms = result
            if measured:
                latencies[op].append(ms)
            if status != expected:
                errors[op] += 1
                if len(examples) < 5:
                    examples.append(f"{op}: {status} {str(payload)[:200]}")
                return False
            return True

        started = time.perf_counter()
        done = 0
        stances = generate.STANCES
        for i in range(args.warmup + args.iterations):
            if time.perf_counter() - started > args.max_seconds:
                print(f"stopped after {args.max_seconds:g} s (--max-seconds)")
                break
            measured = i >= args.warmup
            doc = generated[i % len(generated)]
            did = ids[doc.external_id]
            res = client.request("GET", f"/api/v1/documents/{did}")
            if record("GET document", 200, res, measured) and res[1]["text"] != doc.text:
                errors["GET document"] += 1
            record("GET claims", 200, client.request("GET", f"/api/v1/documents/{did}/claims"),
                   measured)
            body = generate.make_claims(doc, 1, seed=generate.SEED + 1 + i)[0]
            res = client.request("POST", f"/api/v1/documents/{did}/claims", body)
            if not record("POST claim", 201, res, measured):
                continue
            claim = res[1]
            patch = {
                "version": claim["version"],
                "stance": stances[(stances.index(claim["stance"]) + 1) % len(stances)],
                "verdict": generate.VERDICTS[i % len(generate.VERDICTS)],
                "note": f"revised in iteration {i} \u2014 \u201cchecked\u201d",
                "evidence": body["evidence"][:1] + [{
                    "type": generate.EVIDENCE_TYPES[i % len(generate.EVIDENCE_TYPES)],
                    "relation": "inconclusive", "description": "added on review"}],
            }
            res = client.request("PATCH", f"/api/v1/claims/{claim['id']}", patch)
            if record("PATCH claim", 200, res, measured) and res[1]["version"] != 2:
                errors["PATCH claim"] += 1
            done += measured
        wall = time.perf_counter() - started
        print(f"iterations: {done} measured (+{args.warmup} warm-up) in {wall:.1f} s; "
              f"load average at end: {os.getloadavg()[0]:.2f}")
        print()
        print(f"{'operation':<14}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
              f"{'mean ms':>9}{'max ms':>9}{'errors':>8}")
        for op in OPERATIONS:
            stats = percentiles(latencies[op])
            print(f"{op:<14}{len(latencies[op]):>6}{stats['p50']:>9.1f}{stats['p95']:>9.1f}"
                  f"{stats['p99']:>9.1f}{stats['mean']:>9.1f}{stats['max']:>9.1f}"
                  f"{errors[op]:>8}")
        for example in examples:
            print(f"  error: {example}")
        print()
        print("TARGETS")
        for op in OPERATIONS:
            p95 = percentiles(latencies[op])["p95"]
            ok = bool(latencies[op]) and p95 < TARGET_P95_MS
            print(f"  {'met   ' if ok else 'MISSED'}  {op} p95 < {TARGET_P95_MS:g} ms "
                  f"({dialect}): {p95:.1f} ms")
            if not ok:
                failures.append(f"{op} p95 {p95:.1f} ms")
        if any(errors.values()):
            failures.append(f"{sum(errors.values())} failed request(s)")
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
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
