"""The calendar in the database: the source every deadline is counted on, and the admin's changes.

Every change to a year (loading it from the package, importing a file, marking days, confirming)
is one call here that writes the rows and the audit event together, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, delete, inspect, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import flag_modified

from servicedesk import audit, clock
from servicedesk.database import for_the_request
from servicedesk.domain import statutory_holidays
from servicedesk.domain.workdays import (
    FIRST_YEAR,
    LAST_YEAR,
    CalendarSpan,
    DayKind,
    SpecialDay,
    WorkingCalendar,
    differs_from_weekly_rule,
    is_weekend,
)
from servicedesk.extensions import db
from servicedesk.models import CalendarDay, CalendarYear

#: the longest range the admin may mark at once; the longest holiday is about ten days
MAX_MARKED_DAYS = 62
NAME_MAX_LENGTH = 60


class Source:
    PACKAGE = "package"
    IMPORT = "import"
    MANUAL = "manual"


class CalendarRefused(ValueError):
    """The change cannot be made; field_errors says why, by form field."""

    def __init__(self, field_errors: dict[str, str]) -> None:
        super().__init__("; ".join(field_errors.values()))
        self.field_errors = field_errors


#: built once, as most pages run it (their cards): building it anew cost as much as running it
_SPAN = (
    select(CalendarYear.year, CalendarDay.day, CalendarDay.kind, CalendarDay.name)
    .outerjoin(CalendarDay, and_(CalendarDay.year == CalendarYear.year,
                                 CalendarDay.day.between(bindparam("first"), bindparam("last"))))
    .where(CalendarYear.year.between(bindparam("first_year"), bindparam("last_year")),
           CalendarYear.loaded_at.is_not(None))
)


class DatabaseCalendar:
    """The calendar source for the domain: one query per range of days."""

    def span(self, first: date, last: date) -> CalendarSpan:
        rows = db.session.execute(_SPAN, {"first": first, "last": last, "first_year": first.year,
                                          "last_year": last.year}).all()
        return CalendarSpan(
            first, last,
            {row.day: SpecialDay(row.day, DayKind(row.kind), row.name) for row in rows if row.day},
            frozenset(row.year for row in rows),
        )


def working_calendar() -> WorkingCalendar:
    """A calendar for one computation or one request: it fetches each range of days once."""
    return WorkingCalendar(DatabaseCalendar())


def page_calendar() -> WorkingCalendar:
    """The calendar of what one request shows (its cards and deadlines), shared so that their days
    are fetched once for the page, not once for each. For reading: code that changes the calendar
    and then counts on it takes a working_calendar() of its own."""
    return for_the_request("page_calendar", working_calendar)


def year_record(year: int) -> CalendarYear | None:
    return db.session.scalar(
        select(CalendarYear).options(joinedload(CalendarYear.loaded_by)).where(CalendarYear.year == year))


def years(first: int, last: int) -> dict[int, CalendarYear]:
    return {row.year: row for row in db.session.scalars(
        select(CalendarYear).options(joinedload(CalendarYear.loaded_by))
        .where(CalendarYear.year.between(first, last)))}


def days_of(year: int) -> list[CalendarDay]:
    """The year's special days as entered, loaded or not."""
    return list(db.session.scalars(
        select(CalendarDay).where(CalendarDay.year == year).order_by(CalendarDay.day)))


#: built once, as the pages of admins and leaders run it (the calendar warning)
_LOADED_YEARS = select(CalendarYear.year).where(
    CalendarYear.year.between(bindparam("first"), bindparam("last")), CalendarYear.loaded_at.is_not(None))


def unloaded_years_ahead(today: date, horizon_days: int) -> list[int]:
    """The years holding some day of the next horizon_days that are not loaded."""
    last = today + timedelta(days=horizon_days)
    loaded = set(db.session.scalars(_LOADED_YEARS, {"first": today.year, "last": last.year}))
    return [year for year in range(today.year, last.year + 1) if year not in loaded]


