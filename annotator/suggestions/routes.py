"""Suggestions on the project page (managers): turn them on or off, train a model version."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ..models import Project
from ..services import access, suggestions, training
from ..services.errors import Conflict, InvalidInput
from .forms import SuggestionSettingsForm, TrainForm

bp = Blueprint("suggestions", __name__)


def _panel(project: Project) -> dict[str, Any]:
    return {
        "enabled": project.suggestions_enabled,
        "versions": suggestions.model_versions(project),
        "settings_form": SuggestionSettingsForm(formdata=None,
                                                enabled=project.suggestions_enabled),
        "train_form": TrainForm(formdata=None),
        "job": _job_view(project),
    }


def _job_view(project: Project) -> dict[str, Any] | None:
    job = training.latest(project)
    return training.job_to_dict(job) if job is not None else None


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    # The project page calls it for managers only; every route below checks again.
    return {"suggestion_panel": _panel, "suggestion_origins": suggestions.origin_report}


@bp.app_template_filter("score")
def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _back(pid: int) -> ResponseReturnValue:
    return redirect(url_for("projects.detail", pid=pid) + "#suggestions")


@bp.post("/projects/<int:pid>/suggestions/settings")
@login_required
def settings(pid: int) -> ResponseReturnValue:
    project = access.managed_project_for(current_user, pid)
    form = SuggestionSettingsForm()
    if form.validate_on_submit():
        suggestions.set_enabled(project, form.enabled.data)
        flash("Suggestions are on." if form.enabled.data else "Suggestions are off.")
    else:
        flash("Suggestion settings not saved: the form expired, try again.", "error")
    return _back(pid)


@bp.post("/projects/<int:pid>/suggestions/train")
@login_required
def train(pid: int) -> ResponseReturnValue:
    project = access.managed_project_for(current_user, pid)
    if not TrainForm().validate_on_submit():
        flash("Not trained: the form expired, try again.", "error")
        return _back(pid)
    try:
        job = training.start(project, current_user)
    except (InvalidInput, Conflict) as exc:
        flash(exc.message, "error")
    else:
        flash(f"Training started (job {job.id}): it runs in the background, and this page "
              "shows when it is done.")
    return _back(pid)
