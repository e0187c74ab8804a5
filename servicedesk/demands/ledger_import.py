"""Taking in the demand ledger (台账) the office kept before the desk: columns, checks, plan, import.

The ledger comes as it is: a merged title row above the header, the zone's own words for states
and sources, companies by credit code and departments by name or short name. Its columns are
mapped to the desk's fields once per shape of file: the mapping is remembered by a digest of the
header row (ImportMapping). Every row is then checked against the registry, the departments and
the categories, and `prepare` says row by row what an import would create, what it refuses and
why, and what was imported before; `apply_plan` creates the valid rows in the caller's
transaction. No Flask views here (demands.import_routes).

What the ledger does not say stays empty: when a demand was dispatched, responded to or closed.
The deadlines of the step a demand is at are counted from the day of the import, with the time
limits in force, so that the chaser chases it from then on.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from servicedesk import audit, spreadsheets
from servicedesk.calendar import importer as calendar_importer
from servicedesk.calendar import limits as time_limits
from servicedesk.calendar import store as calendar_store
from servicedesk.companies.importer import same_name
from servicedesk.companies.operations import companies_by_code, explain
from servicedesk.demands import operations
from servicedesk.domain import credit_code
from servicedesk.domain.credit_code import CreditCodeError, Problem
from servicedesk.domain.lifecycle import CloseReason, Feedback, State
from servicedesk.domain.time_limits import TimeLimits, Urgency
from servicedesk.domain.workdays import FIRST_YEAR, ZONE, WorkingCalendar, local_day
from servicedesk.extensions import db
from servicedesk.models import Category, Company, Demand, Department, ImportMapping, User
from servicedesk.spreadsheets import HeaderRow, ImportFileError, Sheet, SheetRow, header_key

__all__ = ["ImportFileError", "LedgerPlan", "apply_plan", "prepare", "read_header"]

#: the desk's fields a ledger column can fill, in the order the mapping screen shows them
FIELDS = ("company_name", "credit_code", "raised_on", "source", "category", "title", "description",
          "lead_department", "co_departments", "state", "response", "feedback")
#: without a column for each of these no demand can be made
REQUIRED = ("credit_code", "raised_on", "category", "description", "state")

FIELD_LABELS = {
    "company_name": _l("Company name"),
    "credit_code": _l("Credit code"),
    "raised_on": _l("Date raised"),
    "source": _l("Source"),
    "category": _l("Category"),
    "title": _l("Title"),
    "description": _l("Description"),
    "lead_department": _l("Lead department"),
    "co_departments": _l("Co-departments"),
    "state": _l("State"),
    "response": _l("Response"),
    "feedback": _l("Feedback"),
}

#: the usual headers of each field, the zone's ledger first; compared after header_key()
HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "company_name": ("企业名称", "企业", "企业全称", "公司名称", "公司", "单位名称", "company",
                     "company name"),
    "credit_code": ("统一社会信用代码", "社会信用代码", "信用代码", "credit code",
                    "unified social credit code"),
    "raised_on": ("提出时间", "提出日期", "诉求时间", "诉求日期", "反映时间", "受理时间", "登记时间",
                  "日期", "date raised", "raised on", "date"),
    "source": ("诉求来源", "来源", "诉求渠道", "渠道", "source", "channel"),
    "category": ("诉求类别", "诉求类型", "诉求分类", "类别", "类型", "分类", "category"),
    "title": ("诉求标题", "标题", "事项名称", "诉求事项", "title"),
    "description": ("诉求内容", "内容", "具体诉求", "问题描述", "诉求描述", "description"),
    "lead_department": ("牵头单位", "牵头部门", "责任单位", "责任部门", "承办单位", "lead department"),
    "co_departments": ("配合单位", "配合部门", "协办单位", "协办部门", "co-departments",
                       "co departments"),
    "state": ("办理状态", "状态", "办理进度", "进度", "state", "status"),
    "response": ("办理情况", "答复情况", "办理结果", "答复内容", "response"),
    "feedback": ("企业满意度", "满意度", "企业评价", "评价", "feedback", "satisfaction"),
}

LAYOUT = spreadsheets.Layout(
    synonyms=HEADER_SYNONYMS,
    required=REQUIRED,
    no_header_message=lambda: _(
        "No header row found: one of the first %(n)d rows must name the columns.",
        n=spreadsheets.HEADER_SEARCH_ROWS),
)

# The ledger's words for the desk's values; compared after header_key(), the desk's codes too.
SOURCE_WORDS: dict[str, tuple[str, ...]] = {
    "visit": ("走访", "实地走访", "上门走访"),
    "symposium": ("座谈会", "座谈"),
    "survey": ("调研", "专题调研"),
    "hotline": ("12345热线", "热线", "电话"),
    "letter": ("来信", "信件"),
    "online": ("网上", "网络", "网站"),
    "other": ("其他",),
}
STATE_WORDS: dict[State, tuple[str, ...]] = {
    State.REGISTERED: ("未交办", "已登记", "待交办"),
    State.ASSIGNED: ("已交办", "待签收"),
    State.ACCEPTED: ("办理中", "已签收"),
    State.RESPONDED: ("已答复",),
    State.CLOSED: ("已办结", "办结"),
}
FEEDBACK_WORDS: dict[Feedback, tuple[str, ...]] = {
    Feedback.SATISFIED: ("满意", "非常满意"),
    Feedback.BASICALLY_SATISFIED: ("基本满意", "比较满意"),
    Feedback.UNSATISFIED: ("不满意",),
}
#: a demand that came in without a source column
DEFAULT_SOURCE = "other"
#: the ledger has no urgency: every demand is normal, as an officer would dispatch it
URGENCY = Urgency.NORMAL
#: a title made from the description is cut near this many characters
TITLE_LENGTH = 40
TITLE_MAX = operations.DEMAND_TEXT_LIMITS["title"]
#: where a title is best cut, the end of a clause first
_BOUNDARIES = "。；！？;!?，、,：: "
#: the time of day a date raised may carry (a date cell with a time reads 2026-05-14T10:30:00)
_TIME_OF_DAY = re.compile(r"(?:T|\s+)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")
_LIST_SEPARATORS = re.compile(r"[、,，;；/\s]+")
#: rows of the file shown under the column mapping
PREVIEW_ROWS = 3
#: IN lists are cut to this length, on every database
_CHUNK = 500


@dataclass(frozen=True)
class Vocabulary:
    """The ledger's words for the values of a field."""

    #: header_key(word) -> the desk's value; the desk's own codes are words too
    values: Mapping[str, str]
    #: the usual word of each value, for a refusal to list
    usual: tuple[str, ...]

    @classmethod
    def of(cls, table: Mapping[str, tuple[str, ...]]) -> Vocabulary:
        values = {header_key(value): str(value) for value in table}
        values.update((header_key(word), str(value)) for value, words in table.items() for word in words)
        return cls(values, tuple(words[0] for words in table.values()))


