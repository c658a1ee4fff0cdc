"""JSON views of propositions, incidents and claim links (on the api blueprint)."""

from __future__ import annotations

from flask import g, jsonify, request
from flask.typing import ResponseReturnValue

from ..services import access, propositions
from ..services.errors import require_object
from .routes import _json_body, bp


def _proposition_view(proposition) -> dict:
    entries = propositions.timeline(g.user, proposition)
    data = propositions.proposition_to_dict(proposition, g.user, claims=len(entries))
    data.update(timeline=entries, evidence=propositions.evidence_by_relation(entries),
                can_edit=propositions.can_edit(g.user, proposition),
                can_set_verdict=access.can_adjudicate(g.user, proposition_project(proposition)))
    return data


def proposition_project(proposition):
    return access.project_for(g.user, proposition.project_id)


@bp.get("/projects/<int:pid>/propositions")
def list_propositions(pid: int) -> ResponseReturnValue:
    """All propositions (optionally of one incident, or containing `q`), or with
    `similar_to` the most similar ones, ranked, each with a `score`."""
    project = access.project_for(g.user, pid)
    counts = propositions.visible_claim_counts(g.user, project)
    similar_to = request.args.get("similar_to", "")
    if similar_to.strip():
        limit = min(max(request.args.get("limit", propositions.SUGGESTIONS, type=int), 1), 50)
        ranked = propositions.suggest(project, similar_to, limit=limit)
        return jsonify([propositions.proposition_to_dict(
            p, g.user, claims=counts.get(p.id, 0), score=score) for p, score in ranked])
    incident = request.args.get("incident", type=int)
    found = propositions.list_propositions(project, incident_id=incident,
                                           query=request.args.get("q", ""))
    return jsonify([propositions.proposition_to_dict(p, g.user, claims=counts.get(p.id, 0))
                    for p in found])


@bp.post("/projects/<int:pid>/propositions")
def create_proposition(pid: int) -> ResponseReturnValue:
    project = access.project_for(g.user, pid)
    proposition = propositions.create_proposition(g.user, project, _json_body())
    response = jsonify(propositions.proposition_to_dict(proposition, g.user, claims=0))
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/propositions/{proposition.id}"
    return response


@bp.get("/propositions/<int:prid>")
def get_proposition(prid: int) -> ResponseReturnValue:
    return jsonify(_proposition_view(propositions.proposition_for(g.user, prid)))


@bp.patch("/propositions/<int:prid>")
def update_proposition(prid: int) -> ResponseReturnValue:
    proposition = propositions.proposition_for(g.user, prid)
    propositions.update_proposition(g.user, proposition, _json_body())
    return jsonify(_proposition_view(proposition))


@bp.delete("/propositions/<int:prid>")
def delete_proposition(prid: int) -> ResponseReturnValue:
    propositions.delete_proposition(g.user, propositions.proposition_for(g.user, prid))
    return "", 204


@bp.put("/propositions/<int:prid>/verdict")
def set_proposition_verdict(prid: int) -> ResponseReturnValue:
    proposition = propositions.proposition_for(g.user, prid)
    body = require_object(_json_body())
    propositions.set_verdict(g.user, proposition, body.get("verdict"), body.get("note", ""))
    return jsonify(_proposition_view(proposition))


@bp.get("/claims/<int:cid>/proposition")
def claim_proposition(cid: int) -> ResponseReturnValue:
    return jsonify(propositions.claim_panel(access.claim_for(g.user, cid), g.user))


@bp.put("/claims/<int:cid>/proposition")
def link_claim(cid: int) -> ResponseReturnValue:
    claim = access.editable_claim_for(g.user, cid)
    body = _json_body()
    value = body.get("proposition_id") if isinstance(body, dict) else None
    propositions.link_claim(g.user, claim, value)
    return jsonify(propositions.claim_panel(claim, g.user))


@bp.delete("/claims/<int:cid>/proposition")
def unlink_claim(cid: int) -> ResponseReturnValue:
    propositions.unlink_claim(g.user, access.editable_claim_for(g.user, cid))
    return "", 204


@bp.get("/projects/<int:pid>/incidents")
def list_incidents(pid: int) -> ResponseReturnValue:
    project = access.project_for(g.user, pid)
    return jsonify([propositions.incident_to_dict(i, n)
                    for i, n in propositions.list_incidents(project)])


@bp.post("/projects/<int:pid>/incidents")
def create_incident(pid: int) -> ResponseReturnValue:
    project = access.project_for(g.user, pid)
    incident = propositions.create_incident(g.user, project, _json_body())
    return jsonify(propositions.incident_to_dict(incident, 0)), 201


@bp.get("/incidents/<int:iid>")
def get_incident(iid: int) -> ResponseReturnValue:
    incident = propositions.incident_for(g.user, iid)
    project = access.project_for(g.user, incident.project_id)
    counts = propositions.visible_claim_counts(g.user, project)
    found = propositions.list_propositions(project, incident_id=incident.id)
    data = propositions.incident_to_dict(incident, len(found))
    data["proposition_list"] = [
        propositions.proposition_to_dict(p, g.user, claims=counts.get(p.id, 0)) for p in found]
    return jsonify(data)


@bp.patch("/incidents/<int:iid>")
def update_incident(iid: int) -> ResponseReturnValue:
    incident = propositions.update_incident(g.user, propositions.incident_for(g.user, iid),
                                            _json_body())
    return jsonify(propositions.incident_to_dict(incident))


@bp.delete("/incidents/<int:iid>")
def delete_incident(iid: int) -> ResponseReturnValue:
    propositions.delete_incident(g.user, propositions.incident_for(g.user, iid))
    return "", 204
