"""Datasets for model training: a versioned bundle of every format, split by document, streamed.

``write_bundle(project, target, ...)`` writes the bundle ``NAME-vN`` (NAME: the project's
name as a slug, N: ``version``) into a new folder, a zip file, or a binary stream (a zip,
for a download). Its layout, paths relative to the bundle's root::

    manifest.json          bundle format, name, version, created, tool version, parameters,
                           counts, and every other file's path, size and sha256
    dataset_card.md        what is in it and how it was made (counts, labels, agreement, splits)
    label_scheme.json      the project's label scheme copy and its version
    documents/{split}.jsonl       native document-level JSONL (schemas/export-record.schema.json)
    claims/{split}.jsonl          one claim per line (schemas/claim-record.schema.json)
    hf/{split}.jsonl, hf/features.json   Hugging Face `datasets` rows (hf-claim-row.schema.json)
    spacy/{split}.jsonl           spaCy span lines (spacy-spans-record.schema.json)
    conll/{split}.conll           BIO token tags
    doccano/{split}.jsonl         doccano sequence labeling, UTF-16 offsets
    label-studio/{split}.json     Label Studio tasks, code-point offsets
    propositions/propositions.jsonl  one proposition per line with its claims across articles
                                  (schemas/proposition-record.schema.json), not split: each
                                  claim carries its document's split
    propositions/claim_pairs.jsonl   claim pairs, same proposition or not
                                  (schemas/claim-pair-record.schema.json), `split` null when
                                  the two documents are in different splits

with ``{split}`` one of ``train``, ``validation``, ``test`` (every file is written, possibly
empty). Documents are assigned to splits by ``exports.splits.Splitter``: a hash of the seed
and the document's id (or its ``meta[group_by]``, so a group never straddles splits), so no
document is in two splits, the same seed always gives the same splits, and the split sizes
are only approximately the fractions.

Streaming: nothing holds the project's documents. The records come from
``exporting.iter_records`` (a batch of documents at a time) and are written one by one
through the pure writers in ``exports/``; the card's statistics are counted on the way and
the agreement figures (``agreement_report``, which keeps no documents) take one more pass.
A folder gets every format in one pass (every file open at once), written into a hidden
sibling folder that is renamed into place at the end; a zip file is that folder zipped the
same way. A zip *stream* (``stream_bundle_zip``, the download) goes out while it is made:
zipfile writes to an unseekable writer (with data descriptors) whose pieces are handed on;
only one member can be open at a time, so it makes one pass per format, writing the largest
split straight into the zip and spooling the other two (memory, then a temporary file) to
copy them in after it. Memory stays flat either way.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, cast

from sqlalchemy import func, select

import exports
from exports.conll import ConllStats, iter_conll_lines
from exports.hf import FEATURES as HF_FEATURES
from exports.label_studio import iter_label_studio_tasks
from exports.propositions import write_claim_pairs_jsonl, write_proposition_jsonl
from exports.splits import Splitter, by_document, group_by_meta

from .. import __version__, liveness
from ..agreement.report import FIELDS as AGREEMENT_FIELDS
from ..agreement.report import agreement_report
from ..db import db
from ..models import Document, Project
from ..validation import field_errors, is_valid
from . import exporting
from .bundle_files import (
    COPY_CHUNK,
    STREAM_CHUNK,
    Chunks,
    FolderSink,
    Out,
    Sink,
    ZipSink,
    zip_info,
)
from .errors import InvalidInput
from .propositions import proposition_records

BUNDLE_FORMAT = 1
SPLITS = ("train", "validation", "test")
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
GROUP_BY = ("source", "incident")
# Formats of the bundle, in the order they are written; each is one pass over the project.
FORMATS = ("jsonl", "claims", "hf", "spacy", "conll", "doccano", "label-studio")
# Formats of `annotator export --format` (one file, no splits).
SINGLE_FILE_FORMATS = ("jsonl", "claims", "spacy", "conll", "doccano", "label-studio")
# Project-level datasets (propositions across articles): one file each, not split by
# document; written after the document formats. A bundle has both kinds by default.
PROPOSITION_FORMATS = ("propositions", "claim-pairs")
PROPOSITION_PATHS = {"propositions": "propositions/propositions.jsonl",
                     "claim-pairs": "propositions/claim_pairs.jsonl"}
BUNDLE_FORMATS = FORMATS + PROPOSITION_FORMATS
# Negative claim pairs per claim (exports/propositions.py samples them deterministically).
NEGATIVES_PER_CLAIM = 2
DIRECTORIES = {"jsonl": "documents", "claims": "claims", "hf": "hf", "spacy": "spacy",
               "conll": "conll", "doccano": "doccano", "label-studio": "label-studio"}
SUFFIXES = {"conll": ".conll", "label-studio": ".json"}  # every other format: .jsonl
DESCRIPTIONS = {
    "jsonl": "native document-level JSONL, one document per line with its claims "
             "(schemas/export-record.schema.json)",
    "claims": "one claim per line with its context, FEVER/AVeriTeC field names "
              "(schemas/claim-record.schema.json)",
    "hf": "flat claim rows for Hugging Face `datasets` (schemas/hf-claim-row.schema.json), "
          "column types in hf/features.json",
    "spacy": "one document per line with its claim spans labelled by stance "
             "(schemas/spacy-spans-record.schema.json), for `Doc.char_span`",
    "conll": "BIO token tags (B-CLAIM/I-CLAIM/O), a `# doc_id = …` line per document",
    "doccano": "doccano sequence labeling, spans labelled by stance, UTF-16 offsets "
               "(schemas/doccano-record.schema.json)",
    "label-studio": "a JSON array of Label Studio tasks, one annotation per annotator, "
                    "spans labelled by stance, code-point offsets "
                    "(schemas/label-studio-task.schema.json)",
    "propositions": "one proposition per line with every claim linked to it across "
                    "articles (actor, stance, article date, text, evidence) and its verdict "
                    "(schemas/proposition-record.schema.json); not split, each claim says "
                    "its document's split",
    "claim-pairs": "pairs of linked claims, same proposition (1) or not (0), with a "
                   "contradicting-stances flag, for training claim matching "
                   "(schemas/claim-pair-record.schema.json); `split` is null for a pair "
                   "across splits",
}
DIRECTORIES.update({"propositions": "propositions", "claim-pairs": "propositions"})
NONE = "(none)"

Progress = Callable[[int], Any]


# ---------- options ----------


@dataclass(frozen=True)
class BundleOptions:
    """What goes into a bundle and how it is split (checked by `bundle_options`)."""

    claim_set: str = "all"
    seed: int = 0
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS
    group_by: str | None = None
    formats: tuple[str, ...] = BUNDLE_FORMATS
    version: int = 1

    def splitter(self) -> Splitter:
        key = group_by_meta(self.group_by) if self.group_by else by_document
        return Splitter(seed=self.seed, fractions=self.fractions, names=SPLITS, group_key=key)

    def as_dict(self) -> dict[str, Any]:
        return {"claims": self.claim_set, "seed": self.seed,
                "fractions": dict(zip(SPLITS, self.fractions, strict=True)),
                "group_by": self.group_by, "formats": list(self.formats),
                "version": self.version}


def parse_fractions(text: str) -> tuple[float, float, float]:
    """"0.8,0.1,0.1" as three fractions (train, validation, test); InvalidInput otherwise."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3:
        raise InvalidInput("bad split", {"split": "three numbers, e.g. 0.8,0.1,0.1"})
    return cast(tuple[float, float, float], values)


