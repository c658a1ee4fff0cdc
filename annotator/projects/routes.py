"""Project pages: the list, one project's documents, import and export; for managers the
members, settings and assignment page and the progress dashboard."""

from __future__ import annotations

import json
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ..auth.forms import LogoutForm
from ..forms import show_errors
from ..models import Project
from ..services import (
    access,
    assignments,
    datasets,
    documents,
    label_schemes,
    progress,
    projects,
)
from ..services.errors import InvalidInput, ServiceError
from .forms import (
    AddMemberForm,
    AssignForm,
    ImportForm,
    ProgressFilterForm,
    ReassignForm,
    RemoveMemberForm,
    RoleForm,
    SchemeForm,
    SettingsForm,
)

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
    return render_template("projects/index.html", projects=[
        {**projects.project_summary(p), "queue": assignments.queue_counts(p, current_user)}
        for p in visible])


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
                    imported += documents.import_file(project, upload.filename, upload.stream)
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


@bp.get("/projects/<int:pid>/dataset.zip")
@login_required
def dataset_zip(pid: int) -> ResponseReturnValue:
    """The dataset bundle as a zip (managers), streamed while it is made; the query string
    takes the options of `annotator dataset` (claims, seed, split, group_by, format,
    version)."""
    project = access.managed_project_for(current_user, pid)
    filename, pieces = datasets.stream_bundle_zip(
        project, **datasets.query_options(request.args, request.args.getlist("format")))
    response = Response(stream_with_context(pieces), mimetype="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    response.direct_passthrough = True
    return response


@bp.get("/projects/<int:pid>/next")
@login_required
def next_document(pid: int) -> ResponseReturnValue:
    project = access.project_for(current_user, pid)
    document = assignments.next_document(project, current_user)
    if document is None:
        flash("Your queue is empty.")
        return redirect(url_for(".detail", pid=pid))
    return redirect(url_for("annotate.document", did=document.id))


# ---------- members, settings and assignment (managers and admins) ----------


def _reassign_form(project: Project, **kwargs: Any) -> ReassignForm:
    form = ReassignForm(**kwargs)
    # "From" lists whoever holds assignments (members who left too); "to" only annotators,
    # the only people reassign accepts.
    holders = {u.username for u in assignments.assignees(project)}
    team = [u.username for u in assignments.annotators(project)]
    form.from_user.choices = sorted(holders | set(team))
    form.to_user.choices = team
    return form


def _members_page(project: Project, status: int = 200, **forms: Any) -> ResponseReturnValue:
    """The members page, with the form that just failed (if any) showing its errors."""
    forms.setdefault("add_form", AddMemberForm(formdata=None))
    forms.setdefault("settings_form", SettingsForm(formdata=None, obj=project))
    forms.setdefault("assign_form", AssignForm(
        formdata=None, per_document=project.annotators_per_document))
    forms.setdefault("reassign_form", _reassign_form(project, formdata=None))
    forms.setdefault("scheme_form", SchemeForm(formdata=None, scheme=json.dumps(
        project.label_scheme, indent=2, ensure_ascii=False)))
    rows = [(user, role, RoleForm(formdata=None, role=role))
            for user, role in projects.members(project)]
    return render_template(
        "projects/members.html", project=project, members=rows,
        remove_form=RemoveMemberForm(formdata=None),
        annotator_count=len(assignments.annotators(project)), **forms), status


def _back_to_members(pid: int) -> ResponseReturnValue:
    return redirect(url_for(".members", pid=pid))


@bp.get("/projects/<int:pid>/members")
@login_required
def members(pid: int) -> ResponseReturnValue:
    return _members_page(access.managed_project_for(current_user, pid))


@bp.post("/projects/<int:pid>/members/add")
@login_required
def add_member(pid: int) -> ResponseReturnValue:
    project = access.managed_project_for(current_user, pid)
    form = AddMemberForm()
    if form.validate_on_submit():
        try:
            added = projects.add_member_named(project, form.username.data, form.role.data)
        except InvalidInput as exc:
            show_errors(form, exc)
        else:
            flash(f"{added.user.username} is now {added.role} of this project.")
            return _back_to_members(pid)
    return _members_page(project, 422, add_form=form)


@bp.post("/projects/<int:pid>/members/<int:uid>/role")
@login_required
def change_role(pid: int, uid: int) -> ResponseReturnValue:
    project = access.managed_project_for(current_user, pid)
    user = projects.member(project, uid)
    form = RoleForm()
    # One small form per table row: its errors are flashed above the table instead.
    if not form.validate_on_submit():
        flash(f"{user.username}: role {'; '.join(form.role.errors)}", "error")
        return _members_page(project, 422)
    try:
        projects.set_role(project, user, form.role.data)
    except InvalidInput as exc:
        flash(f"{user.username}: {exc.fields.get('role', exc.message)}", "error")
        return _members_page(project, 422)
    flash(f"{user.username} is now {form.role.data} of this project.")
    if user.id == current_user.id and form.role.data != "manager" and not user.is_admin:
        # A manager who stepped down may no longer open the members page.
        return redirect(url_for(".detail", pid=pid))
    return _back_to_members(pid)


@bp.post("/projects/<int:pid>/members/<int:uid>/remove")
@login_required
def remove_member(pid: int, uid: int) -> ResponseReturnValue:
    project = access.managed_project_for(current_user, pid)
    user = projects.member(project, uid)
    if not RemoveMemberForm().validate_on_submit():
        abort(400)
    try:
        projects.remove_member(project, user)
    except InvalidInput as exc:
        flash(f"{user.username}: {exc.fields.get('role', exc.message)}", "error")
        return _members_page(project, 422)
    flash(f"{user.username} is no longer a member; their assignments and claims are kept.")
    return _back_to_members(pid)


@bp.post("/projects/<int:pid>/settings")
@login_required
def settings(pid: int) -> ResponseReturnValue:
    project = access.managed_project_for(current_user, pid)
    form = SettingsForm()
    if form.validate_on_submit():
        try:
            projects.update_settings(project, form.annotators_per_document.data,
                                     form.blind.data)
        except InvalidInput as exc:
            show_errors(form, exc)
        else:
            flash("Settings saved.")
            return _back_to_members(pid)
    return _members_page(project, 422, settings_form=form)


@bp.post("/projects/<int:pid>/scheme")
@login_required
def change_scheme(pid: int) -> ResponseReturnValue:
    project = access.managed_project_for(current_user, pid)
    form = SchemeForm()
    if form.validate_on_submit():
        try:
            # As the API reads a body: no NaN, no nesting deeper than the checks can walk.
            scheme = current_app.json.loads(form.scheme.data)
        except ValueError as exc:
            form.scheme.errors.append(f"not JSON: {exc}")
        else:
            version = project.scheme_version
            try:
                label_schemes.change_scheme(project, scheme, current_user)
            except InvalidInput as exc:
                form.scheme.errors.extend(f"{name}: {message}"
                                          for name, message in exc.fields.items())
            else:
                flash("The label scheme is unchanged." if project.scheme_version == version
                      else f"Label scheme saved as version {project.scheme_version}.")
                return _back_to_members(pid)
    return _members_page(project, 422, scheme_form=form)


@bp.post("/projects/<int:pid>/assign")
@login_required
def assign(pid: int) -> ResponseReturnValue:
    project = access.managed_project_for(current_user, pid)
    form = AssignForm()
    if form.validate_on_submit():
        try:
            added = assignments.assign(project, form.per_document.data, by=current_user)
        except InvalidInput as exc:
            show_errors(form, exc)
        else:
            # Existing assignments are kept: documents may have more than asked for.
            flash(f"Added {added} assignment(s); every document now has at least "
                  f"{form.per_document.data} annotator(s).")
            return _back_to_members(pid)
    return _members_page(project, 422, assign_form=form)


@bp.post("/projects/<int:pid>/reassign")
@login_required
def reassign(pid: int) -> ResponseReturnValue:
    project = access.managed_project_for(current_user, pid)
    form = _reassign_form(project)
    if form.validate_on_submit():
        try:
            moved = assignments.reassign_named(project, form.document.data,
                                               form.from_user.data, form.to_user.data,
                                               by=current_user)
        except ServiceError as exc:
            # NotFound (no such assignment) and Conflict (already done) name no field.
            show_errors(form, exc, {"from": "from_user", "to": "to_user"})
        else:
            flash(f"Document {moved.document.external_id} moved from {form.from_user.data} "
                  f"to {form.to_user.data}.")
            return _back_to_members(pid)
    return _members_page(project, 422, reassign_form=form)


# ---------- the progress dashboard (managers and admins) ----------


@bp.get("/projects/<int:pid>/progress")
@login_required
def progress_page(pid: int) -> ResponseReturnValue:
    project = access.managed_project_for(current_user, pid)
    data = progress.dashboard(project, doc_filter=request.args.get("doc_filter"),
                              doc_sort=request.args.get("doc_sort"),
                              annotator_sort=request.args.get("annotator_sort"))
    # Show what the service applied (an unknown value became the default), not what was sent.
    form = ProgressFilterForm(data={key: data[key] for key in
                                    ("doc_filter", "doc_sort", "annotator_sort")})
    return render_template("projects/progress.html", project=project, form=form, **data)
