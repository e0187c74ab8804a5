"""Working days on the 2026 calendar as chinese-calendar publishes it, and the invariants of counting."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicedesk.domain import statutory_holidays
from servicedesk.domain.workdays import (
    ZONE,
    Card,
    DayKind,
    Deadline,
    InMemoryCalendar,
    MadeUpDay,
    SkippedDay,
    SkipReason,
    SpecialDay,
    WorkingCalendar,
    differs_from_weekly_rule,
    recompute_provisional,
)

D = date.fromisoformat
YEAR_2026 = statutory_holidays.special_days(2026)
#: the 2027 arrangement as a test would enter it: 1 January, a Friday, is 元旦
YEAR_2027 = [SpecialDay(D("2027-01-01"), DayKind.HOLIDAY, "元旦")]


def calendar_2026(*, with_2027: bool = False) -> WorkingCalendar:
    days = [*YEAR_2026, *(YEAR_2027 if with_2027 else [])]
    return WorkingCalendar(InMemoryCalendar(days, [2025, 2026, *([2027] if with_2027 else [])]))


def test_the_package_gives_the_2026_arrangement() -> None:
    by_day = {special.day: special for special in YEAR_2026}
    for day in ("2026-02-14", "2026-02-28", "2026-09-20", "2026-10-10"):
        assert by_day[D(day)].kind is DayKind.WORKDAY, day
    for day in ("2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-02-23",
                "2026-09-25", "2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"):
        assert by_day[D(day)].kind is DayKind.HOLIDAY, day
    assert by_day[D("2026-02-16")].name == "春节"
    assert by_day[D("2026-09-25")].name == "中秋节"
    assert by_day[D("2026-10-01")].name == "国庆节"
    assert all(differs_from_weekly_rule(s.day, s.kind) for s in YEAR_2026)


def test_an_unpublished_year_is_refused() -> None:
    assert not statutory_holidays.knows(2999)
    with pytest.raises(statutory_holidays.YearNotKnown):
        statutory_holidays.special_days(2999)


@pytest.mark.parametrize(("counted_from", "n", "due"), [
    # Spring Festival: Saturday 14 February is worked, 15 to 23 February are off
    ("2026-02-13", 1, "2026-02-14"),
    ("2026-02-13", 2, "2026-02-24"),
    ("2026-02-13", 3, "2026-02-25"),
    ("2026-02-13", 10, "2026-03-05"),   # Saturday 28 February counts
    ("2026-02-27", 1, "2026-02-28"),    # a Friday dispatch due on the make-up Saturday
    ("2026-02-18", 1, "2026-02-24"),    # dispatched on a holiday
    ("2026-02-14", 1, "2026-02-24"),    # dispatched on a make-up Saturday: that day is not counted
    ("2026-02-15", 1, "2026-02-24"),
    # Mid-Autumn and National Day: Sunday 20 September and Saturday 10 October are worked
    ("2026-09-18", 1, "2026-09-20"),
    ("2026-09-24", 1, "2026-09-28"),    # Friday 25 September is 中秋节
    ("2026-09-30", 1, "2026-10-08"),
    ("2026-09-30", 3, "2026-10-10"),
    ("2026-09-30", 20, "2026-11-03"),
    ("2026-10-01", 1, "2026-10-08"),
    # ordinary Fridays, and a Dragon Boat Friday
    ("2026-06-05", 1, "2026-06-08"),
    ("2026-06-05", 10, "2026-06-22"),   # Friday 19 June is 端午节
    ("2026-06-18", 1, "2026-06-22"),
    # whatever the hour, the day itself is never counted; 0 days is the day itself
    ("2026-06-08", 0, "2026-06-08"),
    ("2026-12-30", 1, "2026-12-31"),
])
def test_adding_working_days_on_the_2026_calendar(counted_from: str, n: int, due: str) -> None:
    deadline = calendar_2026().deadline(D(counted_from), n)
    assert deadline.due == D(due)
    assert not deadline.provisional


@pytest.mark.parametrize(("day", "working"), [
    ("2026-02-14", True), ("2026-02-15", False), ("2026-02-16", False), ("2026-02-23", False),
    ("2026-02-24", True), ("2026-02-28", True), ("2026-03-01", False), ("2026-09-20", True),
    ("2026-09-25", False), ("2026-10-07", False), ("2026-10-10", True), ("2026-10-11", False),
    ("2026-06-19", False), ("2026-06-22", True),
])
def test_is_working_day(day: str, working: bool) -> None:
    assert calendar_2026().is_working_day(D(day)) is working


@pytest.mark.parametrize(("start", "end", "count"), [
    ("2026-02-13", "2026-02-25", 3),
    ("2026-09-30", "2026-10-10", 3),
    ("2026-10-10", "2026-09-30", -3),
    ("2026-06-08", "2026-06-08", 0),
    ("2026-06-05", "2026-06-08", 1),
])
def test_working_days_between(start: str, end: str, count: int) -> None:
    assert calendar_2026().working_days_between(D(start), D(end)) == count


def test_a_deadline_into_an_unloaded_year_is_provisional_until_it_is_loaded() -> None:
    calendar = calendar_2026()
    # By the Monday-to-Friday rule: 28-31 December, then 1 and 4-8 January.
    deadline = calendar.deadline(D("2026-12-25"), 10)
    assert deadline == Deadline(D("2026-12-25"), 10, D("2027-01-08"), provisional=True)
    assert calendar.deadline(D("2026-12-31"), 1).provisional
    assert not calendar.deadline(D("2026-12-24"), 5).provisional  # due 31 December

    loaded = calendar_2026(with_2027=True)
    unmoved = Deadline(D("2026-12-31"), 0, D("2026-12-31"), provisional=False)
    changes = recompute_provisional(
        [("A-1", deadline), ("A-2", unmoved), ("A-3", calendar.deadline(D("2027-02-01"), 1))],
        loaded,
    )
    assert [change.key for change in changes] == ["A-1", "A-3"]
    first = changes[0]
    assert first.before.due == D("2027-01-08")
    assert first.after == Deadline(D("2026-12-25"), 10, D("2027-01-11"), provisional=False)
    assert first.moved
    assert not changes[1].moved  # 2 February is a working day either way: only the mark goes
    assert not changes[1].after.provisional


def test_recomputing_keeps_the_length_the_deadline_was_given() -> None:
    """A time limit changed since does not apply: the stored length is counted again."""
    before = calendar_2026().deadline(D("2026-12-31"), 3)
    [change] = recompute_provisional([(7, before)], calendar_2026(with_2027=True))
    assert change.after.working_days == 3
    assert change.after.due == D("2027-01-06")


def test_a_deadline_explains_itself() -> None:
    explanation = calendar_2026().explain(D("2026-09-30"), 3)
    assert explanation.deadline.due == D("2026-10-10")
    assert explanation.skipped == [
        SkippedDay(D("2026-10-01"), SkipReason.HOLIDAY, "国庆节"),
        SkippedDay(D("2026-10-02"), SkipReason.HOLIDAY, "国庆节"),
        SkippedDay(D("2026-10-03"), SkipReason.WEEKEND),
        SkippedDay(D("2026-10-04"), SkipReason.WEEKEND),
        SkippedDay(D("2026-10-05"), SkipReason.HOLIDAY, "国庆节"),
        SkippedDay(D("2026-10-06"), SkipReason.HOLIDAY, "国庆节"),
        SkippedDay(D("2026-10-07"), SkipReason.HOLIDAY, "国庆节"),
    ]
    assert explanation.made_up == [MadeUpDay(D("2026-10-10"), "国庆节")]
    assert explanation.unloaded_years == []
    assert calendar_2026().explain(D("2026-12-31"), 1).unloaded_years == [2027]


def test_days_of_a_year_not_loaded_are_ignored_until_it_is() -> None:
    """Days marked while a year is being entered count only once the admin confirms the year."""
    marking = WorkingCalendar(InMemoryCalendar([*YEAR_2026, *YEAR_2027], [2026]))
    assert marking.is_working_day(D("2027-01-01"))
    assert not calendar_2026(with_2027=True).is_working_day(D("2027-01-01"))


def test_one_range_is_fetched_for_a_computation() -> None:
    source = InMemoryCalendar(YEAR_2026, [2026])
    calendar = WorkingCalendar(source)
    calendar.explain(D("2026-09-30"), 20)
    calendar.card(D("2026-11-03"), datetime(2026, 10, 20, 9, tzinfo=ZONE), 2)
    assert len(source.calls) == 1


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(("now", "card"), [
    # due Thursday 8 October 2026; the yellow card's window is 2 working days
    ("2026-09-28T23:59:59+08:00", Card.NONE),     # 29 and 30 September still to come
    ("2026-09-29T00:00:00+08:00", Card.YELLOW),   # 30 September, then 8 October
    ("2026-09-28T16:00:00+00:00", Card.YELLOW),   # the same second in UTC
    ("2026-10-03T12:00:00+08:00", Card.YELLOW),
    ("2026-10-08T23:59:59+08:00", Card.YELLOW),
    ("2026-10-08T15:59:59+00:00", Card.YELLOW),
    ("2026-10-09T00:00:00+08:00", Card.RED),
    ("2026-10-08T16:00:00+00:00", Card.RED),
])
def test_cards_to_the_second(now: str, card: Card) -> None:
    assert calendar_2026().card(D("2026-10-08"), at(now), due_soon_days=2) is card


def test_no_yellow_card_when_the_window_is_off() -> None:
    calendar = calendar_2026()
    assert calendar.card(D("2026-06-08"), at("2026-06-05T10:00:00+08:00"), 0) is Card.NONE
    assert calendar.card(D("2026-06-08"), at("2026-06-08T10:00:00+08:00"), 0) is Card.YELLOW


def test_a_deadline_ends_at_midnight_beijing_time() -> None:
    deadline = calendar_2026().deadline(D("2026-06-05"), 1)
    assert deadline.ends_at == datetime(2026, 6, 8, 15, 59, 59, tzinfo=UTC)


def test_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        calendar_2026().card(D("2026-06-08"), datetime(2026, 6, 8, 9), 2)


# Invariants, on the real 2026 calendar and on calendars made up by hypothesis.

def _special_days() -> st.SearchStrategy[list[SpecialDay]]:
    day = st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31))
    return st.lists(day, max_size=60, unique=True).map(lambda days: [
        SpecialDay(d, DayKind.WORKDAY if d.weekday() >= 5 else DayKind.HOLIDAY, "节")
        for d in days])


calendars = st.one_of(
    st.just((YEAR_2026, [2026])),
    st.tuples(_special_days(), st.sets(st.sampled_from([2026, 2027]))),
)
starts = st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 6, 30))
lengths = st.integers(min_value=0, max_value=60)


@settings(max_examples=200, deadline=None)
@given(calendars, starts, lengths)
def test_adding_lands_on_a_working_day_and_counting_gives_n_back(
    calendar_data: tuple[list[SpecialDay], list[int]], start: date, n: int,
) -> None:
    calendar = WorkingCalendar(InMemoryCalendar(*calendar_data))
    due = calendar.add_working_days(start, n)
    if n > 0:
        assert calendar.is_working_day(due)
    assert calendar.working_days_between(start, due) == n
    explanation = calendar.explain(start, n)
    assert (due - start).days == n + len(explanation.skipped)
    assert all(made_up.day.weekday() >= 5 for made_up in explanation.made_up)


@settings(max_examples=200, deadline=None)
@given(calendars, starts, lengths)
def test_more_working_days_never_move_a_deadline_back(
    calendar_data: tuple[list[SpecialDay], list[int]], start: date, n: int,
) -> None:
    calendar = WorkingCalendar(InMemoryCalendar(*calendar_data))
    assert calendar.add_working_days(start, n + 1) > calendar.add_working_days(start, n)
    assert calendar.add_working_days(start + timedelta(days=1), n) >= calendar.add_working_days(start, n)


@settings(max_examples=200, deadline=None)
@given(calendars, starts, lengths)
def test_the_earliest_day_within_n_working_days_is_the_boundary(
    calendar_data: tuple[list[SpecialDay], list[int]], end: date, n: int,
) -> None:
    calendar = WorkingCalendar(InMemoryCalendar(*calendar_data))
    earliest = calendar.earliest_within(end, n)
    assert calendar.working_days_between(earliest, end) <= n
    assert calendar.working_days_between(earliest - timedelta(days=1), end) > n


def test_the_earliest_day_within_counts_back_over_the_holidays() -> None:
    # 1-7 October 2026 are 国庆节 holidays and Saturday 10 October a make-up working day: the five
    # working days up to 13 October are 8, 9, 10, 12 and 13 October
    assert calendar_2026().earliest_within(D("2026-10-13"), 5) == D("2026-09-30")
    with pytest.raises(ValueError, match="negative"):
        calendar_2026().earliest_within(D("2026-10-09"), -1)
