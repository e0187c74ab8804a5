"""The queues and the list of all demands.

Each role opens on its own queue (`/demands/queue`, and the home page): sections of the demands that
wait for the user, each a `DemandFilters` so that its "see all" link opens the same demands in the
full list. The full list (`/demands/`) filters, searches, sorts and pages through every demand the
user may see. Both run a fixed number of SQL statements however many demands they show: the rows
come with their company, category and lead department in one query, and what a row shows besides
(the last return, the pending extension, the deadline's reason) is fetched for all rows at once.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import CompoundSelect, Row, Select, bindparam, select
from wtforms import BooleanField, DateField, SearchField, SelectField, SelectMultipleField
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from servicedesk.demands import bp, operations
from servicedesk.demands.forms import SOURCE_LABELS, STEP_LABELS, URGENCY_LABELS
from servicedesk.demands.search import (
    LIST_ROWS,
    MAX_QUERY_LENGTH,
    OPEN_STATE_VALUES,
    CardWindow,
    DemandFilters,
    DepartmentRole,
    Sort,
    card_window,
    demand_query,
    known_total,
)
from servicedesk.domain.lifecycle import Action, State
from servicedesk.domain.workdays import Card
from servicedesk.extensions import db
from servicedesk.i18n import is_chinese, once_per_locale
from servicedesk.models import (
    Category,
    Company,
    Demand,
    DemandEvent,
    Department,
    ExtensionRequest,
    Role,
    User,
)
from servicedesk.pagination import count_of, first_rows_of_each, paginate, rows_of_each
from servicedesk.security import signed_in

PER_PAGE = 50
#: the most items a queue section shows; its "see all" link opens the rest in the full list
QUEUE_LIMIT = 20
#: the roles that have a queue, in the order their sections show
QUEUE_ROLES = (Role.OFFICER, Role.HANDLER, Role.LEADER)

SORT_LABELS = {
    Sort.NEWEST: _l("Newest first"),
    Sort.OLDEST: _l("Oldest first"),
    Sort.DUE: _l("Nearest deadline first"),
    Sort.NUMBER: _l("By number"),
}
DEPARTMENT_ROLE_LABELS = {
    DepartmentRole.ANY: _l("as lead or co-department"),
    DepartmentRole.LEAD: _l("as lead department"),
    DepartmentRole.CO: _l("as co-department"),
}


# What a row shows besides the demand

@dataclass(frozen=True)
class ShownDeadline:
    """The deadline a row shows: the step owed now, its day and card. Why it falls on that day is the
    demand page's to explain (each of fifty rows explaining itself made the list slow to render)."""

    step: str
    due: date
    card: Card
    extended: bool
    provisional: bool


@dataclass(frozen=True)
class ReturnNote:
    """Who returned a demand, when and why (from its last 'return' event)."""

    department: str | None
    who: str | None
    at: datetime
    reason: str | None


#: a row of LIST_ROWS with its deadline, last return and pending extension
ListedRow = tuple[Row[Any], ShownDeadline | None, ReturnNote | None, ExtensionRequest | None]


@dataclass
class RowExtras:
    deadlines: dict[int, ShownDeadline] = field(default_factory=dict)
    #: the last return of each registered demand a department returned
    returns: dict[int, ReturnNote] = field(default_factory=dict)
    #: the extension request waiting for a decision, by demand
    pending: dict[int, ExtensionRequest] = field(default_factory=dict)

    def rows_of(self, demands: Iterable[Row[Any]]) -> list[ListedRow]:
        """Each row with its deadline, last return and pending extension: one call for a table
        rather than three lookups in the template for each of its rows."""
        deadlines, returns, pending = self.deadlines, self.returns, self.pending
        return [(d, deadlines.get(d.id), returns.get(d.id), pending.get(d.id)) for d in demands]


def row_extras(demands: Sequence[Row[Any]], window: CardWindow) -> RowExtras:
    """Everything the rows show besides their demands, in two statements whatever the rows: the last
    returns and the pending extensions."""
    extras = RowExtras()
    if not demands:
        return extras
    extras.returns = _last_returns([d.id for d in demands if d.state == State.REGISTERED and d.returns_count])
    for request_ in db.session.scalars(_PENDING_EXTENSIONS, {"demand_ids": [d.id for d in demands]}):
        extras.pending[request_.demand_id] = request_
    extras.deadlines = _deadlines(demands, window)
    return extras


