"""The annotation page in a real Chromium: selecting with the mouse, the claim form, editing,
deleting, evidence, overlapping claims, new actors, keyboard shortcuts, marking done and the
field errors. Offsets must come out as Unicode code points although the DOM counts UTF-16."""

from __future__ import annotations

from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from annotator.db import db
from annotator.models import Actor, Assignment, Document, User
from annotator.services import claims, users
from tests.conftest import SAMPLE_TEXT, span

from .conftest import (
    api_claims,
    drag_select,
    highlighted_text,
    login,
    open_document,
    stored_claims,
    wait_saved,
)

HELICOPTER = "said a helicopter was shot down"
NO_AIRCRAFT = "no aircraft was lost"
VIDEO = "Amaq’s video shows machine-gun fire"


def utf16_index(text: str, needle: str) -> int:
    return len(text[: text.index(needle)].encode("utf-16-le")) // 2


def make_claim(doc, username: str, needle: str, stance: str = "asserts", **extra):
    """A claim stored through the service, as if made earlier."""
    start, end = span(doc.text, needle)
    return claims.create_claim(users.by_username(username), doc, {
        "start": start, "end": end, "text": needle, "stance": stance, **extra})


def open_claim_form(page: Page, needle: str) -> None:
    drag_select(page, needle)
    expect(page.locator("#claim-form")).to_be_visible()
    expect(page.locator("#claim-quote")).to_have_text(needle)


def test_mouse_selection_after_emoji_is_stored_as_code_points(page: Page, app: Flask, doc_ids):
    did = doc_ids["d1"]
    # The emoji is one code point but two UTF-16 units: naive DOM offsets are one too far.
    assert utf16_index(SAMPLE_TEXT, HELICOPTER) == SAMPLE_TEXT.index(HELICOPTER) + 1
    login(page, "alice")
    open_document(page, did)

    open_claim_form(page, HELICOPTER)
    expect(page.locator("#form-title")).to_have_text("New claim")
    page.fill("#actor", "Russian Defense Ministry")
    expect(page.locator("#new-actor-hint")).to_be_hidden()
    page.locator('input[name="stance"][value="denies"]').click()
    page.select_option("#verdict", "refuted")
    page.fill("#note", "video contradicts it")
    page.click("#save-claim")
    wait_saved(page)
    expect(page.locator("#claim-form")).to_be_hidden()

    start, end = span(SAMPLE_TEXT, HELICOPTER)
    (listed,) = api_claims(page, did)
    assert (listed["start"], listed["end"], listed["text"]) == (start, end, HELICOPTER)
    assert SAMPLE_TEXT[listed["start"]:listed["end"]] == HELICOPTER
    (stored,) = stored_claims(app, did)
    assert stored == {**stored, "start": start, "end": end, "text": HELICOPTER,
                      "actor": "Russian Defense Ministry", "stance": "denies",
                      "verdict": "refuted", "note": "video contradicts it",
                      "annotator": "alice", "version": 1}

    page.reload()
    page.wait_for_selector("#annotate[data-ready=true]", state="attached")
    assert highlighted_text(page, stored["id"]) == HELICOPTER
    segment = page.locator(f'#text .seg[data-claims="{stored["id"]}"]')
    expect(segment).to_have_count(1)
    expect(segment).to_have_attribute("data-start", str(start))
    expect(segment).to_have_attribute("data-end", str(end))
    expect(page.locator("#claim-list li")).to_have_count(1)
    expect(page.locator("#claim-list li")).to_contain_text("Russian Defense Ministry")


