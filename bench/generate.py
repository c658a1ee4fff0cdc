"""Deterministic synthetic data for the benchmarks: news-like documents and their claims.

Every document and every claim set is built from its own seeded random generator
(`random.Random(f"{seed}:doc:{i}")`), so document i is the same whatever N is and however
often it is regenerated. Texts are ~3,000 code points of invented news prose mixing ASCII with
non-BMP emoji, Cyrillic, Arabic, curly quotes and NBSP; all of it is made up here.

Claims use Unicode code point offsets (Python str indices, end exclusive) and the label
values of schemas/claim-verification.json.

    python bench/generate.py --docs 1000 --out /tmp/docs.jsonl [--claims-out /tmp/claims.jsonl]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEED = 20261122
TARGET_LENGTH = 3000

SCHEME_FILE = Path(__file__).resolve().parent.parent / "schemas" / "claim-verification.json"


def _scheme_values() -> dict[str, list[str]]:
    scheme = json.loads(SCHEME_FILE.read_text(encoding="utf-8"))
    return {key: [label["value"] for label in scheme[key]]
            for key in ("stances", "verdicts", "evidence_types", "evidence_relations")}


SCHEME = _scheme_values()
STANCES = SCHEME["stances"]
VERDICTS = SCHEME["verdicts"]
EVIDENCE_TYPES = SCHEME["evidence_types"]
EVIDENCE_RELATIONS = SCHEME["evidence_relations"]

# Invented claimants; each is added to the benchmark project as an Actor.
ACTORS = [
    "Ministry of Coastal Affairs",
    "Harbour Authority spokesperson",
    "Eastern Valley council",
    "Northgate Defence Office",
    "Relief coordinator Ana Brel",
    "Mayor Tomas Vidal",
    "Opposition bloc Green Arc",
    "Signal Watch monitoring group",
    "River Delta police",
    "Ольга Сирина",
    "пресс-служба Заречья",
    "Министр Павел Грай",
    "وزارة الموانئ",
    "مكتب الإعلام الشمالي",
    "الناطق سامي حداد",
    "Independent analyst Mira Osei",
]

SUBJECTS = [
    "the convoy", "a cargo drone", "the bridge at Kell", "two patrol boats", "the grain depot",
    "a relief column", "the northern checkpoint", "the power substation", "an aid flight",
    "the district hospital", "the fishing fleet", "a radar station", "the ferry line",
    "the water plant", "three warehouses", "the border crossing", "a field clinic",
]
VERBS = [
    "was struck", "reached", "was closed near", "was rerouted around", "was shelled near",
    "resumed service to", "was evacuated from", "was damaged outside", "was inspected at",
    "left", "was blocked at", "returned to", "was sighted over",
]
PLACES = [
    "Port Lessa", "the Amber Coast", "Dunmore", "Vel Harbour", "the salt flats",
    "Kestrel Ridge", "Old Marrow", "the river mouth", "Sorrel Bay", "the eastern ring road",
    "Tarn Hollow", "the airfield at Brisk",
]
TIMES = [
    "early on Tuesday", "late last night", "at dawn", "on Sunday afternoon", "around noon",
    "shortly before midnight", "this morning", "two days ago",
]
DETAILS = [
    "according to figures seen by this newspaper", "despite earlier assurances",
    "amid heavy fog", "after a week of delays", "while talks continued", "under escort",
    "with no casualties reported", "for the second time this month",
]
REPORTING = ["said", "told reporters", "wrote in a statement", "insisted", "claimed",
             "added", "denied that", "confirmed that"]
NUMBERS = ["12\u00a0km", "40\u00a0tonnes", "No.\u00a07", "3\u00a0000 litres", "18\u00a0vehicles",
           "9\u00a0p.m.", "250\u00a0people", "6\u00a0hours"]
EMOJI = ["\U0001F681", "\U0001F4F0", "\U0001F525", "\U0001F6A2", "\U0001F4F8", "\U0001F30A",
         "\U0001F6E9", "\U0001F4E1", "\u26A0\uFE0F", "\U0001F9EA"]
CYRILLIC = ["по данным источников", "официальное заявление", "жители сообщили",
            "мост разрушен", "колонна прибыла", "без потерь"]
ARABIC = ["مصادر محلية", "بيان رسمي", "شهود عيان", "تم إغلاق الميناء", "وصلت القافلة",
          "لا إصابات"]
FILLER = [
    "Residents described long queues at the remaining fuel stations.",
    "Independent confirmation was not immediately available.",
    "Satellite images from the weekend show new tracks along the shore road.",
    "The local market reopened for a few hours under light rain.",
    "Officials did not respond to repeated requests for comment.",
    "A curfew remains in force across the lower town.",
    "Footage shared online could not be verified.",
    "Prices for bread and diesel have doubled since spring.",
]


@dataclass
class Span:
    start: int
    end: int


@dataclass
class Sentence:
    """One sentence of a document: its span and, for a quoted claim, the claim and actor."""

    span: Span
    claim: Span | None = None
    actor: str | None = None
    actor_mention: Span | None = None


@dataclass
class GeneratedDocument:
    index: int
    external_id: str
    title: str
    text: str
    meta: dict[str, Any]
    sentences: list[Sentence] = field(default_factory=list)

    def import_record(self) -> dict[str, Any]:
        return {"id": self.external_id, "title": self.title, "text": self.text,
                "meta": self.meta}


class _Builder:
    """Appends pieces to a text while tracking code point offsets."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0

    def add(self, piece: str) -> Span:
        start = self.length
        self.parts.append(piece)
        self.length += len(piece)
        return Span(start, self.length)

    def text(self) -> str:
        return "".join(self.parts)


