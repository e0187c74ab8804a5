"""The list of demands in Excel: the ledger (台账), the problem list (问题清单), the task list
(任务清单) and the responsibility list (责任清单).

Each export reads the list page's query string (`DemandFilters.from_args`) and builds its demands
with `demand_query`, so it holds exactly the demands the list shows, in the list's order, and a
handler's export only their departments' demands. Each sheet is one statement of plain rows (Core,
not ORM objects: loading objects cost more than writing the sheet): the list's statement with the
sheet's own columns and joins. A demand's co-departments come as one aggregated column, the tasks
and the responsibilities as a union ordered in SQL, the problem list's moments as Beijing
wall-clock time (`BeijingTime`), which is what the sheet shows, and the ledger's days and moments as
the very numbers its cells hold, Excel's serials of them in Beijing time (`DaySerial`,
`MomentSerial`). The rows are fetched in
batches (`yield_per`, a server-side cursor on PostgreSQL) and written as they come
(`workbooks.xlsx_response`): the number of SQL statements is the same whatever the number of rows,
and the memory used stays flat.

Each sheet is a table of `Field`s: a header, a width, a kind and the value for a row, so that a
column's header and its values cannot drift apart. A value is the row's column of that name, as it
is or by its translated label (`Labelled`), or what a function makes of the row; the columns are
picked from the row all at once (the row a named tuple: a database row's attribute is a lookup
by name) and only the functions cost a call per cell.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import Any, Generic, TypeVar

from flask import Response, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import (
    DateTime,
    Float,
    Integer,
    Result,
    Select,
    String,
    Subquery,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased, join
from sqlalchemy.sql.functions import FunctionElement

from servicedesk import clock
from servicedesk.calendar.store import working_calendar
from servicedesk.chaser.messages import ESCALATION_LEVELS
from servicedesk.demands import bp
from servicedesk.demands.forms import (
    ACTION_LABELS,
    CLOSE_REASON_LABELS,
    FEEDBACK_LABELS,
    OUTCOME_LABELS,
    SOURCE_LABELS,
    STEP_LABELS,
    SYSTEM_EVENT_LABELS,
    URGENCY_LABELS,
)
from servicedesk.demands.operations import STATE_LABELS
from servicedesk.demands.search import CardWindow, DemandFilters, card_window, demand_query
from servicedesk.domain.lifecycle import State
from servicedesk.domain.workdays import DAY, ZONE, WorkingCalendar
from servicedesk.extensions import db
from servicedesk.i18n import is_chinese
from servicedesk.models import (
    Category,
    Company,
    Demand,
    DemandEvent,
    Department,
    ExtensionRequest,
    Milestone,
    Role,
    User,
    Visit,
)
from servicedesk.models.demand import demand_co_departments
from servicedesk.security import signed_in
from servicedesk.workbooks import EXCEL_EPOCH, Column, excel_day, xlsx_response

#: rows fetched per round trip; a row is a tuple of plain values, so a batch weighs little
BATCH_SIZE = 2000

#: the states in which the lead department owes a step (sign, then respond)
DEPARTMENT_STATES = (State.ASSIGNED.value, State.ACCEPTED.value)

ROLE_LABELS = {"lead": _l("Lead department"), "co": _l("Co-department")}
YES, NO = _l("yes"), _l("no")
YES_NO = {True: YES, False: NO}
DONE, TO_DO, OVERDUE = _l("Done"), _l("To do"), _l("Overdue")

Row = TypeVar("Row")


# What every sheet shares

@dataclass
class Context:
    """What the values of a sheet are read against, set once per export."""

    today: date
    chinese: bool
    #: working days between two days (the ledger's days taken)
    days: WorkingDayCount | None = None
    #: every department's name by its id (the ledger's co-departments)
    departments: Mapping[int, str] = field(default_factory=dict)
    #: each message translated once per export, not once per cell
    _texts: dict[int, str] = field(default_factory=dict, repr=False)
    _labels: dict[int, Labels] = field(default_factory=dict, repr=False)
    #: the co-departments' names by their ids as the database aggregated them, this export's
    _names: dict[str, str] = field(default_factory=dict, repr=False)
    #: Excel's serial of today
    today_serial: int = field(init=False)

    def __post_init__(self) -> None:
        self.today_serial = excel_day(self.today)

    def text(self, message: Any) -> str:
        """str() of a lazy translation (a module constant), remembered."""
        found = self._texts.get(id(message))
        if found is None:
            found = self._texts[id(message)] = str(message)
        return found

    def labels(self, messages: Mapping[Any, Any]) -> Labels:
        """The labels of stored values (a module constant) translated, remembered: labels[value]."""
        found = self._labels.get(id(messages))
        if found is None:
            found = self._labels[id(messages)] = Labels(messages)
        return found

    def yes_no(self, flag: bool) -> str:
        return self.text(YES if flag else NO)

    def overdue(self, due: date | None) -> bool:
        return due is not None and due < self.today

    def names(self, department_ids: str | None) -> str | None:
        """The departments' names in the order of their ids, from the ids aggregated as text."""
        if not department_ids:
            return None
        found = self._names.get(department_ids)
        if found is None:
            ids = sorted(int(number) for number in department_ids.split(","))
            found = self._names[department_ids] = ("、" if self.chinese else ", ").join(
                self.departments[number] for number in ids)
        return found


