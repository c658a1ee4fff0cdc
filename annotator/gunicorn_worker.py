"""A gunicorn sync worker that an incoming connection wakes alone.

Gunicorn's sync workers all wait on the shared listening socket with select(): every new
connection wakes every idle worker, one accepts it and the others find nothing and go back
to sleep. On a small machine (issue 7's two cores) those wake-ups compete for the CPU with
the one worker that has the request, and with the client: the side-by-side benchmark's
fetch and create were ~0.3 ms slower with three workers than with one.

`OneWakeSyncWorker` waits with epoll instead, registering the listeners with
EPOLLEXCLUSIVE (Linux ≥ 4.5): the kernel then wakes one idle worker per connection, and
skips workers that are busy. Everything else (accepting, request handling, the heartbeat,
signals) is gunicorn's own SyncWorker. Where the kernel refuses the flag the class is not
used (see `sync_worker_class`).
"""

from __future__ import annotations

import errno
import os
import select
import socket
from functools import cache
from typing import Any

from gunicorn.workers.sync import StopWaiting, SyncWorker


@cache
def exclusive_wakeups_supported() -> bool:
    """Whether this kernel takes EPOLLEXCLUSIVE (Python may know the flag where the kernel,
    older than 4.5 or sandboxed, refuses it: a worker failing at boot would be respawned by
    gunicorn for ever)."""
    if not (hasattr(select, "epoll") and hasattr(select, "EPOLLEXCLUSIVE")):
        return False
    left, right = socket.socketpair()
    try:
        with select.epoll() as poller:
            poller.register(left.fileno(), select.EPOLLIN | select.EPOLLEXCLUSIVE)
    except OSError:
        return False
    finally:
        left.close()
        right.close()
    return True


def sync_worker_class() -> Any:
    """The worker class `annotator serve` runs without threads."""
    return OneWakeSyncWorker if exclusive_wakeups_supported() else "sync"


class OneWakeSyncWorker(SyncWorker):
    """SyncWorker whose wait() is an epoll with EPOLLEXCLUSIVE on the listeners."""

    def run(self) -> None:
        self._poller = select.epoll()
        for listener in self.sockets:
            self._poller.register(listener.fileno(), select.EPOLLIN | select.EPOLLEXCLUSIVE)
        # The wake-up pipe is this worker's own: every signal must reach it.
        self._poller.register(self.PIPE[0], select.EPOLLIN)
        try:
            super().run()
        finally:
            self._poller.close()

    def wait(self, timeout: float) -> list[Any] | None:
        # SyncWorker.wait's contract: the ready listeners (and the pipe), None on timeout.
        try:
            self.notify()
            events = self._poller.poll(timeout)
        except OSError as e:
            if e.args[0] == errno.EINTR:
                return self.sockets
            if e.args[0] == errno.EBADF:
                if self.nr < 0:
                    return self.sockets
                raise StopWaiting from None
            raise
        ready = {fd for fd, _ in events}
        if not ready:
            return None
        found: list[Any] = [s for s in self.sockets if s.fileno() in ready]
        if self.PIPE[0] in ready:
            os.read(self.PIPE[0], 1)
            found.append(self.PIPE[0])
        return found
