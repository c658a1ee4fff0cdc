from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user

from ..services import users
from ..services.errors import InvalidInput
from .forms import LoginForm, LogoutForm

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect would help phishing.
    if target and target.startswith("/") and not target.startswith("//") \
            and not urlsplit(target).netloc and "\\" not in target:
        return target
    return url_for("projects.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("projects.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = users.authenticate(form.username.data.strip(), form.password.data,
                                      request.remote_addr or "")
        except users.LoginThrottled as exc:
            form.password.errors.append(exc.fields["password"])
            status = 429
        except InvalidInput as exc:
            form.password.errors.append(exc.fields["password"])
            status = 400
        else:
            # A new session at login: what the anonymous session held (its CSRF secret,
            # which a cookie planted before the login would know) does not carry over.
            session.clear()
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    form = LogoutForm()
    if form.validate_on_submit():
        # The CSRF secret too: the next user of this browser gets their own. Cleared before
        # logout_user, whose mark that the remember cookie must go would be wiped too.
        session.clear()
        logout_user()
        flash("You are logged out.")
        return redirect(url_for("auth.login"))
    return redirect(url_for("projects.index"))
