"""The time limits in the database: reading the ones in force, and the admin's changes to them.

A change applies to deadlines set after it: deadlines keep the working days they were given. Each
change is recorded with who made it and when, on the row and in the audit log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from servicedesk import audit, clock
from servicedesk.domain.time_limits import DEFAULTS, PER_CATEGORY, Limit, TimeLimits, allowed_range
from servicedesk.extensions import db
from servicedesk.models import Category, CategoryTimeLimit, TimeLimitSetting

LABELS = {
    Limit.SIGN: _l("Sign (签收)"),
    Limit.RESPOND_URGENT: _l("Respond (答复), urgent"),
    Limit.RESPOND_NORMAL: _l("Respond (答复), normal"),
    Limit.RESPOND_COMPLEX: _l("Respond (答复), complex"),
    Limit.FEEDBACK: _l("Feedback (回访)"),
    Limit.DUE_SOON: _l("Due soon (yellow card)"),
}

COUNTED_FROM = {
    Limit.SIGN: _l("dispatch"),
    Limit.RESPOND_URGENT: _l("dispatch"),
    Limit.RESPOND_NORMAL: _l("dispatch"),
    Limit.RESPOND_COMPLEX: _l("dispatch"),
    Limit.FEEDBACK: _l("response"),
    Limit.DUE_SOON: _l("before any deadline"),
}


class LimitsRefused(ValueError):
    def __init__(self, field_errors: dict[str, str]) -> None:
        super().__init__("; ".join(field_errors.values()))
        self.field_errors = field_errors


class LimitsChanged(Exception):
    """The limits changed since the form was opened: saving would overwrite someone's change."""


def current() -> TimeLimits:
    """The limits in force: two queries."""
    defaults = {Limit(row.kind): row.working_days for row in db.session.scalars(select(TimeLimitSetting))}
    by_category: dict[int, dict[Limit, int]] = {}
    for row in db.session.scalars(select(CategoryTimeLimit)):
        by_category.setdefault(row.category_id, {})[Limit(row.kind)] = row.working_days
    return TimeLimits({**DEFAULTS, **defaults}, by_category)


def default_rows() -> dict[Limit, TimeLimitSetting]:
    rows = db.session.scalars(select(TimeLimitSetting).options(joinedload(TimeLimitSetting.updated_by)))
    return {Limit(row.kind): row for row in rows}


def category_rows() -> dict[int, dict[Limit, CategoryTimeLimit]]:
    found: dict[int, dict[Limit, CategoryTimeLimit]] = {}
    rows = db.session.scalars(
        select(CategoryTimeLimit).options(joinedload(CategoryTimeLimit.updated_by)))
    for row in rows:
        found.setdefault(row.category_id, {})[Limit(row.kind)] = row
    return found


def fingerprint(values: Mapping[Limit, int | None]) -> str:
    """A short digest of limits as seen, sent back with a form to catch a change made meanwhile."""
    text = ";".join(f"{limit.value}={values.get(limit)}" for limit in Limit)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _checked(values: Mapping[Limit, int | None], allow_empty: bool) -> None:
    errors = {}
    for limit, value in values.items():
        if value is None:
            if not allow_empty:
                errors[limit.value] = _("Enter a number of working days.")
            continue
        low, high = allowed_range(limit)
        if not low <= value <= high:
            errors[limit.value] = _("Enter a whole number from %(low)d to %(high)d.", low=low, high=high)
    if errors:
        raise LimitsRefused(errors)


@dataclass(frozen=True)
class Saved:
    #: limit -> [before, after] for the limits that changed (None: the default applies)
    changed: dict[str, list[int | None]]


def set_defaults(values: Mapping[Limit, int], seen: str | None) -> Saved:
    """Set the default limits given; refused if any is out of range or the limits changed since."""
    _checked(values, allow_empty=False)
    rows = default_rows()
    if seen is not None and seen != fingerprint({limit: row.working_days for limit, row in rows.items()}):
        raise LimitsChanged
    changed: dict[str, list[int | None]] = {}
    for limit, value in values.items():
        row = rows.get(limit)
        if row is None:
            row = TimeLimitSetting(kind=limit.value, working_days=DEFAULTS[limit])
            db.session.add(row)
        if row.working_days != value:
            changed[limit.value] = [row.working_days, value]
            row.working_days = value
            row.updated_at = clock.now()
            row.updated_by = audit.acting_user()
    if changed:
        audit.record("time_limits.updated", TimeLimitSetting.__tablename__, changed)
    return Saved(changed)


def category_fingerprint(category_id: int) -> str:
    rows = category_rows().get(category_id, {})
    return fingerprint({limit: row.working_days for limit, row in rows.items()})


def set_category_limits(category: Category, values: Mapping[Limit, int | None], seen: str | None) -> Saved:
    """Set the category's own limits; None removes one, so the default applies again."""
    unknown = [limit for limit in values if limit not in PER_CATEGORY]
    if unknown:
        raise LimitsRefused({unknown[0].value: _("This limit is the same for every category.")})
    _checked(values, allow_empty=True)
    rows = category_rows().get(category.id, {})
    if seen is not None and seen != fingerprint({limit: row.working_days for limit, row in rows.items()}):
        raise LimitsChanged
    changed: dict[str, list[int | None]] = {}
    for limit, value in values.items():
        row = rows.get(limit)
        before = row.working_days if row else None
        if before == value:
            continue
        changed[limit.value] = [before, value]
        if value is None and row is not None:
            db.session.delete(row)
            continue
        if row is None:
            row = CategoryTimeLimit(category_id=category.id, kind=limit.value, working_days=value)
            db.session.add(row)
        row.working_days = value  # type: ignore[assignment]
        row.updated_at = clock.now()
        row.updated_by = audit.acting_user()
    if changed:
        audit.record("time_limits.category_updated", category, changed)
    return Saved(changed)


def as_document() -> dict[str, Any]:
    """The limits in force as the API shows them."""
    limits = current()
    return {
        "defaults": {limit.value: days for limit, days in limits.defaults.items()},
        "categories": [
            {"category_id": category_id, "limits": {limit.value: days for limit, days in own.items()}}
            for category_id, own in sorted(limits.by_category.items())
        ],
    }


def replace_all(defaults: Mapping[str, int], categories: list[dict[str, Any]] | None) -> None:
    """Set every default, and (when given) every category's own limits: a category left out has none."""
    missing = [limit.value for limit in Limit if limit.value not in defaults]
    if missing:
        raise LimitsRefused({f"defaults.{name}": _("Enter a number of working days.") for name in missing})
    try:
        set_defaults({Limit(name): days for name, days in defaults.items()}, seen=None)
    except LimitsRefused as refused:
        raise LimitsRefused({f"defaults.{name}": message
                             for name, message in refused.field_errors.items()}) from refused
    if categories is None:
        return
    given = {entry["category_id"]: entry["limits"] for entry in categories}
    wanted = set(given) | set(category_rows())
    found = {category.id: category for category in db.session.scalars(
        select(Category).where(Category.id.in_(wanted)))}
    unknown = sorted(set(given) - set(found))
    if unknown:
        raise LimitsRefused({"categories": _("No category has the id %(id)d.", id=unknown[0])})
    for category_id in sorted(wanted):
        own = given.get(category_id, {})
        try:
            set_category_limits(found[category_id], {limit: own.get(limit.value) for limit in PER_CATEGORY},
                                seen=None)
        except LimitsRefused as refused:
            raise LimitsRefused({f"categories.{category_id}.{name}": message
                                 for name, message in refused.field_errors.items()}) from refused
