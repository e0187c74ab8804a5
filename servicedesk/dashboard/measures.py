"""The dashboard's measures: one definition each, used by the page, the exports and the API.

Every number is a count of the demands that match a `DemandFilters`, so the filters that define a
number are also the link to the demands behind it: `url_for("demands.index", **filters.to_args())`
lists exactly the demands counted, with the list's own query (`demands.search.conditions`).
A rate is two such counts; "—" (None) when it has no cases. The average handling time is the mean
of `Demand.handling_days` over the responses it counts.

A demand counts once per measure, in the period of its latest dispatch, response, feedback or
closing (the demand row keeps the latest of each); the earlier steps of a returned or reopened
demand show in the returns and reopenings, counted from the history.

Everything one dashboard shows comes from a fixed number of SELECTs whatever the number of
demands: the headline numbers, the age groups and the weekly trend in one pass over the demands
(one `count(*) FILTER (WHERE ...)` per number), the league table and each breakdown in one
grouped SELECT, the returns by department in one, the red list and the key supervision items in
one each.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select
from sqlalchemy.orm import joinedload

from servicedesk.demands.operations import visibility_clause
from servicedesk.demands.search import (
    OPEN_STATE_VALUES,
    CardWindow,
    DemandFilters,
    DepartmentRole,
    OwedBy,
    Sort,
    Timeliness,
    conditions,
    demand_query,
    start_of,
)
from servicedesk.domain.lifecycle import Action, CloseReason, Feedback, Outcome, State
from servicedesk.domain.workdays import DAY, WorkingCalendar
from servicedesk.extensions import db
from servicedesk.models import Demand, DemandEvent, User

# The period

class PeriodKind(enum.StrEnum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    #: two days the user chose
    RANGE = "range"


#: the longest range a user may choose, so that a typing error does not scan a century
MAX_RANGE_DAYS = 3 * 366


@dataclass(frozen=True)
class Period:
    """Beijing days first..last, both included."""

    kind: PeriodKind
    first: date
    last: date

    @classmethod
    def containing(cls, kind: PeriodKind, today: date) -> Period:
        """This week (Monday to Sunday), month, quarter or year."""
        if kind is PeriodKind.WEEK:
            first = today - timedelta(days=today.weekday())
            return cls(kind, first, first + timedelta(days=6))
        if kind is PeriodKind.YEAR:
            return cls(kind, date(today.year, 1, 1), date(today.year, 12, 31))
        months = 3 if kind is PeriodKind.QUARTER else 1
        first_month = (today.month - 1) // months * months + 1
        first = date(today.year, first_month, 1)
        following = date(first.year + (first_month + months > 12), (first_month + months - 1) % 12 + 1, 1)
        return cls(PeriodKind.QUARTER if months == 3 else PeriodKind.MONTH, first, following - DAY)

    @classmethod
    def from_args(cls, args: Mapping[str, Any], today: date) -> Period:
        """`from` and `to` (ISO days) choose a range; else `period` (this month when absent or unknown)."""
        first, last = _day(args.get("from")), _day(args.get("to"))
        if first is not None and last is not None and first <= last <= first + timedelta(days=MAX_RANGE_DAYS):
            return cls(PeriodKind.RANGE, first, last)
        try:
            kind = PeriodKind(str(args.get("period") or PeriodKind.MONTH))
        except ValueError:
            kind = PeriodKind.MONTH
        return cls.containing(PeriodKind.MONTH if kind is PeriodKind.RANGE else kind, today)

    def to_args(self) -> dict[str, str]:
        if self.kind is PeriodKind.RANGE:
            return {"from": self.first.isoformat(), "to": self.last.isoformat()}
        return {"period": self.kind.value}


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Scope:
    """What one dashboard counts: a period, optionally one (lead) department or one category."""

    period: Period
    today: date
    department_id: int | None = None
    category_id: int | None = None
    #: a company's row of the company breakdown (the page itself is not narrowed to a company)
    company_id: int | None = None

    def filters(self, **narrowing: Any) -> DemandFilters:
        """The scope as list filters, narrowed further (the department counts as lead department)."""
        base = DemandFilters(
            department_id=self.department_id, category_id=self.category_id, company_id=self.company_id,
            department_role=DepartmentRole.LEAD if self.department_id is not None else DepartmentRole.ANY,
        )
        return replace(base, **narrowing)

    def args(self) -> dict[str, Any]:
        """The dashboard's own query string for this scope."""
        args: dict[str, Any] = dict(self.period.to_args())
        if self.department_id is not None:
            args["department"] = self.department_id
        if self.category_id is not None:
            args["category"] = self.category_id
        return args

    def days(self, first: str, last: str, start: date | None = None,
             end: date | None = None) -> dict[str, date]:
        """The period (or start..end) as the two day fields of a filter."""
        return {first: start or self.period.first, last: end or self.period.last}


