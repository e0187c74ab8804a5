"""The activity log: audit events made readable, and their subjects named in a few queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from servicedesk.calendar.limits import LABELS as LIMIT_LABELS
from servicedesk.companies.operations import FIELD_LABELS
from servicedesk.extensions import db
from servicedesk.models import (
    ApiToken,
    AuditEvent,
    CalendarYear,
    Category,
    Company,
    Department,
    TimeLimitSetting,
    User,
)

#: the kinds of events the log can be narrowed to, by action prefix
AREAS = [
    ("user.", _l("Users and sign-ins")),
    ("department.", _l("Departments")),
    ("category.", _l("Categories")),
    ("api_token.", _l("API tokens")),
    ("company.", _l("Companies")),
    ("calendar.", _l("Working-day calendar")),
    ("time_limits.", _l("Time limits")),
]

ACTIONS = {
    "user.created": _l("User created"),
    "user.updated": _l("User changed"),
    "user.activated": _l("User reactivated"),
    "user.deactivated": _l("User deactivated"),
    "user.password_reset": _l("Password reset by an administrator"),
    "user.password_changed": _l("Password changed"),
    "user.signed_in": _l("Signed in"),
    "user.signed_out": _l("Signed out"),
    "user.language_changed": _l("Interface language changed"),
    "department.created": _l("Department created"),
    "department.updated": _l("Department changed"),
    "category.created": _l("Category created"),
    "category.updated": _l("Category changed"),
    "api_token.issued": _l("API token issued"),
    "api_token.revoked": _l("API token revoked"),
    "company.registered": _l("Company registered"),
    "company.updated": _l("Company changed"),
    "calendar.loaded": _l("Calendar year loaded"),
    "calendar.confirmed": _l("Calendar year confirmed"),
    "calendar.days_marked": _l("Calendar days marked"),
    "time_limits.updated": _l("Time limits changed"),
    "time_limits.category_updated": _l("Time limits of a category changed"),
    "outbox.retried": _l("Mail sent again from the outbox"),
}

FIELDS = {
    **FIELD_LABELS,
    "username": _l("User name"),
    "display_name": _l("Display name"),
    "email": _l("Email"),
    "phone": _l("Phone"),
    "roles": _l("Roles"),
    "department": _l("Department"),
    "department_id": _l("Department"),
    "is_department_head": _l("Head of the department"),
    "name": _l("Name"),
    "short_name": _l("Short name"),
    "name_en": _l("English name"),
    "active": _l("Active"),
    "head": _l("Head"),
    "user": _l("User"),
    "locale": _l("Language"),
    "source": _l("Source"),
    "source_detail": _l("From"),
    "was_loaded": _l("Was loaded before"),
    "year_loaded": _l("Year loaded"),
    "holidays": _l("Holidays"),
    "workdays": _l("Make-up working days"),
    "added": _l("Added"),
    "removed": _l("Removed"),
    "changed": _l("Changed"),
    "kind": _l("Kind"),
    "days": _l("Days"),
    **{limit.value: label for limit, label in LIMIT_LABELS.items()},
}

#: where each kind of subject is shown, and how it is named
SUBJECTS: dict[str, tuple[Any, str | None, str]] = {
    User.__tablename__: (User, "admin.edit_user", "user_id"),
    Department.__tablename__: (Department, "admin.edit_department", "department_id"),
    Category.__tablename__: (Category, "admin.edit_category", "category_id"),
    ApiToken.__tablename__: (ApiToken, None, ""),
    Company.__tablename__: (Company, "companies.view", "company_id"),
}

SUBJECT_KINDS = {
    User.__tablename__: _l("User"),
    Department.__tablename__: _l("Department"),
    Category.__tablename__: _l("Category"),
    ApiToken.__tablename__: _l("API token"),
    Company.__tablename__: _l("Company"),
    CalendarYear.__tablename__: _l("Calendar"),
    TimeLimitSetting.__tablename__: _l("Time limits"),
}


def action_label(action: str) -> str:
    return str(ACTIONS.get(action, action))


def _value(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(_value(item) for item in value) or "—"
    return str(value)


def describe_details(event: AuditEvent) -> list[tuple[str, str]]:
    """(field, text) pairs; a change written by audit.changes reads 'old → new'."""
    lines = []
    changes = event.action.endswith("updated")
    for field, value in (event.details or {}).items():
        label = str(FIELDS.get(field, field))
        if changes and isinstance(value, list) and len(value) == 2:
            lines.append((label, f"{_value(value[0])} → {_value(value[1])}"))
        else:
            lines.append((label, _value(value)))
    return lines


@dataclass(frozen=True)
class Subject:
    kind: str
    label: str
    url: str | None


def _name(record: Any) -> str:
    if isinstance(record, User):
        return f"{record.display_name} ({record.username})"
    if isinstance(record, ApiToken):
        return f"{record.name} ({record.prefix}…)"
    return str(record.name)


def subjects_of(events: Iterable[AuditEvent]) -> dict[tuple[str, int | None], Subject]:
    """Name the subjects of the events: one query per kind of subject, whatever their number."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for event in events:
        if event.subject_id is not None:
            wanted[event.subject_type].add(event.subject_id)
    found: dict[tuple[str, int | None], Subject] = {}
    for event in events:  # subjects named without a query: a calendar year, the time limits
        if event.subject_type == CalendarYear.__tablename__ and event.subject_id is not None:
            found[(event.subject_type, event.subject_id)] = Subject(
                str(SUBJECT_KINDS[event.subject_type]), str(event.subject_id),
                url_for("calendar.year", year=event.subject_id))
        elif event.subject_type == TimeLimitSetting.__tablename__:
            found[(event.subject_type, event.subject_id)] = Subject(
                "", str(SUBJECT_KINDS[event.subject_type]), url_for("calendar.time_limits"))
    for table, ids in wanted.items():
        if table not in SUBJECTS:
            continue
        model, endpoint, argument = SUBJECTS[table]
        kind = str(SUBJECT_KINDS[table])
        for record in db.session.scalars(select(model).where(model.id.in_(ids))):
            url = url_for(endpoint, **{argument: record.id}) if endpoint else None
            found[(table, record.id)] = Subject(kind, _name(record), url)
    return found
