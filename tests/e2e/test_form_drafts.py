"""What is typed in the claim form survives a reload until it is saved or the form is closed
(drafts.js): a claim never sent, or one the server refused at once, had no other copy. The
restored form saves once; an edit restored over a claim changed meanwhile meets that change
as a conflict; Cancel forgets the draft."""

from __future__ import annotations

from flask import Flask
from playwright.sync_api import Page, Route, expect

from .conftest import drag_select, login, make_claim, open_document, stored_claims, wait_saved
from .test_queued_changes import LONG_NOTE, RETRY_MS, Cut

HELICOPTER = "said a helicopter was shot down"
VIDEO = "Amaq’s video shows machine-gun fire"
DRAFTS = """() => Object.keys(localStorage).filter((k) => k.startsWith("annotator.draft."))"""


def test_a_new_claim_typed_but_not_saved_comes_back_after_a_reload(
        page: Page, app: Flask, document):
    login(page, "alice")
    open_document(page, document.id)
    drag_select(page, HELICOPTER)
    page.press("body", "1")  # the scheme's key for "asserts": no input event in the form
    page.fill("#note", "half-typed note")

    open_document(page, document.id)  # a reload, before saving

    expect(page.locator("#claim-form")).to_be_visible()
    expect(page.locator("#form-title")).to_have_text("New claim")
    expect(page.locator("#note")).to_have_value("half-typed note")
    expect(page.locator('input[name="stance"][value="asserts"]')).to_be_checked()
    expect(page.locator("#save-status")).to_contain_text("Restored what you were typing")
    assert stored_claims(app, document.id) == []
    page.click("#save-claim")
    wait_saved(page)
    assert page.evaluate(DRAFTS) == []

    open_document(page, document.id)
    expect(page.locator("#claim-form")).to_be_hidden()
    assert [(c["text"], c["stance"], c["note"]) for c in stored_claims(app, document.id)] == [
        (HELICOPTER, "asserts", "half-typed note")]


def test_a_save_refused_at_once_keeps_its_typing_through_a_reload(
        page: Page, app: Flask, document):
    """No stance: the server refuses the save at once (422) and the form stays open. That
    typing used to live only in the open form."""
    login(page, "alice")
    open_document(page, document.id)
    drag_select(page, HELICOPTER)
    page.fill("#note", "no stance yet")
    page.click("#save-claim")
    expect(page.locator('#claim-form [data-error-for="stance"]')).to_be_visible()

    open_document(page, document.id)

    expect(page.locator("#note")).to_have_value("no stance yet")
    page.locator('input[name="stance"][value="denies"]').click()
    page.click("#save-claim")
    wait_saved(page)
    assert [(c["stance"], c["note"]) for c in stored_claims(app, document.id)] == [
        ("denies", "no stance yet")]


def test_an_edit_restored_over_a_claim_saved_meanwhile_meets_it_as_a_conflict(
        page: Page, app: Flask, document, token_for):
    a = make_claim(document, VIDEO)
    login(page, "alice")
    open_document(page, document.id)
    page.locator(f'#claim-list button[data-claim-id="{a}"]').click()
    page.fill("#note", "typed on version 1")
    with app.test_client() as other_device:
        response = other_device.patch(f"/api/v1/claims/{a}", headers=token_for("alice"),
                                      json={"version": 1, "stance": "denies"})
        assert response.status_code == 200

    open_document(page, document.id)
    expect(page.locator("#form-title")).to_have_text(f"Claim #{a}")
    expect(page.locator("#note")).to_have_value("typed on version 1")
    page.click("#save-claim")

    expect(page.locator("#conflict")).to_be_visible()
    [stored] = stored_claims(app, document.id)
    assert (stored["stance"], stored["note"], stored["version"]) == ("denies", "", 2)


def test_cancel_forgets_the_draft_and_an_unchanged_claim_leaves_none(
        page: Page, app: Flask, document):
    a = make_claim(document, VIDEO)
    login(page, "alice")
    open_document(page, document.id)
    drag_select(page, HELICOPTER)
    page.fill("#note", "never mind")
    assert len(page.evaluate(DRAFTS)) == 1
    page.click("#cancel-claim")

    open_document(page, document.id)
    expect(page.locator("#claim-form")).to_be_hidden()
    assert page.evaluate(DRAFTS) == []

    page.locator(f'#claim-list button[data-claim-id="{a}"]').click()  # only looked at
    open_document(page, document.id)
    expect(page.locator("#claim-form")).to_be_hidden()
    assert page.evaluate(DRAFTS) == []
    assert [c["id"] for c in stored_claims(app, document.id)] == [a]


