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
    # Read only: the page itself marks the document started (a POST, with its CSRF token).
    status = documents.status_of(doc, current_user)
    # Annotators step through their open queue; a manager reviewing a document that is not
    # assigned to them steps through the project's documents in order.
    following = documents.neighbour(doc, current_user, unfinished_only=status is not None)
    previous = documents.neighbour(doc, current_user, forward=False, unfinished_only=False)
    return render_template(
        "annotate/document.html",
        document=doc,
        project=project,
        scheme=project.label_scheme,
        actors=projects.actors(project),
        next_document=following,
        previous_document=previous,
        # Only what the page shows; the API checks every request again.
        can_manage=access.can_manage(current_user, project),
    )
