"""A project's agreement report: the pure report over the project's export records."""

from __future__ import annotations

from typing import Any

from ..agreement.report import agreement_report
from ..models import Project
from .exporting import iter_records


def project_report(project: Project, *, include_unfinished: bool = False,
                   top: int = 10) -> dict[str, Any]:
    """The agreement report (annotator.agreement.report) of the project's live claims."""
    report = agreement_report(iter_records(project), include_unfinished=include_unfinished,
                              top=top)
    report["summary"]["project"] = project.name
    report["summary"]["annotators_per_document"] = project.annotators_per_document
    return report
