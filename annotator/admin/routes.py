"""Site admins: the users of the whole site."""

from __future__ import annotations

from flask import Blueprint, make_response, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ..forms import show_errors
from ..services import access, users
from ..services.errors import InvalidInput
from .forms import CreateUserForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users", methods=["GET", "POST"])
@login_required
def users_page() -> ResponseReturnValue:
    access.require_admin(current_user)
    form = CreateUserForm()
    created, generated, status = None, None, 200
    if form.validate_on_submit():
        password = form.password.data or users.generate_password()
        try:
            created = users.create_user(form.username.data, password,
                                        is_admin=form.is_admin.data)
        except InvalidInput as exc:
            show_errors(form, exc)
            status = 422
        else:
            generated = None if form.password.data else password
            form = CreateUserForm(formdata=None)
    elif form.is_submitted():
        status = 422
    # A generated password goes into this page only, never into a flash: flashes travel in
    # the (signed, not encrypted) session cookie.
    response = make_response(render_template(
        "admin/users.html", form=form, users=users.list_users(), created=created,
        generated=generated), status)
    response.headers["Cache-Control"] = "no-store"
    return response
