"""What every blueprint's WTForms forms share: showing a service's refusal by field."""

from __future__ import annotations

from collections.abc import Mapping

from wtforms import Form

from .services.errors import ServiceError


def show_errors(form: Form, exc: ServiceError, rename: Mapping[str, str] | None = None) -> None:
    """Attach the service's field messages to the form's fields (`rename` maps service field
    names to form field names); a message for no field of the form goes to form_errors, so
    nothing the service said is lost."""
    rename = rename or {}
    for key, message in (exc.fields or {"": exc.message}).items():
        field = form._fields.get(rename.get(key, key))
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            form.form_errors = [*form.form_errors, message]