class Labels(dict[Any, str | None]):
    """Stored values' labels, translated: labels[value]. A value without one shows as itself (old
    data), an empty one as nothing."""

    def __init__(self, messages: Mapping[Any, Any]) -> None:
        super().__init__({value: str(message) for value, message in messages.items()})
        self[None] = self[""] = None

    def __missing__(self, value: Any) -> str:
        return str(value)


@dataclass(frozen=True)
class Labelled:
    """The row's column of that name, shown by its label."""

    column: str
    messages: Mapping[Any, Any]


@dataclass(frozen=True)
class Field(Generic[Row]):
    """A column of a sheet: its header, width and kind, and its value for a row: the row's column
    of that name as it is or by its label, or what a function makes of the row."""

    label: Any
    width: int
    kind: str
    value: str | Labelled | Callable[[Row, Context], Any]


def _columns(fields: Sequence[Field[Any]]) -> list[Column]:
    return [Column(str(f.label), f.width, f.kind) for f in fields]


def _values(fields: Sequence[Field[Any]], rows: Result[Any], context: Context) -> Iterator[list[Any]]:
    """Each row's values in the order of the fields. The row is made a named tuple (a database
    row's attribute costs a lookup by name, many times a tuple's), its columns are picked all at
    once (a sheet's rows are many: a call per cell is what makes an export slow), then labels
    replace the values they label and the functions fill in their fields."""
    keys = list(rows.keys())
    record = namedtuple("Record", keys)._make
    index = {name: number for number, name in enumerate(keys)}
    columns = [f.value.column if isinstance(f.value, Labelled) else f.value for f in fields]
    picked = [index[column] if isinstance(column, str) else 0 for column in columns]
    pick = itemgetter(*picked) if len(picked) > 1 else lambda row: (row[picked[0]],)
    labelled = [(number, context.labels(f.value.messages)) for number, f in enumerate(fields)
                if isinstance(f.value, Labelled)]
    computed = [(number, f.value) for number, f in enumerate(fields) if callable(f.value)]
    for batch in rows.partitions():  # a batch at a time: no call per row to fetch it
        for row in map(record, batch):
            values = list(pick(row))
            for number, labels in labelled:
                values[number] = labels[values[number]]
            for number, value in computed:
                values[number] = value(row, context)
            yield values


def _file_name(title: Any, today: date) -> str:
    return f"{title}-{today.isoformat()}.xlsx"


@dataclass(frozen=True)
class Listed:
    """The list page's demands for the request's query string, and the day they are seen on."""

    statement: Select[tuple[Demand]]
    window: CardWindow
    filters: DemandFilters


def _listed(calendar: WorkingCalendar | None = None) -> Listed:
    user = current_user._get_current_object()
    window = card_window(clock.today(), calendar)
    filters = DemandFilters.from_args(request.args)
    return Listed(demand_query(user, filters, window), window, filters)


