"""The JSONL export: the pure writer, the project export from the database, the download."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import update

from annotator.db import db
from annotator.models import Claim
from annotator.services import claims, documents, exporting, users
from annotator.validation import validator
from exports import ExportRecordError, check_spans, write_jsonl
from tests.conftest import SAMPLE_TEXT, span

# ---------- the pure writer: records in, lines out, no app ----------


def _record(doc_id: str = "d1") -> dict[str, Any]:
    text = "Emoji \U0001F681 then “quoted”: Игорь said no."
    start, end = span(text, "Игорь said no")
    ev_start, ev_end = span(text, "“quoted”")
    return {
        "id": doc_id, "document_id": 1, "project": "P", "title": "T", "text": text,
        "text_sha256": hashlib.sha256(text.encode()).hexdigest(), "meta": {},
        "scheme_version": 1,
        "claims": [{
            "start": start, "end": end, "text": "Игорь said no",
            "actor_mention": {"start": start, "end": start + 5, "text": "Игорь"},
            "evidence": [{"type": "video", "relation": "supports", "start": ev_start,
                          "end": ev_end, "text": "“quoted”"},
                         {"type": "other", "relation": "supports"}],
        }],
    }


def test_write_jsonl_writes_one_json_line_per_record():
    records = [_record("a"), _record("b")]
    out = io.StringIO()

    assert write_jsonl(iter(records), out) == 2

    lines = out.getvalue().split("\n")
    assert lines[-1] == ""
    assert [json.loads(line) for line in lines[:-1]] == records
    assert "\U0001F681" in lines[0]  # UTF-8 text, not \ud83d escapes


def test_write_jsonl_calls_the_validator_on_each_record():
    seen: list[str] = []
    write_jsonl([_record("a"), _record("b")], io.StringIO(),
                validate=lambda record: seen.append(record["id"]))
    assert seen == ["a", "b"]


@pytest.mark.parametrize("where", ["claim", "evidence", "actor_mention"])
def test_write_jsonl_refuses_a_span_whose_text_does_not_match(where):
    bad = _record("bad")
    claim = bad["claims"][0]
    target = {"claim": claim, "evidence": claim["evidence"][0],
              "actor_mention": claim["actor_mention"]}[where]
    target["start"] += 1  # e.g. UTF-16 offsets
    out = io.StringIO()

    with pytest.raises(ExportRecordError, match="'bad'"):
        write_jsonl([_record("good"), bad, _record("after")], out)

    assert [json.loads(line)["id"] for line in out.getvalue().splitlines()] == ["good"]


def test_check_spans_accepts_a_record_without_claims():
    record = _record()
    record["claims"] = []
    check_spans(copy.deepcopy(record))


def test_exports_package_needs_no_flask_or_database():
    code = ("import sys, exports; "
            "assert not {'flask', 'sqlalchemy', 'annotator'} & set(sys.modules), sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------- the project export ----------


@pytest.fixture
def annotated(project, document, make_user):
    """Claims by alice and bob on SAMPLE_TEXT (non-BMP, Cyrillic, Arabic, curly quotes, NBSP),
    with evidence spans and an actor mention, plus one deleted claim."""
    alice, bob = users.by_username("alice"), users.by_username("bob")
    text = document.text
    assert text == SAMPLE_TEXT

    def body(needle: str, **extra: Any) -> dict[str, Any]:
        start, end = span(text, needle)
        return {"start": start, "end": end, "text": needle, "stance": "asserts", **extra}

    mention = span(text, "Игорь Конашенков")
    video = span(text, "machine-gun fire, not a missile")
    kept = [
        claims.create_claim(bob, document, body("Tadmur \U0001F681: the ministry’s spokesman")),
        claims.create_claim(alice, document, body(
            "said\u00a0“no aircraft was lost”", stance="denies", verdict="refuted",
            actor="Russian Defense Ministry",
            actor_mention={"start": mention[0], "end": mention[1]},
            evidence=[{"type": "video", "relation": "contradicts", "start": video[0],
                       "end": video[1]},
                      {"type": "official_statement", "relation": "supports",
                       "source_url": "https://example.org/statement"}])),
        claims.create_claim(bob, document, body(
            "(مصادر محلية) said a helicopter was shot down", actor="Amaq News Agency")),
    ]
    gone = claims.create_claim(alice, document, body("Dispatch from Tadmur \U0001F681:"))
    claims.delete_claim(alice, gone, gone.version)
    documents.set_status(document, alice, "done")
    return {"project": project, "kept": [c.id for c in kept], "deleted": gone.id}


def _export(project) -> str:
    out = io.StringIO()
    exporting.export_jsonl(project, out)
    return out.getvalue()


def test_service_export_lines_are_valid_records_with_matching_spans(annotated):
    lines = _export(annotated["project"]).splitlines()

    assert len(lines) == 2
    records = [json.loads(line) for line in lines]
    schema = validator("export-record.schema.json")
    for record in records:
        schema.validate(record)
        text = record["text"]
        assert record["text_sha256"] == hashlib.sha256(text.encode("utf-8")).hexdigest()
        for claim in record["claims"]:
            assert text[claim["start"]:claim["end"]] == claim["text"]
            if claim["actor_mention"]:
                mention = claim["actor_mention"]
                assert text[mention["start"]:mention["end"]] == mention["text"]
            for evidence in claim["evidence"]:
                if evidence.get("start") is not None:
                    assert text[evidence["start"]:evidence["end"]] == evidence["text"]
    first, second = records
    assert (first["id"], second["id"]) == ("d1", "d2")
    assert first["text"] == SAMPLE_TEXT
    assert [c["id"] for c in first["claims"]] == annotated["kept"]
    assert second["claims"] == []
    assert first["claims"][0]["text"] == "Tadmur \U0001F681: the ministry’s spokesman"
    denial = first["claims"][1]
    assert (denial["actor"], denial["actor_mention"]["text"]) == (
        "Russian Defense Ministry", "Игорь Конашенков")
    assert denial["evidence"][0]["text"] == "machine-gun fire, not a missile"
    assert first["claims"][2]["actor"] == "Amaq"
    assert {"annotator": "alice", "status": "done"} in first["annotators"]
    assert "\U0001F681" in lines[0]


def test_deleted_claims_are_not_exported(annotated):
    exported = [c["id"] for line in _export(annotated["project"]).splitlines()
                for c in json.loads(line)["claims"]]
    assert annotated["deleted"] not in exported
    assert sorted(exported) == sorted(annotated["kept"])


def test_service_export_refuses_a_stored_span_that_no_longer_matches(annotated):
    db.session.execute(update(Claim).where(Claim.id == annotated["kept"][2])
                       .values(start=Claim.start + 1))
    db.session.commit()
    with pytest.raises(ExportRecordError, match="'d1'"):
        _export(annotated["project"])


def test_http_download_streams_the_same_lines(client, annotated, token_for):
    project = annotated["project"]
    expected = _export(project)

    response = client.get(f"/api/v1/projects/{project.id}/export.jsonl",
                          headers=token_for("maria"))

    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.get_data(as_text=True) == expected


def test_validate_record_refuses_what_the_schema_refuses(app):
    from annotator.services.exporting import validate_record

    record = {"id": "d", "document_id": 1, "project": "p", "title": "", "text": "abc",
              "text_sha256": "0" * 64, "meta": {}, "scheme_version": 1, "claims": []}
    validate_record(record)
    broken = {**record, "claims": [{"id": 1, "start": 0, "end": 1, "text": "a"}]}
    with pytest.raises(ExportRecordError, match="stance"):
        validate_record(broken)
    with pytest.raises(ExportRecordError):
        validate_record({**record, "review_status": "finished"})
