"""The list in Excel: each export read back with openpyxl holds the list page's demands, in its order,
for the same query string; handlers get only their departments'; headers follow the language;
cells are real dates and never formulas; a fixed number of SQL statements whatever the rows."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from datetime import date, datetime, timedelta
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select

from servicedesk.calendar.store import working_calendar
from servicedesk.demands.exports import WorkingDayCount
from servicedesk.demands.operations import take_action
from servicedesk.domain.lifecycle import Action
from servicedesk.extensions import db
from servicedesk.models import Category
from servicedesk.workbooks import XLSX_MIMETYPE, Column, content_disposition, xlsx_response
from tests.demands.test_lists import WEDNESDAY, bulk_demands, page_of
from tests.demands.test_search import at, spread_demands

EXPORTS = ("ledger", "problems", "tasks", "responsibilities")
EXCEL_DAY_0 = datetime(1899, 12, 30)


def english(client) -> None:
    client.post("/language", data={"locale": "en", "next": "/"})


@pytest.fixture
def world(client, make_demand, make_user, department, other_department, make_company, leader, handler,
          freeze_clock):
    """spread_demands, one demand answered with a plan and its milestones, and one whose typed text
    looks like formulas; seen on Wednesday 17 June 2026."""
    demands = spread_demands(make_demand, make_user, department, other_department, make_company, leader)
    planned = make_demand("厂房扩建", dispatch_to=department, co=(other_department,))
    take_action(planned, Action.SIGN, handler, {}, None, at("2026-06-15T10:00+08:00"))
    for title, due in (("完成规划调整", "2026-06-30"), ("办理用地手续", "2026-06-16")):
        take_action(planned, Action.ADD_MILESTONE, handler, {"title": title, "due_on": due}, None,
                    at("2026-06-15T11:00+08:00"))
    take_action(planned, Action.RESPOND, handler, {"outcome": "planned", "text": "分两步办理",
                                                   "planned_on": "2026-07-31"},
                None, at("2026-06-16T15:00+08:00"))
    demands["planned"] = planned
    demands["formula"] = make_demand("=HYPERLINK(\"http://example.com\",\"点此\")",
                                     description="+1+2", contact_name="@SUM(A1)", contact_phone="-3")
    db.session.commit()
    freeze_clock(WEDNESDAY)
    return demands


def sheet_of(client, url: str) -> Worksheet:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.mimetype == XLSX_MIMETYPE
    return load_workbook(io.BytesIO(response.data)).active


def records(sheet: Worksheet) -> list[dict[str, object]]:
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def listed(client, query: str) -> tuple[list[str], int]:
    page, html = page_of(client, f"/demands/?{query}")
    total = int(re.search(r'data-total="(\d+)"', html).group(1))
    return page.rows.get("", []), total


def unique(values) -> list:
    return list(dict.fromkeys(values))


QUERIES = [
    "",
    "sort=number",
    "sort=due",
    "state=assigned&state=accepted",
    "overdue=1",
    "q=用地",
    "key_supervision=1",
    "returned=1&sort=oldest",
    "urgency=urgent&source=symposium",
]


@pytest.mark.parametrize("query", QUERIES)
def test_the_ledger_and_the_problem_list_hold_the_list(client, auth, officer, world, query) -> None:
    english(client)
    auth.login(officer)
    numbers, total = listed(client, query)
    assert total == len(numbers)
    for name in ("ledger", "problems"):
        sheet = sheet_of(client, f"/demands/export/{name}.xlsx?{query}")
        assert [row["Number"] for row in records(sheet)] == numbers, (name, query)


def test_the_department_filter_and_the_responsibilities(client, auth, officer, world, department,
                                                        other_department) -> None:
    english(client)
    auth.login(officer)
    query = f"department={department.id}&sort=number"
    numbers, total = listed(client, query)
    assert total == 6 and world["co"].number in numbers and world["returned"].number not in numbers
    rows = records(sheet_of(client, f"/demands/export/responsibilities.xlsx?{query}"))
    assert unique(row["Number"] for row in rows) == numbers
    parts = {(row["Number"], row["Department"]): row for row in rows}
    co = parts[(world["co"].number, department.name)]
    assert co["Role"] == "Co-department" and co["Handler"] is None
    assert parts[(world["co"].number, other_department.name)]["Role"] == "Lead department"
    planned = parts[(world["planned"].number, department.name)]
    assert planned["Role"] == "Lead department" and planned["Handler"] == "陈静"
    assert planned["Last action"] == "Respond"
    assert planned["Last action at"] == datetime(2026, 6, 16, 15, 0)
    assert planned["State"] == "responded" and planned["Overdue"] == "no"
    assigned = parts[(world["assigned"].number, department.name)]
    assert assigned["Deadline"] == datetime(2026, 6, 16) and assigned["Overdue"] == "yes"


def test_a_handler_exports_only_their_departments(client, auth, world, handler, department) -> None:
    english(client)
    auth.login(handler)
    numbers, total = listed(client, "")
    assert total == 6 and world["returned"].number not in numbers
    for name in ("ledger", "problems"):
        assert [row["Number"] for row in records(sheet_of(client, f"/demands/export/{name}.xlsx"))] == numbers
    responsibilities = records(sheet_of(client, "/demands/export/responsibilities.xlsx"))
    assert unique(row["Number"] for row in responsibilities) == numbers
    tasks = records(sheet_of(client, "/demands/export/tasks.xlsx"))
    assert {row["Number"] for row in tasks} <= set(numbers)
    assert world["flagged"].number not in {row["Number"] for row in tasks}


def test_the_ledger_row(client, auth, officer, world, department, other_department) -> None:
    english(client)
    auth.login(officer)
    rows = {row["Number"]: row for row in records(sheet_of(client, "/demands/export/ledger.xlsx"))}
    planned = rows[world["planned"].number]
    assert planned["Logged on"] == datetime(2026, 6, 15) and planned["Source"] == "Symposium"
    assert planned["Company"] == "江苏万邦生化医药集团有限责任公司"
    assert planned["Credit code"] == "913203052MACL12THK"
    assert planned["Lead department"] == department.name
    assert planned["Co-departments"] == other_department.name
    assert planned["Dispatched"] == datetime(2026, 6, 15, 9, 0)  # Beijing time
    assert planned["Signed"] == datetime(2026, 6, 15, 10, 0) and planned["Signed late"] == "no"
    assert planned["Responded"] == datetime(2026, 6, 16, 15, 0) and planned["Responded late"] == "no"
    assert planned["Outcome"] == "Planned: to be solved by a date"
    assert planned["Response"] == "分两步办理" and planned["Planned for"] == datetime(2026, 7, 31)
    assert planned["Handling time (working days)"] == 1
    assert planned["State"] == "responded" and planned["Current deadline"] == datetime(2026, 6, 22)
    assert planned["Overdue"] == "no" and planned["Feedback"] is None
    assert planned["Days taken (working days)"] == 2  # Monday to Wednesday, still open
    closed = rows[world["closed"].number]
    assert closed["Closed as"] == "Withdrawn" and closed["Closed at"] == datetime(2026, 6, 16, 12, 0)
    assert closed["Days taken (working days)"] == 1 and closed["Current deadline"] is None
    assigned = rows[world["assigned"].number]
    assert assigned["Overdue"] == "yes" and assigned["Sign by"] == datetime(2026, 6, 16)
    assert rows[world["returned"].number]["Returns"] == 1
    assert rows[world["flagged"].number]["Key supervision"] == "yes"
    assert rows[world["flagged"].number]["Why it needs key supervision"] == "市领导关注"
    assert rows[world["registered"].number]["Lead department"] is None
    category = db.session.scalars(select(Category).order_by(Category.position)).first()
    assert planned["Category"] == category.name_en and planned["Respond deadline extended"] == "no"
    assert planned["Escalation"] is None and planned["Key supervision"] == "no"
    registered = rows[world["registered"].number]
    assert registered["Signed late"] is None and registered["Respond deadline extended"] is None
    assert registered["Responded late"] is None and registered["Overdue"] == "no"


def test_the_ledger_names_the_co_departments_in_order_and_the_escalation(
        client, auth, officer, world, make_demand, department, other_department, make_department) -> None:
    third = make_department("市场监督管理局", "市场监管局")
    demand = make_demand("多部门协办", dispatch_to=department, co=(third, other_department))
    demand.escalation_level = 1  # as the chaser leaves it
    db.session.commit()
    category = db.session.scalars(select(Category).order_by(Category.position)).first()
    auth.login(officer)
    rows = {row["编号"]: row for row in records(sheet_of(client, "/demands/export/ledger.xlsx"))}
    assert rows[demand.number]["配合单位"] == f"{other_department.name}、{third.name}"  # by id
    assert rows[demand.number]["诉求类别"] == category.name
    english(client)
    rows = {row["Number"]: row for row in records(sheet_of(client, "/demands/export/ledger.xlsx"))}
    assert rows[demand.number]["Co-departments"] == f"{other_department.name}, {third.name}"
    assert rows[demand.number]["Escalation"] == "escalated to the department head"
    assert rows[world["planned"].number]["Co-departments"] == other_department.name
    assert rows[world["assigned"].number]["Co-departments"] is None
    by_state = sheet_of(client, f"/demands/export/ledger.xlsx?state={demand.state}")  # links read by state
    rows = {row["Number"]: row for row in records(by_state)}
    assert rows[demand.number]["Co-departments"] == f"{other_department.name}, {third.name}"


def test_moments_are_beijing_time(client, auth, officer, world, make_demand, department) -> None:
    late = make_demand("夜间登记", dispatch_to=department)
    late.created_at = at("2026-06-15T20:30+00:00")  # 04:30 on Tuesday the 16th in Beijing
    late.dispatched_at = at("2026-06-15T23:59:30+00:00")
    db.session.commit()
    english(client)
    auth.login(officer)
    ledger = {row["Number"]: row for row in records(sheet_of(client, "/demands/export/ledger.xlsx"))}
    assert ledger[late.number]["Logged on"] == datetime(2026, 6, 16)
    assert ledger[late.number]["Dispatched"] == datetime(2026, 6, 16, 7, 59, 30)
    assert ledger[late.number]["Days taken (working days)"] == 1  # Tuesday to Wednesday
    problems = {row["Number"]: row for row in records(sheet_of(client, "/demands/export/problems.xlsx"))}
    assert problems[late.number]["Logged on"] == datetime(2026, 6, 16)


def test_the_ledger_s_serials_are_exactly_what_its_moments_and_days_make(
        client, auth, officer, world, make_demand, department) -> None:
    """The database gives the ledger its days and moments as Excel's serials: the very numbers the
    same days and moments (to the millisecond) make in Python, in Beijing time, to the last digit."""
    late = make_demand("毫秒", dispatch_to=department)
    late.created_at = at("2026-06-15T15:59:59.999+00:00")  # 23:59:59.999 on Monday in Beijing
    late.dispatched_at = at("2026-06-15T23:59:30.123+00:00")  # 07:59:30.123 on Tuesday
    db.session.commit()
    auth.login(officer)
    response = client.get("/demands/export/ledger.xlsx")
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    row = re.search(rf"<row [^>]*>(?:(?!</row>).)*{late.number}.*?</row>", xml).group(0)
    dispatched = (datetime(2026, 6, 16, 7, 59, 30, 123000) - EXCEL_DAY_0) / timedelta(days=1)
    assert f"<v>{dispatched:.10f}</v>" in row and f"{dispatched:.10f}" != repr(dispatched)
    assert f"<v>{(date(2026, 6, 15) - EXCEL_DAY_0.date()).days}</v>" in row  # logged on Monday
    assert f"<v>{(late.sign_due - EXCEL_DAY_0.date()).days}</v>" in row
    ledger = {row["编号"]: row for row in records(load_workbook(io.BytesIO(response.data)).active)}
    assert ledger[late.number]["登记日期"] == datetime(2026, 6, 15)
    assert ledger[late.number]["已用时长（工作日）"] == 2  # Monday to Wednesday


def test_the_task_list(client, auth, officer, world, department) -> None:
    english(client)
    auth.login(officer)
    rows = records(sheet_of(client, "/demands/export/tasks.xlsx"))
    dues = [row["Due on"] for row in rows]
    assert dues == sorted(dues)
    planned = [row for row in rows if row["Number"] == world["planned"].number]
    assert [(r["Task"], r["Milestone"], r["Due on"], r["Owner"], r["Status"]) for r in planned] == [
        ("Milestone due", "办理用地手续", datetime(2026, 6, 16), department.name, "Overdue"),
        ("Feedback by", None, datetime(2026, 6, 22), "张伟", "To do"),
        ("Milestone due", "完成规划调整", datetime(2026, 6, 30), department.name, "To do"),
    ]
    by_number = {row["Number"]: row for row in rows if row["Task"] != "Milestone due"}
    assert by_number[world["assigned"].number]["Task"] == "Sign by"
    assert by_number[world["accepted"].number]["Task"] == "Respond by"
    extension = [row for row in rows if row["Number"] == world["extension"].number]
    assert {row["Task"] for row in extension} == {"Respond by", "Decide the extension by"}
    assert "张伟" in next(r["Owner"] for r in extension if r["Task"] == "Decide the extension by")
    assert world["closed"].number not in by_number and world["registered"].number not in by_number


def test_headers_in_chinese_by_default_and_english_when_switched(client, auth, officer, world) -> None:
    auth.login(officer)
    response = client.get("/demands/export/ledger.xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet["A1"].value == "编号" and sheet["F1"].value == "企业"
    assert response.headers["Content-Disposition"].endswith("-2026-06-17.xlsx")
    english(client)
    response = client.get("/demands/export/ledger.xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet["A1"].value == "Number" and sheet["F1"].value == "Company"
    assert sheet.title == "Demand ledger"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"Demand ledger-2026-06-17.xlsx\"; "
        "filename*=UTF-8''Demand%20ledger-2026-06-17.xlsx")


@pytest.mark.parametrize("name", EXPORTS)
def test_a_frozen_bold_header_widths_and_real_dates(client, auth, officer, world, name) -> None:
    auth.login(officer)
    sheet = sheet_of(client, f"/demands/export/{name}.xlsx")
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.b for cell in sheet[1])
    assert all(sheet.column_dimensions[cell.column_letter].width >= 6 for cell in sheet[1])
    dated = [cell for row in sheet.iter_rows(min_row=2) for cell in row if cell.is_date]
    assert dated and all(cell.number_format in ("yyyy-mm-dd", "yyyy-mm-dd hh:mm") for cell in dated)


def test_text_that_looks_like_a_formula_stays_text(client, auth, officer, world) -> None:
    english(client)
    auth.login(officer)
    response = client.get("/demands/export/ledger.xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    row = next(r for r in records(sheet) if r["Number"] == world["formula"].number)
    assert row["Title"] == "=HYPERLINK(\"http://example.com\",\"点此\")"
    assert row["Description"] == "+1+2" and row["Contact person"] == "@SUM(A1)"
    assert row["Contact phone"] == "-3"
    assert all(cell.data_type != "f" for r in sheet.iter_rows() for cell in r)
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()


def test_the_list_page_links_to_the_exports_with_its_query(client, auth, officer, world) -> None:
    auth.login(officer)
    _page, html = page_of(client, "/demands/?state=assigned&state=accepted&q=用地&page=1")
    query = "state=assigned&amp;state=accepted&amp;q=" + quote("用地")
    for name in EXPORTS:
        assert f'href="/demands/export/{name}.xlsx?{query}"' in html


def test_exports_need_signing_in(client) -> None:
    for name in EXPORTS:
        assert client.get(f"/demands/export/{name}.xlsx").status_code == 302


# A fixed number of SQL statements

@pytest.fixture
def bulk(app, company, department, other_department, officer, handler, leader, calendar_2026, freeze_clock):
    freeze_clock(WEDNESDAY)
    category = db.session.scalars(select(Category).order_by(Category.position)).first()
    made = [0]

    def add(n: int) -> None:
        bulk_demands(n, company=company, category=category, department=department,
                     other_department=other_department, officer=officer, handler=handler, start=made[0])
        made[0] += n

    return add


def _export_statements(client, count_queries, url: str) -> tuple[int, int]:
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200
    return counter.count, load_workbook(io.BytesIO(response.data)).active.max_row - 1


@pytest.mark.parametrize("name", EXPORTS)
def test_exports_run_a_fixed_number_of_queries(client, auth, officer, handler, bulk, count_queries,
                                               name) -> None:
    bulk(10)
    url = f"/demands/export/{name}.xlsx?q=用地&sort=due"
    few = {}
    for user in (officer, handler):
        auth.login(user)
        few[user.username] = _export_statements(client, count_queries, url)
        auth.logout()
    bulk(30)
    for user in (officer, handler):
        auth.login(user)
        statements, rows = _export_statements(client, count_queries, url)
        assert statements == few[user.username][0], user.username
        assert rows > few[user.username][1] > 0
        assert statements <= 12
        auth.logout()


# The pieces

def test_working_day_count_agrees_with_the_calendar(app, calendar_2026) -> None:
    calendar = working_calendar()
    count = WorkingDayCount(calendar, date(2026, 1, 1), date(2026, 12, 31))
    for start, end in ((date(2026, 9, 30), date(2026, 10, 9)), (date(2026, 2, 13), date(2026, 2, 24)),
                       (date(2026, 1, 1), date(2026, 1, 1)), (date(2025, 12, 30), date(2026, 1, 5))):
        assert count.between(start, end) == working_calendar().working_days_between(start, end)
        serials = ((start - EXCEL_DAY_0.date()).days, (end - EXCEL_DAY_0.date()).days)
        assert count.between_serials(*serials) == count.between(start, end)


def test_content_disposition_has_an_ascii_fallback() -> None:
    header = content_disposition("诉求台账-2026-11-25.xlsx")
    assert header == ("attachment; filename=\"2026-11-25.xlsx\"; "
                      "filename*=UTF-8''%E8%AF%89%E6%B1%82%E5%8F%B0%E8%B4%A6-2026-11-25.xlsx")
    assert content_disposition('a"b\\c.xlsx').startswith('attachment; filename="a_b_c.xlsx";')


def test_a_workbook_streams_in_chunks_and_reads_its_rows_lazily(app) -> None:
    read = []

    def rows():
        for number in range(3000):
            read.append(number)
            yield [hashlib.sha256(str(number).encode()).hexdigest(), number, 0.25, None]

    columns = [Column("Text", 40), Column("N", 6, "integer"), Column("Rate", 8, "percent"),
               Column("Day", 11, "date")]
    with app.test_request_context():
        response = xlsx_response("测试.xlsx", "测试", columns, rows())
    assert len(read) == 3000
    chunks = list(response.response)
    response.close()
    assert len(chunks) > 1 and int(response.headers["Content-Length"]) == sum(map(len, chunks))
    sheet = load_workbook(io.BytesIO(b"".join(chunks))).active
    assert sheet.max_row == 3001 and sheet["C2"].number_format == "0.0%" and sheet["B3"].value == 1


def test_control_characters_pasted_in_are_dropped(app) -> None:
    with app.test_request_context():
        response = xlsx_response("x.xlsx", "x", [Column("Text", 10)], iter([["a\x01b\x1fc"]]))
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert sheet["A2"].value == "abc"


def test_a_user_who_sees_no_demand_exports_none(client, auth, admin_user, world) -> None:
    auth.login(admin_user)
    assert records(sheet_of(client, "/demands/export/ledger.xlsx")) == []