def _rows(statement: Select[Any]) -> Result[Any]:
    """The statement's rows in its order, BATCH_SIZE fetched at a time, never all held at once;
    plain rows from the session's connection (no ORM loading: nothing here is an object)."""
    return db.session.connection().execute(statement.execution_options(yield_per=BATCH_SIZE))


Dispatcher = aliased(User, name="dispatcher")
Repeated = aliased(Demand, name="repeated")


def _demand_rows(statement: Select[tuple[Demand]], chinese: bool, *columns: Any) -> Select[Any]:
    """The listed demands as rows of `columns` and "category" (its name in the language), in the
    list's order, with what they name joined: the company, the category, the visit, the lead
    department (Department), the dispatching officer (Dispatcher) and the demand repeated
    (Repeated). A join the columns do not use is left out by the database (an outer join on a
    key)."""
    category = (Category.name if chinese else Category.name_en).label("category")
    return (statement.with_only_columns(*columns, category, maintain_column_froms=False)
            .select_from(Demand)
            .join(Company, Company.id == Demand.company_id)
            .join(Category, Category.id == Demand.category_id)
            .outerjoin(Visit, Visit.id == Demand.visit_id)
            .outerjoin(Department, Department.id == Demand.lead_department_id)
            .outerjoin(Dispatcher, Dispatcher.id == Demand.dispatched_by_id)
            .outerjoin(Repeated, Repeated.id == Demand.duplicate_of_id))


def _sheet(title: Any, fields: Sequence[Field[Any]], rows: Result[Any], context: Context) -> Response:
    return xlsx_response(_file_name(title, context.today), str(title), _columns(fields),
                         _values(fields, rows, context))


# Working days taken

class WorkingDayCount:
    """Working days between many pairs of days in one range: the calendar is read once for the
    range, then each pair is a subtraction of two running counts, not a walk over its days."""

    def __init__(self, calendar: WorkingCalendar, first: date, last: date) -> None:
        self._calendar = calendar
        self._first = first
        self._first_serial = excel_day(first)
        calendar.working_days_between(first, last)  # one fetch of the whole range
        self._running = [0]
        for offset in range(1, (last - first).days + 1):
            day = first + offset * DAY
            self._running.append(self._running[-1] + calendar.is_working_day(day))

    def between_serials(self, start: int, end: int) -> int:
        """between() of two days given as Excel's serials."""
        first_index, last_index = start - self._first_serial, end - self._first_serial
        if 0 <= first_index < len(self._running) and 0 <= last_index < len(self._running):
            return self._running[last_index] - self._running[first_index]
        return self._calendar.working_days_between(EXCEL_EPOCH + start * DAY, EXCEL_EPOCH + end * DAY)

    def between(self, start: date, end: date) -> int:
        """calendar.working_days_between(start, end)."""
        first_index, last_index = (start - self._first).days, (end - self._first).days
        if 0 <= first_index < len(self._running) and 0 <= last_index < len(self._running):
            return self._running[last_index] - self._running[first_index]
        return self._calendar.working_days_between(start, end)


def _days_taken(row: Any, context: Context) -> int | None:
    """Working days from the day it was logged to the day it was closed, or to today if open (the
    days in Beijing, as Excel's serials)."""
    if context.days is None:
        return None
    end = row.closed_day if row.closed_day is not None else context.today_serial
    return context.days.between_serials(row.created_at, end)


def _first_logged_day(statement: Select[tuple[Demand]], default: date) -> date:
    """The day the earliest listed demand was logged (Beijing time), or `default` if earlier. The
    minimum of Beijing's wall-clock time, not of the column itself: for the minimum of a column
    PostgreSQL reads that column's index from its oldest entry until one matches, and the open
    demands are the newest (it read 30,000 closed ones first: 15 ms of the open ledger's 200)."""
    listed = statement.order_by(None).subquery()
    first = db.session.scalar(select(func.min(BeijingTime(listed.c.created_at))))
    return min(first.date() if first is not None else default, default)


# The ledger (台账): one row per demand, every field

_link = demand_co_departments.c


