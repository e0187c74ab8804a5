"""Signing in and out, login sessions, passwords and API tokens."""

from __future__ import annotations

import hashlib
import secrets

from flask import current_app, has_request_context, request, session
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import joinedload

from servicedesk import audit
from servicedesk.extensions import db
from servicedesk.models import ApiToken, LoginSession, User
from servicedesk.models.base import utcnow
from servicedesk.security import hash_password, verify_password

SESSION_KEY = "login_key"
TOKEN_PREFIX = "sdk_"  # noqa: S105 (a marker, not a secret)


class PasswordRejected(ValueError):
    """The new password does not meet the rules; the message says which."""


def find_user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == normalise_username(username)))


def normalise_username(username: str) -> str:
    return username.strip().lower()


def authenticate(username: str, password: str) -> User | None:
    """The user whose password this is, active or not; None when name or password is wrong."""
    user = find_user(username)
    return user if verify_password(user, password) else None


def sign_in(user: User) -> LoginSession:
    login = LoginSession(
        key=secrets.token_urlsafe(32),
        user=user,
        remote_address=request.remote_addr if has_request_context() else None,
        user_agent=(request.user_agent.string[:255] or None) if has_request_context() else None,
    )
    db.session.add(login)
    chosen_locale = session.get("locale")
    session.clear()  # nothing from before the login survives, but the language just chosen
    if chosen_locale:
        session["locale"] = chosen_locale
        user.locale = user.locale or chosen_locale
    session[SESSION_KEY] = login.key
    session.permanent = True
    login_user(user)
    audit.record("user.signed_in", user, actor=user)
    return login


def sign_out(user: User) -> None:
    key = session.get(SESSION_KEY)
    if key:
        db.session.execute(
            update(LoginSession)
            .where(LoginSession.key == key, LoginSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )
    audit.record("user.signed_out", user, actor=user)
    logout_user()
    session.clear()


def end_all_login_sessions(user: User) -> None:
    db.session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


#: built once, as every request runs it: building it anew took twice as long as running it
_USER_OF_LOGIN_SESSION = (
    select(User)
    .join(LoginSession, LoginSession.user_id == User.id)
    .where(
        User.id == bindparam("user_id"),
        User.active.is_(True),
        LoginSession.key == bindparam("key"),
        LoginSession.ended_at.is_(None),
    )
    .options(joinedload(User.role_rows), joinedload(User.department))
)


def user_for_login_session(user_id: str, key: str | None) -> User | None:
    """Flask-Login's loader: only a live login session of an active user counts. The user comes
    with the roles and the department every page asks for, in the same query."""
    if not key or not user_id.isdigit():
        return None
    return db.session.execute(_USER_OF_LOGIN_SESSION,
                              {"user_id": int(user_id), "key": key}).unique().scalar_one_or_none()


def check_new_password(user: User, password: str) -> None:
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        raise PasswordRejected(_("The password must have at least %(n)d characters.", n=minimum))
    if normalise_username(password) == user.username:
        raise PasswordRejected(_("The password must not be the user name."))


def set_password(user: User, password: str, *, action: str = "user.password_changed") -> None:
    """Set a new password and end every login session of the user, wherever it is."""
    check_new_password(user, password)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    end_all_login_sessions(user)
    audit.record(action, user)


def change_own_password(user: User, new_password: str) -> None:
    """Change the password, end all sessions, and keep this browser signed in with a fresh one."""
    set_password(user, new_password)
    sign_in(user)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(user: User, name: str, created_by: User | None = None) -> str:
    """Create a token and return it; it is shown once, only its digest is kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    api_token = ApiToken(
        user=user,
        name=name,
        token_hash=token_digest(token),
        prefix=token[: len(TOKEN_PREFIX) + 4],
        created_by=created_by,
    )
    db.session.add(api_token)
    audit.record("api_token.issued", api_token, {"user": user.username, "name": name},
                 actor=created_by)
    return token


def revoke_api_token(api_token: ApiToken) -> None:
    if api_token.revoked_at is None:
        api_token.revoked_at = utcnow()
        audit.record("api_token.revoked", api_token, {"user": api_token.user.username})


def user_for_api_token(token: str) -> User | None:
    row = db.session.execute(
        select(ApiToken, User)
        .join(User, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == token_digest(token),
            ApiToken.revoked_at.is_(None),
            User.active.is_(True),
        )
    ).first()
    return row.User if row else None


def count_live_sessions(user: User) -> int:
    return db.session.scalar(
        select(func.count()).where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
    ) or 0
