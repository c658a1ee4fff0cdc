"""Changes that wait in the page's save queue must not lose or overwrite work when they are
finally sent: a conflict decides every queued change of its claim made in that tab, a
refusal or a conflict about one claim never touches the form open on another, a replayed
create does not let later edits overwrite a change made meanwhile, a closed tab's changes
taken over by another keep the versions they were made on, a change the server refuses
is kept in the browser until it is fixed or dropped, and changes the browser cannot
store are announced. Also: the form keeps multi-line evidence
descriptions as they are.

The connection is dropped for chosen requests with Playwright's routing (fetch throws: the
save queue keeps the change and retries every <= 3 s); "another tab / device" of the same
annotator writes through the JSON API with a bearer token."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from playwright.sync_api import Page, Route, expect

from .conftest import drag_select, login, make_claim, open_document, stored_claims, wait_saved

VIDEO = "Amaq’s video shows machine-gun fire"
NO_AIRCRAFT = "no aircraft was lost"
HELICOPTER = "said a helicopter was shot down"
RETRY_MS = 15_000
LONG_NOTE = "x" * 20_001  # over the scheme's 20,000: the server refuses it (422)


def other_device(app: Flask, token_for, method: str, url: str, body: Any = None):
    """alice on another device: a plain API call."""
    with app.test_client() as c:
        response = c.open(url, method=method, json=body, headers=token_for("alice"))
    assert response.status_code < 300, response.get_json()
    return response.get_json()


class Cut:
    """Drop (abort) the matching requests while `on`."""

    def __init__(self, page: Page, pattern: str, method: str) -> None:
        self.on = True
        self.page, self.pattern, self.method = page, pattern, method
        page.route(pattern, self.handle)

    def handle(self, route: Route) -> None:
        if self.on and route.request.method == self.method:
            route.abort()
        else:
            route.continue_()


def open_claim(page: Page, claim_id: Any) -> None:
    page.locator(f'#claim-list button[data-claim-id="{claim_id}"]').click()
    expect(page.locator("#claim-form")).to_be_visible()


def save_offline(page: Page) -> None:
    page.click("#save-claim")
    expect(page.locator("#claim-form")).to_be_hidden()
    expect(page.locator("#annotate")).to_have_attribute("data-queue", "offline")


def queue_note(page: Page, claim_id: Any, note: str) -> None:
    """Give the claim `note` and save it while its edits are cut off: the change waits."""
    open_claim(page, claim_id)
    page.fill("#note", note)
    save_offline(page)


def test_taking_theirs_for_one_claim_keeps_the_form_open_on_another(
        page: Page, app: Flask, document, token_for):
    """A queued edit of claim A meets a conflict while the annotator is writing in claim B's
    form: "Take theirs" (about A) leaves B's form and its unsaved typing alone."""
    a = make_claim(document, VIDEO, note="original")
    b = make_claim(document, NO_AIRCRAFT)
    login(page, "alice")
    open_document(page, document.id)
    cut = Cut(page, f"**/api/v1/claims/{a}", "PATCH")
    queue_note(page, a, "mine")
    other_device(app, token_for, "PATCH", f"/api/v1/claims/{a}", {"version": 1, "note": "theirs"})

    open_claim(page, b)
    page.fill("#note", "half-written analysis of claim B")
    cut.on = False
    expect(page.locator("#conflict")).to_be_visible(timeout=RETRY_MS)
    page.click("#conflict .conflict-take-theirs")

    expect(page.locator("#annotate")).to_have_attribute("data-queue", "saved", timeout=RETRY_MS)
    expect(page.locator("#claim-form")).to_be_visible()
    expect(page.locator("#form-title")).to_have_text(f"Claim #{b}")
    expect(page.locator("#note")).to_have_value("half-written analysis of claim B")
    [stored_a, _] = sorted(stored_claims(app, document.id), key=lambda c: c["id"])
    assert stored_a["note"] == "theirs"


