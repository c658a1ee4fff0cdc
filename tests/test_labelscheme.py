"""Label schemes: the default one, what makes one invalid, and the per-project copy."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from annotator import labelscheme
from annotator.db import db
from annotator.models import AuditEvent, Project
from annotator.services import projects
from annotator.services.errors import InvalidInput
from annotator.validation import validator
from tests.conftest import SAMPLE_TEXT, span


def default() -> dict[str, Any]:
    return copy.deepcopy(labelscheme.default_scheme())


def test_default_scheme_is_valid():
    scheme = default()
    assert labelscheme.validate(scheme) is scheme
    validator("label-scheme.schema.json").validate(scheme)
    for key in ("stances", "verdicts", "evidence_types", "evidence_relations"):
        values = labelscheme.values(scheme, key)
        assert values and len(values) == len(set(values))
    assert {"asserts", "denies"} <= set(labelscheme.values(scheme, "stances"))


def _set(path: str, value: Any):
    def change(scheme: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = scheme
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value
    return change


def _duplicate(key: str):
    def change(scheme: dict[str, Any]) -> None:
        scheme[key].append(copy.deepcopy(scheme[key][0]))
    return change


BAD_SCHEMES = [
    ("stance-value-with-spaces", _set("stances.0.value", "Strongly asserts"), "stances.0.value"),
    ("stance-value-empty", _set("stances.2.value", ""), "stances.2.value"),
    ("colour-name", _set("stances.1.color", "red"), "stances.1.color"),
    ("colour-short-hex", _set("evidence_relations.0.color", "#fff"),
     "evidence_relations.0.color"),
    ("duplicate-stances", _duplicate("stances"), "stances"),
    ("duplicate-verdicts", _duplicate("verdicts"), "verdicts"),
    ("duplicate-evidence-types", _duplicate("evidence_types"), "evidence_types"),
    ("no-stances", _set("stances", []), "stances"),
    ("missing-verdicts", lambda s: s.pop("verdicts"), "verdicts"),
    ("bad-shortcut", _set("shortcuts.save", "Ctrl+Enterprise"), "shortcuts.save"),
    ("bad-label-key", _set("stances.0.key", "Hyper+1"), "stances.0.key"),
    ("unknown-label-field", _set("verdicts.0.colour", "#ffffff"), "verdicts.0"),
    ("actor-without-name", _set("actors", [{"aliases": ["x"]}]), "actors.0"),
    # One key, one action: the second stance on "1" could never be chosen by key.
    ("two-stances-one-key", _set("stances.1.key", "1"), "stances.1.key"),
    ("stance-key-is-a-verdict-key", _set("verdicts.0.key", "2"), "verdicts.0.key"),
    ("shortcut-is-a-stance-key", _set("shortcuts.mark_done", "3"), "stances.2.key"),
]


@pytest.mark.parametrize(("mutate", "field"), [pytest.param(m, f, id=i) for i, m, f in BAD_SCHEMES])
def test_bad_scheme_raises_naming_the_field(mutate, field):
    scheme = default()
    mutate(scheme)
    with pytest.raises(labelscheme.LabelSchemeError) as caught:
        labelscheme.validate(scheme)
    assert field in caught.value.fields, caught.value.fields
    assert field in str(caught.value)


def test_duplicate_values_are_named_in_the_message():
    scheme = default()
    scheme["stances"].append({"value": "denies", "label": "Denies again"})
    with pytest.raises(labelscheme.LabelSchemeError) as caught:
        labelscheme.validate(scheme)
    assert "denies" in caught.value.fields["stances"]


def test_load_file_reads_a_scheme_with_a_bom(tmp_path):
    path = tmp_path / "scheme.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(default()).encode())
    assert labelscheme.load_file(path) == default()


def test_load_file_refuses_a_file_that_is_not_json(tmp_path):
    path = tmp_path / "scheme.json"
    path.write_text('{"name": "x", ')
    with pytest.raises(labelscheme.LabelSchemeError) as caught:
        labelscheme.load_file(path)
    assert "(file)" in caught.value.fields
    scheme = default()
    scheme["stances"][0]["label"] = "NAN_HERE"
    path.write_text(json.dumps(scheme).replace('"NAN_HERE"', "NaN"))  # not JSON, yet read
    with pytest.raises(labelscheme.LabelSchemeError) as caught:
        labelscheme.load_file(path)
    assert "NaN is not valid JSON" in caught.value.fields["(file)"]


# ---------- the project's own copy ----------


def _custom_scheme() -> dict[str, Any]:
    scheme = default()
    scheme["name"] = "custom"
    scheme["stances"] = [{"value": "endorses", "label": "Endorses", "color": "#123456"}]
    scheme["actors"] = ["Ministry", {"name": "Front", "aliases": ["The Front"]}]
    return scheme


def test_project_creation_refuses_a_bad_scheme(app, make_user):
    scheme = default()
    scheme["stances"][0]["color"] = "blue"
    with pytest.raises(labelscheme.LabelSchemeError):
        projects.create_project("Bad scheme", scheme=scheme, manager=make_user("maria"))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Project)) == 0


def test_project_name_must_be_unique(app):
    projects.create_project("Once")
    with pytest.raises(InvalidInput) as caught:
        projects.create_project("Once")
    assert "name" in caught.value.fields


def test_claims_follow_the_projects_own_scheme(client, make_user, token_for):
    from annotator.services import assignments, documents

    project = projects.create_project("Custom", scheme=_custom_scheme(),
                                      manager=make_user("maria"))
    projects.add_member(project, make_user("alice"), "annotator")
    documents.import_file(project, "a.jsonl",
                          (json.dumps({"id": "d", "text": SAMPLE_TEXT}) + "\n").encode())
    assignments.assign(project, 1)
    doc = documents.first_document(project)
    start, end = span(SAMPLE_TEXT, "machine-gun fire")
    url = f"/api/v1/documents/{doc.id}/claims"
    base = {"start": start, "end": end, "text": "machine-gun fire"}

    refused = client.post(url, json={**base, "stance": "asserts"}, headers=token_for("alice"))
    accepted = client.post(url, json={**base, "stance": "endorses", "actor": "The Front"},
                           headers=token_for("alice"))

    assert refused.status_code == 422 and "stance" in refused.get_json()["fields"]
    assert accepted.status_code == 201
    assert accepted.get_json()["actor"] == "Front"
    names = sorted(a.name for a in projects.actors(project))
    assert names == ["Front", "Ministry"]


def test_each_project_keeps_its_own_copy_of_the_scheme(app):
    first = projects.create_project("First", scheme=_custom_scheme())
    second = projects.create_project("Second")
    assert labelscheme.values(first.label_scheme, "stances") == ["endorses"]
    assert "endorses" not in labelscheme.values(second.label_scheme, "stances")


# ---------- the command line ----------


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def test_cli_projects_create_with_a_bad_scheme_fails_clearly(runner, tmp_path):
    scheme = default()
    scheme["stances"][3]["color"] = "orange"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(scheme))

    result = runner.invoke(args=["projects", "create", "Bad", "--scheme", str(path)])

    assert result.exit_code != 0
    assert "stances.3.color" in result.output
    assert "Traceback" not in result.output
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Project)) == 0


def test_cli_projects_create_with_a_file_that_is_not_json_fails_clearly(runner, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("stances: [asserts]")
    result = runner.invoke(args=["projects", "create", "Bad", "--scheme", str(path)])
    assert result.exit_code != 0
    assert "not JSON" in result.output


def test_cli_projects_create_with_a_good_scheme(runner, tmp_path):
    path = tmp_path / "custom.json"
    path.write_text(json.dumps(_custom_scheme()))
    result = runner.invoke(args=["projects", "create", "Custom", "--scheme", str(path)])
    assert result.exit_code == 0, result.output
    project = projects.by_name("Custom")
    assert labelscheme.values(project.label_scheme, "stances") == ["endorses"]


# ---------- changing a project's scheme once work has started ----------


def with_stance(scheme: dict[str, Any], value: str, key: str | None = None) -> dict[str, Any]:
    changed = copy.deepcopy(scheme)
    changed["stances"].append({"value": value, "label": value.title(), "color": "#336699",
                               **({"key": key} if key else {})})
    return changed


def without_stance(scheme: dict[str, Any], value: str) -> dict[str, Any]:
    changed = copy.deepcopy(scheme)
    changed["stances"] = [s for s in changed["stances"] if s["value"] != value]
    return changed


def test_a_manager_adds_a_stance_and_new_claims_may_use_it(client, document, token_for):
    project = db.session.get(Project, document.project_id)
    url, body = f"/api/v1/projects/{project.id}/scheme", with_stance(project.label_scheme,
                                                                      "retracts", "6")
    claim_url = f"/api/v1/documents/{document.id}/claims"
    start, end = span(SAMPLE_TEXT, "no aircraft was lost")
    claim = {"start": start, "end": end, "text": "no aircraft was lost"}
    before = client.post(claim_url, headers=token_for("alice"), json={**claim, "stance": "denies"})
    assert client.post(claim_url, headers=token_for("alice"),
                       json={**claim, "stance": "retracts"}).status_code == 422

    assert client.put(url, headers=token_for("alice"), json=body).status_code == 403
    changed = client.put(url, headers=token_for("maria"), json=body)
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["scheme_version"] == 2
    assert "retracts" in labelscheme.values(changed.get_json()["label_scheme"], "stances")
    after = client.post(claim_url, headers=token_for("alice"), json={**claim, "stance": "retracts"})
    assert after.status_code == 201
    # Each claim keeps the version it was written under.
    assert (before.get_json()["scheme_version"], after.get_json()["scheme_version"]) == (1, 2)
    # The same scheme again changes nothing.
    assert client.put(url, headers=token_for("maria"), json=body).get_json()[
        "scheme_version"] == 2
    db.session.rollback()
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "scheme")).all()
    assert [(e.before["scheme_version"], e.after["scheme_version"]) for e in events] == [(1, 2)]


def test_a_value_stored_work_uses_cannot_be_dropped(client, document, token_for):
    project = db.session.get(Project, document.project_id)
    url = f"/api/v1/projects/{project.id}/scheme"
    start, end = span(SAMPLE_TEXT, "no aircraft was lost")
    client.post(f"/api/v1/documents/{document.id}/claims", headers=token_for("alice"), json={
        "start": start, "end": end, "text": "no aircraft was lost", "stance": "denies"})
    refused = client.put(url, headers=token_for("maria"),
                         json=without_stance(project.label_scheme, "denies"))
    assert refused.status_code == 422
    assert refused.get_json()["fields"]["stances"].startswith("still used: 'denies' by 1 claim ")
    db.session.rollback()
    assert db.session.get(Project, project.id).scheme_version == 1
    # A value nobody uses may go; a scheme breaking the schema is named field by field.
    assert client.put(url, headers=token_for("maria"), json=without_stance(
        project.label_scheme, "unclear")).status_code == 200
    broken = copy.deepcopy(project.label_scheme)
    broken["stances"][0]["color"] = "red"
    invalid = client.put(url, headers=token_for("maria"), json=broken)
    assert invalid.status_code == 422 and "stances.0.color" in invalid.get_json()["fields"]


def test_a_deleted_claims_value_cannot_be_dropped_either(client, document, token_for):
    """A manager may restore a deleted claim: it would come back with a value the scheme no
    longer has."""
    project = db.session.get(Project, document.project_id)
    start, end = span(SAMPLE_TEXT, "no aircraft was lost")
    made = client.post(f"/api/v1/documents/{document.id}/claims", headers=token_for("alice"),
                       json={"start": start, "end": end, "text": "no aircraft was lost",
                             "stance": "questions"}).get_json()
    client.delete(f"/api/v1/claims/{made['id']}?version=1", headers=token_for("alice"))
    refused = client.put(f"/api/v1/projects/{project.id}/scheme", headers=token_for("maria"),
                         json=without_stance(project.label_scheme, "questions"))
    assert refused.status_code == 422
    assert "'questions' by 1 claim (deleted claims count" in refused.get_json()["fields"][
        "stances"]


def test_the_members_page_edits_the_scheme(client, auth, document):
    project = db.session.get(Project, document.project_id)
    auth.login("maria")
    page = client.get(f"/projects/{project.id}/members").get_data(as_text=True)
    assert 'id="label-scheme"' in page and "version 1" in page
    token = auth.csrf_token(f"/projects/{project.id}/members")
    url = f"/projects/{project.id}/scheme"
    for text in ("{not json", "[" * 100000 + "]" * 100000, '{"stances": NaN}'):
        bad = client.post(url, data={"scheme": text, "csrf_token": token})
        assert bad.status_code == 422 and "not JSON" in bad.get_data(as_text=True), text[:20]
    saved = client.post(url, data={"csrf_token": token, "scheme": json.dumps(
        with_stance(project.label_scheme, "retracts"))})
    assert saved.status_code == 302
    assert "Label scheme saved as version 2" in client.get(
        saved.headers["Location"]).get_data(as_text=True)
    forged = client.post(url, data={"scheme": json.dumps(project.label_scheme)})
    assert forged.status_code == 400  # no CSRF token


def test_cli_projects_scheme(runner, document, tmp_path):
    project = db.session.get(Project, document.project_id)
    path = tmp_path / "next.json"
    path.write_text(json.dumps(with_stance(project.label_scheme, "retracts")))
    result = runner.invoke(args=["projects", "scheme", project.name, str(path)])
    assert result.exit_code == 0, result.output
    assert "label scheme version 2" in result.output
    path.write_text(json.dumps(without_stance(project.label_scheme, "asserts")))
    start, end = span(SAMPLE_TEXT, "no aircraft was lost")
    from annotator.services import claims, users

    claims.create_claim(users.by_username("alice"), document, {
        "start": start, "end": end, "text": "no aircraft was lost", "stance": "asserts"})
    refused = runner.invoke(args=["projects", "scheme", project.name, str(path)])
    assert refused.exit_code != 0 and "'asserts' by 1 claim" in refused.output
