"""A gunicorn worker killed with SIGKILL in the middle of a burst of writes loses nothing.

`annotator serve` runs as a subprocess with two workers on the test database. Writer threads
(two annotators, Bearer tokens) create claims with evidence and edit them through the JSON
API; one worker is killed mid-burst and gunicorn starts another. Then every write that got
a 2xx is in the database exactly as acknowledged, every claim stored is whole (offsets match
the text, evidence as sent, an audit event for each change), and a write whose answer was
lost to the kill was either stored entirely or not at all.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from annotator.db import db
from annotator.models import AuditEvent, Claim, Evidence
from tests.conftest import SAMPLE_TEXT, span
from tests.serve_process import serve, serve_env, wait_healthy, wait_workers

NEEDLES = ["no aircraft was lost", "a helicopter was shot down", "Amaq’s video shows",
           "machine-gun fire", "Local sources", "the ministry’s spokesman"]
EVIDENCE_NEEDLE = "not a missile"
STANCES = ["asserts", "denies", "questions"]
WRITERS_PER_USER = 3
WRITES_BEFORE_KILL = 12
WRITES_AFTER_KILL = 24


@dataclass
class Tracked:
    """What one writer was told about one claim, and what it sent without an answer."""

    acked: dict[str, Any]  # the last 2xx body
    unanswered: dict[str, Any] | None = None  # a PATCH whose answer was lost


@dataclass
class Outcome:
    claims: dict[int, Tracked] = field(default_factory=dict)
    unanswered_creates: list[dict[str, Any]] = field(default_factory=list)
    acknowledged: int = 0
    lost_answers: int = 0
    bad_statuses: list[str] = field(default_factory=list)


def evidence_for(n: int) -> list[dict[str, Any]]:
    start, end = span(SAMPLE_TEXT, EVIDENCE_NEEDLE)
    items = [{"type": "video", "relation": "contradicts", "description": f"clip {n}",
              "start": start, "end": end, "text": EVIDENCE_NEEDLE}]
    if n % 2:
        items.append({"type": "official_statement", "relation": "supports",
                      "description": f"statement {n}"})
    return items


def send(port: int, method: str, path: str, token: str,
         body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    """(status, JSON body), or None when the connection broke before an answer."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=json.dumps(body).encode(), headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    except (ConnectionError, http.client.HTTPException, OSError):
        return None
    finally:
        connection.close()


def writer(port: int, token: str, document_id: int, name: str, stop: threading.Event,
           outcome: Outcome, lock: threading.Lock) -> None:
    n = 0
    current: int | None = None  # the claim being edited
    while not stop.is_set():
        n += 1
        marker = f"{name}-{n}"
        if current is None or n % 3 == 1:
            needle = NEEDLES[n % len(NEEDLES)]
            start, end = span(SAMPLE_TEXT, needle)
            body = {"start": start, "end": end, "text": needle, "stance": STANCES[n % 3],
                    "note": marker, "evidence": evidence_for(n)}
            answer = send(port, "POST", f"/api/v1/documents/{document_id}/claims", token, body)
            with lock:
                if answer is None:
                    outcome.lost_answers += 1
                    outcome.unanswered_creates.append(body)
                    current = None
                elif answer[0] == 201:
                    outcome.acknowledged += 1
                    current = answer[1]["id"]
                    outcome.claims[current] = Tracked(answer[1])
                else:
                    outcome.bad_statuses.append(f"POST {answer[0]} {answer[1]}")
            continue
        tracked = outcome.claims[current]
        kept = [{"id": e["id"], "type": e["type"], "relation": e["relation"],
                 "description": e["description"]} for e in tracked.acked["evidence"][:1]]
        body = {"version": tracked.acked["version"], "note": marker, "stance": STANCES[n % 3],
                "evidence": kept + [{"type": "other", "relation": "inconclusive",
                                     "description": f"added {marker}"}]}
        answer = send(port, "PATCH", f"/api/v1/claims/{current}", token, body)
        with lock:
            if answer is None:
                outcome.lost_answers += 1
                tracked.unanswered = body
                current = None  # its version is unknown now: leave it alone
            elif answer[0] == 200:
                outcome.acknowledged += 1
                tracked.acked = answer[1]
            else:
                outcome.bad_statuses.append(f"PATCH {answer[0]} {answer[1]}")


