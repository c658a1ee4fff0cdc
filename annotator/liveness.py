"""A long request tells the server it is still making progress.

`annotator serve` runs gunicorn's sync workers, and gunicorn kills a worker that has not
checked in for `--timeout` seconds (30 by default): a sync worker checks in only between
requests, so an export, a dataset download or an import of a large project that takes
longer than that was killed half-way, and the client got a truncated file or a 502.
Code that works through a long job calls `progress()` as it goes; under `annotator serve`
that checks the worker in (at most five times a second: one small system call each),
elsewhere it does nothing. A request that is stuck, making no progress, is still killed at
the timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable

CHECK_IN_EVERY = 0.2  # seconds; well under any --timeout (1 s at least)
_check_in: Callable[[], None] | None = None
_last = 0.0


def set_check_in(check_in: Callable[[], None] | None) -> None:
    """What `progress()` calls: the gunicorn worker's `notify` (serving.after_fork)."""
    global _check_in, _last
    _check_in, _last = check_in, 0.0


def progress() -> None:
    """Say that the current request is making progress."""
    global _last
    if _check_in is None:
        return
    now = time.monotonic()
    if now - _last >= CHECK_IN_EVERY:
        _last = now
        _check_in()