def _year_row(year: int) -> CalendarYear:
    row = db.session.get(CalendarYear, year)
    if row is None:
        row = CalendarYear(year=year)
        db.session.add(row)
        db.session.flush()
    return row


def _mark_loaded(row: CalendarYear, source: str, detail: str | None) -> None:
    row.loaded_at = clock.now()
    row.loaded_by = audit.acting_user()
    row.source = source
    row.source_detail = (detail or "")[:200] or None


def _recount_provisional_deadlines() -> None:
    """A year's days count from now on: deadlines counted Monday to Friday into it are counted again."""
    from servicedesk.demands.operations import recompute_provisional_deadlines  # demands use the calendar

    db.session.flush()
    recompute_provisional_deadlines(clock.now())


def as_special(row: CalendarDay) -> SpecialDay:
    return SpecialDay(row.day, DayKind(row.kind), row.name)


def _as_text(special: SpecialDay | CalendarDay) -> str:
    return f"{special.day.isoformat()} {DayKind(special.kind).value} {special.name}"


@dataclass
class YearChange:
    """What replacing a year's days changes, day by day, for the report and the audit event."""

    year: int
    added: list[SpecialDay] = field(default_factory=list)
    removed: list[SpecialDay] = field(default_factory=list)
    #: (before, after) for a day that stays special with another kind or name
    changed: list[tuple[SpecialDay, SpecialDay]] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def compare(year: int, current: Iterable[CalendarDay | SpecialDay],
            new: Iterable[SpecialDay]) -> YearChange:
    before = {day.day: day if isinstance(day, SpecialDay) else as_special(day) for day in current}
    after = {day.day: day for day in new}
    change = YearChange(year)
    for day in sorted(before.keys() | after.keys()):
        old, fresh = before.get(day), after.get(day)
        if old is None and fresh is not None:
            change.added.append(fresh)
        elif fresh is None and old is not None:
            change.removed.append(old)
        elif old != fresh and old is not None and fresh is not None:
            change.changed.append((old, fresh))
    return change


def unsupported_day_message() -> str:
    return _("Choose a day from %(first)d to %(last)d.", first=FIRST_YEAR, last=LAST_YEAR)


def check_supported(day: date, field: str) -> None:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise CalendarRefused({field: unsupported_day_message()})


def check_special_days(year: int, days: Iterable[SpecialDay]) -> list[SpecialDay]:
    checked = sorted(days, key=lambda special: special.day)
    for special in checked:
        if special.day.year != year:
            raise CalendarRefused({"year": _("%(day)s is not in %(year)d.", day=special.day.isoformat(),
                                             year=year)})
        if not differs_from_weekly_rule(special.day, special.kind):
            raise CalendarRefused({"kind": _("%(day)s needs no entry: it is already a %(what)s.",
                                             day=special.day.isoformat(), what=_day_word(special.day))})
        if not special.name.strip() or len(special.name) > NAME_MAX_LENGTH:
            raise CalendarRefused({"name": _("Give each day the holiday's name, at most %(n)d characters.",
                                             n=NAME_MAX_LENGTH)})
    return checked


def _day_word(day: date) -> str:
    return _("day off (weekend)") if is_weekend(day) else _("working day")


def replace_year(year: int, days: Iterable[SpecialDay], source: str, detail: str | None) -> YearChange:
    """Make these the year's special days and the year loaded: one transaction, one event."""
    checked = check_special_days(year, days)
    row = _year_row(year)
    change = compare(year, days_of(year), checked)
    db.session.execute(delete(CalendarDay).where(CalendarDay.year == year))
    db.session.add_all(CalendarDay(day=s.day, year=year, kind=s.kind.value, name=s.name) for s in checked)
    was_loaded = row.loaded
    _mark_loaded(row, source, detail)
    audit.record("calendar.loaded", row, {
        "source": source,
        "source_detail": detail or "",
        "was_loaded": was_loaded,
        "holidays": sum(1 for s in checked if s.kind is DayKind.HOLIDAY),
        "workdays": sum(1 for s in checked if s.kind is DayKind.WORKDAY),
        "added": [_as_text(s) for s in change.added],
        "removed": [_as_text(s) for s in change.removed],
        "changed": [f"{_as_text(old)} → {_as_text(new)}" for old, new in change.changed],
    })
    _recount_provisional_deadlines()
    return change