# The statements every list page runs, built once: building them anew cost about as much as running
# them. The ids are an expanding parameter, one placeholder per id.
_PENDING_EXTENSIONS = select(ExtensionRequest).where(
    ExtensionRequest.demand_id.in_(bindparam("demand_ids", expanding=True)),
    ExtensionRequest.status == "pending")
_LAST_RETURNS = (
    select(DemandEvent.demand_id, DemandEvent.at, DemandEvent.text, DemandEvent.details, User.display_name)
    .outerjoin(User, User.id == DemandEvent.actor_id)
    .where(DemandEvent.demand_id.in_(bindparam("demand_ids", expanding=True)),
           DemandEvent.action == Action.RETURN.value)
    # by demand first, as the (demand_id, action) index gives them: ordered by id alone, SQLite
    # walked every return of the desk through the action index instead
    .order_by(DemandEvent.demand_id, DemandEvent.id)
)


def _last_returns(demand_ids: list[int]) -> dict[int, ReturnNote]:
    returns = {}
    for row in db.session.execute(_LAST_RETURNS, {"demand_ids": demand_ids}):
        returns[row.demand_id] = ReturnNote(  # the last one wins
            (row.details or {}).get("department"), row.display_name, row.at, row.text)
    return returns


def _deadlines(demands: Sequence[Row[Any]], window: CardWindow) -> dict[int, ShownDeadline]:
    """The current step's deadline of each row (LIST_ROWS): its due day is the step's own
    (operations.update_current_deadline keeps them in step)."""
    shown = {}
    for demand in demands:
        step = demand.current_step
        if not step or demand.current_due is None or demand.state == State.CLOSED:
            continue
        shown[demand.id] = ShownDeadline(
            step, demand.current_due, window.card(demand.current_due),
            step == "respond" and demand.respond_extended, getattr(demand, f"{step}_provisional"))
    return shown


# The queues

@dataclass(frozen=True)
class Section:
    key: str
    role: Role
    title: Any
    #: what the section lists, and what its "see all" link opens
    filters: DemandFilters
    empty: Any
    #: what a row of this section shows besides the table: "returned", "extension"
    show: str = ""


def queue_sections(user: User) -> list[Section]:
    """The sections of the user's queue, for each of their roles that has one."""
    sections: list[Section] = []
    if user.has_role(Role.OFFICER):
        sections += [
            Section("to_dispatch", Role.OFFICER, _l("To dispatch"),
                    DemandFilters(states=(State.REGISTERED.value,), sort=Sort.OLDEST),
                    _l("Nothing waits to be dispatched."), show="returned"),
            Section("awaiting_feedback", Role.OFFICER, _l("Awaiting the company's feedback"),
                    DemandFilters(states=(State.RESPONDED.value,), sort=Sort.DUE),
                    _l("No response waits for the company's feedback.")),
            Section("returned", Role.OFFICER, _l("Returned by a department"),
                    DemandFilters(states=(State.REGISTERED.value,), returned=True, sort=Sort.OLDEST),
                    _l("No department has returned a demand that waits for dispatch."), show="returned"),
        ]
    if user.has_role(Role.HANDLER) and user.department_id is not None:
        own = user.department_id
        in_hand = (State.ASSIGNED.value, State.ACCEPTED.value)
        sections += [
            Section("to_sign", Role.HANDLER, _l("To sign for"),
                    DemandFilters(states=(State.ASSIGNED.value,), department_id=own,
                                  department_role=DepartmentRole.LEAD, sort=Sort.DUE),
                    _l("Nothing waits for your department to sign.")),
            Section("in_progress", Role.HANDLER, _l("In progress"),
                    DemandFilters(states=(State.ACCEPTED.value,), department_id=own, sort=Sort.DUE),
                    _l("Your department has no demand in progress.")),
            Section("due_soon", Role.HANDLER, _l("Due soon (yellow card)"),
                    DemandFilters(states=in_hand, department_id=own, due_soon=True, sort=Sort.DUE),
                    _l("No deadline of your department is near.")),
            Section("overdue", Role.HANDLER, _l("Overdue (red card)"),
                    DemandFilters(states=in_hand, department_id=own, overdue=True, sort=Sort.DUE),
                    _l("Nothing of your department is overdue.")),
            Section("extensions", Role.HANDLER, _l("Extension requests awaiting a decision"),
                    DemandFilters(department_id=own, department_role=DepartmentRole.LEAD,
                                  pending_extension=True, sort=Sort.DUE),
                    _l("Your department has no extension request waiting for a decision."),
                    show="extension"),
        ]
    if user.has_role(Role.LEADER):
        sections += [
            Section("key_supervision", Role.LEADER, _l("Key supervision"),
                    DemandFilters(states=OPEN_STATE_VALUES, key_supervision=True, sort=Sort.DUE),
                    _l("No open demand is under key supervision.")),
            Section("extension_requests", Role.LEADER, _l("Extension requests to decide"),
                    DemandFilters(pending_extension=True, sort=Sort.DUE),
                    _l("No extension request waits for a decision."), show="extension"),
            Section("overdue", Role.LEADER, _l("Overdue (red card)"),
                    DemandFilters(states=OPEN_STATE_VALUES, overdue=True, sort=Sort.DUE),
                    _l("Nothing is overdue.")),
        ]
    return sections


