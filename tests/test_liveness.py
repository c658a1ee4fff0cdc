"""liveness.progress(): checks the worker in while a long request works, at most every
CHECK_IN_EVERY seconds, and does nothing outside `annotator serve`."""

from __future__ import annotations

import pytest

from annotator import liveness


@pytest.fixture
def check_ins(monkeypatch) -> list[float]:
    now = [1000.0]
    calls: list[float] = []
    monkeypatch.setattr(liveness.time, "monotonic", lambda: now[0])
    liveness.set_check_in(lambda: calls.append(now[0]))
    yield calls, now
    liveness.set_check_in(None)


def test_progress_checks_in_at_most_every_interval(check_ins):
    calls, now = check_ins
    for step in range(6):  # one call every 0.125 s (exact in binary) for 0.625 s
        now[0] = 1000.0 + step * 0.125
        liveness.progress()
    assert liveness.CHECK_IN_EVERY == 0.2
    assert calls == [1000.0, 1000.25, 1000.5]


def test_progress_does_nothing_without_a_server():
    liveness.set_check_in(None)
    liveness.progress()  # no worker to check in: no error, no call
    assert liveness._check_in is None
