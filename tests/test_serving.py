"""Production serving: the health check, the request log with its X-Request-ID, and
`annotator serve` (real gunicorn) refusing, or upgrading, an unmigrated database."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import time
import urllib.request

import pytest

from annotator import __version__, create_app, serving
from annotator.throwaway_postgres import free_port
from tests.conftest import PASSWORD
from tests.serve_process import (
    ANNOTATOR,
    get_json,
    serve,
    serve_env,
    wait_healthy,
    wait_workers,
)

REQUESTS = "annotator.requests"

# ---------- GET /healthz ----------


def test_healthz_answers_ok_without_login(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "version": __version__}
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_answers_503_in_json_when_the_database_is_down(app, tmp_path, monkeypatch):
    monkeypatch.setenv("ANNOTATOR_INSTANCE_PATH", str(tmp_path))
    # Nothing listens on this port: every connection attempt is refused.
    url = f"postgresql+psycopg://healthuser:pw-q7x@127.0.0.1:{free_port()}/nowhere"
    down = create_app({"TESTING": True, "DATABASE_URL": url})

    response = down.test_client().get("/healthz")

    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "unreachable",
                                   "version": __version__}
    body = response.get_data(as_text=True)
    assert "healthuser" not in body and "pw-q7x" not in body and "127.0.0.1" not in body


# ---------- the request log ----------


def request_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == REQUESTS]


def test_each_request_logs_one_line_with_user_status_duration_and_request_id(
        client, document, token_for, caplog):
    caplog.set_level(logging.INFO, logger=REQUESTS)
    alice = token_for("alice")
    from annotator.services import users
    alice_id = users.by_username("alice").id

    response = client.get(f"/api/v1/documents/{document.id}", headers=alice)

    assert response.status_code == 200
    (line,) = request_lines(caplog)
    request_id = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert (line.method, line.path, line.status, line.user_id, line.request_id) == (
        "GET", f"/api/v1/documents/{document.id}", 200, alice_id, request_id)
    assert line.duration_ms >= 0
    assert re.fullmatch(
        rf"GET /api/v1/documents/{document.id} 200 \d+\.\dms user={alice_id} "
        rf"request_id={request_id}", line.getMessage())


def test_a_page_request_logs_the_logged_in_user(client, auth, project, caplog):
    auth.login("alice")
    caplog.set_level(logging.INFO, logger=REQUESTS)
    from annotator.services import users

    client.get("/")

    (line,) = request_lines(caplog)
    assert (line.path, line.status, line.user_id) == ("/", 200, users.by_username("alice").id)


def test_anonymous_requests_log_no_user(client, caplog):
    caplog.set_level(logging.INFO, logger=REQUESTS)

    client.get("/api/v1/projects")

    (line,) = request_lines(caplog)
    assert (line.status, line.user_id) == (401, None)
    assert "user=- " in line.getMessage()


def test_the_log_never_shows_passwords_tokens_or_query_strings(client, auth, project,
                                                               token_for, caplog):
    token = token_for("alice")["Authorization"].split()[1]
    caplog.set_level(logging.DEBUG)

    auth.login("alice", PASSWORD)
    client.get(f"/api/v1/projects?token={token}&access_token={token}")
    client.get("/api/v1/projects", headers={"Authorization": f"Bearer {token}"})

    paths = [r.path for r in request_lines(caplog)]
    assert "/login" in paths and paths.count("/api/v1/projects") == 2
    assert PASSWORD not in caplog.text and token not in caplog.text
    assert "access_token" not in caplog.text


def test_a_plain_incoming_request_id_is_echoed(client, caplog):
    caplog.set_level(logging.INFO, logger=REQUESTS)

    response = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.2:x_9"})

    assert response.headers["X-Request-ID"] == "lb-7f3a.2:x_9"
    assert request_lines(caplog)[0].request_id == "lb-7f3a.2:x_9"


@pytest.mark.parametrize("incoming", ["a b", "x" * 129, "id\u00e9", "forged request_id=1"])
def test_an_odd_incoming_request_id_is_replaced(client, incoming):
    response = client.get("/healthz", headers={"X-Request-ID": incoming})

    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_a_newline_in_the_path_cannot_forge_a_log_line(client, caplog):
    caplog.set_level(logging.INFO, logger=REQUESTS)

    client.get("/nothing%0AGET /admin 200 1.0ms user=1")

    (line,) = request_lines(caplog)
    assert "\n" not in line.getMessage() and line.status == 404


# ---------- annotator serve ----------


def fresh_sqlite_env(tmp_path) -> dict[str, str]:
    instance = tmp_path / "instance"
    return serve_env(f"sqlite:///{tmp_path / 'serve.db'}", str(instance))


def test_serve_refuses_a_database_that_is_not_migrated(tmp_path):
    result = subprocess.run([str(ANNOTATOR), "serve", "--bind", f"127.0.0.1:{free_port()}"],
                            env=fresh_sqlite_env(tmp_path), capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=60)

    assert result.returncode == 1
    assert "the database is not migrated" in result.stderr
    assert "annotator db upgrade" in result.stderr and "--upgrade" in result.stderr


def test_default_workers_depend_on_the_database(monkeypatch) -> None:
    monkeypatch.setattr(serving.os, "cpu_count", lambda: 4)
    assert serving.default_workers("postgresql") == 9  # 2 x cores + 1
    assert serving.default_workers("sqlite") == 5  # cores + 1
    monkeypatch.setattr(serving.os, "cpu_count", lambda: 64)
    assert serving.default_workers("postgresql") == 17  # capped


def test_serve_on_sqlite_starts_cores_plus_one_workers_by_default(tmp_path):
    with serve(fresh_sqlite_env(tmp_path), "--upgrade", workers=None) as served:
        wait_healthy(served)
        workers = wait_workers(served, (os.cpu_count() or 1) + 1)
    assert len(workers) == (os.cpu_count() or 1) + 1


def test_serve_upgrade_migrates_then_serves_with_gunicorn_workers_and_logs(tmp_path):
    with serve(fresh_sqlite_env(tmp_path), "--upgrade", workers=2) as served:
        wait_healthy(served)
        status, body = get_json(served.url + "/healthz")
        # Healthy means one worker answers; the second may still be booting.
        workers = wait_workers(served, 2)
        deadline = time.monotonic() + 30  # a forked worker logs once it dropped its pool
        while not all(f"worker {pid} ready" in served.log() for pid in workers) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        log = served.log()

    assert (status, body["database"]) == (200, "ok")
    assert len(workers) == 2
    assert "Booting worker" in log  # gunicorn's own log
    # The app is built once in the master; each worker then drops the inherited pool
    for pid in workers:
        assert f"worker {pid} ready" in log
    assert re.search(r"annotator\.requests: GET /healthz 200 [\d.]+ms user=- request_id=\w+",
                     log)


def test_a_kernel_refusing_exclusive_wakeups_gets_gunicorns_own_sync_worker(monkeypatch):
    from annotator import gunicorn_worker

    class RefusingEpoll:
        def __enter__(self):  # noqa: ANN204
            return self

        def __exit__(self, *_: object) -> None:
            return None

        def register(self, _fd: int, events: int) -> None:
            if events & gunicorn_worker.select.EPOLLEXCLUSIVE:
                raise OSError(22, "Invalid argument")

    monkeypatch.setattr(gunicorn_worker.select, "epoll", RefusingEpoll)
    gunicorn_worker.exclusive_wakeups_supported.cache_clear()
    try:
        assert gunicorn_worker.sync_worker_class() == "sync"
    finally:
        monkeypatch.undo()
        gunicorn_worker.exclusive_wakeups_supported.cache_clear()
    assert gunicorn_worker.sync_worker_class() is gunicorn_worker.OneWakeSyncWorker


def _voluntary_switches(pid: int) -> int:
    status = open(f"/proc/{pid}/status").read()  # noqa: PTH123
    return int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))


def test_a_connection_wakes_one_idle_worker_not_all_of_them(tmp_path):
    # gunicorn's own sync workers all select() on the listening socket, so every connection
    # woke every idle worker (all four changed here); one waking worker serves them all.
    with serve(fresh_sqlite_env(tmp_path), "--upgrade", workers=4) as served:
        wait_healthy(served)
        workers = wait_workers(served, 4)
        deadline = time.monotonic() + 30
        while not all(f"worker {pid} ready" in served.log() for pid in workers) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        before = {pid: _voluntary_switches(pid) for pid in workers}
        for _ in range(30):
            assert get_json(served.url + "/healthz")[0] == 200
        after = {pid: _voluntary_switches(pid) for pid in workers}

    woken = sorted((after[pid] - before[pid] for pid in workers), reverse=True)
    # select() woke every idle worker for every connection: each of the four switched 30
    # times or more. Now a connection wakes one idle worker; one sequential client keeps
    # one or two of them busy (the next connection may come before the last one's worker
    # is back waiting), and the other two sleep through the burst.
    assert woken[2] + woken[3] < 15, woken


# ---------- long requests and the worker timeout ----------


def _cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run([str(ANNOTATOR), *args], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, check=True).stdout


def _doccano(first: int, count: int) -> bytes:
    """`count` doccano lines of ~3,000 characters with 5 spans each."""
    words = "the minister said that the convoy was hit near the border crossing".split()
    lines = []
    for i in range(first, first + count):
        text = " ".join(words[(i + k) % len(words)] for k in range(500))
        spans = [[600 * j, 600 * j + 40, "asserts"] for j in range(5)]
        lines.append(json.dumps({"id": f"d{i}", "text": text, "label": spans}) + "\n")
    return "".join(lines).encode()


def _timed_request(request: urllib.request.Request) -> tuple[float, bytes]:
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310
        body = response.read()  # a response cut short raises IncompleteRead
    return time.monotonic() - started, body


def test_imports_and_exports_longer_than_the_worker_timeout_complete(tmp_path):
    """Gunicorn kills a worker silent for `--timeout` s, and a sync worker checks in only
    between requests: a big project's import or export used to be cut off half-way. Served
    with a 1 s timeout, the project grows (imports of 4,000, 8,000, then 16,000 documents
    with 5 claims each) until an import has taken over 2 s and an export over 3 s here;
    every import and export must complete, no worker killed."""
    env = fresh_sqlite_env(tmp_path)
    _cli(env, "db", "upgrade")
    _cli(env, "users", "create", "maria", "--generate-password")
    token = _cli(env, "users", "token", "maria").strip()
    _cli(env, "projects", "create", "Big", "--manager", "maria")
    headers = {"Authorization": f"Bearer {token}"}
    total, batch, longest = 0, 4000, {"import": 0.0, "export": 0.0}
    with serve(env, "--timeout", "1", workers=1) as served:
        wait_healthy(served)
        while longest["export"] < 3 or longest["import"] < 2:
            assert total < 120_000, f"too fast here to outlast the timeout: {longest}"
            took, body = _timed_request(urllib.request.Request(
                f"{served.url}/api/v1/projects/1/import?format=doccano&annotator=maria",
                data=_doccano(total, batch), method="POST",
                headers={**headers, "Content-Type": "application/x-ndjson"}))
            assert json.loads(body)["claims"] == 5 * batch
            total += batch
            longest["import"] = max(longest["import"], took)
            took, body = _timed_request(urllib.request.Request(
                f"{served.url}/api/v1/projects/1/export.jsonl", headers=headers))
            assert len(body.splitlines()) == total
            longest["export"] = max(longest["export"], took)
            batch = min(2 * batch, 16_000)  # 16,000 documents: ~50 MB, under the 64 MB cap
        log = served.log()
    assert "WORKER TIMEOUT" not in log
