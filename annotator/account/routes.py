"""The logged-in user's own account: change the password, manage API tokens."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user

from ..forms import show_errors
from ..services import users
from ..services.errors import InvalidInput
from .forms import PasswordForm, RevokeTokenForm, TokenForm

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> ResponseReturnValue:
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            users.change_password(current_user, form.current_password.data,
                                  form.new_password.data)
        except InvalidInput as exc:
            show_errors(form, exc)
            status = 422
        else:
            # Every session and remember cookie of the old password now logs nobody in
            # (User.get_id); this one goes on under the new password, remembered as before.
            remembered = request.cookies.get(
                current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")) is not None
            session.clear()
            login_user(current_user._get_current_object(), remember=remembered)
            flash("Your password has been changed. Your other sessions are logged out.")
            return redirect(url_for(".password"))
    elif form.is_submitted():
        status = 422
    return render_template("account/password.html", form=form), status


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens() -> ResponseReturnValue:
    form = TokenForm()
    new_token, status = None, 200
    if form.validate_on_submit():
        new_token = users.create_token(current_user, form.name.data.strip())
        form = TokenForm(formdata=None)
    elif form.is_submitted():
        status = 422
    # The new token is in this response only (never flashed into the cookie) and must not
    # be cached: afterwards only its hash exists.
    response = make_response(render_template(
        "account/tokens.html", form=form, tokens=users.tokens(current_user),
        new_token=new_token, revoke_form=RevokeTokenForm(formdata=None)), status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/tokens/<int:tid>/revoke")
@login_required
def revoke(tid: int) -> ResponseReturnValue:
    if not RevokeTokenForm().validate_on_submit():
        abort(400)
    token = users.revoke_token(current_user, tid)
    flash(f"Token “{token.name}” is revoked.")
    return redirect(url_for(".tokens"))
