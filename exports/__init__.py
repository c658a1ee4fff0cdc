"""Dataset writers and readers: plain records in, files out. Nothing here imports Flask,
SQLAlchemy or the annotator package.

Every writer takes an iterable of document-level export records (see
``schemas/export-record.schema.json``) and a text file object, and streams: it holds one
record at a time and writes as it goes.

- ``write_jsonl``: the native document-level JSONL (``exports.jsonl``).
- ``write_claims_jsonl``: one claim per line with its context, FEVER/AVeriTeC field names
  (``exports.claims``).
- ``write_spacy_jsonl``: ``{"text", "spans", "meta"}`` lines for spaCy
  (``exports.spacy_spans``).
- ``write_hf_splits`` / ``write_hf_dataset_dir``: flat train/validation/test JSONL for
  Hugging Face ``datasets`` (``exports.hf``).
- ``write_conll``: BIO token tags (``exports.conll``; ``read_conll``, ``bio_spans`` read
  them back).
- ``write_doccano_jsonl`` / ``read_doccano_jsonl``: doccano sequence labeling
  (``exports.doccano``, UTF-16 offsets).
- ``write_label_studio_json`` / ``read_label_studio_json``: Label Studio tasks
  (``exports.label_studio``, code-point offsets).
- ``Splitter``, ``assign_splits``, ``group_by_meta``: deterministic, streaming
  train/dev/test assignment by document or group (``exports.splits``).
- ``strict_loads``: json.loads for files and bodies from outside, refusing what is not JSON
  (NaN, Infinity, overflowing numbers) and nesting too deep, as JSONDecodeError
  (``exports.strict_json``).
"""

from ._common import ImportFormatError
from .claims import AVERITEC_LABELS, FEVER_LABELS, iter_claim_records, write_claims_jsonl
from .conll import ConllStats, bio_spans, read_conll, write_conll
from .doccano import read_doccano_jsonl, write_doccano_jsonl
from .hf import FEATURES as HF_FEATURES
from .hf import iter_hf_rows, write_hf_dataset_dir, write_hf_splits
from .jsonl import ExportRecordError, check_spans, write_jsonl
from .label_studio import read_label_studio_json, write_label_studio_json
from .offsets import OffsetMap, codepoint_to_utf16, utf16_to_codepoint
from .segmentation import paragraph_spans, sentence_spans, token_spans
from .spacy_spans import iter_spacy_lines, write_spacy_jsonl
from .splits import Splitter, assign_splits, group_by_meta, split_of
from .strict_json import strict_loads

__all__ = [
    "AVERITEC_LABELS",
    "FEVER_LABELS",
    "HF_FEATURES",
    "ConllStats",
    "ExportRecordError",
    "ImportFormatError",
    "OffsetMap",
    "Splitter",
    "assign_splits",
    "bio_spans",
    "check_spans",
    "codepoint_to_utf16",
    "group_by_meta",
    "iter_claim_records",
    "iter_hf_rows",
    "iter_spacy_lines",
    "paragraph_spans",
    "read_conll",
    "read_doccano_jsonl",
    "read_label_studio_json",
    "sentence_spans",
    "split_of",
    "strict_loads",
    "token_spans",
    "utf16_to_codepoint",
    "write_claims_jsonl",
    "write_conll",
    "write_doccano_jsonl",
    "write_hf_dataset_dir",
    "write_hf_splits",
    "write_jsonl",
    "write_label_studio_json",
    "write_spacy_jsonl",
]
