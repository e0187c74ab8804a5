"""Logging a visit, symposium or survey with the demands raised there, in one transaction."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from servicedesk.demands.operations import (
    VISIT_KINDS,
    DemandRefused,
    NewDemand,
    demand_errors,
    log_demand,
)
from servicedesk.domain.workdays import local_day
from servicedesk.extensions import db
from servicedesk.models import Company, User, Visit

#: the longest text each field of a visit takes
VISIT_TEXT_LIMITS = {"place": 200, "lead_official": 100}


def visit_errors(values: Mapping[str, Any], company_ids: Iterable[int], demands: list[NewDemand],
                 today: date | None = None) -> dict[str, str]:
    """Why the visit cannot be logged, by field; a demand's fields are keyed by their place in the
    list, e.g. "demands-1-title". Empty when it can."""
    errors: dict[str, str] = {}
    kind = values.get("kind")
    if kind not in VISIT_KINDS:
        errors["kind"] = _("Choose what kind of visit it was.")
    visited_on = values.get("visited_on")
    if not isinstance(visited_on, date):
        errors["visited_on"] = _("Give the date of the visit.")
    elif today is not None and visited_on > today:
        errors["visited_on"] = _("This date is still to come: log a visit once it has taken place.")
    if not str(values.get("place") or "").strip():
        errors["place"] = _("Say where the visit took place.")
    if not str(values.get("lead_official") or "").strip():
        errors["lead_official"] = _("Name the official who led the visit.")
    for name, limit in VISIT_TEXT_LIMITS.items():
        if name not in errors and len(str(values.get(name) or "").strip()) > limit:
            errors[name] = _("Write at most %(limit)d characters.", limit=limit)
    wanted = set(company_ids)
    if not wanted:
        errors["company_ids"] = _("Choose the company or companies visited.")
    elif db.session.scalar(select(func.count()).select_from(Company).where(Company.id.in_(wanted))) != len(
            wanted):
        errors["company_ids"] = _("Choose registered companies.")
    source = kind if kind in VISIT_KINDS else "visit"
    for index, new in enumerate(demands):
        for name, message in demand_errors(_with_source(new, source)).items():
            errors[f"demands-{index}-{name}"] = message
    return errors


def _with_source(new: NewDemand, source: str) -> NewDemand:
    return dataclasses.replace(new, source=source)


def log_visit(values: Mapping[str, Any], company_ids: Iterable[int], demands: list[NewDemand], user: User,
              now: datetime) -> Visit:
    """Log the visit with its companies and the demands raised there (each registered, its source
    the visit's kind), all in the caller's transaction.

    values: kind, visited_on (a date), place, lead_official, and optionally officials,
    company_attendees, minutes. Everything is checked before anything is written: a refusal raises
    DemandRefused with messages by field (a demand's as "demands-<index>-<field>").
    """
    company_ids = set(company_ids)
    errors = visit_errors(values, company_ids, demands, local_day(now))
    if errors:
        raise DemandRefused(errors)
    companies = list(db.session.scalars(select(Company).where(Company.id.in_(company_ids))))
    visit = Visit(
        kind=values["kind"], visited_on=values["visited_on"], place=str(values["place"]).strip(),
        lead_official=str(values["lead_official"]).strip(),
        officials=_text_or_none(values.get("officials")),
        company_attendees=_text_or_none(values.get("company_attendees")),
        minutes=_text_or_none(values.get("minutes")),
        created_by_id=user.id, created_at=now, companies=companies,
    )
    db.session.add(visit)
    db.session.flush()
    for new in demands:
        log_demand(_with_source(new, visit.kind), user, now, visit=visit)
    return visit


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).strip() or None
