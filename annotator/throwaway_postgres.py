"""A throwaway PostgreSQL server for the tests and benchmarks: a new cluster in a temporary
folder on a free loopback port, with durability off (fast, and gone when it stops)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> str | None:
    """The newest installed server's bin folder (Debian's layout), or None."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    return bins[-1] if bins else None


@contextmanager
def throwaway_postgres(database: str = "annotator_test", *, durable: bool = False,
                       settings: dict[str, str] | None = None) -> Iterator[str]:
    """Start a cluster, create `database`, yield its SQLAlchemy URL; stop and remove it after.

    Not `durable` (the tests): fsync and synchronous commit off. `settings` are extra server
    settings (`-c name=value`), e.g. max_connections.
    """
    pgbin = postgres_bin()
    if pgbin is None:
        raise RuntimeError("no PostgreSQL server is installed (apt-get install -y postgresql)")
    root = tempfile.mkdtemp(prefix="annotator-pg.")
    as_pg: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        shutil.chown(root, "postgres", "postgres")
        as_pg = ["runuser", "-u", "postgres", "--"]
    data, port = os.path.join(root, "data"), free_port()

    def run(*cmd: str) -> None:
        subprocess.run([*as_pg, *cmd], check=True, capture_output=True, text=True)  # noqa: S603

    fast = {} if durable else {"fsync": "off", "synchronous_commit": "off",
                               "full_page_writes": "off"}
    extra = " ".join(f"-c {name}={value}" for name, value in {**fast, **(settings or {})}.items())
    run(f"{pgbin}/initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
        "--locale=C.UTF-8", "--no-sync")
    run(f"{pgbin}/pg_ctl", "-D", data, "-l", os.path.join(root, "server.log"), "-w", "-t", "30",
        "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 {extra}", "start")
    try:
        subprocess.run(  # noqa: S603
            [f"{pgbin}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", database],
            check=True, capture_output=True)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"
    finally:
        subprocess.run(  # noqa: S603
            [*as_pg, f"{pgbin}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"],
            capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
