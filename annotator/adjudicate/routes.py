"""The review queue of a project and the review page of a document (adjudicators, managers,
site admins). The page only shows; every decision goes through the JSON API, which checks
access again on each request."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ..models import Project
from ..services import access, adjudication, projects
from .forms import QueueFilterForm

bp = Blueprint("adjudicate", __name__)


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    def can_review(project: Project) -> bool:
        return current_user.is_authenticated and access.can_adjudicate(current_user, project)
    return {"can_review": can_review}


@bp.get("/projects/<int:pid>/review")
@login_required
def queue(pid: int) -> ResponseReturnValue:
    project = access.adjudicable_project_for(current_user, pid)
    form = QueueFilterForm(request.args)
    form.validate()  # a field that fails is shown with its error and not applied
    status = None if form.status.errors else form.status.data
    minimum = None if form.min_disagreement.errors else form.min_disagreement.data
    if minimum is not None and not 0 <= minimum <= 1:  # NaN passes NumberRange
        form.min_disagreement.errors = ["Number must be between 0 and 1."]
        minimum = None
    rows = adjudication.review_queue(project, status=None if status in (None, "any") else status,
                                     min_disagreement=minimum)
    return render_template("adjudicate/queue.html", project=project, form=form, rows=rows)


@bp.get("/documents/<int:did>/review")
@login_required
def review(did: int) -> ResponseReturnValue:
    document = access.adjudicable_document_for(current_user, did)
    project = document.project
    data = {
        "text": document.text,
        "scheme": project.label_scheme,
        "actors": [projects.actor_to_dict(a) for a in projects.actors(project)],
    }
    return render_template("adjudicate/review.html", document=document, project=project,
                           scheme=project.label_scheme, data=data)
