"""Registering and updating companies; shared by the pages, the import and the API."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import joinedload

from servicedesk import audit
from servicedesk.domain import credit_code
from servicedesk.domain.credit_code import CreditCodeError, Problem
from servicedesk.extensions import db
from servicedesk.models import AuditEvent, Company

if TYPE_CHECKING:
    from servicedesk.companies.importer import ImportPlan

#: the fields a user may set; credit_code only when registering
EDITABLE_FIELDS = ("name", "short_name", "address", "industry", "contact_person", "contact_phone")

FIELD_LABELS = {
    "credit_code": _l("Credit code"),
    "name": _l("Company name"),
    "short_name": _l("Short name"),
    "address": _l("Address"),
    "industry": _l("Industry"),
    "contact_person": _l("Contact person"),
    "contact_phone": _l("Contact phone"),
}

#: how many of a company's audit events its page shows, newest first
HISTORY_LENGTH = 50


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


def history(company: Company, limit: int = HISTORY_LENGTH) -> list[AuditEvent]:
    """The company's audit events, newest first, with who did it: one statement."""
    return list(db.session.scalars(
        select(AuditEvent)
        .options(joinedload(AuditEvent.actor))
        .where(AuditEvent.subject_type == Company.__tablename__, AuditEvent.subject_id == company.id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ))


def companies_by_code(codes: Iterable[str]) -> dict[str, Company]:
    codes = sorted(set(codes))
    found: dict[str, Company] = {}
    for start in range(0, len(codes), 500):  # keeps each IN list short on every database
        chunk = codes[start:start + 500]
        found.update((c.credit_code, c) for c in db.session.scalars(
            select(Company).where(Company.credit_code.in_(chunk))))
    return found


def prepare_import(data: bytes) -> ImportPlan:
    """Read the workbook and check every row against the registry; writes nothing.

    Raises importer.ImportFileError when the file as a whole cannot be read.
    """
    from servicedesk.companies import importer

    sheet = importer.read_workbook(data)
    return importer.plan(sheet, companies_by_code(importer.credit_codes(sheet)))


@dataclass(frozen=True)
class ImportResult:
    added: int
    updated: int
    unchanged: int
    refused: int


def import_workbook(data: bytes, file_name: str | None = None) -> ImportResult:
    """Check the workbook again (the registry may have moved since the report) and apply it."""
    return apply_import(prepare_import(data), file_name)


def apply_import(plan: ImportPlan, file_name: str | None = None) -> ImportResult:
    """Write the plan's additions and updates, each with its audit event, in the caller's transaction.

    The plan must be fresh (prepared in this transaction): it is not checked again here.
    """
    source = {"import": file_name or ""}
    added = []
    for planned in plan.additions:
        company = Company(credit_code=planned.credit_code, **planned.values)
        db.session.add(company)
        added.append((company, planned))
    db.session.flush()
    for company, planned in added:
        audit.record("company.registered", company, {
            "credit_code": planned.credit_code, **planned.values, **source, "rows": planned.rows,
        })
    for planned in plan.updates:
        company = planned.current
        assert company is not None
        changed = audit.changes(company, {key: new for key, (_old, new) in planned.changes.items()})
        if changed:
            audit.record("company.updated", company, {**changed, **source, "rows": planned.rows})
    return ImportResult(added=len(plan.additions), updated=len(plan.updates),
                        unchanged=len(plan.unchanged), refused=len(plan.refused))
