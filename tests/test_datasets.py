"""The dataset bundle for model training: every format split by document, the card, the
manifest, the streamed zip download, the CLI (`dataset`, `export --format`, `import` from
doccano and Label Studio), and flat memory."""

from __future__ import annotations

import contextvars
import hashlib
import io
import json
import socket
import tracemalloc
import zipfile
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, insert, select

import exports
from annotator.db import db
from annotator.models import Assignment, Claim, Document, Project, utcnow
from annotator.services import (
    adjudication,
    agreement,
    claims,
    datasets,
    documents,
    exporting,
    projects,
    tool_import,
    users,
)
from annotator.validation import validator
from tests.conftest import AuthActions, span

SEED = 7
FRACTIONS = (0.5, 0.25, 0.25)
CREATED = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
TEMPLATE = ("Report {i} from Tadmur \U0001F681: the ministry’s spokesman said\u00a0“no aircraft "
            "was lost” on day {i}. Local sources said a helicopter was shot down by a "
            "missile.\nAmaq’s video shows machine-gun fire, not a missile.")
N_DOCS = 16
SCHEMAS = {"jsonl": "export-record.schema.json", "claims": "claim-record.schema.json",
           "hf": "hf-claim-row.schema.json", "spacy": "spacy-spans-record.schema.json",
           "doccano": "doccano-record.schema.json",
           "label-studio": "label-studio-task.schema.json"}


def _body(text: str, needle: str, **fields: Any) -> dict[str, Any]:
    start, end = span(text, needle)
    return {"start": start, "end": end, "text": needle, "stance": "asserts", **fields}


@pytest.fixture
def corpus(project, make_user) -> Project:
    """16 documents in 4 incidents from 3 sources; alice and bob annotated every one and
    are done; judy made gold for the first four and settled it."""
    lines = [{"id": f"r{i:02d}", "title": f"Report {i}", "text": TEMPLATE.format(i=i),
              "meta": {"incident": f"inc-{i // 4}", "source": ["wire", "local", "tv"][i % 3]}}
             for i in range(N_DOCS)]
    documents.import_file(project, "reports.jsonl",
                          "".join(json.dumps(line, ensure_ascii=False) + "\n"
                                  for line in lines).encode())
    alice, bob = users.by_username("alice"), users.by_username("bob")
    judy = make_user("judy")
    projects.add_member(project, judy, "adjudicator")
    docs = db.session.execute(select(Document).where(Document.project_id == project.id)
                              .order_by(Document.id)).scalars().all()
    for n, document in enumerate(docs):
        text = document.text
        video = span(text, "Amaq’s video shows machine-gun fire")
        db.session.add_all([Assignment(document_id=document.id, user_id=u.id, status="todo")
                            for u in (alice, bob)])
        db.session.commit()
        denial = claims.create_claim(alice, document, _body(
            text, "no aircraft was lost", stance="denies", verdict="refuted",
            actor="Russian Defense Ministry",
            evidence=[{"type": "video", "relation": "contradicts", "start": video[0],
                       "end": video[1]}]))
        others = [
            claims.create_claim(alice, document, _body(text, "a helicopter was shot down")),
            claims.create_claim(bob, document, _body(
                text, "no aircraft was lost", stance="denies" if n % 2 else "asserts",
                verdict="refuted")),
            claims.create_claim(bob, document, _body(
                text, "Local sources said a helicopter was shot down", stance="questions",
                actor="Amaq"))]
        for user in (alice, bob):
            documents.set_status(document, user, "done")
        if n < 4:
            claims.create_claim(judy, document, _body(
                text, "no aircraft was lost", stance="denies", verdict="refuted"),
                sources=[denial.id])
            # settled: done needs every unit decided
            adjudication.reject(judy, document, [c.id for c in others])
            adjudication.set_status(judy, document, "done")
    return project


def _bundle(project: Project, path: Path, **options: Any) -> datasets.Bundle:
    options.setdefault("seed", SEED)
    options.setdefault("fractions", FRACTIONS)
    return datasets.write_bundle(project, path, **options)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _ids_by_split(root: Path) -> dict[str, list[str]]:
    return {split: [r["id"] for r in _lines(root / "documents" / f"{split}.jsonl")]
            for split in datasets.SPLITS}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------- the folder bundle ----------


