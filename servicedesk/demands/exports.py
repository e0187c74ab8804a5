"""The list of demands in Excel: the ledger (台账), the problem list (问题清单), the task list
(任务清单) and the responsibility list (责任清单).

Each export reads the list page's query string (`DemandFilters.from_args`) and builds its demands
with `demand_query`, so it holds exactly the demands the list shows, in the list's order, and a
handler's export only their departments' demands. The rows are read in batches (`yield_per`) and
written as they come (`workbooks.xlsx_response`): the number of SQL statements grows by a constant
per batch of BATCH_SIZE demands, never per row, and the memory used stays flat.

Each sheet is a table of `Field`s: a header, a width, a kind and how to read the value from a row,
so that a column's header and its values cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from flask import Response, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import Select, String, cast, func, literal_column, null, select, union_all
from sqlalchemy.orm import join, joinedload, selectinload

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
from servicedesk.domain.workdays import DAY, WorkingCalendar, local_day
from servicedesk.extensions import db
from servicedesk.i18n import is_chinese
from servicedesk.models import (
    Company,
    Demand,
    DemandEvent,
    Department,
    ExtensionRequest,
    Milestone,
    Role,
    User,
)
from servicedesk.security import signed_in
from servicedesk.workbooks import Column, xlsx_response

#: demands read per batch; each batch costs one statement per collection loaded with it
BATCH_SIZE = 500

#: the states in which the lead department owes a step (sign, then respond)
DEPARTMENT_STATES = (State.ASSIGNED.value, State.ACCEPTED.value)

ROLE_LABELS = {"lead": _l("Lead department"), "co": _l("Co-department")}
YES, NO = _l("yes"), _l("no")
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
    #: each message translated once per export, not once per cell
    _texts: dict[int, str] = field(default_factory=dict, repr=False)

    def text(self, message: Any) -> str:
        """str() of a lazy translation (a module constant), remembered."""
        found = self._texts.get(id(message))
        if found is None:
            found = self._texts[id(message)] = str(message)
        return found

    def label(self, labels: Mapping[Any, Any], value: Any) -> str | None:
        """The translated label of a stored value; the value itself if it has none (old data)."""
        if value is None or value == "":
            return None
        message = labels.get(value)
        return str(value) if message is None else self.text(message)

    def yes_no(self, flag: bool) -> str:
        return self.text(YES if flag else NO)

    def overdue(self, due: date | None) -> bool:
        return due is not None and due < self.today

    def category(self, demand: Demand) -> str:
        return demand.category.name if self.chinese else demand.category.name_en

    def names(self, departments: Iterable[Department]) -> str:
        return ("、" if self.chinese else ", ").join(d.name for d in departments)


@dataclass(frozen=True)
class Field(Generic[Row]):
    """A column of a sheet: its header, width and kind, and its value for a row."""

    label: Any
    width: int
    kind: str
    value: Callable[[Row, Context], Any]


def _columns(fields: Sequence[Field[Any]]) -> list[Column]:
    return [Column(str(f.label), f.width, f.kind) for f in fields]


def _values(fields: Sequence[Field[Row]], rows: Iterable[Row], context: Context) -> Iterator[list[Any]]:
    for row in rows:
        yield [f.value(row, context) for f in fields]


def _local(moment: datetime | None) -> date | None:
    return local_day(moment) if moment is not None else None


def _file_name(title: Any, today: date) -> str:
    return f"{title}-{today.isoformat()}.xlsx"


@dataclass(frozen=True)
class Listed:
    """The list page's demands for the request's query string, and the day they are seen on."""

    statement: Select[tuple[Demand]]
    window: CardWindow


def _listed(calendar: WorkingCalendar | None = None) -> Listed:
    user = current_user._get_current_object()
    window = card_window(clock.today(), calendar)
    return Listed(demand_query(user, DemandFilters.from_args(request.args), window), window)


def _batches(statement: Select[tuple[Demand]]) -> Iterator[Sequence[Demand]]:
    """The demands in the statement's order, BATCH_SIZE at a time, never all held at once."""
    yield from db.session.scalars(statement.execution_options(yield_per=BATCH_SIZE)).partitions()


def _streamed(statement: Select[tuple[Demand]]) -> Iterator[Demand]:
    for batch in _batches(statement):
        yield from batch


def _sheet(title: Any, fields: Sequence[Field[Row]], rows: Iterable[Row], context: Context) -> Response:
    return xlsx_response(_file_name(title, context.today), str(title), _columns(fields),
                         _values(fields, rows, context))


