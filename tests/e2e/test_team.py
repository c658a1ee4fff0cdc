"""Team annotation in a real Chromium: blind mode between two logged-in browsers, documents
only for their assignees, skipping with a reason, a claim's history, managers restoring
deleted claims, and untrusted names, URLs and titles rendered inert for a manager."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, Response, expect
from sqlalchemy import select

from annotator.db import db
from annotator.models import Assignment, AuditEvent, Claim, Document, Evidence, User
from annotator.services import claims, documents, projects, users
from annotator.services.errors import InvalidInput
from tests.conftest import PASSWORD, span

from .conftest import (
    TIMEOUT_MS,
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

NewPage = Callable[..., Page]


@pytest.fixture
def new_page(browser: Browser, base_url: str) -> Iterator[NewPage]:
    """A page in a browser context of its own (its own cookies), logged in as `username`."""
    contexts = []

    def make(username: str, password: str = PASSWORD, **context_args: Any) -> Page:
        context = browser.new_context(base_url=base_url, **context_args)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)
        login(page, username, password)
        return page

    yield make
    for context in contexts:
        context.close()


def make_claim(doc: Document, username: str, needle: str, stance: str = "asserts",
               **extra: Any) -> int:
    start, end = span(doc.text, needle)
    return claims.create_claim(users.by_username(username), doc, {
        "start": start, "end": end, "text": needle, "stance": stance, **extra}).id


def csrf_headers(page: Page) -> dict[str, str]:
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert token
    return {"X-CSRFToken": token}


def history_rows(page: Page) -> list[dict[str, Any]]:
    """The History section as data: one dict per event, with its listed field changes."""
    expect(page.locator("#history[data-loaded=true]")).to_be_visible()
    return page.locator("#history-list > li").evaluate_all("""(items) => items.map((li) => ({
        action: li.dataset.action, entity: li.dataset.entity,
        entity_id: Number(li.dataset.entityId),
        user: li.querySelector(".history-user").textContent,
        at: li.querySelector("time").dateTime, when: li.querySelector("time").textContent,
        text: li.textContent,
        changes: Object.fromEntries([...li.querySelectorAll(".history-changes li")]
                                    .map((c) => [c.dataset.field, c.textContent])),
    }))""")


def assignment(app: Flask, username: str, did: int) -> tuple[str, str | None] | None:
    with app.app_context():
        row = db.session.execute(
            select(Assignment.status, Assignment.skip_reason).join(User).where(
                User.username == username, Assignment.document_id == did)
        ).one_or_none()
        return tuple(row) if row else None


# ---------- blind mode ----------


def test_blind_mode_between_two_browsers(new_page: NewPage, app: Flask, doc_ids):
    did = doc_ids["d1"]
    secret = "alice-only note 7f3a9c"

    alice = new_page("alice")
    open_document(alice, did)
    drag_select(alice, HELICOPTER)
    alice.locator('input[name="stance"][value="denies"]').click()
    alice.fill("#actor", "Amaq")
    alice.fill("#note", secret)
    alice.click("#save-claim")
    wait_saved(alice)
    cid = int(alice.locator("#annotate").get_attribute("data-last-saved-claim"))
    expect(alice.locator("#claim-count")).to_have_text("(1)")

    bob = new_page("bob")
    responses: list[Response] = []
    bob.on("response", lambda response: responses.append(response))
    open_document(bob, did)
    expect(bob.locator("#claim-count")).to_have_text("(0)")
    expect(bob.locator("#claim-list li")).to_have_count(0)
    expect(bob.locator("#text .seg")).to_have_count(0)
    expect(bob.locator("#skip-document")).to_be_visible()  # bob is assigned: he may skip
    html = bob.content()
    assert secret not in html
    assert f"Claim #{cid}" not in html
    assert bob.locator("[data-claim-id], [data-claims]").count() == 0

    # Nothing bob's page fetched mentions alice's claim.
    fetched = {r.url: r for r in responses if "/api/" in r.url}
    claims_url = next(u for u in fetched if u.endswith(f"/documents/{did}/claims"))
    assert fetched[claims_url].json() == []
    for url, response in fetched.items():
        body = response.text()
        assert secret not in body, url
        assert '"annotator": "alice"' not in body.replace('":"', '": "'), url
    listed = bob.request.get(f"/api/v1/projects/{doc_ids['project']}/documents").json()
    assert {d["id"]: d["claims"] for d in listed}[did] == 0

    # Guessing the id gets bob nothing, and changes nothing.
    headers = csrf_headers(bob)
    assert bob.request.get(f"/api/v1/claims/{cid}").status == 404
    assert bob.request.get(f"/api/v1/claims/{cid}/history").status == 404
    patched = bob.request.patch(f"/api/v1/claims/{cid}", headers=headers,
                                data={"version": 1, "stance": "asserts", "note": "bob was here"})
    assert patched.status == 404
    assert secret not in patched.text()
    assert bob.request.delete(f"/api/v1/claims/{cid}?version=1", headers=headers).status == 404
    assert bob.request.post(f"/api/v1/claims/{cid}/restore", headers=headers).status == 404
    assert bob.request.get(f"/api/v1/documents/{did}/claims?deleted=true").status == 403
    (stored,) = stored_claims(app, did, include_deleted=True)
    assert stored == {**stored, "id": cid, "stance": "denies", "note": secret, "version": 1,
                      "deleted_at": None, "annotator": "alice"}
    with app.app_context():
        assert db.session.execute(select(AuditEvent.action).where(
            AuditEvent.claim_id == cid, AuditEvent.entity == "claim")).scalars().all() == ["create"]

    # The manager sees everyone's claims, marked with their annotator, read-only.
    maria = new_page("maria")
    open_document(maria, did)
    expect(maria.locator("#claim-list li")).to_have_count(1)
    expect(maria.locator("#claim-list li")).to_contain_text("by alice")
    assert highlighted_text(maria, cid) == HELICOPTER
    maria.locator(f'#claim-list button[data-claim-id="{cid}"]').click()
    expect(maria.locator("#form-title")).to_have_text(f"Claim #{cid} by alice")
    expect(maria.locator("#note")).to_have_value(secret)
    expect(maria.locator("#readonly-note")).to_have_text("Only alice can change this claim.")
    expect(maria.locator("#save-claim")).to_be_hidden()
    expect(maria.locator("#delete-claim")).to_be_hidden()
    (created,) = history_rows(maria)
    assert (created["action"], created["entity"], created["user"]) == ("create", "claim", "alice")
    # Alice, meanwhile, still sees only her one claim and bob still none.
    assert [c["id"] for c in api_claims(alice, did)] == [cid]
    assert api_claims(bob, did) == []


def test_annotator_cannot_open_a_document_not_assigned_to_them(new_page: NewPage, app: Flask,
                                                              document, doc_ids):
    project = document.project
    documents.import_file(project, "bob.jsonl", (json.dumps(
        {"id": "d3", "title": "Only for bob", "text": "A third report, for bob alone."})
        + "\n").encode())
    third = db.session.execute(select(Document.id).where(
        Document.project_id == project.id, Document.external_id == "d3")).scalar_one()
    db.session.add(Assignment(document_id=third, user_id=users.by_username("bob").id,
                              status="todo"))
    db.session.commit()

    alice = new_page("alice")
    response = alice.goto(f"/documents/{third}")
    assert response is not None
    assert response.status == 404, (response.status, response.url, alice.content()[:3000])
    assert alice.locator("#annotate").count() == 0
    assert "A third report" not in alice.content()
    alice.goto(f"/projects/{doc_ids['project']}")
    assert "Only for bob" not in alice.content()
    listed = alice.request.get(f"/api/v1/projects/{doc_ids['project']}/documents").json()
    assert [d["id"] for d in listed] == [doc_ids["d1"], doc_ids["d2"]]
    assert alice.request.get(f"/api/v1/documents/{third}").status == 404
    assert alice.request.get(f"/api/v1/documents/{third}/claims").status == 404

    bob = new_page("bob")
    open_document(bob, third)
    expect(bob.locator("#doc-title")).to_have_text("Only for bob")
    expect(bob.locator("#doc-status")).to_have_text("in progress")


# ---------- skipping ----------


def test_skip_with_a_reason(page: Page, app: Flask, doc_ids):
    d1, d2 = doc_ids["d1"], doc_ids["d2"]
    login(page, "alice")
    open_document(page, d1)
    expect(page.locator("#skip-form")).to_be_hidden()
    page.click("#skip-document")
    expect(page.locator("#skip-form")).to_be_visible()
    expect(page.locator("#skip-reason")).to_be_focused()

    # No reason: the server's field error is shown and nothing moves.
    page.click("#skip-confirm")
    expect(page.locator("#skip-error")).to_contain_text("reason: is required")
    wait_saved(page, "Not skipped")
    assert page.url.endswith(f"/documents/{d1}")
    assert assignment(app, "alice", d1) == ("in_progress", None)

    page.fill("#skip-reason", "duplicate of another report")
    page.click("#skip-confirm")
    page.wait_for_url(f"**/documents/{d2}")
    page.wait_for_selector("#annotate[data-ready=true]", state="attached")
    assert assignment(app, "alice", d1) == ("skipped", "duplicate of another report")
    assert assignment(app, "bob", d1) == ("todo", None)

    # Enter submits the inline form; with nothing left open, the project page follows.
    page.click("#skip-document")
    page.fill("#skip-reason", "not in English")
    page.press("#skip-reason", "Enter")
    page.wait_for_url(f"**/projects/{doc_ids['project']}")
    assert assignment(app, "alice", d2) == ("skipped", "not in English")


# ---------- history ----------


def test_history_lists_edits_and_evidence_keeps_its_id(new_page: NewPage, app: Flask,
                                                       document, doc_ids):
    did = doc_ids["d1"]
    cid = make_claim(document, "alice", HELICOPTER, "asserts", actor="Amaq", evidence=[
        {"type": "video", "relation": "supports", "description": "first description",
         "source_url": "https://example.org/video"}])
    with app.app_context():
        (evidence_id,) = db.session.execute(
            select(Evidence.id).where(Evidence.claim_id == cid)).scalars().all()

    zone = "Asia/Kathmandu"  # UTC+05:45: a local time that cannot pass for UTC by accident
    page = new_page("alice", timezone_id=zone)
    open_document(page, did)
    expect(page.locator("#history")).to_be_hidden()
    page.locator(f'#claim-list button[data-claim-id="{cid}"]').click()
    rows = history_rows(page)
    assert [(r["action"], r["entity"]) for r in rows] == [("create", "claim"),
                                                          ("create", "evidence")]
    assert rows[0]["changes"]["stance"] == "stance: “asserts”"
    assert rows[1]["entity_id"] == evidence_id
    assert rows[1]["changes"]["description"] == "description: “first description”"

    item = page.locator("#evidence-list .evidence-item")
    expect(item).to_have_attribute("data-evidence-id", str(evidence_id))
    expect(item.locator(".ev-source-url")).to_have_value("https://example.org/video")
    expect(item.locator(".ev-source-link")).to_have_attribute("href", "https://example.org/video")
    page.locator('input[name="stance"][value="denies"]').click()
    item.locator(".ev-description").fill("second description")
    page.click("#save-claim")
    wait_saved(page)
    expect(page.locator("#history")).to_be_hidden()  # the form closed with the save

    page.locator(f'#claim-list button[data-claim-id="{cid}"]').click()
    rows = history_rows(page)
    assert [(r["action"], r["entity"]) for r in rows] == [
        ("create", "claim"), ("create", "evidence"), ("update", "claim"), ("update", "evidence")]
    claim_update, evidence_update = rows[2], rows[3]
    assert claim_update["changes"] == {"stance": "stance: “asserts” → “denies”",
                                       "evidence": "evidence"}
    assert evidence_update["entity_id"] == evidence_id
    assert evidence_update["changes"] == {
        "description": "description: “first description” → “second description”"}
    assert all(r["user"] == "alice" for r in rows)
    assert "updated evidence #" in evidence_update["text"]

    # "When" is the browser's local time; the UTC instant stays in the datetime attribute.
    at = datetime.fromisoformat(evidence_update["at"].replace("Z", "+00:00"))
    assert evidence_update["when"] == at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")
    assert evidence_update["when"] != at.strftime("%Y-%m-%d %H:%M:%S")

    with app.app_context():
        kept = db.session.execute(select(Evidence).where(Evidence.claim_id == cid)).scalars().all()
        assert [(e.id, e.description, e.deleted_at, e.source_url) for e in kept] == [
            (evidence_id, "second description", None, "https://example.org/video")]
        assert db.session.get(Claim, cid).stance == "denies"


# ---------- restoring ----------


def test_manager_restores_a_deleted_claim(new_page: NewPage, app: Flask, document, doc_ids):
    did = doc_ids["d1"]
    kept = make_claim(document, "alice", NO_AIRCRAFT, "denies")
    doomed = make_claim(document, "alice", HELICOPTER, "asserts", actor="Amaq")

    alice = new_page("alice")
    open_document(alice, did)
    assert alice.locator("#deleted-claims").count() == 0  # annotators restore nothing
    alice.locator(f'#claim-list button[data-claim-id="{doomed}"]').click()
    alice.click("#delete-claim")
    wait_saved(alice, "Deleted")
    expect(alice.locator("#claim-list li")).to_have_count(1)
    assert alice.request.get(f"/api/v1/documents/{did}/claims?deleted=true").status == 403
    assert alice.request.post(f"/api/v1/claims/{doomed}/restore",
                              headers=csrf_headers(alice)).status == 404

    maria = new_page("maria")
    open_document(maria, did)
    expect(maria.locator("#doc-status")).to_have_text("not assigned")
    expect(maria.locator("#skip-document")).to_be_hidden()
    expect(maria.locator("#mark-done")).to_be_hidden()
    expect(maria.locator("#next-document")).to_be_enabled()  # reviews the project in order
    expect(maria.locator("#claim-list li")).to_have_count(1)
    deleted = maria.locator("#deleted-list li")
    expect(deleted).to_have_count(1)
    expect(deleted).to_contain_text(HELICOPTER)
    expect(deleted).to_contain_text("by alice · deleted ")
    expect(maria.locator("#deleted-count")).to_have_text("(1)")

    deleted.locator(f'button.restore[data-claim-id="{doomed}"]').click()
    wait_saved(maria, "Restored")
    expect(maria.locator("#deleted-list li")).to_have_count(0)
    expect(maria.locator("#claim-list li")).to_have_count(2)
    expect(maria.locator(f'#claim-list button[data-claim-id="{doomed}"]')).to_contain_text(
        "by alice")
    assert highlighted_text(maria, doomed) == HELICOPTER
    expect(maria.locator(f'#text .seg.selected[data-claims~="{doomed}"]').first).to_be_visible()
    expect(maria.locator("#form-title")).to_have_text(f"Claim #{doomed} by alice")
    rows = history_rows(maria)
    assert [(r["action"], r["user"]) for r in rows] == [
        ("create", "alice"), ("delete", "alice"), ("restore", "maria")]

    restored = [c for c in stored_claims(app, did, include_deleted=True) if c["id"] == doomed]
    assert restored[0]["deleted_at"] is None
    assert {c["id"] for c in stored_claims(app, did)} == {kept, doomed}

    alice.reload()
    alice.wait_for_selector("#annotate[data-ready=true]", state="attached")
    expect(alice.locator("#claim-list li")).to_have_count(2)
    assert highlighted_text(alice, doomed) == HELICOPTER


# ---------- untrusted names, URLs and titles ----------

IMG = "<img src=x onerror=alert(1)>"
BREAKOUT = "</script><script>alert(1)</script>"
JS_URL = "javascript:alert(1)"
XSS_TITLE = f"Title {BREAKOUT}"
XSS_TEXT = f"Quoted {BREAKOUT} verbatim, and a link {JS_URL} in the text.\nMore text here."


def test_markup_in_usernames_urls_and_titles_stays_inert(new_page: NewPage, app: Flask,
                                                         document):
    project = document.project
    try:
        evil = users.create_user(IMG, PASSWORD)
    except InvalidInput as exc:  # a stricter username rule is fine too: then nothing to render
        assert "username" in exc.fields
        pytest.skip("usernames with markup are rejected")
    projects.add_member(project, evil, "annotator")
    documents.import_file(project, "xss.jsonl", (json.dumps(
        {"id": "x1", "title": XSS_TITLE, "text": XSS_TEXT}) + "\n").encode())
    doc = db.session.execute(select(Document).where(
        Document.project_id == project.id, Document.external_id == "x1")).scalar_one()
    db.session.add(Assignment(document_id=doc.id, user_id=evil.id, status="todo"))
    # maria annotates it too (below): only a document's assignees draw claims on it.
    db.session.add(Assignment(document_id=doc.id, user_id=users.by_username("maria").id,
                              status="todo"))
    db.session.commit()
    first = make_claim(doc, IMG, BREAKOUT, "asserts", note=JS_URL, evidence=[
        {"type": "other", "relation": "supports", "description": IMG, "source_url": JS_URL}])
    start, end = span(XSS_TEXT, f"{BREAKOUT} verbatim")
    second = claims.create_claim(evil, doc, {"start": start, "end": end,
                                             "text": XSS_TEXT[start:end], "stance": "denies"}).id
    claims.update_claim(evil, db.session.get(Claim, first), {"version": 1, "note": IMG})
    gone = make_claim(doc, IMG, "More text", "questions")
    claims.delete_claim(evil, db.session.get(Claim, gone))

    maria = new_page("maria")
    dialogs: list[str] = []
    maria.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_document(maria, doc.id)
    assert BREAKOUT in maria.title()
    expect(maria.locator("#doc-title")).to_have_text(XSS_TITLE)
    assert maria.locator("#text").text_content() == XSS_TEXT
    expect(maria.locator(f'#claim-list button[data-claim-id="{first}"]')).to_contain_text(
        f"by {IMG}")
    expect(maria.locator("#deleted-list")).to_contain_text(f"by {IMG}")

    # The overlap menu names the annotator as text.
    maria.locator(f'#text .seg[data-claims~="{first}"][data-claims~="{second}"]').first.click()
    menu = maria.locator("#claim-menu")
    expect(menu.locator("button")).to_have_count(2)
    expect(menu).to_contain_text(f"by {IMG}")
    menu.locator(f'button[data-claim-id="{first}"]').click()
    expect(maria.locator("#form-title")).to_have_text(f"Claim #{first} by {IMG}")
    expect(maria.locator("#readonly-note")).to_contain_text(IMG)
    expect(maria.locator("#note")).to_have_value(IMG)
    item = maria.locator("#evidence-list .evidence-item")
    expect(item.locator(".ev-source-url")).to_have_value(JS_URL)
    expect(item.locator(".ev-description")).to_have_value(IMG)
    expect(item.locator(".ev-source-link")).to_be_hidden()
    rows = history_rows(maria)
    assert {r["user"] for r in rows} == {IMG}
    update = next(r for r in rows if r["action"] == "update")
    assert update["changes"]["note"] == f"note: “{JS_URL}” → “{IMG}”"

    # Typed in the browser by the manager: a javascript: source URL and note stay text.
    maria.click("#cancel-claim")
    drag_select(maria, "More text here")
    maria.locator('input[name="stance"][value="unclear"]').click()
    maria.fill("#note", JS_URL)
    maria.click("#add-evidence")
    new_item = maria.locator("#evidence-list .evidence-item")
    new_item.locator(".ev-source-url").fill(JS_URL)
    expect(new_item.locator(".ev-source-link")).to_be_hidden()
    new_item.locator(".ev-source-url").fill("https://example.org/x?a=<b>")
    expect(new_item.locator(".ev-source-link")).to_be_visible()
    new_item.locator(".ev-source-url").fill(JS_URL)
    maria.click("#save-claim")
    wait_saved(maria)
    mine = int(maria.locator("#annotate").get_attribute("data-last-saved-claim"))
    stored = maria.request.get(f"/api/v1/claims/{mine}").json()
    assert (stored["note"], stored["evidence"][0]["source_url"]) == (JS_URL, JS_URL)

    maria.wait_for_timeout(300)  # give a broken image's onerror every chance to fire
    assert dialogs == []
    assert maria.evaluate("() => document.querySelectorAll('img').length") == 0
    assert maria.locator("script:not([src]):not(#scheme-data)").count() == 0
    assert maria.locator('a[href^="javascript"], [onerror]').count() == 0


def test_a_manager_adds_a_stance_and_the_annotator_uses_it_after_a_reload(
        page: Page, app: Flask, document, doc_ids) -> None:
    """The Label scheme card on the Members page, in a real browser: the JSON edited in
    place, saved as version 2; an annotator's reloaded page offers the new stance."""
    login(page, "maria")
    page.goto(f"/projects/{doc_ids['project']}/members")
    editor = page.locator("#label-scheme textarea")
    scheme = json.loads(editor.input_value())
    scheme["stances"].append({"value": "retracts", "label": "Retracts", "color": "#336699",
                              "key": "6"})
    editor.fill(json.dumps(scheme, indent=2))
    page.locator("#label-scheme button[type=submit]").click()
    expect(page.locator(".flashes")).to_contain_text("Label scheme saved as version 2")
    expect(page.locator("#label-scheme h2")).to_contain_text("version 2")

    page.context.clear_cookies()
    login(page, "alice")
    open_document(page, doc_ids["d1"])
    drag_select(page, "no aircraft was lost")
    expect(page.locator('input[name="stance"][value="retracts"]')).to_have_count(1)
    page.keyboard.press("6")
    expect(page.locator('input[name="stance"][value="retracts"]')).to_be_checked()
    page.click("#save-claim")
    expect(page.locator("#annotate")).to_have_attribute("data-queue", "saved", timeout=TIMEOUT_MS)
    with app.app_context():
        stored = db.session.scalars(select(Claim).where(Claim.document_id == doc_ids["d1"])).one()
        assert (stored.stance, stored.scheme_version) == ("retracts", 2)
