"""A long document (100,000 characters, 1,000 claims, nested, overlapping and across
paragraphs) opens with every claim highlighted over exactly its text and listed, and one more
claim saved on it is drawn without disturbing the others. Correctness only: the timings are
bench/bench_longdoc.py's."""

from __future__ import annotations

import json
import random

from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import insert, select

from annotator.db import db
from annotator.models import Claim, Document, utcnow
from annotator.services import assignments, documents, users

from .conftest import drag_select, login, open_document, stored_claims, wait_saved

WORDS = ("ministry spokesman said the convoy was hit near the border while local sources "
         "reported heavy fire and officials denied any losses in the region").split()

# Every claim's highlighted text, gathered from the segments that carry its id.
HIGHLIGHTS_JS = """() => {
  const texts = {};
  for (const seg of document.querySelectorAll("#text .seg")) {
    for (const id of seg.dataset.claims.split(" ")) texts[id] = (texts[id] || "") + seg.textContent;
  }
  return texts;
}"""


def long_text(rng: random.Random, chars: int = 100_000) -> str:
    paragraphs, total = [], 0
    while total < chars:
        words = [rng.choice(WORDS) for _ in range(rng.randint(40, 120))]
        paragraph = " ".join(words).capitalize() + "."
        paragraphs.append(paragraph)
        total += len(paragraph) + 2
    return "\n\n".join(paragraphs)[:chars].rstrip()


def claim_spans(text: str, count: int, rng: random.Random) -> list[tuple[int, int]]:
    starts = [i for i, ch in enumerate(text) if ch != " " and ch != "\n"
              and (i == 0 or text[i - 1] in " \n")]
    spans = []
    step = len(starts) // count
    for n in range(count):
        first = starts[n * step]
        if spans and n % 7 == 0:  # nested in the previous claim
            ps, pe = spans[-1]
            spans.append((ps, ps + max(1, (pe - ps) // 2)))
            continue
        last = starts[min(n * step + rng.randint(2, 30), len(starts) - 1)] - 1
        spans.append((first, max(last, first + 1)))
    return spans


def test_a_long_document_opens_with_every_claim_drawn_and_listed(
        page: Page, app: Flask, document):
    rng = random.Random(3)
    text = long_text(rng)
    project = document.project
    documents.import_file(project, "long.jsonl", (json.dumps(
        {"id": "long", "title": "Long", "text": text}) + "\n").encode())
    assignments.assign(project, 2)
    long_doc = db.session.execute(select(Document).where(
        Document.project_id == project.id, Document.external_id == "long")).scalar_one()
    alice = users.by_username("alice")
    now = utcnow()
    spans = claim_spans(text, 1000, rng)
    db.session.execute(insert(Claim), [
        {"document_id": long_doc.id, "annotator_id": alice.id, "start": s, "end": e,
         "text": text[s:e], "stance": rng.choice(["asserts", "denies", "questions"]),
         "note": "", "scheme_version": project.scheme_version, "is_gold": False,
         "rejected": False, "version": 1, "created_at": now, "updated_at": now}
        for s, e in spans])
    db.session.commit()
    expected = {str(c["id"]): c["text"] for c in stored_claims(app, long_doc.id)}
    assert len(expected) == 1000
    assert sum("\n\n" in t for t in expected.values()) > 10  # some cross paragraphs

    login(page, "alice")
    open_document(page, long_doc.id)
    assert page.evaluate("() => document.getElementById('text').textContent") == text
    assert page.evaluate(HIGHLIGHTS_JS) == expected
    expect(page.locator("#claim-list li")).to_have_count(1000)

    # One more claim, made with the mouse far down the text: drawn, stored once; the others
    # keep their highlights.
    tail = text[-400:]
    needle = " ".join(tail.split(" ")[3:6])
    # Paragraphs off screen are laid out when scrolled to: let the layout settle first.
    for _ in range(2):
        page.locator("#text .para").last.scroll_into_view_if_needed()
        page.evaluate("() => new Promise((r) => requestAnimationFrame(() => "
                      "requestAnimationFrame(r)))")
    drag_select(page, needle, occurrence=text.count(needle) - 1)
    page.locator('input[name="stance"][value="asserts"]').click()
    page.click("#save-claim")
    wait_saved(page)
    new_id = page.locator("#annotate").get_attribute("data-last-saved-claim")
    drawn = page.evaluate(HIGHLIGHTS_JS)
    assert drawn[new_id] == needle
    assert {k: v for k, v in drawn.items() if k != new_id} == expected
    expect(page.locator("#claim-list li")).to_have_count(1001)
    assert len(stored_claims(app, long_doc.id)) == 1001
