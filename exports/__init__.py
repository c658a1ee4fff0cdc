"""Dataset writers: plain records in, files out. Nothing here imports Flask or a database."""

from .jsonl import ExportRecordError, check_spans, write_jsonl

__all__ = ["ExportRecordError", "check_spans", "write_jsonl"]
