"""Who may do what: password hashing, the access rule every view declares, department scoping."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, abort, current_app
from flask_login import current_user

from servicedesk.extensions import login_manager
from servicedesk.models import Role, User

View = TypeVar("View", bound=Callable[..., Any])


def password_hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["PASSWORD_ARGON2_TIME_COST"],
        memory_cost=config["PASSWORD_ARGON2_MEMORY_KIB"],
        parallelism=config["PASSWORD_ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    return password_hasher().hash(password)


def verify_password(user: User | None, password: str) -> bool:
    """Check the password; with no user, spend the same time so that names cannot be probed."""
    hasher = password_hasher()
    if user is None:
        hasher.hash(password)
        return False
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


@dataclass(frozen=True)
class AccessRule:
    """Who may open a view: anyone, any signed-in user, or holders of one of the roles."""

    public: bool = False
    roles: frozenset[Role] = frozenset()

    def allows(self, user: Any) -> bool:
        if self.public:
            return True
        if not user.is_authenticated:
            return False
        return not self.roles or user.has_role(*self.roles)


def _declare(rule: AccessRule) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not rule.public and not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not rule.allows(current_user):
                abort(403)
            return view(*args, **kwargs)

        guarded.access_rule = rule  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate


def public(view: View) -> View:
    """Open to everybody, signed in or not (the login page, static help)."""
    return _declare(AccessRule(public=True))(view)


def signed_in(view: View) -> View:
    """Open to every signed-in user, whatever their roles."""
    return _declare(AccessRule())(view)


def roles_required(*roles: Role) -> Callable[[View], View]:
    """Open to signed-in users holding at least one of the roles; others get 403."""
    return _declare(AccessRule(roles=frozenset(roles)))


def access_rule_of(view: Callable[..., Any]) -> AccessRule | None:
    return getattr(view, "access_rule", None)


def undeclared_views(app: Flask) -> list[str]:
    """Endpoints whose view does not say who may use it; create_app refuses to start with any."""
    missing = []
    for endpoint, view in app.view_functions.items():
        if endpoint == "static" or endpoint.endswith(".static"):
            continue
        view_class = getattr(view, "view_class", None)
        if view_class is None:
            if access_rule_of(view) is None:
                missing.append(endpoint)
            continue
        for method in view_class.methods or ():
            handler = getattr(view_class, method.lower(), None)
            if handler is not None and access_rule_of(handler) is None:
                missing.append(f"{endpoint} {method}")
    return sorted(missing)


def visible_department_ids(user: User) -> frozenset[int] | None:
    """The departments whose items the user may see; None means all of them.

    Officers, leaders and admins see everything. Someone who is only a department handler sees
    the items of their own department.
    """
    if user.has_role(Role.OFFICER, Role.LEADER, Role.ADMIN):
        return None
    if user.has_role(Role.HANDLER) and user.department_id is not None:
        return frozenset({user.department_id})
    return frozenset()


def ensure_department_visible(user: User, department_ids: Iterable[int | None]) -> None:
    """Answer 404, not 403, so that a handler cannot even learn that another item exists."""
    visible = visible_department_ids(user)
    if visible is None:
        return
    if not visible.intersection(i for i in department_ids if i is not None):
        abort(404)