def wait_for(condition: Callable[[], bool], stop: threading.Event, outcome: Outcome,
             timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            stop.set()
            raise AssertionError(f"the writers made too little progress in {timeout} s: "
                                 f"{outcome.acknowledged} acknowledged, "
                                 f"{outcome.bad_statuses[:3]}")
        time.sleep(0.02)


def busiest_worker(log: str, workers: set[int]) -> int:
    """The worker that answered the latest write: it is the likeliest to be in the middle
    of another one (a worker still booting would be a pointless victim)."""
    writes = re.findall(r"\[(\d+)\] INFO annotator\.requests: (?:POST|PATCH) ", log)
    serving = [int(pid) for pid in writes if int(pid) in workers]
    assert serving, f"no worker answered a write yet:\n{log}"
    return serving[-1]


def stored(claim_id: int) -> dict[str, Any]:
    from annotator.services.claims import claim_to_dict

    return claim_to_dict(db.session.get(Claim, claim_id))


def test_sigkill_of_a_worker_during_a_write_burst_loses_no_acknowledged_write(
        app, document, token_for, database_url, instance_path):
    tokens = {name: token_for(name)["Authorization"].split()[1] for name in ("alice", "bob")}
    outcome, lock, stop = Outcome(), threading.Lock(), threading.Event()

    with serve(serve_env(database_url, instance_path), "--timeout", "20",
               workers=2) as served:
        wait_healthy(served)
        port = int(served.url.rsplit(":", 1)[1])
        workers_before = wait_workers(served, 2)
        threads = [threading.Thread(target=writer, args=(
            port, tokens[user], document.id, f"{user}{i}", stop, outcome, lock))
            for user in tokens for i in range(WRITERS_PER_USER)]
        for thread in threads:
            thread.start()
        wait_for(lambda: outcome.acknowledged >= WRITES_BEFORE_KILL, stop, outcome)
        acknowledged_at_kill = outcome.acknowledged
        victim = busiest_worker(served.log(), workers_before)
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: outcome.acknowledged >= acknowledged_at_kill + WRITES_AFTER_KILL, stop,
                 outcome)
        stop.set()
        for thread in threads:
            thread.join(60)
        wait_healthy(served, timeout=30)
        workers_after = wait_workers(served, 2)
        log = served.log()

    assert victim not in workers_after and len(workers_after) == 2, log  # gunicorn replaced it
    assert not outcome.bad_statuses, outcome.bad_statuses

    db.session.rollback()
    all_ids = set(db.session.scalars(select(Claim.id)))
    # Every acknowledged write is there as acknowledged; a PATCH whose answer was lost is
    # either not applied or applied entirely.
    for claim_id, tracked in outcome.claims.items():
        assert claim_id in all_ids, f"acknowledged claim {claim_id} is missing"
        now = stored(claim_id)
        if now != tracked.acked:
            pending = tracked.unanswered
            assert pending is not None, f"claim {claim_id} differs from its last answer"
            assert now["version"] == tracked.acked["version"] + 1
            assert (now["note"], now["stance"]) == (pending["note"], pending["stance"])
            assert [e["description"] for e in now["evidence"]] == \
                [e["description"] for e in pending["evidence"]]
    # A create whose answer was lost is stored once, whole, or not at all.
    lost_markers = [body["note"] for body in outcome.unanswered_creates]
    for marker in lost_markers:
        assert db.session.scalar(select(func.count()).select_from(Claim).where(
            Claim.note == marker)) <= 1
    unexpected = all_ids - set(outcome.claims)
    assert len(unexpected) <= len(lost_markers)

    # No claim is half-written: offsets, evidence and audit trail agree.
    for claim in db.session.scalars(select(Claim)):
        assert SAMPLE_TEXT[claim.start:claim.end] == claim.text, claim.id
        live = [e for e in claim.all_evidence if e.deleted_at is None]
        assert live, f"claim {claim.id} lost its evidence"
        for item in live:
            if item.start is not None:
                assert SAMPLE_TEXT[item.start:item.end] == item.text
        actions = db.session.execute(
            select(AuditEvent.entity, AuditEvent.action, AuditEvent.entity_id)
            .where(AuditEvent.claim_id == claim.id)).all()
        claim_actions = [a for entity, a, _ in actions if entity == "claim"]
        assert claim_actions.count("create") == 1, claim.id
        assert claim_actions.count("update") == claim.version - 1, claim.id
        created_evidence = {eid for entity, a, eid in actions
                            if entity == "evidence" and a == "create"}
        every_evidence = set(db.session.scalars(
            select(Evidence.id).where(Evidence.claim_id == claim.id)))
        assert every_evidence == created_evidence, claim.id
