"""Suggestion training as a job in its own process: started at once, followed to done or
failed, one per project at a time, a killed process reported as interrupted, managers only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from annotator.db import db
from annotator.models import Document, SuggestionModel, TrainingJob, utcnow
from annotator.services import claims, documents, projects, training, users
from annotator.services.errors import Conflict, InvalidInput, ServiceError

from .test_suggestions import trainable_project, wait_for_job


def _job(project, **values) -> TrainingJob:
    values.setdefault("host", training._host())
    job = TrainingJob(project_id=project.id, requested_by_id=users.by_username("maria").id,
                      **values)
    db.session.add(job)
    db.session.commit()
    return job


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_live_training_refuses_a_second_one_with_409(client, project, token_for):
    trainable_project(project)
    path = f"/api/v1/projects/{project.id}/suggestion-models"
    first = client.post(path, headers=token_for("maria"))
    assert first.status_code == 202
    # Asked again while the first runs (its process takes seconds just to start).
    second = client.post(path, headers=token_for("maria"))
    assert second.status_code == 409
    body = second.get_json()
    assert "already" in body["error"] and body["current"]["id"] == first.get_json()["id"]
    assert wait_for_job(project, first.get_json()["id"]).status == "done"
    assert db.session.scalar(select(db.func.count(TrainingJob.id))) == 1
    assert db.session.scalar(select(db.func.count(SuggestionModel.id))) == 1


def test_a_job_whose_process_is_gone_is_reported_failed(client, project, token_for):
    gone = _job(project, status="running", pid=_dead_pid(), started_at=utcnow())
    response = client.get(f"/api/v1/projects/{project.id}/training-jobs/{gone.id}",
                          headers=token_for("maria"))
    job = response.get_json()
    assert response.status_code == 200
    assert job["status"] == "failed" and job["error"] == training.INTERRUPTED
    db.session.expire_all()
    assert db.session.get(TrainingJob, gone.id).status == "failed"  # stored, not just shown
    # No longer live: a new training is judged on the project's data alone.
    with pytest.raises(InvalidInput, match="not enough annotations"):
        training.start(project, users.by_username("maria"))


def test_a_pid_now_used_by_another_process_does_not_keep_a_job_alive(project):
    # This test's own process is alive, but it is not that job's training process.
    reused = _job(project, status="running", pid=os.getpid(), started_at=utcnow())
    assert training.refreshed(reused).status == "failed"


def test_a_job_on_another_host_is_left_to_that_host(project):
    elsewhere = _job(project, status="running", pid=_dead_pid(), started_at=utcnow())
    elsewhere.host = "another-server"
    db.session.commit()
    assert training.refreshed(elsewhere).status == "running"
    with pytest.raises(Conflict):
        training.start(project, users.by_username("maria"))


def test_killing_the_training_process_fails_the_job_and_stores_no_model(project):
    trainable_project(project)
    job = training.start(project, users.by_username("maria"))
    assert job.status == "queued" and job.pid
    os.kill(job.pid, signal.SIGKILL)
    ended = wait_for_job(project, job.id)
    assert ended.status == "failed" and ended.error == training.INTERRUPTED
    assert db.session.scalar(select(SuggestionModel.id)) is None


def test_too_little_to_learn_fails_the_job_with_the_reason(project):
    # Two documents whose only sentence is a claim: enough documents to start, but no
    # sentence without a claim to learn from.
    maria = users.by_username("maria")
    texts = ["The minister said taxes would fall.", "The mayor said the bridge was safe."]
    documents.import_file(project, "tiny.jsonl", "".join(
        json.dumps({"id": f"t{i}", "text": text}) + "\n" for i, text in enumerate(texts))
        .encode())
    for document in db.session.scalars(select(Document).where(
            Document.external_id.in_(["t0", "t1"]))):
        claims.create_claim(maria, document, {
            "start": 0, "end": len(document.text), "text": document.text,
            "stance": "asserts"}, sources=[])
    job = training.start(project, maria)
    ended = wait_for_job(project, job.id)
    assert ended.status == "failed"
    assert ended.error.startswith("not enough annotations to train on: need sentences")
    assert ended.model_id is None and ended.finished_at is not None
    assert db.session.scalar(select(SuggestionModel.id)) is None


def test_only_the_projects_managers_see_its_jobs(client, project, token_for, make_user):
    job = _job(project, status="failed", error="x", finished_at=utcnow())
    path = f"/api/v1/projects/{project.id}/training-jobs/{job.id}"
    assert client.get(path, headers=token_for("alice")).status_code == 403
    outsider = make_user("olga")
    other = projects.create_project("Other", manager=outsider)
    assert client.get(path, headers=token_for("olga")).status_code == 404
    # A job of this project named under another project is not found there.
    assert client.get(f"/api/v1/projects/{other.id}/training-jobs/{job.id}",
                      headers=token_for("olga")).status_code == 404
    assert client.get(path, headers=token_for("maria")).get_json()["error"] == "x"


def test_the_page_follows_a_live_job_and_disables_training(client, auth, project):
    trainable_project(project)
    auth.login("maria")
    token = auth.csrf_token(f"/projects/{project.id}")
    response = client.post(f"/projects/{project.id}/suggestions/train",
                           data={"csrf_token": token})
    assert response.status_code == 302
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert 'data-status="queued"' in page or 'data-status="running"' in page
    assert "training.js" in page
    assert 'class="primary" disabled>Train a new model version' in page
    again = client.post(f"/projects/{project.id}/suggestions/train",
                        data={"csrf_token": token}, follow_redirects=True)
    assert "already" in again.get_data(as_text=True)
    job = training.latest(project)
    assert wait_for_job(project, job.id).status == "done"
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "training.js" not in page and 'class="primary">Train a new model version' in page


def test_the_training_process_runs_only_a_queued_job(app, project):
    done = _job(project, status="done", finished_at=utcnow())
    with pytest.raises(ServiceError, match="not queued"):
        training.run(done.id)
    usage = subprocess.run([sys.executable, "-m", "annotator.services.training"],
                           capture_output=True, text=True, check=False)
    assert usage.returncode == 2 and "usage:" in usage.stderr


def test_a_job_being_started_counts_as_live_for_a_minute(project):
    stuck = _job(project, status="queued", pid=None,
                 created_at=utcnow() - training.STARTING - timedelta(seconds=1))
    assert training.refreshed(stuck).status == "failed"
    starting = _job(project, status="queued", pid=None)
    assert training.refreshed(starting).status == "queued"


def test_the_database_keeps_one_live_job_per_project(project):
    _job(project, status="failed", error="x")
    _job(project, status="done")
    _job(project, status="running", host="elsewhere")  # ended ones do not count
    with pytest.raises(IntegrityError):
        _job(project, status="queued", host="elsewhere")
    db.session.rollback()


def test_a_start_that_races_another_gets_409(project, monkeypatch):
    trainable_project(project)
    other = _job(project, status="running", host="elsewhere")
    real = training._live_job
    calls = []

    def first_check_misses(project_):
        calls.append(1)
        return None if len(calls) == 1 else real(project_)

    # As if the other request committed its job between this one's check and insert.
    monkeypatch.setattr(training, "_live_job", first_check_misses)
    with pytest.raises(Conflict) as raised:
        training.start(project, users.by_username("maria"))
    assert raised.value.current["id"] == other.id and len(calls) == 2
    assert db.session.scalar(select(db.func.count(TrainingJob.id))) == 1


def test_the_training_process_runs_below_the_web_workers_priority(project):
    trainable_project(project)
    job = training.start(project, users.by_username("maria"))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # "running": past its start, into the training
        db.session.rollback()
        if training.job_for(project, job.id).status != "queued":
            break
        time.sleep(0.05)
    with open(f"/proc/{job.pid}/stat") as fh:
        stat = fh.read()
    nice = int(stat[stat.rindex(")") + 2:].split()[16])  # field 19: nice
    assert nice == os.nice(0) + training.NICENESS
    assert wait_for_job(project, job.id).status == "done"


def test_a_version_is_stored_only_with_its_job_marked_done(project, monkeypatch):
    trainable_project(project)
    job = _job(project, status="queued")
    calls = []

    def fails_after_training():
        calls.append(1)
        if len(calls) > 1:  # the first stamps started_at; the second, finished_at
            raise RuntimeError("the process dies while recording the outcome")
        return utcnow()

    # In process, as the training process runs it: recording "done" fails after training.
    monkeypatch.setattr(training, "utcnow", fails_after_training)
    with pytest.raises(RuntimeError):
        training.run(job.id)
    assert len(calls) == 2
    db.session.rollback()
    assert db.session.scalar(select(SuggestionModel.id)) is None  # not left behind


def test_a_job_asked_about_while_its_process_starts_is_not_interrupted(project):
    # Popen returns once the child's exec is under way, but the kernel fills in its new
    # command line a moment later: read at once, it was empty in about 1 spawn of 50, and
    # a job looked interrupted (a second "train" right after the first started another).
    job = _job(project, status="queued")
    seen_starting = 0
    for _ in range(300):
        # The training command line's words, without running a training.
        process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)",
                                    training.MODULE, str(job.id)],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            job.pid = process.pid
            seen_starting += training._command_line(process.pid) == [b""]
            assert training._alive(job), "a starting training process looked gone"
        finally:
            process.kill()
            process.wait()
    print(f"command line still empty right after Popen: {seen_starting} of 300")


def test_an_empty_command_line_keeps_only_a_young_queued_job_alive(monkeypatch):
    # What a process amid its exec shows; a zombie and a kernel thread show it too.
    monkeypatch.setattr(training, "_command_line", lambda pid: [b""])
    monkeypatch.setattr(training, "_process_state", lambda pid: "R")

    def job(status: str, age: timedelta = timedelta(0)) -> TrainingJob:
        return TrainingJob(id=7, status=status, pid=os.getpid(), created_at=utcnow() - age)

    assert training._alive(job("queued"))
    # A process that never got going within a minute, and one that wrote "running" (its
    # command line was in place long before).
    assert not training._alive(job("queued", training.STARTING + timedelta(seconds=1)))
    assert not training._alive(job("running"))
    monkeypatch.setattr(training, "_process_state", lambda pid: "Z")
    assert not training._alive(job("queued"))  # ended, not yet reaped


def test_a_zombie_training_process_is_not_alive(project):
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 30
        while training._process_state(process.pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert training._process_state(process.pid) == "Z"
        assert training._command_line(process.pid) == [b""]
        job = _job(project, status="queued", pid=process.pid)
        assert not training._alive(job)
    finally:
        process.wait()
    assert training._process_state(process.pid) == ""
