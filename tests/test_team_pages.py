"""The team pages: members, settings and assignment, the progress dashboard, the annotators'
queue on the home page and the Next document button."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from annotator.db import db
from annotator.models import Assignment, Document, Membership, Project, User, utcnow
from annotator.services import claims, documents, projects, users
from tests.conftest import SAMPLE_TEXT, span

# ---------- helpers ----------


def login(client, auth, username: str) -> str:
    """Log in and return the session's CSRF token."""
    assert auth.login(username).status_code == 302
    return auth.csrf_token("/")


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, so a refused request can be shown to change nothing."""
    db.session.rollback()
    return {table.name: [tuple(row) for row in db.session.execute(
        select(*table.columns).order_by(*table.primary_key.columns))]
        for table in db.metadata.sorted_tables}


def role_of(project_id: int, username: str) -> str | None:
    db.session.rollback()
    return db.session.scalar(
        select(Membership.role).join(User, User.id == Membership.user_id)
        .where(Membership.project_id == project_id, User.username == username))


def holders() -> dict[str, list[str]]:
    """external id -> the usernames assigned to it."""
    db.session.rollback()
    found: dict[str, list[str]] = {}
    for assignment in db.session.scalars(select(Assignment)):
        found.setdefault(assignment.document.external_id, []).append(
            assignment.user.username)
    return {k: sorted(v) for k, v in found.items()}


def import_docs(project, count: int) -> None:
    lines = "".join(json.dumps({"id": f"n{i}", "title": f"Report {i}", "text": f"Text {i}."})
                    + "\n" for i in range(count))
    documents.import_file(project, "batch.jsonl", lines.encode())


def doc_id(project_id: int, external_id: str) -> int:
    return db.session.scalar(select(Document.id).where(
        Document.project_id == project_id, Document.external_id == external_id))


def row(page: str, attribute: str, value: str) -> str:
    """The HTML of the table row carrying attribute="value"."""
    match = re.search(rf'<tr {attribute}="{re.escape(value)}"[^>]*>(.*?)</tr>', page, re.S)
    assert match, f"no row {attribute}={value}"
    return match.group(1)


def cell(row_html: str, column: str) -> str:
    match = re.search(rf'data-col="{column}">([^<]*)<', row_html)
    assert match, f"no column {column}"
    return match.group(1).strip()


def field_error(page: str, field: str) -> list[str]:
    return re.findall(rf'<p class="field-error" data-error-for="{field}">([^<]*)</p>', page)


@pytest.fixture
def admin(make_user):
    return make_user("root", admin=True)


# ---------- who may open the pages ----------

PAGES = ["/projects/{pid}/members", "/projects/{pid}/progress"]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("username", ["maria", "root"])
def test_managers_and_admins_open_the_team_pages(client, auth, document, admin, path,
                                                 username):
    login(client, auth, username)
    response = client.get(path.format(pid=document.project_id))
    assert response.status_code == 200
    assert "Palmyra reports" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", PAGES)
def test_annotators_get_403_and_outsiders_404_on_the_team_pages(client, auth, document,
                                                                make_user, path):
    url = path.format(pid=document.project_id)
    assert client.get(url).status_code == 302  # not logged in: to the login page
    login(client, auth, "alice")
    assert client.get(url).status_code == 403
    make_user("outsider")
    client.post("/logout", data={"csrf_token": auth.csrf_token("/")})
    login(client, auth, "outsider")
    response = client.get(url)
    assert response.status_code == 404
    assert "Palmyra" not in response.get_data(as_text=True)


WRITES = [
    ("/projects/{pid}/members/add", {"username": "carol", "role": "manager"}),
    ("/projects/{pid}/members/{bob}/role", {"role": "manager"}),
    ("/projects/{pid}/members/{bob}/remove", {}),
    ("/projects/{pid}/settings", {"annotators_per_document": "1"}),
    ("/projects/{pid}/assign", {"per_document": "1"}),
    ("/projects/{pid}/reassign", {"document": "d1", "from_user": "alice", "to_user": "bob"}),
]


def _targets(project) -> dict[str, int]:
    return {"pid": project.id, "bob": users.by_username("bob").id}


@pytest.mark.parametrize(("path", "data"), WRITES)
def test_annotators_cannot_post_the_manager_forms(client, auth, document, make_user, path,
                                                  data):
    make_user("carol")
    url = path.format(**_targets(document.project))
    token = login(client, auth, "alice")
    before = snapshot()
    assert client.post(url, data={**data, "csrf_token": token}).status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize(("path", "data"), WRITES)
def test_manager_forms_without_csrf_token_are_400_and_change_nothing(client, auth, document,
                                                                     make_user, path, data):
    make_user("carol")
    url = path.format(**_targets(document.project))
    login(client, auth, "maria")
    before = snapshot()
    assert client.post(url, data=data).status_code == 400
    assert snapshot() == before


def test_another_projects_member_cannot_be_changed_through_my_project(client, auth, project,
                                                                      make_user):
    amy = make_user("amy")
    mine = projects.create_project("Amy's project", manager=amy)
    alice = users.by_username("alice")
    token = login(client, auth, "amy")
    before = snapshot()
    for action, data in (("role", {"role": "manager"}), ("remove", {})):
        response = client.post(f"/projects/{mine.id}/members/{alice.id}/{action}",
                               data={**data, "csrf_token": token})
        assert response.status_code == 404
    assert snapshot() == before


# ---------- members ----------


def test_members_page_lists_members_with_their_roles(client, auth, project):
    login(client, auth, "maria")
    page = client.get(f"/projects/{project.id}/members").get_data(as_text=True)
    found = dict(re.findall(r'<tr data-username="([^"]+)" data-role="([^"]+)"', page))
    assert found == {"alice": "annotator", "bob": "annotator", "maria": "manager"}


def test_add_a_member_by_username(client, auth, project, make_user):
    make_user("carol")
    token = login(client, auth, "maria")
    response = client.post(f"/projects/{project.id}/members/add", data={
        "username": " carol ", "role": "adjudicator", "csrf_token": token})
    assert response.status_code == 302
    assert role_of(project.id, "carol") == "adjudicator"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "carol is now adjudicator of this project." in page
    assert 'data-username="carol" data-role="adjudicator"' in page


def test_adding_an_unknown_username_is_a_field_error(client, auth, project):
    token = login(client, auth, "maria")
    before = snapshot()
    response = client.post(f"/projects/{project.id}/members/add", data={
        "username": "nobody", "role": "annotator", "csrf_token": token})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "username") == [
        "no user named &#39;nobody&#39;"]
    assert snapshot() == before


def test_adding_with_an_unknown_role_is_a_field_error(client, auth, project, make_user):
    make_user("carol")
    token = login(client, auth, "maria")
    response = client.post(f"/projects/{project.id}/members/add", data={
        "username": "carol", "role": "owner", "csrf_token": token})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "role")
    assert role_of(project.id, "carol") is None


def test_change_a_members_role(client, auth, project):
    bob = users.by_username("bob")
    token = login(client, auth, "maria")
    response = client.post(f"/projects/{project.id}/members/{bob.id}/role",
                           data={"role": "adjudicator", "csrf_token": token})
    assert response.status_code == 302
    assert role_of(project.id, "bob") == "adjudicator"
    assert role_of(project.id, "alice") == "annotator"


def test_the_only_manager_cannot_demote_or_remove_themselves(client, auth, project):
    maria = users.by_username("maria")
    token = login(client, auth, "maria")
    before = snapshot()
    response = client.post(f"/projects/{project.id}/members/{maria.id}/role",
                           data={"role": "annotator", "csrf_token": token})
    assert response.status_code == 422
    assert "only manager" in response.get_data(as_text=True)
    response = client.post(f"/projects/{project.id}/members/{maria.id}/remove",
                           data={"csrf_token": token})
    assert response.status_code == 422
    assert snapshot() == before


def test_a_manager_who_steps_down_lands_on_the_project_page(client, auth, project):
    """Not on the members page, which a non-manager may not open (403)."""
    maria, alice = users.by_username("maria"), users.by_username("alice")
    token = login(client, auth, "maria")
    client.post(f"/projects/{project.id}/members/{alice.id}/role",
                data={"role": "manager", "csrf_token": token})
    response = client.post(f"/projects/{project.id}/members/{maria.id}/role",
                           data={"role": "adjudicator", "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/projects/{project.id}")
    assert client.get(response.headers["Location"]).status_code == 200
    assert role_of(project.id, "maria") == "adjudicator"


def test_remove_a_member_keeps_their_assignments(client, auth, document):
    bob = users.by_username("bob")
    token = login(client, auth, "maria")
    response = client.post(f"/projects/{document.project_id}/members/{bob.id}/remove",
                           data={"csrf_token": token})
    assert response.status_code == 302
    assert role_of(document.project_id, "bob") is None
    assert role_of(document.project_id, "alice") == "annotator"
    assert holders() == {"d1": ["alice", "bob"], "d2": ["alice", "bob"]}
    # bob has no way into the project any more
    client.post("/logout", data={"csrf_token": token})
    login(client, auth, "bob")
    assert client.get(f"/projects/{document.project_id}").status_code == 404


# ---------- settings ----------


def test_settings_change_k_and_blind_mode(client, auth, project):
    assert project.blind and project.annotators_per_document == 1
    token = login(client, auth, "maria")
    page = client.get(f"/projects/{project.id}/members").get_data(as_text=True)
    assert re.search(r'<input checked id="blind" name="blind" type="checkbox"', page)

    response = client.post(f"/projects/{project.id}/settings", data={
        "annotators_per_document": "3", "csrf_token": token})  # checkbox left unticked
    assert response.status_code == 302
    db.session.rollback()
    stored = db.session.get(Project, project.id)
    assert (stored.annotators_per_document, stored.blind) == (3, False)

    client.post(f"/projects/{project.id}/settings", data={
        "annotators_per_document": "2", "blind": "y", "csrf_token": token})
    db.session.rollback()
    stored = db.session.get(Project, project.id)
    assert (stored.annotators_per_document, stored.blind) == (2, True)


@pytest.mark.parametrize("k", ["0", "-1", "two", ""])
def test_settings_refuse_a_k_below_one(client, auth, project, k):
    token = login(client, auth, "maria")
    before = snapshot()
    response = client.post(f"/projects/{project.id}/settings", data={
        "annotators_per_document": k, "blind": "y", "csrf_token": token})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "annotators_per_document")
    assert snapshot() == before


# ---------- assignment ----------


def test_assign_form_defaults_to_the_projects_k(client, auth, project):
    project.annotators_per_document = 2
    db.session.commit()
    login(client, auth, "maria")
    page = client.get(f"/projects/{project.id}/members").get_data(as_text=True)
    assert re.search(r'id="per_document"[^>]*value="2"', page)


def test_assign_through_the_form_balances_the_documents(client, auth, project, make_user):
    projects.add_member(project, make_user("carol"), "annotator")
    import_docs(project, 7)
    token = login(client, auth, "maria")

    response = client.post(f"/projects/{project.id}/assign",
                           data={"per_document": "2", "csrf_token": token})

    assert response.status_code == 302
    found = holders()
    assert len(found) == 7
    assert all(len(names) == 2 == len(set(names)) for names in found.values())
    load = Counter(name for names in found.values() for name in names)
    assert set(load) == {"alice", "bob", "carol"}
    assert max(load.values()) - min(load.values()) <= 1
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Added 14 assignment(s)" in page
    db.session.rollback()
    assert db.session.get(Project, project.id).annotators_per_document == 2


def test_assign_more_annotators_than_the_project_has_is_a_field_error(client, auth, project):
    import_docs(project, 3)
    token = login(client, auth, "maria")
    before = snapshot()
    response = client.post(f"/projects/{project.id}/assign",
                           data={"per_document": "3", "csrf_token": token})
    assert response.status_code == 422
    [message] = field_error(response.get_data(as_text=True), "per_document")
    assert "2 annotator(s)" in message
    assert snapshot() == before


def test_reassign_moves_an_assignment(client, auth, document, make_user):
    projects.add_member(document.project, make_user("carol"), "annotator")
    token = login(client, auth, "maria")
    page = client.get(f"/projects/{document.project_id}/members").get_data(as_text=True)
    assert '<option value="carol">carol</option>' in page

    response = client.post(f"/projects/{document.project_id}/reassign", data={
        "document": "d1", "from_user": "alice", "to_user": "carol", "csrf_token": token})

    assert response.status_code == 302
    assert holders() == {"d1": ["bob", "carol"], "d2": ["alice", "bob"]}
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Document d1 moved from alice to carol." in page


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"document": "nope", "from_user": "alice", "to_user": "bob"}, "document",
     "no document &#39;nope&#39; in this project"),
    ({"document": "d1", "from_user": "alice", "to_user": "bob"}, "to_user",
     "bob already has this document"),
    ({"document": "d1", "from_user": "alice", "to_user": "mallory"}, "to_user",
     "Not a valid choice."),
])
def test_reassign_errors_are_shown_by_field(client, auth, document, data, field, message):
    token = login(client, auth, "maria")
    before = snapshot()
    response = client.post(f"/projects/{document.project_id}/reassign",
                           data={**data, "csrf_token": token})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), field) == [message]
    assert snapshot() == before


def test_reassign_refuses_finished_work(client, auth, document, make_user, token_for):
    projects.add_member(document.project, make_user("carol"), "annotator")
    client.put(f"/api/v1/documents/{document.id}/status", json={"status": "done"},
               headers=token_for("alice"))
    token = login(client, auth, "maria")
    before = snapshot()
    response = client.post(f"/projects/{document.project_id}/reassign", data={
        "document": "d1", "from_user": "alice", "to_user": "carol", "csrf_token": token})
    assert response.status_code == 422
    assert "alice has finished this document" in response.get_data(as_text=True)
    assert snapshot() == before


# ---------- progress dashboard ----------


def test_dashboard_figures_for_a_small_scenario(client, auth, document, token_for):
    """k=2 over alice and bob (the fixture); alice makes a claim and finishes d1."""
    alice = token_for("alice")
    start, end = span(SAMPLE_TEXT, "a helicopter was shot down")
    assert client.post(f"/api/v1/documents/{document.id}/claims", headers=alice, json={
        "start": start, "end": end, "text": "a helicopter was shot down",
        "stance": "asserts"}).status_code == 201
    assert client.put(f"/api/v1/documents/{document.id}/status", json={"status": "done"},
                      headers=alice).status_code == 200
    # 1 h 5 min 40 s between opening and finishing: shown as 1:05
    mine = db.session.scalars(select(Assignment).join(User).where(
        User.username == "alice", Assignment.document_id == document.id)).one()
    mine.done_at = utcnow()
    mine.started_at = mine.done_at - timedelta(seconds=3940)
    db.session.commit()
    d2 = doc_id(document.project_id, "d2")

    login(client, auth, "maria")
    client.get(f"/documents/{d2}")  # maria has no assignment: opening changes nothing
    page = client.get(f"/projects/{document.project_id}/progress").get_data(as_text=True)

    alice_row, bob_row = row(page, "data-username", "alice"), row(page, "data-username", "bob")
    assert {c: cell(alice_row, c) for c in ("done", "in_progress", "todo", "skipped",
                                            "claims", "time")} == {
        "done": "1", "in_progress": "0", "todo": "1", "skipped": "0", "claims": "1",
        "time": "1:05"}
    assert '<progress value="1" max="2">' in alice_row
    assert cell(alice_row, "last").endswith("UTC")
    assert {c: cell(bob_row, c) for c in ("done", "todo", "claims", "time", "last")} == {
        "done": "0", "todo": "2", "claims": "0", "time": "0:00", "last": "never"}
    assert '<progress value="0" max="2">' in bob_row

    d1_row = row(page, "data-document-id", str(document.id))
    assert f'href="/documents/{document.id}"' in d1_row and "Helicopter down" in d1_row
    assert '<progress value="1" max="2">' in d1_row and "1/2" in d1_row
    assert re.search(r'data-username="alice">alice: <span class="status status-done">', d1_row)
    assert re.search(r'data-username="bob">bob: <span class="status status-todo">', d1_row)
    assert '<progress value="0" max="2">' in row(page, "data-document-id", str(d2))


def test_dashboard_shows_skip_reasons(client, auth, document, token_for):
    client.post(f"/api/v1/documents/{document.id}/skip", json={"reason": "<b>not</b> English"},
                headers=token_for("bob"))
    login(client, auth, "maria")
    page = client.get(f"/projects/{document.project_id}/progress").get_data(as_text=True)
    d1_row = row(page, "data-document-id", str(document.id))
    assert "status-skipped" in d1_row
    assert "&lt;b&gt;not&lt;/b&gt; English" in d1_row and "<b>not</b>" not in d1_row
    assert cell(row(page, "data-username", "bob"), "skipped") == "1"


def _document_order(page: str) -> list[str]:
    return re.findall(r'<tr data-document-id="\d+" data-done="\d+">\s*<td><a [^>]*>([^<]*)</a>',
                      page)


def _annotator_order(page: str) -> list[str]:
    table = page.split('id="annotators"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr data-username="([^"]+)"', table)


@pytest.fixture
def progressed(client, document, token_for):
    """Three documents: 'Zebra report' (done by both), 'Helicopter down' (alice done),
    'Second report' (no one); bob made two claims, alice one."""
    documents.import_file(document.project, "more.jsonl",
                          b'{"id": "d0", "title": "Zebra report", "text": "Zebras seen."}\n')
    from annotator.services import assignments

    assignments.assign(document.project, 2)
    alice, bob = users.by_username("alice"), users.by_username("bob")
    d0 = db.session.get(Document, doc_id(document.project_id, "d0"))
    for who in (alice, bob):
        documents.set_status(d0, who, "done")
    documents.set_status(document, alice, "done")
    for needle, who in (("Zebras", bob), ("seen", bob), ("Zebras seen", alice)):
        start, end = span(d0.text, needle)
        claims.create_claim(who, d0, {"start": start, "end": end, "text": needle,
                                      "stance": "asserts"})
    return document


@pytest.mark.parametrize(("query", "expected"), [
    ("", ["Helicopter down", "Second report", "Zebra report"]),
    ("?doc_filter=complete", ["Zebra report"]),
    ("?doc_filter=incomplete", ["Helicopter down", "Second report"]),
    ("?doc_sort=title", ["Helicopter down", "Second report", "Zebra report"]),
    ("?doc_sort=done", ["Second report", "Helicopter down", "Zebra report"]),
    ("?doc_filter=incomplete&doc_sort=done", ["Second report", "Helicopter down"]),
    ("?doc_filter=bogus&doc_sort=%3Cscript%3E", ["Helicopter down", "Second report",
                                                  "Zebra report"]),
])
def test_dashboard_document_filter_and_sort(client, auth, progressed, query, expected):
    login(client, auth, "maria")
    response = client.get(f"/projects/{progressed.project_id}/progress{query}")
    assert response.status_code == 200
    assert _document_order(response.get_data(as_text=True)) == expected


def test_dashboard_sorts_annotators(client, auth, progressed, make_user):
    projects.add_member(progressed.project, make_user("aaron"), "annotator")
    login(client, auth, "maria")
    base = f"/projects/{progressed.project_id}/progress"
    assert _annotator_order(client.get(base).get_data(as_text=True)) == [
        "aaron", "alice", "bob"]
    assert _annotator_order(client.get(base + "?annotator_sort=done").get_data(
        as_text=True)) == ["alice", "bob", "aaron"]
    assert _annotator_order(client.get(base + "?annotator_sort=claims").get_data(
        as_text=True)) == ["bob", "alice", "aaron"]
    assert _annotator_order(client.get(base + "?annotator_sort=nonsense").get_data(
        as_text=True)) == ["aaron", "alice", "bob"]


def test_dashboard_filter_form_shows_what_was_applied(client, auth, progressed):
    login(client, auth, "maria")
    page = client.get(f"/projects/{progressed.project_id}/progress"
                      "?doc_filter=complete&doc_sort=junk").get_data(as_text=True)
    form = page.split('id="progress-filters"', 1)[1].split("</form>", 1)[0]
    assert 'method="get"' in page.split('id="progress-filters"', 1)[0][-80:]
    assert re.search(r'<option selected value="complete">', form)
    assert re.search(r'<option selected value="position">', form)  # junk -> the default
    assert "junk" not in form


# ---------- the annotator's home, queue and Next document ----------


def test_home_shows_the_users_queue_counts(client, auth, document, token_for):
    client.put(f"/api/v1/documents/{document.id}/status", json={"status": "done"},
               headers=token_for("alice"))
    login(client, auth, "alice")
    page = client.get("/").get_data(as_text=True)
    project_row = row(page, "data-project-id", str(document.project_id))
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', project_row))
    assert counts == {"todo": "1", "in_progress": "0", "done": "1", "skipped": "0"}
    assert f'href="/projects/{document.project_id}/next"' in project_row


def test_next_document_goes_to_work_in_progress_then_to_do(client, auth, document, token_for):
    d2 = doc_id(document.project_id, "d2")
    login(client, auth, "alice")
    url = f"/projects/{document.project_id}/next"
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/documents/{document.id}"

    alice = token_for("alice")
    # alice opens d2 (its page, once loaded, says so): now in progress, so it comes first
    assert client.get(f"/documents/{d2}").status_code == 200
    assert client.post(f"/api/v1/documents/{d2}/start", headers=alice).status_code == 200
    assert client.get(url).headers["Location"] == f"/documents/{d2}"

    client.put(f"/api/v1/documents/{d2}/status", json={"status": "done"}, headers=alice)
    assert client.get(url).headers["Location"] == f"/documents/{document.id}"


def test_next_document_with_an_empty_queue_goes_back_to_the_project(client, auth, document,
                                                                    token_for):
    bob = token_for("bob")
    client.put(f"/api/v1/documents/{document.id}/status", json={"status": "done"}, headers=bob)
    client.post(f"/api/v1/documents/{doc_id(document.project_id, 'd2')}/skip",
                json={"reason": "duplicate"}, headers=bob)
    login(client, auth, "bob")
    response = client.get(f"/projects/{document.project_id}/next")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/projects/{document.project_id}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your queue is empty." in page


def test_next_document_of_a_project_not_mine_is_404(client, auth, document, make_user):
    make_user("outsider")
    login(client, auth, "outsider")
    assert client.get(f"/projects/{document.project_id}/next").status_code == 404


def test_project_page_links(client, auth, document):
    pid = document.project_id
    login(client, auth, "alice")
    page = client.get(f"/projects/{pid}").get_data(as_text=True)
    assert f'href="/projects/{pid}/next"' in page
    assert f"/projects/{pid}/members" not in page and f"/projects/{pid}/progress" not in page

    client.post("/logout", data={"csrf_token": auth.csrf_token("/")})
    login(client, auth, "maria")
    page = client.get(f"/projects/{pid}").get_data(as_text=True)
    for target in ("next", "members", "progress"):
        assert f'href="/projects/{pid}/{target}"' in page


def test_team_pages_carry_no_inline_style_or_script(client, auth, progressed):
    login(client, auth, "maria")
    for path in ("/", f"/projects/{progressed.project_id}",
                 f"/projects/{progressed.project_id}/members",
                 f"/projects/{progressed.project_id}/progress"):
        page = client.get(path).get_data(as_text=True)
        assert " style=" not in page and "<style" not in page, path
        assert "<script" not in page, path
        assert "pages.css" in page
