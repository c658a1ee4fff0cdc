"""`annotator suggest …`: the suggestion model from the command line."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from ..services import projects, suggestions
from ..services.errors import ServiceError

suggest_cli = AppGroup("suggest", help="Suggested claims: train and list model versions.")


def _fail(exc: ServiceError) -> None:
    raise click.ClickException(exc.message)


@suggest_cli.command("train")
@click.argument("project")
def train_command(project: str) -> None:
    """Train a new suggestion model version on PROJECT's gold and accepted claims, and
    print its held-out scores."""
    try:
        found = projects.by_name(project)
        click.echo("Training…", err=True)
        row = suggestions.train(found)
    except ServiceError as exc:
        _fail(exc)
        return
    click.echo(f"Suggestion model version {row.version} of {found.name}:")
    scores = row.scores
    for task in ("claim_sentence", "actor", "stance"):
        figures = scores.get(task) or {}
        shown = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                          for k, v in figures.items())
        click.echo(f"  {task}: {shown or '—'}")
    click.echo(f"  documents: {scores['train_documents']} train, "
               f"{scores['test_documents']} held out")


@suggest_cli.command("models")
@click.argument("project")
def models_command(project: str) -> None:
    """List PROJECT's suggestion model versions with their scores, as JSON."""
    try:
        found = projects.by_name(project)
    except ServiceError as exc:
        _fail(exc)
        return
    click.echo(json.dumps(suggestions.model_versions(found), indent=2))
