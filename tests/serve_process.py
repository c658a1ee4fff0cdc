"""`annotator serve` (real gunicorn) in a subprocess, for the tests that need real workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from annotator.throwaway_postgres import free_port

ANNOTATOR = Path(sys.executable).parent / "annotator"
SECRET_KEY = "serve-test-secret-key"  # noqa: S105


@dataclass
class Served:
    process: subprocess.Popen
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def worker_pids(self) -> set[int]:
        """The gunicorn master's children: its workers."""
        return children(self.process.pid)


def children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # pid (comm) state ppid ...: comm may hold spaces, so split after its ')'.
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry))
    return found


def serve_env(database_url: str, instance_path: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "GUNICORN"))}
    env.update(DATABASE_URL=database_url, ANNOTATOR_INSTANCE_PATH=instance_path,
               SECRET_KEY=SECRET_KEY)
    return env


def get_json(url: str, timeout: float = 5) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def wait_healthy(served: Served, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise AssertionError(f"annotator serve exited with {served.process.returncode}:\n"
                                 f"{served.log()}")
        try:
            if get_json(served.url + "/healthz", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"annotator serve not healthy after {timeout} s:\n{served.log()}")


def wait_workers(served: Served, count: int, timeout: float = 60) -> set[int]:
    """The workers' pids once `count` of them run (gunicorn forks them one after another)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = served.worker_pids()
        if len(pids) == count:
            return pids
        time.sleep(0.05)
    raise AssertionError(f"not {count} workers after {timeout} s:\n{served.log()}")


@contextmanager
def serve(env: dict[str, str], *args: str, workers: int | None = 2) -> Iterator[Served]:
    """Run `annotator serve` on a free loopback port until the block ends (then SIGTERM,
    and SIGKILL for the whole process group if it lingers); `workers` None: serve's own
    default."""
    port = free_port()
    with tempfile.NamedTemporaryFile(prefix="annotator-serve.", suffix=".log",
                                     delete=False) as log:
        log_path = Path(log.name)
        process = subprocess.Popen(  # noqa: S603
            [str(ANNOTATOR), "serve", "--bind", f"127.0.0.1:{port}",
             *(["--workers", str(workers)] if workers is not None else []), *args],
            env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    served = Served(process, f"http://127.0.0.1:{port}", log_path)
    try:
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        log_path.unlink(missing_ok=True)
