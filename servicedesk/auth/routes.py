import time

from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_limiter import RequestLimit
from flask_login import current_user
from werkzeug import Response

from servicedesk.auth import bp, operations
from servicedesk.auth.forms import ChangePasswordForm, LoginForm
from servicedesk.extensions import db, limiter
from servicedesk.security import public, signed_in, verify_password


def _failed_login(response: Response) -> bool:
    return request.method == "POST" and response.status_code != 302


def _attempted_username() -> str:
    return "login-user:" + operations.normalise_username(request.form.get("username", ""))


def _is_safe_next(target: str | None) -> bool:
    return bool(target) and target.startswith("/") and not target.startswith("//")


def _locked_out(_limit: RequestLimit) -> Response:
    message = _("Too many failed sign-in attempts. Wait %(minutes)d minutes and try again.",
                minutes=_window_minutes(_limit))
    page = render_template("auth/login.html", form=LoginForm(), locked_out=message)
    return make_response(page, 429)


def _window_minutes(limit: RequestLimit) -> int:
    return max(1, round((limit.reset_at - time.time()) / 60))


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(lambda: current_app.config["LOGIN_FAILURES_PER_USER"], key_func=_attempted_username,
               methods=["POST"], deduct_when=_failed_login, on_breach=_locked_out)
@limiter.limit(lambda: current_app.config["LOGIN_FAILURES_PER_ADDRESS"], methods=["POST"],
               deduct_when=_failed_login, on_breach=_locked_out)
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = operations.authenticate(form.username.data, form.password.data)
        if user is not None and not user.active:
            form.username.errors.append(
                _("This account has been deactivated. Ask an administrator to reactivate it.")
            )
        elif user is None:
            form.password.errors.append(_("Wrong user name or password."))
        else:
            operations.sign_in(user)
            db.session.commit()
            target = request.args.get("next")
            return redirect(target if _is_safe_next(target) else url_for("core.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@signed_in
def logout() -> Response:
    operations.sign_out(current_user._get_current_object())
    db.session.commit()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@signed_in
def change_password() -> str | Response:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if not verify_password(user, form.current_password.data):
            form.current_password.errors.append(_("The current password is wrong."))
        else:
            try:
                operations.change_own_password(user, form.new_password.data)
            except operations.PasswordRejected as refused:
                form.new_password.errors.append(str(refused))
            else:
                db.session.commit()
                flash(_("Your password has been changed. Every other session has been ended."),
                      "success")
                return redirect(url_for("core.index"))
    return render_template("auth/change_password.html", form=form)
