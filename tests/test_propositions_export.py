"""Proposition-level datasets: the pure writers, the bundle's files (checked against their
schemas and loaded back with json and `datasets`), `annotator export`, and evidence spans
in another article through the document-level exports."""

from __future__ import annotations

import io
import json
import socket
from typing import Any

import datasets as hf
import pytest
from jsonschema import Draft202012Validator

from annotator.db import db
from annotator.models import Document
from annotator.services import (
    adjudication,
    assignments,
    claims,
    documents,
    exporting,
    projects,
    propositions,
    users,
)
from annotator.services import datasets as bundles
from annotator.validation import load_schema
from exports.propositions import (
    article_date,
    contradicting,
    iter_claim_pairs,
    write_claim_pairs_jsonl,
)
from tests.conftest import span

# ---------- pure ----------


def test_article_date_reads_the_first_date_key_as_a_day() -> None:
    assert article_date({"published_at": "2016-05-16T08:00:00Z", "date": "2001-01-01"}) \
        == "2016-05-16"
    assert article_date({"date": "2016-05-14"}) == "2016-05-14"
    assert article_date({"published": "last Tuesday", "claim_date": "2016-05-01"}) \
        == "2016-05-01"
    assert article_date({}) is None and article_date(None) is None


def test_contradicting_needs_a_denial_against_an_assertion() -> None:
    assert contradicting("denies", "confirms") and contradicting("asserts", "denies")
    assert not contradicting("denies", "denies") and not contradicting("asserts", "questions")


def _records(sizes: list[int]) -> list[dict[str, Any]]:
    next_id = iter(range(1, 10_000))
    out = []
    for number, size in enumerate(sizes, start=1):
        out.append({"proposition_id": number, "incident": None, "claims": [
            {"claim_id": next(next_id), "text": f"p{number} c{i}", "actor": None,
             "stance": "denies" if i == 0 else "confirms", "document_id": 1,
             "article_date": None} for i in range(size)]})
    return out


def test_claim_pairs_positives_negatives_bounded_and_deterministic() -> None:
    records = _records([3, 2, 1, 4])
    pairs = list(iter_claim_pairs(records, seed=7, negatives_per_claim=2))
    positives = [p for p in pairs if p["same_proposition"]]
    negatives = [p for p in pairs if not p["same_proposition"]]
    assert len(positives) == 3 + 1 + 0 + 6  # every pair within each proposition
    assert all(p["label"] == 1 for p in positives) and all(p["label"] == 0 for p in negatives)
    assert 0 < len(negatives) <= 2 * 10  # at most negatives_per_claim per claim
    assert all(p["proposition_id_a"] != p["proposition_id_b"] for p in negatives)
    ids = [p["id"] for p in pairs]
    assert len(ids) == len(set(ids))  # no pair twice
    assert all(p["claim_id_a"] < p["claim_id_b"] for p in pairs)
    # the first claim of each proposition denies, the others confirm
    flagged = {p["id"] for p in positives if p["contradicting_stances"]}
    assert flagged == {"1-2", "1-3", "4-5", "7-8", "7-9", "7-10"}
    assert not any(p["contradicting_stances"] for p in negatives)
    assert list(iter_claim_pairs(records, seed=7)) == pairs
    assert list(iter_claim_pairs(records, seed=8)) != pairs
    capped = list(iter_claim_pairs(_records([30]), max_positives=10))
    assert len(capped) == 10


def test_claim_pairs_are_valid_records() -> None:
    check = Draft202012Validator(load_schema("claim-pair-record.schema.json"))
    out = io.StringIO()
    count = write_claim_pairs_jsonl(_records([2, 2]), out, validate=check.validate)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert count == len(lines) > 0


# ---------- from the database ----------

EARLY = "The ministry said no aircraft was lost near Tadmur on Saturday."
LATE = "The ministry confirmed a helicopter was shot down near Tadmur."


