"""Reading a year's holiday arrangement from a CSV or Excel file, and checking it before it is loaded.

One row per day: the date, the kind (holiday / workday, or 休 / 班 as the State Council's tables
write them) and the holiday's name. A holiday row on a weekend, or a workday row on a weekday, is
accepted and noted but stores nothing: such days are off, or worked, anyway. Any refused row stops
the whole import: a calendar missing a day would put deadlines on the wrong day.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from servicedesk import spreadsheets
from servicedesk.calendar import store
from servicedesk.domain.workdays import (
    FIRST_YEAR,
    LAST_YEAR,
    DayKind,
    SpecialDay,
    differs_from_weekly_rule,
)
from servicedesk.models import CalendarYear
from servicedesk.spreadsheets import ImportFileError, Sheet, SheetRow

__all__ = ["ImportFileError", "read_file"]

HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "day": ("日期", "date", "day", "日子"),
    "kind": ("类型", "kind", "type", "休/班", "休班", "放假/上班", "安排"),
    "name": ("名称", "节日", "节假日", "假日名称", "节日名称", "name", "holiday", "holiday name"),
}

KIND_WORDS = {
    DayKind.HOLIDAY: ("holiday", "off", "休", "休息", "放假", "假", "节假日", "假日", "休假"),
    DayKind.WORKDAY: ("workday", "working day", "work", "班", "上班", "补班", "调休上班", "工作日"),
}
_KIND_BY_WORD = {word: kind for kind, words in KIND_WORDS.items() for word in words}

TEMPLATE_HEADERS = {"zh": ("日期", "类型", "名称"), "en": ("Date", "Kind", "Name")}

LAYOUT = spreadsheets.Layout(
    synonyms=HEADER_SYNONYMS,
    required=("day", "kind"),
    no_header_message=lambda: _(
        "No header row found. One of the first %(n)d rows must name the columns: the date (日期), "
        "the kind (类型: holiday or workday) and the name (名称).", n=spreadsheets.HEADER_SEARCH_ROWS),
)

_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]0{1,2}:00(?::00)?)?")


def read_file(data: bytes) -> Sheet:
    return spreadsheets.read_table(data, LAYOUT, csv_allowed=True)


def parse_day(text: str) -> date | None:
    """2027-01-01, 2027/1/1, 2027.1.1 or 2027年1月1日; Excel dates arrive as 2027-01-01."""
    match = _DATE.fullmatch(text.strip())
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def parse_kind(text: str) -> DayKind | None:
    return _KIND_BY_WORD.get(text.strip().lower())


@dataclass
class RefusedRow:
    number: int
    text: str
    reason: str


@dataclass
class NotedRow:
    number: int
    text: str
    note: str


@dataclass
class YearPlan:
    year: int
    days: list[SpecialDay]
    current: CalendarYear | None
    change: store.YearChange

    @property
    def holidays(self) -> int:
        return sum(1 for day in self.days if day.kind is DayKind.HOLIDAY)

    @property
    def workdays(self) -> int:
        return sum(1 for day in self.days if day.kind is DayKind.WORKDAY)


@dataclass
class CalendarImportPlan:
    sheet: Sheet
    years: list[YearPlan] = field(default_factory=list)
    refused: list[RefusedRow] = field(default_factory=list)
    notes: list[NotedRow] = field(default_factory=list)

    @property
    def can_import(self) -> bool:
        return bool(self.years) and not self.refused


def _row_text(row: SheetRow) -> str:
    return " · ".join(value for value in row.values.values() if value)


def _check_row(row: SheetRow, seen: dict[date, tuple[int, SpecialDay]]) -> SpecialDay | str:
    """The day the row gives, or why it is refused."""
    day = parse_day(row.values.get("day", ""))
    if day is None:
        return _("“%(text)s” is not a date; write it as 2027-01-01.", text=row.values.get("day", ""))
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        return store.unsupported_day_message()
    kind = parse_kind(row.values.get("kind", ""))
    if kind is None:
        return _("“%(text)s” is not a kind of day; write holiday (休) or workday (班).",
                 text=row.values.get("kind", ""))
    name = row.values.get("name", "").strip()
    if not name:
        return _("The holiday's name is missing (元旦, 春节, … or the local closure).")
    if len(name) > store.NAME_MAX_LENGTH:
        return _("The name has more than %(n)d characters.", n=store.NAME_MAX_LENGTH)
    special = SpecialDay(day, kind, name)
    if day in seen:
        earlier_row, earlier = seen[day]
        if earlier.kind is not kind:
            return _("Row %(row)d gives the same date as another kind of day.", row=earlier_row)
    return special


def plan(sheet: Sheet) -> CalendarImportPlan:
    """Check every row and say, year by year, what loading the file would change."""
    result = CalendarImportPlan(sheet)
    seen: dict[date, tuple[int, SpecialDay]] = {}
    by_year: dict[int, list[SpecialDay]] = {}
    for row in sheet.rows:
        checked = _check_row(row, seen)
        if isinstance(checked, str):
            result.refused.append(RefusedRow(row.number, _row_text(row), checked))
            continue
        if checked.day in seen:
            result.notes.append(NotedRow(row.number, _row_text(row), _(
                "Row %(row)d gives this date already; this row is ignored.", row=seen[checked.day][0])))
            continue
        seen[checked.day] = (row.number, checked)
        by_year.setdefault(checked.day.year, [])
        if differs_from_weekly_rule(checked.day, checked.kind):
            by_year[checked.day.year].append(checked)
        elif checked.kind is DayKind.HOLIDAY:
            result.notes.append(NotedRow(row.number, _row_text(row), _(
                "A weekend day: it is off anyway, nothing to store.")))
        else:
            result.notes.append(NotedRow(row.number, _row_text(row), _(
                "A weekday: it is worked anyway, nothing to store. Check the date if a weekend "
                "day was meant.")))
    current_years = store.years(min(by_year, default=0), max(by_year, default=0)) if by_year else {}
    for year in sorted(by_year):
        days = by_year[year]
        current = store.days_of(year)
        result.years.append(YearPlan(year, days, current_years.get(year),
                                     store.compare(year, current, days)))
    return result


def apply(plan_: CalendarImportPlan, file_name: str) -> list[store.YearChange]:
    """Replace each year of the file, in the caller's transaction; the plan must have no refusals."""
    if not plan_.can_import:
        raise store.CalendarRefused({"file": _("Fix the refused rows and upload the file again.")})
    return [store.replace_year(year.year, year.days, store.Source.IMPORT, file_name)
            for year in plan_.years]


def template_workbook(chinese: bool, example_year: int) -> bytes:
    """A sheet with the three columns and one example row, dates formatted as dates."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "工作日历" if chinese else "Calendar"
    sheet.append(list(TEMPLATE_HEADERS["zh" if chinese else "en"]))
    sheet.append([date(example_year, 1, 1), "休" if chinese else "holiday", "元旦"])
    for column, width in zip("ABC", (14, 12, 24), strict=True):
        sheet.column_dimensions[column].width = width
        sheet[f"{column}1"].font = Font(bold=True)
    sheet["A2"].number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A2"
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()
