"""The project backup file: gzip'd JSON lines, written and read one line at a time.

Pure: no Flask, no database. Line 1 is the header (format version, app version, migration
revision, row counts), then one line per table row (`{"table": ..., "row": {...}}`, parents
before children), then the end line with the number of lines before it, the counts and the
sha256 of those lines' bytes: a truncated or altered file is refused. Every line validates
against schemas/backup-line.schema.json.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from collections import Counter
from collections.abc import Iterator
from typing import IO, Any

from exports.strict_json import strict_loads

from .validation import field_errors, is_valid

FORMAT = "claim-annotator-backup"
FORMAT_VERSION = 1
SCHEMA = "backup-line.schema.json"


class BackupFormatError(ValueError):
    """The file is not a usable backup; `line` is where reading stopped (0: the file)."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}" if line else problem)
        self.line = line
        self.problem = problem


def _encode(obj: dict[str, Any]) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            + "\n").encode("utf-8")


class BackupWriter:
    """Write a backup to a binary stream: header(), row() per row, then close()."""

    def __init__(self, out: IO[bytes]) -> None:
        # mtime=0: the same project gives the same bytes.
        self._gzip = gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=6)
        self._sha = hashlib.sha256()
        self._lines = 0
        self.counts: Counter[str] = Counter()

    def _write(self, obj: dict[str, Any]) -> None:
        data = _encode(obj)
        self._sha.update(data)
        self._gzip.write(data)
        self._lines += 1

    def header(self, **fields: Any) -> None:
        self._write({"header": {"format": FORMAT, "format_version": FORMAT_VERSION, **fields}})

    def row(self, table: str, row: dict[str, Any]) -> None:
        self.counts[table] += 1
        self._write({"table": table, "row": row})

    def close(self) -> None:
        """Write the end line and finish the gzip stream (the output stays open)."""
        self._gzip.write(_encode({"end": {"lines": self._lines, "counts": dict(self.counts),
                                          "sha256": self._sha.hexdigest()}}))
        self._gzip.close()


def _lines(source: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    number = 0
    try:
        with gzip.GzipFile(fileobj=source, mode="rb") as stream:
            for number, raw in enumerate(stream, start=1):  # noqa: B007
                yield number, raw
    except EOFError:
        raise BackupFormatError(number + 1, "the file ends early (truncated gzip stream)") \
            from None
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise BackupFormatError(number + 1, f"not a readable gzip stream: {exc}") from None


def read_backup(source: IO[bytes]) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """Yield (line number, "header" or the table name, the header or row) for each line.

    The header comes first; the end line is checked, not yielded. Raises BackupFormatError
    naming the line: invalid JSON or schema, a newer format version, a missing header or end
    line (truncated), or a count or checksum that does not match (altered).
    """
    sha = hashlib.sha256()
    counts: Counter[str] = Counter()
    header: dict[str, Any] | None = None
    end: dict[str, Any] | None = None
    number = 0
    for number, raw in _lines(source):
        if end is not None:
            raise BackupFormatError(number, "lines after the end line")
        if not raw.endswith(b"\n"):
            raise BackupFormatError(number, "the line is cut short (truncated file)")
        try:
            line = strict_loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BackupFormatError(number, f"invalid JSON: {exc}") from None
        # The Rust validator for every line; the slow one only to say what is wrong.
        errors = {} if is_valid(SCHEMA, line) else field_errors(SCHEMA, line)
        if errors:
            detail = "; ".join(f"{k or '(line)'} {v}" for k, v in errors.items())
            raise BackupFormatError(number, f"not a backup line: {detail}")
        if "end" in line:
            end = line["end"]
            continue
        sha.update(raw)
        if "header" in line:
            if number != 1:
                raise BackupFormatError(number, "a second header")
            header = line["header"]
            if header["format_version"] > FORMAT_VERSION:
                raise BackupFormatError(number, (
                    f"backup format version {header['format_version']} is newer than this "
                    f"annotator reads ({FORMAT_VERSION}); restore it with a newer annotator"))
            yield number, "header", header
            continue
        if header is None:
            raise BackupFormatError(number, "the file does not start with a backup header")
        counts[line["table"]] += 1
        yield number, line["table"], line["row"]
    if header is None:
        raise BackupFormatError(number, "empty file: no backup header")
    if end is None:
        raise BackupFormatError(number, "no end line after it: the file is truncated")
    if end["lines"] != number - 1 or end["counts"] != dict(counts):
        raise BackupFormatError(number, "the end line's counts do not match the rows read")
    if end["sha256"] != sha.hexdigest():
        raise BackupFormatError(number, "checksum mismatch: the file was altered")
    if header.get("counts") is not None and header["counts"] != dict(counts):
        raise BackupFormatError(1, "the header's counts do not match the rows read")
