"""Adjudication in a real Chromium: judy reviews alice's and bob's versions of a document in
lanes under the text, sees what differs, accepts, merges, edits and rejects units into gold
claims, edits and deletes gold, accepts everything agreed at once and settles the review;
annotators cannot open the review pages."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from annotator.db import db
from annotator.models import AuditEvent, Claim, Document, Review
from annotator.services import adjudication, documents, projects, users
from annotator.services import claims as claims_service
from tests.conftest import HELICOPTER, NO_AIRCRAFT, VIDEO

from .conftest import login

ALICE, BOB = 0, 1  # their lanes (the document's coders, sorted), then the gold lane
GOLD_LANE = 2


@pytest.fixture
def console_errors(page: Page) -> list[str]:
    """Errors the page logs (a CSP violation would be one)."""
    seen: list[str] = []
    page.on("console", lambda msg: seen.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: seen.append(str(exc)))
    return seen


def open_review(page: Page, document_id: int) -> None:
    page.goto(f"/documents/{document_id}/review")
    page.wait_for_selector("#review[data-ready=true]", state="attached")


def unit(page: Page, claim_id: int) -> Locator:
    """The unit that holds this annotator's claim."""
    return page.locator(f'#units > li.unit[data-claim-ids~="{claim_id}"]')


def wait_message(page: Page, text: str) -> None:
    expect(page.locator("#review-message")).to_have_text(text)


def segments_text(page: Page, attribute: str, claim_id: int) -> str:
    """The text of the article's segments whose data-<attribute> lists the claim."""
    return page.evaluate(
        """([attribute, id]) => [...document.querySelectorAll("#text .seg")]
              .filter((s) => (s.dataset[attribute] || "").split(" ").includes(String(id)))
              .map((s) => s.textContent).join("")""",
        [attribute, claim_id],
    )


def lanes_over(page: Page, claim_id: int) -> set[int]:
    """Every lane that has a stripe somewhere over this claim's segments."""
    found = page.evaluate(
        """(id) => [...document.querySelectorAll("#text .seg")]
              .filter((s) => s.dataset.claims.split(" ").includes(String(id)))
              .flatMap((s) => s.dataset.lanes.split(" ").map(Number))""",
        claim_id,
    )
    return set(found)


def stored(app: Flask, claim_id: int) -> dict[str, Any]:
    with app.app_context():
        c = db.session.get(Claim, claim_id)
        return {"start": c.start, "end": c.end, "text": c.text, "stance": c.stance,
                "verdict": c.verdict, "note": c.note, "actor": c.actor.name if c.actor else None,
                "rejected": c.rejected, "deleted_at": c.deleted_at, "version": c.version,
                "is_gold": c.is_gold, "sources": c.source_claim_ids,
                "annotator": c.annotator.username}


def gold_claims(app: Flask, document_id: int) -> list[dict[str, Any]]:
    with app.app_context():
        ids = db.session.execute(
            select(Claim.id).where(Claim.document_id == document_id, Claim.is_gold.is_(True),
                                   Claim.deleted_at.is_(None)).order_by(Claim.id)).scalars()
        return [{"id": i, **stored(app, i)} for i in ids]


