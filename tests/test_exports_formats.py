"""Dataset formats for model training: the pure writers, readers and splits in exports/.

No app and no database here: plain export records in, files out. spaCy and Hugging Face
`datasets` are test-only dependencies that read what the writers wrote.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import socket
import subprocess
import sys
import tracemalloc
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

import exports
from exports import (
    ExportRecordError,
    ImportFormatError,
    OffsetMap,
    Splitter,
    bio_spans,
    group_by_meta,
    iter_claim_records,
    read_conll,
    read_doccano_jsonl,
    read_label_studio_json,
    sentence_spans,
    strict_loads,
    token_spans,
    write_claims_jsonl,
    write_conll,
    write_doccano_jsonl,
    write_hf_dataset_dir,
    write_hf_splits,
    write_label_studio_json,
    write_spacy_jsonl,
)
from exports.conll import token_span_of
from exports.hf import FEATURES, LABEL_NAMES, iter_hf_rows
from exports.offsets import codepoint_to_utf16, utf16_to_codepoint
from exports.segmentation import paragraph_spans

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
MODULES = ["exports", "exports.jsonl", "exports.claims", "exports.spacy_spans", "exports.hf",
           "exports.conll", "exports.doccano", "exports.label_studio", "exports.splits",
           "exports.offsets", "exports.segmentation"]


# ---------- schemas and records ----------


def _registry() -> Registry:
    return Registry().with_resources(
        (path.name, Resource.from_contents(json.loads(path.read_text(encoding="utf-8"))))
        for path in SCHEMAS.glob("*.schema.json")
    )


REGISTRY = _registry()


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return Draft202012Validator(schema, registry=REGISTRY)


def assert_valid(name: str, instance: Any) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}"
              for e in validator(name).iter_errors(instance)]
    assert not errors, errors


def where(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(nth + 1):
        start = text.index(needle, start + 1)
    return start, start + len(needle)


_ids = iter(range(1, 10**9))


def claim(text: str, needle: str, *, nth: int = 0, **fields: Any) -> dict[str, Any]:
    start, end = where(text, needle, nth)
    mention = fields.pop("mention", None)
    evidence = fields.pop("evidence", [])
    built = {
        "id": next(_ids), "version": 1, "document_id": 1, "annotator": "alice",
        "start": start, "end": end, "text": needle, "actor": None, "actor_mention": None,
        "stance": "asserts", "verdict": None, "note": "", "scheme_version": 1,
        "is_gold": False, "evidence": [],
    }
    if mention:
        m_start, m_end = where(text, mention)
        built["actor_mention"] = {"start": m_start, "end": m_end, "text": mention}
    for item in evidence:
        item = dict(item)
        needle_ev = item.pop("needle", None)
        if needle_ev:
            item["start"], item["end"] = where(text, needle_ev)
            item["text"] = needle_ev
        built["evidence"].append(item)
    built.update(fields)
    return built


def doc(doc_id: str, text: str, claims: list[dict[str, Any]] | None = None,
        **fields: Any) -> dict[str, Any]:
    record = {
        "id": doc_id, "document_id": 1, "project": "P", "title": f"Title {doc_id}",
        "text": text, "text_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "meta": {}, "scheme_version": 1, "claims": claims or [],
    }
    record.update(fields)
    return record


EMOJI = ("Emoji 🚁 then “quoted”: Игорь said no. The army shot down an enemy helicopter "
         "🚁 with a guided missile, the media office said.\nSecond paragraph 👍 here.")
ARABIC = "قال المتحدث إن الجيش أسقط طائرة مسيرة 👨🏻‍🚒 فوق المدينة. ونفى الطرف الآخر ذلك."
NBSP = ("Officials\u00a0said the bridge\u00a0was destroyed on 3\u00a0May.\n"
        "Locals dispute it: the bridge still stands 🌉 today.")
MIXED = "東京で火災が発生した。 The café’s owner (José) says “no one was hurt”! Police confirm."


def corpus() -> list[dict[str, Any]]:
    """Documents in several scripts, with emoji before spans, NBSP, overlaps and gold."""
    return [
        doc("emoji-1", EMOJI, [
            claim(EMOJI, "Игорь said no", stance="denies", verdict="refuted",
                  actor="Igor", mention="Игорь", note="Denied on TV.",
                  evidence=[{"type": "video", "relation": "contradicts",
                             "description": "Footage", "needle": "“quoted”"},
                            {"type": "other", "relation": "supports"}]),
            claim(EMOJI, "shot down an enemy helicopter 🚁 with a guided missile",
                  verdict="supported", actor="Northern Front media office"),
            claim(EMOJI, "shot down an enemy helicopter 🚁 with a guided missile",
                  annotator="bob", verdict="conflicting_evidence"),
            claim(EMOJI, "shot down an enemy helicopter 🚁 with a guided missile",
                  annotator="gold", is_gold=True, verdict="supported"),
        ], meta={"incident": "heli-1", "source": "wire", "url": "https://example.org/a",
                 "date": "2024-05-03"}),
        doc("arabic-1", ARABIC, [
            claim(ARABIC, "الجيش أسقط طائرة مسيرة 👨🏻‍🚒", verdict="not_enough_evidence"),
            claim(ARABIC, "ونفى الطرف الآخر ذلك", stance="denies", verdict="custom_verdict"),
        ], meta={"incident": "drone-7"}),
        doc("nbsp-1", NBSP, [
            claim(NBSP, "the bridge\u00a0was destroyed on 3\u00a0May", verdict="refuted"),
            claim(NBSP, "the bridge still stands 🌉 today", stance="confirms"),
        ], meta={"source": "local"}),
        doc("mixed-1", MIXED, [
            claim(MIXED, "東京で火災が発生した"),  # one token for spaCy's "en" tokenizer
            claim(MIXED, "no one was hurt", stance="questions", verdict="supported"),
        ]),
        doc("empty-1", "A document nobody annotated. 🙂"),
    ]


class Once:
    """An iterable that may be iterated once: proves the writers make a single pass."""

    def __init__(self, make: Callable[[], Iterator[dict[str, Any]]]) -> None:
        self._make = make
        self.used = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self.used:
            raise AssertionError("records iterated twice")
        self.used = True
        return self._make()


class Sink(io.TextIOBase):
    """A text file that keeps nothing, only counts characters."""

    def __init__(self) -> None:
        self.chars = 0

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        self.chars += len(s)
        return len(s)


def lines_of(out: io.StringIO) -> list[dict[str, Any]]:
    text = out.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_the_input_corpus_is_valid_export_records():
    for record in corpus():
        assert_valid("export-record.schema.json", record)
        exports.check_spans(record)


# ---------- purity: no Flask, SQLAlchemy or app ----------


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_nothing_of_flask_sqlalchemy_or_the_app(module):
    code = (
        "import importlib, sys\n"
        f"importlib.import_module({module!r})\n"
        "bad = sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('flask', 'sqlalchemy', 'annotator', 'flask_sqlalchemy'))\n"
        "print(','.join(bad))\n"
        "sys.exit(1 if bad else 0)\n"
    )
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, (result.stdout, result.stderr)


def test_the_package_exposes_its_public_api():
    for name in exports.__all__:
        assert getattr(exports, name) is not None
    assert {"write_claims_jsonl", "write_spacy_jsonl", "write_hf_splits", "write_conll",
            "write_doccano_jsonl", "read_doccano_jsonl", "write_label_studio_json",
            "read_label_studio_json", "Splitter"} <= set(exports.__all__)


# ---------- streaming ----------


_STREAM_TEXT = "Report 🚁: the army said it shot down a drone. Locals deny it. No. "
_STREAM_CLAIMS = [
    claim(_STREAM_TEXT, "it shot down a drone", verdict="refuted",
          evidence=[{"type": "video", "relation": "contradicts", "description": "clip",
                     "needle": "Locals deny it"}]),
    claim(_STREAM_TEXT, "Locals deny it", stance="denies"),
]


def _generated(n: int) -> Callable[[], Iterator[dict[str, Any]]]:
    """n distinct document records, made one at a time (claims shared: cheap to make)."""
    def make() -> Iterator[dict[str, Any]]:
        for i in range(n):
            yield {"id": f"g-{i}", "title": f"Report {i}", "text": f"{_STREAM_TEXT}{i}",
                   "meta": {"incident": f"inc-{i % 50}"}, "claims": _STREAM_CLAIMS}
    return make


WRITERS: dict[str, Callable[[Any], Any]] = {
    "claims": lambda records: write_claims_jsonl(records, Sink()),
    "spacy": lambda records: write_spacy_jsonl(records, Sink()),
    "conll": lambda records: write_conll(records, Sink()),
    "doccano": lambda records: write_doccano_jsonl(records, Sink()),
    "label_studio": lambda records: write_label_studio_json(records, Sink()),
    "hf": lambda records: write_hf_splits(
        records, {"train": Sink(), "validation": Sink(), "test": Sink()}),
    "jsonl": lambda records: exports.write_jsonl(records, Sink()),
}


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_writers_read_the_records_once(writer):
    records = Once(_generated(3))
    WRITERS[writer](records)
    assert records.used
    with pytest.raises(AssertionError, match="twice"):
        iter(records)


class Alive:
    """Counts how many of the records it made are still referenced by anyone."""

    class Record(dict):  # a dict subclass can be weakly referenced
        pass

    def __init__(self, make: Callable[[], Iterator[dict[str, Any]]]) -> None:
        self._make = make
        self.alive = 0
        self.most = 0
        self._refs: list[weakref.ref[Any]] = []

    def _gone(self, _ref: Any) -> None:
        self.alive -= 1

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for record in self._make():
            tracked = Alive.Record(record)
            self._refs.append(weakref.ref(tracked, self._gone))
            self.alive += 1
            self.most = max(self.most, self.alive)
            yield tracked
            del tracked


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_writers_hold_no_records_while_writing_20000(writer):
    records = Alive(_generated(20_000))
    WRITERS[writer](records)
    assert len(records._refs) == 20_000
    assert records.most <= 3, f"{writer} kept {records.most} records alive at once"


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_writers_memory_peak_stays_small(writer):
    # tracemalloc makes allocation ~8x slower, so 5,000 records here (20,000 above).
    tracemalloc.start()
    try:
        held = list(_generated(5_000)())
        holding = tracemalloc.get_traced_memory()[0]
        del held
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        WRITERS[writer](Once(_generated(5_000)))
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert holding > 2_000_000  # what keeping the records would cost
    assert peak < 250_000, f"{writer}: peak {peak} bytes"


# ---------- offsets and segmentation ----------


def test_offset_map_converts_every_index_both_ways():
    text = "a🚁b👨🏻‍🚒c\U0001F600"
    offset_map = OffsetMap(text)
    utf16 = text.encode("utf-16-le")
    assert offset_map.utf16_length == len(utf16) // 2
    for index in range(len(text) + 1):
        u = offset_map.to_utf16(index)
        assert utf16[: 2 * u].decode("utf-16-le") == text[:index]
        assert offset_map.from_utf16(u) == index
    assert codepoint_to_utf16(text, 2) == 3 and utf16_to_codepoint(text, 3) == 2
    assert OffsetMap("plain").to_utf16(3) == 3


@pytest.mark.parametrize("bad", [2, -1, 99])
def test_offset_map_refuses_split_pairs_and_out_of_range(bad):
    offset_map = OffsetMap("a🚁b")  # 🚁 takes UTF-16 units 1 and 2
    with pytest.raises(ValueError):
        offset_map.from_utf16(bad)


def test_sentences_and_paragraphs_keep_offsets():
    text = "  First one. Second? Third!” Next…  \n\nNew para 🙂 ends. 東京。 x"
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    assert sentences == ["First one.", "Second?", "Third!”", "Next…", "New para 🙂 ends.",
                         "東京。", "x"]
    assert sentence_spans("東京。大阪。") == [(0, 6)]  # no cut without following whitespace
    assert [text[s:e] for s, e in paragraph_spans(text)] == [
        "First one. Second? Third!” Next…", "New para 🙂 ends. 東京。 x"]


def test_tokens_keep_offsets_marks_and_emoji_sequences():
    text = "كَتَبَ 👨🏻‍🚒 Игорь's re-run, 3.5\u00a0km! ❤️"
    tokens = [text[s:e] for s, e in token_spans(text)]
    assert tokens == ["كَتَبَ", "👨🏻‍🚒", "Игорь", "'", "s", "re", "-", "run", ",", "3", ".",
                      "5", "km", "!", "❤️"]
    for s, e in token_spans(text):
        assert not any(ch.isspace() for ch in text[s:e])


# ---------- 1. claim-level JSONL ----------


def test_claim_lines_match_the_schema_and_carry_their_context():
    out = io.StringIO()
    count = write_claims_jsonl(corpus(), out, validate=lambda line: assert_valid(
        "claim-record.schema.json", line))
    lines = lines_of(out)
    assert count == len(lines) == 10
    texts = {r["id"]: r["text"] for r in corpus()}
    for line in lines:
        assert_valid("claim-record.schema.json", line)
        text = texts[line["document_id"]]
        assert text[line["claim_start"]:line["claim_end"]] == line["claim"]
        assert text[line["context_start"]:line["context_end"]] == line["context"]
        assert line["context"][line["claim_context_start"]:line["claim_context_end"]] \
            == line["claim"]
        for item in line["evidence"]:
            if item["start"] is not None:
                assert text[item["start"]:item["end"]] == item["text"]
    first = lines[0]
    assert first["context"] == "Emoji 🚁 then “quoted”: Игорь said no."
    assert first["actor"] == first["speaker"] == first["claimant"] == "Igor"
    assert first["actor_mention"]["text"] == "Игорь"
    assert first["justification"] == "Denied on TV."
    assert first["claim_date"] == "2024-05-03"
    assert first["original_claim_url"] == "https://example.org/a"
    assert first["reporting_source"] == "wire"
    assert first["evidence"] == [
        {"type": "video", "relation": "contradicts", "description": "Footage",
         "start": EMOJI.index("“quoted”"), "end": EMOJI.index("“quoted”") + 8,
         "text": "“quoted”", "source_url": None},
        {"type": "other", "relation": "supports", "description": "", "start": None,
         "end": None, "text": None, "source_url": None}]
    assert first["id"] == f"emoji-1#{first['claim_id']}"
    assert [line["is_gold"] for line in lines[:4]] == [False, False, False, True]


def test_sentence_context_spans_every_sentence_a_claim_touches():
    text = "One. Two starts here. And ends here. Three."
    record = doc("d", text, [claim(text, "starts here. And ends")])
    (line,) = iter_claim_records([record])
    assert line["context"] == "Two starts here. And ends here."


def test_paragraph_and_window_contexts():
    records = corpus()[:1]
    (para, *_) = iter_claim_records(records, context="paragraph")
    assert para["context"] == EMOJI.split("\n")[0]
    (window, *_) = iter_claim_records(records, context="window", window=5)
    start = EMOJI.index("Игорь said no")
    assert window["context"] == EMOJI[start - 5:start + len("Игорь said no") + 5]
    assert window["claim_context_start"] == 5
    with pytest.raises(ValueError, match="context"):
        list(iter_claim_records(records, context="page"))  # type: ignore[arg-type]


@pytest.mark.parametrize(("label_set", "expected"), [
    ("averitec", ["Refuted", "Supported", "Conflicting Evidence/Cherrypicking", "Supported",
                  "Not Enough Evidence", None, "Refuted", None, None, "Supported"]),
    ("fever", ["REFUTES", "SUPPORTS", "NOT ENOUGH INFO", "SUPPORTS", "NOT ENOUGH INFO", None,
               "REFUTES", None, None, "SUPPORTS"]),
])
def test_verdicts_map_to_fever_and_averitec_labels(label_set, expected):
    lines = list(iter_claim_records(corpus(), label_set=label_set))
    assert [line["label"] for line in lines] == expected
    for line in lines:
        assert line["label_set"] == label_set
        assert_valid("claim-record.schema.json", line)
    unknown = lines[5]
    assert unknown["verdict"] == "custom_verdict" and unknown["label"] is None


def test_a_custom_label_map_and_a_claim_filter():
    lines = list(iter_claim_records(corpus(), label_map={"custom_verdict": "OTHER"},
                                    keep=lambda c: c["verdict"] == "custom_verdict"))
    assert [(line["label"], line["label_set"]) for line in lines] == [("OTHER", "custom")]
    assert_valid("claim-record.schema.json", lines[0])
    gold = list(iter_claim_records(corpus(), keep=lambda c: c.get("is_gold")))
    assert [line["annotator"] for line in gold] == ["gold"]


def test_a_record_whose_span_does_not_match_is_refused():
    bad = corpus()[0]
    bad["claims"][0]["start"] += 1
    out = io.StringIO()
    with pytest.raises(ExportRecordError, match="emoji-1"):
        write_claims_jsonl([corpus()[2], bad], out)
    assert {line["document_id"] for line in lines_of(out)} == {"nbsp-1"}


# ---------- 2. spaCy spans ----------


def test_spacy_lines_match_the_schema():
    out = io.StringIO()
    assert write_spacy_jsonl(corpus(), out) == 5
    lines = lines_of(out)
    for line in lines:
        assert_valid("spacy-spans-record.schema.json", line)
    # The three annotators' identical spans with the same stance are written once.
    assert [(s["label"]) for s in lines[0]["spans"]] == ["denies", "asserts"]
    assert lines[0]["meta"] == {"id": "emoji-1", "title": "Title emoji-1",
                                "document_meta": corpus()[0]["meta"]}
    assert lines[4]["spans"] == []
    out = io.StringIO()
    write_spacy_jsonl(corpus(), out, span_label="CLAIM", skip_empty=True)
    assert {s["label"] for line in lines_of(out) for s in line["spans"]} == {"CLAIM"}
    assert len(lines_of(out)) == 4


def test_spacy_builds_a_docbin_with_every_span():
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.blank("en")
    out = io.StringIO()
    write_spacy_jsonl(corpus(), out)
    lines = lines_of(out)
    docbin = DocBin(store_user_data=False)
    expected = []
    for line in lines:
        spacy_doc = nlp.make_doc(line["text"])
        spans = [spacy_doc.char_span(s["start"], s["end"], label=s["label"],
                                     alignment_mode="strict") for s in line["spans"]]
        assert None not in spans, line["text"]
        for span, s in zip(spans, line["spans"], strict=True):
            assert span.text == line["text"][s["start"]:s["end"]]
        spacy_doc.spans["sc"] = spans
        docbin.add(spacy_doc)
        expected.append([(s["start"], s["end"], s["label"]) for s in line["spans"]])
    restored = list(DocBin().from_bytes(docbin.to_bytes()).get_docs(nlp.vocab))
    assert [[(sp.start_char, sp.end_char, sp.label_) for sp in d.spans["sc"]]
            for d in restored] == expected
    assert sum(map(len, expected)) == 8  # 10 claims, 2 identical (span, stance) repeats


# ---------- 3. Hugging Face datasets ----------


def _hf_records(n: int = 60) -> list[dict[str, Any]]:
    records = []
    for i in range(n):
        base = corpus()[i % 4]
        record = dict(base, id=f"{base['id']}-{i}")
        if i % 3 == 0:  # some claims without evidence, actor or verdict
            record["claims"] = [dict(c, evidence=[], actor=None, verdict=None)
                                for c in base["claims"]]
        records.append(record)
    return records


def test_hf_rows_have_one_type_per_column_and_no_nulls():
    rows = list(iter_hf_rows(_hf_records(8)))
    assert rows
    types: dict[str, set[str]] = {}
    for row in rows:
        assert_valid("hf-claim-row.schema.json", row)
        assert list(row) == list(FEATURES)
        for key, value in row.items():
            assert value is not None, key
            kind = type(value).__name__
            if isinstance(value, list):
                kind += "[" + ",".join(sorted({type(v).__name__ for v in value})) + "]"
            types.setdefault(key, set()).add(kind)
    for key, kinds in types.items():
        plain = {k.split("[")[0] for k in kinds}
        assert len(plain) == 1, (key, kinds)
        assert len({k for k in kinds if not k.endswith("[]")}) <= 1, (key, kinds)
    refuted = next(r for r in rows if r["verdict"] == "refuted")
    assert refuted["label"] == "Refuted" and refuted["fever_label"] == "REFUTES"
    assert refuted["label_id"] == LABEL_NAMES.index("Refuted")
    custom = next(r for r in rows if r["verdict"] == "custom_verdict")
    assert (custom["label"], custom["label_id"], custom["fever_label"]) == ("", -1, "")


@pytest.fixture
def offline_datasets(tmp_path, monkeypatch):
    """`datasets` with no network: offline flags, a private cache, and sockets refused."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    import datasets
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True, raising=False)
    try:
        import huggingface_hub.constants as hub_constants
        monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True, raising=False)
    except ImportError:  # pragma: no cover
        pass

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    return datasets


