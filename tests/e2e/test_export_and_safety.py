"""In a real Chromium: the manager's JSONL export of what was annotated in the browser, untrusted
text rendered inert, and a screenshot of the annotation page with overlapping claims."""

from __future__ import annotations

import json
import os
import shutil
import struct
from pathlib import Path

from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from annotator.db import db
from annotator.models import Document
from annotator.services import assignments, claims, documents, projects, users
from annotator.validation import validator
from tests.conftest import SAMPLE_TEXT, span

from .conftest import (
    TIMEOUT_MS,
    api_claims,
    drag_select,
    highlighted_text,
    login,
    open_document,
    wait_saved,
)

HELICOPTER = "said a helicopter was shot down"
VIDEO = "Amaq’s video shows machine-gun fire"


def logout(page: Page) -> None:
    page.locator(".topbar form button[type=submit]").click()
    expect(page.locator("#username")).to_be_visible()


def test_export_jsonl_after_browser_annotation(page: Page, app: Flask, doc_ids, tmp_path: Path):
    did = doc_ids["d1"]
    login(page, "alice")
    open_document(page, did)
    drag_select(page, HELICOPTER)
    expect(page.locator("#claim-form")).to_be_visible()
    page.locator('input[name="stance"][value="asserts"]').click()
    page.fill("#actor", "Amaq")
    drag_select(page, "Local sources")
    page.click("#use-selection-mention")
    expect(page.locator("#mention-quote")).to_have_text("Local sources")
    page.click("#add-evidence")
    drag_select(page, VIDEO)
    page.locator("#evidence-list .ev-use-selection").click()
    page.click("#save-claim")
    wait_saved(page)
    drag_select(page, "Игорь Конашенков")
    page.keyboard.press("5")
    page.keyboard.press("Control+Enter")
    wait_saved(page)
    assert len(api_claims(page, did)) == 2

    logout(page)
    login(page, "maria")
    page.goto(f"/projects/{doc_ids['project']}")
    with page.expect_download() as info:
        page.click("#export-jsonl")
    download = info.value
    assert download.suggested_filename == f"project-{doc_ids['project']}-all.jsonl"
    target = tmp_path / "export.jsonl"
    download.save_as(target)

    lines = target.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    check = validator("export-record.schema.json")
    for record in records:
        check.validate(record)
    assert [r["id"] for r in records] == ["d1", "d2"]
    first, second = records
    assert first["text"] == SAMPLE_TEXT and second["claims"] == []
    assert {"annotator": "alice", "status": "in_progress"} in first["annotators"]
    spans = 0
    for claim in first["claims"]:
        assert first["text"][claim["start"]:claim["end"]] == claim["text"]
        spans += 1
        if claim["actor_mention"]:
            mention = claim["actor_mention"]
            assert first["text"][mention["start"]:mention["end"]] == mention["text"]
            spans += 1
        for evidence in claim["evidence"]:
            assert first["text"][evidence["start"]:evidence["end"]] == evidence["text"]
            spans += 1
    assert spans == 4
    by_text = {c["text"]: c for c in first["claims"]}
    assert set(by_text) == {HELICOPTER, "Игорь Конашенков"}
    helicopter = by_text[HELICOPTER]
    assert (helicopter["start"], helicopter["end"]) == span(SAMPLE_TEXT, HELICOPTER)
    assert helicopter["actor_mention"]["text"] == "Local sources"
    assert helicopter["evidence"][0]["text"] == VIDEO
    assert (helicopter["annotator"], helicopter["actor"]) == ("alice", "Amaq")
    assert by_text["Игорь Конашенков"]["stance"] == "unclear"


SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
XSS_TITLE = f"Report {SCRIPT} {IMG}"
XSS_TEXT = f"They wrote {SCRIPT} and then {IMG} in the comments.\nAlso ' \" & <b>bold</b>."


