"""Thin JSON views: parse, call one service, shape the answer. Errors are JSON."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request, stream_with_context
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.exceptions import HTTPException, InternalServerError

from ..db import db
from ..models import Project
from ..security import csrf
from ..services import (
    access,
    adjudication,
    assignments,
    claims,
    documents,
    exporting,
    label_schemes,
    projects,
    suggestions,
    tool_import,
    users,
)
from ..services.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceError,
    require_object,
)
from ..validation import unstorable_text
from .openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# The session-authenticated half is protected in _authenticate; bearer tokens need no CSRF
# token, because a browser never attaches them by itself.
csrf.exempt(bp)

PUBLIC_ENDPOINTS = {"api.openapi"}


@bp.before_request
def _authenticate() -> ResponseReturnValue | None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if request.method in ("GET", "HEAD") and db.engine.dialect.name == "postgresql" \
            and not db.session().in_transaction():
        # Reads need no transaction (under READ COMMITTED each statement sees what was
        # committed before it either way): without one, a read is spared PostgreSQL's
        # BEGIN and ROLLBACK, two of its six round trips (issue 7's load benchmark).
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        user = users.user_for_token(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            return _error(401, "invalid or revoked API token")
        g.user = user
        access.remember_roles()  # this request's session only
        return None
    if not current_user.is_authenticated:
        return _error(401, "log in, or send Authorization: Bearer TOKEN")
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()
    g.user = current_user._get_current_object()
    access.remember_roles()
    return None


# Its raw body is a file that the import reads itself, naming the bad line or task.
_FILE_BODY_ENDPOINTS = {"api.import_documents"}


@bp.before_request
def _refuse_unreadable_json() -> ResponseReturnValue | None:
    # Found by a tester: a body nested too deeply was a 500, and NaN or Infinity were read
    # as numbers. The app's JSON provider refuses them, like any body that is not JSON; said
    # here once, the answer is a 400 with the reason for every write, also where the body is
    # optional (an unreadable one was taken for none).
    if request.method in ("GET", "HEAD", "OPTIONS") or not request.is_json \
            or request.endpoint in _FILE_BODY_ENDPOINTS:
        return None
    if request.get_json(silent=True) is not None or not request.get_data().strip():
        return None
    try:
        current_app.json.loads(request.get_data())
    except ValueError as exc:
        return _error(400, f"the body cannot be read: {exc}", {"(body)": str(exc)})
    return None  # the body is null: each view says what it expected


@bp.before_request
def _refuse_unstorable_text() -> ResponseReturnValue | None:
    # Found by the API fuzz test: PostgreSQL refuses these, so they were 500s on every write.
    if request.method in ("GET", "HEAD", "OPTIONS") or not request.is_json:
        return None
    field = unstorable_text(request.get_json(silent=True))
    if field is None:
        return None
    return _error(422, "text with a NUL character or a lone surrogate cannot be stored",
                  {field: "contains a NUL character or a lone surrogate"})


@bp.teardown_request
def _forget_roles(_: BaseException | None) -> None:
    access.forget_roles()


def _error(status: int, message: str, fields: dict[str, str] | None = None,
           **extra: Any) -> Response:
    body: dict[str, Any] = {"error": message}
    if fields:
        body["fields"] = fields
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    return response


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError) -> Response:
    if isinstance(exc, Conflict):
        current = {} if exc.current is None else {"current": exc.current}
        return _error(exc.status, exc.message, exc.fields, **current, **exc.extra)
    return _error(exc.status, exc.message, exc.fields)


@bp.app_errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> ResponseReturnValue:
    # App-wide, because a URL that matches no route never reaches the blueprint's handlers;
    # only /api/ paths answer in JSON. CSRFError is an HTTPException (400) too.
    if not request.path.startswith(bp.url_prefix or "/api/"):
        return exc
    return _error(exc.code or 500, exc.description or exc.name)


@bp.app_errorhandler(Exception)
def _unexpected_error(exc: Exception) -> ResponseReturnValue:
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    if not request.path.startswith(bp.url_prefix or "/api/"):
        return InternalServerError()
    return _error(500, "internal error; it has been logged")


def _json_body() -> Any:
    body = request.get_json(silent=True)
    if body is None:
        raise InvalidInput("expected a JSON body", {"(body)": "expected a JSON body"})
    return body


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(openapi_document())


@bp.get("/projects")
def list_projects() -> ResponseReturnValue:
    return jsonify([projects.project_summary(p) for p in projects.visible_projects(g.user)])


@bp.get("/projects/<int:pid>")
def get_project(pid: int) -> ResponseReturnValue:
    return _project_answer(access.project_for(g.user, pid))


@bp.put("/projects/<int:pid>/scheme")
def change_scheme(pid: int) -> ResponseReturnValue:
    project = access.managed_project_for(g.user, pid)
    return _project_answer(label_schemes.change_scheme(project, _json_body(), g.user))


def _project_answer(project: Project) -> ResponseReturnValue:
    summary = projects.project_summary(project)
    summary.update(
        label_scheme=project.label_scheme,
        role="admin" if g.user.is_admin and not access.role_in(g.user, project)
        else access.role_in(g.user, project),
    )
    return jsonify(summary)


@bp.get("/projects/<int:pid>/documents")
def list_documents(pid: int) -> ResponseReturnValue:
    project = access.project_for(g.user, pid)
    return jsonify(documents.documents_with_progress(project, g.user))


@bp.get("/projects/<int:pid>/actors")
def list_actors(pid: int) -> ResponseReturnValue:
    project = access.project_for(g.user, pid)
    return jsonify([projects.actor_to_dict(a) for a in projects.actors(project)])


@bp.post("/projects/<int:pid>/actors")
def add_actor(pid: int) -> ResponseReturnValue:
    project = access.project_for(g.user, pid)
    body = _json_body()
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        raise InvalidInput("an actor needs a name", {"name": "is required"})
    aliases = body.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise InvalidInput("aliases must be a list of strings", {"aliases": "list of strings"})
    actor = projects.add_actor(project, body["name"], aliases)
    return jsonify(projects.actor_to_dict(actor)), 201


@bp.get("/projects/<int:pid>/export.jsonl")
def export(pid: int) -> ResponseReturnValue:
    project = access.managed_project_for(g.user, pid)
    claim_set = request.args.get("claims", "all")
    if claim_set not in exporting.CLAIM_SETS:
        raise InvalidInput("unknown claim set",
                           {"claims": f"one of {', '.join(exporting.CLAIM_SETS)}"})
    headers = {"Content-Disposition":
               f'attachment; filename="project-{project.id}-{claim_set}.jsonl"'}
    if claim_set == "gold":
        # Said up front: a streamed body cannot report at its end.
        headers["X-Documents-Without-Gold"] = str(len(exporting.documents_without_gold(project)))
    return Response(stream_with_context(exporting.stream_jsonl(project, claim_set)),
                    mimetype="application/x-ndjson", headers=headers)


# A raw body's file name, for format "auto", from its media type.
_UPLOAD_NAMES = {"application/json": "upload.json", "text/plain": "upload.txt"}


@bp.post("/projects/<int:pid>/import")
def import_documents(pid: int) -> ResponseReturnValue:
    """One file, all or nothing: a multipart `file` field or the raw body (then the query's
    `filename` or the media type names it for format auto)."""
    project = access.managed_project_for(g.user, pid)
    upload = request.files.get("file")
    if upload is not None:
        filename, source = upload.filename or "upload", upload.stream
    else:
        filename = request.args.get("filename") or _UPLOAD_NAMES.get(request.mimetype,
                                                                      "upload.jsonl")
        source = request.get_data()
    annotator = None
    if request.args.get("annotator"):
        annotator = users.by_username(request.args["annotator"])
        if annotator is None or access.role_in(annotator, project) is None:
            raise InvalidInput("the annotator is not a member of the project",
                               {"annotator": "must be a member of the project"})
    result = tool_import.import_file(project, filename, source,
                                     fmt=request.args.get("format", "auto"),
                                     annotator=annotator)
    return jsonify({"format": result.format, "documents": result.documents,
                    "claims": result.claims, "spans_skipped": result.spans_skipped}), 201


@bp.get("/documents/<int:did>")
def get_document(did: int) -> ResponseReturnValue:
    document = access.document_for(g.user, did)
    data = documents.document_to_dict(document)
    data["status"] = documents.status_of(document, g.user)
    if request.args.get("include") == "claims":
        # What GET …/claims answers, in the same request (one round trip to open a document).
        data["claims"] = claims.listed_claims(g.user, document)
    return jsonify(data)


@bp.put("/documents/<int:did>/status")
def set_document_status(did: int) -> ResponseReturnValue:
    document = access.document_for(g.user, did)
    body = _json_body()
    status = body.get("status") if isinstance(body, dict) else None
    documents.set_status(document, g.user, status)
    following = documents.neighbour(document, g.user)
    return jsonify({"status": status, "next_document_id": following.id if following else None})


@bp.post("/documents/<int:did>/start")
def start_document(did: int) -> ResponseReturnValue:
    # The annotation page calls this once it has loaded: opening the page (a GET, which a
    # link on any site can trigger) changes nothing.
    document = access.document_for(g.user, did)
    return jsonify({"status": documents.start(document, g.user)})


@bp.post("/documents/<int:did>/join")
def join_document(did: int) -> ResponseReturnValue:
    """A manager, adjudicator or admin joins the document's annotators (see assignments.join)."""
    document = access.document_for(g.user, did)
    return jsonify({"status": assignments.join(document, g.user).status})


