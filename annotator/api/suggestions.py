"""Suggestion routes of the JSON API (on the api blueprint: its authentication, CSRF and
JSON errors apply)."""

from __future__ import annotations

from flask import g, jsonify, request
from flask.typing import ResponseReturnValue

from ..services import access, claims, suggestions, training
from ..services.errors import InvalidInput, NotFound
from .routes import bp


@bp.get("/documents/<int:did>/suggestions")
def list_suggestions(did: int) -> ResponseReturnValue:
    document = access.document_for(g.user, did)
    return jsonify(suggestions.for_document(g.user, document))


@bp.post("/documents/<int:did>/suggestions/<sid>/accept")
def accept_suggestion(did: int, sid: str) -> ResponseReturnValue:
    """The body, if any, holds claim fields changed before accepting (edit, then accept)."""
    document = access.annotatable_document_for(g.user, did)
    changes = request.get_json(silent=True) if request.content_length else None
    claim, created = suggestions.accept(g.user, document, sid, changes)
    response = jsonify(claims.viewed_claim(g.user, claim))
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/api/v1/claims/{claim.id}"
    return response


@bp.post("/documents/<int:did>/suggestions/<sid>/reject")
def reject_suggestion(did: int, sid: str) -> ResponseReturnValue:
    document = access.document_for(g.user, did)
    suggestions.reject(g.user, document, sid)
    return "", 204


@bp.put("/projects/<int:pid>/suggestions")
def set_suggestions(pid: int) -> ResponseReturnValue:
    project = access.managed_project_for(g.user, pid)
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("enabled"), bool):
        raise InvalidInput("say whether suggestions are on", {"enabled": "true or false"})
    suggestions.set_enabled(project, body["enabled"])
    return jsonify({"enabled": project.suggestions_enabled})


@bp.get("/projects/<int:pid>/suggestion-models")
def list_suggestion_models(pid: int) -> ResponseReturnValue:
    project = access.managed_project_for(g.user, pid)
    return jsonify(suggestions.model_versions(project))


@bp.post("/projects/<int:pid>/suggestion-models")
def train_suggestion_model(pid: int) -> ResponseReturnValue:
    """Starts a training job (202); its status URL is in Location."""
    project = access.managed_project_for(g.user, pid)
    job = training.start(project, g.user)
    response = jsonify(training.job_to_dict(job))
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/projects/{pid}/training-jobs/{job.id}"
    return response


@bp.get("/projects/<int:pid>/training-jobs/<int:jid>")
def get_training_job(pid: int, jid: int) -> ResponseReturnValue:
    project = access.managed_project_for(g.user, pid)
    job = training.job_for(project, jid)
    if job is None:
        raise NotFound("training job not found")
    return jsonify(training.job_to_dict(job))