def test_review_page_shows_units_in_lanes_with_their_differences(page: Page, annotated,
                                                                 console_errors):
    login(page, "judy")
    document = annotated["document"]
    open_review(page, document.id)
    expect(page.locator("#units > li.unit")).to_have_count(3)
    expect(page.locator("#review-state")).to_have_text("review not started")
    expect(page.locator("#legend .lane")).to_have_text(["alice", "bob", "gold"])

    agreed, differ = annotated["agreed"], annotated["differ"]
    badges = {
        "agreed": unit(page, agreed[0]).locator(".badge.diff"),
        "differ": unit(page, differ[0]).locator(".badge.diff"),
        "lonely": unit(page, annotated["lonely"]).locator(".badge.diff"),
    }
    expect(badges["agreed"]).to_have_count(0)
    expect(unit(page, agreed[0]).locator(".badge.agreed")).to_have_text("agreed")
    expect(badges["differ"]).to_have_text(["boundaries", "stance"])
    expect(badges["lonely"]).to_have_text(["only some marked"])

    # Side by side, in the coders' order, the differing fields emphasised.
    differing = unit(page, differ[0])
    expect(differing.locator("thead th[data-coder]")).to_have_text(["alice", "bob"])
    expect(differing.locator('tr[data-field="stance"] td')).to_have_text(
        ["Asserts", "Questions"])
    expect(differing.locator('tr[data-field="stance"] td.differs')).to_have_count(2)
    expect(differing.locator('tr[data-field="text"]')).to_have_class("differs")
    expect(differing.locator('tr[data-field="actor"] td.differs')).to_have_count(0)
    expect(unit(page, annotated["lonely"]).locator('tr[data-field="text"] td.absent')).to_have_text(
        "not marked")
    expect(unit(page, agreed[0]).locator('tr[data-field="actor"] td')).to_have_text(
        ["Russian Defense Ministry"] * 2)

    # The article once, every claim under it in its annotator's lane; offsets survive the
    # emoji and the Cyrillic and Arabic text before them.
    assert page.locator("#text").text_content() == document.text
    assert segments_text(page, "claims", agreed[0]) == NO_AIRCRAFT
    assert segments_text(page, "claims", agreed[1]) == NO_AIRCRAFT
    assert segments_text(page, "claims", differ[0]) == HELICOPTER
    assert segments_text(page, "claims", differ[1]) == "said " + HELICOPTER
    assert segments_text(page, "claims", annotated["lonely"]) == VIDEO
    assert lanes_over(page, agreed[0]) == {ALICE, BOB}
    assert lanes_over(page, annotated["lonely"]) == {ALICE}
    said = page.locator("#text .seg", has_text="said").first
    assert said.get_attribute("data-lanes") == str(BOB)
    assert "differs" in (said.get_attribute("class") or "")
    style = said.evaluate("(s) => [s.style.backgroundImage, s.style.paddingBottom]")
    assert style[0].startswith("linear-gradient") and style[1] == "15px"

    # Clicking a highlight selects its unit.
    page.locator("#text .seg", has_text="no aircraft").first.click()
    expect(unit(page, agreed[0])).to_have_class("unit agreed selected")
    assert not console_errors, console_errors