@pytest.fixture
def linked(project, make_user):
    """Two dated articles; alice's claims on both state one proposition (denied, then
    confirmed), bob's claim states another; an incident and a verdict; evidence on the
    early claim quotes the late article."""
    documents.import_file(project, "news.jsonl", (
        json.dumps({"id": "late", "title": "Confirmed", "text": LATE,
                    "meta": {"published_at": "2016-05-16"}}) + "\n"
        + json.dumps({"id": "early", "title": "Denied", "text": EARLY,
                      "meta": {"date": "2016-05-14"}}) + "\n").encode())
    assignments.assign(project, 2)
    docs = {d.external_id: d for d in db.session.scalars(
        db.select(Document).where(Document.project_id == project.id))}
    alice, bob, maria = (users.by_username(n) for n in ("alice", "bob", "maria"))

    def claim(user, key, needle, stance, **extra):
        start, end = span(docs[key].text, needle)
        return claims.create_claim(user, docs[key], {
            "start": start, "end": end, "text": needle, "stance": stance,
            "actor": "Russian Defense Ministry", **extra})

    ev_start, ev_end = span(LATE, "confirmed a helicopter was shot down")
    denial = claim(alice, "early", "no aircraft was lost", "denies", evidence=[
        {"type": "official_statement", "relation": "contradicts",
         "document_id": docs["late"].id, "start": ev_start, "end": ev_end}])
    confirmation = claim(alice, "late", "a helicopter was shot down", "confirms")
    other = claim(bob, "early", "near Tadmur on Saturday", "asserts")
    incident = propositions.create_incident(maria, project, {
        "title": "Helicopter down", "location": "Tadmur", "date_start": "2016-05-14"})
    loss = propositions.create_proposition(maria, project, {
        "text": "A Russian helicopter was lost near Tadmur", "incident_id": incident.id})
    place = propositions.create_proposition(maria, project, {"text": "It happened on Saturday"})
    propositions.link_claim(alice, denial, loss.id)
    propositions.link_claim(alice, confirmation, loss.id)
    propositions.link_claim(bob, other, place.id)
    propositions.set_verdict(maria, loss, "supported", "the ministry confirmed it")
    return {"docs": docs, "loss": loss, "place": place, "denial": denial,
            "confirmation": confirmation, "other": other}


