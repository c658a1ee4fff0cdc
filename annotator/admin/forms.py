from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional


class CreateUserForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    is_admin = BooleanField("Site admin")
    # Empty: a password is generated and shown once, so the admin never has to invent one.
    password = PasswordField("Password (leave empty to generate one)",
                             validators=[Optional(), Length(min=8, max=200)])
