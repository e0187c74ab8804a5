"""The dashboard's measures: one definition each, used by the page, the exports and the API.

Every number is a count of the demands that match a `DemandFilters`, so the filters that define a
number are also the link to the demands behind it: `url_for("demands.index", **filters.to_args())`
lists exactly the demands counted, with the list's own query (`demands.search.conditions`).
A rate is two such counts; "—" (None) when it has no cases. The average handling time is the mean
of `Demand.handling_days` over the responses it counts.

A demand counts once per measure, in the period of its latest dispatch, response, feedback or
closing (the demand row keeps the latest of each); the earlier steps of a returned or reopened
demand show in the returns and reopenings, counted from the history.

How a number is counted (`count_period`) depends on what it depends on, so that no SELECT reads
every demand and the cost follows what happened in the period, not how many demands there are:

- what happened in the period (`TALLIED`: dispatched, closed, responses, feedback and their kinds)
  is the sum of the period's buckets in `demand_tallies` (whole years, months, weeks, days: `buckets`),
  which triggers on `demands` keep in step with the very columns the filters read (models.dashboard);
- what depends on today is counted live among the only rows that can count: the open demands
  (`OPEN_COUNTS`, the age groups, the companies, the red list and the key supervision items, from
  an index of the open demands), the unsigned demands whose sign deadline has passed (the rest of
  the sign deadlines measured, from a partial index); each with the filters' own conditions;
- the returns and reopenings come from `counted_events`, the history's events with their demand's
  lead department and category now, kept in step by triggers too.

Each is read once for the whole period by lead department and category, then added up for the
headline, the league table and the categories (a demand has one lead department and one category):
a fixed number of SELECTs whatever the number of demands. tests/dashboard checks every number
against the count of its list.
"""
from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ColumnElement,
    Result,
    Select,
    and_,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import joinedload

from servicedesk.demands.operations import sees_all
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
from servicedesk.domain.lifecycle import CloseReason, Feedback, Outcome, State
from servicedesk.domain.workdays import DAY, WorkingCalendar
from servicedesk.extensions import db
from servicedesk.models import CountedEvent, Demand, DemandTally, User
from servicedesk.models.dashboard import REOPENING, RETURN, TALLY_COLUMNS

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
        # made at once, not replaced: a dashboard makes hundreds
        return DemandFilters(**{
            "department_id": self.department_id, "category_id": self.category_id,
            "company_id": self.company_id,
            "department_role": DepartmentRole.LEAD if self.department_id is not None else DepartmentRole.ANY,
            **narrowing})

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


# Where each count is read

#: the counts the tallies hold (models.dashboard, kept in step with the demands by triggers), each the sum
#: of these columns over the buckets that make up the period
TALLIED: Mapping[Count, tuple[str, ...]] = {
    Count.DISPATCHED: ("dispatched",),
    # and, counted live, the unsigned demands past their sign deadline: it passes without a write
    Count.SIGN_MEASURED: ("signed_on_time", "signed_late"),
    Count.SIGNED_ON_TIME: ("signed_on_time",),
    Count.CLOSED: ("closed",),
    Count.CLOSED_RESOLVED: ("closed_resolved",),
    Count.CLOSED_WITHDRAWN: ("closed_withdrawn",),
    Count.CLOSED_DUPLICATE: ("closed_duplicate",),
    Count.SOLVED: ("solved",),
    Count.PARTLY_SOLVED: ("partly_solved",),
    Count.RESPONSES: ("responses",),
    Count.RESPONSES_ON_TIME: ("responses_on_time",),
    Count.FEEDBACK: ("feedback",),
    Count.SATISFIED: ("satisfied",),
}
#: the counts of the open demands, which change with today: counted live among the open demands alone
OPEN_COUNTS = (Count.OPEN, Count.OVERDUE, Count.OVERDUE_DEPARTMENT, Count.OVERDUE_OFFICER,
               Count.KEY_SUPERVISION)