def _lines(path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_bundle_holds_the_proposition_files_valid_and_loadable(
        project, linked, tmp_path, monkeypatch) -> None:
    bundle = bundles.write_bundle(project, tmp_path / "b", seed=3,
                                  formats=["claims", "propositions", "claim-pairs"])
    root = tmp_path / "b"
    entries = {f["path"]: f for f in bundle.manifest["files"]}
    assert entries["propositions/propositions.jsonl"]["records"] == 2
    assert entries["propositions/claim_pairs.jsonl"]["format"] == "claim-pairs"
    assert bundle.manifest["parameters"]["formats"] == ["claims", "propositions", "claim-pairs"]
    card = (root / "dataset_card.md").read_text()
    assert "## Propositions across articles" in card and "SHA-256 of the seed" in card

    records = _lines(root / "propositions" / "propositions.jsonl")
    check = Draft202012Validator(load_schema("proposition-record.schema.json"))
    for record in records:
        check.validate(record)
    loss = next(r for r in records if r["proposition_id"] == linked["loss"].id)
    assert loss["verdict"] == "supported" and loss["incident"]["title"] == "Helicopter down"
    assert [(c["claim_id"], c["article_date"], c["stance"]) for c in loss["claims"]] == [
        (linked["denial"].id, "2016-05-14", "denies"),
        (linked["confirmation"].id, "2016-05-16", "confirms")]
    assert all(c["split"] in bundles.SPLITS for c in loss["claims"])
    (evidence,) = loss["claims"][0]["evidence"]
    assert evidence["document_id"] == linked["docs"]["late"].id
    assert LATE[evidence["start"]:evidence["end"]] == evidence["text"]

    pairs = _lines(root / "propositions" / "claim_pairs.jsonl")
    pair_check = Draft202012Validator(load_schema("claim-pair-record.schema.json"))
    for pair in pairs:
        pair_check.validate(pair)
    positive = next(p for p in pairs if p["same_proposition"])
    assert positive["contradicting_stances"] is True
    assert {positive["claim_id_a"], positive["claim_id_b"]} == {
        linked["denial"].id, linked["confirmation"].id}
    assert any(not p["same_proposition"] for p in pairs)

    # What a user would do: load the files with Hugging Face `datasets`, offline.
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setattr(hf.config, "HF_DATASETS_OFFLINE", True, raising=False)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    loaded = hf.load_dataset("json", data_files={
        "pairs": str(root / "propositions" / "claim_pairs.jsonl"),
    }, cache_dir=str(tmp_path / "cache"))
    assert loaded["pairs"].num_rows == len(pairs)
    assert sorted(loaded["pairs"]["label"]) == sorted(p["label"] for p in pairs)
    nested = hf.load_dataset("json", data_files=str(root / "propositions" / "propositions.jsonl"),
                             cache_dir=str(tmp_path / "cache2"))["train"]
    assert sorted(nested["proposition"]) == sorted(r["proposition"] for r in records)


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def test_cli_exports_propositions_and_claim_pairs(project, linked, runner, tmp_path) -> None:
    out = tmp_path / "props.jsonl"
    result = runner.invoke(args=["export", project.name, "--out", str(out),
                                 "--format", "propositions"])
    assert result.exit_code == 0, result.output
    assert "Exported 2 proposition(s)" in result.output
    assert {len(r["claims"]) for r in _lines(out)} == {1, 2}
    pairs_out = tmp_path / "pairs.jsonl"
    result = runner.invoke(args=["export", project.name, "--out", str(pairs_out),
                                 "--format", "claim-pairs"])
    assert result.exit_code == 0, result.output
    assert all("split" not in p for p in _lines(pairs_out))  # only bundles split


def test_evidence_in_another_article_survives_the_document_exports(project, linked) -> None:
    records = list(exporting.iter_records(project))
    for record in records:
        exporting.validate_record(record)
    early = next(r for r in records if r["id"] == "early")
    denial = next(c for c in early["claims"] if c["id"] == linked["denial"].id)
    assert denial["evidence"][0]["document_id"] == linked["docs"]["late"].id
    out = io.StringIO()
    assert bundles.write_format(project, out, "jsonl") == 2  # check_spans let it through
    claim_lines = io.StringIO()
    bundles.write_format(project, claim_lines, "claims")
    check = Draft202012Validator(load_schema("claim-record.schema.json"))
    rows = [json.loads(line) for line in claim_lines.getvalue().splitlines()]
    for row in rows:
        check.validate(row)
    (row,) = [r for r in rows if r["claim_id"] == linked["denial"].id]
    assert row["evidence"][0]["document_id"] == linked["docs"]["late"].id


def test_incident_delete_keeps_its_propositions(project, linked) -> None:
    maria = users.by_username("maria")
    incident = propositions.incident_for(maria, linked["loss"].incident_id)
    propositions.delete_incident(maria, incident)
    db.session.refresh(linked["loss"])
    assert linked["loss"].incident_id is None
    assert projects.visible_projects(maria)  # nothing else went with it


def test_claims_rejected_in_adjudication_leave_the_proposition_dataset(project, linked) -> None:
    denial = linked["denial"]
    adjudication.reject(users.by_username("maria"), denial.document, [denial.id])

    records = {r["proposition_id"]: r for r in propositions.proposition_records(project)}

    loss = records[linked["loss"].id]
    assert [c["claim_id"] for c in loss["claims"]] == [linked["confirmation"].id]
