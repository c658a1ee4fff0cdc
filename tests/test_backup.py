"""`annotator backup` / `annotator restore`: a whole project round-trips, table by table, into
the same database as a new project and into a fresh database; bad files are refused whole."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from annotator import create_app
from annotator.backup_format import FORMAT_VERSION
from annotator.db import db
from annotator.models import (
    Actor,
    Assignment,
    AuditEvent,
    Claim,
    Document,
    Evidence,
    Membership,
    Project,
    Review,
    SuggestionModel,
    SuggestionRejection,
    User,
    as_utc,
)
from annotator.services import (
    adjudication,
    assignments,
    backup,
    claims,
    documents,
    exporting,
    projects,
    propositions,
    users,
)

from .conftest import HELICOPTER, SAMPLE_TEXT, VIDEO, span

# ---------- a project with a bit of everything ----------


@pytest.fixture
def rich(annotated, make_user) -> Project:
    document = annotated["document"]
    project = document.project
    alice, bob, judy, maria = (users.by_username(n) for n in ("alice", "bob", "judy", "maria"))
    documents.import_file(project, "more.jsonl", (
        b'{"id": "d3", "title": "With metadata", "text": "Third text, with meta.", '
        b'"meta": {"source": "wire", "published": "2016-05-14", "tags": ["a", "b"]}}\n'
    ))
    assignments.assign(project, 2, by=maria)
    second = db.session.execute(select(Document).where(Document.project_id == project.id,
                                                       Document.external_id == "d2")).scalar_one()
    # Evidence: one kept, one soft-deleted by the next edit.
    start, end = span(SAMPLE_TEXT, VIDEO)
    with_evidence = claims.create_claim(bob, document, {
        "start": start, "end": end, "text": VIDEO, "stance": "asserts", "actor": "Amaq",
        "evidence": [
            {"type": "video", "relation": "supports", "description": "the clip",
             "start": start, "end": end},
            {"type": "official_statement", "relation": "contradicts",
             "source_url": "https://example.org/statement"},
        ]})
    claims.create_claim_once(bob, second, {"start": 0, "end": 7, "text": "A short",
                                           "stance": "asserts", "client_id": "tab-1-0042"})
    kept = claims.claim_to_dict(with_evidence)["evidence"][0]
    claims.update_claim(bob, with_evidence, {"version": with_evidence.version,
                                             "note": "second look", "evidence": [kept]})
    # Gold: accepted, merged, written; a rejected claim; a settled review.
    adjudication.accept(judy, document, annotated["agreed"][0], [annotated["agreed"][1]])
    adjudication.merge(judy, document, annotated["differ"][0], annotated["differ"][1])
    adjudication.reject(judy, document, [annotated["lonely"]])
    adjudication.decide(judy, document, {"start": start, "end": end, "text": VIDEO,
                                         "stance": "denies"}, [with_evidence.id])
    # A soft-deleted claim (made before the review is settled: a new claim reopens it) and
    # a skipped document.
    start, end = span(SAMPLE_TEXT, HELICOPTER)
    doomed = claims.create_claim(alice, document, {"start": start, "end": end,
                                                   "text": HELICOPTER, "stance": "unclear"})
    claims.delete_claim(alice, doomed)
    adjudication.set_status(judy, document, "done")
    assignments.skip(second, alice, "not about the incident")
    projects.add_actor(project, "Local sources", aliases=["مصادر محلية"])
    # Propositions across articles, and the suggestion tables (binary model, id lists).
    incident = propositions.create_incident(judy, project, {
        "title": "Helicopter near Palmyra", "date_start": "2016-05-14"})
    proposition = propositions.create_proposition(alice, project, {
        "text": "A helicopter was shot down", "incident_id": incident.id})
    propositions.link_claim(alice, db.session.get(Claim, annotated["differ"][0]),
                            proposition.id)
    propositions.set_verdict(judy, proposition, "refuted", "the video")
    db.session.add(SuggestionModel(project_id=project.id, version=1, trained_by_id=maria.id,
                                   scores={"span": {"f1": 0.5}}, blob=bytes(range(256)),
                                   document_ids=[document.id, second.id]))
    db.session.add(SuggestionRejection(user_id=bob.id, document_id=document.id, start=0,
                                       end=8))
    project.description = "Reports on one helicopter"
    project.guidelines = "# Mark every claim"
    db.session.commit()
    return project


def back_up(project: Project) -> bytes:
    out = io.BytesIO()
    backup.write_backup(project, out)
    return out.getvalue()


def restore(data: bytes, name: str | None = None) -> backup.RestoreResult:
    return backup.restore_backup(io.BytesIO(data), name=name)


# ---------- a canonical dump: ids replaced by each row's rank in its table ----------


def _scopes(project_id: int) -> dict[str, Any]:
    docs = select(Document.id).where(Document.project_id == project_id)
    claim_ids = select(Claim.id).where(Claim.document_id.in_(docs))
    tables = db.metadata.tables
    return {
        "project": select(Project.__table__).where(Project.id == project_id),
        "membership": select(Membership.__table__).where(Membership.project_id == project_id),
        "actor": select(Actor.__table__).where(Actor.project_id == project_id),
        "document": select(Document.__table__).where(Document.project_id == project_id),
        "assignment": select(Assignment.__table__).where(Assignment.document_id.in_(docs)),
        "claim": select(Claim.__table__).where(Claim.document_id.in_(docs)),
        "evidence": select(Evidence.__table__).where(Evidence.claim_id.in_(claim_ids)),
        "review": select(Review.__table__).where(Review.document_id.in_(docs)),
        "incident": select(tables["incident"]).where(
            tables["incident"].c.project_id == project_id),
        "proposition": select(tables["proposition"]).where(
            tables["proposition"].c.project_id == project_id),
        "claim_link": select(tables["claim_link"]).where(
            tables["claim_link"].c.claim_id.in_(claim_ids)),
        "suggestion_model": select(SuggestionModel.__table__).where(
            SuggestionModel.project_id == project_id),
        "suggestion_rejection": select(SuggestionRejection.__table__).where(
            SuggestionRejection.document_id.in_(docs)),
        "audit_event": select(AuditEvent.__table__).where(AuditEvent.project_id == project_id),
    }


def canonical(project_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every row of the project, ids as ranks, users as usernames, times in UTC."""
    names = dict(db.session.execute(select(User.id, User.username)).all())
    ranks: dict[str, dict[int, int]] = {}
    dump: dict[str, list[dict[str, Any]]] = {}

    def rank(table: str, value: Any) -> Any:
        return ("#", table, ranks[table][value]) if value in ranks.get(table, {}) else value

    def snapshot(value: Any, entity: str) -> Any:
        if not isinstance(value, dict):
            return value
        out = dict(value)
        for key in value:
            table = entity if key == "id" else key.removesuffix("_id")
            if key.endswith("id") and table in ranks:
                out[key] = rank(table, out[key])
        for key in ("source_claim_ids", "sources", "claim_ids"):  # lists of claim ids
            if isinstance(out.get(key), list):
                out[key] = [rank("claim", i) for i in out[key]]
        if isinstance(out.get("evidence"), list):
            out["evidence"] = [snapshot(e, "evidence") for e in out["evidence"]]
        return out

    for table, query in _scopes(project_id).items():
        rows = db.session.execute(query.order_by("id")).mappings().all()
        ranks[table] = {row["id"]: position for position, row in enumerate(rows)}
        columns = db.metadata.tables[table].columns
        targets = {c.name: next(iter(c.foreign_keys)).column.table.name
                   for c in columns if c.foreign_keys}
        dump[table] = []
        for row in rows:
            out: dict[str, Any] = {}
            for key, value in row.items():
                if key == "id":
                    value = rank(table, value)
                elif targets.get(key) == "user":
                    value = names.get(value)
                elif targets.get(key) == "project":
                    value = "the project"
                elif key in targets:
                    value = rank(targets[key], value)
                elif isinstance(value, datetime):
                    value = as_utc(value).isoformat()
                out[key] = value
            if table == "project":
                out.pop("name")
            if table == "claim":
                out.pop("client_id")  # a retry key of the live database: not backed up
            if table == "claim" and out["source_claim_ids"] is not None:
                out["source_claim_ids"] = [rank("claim", i) for i in out["source_claim_ids"]]
            if table == "suggestion_model":
                out["document_ids"] = [rank("document", i) for i in out["document_ids"]]
            if table == "audit_event":
                if out["entity"] in ranks:
                    out["entity_id"] = rank(out["entity"], out["entity_id"])
                out["claim_id"] = rank("claim", out["claim_id"])
                out["before"] = snapshot(out["before"], out["entity"])
                out["after"] = snapshot(out["after"], out["entity"])
            dump[table].append(out)
    return dump


