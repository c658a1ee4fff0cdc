"""The `annotator` command: a Flask CLI group built on create_app."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup
from flask_migrate import upgrade
from werkzeug.serving import run_simple

from exports.strict_json import strict_loads

from . import labelscheme
from .agreement.report import agreement_report
from .agreement.text import format_report
from .services import (
    agreement,
    assignments,
    datasets,
    exporting,
    label_schemes,
    projects,
    tool_import,
    users,
)
from .services.demo import load_demo
from .services.errors import ServiceError


def _fail(exc: Exception) -> None:
    message = exc.message if isinstance(exc, ServiceError) else str(exc)
    if isinstance(exc, ServiceError) and exc.fields:
        message += ": " + "; ".join(f"{field} {problem}" for field, problem in exc.fields.items())
    raise click.ClickException(message)


def _project(name: str):  # noqa: ANN202
    try:
        return projects.by_name(name)
    except ServiceError as exc:
        _fail(exc)


def _user(username: str):  # noqa: ANN202
    user = users.by_username(username)
    if user is None:
        raise click.ClickException(f"no user named '{username}'")
    return user


users_cli = AppGroup("users", help="Create users and API tokens.")
projects_cli = AppGroup("projects", help="Create projects.")
members_cli = AppGroup("members", help="Give users a role in a project.")


@users_cli.command("create")
@click.argument("username")
@click.option("--admin", is_flag=True, help="Make the user a site admin.")
@click.option("--generate-password", is_flag=True,
              help="Generate and print a password instead of prompting.")
def users_create(username: str, admin: bool, generate_password: bool) -> None:
    """Create a user; prompts for a password, or generates one when there is no terminal."""
    generated = generate_password or not sys.stdin.isatty()
    if generated:
        password = users.generate_password()
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        users.create_user(username, password, is_admin=admin)
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"Created user {username}" + (" (admin)" if admin else ""))
    if generated:
        click.echo(f"Password: {password}")


@users_cli.command("token")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="A label for the token.")
def users_token(username: str, name: str) -> None:
    """Print a new API token for the user (shown once; only its hash is kept)."""
    click.echo(users.create_token(_user(username), name))


@projects_cli.command("create")
@click.argument("name")
@click.option("--scheme", "scheme_file", type=click.Path(exists=True, dir_okay=False),
              help="A label scheme JSON file (default: the claim-verification scheme).")
@click.option("--manager", help="Username to make the project's manager.")
def projects_create(name: str, scheme_file: str | None, manager: str | None) -> None:
    """Create a project with its own copy of a label scheme."""
    try:
        scheme = labelscheme.load_file(scheme_file) if scheme_file else None
        project = projects.create_project(
            name, scheme=scheme, manager=_user(manager) if manager else None
        )
    except (ServiceError, labelscheme.LabelSchemeError) as exc:
        _fail(exc)
    click.echo(f"Created project {project.name} (id {project.id})")


@projects_cli.command("scheme")
@click.argument("project")
@click.argument("scheme_file", type=click.Path(exists=True, dir_okay=False))
def projects_scheme(project: str, scheme_file: str) -> None:
    """Give PROJECT the label scheme in SCHEME_FILE as its next version (a value stored
    work uses may not be dropped)."""
    target = _project(project)
    version = target.scheme_version
    try:
        label_schemes.change_scheme(target, labelscheme.load_file(scheme_file))
    except (ServiceError, labelscheme.LabelSchemeError) as exc:
        _fail(exc)
    click.echo(f"{target.name}: label scheme unchanged (version {version})"
               if target.scheme_version == version
               else f"{target.name}: label scheme version {target.scheme_version}")


@members_cli.command("add")
@click.argument("project")
@click.argument("username")
@click.option("--role", type=click.Choice(["manager", "annotator", "adjudicator"]),
              default="annotator", show_default=True)
def members_add(project: str, username: str, role: str) -> None:
    """Give USERNAME a role in PROJECT."""
    projects.add_member(_project(project), _user(username), role)
    click.echo(f"{username} is now {role} in {project}")


@click.command("assign")
@click.argument("project")
@click.option("--per-document", "per_document", type=int, required=True,
              help="How many distinct annotators each document gets (k).")
def assign_command(project: str, per_document: int) -> None:
    """Give every document of PROJECT k distinct annotators, balanced across the team."""
    target = _project(project)
    try:
        added = assignments.assign(target, per_document)
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"Added {added} assignment(s); every document of {project} now has at least "
               f"{per_document} annotator(s)")


@click.command("agreement")
@click.argument("project", required=False)
@click.option("--from-jsonl", "from_jsonl", type=click.Path(exists=True, dir_okay=False),
              help="Compute from an export file instead of a project.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
@click.option("--include-unfinished", is_flag=True,
              help="Compare every annotator with claims, not only those who marked done.")
def agreement_command(project: str | None, from_jsonl: str | None, as_json: bool,
                      include_unfinished: bool) -> None:
    """Inter-annotator agreement of PROJECT, or of an exported JSONL file."""
    if (project is None) == (from_jsonl is None):
        raise click.UsageError("give either PROJECT or --from-jsonl FILE")
    if from_jsonl:
        where = [0]  # the line being read: the report reads one record at a time
        try:
            report = agreement_report(_jsonl_records(from_jsonl, where),
                                      include_unfinished=include_unfinished)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            problem = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise click.ClickException(
                f"{from_jsonl}: line {where[0]}: not a usable export record: {problem}"
            ) from None
    else:
        report = agreement.project_report(_project(project),
                                          include_unfinished=include_unfinished)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        click.echo(format_report(report))


def _jsonl_records(path: str, where: list[int] | None = None) -> Iterator[dict]:
    """The file's records; ``where[0]`` is kept at the number of the line last read."""
    where = where if where is not None else [0]
    with open(path, encoding="utf-8-sig") as fh:
        for number, line in enumerate(fh, start=1):
            where[0] = number
            if not line.strip():
                continue
            try:
                yield strict_loads(line)
            except json.JSONDecodeError as exc:
                raise click.ClickException(f"{path}: line {number}: invalid JSON: {exc.msg}") \
                    from None


