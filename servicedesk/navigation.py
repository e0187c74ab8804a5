"""The navigation bar, derived from the access rules the views declare."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from servicedesk.i18n import once_per_locale
from servicedesk.models import Role, User
from servicedesk.security import access_rule_of

MAIN = [
    ("core.index", _l("Home")),
    ("dashboard.index", _l("Dashboard")),
    ("demands.queue", _l("My queue")),
    ("demands.index", _l("Demands")),
    ("visits.index", _l("Visits")),
    ("companies.index", _l("Companies")),
    ("departments.index", _l("Departments")),
    ("calendar.index", _l("Calendar")),
]

ADMINISTRATION = [
    ("admin.users", _l("Users")),
    ("admin.departments", _l("Departments")),
    ("admin.categories", _l("Categories")),
    ("admin.api_tokens", _l("API tokens")),
    ("admin.activity", _l("Activity log")),
    ("admin.outbox", _l("Outbox")),
]


#: items shown only to some of the users their view allows: a leader's home is the dashboard, so the
#: queue gets an item of its own; everyone else's home is their queue (or the overview)
SHOWN_ONLY_TO: dict[str, Callable[[User], bool]] = {
    "demands.queue": lambda user: user.has_role(Role.LEADER),
}


def may_open(endpoint: str) -> bool:
    """Whether the current user may open the view behind the endpoint, by its declared rule."""
    view = current_app.view_functions.get(endpoint)
    rule = access_rule_of(view) if view else None
    return rule is not None and rule.allows(current_user)


def _allowed(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    user = current_user._get_current_object()
    return [(endpoint, label) for endpoint, label in items if may_open(endpoint)
            and SHOWN_ONLY_TO.get(endpoint, lambda _user: True)(user)]


#: the items' labels, translated once per locale rather than on every page
_translated = once_per_locale(lambda: {name: [(endpoint, str(label)) for endpoint, label in items]
                                       for name, items in (("main", MAIN), ("admin", ADMINISTRATION))})


def register_navigation(app: Flask) -> None:
    app.jinja_env.globals["may_open"] = may_open
    app.jinja_env.globals["nav_items"] = lambda: _allowed(_translated()["main"])
    app.jinja_env.globals["admin_nav_items"] = lambda: _allowed(_translated()["admin"])