def exported(project: Project) -> list[dict[str, Any]]:
    """The project's JSONL export with its own ids taken out."""
    out = io.StringIO()
    exporting.export_jsonl(project, out)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    for record in records:
        record.pop("document_id")
        record.pop("project")
        for claim in record["claims"]:
            for key in ("id", "document_id", "source_claim_ids", "sources"):
                claim.pop(key, None)
            for item in claim["evidence"]:
                item.pop("id")
                item.pop("document_id", None)
    return records


# ---------- round trips ----------


def test_round_trip_into_the_same_database_makes_an_identical_new_project(rich) -> None:
    before = canonical(rich.id)
    assert all(before[t] for t in ("membership", "actor", "document", "assignment", "claim",
                                   "evidence", "review", "audit_event"))
    assert any(e["deleted_at"] for e in before["evidence"])
    assert any(c["deleted_at"] for c in before["claim"])
    assert any(c["rejected"] for c in before["claim"])
    assert any(c["source_claim_ids"] for c in before["claim"])
    assert any(a["skip_reason"] for a in before["assignment"])
    assert all(before[t] for t in ("incident", "proposition", "claim_link",
                                   "suggestion_model", "suggestion_rejection"))

    result = restore(back_up(rich), name="Palmyra reports (restored)")

    assert result.project.id != rich.id and result.placeholders == []
    assert result.project.name == "Palmyra reports (restored)"
    after = canonical(result.project.id)
    for table in before:
        assert after[table] == before[table], table
    assert canonical(rich.id) == before  # the original is untouched
    for mine, theirs in zip(exported(result.project), exported(rich), strict=True):
        for a, b in zip(mine.pop("claims"), theirs.pop("claims"), strict=True):
            assert a == b
        assert mine == theirs
    original_ids = set(db.session.scalars(select(Claim.id).join(Document)
                                          .where(Document.project_id == rich.id)))
    restored_ids = set(db.session.scalars(select(Claim.id).join(Document)
                                          .where(Document.project_id == result.project.id)))
    assert original_ids and not original_ids & restored_ids


