"""Broken access control, route by route: one table names every route of the app.

TABLE maps each (endpoint, method) of `app.url_map` to one or more cases. A case fills the
route's URL with objects its actors must not touch (project B's, alice's claims, alice's API
token...), gives the body a real client would send (valid, so a missing check would show as
a success, not as a validation error), and says what each actor must get:

  member  amy, manager of project A and of nothing else, by session cookie; every write
          carries a valid CSRF token, so CSRF cannot hide a missing access check
  token   amy by Bearer token (API routes only; defaults to `member`)
  blind   bob, annotator of project B (blind mode): not the owner of alice's claims, and not
          assigned to document d3
  anon    no one logged in, CSRF token valid (defaults: 302 to /login for a page, 401 for API)

An expectation is a status (or a tuple of acceptable ones), LOGIN, or ALLOWED: the actor may
legitimately use the route. Allowed reads are still sent (200, or a redirect elsewhere than
the login page) and must not show anything the actor may not see; allowed writes are not
sent. After every request the whole database
(except the tokens' last_used_at) must be as before, and no response may carry a secret
marker of what the actor may not see.

A route without an entry fails the test, naming it: a new route has to say who may use it.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import func, literal_column, select

from annotator.db import db
from annotator.models import ApiToken, Assignment, Document, TrainingJob
from annotator.services import (
    adjudication,
    claims,
    documents,
    projects,
    propositions,
    suggestions,
    users,
)
from tests.conftest import SAMPLE_TEXT, AuthActions, IsolatedClient, span

# ---------- what the actors must never see ----------

PROJECT_B = "Palmyra reports"  # the `project` fixture's name
SECRET_TITLE = "Unassigned-secret-title-q7x"
SECRET_TEXT = "unassigned-secret-text-q7x"
D3_TEXT = f"Dispatch {SECRET_TEXT}: the convoy was attacked at dawn near the river."
SECRET_NOTE = "alice-secret-note-q7x"
SECRET_ACTOR = "Secret-actor-of-project-B-q7x"
SECRET_TOKEN_NAME = "alice-secret-token-name-q7x"

# amy is in project A only; bob is in project B but sees neither d3 nor alice's claims.
SECRETS = {
    "member": (PROJECT_B, SECRET_TITLE, SECRET_TEXT, SECRET_NOTE, SECRET_ACTOR,
               SECRET_TOKEN_NAME),
    "blind": (SECRET_TITLE, SECRET_TEXT, SECRET_NOTE, SECRET_TOKEN_NAME),
}
SECRETS["token"] = SECRETS["member"]
SECRETS["anon"] = SECRETS["member"]

# ---------- the table ----------

LOGIN = "302 to /login"
ALLOWED = "allowed"
Expect = int | tuple[int, ...] | str


def _claim_body(text: str, needle: str, **extra: Any) -> dict[str, Any]:
    start, end = span(text, needle)
    return {"start": start, "end": end, "text": needle, "stance": "asserts", **extra}


NEW_CLAIM_ON_D3 = _claim_body(D3_TEXT, "the convoy was attacked")
NEW_GOLD_ON_D1 = _claim_body(SAMPLE_TEXT, "a helicopter was shot down", stance="denies")
IMPORT_FILE = {"files": (b'{"id": "intruder", "text": "Injected document."}\n',
                         "intruder.jsonl")}


@dataclass(frozen=True)
class Case:
    """One request to a route; `url` is formatted with the targets (see `world`)."""

    url: str
    member: Expect
    blind: Expect
    token: Expect | None = None  # API routes: defaults to `member`
    anon: Expect | None = None  # defaults: LOGIN for pages, 401 for the API
    json: Any = None  # a JSON body; a string "{name}" in it becomes that target's id
    form: dict[str, str] | None = None  # a page's form fields (csrf_token is added)
    files: dict[str, tuple[bytes, str]] | None = None  # file fields of a multipart form


@dataclass(frozen=True)
class Public:
    """A route anyone may use; `url`, if given, is fetched anonymously and must be 200."""

    url: str | None = None


TABLE: dict[tuple[str, str], Case | tuple[Case, ...] | Public] = {
    # ----- public -----
    ("static", "GET"): Public("/static/app.css"),
    ("auth.login", "GET"): Public("/login"),
    ("auth.login", "POST"): Public(),  # tests/test_security_login.py
    ("api.openapi", "GET"): Public("/api/v1/openapi.json"),
    ("health.healthz", "GET"): Public("/healthz"),  # tests/test_serving.py
    # ----- pages -----
    ("auth.logout", "POST"): Case("/logout", member=ALLOWED, blind=ALLOWED, form={}),
    ("projects.index", "GET"): Case("/", member=ALLOWED, blind=ALLOWED),
    ("projects.detail", "GET"): Case("/projects/{project}", member=404, blind=ALLOWED),
    ("projects.detail", "POST"): Case("/projects/{project}", member=404, blind=403,
                                      form={}, files=IMPORT_FILE),
    ("projects.next_document", "GET"): Case("/projects/{project}/next",
                                            member=404, blind=ALLOWED),
    ("annotate.document", "GET"): (
        Case("/documents/{doc}", member=404, blind=404),
        # bob's own document (todo): opening the page is a read, so the database stays as it
        # was (a link on any site could send this GET; the page marks it started by POST).
        Case("/documents/{shared_doc}", member=404, blind=ALLOWED),
    ),
    # ----- project management (managers): amy tries project B, bob tries to promote himself,
    # to turn blind mode off, or to take alice's document -----
    ("projects.members", "GET"): Case("/projects/{project}/members", member=404, blind=403),
    ("projects.add_member", "POST"): (
        Case("/projects/{project}/members/add", member=404, blind=403,
             form={"username": "amy", "role": "manager"}),
        Case("/projects/{project}/members/add", member=404, blind=403,
             form={"username": "bob", "role": "manager"}),
    ),
    ("projects.change_role", "POST"): (
        Case("/projects/{project}/members/{bob}/role", member=404, blind=403,
             form={"role": "manager"}),
        Case("/projects/{project}/members/{alice}/role", member=404, blind=403,
             form={"role": "adjudicator"}),
    ),
    ("projects.remove_member", "POST"): Case("/projects/{project}/members/{alice}/remove",
                                             member=404, blind=403, form={}),
    ("projects.settings", "POST"): Case("/projects/{project}/settings", member=404, blind=403,
                                        form={"annotators_per_document": "1"}),  # blind off
    ("projects.change_scheme", "POST"): Case("/projects/{project}/scheme", member=404,
                                             blind=403, form={"scheme": "{}"}),
    ("projects.assign", "POST"): Case("/projects/{project}/assign", member=404, blind=403,
                                      form={"per_document": "2"}),  # would give bob d3
    ("projects.reassign", "POST"): Case("/projects/{project}/reassign", member=404, blind=403,
                                        form={"document": "d3", "from_user": "alice",
                                              "to_user": "bob"}),
    ("projects.progress_page", "GET"): Case("/projects/{project}/progress",
                                            member=404, blind=403),
    # The dataset bundle holds every annotator's claims and the gold: managers only.
    ("projects.dataset_zip", "GET"): (
        Case("/projects/{project}/dataset.zip", member=404, blind=403),
        Case("/projects/{project}/dataset.zip?claims=annotators&format=jsonl",
             member=404, blind=403),
    ),
    # ----- the user's own account; alice's token is nobody else's to revoke -----
    ("account.password", "GET"): Case("/account/password", member=ALLOWED, blind=ALLOWED),
    ("account.password", "POST"): Case("/account/password", member=ALLOWED, blind=ALLOWED,
                                       form={"current_password": "x", "new_password": "y" * 9,
                                             "confirm": "y" * 9}),
    ("account.tokens", "GET"): Case("/account/tokens", member=ALLOWED, blind=ALLOWED),
    ("account.tokens", "POST"): Case("/account/tokens", member=ALLOWED, blind=ALLOWED,
                                     form={"name": "new token"}),
    ("account.revoke", "POST"): Case("/account/tokens/{token_id}/revoke", member=404,
                                     blind=404, form={}),
    # ----- site administration (site admins only) -----
    ("admin.users_page", "GET"): Case("/admin/users", member=403, blind=403),
    ("admin.users_page", "POST"): Case("/admin/users", member=403, blind=403, form={
        "username": "intruder", "password": "intruder-password", "is_admin": "y"}),
    # ----- API: projects -----
    ("api.list_projects", "GET"): Case("/api/v1/projects", member=ALLOWED, blind=ALLOWED),
    ("api.get_project", "GET"): Case("/api/v1/projects/{project}", member=404, blind=ALLOWED),
    # Joining is for those who see every document: bob may not make himself an annotator
    # of alice's d3 (he cannot see it), nor may a non-member.
    ("api.join_document", "POST"): Case("/api/v1/documents/{doc}/join", member=404,
                                        blind=404),
    ("api.change_scheme", "PUT"): Case("/api/v1/projects/{project}/scheme", member=404,
                                       blind=403, json={}),
    ("api.list_documents", "GET"): Case("/api/v1/projects/{project}/documents",
                                        member=404, blind=ALLOWED),
    ("api.list_actors", "GET"): Case("/api/v1/projects/{project}/actors",
                                     member=404, blind=ALLOWED),
    # Any member may add a claimant while annotating.
    ("api.add_actor", "POST"): Case("/api/v1/projects/{project}/actors", member=404,
                                    blind=ALLOWED, json={"name": "Intruder"}),
    # Import (documents, and with an annotator their spans as that member's claims):
    # managers only; bob must not plant claims in his own name.
    ("api.import_documents", "POST"): Case(
        "/api/v1/projects/{project}/import?format=doccano&annotator=bob", member=404,
        blind=403, files={"file": (b'{"id": "intruder", "text": "Injected document.", '
                                   b'"label": [[0, 8, "asserts"]]}\n', "intruder.jsonl")}),
    ("api.export", "GET"): Case("/api/v1/projects/{project}/export.jsonl",
                                member=404, blind=403),
    # ----- API: documents (d3 is assigned to alice only) -----
    ("api.get_document", "GET"): (
        Case("/api/v1/documents/{doc}", member=404, blind=404),
        Case("/api/v1/documents/{doc}?include=claims", member=404, blind=404),
        # d1 is bob's too: with its claims, but without alice's (blind mode).
        Case("/api/v1/documents/{shared_doc}?include=claims", member=404, blind=ALLOWED),
    ),
    ("api.set_document_status", "PUT"): Case("/api/v1/documents/{doc}/status", member=404,
                                             blind=404, json={"status": "done"}),
    ("api.start_document", "POST"): Case("/api/v1/documents/{doc}/start", member=404,
                                         blind=404),
    ("api.skip_document", "POST"): Case("/api/v1/documents/{doc}/skip", member=404, blind=404,
                                        json={"reason": "not my document"}),
    ("api.list_claims", "GET"): (
        Case("/api/v1/documents/{doc}/claims", member=404, blind=404),
        # d1 is bob's too: he gets the list, without alice's claims (blind mode).
        Case("/api/v1/documents/{shared_doc}/claims", member=404, blind=ALLOWED),
        # Deleted claims of every annotator: managers only.
        Case("/api/v1/documents/{shared_doc}/claims?deleted=1", member=404, blind=403),
    ),
    ("api.create_claim", "POST"): Case("/api/v1/documents/{doc}/claims", member=404,
                                       blind=404, json=NEW_CLAIM_ON_D3),
    # ----- API: alice's claims on d1 (which bob has too) -----
    ("api.get_claim", "GET"): (
        Case("/api/v1/claims/{claim}", member=404, blind=404),
        Case("/api/v1/claims/{deleted_claim}", member=404, blind=404),
        Case("/api/v1/claims/{gold_claim}", member=404, blind=404),  # gold: reviewers only
    ),
    ("api.update_claim", "PATCH"): (
        Case("/api/v1/claims/{claim}", member=404, blind=404,
             json={"version": 1, "stance": "denies", "note": "overwritten"}),
        Case("/api/v1/claims/{deleted_claim}", member=404, blind=404,
             json={"version": 2, "stance": "denies"}),
        Case("/api/v1/claims/{gold_claim}", member=404, blind=404,
             json={"version": 1, "stance": "denies"}),
    ),
    ("api.delete_claim", "DELETE"): (
        Case("/api/v1/claims/{claim}?version=1", member=404, blind=404),
        Case("/api/v1/claims/{gold_claim}?version=1", member=404, blind=404),
    ),
    ("api.claim_history", "GET"): (
        Case("/api/v1/claims/{claim}/history", member=404, blind=404),
        Case("/api/v1/claims/{deleted_claim}/history", member=404, blind=404),
        Case("/api/v1/claims/{gold_claim}/history", member=404, blind=404),
    ),
    ("api.restore_claim", "POST"): (
        Case("/api/v1/claims/{deleted_claim}/restore", member=404, blind=404),
        Case("/api/v1/claims/{claim}/restore", member=404, blind=404),
    ),
    # ----- adjudication (adjudicators, managers, admins): bob annotates d1 but may not review
    # it, nor see or change its gold; amy is in project A only. Bodies name real claims
    # ("{claim}" is filled in), so a missing check would make gold. -----
    ("adjudicate.queue", "GET"): Case("/projects/{project}/review", member=404, blind=403),
    ("adjudicate.review", "GET"): (
        Case("/documents/{shared_doc}/review", member=404, blind=404),
        Case("/documents/{doc}/review", member=404, blind=404),
    ),
    # ----- agreement (managers, adjudicators, admins): the figures and the side-by-side view
    # would show bob, blind, alice's work on d1 -----
    ("reports.agreement_page", "GET"): (
        Case("/projects/{project}/agreement", member=404, blind=403),
        Case("/projects/{project}/agreement?include_unfinished=1", member=404, blind=403),
    ),
    ("reports.compare", "GET"): (
        Case("/documents/{shared_doc}/compare", member=404, blind=404),
        Case("/documents/{doc}/compare?include_unfinished=1", member=404, blind=404),
    ),
    ("api.review_queue", "GET"): Case("/api/v1/projects/{project}/review-queue",
                                      member=404, blind=403),
    ("api.get_review", "GET"): (
        Case("/api/v1/documents/{shared_doc}/review", member=404, blind=404),
        Case("/api/v1/documents/{doc}/review", member=404, blind=404),
    ),
    ("api.set_review_status", "PUT"): Case("/api/v1/documents/{shared_doc}/review",
                                           member=404, blind=404, json={"status": "done"}),
    ("api.create_gold", "POST"): (
        Case("/api/v1/documents/{shared_doc}/gold", member=404, blind=404,
             json={"accept": "{claim}"}),
        Case("/api/v1/documents/{shared_doc}/gold", member=404, blind=404,
             json={"span_from": "{claim}", "fields_from": "{claim}"}),
        Case("/api/v1/documents/{shared_doc}/gold", member=404, blind=404,
             json={"claim": NEW_GOLD_ON_D1, "sources": ["{claim}"]}),
        Case("/api/v1/documents/{doc}/gold", member=404, blind=404,
             json={"claim": NEW_CLAIM_ON_D3, "sources": []}),
    ),
    ("api.accept_agreed", "POST"): Case("/api/v1/documents/{shared_doc}/gold/accept-agreed",
                                        member=404, blind=404),
    ("api.reject_claims", "POST"): Case("/api/v1/documents/{shared_doc}/reject", member=404,
                                        blind=404, json={"claim_ids": ["{claim}"]}),
    ("api.unreject_claims", "POST"): Case("/api/v1/documents/{shared_doc}/unreject", member=404,
                                          blind=404, json={"claim_ids": ["{claim}"]}),
    # ----- suggestions: on documents one may see; the switch and the model for managers.
    # Project B has them on (see `world`), so bob's allowed read really computes them. -----
    ("api.list_suggestions", "GET"): (
        Case("/api/v1/documents/{doc}/suggestions", member=404, blind=404),
        Case("/api/v1/documents/{shared_doc}/suggestions", member=404, blind=ALLOWED),
    ),
    ("api.accept_suggestion", "POST"): Case("/api/v1/documents/{doc}/suggestions/{d3_sid}/accept",
                                            member=404, blind=404),
    ("api.reject_suggestion", "POST"): Case("/api/v1/documents/{doc}/suggestions/{d3_sid}/reject",
                                            member=404, blind=404),
    ("api.set_suggestions", "PUT"): Case("/api/v1/projects/{project}/suggestions", member=404,
                                         blind=403, json={"enabled": False}),
    ("api.list_suggestion_models", "GET"): Case("/api/v1/projects/{project}/suggestion-models",
                                                member=404, blind=403),
    ("api.train_suggestion_model", "POST"): Case(
        "/api/v1/projects/{project}/suggestion-models", member=404, blind=403),
    ("api.get_training_job", "GET"): Case(
        "/api/v1/projects/{project}/training-jobs/{training_job}", member=404, blind=403),
    ("suggestions.settings", "POST"): Case("/projects/{project}/suggestions/settings",
                                           member=404, blind=403, form={}),  # would turn off
    ("suggestions.train", "POST"): Case("/projects/{project}/suggestions/train", member=404,
                                        blind=403, form={}),
    # ----- propositions and incidents: shared entities of project B that bob may see, but
    # never through them alice's claim on d3 (its quote and its article's title are secret);
    # the verdict, incidents and others' propositions are the reviewers' -----
    ("propositions.index", "GET"): Case("/projects/{project}/propositions",
                                        member=404, blind=ALLOWED),
    ("propositions.index", "POST"): Case("/projects/{project}/propositions", member=404,
                                         blind=ALLOWED, form={"text": "Intruder proposition"}),
    ("propositions.detail", "GET"): Case("/propositions/{proposition}", member=404,
                                         blind=ALLOWED),
    ("propositions.edit", "POST"): Case("/propositions/{proposition}", member=404, blind=403,
                                        form={"text": "Overwritten", "incident_id": ""}),
    ("propositions.verdict", "POST"): Case("/propositions/{proposition}/verdict", member=404,
                                           blind=403, form={"verdict": "refuted", "note": ""}),
    ("propositions.incidents", "GET"): Case("/projects/{project}/incidents", member=404,
                                            blind=ALLOWED),
    ("propositions.incidents", "POST"): Case("/projects/{project}/incidents", member=404,
                                             blind=403, form={"title": "Intruder incident"}),
    ("propositions.incident", "GET"): Case("/incidents/{incident}", member=404, blind=ALLOWED),
    ("propositions.edit_incident", "POST"): Case("/incidents/{incident}", member=404,
                                                 blind=403, form={"title": "Overwritten"}),
    ("propositions.assign", "POST"): Case("/incidents/{incident}/propositions", member=404,
                                          blind=403, form={"propositions": "{proposition}"}),
    ("api.list_propositions", "GET"): (
        Case("/api/v1/projects/{project}/propositions", member=404, blind=ALLOWED),
        Case("/api/v1/projects/{project}/propositions?similar_to=convoy", member=404,
             blind=ALLOWED),
    ),
    ("api.create_proposition", "POST"): Case("/api/v1/projects/{project}/propositions",
                                             member=404, blind=ALLOWED,
                                             json={"text": "Intruder proposition"}),
    ("api.get_proposition", "GET"): Case("/api/v1/propositions/{proposition}", member=404,
                                         blind=ALLOWED),
    ("api.update_proposition", "PATCH"): Case("/api/v1/propositions/{proposition}",
                                              member=404, blind=403,
                                              json={"text": "Overwritten"}),
    ("api.delete_proposition", "DELETE"): Case("/api/v1/propositions/{proposition}",
                                               member=404, blind=403),
    ("api.set_proposition_verdict", "PUT"): Case("/api/v1/propositions/{proposition}/verdict",
                                                 member=404, blind=403,
                                                 json={"verdict": "refuted"}),
    # alice's claims: bob (blind) may neither see nor relink them.
    ("api.claim_proposition", "GET"): (
        Case("/api/v1/claims/{claim}/proposition", member=404, blind=404),
        Case("/api/v1/claims/{linked_claim}/proposition", member=404, blind=404),
    ),
    ("api.link_claim", "PUT"): Case("/api/v1/claims/{claim}/proposition", member=404,
                                    blind=404, json={"proposition_id": "{proposition}"}),
    ("api.unlink_claim", "DELETE"): Case("/api/v1/claims/{linked_claim}/proposition",
                                         member=404, blind=404),
    ("api.list_incidents", "GET"): Case("/api/v1/projects/{project}/incidents", member=404,
                                        blind=ALLOWED),
    ("api.create_incident", "POST"): Case("/api/v1/projects/{project}/incidents", member=404,
                                          blind=403, json={"title": "Intruder incident"}),
    ("api.get_incident", "GET"): Case("/api/v1/incidents/{incident}", member=404,
                                      blind=ALLOWED),
    ("api.update_incident", "PATCH"): Case("/api/v1/incidents/{incident}", member=404,
                                           blind=403, json={"title": "Overwritten"}),
    ("api.delete_incident", "DELETE"): Case("/api/v1/incidents/{incident}", member=404,
                                            blind=403),
}

# ---------- the world: project A (amy), project B (maria, alice, bob) ----------


@dataclass
class Actor:
    name: str
    client: IsolatedClient
    csrf: str | None = None
    headers: dict[str, str] | None = None


def world(app: Flask, project, document, make_user) -> tuple[dict[str, int], dict[str, Actor]]:
    alice, bob = users.by_username("alice"), users.by_username("bob")
    documents.import_file(project, "secret.jsonl", json.dumps(
        {"id": "d3", "title": SECRET_TITLE, "text": D3_TEXT}).encode() + b"\n")
    d3 = db.session.scalars(select(Document).where(
        Document.project_id == project.id, Document.external_id == "d3")).one()
    db.session.add(Assignment(document_id=d3.id, user_id=alice.id))
    db.session.commit()
    projects.add_actor(project, SECRET_ACTOR)
    # Suggestions on, with a cue that finds a claim on d3: accepting it is a real request.
    project.label_scheme = {**project.label_scheme, "suggestions": {
        "cues": [{"stance": "asserts", "phrases": ["was attacked"]}]}}
    project.suggestions_enabled = True
    db.session.commit()
    d3_sid = suggestions.for_document(alice, d3)["suggestions"][0]["id"]

    claim = claims.create_claim(alice, document, _claim_body(
        SAMPLE_TEXT, "a helicopter was shot down", note=SECRET_NOTE))
    gone = claims.create_claim(alice, document, _claim_body(
        SAMPLE_TEXT, "no aircraft was lost", note=SECRET_NOTE))
    claims.delete_claim(alice, gone)
    # maria (manager of project B) settled alice's claim into gold: reviewers' eyes only.
    gold = adjudication.accept(users.by_username("maria"), document, claim.id)
    # A proposition of project B stated by alice's claim on d3, which bob may not open.
    maria = users.by_username("maria")
    linked = claims.create_claim(alice, d3, _claim_body(D3_TEXT, f"{SECRET_TEXT}: the convoy"))
    incident = propositions.create_incident(maria, project, {"title": "Convoy attack"})
    proposition = propositions.create_proposition(maria, project, {
        "text": "The convoy was attacked", "incident_id": incident.id})
    propositions.link_claim(alice, linked, proposition.id)
    users.create_token(alice, SECRET_TOKEN_NAME)
    alice_token = db.session.scalars(
        select(ApiToken.id).where(ApiToken.user_id == alice.id)).one()

    # A training of project B that failed (no process to start): its job is the managers'.
    job = TrainingJob(project_id=project.id, requested_by_id=maria.id, status="failed",
                      error="interrupted", host="elsewhere")
    db.session.add(job)
    db.session.commit()

    amy = make_user("amy")
    project_a = projects.create_project("Project A", manager=amy)
    documents.import_file(project_a, "a.jsonl", b'{"id": "a1", "text": "Project A text."}\n')
    projects.add_member(project_a, make_user("andy"), "annotator")

    targets = {"project": project.id, "project_a": project_a.id, "doc": d3.id,
               "shared_doc": document.id, "claim": claim.id, "deleted_claim": gone.id,
               "gold_claim": gold.id, "token_id": alice_token, "alice": alice.id, "bob": bob.id,
               "amy": amy.id, "proposition": proposition.id, "incident": incident.id,
               "linked_claim": linked.id, "d3_sid": d3_sid, "training_job": job.id}

    def session(username: str | None) -> Actor:
        client = IsolatedClient(app, app.response_class, use_cookies=True)
        auth = AuthActions(client)
        if username is None:
            return Actor("anon", client, csrf=auth.csrf_token("/login"))
        assert auth.login(username).status_code == 302
        return Actor(username, client, csrf=auth.csrf_token("/"))

    bearer = IsolatedClient(app, app.response_class, use_cookies=False)
    actors = {
        "member": session("amy"),
        "token": Actor("amy (token)", bearer,
                       headers={"Authorization": f"Bearer {users.create_token(amy, 'amy')}"}),
        "blind": session("bob"),
        "anon": session(None),
    }
    return targets, actors


# ---------- checking ----------

VOLATILE = {("api_token", "last_used_at")}  # every Bearer request may note its use


def snapshot() -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
    """Every row of every table (but the volatile columns), by primary key.

    One query (a JSON array per table), so that checking after each of the table's requests
    stays cheap on PostgreSQL too.
    """
    db.session.rollback()
    postgres = db.engine.dialect.name == "postgresql"
    build, aggregate = ((func.json_build_object, func.json_agg) if postgres
                        else (func.json_object, func.json_group_array))
    tables = db.metadata.sorted_tables
    arrays = []
    for table in tables:
        pairs = [part for column in table.columns if (table.name, column.name) not in VOLATILE
                 for part in (literal_column(f"'{column.name}'"), column)]
        arrays.append(select(aggregate(build(*pairs))).select_from(table).scalar_subquery())
    state = {}
    for table, rows in zip(tables, db.session.execute(select(*arrays)).one(), strict=True):
        keys = [column.name for column in table.primary_key.columns]
        rows = json.loads(rows) if isinstance(rows, str) else rows or []
        state[table.name] = {tuple(row[k] for k in keys): row for row in rows}
    return state


def changes(before: dict[str, dict], after: dict[str, dict]) -> list[str]:
    """What differs, briefly: rows added or removed, and changed columns."""
    found = []
    for name, rows in before.items():
        now = after[name]
        found += [f"{name} {key} added" for key in now.keys() - rows.keys()]
        found += [f"{name} {key} removed" for key in rows.keys() - now.keys()]
        for key in rows.keys() & now.keys():
            found += [f"{name} {key}.{column}: {str(value)[:60]} -> {str(now[key][column])[:60]}"
                      for column, value in rows[key].items() if now[key][column] != value]
    return found


def expectation(case: Case, actor: str, is_api: bool) -> Expect | None:
    if actor == "token":
        return (case.token if case.token is not None else case.member) if is_api else None
    if actor == "anon":
        return case.anon if case.anon is not None else (401 if is_api else LOGIN)
    return case.member if actor == "member" else case.blind


def filled(value: Any, targets: dict[str, int]) -> Any:
    """A JSON body with every string "{name}" replaced by that target's id."""
    if isinstance(value, str) and value[1:-1] in targets and value == f"{{{value[1:-1]}}}":
        return targets[value[1:-1]]
    if isinstance(value, dict):
        return {key: filled(item, targets) for key, item in value.items()}
    if isinstance(value, list):
        return [filled(item, targets) for item in value]
    return value


