"""Side by side with Label Studio and doccano: our server driven exactly as the peers are.

    python bench/bench_peers.py [--docs 2000] [--reps 50] [--peers-dir DIR]
                                [--peers-results FILE | --run-peers] [--database-url URL]

The work and the HTTP client come from the peers' own `peers_common.py` (in --peers-dir,
default ../shared/peers beside the repository): `gen_docs(N)` documents of ~3,000 characters
with 5 spans each, and `Client` (one new loopback connection per request). The tools are
never imported or installed by this project: `run_peers.sh` installs each into its own venv
under /tmp; this script only reads the JSON lines it prints (--peers-results) or runs it
(--run-peers).

Our side: a fresh instance folder and database (SQLite by default, the embedded one, as the
peers use; or --database-url, or --postgresql for a throwaway cluster), migrated; a project
whose stances are the generator's three labels (lower-cased: stance values are
lower-case); one user, its manager, with a Bearer token. The app is served by gunicorn
(`annotator serve` when it exists, else gunicorn directly; --server werkzeug for a threaded
werkzeug server) in a child process on 127.0.0.1, with `annotator serve`'s default number of
workers for the database unless --workers says otherwise. Then, in the peers' order and as
their drivers time them:

    import   POST /api/v1/projects/{p}/import?format=doccano&annotator=U   the N documents
             with their spans as one doccano JSONL body (doccano's own import file); each
             span becomes the user's claim, all or nothing; timed to the 201
    export   GET /api/v1/projects/{p}/export.jsonl: every document with its text and claims,
             read to the end (LS: GET export JSON; doccano: POST, poll, GET zip)
    fetch    GET /api/v1/documents/{d}?include=claims: the document with its 5 claims, one
             request (LS: GET task, embeds annotations; doccano: GET example + GET spans);
             median over --reps distinct documents
    create   POST /api/v1/documents/{d}/claims with one span in the document's reserved tail
             (LS: POST annotation with 1 region; doccano: POST span); median

and prints a table: per operation our time, Label Studio's, doccano's, and the faster peer's
time over ours, against the target: at least 5x. It also prints how busy the machine was
during the peers' run and during our fetch and create (busy and steal shares of /proc/stat):
on a shared host a slow round is then told apart from a slow server. Exit status 1 if a
target is missed or a check fails (counts of documents, claims and exported lines).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TARGET_RATIO = 5.0
# (label, our key, the peers' key, unit)
OPERATIONS = (
    ("import", "import_s", "import_s", "s"),
    ("export", "export_s", "export_s", "s"),
    ("fetch document + annotations (median)", "get_task_median_ms", "get_task_median_ms", "ms"),
    ("create one span (median)", "post_span_median_ms", "post_span_median_ms", "ms"),
)
USERNAME = "bench"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", "--n", dest="docs", type=int, default=2000,
                        help="documents (the peers' N)")
    parser.add_argument("--reps", type=int, default=50, help="fetches and creates (median)")
    parser.add_argument("--peers-dir", default=str(REPO.parent / "shared" / "peers"),
                        help="where peers_common.py and run_peers.sh are")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--peers-results", metavar="FILE",
                        help="JSON lines of run_peers.sh; the last line per tool with n = --docs")
    source.add_argument("--run-peers", action="store_true",
                        help="run run_peers.sh N first (installs the tools under /tmp)")
    database = parser.add_mutually_exclusive_group()
    database.add_argument("--database-url", help="default: a new SQLite file")
    database.add_argument("--postgresql", action="store_true",
                          help="a throwaway PostgreSQL cluster (annotator.throwaway_postgres)")
    parser.add_argument("--server", choices=("auto", "serve", "gunicorn", "werkzeug"),
                        default="auto", help="auto: `annotator serve` if it exists, else gunicorn")
    parser.add_argument("--workers", type=int,
                        help="gunicorn workers (default: annotator serve's own for the "
                             "database: cores + 1 on SQLite, 2 x cores + 1 on PostgreSQL; "
                             "doccano runs 2 x cores + 1)")
    parser.add_argument("--out", metavar="FILE",
                        help="append our JSON line to FILE (after the peers' with --run-peers)")
    parser.add_argument("--keep", action="store_true", help="keep the instance folder")
    return parser.parse_args(argv)


def load_peers_common(peers_dir: str) -> Any:
    path = Path(peers_dir)
    if not (path / "peers_common.py").is_file():
        sys.exit(f"bench_peers: no peers_common.py in {path} (give --peers-dir: the folder of "
                 "the peers' scripts, which hold the shared generator and HTTP client)")
    sys.path.insert(0, str(path))
    import peers_common  # noqa: PLC0415

    return peers_common


def cpu_ticks() -> list[int] | None:
    """The machine's CPU time so far, by kind (/proc/stat's first line), or None off Linux."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            return [int(v) for v in fh.readline().split()[1:9]]
    except (OSError, ValueError):
        return None