# The counts

class Count(enum.StrEnum):
    OPEN = "open"
    OVERDUE = "overdue"
    OVERDUE_DEPARTMENT = "overdue_department"
    OVERDUE_OFFICER = "overdue_officer"
    DISPATCHED = "dispatched"
    CLOSED = "closed"
    #: closed on the company's satisfied or basically satisfied feedback
    CLOSED_RESOLVED = "closed_resolved"
    CLOSED_WITHDRAWN = "closed_withdrawn"
    CLOSED_DUPLICATE = "closed_duplicate"
    SIGN_MEASURED = "sign_measured"
    SIGNED_ON_TIME = "signed_on_time"
    RESPONSES = "responses"
    RESPONSES_ON_TIME = "responses_on_time"
    SOLVED = "solved"
    PARTLY_SOLVED = "partly_solved"
    FEEDBACK = "feedback"
    SATISFIED = "satisfied"
    RETURNS = "returns"
    REOPENINGS = "reopenings"
    KEY_SUPERVISION = "key_supervision"


_RESOLVED = (CloseReason.SATISFIED.value, CloseReason.BASICALLY_SATISFIED.value)
_CLOSED = (State.CLOSED.value,)


def _open(scope: Scope, **narrowing: Any) -> DemandFilters:
    return scope.filters(states=OPEN_STATE_VALUES, **narrowing)


def _dispatched(scope: Scope, **narrowing: Any) -> DemandFilters:
    return scope.filters(**{**scope.days("dispatched_from", "dispatched_to"), **narrowing})


def _closed(scope: Scope, **narrowing: Any) -> DemandFilters:
    return scope.filters(**{"states": _CLOSED, **scope.days("closed_from", "closed_to"), **narrowing})


def _responses(scope: Scope, **narrowing: Any) -> DemandFilters:
    return scope.filters(**{**scope.days("responded_from", "responded_to"), **narrowing})


def _feedback(scope: Scope, **narrowing: Any) -> DemandFilters:
    return scope.filters(**{**scope.days("feedback_from", "feedback_to"), **narrowing})


def _returns(scope: Scope) -> DemandFilters:
    # Counted against the department that returned it, which is no longer its lead department.
    return replace(scope.filters(**scope.days("returned_from", "returned_to")),
                   department_id=None, department_role=DepartmentRole.ANY, returned_by=scope.department_id)


#: the filters that define each count, for a scope
COUNTS: Mapping[Count, Callable[[Scope], DemandFilters]] = {
    Count.OPEN: _open,
    Count.OVERDUE: lambda scope: _open(scope, overdue=True),
    Count.OVERDUE_DEPARTMENT: lambda scope: _open(scope, overdue=True, owed_by=OwedBy.DEPARTMENT),
    Count.OVERDUE_OFFICER: lambda scope: _open(scope, overdue=True, owed_by=OwedBy.OFFICER),
    Count.DISPATCHED: _dispatched,
    Count.CLOSED: _closed,
    Count.CLOSED_RESOLVED: lambda scope: _closed(scope, close_reasons=_RESOLVED),
    Count.CLOSED_WITHDRAWN: lambda scope: _closed(scope, close_reasons=(CloseReason.WITHDRAWN.value,)),
    Count.CLOSED_DUPLICATE: lambda scope: _closed(scope, close_reasons=(CloseReason.DUPLICATE.value,)),
    Count.SIGN_MEASURED: lambda scope: _dispatched(scope, sign=Timeliness.MEASURED),
    Count.SIGNED_ON_TIME: lambda scope: _dispatched(scope, sign=Timeliness.ON_TIME),
    Count.RESPONSES: _responses,
    Count.RESPONSES_ON_TIME: lambda scope: _responses(scope, response=Timeliness.ON_TIME),
    Count.SOLVED: lambda scope: _closed(scope, close_reasons=_RESOLVED, outcomes=(Outcome.SOLVED.value,)),
    Count.PARTLY_SOLVED: lambda scope: _closed(scope, close_reasons=_RESOLVED,
                                               outcomes=(Outcome.PARTLY_SOLVED.value,)),
    Count.FEEDBACK: _feedback,
    Count.SATISFIED: lambda scope: _feedback(scope, feedbacks=(Feedback.SATISFIED.value,
                                                               Feedback.BASICALLY_SATISFIED.value)),
    Count.RETURNS: _returns,
    Count.REOPENINGS: lambda scope: scope.filters(**scope.days("reopened_from", "reopened_to")),
    Count.KEY_SUPERVISION: lambda scope: _open(scope, key_supervision=True),
}