def co_departments(states: tuple[str, ...]) -> Subquery:
    """Each demand's co-departments' ids, comma-separated (Context.names puts them in order), of the
    demands in the listed states (all if none): joined once, not a subquery per row, whose estimated
    cost has PostgreSQL compile the statement (JIT) for longer than it then takes to run. The
    states narrow the links by the demand's state they carry (migration 0008), so that the open
    ledger groups the open demands' links, not the year's (37,000 at 100,000 demands)."""
    ids = select(_link.demand_id, func.aggregate_strings(cast(_link.department_id, String), ",").label("ids"))
    if states:
        ids = ids.where(_link.demand_state.in_(states))
    return ids.group_by(_link.demand_id).subquery("co")


class BeijingTime(FunctionElement[datetime]):
    """A moment as Beijing wall-clock time, read so by the database: what the sheet shows (Excel
    knows no time zones), without two conversions per cell in Python (to an aware datetime, then
    to Beijing), which cost more than the rest of the cell."""

    type = DateTime()
    name = "beijing_time"
    inherit_cache = True


@compiles(BeijingTime, "postgresql")
def _beijing_time_postgresql(element: BeijingTime, compiler: Any, **kw: Any) -> str:
    return f"timezone('{ZONE.key}', {compiler.process(element.clauses, **kw)})"


@compiles(BeijingTime, "sqlite")
def _beijing_time_sqlite(element: BeijingTime, compiler: Any, **kw: Any) -> str:
    # SQLite knows no zones: Beijing's offset, the same all year and since 1991
    hours = ZONE.utcoffset(datetime(2000, 1, 1)) // timedelta(hours=1)
    return f"strftime('%Y-%m-%d %H:%M:%f', {compiler.process(element.clauses, **kw)}, '+{hours} hours')"


def _moment(column: Any) -> Any:
    return BeijingTime(column).label(column.key)


# Excel's serials, computed by the database for the ledger: what its cells hold, without parsing a
# date or a moment per cell in Python and then converting it again. Exact: a day is a whole number
# of days since Excel's day 0, a moment the exact number of its milliseconds (SQLite) or
# microseconds (PostgreSQL) since then in Beijing time, divided once as a double, the same double
# the division of the same numbers in Python makes (a datetime's).

#: SQLite's julianday of Excel's day 0, and Beijing's offset in milliseconds (the same all year)
_JULIAN_EXCEL_EPOCH = 2415018.5
_BEIJING_OFFSET_MS = ZONE.utcoffset(datetime(2000, 1, 1)) // timedelta(milliseconds=1)
_EXCEL_EPOCH_SQL = f"DATE '{EXCEL_EPOCH.isoformat()}'"
#: seconds from Excel's day 0 to 1 January 1970
_EXCEL_TO_UNIX_SECONDS = (date(1970, 1, 1) - EXCEL_EPOCH).days * 86400


class DaySerial(FunctionElement[int]):
    """A day as Excel's serial of it."""

    type = Integer()
    name = "excel_day"
    inherit_cache = True


class MomentSerial(FunctionElement[float]):
    """A moment as Excel's serial of its Beijing wall-clock time."""

    type = Float()
    name = "excel_moment"
    inherit_cache = True


class MomentDaySerial(FunctionElement[int]):
    """A moment as Excel's serial of its day in Beijing."""

    type = Integer()
    name = "excel_moment_day"
    inherit_cache = True


def _sqlite_milliseconds(element: Any, compiler: Any, **kw: Any) -> str:
    """The moment's milliseconds since Excel's day 0 in Beijing time: SQLite reads a moment to the
    millisecond and julianday() is those milliseconds divided by a day's, so rounding it back is
    exact."""
    moment = compiler.process(element.clauses, **kw)
    return (f"(CAST(round((julianday({moment}) - {_JULIAN_EXCEL_EPOCH}) * 86400000) AS INTEGER)"
            f" + {_BEIJING_OFFSET_MS})")


@compiles(DaySerial, "sqlite")
def _day_serial_sqlite(element: DaySerial, compiler: Any, **kw: Any) -> str:
    return f"CAST(julianday({compiler.process(element.clauses, **kw)}) - {_JULIAN_EXCEL_EPOCH} AS INTEGER)"