@bp.post("/documents/<int:did>/skip")
def skip_document(did: int) -> ResponseReturnValue:
    document = access.document_for(g.user, did)
    body = _json_body()
    reason = body.get("reason") if isinstance(body, dict) else None
    assignments.skip(document, g.user, reason if isinstance(reason, str) else "")
    following = documents.neighbour(document, g.user)
    return jsonify({"status": "skipped",
                    "next_document_id": following.id if following else None})


@bp.get("/documents/<int:did>/claims")
def list_claims(did: int) -> ResponseReturnValue:
    document = access.document_for(g.user, did)
    if request.args.get("deleted") in ("1", "true"):
        # Deleted claims of every annotator: managers only (they can restore them).
        project = document.project
        if not access.can_manage(g.user, project):
            raise Forbidden("only the project's managers can list deleted claims")
        found = claims.deleted_claims(document)
        return jsonify([claims.claim_to_dict(c, with_deleted_at=True) for c in found])
    return jsonify(claims.listed_claims(g.user, document))


@bp.post("/documents/<int:did>/claims")
def create_claim(did: int) -> ResponseReturnValue:
    body = _json_body()
    key = body.get("client_id") if isinstance(body, dict) else None
    made = claims.claim_by_client_id(g.user, key) if isinstance(key, str) else None
    if made is not None and made.document_id == did:
        # A replay of a create that made its claim (its answer lost) gets that claim, even
        # after the document was reassigned away: the browser's queue must not show stored
        # work as refused. It is the caller's own claim: nothing is revealed.
        response = jsonify(claims.viewed_claim(g.user, made))
        response.headers["Location"] = f"/api/v1/claims/{made.id}"
        return response
    document = access.annotatable_document_for(g.user, did)
    # "suggestion_id": the claim is a suggestion the annotator edited, then accepted.
    suggestion = suggestions.provenance_for_create(g.user, document, body)
    claim, created = claims.create_claim_once(g.user, document, body, suggestion=suggestion,
                                              key_unused=made is None)
    response = jsonify(claims.viewed_claim(g.user, claim))
    response.status_code = 201 if created else 200  # 200: a replay of an earlier create
    response.headers["Location"] = f"/api/v1/claims/{claim.id}"
    return response