def cpu_share(before: list[int] | None, after: list[int] | None) -> dict[str, float] | None:
    """Percent of the machine's CPU time between two samples that was busy (user, system,
    interrupts) and that the hypervisor gave to other guests (steal): on a shared host the
    second is the noise a latency median cannot show."""
    if before is None or after is None:
        return None
    d = [b - a for a, b in zip(before, after, strict=True)]
    total = sum(d) or 1
    user, nice, system, _idle, _iowait, irq, softirq, steal = d
    return {"busy_pct": round(100 * (user + nice + system + irq + softirq) / total, 1),
            "steal_pct": round(100 * steal / total, 1)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def setup_database(instance: str, database_url: str | None) -> tuple[str, int, str, str]:
    """Migrate, create the user, its token and the project; return (url, project id, token,
    username)."""
    sys.path.insert(0, str(HERE))
    from common import make_app  # noqa: PLC0415

    from annotator import labelscheme  # noqa: PLC0415
    from annotator.services import projects, users  # noqa: PLC0415

    app = make_app(instance, database_url)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        scheme = labelscheme.default_scheme()
        scheme["stances"] = [{"value": label, "label": label.capitalize(), "key": str(n)}
                             for n, label in enumerate(("claim", "actor", "evidence"), 1)]
        user = users.create_user(f"{USERNAME}-{os.getpid()}", "bench-password-0")
        project = projects.create_project(f"Side by side {os.getpid()}", manager=user,
                                          scheme=labelscheme.validate(scheme))
        token = users.create_token(user, "bench")
        return url, project.id, token, user.username
    raise AssertionError("unreachable")


def has_serve_command() -> bool:
    import click  # noqa: PLC0415

    from annotator import cli  # noqa: PLC0415

    return any(isinstance(obj, click.Command) and obj.name == "serve"
               for obj in vars(cli).values())


def start_server(args: argparse.Namespace, instance: str, url: str, dialect: str, port: int
                 ) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ, ANNOTATOR_INSTANCE_PATH=instance, DATABASE_URL=url)
    bindir = Path(sys.executable).parent
    if args.workers is None:
        from annotator.serving import default_workers  # noqa: PLC0415

        args.workers = default_workers(dialect)
    kind = args.server
    if kind == "auto":
        kind = "serve" if has_serve_command() else "gunicorn"
    if kind == "serve":
        cmd = [str(bindir / "annotator"), "serve", "--bind", f"127.0.0.1:{port}",
               "--workers", str(args.workers), "--timeout", "600"]
        what = f"annotator serve (gunicorn) -w {args.workers}"
    elif kind == "gunicorn":
        cmd = [str(bindir / "gunicorn"), "-w", str(args.workers), "-b", f"127.0.0.1:{port}",
               "--timeout", "600", "annotator:create_app()"]
        what = f"gunicorn -w {args.workers} (sync workers)"
    else:
        code = ("import sys; from werkzeug.serving import run_simple; from annotator import "
                "create_app; run_simple('127.0.0.1', int(sys.argv[1]), create_app(), "
                "threaded=True)")
        cmd = [sys.executable, "-c", code, str(port)]
        what = "werkzeug threaded, 1 process"
    log = open(os.path.join(instance, "server.log"), "wb")  # noqa: SIM115
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=instance,
                            start_new_session=True)
    return proc, what


