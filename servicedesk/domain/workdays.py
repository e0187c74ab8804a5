"""The zone's working-day calendar: counting working days, deadlines, their cards and their reasons.

A working day is Monday to Friday, except the statutory holidays that fall on a weekday, plus the
make-up working days (调休上班) that fall on a weekend. The calendar knows the days that differ from
the Monday-to-Friday rule only for the years the admin has loaded; a deadline that reaches into
any other year is counted by the plain rule and is provisional.

No Flask and no database: `WorkingCalendar` reads through a `CalendarSource`, asking it for whole
ranges of days (one call per range, never one per day), so the app can give it the database and
the tests an in-memory calendar.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo

#: deadlines end at midnight in the zone's own time
ZONE = ZoneInfo("Asia/Shanghai")
DAY = timedelta(days=1)
#: the last second of a due day, the moment a deadline ends
END_OF_DAY = time(23, 59, 59)
#: days fetched past the first estimate of a range, so that a long holiday rarely needs a second call
FETCH_MARGIN_DAYS = 31
SATURDAY = 5
#: the years the desk counts in; far dates are typing errors (and past 9999 dates overflow)
FIRST_YEAR, LAST_YEAR = 2000, 2100


class DayKind(enum.StrEnum):
    #: a weekday off (a statutory holiday, or a local closure)
    HOLIDAY = "holiday"
    #: a weekend day worked (调休上班)
    WORKDAY = "workday"


@dataclass(frozen=True)
class SpecialDay:
    """A day that differs from the Monday-to-Friday rule, with the holiday it belongs to."""

    day: date
    kind: DayKind
    name: str


@dataclass(frozen=True)
class CalendarSpan:
    """What the calendar says about the days first..last: the special days of the loaded years
    among them, and which of their years are loaded."""

    first: date
    last: date
    special_days: Mapping[date, SpecialDay]
    loaded_years: frozenset[int]


class CalendarSource(Protocol):
    def span(self, first: date, last: date) -> CalendarSpan: ...


def is_weekend(day: date) -> bool:
    return day.weekday() >= SATURDAY


def differs_from_weekly_rule(day: date, kind: DayKind) -> bool:
    """A holiday is only worth a row on a weekday, a make-up working day only on a weekend."""
    return is_weekend(day) if kind is DayKind.WORKDAY else not is_weekend(day)


class Card(enum.StrEnum):
    NONE = "none"
    #: due soon: within the yellow-card window
    YELLOW = "yellow"
    #: overdue
    RED = "red"


@dataclass(frozen=True)
class Deadline:
    """N working days counted from a day: the due day, and whether an unloaded year was counted."""

    counted_from: date
    working_days: int
    due: date
    provisional: bool

    @property
    def ends_at(self) -> datetime:
        return end_of(self.due)


def end_of(day: date) -> datetime:
    """23:59:59 Beijing time on the day: when a deadline due that day ends."""
    return datetime.combine(day, END_OF_DAY, ZONE)


def local_day(moment: datetime) -> date:
    """The zone's calendar day at an aware moment."""
    if moment.tzinfo is None:
        raise ValueError("an aware datetime is required")
    return moment.astimezone(ZONE).date()


class SkipReason(enum.StrEnum):
    WEEKEND = "weekend"
    HOLIDAY = "holiday"


@dataclass(frozen=True)
class SkippedDay:
    day: date
    reason: SkipReason
    #: the holiday's name (for a holiday)
    name: str = ""


@dataclass(frozen=True)
class MadeUpDay:
    """A weekend day that counted because it is a make-up working day."""

    day: date
    name: str


@dataclass(frozen=True)
class Explanation:
    """Why a deadline falls on its day: what was counted, what was skipped and why."""

    deadline: Deadline
    skipped: list[SkippedDay]
    made_up: list[MadeUpDay]
    #: years counted by the Monday-to-Friday rule because they are not loaded
    unloaded_years: list[int]