# Working days taken

class WorkingDayCount:
    """Working days between many pairs of days in one range: the calendar is read once for the
    range, then each pair is a subtraction of two running counts, not a walk over its days."""

    def __init__(self, calendar: WorkingCalendar, first: date, last: date) -> None:
        self._calendar = calendar
        self._first = first
        calendar.working_days_between(first, last)  # one fetch of the whole range
        self._running = [0]
        for offset in range(1, (last - first).days + 1):
            day = first + offset * DAY
            self._running.append(self._running[-1] + calendar.is_working_day(day))

    def between(self, start: date, end: date) -> int:
        """calendar.working_days_between(start, end)."""
        first_index, last_index = (start - self._first).days, (end - self._first).days
        if 0 <= first_index < len(self._running) and 0 <= last_index < len(self._running):
            return self._running[last_index] - self._running[first_index]
        return self._calendar.working_days_between(start, end)


def _days_taken(demand: Demand, context: Context) -> int | None:
    """Working days from the day it was logged to the day it was closed, or to today if open."""
    if context.days is None:
        return None
    end = _local(demand.closed_at) or context.today
    return context.days.between(local_day(demand.created_at), end)


def _first_logged_day(statement: Select[tuple[Demand]], default: date) -> date:
    listed = statement.order_by(None).subquery()
    first = db.session.scalar(select(func.min(listed.c.created_at)))
    return min(_local(first) or default, default)


# The ledger (台账): one row per demand, every field

def _user_name(user: User | None) -> str | None:
    return user.display_name if user is not None else None


LEDGER: tuple[Field[Demand], ...] = (
    Field(_l("Number"), 11, "text", lambda d, c: d.number),
    Field(_l("Logged on"), 11, "date", lambda d, c: d.created_at),
    Field(_l("Source"), 9, "text", lambda d, c: c.label(SOURCE_LABELS, d.source)),
    Field(_l("Visit date"), 11, "date", lambda d, c: d.visit.visited_on if d.visit else None),
    Field(_l("Visit place"), 20, "text", lambda d, c: d.visit.place if d.visit else None),
    Field(_l("Company"), 32, "text", lambda d, c: d.company.name),
    Field(_l("Credit code"), 21, "text", lambda d, c: d.company.credit_code),
    Field(_l("Category"), 12, "text", lambda d, c: c.category(d)),
    Field(_l("Title"), 30, "text", lambda d, c: d.title),
    Field(_l("Description"), 60, "text", lambda d, c: d.description),
    Field(_l("Urgency"), 8, "text", lambda d, c: c.label(URGENCY_LABELS, d.urgency)),
    Field(_l("Contact person"), 10, "text", lambda d, c: d.contact_name),
    Field(_l("Contact phone"), 14, "text", lambda d, c: d.contact_phone),
    Field(_l("Duplicate of"), 11, "text", lambda d, c: d.duplicate_of.number if d.duplicate_of else None),
    Field(_l("State"), 8, "text", lambda d, c: c.label(STATE_LABELS, d.state)),
    Field(_l("Lead department"), 22, "text",
          lambda d, c: d.lead_department.name if d.lead_department else None),
    Field(_l("Co-departments"), 30, "text", lambda d, c: c.names(d.co_departments) or None),
    Field(_l("Dispatched by"), 10, "text", lambda d, c: _user_name(d.dispatched_by)),
    Field(_l("Dispatched"), 16, "datetime", lambda d, c: d.dispatched_at),
    Field(_l("Note for the department"), 30, "text", lambda d, c: d.dispatch_note),
    Field(_l("Sign by"), 11, "date", lambda d, c: d.sign_due),
    Field(_l("Signed"), 16, "datetime", lambda d, c: d.signed_at),
    Field(_l("Signed late"), 8, "text", lambda d, c: c.yes_no(d.signed_late) if d.signed_at else None),
    Field(_l("Respond by"), 11, "date", lambda d, c: d.respond_due),
    Field(_l("Respond deadline extended"), 10, "text",
          lambda d, c: c.yes_no(d.respond_extended) if d.respond_due else None),
    Field(_l("Responded"), 16, "datetime", lambda d, c: d.responded_at),
    Field(_l("Responded late"), 8, "text",
          lambda d, c: c.yes_no(d.responded_late) if d.responded_at else None),
    Field(_l("Outcome"), 16, "text", lambda d, c: c.label(OUTCOME_LABELS, d.outcome)),
    Field(_l("Response"), 50, "text", lambda d, c: d.response_text),
    Field(_l("Planned for"), 11, "date", lambda d, c: d.planned_on),
    Field(_l("Handling time (working days)"), 10, "integer", lambda d, c: d.handling_days),
    Field(_l("Feedback"), 10, "text", lambda d, c: c.label(FEEDBACK_LABELS, d.feedback)),
    Field(_l("Feedback recorded"), 16, "datetime", lambda d, c: d.feedback_at),
    Field(_l("Closed at"), 16, "datetime", lambda d, c: d.closed_at),
    Field(_l("Closed as"), 10, "text", lambda d, c: c.label(CLOSE_REASON_LABELS, d.close_reason)),
    Field(_l("Returns"), 7, "integer", lambda d, c: d.returns_count),
    Field(_l("Reopenings"), 7, "integer", lambda d, c: d.reopen_count),
    Field(_l("Key supervision"), 8, "text", lambda d, c: c.yes_no(d.key_supervision)),
    Field(_l("Why it needs key supervision"), 24, "text", lambda d, c: d.key_supervision_reason),
    Field(_l("Escalation"), 14, "text", lambda d, c: c.label(ESCALATION_LEVELS, d.escalation_level or None)),
    Field(_l("Current deadline"), 11, "date", lambda d, c: d.current_due),
    Field(_l("Overdue"), 8, "text", lambda d, c: c.yes_no(c.overdue(d.current_due))),
    Field(_l("Days taken (working days)"), 10, "integer", _days_taken),
)
LEDGER_OPTIONS = (
    joinedload(Demand.company), joinedload(Demand.category), joinedload(Demand.lead_department),
    joinedload(Demand.visit), joinedload(Demand.dispatched_by), joinedload(Demand.duplicate_of),
    selectinload(Demand.co_departments),
)


