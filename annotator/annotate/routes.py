from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ..services import access, documents, projects

bp = Blueprint("annotate", __name__)


@bp.get("/documents/<int:did>")
@login_required
def document(did: int) -> ResponseReturnValue:
    doc = access.document_for(current_user, did)
    project = doc.project
    documents.start(doc, current_user)
    following = documents.neighbour(doc, current_user)
    previous = documents.neighbour(doc, current_user, forward=False, unfinished_only=False)
    return render_template(
        "annotate/document.html",
        document=doc,
        project=project,
        scheme=project.label_scheme,
        actors=projects.actors(project),
        next_document=following,
        previous_document=previous,
    )
