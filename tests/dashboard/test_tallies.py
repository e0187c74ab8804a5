"""What the dashboard reads instead of every demand (models.dashboard: the tallies and the counted
events, kept by triggers) gives the same numbers as the demand list: every number of the dashboard
equals the count of its list, on a year of the benchmark's data, for each kind of period and scope,
after bulk writes that bypass the application, on SQLite and PostgreSQL. And the buckets a period
is read from make it up exactly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, func, insert, select, update

from servicedesk.bench import data
from servicedesk.calendar.store import working_calendar
from servicedesk.dashboard.measures import (
    Count,
    Dashboard,
    Number,
    Period,
    PeriodKind,
    Scope,
    buckets,
    dashboard,
)
from servicedesk.demands.search import DemandFilters, card_window, demand_query
from servicedesk.extensions import db
from servicedesk.models import Demand, DemandEvent, DemandTally, User
from servicedesk.models.dashboard import GRAINS

# The buckets


def _days(grain: str, first: date) -> set[date]:
    """The days a bucket spans."""
    if grain == "day":
        return {first}
    if grain == "week":
        return {first + timedelta(days=n) for n in range(7)}
    following = (date(first.year + 1, 1, 1) if grain == "year"
                 else date(first.year + first.month // 12, first.month % 12 + 1, 1))
    return {first + timedelta(days=n) for n in range((following - first).days)}


@pytest.mark.parametrize(("first", "last", "expected"), [
    (date(2026, 11, 1), date(2026, 11, 30), [("month", date(2026, 11, 1))]),
    (date(2026, 6, 29), date(2026, 7, 5), [("week", date(2026, 6, 29))]),  # a week across two months
    (date(2026, 3, 30), date(2026, 5, 31), [("day", date(2026, 3, 30)), ("day", date(2026, 3, 31)),
                                            ("month", date(2026, 4, 1)), ("month", date(2026, 5, 1))]),
])
def test_whole_months_and_weeks_are_read_as_one_bucket(first: date, last: date, expected: list) -> None:
    assert buckets(first, last) == expected


def test_a_year_is_one_bucket_and_a_quarter_three() -> None:
    assert buckets(date(2026, 1, 1), date(2026, 12, 31)) == [("year", date(2026, 1, 1))]
    assert buckets(date(2026, 10, 1), date(2026, 12, 31)) == [("month", date(2026, month, 1))
                                                              for month in (10, 11, 12)]
    assert buckets(date(2025, 12, 1), date(2027, 1, 31)) == [
        ("month", date(2025, 12, 1)), ("year", date(2026, 1, 1)), ("month", date(2027, 1, 1))]


@pytest.mark.parametrize("first", [date(2025, 12, 17) + timedelta(days=n) for n in range(0, 60, 7)])
@pytest.mark.parametrize("length", [0, 1, 6, 13, 30, 45, 95, 400])
def test_the_buckets_of_any_range_hold_each_of_its_days_once(first: date, length: int) -> None:
    last = first + timedelta(days=length)
    spans = [_days(grain, day) for grain, day in buckets(first, last)]
    assert sum(len(span) for span in spans) == length + 1
    assert set().union(*spans) == {first + timedelta(days=n) for n in range(length + 1)}
    assert len(spans) <= 2 * 6 + 2 * 4 + length // 28 + 2  # days and weeks at the ends, months between


# Every number against its list, on a year of the benchmark's data

@pytest.fixture
def year_of_demands(bench_year: data.World) -> User:
    """The benchmark's data set (a year up to FROZEN_NOW), small; its first leader."""
    return db.session.scalar(select(User).where(User.username == bench_year.usernames["leader"][0]))


def _scopes(today: date, department_id: int, category_id: int) -> list[Scope]:
    periods = [Period.containing(kind, today) for kind in (PeriodKind.WEEK, PeriodKind.MONTH,
                                                           PeriodKind.QUARTER, PeriodKind.YEAR)]
    periods.append(Period(PeriodKind.RANGE, date(2026, 2, 11), date(2026, 5, 19)))
    return [*(Scope(period, today) for period in periods),
            Scope(periods[3], today, department_id=department_id),
            Scope(periods[4], today, category_id=category_id),
            Scope(periods[1], today, department_id=department_id, category_id=category_id)]


def _numbers(board: Dashboard) -> Iterator[Number]:
    yield from board.headline.counts.values()
    for row in board.departments + board.categories + board.companies:
        yield from row.figures.counts.values()
    yield from (group.number for group in board.ages)
    for week in board.weeks:
        yield from (week.dispatched, week.closed)