def buckets(first: date, last: date) -> list[tuple[str, date]]:
    """The tally buckets (grain, first day) that make up first..last exactly: whole years, whole
    months, whole weeks (unless a whole month begins in one) and single days."""
    found = []
    day = first
    while day <= last:
        grain = _grain_at(day, last)
        found.append((grain, day))
        day = _bucket_end(grain, day) + DAY
    return found


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _bucket_end(grain: str, day: date) -> date:
    if grain == "year":
        return date(day.year, 12, 31)
    if grain == "month":
        return _next_month(day) - DAY
    return day + timedelta(days=6) if grain == "week" else day


def _grain_at(day: date, last: date) -> str:
    for grain, begins in (("year", day.month == day.day == 1), ("month", day.day == 1)):
        if begins and _bucket_end(grain, day) <= last:
            return grain
    sunday, month = day + timedelta(days=6), _next_month(day)
    whole_month_inside = month <= sunday and _bucket_end("month", month) <= last
    if day.weekday() == 0 and sunday <= last and not whole_month_inside:
        return "week"
    return "day"


def _in_buckets(found: Iterable[tuple[str, date]]) -> ColumnElement[bool]:
    days: dict[str, list[date]] = {}
    for grain, day in found:
        days.setdefault(grain, []).append(day)
    return or_(*(and_(DemandTally.grain == grain, DemandTally.first_day.in_(firsts))
                 for grain, firsts in days.items()))


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


def weekly_trend(scope: Scope) -> list[Week]:
    """Dispatched and closed in each of the trend's weeks: one SELECT of the weeks' tallies."""
    mondays = trend_weeks(scope)
    statement = (select(DemandTally.first_day, func.sum(DemandTally.dispatched).label("dispatched"),
                        func.sum(DemandTally.closed).label("closed"))
                 .where(_in_buckets(("week", monday) for monday in mondays), *_tally_scope(scope))
                 .group_by(DemandTally.first_day))
    found = {row.first_day: row for row in db.session.execute(statement)}
    weeks = []
    for monday in mondays:
        dispatched, closed = _week_filters(scope, monday)
        row = found.get(monday)
        weeks.append(Week(monday, Number(row.dispatched if row else 0, dispatched),
                          Number(row.closed if row else 0, closed)))
    return weeks


def _tally_scope(scope: Scope) -> list[ColumnElement[bool]]:
    where = []
    if scope.department_id is not None:
        where.append(DemandTally.lead_department_id == scope.department_id)
    if scope.category_id is not None:
        where.append(DemandTally.category_id == scope.category_id)
    return where


# Counting a period

#: a lead department (None: none) and a category
Cell = tuple[int | None, int]
#: what is counted for each cell, in order: every count, the handling days of the responses and how
#: many of them have some, the age groups
SLOTS: tuple[str, ...] = (*(count.value for count in Count), "handling_days", "handling_counted",
                          *(f"age_{index}" for index in range(len(AGE_GROUPS))))
_SLOT = {name: index for index, name in enumerate(SLOTS)}


def _figures(scope: Scope, values: Sequence[int], counts: Iterable[Count] = tuple(Count), *,
             average: bool = True) -> Figures:
    numbers = {count: Number(values[_SLOT[count]], COUNTS[count](scope)) for count in counts}
    counted = values[_SLOT["handling_counted"]]
    return Figures(numbers, values[_SLOT["handling_days"]] / counted if average and counted else None)


