"""Propositions across articles: linking claims, suggestions, the timeline, blind mode,
incidents, verdicts and evidence in another article."""

from __future__ import annotations

import json

import pytest

from annotator.db import db
from annotator.models import Assignment, AuditEvent, Claim, Document
from annotator.services import assignments, claims, documents, projects, propositions, users
from annotator.services.errors import Forbidden, InvalidInput
from tests.conftest import SAMPLE_TEXT, span

LATER = "The ministry later confirmed that a helicopter was shot down near Tadmur."


@pytest.fixture
def articles(project, make_user):
    """Two dated articles of the project (d1: SAMPLE_TEXT, 2016-05-14; d2: LATER,
    2016-05-16), both assigned to alice and bob; judy adjudicates."""
    documents.import_file(project, "news.jsonl", (
        json.dumps({"id": "d2", "title": "Ministry confirms", "text": LATER,
                    "meta": {"published_at": "2016-05-16T08:00:00Z"}}) + "\n"
        + json.dumps({"id": "d1", "title": "Helicopter down", "text": SAMPLE_TEXT,
                      "meta": {"date": "2016-05-14"}}) + "\n").encode())
    assignments.assign(project, 2)
    projects.add_member(project, make_user("judy"), "adjudicator")
    docs = {d.external_id: d for d in db.session.scalars(
        db.select(Document).where(Document.project_id == project.id))}
    return docs


def make(username: str, document, needle: str, **fields):
    start, end = span(document.text, needle)
    return claims.create_claim(users.by_username(username), document, {
        "start": start, "end": end, "text": needle, "stance": "asserts", **fields})


def test_suggestions_rank_the_most_similar_proposition_first(project) -> None:
    alice = users.by_username("alice")
    for text in ("A helicopter was shot down near Palmyra",
                 "The convoy was attacked at dawn", "No aircraft was lost"):
        propositions.create_proposition(alice, project, {"text": text})
    ranked = propositions.suggest(project, "a helicopter was shot down by a missile")
    assert ranked[0][0].text == "A helicopter was shot down near Palmyra"
    assert ranked[0][1] > ranked[-1][1]
    # A new proposition is found at once (the cached index is rebuilt).
    propositions.create_proposition(alice, project, {"text": "Missile fired at the helicopter"})
    texts = [p.text for p, _ in propositions.suggest(project, "missile fired")]
    assert texts[0] == "Missile fired at the helicopter"


def test_timeline_orders_claims_from_two_articles_by_date(articles) -> None:
    later = make("alice", articles["d2"], "a helicopter was shot down near Tadmur",
                 stance="confirms", actor="Russian Defense Ministry")
    earlier = make("alice", articles["d1"], "no aircraft was lost", stance="denies",
                   actor="Russian Defense Ministry")
    alice = users.by_username("alice")
    prop = propositions.create_proposition(alice, articles["d1"].project,
                                           {"text": "A helicopter was shot down"})
    propositions.link_claim(alice, later, prop.id)
    propositions.link_claim(alice, earlier, prop.id)
    entries = propositions.timeline(alice, prop)
    assert [e["claim_id"] for e in entries] == [earlier.id, later.id]
    assert [e["article_date"] for e in entries] == ["2016-05-14", "2016-05-16"]
    assert entries[0]["stance"] == "denies" and entries[1]["stance"] == "confirms"
    assert entries[0]["actor"] == "Russian Defense Ministry"


def test_a_claim_has_one_proposition_and_relinking_moves_it(articles) -> None:
    alice = users.by_username("alice")
    claim = make("alice", articles["d1"], "no aircraft was lost")
    first = propositions.create_proposition(alice, articles["d1"].project, {"text": "one"})
    second = propositions.create_proposition(alice, articles["d1"].project, {"text": "two"})
    propositions.link_claim(alice, claim, first.id)
    propositions.link_claim(alice, claim, second.id)
    assert propositions.claim_panel(claim, alice)["proposition"]["id"] == second.id
    assert propositions.timeline(alice, first) == []
    propositions.unlink_claim(alice, claim)
    assert propositions.claim_panel(claim, alice)["proposition"] is None
    # Linking does not change the claim, so an open edit of it does not conflict.
    assert claims.claim_to_dict(claim)["version"] == 1