class WorkingCalendar:
    """Working-day arithmetic over a calendar source, fetching each range of days once."""

    def __init__(self, source: CalendarSource) -> None:
        self._source = source
        self._first: date | None = None
        self._last: date | None = None
        self._special: dict[date, SpecialDay] = {}
        self._loaded_years: set[int] = set()
        #: the years some fetched range touched: whether they are loaded is known
        self._years_seen: set[int] = set()

    # Reading the source

    def _ensure(self, first: date, last: date) -> None:
        """Make first..last known, asking the source only for the days not fetched yet."""
        if self._first is None or self._last is None:
            self._fetch(first, last)
            self._first, self._last = first, last
            return
        if first < self._first:
            self._fetch(first, self._first - DAY)
            self._first = first
        if last > self._last:
            self._fetch(self._last + DAY, last)
            self._last = last

    def _fetch(self, first: date, last: date) -> None:
        span = self._source.span(first, last)
        self._special.update(span.special_days)
        self._loaded_years |= span.loaded_years
        self._years_seen.update(range(first.year, last.year + 1))

    def _known(self, day: date) -> None:
        if self._first is None or self._last is None or not self._first <= day <= self._last:
            self._ensure(day, day + timedelta(days=FETCH_MARGIN_DAYS))

    def special_day(self, day: date) -> SpecialDay | None:
        self._known(day)
        return self._special.get(day) if day.year in self._loaded_years else None

    def is_loaded(self, year: int) -> bool:
        if year not in self._years_seen:
            self._known(date(year, 1, 1))
        return year in self._loaded_years

    # Arithmetic

    def is_working_day(self, day: date) -> bool:
        special = self.special_day(day)
        if special is not None:
            return special.kind is DayKind.WORKDAY
        return not is_weekend(day)

    def _estimate(self, day: date, n: int) -> None:
        """Fetch enough days for n working days in one call: 7 calendar days hold 5 working days."""
        self._ensure(day, day + timedelta(days=n * 7 // 5 + FETCH_MARGIN_DAYS))

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after the day, the day itself not counted; the day itself for n=0."""
        if n < 0:
            raise ValueError("the number of working days cannot be negative")
        self._estimate(day, n)
        current = day
        for _ in range(n):
            current += DAY
            while not self.is_working_day(current):
                current += DAY
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days follow start up to and including end (negative if end < start)."""
        if end < start:
            return -self.working_days_between(end, start)
        self._ensure(start, end)
        return sum(1 for day in _days_after(start, end) if self.is_working_day(day))

    def earliest_within(self, end: date, n: int) -> date:
        """The earliest day from which at most n working days follow up to end: a day logged on it
        or later is at most n working days old on `end` (the dashboard's age groups)."""
        if n < 0:
            raise ValueError("the number of working days cannot be negative")
        self._ensure(end - timedelta(days=n * 7 // 5 + FETCH_MARGIN_DAYS), end)
        day, counted = end, 0
        while True:
            counted += self.is_working_day(day)
            if counted > n:
                return day
            day -= DAY

    def deadline(self, counted_from: date, n: int) -> Deadline:
        due = self.add_working_days(counted_from, n)
        unloaded = self._unloaded_years(counted_from, due)
        return Deadline(counted_from, n, due, provisional=bool(unloaded))

    def _unloaded_years(self, counted_from: date, due: date) -> list[int]:
        first_counted = min(counted_from + DAY, due)
        return [year for year in range(first_counted.year, due.year + 1) if not self.is_loaded(year)]

    def explain(self, counted_from: date, n: int) -> Explanation:
        deadline = self.deadline(counted_from, n)
        skipped: list[SkippedDay] = []
        made_up: list[MadeUpDay] = []
        for day in _days_after(counted_from, deadline.due):
            special = self.special_day(day)
            if special is not None and special.kind is DayKind.WORKDAY:
                made_up.append(MadeUpDay(day, special.name))
            elif special is not None:
                skipped.append(SkippedDay(day, SkipReason.HOLIDAY, special.name))
            elif is_weekend(day):
                skipped.append(SkippedDay(day, SkipReason.WEEKEND))
        return Explanation(deadline, skipped, made_up,
                           self._unloaded_years(counted_from, deadline.due))

    def card(self, due: date, now: datetime, due_soon_days: int) -> Card:
        """The card at this moment, the window being due_soon_days working days from today."""
        today = local_day(now)
        return card_of(due, today, self.add_working_days(today, due_soon_days))


def card_of(due: date, today: date, due_soon_until: date) -> Card:
    """Red once the due day has ended; yellow from the day it lies within the window (due on or
    before due_soon_until)."""
    if today > due:
        return Card.RED
    if due <= due_soon_until:
        return Card.YELLOW
    return Card.NONE


def _days_after(start: date, end: date) -> Iterable[date]:
    day = start + DAY
    while day <= end:
        yield day
        day += DAY


class InMemoryCalendar:
    """A calendar source held in memory: the tests' calendars, and a year checked before saving."""

    def __init__(self, special_days: Iterable[SpecialDay] = (), loaded_years: Iterable[int] = ()) -> None:
        self.special_days = {special.day: special for special in special_days}
        self.loaded_years = frozenset(loaded_years)
        self.calls: list[tuple[date, date]] = []

    def span(self, first: date, last: date) -> CalendarSpan:
        self.calls.append((first, last))
        return CalendarSpan(
            first, last,
            {day: special for day, special in self.special_days.items() if first <= day <= last},
            frozenset(year for year in self.loaded_years if first.year <= year <= last.year),
        )


Key = TypeVar("Key")


@dataclass(frozen=True)
class Recomputed(Generic[Key]):
    """A provisional deadline counted again once the calendar of its years has been loaded."""

    key: Key
    before: Deadline
    after: Deadline

    @property
    def moved(self) -> bool:
        return self.before.due != self.after.due


def recompute_provisional(
    deadlines: Iterable[tuple[Key, Deadline]], calendar: WorkingCalendar,
) -> list[Recomputed[Key]]:
    """Count every provisional deadline again from its own start and length.

    The length is the one in force when it was set, never today's time limit: a limit changed since
    does not move it. Returns the deadlines whose day or provisional flag changed, for the caller
    to store and to record in each demand's history.
    """
    changed = []
    for key, before in deadlines:
        if not before.provisional:
            continue
        after = calendar.deadline(before.counted_from, before.working_days)
        if after != before:
            changed.append(Recomputed(key, before, after))
    return changed