@dataclass
class Counted:
    """Every count of a scope's period for each lead department and category, and the returns of each
    returning department (None: of any): read in a fixed number of SELECTs, then added up for the
    headline, the league table and the categories. A demand has one lead department and one category,
    so a count of several cells is the sum of theirs."""

    scope: Scope
    cells: dict[Cell, list[int]] = field(default_factory=dict)
    returns: dict[int | None, int] = field(default_factory=dict)

    def add(self, result: Result[Any], slots: Mapping[str, Sequence[str]]) -> None:
        """Rows of (lead department, category, values...), any number of them per cell: each slot
        adds up the values of the columns named."""
        names = list(result.keys())[2:]
        taken = [(_SLOT[slot], [names.index(name) for name in columns]) for slot, columns in slots.items()]
        rows_of: dict[Cell, list[Sequence[int]]] = {}
        for row in result.all():
            rows_of.setdefault((row[0] or None, row[1]), []).append(row[2:])
        for cell, rows in rows_of.items():
            sums = [sum(column) for column in zip(*rows, strict=True)]
            values = self.cells.setdefault(cell, [0] * len(SLOTS))
            for slot, columns in taken:
                values[slot] += sum(sums[column] for column in columns)

    def headline(self) -> Figures:
        scope = self.scope
        return _figures(scope, self._returned(self._sum(scope.department_id, scope.category_id),
                                              scope.department_id))

    def league(self) -> list[Breakdown]:
        """Each department that leads a demand counted here, or returned one."""
        ungrouped = replace(self.scope, department_id=None)
        rows = self._grouped(0, category_id=self.scope.category_id)
        for department_id in self.returns.keys() - {None}:
            rows.setdefault(department_id, [0] * len(SLOTS))
        return [Breakdown(department_id, _figures(
                    replace(ungrouped, department_id=department_id),
                    self._returned(rows[department_id], department_id), (*LEAGUE_COUNTS, Count.RETURNS)))
                for department_id in sorted(rows)]

    def categories(self) -> list[Breakdown]:
        ungrouped = replace(self.scope, category_id=None)
        rows = self._grouped(1, department_id=self.scope.department_id)
        return [Breakdown(category_id, _figures(replace(ungrouped, category_id=category_id), values,
                                                CATEGORY_COUNTS, average=False))
                for category_id, values in rows.items()]

    def ages(self, calendar: WorkingCalendar) -> list[AgeGroup]:
        values = self._sum(self.scope.department_id, self.scope.category_id)
        return [AgeGroup(fewest, most, Number(values[_SLOT[f"age_{index}"]], filters))
                for index, (fewest, most, filters) in enumerate(age_filters(self.scope, calendar))]

    def _sum(self, department_id: int | None, category_id: int | None) -> list[int]:
        chosen = [values for (lead, category), values in self.cells.items()
                  if department_id in (None, lead) and category_id in (None, category)]
        return [sum(slot) for slot in zip(*chosen, strict=True)] if chosen else [0] * len(SLOTS)

    def _grouped(self, axis: int, *, department_id: int | None = None,
                 category_id: int | None = None) -> dict[int, list[int]]:
        """The cells added up by department (axis 0) or category (1), leaving out those counting nothing."""
        grouped: dict[int, list[list[int]]] = {}
        for cell, values in self.cells.items():
            if cell[axis] is not None and department_id in (None, cell[0]) and category_id in (None, cell[1]):
                grouped.setdefault(cell[axis], []).append(values)
        sums = {key: [sum(slot) for slot in zip(*rows, strict=True)] for key, rows in grouped.items()}
        return {key: values for key, values in sums.items() if any(values)}

    def _returned(self, values: list[int], department_id: int | None) -> list[int]:
        values[_SLOT[Count.RETURNS]] = self.returns.get(department_id, 0)
        return values


#: the live counts of a cell, besides the tallies' columns (models.dashboard.TALLY_COLUMNS): the open
#: demands' counts and age groups, the unsigned demands past their sign deadline, the reopenings
LIVE_COLUMNS: tuple[str, ...] = (*(count.value for count in OPEN_COUNTS),
                                 *(f"age_{index}" for index in range(len(AGE_GROUPS))), "unsigned",
                                 Count.REOPENINGS.value)
#: the slots of a cell each column adds to
CELL_SLOTS: Mapping[str, tuple[str, ...]] = {
    **{str(count): columns for count, columns in TALLIED.items()},
    Count.SIGN_MEASURED: (*TALLIED[Count.SIGN_MEASURED], "unsigned"),
    **{name: (name,) for name in LIVE_COLUMNS if name != "unsigned"},
    "handling_days": ("handling_days",), "handling_counted": ("handling_counted",),
}