def test_a_reload_while_a_save_awaits_its_answer_saves_the_claim_once(
        page: Page, app: Flask, document):
    """The queue holds a change from the moment it is sent: a draft of it as well would come
    back in the form after the reload and be saved a second time."""
    held: list[Route] = []

    def hold_first(route: Route) -> None:
        if route.request.method == "POST" and not held:
            held.append(route)  # no answer, ever: the save is still in flight at the reload
        else:
            route.continue_()

    page.route(f"**/api/v1/documents/{document.id}/claims", hold_first)
    login(page, "alice")
    open_document(page, document.id)
    drag_select(page, HELICOPTER)
    page.locator('input[name="stance"][value="asserts"]').click()
    page.fill("#note", "sent once")
    page.click("#save-claim")
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the save was not sent"

    open_document(page, document.id)

    expect(page.locator("#annotate")).to_have_attribute("data-pending", "0", timeout=RETRY_MS)
    expect(page.locator("#claim-form")).to_be_hidden()
    assert page.evaluate(DRAFTS) == []
    assert [(c["text"], c["note"]) for c in stored_claims(app, document.id)] == [
        (HELICOPTER, "sent once")]


def test_a_draft_comes_back_before_a_refused_change_that_then_opens(
        page: Page, app: Flask, document):
    """A queued change refused while another claim is being typed waits for that form to
    close. After a reload the typing comes back first (opening the refused change used to
    erase it), and the refused change opens once that form is closed."""
    a = make_claim(document, VIDEO)
    login(page, "alice")
    open_document(page, document.id)
    cut = Cut(page, f"**/api/v1/claims/{a}", "PATCH")
    page.locator(f'#claim-list button[data-claim-id="{a}"]').click()
    page.fill("#note", LONG_NOTE)
    page.click("#save-claim")
    expect(page.locator("#annotate")).to_have_attribute("data-queue", "offline")
    drag_select(page, HELICOPTER)
    page.fill("#note", "typed meanwhile")
    cut.on = False
    expect(page.locator("#annotate")).to_have_attribute("data-refused", "1",
                                                        timeout=RETRY_MS)

    open_document(page, document.id)

    expect(page.locator("#form-title")).to_have_text("New claim")
    expect(page.locator("#note")).to_have_value("typed meanwhile")
    expect(page.locator("#save-status")).to_contain_text("opens once this form is closed")
    page.click("#cancel-claim")
    expect(page.locator("#form-title")).to_have_text(f"Claim #{a}")
    expect(page.locator("#note")).to_have_value(LONG_NOTE)
    expect(page.locator("#cancel-claim")).to_have_text("Drop change")


def test_a_draft_stays_with_its_open_tab_and_passes_to_the_next_page_once_it_closes(
        page: Page, app: Flask, document):
    login(page, "alice")
    open_document(page, document.id)
    drag_select(page, HELICOPTER)
    page.fill("#note", "typed in the first tab")
    second = page.context.new_page()
    second.set_default_timeout(5_000)

    open_document(second, document.id)
    expect(second.locator("#claim-form")).to_be_hidden()  # the first tab is still typing

    # With run_before_unload, close() does not wait for the page to go (its pagehide, which
    # releases the draft, may not have run yet); and what one tab writes to localStorage
    # reaches another tab's copy a moment later. Wait for both, as a person's click would.
    with page.expect_event("close"):
        page.close(run_before_unload=True)
    second.wait_for_function("""() => Object.keys(localStorage).some((k) =>
        k.startsWith("annotator.draft.") && JSON.parse(localStorage.getItem(k)).released)""",
        polling=100)
    open_document(second, document.id)
    expect(second.locator("#form-title")).to_have_text("New claim")
    expect(second.locator("#note")).to_have_value("typed in the first tab")
    assert len(second.evaluate(DRAFTS)) == 1  # taken over: one draft, now this tab's


def test_a_draft_released_at_pagehide_stays_released_while_the_tab_goes(
        page: Page, app: Flask, document):
    """The focused field's change event (it blurs as the tab closes) and the beat come after
    pagehide: neither may write the draft back as a live tab's (the next page would wait
    15 s to take it over)."""
    login(page, "alice")
    open_document(page, document.id)
    drag_select(page, HELICOPTER)
    page.fill("#note", "typed, then the tab goes")
    released = page.evaluate("""() => {
        window.dispatchEvent(new PageTransitionEvent("pagehide", { persisted: false }));
        const note = document.getElementById("note");
        note.value = "typed, then the tab goes.";
        note.dispatchEvent(new Event("change", { bubbles: true }));
        const key = Object.keys(localStorage).find((k) => k.startsWith("annotator.draft."));
        const entry = JSON.parse(localStorage.getItem(key));
        return [entry.released, entry.payload.note];
    }""")
    assert released == [True, "typed, then the tab goes."]


def test_a_page_back_from_the_back_forward_cache_starts_again_from_storage(
        page: Page, app: Flask, document):
    """At pagehide the page released its queue and draft to the next page; restored from the
    back-forward cache it reloads instead of sending or showing them a second time."""
    login(page, "alice")
    open_document(page, document.id)
    page.evaluate("() => { window.beforeRestore = true; }")
    page.evaluate("""() => window.dispatchEvent(
        new PageTransitionEvent("pageshow", { persisted: true }))""")
    page.wait_for_function("() => window.beforeRestore === undefined")
    expect(page.locator("#annotate")).to_have_attribute("data-ready", "true")
