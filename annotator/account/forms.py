from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField("New password",
                                 validators=[DataRequired(), Length(min=8, max=200)])
    confirm = PasswordField("New password again", validators=[
        DataRequired(), EqualTo("new_password", message="does not match the new password")])


class TokenForm(FlaskForm):
    name = StringField("Name (what the token is for)",
                       validators=[DataRequired(), Length(max=120)])


class RevokeTokenForm(FlaskForm):
    """Empty: it exists for its CSRF token, so a revocation cannot be forged."""
