"""`annotator serve`: the app under gunicorn, N worker processes, each with its own pool.

Gunicorn is run through its documented custom-application API (`BaseApplication`), in this
process: its options are checked by gunicorn itself, and no `gunicorn` executable or
`module:app` string has to be found on PATH.

Every worker builds its own app, and so its own SQLAlchemy engine and connection pool,
after the fork (`preload_app` stays off): a database connection opened in the master is
never shared between processes. The master's own app (the CLI's, used to check the
migrations) disposes its pool before gunicorn forks.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
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
    """The WSGI app of one worker, built after the fork (so with its own engine)."""
    from . import create_app

    configure_logging()
    app = create_app()
    if behind_proxy:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Trust X-Forwarded-For/-Proto/-Host from exactly that many proxies in front.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=behind_proxy,  # type: ignore[method-assign]
                                x_proto=behind_proxy, x_host=behind_proxy)
    # The ~100,000 objects of the loaded app live as long as the worker: out of the
    # collector's sight, a full collection no longer walks them all (tens of ms each time,
    # the tail of issue 7's load benchmark).
    gc.freeze()
    logging.getLogger("annotator").info("worker %d ready", os.getpid())
    return app


def run(options: ServeOptions) -> None:
    """Start gunicorn's master (blocks until it stops)."""
    from gunicorn.app.base import BaseApplication

    settings: dict[str, Any] = {
        "bind": options.bind,
        "workers": options.workers or default_workers(options.dialect),
        "threads": options.threads,
        "worker_class": "gthread" if options.threads > 1 else "sync",
        "timeout": options.timeout,
        "graceful_timeout": options.timeout,
        "preload_app": False,
        "proc_name": "annotator",
        "errorlog": "-",
        "loglevel": "info",
    }
    if options.access_log:
        settings["accesslog"] = "-"

    class AnnotatorServer(BaseApplication):
        def load_config(self) -> None:
            for key, value in settings.items():
                self.cfg.set(key, value)
            if "control_socket_disable" in self.cfg.settings:
                # gunicorn >= 25.1 opens one control socket per user by default: a second
                # server on the machine would take it over. Nothing here uses it.
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            return worker_app(options.behind_proxy)

    AnnotatorServer(prog="annotator serve").run()
