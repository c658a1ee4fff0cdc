"""Helpers for the real-browser tests: log in through the form, select text with the mouse,
read highlights back from the page and the stored claims from the database."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from annotator.db import db
from annotator.models import Claim, Document
from annotator.services import claims, users
from tests.conftest import PASSWORD, span

TIMEOUT_MS = 5_000


@pytest.fixture
def page(page: Page) -> Page:
    """pytest-playwright's page, failing fast instead of waiting 30 s for what never comes."""
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    return page


@pytest.fixture
def dialogs(page: Page) -> list[str]:
    """Every alert/confirm/prompt the page opens (dismissed at once)."""
    seen: list[str] = []

    def record(dialog) -> None:
        seen.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", record)
    return seen


@pytest.fixture
def doc_ids(document) -> dict[str, int]:
    """Ids of the sample project and its two documents ("d1" is SAMPLE_TEXT)."""
    rows = db.session.execute(
        select(Document.external_id, Document.id).where(Document.project_id == document.project_id)
    ).all()
    return {"project": document.project_id, **dict(rows)}


def make_claim(doc, needle: str, stance: str = "asserts", **extra: Any) -> int:
    """alice's claim on `needle`, stored through the service as if made earlier; its id."""
    start, end = span(doc.text, needle)
    return claims.create_claim(users.by_username("alice"), doc, {
        "start": start, "end": end, "text": needle, "stance": stance, **extra}).id


def login(page: Page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".topbar .who")).to_have_text(username)


def open_document(page: Page, document_id: int) -> None:
    page.goto(f"/documents/{document_id}")
    # data-ready: the text can be annotated; the claim list is filled just after it.
    page.wait_for_selector("#annotate[data-ready=true][data-list-ready=true]", state="attached")


_BOXES_JS = """([needle, occurrence]) => {
  const root = document.getElementById("text");
  const full = root.textContent;            // UTF-16, as the DOM counts
  let at = -1;
  for (let i = 0; i <= occurrence; i++) {
    at = full.indexOf(needle, at + 1);
    if (at < 0) return null;
  }
  const locate = (offset) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    let seen = 0, node;
    while ((node = walker.nextNode())) {
      if (offset < seen + node.length) return [node, offset - seen];
      seen += node.length;
    }
    throw new Error("offset past the text");
  };
  const box = (offset, last) => {
    const [node, inNode] = locate(offset);
    const range = document.createRange();
    range.setStart(node, inNode);
    range.setEnd(node, inNode + 1);
    const rects = range.getClientRects();
    const r = rects[last ? rects.length - 1 : 0];
    return { x: r.left, y: r.top, width: r.width, height: r.height };
  };
  return { first: box(at, false), last: box(at + needle.length - 1, true) };
}"""


def drag_select(page: Page, needle: str, occurrence: int = 0) -> None:
    """Select `needle` in the article with a real mouse drag: press in the left part of its
    first character, move, release in the right part of its last character."""
    boxes = page.evaluate(_BOXES_JS, [needle, occurrence])
    assert boxes, f"{needle!r} is not in the article text"
    first, last = boxes["first"], boxes["last"]
    x0, y0 = first["x"] + first["width"] * 0.3, first["y"] + first["height"] / 2
    x1, y1 = last["x"] + last["width"] * 0.7, last["y"] + last["height"] / 2
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=4)
    page.mouse.move(x1, y1, steps=4)
    # Checked before the release: the page re-renders the text on mouseup.
    selected = page.evaluate("() => window.getSelection().toString()")
    page.mouse.up()
    assert selected == needle, f"the drag selected {selected!r}, not {needle!r}"


def wait_saved(page: Page, status: str = "Saved") -> None:
    expect(page.locator("#save-status")).to_have_text(status)


def highlighted_text(page: Page, claim_id: int) -> str:
    """The text of every `#text .seg` segment that belongs to the claim, in order."""
    return page.evaluate(
        """(id) => [...document.querySelectorAll("#text .seg")]
              .filter((s) => s.dataset.claims.split(" ").includes(String(id)))
              .map((s) => s.textContent).join("")""",
        claim_id,
    )


def api_claims(page: Page, document_id: int) -> list[dict[str, Any]]:
    """The claims the logged-in user sees, through the page's own session."""
    response = page.request.get(f"/api/v1/documents/{document_id}/claims")
    assert response.ok, response.text()
    return response.json()


def stored_claims(app: Flask, document_id: int, *,
                  include_deleted: bool = False) -> list[dict[str, Any]]:
    """The claims in the database (a fresh session, so what the server committed)."""
    with app.app_context():
        query = select(Claim).where(Claim.document_id == document_id).order_by(Claim.id)
        if not include_deleted:
            query = query.where(Claim.deleted_at.is_(None))
        return [
            {
                "id": c.id, "start": c.start, "end": c.end, "text": c.text,
                "stance": c.stance, "verdict": c.verdict, "note": c.note,
                "version": c.version, "deleted_at": c.deleted_at,
                "actor": c.actor.name if c.actor else None,
                "annotator": c.annotator.username,
                "evidence": [
                    {"type": e.type, "relation": e.relation, "description": e.description,
                     "start": e.start, "end": e.end, "text": e.text}
                    for e in c.evidence
                ],
            }
            for c in db.session.execute(query).scalars()
        ]
