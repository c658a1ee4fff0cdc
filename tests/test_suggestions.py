"""Suggested claims: the cue rules and the model (pure), the API (accept, reject, the
project toggle), blind mode, access, training, and how exports and the card count them."""

from __future__ import annotations

import json
import random
import time

import pytest
from sqlalchemy import func, select

from annotator import labelscheme
from annotator.db import db
from annotator.models import (
    Claim,
    Document,
    Project,
    SuggestionModel,
    SuggestionRejection,
    TrainingJob,
)
from annotator.services import (
    assignments,
    claims,
    documents,
    exporting,
    projects,
    suggestions,
    training,
    users,
)
from annotator.suggester import model as suggester_model
from annotator.suggester import rules as suggester_rules
from annotator.suggester import text as suggester_text
from annotator.validation import validator
from tests.conftest import before_the_next_claim_insert

ACTORS = [("Harbour Authority", ["harbour office"]),
          ("Northgate Defence Office", ["Defence Office"]),
          ("Mayor Tomas Vidal", ["Vidal"])]


def suggest_rules(text: str, scheme: dict | None = None) -> list[suggester_rules.Suggestion]:
    rules = suggester_rules.Rules(scheme or labelscheme.default_scheme(), ACTORS)
    return rules.suggest(suggester_text.parse(text))


# ---------- the rules (no app, no database) ----------


def test_cue_after_the_actor_suggests_the_reported_clause():
    text = "The Harbour Authority said in a statement that the fire at pier four was out."
    [found] = suggest_rules(text)
    assert (found.text, found.actor, found.stance) == (
        "the fire at pier four was out", "Harbour Authority", "asserts")
    assert text[found.start:found.end] == found.text
    assert text[slice(*found.actor_mention)] == "Harbour Authority"
    assert text[slice(*found.cue)] == "said in a statement"


def test_cue_at_the_end_suggests_what_comes_before():
    [found] = suggest_rules("The blaze started in a warehouse, Vidal claimed on Tuesday.")
    assert (found.text, found.actor, found.stance) == (
        "The blaze started in a warehouse", "Mayor Tomas Vidal", "asserts")


def test_according_to_skips_the_attribution_up_to_the_comma():
    [found] = suggest_rules("According to the harbour office, no ships were damaged.")
    assert (found.text, found.actor) == ("no ships were damaged", "Harbour Authority")


def test_each_stance_has_its_cues_and_specific_cues_beat_said():
    text = ("The Defence Office denied that its drones had flown over the port. "
            "Vidal confirmed the evacuation of two streets. "
            "Vidal questioned whether the alarm had sounded at all. "
            "The Defence Office said it denied any role in the blackout.")
    found = suggest_rules(text)
    assert [(s.stance, s.actor) for s in found] == [
        ("denies", "Northgate Defence Office"), ("confirms", "Mayor Tomas Vidal"),
        ("questions", "Mayor Tomas Vidal"), ("denies", "Northgate Defence Office")]
    assert found[0].text == "its drones had flown over the port"


def test_token_patterns_from_the_scheme_match():
    [found] = suggest_rules("Vidal called the report about the fire completely false.")
    assert found.stance == "denies"


def test_sentence_without_a_cue_or_a_known_actor_gets_no_actor():
    found = suggest_rules("Rain fell all day over the harbour.\nA witness said the roof "
                          "collapsed before the fire crews arrived.")
    assert len(found) == 1
    assert found[0].actor is None and found[0].text == (
        "the roof collapsed before the fire crews arrived")


def test_a_scheme_tunes_the_cues_and_old_schemes_get_the_defaults():
    scheme = labelscheme.default_scheme()
    scheme["suggestions"] = {"cues": [{"stance": "denies", "phrases": ["waved away"]}]}
    labelscheme.validate(scheme)
    text = "The Defence Office waved away reports that drones flew over the port."
    assert [s.stance for s in suggest_rules(text, scheme)] == ["denies"]
    assert suggest_rules("Vidal said the bridge would reopen on Monday.", scheme) == []
    del scheme["suggestions"]  # a scheme from before suggestions: built-in English cues
    assert [s.stance for s in suggest_rules(
        "Vidal said the bridge would reopen on Monday.", labelscheme.validate(scheme))] == [
        "asserts"]


def test_suggestion_keys_may_not_take_another_key():
    scheme = labelscheme.default_scheme()
    scheme["suggestions"]["keys"] = {"accept": "1"}  # stance "asserts" has key 1
    with pytest.raises(labelscheme.LabelSchemeError) as error:
        labelscheme.validate(scheme)
    assert "suggestions.keys.accept" in error.value.fields


def test_offsets_are_code_points_past_emoji_and_non_latin_text():
    text = "🚁 Пожар у причала. The harbour office said 🔥 crews had contained the fire."
    [found] = suggest_rules(text)
    assert text[found.start:found.end] == found.text == "🔥 crews had contained the fire"


# ---------- the model (no app, no database) ----------