def test_a_refused_queued_change_waits_for_the_open_form_to_close(
        page: Page, app: Flask, document, token_for):
    """A queued edit of claim A is refused when it is finally sent (A was deleted on another
    device: 404) while the annotator is typing in claim B's form: B's form stays as it is,
    and A's refused change opens, with its error, once B's form is closed."""
    a = make_claim(document, VIDEO)
    b = make_claim(document, NO_AIRCRAFT)
    login(page, "alice")
    open_document(page, document.id)
    cut = Cut(page, f"**/api/v1/claims/{a}", "PATCH")
    queue_note(page, a, "queued edit of A")
    other_device(app, token_for, "DELETE", f"/api/v1/claims/{a}")

    open_claim(page, b)
    page.fill("#note", "half-written analysis of claim B")
    cut.on = False
    expect(page.locator("#annotate")).to_have_attribute("data-queue", "saved", timeout=RETRY_MS)

    title = page.locator("#form-title").text_content()
    note = page.locator("#note").input_value()
    assert (title, note) == (f"Claim #{b}", "half-written analysis of claim B"), (
        f"claim B's form was replaced by the refused draft: {title!r}, note {note!r}")
    expect(page.locator("#save-status")).to_contain_text("opens when this form is closed")
    # Leaving the page would lose it (it is out of the queue): the page stays.
    url = page.url
    page.click("#mark-done")
    expect(page.locator("#save-status")).to_contain_text("refused is waiting")
    assert page.url == url
    page.click("#cancel-claim")
    expect(page.locator("#claim-form")).to_be_visible()
    expect(page.locator("#note")).to_have_value("queued edit of A")
    expect(page.locator("#form-error")).not_to_be_empty()


def test_a_merge_is_not_undone_by_a_later_queued_change_of_the_claim(
        page: Page, app: Flask, document, token_for):
    """Two queued edits of one claim; the first meets a conflict and the annotator merges,
    taking the stored (other device's) stance and their own latest note. The merge stands
    for both queued edits: the second is not sent afterwards to undo the chosen stance."""
    cid = make_claim(document, VIDEO, note="original")
    login(page, "alice")
    open_document(page, document.id)
    cut = Cut(page, f"**/api/v1/claims/{cid}", "PATCH")
    queue_note(page, cid, "mine 1")
    queue_note(page, cid, "mine 2")  # the pending claim: edited on top of the queued change
    other_device(app, token_for, "PATCH", f"/api/v1/claims/{cid}",
                 {"version": 1, "stance": "denies"})

    cut.on = False
    expect(page.locator("#conflict")).to_be_visible(timeout=RETRY_MS)
    page.locator('#conflict tr[data-field="stance"] input[value="theirs"]').check()
    page.click("#conflict .conflict-merge")
    expect(page.locator("#annotate")).to_have_attribute("data-queue", "saved", timeout=RETRY_MS)

    [stored] = stored_claims(app, document.id)
    assert stored["stance"] == "denies", (
        f"the stored stance the annotator chose to keep was overwritten: {stored}")
    assert (stored["note"], stored["version"]) == ("mine 2", 3), stored


def test_a_conflict_shows_and_decides_every_queued_change_of_the_claim(
        page: Page, app: Flask, document, token_for):
    """Two queued edits of one claim (the second sets a verdict). The first meets a conflict
    about the note: the dialog's "mine" is the last queued change (its verdict shown), and
    "Take theirs" drops both, leaving the other device's claim as it is."""
    cid = make_claim(document, VIDEO, note="original")
    login(page, "alice")
    open_document(page, document.id)
    cut = Cut(page, f"**/api/v1/claims/{cid}", "PATCH")
    queue_note(page, cid, "mine 1")
    open_claim(page, cid)
    page.select_option("#verdict", index=1)
    verdict_label = page.locator("#verdict option:checked").text_content().split(" (")[0]
    save_offline(page)
    other_device(app, token_for, "PATCH", f"/api/v1/claims/{cid}",
                 {"version": 1, "note": "theirs"})

    cut.on = False
    expect(page.locator("#conflict")).to_be_visible(timeout=RETRY_MS)
    expect(page.locator('#conflict tr[data-field="verdict"] td.mine')).to_have_text(verdict_label)
    expect(page.locator('#conflict tr[data-field="note"] td.mine')).to_have_text("mine 1")
    page.click("#conflict .conflict-take-theirs")
    expect(page.locator("#annotate")).to_have_attribute("data-queue", "saved", timeout=RETRY_MS)
    [stored] = stored_claims(app, document.id)
    assert (stored["note"], stored["verdict"], stored["version"]) == ("theirs", None, 2)