class Rate(enum.StrEnum):
    RESPONSE = "response"
    ON_TIME = "on_time"
    RESOLUTION = "resolution"
    SATISFACTION = "satisfaction"


#: each rate as (cases that meet it, cases measured)
RATES: Mapping[Rate, tuple[Count, Count]] = {
    Rate.RESPONSE: (Count.SIGNED_ON_TIME, Count.SIGN_MEASURED),
    Rate.ON_TIME: (Count.RESPONSES_ON_TIME, Count.RESPONSES),
    Rate.RESOLUTION: (Count.SOLVED, Count.CLOSED_RESOLVED),
    Rate.SATISFACTION: (Count.SATISFIED, Count.FEEDBACK),
}

#: the average handling time is the mean of Demand.handling_days over these demands
AVERAGE_OVER = Count.RESPONSES

LABELS: Mapping[str, Any] = {
    Count.OPEN: _l("Open"),
    Count.OVERDUE: _l("Overdue"),
    Count.OVERDUE_DEPARTMENT: _l("Overdue, owed by the department"),
    Count.OVERDUE_OFFICER: _l("Overdue, owed by the officer"),
    Count.DISPATCHED: _l("Dispatched"),
    Count.CLOSED: _l("Closed"),
    Count.CLOSED_RESOLVED: _l("Closed on feedback"),
    Count.CLOSED_WITHDRAWN: _l("Withdrawn"),
    Count.CLOSED_DUPLICATE: _l("Duplicates"),
    Count.SIGN_MEASURED: _l("Sign deadlines measured"),
    Count.SIGNED_ON_TIME: _l("Signed in time"),
    Count.RESPONSES: _l("Responses"),
    Count.RESPONSES_ON_TIME: _l("Responses in time"),
    Count.SOLVED: _l("Solved"),
    Count.PARTLY_SOLVED: _l("Partly solved"),
    Count.FEEDBACK: _l("Feedback recorded"),
    Count.SATISFIED: _l("Satisfied or basically satisfied"),
    Count.RETURNS: _l("Returns"),
    Count.REOPENINGS: _l("Reopenings"),
    Count.KEY_SUPERVISION: _l("Key supervision"),
    Rate.RESPONSE: _l("Response rate"),
    Rate.ON_TIME: _l("On-time rate"),
    Rate.RESOLUTION: _l("Resolution rate"),
    Rate.SATISFACTION: _l("Satisfaction rate"),
    "average_days": _l("Average handling time"),
}