def test_judy_settles_the_document_into_gold(page: Page, app: Flask, annotated, console_errors):
    login(page, "judy")
    document = annotated["document"]
    agreed, differ, lonely = annotated["agreed"], annotated["differ"], annotated["lonely"]
    open_review(page, document.id)

    # The agreed unit: bob's version, settling alice's too.
    unit(page, agreed[0]).get_by_role("button", name="Accept bob's").click()
    wait_message(page, "Accepted bob's version")
    [gold] = gold_claims(app, document.id)
    assert gold["is_gold"] and gold["annotator"] == "judy"
    assert sorted(gold["sources"]) == sorted(agreed) and gold["sources"][0] == agreed[1]
    assert (gold["text"], gold["stance"], gold["actor"]) == (
        NO_AIRCRAFT, "denies", "Russian Defense Ministry")
    expect(page.locator(f'#gold-list li[data-claim-id="{gold["id"]}"]')).to_contain_text(
        NO_AIRCRAFT)
    assert segments_text(page, "gold", gold["id"]) == NO_AIRCRAFT
    gold_lane = page.evaluate(
        """(id) => [...document.querySelectorAll("#text .seg")]
              .filter((s) => s.dataset.gold.split(" ").includes(String(id)))
              .map((s) => s.dataset.lanes)""", gold["id"])
    assert gold_lane and all(lanes.split(" ")[-1] == str(GOLD_LANE) for lanes in gold_lane)
    settled = unit(page, agreed[0])
    expect(settled).to_have_attribute("data-decided", "true")
    expect(settled.locator(".decision-gold")).to_contain_text(f"#{gold['id']}")
    expect(settled.locator(".unit-actions")).to_have_count(0)
    expect(page.locator("#review-state")).to_have_text("review open")

    # The differing unit: alice's span, bob's labels.
    merging = unit(page, differ[0])
    merging.locator("select.merge-span").select_option(label="alice")
    merging.locator("select.merge-fields").select_option(label="bob")
    merging.get_by_role("button", name="Merge").click()
    wait_message(page, "Merged: span from alice, labels from bob")
    merged = [g for g in gold_claims(app, document.id) if g["id"] != gold["id"]]
    assert len(merged) == 1
    merged = merged[0]
    alice_version = stored(app, differ[0])
    assert (merged["start"], merged["end"], merged["text"]) == (
        alice_version["start"], alice_version["end"], HELICOPTER)
    assert merged["stance"] == "questions"
    assert sorted(merged["sources"]) == sorted(differ)
    assert segments_text(page, "gold", merged["id"]) == HELICOPTER

    # The unit only alice marked: left out of the gold.
    unit(page, lonely).get_by_role("button", name="Reject").click()
    wait_message(page, "Rejected")
    assert stored(app, lonely)["rejected"] is True
    expect(unit(page, lonely).locator(".decision-rejected")).to_have_text("rejected")
    expect(unit(page, lonely)).to_have_attribute("data-decided", "true")
    expect(page.locator("#unit-count")).to_have_text("3 unit(s) · 0 open")

    page.get_by_role("button", name="Mark review done").click()
    wait_message(page, "Review marked done")
    expect(page.locator("#review-state")).to_have_text("review done")
    expect(page.locator("#reopen")).to_be_visible()
    with app.app_context():
        review = db.session.execute(
            select(Review).where(Review.document_id == document.id)).scalar_one()
        assert review.status == "done" and review.decided_by.username == "judy"
        creations = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "create",
                                     AuditEvent.entity == "claim")
            .where(AuditEvent.entity_id.in_([gold["id"], merged["id"]]))).scalars().all()
        assert sorted(e.entity_id for e in creations) == sorted([gold["id"], merged["id"]])
        judy_id = users.by_username("judy").id
        assert {e.user_id for e in creations} == {judy_id}
        assert all(e.after["is_gold"] and e.after["sources"] for e in creations)
        rejection = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "reject",
                                     AuditEvent.entity_id == lonely)).scalar_one()
        assert rejection.user_id == judy_id

    page.get_by_role("button", name="Reopen").click()
    wait_message(page, "Review reopened")
    expect(page.locator("#review-state")).to_have_text("review open")
    assert not console_errors, console_errors


def review_status(app: Flask, document_id: int) -> str:
    with app.app_context():
        return adjudication.review_status(db.session.get(Document, document_id))