def parse_formats(values: Iterable[str]) -> tuple[str, ...]:
    """Format names, given one by one or comma-separated, in the bundle's order."""
    wanted = {part.strip() for value in values for part in value.split(",") if part.strip()}
    return tuple(f for f in BUNDLE_FORMATS if f in wanted) if wanted else BUNDLE_FORMATS


def bundle_options(
    *,
    claim_set: str = "all",
    seed: int = 0,
    fractions: Sequence[float] | str = DEFAULT_FRACTIONS,
    group_by: str | None = None,
    formats: Iterable[str] = BUNDLE_FORMATS,
    version: int = 1,
) -> BundleOptions:
    """The checked options; InvalidInput naming each bad one (claims, seed, split,
    group_by, format, version)."""
    errors: dict[str, str] = {}
    if claim_set not in exporting.CLAIM_SETS:
        errors["claims"] = f"one of {', '.join(exporting.CLAIM_SETS)}"
    if isinstance(seed, bool) or not isinstance(seed, int):
        errors["seed"] = "must be an integer"
    if isinstance(fractions, str):
        fractions = parse_fractions(fractions)
    try:
        fractions = tuple(float(f) for f in fractions)
    except (TypeError, ValueError):
        fractions = ()
    if len(fractions) != 3:
        errors["split"] = "three fractions: train, validation, test"
    else:
        try:
            Splitter(fractions=fractions, names=SPLITS)
        except ValueError as exc:
            errors["split"] = str(exc)
    if group_by in ("", "none"):
        group_by = None
    if group_by is not None and group_by not in GROUP_BY:
        errors["group_by"] = f"one of {', '.join(GROUP_BY)} (or none)"
    formats = list(formats)
    unknown = sorted({f for value in formats for f in value.split(",") if f.strip()}
                     - set(BUNDLE_FORMATS))
    if unknown:
        errors["format"] = (f"unknown {', '.join(unknown)}; expected some of "
                            f"{', '.join(BUNDLE_FORMATS)}")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        errors["version"] = "must be a whole number of at least 1"
    if errors:
        raise InvalidInput("bad dataset options", errors)
    return BundleOptions(claim_set=claim_set, seed=seed,
                         fractions=cast(tuple[float, float, float], fractions),
                         group_by=group_by, formats=parse_formats(formats), version=version)