@dataclass
class FilledSection:
    section: Section
    count: int
    #: LIST_ROWS
    items: list[Row[Any]]

    @property
    def anchor(self) -> str:
        return f"{self.section.role.value}-{self.section.key}"


def has_queue(user: User) -> bool:
    return user.has_role(*QUEUE_ROLES)


@dataclass(frozen=True)
class QueueStatements:
    #: every section's count, in one row
    counts: Select[Any]
    #: every section's first rows (pagination.first_rows_of_each)
    rows: CompoundSelect[Any]


#: the statements of each kind of queue built so far (see queue_statements), at most this many
QUEUE_STATEMENTS_KEPT = 512
_queue_statements: dict[Hashable, QueueStatements] = {}


def queue_statements(user: User, sections: Sequence[Section], window: CardWindow) -> QueueStatements:
    """The statements of the user's queue, built once for each kind of queue: what they select
    depends on nothing but the user's roles and department (their sections and what they may see),
    the day's card window and the database, and building them took a handler's queue 1.5 ms, as
    long as running them. Only how to ask is kept: every request runs them for the rows as they are."""
    key = (user.roles, user.department_id, window, db.session.get_bind().dialect.name)
    built = _queue_statements.get(key)
    if built is None:
        queries = [demand_query(user, s.filters, window) for s in sections]
        built = QueueStatements(select(*(count_of(q).scalar_subquery() for q in queries)),
                                first_rows_of_each(queries, QUEUE_LIMIT, LIST_ROWS))
        if len(_queue_statements) >= QUEUE_STATEMENTS_KEPT:
            _queue_statements.clear()
        _queue_statements[key] = built
    return built


def render_queue(user: User) -> str:
    """The user's queue page: one query for all the counts, one for all the sections' items."""
    window = card_window()
    sections = queue_sections(user)
    filled: list[FilledSection] = []
    if sections:
        statements = queue_statements(user, sections, window)
        counts = db.session.execute(statements.counts).one()
        items = rows_of_each(statements.rows, len(sections))
        filled = [FilledSection(*parts) for parts in zip(sections, counts, items, strict=True)]
    shown = list({d.id: d for s in filled for d in s.items}.values())
    roles = [role for role in QUEUE_ROLES if any(s.section.role is role for s in filled)]
    return render_template("demands/queue.html", sections=filled, roles=roles,
                           extras=row_extras(shown, window), window=window,
                           handler_without_department=user.has_role(Role.HANDLER)
                           and user.department_id is None,
                           **_labels())


@bp.route("/queue")
@signed_in
def queue() -> str:
    return render_queue(current_user._get_current_object())


# The list of all demands