def test_edit_from_highlight_and_list_then_delete(page: Page, app: Flask, document, doc_ids):
    did = doc_ids["d1"]
    first = make_claim(document, "alice", HELICOPTER, "asserts", actor="Amaq").id
    login(page, "alice")
    open_document(page, did)

    # Edit through the highlight.
    page.locator(f'#text .seg[data-claims="{first}"]').click()
    expect(page.locator("#form-title")).to_have_text(f"Claim #{first}")
    expect(page.locator('input[name="stance"][value="asserts"]')).to_be_checked()
    expect(page.locator("#actor")).to_have_value("Amaq")
    page.locator('input[name="stance"][value="questions"]').click()
    page.click("#save-claim")
    wait_saved(page)
    (stored,) = stored_claims(app, did)
    assert (stored["stance"], stored["version"], stored["actor"]) == ("questions", 2, "Amaq")

    # Edit again through the claim list: the form must carry the new version.
    page.locator(f'#claim-list button[data-claim-id="{first}"]').click()
    expect(page.locator('input[name="stance"][value="questions"]')).to_be_checked()
    page.locator('input[name="stance"][value="confirms"]').click()
    page.fill("#note", "second edit")
    page.click("#save-claim")
    wait_saved(page)
    (stored,) = stored_claims(app, did)
    assert (stored["stance"], stored["note"], stored["version"]) == ("confirms", "second edit", 3)
    expect(page.locator("#claim-list")).to_contain_text("Confirms")

    # A second claim, made with the mouse, then deleted with the Delete button.
    open_claim_form(page, VIDEO)
    expect(page.locator("#delete-claim")).to_be_hidden()
    page.locator('input[name="stance"][value="asserts"]').click()
    page.click("#save-claim")
    wait_saved(page)
    second = int(page.locator("#annotate").get_attribute("data-last-saved-claim"))
    assert second != first
    assert highlighted_text(page, second) == VIDEO
    expect(page.locator("#claim-list li")).to_have_count(2)

    page.locator(f'#claim-list button[data-claim-id="{second}"]').click()
    expect(page.locator("#form-title")).to_have_text(f"Claim #{second}")
    page.click("#delete-claim")
    wait_saved(page, "Deleted")
    expect(page.locator("#claim-form")).to_be_hidden()
    expect(page.locator("#claim-list li")).to_have_count(1)
    expect(page.locator(f'#claim-list button[data-claim-id="{second}"]')).to_have_count(0)
    assert highlighted_text(page, second) == ""
    assert [c["id"] for c in api_claims(page, did)] == [first]
    deleted = [c for c in stored_claims(app, did, include_deleted=True) if c["id"] == second]
    assert deleted and deleted[0]["deleted_at"] is not None
    page.reload()
    page.wait_for_selector("#annotate[data-ready=true]", state="attached")
    assert highlighted_text(page, second) == ""
    assert highlighted_text(page, first) == HELICOPTER


def test_evidence_span_from_second_selection(page: Page, app: Flask, doc_ids):
    did = doc_ids["d1"]
    login(page, "alice")
    open_document(page, did)
    open_claim_form(page, NO_AIRCRAFT)
    page.fill("#actor", "Russian Defense Ministry")
    page.locator('input[name="stance"][value="asserts"]').click()
    page.click("#add-evidence")
    item = page.locator("#evidence-list .evidence-item")
    expect(item).to_have_count(1)
    item.locator(".ev-type").select_option("video")
    item.locator(".ev-relation").select_option("contradicts")
    item.locator(".ev-description").fill("Amaq footage of the shoot-down")

    # The second selection, while the form is open, is offered instead of replacing the claim.
    drag_select(page, VIDEO)
    expect(page.locator("#selection-box")).to_be_visible()
    expect(page.locator("#selection-quote")).to_have_text(VIDEO)
    expect(page.locator("#claim-quote")).to_have_text(NO_AIRCRAFT)
    item.locator(".ev-use-selection").click()
    expect(item.locator(".ev-quote")).to_have_text(VIDEO)
    page.click("#save-claim")
    wait_saved(page)

    start, end = span(SAMPLE_TEXT, VIDEO)
    (listed,) = api_claims(page, did)
    assert (listed["start"], listed["end"]) == span(SAMPLE_TEXT, NO_AIRCRAFT)
    (evidence,) = listed["evidence"]
    assert evidence == {**evidence, "type": "video", "relation": "contradicts",
                        "description": "Amaq footage of the shoot-down",
                        "start": start, "end": end, "text": VIDEO}
    (stored,) = stored_claims(app, did)
    assert stored["evidence"] == [{"type": "video", "relation": "contradicts",
                                   "description": "Amaq footage of the shoot-down",
                                   "start": start, "end": end, "text": VIDEO}]
    assert SAMPLE_TEXT[start:end] == VIDEO

    # Opening the claim marks its evidence span in the text.
    page.locator(f'#claim-list button[data-claim-id="{listed["id"]}"]').click()
    marked = page.evaluate(
        """() => [...document.querySelectorAll("#text .evidence")]
                  .map((s) => s.textContent).join("")""")
    assert marked == VIDEO
    # ... visibly, although no claim covers that text.
    assert page.locator("#text .evidence").evaluate_all(
        "(els) => els.map((e) => getComputedStyle(e).outlineStyle)") == ["dashed"]
    expect(item.locator(".ev-quote")).to_have_text(VIDEO)