def test_linking_to_another_projects_proposition_is_refused(articles, make_user) -> None:
    other = projects.create_project("Elsewhere", manager=make_user("olga"))
    foreign = propositions.create_proposition(users.by_username("olga"), other, {"text": "x"})
    claim = make("alice", articles["d1"], "no aircraft was lost")
    with pytest.raises(InvalidInput) as caught:
        propositions.link_claim(users.by_username("alice"), claim, foreign.id)
    assert "proposition_id" in caught.value.fields


def test_blind_annotator_sees_only_their_own_claims_on_a_shared_proposition(
        articles, client, auth) -> None:
    project = articles["d1"].project
    assert project.blind
    alice, bob = users.by_username("alice"), users.by_username("bob")
    secret = make("alice", articles["d1"], "a helicopter was shot down",
                  note="alice-private-note")
    own = make("bob", articles["d2"], "a helicopter was shot down near Tadmur")
    prop = propositions.create_proposition(alice, project, {"text": "Helicopter shot down"})
    propositions.link_claim(alice, secret, prop.id)
    propositions.link_claim(bob, own, prop.id)

    assert [e["claim_id"] for e in propositions.timeline(bob, prop)] == [own.id]
    judy = users.by_username("judy")
    assert {e["claim_id"] for e in propositions.timeline(judy, prop)} == {secret.id, own.id}

    # Through every door: the API, the page, the list counts and the claim panel.
    auth.login("bob")
    body = client.get(f"/api/v1/propositions/{prop.id}").get_json()
    assert [e["claim_id"] for e in body["timeline"]] == [own.id]
    listed = client.get(f"/api/v1/projects/{project.id}/propositions").get_json()
    assert listed[0]["claims"] == 1
    page = client.get(f"/propositions/{prop.id}").get_data(as_text=True)
    assert f'data-claim-id="{own.id}"' in page
    assert f'data-claim-id="{secret.id}"' not in page
    assert "Helicopter down" not in page  # the title of the article only alice's claim is in
    assert client.get(f"/api/v1/claims/{secret.id}/proposition").status_code == 404
    assert client.put(f"/api/v1/claims/{secret.id}/proposition",
                      json={"proposition_id": prop.id},
                      headers={"X-CSRFToken": auth.csrf_token()}).status_code == 404


def test_blind_annotators_are_not_told_who_wrote_anothers_proposition(
        articles, client, token_for) -> None:
    """Propositions are shared by all members; their author is not, in blind mode: it
    would say which colleague coded that statement. Reviewers, and the author, see it."""
    project = articles["d1"].project
    alice = users.by_username("alice")
    prop = propositions.create_proposition(alice, project, {"text": "Helicopter shot down"})
    make("bob", articles["d1"], "a helicopter was shot down")
    authors = {}
    for name in ("alice", "bob", "judy"):
        headers = token_for(name)
        one = client.get(f"/api/v1/propositions/{prop.id}", headers=headers).get_json()
        listed = client.get(f"/api/v1/projects/{project.id}/propositions",
                            headers=headers).get_json()
        similar = client.get(f"/api/v1/projects/{project.id}/propositions?similar_to=helicopter",
                             headers=headers).get_json()
        authors[name] = {one["created_by"], listed[0]["created_by"], similar[0]["created_by"]}
    assert authors == {"alice": {"alice"}, "bob": {None}, "judy": {"alice"}}
    bobs_claim = db.session.scalars(db.select(Claim).where(
        Claim.annotator_id == users.by_username("bob").id)).one()
    panel = client.get(f"/api/v1/claims/{bobs_claim.id}/proposition",
                       headers=token_for("bob")).get_json()
    assert {p["created_by"] for p in panel["suggestions"]} == {None}


def test_api_links_a_claim_and_reports_the_suggestions(articles, client, auth) -> None:
    project = articles["d1"].project
    claim = make("alice", articles["d1"], "a helicopter was shot down")
    auth.login("alice")
    headers = {"X-CSRFToken": auth.csrf_token()}
    created = client.post(f"/api/v1/projects/{project.id}/propositions",
                          json={"text": "A helicopter was shot down"}, headers=headers)
    assert created.status_code == 201
    prop_id = created.get_json()["id"]
    panel = client.get(f"/api/v1/claims/{claim.id}/proposition").get_json()
    assert panel["proposition"] is None
    assert panel["suggestions"][0]["id"] == prop_id
    linked = client.put(f"/api/v1/claims/{claim.id}/proposition",
                        json={"proposition_id": prop_id}, headers=headers)
    assert linked.status_code == 200
    assert linked.get_json()["proposition"]["id"] == prop_id
    bad = client.put(f"/api/v1/claims/{claim.id}/proposition",
                     json={"proposition_id": 999999}, headers=headers)
    assert bad.status_code == 422 and "proposition_id" in bad.get_json()["fields"]
    ranked = client.get(f"/api/v1/projects/{project.id}/propositions",
                        query_string={"similar_to": "helicopter shot"}).get_json()
    assert ranked[0]["id"] == prop_id and ranked[0]["score"] > 0
    assert client.delete(f"/api/v1/claims/{claim.id}/proposition",
                         headers=headers).status_code == 204
    assert client.get(f"/api/v1/claims/{claim.id}/proposition").get_json()["proposition"] is None