@compiles(MomentSerial, "sqlite")
def _moment_serial_sqlite(element: MomentSerial, compiler: Any, **kw: Any) -> str:
    return f"({_sqlite_milliseconds(element, compiler, **kw)} / 86400000.0)"


@compiles(MomentDaySerial, "sqlite")
def _moment_day_serial_sqlite(element: MomentDaySerial, compiler: Any, **kw: Any) -> str:
    return f"({_sqlite_milliseconds(element, compiler, **kw)} / 86400000)"  # whole days, after 1899


@compiles(DaySerial, "postgresql")
def _day_serial_postgresql(element: DaySerial, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} - {_EXCEL_EPOCH_SQL})"


@compiles(MomentSerial, "postgresql")
def _moment_serial_postgresql(element: MomentSerial, compiler: Any, **kw: Any) -> str:
    # date_part() is the timestamp's microseconds divided once by a million as a double (cheaper
    # than extract()'s numeric): multiplied back and rounded, those microseconds exactly
    moment = f"timezone('{ZONE.key}', {compiler.process(element.clauses, **kw)})"
    microseconds = (f"CAST(round(date_part('epoch', {moment}) * 1000000) AS BIGINT)"
                    f" + {_EXCEL_TO_UNIX_SECONDS * 1_000_000}")
    return f"(CAST({microseconds} AS DOUBLE PRECISION) / CAST(86400000000 AS DOUBLE PRECISION))"


@compiles(MomentDaySerial, "postgresql")
def _moment_day_serial_postgresql(element: MomentDaySerial, compiler: Any, **kw: Any) -> str:
    moment = f"timezone('{ZONE.key}', {compiler.process(element.clauses, **kw)})"
    return f"(CAST({moment} AS DATE) - {_EXCEL_EPOCH_SQL})"


def _day(column: Any) -> Any:
    return DaySerial(column).label(column.key)


def _serial(column: Any) -> Any:
    return MomentSerial(column).label(column.key)


def _given(condition: Any, flag: Any) -> Any:
    """The flag where the condition holds, else nothing: late only once signed, say."""
    return case((condition, flag)).label(flag.key)


#: the ledger's days and moments as Excel's serials (the day it was logged, and the day it was
#: closed for the days taken, as its Beijing day); and its co-departments (co_departments)
LEDGER_COLUMNS = (
    Demand.number, MomentDaySerial(Demand.created_at).label("created_at"), Demand.source,
    _day(Visit.visited_on), Visit.place.label("visit_place"), Company.name.label("company"),
    Company.credit_code, Demand.title, Demand.description, Demand.urgency, Demand.contact_name,
    Demand.contact_phone, Repeated.number.label("duplicate_of"), Demand.state,
    Department.name.label("lead_department"), Dispatcher.display_name.label("dispatched_by"),
    _serial(Demand.dispatched_at), Demand.dispatch_note, _day(Demand.sign_due), _serial(Demand.signed_at),
    _given(Demand.signed_at.is_not(None), Demand.signed_late), _day(Demand.respond_due),
    _given(Demand.respond_due.is_not(None), Demand.respond_extended), _serial(Demand.responded_at),
    _given(Demand.responded_at.is_not(None), Demand.responded_late), Demand.outcome, Demand.response_text,
    _day(Demand.planned_on), Demand.handling_days, Demand.feedback, _serial(Demand.feedback_at),
    _serial(Demand.closed_at), MomentDaySerial(Demand.closed_at).label("closed_day"), Demand.close_reason,
    Demand.returns_count, Demand.reopen_count, Demand.key_supervision, Demand.key_supervision_reason,
    func.nullif(Demand.escalation_level, 0).label("escalation_level"),  # none shows as nothing
    _day(Demand.current_due),
)


def _ledger_overdue(row: Any, context: Context) -> str:
    """Whether its current deadline (a serial) is past."""
    return context.yes_no(row.current_due is not None and row.current_due < context.today_serial)


