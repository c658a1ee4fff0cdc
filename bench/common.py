"""Shared setup for the benchmarks: an app on a fresh database, a project, bulk claims."""

from __future__ import annotations

import os
import resource
import secrets
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import generate
from flask import Flask
from sqlalchemy import insert, select

from annotator import create_app
from annotator.db import db
from annotator.models import Actor, Assignment, Claim, Document, Evidence, utcnow
from annotator.services import projects, users

PASSWORD = "bench-password-0"


def make_app(instance_path: str, database_url: str | None) -> Flask:
    """The app on `database_url` (default: a new SQLite file in the instance folder),
    migrated by the real Alembic migrations."""
    from flask_migrate import upgrade

    os.environ["ANNOTATOR_INSTANCE_PATH"] = instance_path
    url = database_url or f"sqlite:///{os.path.join(instance_path, 'bench.db')}"
    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        upgrade()
    return app


@dataclass
class Setup:
    project_id: int
    project_name: str
    manager_id: int
    annotator_ids: list[int]
    actor_ids: dict[str, int]


def make_project(annotators: int = 3) -> Setup:
    """A project on the default scheme with a manager, annotators and the generator's actors.

    Names carry a random suffix so a reused (PostgreSQL) database takes a second run.
    """
    suffix = secrets.token_hex(3)
    manager = users.create_user(f"bench-manager-{suffix}", PASSWORD)
    project = projects.create_project(f"Benchmark {suffix}", manager=manager)
    annotator_ids = []
    for n in range(annotators):
        user = users.create_user(f"bench-annotator{n}-{suffix}", PASSWORD)
        projects.add_member(project, user, "annotator")
        annotator_ids.append(user.id)
    now = utcnow()
    db.session.execute(insert(Actor), [
        {"project_id": project.id, "name": name, "aliases": [], "created_at": now}
        for name in generate.ACTORS
    ])
    db.session.commit()
    actor_ids = dict(db.session.execute(
        select(Actor.name, Actor.id).where(Actor.project_id == project.id)).all())
    return Setup(project.id, project.name, manager.id, annotator_ids, actor_ids)


def document_ids(project_id: int) -> dict[str, int]:
    return dict(db.session.execute(
        select(Document.external_id, Document.id).where(Document.project_id == project_id)
    ).all())


def seed_project(tmp: str, docs: int, claims_per_doc: int, annotators: int = 3
                 ) -> tuple[Setup, dict[str, int]]:
    """make_project, then `docs` generated documents imported through the app (as a JSONL
    file written in `tmp`) and `claims_per_doc` claims bulk-inserted on each: the setup,
    and document ids by external id. Call inside an app context."""
    from annotator.models import Project
    from annotator.services import documents

    setup = make_project(annotators=annotators)
    project = db.session.get(Project, setup.project_id)
    assert project is not None
    path = os.path.join(tmp, "docs.jsonl")
    generate.write_import_jsonl(path, docs)
    with open(path, "rb") as fh:
        documents.import_file(project, "docs.jsonl", fh.read())
    ids = document_ids(setup.project_id)
    bulk_insert_claims(setup, generate.iter_documents(docs), ids, claims_per_doc)
    return setup, ids