_SOURCES = Vocabulary.of(SOURCE_WORDS)
_STATES = Vocabulary.of(STATE_WORDS)
_FEEDBACK = Vocabulary.of(FEEDBACK_WORDS)


# The columns

def read_header(data: bytes) -> HeaderRow:
    """The header row of the uploaded ledger (.xlsx or CSV); ImportFileError if there is none."""
    return spreadsheets.read_header_row(data, LAYOUT, csv_allowed=True)


def signature(header: HeaderRow) -> str:
    """What a file's shape is remembered by: a digest of its header row as written."""
    return hashlib.sha256(json.dumps(header.headers, ensure_ascii=False).encode()).hexdigest()


def header_choices(header: HeaderRow) -> list[str]:
    """The headers a field can be mapped to: each column once (the first of two that read alike)."""
    seen: set[str] = set()
    choices = []
    for text in header.headers:
        key = header_key(text)
        if key and key not in seen:
            seen.add(key)
            choices.append(text)
    return choices


def guess_columns(header: HeaderRow) -> dict[str, str]:
    """Field -> header, for the headers that go by a usual name (each column to one field)."""
    by_header = LAYOUT.field_by_header()
    columns: dict[str, str] = {}
    for text in header_choices(header):
        name = by_header.get(header_key(text))
        if name is not None and name not in columns:
            columns[name] = text
    return columns