def test_edits_queued_on_a_replayed_create_meet_a_change_made_meanwhile(
        page: Page, app: Flask, document, token_for):
    """A create reaches the server but its answer is lost; the annotator edits the (pending)
    claim in the page (stance). Meanwhile another device edits that claim (note, version 1 ->
    2). The replayed create answers with version 2, but the queued edit was made on version
    1: it meets the other device's note as a conflict instead of erasing it."""
    login(page, "alice")
    open_document(page, document.id)
    state = {"first": True, "on": True}

    def handle(route: Route) -> None:
        if route.request.method != "POST" or not state["on"]:
            route.continue_()
            return
        if state["first"]:
            state["first"] = False
            route.fetch()  # stored on the server ...
        route.abort()      # ... but the answer never arrives

    page.route(f"**/api/v1/documents/{document.id}/claims", handle)
    drag_select(page, HELICOPTER)
    page.locator('input[name="stance"][value="asserts"]').click()
    save_offline(page)
    page.locator("#claim-list button", has_text=HELICOPTER).click()
    expect(page.locator("#claim-form")).to_be_visible()
    page.locator('input[name="stance"][value="denies"]').click()
    save_offline(page)

    [made] = stored_claims(app, document.id)
    assert made["version"] == 1
    other_device(app, token_for, "PATCH", f"/api/v1/claims/{made['id']}",
                 {"version": 1, "note": "added on the other device"})
    state["on"] = False
    expect(page.locator("#conflict")).to_be_visible(timeout=RETRY_MS)
    [stored] = stored_claims(app, document.id)
    assert (stored["note"], stored["stance"], stored["version"]) == (
        "added on the other device", "asserts", 2), (
        f"an edit made on version 1 was stored over version 2 without a conflict: {stored}")
    page.locator('#conflict tr[data-field="note"] input[value="theirs"]').check()
    page.click("#conflict .conflict-merge")
    expect(page.locator("#annotate")).to_have_attribute("data-queue", "saved", timeout=RETRY_MS)
    [stored] = stored_claims(app, document.id)
    assert (stored["note"], stored["stance"]) == ("added on the other device", "denies")


def test_saving_from_the_form_keeps_line_breaks_in_evidence_descriptions(
        page: Page, app: Flask, document):
    """Evidence descriptions may hold several lines (API, import; "\r\n" too): a save from
    the form (here only the note changed) keeps untouched descriptions as they were."""
    descriptions = ["Geolocated frame 1: ridge east of the airbase.\nFrame 2: smoke plume.",
                    "Imported from a Windows file.\r\nSecond line."]
    cid = make_claim(document, VIDEO, evidence=[
        {"type": "video", "relation": "supports", "description": d} for d in descriptions])
    login(page, "alice")
    open_document(page, document.id)
    open_claim(page, cid)
    page.fill("#note", "checked")
    page.click("#save-claim")
    expect(page.locator("#save-status")).to_have_text("Saved")
    [stored] = stored_claims(app, document.id)
    assert (stored["note"], stored["version"]) == ("checked", 2)
    got = [e["description"] for e in stored["evidence"]]
    assert got == descriptions, f"untouched evidence descriptions rewritten: {got!r}"


def test_an_edit_of_a_new_claim_queued_under_its_id_follows_the_one_queued_before_it(
        page: Page, app: Flask, document):
    """A new claim is edited while its create is queued (the edit is queued under the
    create's key); the create is stored but that edit is not yet, and the claim is edited
    again (now under its id). The second edit is sent on the version the first comes back
    with: no conflict with the annotator's own change."""
    login(page, "alice")
    open_document(page, document.id)
    creates = Cut(page, f"**/api/v1/documents/{document.id}/claims", "POST")
    edits = Cut(page, "**/api/v1/claims/*", "PATCH")
    drag_select(page, HELICOPTER)
    page.locator('input[name="stance"][value="asserts"]').click()
    save_offline(page)
    page.locator("#claim-list button", has_text=HELICOPTER).click()
    page.fill("#note", "first")
    save_offline(page)

    creates.on = False  # the create goes through; the first edit still waits
    expect(page.locator("#claim-list button[data-claim-id]").first).to_have_attribute(
        "data-claim-id", re.compile(r"^\d+$"), timeout=RETRY_MS)
    [made] = stored_claims(app, document.id)
    assert (made["note"], made["version"]) == ("", 1)
    page.locator("#claim-list button", has_text=HELICOPTER).click()
    expect(page.locator("#note")).to_have_value("first")
    page.fill("#note", "second")
    save_offline(page)

    edits.on = False
    expect(page.locator("#annotate")).to_have_attribute("data-queue", "saved", timeout=RETRY_MS)
    expect(page.locator("#conflict")).to_be_hidden()
    [stored] = stored_claims(app, document.id)
    assert (stored["note"], stored["version"]) == ("second", 3)