def _clause(rng: random.Random) -> str:
    clause = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(PLACES)} {rng.choice(TIMES)}"
    roll = rng.random()
    if roll < 0.25:
        clause += f", {rng.choice(DETAILS)}"
    elif roll < 0.45:
        clause += f" ({rng.choice(NUMBERS)})"
    elif roll < 0.6:
        clause += f" {rng.choice(EMOJI)}"
    elif roll < 0.7:
        clause += f" ({rng.choice(CYRILLIC)})"
    elif roll < 0.8:
        clause += f" ({rng.choice(ARABIC)})"
    return clause


def _quoted_sentence(b: _Builder, rng: random.Random) -> Sentence:
    """`Actor said “clause”.` or `“Clause,” Actor said.`: claim = clause, mention = actor."""
    actor = rng.choice(ACTORS)
    clause = _clause(rng)
    if rng.random() < 0.5:
        start = b.length
        mention = b.add(actor)
        b.add(f" {rng.choice(REPORTING)} \u201c")
        claim = b.add(clause)
        b.add("\u201d.")
    else:
        start = b.length
        b.add("\u201c")
        claim = b.add(clause[0].upper() + clause[1:])
        b.add(",\u201d ")
        mention = b.add(actor)
        b.add(f" {rng.choice(REPORTING[:3])}.")
    return Sentence(Span(start, b.length), claim, actor, mention)


def _plain_sentence(b: _Builder, rng: random.Random) -> Sentence:
    if rng.random() < 0.5:
        return Sentence(b.add(rng.choice(FILLER)))
    clause = _clause(rng)
    return Sentence(b.add(clause[0].upper() + clause[1:] + "."))


def make_document(index: int, seed: int = SEED) -> GeneratedDocument:
    """Document `index`: the same text for the same (index, seed), ~3,000 code points."""
    rng = random.Random(f"{seed}:doc:{index}")
    b = _Builder()
    sentences: list[Sentence] = []
    target = rng.randint(TARGET_LENGTH - 300, TARGET_LENGTH + 300)
    place = rng.choice(PLACES)
    b.add(f"{place.upper()} {rng.choice(EMOJI)} \u2014 ")
    in_paragraph = 0
    while b.length < target:
        if in_paragraph and (in_paragraph >= 5 or rng.random() < 0.2):
            b.add("\n\n")
            in_paragraph = 0
        elif in_paragraph:
            b.add(" " if rng.random() < 0.85 else "\u00a0")
        maker = _quoted_sentence if rng.random() < 0.45 else _plain_sentence
        sentences.append(maker(b, rng))
        in_paragraph += 1
    text = b.text()
    title = f"{rng.choice(SUBJECTS).capitalize()} near {place}: report No.\u00a0{index}"
    meta = {"source": "synthetic", "seq": index, "lang": rng.choice(["en", "en", "ru", "ar"]),
            "published": f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}"}
    return GeneratedDocument(index, f"bench-{index:07d}", title, text, meta, sentences)