def test_bundle_files_match_the_manifest(corpus, tmp_path):
    bundle = _bundle(corpus, tmp_path / "out", created=CREATED)
    root = tmp_path / "out"

    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest == bundle.manifest
    assert manifest["name"] == bundle.name == "palmyra-reports-v1"
    assert manifest["created"] == "2026-11-22T09:00:00+00:00"
    assert manifest["tool"]["version"] == __import__("annotator").__version__
    assert manifest["parameters"] == {
        "claims": "all", "seed": SEED, "fractions": dict(zip(datasets.SPLITS, FRACTIONS,
                                                             strict=True)),
        "group_by": None, "formats": list(datasets.BUNDLE_FORMATS), "version": 1}
    on_disk = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
    listed = {f["path"] for f in manifest["files"]}
    assert on_disk == listed | {"manifest.json"}
    for entry in manifest["files"]:
        data = (root / entry["path"]).read_bytes()
        assert (len(data), _sha256(data)) == (entry["size"], entry["sha256"]), entry["path"]
    for fmt in datasets.FORMATS:
        for split in datasets.SPLITS:
            assert datasets.format_path(fmt, split) in listed
    assert {"label_scheme.json", "dataset_card.md", "hf/features.json"} <= listed
    scheme = json.loads((root / "label_scheme.json").read_text())
    assert scheme["label_scheme"] == corpus.label_scheme
    assert scheme["scheme_version"] == corpus.scheme_version
    # the folder is readable by others (not the 0700 of a temporary folder)
    assert root.stat().st_mode & 0o055
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_no_document_is_in_two_splits_in_any_format(corpus, tmp_path):
    _bundle(corpus, tmp_path / "b")
    root = tmp_path / "b"
    ids = _ids_by_split(root)

    assert all(ids.values()), ids  # the seed puts documents in every split
    assert sorted(sum(ids.values(), [])) == [f"r{i:02d}" for i in range(N_DOCS)]
    for split, wanted in ids.items():
        wanted_set = set(wanted)
        assert {r["document_id"] for r in _lines(root / "claims" / f"{split}.jsonl")} \
            == wanted_set
        assert {r["document_id"] for r in _lines(root / "hf" / f"{split}.jsonl")} == wanted_set
        assert [r["meta"]["id"] for r in _lines(root / "spacy" / f"{split}.jsonl")] == wanted
        assert [r["document_id"] for r in _lines(root / "doccano" / f"{split}.jsonl")] == wanted
        tasks = json.loads((root / "label-studio" / f"{split}.json").read_text())
        assert [t["data"]["document_id"] for t in tasks] == wanted
        with open(root / "conll" / f"{split}.conll", encoding="utf-8") as fh:
            assert [d.doc_id for d in exports.read_conll(fh)] == wanted
    splitter = datasets.bundle_options(seed=SEED, fractions=FRACTIONS).splitter()
    for split, wanted in ids.items():
        assert all(splitter({"id": doc_id}) == split for doc_id in wanted)


def test_the_same_seed_gives_identical_data_files(corpus, tmp_path):
    first = _bundle(corpus, tmp_path / "one", created=CREATED)
    second = _bundle(corpus, tmp_path / "two", created=datetime(2027, 1, 1, tzinfo=UTC))
    _bundle(corpus, tmp_path / "three", seed=SEED + 1)

    def data(bundle: datasets.Bundle) -> dict[str, str]:
        return {f["path"]: f["sha256"] for f in bundle.manifest["files"]
                if f["path"] != "dataset_card.md"}

    assert data(first) == data(second)
    for path in data(first):
        assert (tmp_path / "one" / path).read_bytes() == (tmp_path / "two" / path).read_bytes()
    card_one = (tmp_path / "one" / "dataset_card.md").read_text()
    card_two = (tmp_path / "two" / "dataset_card.md").read_text()
    assert card_one != card_two and "2026-11-22" in card_one and "2027-01-01" in card_two
    assert card_one.replace("2026-11-22T09:00:00", "2027-01-01T00:00:00") == card_two
    assert _ids_by_split(tmp_path / "three") != _ids_by_split(tmp_path / "one")


def test_group_by_keeps_each_incident_in_one_split(corpus, tmp_path):
    bundle = _bundle(corpus, tmp_path / "g", group_by="incident", fractions=(0.4, 0.3, 0.3))
    where: dict[str, set[str]] = defaultdict(set)
    for split in datasets.SPLITS:
        for record in _lines(tmp_path / "g" / "documents" / f"{split}.jsonl"):
            where[record["meta"]["incident"]].add(split)
    assert len(where) == 4
    assert all(len(splits) == 1 for splits in where.values()), where
    assert bundle.manifest["parameters"]["group_by"] == "incident"
    card = (tmp_path / "g" / "dataset_card.md").read_text()
    assert "`meta.incident`" in card
    by_source = _bundle(corpus, tmp_path / "s", group_by="source", fractions=(0.4, 0.3, 0.3))
    sources: dict[str, set[str]] = defaultdict(set)
    for split in datasets.SPLITS:
        for record in _lines(tmp_path / "s" / "documents" / f"{split}.jsonl"):
            sources[record["meta"]["source"]].add(split)
    assert all(len(splits) == 1 for splits in sources.values()), sources
    assert by_source.manifest["parameters"]["group_by"] == "source"


