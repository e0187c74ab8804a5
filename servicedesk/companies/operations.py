"""Registering and updating companies; shared by the pages, the import and the API."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, or_, select

from servicedesk import audit
from servicedesk.domain import credit_code
from servicedesk.domain.credit_code import CreditCodeError, Problem
from servicedesk.extensions import db
from servicedesk.models import Company

#: the fields a user may set; credit_code only when registering
EDITABLE_FIELDS = ("name", "short_name", "address", "industry", "contact_person", "contact_phone")


class CompanyRefused(ValueError):
    """The company cannot be saved; field_errors says why, field by field."""

    def __init__(self, field_errors: dict[str, str]) -> None:
        super().__init__("; ".join(field_errors.values()))
        self.field_errors = field_errors


def explain(error: CreditCodeError) -> str:
    """A message that tells the user what to fix in the code they typed."""
    if error.problem is Problem.EMPTY:
        return _("Enter the 18-character unified social credit code.")
    if error.problem is Problem.LENGTH:
        return _("The credit code must have 18 characters; this one has %(n)d.", n=error.length)
    if error.problem is Problem.CHARACTER:
        return _(
            "Character %(position)d, '%(char)s', cannot appear in a credit code "
            "(only digits and capital letters other than I, O, Z, S and V).",
            position=error.position, char=error.character,
        )
    return _(
        "The check character (the 18th) is '%(found)s' but the first 17 characters call for "
        "'%(expected)s': a character is mistyped.",
        found=error.character, expected=error.expected,
    )


def checked_credit_code(raw: str) -> str:
    try:
        return credit_code.validate(raw)
    except CreditCodeError as error:
        raise CompanyRefused({"credit_code": explain(error)}) from error


def find_by_credit_code(code: str) -> Company | None:
    return db.session.scalar(select(Company).where(Company.credit_code == code))


def clean_values(values: dict[str, Any]) -> dict[str, Any]:
    cleaned = {}
    for field in EDITABLE_FIELDS:
        if field in values:
            value = values[field]
            cleaned[field] = value.strip() or None if isinstance(value, str) else value
    if "name" in cleaned and not cleaned["name"]:
        raise CompanyRefused({"name": _("Enter the company's registered name.")})
    return cleaned


def register_company(raw_code: str, values: dict[str, Any]) -> Company:
    code = checked_credit_code(raw_code)
    cleaned = clean_values(values)
    if "name" not in cleaned:
        raise CompanyRefused({"name": _("Enter the company's registered name.")})
    existing = find_by_credit_code(code)
    if existing is not None:
        raise CompanyRefused({"credit_code": _(
            "A company with this credit code is already registered: %(name)s.", name=existing.name
        )})
    company = Company(credit_code=code, **cleaned)
    db.session.add(company)
    audit.record("company.registered", company, {"credit_code": code, **cleaned})
    return company


def update_company(company: Company, values: dict[str, Any], version_seen: int | None) -> bool:
    """Apply the changes; return whether anything changed. A stale version raises StaleEdit."""
    audit.ensure_not_stale(company, version_seen)
    changed = audit.changes(company, clean_values(values))
    if changed:
        audit.record("company.updated", company, changed)
    return bool(changed)


def search(query: str | None) -> Select[tuple[Company]]:
    """Companies whose name, short name or credit code contains the query, by name."""
    statement = select(Company).order_by(Company.name, Company.id)
    text = (query or "").strip()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(or_(
            Company.name.ilike(pattern, escape="\\"),
            Company.short_name.ilike(pattern, escape="\\"),
            Company.credit_code.ilike(pattern, escape="\\"),
        ))
    return statement

