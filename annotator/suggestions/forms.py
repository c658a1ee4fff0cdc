from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField


class SuggestionSettingsForm(FlaskForm):
    enabled = BooleanField("Show suggested claims on the annotation page")


class TrainForm(FlaskForm):
    """Empty: it exists for its CSRF token."""