def test_a_refused_change_reopened_later_is_saved_on_the_version_it_was_made_on(
        page: Page, app: Flask, document):
    """A queued edit of claim A is refused (its note is too long) while claim B's form is
    open, so it waits. Meanwhile the annotator changes A's stance from the list. When the
    refused change opens and is fixed, saving it meets that newer stance as a conflict
    instead of quietly putting the old stance back."""
    a = make_claim(document, VIDEO)
    b = make_claim(document, NO_AIRCRAFT)
    login(page, "alice")
    open_document(page, document.id)
    cut = Cut(page, f"**/api/v1/claims/{a}", "PATCH")
    queue_note(page, a, LONG_NOTE)
    open_claim(page, b)
    page.fill("#note", "typing in B")
    cut.on = False
    expect(page.locator("#save-status")).to_contain_text("opens when this form is closed",
                                                         timeout=RETRY_MS)

    open_claim(page, a)  # the stored claim, not the waiting change
    expect(page.locator("#note")).to_have_value("")
    page.locator('input[name="stance"][value="denies"]').click()
    page.click("#save-claim")
    expect(page.locator("#form-title")).to_have_text(f"Claim #{a}")  # the refused change
    expect(page.locator("#note")).to_have_value(LONG_NOTE)
    stored = {c["id"]: c for c in stored_claims(app, document.id)}
    assert (stored[a]["stance"], stored[a]["version"]) == ("denies", 2)

    page.fill("#note", "shorter")
    page.click("#save-claim")
    expect(page.locator("#conflict")).to_be_visible(timeout=RETRY_MS)
    stored = {c["id"]: c for c in stored_claims(app, document.id)}
    assert (stored[a]["stance"], stored[a]["note"]) == ("denies", "")


def note_of(app: Flask, document_id: int, claim_id: int) -> tuple[str, int]:
    [c] = [c for c in stored_claims(app, document_id) if c["id"] == claim_id]
    return c["note"], c["version"]


FILL_STORAGE = """() => {
  // Fill this origin's localStorage to the quota, as other pages of the app might.
  let size = 1 << 20, i = 0;
  while (size >= 16) {
    try { localStorage.setItem(`filler.${i++}`, "x".repeat(size)); }
    catch { size = Math.floor(size / 2); }
  }
}"""
GUARDED = """() => { const e = new Event("beforeunload", { cancelable: true });
                     window.dispatchEvent(e); return e.defaultPrevented; }"""