def test_datasets_loads_the_three_splits(tmp_path, offline_datasets):
    datasets = offline_datasets
    records = _hf_records()
    splitter = Splitter(seed=3, fractions=(0.6, 0.2, 0.2))
    counts = write_hf_dataset_dir(records, tmp_path / "ds", splitter=splitter)
    files = {name: str(tmp_path / "ds" / f"{name}.jsonl")
             for name in ("train", "validation", "test")}
    expected: Counter[str] = Counter()
    by_split: dict[str, set[str]] = {}
    for record in records:
        name = {"dev": "validation"}.get(splitter(record), splitter(record))
        expected[name] += len(record["claims"])
        by_split.setdefault(name, set()).add(record["id"])
    assert counts == dict(expected) and all(counts.values())

    loaded = datasets.load_dataset("json", data_files=files,
                                   cache_dir=str(tmp_path / "cache"))
    assert set(loaded) == {"train", "validation", "test"}
    assert {name: loaded[name].num_rows for name in loaded} == counts
    for name, split in loaded.items():
        assert set(split["document_id"]) == by_split[name]
        assert split.column_names == list(FEATURES)
    assert loaded["train"].features == loaded["test"].features == \
        loaded["validation"].features

    typed = datasets.load_dataset("json", data_files=files, cache_dir=str(tmp_path / "c2"),
                                  features=datasets.Features.from_dict(FEATURES))
    assert typed["train"].features == datasets.Features.from_dict(FEATURES)
    row = typed["train"][0]
    assert row["context"][row["claim_context_start"]:row["claim_context_end"]] == row["claim"]
    assert json.loads((tmp_path / "ds" / "features.json").read_text()) == FEATURES


