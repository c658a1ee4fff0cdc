"""Suggested claims in a real Chromium: shown as dashed highlights and listed; the accept key
makes the focused one the annotator's claim (origin "suggestion"), the reject key hides it
for good, the edit key opens it in the claim form and saving accepts the edited claim."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from playwright.sync_api import Page, Route, expect
from sqlalchemy import select

from annotator.db import db
from annotator.models import Claim, Document, SuggestionRejection
from annotator.services import assignments, documents, projects, suggestions, users
from annotator.suggester.text import pipeline

from .conftest import login, open_document

ARTICLE = ("Port fire contained\n"
           "The Harbour Authority said in a statement that the fire at pier four was out. "
           "Rain fell all day. 🚁 The Defence Office denied that its drones had flown over "
           "the port.")
FIRE = "the fire at pier four was out"
DRONES = "its drones had flown over the port"


@pytest.fixture(scope="module", autouse=True)
def _spacy_loaded() -> None:
    """Import spaCy before the page's 5 s waits start: the first suggestion of a process pays
    its seconds-long import (longer on a busy CI machine), which a running server has long
    since paid."""
    pipeline()


@pytest.fixture
def port(project) -> int:
    projects.add_actor(project, "Harbour Authority")
    projects.add_actor(project, "Northgate Defence Office", aliases=["Defence Office"])
    documents.import_file(project, "port.jsonl", (json.dumps(
        {"id": "port", "title": "Port", "text": ARTICLE}) + "\n").encode())
    assignments.assign(project, 1)
    suggestions.set_enabled(project, True)
    return documents.first_document(project).id


def alice_on(page: Page, did: int) -> None:
    login(page, "alice")
    open_document(page, did)
    page.wait_for_selector("#annotate[data-suggestions-ready=true]", state="attached")


def highlighted(page: Page, name: str) -> list[str]:
    """The text of each range in one CSS highlight, as the browser holds it."""
    return page.evaluate("""(name) => {
        const h = CSS.highlights.get(name);
        return h ? [...h].map((r) => r.toString()) : [];
    }""", name)


def stored(app: Flask, did: int) -> list[Claim]:
    with app.app_context():
        rows = db.session.scalars(select(Claim).where(Claim.document_id == did)).all()
        return [{"text": c.text, "stance": c.stance, "origin": c.origin,
                 "suggestion": c.suggestion, "actor": c.actor.name if c.actor else None}
                for c in rows]


def test_suggestions_are_shown_and_the_accept_key_stores_the_claim(page: Page, app: Flask,
                                                                   port: int):
    alice_on(page, port)
    items = page.locator("#suggestion-list li")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text(FIRE)
    expect(items.first).to_contain_text("Harbour Authority · Asserts")
    expect(items.first).to_have_class("suggestion focused")
    assert highlighted(page, "suggestion-focus") == [FIRE]
    assert highlighted(page, "suggestion") == [DRONES]  # past the emoji: code points right

    page.keyboard.press("a")
    page.wait_for_selector("#annotate[data-last-accepted-claim]", state="attached")
    [claim] = stored(app, port)
    assert (claim["text"], claim["actor"], claim["stance"], claim["origin"]) == (
        FIRE, "Harbour Authority", "asserts", "suggestion")
    assert claim["suggestion"]["edited"] is False
    # Now a claim of hers (solid highlight), no longer a suggestion.
    expect(items).to_have_count(1)
    expect(page.locator("#claim-list li")).to_have_count(1)
    expect(page.locator("#text .seg").first).to_have_text(FIRE)
    assert highlighted(page, "suggestion-focus") == [DRONES]


def test_the_reject_key_hides_the_suggestion_for_good(page: Page, app: Flask, port: int):
    alice_on(page, port)
    page.keyboard.press("n")  # focus the second suggestion
    expect(page.locator("#suggestion-list li.focused")).to_contain_text(DRONES)
    page.keyboard.press("x")
    expect(page.locator("#suggestion-list li")).to_have_count(1)
    expect(page.locator("#suggestion-list li")).to_contain_text(FIRE)
    assert highlighted(page, "suggestion") + highlighted(page, "suggestion-focus") == [FIRE]
    with app.app_context():
        assert db.session.scalar(select(SuggestionRejection.id)) is not None
    assert stored(app, port) == []
    open_document(page, port)  # a reload: still gone
    page.wait_for_selector("#annotate[data-suggestions-ready=true]", state="attached")
    expect(page.locator("#suggestion-list li")).to_have_count(1)


def test_edit_key_opens_the_form_and_saving_accepts_the_edit(page: Page, app: Flask,
                                                             port: int):
    alice_on(page, port)
    page.keyboard.press("e")
    expect(page.locator("#claim-form")).to_be_visible()
    expect(page.locator("#claim-quote")).to_have_text(FIRE)
    expect(page.locator("#actor")).to_have_value("Harbour Authority")
    expect(page.locator('input[name="stance"][value="asserts"]')).to_be_checked()
    page.keyboard.press("4")  # the scheme's key for "questions"
    page.keyboard.press("Control+Enter")
    expect(page.locator("#claim-form")).to_be_hidden()
    expect(page.locator("#suggestion-list li")).to_have_count(1)
    [claim] = stored(app, port)
    assert (claim["text"], claim["stance"], claim["origin"]) == (FIRE, "questions", "suggestion")
    assert claim["suggestion"]["stance"] == "asserts" and claim["suggestion"]["edited"] is True


def test_the_edit_button_is_one_click(page: Page, port: int):
    alice_on(page, port)
    page.locator("#suggestion-list li").nth(1).locator("button.edit").click()
    expect(page.locator("#claim-quote")).to_have_text(DRONES)
    expect(page.locator("#actor")).to_have_value("Northgate Defence Office")
    expect(page.locator('input[name="stance"][value="denies"]')).to_be_checked()


def test_no_suggestions_when_the_project_has_them_off(page: Page, project, port: int):
    suggestions.set_enabled(project, False)
    login(page, "alice")
    open_document(page, port)
    page.wait_for_selector("#annotate[data-suggestions=off]", state="attached")
    expect(page.locator("#suggestions")).to_be_hidden()
    assert highlighted(page, "suggestion") == []


def test_the_project_page_follows_a_training_to_its_new_version(page: Page, project):
    """Train from the project page: the request answers at once with the job under way, and
    static/training.js reloads the page by itself once the training process has stored
    version 1."""
    from ..test_suggestions import trainable_project

    trainable_project(project)
    login(page, "maria")
    page.goto(f"/projects/{project.id}")
    expect(page.locator("#no-suggestion-model")).to_be_visible()
    page.locator("#train-suggestions button").click()
    expect(page.locator(".flash")).to_contain_text("Training started")
    expect(page.locator("#train-suggestions button")).to_be_disabled()
    # No click from here on: the status line turns into the stored version on its own.
    expect(page.locator("#training-status")).to_contain_text("stored version 1",
                                                             timeout=180_000)
    expect(page.locator("#suggestion-models tr[data-version='1']")).to_be_visible()
    expect(page.locator("#train-suggestions button")).to_be_enabled()


def _accept_elsewhere(app: Flask, did: int) -> int:
    """Alice accepts the fire suggestion as it is, as from another tab: that claim's id."""
    start = ARTICLE.index(FIRE)
    with app.app_context():
        alice = users.by_username("alice")
        claim, created = suggestions.accept(alice, db.session.get(Document, did),
                                            f"{start}-{start + len(FIRE)}")
        assert created
        return claim.id