def column_problems(columns: Mapping[str, str], header: HeaderRow) -> dict[str, str]:
    """Why a mapping cannot be used with this header row, by field; empty when it can."""
    available = {header_key(text): text for text in header_choices(header)}
    problems: dict[str, str] = {}
    used: dict[str, str] = {}
    for name in FIELDS:
        chosen = columns.get(name)
        if not chosen:
            if name in REQUIRED:
                problems[name] = _("Choose the column that holds this.")
            continue
        key = header_key(chosen)
        if key not in available:
            problems[name] = _("The file has no column “%(header)s”.", header=chosen)
        elif key in used:
            problems[name] = _("“%(header)s” is already chosen for %(field)s: each column fills one "
                               "field.", header=chosen, field=FIELD_LABELS[used[key]])
        else:
            used[key] = name
    return problems


def remembered(header: HeaderRow) -> ImportMapping | None:
    """The mapping saved for files with exactly this header row."""
    return db.session.scalar(select(ImportMapping).where(ImportMapping.signature == signature(header)))


def usable_mapping(header: HeaderRow) -> ImportMapping | None:
    """The remembered mapping, if it still fits the header row and the fields the desk requires."""
    mapping = remembered(header)
    if mapping is None or column_problems(mapping.columns, header):
        return None
    return mapping


def remember_columns(header: HeaderRow, columns: Mapping[str, str], user: User, now: datetime,
                     file_name: str) -> ImportMapping:
    """Save the mapping for files with this header row, with its audit event (unless unchanged)."""
    chosen = {name: columns[name] for name in FIELDS if columns.get(name)}
    mapping = remembered(header)
    if mapping is not None and mapping.columns == chosen:
        return mapping
    if mapping is None:
        mapping = ImportMapping(signature=signature(header))
        db.session.add(mapping)
    mapping.columns, mapping.updated_by_id, mapping.updated_at = chosen, user.id, now
    audit.record("import_mapping.saved", mapping, {"file": file_name, "columns": chosen}, actor=user)
    return mapping


def read_rows(data: bytes, columns: Mapping[str, str]) -> Sheet:
    """The ledger's rows, by field, read from the columns the officer chose."""
    layout = spreadsheets.Layout.of_columns(columns, lambda: _(
        "The columns chosen for this file are not all in it: choose them again."))
    return spreadsheets.read_table(data, layout, csv_allowed=True)


def preview(data: bytes, header: HeaderRow, rows: int = PREVIEW_ROWS) -> list[list[str]]:
    """The first rows of the file under each of header_choices(), to show what the columns hold."""
    choices = header_choices(header)
    sheet = read_rows(data, {str(index): text for index, text in enumerate(choices)})
    return [[row.values[str(index)] for index in range(len(choices))] for row in sheet.rows[:rows]]


# The registry the rows are checked against, looked up in bulk

@dataclass
class Registry:
    companies: dict[str, Company]
    #: header_key of the Chinese or English name -> active category
    categories: dict[str, Category]
    #: header_key of the name or the short name -> active department (names win)
    departments: dict[str, Department]


def registry_for(sheet: Sheet) -> Registry:
    """Companies by the codes the sheet gives, every active category and department: three queries
    for a ledger of up to 500 companies."""
    codes = set()
    for row in sheet.rows:
        with contextlib.suppress(CreditCodeError):
            codes.add(credit_code.validate(row.values.get("credit_code", "")))
    categories: dict[str, Category] = {}
    for category in db.session.scalars(select(Category).where(Category.active)
                                       .order_by(Category.position, Category.id)):
        categories.setdefault(header_key(category.name_en), category)
        categories[header_key(category.name)] = category
    departments: dict[str, Department] = {}
    active = list(db.session.scalars(select(Department).where(Department.active).order_by(Department.id)))
    for department in active:
        departments.setdefault(header_key(department.short_name), department)
    departments.update((header_key(department.name), department) for department in active)
    return Registry(companies_by_code(codes), categories, departments)


def imported_numbers(keys: Iterable[str]) -> dict[str, str]:
    """Import key -> the number of the demand already made from such a row."""
    wanted = sorted(set(keys))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), _CHUNK):
        rows = db.session.execute(select(Demand.import_key, Demand.number)
                                  .where(Demand.import_key.in_(wanted[start:start + _CHUNK])))
        found.update((key, number) for key, number in rows)
    return found


# One row