def test_datasets_types_a_split_without_any_evidence_with_the_features(
        tmp_path, offline_datasets):
    datasets = offline_datasets
    text = "Nothing to see 🙂 here."
    records = [doc(f"n{i}", text, [claim(text, "Nothing to see")]) for i in range(5)]
    outs = {name: io.StringIO() for name in ("train", "validation", "test")}
    write_hf_splits(records, outs, splitter=lambda record: "test")
    path = tmp_path / "test.jsonl"
    path.write_text(outs["test"].getvalue(), encoding="utf-8")
    loaded = datasets.load_dataset("json", data_files={"test": str(path)},
                                   cache_dir=str(tmp_path / "cache"),
                                   features=datasets.Features.from_dict(FEATURES))
    assert loaded["test"].features["evidence_start"] == \
        datasets.Features.from_dict(FEATURES)["evidence_start"]
    assert loaded["test"]["evidence_type"] == [[]] * 5


def test_hf_split_without_a_file_is_an_error():
    with pytest.raises(KeyError, match="dev"):
        write_hf_splits(corpus(), {"train": io.StringIO()}, splitter=lambda record: "dev")


# ---------- 4. CoNLL BIO ----------


def _expected_token_spans(record: dict[str, Any]) -> list[tuple[int, int]]:
    """Each claim widened to the tokens it overlaps, as character offsets."""
    tokens = token_spans(record["text"])
    spans = set()
    for c in record["claims"]:
        found = token_span_of(tokens, c["start"], c["end"])
        assert found is not None
        spans.add((tokens[found[0]][0], tokens[found[1] - 1][1]))
    return sorted(spans)


