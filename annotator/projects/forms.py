from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileRequired, MultipleFileField


class ImportForm(FlaskForm):
    files = MultipleFileField(
        "Articles (.txt: first line is the title; .jsonl: one {\"text\", \"title\", \"id\", "
        "\"meta\"} per line)",
        validators=[FileRequired(), FileAllowed(["txt", "jsonl", "ndjson"])],
    )