def test_overlapping_and_nested_claims(page: Page, document, doc_ids):
    did = doc_ids["d1"]
    outer = make_claim(document, "alice", "said a helicopter was shot down", "asserts").id
    overlapping = make_claim(document, "alice", "a helicopter was shot down by a missile",
                             "denies", actor="Amaq").id
    nested = make_claim(document, "alice", "helicopter", "questions").id
    login(page, "alice")
    open_document(page, did)

    assert highlighted_text(page, outer) == "said a helicopter was shot down"
    assert highlighted_text(page, overlapping) == "a helicopter was shot down by a missile"
    assert highlighted_text(page, nested) == "helicopter"
    expect(page.locator("#claim-list li")).to_have_count(3)

    # The segment under both overlapping claims but outside the nested one.
    both = page.locator(
        f'#text .seg[data-claims~="{outer}"][data-claims~="{overlapping}"]'
        f':not([data-claims~="{nested}"])').first
    expect(both).to_have_text("a ")
    both.click()
    menu = page.locator("#claim-menu")
    expect(menu).to_be_visible()
    expect(menu.locator("button")).to_have_count(2)
    expect(menu.locator(f'button[data-claim-id="{outer}"]')).to_contain_text(
        "said a helicopter was shot down")
    menu.locator(f'button[data-claim-id="{overlapping}"]').click()
    expect(menu).to_be_hidden()
    expect(page.locator("#form-title")).to_have_text(f"Claim #{overlapping}")
    expect(page.locator("#claim-quote")).to_have_text("a helicopter was shot down by a missile")
    expect(page.locator('input[name="stance"][value="denies"]')).to_be_checked()
    expect(page.locator("#actor")).to_have_value("Amaq")

    # The nested claim's segment lists all three; a segment of one claim opens it directly.
    page.click("#cancel-claim")
    page.locator(f'#text .seg[data-claims~="{nested}"]').click()
    expect(menu.locator("button")).to_have_count(3)
    menu.locator(f'button[data-claim-id="{nested}"]').click()
    expect(page.locator("#claim-quote")).to_have_text("helicopter")
    page.click("#cancel-claim")
    page.locator(f'#text .seg[data-claims="{overlapping}"]').click()
    expect(menu).to_be_hidden()
    expect(page.locator("#form-title")).to_have_text(f"Claim #{overlapping}")


def test_typing_a_new_actor_adds_it_to_the_project(page: Page, app: Flask, doc_ids):
    did, name = doc_ids["d1"], "Syrian Observatory for Human Rights"
    login(page, "alice")
    open_document(page, did)
    open_claim_form(page, HELICOPTER)
    page.fill("#actor", name)
    expect(page.locator("#new-actor-hint")).to_be_visible()
    page.locator('input[name="stance"][value="confirms"]').click()
    page.click("#save-claim")
    wait_saved(page)

    (listed,) = api_claims(page, did)
    assert listed["actor"] == name
    actors = page.request.get(f"/api/v1/projects/{doc_ids['project']}/actors").json()
    assert name in [a["name"] for a in actors]
    with app.app_context():
        assert db.session.execute(select(Actor.id).where(
            Actor.project_id == doc_ids["project"], Actor.name == name)).scalar() is not None
    assert stored_claims(app, did)[0]["actor"] == name
    # The new actor is offered next time without reloading.
    assert page.locator(f'#actor-list option[value="{name}"]').count() == 1


