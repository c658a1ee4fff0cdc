"""Thin views: the proposition list and page (timeline, evidence, verdict), incidents."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ..forms import show_errors
from ..models import Incident, Project, Proposition
from ..services import access, propositions
from ..services.errors import Forbidden, NotFound, ServiceError
from .forms import AssignPropositionsForm, IncidentForm, PropositionForm, VerdictForm

bp = Blueprint("propositions", __name__)


def _found(call: Any, *args: Any) -> Any:
    try:
        return call(current_user, *args)
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)


def _incident_choices(project: Project) -> list[tuple[str, str]]:
    return [("", "— none —")] + [(str(i.id), i.title)
                                 for i, _ in propositions.list_incidents(project)]


def _incident_value(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


@bp.route("/projects/<int:pid>/propositions", methods=["GET", "POST"])
@login_required
def index(pid: int) -> ResponseReturnValue:
    project = _found(access.project_for, pid)
    form = PropositionForm()
    form.incident_id.choices = _incident_choices(project)
    if form.validate_on_submit():
        try:
            created = propositions.create_proposition(current_user, project, {
                "text": form.text.data, "incident_id": _incident_value(form.incident_id.data)})
        except ServiceError as exc:
            show_errors(form, exc)
        else:
            return redirect(url_for("propositions.detail", prid=created.id))
    query = request.args.get("q", "")
    counts = propositions.visible_claim_counts(current_user, project)
    found = propositions.list_propositions(project, query=query)
    return render_template("propositions/index.html", project=project, form=form,
                           query=query, rows=[(p, counts.get(p.id, 0)) for p in found],
                           verdicts=_verdict_names(project),
                           can_review=access.can_adjudicate(current_user, project)), \
        422 if form.errors else 200


def _verdict_names(project: Project) -> dict[str, str]:
    return {v["value"]: v.get("label") or v["value"]
            for v in project.label_scheme.get("verdicts", [])}


def _detail_page(proposition: Proposition, edit_form: PropositionForm,
                 verdict_form: VerdictForm, status: int = 200) -> ResponseReturnValue:
    project = _project_of(proposition)
    entries = propositions.timeline(current_user, proposition)
    stances = {s["value"]: s.get("label") or s["value"]
               for s in project.label_scheme.get("stances", [])}
    relations = [r["value"] for r in project.label_scheme.get("evidence_relations", [])]
    grouped = propositions.evidence_by_relation(entries)
    order = [r for r in relations if r in grouped] + sorted(set(grouped) - set(relations))
    return render_template(
        "propositions/detail.html", project=project, proposition=proposition,
        timeline=entries, evidence=[(r, grouped[r]) for r in order], stances=stances,
        verdicts=_verdict_names(project), edit_form=edit_form, verdict_form=verdict_form,
        can_edit=propositions.can_edit(current_user, proposition),
        can_review=access.can_adjudicate(current_user, project)), status


def _project_of(row: Proposition | Incident) -> Project:
    return access.project_for(current_user, row.project_id)


def _forms(proposition: Proposition) -> tuple[PropositionForm, VerdictForm]:
    project = _project_of(proposition)
    edit_form = PropositionForm(data={
        "text": proposition.text, "incident_id": str(proposition.incident_id or "")})
    edit_form.incident_id.choices = _incident_choices(project)
    verdict_form = VerdictForm(data={
        "verdict": proposition.verdict or "", "note": proposition.verdict_note})
    verdict_form.verdict.choices = [("", "— none —")] + list(_verdict_names(project).items())
    return edit_form, verdict_form


@bp.get("/propositions/<int:prid>")
@login_required
def detail(prid: int) -> ResponseReturnValue:
    proposition = _found(propositions.proposition_for, prid)
    return _detail_page(proposition, *_forms(proposition))


@bp.post("/propositions/<int:prid>")
@login_required
def edit(prid: int) -> ResponseReturnValue:
    proposition = _found(propositions.proposition_for, prid)
    if not propositions.can_edit(current_user, proposition):
        abort(403)
    edit_form, verdict_form = _forms(proposition)
    if edit_form.validate_on_submit():
        try:
            propositions.update_proposition(current_user, proposition, {
                "text": edit_form.text.data,
                "incident_id": _incident_value(edit_form.incident_id.data)})
        except ServiceError as exc:
            show_errors(edit_form, exc)
        else:
            flash("Proposition saved.")
            return redirect(url_for("propositions.detail", prid=prid))
    return _detail_page(proposition, edit_form, verdict_form, 422)


@bp.post("/propositions/<int:prid>/verdict")
@login_required
def verdict(prid: int) -> ResponseReturnValue:
    proposition = _found(propositions.proposition_for, prid)
    if not access.can_adjudicate(current_user, _project_of(proposition)):
        abort(403)
    edit_form, verdict_form = _forms(proposition)
    if verdict_form.validate_on_submit():
        try:
            propositions.set_verdict(current_user, proposition, verdict_form.verdict.data,
                                     verdict_form.note.data or "")
        except ServiceError as exc:
            show_errors(verdict_form, exc, {"verdict_note": "note"})
        else:
            flash("Verdict saved.")
            return redirect(url_for("propositions.detail", prid=prid))
    return _detail_page(proposition, edit_form, verdict_form, 422)


# ---------- incidents ----------


def _incident_payload(form: IncidentForm) -> dict[str, Any]:
    return {"title": form.title.data, "location": form.location.data or "",
            "date_start": form.date_start.data or None, "date_end": form.date_end.data or None,
            "description": form.description.data or ""}


@bp.route("/projects/<int:pid>/incidents", methods=["GET", "POST"])
@login_required
def incidents(pid: int) -> ResponseReturnValue:
    project = _found(access.project_for, pid)
    can_review = access.can_adjudicate(current_user, project)
    form = IncidentForm()
    if request.method == "POST":
        if not can_review:
            abort(403)
        if form.validate_on_submit():
            try:
                created = propositions.create_incident(current_user, project,
                                                       _incident_payload(form))
            except ServiceError as exc:
                show_errors(form, exc)
            else:
                return redirect(url_for("propositions.incident", iid=created.id))
    return render_template("propositions/incidents.html", project=project, form=form,
                           rows=propositions.list_incidents(project), can_review=can_review), \
        422 if form.errors else 200


def _incident_page(incident: Incident, form: IncidentForm, assign_form: AssignPropositionsForm,
                   status: int = 200) -> ResponseReturnValue:
    project = _project_of(incident)
    counts = propositions.visible_claim_counts(current_user, project)
    members = propositions.list_propositions(project, incident_id=incident.id)
    return render_template(
        "propositions/incident.html", project=project, incident=incident, form=form,
        assign_form=assign_form, rows=[(p, counts.get(p.id, 0)) for p in members],
        verdicts=_verdict_names(project),
        can_review=access.can_adjudicate(current_user, project)), status


def _incident_forms(incident: Incident) -> tuple[IncidentForm, AssignPropositionsForm]:
    project = _project_of(incident)
    form = IncidentForm(obj=incident)
    everything = propositions.list_propositions(project)
    assign_form = AssignPropositionsForm(data={
        "propositions": [p.id for p in everything if p.incident_id == incident.id]})
    assign_form.propositions.choices = [(p.id, p.text[:160]) for p in everything]
    return form, assign_form


@bp.get("/incidents/<int:iid>")
@login_required
def incident(iid: int) -> ResponseReturnValue:
    found = _found(propositions.incident_for, iid)
    return _incident_page(found, *_incident_forms(found))


@bp.post("/incidents/<int:iid>")
@login_required
def edit_incident(iid: int) -> ResponseReturnValue:
    found = _found(propositions.incident_for, iid)
    form, assign_form = _incident_forms(found)
    if not access.can_adjudicate(current_user, _project_of(found)):
        abort(403)
    if form.validate_on_submit():
        try:
            propositions.update_incident(current_user, found, _incident_payload(form))
        except ServiceError as exc:
            show_errors(form, exc)
        else:
            flash("Incident saved.")
            return redirect(url_for("propositions.incident", iid=iid))
    return _incident_page(found, form, assign_form, 422)


@bp.post("/incidents/<int:iid>/propositions")
@login_required
def assign(iid: int) -> ResponseReturnValue:
    found = _found(propositions.incident_for, iid)
    project = _project_of(found)
    if not access.can_adjudicate(current_user, project):
        abort(403)
    form, assign_form = _incident_forms(found)
    if assign_form.validate_on_submit():
        propositions.set_incident_propositions(current_user, found, project,
                                               assign_form.propositions.data or [])
        flash("Propositions assigned.")
        return redirect(url_for("propositions.incident", iid=iid))
    return _incident_page(found, form, assign_form, 422)