def send(actor: Actor, method: str, url: str, case: Case, targets: dict[str, int]):
    headers = dict(actor.headers or {})
    kwargs: dict[str, Any] = {}
    if actor.csrf and method != "GET":
        headers["X-CSRFToken"] = actor.csrf
    if case.json is not None:
        kwargs["json"] = filled(case.json, targets)
    if case.form is not None or case.files:
        data: dict[str, Any] = dict(case.form or {})
        for field, (content, filename) in (case.files or {}).items():
            data[field] = (io.BytesIO(content), filename)
        if actor.csrf:
            data["csrf_token"] = actor.csrf
        kwargs["data"] = data
    return actor.client.open(url, method=method, headers=headers, **kwargs)


def check(response, expected: Expect, is_api: bool) -> str | None:
    """What is wrong with the response, or None."""
    status = response.status_code
    if expected == LOGIN:
        location = response.headers.get("Location", "")
        if status != 302 or urlsplit(location).path != "/login":
            return f"expected a redirect to /login, got {status} {location!r}"
        return None
    if expected == ALLOWED:  # a page, or a redirect elsewhere than the login page
        location = urlsplit(response.headers.get("Location", "")).path
        if status == 200 or (status == 302 and location not in ("", "/login")):
            return None
        return f"an allowed read answered {status} {location!r}"
    wanted = expected if isinstance(expected, tuple) else (expected,)
    assert all(w in (401, 403, 404) for w in wanted), f"a denial must be 401/403/404: {wanted}"
    if status not in wanted:
        return f"expected {' or '.join(map(str, wanted))}, got {status}"
    if is_api and not (response.is_json and response.get_json().get("error")):
        return "an API denial must be a JSON error"
    return None