@dataclass
class LedgerRow:
    """One row of the ledger: as written, what the desk makes of it, and what is wrong with it."""

    number: int
    values: Mapping[str, str]
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    company: Company | None = None
    raised_on: date | None = None
    source: str = DEFAULT_SOURCE
    category: Category | None = None
    title: str = ""
    description: str = ""
    lead: Department | None = None
    co: list[Department] = field(default_factory=list)
    state: State | None = None
    response: str | None = None
    feedback: Feedback | None = None
    #: the digest of its content, for a valid row (import_key)
    key: str | None = None
    #: the demand made from the same row by an earlier import
    imported_as: str | None = None

    @property
    def label(self) -> str:
        """The company as the ledger names it."""
        return self.values.get("company_name") or self.values.get("credit_code") or ""


def check_row(row: SheetRow, registry: Registry, today: date) -> LedgerRow:
    """Read every cell of the row and note every problem, not only the first."""
    checked = LedgerRow(row.number, row.values)
    _check_company(checked, registry)
    checked.raised_on = _checked_day(checked, today)
    if "source" in row.values:
        checked.source = _choice(checked, "source", _SOURCES, _("The source is missing.")) or DEFAULT_SOURCE
    _check_category(checked, registry)
    _check_text(checked)
    state = _choice(checked, "state", _STATES, _("The state is missing."))
    checked.state = State(state) if state else None
    _check_departments(checked, registry)
    feedback = _choice(checked, "feedback", _FEEDBACK, None)
    checked.feedback = Feedback(feedback) if feedback else None
    checked.response = row.values.get("response") or None
    if not checked.reasons:
        checked.key = import_key(checked)
    return checked


def _check_company(row: LedgerRow, registry: Registry) -> None:
    raw = row.values.get("credit_code", "")
    try:
        code = credit_code.validate(raw)
    except CreditCodeError as error:
        row.reasons.append(_("The credit code is missing.") if error.problem is Problem.EMPTY
                           else explain(error))
        return
    row.company = registry.companies.get(code)
    if row.company is None:
        row.reasons.append(_("No company is registered with the credit code %(code)s. Register it "
                             "first: the companies import reads this same ledger.", code=code))
        return
    name = row.values.get("company_name", "")
    if name and not any(same_name(name, known) for known in (row.company.name, row.company.short_name)):
        row.warnings.append(_("The ledger names the company “%(name)s”; the credit code is "
                              "registered to “%(registered)s”, which the demand will belong to.",
                              name=name, registered=row.company.name))


def parse_day(text: str) -> date | None:
    """A day written as the calendar import reads it (2026-05-14, 2026/5/14, 2026年5月14日, a date
    cell), with or without a time of day."""
    return calendar_importer.parse_day(_TIME_OF_DAY.sub("", text.strip()))


def _checked_day(row: LedgerRow, today: date) -> date | None:
    text = row.values.get("raised_on", "")
    if not text:
        row.reasons.append(_("The date raised is missing."))
        return None
    day = parse_day(text)
    if day is None:
        row.reasons.append(_("“%(value)s” is not a date: write it as 2026-05-14 or 2026年5月14日.",
                             value=text))
    elif not date(FIRST_YEAR, 1, 1) <= day <= today:
        row.reasons.append(_("The date raised, %(day)s, must lie between %(first)s and today.",
                             day=day.isoformat(), first=date(FIRST_YEAR, 1, 1).isoformat()))
        return None
    return day


def _choice(row: LedgerRow, name: str, vocabulary: Vocabulary, missing: str | None) -> str | None:
    """The desk's value for the cell; a reason when it is empty (unless it may be) or unknown."""
    text = row.values.get(name, "")
    if not text:
        if missing is not None:
            row.reasons.append(missing)
        return None
    value = vocabulary.values.get(header_key(text))
    if value is None:
        row.reasons.append(_("%(field)s “%(value)s” is not known to the desk: write one of %(words)s.",
                             field=FIELD_LABELS[name], value=text, words="、".join(vocabulary.usual)))
    return value


def _check_category(row: LedgerRow, registry: Registry) -> None:
    text = row.values.get("category", "")
    if not text:
        row.reasons.append(_("The category is missing."))
        return
    row.category = registry.categories.get(header_key(text))
    if row.category is None:
        names = dict.fromkeys(category.name for category in registry.categories.values())
        row.reasons.append(_("Category “%(value)s” is not one of the desk's: write one of %(names)s "
                             "(an administrator can add categories).", value=text,
                             names="、".join(names)))


