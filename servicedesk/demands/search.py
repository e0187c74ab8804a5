"""Finding demands: the filters, the keyword search and the sort behind the lists, the queues and the API.

`DemandFilters.from_args(request.args)` reads what a list asks for (unknown or malformed values are
ignored, never an error); `demand_query(user, filters)` turns it into one SELECT of the demands the
user may see (operations.visibility_clause), to page through or count. How the rows are read is the
caller's: the pages read `LIST_ROWS`, the API the demands with its own loader options.

The yellow and red cards are a comparison of `demands.current_due` with two days computed once per
request (`CardWindow`): red when today is past the due day, yellow when the due day is no later than
`due_soon` working days from today. The lists filter on them in SQL, never row by row.

Keyword search finds Chinese substrings (Chinese puts no spaces between words), and every
whitespace-separated term must match somewhere in the title, the description or the company's name.
Two-character terms (用地, 人才, 审批: most Chinese words) are the common case, and neither trigram
index can look them up by itself (migration 0007 adds what they need):

- SQLite: the FTS5 table `demand_search` with the trigram tokenizer (migration 0003). A term of three
  characters or more is a MATCH phrase. A term of two is found as the trigrams that begin with it:
  `demand_search_terms` (fts5vocab) lists them, and every value in the table ends with a space, so
  that a term at the end of a value begins a trigram too. A one-character term reads the table with
  LIKE.
- PostgreSQL: the title and the description read as one value (`demand_text`), found through one
  GIN index of its trigrams (ILIKE, three characters or more) and one of its two-character pieces
  (`desk_bigrams`, exact for a term of two) (migration 0009); the companies whose name holds a term
  are looked up first, as an array of ids, so that a term is one bitmap scan of demands (see
  `_postgresql_term`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Text,
    and_,
    any_,
    column,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    true,
)
from sqlalchemy.orm import aliased

from servicedesk import clock
from servicedesk.calendar import store as calendar_store
from servicedesk.database import for_the_request, with_values_written_in
from servicedesk.demands.operations import SOURCES, department_demand_ids, sees_all, visibility_clause
from servicedesk.domain.lifecycle import OPEN_STATES, Action, CloseReason, Feedback, Outcome, State
from servicedesk.domain.time_limits import DEFAULTS, Limit, Urgency
from servicedesk.domain.workdays import DAY, ZONE, Card, WorkingCalendar, card_of
from servicedesk.extensions import db
from servicedesk.models import (
    Category,
    Company,
    Demand,
    DemandEvent,
    Department,
    ExtensionRequest,
    TimeLimitSetting,
    User,
)
from servicedesk.models.demand import DemandStateTotal

#: the longest keyword query read, and the most terms of it used
MAX_QUERY_LENGTH = 100
MAX_TERMS = 5
#: FTS5's trigram tokenizer matches terms of at least this many characters
TRIGRAM = 3
BIGRAM = 2

#: the open states, in lifecycle order
OPEN_STATE_VALUES: tuple[str, ...] = tuple(s.value for s in State if s in OPEN_STATES)
STATE_VALUES: tuple[str, ...] = tuple(s.value for s in State)


class Sort(enum.StrEnum):
    NEWEST = "newest"
    OLDEST = "oldest"
    #: the nearest current deadline first; demands without one last
    DUE = "due"
    NUMBER = "number"


class OwedBy(enum.StrEnum):
    """Who owes the step whose deadline is current: the department signs and responds, the officer
    records the company's feedback."""

    DEPARTMENT = "department"
    OFFICER = "officer"


class Timeliness(enum.StrEnum):
    """How a step was taken against its deadline (sign: `measured` is either, once it can be told)."""

    ON_TIME = "on_time"
    LATE = "late"
    MEASURED = "measured"


#: the steps each party owes (Demand.current_step)
STEPS_OWED = {OwedBy.DEPARTMENT: ("sign", "respond"), OwedBy.OFFICER: ("feedback",)}
#: the event that reopens a demand: unsatisfied feedback takes it back to accepted
REOPENED = and_(DemandEvent.action == Action.RECORD_FEEDBACK.value,
                DemandEvent.to_state == State.ACCEPTED.value)


class DepartmentRole(enum.StrEnum):
    """How the department filter reads: the department as lead or co-department, or only one of them."""

    ANY = "any"
    LEAD = "lead"
    CO = "co"


