"""Dropped connections and conflicts in a real Chromium.

The app is served by a server of its own here, which the tests really stop (nothing listens
on the port) and start again on the same port: edits made meanwhile wait in the browser's
save queue (in localStorage), and must each be stored exactly once when the server is back,
also when the page that made them was left and the document opened again. Two tabs editing
one claim: the stale save shows both versions, and keeping mine, taking theirs or merging
stores exactly what was chosen."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect
from werkzeug.serving import WSGIRequestHandler, make_server

from .conftest import (
    TIMEOUT_MS,
    drag_select,
    login,
    make_claim,
    open_document,
    stored_claims,
)

HELICOPTER = "said a helicopter was shot down"
NO_AIRCRAFT = "no aircraft was lost"
VIDEO = "Amaq’s video shows machine-gun fire"
LOCAL = "Local sources"
BACK_MS = 20_000  # the queue retries with backoff (at most 3 s apart)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OneRequestPerConnection(WSGIRequestHandler):
    """No keep-alive: once stopped, the server answers nothing, not even on an open socket."""

    protocol_version = "HTTP/1.0"


class StoppableServer:
    """The app on a fixed port, stopped and started again by the test."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True,
                                  request_handler=OneRequestPerConnection)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(5)
            self.server = None


@pytest.fixture
def server(app: Flask) -> Iterator[StoppableServer]:
    served = StoppableServer(app)
    served.start()
    yield served
    served.stop()


@pytest.fixture
def context(browser: Browser, server: StoppableServer) -> Iterator[BrowserContext]:
    made = browser.new_context(base_url=server.url)
    made.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    yield made
    made.close()


def status(page: Page):
    return page.locator("#save-status")


def select_and_save(page: Page, needle: str, stance: str, **fields: str) -> None:
    drag_select(page, needle)
    expect(page.locator("#claim-quote")).to_have_text(needle)
    page.locator(f'input[name="stance"][value="{stance}"]').click()
    for field, value in fields.items():
        page.fill(f"#{field}", value)
    page.click("#save-claim")
    expect(page.locator("#claim-form")).to_be_hidden()


def edit_from_list(page: Page, claim_text: str, **fields: str) -> None:
    page.locator("#claim-list button", has_text=claim_text).click()
    expect(page.locator("#claim-quote")).to_have_text(claim_text)
    if "stance" in fields:
        page.locator(f'input[name="stance"][value="{fields.pop("stance")}"]').click()
    for field, value in fields.items():
        if field == "verdict":
            page.select_option("#verdict", value)
        else:
            page.fill(f"#{field}", value)
    page.click("#save-claim")
    expect(page.locator("#claim-form")).to_be_hidden()


def queued(page: Page) -> int:
    """Operations waiting in this origin's localStorage queues."""
    return page.evaluate("""() => Object.keys(localStorage)
        .filter((k) => k.startsWith("annotator.queue."))
        .reduce((n, k) => n + JSON.parse(localStorage.getItem(k)).ops.length, 0)""")


def offline_page(context: BrowserContext, server: StoppableServer, document) -> Page:
    """alice's page on the document, loaded, then the server stopped under it."""
    page = context.new_page()
    login(page, "alice")
    open_document(page, document.id)
    server.stop()
    return page


def test_edits_made_while_the_server_is_down_are_stored_once(
        context: BrowserContext, server: StoppableServer, app: Flask, document):
    video = make_claim(document, VIDEO, "asserts", actor="Amaq")
    local = make_claim(document, LOCAL, "asserts")
    page = offline_page(context, server, document)
    select_and_save(page, HELICOPTER, "asserts", note="first, offline")
    expect(status(page)).to_have_text("Offline — 1 change waiting", timeout=BACK_MS)
    select_and_save(page, NO_AIRCRAFT, "denies", actor="Russian Defense Ministry")
    expect(status(page)).to_have_text("Offline — 2 changes waiting")
    # The new claims show at once, marked as waiting.
    expect(page.locator("#claim-list li.pending")).to_have_count(2)
    expect(page.locator("#text .seg.pending")).not_to_have_count(0)
    # An edit of a claim whose create is still waiting, an edit and a delete of stored ones.
    edit_from_list(page, HELICOPTER, note="first, edited offline", verdict="refuted")
    edit_from_list(page, VIDEO, stance="questions")
    page.locator("#claim-list button", has_text=LOCAL).click()
    page.click("#delete-claim")
    expect(page.locator("#claim-form")).to_be_hidden()
    expect(status(page)).to_have_text("Offline — 5 changes waiting")
    expect(page.locator("#annotate")).to_have_attribute("data-queue", "offline")
    assert queued(page) == 5
    assert [c["text"] for c in stored_claims(app, document.id)] == [VIDEO, LOCAL]

    server.start()
    expect(status(page)).to_have_text("Deleted", timeout=BACK_MS)
    expect(page.locator("#annotate")).to_have_attribute("data-pending", "0")
    assert queued(page) == 0

    stored = stored_claims(app, document.id, include_deleted=True)
    by_text = {c["text"]: c for c in stored}
    assert sorted(by_text) == sorted([HELICOPTER, NO_AIRCRAFT, VIDEO, LOCAL])
    assert len(stored) == 4  # every create exactly once
    helicopter = by_text[HELICOPTER]
    assert (helicopter["note"], helicopter["verdict"], helicopter["version"],
            helicopter["deleted_at"]) == ("first, edited offline", "refuted", 2, None)
    assert (by_text[NO_AIRCRAFT]["stance"], by_text[NO_AIRCRAFT]["actor"]) == (
        "denies", "Russian Defense Ministry")
    assert (by_text[VIDEO]["id"], by_text[VIDEO]["stance"], by_text[VIDEO]["version"]) == (
        video, "questions", 2)
    assert by_text[LOCAL]["id"] == local and by_text[LOCAL]["deleted_at"] is not None
    assert all(c["annotator"] == "alice" for c in stored)

    # The page shows the stored claims, none of them pending any more.
    expect(page.locator("#claim-list li")).to_have_count(3)
    expect(page.locator("#claim-list li.pending")).to_have_count(0)
    page.reload()
    page.wait_for_selector("#annotate[data-ready=true]", state="attached")
    expect(page.locator("#claim-list li")).to_have_count(3)