def wait_http(pc: Any, port: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    client = pc.Client(f"http://127.0.0.1:{port}", timeout=5)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}); see server.log")
        try:
            client.request("GET", "/api/v1/openapi.json")
            return
        except (OSError, pc.HTTPError):
            time.sleep(0.2)
    raise TimeoutError("the server did not answer")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def drive(pc: Any, port: int, project_id: int, token: str, username: str, n: int, reps: int,
          server_pid: int) -> dict[str, Any]:
    """The peers' four operations, timed as their drivers time them."""
    out: dict[str, Any] = {"tool": "annotator", "n": n}
    c = pc.Client(f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"})
    t, docs = pc.timed(pc.gen_docs, n)
    out["gen_docs_s"] = round(t, 2)

    # doccano's import file, labels lower-cased (stance values are lower-case).
    body = "\n".join(json.dumps({"id": f"doc{i:06d}", "text": d["text"],
                                 "label": [[s, e, lab.lower()] for s, e, lab in d["spans"]]})
                     for i, d in enumerate(docs)).encode() + b"\n"
    out["import_payload_bytes"] = len(body)
    t, (_, _, data) = pc.timed(
        c.request, "POST",
        f"/api/v1/projects/{project_id}/import?format=doccano&annotator={username}", body,
        {"Content-Type": "application/x-ndjson"})
    out["import_s"] = round(t, 2)
    imported = json.loads(data)
    out["imported_tasks"], out["imported_annotations"] = imported["documents"], imported["claims"]
    out["mem_after_import"] = pc.proc_tree_mem([server_pid])

    t, (_, _, data) = pc.timed(c.request, "GET", f"/api/v1/projects/{project_id}/export.jsonl")
    out["export_s"] = round(t, 2)
    out["export_bytes"] = len(data)
    lines = [json.loads(line) for line in data.splitlines() if line.strip()]
    out["export_tasks"] = len(lines)
    out["export_regions"] = sum(len(rec.get("claims", [])) for rec in lines)
    out["mem_after_export"] = pc.proc_tree_mem([server_pid])
    ids = {rec["document_id"]: int(rec["text"][3:9]) for rec in lines}  # "docNNNNNN ..."
    del lines, data

    rnd = random.Random(7)
    sample = rnd.sample(sorted(ids), min(reps, len(ids)))
    g = []
    ticks = cpu_ticks()
    for did in sample:
        t, doc = pc.timed(c.json, "GET", f"/api/v1/documents/{did}?include=claims")
        assert len(doc["claims"]) == 5 and doc["text"] == docs[ids[did]]["text"], doc.keys()
        g.append(t)
    out["get_task_median_ms"], out["get_task_p95_ms"] = pc.median_ms(g), pc.p95_ms(g)
    out["cpu_during_fetch"] = cpu_share(ticks, ticks := cpu_ticks())

    p = []
    for did in sample:
        s, e, lab = pc.new_span_for(docs[ids[did]], 0)
        t, claim = pc.timed(c.json, "POST", f"/api/v1/documents/{did}/claims",
                            {"start": s, "end": e, "text": docs[ids[did]]["text"][s:e],
                             "stance": lab.lower()})
        assert claim.get("id"), claim
        p.append(t)
    out["post_span_median_ms"], out["post_span_p95_ms"] = pc.median_ms(p), pc.p95_ms(p)
    out["cpu_during_create"] = cpu_share(ticks, cpu_ticks())
    out["post_span_semantics"] = "POST /api/v1/documents/{d}/claims (1 claim: span + stance)"
    out["mem_end"] = pc.proc_tree_mem([server_pid])
    out["peak_rss_mb"] = out["mem_end"]["sum_hwm_mb"]
    return out


def peer_results(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    lines: list[str] = []
    if args.run_peers:
        script = Path(args.peers_dir) / "run_peers.sh"
        ticks = cpu_ticks()
        done = subprocess.run(["bash", str(script), str(args.docs)], check=True,
                              stdout=subprocess.PIPE, text=True)
        print(f"machine CPU during the peers' run: {cpu_share(ticks, cpu_ticks())}")
        lines = done.stdout.splitlines()
    elif args.peers_results:
        lines = Path(args.peers_results).read_text().splitlines()
    found: dict[str, dict[str, Any]] = {}
    for line in lines:
        line = line.strip()
        if line.startswith("{"):
            rec = json.loads(line)
            if rec.get("n") == args.docs and rec.get("tool") in ("label-studio", "doccano"):
                found[rec["tool"]] = rec  # the last one wins
    return found


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:.2f} s" if unit == "s" else f"{value:.1f} ms"


def report(ours: dict[str, Any], peers: dict[str, dict[str, Any]]) -> list[str]:
    """Print the table; return the missed targets."""
    missed = []
    ls, dc = peers.get("label-studio", {}), peers.get("doccano", {})
    print(f"\n{'operation':<38}{'ours':>10}{'Label Studio':>14}{'doccano':>10}"
          f"{'faster peer / ours':>20}  target ≥ {TARGET_RATIO:g}x")
    for label, key, peer_key, unit in OPERATIONS:
        mine = ours[key]
        theirs = [v for v in (ls.get(peer_key), dc.get(peer_key)) if v is not None]
        if not theirs:
            verdict, ratio_text = "no peer figures", "—"
        else:
            ratio = min(theirs) / mine if mine else float("inf")
            ratio_text = f"{ratio:.1f}x"
            verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
            if verdict == "FAIL":
                missed.append(f"{label}: {ratio_text}")
        print(f"{label:<38}{_fmt(mine, unit):>10}{_fmt(ls.get(peer_key), unit):>14}"
              f"{_fmt(dc.get(peer_key), unit):>10}{ratio_text:>20}  {verdict}")
    # Memory (no target): PSS shares the forked workers' common pages fairly; the sum of
    # the processes' peaks (VmHWM) counts those pages once per worker.
    for label, get in (("memory at end (sum of PSS)",
                        lambda r: r.get("mem_end", {}).get("sum_pss_mb")),
                       ("peak RSS (sum of VmHWM)", lambda r: r.get("peak_rss_mb"))):
        cells = [f"{v:.0f} MB" if v is not None else "—" for v in (get(ours), get(ls), get(dc))]
        print(f"{label:<38}{cells[0]:>10}{cells[1]:>14}{cells[2]:>10}")
    return missed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    pc = load_peers_common(args.peers_dir)
    peers = peer_results(args) if (args.run_peers or args.peers_results) else {}

    with contextlib.ExitStack() as stack:
        if args.postgresql:
            from annotator.throwaway_postgres import throwaway_postgres  # noqa: PLC0415

            # durable: fsync on, as a real server runs it
            args.database_url = stack.enter_context(
                throwaway_postgres("bench_peers", durable=True))
        return run(args, pc, peers)


def run(args: argparse.Namespace, pc: Any, peers: dict[str, dict[str, Any]]) -> int:
    instance = tempfile.mkdtemp(prefix="annotator-bench-peers.")
    proc = None
    failures: list[str] = []
    try:
        url, project_id, token, username = setup_database(instance, args.database_url)
        port = free_port()
        dialect = url.split(":", 1)[0].split("+")[0]
        started = time.perf_counter()
        proc, what = start_server(args, instance, url, dialect, port)
        wait_http(pc, port, proc)
        print(f"ours: {what} on 127.0.0.1:{port}, {dialect}; up in "
              f"{time.perf_counter() - started:.1f} s; cpus: {os.cpu_count()}; load average "
              f"at start: {os.getloadavg()[0]:.2f}")
        ours = drive(pc, port, project_id, token, username, args.docs, args.reps, proc.pid)
        ours.update(server=what, database=dialect, load_avg_end=round(os.getloadavg()[0], 2))
        print(f"load average at end: {os.getloadavg()[0]:.2f}; machine CPU during fetch: "
              f"{ours['cpu_during_fetch']}, during create: {ours['cpu_during_create']}")
        print(json.dumps(ours))
        if args.out:
            with open(args.out, "a", encoding="utf-8") as fh:
                if args.run_peers:  # their lines of this round too, for --peers-results
                    fh.writelines(json.dumps(rec) + "\n" for _, rec in sorted(peers.items()))
                fh.write(json.dumps(ours) + "\n")
        expected = (args.docs, 5 * args.docs)
        for what_, got in (("imported", (ours["imported_tasks"], ours["imported_annotations"])),
                           ("exported", (ours["export_tasks"], ours["export_regions"]))):
            if got != expected:
                failures.append(f"{what_} {got[0]} documents / {got[1]} claims, "
                                f"expected {expected[0]} / {expected[1]}")
        for name, rec in sorted(peers.items()):
            print(f"{name}: {rec.get('version', '')} {rec.get('server', '')}; "
                  f"imported {rec.get('imported_tasks')} tasks, exported "
                  f"{rec.get('export_tasks')} with {rec.get('export_regions')} regions")
        failures += report(ours, peers)
    finally:
        if proc is not None:
            stop_server(proc)
        if args.keep:
            print(f"kept {instance}")
        else:
            shutil.rmtree(instance, ignore_errors=True)
    for failure in failures:
        print(f"MISSED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
