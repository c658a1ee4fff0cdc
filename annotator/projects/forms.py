from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileRequired, MultipleFileField
from wtforms import BooleanField, Form, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from ..models import Role
from ..services import progress


class ImportForm(FlaskForm):
    files = MultipleFileField(
        "Articles (.txt: first line is the title; .jsonl: one {\"text\", \"title\", \"id\", "
        "\"meta\"} per line)",
        validators=[FileRequired(), FileAllowed(["txt", "jsonl", "ndjson"])],
    )


# Plain strings (value = label): tuples are deprecated from WTForms 3.3 on, and SelectChoice
# does not exist before it.
ROLE_CHOICES = [role.value for role in Role]


class AddMemberForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.ANNOTATOR.value)


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


class RemoveMemberForm(FlaskForm):
    """Empty: it exists for its CSRF token, so a removal cannot be forged."""


class SettingsForm(FlaskForm):
    annotators_per_document = IntegerField(
        "Annotators per document", validators=[InputRequired(), NumberRange(min=1, max=1000)])
    blind = BooleanField("Blind mode: annotators see only their own claims")


class SchemeForm(FlaskForm):
    scheme = TextAreaField("Label scheme (JSON)", validators=[InputRequired()])


class AssignForm(FlaskForm):
    per_document = IntegerField(
        "Annotators per document", validators=[InputRequired(), NumberRange(min=1, max=1000)])


class ReassignForm(FlaskForm):
    document = StringField("Document id (as listed on the project page)",
                           validators=[DataRequired(), Length(max=200)])
    # Choices are the project's people, filled in by the view.
    from_user = SelectField("From", validators=[DataRequired()])
    to_user = SelectField("To", validators=[DataRequired()])


class ProgressFilterForm(Form):
    """The dashboard's filter and sort: a GET form, it changes nothing, so it needs no CSRF.
    Its choices are the service's own values; the service validates what is sent (an unknown
    value falls back to the default)."""

    doc_filter = SelectField("Documents", choices=list(progress.DOC_FILTERS))
    doc_sort = SelectField("Sort documents by (done: fewest first)",
                           choices=list(progress.DOC_SORTS))
    annotator_sort = SelectField("Sort annotators by (done, claims: most first)",
                                 choices=list(progress.ANNOTATOR_SORTS))