def test_verdict_is_for_reviewers_and_checked_against_the_scheme(articles, client, auth) -> None:
    project = articles["d1"].project
    prop = propositions.create_proposition(users.by_username("alice"), project, {"text": "p"})
    with pytest.raises(Forbidden):
        propositions.set_verdict(users.by_username("alice"), prop, "refuted")
    judy = users.by_username("judy")
    with pytest.raises(InvalidInput) as caught:
        propositions.set_verdict(judy, prop, "maybe")
    assert "verdict" in caught.value.fields
    auth.login("judy")
    token = auth.csrf_token(f"/propositions/{prop.id}")
    response = client.post(f"/propositions/{prop.id}/verdict", data={
        "csrf_token": token, "verdict": "refuted", "note": "video <b>shows</b>"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/propositions/{prop.id}")
    page = client.get(f"/propositions/{prop.id}").get_data(as_text=True)
    assert "video &lt;b&gt;shows&lt;/b&gt;" in page
    db.session.refresh(prop)
    assert prop.verdict == "refuted"
    # Without the CSRF token nothing changes.
    assert client.post(f"/propositions/{prop.id}/verdict",
                       data={"verdict": "supported"}).status_code == 400


def test_incidents_group_propositions_with_dates_checked(articles, client, auth) -> None:
    project = articles["d1"].project
    judy = users.by_username("judy")
    with pytest.raises(InvalidInput) as caught:
        propositions.create_incident(judy, project, {"title": "Crash", "date_start": "2016-05-20",
                                                     "date_end": "2016-05-14"})
    assert "date_end" in caught.value.fields
    with pytest.raises(Forbidden):
        propositions.create_incident(users.by_username("alice"), project, {"title": "x"})
    auth.login("judy")
    token = auth.csrf_token(f"/projects/{project.id}/incidents")
    response = client.post(f"/projects/{project.id}/incidents", data={
        "csrf_token": token, "title": "Helicopter downed near Palmyra", "location": "Palmyra",
        "date_start": "2016-05-14", "date_end": "", "description": ""})
    assert response.status_code == 302
    incident_id = int(response.headers["Location"].rsplit("/", 1)[1])
    prop = propositions.create_proposition(judy, project, {"text": "A helicopter was hit"})
    response = client.post(f"/incidents/{incident_id}/propositions", data={
        "csrf_token": token, "propositions": [str(prop.id)]})
    assert response.status_code == 302
    db.session.refresh(prop)
    assert prop.incident_id == incident_id
    listed = client.get(f"/api/v1/projects/{project.id}/incidents").get_json()
    assert listed[0]["propositions"] == 1 and listed[0]["date_start"] == "2016-05-14"


def test_evidence_may_point_into_another_article_of_the_project(articles, make_user) -> None:
    later = articles["d2"]
    quote = "The ministry later confirmed"
    start, end = span(later.text, quote)
    claim = make("alice", articles["d1"], "no aircraft was lost", evidence=[
        {"type": "official_statement", "relation": "contradicts", "document_id": later.id,
         "start": start, "end": end}])
    stored = claims.claim_to_dict(claim)["evidence"][0]
    assert stored["document_id"] == later.id and stored["text"] == quote

    # Offsets are checked against that article; the field is named.
    with pytest.raises(InvalidInput) as caught:
        make("alice", articles["d1"], "a helicopter was shot down", evidence=[
            {"type": "video", "relation": "supports", "document_id": later.id,
             "start": 0, "end": len(later.text) + 5}])
    assert "evidence.0.end" in caught.value.fields
    # Another project's document is not one of this project's.
    other = projects.create_project("Elsewhere", manager=make_user("olga"))
    documents.import_file(other, "o.jsonl", b'{"id": "o1", "text": "Other text."}\n')
    foreign = db.session.scalars(db.select(Document).where(
        Document.project_id == other.id)).one()
    with pytest.raises(InvalidInput) as caught:
        make("alice", articles["d1"], "a helicopter was shot down", evidence=[
            {"type": "video", "relation": "supports", "document_id": foreign.id,
             "start": 0, "end": 5}])
    assert "evidence.0.document_id" in caught.value.fields


def test_evidence_in_an_article_the_annotator_may_not_see_is_refused(articles) -> None:
    project = articles["d1"].project
    documents.import_file(project, "x.jsonl", b'{"id": "d9", "text": "Unassigned text."}\n')
    hidden = db.session.scalars(db.select(Document).where(
        Document.project_id == project.id, Document.external_id == "d9")).one()
    with pytest.raises(InvalidInput) as caught:
        make("alice", articles["d1"], "no aircraft was lost", evidence=[
            {"type": "document", "relation": "supports", "document_id": hidden.id,
             "start": 0, "end": 10}])
    assert "evidence.0.document_id" in caught.value.fields


def test_linking_agreement_of_two_annotators(articles, client, auth) -> None:
    alice, bob = users.by_username("alice"), users.by_username("bob")
    project = articles["d1"].project
    p1 = propositions.create_proposition(alice, project, {"text": "helicopter down"})
    p2 = propositions.create_proposition(alice, project, {"text": "no aircraft lost"})
    a1 = make("alice", articles["d1"], "a helicopter was shot down")
    b1 = make("bob", articles["d1"], "said a helicopter was shot down")
    a2 = make("alice", articles["d1"], "no aircraft was lost")
    b2 = make("bob", articles["d1"], "no aircraft was lost")
    propositions.link_claim(alice, a1, p1.id)
    propositions.link_claim(bob, b1, p1.id)
    propositions.link_claim(alice, a2, p2.id)
    propositions.link_claim(bob, b2, p1.id)  # bob puts both in one proposition
    report = propositions.linking_report(project)
    (pair,) = report["pairs"]
    assert (pair.matched, pair.linked_pairs, pair.same) == (2, 2, 1)
    assert report["agreement"] == 0.5
    # alice {a1} {a2}; bob {b1, b2}: precision 1/2, recall 1 -> F1 2/3
    assert report["bcubed_precision"] == 0.5 and report["bcubed_recall"] == 1.0
    assert report["bcubed_f1"] == pytest.approx(2 / 3)
    # Nobody marked the document done: the page's default counts finished work only.
    assert propositions.linking_report(project, include_unfinished=False)["pairs"] == []
    auth.login("maria")
    page = client.get(f"/projects/{project.id}/agreement?include_unfinished=1")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert '<dd id="link-agreement">0.500</dd>' in text
    assert '<dd id="bcubed-f1">0.667</dd>' in text


def test_api_answers_match_the_openapi_components(articles, client, token_for) -> None:
    from annotator.api.openapi import openapi_document
    from tests.test_openapi import _validator

    spec = openapi_document()
    project = articles["d1"].project
    start, end = span(LATER, "The ministry later confirmed")
    claim = make("alice", articles["d1"], "no aircraft was lost", evidence=[
        {"type": "official_statement", "relation": "contradicts",
         "document_id": articles["d2"].id, "start": start, "end": end}])
    alice, judy = token_for("alice"), token_for("judy")
    prop = client.post(f"/api/v1/projects/{project.id}/propositions", headers=alice,
                       json={"text": "No aircraft was lost"}).get_json()
    panel = client.put(f"/api/v1/claims/{claim.id}/proposition", headers=alice,
                       json={"proposition_id": prop["id"]}).get_json()
    incident = client.post(f"/api/v1/projects/{project.id}/incidents", headers=judy,
                           json={"title": "Helicopter", "date_start": "2016-05-14"})
    assert incident.status_code == 201
    view = client.put(f"/api/v1/propositions/{prop['id']}/verdict", headers=judy,
                      json={"verdict": "refuted", "note": "the ministry confirmed it"})
    assert view.status_code == 200
    checks = [("Proposition", prop), ("ClaimProposition", panel),
              ("PropositionView", view.get_json()), ("Incident", incident.get_json()),
              ("Incident", client.get(f"/api/v1/incidents/{incident.get_json()['id']}",
                                      headers=judy).get_json())]
    for component, instance in checks:
        _validator(spec, component).validate(instance)
    evidence = view.get_json()["evidence"]["contradicts"][0]
    assert evidence["document_id"] == articles["d2"].id
    assert evidence["document"] == "Ministry confirms"


def test_timeline_hides_evidence_quoting_an_article_the_viewer_may_not_open(articles) -> None:
    project = articles["d1"].project
    project.blind = False  # bob sees alice's claims on the articles they share
    db.session.commit()
    documents.import_file(project, "x.jsonl", json.dumps(
        {"id": "d9", "title": "Only alice's", "text": "Secret wire copy: the pilot survived."}
    ).encode() + b"\n")
    hidden = db.session.scalars(db.select(Document).where(
        Document.project_id == project.id, Document.external_id == "d9")).one()
    alice, bob = users.by_username("alice"), users.by_username("bob")
    db.session.add(Assignment(document_id=hidden.id, user_id=alice.id))
    db.session.commit()
    claim = make("alice", articles["d1"], "no aircraft was lost", evidence=[
        {"type": "document", "relation": "contradicts", "document_id": hidden.id,
         "start": 0, "end": 16}])
    prop = propositions.create_proposition(alice, project, {"text": "No aircraft was lost"})
    propositions.link_claim(alice, claim, prop.id)
    (alice_view,) = propositions.timeline(alice, prop)
    assert alice_view["evidence"][0]["text"] == "Secret wire copy"
    (bob_view,) = propositions.timeline(bob, prop)
    item = bob_view["evidence"][0]
    assert (item["text"], item["start"], item["document"]) == (None, None, None)


def test_putting_propositions_in_an_incident_is_one_audited_change(articles) -> None:
    """The incident page's form sets the incident's propositions at once: the ones chosen go
    in, the others leave; each move is in the history like an edit of the proposition."""
    from annotator.models import AuditEvent

    project = articles["d1"].project
    judy = users.by_username("judy")
    incident = propositions.create_incident(judy, project, {"title": "Crash"})
    first, second, third = (propositions.create_proposition(judy, project, {"text": t})
                            for t in ("One", "Two", "Three"))
    assert propositions.set_incident_propositions(judy, incident, project,
                                                  [first.id, second.id]) == 2
    assert propositions.set_incident_propositions(judy, incident, project,
                                                  [second.id, third.id]) == 2
    assert [p.incident_id for p in (first, second, third)] == [None, incident.id, incident.id]
    moves = db.session.execute(db.select(AuditEvent.entity_id, AuditEvent.before,
                                         AuditEvent.after)
                               .where(AuditEvent.entity == "proposition",
                                      AuditEvent.action == "update")
                               .order_by(AuditEvent.id)).all()
    assert [(m.entity_id, m.before["incident_id"], m.after["incident_id"]) for m in moves] == [
        (first.id, None, incident.id), (second.id, None, incident.id),
        (first.id, incident.id, None), (third.id, None, incident.id)]
    with pytest.raises(Forbidden):
        propositions.set_incident_propositions(users.by_username("alice"), incident, project, [])


def test_a_deleted_proposition_leaves_an_unlink_in_each_linked_claims_history(
        articles, client, token_for) -> None:
    alice, judy = users.by_username("alice"), users.by_username("judy")
    project = articles["d1"].project
    linked = [make("alice", articles["d1"], "no aircraft was lost"),
              make("bob", articles["d2"], "a helicopter was shot down")]
    other = make("alice", articles["d1"], "Amaq’s video")
    proposition = propositions.create_proposition(alice, project, {"text": "Nothing lost"})
    kept = propositions.create_proposition(alice, project, {"text": "Something else"})
    for claim in linked:
        propositions.link_claim(users.by_username(claim.annotator.username), claim,
                                proposition.id)
    propositions.link_claim(alice, other, kept.id)
    gone = proposition.id
    propositions.delete_proposition(judy, proposition)

    for claim, who in zip(linked, ("alice", "bob"), strict=True):
        history = client.get(f"/api/v1/claims/{claim.id}/history",
                             headers=token_for(who)).get_json()
        assert [(e["action"], e["before"], e["after"]) for e in history[-2:]] == [
            ("link", None, {"proposition_id": gone}),
            ("unlink", {"proposition_id": gone}, None)]
        assert history[-1]["user"] == "judy"
    other_history = client.get(f"/api/v1/claims/{other.id}/history",
                               headers=token_for("alice")).get_json()
    assert other_history[-1]["action"] == "link"  # a link to another proposition stays
    deletion = db.session.scalars(db.select(AuditEvent).where(
        AuditEvent.entity == "proposition", AuditEvent.action == "delete")).one()
    assert deletion.before["claim_ids"] == sorted(c.id for c in linked)