def test_a_rejection_is_undone_and_done_waits_for_every_unit(page: Page, app: Flask,
                                                            annotated, console_errors):
    """judy rejects a unit by mistake and takes it back on a done review, which opens again;
    done is refused while that unit is open; an undo someone made meanwhile is told, not
    silently repeated; unfinished annotators ask before done."""
    login(page, "judy")
    document = annotated["document"]
    differ, lonely = annotated["differ"], annotated["lonely"]
    open_review(page, document.id)
    lonely_unit = unit(page, lonely)

    lonely_unit.get_by_role("button", name="Reject").click()
    wait_message(page, "Rejected")
    page.locator("#accept-agreed").click()
    wait_message(page, "Accepted 1 agreed unit(s)")
    unit(page, differ[0]).get_by_role("button", name="Accept alice's").click()
    wait_message(page, "Accepted alice's version")
    page.get_by_role("button", name="Mark review done").click()
    wait_message(page, "Review marked done")

    lonely_unit.get_by_role("button", name="Undo reject").click()
    wait_message(page, "Rejection undone: the unit is open again; the review is open again")
    assert stored(app, lonely)["rejected"] is False
    assert review_status(app, document.id) == "open"
    expect(page.locator("#review-state")).to_have_text("review open")
    expect(lonely_unit).to_have_attribute("data-decided", "false")
    expect(lonely_unit.locator(".decision-rejected")).to_have_count(0)
    expect(lonely_unit.get_by_role("button", name="Reject")).to_be_visible()
    expect(page.locator("#unit-count")).to_have_text("3 unit(s) · 1 open")
    with app.app_context():
        undo = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "unreject", AuditEvent.claim_id == lonely)).scalar_one()
        assert undo.user_id == users.by_username("judy").id

    # Done with the unit open: refused, the count named, nothing stored.
    page.get_by_role("button", name="Mark review done").click()
    wait_message(page, "1 unit is still open: accept, merge, edit or reject it before marking "
                       "the review done; the page has been reloaded.")
    expect(page.locator("#review-message")).to_have_class("muted error")
    assert review_status(app, document.id) == "open"

    # Rejected again, then undone by maria behind judy's back: judy's undo is refused.
    lonely_unit.get_by_role("button", name="Reject").click()
    wait_message(page, "Rejected")
    with app.app_context():
        maria = users.by_username("maria")
        adjudication.unreject(maria, db.session.get(Document, document.id), [lonely])
    lonely_unit.get_by_role("button", name="Undo reject").click()
    expect(page.locator("#review-message")).to_contain_text(f"claim #{lonely} is not rejected")
    expect(lonely_unit.get_by_role("button", name="Reject")).to_be_visible()  # reloaded

    # bob reopened his work: marking done asks first.
    lonely_unit.get_by_role("button", name="Reject").click()
    wait_message(page, "Rejected")
    with app.app_context():
        documents.set_status(db.session.get(Document, document.id), users.by_username("bob"),
                             "in_progress")
    open_review(page, document.id)
    expect(page.locator("#unit-count")).to_have_text("3 unit(s) · 0 open · not finished: bob")
    asked: list[str] = []

    def answer(dialog, accept: bool) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    page.get_by_role("button", name="Mark review done").click()
    expect(page.locator("#review-state")).to_have_text("review open")
    assert asked and asked[0].startswith("bob has not finished this document")
    page.once("dialog", lambda dialog: answer(dialog, True))
    page.get_by_role("button", name="Mark review done").click()
    wait_message(page, "Review marked done")
    assert review_status(app, document.id) == "done" and len(asked) == 2
    unexpected = [e for e in console_errors if "status of 409" not in e]  # the refusals
    assert not unexpected, unexpected