def _check_text(row: LedgerRow) -> None:
    row.description = row.values.get("description", "")
    if not row.description:
        row.reasons.append(_("The description is missing."))
    title = row.values.get("title", "")
    if len(title) > TITLE_MAX:
        row.reasons.append(_("The title has %(n)d characters; at most %(max)d are allowed.",
                             n=len(title), max=TITLE_MAX))
    row.title = title or title_from(row.description)


def _check_departments(row: LedgerRow, registry: Registry) -> None:
    lead = row.values.get("lead_department", "")
    if lead:
        row.lead = registry.departments.get(header_key(lead))
        if row.lead is None:
            row.reasons.append(_("Lead department “%(value)s” is not a department of the desk: write "
                                 "its name or short name.", value=lead))
    elif row.state is not None and row.state is not State.REGISTERED:
        row.reasons.append(_("The lead department is missing: a demand that has been dispatched has "
                             "one."))
    for text in _LIST_SEPARATORS.split(row.values.get("co_departments", "")):
        if not text:
            continue
        department = registry.departments.get(header_key(text))
        if department is None:
            row.reasons.append(_("Co-department “%(value)s” is not a department of the desk: write "
                                 "its name or short name.", value=text))
        elif department != row.lead and department not in row.co:
            row.co.append(department)


def title_from(description: str) -> str:
    """The description's first line, cut near TITLE_LENGTH characters at the end of a clause."""
    line = next((line.strip() for line in description.splitlines() if line.strip()), "")
    if len(line) <= TITLE_LENGTH:
        return line
    cut = line[:TITLE_LENGTH]
    boundary = max(cut.rfind(mark) for mark in _BOUNDARIES)
    if boundary >= TITLE_LENGTH // 2:
        cut = cut[:boundary]
    return cut.rstrip() + "…"


def _content_key(text: str | None) -> str:
    return " ".join(unicodedata.normalize("NFKC", text or "").split())


def import_key(row: LedgerRow) -> str:
    """A digest of what the row says, as the desk understands it, and not where it stands: the
    same file imported again, or sorted otherwise, gives the same keys."""
    assert row.company is not None and row.raised_on and row.category and row.state
    content = [
        row.company.credit_code, row.raised_on.isoformat(), row.source, row.category.id,
        _content_key(row.description), row.lead.id if row.lead else None,
        sorted(department.id for department in row.co), row.state.value,
        _content_key(row.response), row.feedback.value if row.feedback else None,
    ]
    return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()


# The plan

@dataclass
class LedgerPlan:
    sheet: Sheet
    columns: dict[str, str]
    to_create: list[LedgerRow]
    refused: list[LedgerRow]
    #: valid rows an earlier import made demands of (LedgerRow.imported_as)
    already_imported: list[LedgerRow]

    @property
    def digest(self) -> str:
        """What the officer confirms: the columns and the rows to create. The confirmation is
        refused when a fresh check of the file gives another digest."""
        content = [sorted(self.columns.items()), [(row.number, row.key) for row in self.to_create]]
        return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()

    def by_state(self) -> list[tuple[State, int]]:
        counts = Counter(row.state for row in self.to_create)
        return [(state, counts[state]) for state in State if counts[state]]

    @property
    def warnings(self) -> int:
        return sum(1 for row in self.to_create if row.warnings)


def plan(sheet: Sheet, columns: Mapping[str, str], rows: list[LedgerRow],
         imported: Mapping[str, str]) -> LedgerPlan:
    """Sort checked rows: a valid row repeating an earlier one of the file is refused, one an
    earlier import made a demand of is skipped, the rest are to be created."""
    result = LedgerPlan(sheet, dict(columns), [], [], [])
    first_with_key: dict[str, int] = {}
    for row in rows:
        if row.key is not None and row.key in first_with_key:
            row.reasons.append(_("This row repeats row %(row)d.", row=first_with_key[row.key]))
        if row.reasons:
            result.refused.append(row)
            continue
        assert row.key is not None
        first_with_key[row.key] = row.number
        row.imported_as = imported.get(row.key)
        (result.already_imported if row.imported_as else result.to_create).append(row)
    return result


def prepare(data: bytes, columns: Mapping[str, str], today: date) -> LedgerPlan:
    """Read the ledger with the chosen columns and check every row; writes nothing.

    Raises ImportFileError when the file cannot be read with these columns.
    """
    sheet = read_rows(data, columns)
    registry = registry_for(sheet)
    rows = [check_row(row, registry, today) for row in sheet.rows]
    imported = imported_numbers(row.key for row in rows if row.key)
    return plan(sheet, columns, rows, imported)


