"""Suggestion training as a job in its own process.

Training a model version takes from seconds to minutes (320 articles: 15–45 s on two
cores), longer than a web request may hold a worker: `annotator serve` kills a worker
silent for 30 s, and every annotator waiting on that worker would wait too. So a manager's
request only checks that there is enough to learn from, stores a `TrainingJob` and starts
``python -m annotator.services.training JOB_ID``, a process of its own (its own session,
so it outlives the worker that started it, and a restart of the server); the request
answers at once, and the page and the API follow the job to `done` or `failed`.

A job is queued → running → done (with the model version it stored) or failed (with the
reason). A job whose process is gone before it finished (killed, or the machine rebooted)
is reported failed as soon as anyone looks: liveness is judged by the job's pid on the
host that started it. One job per project is live at a time (a partial unique index).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
from datetime import timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..db import db
from ..models import Project, SuggestionModel, TrainingJob, User, as_utc, isoformat, utcnow
from . import suggestions
from .errors import Conflict, ServiceError

logger = logging.getLogger("annotator.training")

LIVE = ("queued", "running")
MODULE = "annotator.services.training"
STARTING = timedelta(minutes=1)
NICENESS = 10  # added to the training process's nice value (lower CPU priority)
INTERRUPTED = "interrupted: the training process stopped before it finished; start it again"


def _host() -> str:
    return socket.gethostname()[:255]


def _starting(job: TrainingJob) -> bool:
    return job.status == "queued" and utcnow() - as_utc(job.created_at) < STARTING


def _alive(job: TrainingJob) -> bool:
    """Whether the job's training process still runs (on this host)."""
    if job.pid is None:  # being started: the request that queued it sets the pid next
        return _starting(job)
    try:
        # Linux: the pid must still be this job's process, not a later one given its number
        # (and a finished process not yet reaped, a zombie, has an empty command line).
        words = _command_line(job.pid)
    except FileNotFoundError:
        return False
    except OSError:  # no /proc here: ask the kernel whether the pid exists
        try:
            os.kill(job.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    if MODULE.encode() in words and str(job.id).encode() in words:
        return True
    # An empty command line is also that of a process amid its exec: the kernel writes the
    # new one after Popen has returned (about one spawn in fifty here), so a job asked about
    # at once (a second "train" click) looked interrupted, and a second training started.
    return words == [b""] and _starting(job) and _process_state(job.pid) not in ("Z", "X", "")


def _command_line(pid: int) -> list[bytes]:
    with open(f"/proc/{pid}/cmdline", "rb") as fh:
        return fh.read().split(b"\0")


def _process_state(pid: int) -> str:
    """The kernel's one-letter state of the process (Z: a zombie), "" when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return ""
    # "pid (command) S ...": the command may hold spaces and parentheses, so the last ")".
    return stat[stat.rindex(b")") + 2:][:1].decode()


def refreshed(job: TrainingJob) -> TrainingJob:
    """The job, marked failed if it is live but its process is gone (and committed)."""
    if job.status in LIVE and job.host == _host() and not _alive(job):
        db.session.refresh(job)  # the process may have finished it just now
        if job.status in LIVE:
            job.status, job.error, job.finished_at = "failed", INTERRUPTED, utcnow()
            db.session.commit()
    return job


def latest(project: Project) -> TrainingJob | None:
    """The project's newest training job, its status brought up to date."""
    job = db.session.execute(
        select(TrainingJob).where(TrainingJob.project_id == project.id)
        .order_by(TrainingJob.id.desc()).limit(1)).scalar_one_or_none()
    return refreshed(job) if job is not None else None


def job_for(project: Project, job_id: int) -> TrainingJob | None:
    job = db.session.get(TrainingJob, job_id)
    if job is None or job.project_id != project.id:
        return None
    return refreshed(job)


def _live_job(project: Project) -> TrainingJob | None:
    return db.session.execute(
        select(TrainingJob).where(TrainingJob.project_id == project.id,
                                  TrainingJob.status.in_(LIVE))).scalar_one_or_none()


def _refuse_if_live(project: Project) -> None:
    live = _live_job(project)
    if live is not None and refreshed(live).status in LIVE:
        raise Conflict(f"a training of this project is already {live.status} "
                       f"(job {live.id})", job_to_dict(live))


def start(project: Project, user: User | None) -> TrainingJob:
    """Queue a training of `project` and start its process; InvalidInput at once when
    there is too little to learn from, Conflict while another training of it is live."""
    _refuse_if_live(project)
    suggestions.check_trainable(project)
    job = TrainingJob(project_id=project.id, requested_by_id=user.id if user else None,
                      status="queued", host=_host())
    db.session.add(job)
    try:
        db.session.commit()
    except IntegrityError:  # another request queued one since the check above
        db.session.rollback()
        _refuse_if_live(project)
        raise
    try:
        job.pid = _spawn(current_app._get_current_object(), job.id)  # type: ignore[attr-defined]
    except OSError as exc:
        job.status, job.error, job.finished_at = "failed", f"could not start: {exc}", utcnow()
    db.session.commit()
    return job


def _spawn(app: Flask, job_id: int) -> int:
    # The child builds the same app from the environment: the same database, instance
    # folder and secret key (the model blob is sealed with it).
    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               ANNOTATOR_INSTANCE_PATH=app.instance_path, SECRET_KEY=app.config["SECRET_KEY"])
    process = subprocess.Popen(  # noqa: S603 (our own module, no shell)
        [sys.executable, "-m", MODULE, str(job_id)],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        start_new_session=True)  # not in the worker's process group: a restart spares it
    # Reaped when it ends (no zombie left to look alive); the thread dies with the worker,
    # and then init reaps the process.
    threading.Thread(target=process.wait, name=f"training-job-{job_id}", daemon=True).start()
    return process.pid


