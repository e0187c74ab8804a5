"""Each measure on the hand-built June (tests/dashboard/conftest.py) against answers worked out by hand,
and each number's filters listing exactly the demands it counts."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from servicedesk.calendar.store import working_calendar
from servicedesk.dashboard.measures import (
    Count,
    Dashboard,
    Number,
    Period,
    PeriodKind,
    Rate,
    Scope,
    dashboard,
)
from servicedesk.demands.search import DemandFilters, card_window, demand_query
from servicedesk.extensions import db
from tests.dashboard.conftest import JUNE_TODAY, June

JUNE = Period(PeriodKind.MONTH, date(2026, 6, 1), date(2026, 6, 30))


def board(june: June, **scope: Any) -> Dashboard:
    calendar = working_calendar()
    window = card_window(JUNE_TODAY, calendar)
    return dashboard(june.leader, Scope(JUNE, JUNE_TODAY, **scope), window, calendar)


def demand_ids(june: June, number: Number) -> set[int]:
    window = card_window(JUNE_TODAY)
    filters = DemandFilters.from_args(number.filters.to_args())
    return {demand.id for demand in db.session.scalars(demand_query(june.leader, filters, window))}


EXPECTED_HEADLINE = {
    Count.OPEN: ("d3", "d4", "d5", "d6", "d7", "d11", "d12"),
    Count.OVERDUE: ("d3", "d6", "d7"),
    Count.OVERDUE_DEPARTMENT: ("d3", "d6"),
    Count.OVERDUE_OFFICER: ("d7",),
    Count.DISPATCHED: ("d1", "d2", "d3", "d4", "d5", "d6", "d7"),
    Count.CLOSED: ("d1", "d2", "d8", "d9", "d10"),
    Count.CLOSED_RESOLVED: ("d1", "d2", "d10"),
    Count.CLOSED_WITHDRAWN: ("d8",),
    Count.CLOSED_DUPLICATE: ("d9",),
    Count.SIGN_MEASURED: ("d1", "d2", "d3", "d5", "d6", "d7"),
    Count.SIGNED_ON_TIME: ("d1", "d5", "d6", "d7"),
    Count.RESPONSES: ("d1", "d2", "d5", "d6", "d7"),
    Count.RESPONSES_ON_TIME: ("d1", "d5", "d6", "d7"),
    Count.SOLVED: ("d1",),
    Count.PARTLY_SOLVED: ("d2",),
    Count.FEEDBACK: ("d1", "d2", "d6", "d10"),
    Count.SATISFIED: ("d1", "d2", "d10"),
    Count.RETURNS: ("d5",),
    Count.REOPENINGS: ("d6",),
    Count.KEY_SUPERVISION: ("d11",),
}


@pytest.mark.parametrize("count", list(Count))
def test_each_headline_count_is_the_demands_worked_out_by_hand(june: June, count: Count) -> None:
    number = board(june).headline[count]
    expected = june.ids(*EXPECTED_HEADLINE[count])
    assert number.value == len(expected)
    assert demand_ids(june, number) == expected


def test_the_rates_and_the_average_handling_time(june: June) -> None:
    headline = board(june).headline
    assert headline.rate(Rate.RESPONSE).value == pytest.approx(4 / 6)
    assert headline.rate(Rate.ON_TIME).value == pytest.approx(4 / 5)  # d5 on time thanks to its extension
    assert headline.rate(Rate.RESOLUTION).value == pytest.approx(1 / 3)
    assert headline.rate(Rate.SATISFACTION).value == pytest.approx(3 / 4)
    # d1 7, d2 14, d5 15 (from its second dispatch), d6 4, d7 2 working days
    assert headline.average_days == pytest.approx(42 / 5)


def test_the_handling_days_are_counted_on_the_working_calendar(june: June) -> None:
    days = {name: june.demands[name].handling_days for name in ("d1", "d2", "d5", "d6", "d7", "d10")}
    assert days == {"d1": 7, "d2": 14, "d5": 15, "d6": 4, "d7": 2, "d10": 3}


def test_the_league_table_by_lead_department(june: June) -> None:
    rows = {row.key: row.figures for row in board(june).departments}
    a, b = rows[june.department_a.id], rows[june.department_b.id]
    assert (a[Count.OPEN].value, a[Count.OVERDUE_DEPARTMENT].value) == (4, 2)
    assert (a.rate(Rate.RESPONSE).met.value, a.rate(Rate.RESPONSE).measured.value) == (3, 5)
    assert (a.rate(Rate.ON_TIME).met.value, a.rate(Rate.ON_TIME).measured.value) == (3, 4)
    assert a.rate(Rate.RESOLUTION).value == pytest.approx(1 / 3)
    assert a.rate(Rate.SATISFACTION).value == pytest.approx(3 / 4)
    assert a.average_days == pytest.approx((7 + 14 + 15 + 4) / 4)
    assert (a[Count.RETURNS].value, a[Count.REOPENINGS].value) == (0, 1)
    # B leads only d7 (its overdue step is the officer's) and returned d5
    assert (b[Count.OPEN].value, b[Count.OVERDUE_DEPARTMENT].value) == (1, 0)
    assert b[Count.RETURNS].value == 1
    assert demand_ids(june, b[Count.RETURNS]) == june.ids("d5")
    assert b.rate(Rate.RESOLUTION).value is None  # nothing closed: shown "—", not 0% or 100%
    assert b.rate(Rate.SATISFACTION).value is None
    assert b.average_days == 2


def test_every_number_of_every_table_lists_exactly_what_it_counts(june: June) -> None:
    result = board(june)
    numbers = [*result.headline.counts.values(),
               *(number for row in result.departments + result.categories + result.companies
                 for number in row.figures.counts.values()),
               *(group.number for group in result.ages),
               *(number for week in result.weeks for number in (week.dispatched, week.closed))]
    assert len(numbers) > 60
    for number in numbers:
        assert len(demand_ids(june, number)) == number.value, number.filters


def test_a_department_scope_counts_its_lead_demands_and_its_own_returns(june: June) -> None:
    headline = board(june, department_id=june.department_b.id).headline
    assert headline[Count.OPEN].value == 1
    assert headline[Count.RETURNS].value == 1
    assert headline[Count.DISPATCHED].value == 1  # d7: d5's latest dispatch went to A
    headline_a = board(june, department_id=june.department_a.id).headline
    assert headline_a[Count.RETURNS].value == 0
    assert headline_a[Count.DISPATCHED].value == 6


def test_a_category_scope(june: June, make_demand: Any) -> None:
    category = june.demands["d1"].category_id
    result = board(june, category_id=category + 1)
    assert result.headline[Count.OPEN].value == 0
    assert result.headline.rate(Rate.RESPONSE).value is None
    assert board(june, category_id=category).headline[Count.OPEN].value == 7


def test_the_age_of_open_demands_in_working_days(june: June) -> None:
    ages = {(group.fewest, group.most): demand_ids(june, group.number) for group in board(june).ages}
    assert ages == {(0, 5): june.ids("d4"), (6, 10): june.ids("d11"),
                    (11, 20): june.ids("d3", "d5", "d6", "d7"), (21, None): june.ids("d12")}


def test_the_weekly_trend(june: June) -> None:
    weeks = {week.first: (week.dispatched.value, week.closed.value) for week in board(june).weeks}
    assert len(weeks) == 12
    assert max(weeks) == date(2026, 6, 29)
    assert weeks[date(2026, 6, 1)] == (5, 1)
    assert weeks[date(2026, 6, 8)] == (1, 3)
    assert weeks[date(2026, 6, 15)] == (0, 0)
    assert weeks[date(2026, 6, 22)] == (0, 1)
    assert weeks[date(2026, 6, 29)] == (1, 0)
    assert weeks[date(2026, 5, 18)] == (1, 0)


def test_the_red_list_and_key_supervision(june: June) -> None:
    result = board(june)
    red = [(item.demand.number, item.days_overdue) for item in result.red_list]
    numbers = {name: june.demands[name].number for name in ("d3", "d6", "d7")}
    # d7's feedback was due 8 Jun, d3's sign 9 Jun, d6's new response 23 Jun
    assert red == [(numbers["d7"], 15), (numbers["d3"], 14), (numbers["d6"], 5)]
    assert [d.id for d in result.key_supervision] == [june.demands["d11"].id]


def test_the_companies_with_most_open_demands(june: June) -> None:
    companies = board(june).companies
    assert [(row.key, row.figures[Count.OPEN].value) for row in companies] == [
        (june.demands["d1"].company_id, 7)]


def test_the_companies_are_counted_among_the_open_demands_only(june: June, count_queries: Any) -> None:
    # all its numbers are of open demands: its SELECT reads those alone (the state's index), not
    # every demand of every company
    with count_queries() as counter:
        board(june)
    grouped = " ".join(next(s for s in counter.statements if "GROUP BY demands.company_id" in s).split())
    where = grouped.split(" WHERE ", 1)[1].split(" GROUP BY ", 1)[0]
    assert "demands.state IN" in where


def test_the_dashboard_takes_a_fixed_number_of_queries(june: June, count_queries: Any,
                                                        make_demand: Any) -> None:
    with count_queries() as few:
        board(june)
    for index in range(15):
        make_demand(f"又一个诉求{index}", dispatch_to=june.department_b)
    with count_queries() as more:
        board(june)
    assert more.count == few.count
    # the period's buckets and the trend's weeks from the tallies, the returns and reopenings from the
    # counted events, the open and the unsigned demands live, and nothing reads every demand
    reads = [part for s in few.statements if s.startswith("SELECT") for part in " ".join(s.split()).split(
        " UNION ALL ")]
    assert sum(" FROM demand_tallies " in s for s in reads) == 2
    assert sum(" FROM counted_events " in s for s in reads) == 3  # reopenings; returns by department, in all
    counted = [s for s in reads if " FROM demands " in s and "count(*)" in s]
    assert len(counted) == 3  # open demands by cell, unsigned demands by cell, companies
    assert all(" WHERE demands.state IN " in s or " WHERE demands.signed_at IS NULL " in s for s in counted)
    assert few.count <= 13


@pytest.mark.parametrize(("kind", "first", "last"), [
    (PeriodKind.WEEK, date(2026, 6, 29), date(2026, 7, 5)),
    (PeriodKind.MONTH, date(2026, 6, 1), date(2026, 6, 30)),
    (PeriodKind.QUARTER, date(2026, 4, 1), date(2026, 6, 30)),
    (PeriodKind.YEAR, date(2026, 1, 1), date(2026, 12, 31)),
])
def test_the_periods(kind: PeriodKind, first: date, last: date) -> None:
    assert Period.containing(kind, JUNE_TODAY) == Period(kind, first, last)
    assert Period.from_args({"period": kind.value}, JUNE_TODAY) == Period(kind, first, last)


def test_the_last_quarter_of_the_year_ends_on_31_december() -> None:
    assert Period.containing(PeriodKind.QUARTER, date(2026, 11, 25)).last == date(2026, 12, 31)
    assert Period.containing(PeriodKind.MONTH, date(2026, 12, 5)).last == date(2026, 12, 31)


def test_a_range_and_what_is_not_one() -> None:
    chosen = Period.from_args({"from": "2026-03-01", "to": "2026-05-31"}, JUNE_TODAY)
    assert (chosen.kind, chosen.first, chosen.last) == (PeriodKind.RANGE, date(2026, 3, 1), date(2026, 5, 31))
    for args in ({"from": "2026-05-31", "to": "2026-03-01"}, {"from": "1999-01-01", "to": "2026-01-01"},
                 {"from": "garbage", "to": "2026-01-01"}, {"period": "decade"}):
        assert Period.from_args(args, JUNE_TODAY) == Period.containing(PeriodKind.MONTH, JUNE_TODAY)
    assert replace(chosen).to_args() == {"from": "2026-03-01", "to": "2026-05-31"}