def test_the_card_has_counts_labels_agreement_and_how_splits_were_made(corpus, tmp_path):
    bundle = _bundle(corpus, tmp_path / "c", created=CREATED)
    card = (tmp_path / "c" / "dataset_card.md").read_text()
    root = tmp_path / "c"

    for split in datasets.SPLITS:
        records = _lines(root / "documents" / f"{split}.jsonl")
        n_claims = sum(len(r["claims"]) for r in records)
        counts = bundle.manifest["splits"][split]
        assert (counts["documents"], counts["claims"]) == (len(records), n_claims)
        assert f"| {split} | {len(records)} | {len(records)} | {n_claims} |" in card
    total = N_DOCS * 4 + 4
    assert f"| all | {N_DOCS} | {N_DOCS} | {total} | 4 | 4 |" in card
    stances = Counter(c["stance"] for split in datasets.SPLITS
                      for r in _lines(root / "documents" / f"{split}.jsonl")
                      for c in r["claims"])
    for stance, count in stances.items():
        assert any(line.startswith(f"| `{stance}` |") and line.endswith(f"| {count} |")
                   for line in card.splitlines()), stance
    assert "### Verdict" in card and "| `refuted` |" in card
    assert "### Evidence relation" in card and "| `contradicts` |" in card
    report = agreement.project_report(corpus)
    summary = report["summary"]
    assert summary["documents_compared"] == N_DOCS
    assert f"| documents compared | {N_DOCS} |" in card
    assert f"| span F1, exact match | {summary['f1_exact']:.3f} |" in card
    assert f"| span F1, overlap match | {summary['f1_overlap']:.3f} |" in card
    alpha = report["fields"]["stance"]["krippendorff_alpha"]
    assert any(line.startswith("| stance |") and f"{alpha:.3f}" in line
               for line in card.splitlines())
    assert "2 with claims in the bundle" in card and "1 adjudicator" in card
    assert "Claim verification" in card or corpus.label_scheme["name"] in card
    assert f"version {corpus.scheme_version}" in card
    assert "2026-11-22T09:00:00+00:00" in card
    assert f"annotator {__import__('annotator').__version__}" in card
    assert f"seed: `{SEED}`" in card
    assert "train 0.5, validation 0.25, test 0.25" in card
    assert "approximate" in card and "hash" in card
    assert "every document is its own group" in card


def test_gold_only_bundle(corpus, tmp_path):
    bundle = _bundle(corpus, tmp_path / "gold", claim_set="gold")
    claims_written = [c for split in datasets.SPLITS
                      for r in _lines(tmp_path / "gold" / "documents" / f"{split}.jsonl")
                      for c in r["claims"]]
    assert len(claims_written) == 4 and all(c["is_gold"] for c in claims_written)
    assert sum(s["claims"] for s in bundle.manifest["splits"].values()) == 4
    card = (tmp_path / "gold" / "dataset_card.md").read_text()
    assert "the adjudicated gold claims only" in card
    # agreement still compares the annotators' own claims
    assert f"| documents compared | {N_DOCS} |" in card


def test_empty_splits_are_written_and_the_card_says_so(corpus, tmp_path):
    bundle = _bundle(corpus, tmp_path / "e", fractions=(1.0, 0.0, 0.0))
    root = tmp_path / "e"
    assert bundle.manifest["splits"]["validation"] == {"documents": 0, "claims": 0}
    for fmt in datasets.FORMATS:
        for split in ("validation", "test"):
            text = (root / datasets.format_path(fmt, split)).read_text()
            assert (json.loads(text) == []) if fmt == "label-studio" else text == ""
    assert len(_lines(root / "documents" / "train.jsonl")) == N_DOCS
    card = (root / "dataset_card.md").read_text()
    assert "No claims in validation and test" in card
    assert "for split in ('train',)" in card


def test_every_line_is_valid_against_its_schema(corpus, tmp_path):
    _bundle(corpus, tmp_path / "v")
    root = tmp_path / "v"
    checked = Counter()
    for fmt, schema in SCHEMAS.items():
        check = validator(schema)
        for split in datasets.SPLITS:
            path = root / datasets.format_path(fmt, split)
            items = json.loads(path.read_text()) if fmt == "label-studio" else _lines(path)
            for item in items:
                errors = [e.message for e in check.iter_errors(item)]
                assert not errors, (fmt, split, errors)
                checked[fmt] += 1
    assert checked["jsonl"] == N_DOCS and checked["label-studio"] == N_DOCS
    assert checked["claims"] == checked["hf"] == N_DOCS * 4 + 4
    assert json.loads((root / "hf" / "features.json").read_text()) == exports.HF_FEATURES


