"""Propositions in a real Chromium: alice links her claims from two articles to one
proposition (creating it from the first, picking it from the suggestions on the second) and
finds both on its timeline, in article-date order; evidence from another article is picked
by selecting text in that article's preview, and kept when its reader may no longer open that
article."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from annotator.db import db
from annotator.models import Assignment, Claim, ClaimLink, Document, Evidence
from annotator.services import assignments, claims, documents, users
from tests.conftest import span

from .conftest import login, open_document

FIRST = "The ministry denied that any helicopter was shot down over Tadmur on Saturday."
SECOND = "Two days later the ministry confirmed a helicopter was shot down near Tadmur."


@pytest.fixture
def articles(project):
    documents.import_file(project, "news.jsonl", (
        json.dumps({"id": "later", "title": "Ministry confirms loss", "text": SECOND,
                    "meta": {"published_at": "2016-05-16"}}) + "\n"
        + json.dumps({"id": "earlier", "title": "Ministry denies loss", "text": FIRST,
                      "meta": {"date": "2016-05-14"}}) + "\n").encode())
    assignments.assign(project, 2)
    found = {d.external_id: d for d in db.session.scalars(
        select(Document).where(Document.project_id == project.id))}
    alice = users.by_username("alice")
    made = {}
    for key, needle, stance in (("earlier", "any helicopter was shot down over Tadmur", "denies"),
                                ("later", "a helicopter was shot down near Tadmur", "confirms")):
        start, end = span(found[key].text, needle)
        made[key] = claims.create_claim(alice, found[key], {
            "start": start, "end": end, "text": needle, "stance": stance,
            "actor": "Russian Defense Ministry"}).id
    return {"documents": {k: d.id for k, d in found.items()}, "claims": made}


def watch_errors(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def test_link_two_claims_from_two_articles_and_see_both_on_the_timeline(
        page: Page, app, articles) -> None:
    problems = watch_errors(page)
    login(page, "alice")
    docs, made = articles["documents"], articles["claims"]

    open_document(page, docs["earlier"])
    page.locator(f'#claim-list button[data-claim-id="{made["earlier"]}"]').click()
    panel = page.locator("#proposition-panel")
    expect(panel).to_be_visible()
    expect(panel.locator("#proposition-current")).to_contain_text("Not linked")
    panel.locator("#new-proposition-text").fill("A helicopter was shot down near Tadmur")
    panel.locator("#create-proposition").click()
    expect(panel.locator("#proposition-current")).to_contain_text(
        "A helicopter was shot down near Tadmur")

    open_document(page, docs["later"])
    page.locator(f'#claim-list button[data-claim-id="{made["later"]}"]').click()
    suggestion = panel.locator("#proposition-suggestions li").first
    expect(suggestion).to_contain_text("A helicopter was shot down near Tadmur")
    suggestion.locator("button.link-proposition").click()
    expect(panel.locator("#proposition-current")).to_contain_text(
        "A helicopter was shot down near Tadmur")

    with app.app_context():
        links = db.session.scalars(select(ClaimLink)).all()
        assert {link.claim_id for link in links} == set(made.values())
        assert len({link.proposition_id for link in links}) == 1

    panel.locator("#proposition-current a.proposition-link").click()
    expect(page.locator("#proposition-text")).to_have_text(
        "A helicopter was shot down near Tadmur")
    entries = page.locator("#timeline li.timeline-entry")
    expect(entries).to_have_count(2)
    expect(entries.nth(0)).to_have_attribute("data-claim-id", str(made["earlier"]))
    expect(entries.nth(0)).to_contain_text("2016-05-14")
    expect(entries.nth(0)).to_contain_text("Ministry denies loss")
    expect(entries.nth(0).locator("blockquote")).to_have_text(
        "any helicopter was shot down over Tadmur")
    expect(entries.nth(1)).to_contain_text("2016-05-16")
    expect(entries.nth(1)).to_contain_text("Confirms")
    entries.nth(1).locator("a.document-link").click()
    page.wait_for_url(f"**/documents/{docs['later']}")
    # Let the page finish its requests: the database is emptied after the test.
    page.wait_for_selector("#annotate[data-ready=true]", state="attached")
    page.wait_for_load_state("networkidle")
    assert problems == []


def test_evidence_span_picked_in_another_article(page: Page, app, articles) -> None:
    problems = watch_errors(page)
    login(page, "alice")
    docs, made = articles["documents"], articles["claims"]
    open_document(page, docs["earlier"])
    page.locator(f'#claim-list button[data-claim-id="{made["earlier"]}"]').click()
    page.click("#add-evidence")
    item = page.locator("#evidence-list .evidence-item").last
    item.locator(".ev-relation").select_option("contradicts")
    item.locator(".ev-other-article").click()
    item.locator(".ev-other-document").select_option(label="Ministry confirms loss")
    preview = item.locator(".ev-other-preview")
    expect(preview).to_have_text(SECOND)
    quote = "the ministry confirmed"
    page.evaluate("""([quote]) => {
        const pre = document.querySelector("#evidence-list .ev-other-preview");
        const node = pre.firstChild, at = node.textContent.indexOf(quote);
        const range = document.createRange();
        range.setStart(node, at); range.setEnd(node, at + quote.length);
        const selection = window.getSelection();
        selection.removeAllRanges(); selection.addRange(range);
    }""", [quote])
    item.locator(".ev-other-use").click()
    expect(item.locator(".ev-quote")).to_have_text(quote)
    expect(item.locator(".ev-elsewhere")).to_contain_text("Ministry confirms loss")
    page.click("#save-claim")
    expect(page.locator("#save-status")).to_have_text("Saved")
    page.wait_for_load_state("networkidle")

    with app.app_context():
        (evidence,) = db.session.scalars(select(Evidence).where(
            Evidence.claim_id == made["earlier"], Evidence.deleted_at.is_(None))).all()
        start, end = span(SECOND, quote)
        assert (evidence.document_id, evidence.start, evidence.end, evidence.text) == (
            docs["later"], start, end, quote)
    assert problems == []


def test_an_edit_keeps_the_span_in_an_article_its_author_may_no_longer_open(
        page: Page, app, articles) -> None:
    problems = watch_errors(page)
    docs, made = articles["documents"], articles["claims"]
    alice = users.by_username("alice")
    quote = "the ministry confirmed"
    start, end = span(SECOND, quote)
    claim = db.session.get(Claim, made["earlier"])
    claims.update_claim(alice, claim, {"version": claim.version, "evidence": [
        {"type": "official_statement", "relation": "contradicts", "document_id": docs["later"],
         "start": start, "end": end, "text": quote}]})
    db.session.execute(db.delete(Assignment).where(Assignment.user_id == alice.id,
                                                   Assignment.document_id == docs["later"]))
    db.session.commit()

    login(page, "alice")
    open_document(page, docs["earlier"])
    page.locator(f'#claim-list button[data-claim-id="{made["earlier"]}"]').click()
    item = page.locator("#evidence-list .evidence-item")
    expect(item).to_have_count(1)
    expect(item.locator(".ev-quote")).to_have_text("a passage you may not open, kept as it is")
    expect(item.locator(".ev-elsewhere")).to_contain_text(f"article #{docs['later']}")
    assert quote not in page.content()
    item.locator(".ev-description").fill("seen before the reassignment")
    page.locator('input[name="stance"][value="questions"]').click()
    page.click("#save-claim")
    expect(page.locator("#save-status")).to_have_text("Saved")
    page.wait_for_load_state("networkidle")

    with app.app_context():
        stored = db.session.get(Claim, made["earlier"])
        assert stored.stance == "questions"
        (evidence,) = db.session.scalars(select(Evidence).where(
            Evidence.claim_id == made["earlier"], Evidence.deleted_at.is_(None))).all()
        assert (evidence.document_id, evidence.start, evidence.end, evidence.text,
                evidence.description) == (docs["later"], start, end, quote,
                                          "seen before the reassignment")
    assert problems == []