def bulk_insert_claims(setup: Setup, docs: Iterable[generate.GeneratedDocument],
                       ids: dict[str, int], per_doc: int, seed: int = generate.SEED,
                       chunk: int = 1000) -> tuple[int, int]:
    """Insert `per_doc` generated claims (with evidence) per document with executemany
    INSERTs, and assign each document to every annotator, with a mix of statuses.
    Returns (claims, evidence items) inserted."""
    claim_table, evidence_table = Claim.__table__, Evidence.__table__
    claim_insert = insert(claim_table).returning(claim_table.c.id, sort_by_parameter_order=True)
    n_claims = n_evidence = 0
    pending: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    assignments: list[dict[str, Any]] = []
    statuses = ["done", "done", "in_progress", "todo"]

    def flush() -> None:
        nonlocal n_claims, n_evidence
        if not pending:
            return
        claim_ids = db.session.execute(claim_insert, [row for row, _ in pending]).scalars().all()
        evidence_rows = [dict(item, claim_id=claim_id)
                         for claim_id, (_, items) in zip(claim_ids, pending, strict=True)
                         for item in items]
        if evidence_rows:
            db.session.execute(insert(evidence_table), evidence_rows)
        if assignments:
            db.session.execute(insert(Assignment.__table__), assignments)
        db.session.commit()
        n_claims += len(pending)
        n_evidence += len(evidence_rows)
        pending.clear()
        assignments.clear()

    now = utcnow()
    for doc in docs:
        doc_id = ids[doc.external_id]
        for i, claim in enumerate(generate.make_claims(doc, per_doc, seed)):
            annotator = setup.annotator_ids[(doc.index + i) % len(setup.annotator_ids)]
            mention = claim.get("actor_mention")
            row = {
                "document_id": doc_id, "annotator_id": annotator,
                "start": claim["start"], "end": claim["end"], "text": claim["text"],
                "actor_id": setup.actor_ids[claim["actor"]] if claim.get("actor") else None,
                "actor_start": mention["start"] if mention else None,
                "actor_end": mention["end"] if mention else None,
                "stance": claim["stance"], "verdict": claim["verdict"], "note": claim["note"],
                "scheme_version": 1, "is_gold": False, "version": 1,
                "created_at": now, "updated_at": now, "deleted_at": None,
            }
            items = [
                {"position": p, "type": e["type"], "relation": e["relation"],
                 "description": e["description"],
                 "document_id": doc_id if "start" in e else None,
                 "start": e.get("start"), "end": e.get("end"), "text": e.get("text"),
                 "source_url": e.get("source_url")}
                for p, e in enumerate(claim["evidence"])
            ]
            pending.append((row, items))
        # Every annotator is assigned every document (annotators see only their assigned
        # documents), with a mix of statuses.
        for n, user_id in enumerate(setup.annotator_ids):
            status = statuses[(doc.index + n) % len(statuses)]
            assignments.append({
                "document_id": doc_id, "user_id": user_id, "status": status, "assigned_at": now,
                "started_at": now if status != "todo" else None,
                "done_at": now if status == "done" else None,
            })
        if len(pending) >= chunk:
            flush()
    flush()
    return n_claims, n_evidence


def maxrss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def vmhwm_mb() -> float | None:
    """Peak RSS of this process image (VmHWM, Linux): unlike ru_maxrss it is not inherited
    from the parent across fork + exec."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p95/p99 (inclusive method), mean and max of `values`."""
    if len(values) < 2:
        v = values[0] if values else float("nan")
        return {"p50": v, "p95": v, "p99": v, "mean": v, "max": v}
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": q[49], "p95": q[94], "p99": q[98], "mean": statistics.fmean(values),
            "max": max(values)}


def _proc_stat(pid: int) -> tuple[int, str, float] | None:
    """(parent pid, command name, CPU seconds used) of a process, from /proc; None if gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            raw = fh.read()
    except OSError:
        return None
    name = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    ticks = os.sysconf("SC_CLK_TCK")
    # fields[1] is the ppid; utime and stime are fields 14 and 15 of stat (11, 12 here)
    return int(fields[1]), name, (int(fields[11]) + int(fields[12])) / ticks


def cpu_seconds(root_pid: int | None = None, command: str | None = None) -> float:
    """CPU seconds used so far by `root_pid` and its descendants (alive ones), or by every
    process whose command name is `command` (e.g. "postgres")."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _proc_stat(int(entry))) is not None:
            stats[int(entry)] = stat
    if command is not None:
        return sum(cpu for _, name, cpu in stats.values() if name == command)
    wanted, changed = {root_pid}, True
    while changed:
        changed = False
        for pid, (ppid, _, _) in stats.items():
            if ppid in wanted and pid not in wanted:
                wanted.add(pid)
                changed = True
    return sum(stats[pid][2] for pid in wanted if pid in stats)