LEDGER: tuple[Field[Any], ...] = (
    Field(_l("Number"), 11, "text", "number"),
    Field(_l("Logged on"), 11, "date", "created_at"),
    Field(_l("Source"), 9, "text", Labelled("source", SOURCE_LABELS)),
    Field(_l("Visit date"), 11, "date", "visited_on"),
    Field(_l("Visit place"), 20, "text", "visit_place"),
    Field(_l("Company"), 32, "text", "company"),
    Field(_l("Credit code"), 21, "text", "credit_code"),
    Field(_l("Category"), 12, "text", "category"),
    Field(_l("Title"), 30, "text", "title"),
    Field(_l("Description"), 60, "text", "description"),
    Field(_l("Urgency"), 8, "text", Labelled("urgency", URGENCY_LABELS)),
    Field(_l("Contact person"), 10, "text", "contact_name"),
    Field(_l("Contact phone"), 14, "text", "contact_phone"),
    Field(_l("Duplicate of"), 11, "text", "duplicate_of"),
    Field(_l("State"), 8, "text", Labelled("state", STATE_LABELS)),
    Field(_l("Lead department"), 22, "text", "lead_department"),
    Field(_l("Co-departments"), 30, "text", lambda d, c: c.names(d.co_department_ids)),
    Field(_l("Dispatched by"), 10, "text", "dispatched_by"),
    Field(_l("Dispatched"), 16, "datetime", "dispatched_at"),
    Field(_l("Note for the department"), 30, "text", "dispatch_note"),
    Field(_l("Sign by"), 11, "date", "sign_due"),
    Field(_l("Signed"), 16, "datetime", "signed_at"),
    Field(_l("Signed late"), 8, "text", Labelled("signed_late", YES_NO)),
    Field(_l("Respond by"), 11, "date", "respond_due"),
    Field(_l("Respond deadline extended"), 10, "text", Labelled("respond_extended", YES_NO)),
    Field(_l("Responded"), 16, "datetime", "responded_at"),
    Field(_l("Responded late"), 8, "text", Labelled("responded_late", YES_NO)),
    Field(_l("Outcome"), 16, "text", Labelled("outcome", OUTCOME_LABELS)),
    Field(_l("Response"), 50, "text", "response_text"),
    Field(_l("Planned for"), 11, "date", "planned_on"),
    Field(_l("Handling time (working days)"), 10, "integer", "handling_days"),
    Field(_l("Feedback"), 10, "text", Labelled("feedback", FEEDBACK_LABELS)),
    Field(_l("Feedback recorded"), 16, "datetime", "feedback_at"),
    Field(_l("Closed at"), 16, "datetime", "closed_at"),
    Field(_l("Closed as"), 10, "text", Labelled("close_reason", CLOSE_REASON_LABELS)),
    Field(_l("Returns"), 7, "integer", "returns_count"),
    Field(_l("Reopenings"), 7, "integer", "reopen_count"),
    Field(_l("Key supervision"), 8, "text", Labelled("key_supervision", YES_NO)),
    Field(_l("Why it needs key supervision"), 24, "text", "key_supervision_reason"),
    Field(_l("Escalation"), 14, "text", Labelled("escalation_level", ESCALATION_LEVELS)),
    Field(_l("Current deadline"), 11, "date", "current_due"),
    Field(_l("Overdue"), 8, "text", _ledger_overdue),
    Field(_l("Days taken (working days)"), 10, "integer", _days_taken),
)


@bp.route("/export/ledger.xlsx")
@signed_in
def export_ledger() -> Response:
    calendar = working_calendar()
    listed = _listed(calendar)
    today = listed.window.today
    names = db.session.execute(select(Department.id, Department.name))
    context = Context(today, is_chinese(), departments={number: name for number, name in names})
    context.days = WorkingDayCount(calendar, _first_logged_day(listed.statement, today), today)
    co = co_departments(listed.filters.states)
    columns = (*LEDGER_COLUMNS, co.c.ids.label("co_department_ids"))
    rows = (_demand_rows(listed.statement, context.chinese, *columns)
            .outerjoin(co, co.c.demand_id == Demand.id))
    return _sheet(_l("Demand ledger"), LEDGER, _rows(rows), context)


# The problem list (问题清单): what each demand is about and where it stands