@pytest.mark.parametrize("choice", ["mine", "theirs"])
def test_saving_an_edited_suggestion_accepted_meanwhile_makes_no_second_claim(
        page: Page, app: Flask, port: int, choice: str):
    """The form holds an edited copy of a suggestion that another tab accepts meanwhile:
    saving it meets that claim as a conflict; keeping mine edits that claim, taking theirs
    keeps it as accepted. Either way alice has one claim from the suggestion."""
    alice_on(page, port)
    page.keyboard.press("e")
    expect(page.locator("#claim-quote")).to_have_text(FIRE)
    page.keyboard.press("4")  # "questions"
    accepted = _accept_elsewhere(app, port)
    page.keyboard.press("Control+Enter")
    conflict = page.locator("#conflict")
    expect(conflict).to_be_visible()
    expect(conflict.locator(".conflict-title")).to_contain_text(
        f"already accepted this suggestion as claim #{accepted}")
    expect(conflict.locator('tr[data-field="stance"] td.mine')).to_have_text("Questions")
    expect(conflict.locator('tr[data-field="stance"] td.theirs')).to_have_text("Asserts")
    page.click(f"#conflict .conflict-{'keep-mine' if choice == 'mine' else 'take-theirs'}")
    expect(conflict).to_be_hidden()
    expect(page.locator("#save-status")).to_have_text("Saved")
    [claim] = stored(app, port)
    assert claim["origin"] == "suggestion" and claim["text"] == FIRE
    assert claim["stance"] == ("questions" if choice == "mine" else "asserts")
    expect(page.locator("#claim-list li")).to_have_count(1)
    with app.app_context():
        assert db.session.scalar(select(Claim.id)) == accepted