def test_waiting_edits_survive_leaving_the_page_and_are_sent_when_it_opens_again(
        context: BrowserContext, server: StoppableServer, app: Flask, document):
    video = make_claim(document, VIDEO, "asserts")
    page = offline_page(context, server, document)
    select_and_save(page, HELICOPTER, "denies", note="made offline")
    edit_from_list(page, VIDEO, note="edited offline")
    expect(status(page)).to_have_text("Offline — 2 changes waiting", timeout=BACK_MS)
    # Leave the page while the server is still down: only localStorage holds the edits now.
    page.goto("about:blank")
    page.close()
    assert len(stored_claims(app, document.id)) == 1

    server.start()
    again = context.new_page()  # another tab: it takes over the closed tab's queue
    open_document(again, document.id)
    expect(again.locator("#annotate")).to_have_attribute("data-pending", "0", timeout=BACK_MS)
    expect(status(again)).to_have_text("Saved")
    assert queued(again) == 0

    stored = stored_claims(app, document.id, include_deleted=True)
    assert len(stored) == 2
    by_text = {c["text"]: c for c in stored}
    assert (by_text[HELICOPTER]["stance"], by_text[HELICOPTER]["note"]) == (
        "denies", "made offline")
    assert (by_text[VIDEO]["id"], by_text[VIDEO]["note"], by_text[VIDEO]["version"]) == (
        video, "edited offline", 2)
    expect(again.locator("#claim-list li")).to_have_count(2)
    expect(again.locator("#claim-list li.pending")).to_have_count(0)


def test_queued_edits_show_as_pending_after_a_reload_before_they_are_sent(
        context: BrowserContext, server: StoppableServer, app: Flask, document):
    """The queue is read on load: a waiting claim is drawn before the server takes it."""
    page = offline_page(context, server, document)
    select_and_save(page, HELICOPTER, "asserts")
    expect(status(page)).to_have_text("Offline — 1 change waiting", timeout=BACK_MS)
    page.goto("about:blank")
    server.start()
    # Held back: the create waits until the test lets it through, so the page is seen with it
    # pending first.
    gate = threading.Event()
    original = app.view_functions["api.create_claim"]

    def held(*args: Any, **kwargs: Any):
        gate.wait(10)
        return original(*args, **kwargs)

    app.view_functions["api.create_claim"] = held
    try:
        open_document(page, document.id)
        expect(page.locator("#claim-list li.pending")).to_have_count(1)
        expect(status(page)).to_have_text("Saving…")
        gate.set()
        expect(page.locator("#annotate")).to_have_attribute("data-pending", "0", timeout=BACK_MS)
    finally:
        gate.set()
        app.view_functions["api.create_claim"] = original
    expect(page.locator("#claim-list li.pending")).to_have_count(0)
    assert [c["text"] for c in stored_claims(app, document.id)] == [HELICOPTER]


def test_marking_done_waits_until_the_waiting_changes_are_stored(
        context: BrowserContext, server: StoppableServer, app: Flask, document):
    page = offline_page(context, server, document)
    select_and_save(page, HELICOPTER, "asserts")
    expect(status(page)).to_have_text("Offline — 1 change waiting", timeout=BACK_MS)
    page.click("#mark-done")
    page.wait_for_timeout(6000)  # the page waits 5 s for the queue before refusing to leave
    assert page.url == f"{server.url}/documents/{document.id}"
    expect(status(page)).to_contain_text("1 change waiting")

    server.start()
    expect(page.locator("#annotate")).to_have_attribute("data-pending", "0", timeout=BACK_MS)
    page.click("#mark-done")
    page.wait_for_url(lambda url: url != f"{server.url}/documents/{document.id}")
    assert page.url.startswith(f"{server.url}/documents/")
    assert [c["text"] for c in stored_claims(app, document.id)] == [HELICOPTER]