def count_period(user: User, scope: Scope, window: CardWindow, calendar: WorkingCalendar) -> Counted:
    """Every count of the scope's period, by lead department and category (the scope's own department
    and category are left to the adding up), in one statement of four parts: the tallies of the
    period's buckets, then, live, the open demands, the unsigned demands past their sign deadline and
    the reopenings; and the returns in one more."""
    if not sees_all(user):
        raise PermissionError("the dashboard counts every demand: for those who see them all")
    ungrouped = replace(scope, department_id=None, category_id=None)
    of_open = {count.value: COUNTS[count](ungrouped) for count in OPEN_COUNTS}
    of_open.update((f"age_{index}", filters)
                   for index, (_fewest, _most, filters) in enumerate(age_filters(ungrouped, calendar)))
    measured = COUNTS[Count.SIGN_MEASURED](ungrouped)
    reopened = func.count(func.distinct(CountedEvent.demand_id))
    parts = [
        _by_cell(DemandTally, {name: func.sum(getattr(DemandTally, name)) for name in TALLY_COLUMNS},
                 _in_buckets(buckets(scope.period.first, scope.period.last))),
        _by_cell(Demand, {name: _count_among(filters, window, OPEN_ONLY)
                          for name, filters in of_open.items()}, *conditions(OPEN_ONLY, window)),
        # the signed ones are tallied; an unsigned one counts once its sign deadline has passed
        _by_cell(Demand, {"unsigned": _count_among(measured, window)},
                 Demand.signed_at.is_(None), Demand.sign_due < window.today),
        _by_cell(CountedEvent, {Count.REOPENINGS.value: reopened}, *_counted_in_period(REOPENING, scope)),
    ]
    counted = Counted(scope)
    counted.add(db.session.execute(union_all(*parts)), CELL_SLOTS)
    counted.returns = _returns_by_department(scope)
    return counted


def _by_cell(source: Any, columns: Mapping[str, ColumnElement[int]],
             *where: ColumnElement[bool]) -> Select[Any]:
    """The columns by lead department and category, among the rows of `source` that `where` matches
    (the only ones that can count): every cell column in the same place, nought where not counted here."""
    counted = [columns[name].label(name) if name in columns else literal_column("0").label(name)
               for name in (*TALLY_COLUMNS, *LIVE_COLUMNS)]
    return (select(source.lead_department_id, source.category_id, *counted).where(*where)
            .group_by(source.lead_department_id, source.category_id))


#: no narrowing: every demand
EVERY_DEMAND = DemandFilters()
#: the demands every count of open demands is among
OPEN_ONLY = DemandFilters(states=OPEN_STATE_VALUES)


def _count_among(filters: DemandFilters, window: CardWindow,
                 within: DemandFilters = EVERY_DEMAND) -> ColumnElement[int]:
    """count(*) of the demands the filters match, among rows that `within` has matched already (the
    statement's WHERE): the filters' own conditions but those `within` asks too (once is enough)."""
    asked = {name: getattr(within, name) for name in within.narrowing}
    if any(getattr(filters, name) != value for name, value in asked.items()):
        raise ValueError(f"{filters} does not narrow {within}")
    rest = conditions(replace(filters, **{name: getattr(EVERY_DEMAND, name) for name in asked}), window)
    return func.count().filter(and_(*rest)) if rest else func.count()


# The returns and reopenings: counted_events, the history's events with their demand's lead department
# and category now (models.dashboard)

def _counted_in_period(kind: str, scope: Scope) -> list[ColumnElement[bool]]:
    return [CountedEvent.kind == kind, CountedEvent.at >= start_of(scope.period.first),
            CountedEvent.at < start_of(scope.period.last + DAY)]


def _returns_by_department(scope: Scope) -> dict[int | None, int]:
    """How many demands each department returned in the period, and (None) any department, within
    the scope's category."""
    where = _counted_in_period(RETURN, scope)
    if scope.category_id is not None:
        where.append(CountedEvent.category_id == scope.category_id)
    returned = func.count(func.distinct(CountedEvent.demand_id))
    by_department = (select(CountedEvent.actor_department_id, returned)
                     .where(*where, CountedEvent.actor_department_id.is_not(None))
                     .group_by(CountedEvent.actor_department_id))
    return {department_id: count for department_id, count in db.session.execute(
        union_all(by_department, select(null(), returned).where(*where)))}


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