@bp.get("/claims/<int:cid>")
def get_claim(cid: int) -> ResponseReturnValue:
    return jsonify(claims.viewed_claim(g.user, access.claim_for(g.user, cid)))


@bp.patch("/claims/<int:cid>")
def update_claim(cid: int) -> ResponseReturnValue:
    claim = access.editable_claim_for(g.user, cid)
    return jsonify(claims.viewed_claim(g.user, claims.update_claim(g.user, claim, _json_body())))


@bp.get("/claims/<int:cid>/history")
def claim_history(cid: int) -> ResponseReturnValue:
    claim = access.claim_for(g.user, cid, include_deleted=True)
    if claim.deleted_at is not None and not access.can_manage(g.user, claim.document.project):
        raise NotFound("claim not found")
    return jsonify(claims.history(claim, g.user))


@bp.post("/claims/<int:cid>/restore")
def restore_claim(cid: int) -> ResponseReturnValue:
    claim = access.claim_for(g.user, cid, include_deleted=True)
    if not access.can_manage(g.user, claim.document.project):
        if claim.deleted_at is not None:
            raise NotFound("claim not found")
        raise Forbidden("only the project's managers can restore claims")
    return jsonify(claims.claim_to_dict(claims.restore_claim(g.user, claim)))


@bp.delete("/claims/<int:cid>")
def delete_claim(cid: int) -> ResponseReturnValue:
    claim = access.editable_claim_for(g.user, cid)
    version = request.args.get("version", type=int)
    claims.delete_claim(g.user, claim, version)
    return "", 204