def test_edit_a_version_into_gold_then_edit_and_delete_the_gold(page: Page, app: Flask,
                                                                annotated, console_errors):
    login(page, "judy")
    document = annotated["document"]
    lonely = annotated["lonely"]
    open_review(page, document.id)

    lonely_unit = unit(page, lonely)
    lonely_unit.get_by_role("button", name="Edit…").click()
    form = lonely_unit.locator("form.edit-form")
    expect(form.locator('[name="actor"]')).to_have_value("Amaq")
    expect(form.locator('[name="stance"]')).to_have_value("asserts")
    form.locator('[name="stance"]').select_option("denies")
    form.locator('[name="verdict"]').select_option("refuted")
    form.locator('[name="actor"]').fill("Syrian Observatory")  # not an actor yet
    form.locator('[name="note"]').fill("judy: the video shows no missile")
    form.get_by_role("button", name="Save as gold").click()
    wait_message(page, "Saved the edited gold claim")
    [gold] = gold_claims(app, document.id)
    assert (gold["text"], gold["stance"], gold["verdict"], gold["actor"], gold["note"]) == (
        VIDEO, "denies", "refuted", "Syrian Observatory", "judy: the video shows no missile")
    assert gold["sources"] == [lonely]
    expect(lonely_unit).to_have_attribute("data-decided", "true")

    # The gold claim itself: edited (with its version) ...
    item = page.locator(f'#gold-list li[data-claim-id="{gold["id"]}"]')
    item.get_by_role("button", name="Edit").click()
    item.locator('form [name="note"]').fill("checked twice")
    item.locator('form [name="stance"]').select_option("questions")
    item.get_by_role("button", name="Save").click()
    wait_message(page, f"Saved gold claim #{gold['id']}")
    now = stored(app, gold["id"])
    assert (now["note"], now["stance"], now["version"]) == ("checked twice", "questions", 2)
    expect(item).to_have_attribute("data-version", "2")

    # ... and a stale edit (another adjudicator saved meanwhile) shows both versions side by
    # side; nothing is written until judy chooses, and keeping hers saves it on top.
    with app.app_context():
        judy = users.by_username("judy")
        claims_service.update_claim(judy, db.session.get(Claim, gold["id"]),
                                    {"version": 2, "note": "changed elsewhere"})
    item.get_by_role("button", name="Edit").click()
    item.locator('form [name="note"]').fill("mine")
    item.get_by_role("button", name="Save").click()
    expect(page.locator("#review-message")).to_contain_text("Someone changed this gold claim")
    conflict = item.locator(".gold-conflict")
    expect(conflict.locator('tr[data-field="note"] td.mine')).to_have_text("mine")
    expect(conflict.locator('tr[data-field="note"] td.theirs')).to_have_text("changed elsewhere")
    expect(conflict.locator('tr[data-field="stance"]')).not_to_have_class("differs")
    assert stored(app, gold["id"])["note"] == "changed elsewhere"
    conflict.get_by_role("button", name="Keep mine").click()
    wait_message(page, f"Saved gold claim #{gold['id']}")
    assert (stored(app, gold["id"])["note"], stored(app, gold["id"])["version"]) == ("mine", 4)
    expect(item).to_have_attribute("data-version", "4")

    # A stale delete is shown too; keeping the stored claim deletes nothing.
    with app.app_context():
        claims_service.update_claim(users.by_username("judy"), db.session.get(Claim, gold["id"]),
                                    {"version": 4, "note": "changed again"})
    item.get_by_role("button", name="Delete").click()
    expect(conflict.locator("td.mine").first).to_have_text("(deleted)")
    conflict.get_by_role("button", name="Keep the stored claim").click()
    wait_message(page, f"Kept gold claim #{gold['id']} as stored")
    expect(item).to_have_attribute("data-version", "5")
    assert stored(app, gold["id"])["deleted_at"] is None

    # ... and deleted: the unit is open again.
    item.get_by_role("button", name="Delete").click()
    wait_message(page, f"Deleted gold claim #{gold['id']}")
    assert stored(app, gold["id"])["deleted_at"] is not None
    assert gold_claims(app, document.id) == []
    expect(lonely_unit).to_have_attribute("data-decided", "false")
    expect(lonely_unit.get_by_role("button", name="Accept alice's")).to_be_visible()
    unexpected = [e for e in console_errors if "status of 409" not in e]  # the stale edit
    assert not unexpected, unexpected


def test_accept_all_agreed_on_a_fresh_document(page: Page, app: Flask, document, make_user):
    projects.add_member(document.project, make_user("judy"), "adjudicator")
    second = db.session.execute(select(Document).where(
        Document.project_id == document.project_id, Document.external_id == "d2")).scalar_one()
    ids = {}
    for name in ("alice", "bob"):
        user = users.by_username(name)
        ids[name] = claims_service.create_claim(user, second, {
            "start": 2, "end": 21, "text": "short second report", "stance": "asserts"}).id
        documents.set_status(second, user, "done")
    extra = claims_service.create_claim(users.by_username("alice"), second, {
        "start": 0, "end": 1, "text": "A", "stance": "denies"}).id
    login(page, "judy")

    # From the queue: d2 is ready (d1 is not: nobody finished it).
    page.goto(f"/projects/{document.project_id}/review")
    rows = page.locator("#review-queue tbody tr[data-document-id]")
    expect(rows).to_have_count(1)
    rows.first.get_by_role("link").click()
    page.wait_for_selector("#review[data-ready=true]", state="attached")
    assert page.url.endswith(f"/documents/{second.id}/review")

    accept = page.locator("#accept-agreed")
    expect(accept).to_have_text("Accept all agreed (1)")
    accept.click()
    wait_message(page, "Accepted 1 agreed unit(s)")
    [gold] = gold_claims(app, second.id)
    assert sorted(gold["sources"]) == sorted(ids.values())
    assert gold["text"] == "short second report"
    expect(accept).to_be_disabled()
    expect(unit(page, extra)).to_have_attribute("data-decided", "false")
    assert stored(app, extra)["rejected"] is False