@pytest.fixture
def offline_datasets(tmp_path, monkeypatch):
    """`datasets` with no network: offline flags, a private cache, and sockets refused."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    import datasets as hf  # the test extra installs it; a missing install must fail

    monkeypatch.setattr(hf.config, "HF_DATASETS_OFFLINE", True, raising=False)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    return hf


def test_hugging_face_files_load_with_datasets_offline(corpus, tmp_path, offline_datasets):
    hf = offline_datasets
    bundle = _bundle(corpus, tmp_path / "hfb")
    root = tmp_path / "hfb"
    files = {split: str(root / "hf" / f"{split}.jsonl") for split in datasets.SPLITS}
    rows = {f["split"]: f["records"] for f in bundle.manifest["files"]
            if f.get("format") == "hf" and "split" in f}
    assert all(rows.values()), rows

    loaded = hf.load_dataset("json", data_files=files, cache_dir=str(tmp_path / "cache"))
    assert set(loaded) == {"train", "validation", "test"}
    assert {name: loaded[name].num_rows for name in loaded} == rows
    features = hf.Features.from_dict(json.loads((root / "hf" / "features.json").read_text()))
    typed = hf.load_dataset("json", data_files=files, cache_dir=str(tmp_path / "cache2"),
                            features=features)
    assert typed["train"].features == features
    for split in datasets.SPLITS:
        ids = set(_ids_by_split(root)[split])
        assert set(typed[split]["document_id"]) == ids
    row = typed["train"][0]
    assert row["context"][row["claim_context_start"]:row["claim_context_end"]] == row["claim"]


def test_spacy_docbin_finds_every_span(corpus, tmp_path):
    import spacy  # a runtime dependency: a missing install must fail, not skip
    from spacy.tokens import DocBin

    _bundle(corpus, tmp_path / "sp")
    nlp = spacy.blank("en")
    docbin = DocBin()
    expected = []
    for split in datasets.SPLITS:
        for line in _lines(tmp_path / "sp" / "spacy" / f"{split}.jsonl"):
            doc = nlp.make_doc(line["text"])
            spans = [doc.char_span(s["start"], s["end"], label=s["label"],
                                   alignment_mode="strict") for s in line["spans"]]
            assert None not in spans, line["meta"]["id"]
            for found, s in zip(spans, line["spans"], strict=True):
                assert found.text == line["text"][s["start"]:s["end"]]
            doc.spans["sc"] = spans
            docbin.add(doc)
            expected.append([(s["start"], s["end"], s["label"]) for s in line["spans"]])
    restored = list(DocBin().from_bytes(docbin.to_bytes()).get_docs(nlp.vocab))
    assert [[(sp.start_char, sp.end_char, sp.label_) for sp in d.spans["sc"]]
            for d in restored] == expected
    assert len(expected) == N_DOCS and all(len(spans) >= 3 for spans in expected)


def test_a_subset_of_formats_and_a_zip_file(corpus, tmp_path):
    bundle = _bundle(corpus, tmp_path / "small.zip", formats=["claims", "conll"], version=3)
    assert bundle.name == "palmyra-reports-v3"
    with zipfile.ZipFile(tmp_path / "small.zip") as archive:
        names = set(archive.namelist())
        assert all(name.startswith("palmyra-reports-v3/") for name in names)
        manifest = json.loads(archive.read("palmyra-reports-v3/manifest.json"))
        assert manifest == bundle.manifest
        for entry in manifest["files"]:
            data = archive.read(f"palmyra-reports-v3/{entry['path']}")
            assert _sha256(data) == entry["sha256"]
    assert {f.get("format") for f in manifest["files"]} == {None, "claims", "conll"}


def test_bad_options_and_existing_outputs_are_refused(corpus, tmp_path):
    from annotator.services.errors import InvalidInput

    for options, field in [({"fractions": (0.5, 0.5)}, "split"),
                           ({"fractions": (0.8, 0.3, 0.1)}, "split"),
                           ({"group_by": "author"}, "group_by"),
                           ({"formats": ["jsonl", "xml"]}, "format"),
                           ({"claim_set": "mine"}, "claims"),
                           ({"version": 0}, "version")]:
        with pytest.raises(InvalidInput) as caught:
            _bundle(corpus, tmp_path / "never", **options)
        assert field in caught.value.fields, options
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    with pytest.raises(InvalidInput, match="not an empty folder"):
        _bundle(corpus, full)
    assert [p.name for p in full.iterdir()] == ["keep.txt"]
    (tmp_path / "taken.zip").write_bytes(b"x")
    with pytest.raises(InvalidInput, match="exists"):
        _bundle(corpus, tmp_path / "taken.zip")
    empty = tmp_path / "empty"
    empty.mkdir()
    _bundle(corpus, empty, formats=["jsonl"])
    assert (empty / "manifest.json").exists()
    assert not (tmp_path / "never").exists()


# ---------- the zip download ----------


def test_zip_download_streams_the_bundle_for_managers(app, corpus, client, tmp_path):
    folder = _bundle(corpus, tmp_path / "folder")
    assert AuthActions(client).login("maria").status_code == 302

    # Unbuffered, the body is read after the request returns: every step of the streamed
    # generator must run in the one context the request was made in.
    context = contextvars.Context()
    response = context.run(FlaskClient.open, client,
                           f"/projects/{corpus.id}/dataset.zip?seed={SEED}&split=0.5,0.25,0.25",
                           buffered=False)

    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "application/zip"
    assert "Content-Length" not in response.headers
    assert 'filename="palmyra-reports-v1.zip"' in response.headers["Content-Disposition"]
    pieces = iter(response.response)
    first = context.run(next, pieces)
    assert first.startswith(b"PK\x03\x04")  # a member's header, long before the end
    rest = context.run(list, pieces)
    assert len(rest) >= 2
    context.run(response.close)
    data = first + b"".join(rest)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        manifest = json.loads(archive.read("palmyra-reports-v1/manifest.json"))
        for entry in manifest["files"]:
            member = archive.read(f"palmyra-reports-v1/{entry['path']}")
            assert (len(member), _sha256(member)) == (entry["size"], entry["sha256"])
            assert archive.getinfo(f"palmyra-reports-v1/{entry['path']}").flag_bits & 0x08

    def comparable(files: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [f for f in files if f["path"] != "dataset_card.md"]

    assert comparable(manifest["files"]) == comparable(folder.manifest["files"])
    assert manifest["parameters"] == folder.manifest["parameters"]
    assert manifest["splits"] == folder.manifest["splits"]


def test_zip_download_options_and_who_may_download(app, corpus, client, make_user):
    auth = AuthActions(client)
    assert auth.login("alice").status_code == 302
    assert client.get(f"/projects/{corpus.id}/dataset.zip").status_code == 403
    client.post("/logout", data={"csrf_token": auth.csrf_token("/")})
    assert auth.login("maria").status_code == 302
    bad = client.get(f"/projects/{corpus.id}/dataset.zip?split=0.9,0.9,0.1")
    assert bad.status_code == 422
    response = client.get(f"/projects/{corpus.id}/dataset.zip?claims=gold&format=jsonl"
                          "&format=hf&group_by=incident&version=2")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        manifest = json.loads(archive.read("palmyra-reports-v2/manifest.json"))
    assert manifest["parameters"]["claims"] == "gold"
    assert manifest["parameters"]["formats"] == ["jsonl", "hf"]
    assert manifest["parameters"]["group_by"] == "incident"
    page = client.get(f"/projects/{corpus.id}").get_data(as_text=True)
    assert f'href="/projects/{corpus.id}/dataset.zip"' in page
    assert "Download dataset (zip)" in page


@pytest.mark.parametrize("split", ["1e308,1e308,1e308", "nan,0.5,0.5", "inf,0,0",
                                   "-inf,1,1", "1.5,-0.5,0"])
def test_a_split_of_fractions_not_from_0_to_1_is_a_422_naming_split(corpus, client, split):
    # 1e308 three times overflowed the sum of the fractions: a 500.
    assert AuthActions(client).login("maria").status_code == 302
    response = client.get(f"/projects/{corpus.id}/dataset.zip?split={split}")
    assert response.status_code == 422
    assert "<code>split</code>: fractions must be numbers from 0 to 1" in response.get_data(
        as_text=True)


def test_annotators_do_not_see_the_download_link(app, corpus, client):
    assert AuthActions(client).login("alice").status_code == 302
    page = client.get(f"/projects/{corpus.id}").get_data(as_text=True)
    assert "dataset.zip" not in page


# ---------- the CLI ----------


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def test_cli_dataset_writes_the_bundle_with_a_progress_bar(runner, corpus, tmp_path):
    out = tmp_path / "cli-bundle"
    result = runner.invoke(args=["dataset", corpus.name, "--out", str(out), "--seed", str(SEED),
                                 "--split", "0.5,0.25,0.25", "--group-by", "incident",
                                 "--format", "jsonl,hf", "--format", "spacy"])

    assert result.exit_code == 0, result.output
    assert "Building palmyra-reports-v1" in result.stderr
    assert "Wrote palmyra-reports-v1" in result.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parameters"]["formats"] == ["jsonl", "hf", "spacy"]
    assert manifest["parameters"]["group_by"] == "incident"
    assert manifest["parameters"]["seed"] == SEED

    again = runner.invoke(args=["dataset", corpus.name, "--out", str(out)])
    assert again.exit_code != 0 and "not an empty folder" in again.output
    zipped = runner.invoke(args=["dataset", corpus.name, "--out", str(tmp_path / "b.zip"),
                                 "--zip", "--claims", "annotators", "--bundle-version", "4"])
    assert zipped.exit_code == 0, zipped.output
    with zipfile.ZipFile(tmp_path / "b.zip") as archive:
        assert "palmyra-reports-v4/manifest.json" in archive.namelist()
    bad = runner.invoke(args=["dataset", corpus.name, "--out", str(tmp_path / "x"),
                              "--split", "0.5,0.5"])
    assert bad.exit_code != 0 and "split" in bad.output
    assert not (tmp_path / "x").exists()


def test_progress_is_called_once_per_document_and_pass(corpus, tmp_path):
    calls: list[int] = []
    _bundle(corpus, tmp_path / "p", formats=["claims", "doccano"], progress=calls.append)
    assert calls == [1] * datasets.bundle_steps(corpus)
    assert len(calls) == N_DOCS * 2  # every format in one pass, then the agreement pass


@pytest.mark.parametrize("fmt", datasets.SINGLE_FILE_FORMATS)
def test_cli_export_in_each_format(runner, corpus, tmp_path, fmt):
    out = tmp_path / f"export.{fmt}"
    result = runner.invoke(args=["export", corpus.name, "--out", str(out), "--format", fmt,
                                 "--claims", "annotators"])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    n_claims = N_DOCS * 4
    if fmt == "jsonl":
        records = _lines(out)
        assert len(records) == N_DOCS
        assert sum(len(r["claims"]) for r in records) == n_claims
    elif fmt == "claims":
        assert len(_lines(out)) == n_claims
        assert f"Exported {n_claims} claim(s)" in result.output
    elif fmt == "spacy":
        assert [r["meta"]["id"] for r in _lines(out)] == [f"r{i:02d}" for i in range(N_DOCS)]
    elif fmt == "conll":
        parsed = list(exports.read_conll(io.StringIO(text)))
        assert [d.doc_id for d in parsed] == [f"r{i:02d}" for i in range(N_DOCS)]
        assert all(any(t.tag.startswith("B-") for t in d.tokens) for d in parsed)
    elif fmt == "doccano":
        records = list(exports.read_doccano_jsonl(io.StringIO(text)))
        # alice's and bob's identical denials (same span and stance) are one span
        assert [len(r["claims"]) for r in records] == [3 if i % 2 else 4 for i in range(N_DOCS)]
    else:
        records = list(exports.read_label_studio_json(io.StringIO(text)))
        assert len(records) == N_DOCS
        assert {c["annotator"] for r in records for c in r["claims"]} == {"alice", "bob"}
    if fmt in SCHEMAS:
        check = validator(SCHEMAS[fmt])
        items = json.loads(text) if fmt == "label-studio" else _lines(out)
        assert items and all(check.is_valid(item) for item in items)


def test_cli_export_default_is_the_native_jsonl(runner, corpus, tmp_path):
    default = tmp_path / "a.jsonl"
    explicit = tmp_path / "b.jsonl"
    assert runner.invoke(args=["export", corpus.name, "--out", str(default)]).exit_code == 0
    assert runner.invoke(args=["export", corpus.name, "--out", str(explicit), "--format",
                               "jsonl"]).exit_code == 0
    assert default.read_bytes() == explicit.read_bytes()
    bad = runner.invoke(args=["export", corpus.name, "--out", str(tmp_path / "c"),
                              "--format", "xml"])
    assert bad.exit_code != 0


# ---------- import from doccano and Label Studio ----------


@pytest.fixture
def two_projects(project, make_user):
    """Project A ('Palmyra reports', alice's claims on two documents, an emoji before
    them) and an empty project B whose annotator is carol."""
    texts = {"e1": TEMPLATE.format(i=1), "e2": "Nothing 🚁🚁 here but “no aircraft was lost”."}
    documents.import_file(project, "a.jsonl", "".join(
        json.dumps({"id": key, "text": text, "title": f"T {key}", "meta": {"source": "wire"}},
                   ensure_ascii=False) + "\n" for key, text in texts.items()).encode())
    alice = users.by_username("alice")
    for document in db.session.execute(select(Document).order_by(Document.id)).scalars():
        claims.create_claim(alice, document, _body(document.text, "no aircraft was lost",
                                                   stance="denies"))
        if document.external_id == "e1":
            claims.create_claim(alice, document, _body(document.text,
                                                       "a helicopter was shot down"))
            claims.create_claim(alice, document, _body(document.text,
                                                       "a helicopter was shot down"))
    carol = make_user("carol")
    other = projects.create_project("Other project", manager=users.by_username("maria"))
    projects.add_member(other, carol, "annotator")
    return project, other


def _spans(project: Project) -> set[tuple[str, int, int, str, str]]:
    db.session.rollback()
    return set(db.session.execute(
        select(Document.external_id, Claim.start, Claim.end, Claim.stance, Claim.text)
        .join(Claim, Claim.document_id == Document.id)
        .where(Document.project_id == project.id, Claim.deleted_at.is_(None))).all())


@pytest.mark.parametrize(("fmt", "suffix"), [("doccano", "jsonl"), ("label-studio", "json")])
def test_import_round_trip_from_an_export(runner, two_projects, tmp_path, fmt, suffix):
    source, target = two_projects
    path = tmp_path / f"exported.{suffix}"
    exported = runner.invoke(args=["export", source.name, "--out", str(path), "--format", fmt])
    assert exported.exit_code == 0, exported.output

    result = runner.invoke(args=["import", target.name, str(path), "--annotator", "carol"])

    assert result.exit_code == 0, result.output
    assert "imported 2 document(s) and 3 claim(s) by carol" in result.output
    assert _spans(target) == _spans(source)
    stored = {d.external_id: d for d in db.session.execute(
        select(Document).where(Document.project_id == target.id)).scalars()}
    originals = {d.external_id: d for d in db.session.execute(
        select(Document).where(Document.project_id == source.id)).scalars()}
    for key, document in stored.items():
        assert (document.text, document.title, document.text_sha256) == (
            originals[key].text, originals[key].title, originals[key].text_sha256)
        assert document.meta.get("source") == "wire"
    carol = users.by_username("carol")
    statuses = db.session.execute(select(Assignment.status).where(
        Assignment.user_id == carol.id)).scalars().all()
    assert statuses == ["done", "done"]
    assert {c.annotator_id for c in db.session.execute(
        select(Claim).join(Document).where(Document.project_id == target.id)).scalars()} \
        == {carol.id}


def test_import_without_an_annotator_stores_documents_only(runner, two_projects, tmp_path):
    source, target = two_projects
    path = tmp_path / "exported.jsonl"
    runner.invoke(args=["export", source.name, "--out", str(path), "--format", "doccano"])
    result = runner.invoke(args=["import", target.name, str(path)])
    assert result.exit_code == 0, result.output
    assert "imported 2 document(s) (3 span(s) not imported" in result.output
    assert _spans(target) == set()
    # the app's own JSONL is still recognised as such
    native = tmp_path / "native.jsonl"
    native.write_text(json.dumps({"id": "n1", "text": "Plain article."}) + "\n")
    assert runner.invoke(args=["import", target.name, str(native)]).exit_code == 0
    assert db.session.scalar(select(func.count(Document.id)).where(
        Document.project_id == target.id)) == 3


def _count(project: Project, model: Any) -> int:
    db.session.rollback()
    query = select(func.count(model.id))
    if model is Document:
        query = query.where(Document.project_id == project.id)
    else:
        query = query.join(Document).where(Document.project_id == project.id)
    return db.session.scalar(query)


def test_a_bad_doccano_record_is_reported_by_number_and_nothing_is_stored(
        runner, two_projects, tmp_path):
    _, target = two_projects
    lines = [
        {"text": "First report 🚁 of a claim.", "label": [[19, 26, "asserts"]]},
        {"text": "Second report.", "label": []},
        {"text": "Third report with a bad label.", "label": [[0, 5, "agrees"]]},
        {"text": "Fourth report.", "label": [[0, 6, "denies"]]},
    ]
    path = tmp_path / "doccano.jsonl"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))

    result = runner.invoke(args=["import", target.name, str(path), "--annotator", "carol"])

    assert result.exit_code != 0
    assert "line 3" in result.stderr and "'agrees'" in result.stderr
    assert "not a stance" in result.stderr and "denies" in result.stderr
    assert "nothing imported" in result.stderr and "Traceback" not in result.output
    assert _count(target, Document) == 0 and _count(target, Claim) == 0
    assert db.session.scalar(select(func.count(Assignment.id))) == 0 or all(
        a.user_id != users.by_username("carol").id
        for a in db.session.execute(select(Assignment)).scalars())

    # the same file with a good label imports; UTF-16 offsets after the emoji are converted
    lines[2]["label"] = [[0, 5, "questions"]]
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    ok = runner.invoke(args=["import", target.name, str(path), "--annotator", "carol"])
    assert ok.exit_code == 0, ok.output
    assert ("doccano:1", 18, 25, "asserts", "a claim") in _spans(target)


def test_a_bad_label_studio_task_is_reported_by_number(runner, two_projects, tmp_path):
    _, target = two_projects
    text = "A claim 🚁 here."
    good = {"data": {"text": text}, "annotations": [{"result": [
        {"type": "labels", "from_name": "label", "to_name": "text",
         "value": {"start": 0, "end": 7, "text": "A claim", "labels": ["asserts"]}}]}]}
    outside = {"data": {"text": "Short."}, "annotations": [{"result": [
        {"type": "labels", "value": {"start": 3, "end": 40, "labels": ["asserts"]}}]}]}
    path = tmp_path / "ls.json"
    path.write_text(json.dumps([good, good | {"id": 9}, outside], ensure_ascii=False))

    result = runner.invoke(args=["import", target.name, str(path), "--annotator", "carol"])
    assert result.exit_code != 0
    assert "task 3" in result.stderr and "outside" in result.stderr
    assert _count(target, Document) == 0

    broken = tmp_path / "broken.json"
    broken.write_text('[{"data": {"text": "x"}}, ')
    result = runner.invoke(args=["import", target.name, str(broken)])
    assert result.exit_code != 0 and "invalid JSON" in result.stderr
    assert _count(target, Document) == 0


def test_import_refuses_an_annotator_who_is_not_a_member_or_a_plain_file(
        runner, two_projects, tmp_path, make_user):
    _, target = two_projects
    make_user("stranger")
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"text": "Text.", "label": [[0, 4, "asserts"]]}) + "\n")
    outsider = runner.invoke(args=["import", target.name, str(path), "--annotator", "stranger"])
    assert outsider.exit_code != 0 and "not a member" in outsider.output
    txt = tmp_path / "a.txt"
    txt.write_text("Title\nBody.")
    plain = runner.invoke(args=["import", target.name, str(txt), "--annotator", "carol"])
    assert plain.exit_code != 0 and "no annotations" in plain.output
    forced = runner.invoke(args=["import", target.name, str(path), "--format", "jsonl"])
    assert forced.exit_code == 0, forced.output  # read as the app's JSONL: text only
    assert _spans(target) == set() and _count(target, Document) == 1


def test_detect_format():
    def detect(name: str, content: bytes) -> str:
        return tool_import.detect_format(name, io.BytesIO(content))

    assert detect("a.txt", b"x") == "txt"
    assert detect("a.json", b"[]") == "label-studio"
    assert detect("a.jsonl", b'\n{"text": "x", "label": []}\n') == "doccano"
    assert detect("a.jsonl", b'{"text": "x", "entities": [], "relations": []}\n') == "doccano"
    assert detect("a.jsonl", b'{"text": "x", "id": "d1"}\n') == "jsonl"
    assert detect("a.ndjson", b"not json") == "jsonl"


# ---------- memory ----------


def test_bundle_memory_stays_flat_with_many_documents(project, tmp_path):
    n = 3000
    body = ("The council said the bridge at Kell was closed on Monday. Residents dispute "
            "it: “the bridge is open,” one said. Officials will inspect it again. ") * 4
    documents.import_file(project, "many.jsonl", "".join(
        json.dumps({"id": f"m{i}", "text": f"Report {i}. {body}",
                    "meta": {"incident": f"i{i % 97}"}}) + "\n"
        for i in range(n)).encode())
    alice = users.by_username("alice")
    ids = db.session.execute(select(Document.id, Document.text)
                             .where(Document.project_id == project.id)).all()
    claim_text = "the bridge at Kell was closed on Monday"
    now = utcnow()
    rows = []
    for doc_id, text in ids:
        start = text.index(claim_text)
        rows.append({"document_id": doc_id, "annotator_id": alice.id, "start": start,
                     "end": start + len(claim_text), "text": claim_text, "stance": "asserts",
                     "verdict": "refuted", "note": "", "scheme_version": 1, "is_gold": False,
                     "version": 1, "created_at": now, "updated_at": now})
    db.session.execute(insert(Claim), rows)
    db.session.commit()
    del rows, ids
    datasets.write_bundle(project, tmp_path / "warm", formats=["jsonl"])  # caches, imports

    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        held = list(exporting.iter_records(project))
        holding = tracemalloc.get_traced_memory()[0] - base  # what keeping them would cost
        del held
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        bundle = datasets.write_bundle(project, tmp_path / "big", group_by="incident")
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    written = sum(f["size"] for f in bundle.manifest["files"])
    assert sum(s["documents"] for s in bundle.manifest["splits"].values()) == n
    print(f"bundle of {n} documents: {written:,} bytes written; Python heap peak {peak:,}; "
          f"holding the records would take {holding:,}")
    assert written > 15_000_000
    assert peak < written / 4, f"peak {peak:,} bytes for {written:,} bytes written"
    assert peak < holding / 2, f"peak {peak:,} bytes; all records take {holding:,}"