PROBLEMS: tuple[Field[Any], ...] = (
    Field(_l("Number"), 11, "text", "number"),
    Field(_l("Logged on"), 11, "date", "created_at"),
    Field(_l("Company"), 32, "text", "company"),
    Field(_l("Category"), 12, "text", "category"),
    Field(_l("Title"), 30, "text", "title"),
    Field(_l("Description"), 60, "text", "description"),
    Field(_l("Lead department"), 22, "text", "lead_department"),
    Field(_l("State"), 8, "text", Labelled("state", STATE_LABELS)),
    Field(_l("Current deadline"), 11, "date", "current_due"),
    Field(_l("Overdue"), 8, "text", lambda d, c: c.yes_no(c.overdue(d.current_due))),
    Field(_l("Key supervision"), 8, "text", Labelled("key_supervision", YES_NO)),
)
PROBLEM_COLUMNS = (
    Demand.number, _moment(Demand.created_at), Company.name.label("company"), Demand.title,
    Demand.description, Department.name.label("lead_department"), Demand.state, Demand.current_due,
    Demand.key_supervision,
)


@bp.route("/export/problems.xlsx")
@signed_in
def export_problems() -> Response:
    listed = _listed()
    context = Context(listed.window.today, is_chinese())
    return _sheet(_l("Problem list"), PROBLEMS,
                  _rows(_demand_rows(listed.statement, context.chinese, *PROBLEM_COLUMNS)), context)


# The task list (任务清单): every milestone and every step owed now, by due day

def _task_owner(task: Any) -> str | None:
    """The lead department owes sign, respond and milestones; the dispatching officer the
    feedback; a leader or that officer decides an extension."""
    if task.kind == "feedback":
        return task.officer
    if task.kind == "extension":
        return _("A leader or %(name)s", name=task.officer) if task.officer else _("A leader")
    return task.department


def _task_status(task: Any, context: Context) -> str:
    if task.completed_at is not None:
        return context.text(DONE)
    return context.text(OVERDUE if context.overdue(task.due) else TO_DO)


TASKS: tuple[Field[Any], ...] = (
    Field(_l("Due on"), 11, "date", "due"),
    Field(_l("Task"), 16, "text", Labelled("kind", STEP_LABELS)),
    Field(_l("Milestone"), 30, "text", "milestone"),
    Field(_l("Owner"), 22, "text", lambda t, c: _task_owner(t)),
    Field(_l("Status"), 8, "text", _task_status),
    Field(_l("Completed at"), 16, "datetime", "completed_at"),
    Field(_l("Number"), 11, "text", "number"),
    Field(_l("Title"), 30, "text", "title"),
    Field(_l("Company"), 32, "text", "company"),
)


def _task_query(statement: Select[tuple[Demand]]) -> Select[Any]:
    """One statement for every task of the listed demands, sorted by due day: their milestones,
    the step each open demand owes now, and the decisions on pending extension requests."""
    listed_ids = statement.order_by(None).with_only_columns(Demand.id)
    officer_name = select(User.display_name).where(User.id == Demand.dispatched_by_id).scalar_subquery()

    def tasks(source: Any, kind: Any, milestone: Any, due: Any, completed_at: Any) -> Select[Any]:
        return (select(kind.label("kind"), Demand.number, Demand.title, Company.name.label("company"),
                       milestone.label("milestone"), due.label("due"), completed_at.label("completed_at"),
                       Department.name.label("department"), officer_name.label("officer"))
                .select_from(source).join(Company, Company.id == Demand.company_id)
                .outerjoin(Department, Department.id == Demand.lead_department_id))

    no_text = cast(null(), String)
    milestones = (tasks(join(Milestone, Demand, Demand.id == Milestone.demand_id),
                        literal_column("'milestone'", String), Milestone.title, Milestone.due_on,
                        Milestone.completed_at)
                  .where(Milestone.demand_id.in_(listed_ids)))
    steps = (tasks(Demand, Demand.current_step, no_text, Demand.current_due, null())
             .where(Demand.id.in_(listed_ids), Demand.state != State.CLOSED.value,
                    Demand.current_due.is_not(None)))
    extensions = (tasks(join(ExtensionRequest, Demand, Demand.id == ExtensionRequest.demand_id),
                        literal_column("'extension'", String), no_text, Demand.respond_due, null())
                  .where(ExtensionRequest.demand_id.in_(listed_ids), ExtensionRequest.status == "pending",
                         Demand.state == State.ACCEPTED.value, Demand.respond_due.is_not(None)))
    every = union_all(milestones, steps, extensions).subquery()
    return select(every).order_by(every.c.due, every.c.number, every.c.kind)