def _char_spans(document: Any, text: str) -> list[tuple[int, int]]:
    tokens = token_spans(text)
    assert [t.text for t in document.tokens] == [text[s:e] for s, e in tokens]
    return [(tokens[a][0], tokens[b - 1][1]) for a, b, _ in bio_spans(
        [t.tag for t in document.tokens])]


def test_conll_round_trips_non_overlapping_claims():
    records = [r for r in corpus() if r["id"] in ("arabic-1", "nbsp-1", "mixed-1", "empty-1")]
    # a claim that starts mid-word is widened to the whole token
    text = "Reports say the bridge collapsed overnight. Officials deny it."
    records.append(doc("partial", text, [claim(text, "ridge collapsed"),
                                          claim(text, "Officials deny it")]))
    out = io.StringIO()
    stats = write_conll(records, out)
    assert (stats.documents, stats.spans, stats.conflicts, stats.duplicates) == (5, 8, 0, 0)
    documents = list(read_conll(io.StringIO(out.getvalue())))
    assert [d.doc_id for d in documents] == [r["id"] for r in records]
    for document, record in zip(documents, records, strict=True):
        assert _char_spans(document, record["text"]) == _expected_token_spans(record)
    partial = documents[-1]
    first = _char_spans(partial, text)[0]
    assert text[first[0]:first[1]] == "bridge collapsed"