def test_untrusted_text_renders_inert(page: Page, app: Flask, document, dialogs: list[str]):
    project = document.project
    documents.import_file(project, "xss.jsonl", (json.dumps(
        {"id": "x1", "title": XSS_TITLE, "text": XSS_TEXT}) + "\n").encode())
    assignments.assign(project, 2)
    doc = db.session.execute(select(Document).where(
        Document.project_id == project.id, Document.external_id == "x1")).scalar_one()
    projects.add_actor(project, IMG)
    alice = users.by_username("alice")
    start, end = span(XSS_TEXT, SCRIPT)
    stored = claims.create_claim(alice, doc, {
        "start": start, "end": end, "text": SCRIPT, "stance": "asserts", "actor": IMG,
        "note": f"note {SCRIPT} {IMG}",
        "evidence": [{"type": "other", "relation": "supports", "description": IMG}]})
    start2, end2 = span(XSS_TEXT, f"{SCRIPT} and then {IMG}")
    overlapping = claims.create_claim(alice, doc, {
        "start": start2, "end": end2, "text": XSS_TEXT[start2:end2], "stance": "denies"})
    did, first_id, second_id = doc.id, stored.id, overlapping.id

    login(page, "alice")
    page.goto(f"/projects/{project.id}")
    expect(page.locator("#documents")).to_contain_text(XSS_TITLE)
    assert page.locator("#documents img, #documents script").count() == 0

    open_document(page, did)
    assert SCRIPT in page.title()
    expect(page.locator("#doc-title")).to_have_text(XSS_TITLE)
    assert page.locator("#text").text_content() == XSS_TEXT
    assert page.locator("#annotate img, #text script, #text b, #claim-list script").count() == 0
    assert highlighted_text(page, first_id) == SCRIPT
    expect(page.locator("#claim-list")).to_contain_text(IMG)
    expect(page.locator("#claim-list")).to_contain_text(SCRIPT)
    assert page.locator(f'#actor-list option[value="{IMG}"]').count() == 1

    # Both claims in the overlap menu, as text.
    page.locator(f'#text .seg[data-claims~="{first_id}"][data-claims~="{second_id}"]').click()
    menu = page.locator("#claim-menu")
    expect(menu).to_contain_text(SCRIPT)
    assert menu.locator("img, script").count() == 0
    menu.locator(f'button[data-claim-id="{first_id}"]').click()
    expect(page.locator("#claim-quote")).to_have_text(SCRIPT)
    expect(page.locator("#actor")).to_have_value(IMG)
    expect(page.locator("#note")).to_have_value(f"note {SCRIPT} {IMG}")
    expect(page.locator("#evidence-list .ev-description")).to_have_value(IMG)

    # A new actor and a note typed in the browser stay text too.
    page.click("#cancel-claim")
    drag_select(page, "in the comments")
    page.fill("#actor", SCRIPT)
    page.fill("#note", IMG)
    page.locator('input[name="stance"][value="questions"]').click()
    page.click("#save-claim")
    wait_saved(page)
    page.reload()
    page.wait_for_selector("#annotate[data-ready=true]", state="attached")
    expect(page.locator("#claim-list li")).to_have_count(3)
    expect(page.locator("#claim-list")).to_contain_text(f"{SCRIPT} · Questions")
    assert page.locator("#annotate img, #text script, #claim-list script").count() == 0
    assert page.locator(f'#actor-list option[value="{SCRIPT}"]').count() == 1
    page.wait_for_timeout(300)  # give a broken image's onerror every chance to fire
    assert dialogs == []
    assert page.evaluate("() => document.querySelectorAll('img').length") == 0


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


def test_screenshot_of_overlapping_claims(browser: Browser, base_url: str, document, doc_ids,
                                          tmp_path: Path):
    """The README's picture; ANNOTATOR_SCREENSHOT=docs/screenshot.png keeps a copy."""
    alice = users.by_username("alice")

    def claim(needle: str, stance: str, **extra) -> int:
        start, end = span(SAMPLE_TEXT, needle)
        return claims.create_claim(alice, document, {
            "start": start, "end": end, "text": needle, "stance": stance, **extra}).id

    def mention(needle: str) -> dict[str, object]:
        start, end = span(SAMPLE_TEXT, needle)
        return {"start": start, "end": end, "text": needle}

    projects.add_actor(document.project, "Local sources in Palmyra")
    claim("“no aircraft was lost”", "denies", actor="Russian Defense Ministry",
          verdict="refuted", actor_mention=mention("the ministry’s spokesman"))
    shown = claim(HELICOPTER, "asserts", actor="Local sources in Palmyra",
                  actor_mention=mention("Local sources"), verdict="supported",
                  note="Matches the Amaq video.",
                  evidence=[{"type": "video", "relation": "supports",
                             "description": "Amaq video of the attack",
                             "start": span(SAMPLE_TEXT, VIDEO)[0],
                             "end": span(SAMPLE_TEXT, VIDEO)[1]}])
    claim("a helicopter was shot down by a missile", "confirms", actor="Amaq")
    claim("helicopter", "questions")
    claim("not a missile", "asserts", actor="Amaq")

    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=base_url)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        login(page, "alice")
        open_document(page, doc_ids["d1"])
        expect(page.locator("#claim-list li")).to_have_count(5)
        page.locator(f'#claim-list button[data-claim-id="{shown}"]').click()
        expect(page.locator("#form-title")).to_have_text(f"Claim #{shown}")
        expect(page.locator("#text .evidence")).to_have_text(VIDEO)
        expect(page.locator("#text .mention")).to_have_text("Local sources")
        page.evaluate("() => document.fonts.ready")
        out = tmp_path / "screenshot.png"
        page.screenshot(path=str(out))
    finally:
        context.close()
    assert _png_size(out) == (1280, 800)
    keep = os.environ.get("ANNOTATOR_SCREENSHOT")
    if keep:
        Path(keep).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out, keep)