# The cards

@dataclass(frozen=True)
class CardWindow:
    """The two days the yellow and red cards are measured against, computed once per request."""

    today: date
    #: yellow when a deadline falls on or before this day (and today is not past it)
    due_soon_until: date

    def card(self, due: date | None) -> Card:
        return Card.NONE if due is None else card_of(due, self.today, self.due_soon_until)

    def overdue_clause(self) -> ColumnElement[bool]:
        return Demand.current_due < self.today

    def due_soon_clause(self) -> ColumnElement[bool]:
        return Demand.current_due.between(self.today, self.due_soon_until)


_DUE_SOON_DAYS = select(TimeLimitSetting.working_days).where(TimeLimitSetting.kind == Limit.DUE_SOON.value)


def due_soon_days() -> int:
    """The yellow-card window in working days, as the admin set it: one small query."""
    days = db.session.scalar(_DUE_SOON_DAYS)
    return DEFAULTS[Limit.DUE_SOON] if days is None else days


def card_window(today: date | None = None, calendar: WorkingCalendar | None = None) -> CardWindow:
    today = today or clock.today()
    calendar = calendar or calendar_store.page_calendar()
    return CardWindow(today, calendar.add_working_days(today, due_soon_days()))


# The filters

_TRUE = frozenset({"1", "y", "yes", "true", "on"})