def test_a_closed_tabs_waiting_edit_meets_a_newer_save_of_another_tab_as_a_conflict(
        page: Page, app: Flask, document):
    """Tab A queues two edits of X (a1, then a2 on top of it); a1 is stored (v2), a2 cannot
    be sent. Tab B (same user) then saves its own edit "b" of X (v3) and has an unrelated
    edit of Y queued. A is closed; B is reloaded and takes A's a2 over. a2 was made on v2:
    it meets B's v3 as a conflict (it used to be sent on B's version, overwriting "b")."""
    x = make_claim(document, VIDEO, note="orig")
    y = make_claim(document, NO_AIRCRAFT)
    tab_a = page
    login(tab_a, "alice")
    open_document(tab_a, document.id)

    hold = {"all": True}

    def route_a(route: Route) -> None:
        body = route.request.post_data or ""
        if route.request.method == "PATCH" and (hold["all"] or '"a2"' in body):
            route.abort()
        else:
            route.continue_()

    tab_a.route(f"**/api/v1/claims/{x}", route_a)
    open_claim(tab_a, x)
    tab_a.fill("#note", "a1")
    tab_a.click("#save-claim")
    expect(tab_a.locator("#annotate")).to_have_attribute("data-queue", "offline", timeout=RETRY_MS)
    open_claim(tab_a, x)
    tab_a.fill("#note", "a2")
    tab_a.click("#save-claim")
    expect(tab_a.locator("#claim-form")).to_be_hidden()
    hold["all"] = False  # a1 gets through, a2 never does
    tab_a.wait_for_function(
        "() => Object.keys(localStorage).some((k) => k.startsWith('annotator.queue.') &&"
        " JSON.parse(localStorage.getItem(k)).ops.length === 1)", timeout=RETRY_MS)
    assert note_of(app, document.id, x) == ("a1", 2)

    tab_b = page.context.new_page()
    open_document(tab_b, document.id)
    open_claim(tab_b, x)
    tab_b.fill("#note", "b")
    tab_b.click("#save-claim")
    expect(tab_b.locator("#save-status")).to_have_text("Saved", timeout=RETRY_MS)
    assert note_of(app, document.id, x) == ("b", 3)
    # B also has an unrelated change waiting (its queue entry stays in localStorage).
    cut_y = Cut(tab_b, f"**/api/v1/claims/{y}", "PATCH")
    queue_note(tab_b, y, "y queued")

    tab_a.goto("about:blank")  # A is closed: its entry is released
    tab_a.close()
    cut_y.on = False
    tab_b.reload()
    tab_b.wait_for_selector("#annotate[data-ready=true]", state="attached")
    tab_b.wait_for_function(
        "() => ['saved', 'conflict'].includes(document.getElementById('annotate').dataset.queue)",
        timeout=RETRY_MS)
    expect(tab_b.locator("#conflict")).to_be_visible(timeout=RETRY_MS)
    expect(tab_b.locator('#conflict tr[data-field="note"] td.mine')).to_have_text("a2")
    expect(tab_b.locator('#conflict tr[data-field="note"] td.theirs')).to_have_text("b")
    assert note_of(app, document.id, x) == ("b", 3)


def test_changes_the_browser_cannot_store_are_announced_and_guard_the_tab(
        page: Page, app: Flask, document):
    """With localStorage full, a waiting change lives only in the tab's memory: the status
    says so, and closing or reloading the tab asks first (it used to say only "Offline — 1
    change waiting", and a reload lost the change)."""
    x = make_claim(document, VIDEO, note="orig")
    login(page, "alice")
    open_document(page, document.id)
    page.evaluate(FILL_STORAGE)
    cut = Cut(page, f"**/api/v1/claims/{x}", "PATCH")
    queue_note(page, x, "typed while offline")
    expect(page.locator("#save-status")).to_contain_text("kept only in this tab")
    assert page.evaluate(GUARDED) is True
    cut.on = False
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    expect(page.locator("#annotate")).to_have_attribute("data-queue", "saved", timeout=RETRY_MS)
    assert page.evaluate(GUARDED) is False
    assert note_of(app, document.id, x) == ("typed while offline", 2)


def test_a_conflict_decides_only_its_own_tabs_changes_after_a_takeover(
        page: Page, app: Flask, document, token_for):
    """Tabs B and A of alice each queue an edit of X offline (B's "b" first, then A's "a").
    Meanwhile X is changed on another device. A is closed; B is reloaded and adopts A's entry
    after its own. B's edit meets the conflict showing "b" as "Yours"; A's edit then meets
    its own conflict, showing "a" (a choice used to settle both tabs' changes, with "a" as
    "Yours": B's "b" was never shown)."""
    x = make_claim(document, VIDEO, note="orig")
    tab_b = page
    login(tab_b, "alice")
    open_document(tab_b, document.id)
    tab_a = page.context.new_page()
    open_document(tab_a, document.id)
    cuts = {tab: Cut(tab, f"**/api/v1/claims/{x}", "PATCH") for tab in (tab_b, tab_a)}
    for tab, note in ((tab_b, "b"), (tab_a, "a")):
        queue_note(tab, x, note)
    other_device(app, token_for, "PATCH", f"/api/v1/claims/{x}", {"version": 1, "note": "other"})

    tab_a.goto("about:blank")
    tab_a.close()
    cuts[tab_b].on = False
    tab_b.reload()
    box = tab_b.locator("#conflict")
    expect(box).to_be_visible(timeout=RETRY_MS)
    expect(box.locator('tr[data-field="note"] td.mine')).to_have_text("b")
    box.locator(".conflict-keep-mine").click()
    expect(box.locator('tr[data-field="note"] td.mine')).to_have_text("a", timeout=RETRY_MS)
    expect(box.locator('tr[data-field="note"] td.theirs')).to_have_text("b")
    assert note_of(app, document.id, x) == ("b", 3)
    box.locator(".conflict-take-theirs").click()
    expect(tab_b.locator("#annotate")).to_have_attribute("data-queue", "saved", timeout=RETRY_MS)
    assert note_of(app, document.id, x) == ("b", 3)