#: what the league table shows of each department: the overdue steps it owes; its returns come from the
#: history, grouped apart
LEAGUE_COUNTS = (Count.OPEN, Count.OVERDUE_DEPARTMENT, Count.SIGN_MEASURED, Count.SIGNED_ON_TIME,
                 Count.RESPONSES, Count.RESPONSES_ON_TIME, Count.CLOSED_RESOLVED, Count.SOLVED,
                 Count.FEEDBACK, Count.SATISFIED, Count.REOPENINGS)
#: what the category breakdown shows
CATEGORY_COUNTS = (Count.OPEN, Count.OVERDUE, Count.DISPATCHED, Count.CLOSED)
#: what the company breakdown shows (the companies with most open demands)
COMPANY_COUNTS = (Count.OPEN, Count.OVERDUE, Count.KEY_SUPERVISION)


def league(user: User, scope: Scope, window: CardWindow, calendar: WorkingCalendar) -> list[Breakdown]:
    """Each lead department's figures (the league table and its Excel export)."""
    return count_period(user, scope, window, calendar).league()


def by_company(scope: Scope, window: CardWindow, limit: int = TOP_COMPANIES) -> list[Breakdown]:
    """The companies with most open demands (and at least one): one grouped SELECT among the scope's
    open demands, which every number of it counts."""
    ungrouped = replace(scope, company_id=None)
    within = COUNTS[Count.OPEN](ungrouped)
    columns = [_count_among(COUNTS[count](ungrouped), window, within).label(count.value)
               for count in COMPANY_COUNTS]
    most = columns[COMPANY_COUNTS.index(Count.OPEN)]
    statement = (select(Demand.company_id.label("key"), *columns)
                 .where(*conditions(within, window)).group_by(Demand.company_id)
                 .having(most > 0).order_by(most.desc(), Demand.company_id).limit(limit))
    return [Breakdown(row.key, Figures({count: Number(row._mapping[count.value],
                                                      COUNTS[count](replace(ungrouped, company_id=row.key)))
                                        for count in COMPANY_COUNTS}, None))
            for row in db.session.execute(statement)]


def red_list(user: User, scope: Scope, window: CardWindow, calendar: WorkingCalendar,
             limit: int = RED_LIST_SIZE) -> list[RedListItem]:
    """The most overdue open demands: the oldest current deadline first."""
    filters = replace(COUNTS[Count.OVERDUE](scope), sort=Sort.DUE)
    demands = [demand for demand in _listed(user, filters, window, limit) if demand.current_due is not None]
    if not demands:
        return []
    # one walk from the oldest deadline to today, rather than one per demand: the working days after
    # each day up to today
    first = min(demand.current_due for demand in demands)
    after = {first: calendar.working_days_between(first, scope.today)}
    day = first
    while day < scope.today:
        day += DAY
        after[day] = after[day - DAY] - calendar.is_working_day(day)
    return [RedListItem(demand, after[demand.current_due]) for demand in demands]


def key_supervision_items(user: User, scope: Scope, window: CardWindow,
                          limit: int = KEY_SUPERVISION_SIZE) -> list[Demand]:
    return _listed(user, replace(COUNTS[Count.KEY_SUPERVISION](scope), sort=Sort.DUE), window, limit)


def _listed(user: User, filters: DemandFilters, window: CardWindow, limit: int) -> list[Demand]:
    """The first demands of the list: chosen from an index alone, then only those rows read (sorting
    every candidate row would read each of them)."""
    listed = demand_query(user, filters, window)
    first = listed.with_only_columns(Demand.id).limit(limit)
    statement = listed.where(Demand.id.in_(first)).options(
        joinedload(Demand.company), joinedload(Demand.lead_department))
    return list(db.session.scalars(statement))


def dashboard(user: User, scope: Scope, window: CardWindow, calendar: WorkingCalendar) -> Dashboard:
    """Everything the page shows, in a fixed number of SELECTs."""
    counted = count_period(user, scope, window, calendar)
    return Dashboard(
        scope=scope, headline=counted.headline(), ages=counted.ages(calendar), weeks=weekly_trend(scope),
        departments=counted.league(), categories=counted.categories(), companies=by_company(scope, window),
        red_list=red_list(user, scope, window, calendar),
        key_supervision=key_supervision_items(user, scope, window),
    )
