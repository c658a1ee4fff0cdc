"""The agreement page in a real Chromium: a manager sees the figures and the heatmap, opens
the most disagreed document and lands on the side-by-side view, with both annotators'
claims highlighted in their stance colours and nothing refused by the CSP."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select

from annotator.db import db
from annotator.models import Document
from annotator.services import assignments, claims, documents, users
from tests.conftest import span

from .conftest import login


def make_claim(doc, username: str, needle: str, stance: str) -> None:
    start, end = span(doc.text, needle)
    claims.create_claim(users.by_username(username), doc, {
        "start": start, "end": end, "text": needle, "stance": stance})


def test_manager_goes_from_the_heatmap_to_the_most_disagreed_document(
        page: Page, document, doc_ids) -> None:
    d1 = document
    d2 = documents.neighbour(d1, users.by_username("alice"), unfinished_only=False)
    # d1: alice and bob mark the same claims but disagree on one stance; d2: they agree.
    make_claim(d1, "alice", "no aircraft was lost", "denies")
    make_claim(d1, "alice", "a helicopter was shot down", "asserts")
    make_claim(d1, "bob", "no aircraft was lost", "denies")
    make_claim(d1, "bob", "a helicopter was shot down", "questions")
    make_claim(d2, "alice", "second report", "asserts")
    make_claim(d2, "bob", "second report", "asserts")
    for name in ("alice", "bob"):
        for doc in (d1, d2):
            documents.set_status(doc, users.by_username(name), "done")
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    login(page, "maria")
    page.goto(f"/projects/{doc_ids['project']}")
    page.click("#agreement-link")
    expect(page.locator("h1")).to_have_text("Agreement")
    expect(page.locator("#documents-compared")).to_have_text("2")
    expect(page.locator("#f1-exact")).to_have_text("1.000")
    heatmap = page.locator("#pairs-heatmap svg")
    expect(heatmap).to_be_visible()
    expect(heatmap.locator("g.cell")).to_have_count(4)  # alice, bob × alice, bob
    expect(page.locator("#confusion-heatmap svg")).to_be_visible()
    expect(page.locator("#f1-histogram svg g.bar")).to_have_count(10)

    first = page.locator("#disagreed tbody tr").first
    expect(first).to_have_attribute("data-document-id", str(d1.id))
    first.locator("a.compare-link").click()

    page.wait_for_url(f"**/documents/{d1.id}/compare")
    page.wait_for_selector("#compare[data-ready=true]", state="attached")
    for name, stance in (("alice", "asserts"), ("bob", "questions")):
        lane = page.locator(f'section.lane[data-username="{name}"]')
        expect(lane.locator("mark.claim")).to_have_count(2)
        expect(lane.locator("mark.claim", has_text="no aircraft was lost")).to_have_attribute(
            "data-stance", "denies")
        expect(lane.locator("mark.claim", has_text="a helicopter was shot down")
               ).to_have_attribute("data-stance", stance)
        expect(lane.locator("tr[data-claim-id]")).to_have_count(2)
    # compare.js coloured the highlights with the scheme's stance colours (denies #d7191c)
    colour = page.locator('section.lane[data-username="bob"] mark[data-stance="denies"]'
                          ).evaluate("el => getComputedStyle(el).backgroundColor")
    assert colour.startswith("rgba(215, 25, 28"), colour
    assert not problems, problems


# Arabic for "the ministry said that the plane returned safely" (written for this test).
RTL_TEXT = "قالت الوزارة إن الطائرة عادت بسلام"


def test_offsets_after_a_right_to_left_quote_read_left_to_right(page: Page, project) -> None:
    """Without bidi isolation the offsets printed after an Arabic quote join its
    right-to-left run: "68–97" shows as "97–68"."""
    documents.import_file(project, "rtl.jsonl", (
        '{"id": "rtl", "text": "Report. ' + RTL_TEXT + ' End."}\n').encode())
    assignments.assign(project, 2)
    doc = db.session.scalars(select(Document).where(Document.external_id == "rtl")).one()
    needle = RTL_TEXT.split(" ", 2)[2]  # from the third word: the quote ends the run
    make_claim(doc, "alice", needle, "asserts")
    login(page, "maria")
    page.goto(f"/documents/{doc.id}/compare?include_unfinished=1")
    offsets = page.locator('section.lane[data-username="alice"] td.quote .muted')
    start, end = span(doc.text, needle)
    expect(offsets).to_have_text(f"{start}–{end}")
    # Where each printed digit lands on screen: the start's first digit left of the end's.
    lefts = offsets.evaluate("""(node) => {
      const text = node.firstChild, range = document.createRange(), x = [];
      for (const i of [0, text.length - 1]) {
        range.setStart(text, i); range.setEnd(text, i + 1);
        x.push(range.getBoundingClientRect().left);
      }
      return x;
    }""")
    assert lefts[0] < lefts[1], lefts
