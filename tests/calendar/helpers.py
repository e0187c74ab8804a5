"""Reading pages and the database in the calendar tests."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date
from typing import Any

from openpyxl import Workbook
from sqlalchemy import func, select

from servicedesk.extensions import db
from servicedesk.models import AuditEvent, CalendarDay, CalendarYear


def text_of(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def input_value(page: str, name: str) -> str:
    """The value of the <input name=...> in the page."""
    for tag in re.findall(r"<input\b[^>]*>", page):
        if re.search(rf'\bname="{re.escape(name)}"', tag):
            match = re.search(r'\bvalue="([^"]*)"', tag)
            return html.unescape(match.group(1)) if match else ""
    raise AssertionError(f"no input named {name} in the page")


def element(page: str, tag: str, element_id: str) -> str:
    """The element with the id, up to its closing tag (no nesting of the same tag)."""
    match = re.search(rf'<{tag}\b[^>]*\bid="{element_id}".*?</{tag}>', page, re.S)
    return match.group(0) if match else ""


def field_has_error(page: str, name: str) -> bool:
    for tag in re.findall(r"<(?:input|select)\b[^>]*>", page):
        if re.search(rf'\bname="{re.escape(name)}"', tag):
            return "is-invalid" in tag
    raise AssertionError(f"no field named {name} in the page")


def listed_special_days(page: str) -> dict[str, str]:
    """The year page's table of special days: ISO date -> kind."""
    return dict(re.findall(r'<tr data-day="([0-9-]+)" data-kind="(holiday|workday)">', page))


def stored_days(year: int) -> dict[date, tuple[str, str]]:
    db.session.expire_all()
    return {row.day: (row.kind, row.name) for row in db.session.scalars(
        select(CalendarDay).where(CalendarDay.year == year))}


def year_row(year: int) -> CalendarYear | None:
    db.session.expire_all()
    return db.session.get(CalendarYear, year)


def events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def event_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def calendar_snapshot() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], int]:
    """Everything the calendar stores, and how many events: equal before and after a refusal."""
    db.session.expire_all()
    days = [tuple(row) for row in db.session.execute(
        select(CalendarDay.day, CalendarDay.year, CalendarDay.kind, CalendarDay.name)
        .order_by(CalendarDay.day))]
    years = [tuple(row) for row in db.session.execute(
        select(CalendarYear.year, CalendarYear.loaded_at, CalendarYear.source, CalendarYear.source_detail,
               CalendarYear.version).order_by(CalendarYear.year))]
    return days, years, event_count()


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    output = io.StringIO()
    csv.writer(output, lineterminator="\r\n").writerows(rows)
    return output.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]], title: str = "Sheet1") -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for cell in sheet["A"][1:]:
        if isinstance(cell.value, date):
            cell.number_format = "yyyy-mm-dd"
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


# A 2027 arrangement as an admin would type it from the State Council's notice (made up for the
# tests: the package does not know 2027). The weekend holidays need no entry and store nothing.
ARRANGEMENT_2027: list[tuple[str, str, str]] = [
    ("2027-01-01", "holiday", "元旦"),
    ("2027-01-02", "holiday", "元旦"),  # a Saturday: noted, not stored
    ("2027-01-03", "holiday", "元旦"),  # a Sunday: noted, not stored
    ("2027-02-08", "holiday", "春节"),
    ("2027-02-09", "holiday", "春节"),
    ("2027-02-10", "holiday", "春节"),
    ("2027-02-11", "holiday", "春节"),
    ("2027-02-12", "holiday", "春节"),
    ("2027-02-20", "workday", "春节"),
    ("2027-04-05", "holiday", "清明节"),
    ("2027-04-25", "workday", "劳动节"),
    ("2027-05-03", "holiday", "劳动节"),
    ("2027-05-04", "holiday", "劳动节"),
    ("2027-05-05", "holiday", "劳动节"),
    ("2027-09-26", "workday", "国庆节"),
    ("2027-10-01", "holiday", "国庆节"),
    ("2027-10-04", "holiday", "国庆节"),
    ("2027-10-05", "holiday", "国庆节"),
    ("2027-10-06", "holiday", "国庆节"),
    ("2027-10-07", "holiday", "国庆节"),
    ("2027-10-09", "workday", "国庆节"),
]
WEEKEND_HOLIDAYS_2027 = {"2027-01-02", "2027-01-03"}
#: what loading ARRANGEMENT_2027 stores: day -> (kind, name)
STORED_2027 = {date.fromisoformat(day): (kind, name) for day, kind, name in ARRANGEMENT_2027
               if day not in WEEKEND_HOLIDAYS_2027}
CHINESE_KIND = {"holiday": "休", "workday": "班"}


def arrangement_rows(rows: list[tuple[str, str, str]] | None = None,
                     chinese: bool = False) -> list[list[str]]:
    header = ["日期", "类型", "名称"] if chinese else ["date", "kind", "name"]
    return [header, *([day, CHINESE_KIND[kind] if chinese else kind, name]
                      for day, kind, name in (ARRANGEMENT_2027 if rows is None else rows))]