def _differences(leader: User) -> dict[str, tuple[int, int]]:
    """Each number whose list holds another count: filters -> (number, list)."""
    today = data.TODAY
    calendar = working_calendar()
    window = card_window(today, calendar)
    department_id, category_id = db.session.execute(
        select(Demand.lead_department_id, Demand.category_id).where(Demand.lead_department_id.is_not(None))
        .group_by(Demand.lead_department_id, Demand.category_id).order_by(func.count().desc()).limit(1)).one()
    found: dict[DemandFilters, int] = {}
    for scope in _scopes(today, department_id, category_id):
        for number in _numbers(dashboard(leader, scope, window, calendar)):
            found.setdefault(number.filters, number.value)
    assert len(found) > 500 and sum(found.values()) > 10_000
    differences = {}
    for filters, value in found.items():
        listed = db.session.scalar(select(func.count()).select_from(
            demand_query(leader, filters, window).order_by(None).subquery()))
        if listed != value:
            differences[str(filters.to_args())] = (value, listed)
    return differences


def test_every_number_is_the_count_of_its_list(year_of_demands: User) -> None:
    assert _differences(year_of_demands) == {}


def test_the_numbers_follow_writes_that_bypass_the_application(year_of_demands: User) -> None:
    """Bulk statements, as an import or a repair would write: on PostgreSQL each is one statement
    trigger over many rows."""
    departments = db.session.scalars(select(Demand.lead_department_id).distinct()
                                     .where(Demand.lead_department_id.is_not(None))).all()
    db.session.execute(update(Demand).where(Demand.id % 7 == 0, Demand.lead_department_id.is_not(None))
                       .values(lead_department_id=departments[-1]))
    db.session.execute(update(Demand).where(Demand.id % 5 == 0)
                       .values(category_id=Demand.category_id % 3 + 1))
    db.session.execute(update(Demand).where(Demand.id % 11 == 0, Demand.closed_at.is_not(None))
                       .values(closed_at=datetime(2026, 3, 15, 2, tzinfo=UTC), close_reason="satisfied"))
    db.session.execute(update(Demand).where(Demand.id % 13 == 0, Demand.responded_at.is_not(None))
                       .values(responded_late=~Demand.responded_late, handling_days=Demand.handling_days + 1))
    # a demand written and removed without any event (no history holds it)
    template = db.session.execute(select(Demand.__table__).where(Demand.state == "closed").limit(1)).one()
    row = {**template._mapping, "number": "X-0001", "import_key": None}
    del row["id"]
    added = db.session.execute(insert(Demand).values(row).returning(Demand.id)).scalar_one()
    db.session.execute(delete(Demand).where(Demand.id == added))
    db.session.commit()
    assert _differences(year_of_demands) == {}


def test_the_tallies_add_up_to_the_demands(year_of_demands: User) -> None:
    """Each grain holds every dispatched, closed, responded demand once."""
    for grain in GRAINS:
        dispatched, closed, responses = db.session.execute(
            select(func.sum(DemandTally.dispatched), func.sum(DemandTally.closed),
                   func.sum(DemandTally.responses)).where(DemandTally.grain == grain)).one()
        assert dispatched == db.session.scalar(select(func.count()).where(Demand.dispatched_at.is_not(None)))
        assert closed == db.session.scalar(select(func.count()).where(Demand.state == "closed"))
        assert responses == db.session.scalar(select(func.count()).where(Demand.responded_at.is_not(None)))
    assert db.session.scalar(select(func.count()).select_from(DemandEvent)
                             .where(DemandEvent.action == "return")) > 0


def test_a_day_begins_at_midnight_beijing_time(year_of_demands: User) -> None:
    """Two demands dispatched a minute apart across midnight in Beijing (16:00 UTC) count on two days."""
    first, second = db.session.scalars(select(Demand.id).where(Demand.dispatched_at.is_not(None))
                                       .order_by(Demand.id).limit(2)).all()
    midnight = datetime(2026, 9, 30, 16, 0, tzinfo=UTC)  # 1 October, 00:00 in Beijing
    db.session.execute(update(Demand).where(Demand.id == first).values(dispatched_at=midnight))
    db.session.execute(update(Demand).where(Demand.id == second)
                       .values(dispatched_at=midnight - timedelta(minutes=1)))
    db.session.commit()
    calendar = working_calendar()
    for day, holds, lacks in ((date(2026, 10, 1), first, second), (date(2026, 9, 30), second, first)):
        scope = Scope(Period(PeriodKind.RANGE, day, day), data.TODAY)
        board = dashboard(year_of_demands, scope, card_window(data.TODAY, calendar), calendar)
        number = board.headline[Count.DISPATCHED]
        listed = set(db.session.scalars(demand_query(year_of_demands, number.filters)
                                        .with_only_columns(Demand.id)))
        assert holds in listed and lacks not in listed
        assert number.value == len(listed)