def test_annotators_cannot_open_the_review_pages(page: Page, annotated):
    login(page, "alice")
    document = annotated["document"]
    response = page.goto(f"/documents/{document.id}/review")
    assert response is not None and response.status == 404
    response = page.goto(f"/projects/{document.project_id}/review")
    assert response is not None and response.status == 403
    page.goto(f"/projects/{document.project_id}")
    expect(page.locator("#review-link")).to_have_count(0)
    api = page.request.get(f"/api/v1/documents/{document.id}/review")
    assert api.status == 404


def test_keep_mine_clicked_while_another_action_is_on_its_way_waits_for_it(
        page: Page, app: Flask, annotated):
    """judy's gold edit meets a conflict. She has just clicked "Accept all agreed"; while
    that request is on its way she clicks "Keep mine": her choice waits for it, then is
    sent (it used to be dropped without a word)."""
    document = annotated["document"]
    with app.app_context():
        judy = users.by_username("judy")
        gold = adjudication.accept(judy, db.session.get(type(document), document.id),
                                   annotated["lonely"])
        gold_id = gold.id
    login(page, "judy")
    open_review(page, document.id)
    with app.app_context():
        claims_service.update_claim(users.by_username("judy"), db.session.get(Claim, gold_id),
                                    {"version": 1, "note": "changed elsewhere"})
    item = page.locator(f'#gold-list li[data-claim-id="{gold_id}"]')
    item.get_by_role("button", name="Edit").click()
    item.locator('form [name="note"]').fill("mine")
    item.get_by_role("button", name="Save").click()
    conflict = item.locator(".gold-conflict")
    expect(conflict.locator('tr[data-field="note"] td.mine')).to_have_text("mine")

    held = []
    page.route("**/gold/accept-agreed", lambda route: held.append(route))
    page.click("#accept-agreed")
    page.wait_for_function("() => document.getElementById('review').dataset.busy === 'true'")
    conflict.get_by_role("button", name="Keep mine").click()
    held[0].continue_()
    wait_message(page, f"Saved gold claim #{gold_id}")
    assert stored(app, gold_id)["note"] == "mine"
    assert len(gold_claims(app, document.id)) == 2  # the agreed unit was accepted too


JUDY_TYPED = {"actor": "Syrian Observatory", "stance": "denies", "verdict": "refuted",
              "note": "judy: a missile, per two witnesses"}


def judy_opens_the_differing_unit_beside_ruth(page: Page, annotated, make_user
                                             ) -> tuple[Locator, Locator]:
    """ruth joins as a second adjudicator; judy opens the review and the Edit… form of the
    differing unit: the unit and its form."""
    document, differ = annotated["document"], annotated["differ"]
    projects.add_member(document.project, make_user("ruth"), "adjudicator")
    login(page, "judy")
    open_review(page, document.id)
    differing = unit(page, differ[0])
    differing.get_by_role("button", name="Edit…").click()
    return differing, differing.locator("form.edit-form")


def judy_saves_an_edit_ruth_settled_meanwhile(page: Page, app: Flask, annotated,
                                              make_user) -> tuple[int, Locator]:
    """judy types a gold claim from alice's version of the differing unit in the Edit…
    form; meanwhile ruth, a second adjudicator, accepts bob's version for the unit. judy
    saves: ruth's gold claim (its id) and the box that shows both versions."""
    document, differ = annotated["document"], annotated["differ"]
    differing, form = judy_opens_the_differing_unit_beside_ruth(page, annotated, make_user)
    form.locator('[name="actor"]').fill(JUDY_TYPED["actor"])
    form.locator('[name="stance"]').select_option(JUDY_TYPED["stance"])
    form.locator('[name="verdict"]').select_option(JUDY_TYPED["verdict"])
    form.locator('[name="note"]').fill(JUDY_TYPED["note"])
    with app.app_context():
        ruth = users.by_username("ruth")
        gold_id = adjudication.accept(ruth, db.session.get(Document, document.id),
                                      differ[1], [differ[0]]).id
    form.get_by_role("button", name="Save as gold").click()
    expect(page.locator("#review-message")).to_contain_text(
        f"Someone settled this unit meanwhile (gold claim #{gold_id})")
    return gold_id, differing.locator(".settled-conflict")


