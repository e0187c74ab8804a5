"""What the dashboard's page, its chart, its league export and the API read from a query string: the
scope (period, department, category), the measures of that scope, and the names they show; and the
links of its numbers to the demand lists.

The query string is read leniently, as the lists read theirs: an unknown period, a malformed or
reversed range, an unknown department or category are ignored (this month, every department), never
an error. A fixed period (`period=week|month|quarter|year`) wins over dates left in the form; the dates
count when the period is absent or `range`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from werkzeug.datastructures import iter_multi_items

from servicedesk.calendar.store import working_calendar
from servicedesk.dashboard.measures import (
    Breakdown,
    Dashboard,
    Period,
    PeriodKind,
    Scope,
    Week,
    dashboard,
    league,
    weekly_trend,
)
from servicedesk.demands.search import DemandFilters, card_window
from servicedesk.extensions import db
from servicedesk.i18n import is_chinese
from servicedesk.models import Category, Company, Department, Role, User

#: who may read the dashboard (the page, its chart and export, the API)
READERS = (Role.LEADER, Role.OFFICER)
FIXED_PERIODS = tuple(kind for kind in PeriodKind if kind is not PeriodKind.RANGE)


#: what a query string leaves unquoted, as werkzeug.urls writes one for url_for
QUERY_SAFE = "!$'()*,/:;?@"


@functools.lru_cache(maxsize=4096)
def _query_pair(name: str, value: Any) -> str:
    # a dashboard's links repeat the same few states, days and ids: each pair is quoted once
    return urlencode([(name, value)], safe=QUERY_SAFE)


class QueryStrings:
    """The query string of each number's filters, written once per filters object (a rate's cases
    are linked twice; the API links each number twice)."""

    def __init__(self) -> None:
        # the filters are kept with their query, so that their id is not reused meanwhile
        self._written: dict[int, tuple[DemandFilters, str]] = {}

    def __call__(self, filters: DemandFilters) -> str:
        written = self._written.get(id(filters))
        if written is None:
            query = "&".join(_query_pair(name, value) for name, value in iter_multi_items(filters.to_args())
                             if value is not None)
            written = self._written[id(filters)] = (filters, query)
        return written[1]


class ListLinks:
    """The links of a dashboard's numbers to a demand list: `base` (url_for of the list) and the query
    of each number's filters, written as url_for writes it but without asking the router for each of
    the hundreds of numbers of a dashboard."""

    def __init__(self, base: str, queries: QueryStrings | None = None) -> None:
        self.base = base
        self.queries = queries or QueryStrings()

    def __call__(self, filters: DemandFilters) -> str:
        query = self.queries(filters)
        return f"{self.base}?{query}" if query else self.base


def period_of(args: Mapping[str, Any], today: date) -> Period:
    """The period a query string asks for (see the module's docstring)."""
    chosen = str(args.get("period") or "")
    if chosen in {kind.value for kind in FIXED_PERIODS}:
        return Period.containing(PeriodKind(chosen), today)
    return Period.from_args(args, today)


def dates_refused(args: Mapping[str, Any], period: Period) -> bool:
    """Dates were given for a range but could not be one (malformed, reversed or too long)."""
    asked_range = str(args.get("period") or PeriodKind.RANGE.value) == PeriodKind.RANGE.value
    given = bool(args.get("from") or args.get("to"))
    return asked_range and given and period.kind is not PeriodKind.RANGE


def _id(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and 0 < int(text) < 2**31 else None


@dataclass
class Names:
    """The departments and categories (all of them: the filter bar lists them) and the companies the
    dashboard shows; one query each."""

    departments: dict[int, Any]
    categories: dict[int, Any]
    companies: dict[int, Any] = field(default_factory=dict)

    @classmethod
    def load(cls) -> Names:
        departments = db.session.execute(
            select(Department.id, Department.name, Department.short_name, Department.active)
            .order_by(Department.active.desc(), Department.name)).all()
        categories = db.session.execute(
            select(Category.id, Category.name, Category.name_en, Category.active)
            .order_by(Category.position, Category.id)).all()
        return cls({row.id: row for row in departments}, {row.id: row for row in categories})

    def load_companies(self, ids: list[int]) -> None:
        if ids:
            self.companies = {row.id: row for row in db.session.execute(
                select(Company.id, Company.name, Company.short_name).where(Company.id.in_(ids)))}

    def department(self, department_id: int | None) -> str:
        row = self.departments.get(department_id) if department_id is not None else None
        return row.name if row is not None else ""

    def short_department(self, department_id: int) -> str:
        row = self.departments.get(department_id)
        return (row.short_name or row.name) if row is not None else str(department_id)

    def category(self, category_id: int | None) -> str:
        row = self.categories.get(category_id) if category_id is not None else None
        if row is None:
            return ""
        return row.name if is_chinese() else row.name_en

    @property
    def department_names(self) -> dict[int, str]:
        return {key: row.name for key, row in self.departments.items()}


def scope_of(args: Mapping[str, Any], today: date, names: Names) -> Scope:
    """The scope a query string asks for; a department or category that does not exist is ignored."""
    department_id, category_id = _id(args.get("department")), _id(args.get("category"))
    return Scope(period_of(args, today), today,
                 department_id=department_id if department_id in names.departments else None,
                 category_id=category_id if category_id in names.categories else None)


@dataclass
class Loaded:
    board: Dashboard
    names: Names


def load_dashboard(user: User, args: Mapping[str, Any], today: date) -> Loaded:
    """Everything the page shows, in a fixed number of queries."""
    names = Names.load()
    calendar = working_calendar()
    board = dashboard(user, scope_of(args, today, names), card_window(today, calendar), calendar)
    # the categories in their pick-list order (the grouped SELECT has none of its own)
    position = {key: index for index, key in enumerate(names.categories)}
    board.categories.sort(key=lambda row: position.get(row.key, len(position)))
    names.load_companies([row.key for row in board.companies])
    return Loaded(board, names)


def load_trend(args: Mapping[str, Any], today: date) -> list[Week]:
    """The weekly trend only (the chart's numbers)."""
    return weekly_trend(scope_of(args, today, Names.load()))


def load_league(user: User, args: Mapping[str, Any], today: date) -> tuple[Scope, list[Breakdown], Names]:
    """The league table's rows only (the Excel export)."""
    names = Names.load()
    scope = scope_of(args, today, names)
    calendar = working_calendar()
    return scope, league(user, scope, card_window(today, calendar), calendar), names