def app_routes(app: Flask) -> dict[tuple[str, str], str]:
    return {(rule.endpoint, method): rule.rule
            for rule in app.url_map.iter_rules()
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})}


def test_every_route_refuses_what_its_actor_may_not_do(app, project, document, make_user):
    routes = app_routes(app)
    missing = sorted(set(routes) - set(TABLE))
    stale = sorted(set(TABLE) - set(routes))
    problems = [f"no access-control entry in TABLE for {endpoint} {method} "
                f"{routes[endpoint, method]} (say who may use it)" for endpoint, method in missing]
    problems += [f"TABLE has {endpoint} {method}, which is no route any more"
                 for endpoint, method in stale]

    targets, actors = world(app, project, document, make_user)
    before = snapshot()
    exercised = set()
    for (endpoint, method), entry in sorted(TABLE.items()):
        if (endpoint, method) not in routes:
            continue
        is_api = routes[endpoint, method].startswith("/api/")
        if isinstance(entry, Public):
            if entry.url:
                response = actors["anon"].client.get(entry.url)
                if response.status_code != 200:
                    problems.append(f"public {entry.url} answered {response.status_code}")
            continue
        for case in entry if isinstance(entry, tuple) else (entry,):
            url = case.url.format(**targets)
            for name, actor in actors.items():
                expected = expectation(case, name, is_api)
                if expected is None or (expected == ALLOWED and method != "GET"):
                    continue  # not an API route for the token, or a legitimate write
                response = send(actor, method, url, case, targets)
                exercised.add((endpoint, method))
                where = f"{method} {url} ({endpoint}) as {name} [{actor.name}]"
                wrong = check(response, expected, is_api)
                if wrong:
                    problems.append(f"{where}: {wrong}")
                body = response.get_data(as_text=True)
                leaked = [s for s in SECRETS[name] if s in body]
                if leaked:
                    problems.append(f"{where}: the response shows {leaked}")
                after = snapshot()
                changed = changes(before, after)
                if changed:  # a denial, or a read (allowed writes are not sent)
                    problems.append(f"{where} changed the database: {changed}")
                before = after

    unused = {key for key, entry in TABLE.items() if not isinstance(entry, Public)} \
        - exercised - set(stale)
    assert not unused, f"no request was sent to {sorted(unused)}"
    assert not problems, "\n".join(problems)