@bp.route("/export/ledger.xlsx")
@signed_in
def export_ledger() -> Response:
    calendar = working_calendar()
    listed = _listed(calendar)
    today = listed.window.today
    context = Context(today, is_chinese())
    context.days = WorkingDayCount(calendar, _first_logged_day(listed.statement, today), today)
    return _sheet(_l("Demand ledger"), LEDGER, _streamed(listed.statement.options(*LEDGER_OPTIONS)),
                  context)


# The problem list (问题清单): what each demand is about and where it stands

PROBLEMS: tuple[Field[Demand], ...] = (
    Field(_l("Number"), 11, "text", lambda d, c: d.number),
    Field(_l("Logged on"), 11, "date", lambda d, c: d.created_at),
    Field(_l("Company"), 32, "text", lambda d, c: d.company.name),
    Field(_l("Category"), 12, "text", lambda d, c: c.category(d)),
    Field(_l("Title"), 30, "text", lambda d, c: d.title),
    Field(_l("Description"), 60, "text", lambda d, c: d.description),
    Field(_l("Lead department"), 22, "text",
          lambda d, c: d.lead_department.name if d.lead_department else None),
    Field(_l("State"), 8, "text", lambda d, c: c.label(STATE_LABELS, d.state)),
    Field(_l("Current deadline"), 11, "date", lambda d, c: d.current_due),
    Field(_l("Overdue"), 8, "text", lambda d, c: c.yes_no(c.overdue(d.current_due))),
    Field(_l("Key supervision"), 8, "text", lambda d, c: c.yes_no(d.key_supervision)),
)
PROBLEM_OPTIONS = (joinedload(Demand.company), joinedload(Demand.category),
                   joinedload(Demand.lead_department))


@bp.route("/export/problems.xlsx")
@signed_in
def export_problems() -> Response:
    listed = _listed()
    return _sheet(_l("Problem list"), PROBLEMS, _streamed(listed.statement.options(*PROBLEM_OPTIONS)),
                  Context(listed.window.today, is_chinese()))


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
    Field(_l("Due on"), 11, "date", lambda t, c: t.due),
    Field(_l("Task"), 16, "text", lambda t, c: c.label(STEP_LABELS, t.kind)),
    Field(_l("Milestone"), 30, "text", lambda t, c: t.milestone),
    Field(_l("Owner"), 22, "text", lambda t, c: _task_owner(t)),
    Field(_l("Status"), 8, "text", _task_status),
    Field(_l("Completed at"), 16, "datetime", lambda t, c: t.completed_at),
    Field(_l("Number"), 11, "text", lambda t, c: t.number),
    Field(_l("Title"), 30, "text", lambda t, c: t.title),
    Field(_l("Company"), 32, "text", lambda t, c: t.company),
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
    rows = db.session.execute(_task_query(listed.statement).execution_options(yield_per=BATCH_SIZE))
    return _sheet(_l("Task list"), TASKS, rows, Context(listed.window.today, is_chinese()))


