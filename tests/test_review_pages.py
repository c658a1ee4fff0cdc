"""The adjudication pages through the test client: the review queue and its filters, the
review page's shell, who may open them, and the project page's link to them."""

from __future__ import annotations

import json
import re

import pytest

from annotator.services import adjudication, documents, projects, users


def _queue_rows(page: str) -> list[dict[str, str]]:
    return [{"document_id": m.group(1), "status": m.group(2)}
            for m in re.finditer(r'<tr data-document-id="(\d+)" data-review-status="(\w+)"', page)]


@pytest.fixture
def queue_url(annotated) -> str:
    return f"/projects/{annotated['document'].project_id}/review"


@pytest.mark.parametrize("username", ["judy", "maria"])
def test_queue_lists_the_documents_whose_annotators_are_done(client, auth, annotated,
                                                              queue_url, username):
    auth.login(username)
    response = client.get(queue_url)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    document = annotated["document"]
    # d1: alice and bob are done; d2: nobody is, so it is not ready for review.
    assert _queue_rows(page) == [{"document_id": str(document.id), "status": "none"}]
    assert f'href="/documents/{document.id}/review"' in page
    assert "Helicopter down" in page and "Second report" not in page
    assert "not started" in page
    # alice 3 claims, bob 2; matched with the same stance: 1 -> labelled F1 0.4
    row = re.search(r'data-disagreement="([0-9.]+)"', page)
    assert row and float(row.group(1)) == pytest.approx(0.6)
    assert "0.60" in page and "alice" in page and "bob" in page


def test_queue_filters_by_review_status_and_minimum_disagreement(client, auth, annotated,
                                                                 queue_url):
    auth.login("judy")
    did = str(annotated["document"].id)

    def rows(query: str) -> list[str]:
        response = client.get(f"{queue_url}?{query}")
        assert response.status_code == 200
        return [r["document_id"] for r in _queue_rows(response.get_data(as_text=True))]

    assert rows("status=none") == [did]
    assert rows("status=open") == [] and rows("status=done") == []
    assert rows("min_disagreement=0.5") == [did]
    assert rows("min_disagreement=0.7") == []
    assert rows("status=any&min_disagreement=") == [did]

    judy, document = users.by_username("judy"), annotated["document"]
    adjudication.reject(judy, document, [*annotated["agreed"], *annotated["differ"],
                                         annotated["lonely"]])
    adjudication.set_status(judy, document, "done")
    assert rows("status=done") == [did] and rows("status=none") == []
    assert rows("status=done&min_disagreement=0.7") == []

    # A value that does not validate is shown with its error, and not applied.
    page = client.get(f"{queue_url}?min_disagreement=2&status=done").get_data(as_text=True)
    assert 'data-error-for="min_disagreement"' in page
    assert [r["document_id"] for r in _queue_rows(page)] == [did]
    page = client.get(f"{queue_url}?min_disagreement=nan").get_data(as_text=True)
    assert 'data-error-for="min_disagreement"' in page
    assert [r["document_id"] for r in _queue_rows(page)] == [did]
    page = client.get(f"{queue_url}?status=bogus").get_data(as_text=True)
    assert 'data-error-for="status"' in page
    assert [r["document_id"] for r in _queue_rows(page)] == [did]
    # The form shows what was applied.
    page = client.get(f"{queue_url}?status=done").get_data(as_text=True)
    assert '<option selected value="done">' in page


@pytest.mark.parametrize("username", ["judy", "maria", "root"])
def test_review_page_renders_its_shell_for_reviewers(client, auth, annotated, make_user,
                                                     username):
    if username == "root":
        make_user("root", admin=True)  # a site admin, member of nothing
    auth.login(username)
    document = annotated["document"]
    response = client.get(f"/documents/{document.id}/review")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'data-document-id="{document.id}"' in page
    assert 'src="/static/review.js"' in page and 'href="/static/review.css"' in page
    data = json.loads(re.search(
        r'<script type="application/json" id="review-data">(.*?)</script>', page, re.S).group(1))
    assert data["text"] == document.text
    assert [s["value"] for s in data["scheme"]["stances"]][:2] == ["asserts", "denies"]
    assert {a["name"] for a in data["actors"]} >= {"Russian Defense Ministry", "Amaq"}
    # The CSP allows no inline script and no style attribute.
    assert "style=" not in page
    scripts = re.findall(r"<script([^>]*)>", page)
    assert all('type="application/json"' in s or "src=" in s for s in scripts), scripts


def test_review_page_keeps_untrusted_text_inert(client, auth, project, make_user):
    hostile = '</script><script>alert(1)</script><img src=x onerror=alert(2)>'
    documents.import_file(project, "x.jsonl", (json.dumps(
        {"id": "x1", "title": "<b>title</b>", "text": f"Text {hostile} end."}) + "\n").encode())
    projects.add_member(project, make_user("judy"), "adjudicator")
    auth.login("judy")
    document = documents.first_document(project)
    page = client.get(f"/documents/{document.id}/review").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;b&gt;title&lt;/b&gt;" in page


def test_annotators_and_outsiders_are_refused(client, auth, annotated, queue_url, make_user):
    document = annotated["document"]
    review_url = f"/documents/{document.id}/review"
    # Anonymous: to the login page.
    for url in (queue_url, review_url):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    auth.login("alice")  # an annotator of the document
    assert client.get(review_url).status_code == 404
    assert client.get(queue_url).status_code == 403
    page = client.get(f"/projects/{document.project_id}").get_data(as_text=True)
    assert 'id="review-link"' not in page
    client.post("/logout", data={"csrf_token": auth.csrf_token("/")})
    make_user("olga")  # a member of nothing
    auth.login("olga")
    assert client.get(review_url).status_code == 404
    assert client.get(queue_url).status_code == 404


@pytest.mark.parametrize("username", ["judy", "maria"])
def test_project_page_links_reviewers_to_the_queue(client, auth, annotated, username):
    auth.login(username)
    pid = annotated["document"].project_id
    page = client.get(f"/projects/{pid}").get_data(as_text=True)
    assert f'id="review-link" href="/projects/{pid}/review"' in page
