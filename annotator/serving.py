"""`annotator serve`: the app under gunicorn, N worker processes, each with its own pool.

Gunicorn is run through its documented custom-application API (`BaseApplication`), in this
process: its options are checked by gunicorn itself, and no `gunicorn` executable or
`module:app` string has to be found on PATH.

The app is built once, in the master, before the workers are forked (`preload_app`): the
workers share its pages (copy-on-write, out of the collector's sight after `gc.freeze`), so
they start at once, use less memory, and a request finds more of the code and data it needs
already in the CPU's caches, whichever worker takes it (issue 7's side-by-side benchmark:
fetch and create faster). No database connection is ever shared between processes: the
master closes its pool before forking, and each worker drops what it inherited and opens
its own connections (SQLAlchemy's advice for forking).
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask

LOG_FORMAT = "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"


def default_workers(dialect: str = "postgresql") -> int:
    """Gunicorn's rule of thumb, 2 × cores + 1, capped (each worker holds a pool of database
    connections), for workers that wait on a database server. On SQLite a request waits on
    nothing (the file is read through the page cache, one writer at a time): cores + 1
    workers keep the cores busy, and more only take turns on them and hold memory (issue
    7's side-by-side benchmark was faster with fewer)."""
    cores = os.cpu_count() or 1
    if dialect == "sqlite":
        return cores + 1
    return min(2 * cores + 1, 17)


@dataclass(frozen=True)
class ServeOptions:
    bind: str = "127.0.0.1:8000"
    workers: int = 0  # 0: default_workers(dialect)
    dialect: str = "postgresql"
    threads: int = 1
    timeout: int = 30
    behind_proxy: int = 0
    access_log: bool = False


def migration_status(app: Flask) -> tuple[set[str], set[str]]:
    """(the database's Alembic revisions, the code's head revisions)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from .db import db

    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        heads = set(ScriptDirectory.from_config(config).get_heads())
        with db.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    return current, heads


def configure_logging() -> None:
    """The app's loggers (request lines included) to standard error, as gunicorn's own."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    for name in ("annotator", "annotator.requests"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler] if name == "annotator" else []
        logger.setLevel(logging.INFO)
    logging.getLogger("annotator").propagate = False


def worker_app(behind_proxy: int = 0) -> Any:
    """The WSGI app the workers serve, built in the master before they are forked."""
    from . import create_app
    from .db import db

    configure_logging()
    app = create_app()
    if behind_proxy:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Trust X-Forwarded-For/-Proto/-Host from exactly that many proxies in front.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=behind_proxy,  # type: ignore[method-assign]
                                x_proto=behind_proxy, x_host=behind_proxy)
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()  # nothing of the master's pool reaches a worker
    # The ~100,000 objects of the loaded app live as long as the workers: out of the
    # collector's sight, a full collection no longer walks them all (tens of ms each time,
    # the tail of issue 7's load benchmark), nor writes to their shared pages.
    gc.freeze()
    return app


def after_fork(app: Flask, check_in: Callable[[], None] | None = None) -> None:
    """In a new worker: forget the connection pool inherited from the master, without
    closing the master's connections (SQLAlchemy's advice for forking); long requests
    check the worker in with `check_in` (see liveness.py)."""
    from . import liveness
    from .db import db

    liveness.set_check_in(check_in)

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)
    logging.getLogger("annotator").info("worker %d ready", os.getpid())


def run(options: ServeOptions) -> None:
    """Start gunicorn's master (blocks until it stops)."""
    from gunicorn.app.base import BaseApplication

    from .gunicorn_worker import sync_worker_class

    settings: dict[str, Any] = {
        "bind": options.bind,
        "workers": options.workers or default_workers(options.dialect),
        "threads": options.threads,
        "worker_class": "gthread" if options.threads > 1 else sync_worker_class(),
        "timeout": options.timeout,
        "graceful_timeout": options.timeout,
        "preload_app": True,
        "proc_name": "annotator",
        "errorlog": "-",
        "loglevel": "info",
    }
    if options.access_log:
        settings["accesslog"] = "-"

    built: list[Any] = []

    class AnnotatorServer(BaseApplication):
        def load_config(self) -> None:
            for key, value in settings.items():
                self.cfg.set(key, value)
            self.cfg.set("post_fork",
                         lambda _server, worker: after_fork(built[0], worker.notify))
            if "control_socket_disable" in self.cfg.settings:
                # gunicorn >= 25.1 opens one control socket per user by default: a second
                # server on the machine would take it over. Nothing here uses it.
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            if not built:
                built.append(worker_app(options.behind_proxy))
            return built[0]

    AnnotatorServer(prog="annotator serve").run()