def test_keyboard_stance_and_save(page: Page, app: Flask, doc_ids):
    did = doc_ids["d1"]
    login(page, "alice")
    open_document(page, did)
    open_claim_form(page, HELICOPTER)
    page.keyboard.press("2")
    expect(page.locator('input[name="stance"][value="denies"]')).to_be_checked()
    expect(page.locator("#actor")).to_have_value("")  # the key did not go into a text field
    # After clicking a stance, the keys still pick another one.
    page.locator('input[name="stance"][value="asserts"]').click()
    page.keyboard.press("4")
    expect(page.locator('input[name="stance"][value="questions"]')).to_be_checked()
    page.keyboard.press("2")
    expect(page.locator('input[name="stance"][value="denies"]')).to_be_checked()
    page.keyboard.press("Alt+3")
    expect(page.locator("#verdict")).to_have_value("not_enough_evidence")
    page.keyboard.press("Control+Enter")
    wait_saved(page)
    (stored,) = stored_claims(app, did)
    assert (stored["start"], stored["end"]) == span(SAMPLE_TEXT, HELICOPTER)
    assert (stored["stance"], stored["verdict"], stored["actor"]) == (
        "denies", "not_enough_evidence", None)


def test_keyboard_escape_cancels_and_stores_nothing(page: Page, app: Flask, doc_ids):
    did = doc_ids["d1"]
    login(page, "alice")
    open_document(page, did)
    open_claim_form(page, NO_AIRCRAFT)
    page.keyboard.press("1")
    expect(page.locator('input[name="stance"][value="asserts"]')).to_be_checked()
    # In a text field the digits are text, not stance keys. Escape there first leaves the
    # field (it may be meant for the actor list) and says a second one discards the typing.
    page.click("#actor")
    page.keyboard.type("Brigade 2")
    expect(page.locator("#actor")).to_have_value("Brigade 2")
    expect(page.locator('input[name="stance"][value="asserts"]')).to_be_checked()
    page.keyboard.press("Escape")
    expect(page.locator("#save-status")).to_have_text(
        "Press Escape again to discard this claim's changes")
    expect(page.locator("#claim-form")).to_be_visible()
    expect(page.locator("#actor")).not_to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#claim-form")).to_be_hidden()
    expect(page.locator("#hint")).to_be_visible()
    assert stored_claims(app, did) == []
    # A stance key with the form closed does nothing either.
    page.keyboard.press("2")
    page.keyboard.press("Control+Enter")
    assert stored_claims(app, did) == []


def _status(app: Flask, username: str, did: int) -> str | None:
    with app.app_context():
        return db.session.execute(
            select(Assignment.status).join(User).where(
                User.username == username, Assignment.document_id == did)
        ).scalar_one_or_none()


def test_mark_done_and_next(page: Page, app: Flask, doc_ids):
    login(page, "alice")
    open_document(page, doc_ids["d1"])
    expect(page.locator("#doc-status")).to_have_text("in progress")
    assert _status(app, "alice", doc_ids["d1"]) == "in_progress"
    page.click("#mark-done")
    page.wait_for_url(f"**/documents/{doc_ids['d2']}")
    page.wait_for_selector("#annotate[data-ready=true]", state="attached")
    expect(page.locator("#doc-title")).to_have_text("Second report")
    assert _status(app, "alice", doc_ids["d1"]) == "done"
    assert _status(app, "bob", doc_ids["d1"]) == "todo"  # bob's own assignment is untouched
    assert _status(app, "alice", doc_ids["d2"]) == "in_progress"


def test_keyboard_mark_done(page: Page, app: Flask, doc_ids):
    login(page, "alice")
    open_document(page, doc_ids["d1"])
    page.keyboard.press("Control+d")
    page.wait_for_url(f"**/documents/{doc_ids['d2']}")
    assert _status(app, "alice", doc_ids["d1"]) == "done"


def test_text_editing_keys_in_a_field_edit_the_text_not_the_claim(
        page: Page, app: Flask, document, doc_ids):
    """Ctrl+Delete is the delete-claim shortcut, and also "delete the next word": in the
    note it deletes the word. Out of the fields it deletes the claim, as before."""
    did = doc_ids["d1"]
    first = make_claim(document, "alice", HELICOPTER, note="two words").id
    login(page, "alice")
    open_document(page, did)
    page.locator(f'#claim-list button[data-claim-id="{first}"]').click()
    page.click("#note")
    page.keyboard.press("Control+Home")
    page.keyboard.press("Control+Delete")
    expect(page.locator("#note")).not_to_have_value("two words")
    expect(page.locator("#claim-form")).to_be_visible()
    assert [c["id"] for c in stored_claims(app, did)] == [first]
    page.click("#form-title")  # out of the field
    page.keyboard.press("Control+Delete")
    wait_saved(page, "Deleted")
    assert stored_claims(app, did) == []


