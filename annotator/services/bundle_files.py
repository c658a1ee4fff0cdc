"""Where a dataset bundle's files go: a folder, or a zip written to a file or streamed.

A zip can have one member open at a time; members written while another is open are spooled
(in memory up to SPOOL_IN_MEMORY, then on disk) and copied in when closed.
"""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, cast

COPY_CHUNK = 1 << 16
PENDING_CHARS = 1 << 13
PENDING_WRITES = 256
SPOOL_IN_MEMORY = 1 << 19  # bytes of a zip member kept in memory before spooling to disk
STREAM_CHUNK = 1 << 16  # a streamed zip is handed on in pieces of about this size


class Out:
    """A text file being written: encodes to UTF-8, hashes and counts the bytes as they go.

    The pure writers only call ``write(str)``; writes are gathered into pieces of up to
    PENDING_CHARS characters or PENDING_WRITES writes.
    """

    def __init__(self, raw: BinaryIO, path: str) -> None:
        self.raw, self.path = raw, path
        self.sha256 = hashlib.sha256()
        self.size = 0
        self._pending: list[str] = []
        self._length = 0

    def write(self, text: str) -> int:
        self._pending.append(text)
        self._length += len(text)
        # Small writes (CoNLL writes a line per token) cost more as objects than as text.
        if self._length >= PENDING_CHARS or len(self._pending) >= PENDING_WRITES:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if not self._pending:
            return
        data = "".join(self._pending).encode("utf-8")
        self._pending.clear()
        self._length = 0
        self.sha256.update(data)
        self.size += len(data)
        self.raw.write(data)


class Sink:
    """Where the bundle's files go: `open` a file, write it, `close` it (a generator: a
    zip stream may hand on data while a file is copied in; True when a whole file is out)."""

    def open(self, path: str, *, direct: bool = False) -> Out:
        raise NotImplementedError

    def close(self, out: Out) -> Iterator[bool]:
        raise NotImplementedError
        yield False  # pragma: no cover

    def abort(self) -> None:
        """Release what an unfinished bundle holds (temporary files)."""


class FolderSink(Sink):
    def __init__(self, root: Path) -> None:
        self.root = root

    def open(self, path: str, *, direct: bool = False) -> Out:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        return Out(open(target, "wb"), path)  # noqa: SIM115 - closed in close()

    def close(self, out: Out) -> Iterator[bool]:
        out.flush()
        out.raw.close()
        return iter(())


def zip_info(name: str, created: datetime, size: int | None = None) -> zipfile.ZipInfo:
    stamp = created.astimezone(UTC)
    info = zipfile.ZipInfo(name, date_time=(max(stamp.year, 1980), stamp.month, stamp.day,
                                            stamp.hour, stamp.minute, stamp.second))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    if size is not None:
        info.file_size = size  # zipfile then uses ZIP64 only where it is needed
    return info


class ZipSink(Sink):
    """Writes members into `archive` under `root/`. Only one member can be open at a time:
    the `direct` one is written into the zip as it is made, any other is spooled (memory,
    then a temporary file) and copied in when it is closed."""

    def __init__(self, archive: zipfile.ZipFile, root: str, created: datetime) -> None:
        self.archive, self.root, self.created = archive, root, created
        self._open: list[Out] = []
        self._direct: Out | None = None

    def open(self, path: str, *, direct: bool = False) -> Out:
        if direct and self._direct is None:
            # Its size is not known yet: ZIP64 fields keep a member over 4 GiB possible.
            member = self.archive.open(zip_info(f"{self.root}/{path}", self.created), "w",
                                       force_zip64=True)
            out = Out(cast(BinaryIO, member), path)
            self._direct = out
        else:
            out = Out(cast(BinaryIO, tempfile.SpooledTemporaryFile(
                max_size=SPOOL_IN_MEMORY)), path)
        self._open.append(out)
        return out

    def close(self, out: Out) -> Iterator[bool]:
        out.flush()
        if out is self._direct:
            out.raw.close()
            self._direct = None
            self._open.remove(out)
            yield True
            return
        spool = out.raw
        try:
            spool.seek(0)
            info = zip_info(f"{self.root}/{out.path}", self.created, out.size)
            with self.archive.open(info, "w") as member:
                while chunk := spool.read(COPY_CHUNK):
                    member.write(chunk)
                    yield False
        finally:
            spool.close()
            self._open.remove(out)
        yield True  # a whole member is out: a stream hands it on

    def abort(self) -> None:
        for out in self._open:
            out.raw.close()
        self._open.clear()
        self._direct = None


class Chunks:
    """An unseekable binary stream that keeps what is written until it is taken."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        self.size = 0
        return data


# ---------- the formats ----------