def test_an_edit_made_on_a_taken_over_change_meets_the_version_chosen_over_it(
        page: Page, app: Flask, document, token_for):
    """Tab A queues "a" on X offline and is closed; X is changed on another device. Tab B
    takes A's change over and edits X on top of it ("b", queued after it). A's change meets
    the conflict and alice takes theirs: B's "b" was made on the discarded "a", so it meets
    the stored version as its own conflict instead of overwriting it unseen."""
    x = make_claim(document, VIDEO, note="orig")
    login(page, "alice")
    tab_a = page.context.new_page()
    open_document(tab_a, document.id)
    Cut(tab_a, f"**/api/v1/claims/{x}", "PATCH")
    queue_note(tab_a, x, "a")
    tab_a.goto("about:blank")
    tab_a.close()
    other_device(app, token_for, "PATCH", f"/api/v1/claims/{x}", {"version": 1, "note": "other"})

    tab_b = page
    cut = Cut(tab_b, f"**/api/v1/claims/{x}", "PATCH")
    open_document(tab_b, document.id)
    queue_note(tab_b, x, "b")
    cut.on = False
    box = tab_b.locator("#conflict")
    expect(box).to_be_visible(timeout=RETRY_MS)
    expect(box.locator('tr[data-field="note"] td.mine')).to_have_text("a")
    expect(box.locator('tr[data-field="note"] td.theirs')).to_have_text("other")
    box.locator(".conflict-take-theirs").click()
    expect(box.locator('tr[data-field="note"] td.mine')).to_have_text("b", timeout=RETRY_MS)
    expect(box.locator('tr[data-field="note"] td.theirs')).to_have_text("other")
    assert note_of(app, document.id, x) == ("other", 2)
    box.locator(".conflict-keep-mine").click()
    expect(tab_b.locator("#annotate")).to_have_attribute("data-queue", "saved", timeout=RETRY_MS)
    assert note_of(app, document.id, x) == ("b", 3)


STORED_REFUSED = """() => Object.keys(localStorage)
  .filter((k) => k.startsWith("annotator.queue."))
  .flatMap((k) => JSON.parse(localStorage.getItem(k)).refused || [])
  .map((op) => op.payload.note)"""


def refuse_note(page: Page, claim_id: int) -> None:
    """Queue LONG_NOTE on the claim while cut off, then let it through: it comes back
    refused, in the form."""
    cut = Cut(page, f"**/api/v1/claims/{claim_id}", "PATCH")
    queue_note(page, claim_id, LONG_NOTE)
    cut.on = False
    expect(page.locator("#form-error")).to_contain_text("note", timeout=RETRY_MS)
    expect(page.locator("#note")).to_have_value(LONG_NOTE)


def test_a_refused_change_survives_a_reload_and_its_fix_is_stored_once(
        page: Page, app: Flask, document):
    """A new claim saved offline with a note the server refuses comes back in the form when
    the connection returns; a reload shows it again with the server's error (it used to live
    only in the page's memory, lost with a reload). Its fixed version is stored once, and
    nothing of it is left in the browser."""
    login(page, "alice")
    open_document(page, document.id)
    cut = Cut(page, f"**/api/v1/documents/{document.id}/claims", "POST")
    drag_select(page, HELICOPTER)
    page.locator('input[name="stance"][value="asserts"]').click()
    page.fill("#note", LONG_NOTE)
    save_offline(page)
    cut.on = False
    expect(page.locator("#form-error")).to_contain_text("note", timeout=RETRY_MS)

    open_document(page, document.id)
    expect(page.locator("#form-title")).to_have_text("New claim")
    expect(page.locator("#note")).to_have_value(LONG_NOTE)
    expect(page.locator("#form-error")).to_contain_text("note")
    expect(page.locator("#save-status")).to_contain_text("Not saved")
    assert page.evaluate(STORED_REFUSED) == [LONG_NOTE]
    page.fill("#note", "shorter")
    page.click("#save-claim")
    wait_saved(page)
    assert page.evaluate(STORED_REFUSED) == []

    open_document(page, document.id)
    expect(page.locator("#claim-form")).to_be_hidden()
    expect(page.locator("#annotate")).to_have_attribute("data-pending", "0")
    assert [(c["text"], c["note"]) for c in stored_claims(app, document.id)] == [
        (HELICOPTER, "shorter")]


