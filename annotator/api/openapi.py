"""The OpenAPI 3.1 description of /api/v1, built from the JSON Schemas in schemas/."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from .. import __version__
from ..validation import load_schema, schema_dir
from . import openapi_propositions, openapi_suggestions

JSON = "application/json"


def _component_name(filename: str) -> str:
    stem = filename.removesuffix(".schema.json")
    return "".join(part.capitalize() for part in stem.split("-"))


def _rewrite_refs(node: Any, own: str) -> Any:
    """Point file refs ("claim.schema.json") and local refs ("#/$defs/x") at components."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                target, _, fragment = value.partition("#")
                name = _component_name(target) if target else own
                out[key] = f"#/components/schemas/{name}" + (
                    f"/{fragment.lstrip('/')}" if fragment else ""
                )
            elif key in ("$id", "$schema"):
                continue
            else:
                out[key] = _rewrite_refs(value, own)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item, own) for item in node]
    return node


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "Malformed request: a body that cannot be read (not JSON, e.g. NaN, or "
                 "nested more than 100 levels deep; `fields` names `(body)`), or a missing "
                 "CSRF token", 401: "Not authenticated",
            403: "Not allowed for this role", 404: "Not found, or not visible to you",
            409: "Stale version; `current` holds the stored claim",
            422: "Breaks the label scheme, the schema or the offsets contract; "
                 "`fields` names each bad field"}
    return {str(code): _json(_ref("Error"), text[code]) for code in codes}


def _id_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}


