"""The agreement page of a project and the side-by-side view of a document.

Managers, adjudicators and site admins only: in blind mode agreement figures and the other
annotators' claims would reveal others' work, so annotators get 403 (the agreement page) or
404 (a document, as for any page of a document they may not review).
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from markupsafe import Markup

from ..agreement.report import FIELDS, method_notes
from ..agreement.svg import report_charts
from ..models import Project
from ..services import access, agreement, propositions

bp = Blueprint("reports", __name__)

FIELD_NAMES = {"actor": "Actor", "stance": "Stance", "verdict": "Verdict",
               "evidence_relation": "Evidence relation"}


def _include_unfinished() -> bool:
    return request.args.get("include_unfinished", "") in ("1", "true", "on", "yes")


def _stance_names(project: Project) -> dict[str, str]:
    return {s["value"]: s.get("label") or s["value"]
            for s in project.label_scheme.get("stances", [])}


@bp.get("/projects/<int:pid>/agreement")
@login_required
def agreement_page(pid: int) -> ResponseReturnValue:
    project = access.adjudicable_project_for(current_user, pid)
    include_unfinished = _include_unfinished()
    report = agreement.project_report(project, include_unfinished=include_unfinished)
    names = _stance_names(project)
    # report_charts escapes every label and title it writes into the SVG.
    charts = {key: Markup(svg) for key, svg in  # noqa: S704
              report_charts(report, stance_names=names).items()}
    return render_template(
        "reports/agreement.html", project=project, report=report, charts=charts,
        fields=FIELDS, field_names=FIELD_NAMES, stance_names=names, notes=method_notes(),
        include_unfinished=include_unfinished,
        linking=propositions.linking_report(project, include_unfinished=include_unfinished))


@bp.get("/documents/<int:did>/compare")
@login_required
def compare(did: int) -> ResponseReturnValue:
    document = access.adjudicable_document_for(current_user, did)
    project = document.project
    include_unfinished = _include_unfinished()
    data = agreement.document_comparison(document, include_unfinished=include_unfinished)
    colors = {s["value"]: s.get("color") for s in project.label_scheme.get("stances", [])
              if s.get("color")}
    return render_template(
        "reports/compare.html", project=project, document=document, fields=FIELDS,
        field_names=FIELD_NAMES, stance_names=_stance_names(project), stance_colors=colors,
        include_unfinished=include_unfinished, **data)