def test_conll_layout_comments_blank_lines_and_offset_columns():
    text = "One claim here. Then 🚁 another sentence!"
    record = doc("lay\nout", text, [claim(text, "claim here")])
    out = io.StringIO()
    write_conll([record, doc("second", "Hi.")], out, offsets=True)
    assert out.getvalue().split("\n") == [
        "# doc_id = lay out",
        "One\t0\t3\tO", "claim\t4\t9\tB-CLAIM", "here\t10\t14\tI-CLAIM", ".\t14\t15\tO",
        "",
        "Then\t16\t20\tO", "🚁\t21\t22\tO", "another\t23\t30\tO", "sentence\t31\t39\tO",
        "!\t39\t40\tO",
        "",
        "# doc_id = second",
        "Hi\t0\t2\tO", ".\t2\t3\tO",
        "",
        "",
    ]
    (first, _) = read_conll(out.getvalue().splitlines(keepends=True))
    assert [(t.start, t.end) for t in first.tokens][:2] == [(0, 3), (4, 9)]
    assert len(first.sentences) == 2


def test_conll_never_breaks_a_sentence_inside_a_claim():
    text = "He said it ended. Then it began again. Done."
    record = doc("d", text, [claim(text, "it ended. Then it began")])
    out = io.StringIO()
    stats = write_conll([record], out)
    (document,) = read_conll(io.StringIO(out.getvalue()))
    assert [" ".join(t.text for t in s) for s in document.sentences] == [
        "He said it ended . Then it began again .", "Done ."]
    assert stats.sentences == 2
    assert _char_spans(document, text) == _expected_token_spans(record)


def test_conll_overlaps_longest_wins_and_conflicts_are_counted():
    text = "The minister said the army shot down a drone over the city."
    record = doc("o", text, [
        claim(text, "the army shot down a drone"),                # nested: loses
        claim(text, "said the army shot down a drone over the city"),  # longest: wins
        claim(text, "said the army shot down a drone over the city", annotator="bob"),
        claim(text, "over the city."),                             # overlapping: loses
        claim(text, "The minister"),                               # disjoint: kept
    ])
    out = io.StringIO()
    stats = write_conll([record], out, span_label="stance")
    assert (stats.spans, stats.conflicts, stats.duplicates) == (2, 2, 1)
    (document,) = read_conll(io.StringIO(out.getvalue()))
    assert [text[s:e] for s, e in _char_spans(document, text)] == [
        "The minister", "said the army shot down a drone over the city"]
    assert {t.tag for t in document.tokens} == {"B-asserts", "I-asserts", "O"}