def iter_documents(count: int, seed: int = SEED, first: int = 0) -> Iterator[GeneratedDocument]:
    for index in range(first, first + count):
        yield make_document(index, seed)


def _word_span(text: str, span: Span, rng: random.Random) -> Span:
    """A random run of whole words inside `span` (never starting or ending in a space)."""
    words: list[Span] = []
    i = span.start
    while i < span.end:
        while i < span.end and text[i].isspace():
            i += 1
        j = i
        while j < span.end and not text[j].isspace():
            j += 1
        if j > i:
            words.append(Span(i, j))
        i = j
    if not words:
        return span
    first = rng.randrange(len(words))
    last = rng.randrange(first, min(len(words), first + 8))
    return Span(words[first].start, words[last].end)


def make_claims(document: GeneratedDocument, count: int, seed: int = SEED) -> list[dict[str, Any]]:
    """`count` claims on the document, as claim-write API bodies (claim-write.schema.json).

    Each has valid code point offsets, a stance, usually a verdict, an actor (with its
    mention when the span is a quoted clause) and 0 to 3 evidence items, about half of them
    with an evidence span in the same document.
    """
    rng = random.Random(f"{seed}:claims:{document.index}")
    text = document.text
    quoted = [s for s in document.sentences if s.claim is not None]
    claims: list[dict[str, Any]] = []
    for _ in range(count):
        if quoted and rng.random() < 0.8:
            sentence = rng.choice(quoted)
            assert sentence.claim is not None and sentence.actor_mention is not None
            span = sentence.claim if rng.random() < 0.7 else _word_span(text, sentence.claim, rng)
            claim: dict[str, Any] = {"actor": sentence.actor}
            if rng.random() < 0.6:
                m = sentence.actor_mention
                claim["actor_mention"] = {"start": m.start, "end": m.end,
                                          "text": text[m.start : m.end]}
        else:
            sentence = rng.choice(document.sentences)
            span = _word_span(text, sentence.span, rng)
            claim = {"actor": rng.choice(ACTORS) if rng.random() < 0.5 else None}
        claim.update(
            start=span.start,
            end=span.end,
            text=text[span.start : span.end],
            stance=rng.choice(STANCES),
            verdict=rng.choice(VERDICTS) if rng.random() < 0.85 else None,
            note=rng.choice(["", "", "check the timing", "source is second-hand",
                             "\u201cunconfirmed\u201d per desk \U0001F4DD"]),
        )
        evidence = []
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            item: dict[str, Any] = {
                "type": rng.choice(EVIDENCE_TYPES),
                "relation": rng.choice(EVIDENCE_RELATIONS),
                "description": rng.choice(["geolocated footage", "statement on the ministry site",
                                           "two residents by phone", "satellite pass",
                                           "contradicting timeline"]),
            }
            if rng.random() < 0.5:
                ev = _word_span(text, rng.choice(document.sentences).span, rng)
                item.update(start=ev.start, end=ev.end, text=text[ev.start : ev.end])
            elif rng.random() < 0.3:
                item["source_url"] = f"https://example.org/evidence/{document.index}/{len(evidence)}"
            evidence.append(item)
        claim["evidence"] = evidence
        claims.append(claim)
    return claims


def write_import_jsonl(path: str | Path, count: int, seed: int = SEED, first: int = 0) -> int:
    """Write `count` import records (import-record.schema.json) to `path`; return bytes."""
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for doc in iter_documents(count, seed, first):
            fh.write(json.dumps(doc.import_record(), ensure_ascii=False))
            fh.write("\n")
        return fh.tell()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=1000, help="number of documents")
    parser.add_argument("--claims", type=int, default=5, help="claims per document")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", default="-", help="import JSONL file, or - for stdout")
    parser.add_argument("--claims-out", help="also write one claim-write body per line here")
    args = parser.parse_args(argv)
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")
    claims_out = open(args.claims_out, "w", encoding="utf-8") if args.claims_out else None
    try:
        for doc in iter_documents(args.docs, args.seed):
            out.write(json.dumps(doc.import_record(), ensure_ascii=False) + "\n")
            if claims_out is not None:
                for claim in make_claims(doc, args.claims, args.seed):
                    record = {"document": doc.external_id, **claim}
                    claims_out.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
        if claims_out is not None:
            claims_out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