def test_an_edit_saved_on_a_unit_settled_meanwhile_keeps_the_typing_until_judy_keeps_hers(
        page: Page, app: Flask, annotated, make_user, console_errors):
    """The 409 (a live gold claim settles the unit) used to reload the page with judy's
    typed claim gone; now it stays next to ruth's, and keeping hers writes it onto ruth's
    gold claim: one gold claim for the unit, both edits in its history."""
    document, differ = annotated["document"], annotated["differ"]
    gold_id, conflict = judy_saves_an_edit_ruth_settled_meanwhile(page, app, annotated, make_user)
    ruths = stored(app, gold_id)
    assert (ruths["annotator"], ruths["stance"], ruths["version"]) == ("ruth", "questions", 1)
    expect(conflict.locator('tr[data-field="span"] td.mine')).to_contain_text(f"“{HELICOPTER}”")
    expect(conflict.locator('tr[data-field="span"] td.theirs')).to_contain_text(
        f"“said {HELICOPTER}”")
    expect(conflict.locator('tr[data-field="actor"] td.mine')).to_have_text(JUDY_TYPED["actor"])
    expect(conflict.locator('tr[data-field="actor"] td.theirs')).to_have_text("—")
    expect(conflict.locator('tr[data-field="stance"] td.mine')).to_have_text("Denies")
    expect(conflict.locator('tr[data-field="stance"] td.theirs')).to_have_text("Questions")
    expect(conflict.locator('tr[data-field="note"] td.mine')).to_have_text(JUDY_TYPED["note"])
    expect(conflict.locator(".conflict-title")).to_contain_text(f"Gold claim #{gold_id} settled")
    # Behind the box the page shows the unit as ruth settled it ...
    expect(unit(page, differ[0])).to_have_attribute("data-decided", "true")
    expect(page.locator(f'#gold-list li[data-claim-id="{gold_id}"]')).to_be_visible()
    # ... and another of judy's actions, which reloads the page, leaves the box where it was.
    page.locator("#accept-agreed").click()
    wait_message(page, "Accepted 1 agreed unit(s)")
    expect(conflict.locator('tr[data-field="note"] td.mine')).to_have_text(JUDY_TYPED["note"])

    conflict.get_by_role("button", name="Keep mine").click()
    wait_message(page, f"Saved gold claim #{gold_id}")
    expect(conflict).to_have_count(0)
    settling = [g for g in gold_claims(app, document.id) if set(g["sources"]) & set(differ)]
    assert [g["id"] for g in settling] == [gold_id]
    now = settling[0]
    alices = stored(app, differ[0])
    assert {k: now[k] for k in ("start", "end", "text", *JUDY_TYPED)} == {
        "start": alices["start"], "end": alices["end"], "text": HELICOPTER, **JUDY_TYPED}
    assert sorted(now["sources"]) == sorted(differ) and now["version"] == 2
    history = page.request.get(f"/api/v1/claims/{gold_id}/history").json()
    assert [(e["action"], e["user"]) for e in history if e["entity"] == "claim"] == [
        ("create", "ruth"), ("update", "judy")]
    unexpected = [e for e in console_errors if "status of 409" not in e]
    assert not unexpected, unexpected