def test_an_unedited_copy_of_a_suggestion_accepted_meanwhile_is_that_claim(
        page: Page, app: Flask, port: int):
    """Nothing changed in the form: the claim accepted meanwhile is what it would have saved,
    so there is nothing to choose."""
    alice_on(page, port)
    page.keyboard.press("e")
    expect(page.locator("#claim-quote")).to_have_text(FIRE)
    accepted = _accept_elsewhere(app, port)
    page.keyboard.press("Control+Enter")
    expect(page.locator("#claim-form")).to_be_hidden()
    expect(page.locator("#save-status")).to_have_text("Saved")
    expect(page.locator("#conflict")).to_be_hidden()
    [claim] = stored(app, port)
    assert claim["stance"] == "asserts"
    expect(page.locator("#claim-list li")).to_have_count(1)
    with app.app_context():
        assert db.session.scalar(select(Claim.id)) == accepted


def test_a_copy_deleted_before_it_was_sent_leaves_the_claim_accepted_meanwhile(
        page: Page, app: Flask, port: int):
    """Offline, alice saves an edited copy of a suggestion, then deletes it (both wait in the
    queue); another tab accepts the suggestion. Back online the create meets that claim
    (409): the copy is dropped and nothing deletes the other tab's claim."""
    alice_on(page, port)
    sent: list[str] = []
    offline = {"on": True}

    def handle(route: Route) -> None:
        if route.request.method in ("POST", "DELETE", "PATCH"):
            sent.append(f"{route.request.method} {route.request.url}")
            if offline["on"]:
                route.abort()
                return
        route.continue_()

    page.route("**/api/v1/**/claims**", handle)
    page.keyboard.press("e")
    expect(page.locator("#claim-quote")).to_have_text(FIRE)
    page.keyboard.press("4")  # "questions"
    page.click("#save-claim")
    expect(page.locator("#claim-form")).to_be_hidden()
    expect(page.locator("#annotate")).to_have_attribute("data-queue", "offline")
    page.locator("#claim-list button", has_text=FIRE).click()
    expect(page.locator("#claim-form")).to_be_visible()
    page.click("#delete-claim")
    expect(page.locator("#claim-list li")).to_have_count(0)
    accepted = _accept_elsewhere(app, port)
    offline["on"] = False
    expect(page.locator("#annotate")).to_have_attribute("data-queue", "saved", timeout=15_000)
    expect(page.locator("#conflict")).to_be_hidden()
    [claim] = stored(app, port)
    assert claim["stance"] == "asserts"  # as accepted, untouched
    with app.app_context():
        assert db.session.get(Claim, accepted).deleted_at is None
    assert not [r for r in sent if r.startswith(("DELETE", "PATCH"))], sent
    expect(page.locator("#claim-list li")).to_have_count(1)