# ---------- two tabs, one claim: conflicts ----------


def open_claim(page: Page, claim_id: int) -> None:
    page.locator(f'#claim-list button[data-claim-id="{claim_id}"]').click()
    expect(page.locator("#form-title")).to_have_text(f"Claim #{claim_id}")


def conflict_cells(page: Page) -> dict[str, tuple[str, str]]:
    box = page.locator("#conflict")
    expect(box).to_be_visible()
    rows = box.locator("tbody tr").evaluate_all("""(rows) => rows.map((tr) => [
        tr.dataset.field, [tr.querySelector("td.mine").textContent,
                           tr.querySelector("td.theirs").textContent]])""")
    return {field: tuple(cells) for field, cells in rows}


def test_two_tabs_editing_one_claim_see_both_versions_and_choose(
        context: BrowserContext, browser: Browser, server: StoppableServer, app: Flask,
        document):
    cid = make_claim(document, VIDEO, "asserts", actor="Amaq", note="original")
    # Two windows (a background tab would have its animation frames throttled, which makes
    # every Playwright action wait), one user.
    other = browser.new_context(base_url=server.url)
    first, second = context.new_page(), other.new_page()
    for page in (first, second):
        login(page, "alice")
        open_document(page, document.id)
        open_claim(page, cid)

    # The first tab saves; the second, still on version 1, saves over it: a conflict.
    first.fill("#note", "from the first tab")
    first.click("#save-claim")
    expect(status(first)).to_have_text("Saved")
    second.locator('input[name="stance"][value="denies"]').click()
    second.fill("#note", "from the second tab")
    second.click("#save-claim")
    expect(status(second)).to_have_text("Conflict")
    cells = conflict_cells(second)
    assert cells["note"] == ("from the second tab", "from the first tab")
    assert cells["stance"] == ("Denies", "Asserts")
    assert cells["actor"] == ("Amaq", "Amaq")
    assert VIDEO in cells["span"][0] and VIDEO in cells["span"][1]
    expect(second.locator('#conflict tr[data-field="note"]')).to_have_class("differs")
    expect(second.locator('#conflict tr[data-field="actor"]')).not_to_have_class("differs")
    # Nothing overwritten while the choice is open.
    [stored] = stored_claims(app, document.id)
    assert (stored["note"], stored["stance"], stored["version"]) == (
        "from the first tab", "asserts", 2)

    # Keep mine: stored on top of the newer version.
    second.click("#conflict .conflict-keep-mine")
    expect(status(second)).to_have_text("Saved")
    expect(second.locator("#conflict")).to_be_hidden()
    [stored] = stored_claims(app, document.id)
    assert (stored["note"], stored["stance"], stored["version"]) == (
        "from the second tab", "denies", 3)

    # Take theirs: the first tab (still on version 2) gives its edit up.
    open_claim(first, cid)
    first.fill("#note", "given up")
    first.click("#save-claim")
    expect(status(first)).to_have_text("Conflict")
    assert conflict_cells(first)["note"] == ("given up", "from the second tab")
    first.click("#conflict .conflict-take-theirs")
    expect(first.locator("#conflict")).to_be_hidden()
    expect(first.locator(f'#claim-list button[data-claim-id="{cid}"]')).to_contain_text("Denies")
    [stored] = stored_claims(app, document.id)
    assert (stored["note"], stored["version"]) == ("from the second tab", 3)

    # Merge: the first tab changes the stance; the second (on version 3) changes stance and
    # note, then takes the stored stance and keeps its note.
    open_claim(first, cid)
    first.locator('input[name="stance"][value="questions"]').click()
    first.click("#save-claim")
    expect(status(first)).to_have_text("Saved")
    open_claim(second, cid)
    second.locator('input[name="stance"][value="confirms"]').click()
    second.fill("#note", "merged note")
    second.click("#save-claim")
    expect(status(second)).to_have_text("Conflict")
    second.locator('#conflict tr[data-field="stance"] input[value="theirs"]').check()
    second.click("#conflict .conflict-merge")
    expect(status(second)).to_have_text("Saved")
    [stored] = stored_claims(app, document.id)
    assert (stored["stance"], stored["note"], stored["version"]) == ("questions", "merged note", 5)

    # A delete of a claim changed meanwhile is a conflict too; keeping the stored claim
    # deletes nothing.
    open_claim(first, cid)  # first is on version 4
    first.click("#delete-claim")
    expect(status(first)).to_have_text("Conflict")
    expect(first.locator("#conflict")).to_have_attribute("data-kind", "delete")
    expect(first.locator("#conflict td.mine").first).to_have_text("(deleted)")
    first.click("#conflict .conflict-take-theirs")
    expect(first.locator("#conflict")).to_be_hidden()
    expect(first.locator(f'#claim-list button[data-claim-id="{cid}"]')).to_have_count(1)
    [stored] = stored_claims(app, document.id)
    assert (stored["deleted_at"], stored["version"]) == (None, 5)
    other.close()