# ---------- adjudication (adjudicators, managers, admins) ----------


@bp.get("/projects/<int:pid>/review-queue")
def review_queue(pid: int) -> ResponseReturnValue:
    project = access.adjudicable_project_for(g.user, pid)
    status = request.args.get("status") or None
    minimum = request.args.get("min_disagreement", type=float)
    return jsonify(adjudication.review_queue(project, status=status, min_disagreement=minimum))


@bp.get("/documents/<int:did>/review")
def get_review(did: int) -> ResponseReturnValue:
    document = access.adjudicable_document_for(g.user, did)
    return jsonify(adjudication.review(document))


@bp.put("/documents/<int:did>/review")
def set_review_status(did: int) -> ResponseReturnValue:
    document = access.adjudicable_document_for(g.user, did)
    body = _json_body()
    status = body.get("status") if isinstance(body, dict) else None
    return jsonify(adjudication.set_status(g.user, document, status))


@bp.post("/documents/<int:did>/gold")
def create_gold(did: int) -> ResponseReturnValue:
    """Accept one version ({"accept": id, "also": [ids]}), merge ({"span_from": id,
    "fields_from": id}) or write one ({"claim": {...}, "sources": [ids]})."""
    document = access.adjudicable_document_for(g.user, did)
    body = require_object(_json_body())
    if "accept" in body:
        also = body.get("also") or []
        if not isinstance(also, list):
            raise InvalidInput("also must be a list of claim ids", {"also": "list of ids"})
        gold = adjudication.accept(g.user, document, body["accept"], also)
    elif "span_from" in body or "fields_from" in body:
        gold = adjudication.merge(g.user, document, body.get("span_from"),
                                  body.get("fields_from"))
    elif "claim" in body:
        gold = adjudication.decide(g.user, document, body["claim"], body.get("sources", []))
    else:
        raise InvalidInput("say how the gold claim is made",
                           {"(body)": "one of accept, span_from + fields_from, claim"})
    return jsonify(claims.claim_to_dict(gold)), 201


@bp.post("/documents/<int:did>/gold/accept-agreed")
def accept_agreed(did: int) -> ResponseReturnValue:
    document = access.adjudicable_document_for(g.user, did)
    return jsonify({"accepted": adjudication.accept_agreed(g.user, document)})


@bp.post("/documents/<int:did>/reject")
def reject_claims(did: int) -> ResponseReturnValue:
    document = access.adjudicable_document_for(g.user, did)
    body = _json_body()
    ids = body.get("claim_ids") if isinstance(body, dict) else None
    return jsonify({"rejected": adjudication.reject(g.user, document, ids)})


@bp.post("/documents/<int:did>/unreject")
def unreject_claims(did: int) -> ResponseReturnValue:
    document = access.adjudicable_document_for(g.user, did)
    body = _json_body()
    ids = body.get("claim_ids") if isinstance(body, dict) else None
    undone = adjudication.unreject(g.user, document, ids)
    return jsonify({"unrejected": undone, "review_status": adjudication.review_status(document)})


# Propositions, incidents and claim links live in their own module, on this blueprint.
# Suggestions too: importing the module adds its routes to `bp`.
from . import propositions as _propositions  # noqa: E402, F401
from . import suggestions as _suggestions  # noqa: E402, F401