class CheckboxListField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class DemandFilterForm(FlaskForm):
    """The list's filters: a GET form, read again by DemandFilters.from_args."""

    class Meta:
        csrf = False  # a GET search form

    q = SearchField(_l("Keywords"), validators=[Optional()],
                    render_kw={"maxlength": MAX_QUERY_LENGTH,
                               "placeholder": _l("Part of the title, the description or the company name")})
    state = CheckboxListField(_l("State"), validate_choice=False)
    department = SelectField(_l("Department"), validate_choice=False)
    department_role = SelectField(_l("Department's part"), validate_choice=False)
    category = SelectField(_l("Category"), validate_choice=False)
    company_name = SearchField(_l("Company"), validators=[Optional()],
                               render_kw={"maxlength": MAX_QUERY_LENGTH,
                                          "placeholder": _l("Part of its name, or its credit code")})
    source = SelectField(_l("Source"), validate_choice=False)
    urgency = SelectField(_l("Urgency"), validate_choice=False)
    overdue = BooleanField(_l("Overdue (red card)"))
    due_soon = BooleanField(_l("Due soon (yellow card)"))
    key_supervision = BooleanField(_l("Under key supervision"))
    pending_extension = BooleanField(_l("Extension request pending"))
    returned = BooleanField(_l("Returned by a department"))
    logged_from = DateField(_l("Logged from"), validators=[Optional()])
    logged_to = DateField(_l("Logged until"), validators=[Optional()])
    dispatched_from = DateField(_l("Dispatched from"), validators=[Optional()])
    dispatched_to = DateField(_l("Dispatched until"), validators=[Optional()])
    sort = SelectField(_l("Sort"), validate_choice=False)

    def setup(self, departments: Iterable[tuple[int, str]], categories: Iterable[tuple[int, str]]) -> None:
        fixed = _fixed_choices()
        for name in ("state", "department_role", "source", "urgency", "sort"):
            self[name].choices = list(fixed[name])
        self.department.choices = [("", fixed["any_department"]), *((str(i), n) for i, n in departments)]
        self.category.choices = [("", fixed["any_category"]), *((str(i), n) for i, n in categories)]


def _translated_fixed_choices() -> dict[str, Any]:
    """The filters' choices that are the code's own words, translated once per locale."""
    return {
        "state": [(s.value, str(operations.STATE_LABELS[s])) for s in State],
        "department_role": [(r.value, str(label)) for r, label in DEPARTMENT_ROLE_LABELS.items()],
        "source": [("", str(_l("Any source"))), *((k, str(label)) for k, label in SOURCE_LABELS.items())],
        "urgency": [("", str(_l("Any urgency"))),
                    *((str(u), str(label)) for u, label in URGENCY_LABELS.items())],
        "sort": [(s.value, str(label)) for s, label in SORT_LABELS.items()],
        "any_department": str(_l("Any department")),
        "any_category": str(_l("Any category")),
    }


_fixed_choices = once_per_locale(_translated_fixed_choices)


_DEPARTMENT_CHOICES = (select(Department.id, Department.name)
                       .order_by(Department.active.desc(), Department.name))
_CATEGORY_CHOICES = (select(Category.id, Category.name, Category.name_en)
                     .order_by(Category.position, Category.id))


def _filter_form(filters: DemandFilters, locale_is_chinese: bool) -> DemandFilterForm:
    form = DemandFilterForm(request.args)
    departments = db.session.execute(_DEPARTMENT_CHOICES).all()
    categories = db.session.execute(_CATEGORY_CHOICES).all()
    form.setup(departments=[(row.id, row.name) for row in departments],
               categories=[(row.id, row.name if locale_is_chinese else row.name_en) for row in categories])
    form.state.data = list(filters.states)
    if filters.company_id is not None and not filters.company_name:
        # A link's company (by id) shows by its name; searching again keeps it by that name.
        form.company_name.data = db.session.scalar(
            select(Company.name).where(Company.id == filters.company_id))
    if request.args:
        form.validate()  # shows a malformed date beside its field; DemandFilters ignores it
    return form


@bp.route("/")
@signed_in
def index() -> str:
    user = current_user._get_current_object()
    filters = DemandFilters.from_args(request.args)
    form = _filter_form(filters, is_chinese())
    window = card_window()

    def listed(matches: int = 0) -> Select[tuple[Demand]]:
        return demand_query(user, filters, window, matches=matches)

    page = paginate(listed(), request.args.get("page", 1, type=int) or 1, PER_PAGE, read_with=listed,
                    counted=known_total(user, filters), ids_first=True, read_whole=LIST_ROWS)
    return render_template("demands/index.html", form=form, filters=filters, page=page,
                           extras=row_extras(page.items, window), window=window,
                           more_open=bool(filters.narrowing or form.errors),
                           **_labels())


def _row_labels() -> dict[str, Any]:
    """The labels the rows show, translated once rather than once per row or per page."""
    return {"state_labels": {s.value: str(label) for s, label in operations.STATE_LABELS.items()},
            "step_labels": {step: str(label) for step, label in STEP_LABELS.items()},
            "source_labels": {source: str(label) for source, label in SOURCE_LABELS.items()},
            "urgency_labels": {str(u): str(label) for u, label in URGENCY_LABELS.items()},
            # patterns the rows fill in with `format`, as gettext with arguments costs a call per row
            "row_patterns": {"closed_on": str(_l("Closed %(day)s"))}}


_labels = once_per_locale(_row_labels)