def test_history_of_a_deleted_proposition_survives_a_round_trip(rich) -> None:
    judy, bob = users.by_username("judy"), users.by_username("bob")
    linked = db.session.execute(select(Claim).join(Document).where(
        Document.project_id == rich.id, Claim.note == "second look")).scalar_one()
    gone = propositions.create_proposition(judy, rich, {"text": "A rumour, withdrawn"})
    gone_id = gone.id
    propositions.link_claim(bob, linked, gone_id)
    propositions.delete_proposition(judy, gone)

    result = restore(back_up(rich), name="With a deleted proposition")

    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.project_id == result.project.id, AuditEvent.entity == "proposition",
        AuditEvent.action == "delete")).all()
    assert [e.before["text"] for e in events] == ["A rumour, withdrawn"]
    assert events[0].entity_id == gone_id
    # The claims it was linked to are named by their restored ids, and each restored claim's
    # history ends with its unlink.
    copy = db.session.execute(select(Claim).join(Document).where(
        Document.project_id == result.project.id, Claim.note == "second look")).scalar_one()
    assert events[0].before["claim_ids"] == [copy.id] != [linked.id]
    assert [(e["action"], e["before"]) for e in claims.history(copy)[-2:]] == [
        ("link", None), ("unlink", {"proposition_id": gone_id})]


def test_restored_claims_keep_their_versions_and_history(rich) -> None:
    result = restore(back_up(rich), name="copy")
    edited = db.session.execute(select(Claim).join(Document).where(
        Document.project_id == result.project.id, Claim.note == "second look")).scalar_one()
    assert edited.version == 2
    history = claims.history(edited)
    assert [e["action"] for e in history if e["entity"] == "claim"] == ["create", "update"]
    assert all(e["entity_id"] in {edited.id, *(x.id for x in edited.all_evidence)}
               for e in history)
    # The restored claim can be edited like any other: its version carries on.
    claims.update_claim(users.by_username("bob"), edited, {"version": 2, "note": "third"})
    assert edited.version == 3