def run(job_id: int) -> TrainingJob:
    """Run one queued job in this process: train, store the version, record the outcome."""
    job = db.session.get(TrainingJob, job_id)
    if job is None or job.status != "queued":
        raise ServiceError(f"training job {job_id} is not queued")
    job.status, job.started_at, job.pid, job.host = "running", utcnow(), os.getpid(), _host()
    db.session.commit()
    project = db.session.get(Project, job.project_id)
    user = db.session.get(User, job.requested_by_id) if job.requested_by_id else None
    try:
        # The version and the job's "done" are committed together: a process that dies in
        # between leaves neither, not a stored version under an "interrupted" job.
        model = suggestions.train(project, user, commit=False)  # type: ignore[arg-type]
    except ServiceError as exc:
        db.session.rollback()
        job.status, job.error = "failed", exc.message
    except Exception as exc:
        db.session.rollback()
        logger.exception("training job %d failed", job_id)
        job.status, job.error = "failed", f"training failed ({type(exc).__name__}); see the log"
    else:
        job.status, job.model_id = "done", model.id
    job.finished_at = utcnow()
    db.session.commit()
    return job


def job_to_dict(job: TrainingJob) -> dict[str, Any]:
    # The version alone: the model row also holds the fitted estimators (megabytes), and
    # the project page asks for the job every two seconds while it runs.
    version = db.session.execute(select(SuggestionModel.version).where(
        SuggestionModel.id == job.model_id)).scalar_one_or_none() if job.model_id else None
    return {
        "id": job.id,
        "project_id": job.project_id,
        "status": job.status,
        "error": job.error,
        "model_version": version,
        "requested_by": job.requested_by.username if job.requested_by else None,
        "created_at": isoformat(job.created_at),
        "started_at": isoformat(job.started_at) if job.started_at else None,
        "finished_at": isoformat(job.finished_at) if job.finished_at else None,
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m annotator.services.training JOB_ID``: run that job, then exit."""
    from .. import create_app
    from ..serving import configure_logging

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m annotator.services.training JOB_ID", file=sys.stderr)
        return 2
    # Below the web workers: annotators' saves keep their CPU while a model trains.
    os.nice(NICENESS)
    configure_logging()
    with create_app().app_context():
        job = run(int(args[0]))
        logger.info("training job %d %s%s", job.id, job.status,
                    f": {job.error}" if job.error else "")
        return 0 if job.status == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