def test_bio_spans_and_reader_errors():
    assert bio_spans(["O", "B-X", "I-X", "I-Y", "O", "I-X", "B-X"]) == [
        (1, 3, "X"), (3, 4, "Y"), (5, 6, "X"), (6, 7, "X")]
    with pytest.raises(ImportFormatError, match="line 2"):
        list(read_conll(["# doc_id = a\n", "a b c\n"]))
    with pytest.raises(ImportFormatError, match="integers"):
        list(read_conll(["tok\tx\ty\tO\n"]))
    (lonely,) = read_conll(["-DOCSTART-\n", "\n", "#\tO\n", "Hi\tB-C\n"])
    assert lonely.doc_id is None and [t.text for t in lonely.tokens] == ["#", "Hi"]


# ---------- 5a. doccano ----------


def test_doccano_counts_utf16_units_after_an_emoji():
    text = "🚁 Игорь said no."
    record = doc("d", text, [claim(text, "Игорь said no")])
    out = io.StringIO()
    write_doccano_jsonl([record], out)
    (line,) = lines_of(out)
    assert_valid("doccano-record.schema.json", line)
    assert line["label"] == [[3, 16, "asserts"]]  # Python: [2, 15); 🚁 is two UTF-16 units
    js_text = text.encode("utf-16-le")
    assert js_text[2 * 3:2 * 16].decode("utf-16-le") == "Игорь said no"
    out = io.StringIO()
    write_doccano_jsonl([record], out, offsets="codepoint", span_label="CLAIM")
    assert lines_of(out)[0]["label"] == [[2, 15, "CLAIM"]]


@pytest.mark.parametrize("offsets", ["utf16", "codepoint"])
def test_doccano_round_trip(offsets):
    out = io.StringIO()
    assert write_doccano_jsonl(corpus(), out, offsets=offsets) == 5
    for line in lines_of(out):
        assert_valid("doccano-record.schema.json", line)
    back = list(read_doccano_jsonl(io.StringIO(out.getvalue()), offsets=offsets))
    for imported, record in zip(back, corpus(), strict=True):
        assert_valid("import-record.schema.json", imported)
        assert imported["id"] == record["id"] and imported["text"] == record["text"]
        assert imported["title"] == record["title"]
        assert imported.get("meta", {}) == record["meta"]
        assert [(c["start"], c["end"], c["label"]) for c in imported["claims"]] == sorted(
            {(c["start"], c["end"], c["stance"]) for c in record["claims"]})
        for c in imported["claims"]:
            assert record["text"][c["start"]:c["end"]] == c["text"]


def test_doccano_reads_hand_written_files_in_its_documented_format():
    # doccano's sequence-labeling example (backend/data_export/pipeline/examples/
    # sequence_labeling/example.jsonl), a doccano export line with its own id and
    # metadata, and the emoji case of doccano issue #2290 (UTF-16 offsets 22..32).
    raw = (
        '{"text": "EU rejects German call to boycott British lamb.", '
        '"label": [ [0, 2, "ORG"], [11, 17, "MISC"] ]}\n'
        '\n'
        '{"id": 7, "text": "Peter Blackburn", "label": [[0, 15, "PERSON"]], '
        '"Comments": [], "source": "wire"}\n'
        '{"text": "👨🏻‍🚒 firemen drive firetrucks", "label": [[22, 32, "VEHICLE"]]}\n'
        '{"text": "President Obama", "entities": [{"id": 1, "label": "PERSON", '
        '"start_offset": 10, "end_offset": 15}], "relations": []}\n'
        '{"text": "old style", "labels": [[0, 3, "ADJ"]]}\n'
    )
    records = list(read_doccano_jsonl(io.BytesIO(b"\xef\xbb\xbf" + raw.encode())))
    for record in records:
        assert_valid("import-record.schema.json", record)
    assert [[(c["text"], c["label"]) for c in r["claims"]] for r in records] == [
        [("EU", "ORG"), ("German", "MISC")], [("Peter Blackburn", "PERSON")],
        [("firetrucks", "VEHICLE")], [("Obama", "PERSON")], [("old", "ADJ")]]
    assert records[2]["claims"][0]["start"] == 19  # text[19:29] in Python
    assert records[1]["id"] == "7" and records[1]["meta"] == {"source": "wire"}
    assert "id" not in records[0]


@pytest.mark.parametrize(("line", "message"), [
    ('{"text": "a🚁b", "label": [[2, 3, "X"]]}', "surrogate"),
    ('{"text": "abc", "label": [[1, 9, "X"]]}', "outside"),
    ('{"text": "abc", "label": [[2, 2, "X"]]}', "empty"),
    ('{"text": "abc", "label": ["positive"]}', "sequence-labeling"),
    ('{"label": []}', "text"),
    ('{"text": "abc", "label": [[0.5, 2, "X"]]}', "integers"),
    ("[1, 2]", "object"),
    ("{not json", "invalid JSON"),
    ('{"text": "abc", "label": [], "score": NaN}', "invalid JSON: NaN is not valid JSON"),
    ('{"text": "abc", "label": [], "x": ' + "[" * 5000 + "]" * 5000 + "}",
     "invalid JSON: nested too deeply"),
    ('{"text": "abc", "label": [], "id": ' + "7" * 5000 + "}",
     "invalid JSON: a number of 5000 digits is too long"),
])
def test_doccano_refuses_bad_lines_with_their_number(line, message):
    with pytest.raises(ImportFormatError, match=f"line 2.*{message}"):
        list(read_doccano_jsonl(['{"text": "fine", "label": []}\n', line + "\n"]))


# ---------- 5b. Label Studio ----------


def test_label_studio_tasks_use_code_points_after_an_emoji():
    text = "🐱 Warning: This is a test text"
    record = doc("ls", text, [claim(text, "test")])
    out = io.StringIO()
    write_label_studio_json([record], out)
    (task,) = json.loads(out.getvalue())
    assert_valid("label-studio-task.schema.json", task)
    value = task["annotations"][0]["result"][0]["value"]
    # Label Studio's own test (NER - Emoji - Text) expects start 21, end 25 here.
    assert (value["start"], value["end"], value["text"]) == (21, 25, "test")
    out = io.StringIO()
    write_label_studio_json([record], out, offsets="utf16")
    value = json.loads(out.getvalue())[0]["annotations"][0]["result"][0]["value"]
    assert (value["start"], value["end"]) == (22, 26)