CLAIM_SENTENCES = [
    ("{a} reported that the {thing} at {place} was destroyed overnight", "asserts"),
    ("{a} denied that any {thing} had been fired from {place}", "denies"),
    ("{a} confirmed the {thing} near {place} was hit by shelling", "confirms"),
    ("{a} questioned whether the {thing} at {place} had been damaged at all", "questions"),
]
# Claims with no cue the rules know: only a model learns them.
UNCUED = ("Supposedly the {thing} at {place} was sabotaged by saboteurs", "asserts")
FILLER = ["The weather at {place} was cold and windy.", "Markets at {place} stayed open.",
          "Traffic near {place} was light in the morning.", "Schools at {place} reopened."]
THINGS = ["bridge", "depot", "convoy", "radar", "ferry", "pylon"]
PLACES = ["Kestrel Bay", "Marlow Pass", "Oldfield", "Varn Ridge"]


def synthetic_document(rng: random.Random, doc_id: int, actors=ACTORS
                       ) -> suggester_model.TrainingDocument:
    text, claims_ = "", []
    for _ in range(8):
        place, thing = rng.choice(PLACES), rng.choice(THINGS)
        kind = rng.random()
        if kind < 0.4:
            text += rng.choice(FILLER).format(place=place) + " "
            continue
        actor = rng.choice(actors)[0]
        template, stance = UNCUED if kind < 0.55 else rng.choice(CLAIM_SENTENCES)
        sentence = template.format(a=actor, thing=thing, place=place) + "."
        start = len(text)
        text += sentence + " "
        claims_.append(suggester_model.LabelledSpan(start, start + len(sentence) - 1, stance,
                                                    actor))
    return suggester_model.TrainingDocument(doc_id, text.strip(), claims_)


def test_model_learns_claim_sentences_actor_and_stance_with_held_out_scores():
    rng = random.Random(7)
    documents_ = [synthetic_document(rng, i) for i in range(30)]
    model, scores = suggester_model.train(documents_)
    assert scores["train_documents"] == 24 and scores["test_documents"] == 6
    assert scores["claim_sentence"]["f1"] > 0.9
    assert scores["stance"]["accuracy"] > 0.8
    assert scores["actor"]["support"] > 0
    # The rules miss the uncued sentence; the model finds it.
    text = ("Supposedly the ferry at Oldfield was sabotaged by saboteurs. "
            "Schools at Oldfield reopened.")
    rules = suggester_rules.Rules(labelscheme.default_scheme(), ACTORS)
    assert rules.suggest(suggester_text.parse(text)) == []
    restored = suggester_model.loads(suggester_model.dumps(model))
    [found] = suggester_model.suggest(suggester_text.parse(text), rules, restored)
    assert found.source == "model" and found.stance == "asserts"
    assert found.text.startswith("Supposedly the ferry")


def test_model_needs_claims_on_two_documents():
    rng = random.Random(1)
    with pytest.raises(suggester_model.NotEnoughData):
        suggester_model.train([synthetic_document(rng, 1)])


# ---------- the API ----------

ARTICLE = ("Port fire contained\n"
           "The Harbour Authority said in a statement that the fire at pier four was out. "
           "Rain fell all day. The Defence Office denied that its drones had flown over "
           "the port.")


def add_actors(project) -> None:
    """ACTORS, with their aliases, as the project's actors."""
    for name, aliases in ACTORS:
        projects.add_actor(project, name, aliases=aliases)


@pytest.fixture
def port(project):
    """The project with suggestions on, the port article for alice and bob."""
    add_actors(project)
    documents.import_file(project, "port.jsonl", (json.dumps(
        {"id": "port", "title": "Port", "text": ARTICLE}) + "\n").encode())
    assignments.assign(project, 2)
    suggestions.set_enabled(project, True)
    return documents.first_document(project)


def wait_for_job(project, job_id: int, timeout: float = 300) -> TrainingJob:
    """The training job once it has ended (it runs in a process of its own)."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()  # see what the training process committed
        job = training.job_for(project, job_id)
        if job.status not in training.LIVE or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def train_and_wait(client, pid: int, headers: dict[str, str]) -> dict:
    """Start a training over the API (202, Location) and poll the job until it ends."""
    response = client.post(f"/api/v1/projects/{pid}/suggestion-models", headers=headers)
    assert response.status_code == 202, response.get_json()
    queued = response.get_json()
    assert queued["status"] in ("queued", "running") and queued["model_version"] is None
    location = response.headers["Location"]
    assert location == f"/api/v1/projects/{pid}/training-jobs/{queued['id']}"
    deadline = time.monotonic() + 300
    while True:
        job = client.get(location, headers=headers).get_json()
        if job["status"] not in ("queued", "running") or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def url(document, tail: str = "") -> str:
    return f"/api/v1/documents/{document.id}/suggestions{tail}"


def test_each_clause_between_semicolons_has_its_own_claimant():
    """ "C1, according to X; Y says C2": C1 is X's, C2 is Y's; X's claim does not run on
    into Y's clause."""
    text = ("The two pilots were rescued, according to the harbour office; the Northgate "
            "Defence Office says both were killed.")
    found = suggest_rules(text)
    assert [(s.text, s.actor, s.stance) for s in found] == [
        ("The two pilots were rescued", "Harbour Authority", "asserts"),
        ("both were killed", "Northgate Defence Office", "asserts")]
    assert all(text[s.start:s.end] == s.text for s in found)