def test_a_unit_settled_apart_meanwhile_names_each_gold_claim(
        page: Page, app: Flask, annotated, make_user):
    """ruth settles alice's and bob's versions of the unit apart, a gold claim each, while
    judy types hers: the box compares with the first and says the other stays."""
    document, differ = annotated["document"], annotated["differ"]
    _, form = judy_opens_the_differing_unit_beside_ruth(page, annotated, make_user)
    form.locator('[name="note"]').fill(JUDY_TYPED["note"])
    with app.app_context():
        ruth, doc = users.by_username("ruth"), db.session.get(Document, document.id)
        first = adjudication.accept(ruth, doc, differ[0]).id
        second = adjudication.accept(ruth, doc, differ[1]).id
    form.get_by_role("button", name="Save as gold").click()
    expect(page.locator("#review-message")).to_contain_text(
        f"Someone settled this unit meanwhile (gold claims #{first}, #{second})")
    conflict = page.locator(".settled-conflict")
    expect(conflict.locator(".conflict-title")).to_contain_text(
        f"Gold claim #{first} settled this unit")
    expect(conflict.locator(".conflict-title")).to_contain_text(
        f"Gold claim #{second} also settles part of this unit and stays as stored")
    conflict.get_by_role("button", name="Keep mine").click()
    wait_message(page, f"Saved gold claim #{first}")
    assert stored(app, first)["note"] == JUDY_TYPED["note"]
    assert sorted(g["id"] for g in gold_claims(app, document.id)) == [first, second]


def test_an_edit_saved_on_a_unit_settled_meanwhile_is_dropped_when_judy_takes_theirs(
        page: Page, app: Flask, annotated, make_user):
    document, differ = annotated["document"], annotated["differ"]
    gold_id, conflict = judy_saves_an_edit_ruth_settled_meanwhile(page, app, annotated, make_user)
    ruths = stored(app, gold_id)
    expect(conflict.locator('tr[data-field="note"] td.mine')).to_have_text(JUDY_TYPED["note"])

    conflict.get_by_role("button", name="Take theirs").click()
    wait_message(page, f"Kept gold claim #{gold_id} as stored")
    expect(conflict).to_have_count(0)
    assert [g["id"] for g in gold_claims(app, document.id)] == [gold_id]
    assert stored(app, gold_id) == ruths
    with app.app_context():
        judys = db.session.execute(select(AuditEvent).where(
            AuditEvent.claim_id == gold_id,
            AuditEvent.user_id == users.by_username("judy").id)).scalars().all()
        assert judys == []
    expect(unit(page, differ[0]).locator(".decision-gold")).to_contain_text(f"#{gold_id}")


def test_an_edit_saved_on_a_unit_settled_meanwhile_merges_field_by_field(
        page: Page, app: Flask, annotated, make_user):
    """ruth's span, judy's typed labels: only what judy took from hers is written."""
    differ = annotated["differ"]
    gold_id, conflict = judy_saves_an_edit_ruth_settled_meanwhile(page, app, annotated, make_user)
    conflict.locator('tr[data-field="span"] input[value="theirs"]').check()
    conflict.get_by_role("button", name="Merge chosen fields").click()
    wait_message(page, f"Saved gold claim #{gold_id}")
    now, bobs = stored(app, gold_id), stored(app, differ[1])
    assert {k: now[k] for k in ("start", "end", "text", *JUDY_TYPED)} == {
        "start": bobs["start"], "end": bobs["end"], "text": f"said {HELICOPTER}", **JUDY_TYPED}
    assert now["version"] == 2


def test_keep_mine_on_a_unit_whose_settling_gold_was_deleted_meanwhile_keeps_the_typing(
        page: Page, app: Flask, annotated, make_user):
    """judy's typed gold claim waits next to ruth's; ruth then deletes hers (the unit is open
    again). judy's "Keep mine" cannot be written onto a deleted claim (404); her typed claim
    used to vanish with the box. It is saved as the unit's gold claim instead."""
    document, differ = annotated["document"], annotated["differ"]
    gold_id, conflict = judy_saves_an_edit_ruth_settled_meanwhile(page, app, annotated, make_user)
    with app.app_context():
        claims_service.delete_claim(users.by_username("ruth"), db.session.get(Claim, gold_id))
    conflict.get_by_role("button", name="Keep mine").click()
    wait_message(page, "Saved the edited gold claim")  # was: "claim not found", typing gone
    saved = [g for g in gold_claims(app, document.id) if set(g["sources"]) & set(differ)]
    assert len(saved) == 1 and saved[0]["id"] != gold_id
    assert {k: saved[0][k] for k in JUDY_TYPED} == JUDY_TYPED
    assert sorted(saved[0]["sources"]) == sorted(differ)
    assert saved[0]["text"] == HELICOPTER  # alice's span, as judy's Edit… form had it