def query_options(args: Mapping[str, str], formats: Sequence[str] = ()) -> dict[str, Any]:
    """Keyword options for stream_bundle_zip from a download's query string (claims, seed,
    split, group_by, format, version; all optional); InvalidInput for a bad number."""
    options: dict[str, Any] = {"formats": list(formats) or BUNDLE_FORMATS}
    errors: dict[str, str] = {}
    for key in ("seed", "version"):
        if args.get(key, "").strip():
            try:
                options[key] = int(args[key])
            except ValueError:
                errors[key] = "must be an integer"
    if errors:
        raise InvalidInput("bad dataset options", errors)
    if args.get("claims"):
        options["claim_set"] = args["claims"]
    if args.get("split"):
        options["fractions"] = parse_fractions(args["split"])
    if args.get("group_by"):
        options["group_by"] = args["group_by"]
    return options


def slug(name: str) -> str:
    """The project's name for file names: lower case ASCII letters, digits and dashes."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return text[:60].strip("-") or "project"


def bundle_name(project: Project, version: int = 1) -> str:
    """NAME-vN: the bundle's folder name (and the zip's top folder)."""
    return f"{slug(project.name)}-v{version}"


def document_count(project: Project) -> int:
    return db.session.execute(
        select(func.count(Document.id)).where(Document.project_id == project.id)).scalar_one()


def bundle_steps(project: Project) -> int:
    """How many times write_bundle calls `progress`: once per document in each of its two
    passes (every format, then the agreement figures)."""
    return document_count(project) * 2


# ---------- where the files go ----------


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class _FormatWriter:
    """Writes one format's per-split files, a record at a time, through the pure writers."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.conll = {split: ConllStats() for split in SPLITS}

    def start(self, out: Out) -> None:
        if self.name == "label-studio":
            out.write("[")

    def write(self, split: str, record: dict[str, Any], out: Out, written: int) -> int:
        """Write the record's lines; return how many records (lines, tasks, rows) it made."""
        text_out = cast(IO[str], out)
        name = self.name
        if name == "jsonl":
            return exports.write_jsonl([record], text_out, validate=exporting.validate_record)
        if name == "claims":
            return exports.write_claims_jsonl([record], text_out)
        if name == "hf":
            return exports.write_hf_splits([record], {split: text_out},
                                           splitter=lambda _: split)[split]
        if name == "spacy":
            return exports.write_spacy_jsonl([record], text_out)
        if name == "conll":
            # The writer's lines (one per token) joined first: one write per document.
            before = self.conll[split].documents
            out.write("".join(iter_conll_lines([record], stats=self.conll[split])))
            return self.conll[split].documents - before
        if name == "doccano":
            return exports.write_doccano_jsonl([record], text_out)
        # label-studio: one JSON array per file, written task by task as
        # exports.write_label_studio_json writes it
        count = 0
        for task in iter_label_studio_tasks([record]):
            out.write(",\n" if written + count else "\n")
            out.write(_dumps(task))
            count += 1
        return count

    def finish(self, out: Out) -> None:
        if self.name == "label-studio":
            out.write("\n]\n")


def format_path(fmt: str, split: str) -> str:
    """A data file's path in the bundle, e.g. format_path("hf", "train") == "hf/train.jsonl"."""
    return f"{DIRECTORIES[fmt]}/{split}{SUFFIXES.get(fmt, '.jsonl')}"


def write_format(project: Project, out: IO[str], fmt: str, claim_set: str = "all") -> int:
    """Write the whole project in one format (no splits) to `out`, streaming through the
    pure writer; return the number of records written (lines, tasks, or documents for
    CoNLL). InvalidInput for an unknown format or claim set; ExportRecordError for a stored
    span that does not match its text."""
    if fmt in PROPOSITION_FORMATS:
        return _write_propositions(project, out, fmt, claim_set)
    if fmt not in SINGLE_FILE_FORMATS:
        raise InvalidInput("unknown format", {"format": "one of " + ", ".join(
            SINGLE_FILE_FORMATS + PROPOSITION_FORMATS)})
    records = exporting.iter_records(project, claim_set)
    if fmt == "jsonl":
        return exports.write_jsonl(records, out, validate=exporting.validate_record)
    if fmt == "claims":
        return exports.write_claims_jsonl(records, out)
    if fmt == "spacy":
        return exports.write_spacy_jsonl(records, out)
    if fmt == "conll":
        return exports.write_conll(records, out).documents
    if fmt == "doccano":
        return exports.write_doccano_jsonl(records, out)
    return exports.write_label_studio_json(records, out)


