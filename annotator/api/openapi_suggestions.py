"""The suggestion routes' part of the OpenAPI document (merged in by openapi.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

JSON = "application/json"

_SPAN = {"type": ["object", "null"], "required": ["start", "end", "text"],
         "properties": {"start": {"type": "integer"}, "end": {"type": "integer"},
                        "text": {"type": "string"}}}

SUGGESTION = {
    "type": "object",
    "required": ["id", "start", "end", "text", "stance", "actor", "source", "score"],
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9]+-[0-9]+$",
               "description": "start-end: names the suggestion in accept and reject"},
        "start": {"type": "integer"}, "end": {"type": "integer"}, "text": {"type": "string"},
        "stance": {"type": "string"}, "actor": {"type": ["string", "null"]},
        "actor_mention": _SPAN, "cue": _SPAN,
        "source": {"enum": ["rules", "model", "rules+model"]},
        "score": {"type": "number", "description": "The model's probability that the "
                                                   "sentence holds a claim (1 for rules)"}},
}

MODEL_VERSION = {
    "type": "object", "required": ["version", "created_at", "scores"],
    "properties": {"version": {"type": "integer"}, "created_at": {"type": "string"},
                   "trained_by": {"type": ["string", "null"]},
                   "scores": {"type": "object", "description": "Held-out precision, recall "
                              "and F1 per task (claim_sentence, actor, stance) and the "
                              "train/test sizes"}},
}

_WHEN = {"type": ["string", "null"], "format": "date-time"}
TRAINING_JOB = {
    "type": "object",
    "required": ["id", "project_id", "status", "error", "model_version", "requested_by",
                 "created_at", "started_at", "finished_at"],
    "properties": {
        "id": {"type": "integer"}, "project_id": {"type": "integer"},
        "status": {"enum": ["queued", "running", "done", "failed"]},
        "error": {"type": ["string", "null"], "description": "Why it failed"},
        "model_version": {"type": ["integer", "null"],
                          "description": "The version it stored, once done"},
        "requested_by": {"type": ["string", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
        "started_at": _WHEN, "finished_at": _WHEN},
}
CONFLICT = {"type": "object", "required": ["error", "current"],
            "properties": {"error": {"type": "string"}, "current": TRAINING_JOB}}


def paths(json_: Callable[..., dict[str, Any]], errors: Callable[..., dict[str, Any]],
          pid: dict[str, Any], did: dict[str, Any]) -> dict[str, Any]:
    sid = {"name": "sid", "in": "path", "required": True,
           "schema": {"type": "string", "pattern": "^[0-9]+-[0-9]+$"}}
    return {
        "/documents/{did}/suggestions": {"get": {
            "summary": "Suggested claims on the document for you (none when the project has "
                       "suggestions off; never from others' work in blind mode)",
            "parameters": [did],
            "responses": {"200": json_({
                "type": "object", "required": ["enabled", "model_version", "suggestions"],
                "properties": {"enabled": {"type": "boolean"},
                               "model_version": {"type": ["integer", "null"]},
                               "keys": {"type": "object", "additionalProperties": {
                                   "type": "string"}},
                               "suggestions": {"type": "array", "items": SUGGESTION}}},
                "Suggestions"), **errors(401, 404)}}},
        "/documents/{did}/suggestions/{sid}/accept": {"post": {
            "summary": "Make a suggestion your claim (origin: suggestion); the optional body "
                       "holds fields changed first (not client_id or suggestion_id: those "
                       "name a create)",
            "parameters": [did, sid],
            "requestBody": {"required": False, "content": {JSON: {"schema": {
                "$ref": "#/components/schemas/ClaimWrite"}}}},
            "responses": {"201": json_({"$ref": "#/components/schemas/Claim"}, "Created"),
                          "200": json_({"$ref": "#/components/schemas/Claim"},
                                       "Accepted before: that claim"),
                          **errors(400, 401, 403, 404, 422)}}},
        "/documents/{did}/suggestions/{sid}/reject": {"post": {
            "summary": "Reject a suggestion: it is not shown to you on this document again",
            "parameters": [did, sid],
            "responses": {"204": {"description": "Rejected"}, **errors(400, 401, 404)}}},
        "/projects/{pid}/suggestions": {"put": {
            "summary": "Turn suggestions on or off for the project (managers)",
            "parameters": [pid],
            "requestBody": {"required": True, "content": {JSON: {"schema": {
                "type": "object", "required": ["enabled"],
                "properties": {"enabled": {"type": "boolean"}}}}}},
            "responses": {"200": json_({"type": "object", "properties": {
                "enabled": {"type": "boolean"}}}, "Stored"),
                **errors(400, 401, 403, 404, 422)}}},
        "/projects/{pid}/suggestion-models": {
            "get": {"summary": "Trained suggestion model versions, newest first, with their "
                               "held-out scores (managers)",
                    "parameters": [pid],
                    "responses": {"200": json_({"type": "array", "items": MODEL_VERSION},
                                               "Versions"), **errors(401, 403, 404)}},
            "post": {"summary": "Start training a new model version on the project's gold "
                                "and accepted claims (managers); the job runs in its own "
                                "process, its status URL is in Location",
                     "parameters": [pid],
                     "responses": {"202": json_(TRAINING_JOB, "The job, queued"),
                                   "409": json_(CONFLICT,
                                                "A training of this project is already live; "
                                                "`current` is that job"),
                                   **errors(400, 401, 403, 404, 422)}}},
        "/projects/{pid}/training-jobs/{jid}": {
            "get": {"summary": "A training job: queued, running, done (with the version it "
                               "stored) or failed (with the reason) (managers)",
                    "parameters": [pid, {**pid, "name": "jid"}],
                    "responses": {"200": json_(TRAINING_JOB, "The job"),
                                  **errors(401, 403, 404)}}},
    }