# The responsibility list (责任清单): demand × department × role × handler × deadline × status

@dataclass(frozen=True)
class Responsibility:
    demand: Demand
    department: Department
    #: "lead" or "co"
    role: str
    #: the last event a handler of the department recorded on the demand
    last: LastAction | None


@dataclass(frozen=True)
class LastAction:
    handler: str | None
    action: str
    at: datetime


def _last_actions(demand_ids: Sequence[int]) -> dict[tuple[int, int], LastAction]:
    """The last event of each department's handlers on each demand: one grouped statement."""
    last_ids = (select(func.max(DemandEvent.id))
                .where(DemandEvent.demand_id.in_(demand_ids), DemandEvent.actor_department_id.is_not(None),
                       DemandEvent.actor_role == Role.HANDLER.value)
                .group_by(DemandEvent.demand_id, DemandEvent.actor_department_id))
    rows = db.session.execute(
        select(DemandEvent.demand_id, DemandEvent.actor_department_id, DemandEvent.action, DemandEvent.at,
               User.display_name)
        .outerjoin(User, User.id == DemandEvent.actor_id)
        .where(DemandEvent.id.in_(last_ids)))
    return {(row.demand_id, row.actor_department_id): LastAction(row.display_name, row.action, row.at)
            for row in rows}


def _responsibilities(statement: Select[tuple[Demand]]) -> Iterator[Responsibility]:
    """Per demand, in the list's order: its lead department, then its co-departments."""
    for batch in _batches(statement):
        last = _last_actions([d.id for d in batch])
        for demand in batch:
            parts = [("lead", demand.lead_department)] if demand.lead_department else []
            parts += [("co", department) for department in demand.co_departments]
            for role, department in parts:
                yield Responsibility(demand, department, role, last.get((demand.id, department.id)))


def _department_deadline(item: Responsibility) -> date | None:
    """The lead department's sign deadline until it signs, then the respond deadline, which is also
    what the co-departments' opinions are due for."""
    demand = item.demand
    if item.role == "lead" and demand.state == State.ASSIGNED.value:
        return demand.sign_due
    return demand.respond_due


def _department_overdue(item: Responsibility, context: Context) -> bool:
    return item.demand.state in DEPARTMENT_STATES and context.overdue(_department_deadline(item))


ACTION_NAMES = {**{action.value: label for action, label in ACTION_LABELS.items()}, **SYSTEM_EVENT_LABELS}

RESPONSIBILITIES: tuple[Field[Responsibility], ...] = (
    Field(_l("Number"), 11, "text", lambda r, c: r.demand.number),
    Field(_l("Title"), 30, "text", lambda r, c: r.demand.title),
    Field(_l("Company"), 32, "text", lambda r, c: r.demand.company.name),
    Field(_l("Department"), 22, "text", lambda r, c: r.department.name),
    Field(_l("Role"), 10, "text", lambda r, c: c.label(ROLE_LABELS, r.role)),
    Field(_l("Handler"), 10, "text", lambda r, c: r.last.handler if r.last else None),
    Field(_l("Last action"), 16, "text",
          lambda r, c: c.label(ACTION_NAMES, r.last.action) if r.last else None),
    Field(_l("Last action at"), 16, "datetime", lambda r, c: r.last.at if r.last else None),
    Field(_l("Deadline"), 11, "date", lambda r, c: _department_deadline(r)),
    Field(_l("State"), 8, "text", lambda r, c: c.label(STATE_LABELS, r.demand.state)),
    Field(_l("Overdue"), 8, "text", lambda r, c: c.yes_no(_department_overdue(r, c))),
)
RESPONSIBILITY_OPTIONS = (joinedload(Demand.company), joinedload(Demand.lead_department),
                          selectinload(Demand.co_departments))


@bp.route("/export/responsibilities.xlsx")
@signed_in
def export_responsibilities() -> Response:
    listed = _listed()
    rows = _responsibilities(listed.statement.options(*RESPONSIBILITY_OPTIONS))
    return _sheet(_l("Responsibility list"), RESPONSIBILITIES, rows,
                  Context(listed.window.today, is_chinese()))