@click.command("import")
@click.argument("project")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(tool_import.IMPORT_FORMATS), default="auto",
              show_default=True,
              help="auto: by extension (.txt; .jsonl: the app's or doccano's; .json: Label "
                   "Studio).")
@click.option("--annotator", "annotator_name", metavar="USERNAME",
              help="Import the spans of doccano / Label Studio files as this member's claims "
                   "(span label = stance).")
def import_command(project: str, files: tuple[str, ...], fmt: str,
                   annotator_name: str | None) -> None:
    """Import FILES into PROJECT, each file all or nothing: articles (.txt, .jsonl), or
    doccano JSONL and Label Studio JSON with their spans."""
    target = _project(project)
    annotator = _user(annotator_name) if annotator_name else None
    failed = 0
    for path in files:
        try:
            with open(path, "rb") as fh:
                result = tool_import.import_file(target, Path(path).name, fh, fmt=fmt,
                                                 annotator=annotator)
        except ServiceError as exc:
            failed += 1
            fields = exc.fields if not isinstance(exc, tool_import.ToolImportError) else {}
            detail = "; ".join(f"{k} {v}" for k, v in fields.items()
                               if not k.startswith("line "))
            click.echo(f"error: {exc.message}" + (f": {detail}" if detail else ""), err=True)
            continue
        message = f"{path}: imported {result.documents} document(s)"
        if annotator is not None:
            message += f" and {result.claims} claim(s) by {annotator.username}"
        elif result.spans_skipped:
            message += (f" ({result.spans_skipped} span(s) not imported: give --annotator "
                        "to import them as claims)")
        click.echo(message)
    if failed:
        raise click.ClickException(f"{failed} of {len(files)} file(s) not imported")


@click.command("export")
@click.argument("project")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="Output file, or - for standard output.")
@click.option("--format", "fmt",
              type=click.Choice(datasets.SINGLE_FILE_FORMATS + datasets.PROPOSITION_FORMATS),
              default="jsonl", show_default=True,
              help="jsonl: documents with their claims; claims: a claim per line; spacy; "
                   "conll; doccano; label-studio; propositions: a proposition per line with "
                   "its claims across articles; claim-pairs: claim pairs for matching.")
@click.option("--claims", "claim_set", type=click.Choice(exporting.CLAIM_SETS), default="all",
              show_default=True,
              help="gold: adjudicated claims only; annotators: their own claims only; all: both.")
