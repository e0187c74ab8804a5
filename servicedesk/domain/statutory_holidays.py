"""The State Council's holiday arrangements, as the `chinese-calendar` package knows them.

The package is the source of the dates; this module only turns a year of it into the special days
the desk stores: the holidays that fall on a weekday and the make-up working days on a weekend.
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar

from servicedesk.domain.workdays import DayKind, SpecialDay, is_weekend

#: the package shortens three names; the State Council's notices use these
OFFICIAL_NAMES = {"清明": "清明节", "端午": "端午节", "中秋": "中秋节"}


class YearNotKnown(LookupError):
    """The installed chinese-calendar has no arrangement for the year (not published, or too old)."""

    def __init__(self, year: int) -> None:
        super().__init__(f"chinese-calendar {package_version()} has no holiday arrangement for {year}")
        self.year = year


def package_version() -> str:
    return getattr(chinese_calendar, "__version__", "?")


def knows(year: int) -> bool:
    try:
        chinese_calendar.is_holiday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def known_years(around: int, reach: int = 10) -> list[int]:
    """The years within `reach` of `around` that the package knows."""
    return [year for year in range(around - reach, around + reach + 1) if knows(year)]


def _chinese_name(english: str | None) -> str:
    try:
        name = chinese_calendar.Holiday(english).chinese
    except ValueError:  # a name the package's enum does not list: keep the package's own text
        return english or ""
    return OFFICIAL_NAMES.get(name, name)


def special_days(year: int) -> list[SpecialDay]:
    """The year's weekday holidays and weekend working days, in date order."""
    if not knows(year):
        raise YearNotKnown(year)
    found = []
    day = date(year, 1, 1)
    while day.year == year:
        off, english_name = chinese_calendar.get_holiday_detail(day)
        if off and not is_weekend(day):
            found.append(SpecialDay(day, DayKind.HOLIDAY, _chinese_name(english_name)))
        elif not off and is_weekend(day):
            found.append(SpecialDay(day, DayKind.WORKDAY, _chinese_name(english_name)))
        day += timedelta(days=1)
    return found