def test_label_studio_file_is_one_array_with_an_annotation_per_annotator():
    out = io.StringIO()
    assert write_label_studio_json(corpus(), out) == 5
    tasks = json.loads(out.getvalue())
    assert len(tasks) == 5
    for task in tasks:
        assert_valid("label-studio-task.schema.json", task)
    first = tasks[0]
    assert first["data"]["annotators"] == ["alice", "bob", "gold"]
    assert [a["ground_truth"] for a in first["annotations"]] == [False, False, True]
    assert [len(a["result"]) for a in first["annotations"]] == [2, 1, 1]
    assert tasks[4]["annotations"] == []
    empty = io.StringIO()
    assert write_label_studio_json([], empty) == 0
    assert json.loads(empty.getvalue()) == []


@pytest.mark.parametrize("offsets", ["codepoint", "utf16"])
def test_label_studio_round_trip(offsets):
    out = io.StringIO()
    write_label_studio_json(corpus(), out, offsets=offsets)
    back = list(read_label_studio_json(io.StringIO(out.getvalue()),
                                       offsets="auto" if offsets == "codepoint" else offsets))
    for imported, record in zip(back, corpus(), strict=True):
        assert_valid("import-record.schema.json", imported)
        assert (imported["id"], imported["text"], imported["title"]) == (
            record["id"], record["text"], record["title"])
        assert imported.get("meta", {}) == record["meta"]
        assert sorted((c["start"], c["end"], c["label"], c["annotator"], c["is_gold"])
                      for c in imported["claims"]) == sorted(
            (c["start"], c["end"], c["stance"], c["annotator"], c["is_gold"])
            for c in record["claims"])


def test_label_studio_reads_hand_written_exports():
    # Shapes from Label Studio's docs (task format; JSON-MIN), its emoji test, and the
    # old UTF-16 export of issue #1347 ("💩This is an annotation." → 13..23).
    tasks = [
        {"id": 1, "data": {"text": "🐱 Warning: This is a test text"},
         "annotations": [{"id": 9, "completed_by": 1, "result": [
             {"value": {"start": 21, "end": 25, "text": "test", "labels": ["Thing"]},
              "id": "gew3t9fgkg", "from_name": "label", "to_name": "text",
              "type": "labels", "origin": "manual"},
             {"value": {"choices": ["yes"]}, "id": "c1", "from_name": "ok",
              "to_name": "text", "type": "choices"}]},
             {"id": 10, "was_cancelled": True, "result": [
                 {"value": {"start": 0, "end": 1, "labels": ["X"]}, "type": "labels"}]}],
         "predictions": [{"result": [
             {"value": {"start": 2, "end": 9, "labels": ["P"]}, "type": "labels"}]}]},
        {"id": 2, "data": {"text": "💩This is an annotation."},
         "annotations": [{"result": [
             {"value": {"start": 13, "end": 23, "text": "annotation",
                        "labels": ["Annotation"]}, "type": "labels",
              "from_name": "label", "to_name": "text", "id": "a"}]}]},
        {"id": 3, "text": "Some simple text", "annotator": "a@b.c", "annotation_id": 4,
         "label": [{"start": 5, "end": 11, "text": "simple", "labels": ["ADJ"]}]},
    ]
    raw = json.dumps(tasks, ensure_ascii=False)
    records = list(read_label_studio_json(raw))
    for record in records:
        assert_valid("import-record.schema.json", record)
    assert [[(c["text"], c["label"]) for c in r["claims"]] for r in records] == [
        [("test", "Thing")], [("annotation", "Annotation")], [("simple", "ADJ")]]
    assert records[0]["id"] == "1" and records[0]["claims"][0]["annotator"] == "1"
    assert records[1]["claims"][0]["start"] == 12  # UTF-16 13 read back as code point 12
    assert records[2]["claims"][0]["annotator"] == "a@b.c"
    with_predictions = list(read_label_studio_json(tasks, include_predictions=True))
    assert [c["label"] for c in with_predictions[0]["claims"]] == ["P", "Thing"]
    forced = list(read_label_studio_json(raw.encode(), offsets="codepoint"))
    assert forced[1]["claims"][0]["text"] == "nnotation."  # what trusting 13..23 gives


@pytest.mark.parametrize(("source", "message"), [
    ("{not json", "invalid JSON"),
    ('"text"', "array"),
    ('[{"data": {"text": ""}}]', "task 0"),
    ('[{"data": {"text": "a🚁b"}, "annotations": [{"result": [{"type": "labels", '
     '"value": {"start": 2, "end": 3, "labels": ["X"]}}]}]}]', "surrogate"),
    ('[{"data": {"text": "abc"}, "annotations": [{"result": [{"type": "labels", '
     '"value": {"start": 1, "end": 7, "labels": ["X"]}}]}]}]', "outside"),
    ('[{"data": {"text": "abc"}, "annotations": [{"result": [{"type": "labels", '
     '"value": {"start": 1.0, "end": 2, "labels": ["X"]}}]}]}]',
     r"task 0: region offsets must be whole numbers: \[1.0, 2\]"),
    ('[{"data": {"text": "abc", "meta": {"n": -Infinity}}}]',
     "invalid JSON: -Infinity is not valid JSON at line 1"),
    ("[" * 5000 + "]" * 5000, "invalid JSON: nested too deeply"),
])
def test_label_studio_refuses_bad_files(source, message):
    offsets = "utf16" if message == "surrogate" else "auto"
    with pytest.raises(ImportFormatError, match=message):
        list(read_label_studio_json(source, offsets=offsets))