DEFINITIONS: Mapping[str, Any] = {
    Count.OPEN: _l("Demands not closed, now."),
    Count.OVERDUE: _l("Open demands whose current deadline (sign, respond or extended respond, "
                      "feedback) has passed, now."),
    Count.OVERDUE_DEPARTMENT: _l("Overdue demands waiting for the department to sign or respond."),
    Count.OVERDUE_OFFICER: _l("Overdue demands waiting for the officer to record the company's feedback."),
    Count.DISPATCHED: _l("Demands dispatched in the period (the latest dispatch of each)."),
    Count.CLOSED: _l("Demands closed in the period; withdrawn and duplicates are shown apart."),
    Count.CLOSED_RESOLVED: _l("Demands closed in the period on satisfied or basically satisfied feedback."),
    Count.CLOSED_WITHDRAWN: _l("Demands closed in the period as withdrawn."),
    Count.CLOSED_DUPLICATE: _l("Demands closed in the period as duplicates."),
    Count.SIGN_MEASURED: _l("Demands dispatched in the period that are signed or past their sign deadline."),
    Count.SIGNED_ON_TIME: _l("Demands dispatched in the period and signed by the sign deadline."),
    Count.RESPONSES: _l("Demands whose latest response was given in the period."),
    Count.RESPONSES_ON_TIME: _l("Responses given in the period by the respond deadline in force "
                                "(approved extensions count)."),
    Count.SOLVED: _l("Demands closed on feedback in the period whose last response was 'solved'."),
    Count.PARTLY_SOLVED: _l("Demands closed on feedback in the period whose last response was "
                            "'partly solved'."),
    Count.FEEDBACK: _l("Demands whose latest feedback was recorded in the period."),
    Count.SATISFIED: _l("Feedback recorded in the period that was satisfied or basically satisfied."),
    Count.RETURNS: _l("Demands a department returned as not its business in the period."),
    Count.REOPENINGS: _l("Demands reopened by unsatisfied feedback in the period."),
    Count.KEY_SUPERVISION: _l("Open demands a leader flagged for key supervision."),
    Rate.RESPONSE: _l("Of the demands dispatched in the period that are signed or past their sign "
                      "deadline: the share signed by the sign deadline."),
    Rate.ON_TIME: _l("Of the responses given in the period: the share given by the respond deadline in "
                     "force (approved extensions count)."),
    Rate.RESOLUTION: _l("Of the demands closed in the period, withdrawn and duplicates excluded: the share "
                        "whose last response was 'solved' (partly solved is shown apart)."),
    Rate.SATISFACTION: _l("Of the feedback recorded in the period: the share satisfied or basically "
                          "satisfied."),
    "average_days": _l("Mean working days from dispatch to response, for the responses given in the "
                       "period."),
}


# Numbers with their lists

@dataclass(frozen=True)
class Number:
    value: int
    #: the demands counted: the list link
    filters: DemandFilters


@dataclass(frozen=True)
class RateValue:
    met: Number
    measured: Number

    @property
    def value(self) -> float | None:
        """The share met, None (shown "—") when nothing was measured."""
        return self.met.value / self.measured.value if self.measured.value else None


@dataclass(frozen=True)
class Figures:
    """Every count, rate and the average handling time of one scope (the page's headline, one row of
    the league table, one category)."""

    counts: dict[Count, Number]
    average_days: float | None

    def __getitem__(self, count: Count) -> Number:
        return self.counts[count]

    def rate(self, rate: Rate) -> RateValue:
        met, measured = RATES[rate]
        return RateValue(self.counts[met], self.counts[measured])


def _tally_columns(tallies: Mapping[str, DemandFilters], window: CardWindow) -> list[Any]:
    return [func.count().filter(and_(*conditions(filters, window))).label(name)
            for name, filters in tallies.items()]


def _average_column(filters: DemandFilters, window: CardWindow) -> Any:
    return func.avg(Demand.handling_days).filter(and_(*conditions(filters, window))).label("average_days")


def _figures(scope: Scope, values: Mapping[str, Any], counts: Iterable[Count] = tuple(COUNTS)) -> Figures:
    numbers = {count: Number(int(values[count.value] or 0), COUNTS[count](scope)) for count in counts}
    average = values.get("average_days")
    return Figures(numbers, float(average) if average is not None else None)


# Age of open demands and the weekly trend

#: the age groups of open demands, in working days since they were logged: (fewest, most)
AGE_GROUPS: tuple[tuple[int, int | None], ...] = ((0, 5), (6, 10), (11, 20), (21, None))
TREND_WEEKS = 12


@dataclass(frozen=True)
class AgeGroup:
    fewest: int
    most: int | None
    number: Number


@dataclass(frozen=True)
class Week:
    first: date
    dispatched: Number
    closed: Number


def age_filters(scope: Scope, calendar: WorkingCalendar) -> list[tuple[int, int | None, DemandFilters]]:
    """Open demands by how many working days have passed since they were logged."""
    groups = []
    for fewest, most in AGE_GROUPS:
        logged_from = calendar.earliest_within(scope.today, most) if most is not None else None
        logged_to = calendar.earliest_within(scope.today, fewest - 1) - DAY if fewest else None
        groups.append((fewest, most, _open(scope, logged_from=logged_from, logged_to=logged_to)))
    return groups


def trend_weeks(scope: Scope) -> list[date]:
    """The Mondays of the last TREND_WEEKS weeks, up to the week holding the period's end (or today)."""
    last = min(scope.period.last, scope.today)
    monday = last - timedelta(days=last.weekday())
    return [monday - timedelta(weeks=n) for n in range(TREND_WEEKS - 1, -1, -1)]


