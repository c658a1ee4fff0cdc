from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

# Incident and verdict choices are the project's, filled in by the view ("" = none).


class PropositionForm(FlaskForm):
    text = TextAreaField("Proposition", validators=[DataRequired(), Length(max=5000)])
    incident_id = SelectField("Incident", validators=[Optional()])


class VerdictForm(FlaskForm):
    verdict = SelectField("Verdict", validators=[Optional()])
    note = TextAreaField("Why (the evidence that decides it)",
                         validators=[Optional(), Length(max=20000)])


class IncidentForm(FlaskForm):
    title = StringField("What", validators=[DataRequired(), Length(max=300)])
    location = StringField("Where", validators=[Optional(), Length(max=300)])
    date_start = StringField("When (YYYY-MM-DD)", validators=[Optional(), Length(max=10)])
    date_end = StringField("Until (YYYY-MM-DD, for a range)",
                           validators=[Optional(), Length(max=10)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=20000)])


class AssignPropositionsForm(FlaskForm):
    propositions = SelectMultipleField("Propositions of this incident", coerce=int,
                                       validators=[Optional()])
