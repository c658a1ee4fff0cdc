"""Deterministic train/dev/test assignment of documents, one document at a time.

Each document goes to the split chosen by its *group key* alone: the key and the seed are
hashed (SHA-256 of ``"<seed>\\x00<key>"``), the first 8 bytes read as a number ``u``
uniform in [0, 1), and ``u`` is placed on the cumulative fractions (default 0.8/0.1/0.1:
``u < 0.8`` → train, ``u < 0.9`` → dev, else test). So

* no document is ever in two splits, and every document of one group (same key) lands in
  the same split: groups never straddle splits;
* the same seed and key always give the same split, on any machine or Python version
  (no ``hash()`` randomisation), and adding documents never moves existing ones;
* it streams: nothing is shuffled or counted, so the split *sizes* are only approximately
  the fractions (binomially around them; for n documents in independent groups the
  standard deviation of a fraction f is sqrt(f(1-f)/n), e.g. ±0.3 points at n = 10,000;
  with few large groups the sizes vary much more).

The group key defaults to the document's id. ``group_by_meta("incident", "source")`` keys
documents by the first of those meta fields they have (falling back to the id), so all
reports of one incident, or from one source, stay together.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Iterator, Sequence

from ._common import Record, document_id

SPLITS = ("train", "dev", "test")
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)

KeyFunction = Callable[[Record], str]


def unit_interval(key: str, seed: int | str = 0) -> float:
    """A number in [0, 1) determined by (seed, key) alone, uniform over keys."""
    digest = hashlib.sha256(f"{seed}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def by_document(record: Record) -> str:
    """Group key: the document's own id (every document its own group)."""
    return document_id(record)


def group_by_meta(*keys: str) -> KeyFunction:
    """A group-key function: the first of meta[`keys`] the document has, else its id.

    Values are compared as JSON-ish strings, so 7 and "7" are the same group; a key
    prefix keeps a meta value from colliding with a document id. Raises ValueError when
    no key is given.
    """
    if not keys:
        raise ValueError("group_by_meta needs at least one meta key")

    def key_of(record: Record) -> str:
        meta = record.get("meta") or {}
        for key in keys:
            value = meta.get(key)
            if value is not None and value != "":
                return f"meta:{key}={value}"
        return f"id:{document_id(record)}"

    return key_of


class Splitter:
    """Assigns document records to named splits by a hash of (seed, group key).

    `fractions` are the target shares of `names` (default train/dev/test 0.8/0.1/0.1);
    they must be from 0 to 1 and sum to 1. Raises ValueError otherwise.
    """

    def __init__(
        self,
        *,
        seed: int | str = 0,
        fractions: Sequence[float] = DEFAULT_FRACTIONS,
        names: Sequence[str] = SPLITS,
        group_key: KeyFunction = by_document,
    ) -> None:
        if len(fractions) != len(names) or not names:
            raise ValueError("give one fraction per split name")
        if len(set(names)) != len(names):
            raise ValueError("split names must be distinct")
        if not all(0 <= f <= 1 for f in fractions):  # NaN fails; 3 x 1e308 overflowed fsum
            raise ValueError("fractions must be numbers from 0 to 1")
        if not math.isclose(math.fsum(fractions), 1.0, abs_tol=1e-9):
            raise ValueError(f"fractions must sum to 1, not {math.fsum(fractions)}")
        self.seed = seed
        self.names = tuple(names)
        self.fractions = tuple(float(f) for f in fractions)
        self.group_key = group_key
        bounds, total = [], 0.0
        for fraction in self.fractions:
            total += fraction
            bounds.append(total)
        self._bounds = bounds

    def split_of_key(self, key: str) -> str:
        """The split name for group key `key`."""
        u = unit_interval(key, self.seed)
        for name, bound, fraction in zip(self.names, self._bounds, self.fractions, strict=True):
            if u < bound and fraction > 0:
                return name
        # Rounding can leave the last bound a hair under 1: the last non-empty split.
        return next(n for n, f in zip(reversed(self.names), reversed(self.fractions),
                                      strict=True) if f > 0)

    def __call__(self, record: Record) -> str:
        """The split name for one document record."""
        return self.split_of_key(self.group_key(record))

    def assign(self, records: Iterable[Record]) -> Iterator[tuple[str, Record]]:
        """Yield (split name, record) for each record, streaming."""
        for record in records:
            yield self(record), record


def split_of(
    record: Record,
    *,
    seed: int | str = 0,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    group_key: KeyFunction = by_document,
) -> str:
    """The train/dev/test split of one document record (see Splitter); ValueError on bad
    fractions."""
    return Splitter(seed=seed, fractions=fractions, group_key=group_key)(record)


def assign_splits(
    records: Iterable[Record],
    *,
    seed: int | str = 0,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    group_key: KeyFunction = by_document,
) -> Iterator[tuple[str, Record]]:
    """Yield (split name, record) for each document record, streaming (see Splitter)."""
    return Splitter(seed=seed, fractions=fractions, group_key=group_key).assign(records)