def _week_filters(scope: Scope, monday: date) -> tuple[DemandFilters, DemandFilters]:
    sunday = monday + timedelta(days=6)
    return (_dispatched(scope, **scope.days("dispatched_from", "dispatched_to", monday, sunday)),
            _closed(scope, **scope.days("closed_from", "closed_to", monday, sunday)))


# The dashboard

RED_LIST_SIZE = 10
KEY_SUPERVISION_SIZE = 10
TOP_COMPANIES = 10


@dataclass(frozen=True)
class RedListItem:
    demand: Demand
    days_overdue: int


@dataclass(frozen=True)
class Breakdown:
    """One row of a grouped table: a department, a category or a company, with its figures."""

    key: int
    figures: Figures


@dataclass
class Dashboard:
    scope: Scope
    headline: Figures
    ages: list[AgeGroup]
    weeks: list[Week]
    departments: list[Breakdown] = field(default_factory=list)
    categories: list[Breakdown] = field(default_factory=list)
    companies: list[Breakdown] = field(default_factory=list)
    red_list: list[RedListItem] = field(default_factory=list)
    key_supervision: list[Demand] = field(default_factory=list)


def headline(user: User, scope: Scope, window: CardWindow, calendar: WorkingCalendar) -> Dashboard:
    """The headline figures, the age groups and the weekly trend: one SELECT."""
    tallies = {count.value: COUNTS[count](scope) for count in COUNTS}
    ages = age_filters(scope, calendar)
    tallies.update({f"age_{index}": filters for index, (_f, _m, filters) in enumerate(ages)})
    mondays = trend_weeks(scope)
    for index, monday in enumerate(mondays):
        tallies[f"dispatched_{index}"], tallies[f"closed_{index}"] = _week_filters(scope, monday)
    statement = select(*_tally_columns(tallies, window), _average_column(COUNTS[AVERAGE_OVER](scope), window))
    values = db.session.execute(statement.select_from(Demand).where(visibility_clause(user))).one()._mapping
    return Dashboard(
        scope=scope,
        headline=_figures(scope, values),
        ages=[AgeGroup(fewest, most, Number(values[f"age_{index}"], filters))
              for index, (fewest, most, filters) in enumerate(ages)],
        weeks=[Week(monday, Number(values[f"dispatched_{index}"], tallies[f"dispatched_{index}"]),
                    Number(values[f"closed_{index}"], tallies[f"closed_{index}"]))
               for index, monday in enumerate(mondays)],
    )


#: what the league table shows of each department: the overdue steps it owes; its returns come from the
#: history, grouped apart
LEAGUE_COUNTS = (Count.OPEN, Count.OVERDUE_DEPARTMENT, Count.SIGN_MEASURED, Count.SIGNED_ON_TIME,
                 Count.RESPONSES, Count.RESPONSES_ON_TIME, Count.CLOSED_RESOLVED, Count.SOLVED,
                 Count.FEEDBACK, Count.SATISFIED, Count.REOPENINGS)
#: what the category breakdown shows
CATEGORY_COUNTS = (Count.OPEN, Count.OVERDUE, Count.DISPATCHED, Count.CLOSED)
#: what the company breakdown shows (the companies with most open demands)
COMPANY_COUNTS = (Count.OPEN, Count.OVERDUE, Count.KEY_SUPERVISION)


def league(user: User, scope: Scope, window: CardWindow) -> list[Breakdown]:
    """Each lead department's figures (one grouped SELECT) and its returns (one more)."""
    rows = _grouped(user, scope, window, Demand.lead_department_id, "department_id", LEAGUE_COUNTS,
                    average=True)
    returns = _returns_by_department(user, scope)
    figures = {row.key: row.figures for row in rows}
    for department_id in returns.keys() - figures.keys():  # returned some, leads none
        figures[department_id] = _figures(replace(scope, department_id=department_id),
                                          dict.fromkeys((c.value for c in LEAGUE_COUNTS), 0), LEAGUE_COUNTS)
    return [Breakdown(department_id, Figures(
        {**figures[department_id].counts,
         Count.RETURNS: Number(returns.get(department_id, 0),
                               _returns(replace(scope, department_id=department_id)))},
        figures[department_id].average_days)) for department_id in sorted(figures)]