@pytest.mark.parametrize(("text", "message", "line", "column"), [
    ('{"id": "a",\n "meta": {"n": NaN}}', "NaN is not valid JSON", 2, 16),
    ('[1, "Infinity", Infinity]', "Infinity is not valid JSON", 1, 17),
    ('[-Infinity]', "-Infinity is not valid JSON", 1, 2),
    ('{"big": 1e308, "n": 1e400}', "1e400 is too large a number", 1, 21),
    ('{"id": 1, "n": ' + "9" * 5000 + "}", "a number of 5000 digits is too long", 1, 16),
    ('{"s": "[[[[", "x": ' + "[" * 3000 + "]" * 3000 + "}", "nested too deeply (3001 levels)",
     1, 3019),
])
def test_strict_loads_refuses_what_is_not_json_where_it_is(text, message, line, column):
    # json.loads took the first four, and raised a plain ValueError and a RecursionError for
    # the last two, past every caller's JSONDecodeError handler (a 500 in the app).
    with pytest.raises(json.JSONDecodeError) as caught:
        strict_loads(text)
    assert (caught.value.msg, caught.value.lineno, caught.value.colno) == (message, line, column)
    with pytest.raises(json.JSONDecodeError, match=re.escape(message)):
        strict_loads(text.encode())


def test_strict_loads_reads_json_as_json_loads_does():
    text = '{"text": "NaN Infinity 1e400 [[[", "n": [1, -2.5, 1e308, 0], "x": null}'
    assert strict_loads(text) == json.loads(text)
    assert strict_loads(text.encode("utf-16")) == json.loads(text)
    assert strict_loads("[" * 500 + "]" * 500) == json.loads("[" * 500 + "]" * 500)


# ---------- 6. splits ----------


def _docs(n: int, incidents: int | None = None) -> Iterator[dict[str, Any]]:
    for i in range(n):
        meta = {"incident": f"inc-{i % incidents}"} if incidents else {}
        yield {"id": f"doc-{i}", "title": "", "text": "x", "meta": meta, "claims": []}


def test_split_fractions_on_10000_documents_are_within_two_points():
    splitter = Splitter(seed=11)
    counts = Counter(splitter(record) for record in _docs(10_000))
    assert set(counts) == {"train", "dev", "test"}
    for name, target in zip(("train", "dev", "test"), (0.8, 0.1, 0.1), strict=True):
        assert abs(counts[name] / 10_000 - target) <= 0.02, counts
    custom = Counter(Splitter(seed=1, fractions=(0.5, 0.3, 0.2))(r) for r in _docs(10_000))
    for name, target in zip(("train", "dev", "test"), (0.5, 0.3, 0.2), strict=True):
        assert abs(custom[name] / 10_000 - target) <= 0.02, custom


def test_splits_are_deterministic_for_a_seed_and_streaming():
    first = [name for name, _ in exports.assign_splits(Once(lambda: _docs(2_000)), seed=5)]
    again = [name for name, _ in exports.assign_splits(Once(lambda: _docs(2_000)), seed=5)]
    other = [name for name, _ in exports.assign_splits(_docs(2_000), seed=6)]
    assert first == again and first != other
    # Adding documents never moves the others; a pinned value guards the hash.
    assert first[:1000] == [n for n, _ in exports.assign_splits(_docs(1_000), seed=5)]
    assert exports.split_of({"id": "doc-0"}, seed=5) == first[0]
    digest = hashlib.sha256(b"5\x00doc-0").digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    assert first[0] == ("train" if u < 0.8 else "dev" if u < 0.9 else "test")


def test_groups_never_straddle_splits():
    splitter = Splitter(seed=2, group_key=group_by_meta("incident", "source"))
    seen: dict[str, set[str]] = {}
    for record in _docs(10_000, incidents=300):
        seen.setdefault(record["meta"]["incident"], set()).add(splitter(record))
    assert all(len(names) == 1 for names in seen.values())
    assert {name for names in seen.values() for name in names} == {"train", "dev", "test"}
    # source as the fallback key, then the id
    by_source = {"id": "a", "meta": {"source": "wire"}}
    assert splitter(by_source) == splitter({"id": "b", "meta": {"source": "wire"}})
    assert splitter.group_key({"id": "a", "meta": {}}) == "id:a"


def test_the_hf_writer_keeps_documents_of_a_group_together():
    records = _hf_records(40)
    for i, record in enumerate(records):
        record["meta"] = {"incident": f"inc-{i % 4}"}
    outs = {name: io.StringIO() for name in ("train", "validation", "test")}
    write_hf_splits(records, outs, splitter=Splitter(group_key=group_by_meta("incident")))
    where_found: dict[str, set[str]] = {}
    for name, out in outs.items():
        for line in out.getvalue().splitlines():
            incident = json.loads(json.loads(line)["meta"])["incident"]
            where_found.setdefault(incident, set()).add(name)
    assert len(where_found) == 4 and all(len(v) == 1 for v in where_found.values())


@pytest.mark.parametrize("kwargs", [
    {"fractions": (0.8, 0.1)},
    {"fractions": (0.8, 0.3, 0.1)},
    {"fractions": (1.2, -0.1, -0.1)},
    {"fractions": (1e308, 1e308, 1e308)},  # overflowed fsum: OverflowError, not ValueError
    {"names": ("a", "a", "b")},
])
def test_bad_split_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        Splitter(**kwargs)
    with pytest.raises(ValueError):
        group_by_meta()


def test_a_zero_fraction_split_gets_nothing():
    splitter = Splitter(fractions=(0.9, 0.0, 0.1))
    assert "dev" not in {splitter(r) for r in _docs(3_000)}

