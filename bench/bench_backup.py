"""`annotator backup` / `annotator restore` of a large project: time, file size, memory.

Builds N generated documents with M claims each (with evidence and assignments), backs the
project up to a file, restores it under a new name into the same database, checks the copy
has every row, and prints the figures next to the targets: backup and restore each under
60 s for 10,000 documents x 5 claims, and a Python heap peak (tracemalloc) that does not grow
with the project (under 100 MB: the restore keeps only old -> new id maps).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(__file__))

import generate  # noqa: E402
from common import bulk_insert_claims, document_ids, make_app, make_project  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from annotator.db import db  # noqa: E402
from annotator.models import Assignment, Claim, Document, Evidence, Project  # noqa: E402
from annotator.services import backup, documents  # noqa: E402

TARGET_S = 60.0
TARGET_HEAP_MB = 100.0


def counts(project_id: int) -> dict[str, int]:
    docs = select(Document.id).where(Document.project_id == project_id)
    claims = select(Claim.id).where(Claim.document_id.in_(docs))
    return {
        "documents": db.session.scalar(select(func.count()).select_from(docs.subquery())),
        "claims": db.session.scalar(select(func.count()).select_from(claims.subquery())),
        "evidence": db.session.scalar(select(func.count()).where(Evidence.claim_id.in_(claims))),
        "assignments": db.session.scalar(
            select(func.count()).where(Assignment.document_id.in_(docs))),
    }


def timed(action):  # noqa: ANN001, ANN201
    tracemalloc.start()
    started = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return result, seconds, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--claims-per-doc", type=int, default=5)
    parser.add_argument("--database-url", help="an existing empty database (default: SQLite)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)

    folder = tempfile.mkdtemp(prefix="bench-backup.")
    failed = False
    try:
        app = make_app(folder, args.database_url)
        with app.app_context():
            setup = make_project()
            project = db.session.get(Project, setup.project_id)
            docs = list(generate.iter_documents(args.docs))
            documents.import_file(project, "bench.jsonl", "".join(
                json.dumps({"id": d.external_id, "title": d.title, "text": d.text,
                            "meta": d.meta}, ensure_ascii=False) + "\n" for d in docs
            ).encode())
            bulk_insert_claims(setup, docs, document_ids(project.id), args.claims_per_doc)
            del docs
            original = counts(project.id)

            path = os.path.join(folder, "project.backup.gz")

            def write() -> dict[str, int]:
                with open(path, "wb") as fh:
                    return backup.write_backup(project, fh)

            _, backup_s, backup_heap = timed(write)

            def read() -> backup.RestoreResult:
                with open(path, "rb") as fh:
                    return backup.restore_backup(fh, name=f"{project.name} (restored)")

            result, restore_s, restore_heap = timed(read)
            copy = counts(result.project.id)
            size_mb = os.path.getsize(path) / 2**20

        rows = sum(result.counts.values())
        print(f"project: {original['documents']:,} documents, {original['claims']:,} claims, "
              f"{original['evidence']:,} evidence items, {original['assignments']:,} "
              f"assignments ({rows:,} rows in the backup, {size_mb:.1f} MB gzip'd)")
        print(f"backup : {backup_s:6.1f} s  ({rows / backup_s:,.0f} rows/s)  heap peak "
              f"{backup_heap:5.1f} MB   target < {TARGET_S:.0f} s, < {TARGET_HEAP_MB:.0f} MB")
        print(f"restore: {restore_s:6.1f} s  ({rows / restore_s:,.0f} rows/s)  heap peak "
              f"{restore_heap:5.1f} MB   target < {TARGET_S:.0f} s, < {TARGET_HEAP_MB:.0f} MB")
        print(f"copy has every row: {copy == original}")
        failed = copy != original or max(backup_s, restore_s) > TARGET_S \
            or max(backup_heap, restore_heap) > TARGET_HEAP_MB
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
