"""Agreement: the pure report over a project's export records, and one document's
annotators side by side."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..agreement.highlight import segments
from ..agreement.report import agreement_report
from ..db import db
from ..models import Assignment, Claim, Document, Project
from .claims import claim_to_dict
from .exporting import iter_records


def project_report(project: Project, *, include_unfinished: bool = False,
                   top: int | None = 10) -> dict[str, Any]:
    """The agreement report (annotator.agreement.report) of the project's live claims."""
    # Gold claims only serve the comparison with gold (the report keeps them apart).
    report = agreement_report(iter_records(project, "all"),
                              include_unfinished=include_unfinished, top=top)
    report["summary"]["project"] = project.name
    report["summary"]["annotators_per_document"] = project.annotators_per_document
    return report


def document_record(document: Document) -> dict[str, Any]:
    """The document's export record as far as the report reads it: text, the annotators'
    statuses and their live claims (no gold)."""
    claims = db.session.execute(
        select(Claim)
        .where(Claim.document_id == document.id, Claim.deleted_at.is_(None),
               Claim.is_gold.is_(False))
        .options(selectinload(Claim.evidence), selectinload(Claim.actor),
                 selectinload(Claim.annotator), selectinload(Claim.document))
        .order_by(Claim.start, Claim.end, Claim.id)
    ).scalars()
    assignments = db.session.execute(
        select(Assignment).where(Assignment.document_id == document.id)
        .options(selectinload(Assignment.user)).order_by(Assignment.id)
    ).scalars()
    return {
        "id": document.external_id, "document_id": document.id, "title": document.title,
        "text": document.text,
        "annotators": [{"annotator": a.user.username, "status": a.status} for a in assignments],
        "claims": [claim_to_dict(c) for c in claims],
    }


def document_comparison(document: Document, *, include_unfinished: bool = False
                        ) -> dict[str, Any]:
    """Every annotator of the document side by side: status, claims, the text cut into
    highlight segments; and the document's own agreement report (its coder pairs)."""
    record = document_record(document)
    statuses = {a["annotator"]: a["status"] for a in record["annotators"]}
    by_annotator: dict[str, list[dict[str, Any]]] = {name: [] for name in statuses}
    for claim in record["claims"]:
        by_annotator.setdefault(claim["annotator"], []).append(claim)
    lanes = []
    for name in sorted(by_annotator):
        claims = by_annotator[name]
        lanes.append({
            "annotator": name,
            "status": statuses.get(name),
            "claims": claims,
            "segments": segments(record["text"], [(c["start"], c["end"]) for c in claims]),
        })
    return {
        "lanes": lanes,
        "report": agreement_report([record], include_unfinished=include_unfinished, top=1),
    }
