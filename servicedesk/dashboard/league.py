"""The league table of departments: its columns, its order and the worst value of each column.

One table of columns serves the page, its Excel export and the API, so that a column's heading, its
value and which way is worse cannot drift apart. A department's row holds its lead demands' figures
(measures.league); the overdue column counts the steps the department owes, not the officer's.

The worst value of a column is marked only where some department does better: a column in which
every department has the same value (all nought, or one department alone) marks nobody. A rate or
an average with no cases ("—") is never the worst, and sorts last whichever way the table is sorted.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Response
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from servicedesk.dashboard.measures import LABELS, Breakdown, Count, Figures, Rate, RateValue, Scope
from servicedesk.workbooks import Column, xlsx_response


class Kind(enum.StrEnum):
    NAME = "name"
    COUNT = "count"
    RATE = "rate"
    DAYS = "days"


@dataclass(frozen=True)
class LeagueColumn:
    key: str
    label: Any
    kind: Kind
    #: the count or rate the column shows (none for the name and the average)
    measure: Count | Rate | None = None
    #: Excel column width in characters
    width: int = 12

    @property
    def higher_is_worse(self) -> bool:
        return self.kind is not Kind.RATE

    @property
    def definition_key(self) -> str:
        """The key of the column's definition in measures.DEFINITIONS."""
        return "average_days" if self.kind is Kind.DAYS else str(self.measure or "")

    def value(self, figures: Figures) -> int | float | None:
        """The value compared, sorted and exported (a rate as a fraction, None when it has no cases)."""
        if self.kind is Kind.COUNT and isinstance(self.measure, Count):
            return figures[self.measure].value
        if self.kind is Kind.RATE and isinstance(self.measure, Rate):
            return figures.rate(self.measure).value
        if self.kind is Kind.DAYS:
            return figures.average_days
        return None

    def rate(self, figures: Figures) -> RateValue:
        assert isinstance(self.measure, Rate)
        return figures.rate(self.measure)


LEAGUE_COLUMNS: tuple[LeagueColumn, ...] = (
    LeagueColumn("department", _l("Department"), Kind.NAME, width=28),
    LeagueColumn("open", LABELS[Count.OPEN], Kind.COUNT, Count.OPEN, width=10),
    LeagueColumn("overdue", LABELS[Count.OVERDUE_DEPARTMENT], Kind.COUNT, Count.OVERDUE_DEPARTMENT,
                 width=14),
    LeagueColumn("response", LABELS[Rate.RESPONSE], Kind.RATE, Rate.RESPONSE),
    LeagueColumn("on_time", LABELS[Rate.ON_TIME], Kind.RATE, Rate.ON_TIME),
    LeagueColumn("resolution", LABELS[Rate.RESOLUTION], Kind.RATE, Rate.RESOLUTION),
    LeagueColumn("satisfaction", LABELS[Rate.SATISFACTION], Kind.RATE, Rate.SATISFACTION),
    LeagueColumn("average_days", _l("Average working days"), Kind.DAYS, width=14),
    LeagueColumn("returns", LABELS[Count.RETURNS], Kind.COUNT, Count.RETURNS, width=10),
    LeagueColumn("reopenings", LABELS[Count.REOPENINGS], Kind.COUNT, Count.REOPENINGS, width=10),
)
COLUMNS_BY_KEY: Mapping[str, LeagueColumn] = {column.key: column for column in LEAGUE_COLUMNS}

#: the table's order when none is asked for: most overdue first
DEFAULT_SORT = "overdue"


class Order(enum.StrEnum):
    ASC = "asc"
    DESC = "desc"


def worst_first(column: LeagueColumn) -> Order:
    """The order a column sorts in when its heading is first clicked: the worst first (names A–Z)."""
    if column.kind is Kind.NAME:
        return Order.ASC
    return Order.DESC if column.higher_is_worse else Order.ASC


@dataclass(frozen=True)
class LeagueRow:
    department_id: int
    name: str
    figures: Figures
    #: the keys of the columns in which this department holds the worst value
    worst: frozenset[str]


@dataclass(frozen=True)
class League:
    rows: list[LeagueRow]
    sort: LeagueColumn
    order: Order

    def link_args(self, column: LeagueColumn) -> dict[str, str]:
        """The sort arguments of a column heading's link: the other way round when the table is
        already sorted by it, else the worst first."""
        if column is self.sort:
            order = Order.ASC if self.order is Order.DESC else Order.DESC
        else:
            order = worst_first(column)
        return {"sort": column.key, "order": order.value}

    def aria_sort(self, column: LeagueColumn) -> str:
        if column is not self.sort:
            return "none"
        return "ascending" if self.order is Order.ASC else "descending"


def league_table(breakdowns: Sequence[Breakdown], names: Mapping[int, str], sort: Any = None,
                 order: Any = None) -> League:
    """The league rows in the asked order (a column key and asc/desc; unknown values give the
    default), each with the columns it is worst in."""
    column = COLUMNS_BY_KEY.get(str(sort or ""), COLUMNS_BY_KEY[DEFAULT_SORT])
    try:
        chosen = Order(str(order or ""))
    except ValueError:
        chosen = worst_first(column)
    worst = {c.key: _worst_value(c, breakdowns) for c in LEAGUE_COLUMNS if c.kind is not Kind.NAME}
    rows = [LeagueRow(row.key, names.get(row.key, str(row.key)), row.figures,
                      frozenset(key for key, value in worst.items()
                                if value is not None and COLUMNS_BY_KEY[key].value(row.figures) == value))
            for row in breakdowns]
    return League(_sorted(rows, column, chosen), column, chosen)


def _worst_value(column: LeagueColumn, rows: Sequence[Breakdown]) -> int | float | None:
    values = {value for row in rows if (value := column.value(row.figures)) is not None}
    if len(values) < 2:
        return None  # nobody does better
    return max(values) if column.higher_is_worse else min(values)


def _sorted(rows: list[LeagueRow], column: LeagueColumn, order: Order) -> list[LeagueRow]:
    by_name = sorted(rows, key=lambda row: (row.name, row.department_id))
    if column.kind is Kind.NAME:
        return by_name[::-1] if order is Order.DESC else by_name
    valued = [row for row in by_name if column.value(row.figures) is not None]
    unvalued = [row for row in by_name if column.value(row.figures) is None]
    # sorted() is stable, reversed too: equal values stay in name order
    return sorted(valued, key=lambda row: column.value(row.figures) or 0,
                  reverse=order is Order.DESC) + unvalued


# In Excel

#: each kind's cells in the workbook
EXCEL_KINDS = {Kind.NAME: "text", Kind.COUNT: "integer", Kind.RATE: "percent", Kind.DAYS: "decimal"}


def league_workbook(table: League, scope: Scope) -> Response:
    """The league table as shown on the page, one row per department, rates as percentages (empty
    where there were no cases)."""
    columns = [Column(str(column.label), column.width, EXCEL_KINDS[column.kind]) for column in LEAGUE_COLUMNS]
    rows = ([row.name if column.kind is Kind.NAME else column.value(row.figures) for column in LEAGUE_COLUMNS]
            for row in table.rows)
    period = scope.period
    file_name = _("League table %(first)s to %(last)s.xlsx", first=period.first.isoformat(),
                  last=period.last.isoformat())
    return xlsx_response(file_name, _("League table"), columns, rows)