def _write_propositions(project: Project, text_out: IO[str], fmt: str, claim_set: str, *,
                        seed: int = 0, split_of: Callable[[dict[str, Any]], str] | None = None
                        ) -> int:
    """Write the proposition records, or the claim pairs made from them, each validated
    against its schema; return how many were written."""
    records = proposition_records(project, claim_set, split_of=split_of)
    if fmt == "propositions":
        return write_proposition_jsonl(records, text_out,
                                       validate=_validator("proposition-record.schema.json"))
    return write_claim_pairs_jsonl(records, text_out, seed=seed,
                                   negatives_per_claim=NEGATIVES_PER_CLAIM,
                                   validate=_validator("claim-pair-record.schema.json"))


def _validator(schema: str) -> Callable[[dict[str, Any]], None]:
    def validate(record: dict[str, Any]) -> None:
        if not is_valid(schema, record):
            raise exports.ExportRecordError(f"{schema}: {field_errors(schema, record)}")
    return validate


# ---------- statistics for the card ----------


@dataclass
class _SplitStats:
    documents: int = 0
    documents_with_claims: int = 0
    claims: int = 0
    gold_claims: int = 0
    gold_settled: int = 0
    suggested_claims: int = 0  # accepted from the suggester ("origin": "suggestion")
    suggested_edited: int = 0  # ...and changed by the annotator before accepting
    stance: Counter[str] = field(default_factory=Counter)
    verdict: Counter[str] = field(default_factory=Counter)
    evidence_relation: Counter[str] = field(default_factory=Counter)


class _Stats:
    """Counts per split, gathered a record at a time; nothing grows with the documents
    (only with the labels and the team)."""

    def __init__(self) -> None:
        self.splits = {split: _SplitStats() for split in SPLITS}
        self.annotators: set[str] = set()
        self.adjudicators: set[str] = set()

    def add(self, split: str, record: dict[str, Any]) -> None:
        stats = self.splits[split]
        stats.documents += 1
        if record.get("review_status") == "done":
            stats.gold_settled += 1
        claims = record.get("claims") or []
        if claims:
            stats.documents_with_claims += 1
        for claim in claims:
            stats.claims += 1
            if claim.get("is_gold"):
                stats.gold_claims += 1
                self.adjudicators.add(str(claim.get("annotator") or ""))
            else:
                self.annotators.add(str(claim.get("annotator") or ""))
            if claim.get("origin") == "suggestion":
                stats.suggested_claims += 1
                if (claim.get("suggestion") or {}).get("edited"):
                    stats.suggested_edited += 1
            stats.stance[claim.get("stance") or NONE] += 1
            stats.verdict[claim.get("verdict") or NONE] += 1
            evidence = claim.get("evidence") or []
            if not evidence:
                stats.evidence_relation[NONE] += 1
            for item in evidence:
                stats.evidence_relation[item.get("relation") or NONE] += 1

    def counts(self) -> dict[str, dict[str, int]]:
        return {split: {"documents": s.documents, "claims": s.claims,
                        "gold_claims": s.gold_claims}
                for split, s in self.splits.items()}


# ---------- building ----------


@dataclass
class Bundle:
    """A written bundle: its name (NAME-vN), its folder or zip file, and its manifest."""

    name: str
    path: Path
    manifest: dict[str, Any]


def _label_values(project: Project, key: str) -> list[str]:
    return [label["value"] for label in project.label_scheme.get(key, [])]


