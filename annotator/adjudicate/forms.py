from __future__ import annotations

from wtforms import FloatField, Form, SelectField
from wtforms.validators import NumberRange, Optional

# "none": no gold decided yet; "open": being decided; "done": settled.
STATUS_CHOICES = ["any", "none", "open", "done"]


class QueueFilterForm(Form):
    """The review queue's filters: a GET form, it changes nothing, so it needs no CSRF.
    A value that does not validate is shown with its error and not applied."""

    status = SelectField("Review status", choices=STATUS_CHOICES, default="any")
    min_disagreement = FloatField("Minimum disagreement (0–1)",
                                  validators=[Optional(), NumberRange(min=0, max=1)])