# Applying a plan

@dataclass(frozen=True)
class ImportResult:
    created: int
    refused: int
    already_imported: int


IMPORTED = "imported"


def apply_plan(plan: LedgerPlan, user: User, now: datetime, file_name: str) -> ImportResult:
    """Create a demand for each row of the plan, with its 'imported' event, in the caller's
    transaction; numbered per year of the date raised, in the order they were raised.

    The plan must be fresh (prepared in this transaction): it is not checked again here.
    """
    calendar = calendar_store.working_calendar()
    limits = time_limits.current()
    numbers = _Numbers()
    made = []
    for row in sorted(plan.to_create, key=lambda row: (row.raised_on, row.number)):
        demand = _demand_of(row, numbers, user, now)
        _set_deadlines(demand, calendar, limits, local_day(now))
        db.session.add(demand)
        made.append((demand, row))
    db.session.flush()
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")):  # as the desk speaks
        for demand, row in made:
            operations.append_officer_event(
                demand, IMPORTED, user, State(demand.state), now,
                text=_("Taken in from the old ledger: row %(row)d of %(file)s.", row=row.number,
                       file=file_name or "—"),
                details=_event_details(row, file_name))
    return ImportResult(len(made), len(plan.refused), len(plan.already_imported))


class _Numbers:
    """The next demand numbers of each year: one query per year, not per demand."""

    def __init__(self) -> None:
        self._following: dict[int, int] = {}

    def next(self, year: int) -> str:
        if year not in self._following:
            self._following[year] = int(operations.next_number(year).removeprefix(f"{year}-"))
        sequence = self._following[year]
        self._following[year] += 1
        return f"{year}-{sequence:04d}"


def _demand_of(row: LedgerRow, numbers: _Numbers, user: User, now: datetime) -> Demand:
    assert row.company and row.category and row.state and row.raised_on
    state = row.state
    dispatched = state is not State.REGISTERED
    return Demand(
        number=numbers.next(row.raised_on.year), company_id=row.company.id, source=row.source,
        category_id=row.category.id, title=row.title, description=row.description,
        urgency=URGENCY.value, state=state.value,
        # a registered demand waits for its dispatch: the ledger's departments stay in the event
        lead_department=row.lead if dispatched else None, co_departments=row.co if dispatched else [],
        # the officer who takes a dispatched demand in stands for its dispatcher: the chaser asks them
        # for the company's feedback and they may decide an extension; when stays unknown
        dispatched_by_id=user.id if dispatched else None,
        response_text=row.response, feedback=row.feedback.value if row.feedback else None,
        close_reason=_close_reason(row) if state is State.CLOSED else None,
        import_key=row.key, created_by_id=user.id,
        # the lists and the ages count from the day the company raised it
        created_at=datetime.combine(row.raised_on, time.min, ZONE), updated_at=now,
    )


def _close_reason(row: LedgerRow) -> str | None:
    """Satisfied feedback closes a demand as such; the ledger's other closings give no reason."""
    if row.feedback in (Feedback.SATISFIED, Feedback.BASICALLY_SATISFIED):
        return CloseReason(row.feedback.value).value
    return None


def _set_deadlines(demand: Demand, calendar: WorkingCalendar, limits: TimeLimits, today: date) -> None:
    """The deadline of the step the demand is at, counted from today as a dispatch or a response
    today would count it: the ledger does not say when it was dispatched or answered."""
    state = State(demand.state)
    category_id = demand.category_id
    if state is State.ASSIGNED:
        operations.store_deadline(demand, "sign", calendar.deadline(today, limits.sign(category_id)))
    if state in (State.ASSIGNED, State.ACCEPTED):
        operations.store_deadline(demand, "respond",
                                  calendar.deadline(today, limits.respond(URGENCY, category_id)))
    if state is State.RESPONDED:
        operations.store_deadline(demand, "feedback",
                                  calendar.deadline(today, limits.feedback(category_id)))
    operations.update_current_deadline(demand)


def _event_details(row: LedgerRow, file_name: str) -> dict[str, object]:
    return {"row": row.number, "file": file_name, "state": row.values.get("state", ""),
            "lead_department": row.lead.name if row.lead else None,
            "co_departments": [department.name for department in row.co]}