def test_a_dropped_refused_change_does_not_come_back(page: Page, app: Flask, document):
    """Cancel on a refused change back in the form (the button says "Drop change") drops it
    for good: the status says so, and a reload does not bring it back. Escape does not."""
    a = make_claim(document, VIDEO)
    login(page, "alice")
    open_document(page, document.id)
    refuse_note(page, a)
    expect(page.locator("#cancel-claim")).to_have_text("Drop change")
    page.keyboard.press("Escape")  # a stray key drops nothing: only the button does
    expect(page.locator("#save-status")).to_contain_text("press Drop change")
    expect(page.locator("#claim-form")).to_be_visible()
    assert len(page.evaluate(STORED_REFUSED)) == 1
    page.click("#cancel-claim")
    expect(page.locator("#claim-form")).to_be_hidden()
    expect(page.locator("#save-status")).to_contain_text("Dropped")
    assert page.evaluate(STORED_REFUSED) == []

    open_document(page, document.id)
    expect(page.locator("#claim-form")).to_be_hidden()
    expect(page.locator("#annotate")).to_have_attribute("data-refused", "0")
    assert note_of(app, document.id, a) == ("", 1)


def test_a_refused_change_shown_after_a_reload_meets_a_newer_save_as_a_conflict(
        page: Page, app: Flask, document, token_for):
    """A refused edit of claim A is shown again after a reload; meanwhile A was saved on
    another device. The fixed edit is sent on the version it was made on: it meets that
    save as a conflict instead of overwriting it."""
    a = make_claim(document, VIDEO)
    login(page, "alice")
    open_document(page, document.id)
    refuse_note(page, a)
    other_device(app, token_for, "PATCH", f"/api/v1/claims/{a}",
                 {"version": 1, "stance": "denies"})

    open_document(page, document.id)
    expect(page.locator("#form-title")).to_have_text(f"Claim #{a}")
    expect(page.locator("#note")).to_have_value(LONG_NOTE)
    page.fill("#note", "shorter")
    page.click("#save-claim")
    expect(page.locator("#conflict")).to_be_visible(timeout=RETRY_MS)
    [stored] = stored_claims(app, document.id)
    assert (stored["stance"], stored["note"], stored["version"]) == ("denies", "", 2)


def test_a_closed_tabs_refused_change_opens_in_the_next_page_on_the_document(
        page: Page, app: Flask, document):
    """A refused change is taken over with the rest of a closed tab's entry: the next page
    on the document shows it (it used to be lost with the tab)."""
    a = make_claim(document, VIDEO)
    login(page, "alice")
    open_document(page, document.id)
    refuse_note(page, a)
    tab_b = page.context.new_page()
    page.goto("about:blank")  # closed: its entry is released
    page.close()

    open_document(tab_b, document.id)
    expect(tab_b.locator("#form-title")).to_have_text(f"Claim #{a}")
    expect(tab_b.locator("#note")).to_have_value(LONG_NOTE)
    expect(tab_b.locator("#form-error")).not_to_be_empty()


def test_a_refused_change_the_browser_cannot_store_is_announced_and_guards_the_tab(
        page: Page, app: Flask, document):
    """With localStorage full, a refused change lives only in the tab's memory, like a
    waiting one: the status says so and leaving asks, until it is dropped."""
    a = make_claim(document, VIDEO)
    login(page, "alice")
    open_document(page, document.id)
    page.evaluate(FILL_STORAGE)
    refuse_note(page, a)
    expect(page.locator("#save-status")).to_contain_text("kept only in this tab")
    assert page.evaluate(GUARDED) is True
    page.click("#cancel-claim")
    expect(page.locator("#save-status")).to_contain_text("Dropped")
    assert page.evaluate(GUARDED) is False
