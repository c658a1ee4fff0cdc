"""The OpenAPI description of the proposition, incident and claim-link routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

JSON = "application/json"
_ref = {"Proposition": {"$ref": "#/components/schemas/Proposition"},
        "PropositionView": {"$ref": "#/components/schemas/PropositionView"},
        "Incident": {"$ref": "#/components/schemas/Incident"},
        "ClaimProposition": {"$ref": "#/components/schemas/ClaimProposition"}}
_nullable_int = {"type": ["integer", "null"]}
_nullable_str = {"type": ["string", "null"]}


def components() -> dict[str, Any]:
    evidence = {"type": "object", "properties": {
        "id": {"type": "integer"}, "type": {"type": "string"}, "relation": {"type": "string"},
        "description": {"type": "string"}, "start": _nullable_int, "end": _nullable_int,
        "text": _nullable_str, "source_url": _nullable_str,
        "document_id": {**_nullable_int, "description": "The article the span is in"},
        "document": {**_nullable_str, "description": "That article's title"}}}
    return {
        "Proposition": {
            "type": "object",
            "required": ["id", "project_id", "text", "incident_id", "verdict", "verdict_note"],
            "properties": {
                "id": {"type": "integer"}, "project_id": {"type": "integer"},
                "text": {"type": "string"}, "incident_id": _nullable_int,
                "incident": {**_nullable_str, "description": "The incident's title"},
                "verdict": {**_nullable_str, "description": "One of the scheme's verdicts"},
                "verdict_note": {"type": "string"}, "created_by": _nullable_str,
                "created_at": {"type": "string", "format": "date-time"},
                "claims": {"type": "integer",
                           "description": "Linked claims you may see (yours only in blind "
                                          "mode)"},
                "score": {"type": "number", "description": "TF-IDF cosine similarity to "
                          "similar_to (ranked lists only)"}}},
        "PropositionView": {
            "allOf": [_ref["Proposition"]],
            "type": "object",
            "required": ["timeline", "evidence", "can_edit", "can_set_verdict"],
            "properties": {
                "timeline": {"type": "array", "description": "The linked claims you may see, "
                             "ordered by article date (undated last)", "items": {
                                 "type": "object", "properties": {
                                     "claim_id": {"type": "integer"},
                                     "document_id": {"type": "integer"},
                                     "document": {"type": "string"},
                                     "title": {"type": "string"},
                                     "article_date": _nullable_str,
                                     "annotator": {"type": "string"},
                                     "is_gold": {"type": "boolean"}, "actor": _nullable_str,
                                     "stance": {"type": "string"}, "verdict": _nullable_str,
                                     "text": {"type": "string"}, "start": {"type": "integer"},
                                     "end": {"type": "integer"},
                                     "evidence": {"type": "array", "items": evidence}}}},
                "evidence": {"type": "object", "description": "The timeline's evidence by "
                             "relation (supports, contradicts, ...)",
                             "additionalProperties": {"type": "array", "items": evidence}},
                "can_edit": {"type": "boolean"}, "can_set_verdict": {"type": "boolean"}}},
        "Incident": {
            "type": "object", "required": ["id", "project_id", "title"],
            "properties": {
                "id": {"type": "integer"}, "project_id": {"type": "integer"},
                "title": {"type": "string", "description": "What"},
                "location": {"type": "string", "description": "Where"},
                "date_start": {**_nullable_str, "format": "date", "description": "When"},
                "date_end": {**_nullable_str, "format": "date",
                             "description": "End of a date range"},
                "description": {"type": "string"},
                "propositions": {"type": "integer"},
                "proposition_list": {"type": "array", "items": _ref["Proposition"]}}},
        "ClaimProposition": {
            "type": "object", "required": ["claim_id", "proposition", "suggestions"],
            "properties": {
                "claim_id": {"type": "integer"},
                "proposition": {"oneOf": [_ref["Proposition"], {"type": "null"}]},
                "suggestions": {"type": "array", "items": _ref["Proposition"],
                                "description": "The project's propositions most similar to "
                                               "the claim's text, best first"}}},
    }


def paths(json_: Callable[..., Any], errors: Callable[..., Any],
          id_param: Callable[[str], Any]) -> dict[str, Any]:
    pid, cid = id_param("pid"), id_param("cid")
    prid, iid = id_param("prid"), id_param("iid")

    def body(schema: dict[str, Any]) -> dict[str, Any]:
        return {"required": True, "content": {JSON: {"schema": schema}}}

    proposition_write = {"type": "object", "properties": {
        "text": {"type": "string", "minLength": 1, "maxLength": 5000},
        "incident_id": _nullable_int}}
    incident_write = {"type": "object", "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 300},
        "location": {"type": "string"}, "date_start": {**_nullable_str, "format": "date"},
        "date_end": {**_nullable_str, "format": "date"}, "description": {"type": "string"}}}
    listed = {"type": "array", "items": _ref["Proposition"]}
    return {
        "/projects/{pid}/propositions": {
            "get": {"summary": "The project's propositions (any member); with similar_to, "
                               "the most similar to that text, ranked (TF-IDF)",
                    "parameters": [pid,
                                   {"name": "similar_to", "in": "query",
                                    "schema": {"type": "string"}},
                                   {"name": "limit", "in": "query",
                                    "schema": {"type": "integer", "minimum": 1,
                                               "maximum": 50}},
                                   {"name": "q", "in": "query", "schema": {"type": "string"},
                                    "description": "Only propositions containing this"},
                                   {"name": "incident", "in": "query",
                                    "schema": {"type": "integer"}}],
                    "responses": {"200": json_(listed, "Propositions"),
                                  **errors(401, 404)}},
            "post": {"summary": "Create a proposition (any member)", "parameters": [pid],
                     "requestBody": body({**proposition_write, "required": ["text"]}),
                     "responses": {"201": json_(_ref["Proposition"], "Created"),
                                   **errors(400, 401, 404, 422)}}},
        "/propositions/{prid}": {
            "get": {"summary": "A proposition with the timeline of the claims you may see "
                               "and their evidence by relation", "parameters": [prid],
                    "responses": {"200": json_(_ref["PropositionView"], "The proposition"),
                                  **errors(401, 404)}},
            "patch": {"summary": "Reword it or move it to an incident (reviewers, its "
                                 "creator)", "parameters": [prid],
                      "requestBody": body(proposition_write),
                      "responses": {"200": json_(_ref["PropositionView"], "Changed"),
                                    **errors(400, 401, 403, 404, 422)}},
            "delete": {"summary": "Delete it and its links; the claims stay (reviewers)",
                       "parameters": [prid],
                       "responses": {"204": {"description": "Deleted"},
                                     **errors(400, 401, 403, 404)}}},
        "/propositions/{prid}/verdict": {"put": {
            "summary": "Set the proposition-level verdict (adjudicators, managers)",
            "parameters": [prid],
            "requestBody": body({"type": "object", "properties": {
                "verdict": {**_nullable_str, "description": "One of the scheme's verdicts"},
                "note": {"type": "string"}}}),
            "responses": {"200": json_(_ref["PropositionView"], "Stored"),
                          **errors(400, 401, 403, 404, 422)}}},
        "/claims/{cid}/proposition": {
            "get": {"summary": "The claim's proposition and ranked suggestions for it",
                    "parameters": [cid],
                    "responses": {"200": json_(_ref["ClaimProposition"], "The link"),
                                  **errors(401, 404)}},
            "put": {"summary": "Link the claim to a proposition of its project (whoever may "
                               "change the claim); replaces its link", "parameters": [cid],
                    "requestBody": body({"type": "object", "required": ["proposition_id"],
                                         "properties": {"proposition_id": {
                                             "type": "integer"}}}),
                    "responses": {"200": json_(_ref["ClaimProposition"], "Linked"),
                                  **errors(400, 401, 403, 404, 422)}},
            "delete": {"summary": "Unlink the claim", "parameters": [cid],
                       "responses": {"204": {"description": "Unlinked"},
                                     **errors(400, 401, 403, 404)}}},
        "/projects/{pid}/incidents": {
            "get": {"summary": "The project's incidents with their number of propositions",
                    "parameters": [pid],
                    "responses": {"200": json_({"type": "array", "items": _ref["Incident"]},
                                               "Incidents"), **errors(401, 404)}},
            "post": {"summary": "Create an incident (adjudicators, managers)",
                     "parameters": [pid],
                     "requestBody": body({**incident_write, "required": ["title"]}),
                     "responses": {"201": json_(_ref["Incident"], "Created"),
                                   **errors(400, 401, 403, 404, 422)}}},
        "/incidents/{iid}": {
            "get": {"summary": "An incident with its propositions", "parameters": [iid],
                    "responses": {"200": json_(_ref["Incident"], "The incident"),
                                  **errors(401, 404)}},
            "patch": {"summary": "Change an incident (adjudicators, managers)",
                      "parameters": [iid], "requestBody": body(incident_write),
                      "responses": {"200": json_(_ref["Incident"], "Changed"),
                                    **errors(400, 401, 403, 404, 422)}},
            "delete": {"summary": "Delete an incident; its propositions stay, in none",
                       "parameters": [iid],
                       "responses": {"204": {"description": "Deleted"},
                                     **errors(400, 401, 403, 404)}}},
    }
