"""Import records whose fields no database can store (a NUL, an unpaired surrogate) in any
field, not only the text, and spans that are not what their file says: each is reported by
its line or task, and nothing of the file is stored."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from annotator.db import db
from annotator.models import Claim, Document
from annotator.services import documents, tool_import, users
from annotator.services.documents import DocumentImportError
from annotator.services.tool_import import ToolImportError

GOOD = b'{"id": "a", "text": "fine"}\n'


def _stored() -> tuple[int, int]:
    db.session.rollback()
    return (db.session.scalar(select(func.count(Document.id))),
            db.session.scalar(select(func.count(Claim.id))))


@pytest.mark.parametrize(("line", "field"), [
    (b'{"id": "b", "title": "x\\ud800", "text": "ok"}', "title"),
    (b'{"id": "b\\ud800", "text": "ok"}', "id"),
    (b'{"id": "b", "title": "a\\u0000b", "text": "ok"}', "title"),
    (b'{"id": "b\\u0000", "text": "ok"}', "id"),
    (b'{"id": "b", "meta": {"source": "x\\ud800"}, "text": "ok"}', "meta.source"),
    (b'{"id": "b", "meta": {"x\\ud800": 1}, "text": "ok"}', "meta."),
])
def test_a_field_no_database_can_store_is_reported_by_line(project, line, field) -> None:
    with pytest.raises(DocumentImportError) as info:
        documents.import_file(project, "f.jsonl", GOOD + line + b"\n")
    [(number, message)] = info.value.errors
    assert number == 2 and message.startswith(field), message
    assert "NUL character or an unpaired surrogate" in message
    assert _stored() == (0, 0)


def test_the_api_answers_422_naming_the_line(project, client, token_for) -> None:
    response = client.post(f"/api/v1/projects/{project.id}/import?filename=f.jsonl",
                           data=GOOD + b'{"id": "b", "title": "x\\ud800", "text": "ok"}\n',
                           headers={**token_for("maria"),
                                    "Content-Type": "application/x-ndjson"})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "line 2" in response.get_data(as_text=True)
    assert _stored() == (0, 0)


def test_tool_imports_check_every_field_too(project) -> None:
    tasks = (b'[{"data": {"text": "ok", "document_id": "a"}},'
             b' {"data": {"text": "ok", "title": "t\\ud800", "document_id": "b"}}]')
    with pytest.raises(ToolImportError, match="task 2"):
        tool_import.import_file(project, "f.json", tasks)
    # doccano keeps unknown keys as meta: checked like the rest.
    with pytest.raises(ToolImportError, match="line 1"):
        tool_import.import_file(project, "f.jsonl",
                                b'{"text": "ok", "label": [], "source": "x\\ud800"}\n',
                                fmt="doccano")
    assert _stored() == (0, 0)


def test_a_nul_in_a_text_file_is_reported_on_its_own_line(project) -> None:
    with pytest.raises(DocumentImportError) as info:
        documents.import_file(project, "f.txt", b"Title\nfirst\nsecond\nbad\x00here\n")
    assert info.value.errors == [(4, "text contains a NUL character")]


def test_a_doccano_span_ending_at_true_is_refused(project) -> None:
    with pytest.raises(ToolImportError, match="line 1.*integers"):
        tool_import.import_file(project, "f.jsonl",
                                b'{"text": "abc", "label": [[0, true, "asserts"]]}\n',
                                fmt="doccano", annotator=users.by_username("alice"))
    assert _stored() == (0, 0)


def test_a_label_studio_region_quoting_other_text_than_its_offsets_is_refused(
        project) -> None:
    def task(start: int, end: int, quoted: str) -> dict:
        return {"data": {"text": "Hello world here"}, "annotations": [{"result": [
            {"type": "labels", "value": {"start": start, "end": end, "text": quoted,
                                         "labels": ["asserts"]}}]}]}

    alice = users.by_username("alice")
    with pytest.raises(ToolImportError) as info:
        tool_import.import_file(project, "f.json", json.dumps([task(6, 11, "world"),
                                                               task(0, 5, "world")]).encode(),
                                annotator=alice)
    assert "task 2" in str(info.value) and "'world'" in str(info.value)
    assert "task 1" not in str(info.value)
    assert _stored() == (0, 0)
    imported = tool_import.import_file(project, "f.json",
                                       json.dumps([task(6, 11, "world")]).encode(),
                                       annotator=alice)
    assert (imported.documents, imported.claims) == (1, 1)
    assert db.session.scalars(select(Claim.text)).all() == ["world"]