@cache
def _document() -> dict[str, Any]:
    components = {
        _component_name(path.name): _rewrite_refs(
            copy.deepcopy(load_schema(path.name)), _component_name(path.name)
        )
        for path in sorted(schema_dir().glob("*.schema.json"))
    }
    components["ProjectSummary"] = {
        "type": "object",
        "required": ["id", "name", "documents", "scheme_version", "blind"],
        "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                       "description": {"type": "string"}, "documents": {"type": "integer"},
                       "scheme_version": {"type": "integer"}, "blind": {"type": "boolean"}},
    }
    components["DocumentSummary"] = {
        "type": "object",
        "required": ["id", "external_id", "title", "status", "claims"],
        "properties": {"id": {"type": "integer"}, "external_id": {"type": "string"},
                       "title": {"type": "string"}, "text_sha256": {"type": "string"},
                       "status": {"enum": ["todo", "in_progress", "done", "skipped", None]},
                       "claims": {"type": "integer"}},
    }
    components["Document"] = {
        "type": "object",
        "required": ["id", "project_id", "external_id", "title", "text", "text_sha256"],
        "properties": {"id": {"type": "integer"}, "project_id": {"type": "integer"},
                       "external_id": {"type": "string"}, "title": {"type": "string"},
                       "text": {"type": "string", "description": "Immutable; offsets are code "
                                "points into it"},
                       "text_sha256": {"type": "string"}, "length": {"type": "integer"},
                       "meta": {"type": "object"},
                       "status": {"enum": ["todo", "in_progress", "done", "skipped", None]},
                       "claims": {"type": "array", "items": _ref("Claim"),
                                  "description": "Only with include=claims"}},
    }
    components["AuditEvent"] = {
        "type": "object",
        "required": ["id", "at", "user", "action", "entity", "entity_id", "before", "after"],
        "properties": {"id": {"type": "integer"}, "at": {"type": "string"},
                       "user": {"type": ["string", "null"]},
                       "action": {"enum": ["create", "update", "delete", "restore", "reject",
                                           "unreject"]},
                       "entity": {"enum": ["claim", "evidence"]},
                       "entity_id": {"type": "integer"},
                       "before": {"type": ["object", "null"]},
                       "after": {"type": ["object", "null"]}},
    }
    components["Actor"] = {
        "type": "object", "required": ["id", "name", "aliases"],
        "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                       "aliases": {"type": "array", "items": {"type": "string"}}},
    }
    components["Project"] = {
        "allOf": [_ref("ProjectSummary")],
        "type": "object",
        "required": ["label_scheme", "role"],
        "properties": {"label_scheme": _ref("LabelScheme"),
                       "role": {"enum": ["manager", "annotator", "adjudicator", "admin"]}},
    }
    pid, did, cid = _id_param("pid"), _id_param("did"), _id_param("cid")
    paths = {
        "/openapi.json": {"get": {
            "summary": "This description (no authentication needed)", "security": [],
            "responses": {"200": _json({"type": "object"}, "The OpenAPI document")}}},
        "/projects": {"get": {
            "summary": "Projects you are a member of",
            "responses": {"200": _json({"type": "array", "items": _ref("ProjectSummary")},
                                       "Projects"), **_errors(401)}}},
        "/projects/{pid}": {"get": {
            "summary": "A project with its label scheme and your role in it",
            "parameters": [pid],
            "responses": {"200": _json(_ref("Project"), "The project"), **_errors(401, 404)}}},
        "/projects/{pid}/scheme": {"put": {
            "summary": "Replace the project's label scheme with its next version (managers); a "
                       "value stored claims, evidence or propositions use may not be dropped",
            "parameters": [pid],
            "requestBody": {"required": True, "content": {JSON: {"schema": {"type": "object"}}}},
            "responses": {"200": _json(_ref("Project"), "The project with its scheme (the "
                                       "version unchanged if the scheme is)"),
                          **_errors(400, 401, 403, 404, 422)}}},
        "/projects/{pid}/documents": {"get": {
            "summary": "The project's documents with your status on each",
            "parameters": [pid],
            "responses": {"200": _json({"type": "array", "items": _ref("DocumentSummary")},
                                       "Documents"), **_errors(401, 404)}}},
        "/projects/{pid}/actors": {
            "get": {"summary": "The project's actors (claimants)", "parameters": [pid],
                    "responses": {"200": _json({"type": "array", "items": _ref("Actor")},
                                               "Actors"), **_errors(401, 404)}},
            "post": {"summary": "Add an actor", "parameters": [pid],
                     "requestBody": {"required": True, "content": {JSON: {"schema": {
                         "type": "object", "required": ["name"],
                         "properties": {"name": {"type": "string"},
                                        "aliases": {"type": "array",
                                                    "items": {"type": "string"}}}}}}},
                     "responses": {"201": _json(_ref("Actor"), "Created"),
                                   **_errors(400, 401, 404, 422)}}},
        "/projects/{pid}/export.jsonl": {"get": {
            "summary": "Document-level JSONL export (managers), streamed",
            "parameters": [pid, {"name": "claims", "in": "query",
                                 "schema": {"enum": ["all", "gold", "annotators"]},
                                 "description": "Which claims: adjudicated gold, the "
                                                "annotators' own, or both (default)."}],
            "responses": {"200": {"description": "One ExportRecord per line; with claims=gold "
                                                 "the X-Documents-Without-Gold header counts "
                                                 "documents whose gold is not settled",
                                  "content": {"application/x-ndjson": {
                                      "schema": _ref("ExportRecord")}}},
                          **_errors(401, 403, 404, 422)}}},
        "/projects/{pid}/import": {"post": {
            "summary": "Import one file (managers), all or nothing: articles (the app's "
                       "JSONL, .txt), or doccano JSONL / Label Studio JSON whose spans become "
                       "`annotator`'s claims (span label = stance)",
            "parameters": [
                pid,
                {"name": "format", "in": "query",
                 "schema": {"enum": ["auto", "jsonl", "txt", "doccano", "label-studio"]},
                 "description": "auto (default): by the file name"},
                {"name": "annotator", "in": "query", "schema": {"type": "string"},
                 "description": "Username of a project member whose claims the spans become; "
                                "without it spans are not imported"},
                {"name": "filename", "in": "query", "schema": {"type": "string"},
                 "description": "Names a raw body for format auto (default by media type: "
                                "upload.json, upload.txt, else upload.jsonl)"}],
            "requestBody": {"required": True, "content": {
                "multipart/form-data": {"schema": {
                    "type": "object", "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}}}},
                "application/x-ndjson": {"schema": {"type": "string"}},
                JSON: {"schema": {"type": "array", "items": {"type": "object"}}},
                "text/plain": {"schema": {"type": "string"}}}},
            "responses": {"201": _json({"type": "object",
                                        "required": ["format", "documents", "claims",
                                                     "spans_skipped"],
                                        "properties": {
                                            "format": {"type": "string"},
                                            "documents": {"type": "integer"},
                                            "claims": {"type": "integer"},
                                            "spans_skipped": {"type": "integer"}}},
                                       "Imported"),
                          **_errors(400, 401, 403, 404, 422)}}},
        "/documents/{did}": {"get": {
            "summary": "A document with its text; with include=claims also the claims you "
                       "may see on it (as GET /documents/{did}/claims), in one request",
            "parameters": [did, {"name": "include", "in": "query",
                                 "schema": {"enum": ["claims"]}}],
            "responses": {"200": _json(_ref("Document"), "The document"),
                          **_errors(401, 404)}}},
        "/documents/{did}/status": {"put": {
            "summary": "Mark the document done (or in progress) for you", "parameters": [did],
            "requestBody": {"required": True, "content": {JSON: {"schema": {
                "type": "object", "required": ["status"],
                "properties": {"status": {"enum": ["done", "in_progress"]}}}}}},
            "responses": {"200": _json({"type": "object", "properties": {
                "status": {"type": "string"},
                "next_document_id": {"type": ["integer", "null"]}}}, "Stored"),
                **_errors(400, 401, 404, 422)}}},
        "/documents/{did}/join": {"post": {
            "summary": "Join the document's annotators (managers, adjudicators, admins): your "
                       "claims on it then count as a coder's; an annotator is assigned by a "
                       "manager (403)", "parameters": [did],
            "responses": {"200": _json({"type": "object", "required": ["status"], "properties": {
                "status": {"enum": ["todo", "in_progress", "done", "skipped"]}}},
                "Your status on the document"), **_errors(400, 401, 403, 404)}}},
        "/documents/{did}/start": {"post": {
            "summary": "Note that you opened the document: your assignment goes from todo to "
                       "in_progress (any other status stays as it is)", "parameters": [did],
            "responses": {"200": _json({"type": "object", "required": ["status"], "properties": {
                "status": {"enum": ["todo", "in_progress", "done", "skipped", None]}}},
                "Your status on the document (null: not assigned to you)"),
                **_errors(400, 401, 404)}}},
        "/documents/{did}/skip": {"post": {
            "summary": "Set an assigned document aside, saying why", "parameters": [did],
            "requestBody": {"required": True, "content": {JSON: {"schema": {
                "type": "object", "required": ["reason"],
                "properties": {"reason": {"type": "string", "minLength": 1}}}}}},
            "responses": {"200": _json({"type": "object", "properties": {
                "status": {"const": "skipped"},
                "next_document_id": {"type": ["integer", "null"]}}}, "Skipped"),
                **_errors(400, 401, 404, 422)}}},
        "/documents/{did}/claims": {
            "get": {"summary": "Claims on the document you may see (your own in blind mode); "
                               "with deleted=true, every deleted claim (managers)",
                    "parameters": [did, {"name": "deleted", "in": "query",
                                         "schema": {"enum": ["true", "false", "1", "0"]}}],
                    "responses": {"200": _json({"type": "array", "items": _ref("Claim")},
                                               "Claims"), **_errors(401, 404)}},
            "post": {"summary": "Create a claim", "parameters": [did],
                     "requestBody": {"required": True, "content": {JSON: {
                         "schema": _ref("ClaimWrite")}}},
                     "responses": {"201": _json(_ref("Claim"), "Created"),
                                   "200": _json(_ref("Claim"), "Sent again with a client_id "
                                                "that already made this claim: that claim"),
                                   "409": _json(_ref("Error"), "suggestion_id names a "
                                                "suggestion you already accepted on this "
                                                "document; `current` holds that claim"),
                                   "403": _json(_ref("Error"), "You are not assigned to "
                                                "this document: only its annotators draw "
                                                "claims on it"),
                                   **_errors(400, 401, 404, 422)}}},
        "/claims/{cid}/history": {"get": {
            "summary": "The claim's audit trail: who changed what, when, before and after",
            "parameters": [cid],
            "responses": {"200": _json({"type": "array", "items": _ref("AuditEvent")},
                                       "Events, oldest first"), **_errors(401, 404)}}},
        "/claims/{cid}/restore": {"post": {
            "summary": "Restore a deleted claim (managers)", "parameters": [cid],
            "responses": {"200": _json(_ref("Claim"), "The restored claim"),
                          "409": _json(_ref("Error"), "The claim was accepted from a "
                                       "suggestion that its annotator has accepted again "
                                       "since; `current` holds that live claim"),
                          **_errors(400, 401, 403, 404)}}},
        "/claims/{cid}": {
            "get": {"summary": "One claim", "parameters": [cid],
                    "responses": {"200": _json(_ref("Claim"), "The claim"),
                                  **_errors(401, 404)}},
            "patch": {"summary": "Change a claim; carries the version it edits",
                      "parameters": [cid],
                      "requestBody": {"required": True, "content": {JSON: {
                          "schema": _ref("ClaimWrite")}}},
                      "responses": {"200": _json(_ref("Claim"), "Changed"),
                                    **_errors(400, 401, 403, 404, 409, 422)}},
            "delete": {"summary": "Delete a claim (soft: it stays in the history)",
                       "parameters": [cid, {"name": "version", "in": "query",
                                            "schema": {"type": "integer"}}],
                       "responses": {"204": {"description": "Deleted"},
                                     **_errors(400, 401, 403, 404, 409)}}},
        # ----- adjudication (adjudicators, managers, site admins; annotators get 404/403) -----
        "/projects/{pid}/review-queue": {"get": {
            "summary": "Documents whose annotators are all done, most disagreed first",
            "parameters": [pid,
                           {"name": "status", "in": "query",
                            "schema": {"enum": ["none", "open", "done"]},
                            "description": "Only documents of this review status"},
                           {"name": "min_disagreement", "in": "query",
                            "schema": {"type": "number", "minimum": 0, "maximum": 1},
                            "description": "Only documents at least this disagreed"}],
            "responses": {"200": _json({"type": "array", "items": {
                "type": "object", "required": ["document_id", "disagreement", "review_status"],
                "properties": {
                    "document_id": {"type": "integer"},
                    "id": {"type": ["string", "null"], "description": "The external id"},
                    "title": {"type": "string"},
                    "coders": {"type": "array", "items": {"type": "string"}},
                    "claims": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "overlap_f1": {"type": "number"},
                    "disagreement": {"type": "number", "description": "1 - the mean labelled "
                                     "overlap F1 of the document's coder pairs"},
                    "review_status": {"enum": ["none", "open", "done"]}}}}, "The queue"),
                **_errors(401, 403, 404, 422)}}},
        "/documents/{did}/review": {
            "get": {"summary": "The document's units: each annotator's version, what differs, "
                               "what was decided; and its gold claims",
                    "parameters": [did],
                    "responses": {"200": _json({
                        "type": "object",
                        "required": ["document_id", "coders", "status", "units", "gold",
                                     "open_units"],
                        "properties": {
                            "document_id": {"type": "integer"},
                            "coders": {"type": "array", "items": {"type": "string"}},
                            "status": {"enum": ["none", "open", "done"]},
                            "units": {"type": "array", "items": {
                                "type": "object",
                                "required": ["claims", "claim_ids", "differences", "agreed",
                                             "gold_ids", "rejected", "decided"],
                                "properties": {
                                    "claims": {"type": "object",
                                               "description": "Each annotator's version",
                                               "additionalProperties": _ref("Claim")},
                                    "claim_ids": {"type": "array", "items": {"type": "integer"}},
                                    "differences": {"type": "array", "items": {"enum": [
                                        "missing", "boundaries", "actor", "stance", "verdict",
                                        "evidence"]}},
                                    "agreed": {"type": "boolean"},
                                    "gold_ids": {"type": "array", "items": {"type": "integer"}},
                                    "rejected": {"type": "array", "items": {"type": "integer"}},
                                    "decided": {"type": "boolean"}}}},
                            "gold": {"type": "array", "items": _ref("Claim")},
                            "open_units": {"type": "integer"},
                            "unfinished": {"type": "array", "items": {"type": "string"},
                                           "description": "Assigned annotators who have not "
                                           "finished the document (neither done nor "
                                           "skipped)"}}}, "The review"),
                        **_errors(401, 404)}},
            "put": {"summary": "Settle the document's gold (done) or reopen it",
                    "description": "Done needs every unit decided. A later change that "
                                   "opens a unit (a gold claim deleted, a rejection undone, "
                                   "an annotator's new or restored claim) sets a done review "
                                   "back to open.",
                    "parameters": [did],
                    "requestBody": {"required": True, "content": {JSON: {"schema": {
                        "type": "object", "required": ["status"],
                        "properties": {"status": {"enum": ["open", "done"]}}}}}},
                    "responses": {"200": _json({
                        "type": "object", "required": ["status", "unfinished"], "properties": {
                            "status": {"enum": ["open", "done"]},
                            "unfinished": {"type": "array", "items": {"type": "string"},
                                           "description": "A warning: assigned annotators "
                                           "who have not finished the document"}}}, "Stored"),
                        **_errors(400, 401, 404, 422),
                        "409": _json(_ref("Error"), "Done refused: `open_units` units are "
                                     "still undecided")}}},
        "/documents/{did}/gold": {"post": {
            "summary": "Make a gold claim: accept a version, merge two, or write one; it "
                       "records the annotators' claims it was decided from",
            "parameters": [did],
            "requestBody": {"required": True, "content": {JSON: {"schema": {"oneOf": [
                {"type": "object", "required": ["accept"], "properties": {
                    "accept": {"type": "integer"},
                    "also": {"type": "array", "items": {"type": "integer"},
                             "description": "Other claims this decision settles"}}},
                {"type": "object", "required": ["span_from", "fields_from"], "properties": {
                    "span_from": {"type": "integer"}, "fields_from": {"type": "integer"}}},
                {"type": "object", "required": ["claim"], "properties": {
                    "claim": _ref("ClaimWrite"),
                    "sources": {"type": "array", "items": {"type": "integer"}}}}]}}}},
            "responses": {"201": _json(_ref("Claim"), "The gold claim"),
                          **_errors(400, 401, 404, 422),
                          "409": _json(_ref("Error"), "Live gold claims already settle "
                                       "some of these claims: `settled_by` names each, "
                                       "`current` holds the first")}}},
        "/documents/{did}/gold/accept-agreed": {"post": {
            "summary": "Accept every undecided unit on which all annotators agree exactly",
            "parameters": [did],
            "responses": {"200": _json({"type": "object", "properties": {
                "accepted": {"type": "integer"}}}, "How many units were accepted"),
                **_errors(400, 401, 404)}}},
        "/documents/{did}/reject": {"post": {
            "summary": "Leave annotators' claims out of the gold set",
            "parameters": [did],
            "requestBody": {"required": True, "content": {JSON: {"schema": {
                "type": "object", "required": ["claim_ids"],
                "properties": {"claim_ids": {"type": "array", "minItems": 1,
                                             "items": {"type": "integer"}}}}}}},
            "responses": {"200": _json({"type": "object", "properties": {
                "rejected": {"type": "integer"}}}, "How many claims were rejected"),
                **_errors(400, 401, 404, 422)}}},
        "/documents/{did}/unreject": {"post": {
            "summary": "Undo the rejection of annotators' claims: their units are open again, "
                       "and so is a done review",
            "parameters": [did],
            "requestBody": {"required": True, "content": {JSON: {"schema": {
                "type": "object", "required": ["claim_ids"],
                "properties": {"claim_ids": {"type": "array", "minItems": 1,
                                             "items": {"type": "integer"}}}}}}},
            "responses": {"200": _json({
                "type": "object", "required": ["unrejected", "review_status"], "properties": {
                    "unrejected": {"type": "integer"},
                    "review_status": {"enum": ["none", "open", "done"]}}},
                "How many rejections were undone, and the review status after"),
                **_errors(400, 401, 404, 422),
                "409": _json(_ref("Error"), "Nothing undone: the claims `not_rejected` names "
                             "are not rejected (undone meanwhile); `current` is the first")}}},
    }
    paths.update(openapi_suggestions.paths(_json, _errors, pid, did))
    paths.update(openapi_propositions.paths(_json, _errors, _id_param))
    components.update(openapi_propositions.components())
    return {
        "openapi": "3.1.0",
        "info": {"title": "Claim annotator API", "version": __version__,
                 "description": "Offsets are Unicode code points, end exclusive. Scripts send "
                                "`Authorization: Bearer TOKEN`; the browser sends its session "
                                "cookie and an `X-CSRFToken` header."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}, {"sessionCookie": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
    }


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document (a fresh copy, safe to change)."""
    return copy.deepcopy(_document())