@bp.route("/export/tasks.xlsx")
@signed_in
def export_tasks() -> Response:
    listed = _listed()
    return _sheet(_l("Task list"), TASKS, _rows(_task_query(listed.statement)),
                  Context(listed.window.today, is_chinese()))


# The responsibility list (责任清单): demand × department × role × handler × deadline × status

def _responsibility_query(statement: Select[tuple[Demand]]) -> Select[Any]:
    """One statement for every part the listed departments take in the listed demands, in the
    list's order, per demand the lead department and then the co-departments by id: each with the
    last event a handler of that department recorded on the demand."""
    link = demand_co_departments.c
    parts = union_all(
        select(Demand.id.label("demand_id"), Demand.lead_department_id.label("department_id"),
               literal_column("'lead'", String).label("role"), literal_column("0").label("rank"))
        .where(Demand.lead_department_id.is_not(None)),
        select(link.demand_id, link.department_id, literal_column("'co'", String), literal_column("1")),
    ).subquery("part")
    last = aliased(DemandEvent, name="last")
    handler = aliased(User, name="handler")
    last_id = (select(func.max(DemandEvent.id))
               .where(DemandEvent.demand_id == parts.c.demand_id,
                      DemandEvent.actor_department_id == parts.c.department_id,
                      DemandEvent.actor_role == Role.HANDLER.value)
               .scalar_subquery())
    return (statement.with_only_columns(
                Demand.number, Demand.title, Company.name.label("company"), Demand.state, Demand.sign_due,
                Demand.respond_due, Department.name.label("department"), parts.c.role,
                handler.display_name.label("handler"), last.action.label("last_action"),
                last.at.label("last_action_at"), maintain_column_froms=False)
            .select_from(Demand)
            .join(parts, parts.c.demand_id == Demand.id)
            .join(Company, Company.id == Demand.company_id)
            .join(Department, Department.id == parts.c.department_id)
            .outerjoin(last, last.id == last_id)
            .outerjoin(handler, handler.id == last.actor_id)
            .order_by(parts.c.rank, parts.c.department_id))


def _department_deadline(row: Any) -> date | None:
    """The lead department's sign deadline until it signs, then the respond deadline, which is also
    what the co-departments' opinions are due for."""
    if row.role == "lead" and row.state == State.ASSIGNED.value:
        return row.sign_due
    return row.respond_due


def _department_overdue(row: Any, context: Context) -> bool:
    return row.state in DEPARTMENT_STATES and context.overdue(_department_deadline(row))


ACTION_NAMES = {**{action.value: label for action, label in ACTION_LABELS.items()}, **SYSTEM_EVENT_LABELS}

RESPONSIBILITIES: tuple[Field[Any], ...] = (
    Field(_l("Number"), 11, "text", "number"),
    Field(_l("Title"), 30, "text", "title"),
    Field(_l("Company"), 32, "text", "company"),
    Field(_l("Department"), 22, "text", "department"),
    Field(_l("Role"), 10, "text", Labelled("role", ROLE_LABELS)),
    Field(_l("Handler"), 10, "text", "handler"),
    Field(_l("Last action"), 16, "text", Labelled("last_action", ACTION_NAMES)),
    Field(_l("Last action at"), 16, "datetime", "last_action_at"),
    Field(_l("Deadline"), 11, "date", lambda r, c: _department_deadline(r)),
    Field(_l("State"), 8, "text", Labelled("state", STATE_LABELS)),
    Field(_l("Overdue"), 8, "text", lambda r, c: c.yes_no(_department_overdue(r, c))),
)


@bp.route("/export/responsibilities.xlsx")
@signed_in
def export_responsibilities() -> Response:
    listed = _listed()
    return _sheet(_l("Responsibility list"), RESPONSIBILITIES,
                  _rows(_responsibility_query(listed.statement)), Context(listed.window.today, is_chinese()))