def test_without_blind_mode_annotators_see_others_claims_only_on_their_documents(
        app, client, project, document, make_user, token_for):
    """Claims quote their document: a claim on a document the annotator may not open is
    as hidden as the document, blind mode or not."""
    targets, _ = world(app, project, document, make_user)
    db.session.rollback()
    project = db.session.merge(project)
    project.blind = False
    db.session.commit()
    alice = users.by_username("alice")
    d3 = db.session.get(Document, targets["doc"])
    on_d3 = claims.create_claim(alice, d3, {**NEW_CLAIM_ON_D3, "note": SECRET_NOTE})
    bob_headers = token_for("bob")

    for url in (f"/api/v1/claims/{on_d3.id}", f"/api/v1/claims/{on_d3.id}/history"):
        response = client.get(url, headers=bob_headers)
        assert response.status_code == 404, url
        assert SECRET_TEXT not in response.get_data(as_text=True)
    # On a document bob shares with alice, he sees her claim now (no blind mode)...
    shared = client.get(f"/api/v1/claims/{targets['claim']}", headers=bob_headers)
    assert shared.status_code == 200 and shared.get_json()["annotator"] == "alice"
    # ...and alice her own on d3, as does the manager.
    assert client.get(f"/api/v1/claims/{on_d3.id}", headers=token_for("alice")).status_code == 200
    assert client.get(f"/api/v1/claims/{on_d3.id}", headers=token_for("maria")).status_code == 200