def by_category(user: User, scope: Scope, window: CardWindow) -> list[Breakdown]:
    return _grouped(user, scope, window, Demand.category_id, "category_id", CATEGORY_COUNTS)


def by_company(user: User, scope: Scope, window: CardWindow, limit: int = TOP_COMPANIES) -> list[Breakdown]:
    """The companies with most open demands (and at least one)."""
    # Every number of it counts open demands only: reading just those (the state's index) rather
    # than every demand in company order takes 7 ms instead of 180 at 100,000 demands.
    return _grouped(user, scope, window, Demand.company_id, "company_id", COMPANY_COUNTS,
                    order_by=Count.OPEN, limit=limit, within=(Demand.state.in_(OPEN_STATE_VALUES),))


def _grouped(user: User, scope: Scope, window: CardWindow, column_: Any, scope_field: str,
             counts: Sequence[Count], *, average: bool = False, order_by: Count | None = None,
             limit: int | None = None, within: Sequence[Any] = ()) -> list[Breakdown]:
    """One SELECT grouped by a column; each group's numbers link to the scope narrowed to it.
    `within` narrows the rows read to those that all the counts are among."""
    ungrouped = replace(scope, **{scope_field: None})
    tallies = {count.value: COUNTS[count](ungrouped) for count in counts}
    columns = _tally_columns(tallies, window)
    if average:
        columns.append(_average_column(COUNTS[AVERAGE_OVER](ungrouped), window))
    statement = (select(column_.label("key"), *columns).select_from(Demand)
                 .where(visibility_clause(user), column_.is_not(None), *within).group_by(column_))
    if order_by is not None:
        ordering = columns[counts.index(order_by)]
        statement = statement.having(ordering > 0).order_by(ordering.desc(), column_)
    if limit is not None:
        statement = statement.limit(limit)
    return [Breakdown(row.key, _figures(replace(ungrouped, **{scope_field: row.key}), row._mapping, counts))
            for row in db.session.execute(statement)]


def _returns_by_department(user: User, scope: Scope) -> dict[int, int]:
    """How many demands each department returned in the period, from the history (within the
    category, among the demands the user may see)."""
    within = conditions(replace(scope, department_id=None).filters(), None)
    statement = (
        select(DemandEvent.actor_department_id, func.count(func.distinct(DemandEvent.demand_id)))
        .join(Demand, Demand.id == DemandEvent.demand_id)
        .where(DemandEvent.action == Action.RETURN.value, DemandEvent.actor_department_id.is_not(None),
               DemandEvent.at >= start_of(scope.period.first),
               DemandEvent.at < start_of(scope.period.last + DAY),
               visibility_clause(user), *within)
        .group_by(DemandEvent.actor_department_id))
    return {department_id: count for department_id, count in db.session.execute(statement)}


def red_list(user: User, scope: Scope, window: CardWindow, calendar: WorkingCalendar,
             limit: int = RED_LIST_SIZE) -> list[RedListItem]:
    """The most overdue open demands: the oldest current deadline first."""
    filters = replace(COUNTS[Count.OVERDUE](scope), sort=Sort.DUE)
    demands = _listed(user, filters, window, limit)
    return [RedListItem(demand, calendar.working_days_between(demand.current_due, scope.today))
            for demand in demands if demand.current_due is not None]


def key_supervision_items(user: User, scope: Scope, window: CardWindow,
                          limit: int = KEY_SUPERVISION_SIZE) -> list[Demand]:
    return _listed(user, replace(COUNTS[Count.KEY_SUPERVISION](scope), sort=Sort.DUE), window, limit)


def _listed(user: User, filters: DemandFilters, window: CardWindow, limit: int) -> list[Demand]:
    statement = demand_query(user, filters, window).options(
        joinedload(Demand.company), joinedload(Demand.lead_department)).limit(limit)
    return list(db.session.scalars(statement))


def dashboard(user: User, scope: Scope, window: CardWindow, calendar: WorkingCalendar) -> Dashboard:
    """Everything the page shows, in a fixed number of SELECTs."""
    result = headline(user, scope, window, calendar)
    result.departments = league(user, scope, window)
    result.categories = by_category(user, scope, window)
    result.companies = by_company(user, scope, window)
    result.red_list = red_list(user, scope, window, calendar)
    result.key_supervision = key_supervision_items(user, scope, window)
    return result
