"""One request, in process: where the time of a fetch and of a create goes.

    python bench/bench_request.py [--docs 2000] [--reps 200] [--profile fetch|create]
                                  [--database-url URL]

The app on a fresh database (SQLite by default) with the project of bench_peers.py (its
three stances, one manager with a Bearer token), N documents of ~3,000 characters with 5
claims each imported over the API; then, through the WSGI test client (no HTTP, no
gunicorn: what is left is the app's own cost):

    fetch    GET /api/v1/documents/{d}?include=claims
    create   POST /api/v1/documents/{d}/claims (one span + stance)

and prints per request the median and p95 wall time, the median CPU time of this process
(steadier than wall time on a loaded machine) and the SQL statements it ran (counted
with a SQLAlchemy event). --profile runs cProfile over the reps of one request and prints
the top of the cumulative listing. A development tool beside bench_peers.py, which measures
the same two requests over HTTP against the peers' figures.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

WORDS = ("the minister said that inflation would fall next year while critics "
         "argued the figures were wrong and the report showed growth").split()
LABELS = ("claim", "actor", "evidence")


def make_docs(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """Documents of ~3,000 characters, 5 spans each, the last 200 characters left free."""
    rnd = random.Random(seed)
    docs = []
    for i in range(n):
        text = f"doc{i:06d} " + " ".join(rnd.choice(WORDS) for _ in range(520))
        text = text[:3000]
        spans = []
        for k in range(5):
            start = 20 + k * 500
            spans.append([start, start + 40, LABELS[k % 3]])
        docs.append({"id": f"doc{i:06d}", "text": text, "label": spans})
    return docs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--profile", choices=("fetch", "create", "edit"))
    parser.add_argument("--database-url")
    parser.add_argument("--sql", action="store_true", help="print every statement")
    parser.add_argument("--sort", choices=("cumulative", "tottime"), default="cumulative",
                        help="the profile's order")
    parser.add_argument("--cpu-profile", action="store_true",
                        help="profile CPU time instead of wall time")
    args = parser.parse_args(argv)

    from bench_peers import setup_database  # the same project, user and token
    from sqlalchemy import event

    instance = tempfile.mkdtemp(prefix="bench-request-")
    url, project_id, token, username = setup_database(instance, args.database_url)
    from common import make_app

    app = make_app(instance, url)
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    docs = make_docs(args.docs)
    body = "\n".join(json.dumps(d) for d in docs).encode() + b"\n"
    response = client.post(f"/api/v1/projects/{project_id}/import?format=doccano"
                           f"&annotator={username}", data=body,
                           headers={**auth, "Content-Type": "application/x-ndjson"})
    assert response.status_code == 201, response.get_data(as_text=True)
    with app.app_context():
        from sqlalchemy import select

        from annotator.db import db
        from annotator.models import Document
        ids = list(db.session.execute(select(Document.id).where(
            Document.project_id == project_id).order_by(Document.id)).scalars())
        engine = db.engine
    statements = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements[0] += 1
        if args.sql:
            print("   SQL:", " ".join(statement.split())[:150])

    rnd = random.Random(7)
    sample = [rnd.choice(ids) for _ in range(args.reps)]

    def fetch(did: int) -> None:
        r = client.get(f"/api/v1/documents/{did}?include=claims", headers=auth)
        assert r.status_code == 200 and len(r.get_json()["claims"]) >= 5, r.status_code

    def create(did: int) -> None:
        index = ids.index(did)
        text = docs[index]["text"]
        start = len(text) - 100 + rnd.randrange(50)
        r = client.post(f"/api/v1/documents/{did}/claims", headers=auth,
                        json={"start": start, "end": start + 10,
                              "text": text[start:start + 10], "stance": "claim"})
        assert r.status_code == 201, r.get_data(as_text=True)
        created.append(r.get_json())

    created: list[dict[str, Any]] = []
    edits = iter(range(10**9))

    def edit(_did: int) -> None:
        claim = created[next(edits) % len(created)]
        r = client.patch(f"/api/v1/claims/{claim['id']}", headers=auth,
                         json={"version": claim["version"], "note": f"edit {claim['version']}"})
        assert r.status_code == 200, r.get_data(as_text=True)
        claim["version"] = r.get_json()["version"]

    for name, call in (("fetch", fetch), ("create", create), ("edit", edit)):
        call(sample[0])  # warm: first request compiles queries and schemas
        times, cpu, counts = [], [], []
        profiler = None
        if args.profile == name:
            # --cpu-profile: CPU time, so waits on a database server do not count
            profiler = cProfile.Profile(time.process_time) if args.cpu_profile \
                else cProfile.Profile()
        for did in sample:
            before = statements[0]
            if profiler:
                profiler.enable()
            t0, c0 = time.perf_counter(), time.process_time()
            call(did)
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
            if profiler:
                profiler.disable()
            counts.append(statements[0] - before)
        times.sort()
        print(f"{name:7s} median {statistics.median(times):6.2f} ms  "
              f"p95 {times[int(len(times) * 0.95) - 1]:6.2f} ms  "
              f"CPU {statistics.median(cpu):6.2f} ms  "
              f"SQL statements {statistics.median(counts):.0f}  "
              f"(load average {os.getloadavg()[0]:.1f})")
        if profiler:
            pstats.Stats(profiler).sort_stats(args.sort).print_stats(45)
    return 0


if __name__ == "__main__":
    sys.exit(main())