def prefill(year: int) -> YearChange:
    """Load the year from chinese-calendar; YearNotKnown if the package has no arrangement for it."""
    days = statutory_holidays.special_days(year)
    return replace_year(year, days, Source.PACKAGE,
                        f"chinese-calendar {statutory_holidays.package_version()}")


def confirm_year(year: int, version_seen: int) -> CalendarYear:
    """Count the days marked by hand: the year is loaded from now on.

    version_seen is the year's version the admin saw (0: nothing entered yet); marking days since
    changes it, so the admin confirms exactly the days they looked at.
    """
    existing = db.session.get(CalendarYear, year)
    if version_seen != (existing.version if existing else 0):
        raise audit.StaleEdit
    row = existing or _year_row(year)
    if row.loaded:
        raise CalendarRefused({"year": _("%(year)d is loaded already.", year=year)})
    _mark_loaded(row, Source.MANUAL, None)
    days = days_of(year)
    audit.record("calendar.confirmed", row, {
        "holidays": sum(1 for d in days if d.kind == DayKind.HOLIDAY),
        "workdays": sum(1 for d in days if d.kind == DayKind.WORKDAY),
    })
    _recount_provisional_deadlines()
    return row


def _touch(row: CalendarYear) -> None:
    """Its days changed: count that as a change of the year (a new version), so that a confirmation
    of the days as seen before is refused as stale. A row created just now has a new version anyway."""
    if "source" in inspect(row).dict:
        flag_modified(row, "source")


@dataclass
class MarkResult:
    marked: list[date]
    #: days in the range that were left alone: a weekend day can't be a holiday, nor a weekday a workday
    left_alone: list[date]
    #: the years touched, and whether each is loaded (a loaded year's change counts at once)
    years: dict[int, bool]


def mark_days(first: date, last: date, kind: DayKind | None, name: str) -> MarkResult:
    """Mark the days first..last as holidays or make-up working days, or (kind None) as usual.

    A holiday range may include its weekend: only the weekdays are stored. A make-up working day
    is stored for weekend days only. Usual days lose whatever was entered for them.
    """
    name = name.strip()
    if last < first:
        raise CalendarRefused({"last": _("The last day comes before the first.")})
    for day in (first, last):
        check_supported(day, "first" if day is first else "last")
    if (last - first).days >= MAX_MARKED_DAYS:
        raise CalendarRefused({"last": _("Mark at most %(n)d days at once.", n=MAX_MARKED_DAYS)})
    if kind is not None and not name:
        raise CalendarRefused({"name": _("Give the holiday's name, e.g. 春节 or a local closure.")})
    if len(name) > NAME_MAX_LENGTH:
        raise CalendarRefused({"name": _("At most %(n)d characters.", n=NAME_MAX_LENGTH)})
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    rows = {year: _year_row(year) for year in sorted({day.year for day in days})}
    existing = {row.day: row for row in db.session.scalars(
        select(CalendarDay).where(CalendarDay.day.between(first, last)))}
    result = MarkResult([], [], {year: row.loaded for year, row in rows.items()})
    for day in days:
        current = existing.get(day)
        if kind is None:
            if current is not None:
                db.session.delete(current)
                result.marked.append(day)
            continue
        if not differs_from_weekly_rule(day, kind):
            result.left_alone.append(day)
            continue
        if current is None:
            db.session.add(CalendarDay(day=day, year=day.year, kind=kind.value, name=name))
        else:
            current.kind, current.name = kind.value, name
        result.marked.append(day)
    for year, row in rows.items():
        marked = [day.isoformat() for day in result.marked if day.year == year]
        if marked:
            _touch(row)
            audit.record("calendar.days_marked", row, {
                "kind": kind.value if kind else "usual", "name": name, "days": marked,
                "year_loaded": row.loaded,
            })
    return result
