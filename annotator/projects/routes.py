from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ..auth.forms import LogoutForm
from ..services import access, documents, projects
from ..services.errors import InvalidInput, ServiceError
from .forms import ImportForm

bp = Blueprint("projects", __name__)


@bp.app_context_processor
def _forms() -> dict[str, object]:
    return {"logout_form": LogoutForm()}


@bp.app_errorhandler(ServiceError)
def _service_error(exc: ServiceError) -> ResponseReturnValue:
    return render_template("error.html", error=exc), exc.status


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    visible = projects.visible_projects(current_user)
    return render_template(
        "projects/index.html", projects=[projects.project_summary(p) for p in visible]
    )


@bp.route("/projects/<int:pid>", methods=["GET", "POST"])
@login_required
def detail(pid: int) -> ResponseReturnValue:
    project = access.project_for(current_user, pid)
    manager = access.can_manage(current_user, project)
    form = ImportForm()
    if form.is_submitted():
        if not manager:
            abort(403)
        if form.validate():
            imported, failed = 0, []
            for upload in form.files.data:
                try:
                    imported += documents.import_file(project, upload.filename, upload.read())
                except InvalidInput as exc:
                    failed.append(exc.message)
            if imported:
                flash(f"Imported {imported} document(s).")
            for message in failed:
                flash(message, "error")
            return redirect(url_for(".detail", pid=pid))
    return render_template(
        "projects/detail.html",
        project=project,
        summary=projects.project_summary(project),
        documents=documents.documents_with_progress(project, current_user),
        manager=manager,
        claim_count=projects.claim_count(project) if manager else None,
        form=form,
    )