def test_round_trip_into_a_fresh_database_creates_placeholder_users(rich, tmp_path,
                                                                    instance_path) -> None:
    data = back_up(rich)
    before = canonical(rich.id)
    exported_before = exported(rich)
    fresh = create_app({"TESTING": True,
                        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"})
    from flask_migrate import upgrade
    with fresh.app_context():
        upgrade()
        result = restore(data)
        assert result.project.name == rich.name
        assert sorted(result.placeholders) == ["alice", "bob", "judy", "maria"]
        assert canonical(result.project.id) == before
        assert exported(result.project) == exported_before
        alice = users.by_username("alice")
        assert not alice.is_admin and not alice.check_password("")
        with pytest.raises(Exception, match="wrong password"):
            users.authenticate("alice", "correct-horse-battery")
        db.session.remove()
        db.engine.dispose()


def test_backup_is_gzipped_json_lines_with_header_and_checksum(rich) -> None:
    lines = [json.loads(line) for line in gzip.decompress(back_up(rich)).splitlines()]
    header, end = lines[0]["header"], lines[-1]["end"]
    assert header["format_version"] == FORMAT_VERSION and header["project"] == rich.name
    assert header["schema_revision"] and header["app_version"]
    assert header["counts"] == end["counts"] and end["lines"] == len(lines) - 1
    tables = [line["table"] for line in lines[1:-1]]
    assert tables[0] == "project" and tables[-1] == "audit_event"
    assert header["counts"]["claim"] == db.session.scalar(
        select(func.count()).select_from(Claim).join(Document)
        .where(Document.project_id == rich.id))
    users_in_file = {line["row"]["annotator_id"] for line in lines[1:-1]
                     if line["table"] == "claim"}
    assert users_in_file == {"alice", "bob", "judy"}  # usernames, not ids


def test_every_table_is_backed_up_or_deliberately_left_out(app) -> None:
    covered = set(backup.backup_tables()) | backup.NOT_PROJECT_DATA
    assert set(db.metadata.tables) - covered == set()


def test_the_same_project_twice_needs_a_new_name(rich) -> None:
    data = back_up(rich)
    with pytest.raises(backup.BackupError, match="exists; restore it under another name"):
        restore(data)
    assert restore(data, name="second").project.name == "second"


# ---------- refused files leave nothing behind ----------


def _counts() -> dict[str, int]:
    return {name: db.session.scalar(select(func.count()).select_from(table))
            for name, table in db.metadata.tables.items()}


def _rewrite(data: bytes, change) -> bytes:  # noqa: ANN001
    lines = gzip.decompress(data).splitlines(keepends=True)
    return gzip.compress(b"".join(change(lines)))


@pytest.fixture
def refused(rich) -> Iterator[tuple[bytes, Any]]:
    """The backup, and a check that restoring a bad version of it stores nothing."""
    data = back_up(rich)
    counts = _counts()

    def check(bad: bytes, match: str) -> None:
        with pytest.raises(backup.BackupError, match=match):
            restore(bad, name="should not exist")
        db.session.rollback()
        assert _counts() == counts
        assert db.session.scalar(select(Project).where(Project.name == "should not exist")) \
            is None
    yield data, check


def test_truncated_file_is_refused(refused) -> None:
    data, check = refused
    check(data[: len(data) // 2], r"line \d+: the file ends early")
    check(_rewrite(data, lambda lines: lines[:-3]), r"line \d+: no end line after it")
    check(_rewrite(data, lambda lines: [*lines[:-2], lines[-2][:10]]),
          r"line \d+: the line is cut short")


def test_altered_file_is_refused_by_its_checksum(refused) -> None:
    data, check = refused

    def alter(lines: list[bytes]) -> list[bytes]:
        index = next(i for i, line in enumerate(lines) if b'"table":"claim"' in line)
        lines[index] = lines[index].replace(b'"stance":"', b'"stance":"x', 1)
        return lines
    check(_rewrite(data, alter), r"checksum mismatch")


def test_invalid_line_is_refused_naming_it(refused) -> None:
    data, check = refused
    check(_rewrite(data, lambda lines: [*lines[:3], b"{not json\n", *lines[3:]]),
          r"line 4: invalid JSON")
    check(_rewrite(data, lambda lines: [*lines[:3], b'{"table": "claim"}\n', *lines[3:]]),
          r"line 4: not a backup line")


def test_newer_format_version_is_refused(refused) -> None:
    data, check = refused

    def newer(lines: list[bytes]) -> list[bytes]:
        header = json.loads(lines[0])
        header["header"]["format_version"] = FORMAT_VERSION + 1
        return [json.dumps(header).encode() + b"\n", *lines[1:]]
    check(_rewrite(data, newer), r"line 1: backup format version 2 is newer")


def test_unknown_table_or_column_is_refused(refused) -> None:
    data, check = refused
    check(_rewrite(data, lambda lines: [*lines[:2], b'{"table":"gadget","row":{"id":1}}\n',
                                        *lines[2:]]), r"line 3: unknown table 'gadget'")


def test_not_gzip_is_refused(refused) -> None:
    _, check = refused
    check(b'{"header": {}}\n', r"not a readable gzip stream")


# ---------- the commands ----------


def test_cli_backup_and_restore(rich, app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    target = tmp_path / "palmyra.backup.gz"
    result = runner.invoke(args=["backup", rich.name, str(target)])
    assert result.exit_code == 0, result.output
    assert "Backed up Palmyra reports" in result.output and target.exists()

    result = runner.invoke(args=["restore", str(target), "--as", "Palmyra copy"])
    assert result.exit_code == 0, result.output
    copy = projects.by_name("Palmyra copy")
    assert canonical(copy.id) == canonical(rich.id)

    result = runner.invoke(args=["restore", str(target)])
    assert result.exit_code != 0 and "exists" in result.output
    result = runner.invoke(args=["backup", "No such project", str(tmp_path / "x.gz")])
    assert result.exit_code != 0 and "No such project" in result.output
    assert not (tmp_path / "x.gz").exists()

    target.write_bytes(target.read_bytes()[:-20])
    result = runner.invoke(args=["restore", str(target), "--as", "Broken"])
    assert result.exit_code != 0
    assert "line " in result.output and "nothing was restored" in result.output
