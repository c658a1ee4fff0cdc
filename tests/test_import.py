"""Importing articles: .txt and .jsonl, all or nothing per file, errors by line number."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from annotator.db import db
from annotator.models import Document
from annotator.services import documents
from annotator.services.documents import DocumentImportError
from annotator.services.errors import InvalidInput
from tests.conftest import SAMPLE_TEXT


def stored(project) -> list[Document]:
    db.session.rollback()
    return list(db.session.scalars(
        select(Document).where(Document.project_id == project.id)
        .order_by(Document.position, Document.id)))


def doc_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Document))


def jsonl(*records: object, newline: str = "\n") -> bytes:
    return "".join(
        (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + newline
        for r in records
    ).encode("utf-8")


# ---------- .txt ----------


def test_txt_first_line_is_the_title_with_bom_and_crlf_handled(project):
    content = "Helicopter down\r\n\r\nFirst line \U0001F681\r\nSecond\u00a0line.\r\n"
    raw = b"\xef\xbb\xbf" + content.encode()

    assert documents.import_file(project, "report-7.txt", raw) == 1

    [doc] = stored(project)
    assert doc.title == "Helicopter down"
    assert doc.text == "First line \U0001F681\nSecond\u00a0line.\n"
    assert doc.external_id == "report-7"
    assert doc.text_sha256 == documents.sha256(doc.text)


def test_txt_without_text_after_the_title_is_refused(project):
    with pytest.raises(DocumentImportError) as caught:
        documents.import_file(project, "empty.txt", b"Only a title\r\n\r\n")
    assert caught.value.errors[0][0] == 2
    assert doc_count() == 0


def test_txt_with_a_nul_character_is_refused(project):
    with pytest.raises(DocumentImportError, match="NUL"):
        documents.import_file(project, "nul.txt", b"Title\nsome\x00text\n")
    assert doc_count() == 0


def test_txt_that_is_not_utf8_is_refused_with_its_line(project):
    with pytest.raises(DocumentImportError) as caught:
        documents.import_file(project, "latin1.txt",
                              "Title\nline two\ncaf\u00e9\n".encode("latin-1"))
    assert caught.value.errors[0][0] == 3
    assert doc_count() == 0


# ---------- .jsonl ----------


def test_jsonl_with_bom_and_crlf(project):
    raw = b"\xef\xbb\xbf" + jsonl(
        {"id": "a1", "title": "First", "text": SAMPLE_TEXT, "meta": {"source": "x"}},
        "",
        {"id": 7, "text": "Second report.\nWith two lines."},
        newline="\r\n",
    )

    assert documents.import_file(project, "batch.jsonl", raw) == 2

    first, second = stored(project)
    assert (first.external_id, first.title, first.text, first.meta) == (
        "a1", "First", SAMPLE_TEXT, {"source": "x"})
    assert first.text_sha256 == documents.sha256(SAMPLE_TEXT)
    assert (second.external_id, second.title, second.text) == (
        "7", "Second report.", "Second report.\nWith two lines.")


def test_jsonl_without_ids_gets_ids_from_file_and_line(project):
    documents.import_file(project, "feed.ndjson", jsonl({"text": "one"}, {"text": "two"}))
    assert [d.external_id for d in stored(project)] == ["feed:1", "feed:2"]


def test_malformed_json_line_is_reported_by_number_and_nothing_is_stored(project):
    raw = jsonl({"id": "a", "text": "fine"}, '{"id": "b", "text": "broken"', {"id": "c",
                                                                               "text": "fine"})
    with pytest.raises(DocumentImportError) as caught:
        documents.import_file(project, "bad.jsonl", raw)

    assert [line for line, _ in caught.value.errors] == [2]
    assert "line 2" in caught.value.message and "bad.jsonl" in caught.value.message
    assert "line 2" in caught.value.fields
    assert doc_count() == 0


def test_line_missing_text_is_reported_by_number(project):
    raw = jsonl({"id": "a", "text": "fine"}, {"id": "b", "title": "no text"},
                {"id": "c", "text": ""})
    with pytest.raises(DocumentImportError) as caught:
        documents.import_file(project, "missing.jsonl", raw)
    errors = dict(caught.value.errors)
    assert set(errors) == {2, 3}
    assert "text" in errors[2]
    assert doc_count() == 0


def test_every_bad_line_is_reported(project):
    raw = jsonl("[1, 2]", {"text": "fine"}, "not json", {"text": 5}, {"text": "ok", "meta": 1})
    with pytest.raises(DocumentImportError) as caught:
        documents.import_file(project, "many.jsonl", raw)
    assert [line for line, _ in caught.value.errors] == [1, 3, 4, 5]
    assert doc_count() == 0


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# Each was a 500 (RecursionError, int()'s digit limit) or stored what is not JSON (NaN, which
# the API then served as it is) before json.loads was made strict.
NOT_JSON = [
    ('{"text": "hello", "id": "nan1", "meta": {"n": NaN}}',
     "invalid JSON: NaN is not valid JSON at column 47"),
    ('{"text": "hello", "meta": {"n": Infinity}}',
     "invalid JSON: Infinity is not valid JSON at column 33"),
    ('{"text": "hello", "meta": {"n": [-Infinity]}}',
     "invalid JSON: -Infinity is not valid JSON at column 34"),
    ('{"text": "hello", "meta": {"n": 1e400}}',
     "invalid JSON: 1e400 is too large a number at column 33"),
    ('{"text": "hello", "id": ' + "7" * 5000 + "}",
     "invalid JSON: a number of 5000 digits is too long at column 25"),
    ('{"text": "hello", "meta": {"n": -' + "7" * 5000 + "}}",
     "invalid JSON: a number of 5000 digits is too long at column 33"),
    (_nested(5000), "invalid JSON: nested too deeply (5000 levels) at column 5000"),
    ('{"text": "hello", "meta": {"a": ' + _nested(3000) + "}}",
     "invalid JSON: nested too deeply (3002 levels) at column 3032"),
    # Read by the parser, but deeper than the walks and the JSON column after it may go.
    ('{"text": "hello", "meta": {"a": ' + _nested(100) + "}}",
     "meta is nested more than 100 levels deep"),
]


@pytest.mark.parametrize(("line", "message"), NOT_JSON)
def test_a_line_that_is_not_json_or_too_deep_is_reported_by_number_and_nothing_is_stored(
        project, line, message):
    deepest = {"n": 1.5, "a": json.loads(_nested(99))}  # with meta itself, as deep as allowed
    documents.import_file(project, "first.jsonl", jsonl({"id": "kept", "text": "kept",
                                                         "meta": deepest}))
    raw = jsonl({"id": "a", "text": "fine"}, line, {"id": "c", "text": "fine"})
    with pytest.raises(DocumentImportError) as caught:
        documents.import_file(project, "bad.jsonl", raw)

    assert caught.value.errors == [(2, message)]
    assert caught.value.fields == {"line 2": message}
    assert [(d.external_id, d.text, d.meta) for d in stored(project)] == [
        ("kept", "kept", deepest)]


def test_an_id_that_is_a_float_is_refused_and_a_float_in_meta_is_kept(project):
    # JSON Schema counts 5.0 as an integer; the app's ids and offsets are whole numbers.
    with pytest.raises(DocumentImportError) as caught:
        documents.import_file(project, "ids.jsonl", jsonl({"text": "x", "id": 5.0}))
    assert caught.value.errors == [(1, "id: must be a whole number or a string")]
    documents.import_file(project, "meta.jsonl", jsonl({"text": "y", "meta": {"n": 2.0}}))
    assert [d.meta for d in stored(project)] == [{"n": 2.0}]


def test_a_line_that_is_not_json_on_the_project_page_is_reported_by_line(client, auth,
                                                                          project):
    auth.login("maria")
    response = _post_files(client, auth, project,
                           (jsonl({"text": "fine"}, NOT_JSON[0][0]), "nan.jsonl"),
                           (jsonl({"text": "fine"}, _nested(5000)), "deep.jsonl"))
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "nan.jsonl: nothing imported: line 2: invalid JSON: NaN is not valid JSON" in page
    assert "deep.jsonl: nothing imported: line 2: invalid JSON: nested too deeply" in page
    assert doc_count() == 0


def test_duplicate_ids_within_a_file_are_errors_by_line(project):
    raw = jsonl({"id": "x", "text": "one"}, {"id": "y", "text": "two"},
                {"id": "x", "text": "three"})
    with pytest.raises(DocumentImportError) as caught:
        documents.import_file(project, "dupes.jsonl", raw)
    [(line, message)] = caught.value.errors
    assert line == 3 and "'x'" in message and "line 1" in message
    assert doc_count() == 0


def test_ids_already_in_the_project_are_errors_by_line(project):
    documents.import_file(project, "first.jsonl", jsonl({"id": "x", "text": "one"}))
    raw = jsonl({"id": "new", "text": "two"}, {"id": "x", "text": "again"})
    with pytest.raises(DocumentImportError) as caught:
        documents.import_file(project, "second.jsonl", raw)
    assert [line for line, _ in caught.value.errors] == [2]
    assert [d.external_id for d in stored(project)] == ["x"]

    with pytest.raises(DocumentImportError):
        documents.import_file(project, "x.txt", b"Title\nsame id as the .jsonl document\n")
    assert doc_count() == 1


def test_the_same_ids_may_be_used_in_another_project(project, make_user):
    from annotator.services import projects

    other = projects.create_project("Another project", manager=make_user("otto"))
    raw = jsonl({"id": "x", "text": "one"})
    documents.import_file(project, "a.jsonl", raw)
    documents.import_file(other, "a.jsonl", raw)
    assert doc_count() == 2


def test_jsonl_with_a_nul_character_is_refused(project):
    raw = jsonl({"id": "a", "text": "fine"}, {"id": "b", "text": "nul \u0000 here"})
    with pytest.raises(DocumentImportError) as caught:
        documents.import_file(project, "nul.jsonl", raw)
    [(line, message)] = caught.value.errors
    assert line == 2 and "NUL" in message
    assert doc_count() == 0


def test_jsonl_with_an_unpaired_surrogate_is_refused(project):
    raw = b'{"id": "a", "text": "half \\ud83d of an emoji"}\n'
    with pytest.raises(DocumentImportError, match="surrogate"):
        documents.import_file(project, "surrogate.jsonl", raw)
    assert doc_count() == 0


def test_empty_jsonl_is_refused(project):
    with pytest.raises(DocumentImportError):
        documents.import_file(project, "empty.jsonl", b"\r\n\n")
    assert doc_count() == 0


@pytest.mark.parametrize("filename", ["notes.csv", "article.json", "report.docx", "README"])
def test_unsupported_extensions_are_refused(project, filename):
    with pytest.raises(InvalidInput, match="unsupported"):
        documents.import_file(project, filename, b'{"text": "x"}\n')
    assert doc_count() == 0


def test_imports_append_in_order(project):
    documents.import_file(project, "a.jsonl", jsonl({"id": "1", "text": "a"},
                                                    {"id": "2", "text": "b"}))
    documents.import_file(project, "c.txt", b"Third\ntext\n")
    assert [d.external_id for d in stored(project)] == ["1", "2", "c"]


# ---------- the web form ----------


def _post_files(client, auth, project, *files: tuple[bytes, str], token: bool = True):
    data: dict[str, object] = {"files": [(io.BytesIO(raw), name) for raw, name in files]}
    if token:
        data["csrf_token"] = auth.csrf_token(f"/projects/{project.id}")
    return client.post(f"/projects/{project.id}", data=data,
                       content_type="multipart/form-data")


def test_manager_imports_through_the_project_page(client, auth, project):
    auth.login("maria")
    response = _post_files(client, auth, project,
                           (jsonl({"id": "a", "text": SAMPLE_TEXT}), "one.jsonl"),
                           (b"Title\r\nBody", "two.txt"))

    assert response.status_code == 302
    assert [(d.external_id, d.text) for d in stored(project)] == [("a", SAMPLE_TEXT),
                                                                  ("two", "Body")]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Imported 2 document(s)" in page


def test_a_bad_file_on_the_project_page_is_reported_by_line(client, auth, project):
    auth.login("maria")
    response = _post_files(client, auth, project,
                           (jsonl({"text": "fine"}, "{oops"), "bad.jsonl"))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "line 2" in page
    assert doc_count() == 0


def test_the_project_page_refuses_other_file_types(client, auth, project):
    auth.login("maria")
    response = _post_files(client, auth, project, (b"a,b\n", "table.csv"))
    assert response.status_code == 200
    assert doc_count() == 0


def test_annotator_cannot_import_through_the_project_page(client, auth, project):
    auth.login("alice")
    response = _post_files(client, auth, project, (jsonl({"text": "x"}), "one.jsonl"))
    assert response.status_code == 403
    assert doc_count() == 0


def test_project_page_import_needs_the_csrf_token(client, auth, project):
    auth.login("maria")
    response = _post_files(client, auth, project, (jsonl({"text": "x"}), "one.jsonl"),
                           token=False)
    assert response.status_code == 400
    assert doc_count() == 0


def test_every_bad_line_of_a_large_file_is_reported_and_nothing_is_stored(project):
    from annotator.services.documents import BATCH

    lines = [json.dumps({"id": f"n{i}", "text": f"Report {i}."}) for i in range(BATCH * 2 + 5)]
    lines[3] = "{broken"
    lines[BATCH + 10] = json.dumps({"id": "n0", "text": "duplicate of the first"})
    with pytest.raises(DocumentImportError) as caught:
        documents.import_file(project, "big.jsonl", ("\n".join(lines) + "\n").encode())
    reported = [line for line, _ in caught.value.errors]
    assert reported == [4, BATCH + 11]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0


def test_import_reads_a_file_object_line_by_line(project, tmp_path):
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps({"id": f"f{i}", "text": f"Text {i}."}) + "\r\n"
                            for i in range(3)), encoding="utf-8-sig")
    with open(path, "rb") as fh:
        assert documents.import_file(project, path.name, fh) == 3
    db.session.rollback()
    assert [d.external_id for d in db.session.scalars(
        select(Document).order_by(Document.position))] == ["f0", "f1", "f2"]