def export_command(project: str, out: str, fmt: str, claim_set: str) -> None:
    """Export PROJECT as one file: document-level JSONL (schemas/export-record.schema.json)
    or another format (`annotator dataset` writes every format, split)."""
    target = _project(project)
    if claim_set == "gold":
        missing = exporting.documents_without_gold(target)
        if missing:
            shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
            click.echo(f"warning: {len(missing)} document(s) have no settled gold yet "
                       f"(exported with review_status, claims so far): {shown}", err=True)
    if out == "-":
        count = datasets.write_format(target, sys.stdout, fmt, claim_set)
    else:
        # Write beside the target and rename: an interrupted export leaves no half file.
        directory = os.path.dirname(os.path.abspath(out))
        suffix = os.path.splitext(out)[1] or ".jsonl"
        try:
            fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=suffix, dir=directory)
        except OSError as exc:
            raise click.ClickException(f"cannot write {out}: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                count = datasets.write_format(target, fh, fmt, claim_set)
            os.replace(tmp, out)
        except BaseException:
            os.unlink(tmp)
            raise
    unit = {"claims": "claim(s)", "label-studio": "task(s)", "propositions": "proposition(s)",
            "claim-pairs": "claim pair(s)"}.get(fmt, "document(s)")
    click.echo(f"Exported {count} {unit} to {out}", err=out == "-")


@click.command("dataset")
@click.argument("project")
@click.option("--out", "out", required=True, type=click.Path(),
              help="The bundle's folder (new or empty), or with --zip the zip file to create.")
@click.option("--zip", "as_zip", is_flag=True, help="Write one zip file instead of a folder.")
@click.option("--claims", "claim_set", type=click.Choice(exporting.CLAIM_SETS), default="all",
              show_default=True,
              help="gold: adjudicated claims only; annotators: their own claims only; all: both.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="The split seed: the same seed gives the same splits.")
@click.option("--split", "split", default="0.8,0.1,0.1", show_default=True,
              help="Fractions of train, validation, test (approximate: decided per document).")
@click.option("--group-by", "group_by", type=click.Choice(datasets.GROUP_BY),
              help="Keep documents with the same meta value together in one split.")
@click.option("--format", "formats", multiple=True, metavar="FORMAT",
              help=f"Formats to write (repeat, or comma-separated; default all): "
                   f"{', '.join(datasets.BUNDLE_FORMATS)}.")
@click.option("--bundle-version", "version", type=int, default=1, show_default=True,
              help="N of the bundle's name NAME-vN.")
def dataset_command(project: str, out: str, as_zip: bool, claim_set: str, seed: int,
                    split: str, group_by: str | None, formats: tuple[str, ...],
                    version: int) -> None:
    """Write PROJECT's dataset bundle for model training: every format, split into
    train/validation/test, with label_scheme.json, dataset_card.md and manifest.json."""
    target = _project(project)
    try:
        options = datasets.bundle_options(claim_set=claim_set, seed=seed, fractions=split,
                                          group_by=group_by, formats=formats or
                                          datasets.BUNDLE_FORMATS, version=version)
        with click.progressbar(length=datasets.bundle_steps(target),
                               label=f"Building {datasets.bundle_name(target, version)}",
                               show_pos=True, file=sys.stderr) as bar:
            bundle = datasets.write_bundle(
                target, out, claim_set=options.claim_set, seed=options.seed,
                fractions=options.fractions, group_by=options.group_by,
                formats=options.formats, version=options.version, as_zip=as_zip,
                progress=bar.update)
    except ServiceError as exc:
        _fail(exc)
    splits = bundle.manifest["splits"]
    counts = ", ".join(f"{name} {c['documents']} documents / {c['claims']} claims"
                       for name, c in splits.items())
    click.echo(f"Wrote {bundle.name} to {out}: {counts}; "
               f"{len(bundle.manifest['files']) + 1} files")


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Set up the demo but do not start the server.")
def demo_command(host: str, port: int, no_serve: bool) -> None:
    """Create the database, load the demo project and users, print logins, serve the app."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    upgrade()
    credentials = load_demo()
    click.echo(f"Database: {app.config['SQLALCHEMY_DATABASE_URI']}")
    click.echo("Demo users (passwords are new each time the demo starts):")
    for username, password in credentials.items():
        click.echo(f"  {username:<6} {password}")
    if no_serve:
        return
    click.echo(f"Serving on http://{host}:{port}  (Ctrl+C to stop)")
    # Not app.run(): Flask ignores it inside a CLI command. Production serving is gunicorn.
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


@click.command("serve")
@click.option("--bind", default="127.0.0.1:8000", show_default=True,
              help="HOST:PORT (or unix:PATH) to listen on.")
@click.option("--workers", type=click.IntRange(min=1),
              help="Worker processes (default: 2 x cores + 1, at most 17; on SQLite "
                   "cores + 1).")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="Threads per worker (more than 1: gunicorn's gthread worker).")
@click.option("--timeout", type=click.IntRange(min=1), default=30, show_default=True,
              help="Seconds before a silent worker is killed and restarted.")
@click.option("--behind-proxy", "behind_proxy", type=click.IntRange(min=0), default=0,
              show_default=True,
              help="Number of reverse proxies in front whose X-Forwarded-* headers to trust.")
@click.option("--access-log", is_flag=True, help="Also write gunicorn's access log.")
@click.option("--upgrade", "run_upgrade", is_flag=True,
              help="Apply pending database migrations first (default: refuse to start).")
def serve_command(bind: str, workers: int | None, threads: int, timeout: int,
                  behind_proxy: int, access_log: bool, run_upgrade: bool) -> None:
    """Serve the app in production: gunicorn with several workers (DATABASE_URL, SECRET_KEY
    and ANNOTATOR_SECURE_COOKIES from the environment)."""
    from . import serving
    from .db import db

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if run_upgrade:
        upgrade()
    current, heads = serving.migration_status(app)
    if current != heads:
        found = ", ".join(sorted(current)) or "no schema"
        raise click.ClickException(
            f"the database is not migrated (it has {found}; this version needs "
            f"{', '.join(sorted(heads))}): run `annotator db upgrade`, or serve with --upgrade")
    db.engine.dispose()  # the workers open their own connections after the fork
    serving.run(serving.ServeOptions(bind=bind, workers=workers or 0, threads=threads,
                                     timeout=timeout, behind_proxy=behind_proxy,
                                     access_log=access_log, dialect=db.engine.dialect.name))


@click.command("backup")
@click.argument("project")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
def backup_command(project: str, file: str) -> None:
    """Write all of PROJECT (scheme, members, documents, claims, evidence, reviews, history)
    to FILE, a gzip'd JSON-lines backup (- for standard output)."""
    from .services import backup

    target = _project(project)
    if file == "-":
        counts = backup.write_backup(target, sys.stdout.buffer)
    else:
        # Written beside the target and renamed: an interrupted backup leaves no half file.
        directory = os.path.dirname(os.path.abspath(file))
        try:
            fd, tmp = tempfile.mkstemp(prefix=".backup-", suffix=".gz", dir=directory)
        except OSError as exc:
            raise click.ClickException(f"cannot write {file}: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "wb") as fh:
                counts = backup.write_backup(target, fh)
            os.replace(tmp, file)
        except BaseException:
            os.unlink(tmp)
            raise
    summary = ", ".join(f"{count} {table}" for table, count in counts.items())
    click.echo(f"Backed up {project} to {file}: {summary}", err=file == "-")


@click.command("restore")
@click.argument("file", type=click.File("rb"))
@click.option("--as", "new_name", metavar="NEW_NAME",
              help="The restored project's name (default: the backed-up name).")
def restore_command(file, new_name: str | None) -> None:  # noqa: ANN001
    """Restore a backup FILE as a new project (all or nothing). Members are matched by
    username; missing users become disabled placeholder accounts."""
    from .services import backup

    try:
        result = backup.restore_backup(file, name=new_name)
    except backup.BackupError as exc:
        raise click.ClickException(f"{file.name}: {exc.message}; nothing was restored") \
            from None
    except ServiceError as exc:
        _fail(exc)
    summary = ", ".join(f"{count} {table}" for table, count in result.counts.items())
    click.echo(f"Restored {result.project.name} (id {result.project.id}): {summary}")
    if result.placeholders:
        click.echo("Created disabled placeholder users (they cannot log in; create the "
                   f"accounts before restoring to use them): {', '.join(result.placeholders)}")


def init_app(app: Flask) -> None:
    for command in (users_cli, projects_cli, members_cli, assign_command, import_command,
                    export_command, dataset_command, agreement_command, demo_command,
                    serve_command, backup_command, restore_command):
        app.cli.add_command(command)
    from .suggestions.cli import suggest_cli  # its own module: cli.py is shared enough

    app.cli.add_command(suggest_cli)


def _create_app() -> Flask:
    from . import create_app

    return create_app()


def main() -> None:
    """The console script: `annotator COMMAND` (also `flask --app annotator COMMAND`)."""
    FlaskGroup(create_app=_create_app, help="Claim-verification annotation tool.")()