def test_a_quoted_statement_with_a_semicolon_stays_one_claim():
    text = ('The Northgate Defence Office said that "no aircraft was lost; the crew '
            'returned safely to base".')
    [found] = suggest_rules(text)
    assert found.text == "no aircraft was lost; the crew returned safely to base"
    assert found.actor == "Northgate Defence Office"
    # Nor is an unquoted sentence split when only one of its parts has a cue.
    [one] = suggest_rules("Vidal said the bridge would reopen on Monday; traffic would "
                          "resume slowly.")
    assert one.text == "the bridge would reopen on Monday; traffic would resume slowly"


def test_suggestions_are_listed_with_span_actor_stance(client, port, token_for):
    response = client.get(url(port), headers=token_for("alice"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["enabled"] is True and body["model_version"] is None
    assert body["keys"]["accept"] == "a"
    assert [(s["text"], s["actor"], s["stance"], s["source"]) for s in body["suggestions"]] == [
        ("the fire at pier four was out", "Harbour Authority", "asserts", "rules"),
        ("its drones had flown over the port", "Northgate Defence Office", "denies", "rules")]
    first = body["suggestions"][0]
    assert ARTICLE[first["start"]:first["end"]] == first["text"]
    assert first["id"] == f"{first['start']}-{first['end']}"
    assert first["actor_mention"]["text"] == "Harbour Authority"


def test_accept_makes_the_users_claim_with_origin_suggestion(client, port, token_for):
    headers = token_for("alice")
    first = client.get(url(port), headers=headers).get_json()["suggestions"][0]
    response = client.post(url(port, f"/{first['id']}/accept"), headers=headers)
    assert response.status_code == 201
    claim = response.get_json()
    validator("claim.schema.json").validate(claim)
    assert (claim["annotator"], claim["text"], claim["actor"], claim["stance"]) == (
        "alice", first["text"], "Harbour Authority", "asserts")
    assert claim["origin"] == "suggestion"
    assert claim["suggestion"]["source"] == "rules" and claim["suggestion"]["edited"] is False
    assert claim["actor_mention"]["text"] == "Harbour Authority"
    # It is alice's now: no longer suggested to her; accepting again returns the same claim.
    left = client.get(url(port), headers=headers).get_json()["suggestions"]
    assert first["id"] not in [s["id"] for s in left]
    again = client.post(url(port, f"/{first['id']}/accept"), headers=headers)
    assert again.status_code == 200 and again.get_json()["id"] == claim["id"]
    db.session.rollback()
    assert db.session.scalar(select(Claim.origin).where(Claim.id == claim["id"])) == "suggestion"


def test_edit_then_accept_keeps_the_changes_and_says_so(client, port, token_for):
    headers = token_for("alice")
    second = client.get(url(port), headers=headers).get_json()["suggestions"][1]
    response = client.post(url(port, f"/{second['id']}/accept"), headers=headers,
                           json={"stance": "questions", "note": "hedged"})
    assert response.status_code == 201
    claim = response.get_json()
    assert (claim["stance"], claim["note"], claim["origin"]) == ("questions", "hedged",
                                                                 "suggestion")
    assert claim["suggestion"]["stance"] == "denies" and claim["suggestion"]["edited"] is True


def test_accept_with_a_bad_change_is_422_and_stores_nothing(client, port, token_for):
    headers = token_for("alice")
    first = client.get(url(port), headers=headers).get_json()["suggestions"][0]
    response = client.post(url(port, f"/{first['id']}/accept"), headers=headers,
                           json={"stance": "shrugs"})
    assert response.status_code == 422 and "stance" in response.get_json()["fields"]
    db.session.rollback()
    assert db.session.scalar(select(Claim.id)) is None


def test_accept_with_changes_that_cannot_be_read_is_400_and_accepts_nothing(client, port,
                                                                           token_for):
    # The changes are optional: a body that was not JSON (here Infinity) was taken for none,
    # and the suggestion accepted without the annotator's edits.
    headers = {**token_for("alice"), "Content-Type": "application/json"}
    first = client.get(url(port), headers=headers).get_json()["suggestions"][0]
    response = client.post(url(port, f"/{first['id']}/accept"), headers=headers,
                           data='{"stance": "questions", "note": Infinity}')
    assert response.status_code == 400
    assert response.get_json()["fields"]["(body)"].startswith("Infinity is not valid JSON")
    db.session.rollback()
    assert db.session.scalar(select(Claim.id)) is None


def test_reject_hides_the_suggestion_for_that_user_only(client, port, token_for):
    alice, bob = token_for("alice"), token_for("bob")
    first = client.get(url(port), headers=alice).get_json()["suggestions"][0]
    assert client.post(url(port, f"/{first['id']}/reject"), headers=alice).status_code == 204
    assert client.post(url(port, f"/{first['id']}/reject"), headers=alice).status_code == 204
    assert first["id"] not in [s["id"] for s in
                               client.get(url(port), headers=alice).get_json()["suggestions"]]
    assert first["id"] in [s["id"] for s in
                           client.get(url(port), headers=bob).get_json()["suggestions"]]
    db.session.rollback()
    assert len(db.session.scalars(select(SuggestionRejection)).all()) == 1
    # A rejected suggestion cannot be accepted any more.
    assert client.post(url(port, f"/{first['id']}/accept"), headers=alice).status_code == 404


def test_unknown_suggestion_is_404(client, port, token_for):
    headers = token_for("alice")
    for sid in ("3-9", "abc", "9-3"):
        assert client.post(url(port, f"/{sid}/accept"), headers=headers).status_code == 404
    assert client.post(url(port, "/5-99999/reject"), headers=headers).status_code == 404


def test_manager_turns_suggestions_off_and_none_are_given(client, port, token_for):
    manager = token_for("maria")
    pid = port.project_id
    assert client.put(f"/api/v1/projects/{pid}/suggestions", headers=token_for("alice"),
                      json={"enabled": False}).status_code == 403
    response = client.put(f"/api/v1/projects/{pid}/suggestions", headers=manager,
                          json={"enabled": False})
    assert response.status_code == 200 and response.get_json() == {"enabled": False}
    body = client.get(url(port), headers=token_for("alice")).get_json()
    assert body["enabled"] is False and body["suggestions"] == []
    assert client.post(url(port, "/0-5/accept"), headers=token_for("alice")).status_code == 404
    assert client.put(f"/api/v1/projects/{pid}/suggestions", headers=manager,
                      json={"enabled": "yes"}).status_code == 422


def test_suggestions_are_off_by_default(client, document, token_for):
    body = client.get(url(document), headers=token_for("alice")).get_json()
    assert body == {"enabled": False, "model_version": None, "keys": body["keys"],
                    "suggestions": []}


def test_suggestions_of_a_document_one_may_not_see_are_404(client, port, make_user,
                                                           token_for):
    outsider = make_user("olga")
    projects.add_member(port.project, outsider, "annotator")  # not assigned to the port
    headers = token_for("olga")
    assert client.get(url(port), headers=headers).status_code == 404
    assert client.post(url(port, "/0-5/reject"), headers=headers).status_code == 404


def test_session_writes_need_the_csrf_token(client, auth, port):
    auth.login("alice")
    first = client.get(url(port)).get_json()["suggestions"][0]
    assert client.post(url(port, f"/{first['id']}/accept")).status_code == 400
    token = auth.csrf_token(f"/documents/{port.id}")
    response = client.post(url(port, f"/{first['id']}/accept"), headers={"X-CSRFToken": token})
    assert response.status_code == 201


# ---------- blind mode: never another annotator's work ----------


def _documents_by_id(project) -> dict:
    return {d.external_id: d for d in db.session.scalars(
        select(Document).where(Document.project_id == project.id))}


def _accepted(user, document, needle: str, stance: str = "asserts", actor=None) -> Claim:
    start = document.text.index(needle)
    return claims.create_claim(
        user, document, {"start": start, "end": start + len(needle), "text": needle,
                         "stance": stance, **({"actor": actor} if actor else {})},
        suggestion={"source": "rules", "model_version": None, "start": start,
                    "end": start + len(needle), "actor": actor, "stance": stance,
                    "edited": False})


UNCUED_TEXT = "Supposedly the ferry at Oldfield was sabotaged by saboteurs"


def test_blind_annotator_never_gets_suggestions_learnt_from_anothers_claims(
        client, port, token_for):
    """alice accepts claims the rules cannot find on the shared document; the model learns
    them. bob, blind, must not get them on that document; on a new one he does (so the
    model would have suggested them)."""
    project = port.project
    alice = users.by_username("alice")
    rng = random.Random(3)
    lines = []
    for i in range(12):
        doc = synthetic_document(rng, i)
        lines.append(json.dumps({"id": f"syn{i}", "text": doc.text}))
    lines.append(json.dumps({"id": "shared", "text": f"Rain fell all day. {UNCUED_TEXT}. "
                                                    "Schools at Oldfield reopened."}))
    lines.append(json.dumps({"id": "fresh", "text": f"Markets at Oldfield stayed open. "
                                                   f"{UNCUED_TEXT}."}))
    documents.import_file(project, "syn.jsonl", ("\n".join(lines) + "\n").encode())
    assignments.assign(project, 2)
    by_id = _documents_by_id(project)
    rng = random.Random(3)
    for i in range(12):  # the same documents again, with their claims, accepted by alice
        doc = synthetic_document(rng, i)
        target = by_id[f"syn{i}"]
        for claim in doc.claims:
            _accepted(alice, target, doc.text[claim.start:claim.end], claim.stance, claim.actor)
    _accepted(alice, by_id["shared"], UNCUED_TEXT)
    trained = suggestions.train(project, users.by_username("maria"))
    assert by_id["shared"].id in trained.document_ids

    bob = token_for("bob")
    shared = client.get(url(by_id["shared"]), headers=bob).get_json()
    assert shared["model_version"] is None
    assert all(UNCUED_TEXT not in s["text"] for s in shared["suggestions"])
    fresh = client.get(url(by_id["fresh"]), headers=bob).get_json()
    assert fresh["model_version"] == trained.version
    assert any(s["text"].startswith("Supposedly the ferry") and s["source"] == "model"
               for s in fresh["suggestions"])


def test_anothers_claims_do_not_hide_suggestions(client, port, token_for):
    alice = users.by_username("alice")
    _accepted(alice, port, "the fire at pier four was out")
    texts = [s["text"] for s in client.get(url(port), headers=token_for("bob")).get_json()[
        "suggestions"]]
    assert "the fire at pier four was out" in texts


# ---------- training, versions, scores ----------


def _gold_project(project, n: int = 15) -> None:
    rng = random.Random(11)
    lines, docs = [], []
    for i in range(n):
        doc = synthetic_document(rng, i)
        docs.append(doc)
        lines.append(json.dumps({"id": f"g{i}", "text": doc.text}))
    documents.import_file(project, "gold.jsonl", ("\n".join(lines) + "\n").encode())
    maria = users.by_username("maria")
    stored = _documents_by_id(project)
    for i, doc in enumerate(docs):
        for claim in doc.claims:
            needle = doc.text[claim.start:claim.end]
            claims.create_claim(maria, stored[f"g{i}"], {
                "start": claim.start, "end": claim.end, "text": needle,
                "stance": claim.stance, "actor": claim.actor}, sources=[])


def trainable_project(project) -> None:
    """The project's actors, then 15 articles with gold claims naming them."""
    add_actors(project)
    _gold_project(project)


def test_training_stores_a_version_with_held_out_scores(client, port, token_for):
    _gold_project(port.project)
    pid = port.project_id
    assert client.post(f"/api/v1/projects/{pid}/suggestion-models",
                       headers=token_for("alice")).status_code == 403
    first = train_and_wait(client, pid, token_for("maria"))
    assert first["status"] == "done", first
    assert first["model_version"] == 1 and first["requested_by"] == "maria"
    listed = client.get(f"/api/v1/projects/{pid}/suggestion-models",
                        headers=token_for("maria")).get_json()
    assert listed[0]["version"] == 1 and listed[0]["trained_by"] == "maria"
    scores = listed[0]["scores"]
    assert scores["train_documents"] + scores["test_documents"] == 15
    assert 0 <= scores["claim_sentence"]["precision"] <= 1
    assert set(scores["stance"]) >= {"accuracy", "precision", "recall", "f1"}
    second = train_and_wait(client, pid, token_for("maria"))
    assert second["model_version"] == 2
    listed = client.get(f"/api/v1/projects/{pid}/suggestion-models",
                        headers=token_for("maria")).get_json()
    assert [v["version"] for v in listed] == [2, 1]
    # The newest version is used on documents it did not learn from.
    body = client.get(url(port), headers=token_for("alice")).get_json()
    assert body["model_version"] == 2


def test_training_without_annotations_is_422(client, port, token_for):
    response = client.post(f"/api/v1/projects/{port.project_id}/suggestion-models",
                           headers=token_for("maria"))
    assert response.status_code == 422
    assert "not enough" in response.get_json()["error"]
    assert db.session.scalar(select(SuggestionModel.id)) is None


def test_project_page_trains_and_shows_the_scores(client, auth, port):
    _gold_project(port.project)
    auth.login("maria")
    page = client.get(f"/projects/{port.project_id}").get_data(as_text=True)
    assert 'id="suggestions"' in page and "No model trained yet" in page
    token = auth.csrf_token(f"/projects/{port.project_id}")
    response = client.post(f"/projects/{port.project_id}/suggestions/train",
                           data={"csrf_token": token}, follow_redirects=True)
    page = response.get_data(as_text=True)
    # The request answers before the training ends: the page says it is under way.
    assert "Training started (job " in page and 'id="training-status"' in page
    job = wait_for_job(port.project, int(page.split("Training started (job ")[1].split(")")[0]))
    assert job.status == "done", job.error
    page = client.get(f"/projects/{port.project_id}").get_data(as_text=True)
    assert 'data-version="1"' in page and "stored version 1" in page
    assert "training.js" not in page  # nothing left to follow
    response = client.post(f"/projects/{port.project_id}/suggestions/settings",
                           data={"csrf_token": token}, follow_redirects=True)
    assert "Suggestions are off." in response.get_data(as_text=True)  # the box unticked
    db.session.rollback()
    assert db.session.scalar(select(Project.suggestions_enabled).where(
        Project.id == port.project_id)) is False


def test_annotators_see_no_suggestion_panel_and_may_not_train(client, auth, port):
    auth.login("alice")
    page = client.get(f"/projects/{port.project_id}").get_data(as_text=True)
    assert 'id="suggestions"' not in page
    token = auth.csrf_token(f"/projects/{port.project_id}")
    assert client.post(f"/projects/{port.project_id}/suggestions/train",
                       data={"csrf_token": token}).status_code == 403


def test_cli_trains_and_prints_the_scores(app, port):
    _gold_project(port.project)
    result = app.test_cli_runner().invoke(args=["suggest", "train", port.project.name])
    assert result.exit_code == 0, result.output
    assert "version 1" in result.output and "claim_sentence: precision" in result.output
    listed = app.test_cli_runner().invoke(args=["suggest", "models", port.project.name])
    assert json.loads(listed.output)[0]["version"] == 1
    missing = app.test_cli_runner().invoke(args=["suggest", "train", "No such project"])
    assert missing.exit_code != 0


# ---------- exports and the dataset card tell accepted suggestions apart ----------


def test_export_records_carry_the_origin(client, port, token_for):
    headers = token_for("alice")
    first = client.get(url(port), headers=headers).get_json()["suggestions"][0]
    client.post(url(port, f"/{first['id']}/accept"), headers=headers)
    start = ARTICLE.index("Rain fell all day")
    claims.create_claim(users.by_username("alice"), port, {
        "start": start, "end": start + 17, "text": "Rain fell all day", "stance": "asserts"})
    records = [json.loads(line) for line in "".join(
        exporting.stream_jsonl(port.project, "all")).splitlines()]
    [record] = [r for r in records if r["id"] == "port"]
    validator("export-record.schema.json").validate(record)
    assert sorted(c["origin"] for c in record["claims"]) == ["manual", "suggestion"]


def test_old_export_records_without_origin_stay_valid():
    record_claim = {"id": 1, "version": 1, "document_id": 1, "annotator": "a", "start": 0,
                    "end": 1, "text": "x", "actor": None, "stance": "asserts",
                    "verdict": None, "note": "", "evidence": []}
    validator("claim.schema.json").validate(record_claim)


def test_dataset_card_counts_claims_from_the_suggester(client, port, token_for, tmp_path):
    from annotator.services import datasets

    headers = token_for("alice")
    for suggestion in client.get(url(port), headers=headers).get_json()["suggestions"]:
        client.post(url(port, f"/{suggestion['id']}/accept"), headers=headers)
    start = ARTICLE.index("Rain fell all day")
    claims.create_claim(users.by_username("alice"), port, {
        "start": start, "end": start + 17, "text": "Rain fell all day", "stance": "asserts"})
    datasets.write_bundle(port.project, tmp_path / "bundle", formats=["jsonl"])
    card = next((tmp_path / "bundle").rglob("dataset_card.md")).read_text()
    assert "**From the suggester:** 2 of 3 claims (66.7 %)" in card


def test_agreement_page_splits_claims_by_origin(client, auth, port, token_for):
    headers = token_for("alice")
    first = client.get(url(port), headers=headers).get_json()["suggestions"][0]
    client.post(url(port, f"/{first['id']}/accept"), headers=headers)
    start = ARTICLE.index("Rain fell all day")
    claims.create_claim(users.by_username("alice"), port, {
        "start": start, "end": start + 17, "text": "Rain fell all day", "stance": "asserts"})
    # Gold agrees with the accepted suggestion, not with the hand-drawn claim.
    claims.create_claim(users.by_username("maria"), port, {
        "start": first["start"], "end": first["end"], "text": first["text"],
        "stance": "asserts"}, sources=[])
    report = suggestions.origin_report(port.project)
    assert report["annotators"] == [{"annotator": "alice", "manual": 1, "suggestion": 1,
                                     "edited": 0}]
    by_origin = {o["origin"]: o for o in report["with_gold"]}
    assert by_origin["suggestion"]["same_stance_share"] == 1.0
    assert by_origin["manual"]["overlap_share"] == 0.0
    auth.login("maria")
    page = client.get(f"/projects/{port.project_id}/agreement").get_data(as_text=True)
    assert 'id="origin-counts"' in page
    assert '<td data-col="suggestion">1</td>' in page


def test_a_create_naming_the_suggestion_is_an_accepted_edit(client, port, token_for):
    """The page's "edit, then accept" goes through its save queue: POST …/claims with
    suggestion_id (and a client_id, so a replay makes no second claim)."""
    headers = token_for("alice")
    first = client.get(url(port), headers=headers).get_json()["suggestions"][0]
    body = {"start": first["start"], "end": first["end"], "text": first["text"],
            "stance": "confirms", "actor": "Harbour Authority", "suggestion_id": first["id"],
            "client_id": "edit-then-accept-1"}
    response = client.post(f"/api/v1/documents/{port.id}/claims", headers=headers, json=body)
    assert response.status_code == 201
    claim = response.get_json()
    assert claim["origin"] == "suggestion" and claim["suggestion"]["edited"] is True
    replay = client.post(f"/api/v1/documents/{port.id}/claims", headers=headers, json=body)
    assert replay.status_code == 200 and replay.get_json()["id"] == claim["id"]
    unknown = client.post(f"/api/v1/documents/{port.id}/claims", headers=headers,
                          json={**body, "suggestion_id": "1-2", "client_id": "other-key-2"})
    assert unknown.status_code == 422 and "suggestion_id" in unknown.get_json()["fields"]
    edit = client.patch(f"/api/v1/claims/{claim['id']}", headers=headers,
                        json={"version": claim["version"], "suggestion_id": first["id"]})
    assert edit.status_code == 422 and "suggestion_id" in edit.get_json()["fields"]


def test_an_edited_copy_of_a_suggestion_already_accepted_is_a_conflict(client, port,
                                                                       token_for):
    """Accepted from the list (or another tab), then the edited copy in the form saved: one
    suggestion, one claim of each annotator; the copy meets that claim as a 409."""
    headers = token_for("alice")
    first = client.get(url(port), headers=headers).get_json()["suggestions"][0]
    accepted = client.post(url(port, f"/{first['id']}/accept"), headers=headers).get_json()
    body = {"start": first["start"], "end": first["end"], "text": first["text"],
            "stance": "confirms", "suggestion_id": first["id"], "client_id": "edited-copy-1"}
    create = f"/api/v1/documents/{port.id}/claims"
    copy = client.post(create, headers=headers, json=body)
    assert copy.status_code == 409
    assert f"already accepted as claim #{accepted['id']}" in copy.get_json()["error"]
    assert copy.get_json()["current"]["id"] == accepted["id"]
    # Without a client_id too (an API caller): no key can make it a replay.
    bare = {k: v for k, v in body.items() if k != "client_id"}
    assert client.post(create, headers=headers, json=bare).status_code == 409
    mine = db.session.scalars(select(Claim).where(
        Claim.document_id == port.id, Claim.annotator_id == users.by_username("alice").id,
        Claim.deleted_at.is_(None))).all()
    assert [c.id for c in mine] == [accepted["id"]]
    # Another annotator's accept is theirs: bob's edited copy is his first claim from it.
    bobs = client.post(create, headers=token_for("bob"), json=body)
    assert bobs.status_code == 201, bobs.get_json()
    # Once alice's claim is deleted, the suggestion may make a claim of hers again.
    deleted = client.delete(f"/api/v1/claims/{accepted['id']}?version={accepted['version']}",
                            headers=headers)
    assert deleted.status_code == 204
    assert client.post(create, headers=headers, json={**body, "client_id": "edited-copy-2"}
                       ).status_code == 201


def accept_elsewhere_just_before_the_insert(monkeypatch, client, port, headers, suggestion_id):
    """The race: another request (the list's accept, in another tab) accepts the suggestion
    and commits after this request's checks passed, just before its INSERT."""
    accepted: list[dict] = []

    def other_request() -> None:
        other = client.post(url(port, f"/{suggestion_id}/accept"), headers=headers)
        assert other.status_code == 201, other.get_json()
        accepted.append(other.get_json())

    before_the_next_claim_insert(monkeypatch, other_request)
    return accepted


def alices_live_claims(port) -> list[int]:
    db.session.rollback()
    return db.session.scalars(select(Claim.id).where(
        Claim.document_id == port.id, Claim.annotator_id == users.by_username("alice").id,
        Claim.deleted_at.is_(None))).all()


def test_a_form_save_racing_an_accept_of_its_suggestion_is_a_conflict(
        monkeypatch, client, port, token_for):
    """Both passed the check before either was stored: the database's unique index over
    live accepted claims stops the second, which answers 409 with the first."""
    headers = token_for("alice")
    first = client.get(url(port), headers=headers).get_json()["suggestions"][0]
    accepted = accept_elsewhere_just_before_the_insert(monkeypatch, client, port, headers,
                                                       first["id"])
    body = {"start": first["start"], "end": first["end"], "text": first["text"],
            "stance": "confirms", "suggestion_id": first["id"], "client_id": "racing-copy"}
    copy = client.post(f"/api/v1/documents/{port.id}/claims", headers=headers, json=body)
    assert copy.status_code == 409, copy.get_json()
    assert copy.get_json()["current"]["id"] == accepted[0]["id"]
    assert alices_live_claims(port) == [accepted[0]["id"]]


def test_two_racing_accepts_of_one_suggestion_make_one_claim(
        monkeypatch, client, port, token_for):
    headers = token_for("alice")
    first = client.get(url(port), headers=headers).get_json()["suggestions"][0]
    accepted = accept_elsewhere_just_before_the_insert(monkeypatch, client, port, headers,
                                                       first["id"])
    second = client.post(url(port, f"/{first['id']}/accept"), headers=headers,
                         json={"note": "accepted in the other tab"})
    assert second.status_code == 200, second.get_json()  # as a repeated accept answers
    assert second.get_json()["id"] == accepted[0]["id"]
    assert alices_live_claims(port) == [accepted[0]["id"]]


def test_restoring_a_claim_whose_suggestion_was_accepted_again_is_a_conflict(
        client, port, token_for):
    """Deleted, then the suggestion accepted again: restoring the first would make two
    live claims from one suggestion. The manager is told which claim stands in the way."""
    alice, manager = token_for("alice"), token_for("maria")
    first = client.get(url(port), headers=alice).get_json()["suggestions"][0]
    old = client.post(url(port, f"/{first['id']}/accept"), headers=alice).get_json()
    client.delete(f"/api/v1/claims/{old['id']}?version={old['version']}", headers=alice)
    new = client.post(url(port, f"/{first['id']}/accept"), headers=alice).get_json()
    assert new["id"] != old["id"]
    refused = client.post(f"/api/v1/claims/{old['id']}/restore", headers=manager)
    assert refused.status_code == 409
    assert f"claim #{new['id']} was accepted from the same suggestion" in \
        refused.get_json()["error"]
    assert refused.get_json()["current"]["id"] == new["id"]
    assert alices_live_claims(port) == [new["id"]]
    client.delete(f"/api/v1/claims/{new['id']}?version={new['version']}", headers=alice)
    restored = client.post(f"/api/v1/claims/{old['id']}/restore", headers=manager)
    assert restored.status_code == 200 and restored.get_json()["id"] == old["id"]
    assert alices_live_claims(port) == [old["id"]]


def test_a_replayed_create_from_a_suggestion_answers_with_its_claim(client, port, token_for):
    """The create's answer was lost; meanwhile its claim was deleted and the suggestion
    accepted from the list: the replay (same client_id) still gets the claim it made."""
    headers = token_for("alice")
    first = client.get(url(port), headers=headers).get_json()["suggestions"][0]
    body = {"start": first["start"], "end": first["end"], "text": first["text"],
            "stance": "confirms", "suggestion_id": first["id"], "client_id": "lost-answer-1"}
    create = f"/api/v1/documents/{port.id}/claims"
    made = client.post(create, headers=headers, json=body).get_json()
    client.delete(f"/api/v1/claims/{made['id']}?version={made['version']}", headers=headers)
    listed = client.post(url(port, f"/{first['id']}/accept"), headers=headers).get_json()
    assert listed["id"] != made["id"]
    replay = client.post(create, headers=headers, json=body)
    assert replay.status_code == 200 and replay.get_json()["id"] == made["id"]


def test_token_pattern_quantifiers_are_checked_by_the_schema():
    scheme = labelscheme.default_scheme()
    scheme["suggestions"]["cues"][1]["patterns"][0][1]["OP"] = "{,}"
    with pytest.raises(labelscheme.LabelSchemeError):
        labelscheme.validate(scheme)
    scheme["suggestions"]["cues"][1]["patterns"][0][1]["OP"] = "{,4}"
    labelscheme.validate(scheme)
    assert suggest_rules("Vidal called the ferry report false.", scheme)[0].stance == "denies"


def test_members_settings_page_has_the_switch(client, auth, port):
    auth.login("maria")
    page = client.get(f"/projects/{port.project_id}/members").get_data(as_text=True)
    assert 'id="suggestion-settings-card"' in page
    assert 'name="enabled"' in page and "checked" in page.split(
        'id="suggestion-settings-card"')[1].split("</section>")[0]


def test_claim_records_and_hf_rows_carry_the_origin(client, port, token_for):
    from exports import claims as claim_records
    from exports import hf

    headers = token_for("alice")
    first = client.get(url(port), headers=headers).get_json()["suggestions"][0]
    client.post(url(port, f"/{first['id']}/accept"), headers=headers)
    records = [json.loads(line) for line in "".join(
        exporting.stream_jsonl(port.project, "all")).splitlines()]
    [row] = list(claim_records.iter_claim_records(records))
    validator("claim-record.schema.json").validate(row)
    assert row["origin"] == "suggestion"
    [hf_row] = list(hf.iter_hf_rows(records))
    validator("hf-claim-row.schema.json").validate(hf_row)
    assert hf_row["origin"] == "suggestion"


class _RunsOnLoad:
    """A pickle that calls a function when loaded, as a crafted backup's model could."""

    def __reduce__(self):
        return (_record_load, ())


LOADED: list[bool] = []


def _record_load() -> None:
    LOADED.append(True)


def test_a_stored_model_this_server_did_not_write_is_never_unpickled(client, port,
                                                                     token_for):
    """A model blob that came in another way than training here (a restored backup: its
    checksum is no signature) is not loaded, since unpickling runs its code; the document
    gets the rules' suggestions."""
    import io

    import joblib

    buffer = io.BytesIO()
    joblib.dump(_RunsOnLoad(), buffer)
    db.session.add(SuggestionModel(project_id=port.project_id, version=1, scores={},
                                   document_ids=[], blob=buffer.getvalue()))
    db.session.commit()
    LOADED.clear()
    response = client.get(url(port), headers=token_for("alice"))
    assert response.status_code == 200
    assert LOADED == []
    body = response.get_json()
    assert body["model_version"] is None
    assert {s["source"] for s in body["suggestions"]} == {"rules"}


KEY = "6f1c1d2e-0b7a-4c55-9d8e-2f3a4b5c6d7e"


def test_accept_changes_may_not_name_a_client_id(client, port, token_for):
    """The accept body holds claim fields; a client_id (the save queue's retry key for
    creates: accepting has its own, the suggestion) is refused, so one already taken never
    reaches the database's unique index as a 500."""
    headers = token_for("alice")
    first, second = client.get(url(port), headers=headers).get_json()["suggestions"][:2]
    client.post(f"/api/v1/documents/{port.id}/claims", headers=headers, json={
        "start": first["start"], "end": first["end"], "text": first["text"],
        "stance": "asserts", "client_id": KEY})
    response = client.post(url(port, f"/{second['id']}/accept"), headers=headers,
                           json={"client_id": KEY})
    assert response.status_code == 422 and "client_id" in response.get_json()["fields"]
    db.session.rollback()
    assert db.session.scalar(select(func.count(Claim.id))) == 1


def test_a_manager_not_assigned_to_the_document_cannot_accept_its_suggestions(
        client, port, token_for):
    headers = token_for("maria")
    first = client.get(url(port), headers=headers).get_json()["suggestions"][0]
    refused = client.post(url(port, f"/{first['id']}/accept"), headers=headers)
    assert refused.status_code == 403 and "not assigned" in refused.get_json()["error"]
    db.session.rollback()
    assert db.session.scalars(select(Claim)).all() == []