def test_marking_done_with_an_unsaved_claim_open_asks_to_save_it_first(
        page: Page, app: Flask, doc_ids):
    did = doc_ids["d1"]
    login(page, "alice")
    open_document(page, did)
    open_claim_form(page, HELICOPTER)
    page.keyboard.press("1")
    page.fill("#note", "not saved yet")
    page.keyboard.press("Control+d")
    expect(page.locator("#save-status")).to_have_text("Save or cancel the open claim first")
    page.click("#mark-done")
    expect(page.locator("#save-status")).to_have_text("Save or cancel the open claim first")
    expect(page.locator("#claim-form")).to_be_visible()
    assert _status(app, "alice", did) == "in_progress"
    page.click("#save-claim")
    wait_saved(page)
    page.click("#mark-done")
    page.wait_for_url(f"**/documents/{doc_ids['d2']}")
    assert _status(app, "alice", did) == "done"
    assert [c["note"] for c in stored_claims(app, did)] == ["not saved yet"]


def test_missing_stance_shows_field_error_and_stores_nothing(page: Page, app: Flask, doc_ids):
    did = doc_ids["d1"]
    login(page, "alice")
    open_document(page, did)
    open_claim_form(page, HELICOPTER)
    page.fill("#note", "forgot the stance")
    page.click("#save-claim")
    wait_saved(page, "Not saved")
    error = page.locator('#claim-form [data-error-for="stance"]')
    expect(error).to_be_visible()
    expect(error).to_contain_text("stance")
    expect(page.locator("#form-error")).not_to_be_empty()
    expect(page.locator("#claim-form")).to_be_visible()
    assert stored_claims(app, did, include_deleted=True) == []
    assert api_claims(page, did) == []

    # Fixing it and saving again clears the error and stores the claim once.
    page.locator('input[name="stance"][value="asserts"]').click()
    page.click("#save-claim")
    wait_saved(page)
    (stored,) = stored_claims(app, did)
    assert (stored["stance"], stored["note"]) == ("asserts", "forgot the stance")


def test_blind_annotator_does_not_see_others_claims(page: Page, app: Flask, doc_ids):
    """Bob, annotating blind, sees none of alice's claims on the page."""
    with app.app_context():
        doc = db.session.get(Document, doc_ids["d1"])
        make_claim(doc, "alice", HELICOPTER)
    login(page, "bob")
    open_document(page, doc_ids["d1"])
    expect(page.locator("#claim-list li")).to_have_count(0)
    expect(page.locator("#text .seg")).to_have_count(0)


def test_a_manager_reads_an_unassigned_document_without_drawing_on_it(
        page: Page, app: Flask, document, doc_ids):
    did = doc_ids["d1"]
    theirs = make_claim(document, "alice", HELICOPTER).id
    login(page, "maria")
    open_document(page, did)
    expect(page.locator("#doc-status")).to_have_text("not assigned")
    expect(page.locator("#hint")).to_contain_text("not assigned to this document")
    drag_select(page, NO_AIRCRAFT)
    expect(page.locator("#save-status")).to_contain_text("Annotate this document")
    expect(page.locator("#claim-form")).to_be_hidden()
    page.locator(f'#claim-list button[data-claim-id="{theirs}"]').click()  # reading works
    expect(page.locator("#form-title")).to_have_text(f"Claim #{theirs} by alice")
    assert [c["id"] for c in stored_claims(app, did)] == [theirs]
    # By choice she joins the document's annotators: her claims then count as a coder's.
    page.click("#cancel-claim")
    page.click("#join-document")
    expect(page.locator("#doc-status")).to_have_text("in progress")
    expect(page.locator("#join-document")).to_be_hidden()
    open_claim_form(page, NO_AIRCRAFT)
    page.keyboard.press("2")
    page.click("#save-claim")
    wait_saved(page)
    assert sorted(c["annotator"] for c in stored_claims(app, did)) == ["alice", "maria"]