def _values(args: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(args, "getlist", None)
    if getlist is not None:
        found = getlist(name)
    else:
        value = args.get(name)
        found = value if isinstance(value, list | tuple) else [] if value is None else [value]
    return [str(v).strip() for v in found if v is not None and str(v).strip()]


def _one(args: Mapping[str, Any], name: str) -> str:
    found = _values(args, name)
    return found[0] if found else ""


def _flag(args: Mapping[str, Any], name: str) -> bool:
    return _one(args, name).lower() in _TRUE


def _int(args: Mapping[str, Any], name: str) -> int | None:
    value = _one(args, name)
    return int(value) if value.isdigit() and 0 < int(value) < 2**31 else None


def _date(args: Mapping[str, Any], name: str) -> date | None:
    try:
        return date.fromisoformat(_one(args, name))
    except ValueError:
        return None


def _choice(args: Mapping[str, Any], name: str, allowed: Iterable[str]) -> str | None:
    value = _one(args, name)
    return value if value in set(allowed) else None


def _choices(args: Mapping[str, Any], name: str, allowed: Iterable[str]) -> tuple[str, ...]:
    """Every allowed value the argument repeats, once each, in the order of `allowed`."""
    given = set(_values(args, name))
    return tuple(value for value in allowed if value in given)


#: the arguments the dashboard's numbers add to a list link (DemandFilters' measure fields)
MEASURE_ARGUMENTS = ("closed_from", "closed_to", "close_reason", "responded_from", "responded_to",
                     "response", "outcome", "feedback_from", "feedback_to", "feedback", "owed_by",
                     "sign", "returned_by", "returned_from", "returned_to", "reopened_from",
                     "reopened_to")
CLOSE_REASON_VALUES: tuple[str, ...] = tuple(r.value for r in CloseReason)
OUTCOME_VALUES: tuple[str, ...] = tuple(o.value for o in Outcome)
FEEDBACK_VALUES: tuple[str, ...] = tuple(f.value for f in Feedback)

#: the query-string arguments DemandFilters reads (the page's and the API's); `state` may repeat
ARGUMENTS = ("q", "state", "department", "department_role", "category", "company", "company_name",
             "source", "urgency",
             "overdue", "due_soon", "key_supervision", "pending_extension", "returned", "logged_from",
             "logged_to", "dispatched_from", "dispatched_to", "sort", *MEASURE_ARGUMENTS)


@dataclass(frozen=True)
class DemandFilters:
    """What a list of demands asks for; every field empty means every demand the user may see."""

    #: keyword search over title, description and company name
    q: str = ""
    #: any of these states (none: every state)
    states: tuple[str, ...] = ()
    #: the department as lead or co-department (see department_role)
    department_id: int | None = None
    department_role: DepartmentRole = DepartmentRole.ANY
    category_id: int | None = None
    company_id: int | None = None
    #: part of the company's name or short name, or its whole credit code (what the list's form asks:
    #: a zone has thousands of companies, too many to choose from a menu)
    company_name: str = ""
    source: str | None = None
    urgency: str | None = None
    #: red card: the current deadline has passed
    overdue: bool = False
    #: yellow card: the current deadline is near, not passed
    due_soon: bool = False
    key_supervision: bool = False
    #: an extension request is waiting for a decision
    pending_extension: bool = False
    #: returned by a department at least once
    returned: bool = False
    #: logged (created) on these days, Beijing time, both included
    logged_from: date | None = None
    logged_to: date | None = None
    #: dispatched on these days, Beijing time, both included
    dispatched_from: date | None = None
    dispatched_to: date | None = None
    # What the dashboard's numbers count (MEASURE_ARGUMENTS): each day range is Beijing days, both
    # included; each tuple means any of its values
    closed_from: date | None = None
    closed_to: date | None = None
    close_reasons: tuple[str, ...] = ()
    #: the last response given on these days
    responded_from: date | None = None
    responded_to: date | None = None
    #: the last response on time or late (ON_TIME or LATE)
    response: Timeliness | None = None
    #: the outcome of the last response
    outcomes: tuple[str, ...] = ()
    #: the last feedback recorded on these days
    feedback_from: date | None = None
    feedback_to: date | None = None
    feedbacks: tuple[str, ...] = ()
    #: who owes the step whose deadline is current
    owed_by: OwedBy | None = None
    #: signed by the sign deadline (ON_TIME), signed after it or not signed once it has passed (LATE),
    #: either of those (MEASURED)
    sign: Timeliness | None = None
    #: returned by this department (on the days below, if given)
    returned_by: int | None = None
    returned_from: date | None = None
    returned_to: date | None = None
    #: reopened by unsatisfied feedback on these days
    reopened_from: date | None = None
    reopened_to: date | None = None
    sort: Sort = Sort.NEWEST

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> DemandFilters:
        """Read the query string (a MultiDict, or a plain mapping whose values may be lists)."""
        states = tuple(dict.fromkeys(s for s in _values(args, "state") if s in STATE_VALUES))
        return cls(
            q=" ".join(_one(args, "q").split())[:MAX_QUERY_LENGTH],
            states=tuple(s for s in STATE_VALUES if s in states),
            department_id=_int(args, "department"),
            department_role=DepartmentRole(_choice(args, "department_role", DepartmentRole) or "any"),
            category_id=_int(args, "category"),
            company_id=_int(args, "company"),
            company_name=" ".join(_one(args, "company_name").split())[:MAX_QUERY_LENGTH],
            source=_choice(args, "source", SOURCES),
            urgency=_choice(args, "urgency", (u.value for u in Urgency)),
            overdue=_flag(args, "overdue"),
            due_soon=_flag(args, "due_soon"),
            key_supervision=_flag(args, "key_supervision"),
            pending_extension=_flag(args, "pending_extension"),
            returned=_flag(args, "returned"),
            logged_from=_date(args, "logged_from"),
            logged_to=_date(args, "logged_to"),
            dispatched_from=_date(args, "dispatched_from"),
            dispatched_to=_date(args, "dispatched_to"),
            **_measure_fields(args),
            sort=Sort(_choice(args, "sort", Sort) or Sort.NEWEST),
        )

    def to_args(self) -> dict[str, Any]:
        """The query string that gives these filters back (for links: url_for(..., **to_args()))."""
        args: dict[str, Any] = {}
        if self.q:
            args["q"] = self.q
        if self.company_name:
            args["company_name"] = self.company_name
        if self.states:
            args["state"] = list(self.states)
        for name, value in (("department", self.department_id), ("category", self.category_id),
                            ("company", self.company_id), ("source", self.source),
                            ("urgency", self.urgency)):
            if value is not None:
                args[name] = value
        if self.department_id is not None and self.department_role is not DepartmentRole.ANY:
            args["department_role"] = self.department_role.value
        for name in ("overdue", "due_soon", "key_supervision", "pending_extension", "returned"):
            if getattr(self, name):
                args[name] = "1"
        for name in _DAY_FIELDS:
            value = getattr(self, name)
            if value is not None:
                args[name] = value.isoformat()
        for name, field_name in _MULTIPLE_FIELDS.items():
            if getattr(self, field_name):
                args[name] = list(getattr(self, field_name))
        for name in ("owed_by", "sign", "response"):
            if getattr(self, name) is not None:
                args[name] = getattr(self, name).value
        if self.returned_by is not None:
            args["returned_by"] = self.returned_by
        if self.sort is not Sort.NEWEST:
            args["sort"] = self.sort.value
        return args

    @property
    def is_empty(self) -> bool:
        """Nothing narrows the list (the sort does not count)."""
        return replace(self, sort=Sort.NEWEST) == DemandFilters()

    @property
    def narrowing(self) -> list[str]:
        """The names of the fields that narrow the list, besides the keywords."""
        return [f.name for f in fields(self) if f.name not in ("q", "sort")
                and getattr(self, f.name) != f.default]

    @property
    def holds_free_text(self) -> bool:
        """Whether a user's own text narrows the list (keywords, part of a company's name): every
        other filter is a value the desk checked against its own (a state, an id, a day)."""
        return bool(self.q or self.company_name)

    @property
    def needs_window(self) -> bool:
        return self.overdue or self.due_soon or self.sign in (Timeliness.LATE, Timeliness.MEASURED)

    @property
    def measure_narrowing(self) -> list[str]:
        """The names of the measure fields that narrow the list (what a dashboard link added)."""
        return [name for name in self.narrowing if name in _MEASURE_FIELD_NAMES]


#: the date arguments, each a field of the same name
_DAY_FIELDS = ("logged_from", "logged_to", "dispatched_from", "dispatched_to", "closed_from",
               "closed_to", "responded_from", "responded_to", "feedback_from", "feedback_to",
               "returned_from", "returned_to", "reopened_from", "reopened_to")
#: the arguments that may repeat, and the field each fills
_MULTIPLE_FIELDS = {"close_reason": "close_reasons", "outcome": "outcomes", "feedback": "feedbacks"}
_MEASURE_FIELD_NAMES = frozenset(
    {*(name for name in MEASURE_ARGUMENTS if name not in _MULTIPLE_FIELDS), *_MULTIPLE_FIELDS.values()})


def _measure_fields(args: Mapping[str, Any]) -> dict[str, Any]:
    sign = _choice(args, "sign", Timeliness)
    response = _choice(args, "response", (Timeliness.ON_TIME, Timeliness.LATE))
    owed_by = _choice(args, "owed_by", OwedBy)
    return {
        **{name: _date(args, name) for name in _DAY_FIELDS if name not in (
            "logged_from", "logged_to", "dispatched_from", "dispatched_to")},
        "close_reasons": _choices(args, "close_reason", CLOSE_REASON_VALUES),
        "outcomes": _choices(args, "outcome", OUTCOME_VALUES),
        "feedbacks": _choices(args, "feedback", FEEDBACK_VALUES),
        "owed_by": OwedBy(owed_by) if owed_by else None,
        "sign": Timeliness(sign) if sign else None,
        "response": Timeliness(response) if response else None,
        "returned_by": _int(args, "returned_by"),
    }


# The query

_LEAD_DEPARTMENT = aliased(Department, name="lead_department")
#: what a list row shows, read as plain rows in one query (pagination.ids_first_of's `read_whole`): the
#: demand's own columns and the names of its company, category and lead department. Building the
#: ORM's objects for them cost five times as much as the rows (1.6 ms against 0.3 for 50 rows).
LIST_ROWS = (
    select(Demand.id, Demand.number, Demand.title, Demand.state, Demand.key_supervision,
           Demand.key_supervision_reason, Demand.closed_at, Demand.returns_count,
           Demand.current_step, Demand.current_due, Demand.respond_extended,
           Demand.sign_provisional, Demand.respond_provisional, Demand.feedback_provisional,
           Company.name.label("company_name"), Company.short_name.label("company_short_name"),
           Category.name.label("category_name"), Category.name_en.label("category_name_en"),
           _LEAD_DEPARTMENT.name.label("lead_department_name"),
           _LEAD_DEPARTMENT.short_name.label("lead_department_short_name"))
    .join(Company, Company.id == Demand.company_id)
    .join(Category, Category.id == Demand.category_id)
    .outerjoin(_LEAD_DEPARTMENT, _LEAD_DEPARTMENT.id == Demand.lead_department_id)
)


def demand_query(user: User, filters: DemandFilters, window: CardWindow | None = None, *,
                 matches: int = 0) -> Select[tuple[Demand]]:
    """The demands the user may see that match the filters, sorted as asked.

    `window` is needed only for the overdue and due-soon filters; when it is not given and one of
    them is asked for, it is computed for today. `matches`, when the caller has counted them, lets
    SQLite read a large result in the sort's order (see `_along_the_sort`) and PostgreSQL choose how
    to ask for a keyword (see `KeywordRead`); 0, not counted, is for the count itself and for
    statements that read every match.
    """
    if filters.needs_window and window is None:
        window = card_window()
    where = [visibility_clause(user, within_department=filters.department_id),
             *conditions(filters, window, keyword_read=KeywordRead.of(filters.sort, matches))]
    statement = select(Demand).where(*_along_the_sort(where, filters.sort, matches))
    return _with_plans_kept(statement.order_by(*_order(filters.sort)), filters)


def _with_plans_kept(statement: Select[tuple[Demand]], filters: DemandFilters) -> Select[tuple[Demand]]:
    """On PostgreSQL, demands narrowed by checked values only (a queue's sections, the dashboard's
    links, a state, a department) are asked with those values written in, so that PostgreSQL keeps
    the plans of what people open again and again, which it planned anew on each request where a
    value changes the best plan (a queue's rows: 6 ms of planning for 4 of work; an overdue list's
    0.8 for 1). A user's own text stays a parameter."""
    if filters.holds_free_text or db.session.get_bind().dialect.name != "postgresql":
        return statement
    return with_values_written_in(statement)


def known_total(user: User, filters: DemandFilters) -> Select[tuple[int]] | None:
    """The list's total read more cheaply than by counting its demands, for someone who sees every
    demand: from the totals kept per state when nothing but states narrows the list, from SQLite's
    keyword index alone when nothing but keywords does (at 100,000 demands 0.5 ms for a common
    two-character word where looking each match up among the demands took 14 ms). None when the
    demands must be counted."""
    if set(filters.narrowing) - {"states"} or not sees_all(user):
        return None
    if filters.q:
        if filters.states or db.session.get_bind().dialect.name != "sqlite":
            return None
        return select(func.count()).select_from(demand_search).where(*_sqlite_keywords(terms_of(filters.q)))
    total = select(func.coalesce(func.sum(DemandStateTotal.demands), 0))
    return total.where(DemandStateTotal.state.in_(filters.states)) if filters.states else total


#: from this many matching demands on, SQLite reads a page along the sort's index (see below); the
#: point where reading (50 / share of the demands that match) rows in order costs less than reading
#: every match and sorting it lies near the square root of 50 times the demands (2,200 at 100,000)
SORT_INDEX_FROM = 2000


def _along_the_sort(where: list[ColumnElement[bool]], sort: Sort,
                    matches: int) -> list[ColumnElement[bool]]:
    """SQLite keeps no statistics of how many rows a condition keeps, so it reads a large result
    (every closed demand, a common keyword, a year's drill-down) through the condition's index and
    sorts all of it, where reading the sort's own index until the page is full is far cheaper: at
    100,000 demands 30–130 ms against 1–3. Given as one opaque expression, the conditions cannot
    lead and the sort's index does; small results keep their conditions' indexes. PostgreSQL has
    the statistics to choose by itself."""
    if (matches < SORT_INDEX_FROM or sort is Sort.DUE
            or db.session.get_bind().dialect.name != "sqlite"):
        return where
    return [func.coalesce(and_(*where), false())]


def filtered(user: User, args: Mapping[str, Any]) -> Select[tuple[Demand]]:
    """demand_query for a query string or the API's arguments, read by DemandFilters.from_args."""
    return demand_query(user, DemandFilters.from_args(args))


def conditions(filters: DemandFilters, window: CardWindow | None, *,
               keyword_read: KeywordRead | None = None) -> list[ColumnElement[bool]]:
    """The WHERE clauses of the filters: the list's, and the dashboard's counts (measures).
    `keyword_read` says how the statement will read a keyword's matches (default: all of them)."""
    where: list[ColumnElement[bool]] = []
    if filters.states and not _states_in_department_ids(filters):
        where.append(Demand.state.in_(filters.states))
    if filters.department_id is not None:
        where.append(_department_clause(filters.department_id, filters.department_role, filters.states))
    if filters.category_id is not None:
        where.append(Demand.category_id == filters.category_id)
    if filters.company_id is not None:
        where.append(Demand.company_id == filters.company_id)
    if filters.company_name:
        where.append(Demand.company_id.in_(companies_named(filters.company_name)))
    if filters.source:
        where.append(Demand.source == filters.source)
    if filters.urgency:
        where.append(Demand.urgency == filters.urgency)
    if window is not None and filters.overdue:
        where.append(window.overdue_clause())
    if window is not None and filters.due_soon:
        where.append(window.due_soon_clause())
    if filters.key_supervision:
        where.append(Demand.key_supervision.is_(True))
    if filters.pending_extension:
        where.append(Demand.id.in_(select(ExtensionRequest.demand_id)
                                   .where(ExtensionRequest.status == "pending")))
    if filters.returned:
        where.append(Demand.returns_count > 0)
    where += _day_range(Demand.created_at, filters.logged_from, filters.logged_to)
    where += _day_range(Demand.dispatched_at, filters.dispatched_from, filters.dispatched_to)
    where += _measure_conditions(filters, window)
    if filters.q:
        where.append(keyword_clause(filters.q, keyword_read or KeywordRead.EVERY_MATCH))
    return where


def _measure_conditions(filters: DemandFilters, window: CardWindow | None) -> list[ColumnElement[bool]]:
    where = _day_range(Demand.closed_at, filters.closed_from, filters.closed_to)
    where += _day_range(Demand.responded_at, filters.responded_from, filters.responded_to)
    where += _day_range(Demand.feedback_at, filters.feedback_from, filters.feedback_to)
    for column_, values in ((Demand.close_reason, filters.close_reasons), (Demand.outcome, filters.outcomes),
                            (Demand.feedback, filters.feedbacks)):
        if values:
            where.append(column_.in_(values))
    if filters.owed_by is not None:
        where.append(Demand.current_step.in_(STEPS_OWED[filters.owed_by]))
    if filters.response is not None:
        where += [Demand.responded_at.is_not(None),
                  Demand.responded_late.is_(filters.response is Timeliness.LATE)]
    if filters.sign is not None:
        where.append(_sign_clause(filters.sign, window))
    if filters.returned_by is not None or filters.returned_from or filters.returned_to:
        returned = [DemandEvent.action == Action.RETURN.value,
                    *_day_range(DemandEvent.at, filters.returned_from, filters.returned_to)]
        if filters.returned_by is not None:
            returned.append(DemandEvent.actor_department_id == filters.returned_by)
        where.append(Demand.id.in_(select(DemandEvent.demand_id).where(*returned)))
    if filters.reopened_from or filters.reopened_to:
        where.append(Demand.id.in_(select(DemandEvent.demand_id).where(
            REOPENED, *_day_range(DemandEvent.at, filters.reopened_from, filters.reopened_to))))
    return where


def companies_named(text_: str) -> Select[tuple[int]]:
    """The ids of the companies whose name or short name holds the text, or whose credit code it is."""
    return select(Company.id).where(or_(Company.name.icontains(text_, autoescape=True),
                                        Company.short_name.icontains(text_, autoescape=True),
                                        Company.credit_code == text_.upper()))


def _sign_clause(sign: Timeliness, window: CardWindow | None) -> ColumnElement[bool]:
    signed_on_time = and_(Demand.signed_at.is_not(None), Demand.signed_late.is_(False))
    if sign is Timeliness.ON_TIME:
        return signed_on_time
    today = window.today if window is not None else clock.today()
    late = or_(and_(Demand.signed_at.is_not(None), Demand.signed_late.is_(True)),
               and_(Demand.signed_at.is_(None), Demand.sign_due < today))
    return late if sign is Timeliness.LATE else or_(signed_on_time, late)


def _states_in_department_ids(filters: DemandFilters) -> bool:
    """Whether, on SQLite, the states are left to the department's list of ids (as lead or
    co-department), which is narrowed by them already: asked again of the demands, the states made
    SQLite read every demand in them, desk-wide, to keep the department's (a handler's demands in
    progress at 100,000 demands: 0.64 ms to 0.24). PostgreSQL's plans are better with them (its
    state and deadline index carries the ids, migration 0011)."""
    return (filters.department_id is not None and filters.department_role is not DepartmentRole.LEAD
            and db.session.get_bind().dialect.name == "sqlite")


def _department_clause(department_id: int, role: DepartmentRole,
                       states: tuple[str, ...]) -> ColumnElement[bool]:
    if role is DepartmentRole.LEAD:  # a column of the demand itself: no list of ids to build
        return Demand.lead_department_id == department_id
    return Demand.id.in_(department_demand_ids(
        department_id, lead=role is DepartmentRole.ANY, states=states))


def start_of(day: date) -> datetime:
    """Midnight Beijing time at the start of the day."""
    return datetime.combine(day, time.min, ZONE)


def _day_range(moment: Any, first: date | None, last: date | None) -> list[ColumnElement[bool]]:
    where = []
    if first is not None:
        where.append(moment >= start_of(first))
    if last is not None:
        where.append(moment < start_of(last + DAY))
    return where


def _order(sort: Sort) -> list[Any]:
    if sort is Sort.OLDEST:
        return [Demand.created_at.asc(), Demand.id.asc()]
    if sort is Sort.DUE:
        return [Demand.current_due.is_(None), Demand.current_due.asc(), Demand.id.asc()]
    if sort is Sort.NUMBER:
        return [Demand.number.asc()]
    return [Demand.created_at.desc(), Demand.id.desc()]


# Keywords

#: the FTS5 table migration 0003 keeps in step with demands (rowid = demands.id)
demand_search = table("demand_search", column("rowid", Integer), column("title"), column("description"),
                      column("company_name"))
#: the trigrams in demand_search, one row each (migration 0007's fts5vocab table)
demand_search_terms = table("demand_search_terms", column("term"))
#: a code point above every character, to end the range of the trigrams that begin with a term
LAST_CHARACTER = "\U0010ffff"


def terms_of(q: str) -> list[str]:
    """The whitespace-separated terms of a query, each once, at most MAX_TERMS of them."""
    return list(dict.fromkeys(q[:MAX_QUERY_LENGTH].split()))[:MAX_TERMS]


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def fts_phrase(term: str) -> str:
    """An FTS5 string: the term as one phrase, its double quotes doubled."""
    return '"' + term.replace('"', '""') + '"'


class KeywordRead(enum.Enum):
    """How a statement reads a keyword's matches, which decides how PostgreSQL is asked for a
    two-character term (`_postgresql_term`): the same rows each way, at very different costs."""

    #: every match (the list's count, an export, a measure): through the index alone
    EVERY_MATCH = "every"
    #: a page of a result counted below SORT_INDEX_FROM, or of one in an order no index gives
    PAGE = "page"
    #: a page of a result counted at SORT_INDEX_FROM or more: along the sort's index
    ALONG_THE_SORT = "along"

    @classmethod
    def of(cls, sort: Sort, matches: int) -> KeywordRead:
        if not matches:
            return cls.EVERY_MATCH
        # sorted by deadline (missing ones last) no index gives the order: every match is read
        return cls.ALONG_THE_SORT if matches >= SORT_INDEX_FROM and sort is not Sort.DUE else cls.PAGE


def keyword_clause(q: str, read: KeywordRead = KeywordRead.EVERY_MATCH) -> ColumnElement[bool]:
    """Demands whose title, description or company name holds every term of q."""
    terms = terms_of(q)
    if not terms:
        return true()
    dialect = db.session.get_bind().dialect.name
    if dialect == "sqlite":
        return Demand.id.in_(select(demand_search.c.rowid).where(*_sqlite_keywords(terms)))
    return and_(*(_postgresql_term(term, read) for term in terms))  # the desk runs on these two only


def _sqlite_keywords(terms: list[str]) -> list[ColumnElement[bool]]:
    """The conditions on the keyword index (one row per demand, rowid = demands.id) that every
    term holds."""
    if not terms:
        return []
    phrases = [fts_phrase(t) for t in terms if len(t) >= TRIGRAM]
    where: list[ColumnElement[bool]] = []
    for term in (t for t in terms if len(t) == BIGRAM):
        trigrams = _trigrams_beginning(term)
        if not trigrams:
            return [false()]
        phrases.append("(" + " OR ".join(fts_phrase(t) for t in trigrams) + ")")
    if phrases:
        # The trigram index finds any substring of 3+ characters.
        where.append(literal_column("demand_search").op("MATCH")(" AND ".join(phrases)))
    for term in (t for t in terms if len(t) < BIGRAM):
        pattern = _like_pattern(term)
        where.append(or_(*(demand_search.c[name].like(pattern, escape="\\")
                           for name in ("title", "description", "company_name"))))
    return where


def _trigrams_beginning(term: str) -> list[str]:
    """The trigrams of the search table that begin with the two characters (the tokenizer folds
    case, so the term is folded too). Remembered for the request, whose count and page both ask."""
    folded = term.lower()
    remembered: dict[str, list[str]] = for_the_request("trigrams_beginning", dict)
    if folded not in remembered:
        remembered[folded] = list(db.session.scalars(select(demand_search_terms.c.term).where(
            demand_search_terms.c.term >= folded, demand_search_terms.c.term < folded + LAST_CHARACTER)))
    return remembered[folded]


def demand_text() -> ColumnElement[str]:
    """A demand's title and description as one value, as migration 0009's indexes hold it: written
    with literal constants (never parameters), so that every plan of every statement matches the
    indexes' expression. The space between them keeps a term from matching across the two: a term
    holds no whitespace (terms_of splits on it)."""
    return (Demand.title.op("||")(literal_column("' '"))
            .op("||")(func.coalesce(Demand.description, literal_column("''"))))


def _postgresql_term(term: str, read: KeywordRead = KeywordRead.EVERY_MATCH) -> ColumnElement[bool]:
    """One term on PostgreSQL: in the title and description, read as one value through one GIN
    index (migration 0009), or in the company's name. The companies whose name holds the term are
    looked up first, as an array (`company_id = ANY(ARRAY(SELECT ...))`, computed once per
    statement), so that the condition is one bitmap scan of demands (the text's index OR
    ix_demands_company_id): no union of ids, no join back to the demands.

    A term of three characters or more is ILIKE, which the trigram index serves. A term of two asks
    the two-character pieces (`desk_bigrams`, lower-cased as ILIKE compares): holding the term's
    piece is holding the term, so the index's answer is exact and never checked again. Computing a
    row's pieces costs some 60 µs, though, against under 1 µs for `strpos(lower(text), lower(term))
    > 0`, which says the same but no index serves. So the term is asked as `read` needs:

    - EVERY_MATCH: the pieces alone. The count of a common word is then the index's answer (at
      100,000 demands 7 ms for 用地's 8,000 matches where checking strpos in each row took 20).
    - PAGE: (pieces OR company) AND (strpos OR company): the planner may still read along the
      sort's index where it expects many matches, and checks strpos first there.
    - ALONG_THE_SORT: strpos alone, which PostgreSQL can only check row by row, so that it reads the
      sort's index until the page is full (some 500 rows for a word in one demand in twelve) and
      never computes a row's pieces (4.5 ms for a page of 用地 where the rows' pieces were asked).
      A longer term too: strpos of the lower-cased values says what ILIKE of an escaped pattern
      does, for less.
    Not ILIKE for strpos: the trigram index would offer to read itself whole for it."""
    text_ = demand_text()
    if len(term) == BIGRAM:
        piece = func.desk_bigrams(literal(term, Text))
        in_name = func.desk_bigrams(Company.name).op("@>")(piece)
    else:
        pattern = _like_pattern(term)
        in_name = Company.name.ilike(pattern, escape="\\")
    in_company = Demand.company_id == any_(func.array(select(Company.id).where(in_name).scalar_subquery()))
    in_text = or_(func.strpos(func.lower(text_), func.lower(literal(term, Text))) > 0, in_company)
    if read is KeywordRead.ALONG_THE_SORT:
        return in_text
    if len(term) != BIGRAM:
        return or_(text_.ilike(pattern, escape="\\"), in_company)
    in_pieces = or_(func.desk_bigrams(text_).op("@>")(piece), in_company)
    return in_pieces if read is KeywordRead.EVERY_MATCH else and_(in_pieces, in_text)