def _build(project: Project, sink: Sink, options: BundleOptions, created: datetime,
           progress: Progress | None, result: dict[str, Any], *,
           one_pass: bool) -> Iterator[bool]:
    """Write the bundle's files into `sink`; the manifest ends up in result["manifest"].

    With `one_pass` every format is written in one pass over the documents (a folder: every
    file open at once); else one pass per format, its largest split written `direct` (a zip
    stream: data flows during the pass). Then one more pass for the agreement figures.

    A generator: it yields whenever a streamed zip could hand data on (after each document
    and each copied piece), True when a whole file is in. `progress(1)` is called once per
    document of each pass.
    """
    name = bundle_name(project, options.version)
    splitter = options.splitter()
    entries: dict[str, dict[str, Any]] = {}

    def entry(out: Out, **extra: Any) -> None:
        entries[out.path] = {"path": out.path, "size": out.size,
                             "sha256": out.sha256.hexdigest(), **extra}

    def small_file(path: str, text: str, **extra: Any) -> Iterator[bool]:
        out = sink.open(path)
        out.write(text)
        yield from sink.close(out)
        entry(out, **extra)

    scheme = {"project": project.name, "scheme_version": project.scheme_version,
              "label_scheme": project.label_scheme}
    yield from small_file("label_scheme.json", json.dumps(scheme, ensure_ascii=False, indent=2)
                          + "\n")

    stats = _Stats()
    largest = max(SPLITS, key=lambda split: options.fractions[SPLITS.index(split)])
    order = [largest, *(split for split in SPLITS if split != largest)]  # direct one first
    document_formats = tuple(f for f in options.formats if f not in PROPOSITION_FORMATS)
    groups = [document_formats] if one_pass else [(fmt,) for fmt in document_formats]
    conll: dict[str, ConllStats] = {}
    proposition_counts: dict[str, int] = {}
    for number, group in enumerate(groups):
        writers = {fmt: _FormatWriter(fmt) for fmt in group}
        outs = {(fmt, split): sink.open(format_path(fmt, split), direct=split == largest)
                for fmt in group for split in order}
        written = dict.fromkeys(outs, 0)
        for (fmt, _), out in outs.items():
            writers[fmt].start(out)
        for record in exporting.iter_records(project, options.claim_set):
            split = splitter(record)
            for fmt, writer in writers.items():
                key = (fmt, split)
                written[key] += writer.write(split, record, outs[key], written[key])
            if number == 0:
                stats.add(split, record)
            if progress is not None:
                progress(1)
            yield False
        for (fmt, split), out in outs.items():
            writers[fmt].finish(out)
            yield from sink.close(out)
            entry(out, format=fmt, split=split, records=written[fmt, split])
        if "hf" in writers:
            yield from small_file("hf/features.json", json.dumps(HF_FEATURES, indent=1) + "\n",
                                  format="hf")
        if "conll" in writers:
            conll = writers["conll"].conll

    for fmt in options.formats:
        if fmt in PROPOSITION_FORMATS:
            out = sink.open(PROPOSITION_PATHS[fmt])
            written_records = _write_propositions(project, cast(IO[str], out), fmt,
                                                  options.claim_set,
                                                  seed=options.seed, split_of=splitter)
            yield from sink.close(out)
            entry(out, format=fmt, records=written_records)
            proposition_counts[fmt] = written_records

    def counted(records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for record in records:
            if progress is not None:
                progress(1)
            yield record

    # Gold is ignored by the report; the annotators' own claims are what it compares.
    report = agreement_report(counted(exporting.iter_records(project, "annotators")), top=0)
    hf_rows = {split: entries[format_path("hf", split)]["records"] for split in SPLITS
               if format_path("hf", split) in entries}
    card = dataset_card(project, name=name, options=options, created=created, stats=stats,
                        report=report, conll=conll, hf_rows=hf_rows,
                        propositions=proposition_counts)
    yield from small_file("dataset_card.md", card)
    files = [entries["label_scheme.json"]]
    for fmt in options.formats:
        if fmt in PROPOSITION_FORMATS:
            files.append(entries[PROPOSITION_PATHS[fmt]])
            continue
        files += [entries[format_path(fmt, split)] for split in SPLITS]
        if fmt == "hf":
            files.append(entries["hf/features.json"])
    files.append(entries["dataset_card.md"])
    manifest = {
        "bundle_format": BUNDLE_FORMAT,
        "name": name,
        "project": project.name,
        "version": options.version,
        "created": created.isoformat(timespec="seconds"),
        "tool": {"name": "annotator", "version": __version__},
        "scheme": {"name": project.label_scheme.get("name"),
                   "version": project.scheme_version},
        "parameters": options.as_dict(),
        "splits": {split: {"documents": s.documents, "claims": s.claims}
                   for split, s in stats.splits.items()},
        "files": files,
    }
    out = sink.open("manifest.json")
    out.write(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    yield from sink.close(out)
    result["manifest"] = manifest


def _created(created: datetime | None) -> datetime:
    return (created or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)


def _refuse_existing(path: Path, as_zip: bool) -> None:
    if as_zip and path.exists():
        raise InvalidInput(f"{path} exists", {"out": "the zip file exists already"})
    if not as_zip and path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise InvalidInput(f"{path} exists and is not an empty folder",
                           {"out": "give a new or empty folder"})


def write_bundle(
    project: Project,
    target: str | os.PathLike[str],
    *,
    claim_set: str = "all",
    seed: int = 0,
    fractions: Sequence[float] | str = DEFAULT_FRACTIONS,
    group_by: str | None = None,
    formats: Iterable[str] = BUNDLE_FORMATS,
    version: int = 1,
    as_zip: bool | None = None,
    created: datetime | None = None,
    progress: Progress | None = None,
) -> Bundle:
    """Write the project's dataset bundle (see the module docstring) and return it.

    `target` is the bundle's folder (new or empty; it becomes the bundle's root, NAME-vN
    being the bundle's name in its manifest and card), or, with ``as_zip`` (default: when
    `target` ends in .zip), the zip file to create, holding the folder ``NAME-vN/``. Two
    passes over the documents: every format at once, then the agreement figures;
    `progress(1)` is called once per document of each (``bundle_steps`` calls). `created`
    defaults to now.

    Raises InvalidInput for bad options or an existing output, ExportRecordError for a
    stored span that does not match its text (nothing is left at `target` then).
    """
    options = bundle_options(claim_set=claim_set, seed=seed, fractions=fractions,
                             group_by=group_by, formats=formats, version=version)
    stamp = _created(created)
    name = bundle_name(project, options.version)
    path = Path(target)
    zipped = path.suffix.lower() == ".zip" if as_zip is None else as_zip
    _refuse_existing(path, zipped)
    if not path.parent.is_dir():
        raise InvalidInput(f"{path.parent} is not a folder", {"out": "no such folder"})
    # Written beside the target and renamed into place: an interrupted build leaves nothing.
    result: dict[str, Any] = {}
    work = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    try:
        os.chmod(work, 0o777 & ~_umask())
        for _ in _build(project, FolderSink(work), options, stamp, progress, result,
                        one_pass=True):
            pass
        if zipped:
            packed = work.with_name(work.name + ".zip")
            with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
                for entry in [*result["manifest"]["files"], {"path": "manifest.json"}]:
                    source = work / entry["path"]
                    info = zip_info(f"{name}/{entry['path']}", stamp, source.stat().st_size)
                    with open(source, "rb") as fh, archive.open(info, "w") as member:
                        shutil.copyfileobj(fh, member, COPY_CHUNK)
            os.chmod(packed, 0o666 & ~_umask())
            _refuse_existing(path, True)
            os.replace(packed, path)
        else:
            _refuse_existing(path, False)
            os.replace(work, path)  # onto a missing or empty folder
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if zipped:
            work.with_name(work.name + ".zip").unlink(missing_ok=True)
    return Bundle(name, path, result["manifest"])


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def stream_bundle_zip(
    project: Project,
    *,
    claim_set: str = "all",
    seed: int = 0,
    fractions: Sequence[float] | str = DEFAULT_FRACTIONS,
    group_by: str | None = None,
    formats: Iterable[str] = BUNDLE_FORMATS,
    version: int = 1,
    created: datetime | None = None,
) -> tuple[str, Iterator[bytes]]:
    """The bundle as a zip, in pieces, for a streamed download: (file name, pieces).

    The options are checked before anything is made (InvalidInput). The zip goes to an
    unseekable writer (zipfile then writes data descriptors) whose pieces are handed on as
    they come: the label scheme at once, then, format by format (one pass each), the
    largest split as it is written and the other two (spooled meanwhile) after it; the
    central directory last. The members' bytes are those of ``write_bundle``'s files.
    """
    options = bundle_options(claim_set=claim_set, seed=seed, fractions=fractions,
                             group_by=group_by, formats=formats, version=version)
    stamp = _created(created)
    name = bundle_name(project, options.version)

    def pieces() -> Iterator[bytes]:
        buffer = Chunks()
        result: dict[str, Any] = {}
        with zipfile.ZipFile(cast(IO[bytes], buffer), "w", zipfile.ZIP_DEFLATED) as archive:
            sink = ZipSink(archive, name, stamp)
            try:
                for whole_file in _build(project, sink, options, stamp, None, result,
                                         one_pass=False):
                    if buffer.size >= STREAM_CHUNK or (whole_file and buffer.size):
                        liveness.progress()
                        yield buffer.take()
            finally:
                sink.abort()
        yield buffer.take()  # the last members and the central directory

    return f"{name}.zip", pieces()


# ---------- the dataset card ----------


def _figure(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _distribution(stats: _Stats, attribute: str, known: Sequence[str]) -> str:
    counters = {split: getattr(stats.splits[split], attribute) for split in SPLITS}
    total: Counter[str] = Counter()
    for counter in counters.values():
        total.update(counter)
    labels = [label for label in known if label in total]
    labels += sorted(set(total) - set(labels) - {NONE})
    if NONE in total:
        labels.append(NONE)
    if not labels:
        return "No claims."
    rows = [[f"`{label}`", *(counters[split][label] for split in SPLITS), total[label]]
            for label in labels]
    return _table(["label", *SPLITS, "all"], rows)


def dataset_card(project: Project, *, name: str, options: BundleOptions, created: datetime,
                 stats: _Stats, report: dict[str, Any],
                 conll: dict[str, ConllStats] | None = None,
                 hf_rows: dict[str, int] | None = None,
                 propositions: dict[str, int] | None = None) -> str:
    """The bundle's dataset_card.md (Markdown)."""
    scheme_name = project.label_scheme.get("name", "")
    splits = stats.splits
    total_docs = sum(s.documents for s in splits.values())
    total_claims = sum(s.claims for s in splits.values())
    claim_sets = {"all": "every live claim: the annotators' own and the adjudicated gold "
                         "(`is_gold` tells them apart)",
                  "gold": "the adjudicated gold claims only",
                  "annotators": "the annotators' own claims only (no gold)"}
    parts = [
        f"# {project.name}: dataset {name}",
        "",
        f"Claim-verification annotations of the project *{project.name}*: news articles "
        "with claim spans, each with its actor (claimant), stance, verdict and evidence.",
        "",
        "| | |",
        "|---|---|",
        f"| bundle | `{name}` (bundle format {BUNDLE_FORMAT}, version {options.version}) |",
        f"| created | {created.isoformat(timespec='seconds')} |",
        f"| tool | annotator {__version__} |",
        f"| label scheme | {scheme_name} version {project.scheme_version} "
        "(`label_scheme.json`) |",
        f"| claims | `{options.claim_set}`: {claim_sets[options.claim_set]} |",
        f"| annotators | {len(stats.annotators)} with claims in the bundle"
        + (f"; {len(stats.adjudicators)} adjudicator(s) of gold claims"
           if stats.adjudicators else "") + " |",
        "",
        "## Splits",
        "",
        _table(["split", "documents", "documents with claims", "claims", "of them gold",
                "documents with settled gold"],
               [[split, s.documents, s.documents_with_claims, s.claims, s.gold_claims,
                 s.gold_settled] for split, s in splits.items()]
               + [["all", total_docs, sum(s.documents_with_claims for s in splits.values()),
                   total_claims, sum(s.gold_claims for s in splits.values()),
                   sum(s.gold_settled for s in splits.values())]]),
        "",
        _suggester_line(splits.values(), total_claims),
        "",
        "### How the splits were made",
        "",
        "Each document's split is decided by a hash of the seed and its group key alone "
        "(SHA-256 of `\"<seed>\\x00<key>\"`, read as a number in [0, 1) and placed on the "
        "cumulative fractions; `exports/splits.py`):",
        "",
        f"- seed: `{options.seed}`",
        "- fractions: " + ", ".join(f"{split} {fraction:g}" for split, fraction
                                    in zip(SPLITS, options.fractions, strict=True)),
        "- grouping: " + (f"by the document's `meta.{options.group_by}` (documents without "
                          "it are their own group), so all documents of one "
                          f"{options.group_by} are in the same split"
                          if options.group_by else "none: every document is its own group"),
        "",
        "No document is in two splits, the same seed always gives the same splits, and "
        "adding documents never moves the others. The sizes are **approximate**, because "
        "the split is decided per document/group from a hash, not by shuffling and cutting: "
        "they scatter binomially around the fractions (more with few large groups). Every "
        "claim of a document is in the document's split.",
        "",
        "## Labels",
        "",
        "Claims per stance, verdict and evidence relation (one count per evidence item; "
        f"`{NONE}`: no value, or no evidence).",
        "",
        "### Stance",
        "",
        _distribution(stats, "stance", _label_values(project, "stances")),
        "",
        "### Verdict",
        "",
        _distribution(stats, "verdict", _label_values(project, "verdicts")),
        "",
        "### Evidence relation",
        "",
        _distribution(stats, "evidence_relation", _label_values(project, "evidence_relations")),
        "",
        _agreement_section(report),
        "",
        "## Files",
        "",
        "Every format holds the same documents in the same splits: `train`, `validation`, "
        "`test`. Offsets are Unicode code points (Python `str` indices, end exclusive) "
        "except in doccano's files (UTF-16 code units, as doccano counts).",
        "",
        _table(["format", "files", "what"],
               [[f"`{fmt}`", f"`{DIRECTORIES[fmt]}/`", DESCRIPTIONS[fmt]]
                for fmt in options.formats]),
        "",
        "`manifest.json` lists every file with its size and SHA-256, and the parameters "
        "above.",
    ]
    loadable = [split for split in SPLITS if (hf_rows or {}).get(split)]
    if hf_rows and not loadable:
        parts += ["", "The Hugging Face files are empty: the bundle has no claims."]
    elif hf_rows:
        empty = [split for split in SPLITS if not hf_rows.get(split)]
        parts += [
            "",
            "Load the Hugging Face files with:",
            "",
            "```python",
            "import datasets, json",
            "features = datasets.Features.from_dict(json.load(open(\"hf/features.json\")))",
            "ds = datasets.load_dataset(\"json\", features=features, data_files={",
            "    split: f\"hf/{split}.jsonl\" for split in "
            f"({', '.join(repr(split) for split in loadable)}{',' if len(loadable) == 1 else ''})"
            "})",
            "```",
        ]
        if empty:
            parts += ["", f"(No claims in {' and '.join(empty)}: `datasets` refuses an empty "
                          "file, so it is left out above.)"]
    if conll and "conll" in options.formats:
        left_out = sum(s.conflicts for s in conll.values())
        repeats = sum(s.duplicates for s in conll.values())
        parts += ["", f"CoNLL holds one span per token: {sum(s.spans for s in conll.values())} "
                      f"spans tagged; {left_out} claims overlapping a longer one left out, "
                      f"{repeats} repeats of a tagged span (same tokens and label) written once."]
    if propositions:
        parts += ["", _propositions_section(propositions)]
    return "\n".join(parts) + "\n"


def _propositions_section(counts: dict[str, int]) -> str:
    """What the proposition-level files hold and how the claim pairs were sampled."""
    lines = ["## Propositions across articles", ""]
    if "propositions" in counts:
        lines.append(f"`{PROPOSITION_PATHS['propositions']}`: {counts['propositions']} "
                     "propositions, each with every claim linked to it (actor, stance, article "
                     "date from the document's meta `published_at`/`published`/`date`, quoted "
                     "text, evidence, possibly in another article) and its verdict.")
    if "claim-pairs" in counts:
        lines += ["", f"`{PROPOSITION_PATHS['claim-pairs']}`: {counts['claim-pairs']} claim "
                  "pairs. Positives: every pair of claims of one proposition (at most 200 per "
                  "proposition). Negatives: each claim is paired with the next "
                  f"{NEGATIVES_PER_CLAIM} claims of other propositions on a ring ordered by "
                  "SHA-256 of the seed and the claim id, so they are deterministic and "
                  "bounded, not all pairs. `contradicting_stances` marks a pair of one "
                  "proposition where one claim asserts or confirms and the other denies."]
    lines += ["", "These files are not split by document: each claim carries its document's "
              "`split`, and a pair's `split` is null when its two documents are in different "
              "splits (leave those out of training to avoid leakage)."]
    return "\n".join(lines)


def _suggester_line(splits: Iterable[_SplitStats], total_claims: int) -> str:
    """How many claims came from the suggester, so users can weigh them."""
    splits = list(splits)
    suggested = sum(s.suggested_claims for s in splits)
    edited = sum(s.suggested_edited for s in splits)
    share = f" ({100 * suggested / total_claims:.1f} %)" if total_claims else ""
    return (f"**From the suggester:** {suggested} of {total_claims} claims{share} were "
            f"accepted from a suggestion ({edited} of them changed before accepting); the "
            "others were drawn by hand. Each claim's `origin` (`manual` or `suggestion`) "
            "says which; gold claims are the adjudicators' own decisions (`manual`).")


def _agreement_section(report: dict[str, Any]) -> str:
    summary = report.get("summary") or {}
    fields = report.get("fields") or {}
    lines = [
        "## Inter-annotator agreement",
        "",
        "From the annotators' own claims (gold ignored) on the documents that at least two "
        "annotators marked done (`annotator agreement` gives the full report).",
        "",
        _table(["figure", "value"], [
            ["documents compared", _figure(summary.get("documents_compared"))],
            ["annotators compared", _figure(len(summary.get("annotators") or []))],
            ["annotator pairs", _figure(summary.get("pairs"))],
            ["span F1, exact match", _figure(summary.get("f1_exact"))],
            ["span F1, overlap match", _figure(summary.get("f1_overlap"))],
            ["Krippendorff's unitizing α (uα)", _figure(summary.get("alpha_u"))],
        ]),
        "",
        "Labels on matched claims:",
        "",
        _table(["field", "Krippendorff's α", "Fleiss' κ", "mean pairwise Cohen's κ", "units"],
               [[field_name.replace("_", " "),
                 _figure(fields.get(field_name, {}).get("krippendorff_alpha")),
                 _figure(fields.get(field_name, {}).get("fleiss_kappa")),
                 _figure(fields.get(field_name, {}).get("mean_pair_kappa")),
                 _figure(fields.get(field_name, {}).get("units"))]
                for field_name in AGREEMENT_FIELDS]),
        "",
        "—: undefined (e.g. fewer than two annotators on any document).",
    ]
    return "\n".join(lines)
