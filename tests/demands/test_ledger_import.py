"""Importing the old ledger: columns mapped once per shape of file, every row checked, nothing
written before the officer confirms, and nothing created twice."""

from __future__ import annotations

import html
import io
import re
import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from servicedesk import spreadsheets
from servicedesk.companies.operations import register_company
from servicedesk.demands import ledger_import
from servicedesk.demo import COMPANIES, DEPARTMENTS
from servicedesk.domain.workdays import ZONE
from servicedesk.extensions import db
from servicedesk.models import AuditEvent, Demand, DemandEvent, Department, ImportMapping, Role

SAMPLES = Path(__file__).parents[2] / ".." / "shared" / "samples"
LEDGER = SAMPLES / "ledger-2026.xlsx"
#: the sample's header row (row 2, under a merged title row)
HEADER = ["序号", "企业名称", "统一社会信用代码", "提出时间", "诉求来源", "诉求类别", "诉求内容", "牵头单位",
          "配合单位", "办理状态", "办理情况", "企业满意度"]
#: how the sample's columns map to the desk's fields (all recognised by their usual names)
SAMPLE_COLUMNS = {
    "company_name": "企业名称", "credit_code": "统一社会信用代码", "raised_on": "提出时间",
    "source": "诉求来源", "category": "诉求类别", "description": "诉求内容", "lead_department": "牵头单位",
    "co_departments": "配合单位", "state": "办理状态", "response": "办理情况", "feedback": "企业满意度",
}
#: rows of the sample (№ 27, 52 and 59) filed under 生态环保, which is no category of the desk
SAMPLE_REFUSED = {29, 54, 61}
NOW = "2026-06-15T10:00:00+08:00"
WANBANG = "913203052MACL12THK"
YUNFAN = "913203024MAD4H3J9X"
#: a valid code no company of the zone has
UNREGISTERED = "91320311MA1ABC123D"


@pytest.fixture
def ledger() -> bytes:
    if not LEDGER.is_file():
        pytest.skip(f"the zone's sample ledger is not at {LEDGER.resolve()}")
    return LEDGER.read_bytes()


@pytest.fixture
def import_folder(app: Any) -> Iterator[Path]:
    """Where uploads wait for confirmation; emptied after the test (the instance is per session)."""
    folder = Path(app.instance_path) / "uploads" / "imports"
    shutil.rmtree(folder, ignore_errors=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def zone(make_department: Any, calendar_2026: None, freeze_clock: Any) -> dict[str, Any]:
    """The demo's departments and companies (those the sample ledger names), on 15 June 2026."""
    freeze_clock(NOW)
    departments = {d.name: d for d in db.session.scalars(select(Department))}  # a handler's, say
    departments.update((name, make_department(name, short)) for name, short in DEPARTMENTS
                       if name not in departments)
    for company in COMPANIES:
        register_company(company["credit_code"], {k: v for k, v in company.items() if k != "credit_code"})
    db.session.commit()
    return departments


@pytest.fixture
def importer(client: Any, auth: Any, officer: Any, zone: Any, import_folder: Path) -> Any:
    auth.login(officer)
    client.post("/language", data={"locale": "en", "next": "/"})
    return officer


def workbook(*rows: list[Any], title: str = "诉求台账") -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def sample_rows() -> list[list[Any]]:
    if not LEDGER.is_file():
        pytest.skip(f"the zone's sample ledger is not at {LEDGER.resolve()}")
    sheet = load_workbook(LEDGER, read_only=True).active
    return [list(row) for row in sheet.iter_rows(min_row=3, values_only=True)]


def ledger_of(rows: list[list[Any]]) -> bytes:
    """A ledger shaped as the sample: the title row, the header, the rows."""
    return workbook(["经开区2026年企业诉求办理台账"], HEADER, *rows)


def row(company: str = "江苏万邦生化医药集团有限责任公司", code: str = WANBANG,
        raised: Any = datetime(2026, 5, 6), source: str = "走访", category: str = "土地规划",
        description: str = "新建生产线需新增工业用地约50亩，请协调用地指标",
        lead: str | None = "自然资源和规划分局", co: str | None = "经济发展局", state: str = "办理中",
        response: str | None = "已协调", feedback: str | None = None, number: int = 1) -> list[Any]:
    return [number, company, code, raised, source, category, description, lead, co, state, response,
            feedback]


def text_of(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def upload(client: Any, data: bytes, name: str = "ledger-2026.xlsx") -> Any:
    return client.post("/demands/import", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def token_of(response: Any) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    match = re.search(r"/demands/import/([A-Za-z0-9_-]{24})$", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def map_columns(client: Any, token: str, columns: dict[str, str] | None = None) -> Any:
    page = client.get(f"/demands/import/{token}")
    assert page.status_code == 302 and page.headers["Location"].endswith(f"/{token}/columns")
    data = {name: "" for name in ledger_import.FIELDS}
    data.update(columns or SAMPLE_COLUMNS)
    return client.post(f"/demands/import/{token}/columns", data=data)


def report(client: Any, token: str) -> str:
    response = client.get(f"/demands/import/{token}")
    assert response.status_code == 200, response.headers.get("Location")
    return text_of(response)


def count(page: str, name: str) -> int:
    match = re.search(rf'id="count-{name}">(\d+)<', page)
    assert match, name
    return int(match.group(1))


def digest_of(page: str) -> str:
    match = re.search(r'name="digest" type="hidden" value="([0-9a-f]{64})"', page)
    assert match, "no confirmation form"
    return match.group(1)


def confirm(client: Any, token: str, page: str) -> Any:
    return client.post(f"/demands/import/{token}/confirm", data={"digest": digest_of(page)})


def refused_rows(page: str) -> dict[int, str]:
    table = re.search(r'<table[^>]*id="refused".*?</table>', page, re.S)
    if table is None:
        return {}
    return {int(number): reasons for number, reasons in
            re.findall(r'<tr data-row="(\d+)">.*?class="small reasons">(.*?)</td>', table.group(0), re.S)}


def demand_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Demand))


def imported(client: Any, data: bytes, name: str = "ledger-2026.xlsx") -> tuple[str, str]:
    """Upload, map the columns if asked, and return the token and the report."""
    token = token_of(upload(client, data, name))
    if client.get(f"/demands/import/{token}").status_code == 302:
        map_columns(client, token)
    return token, report(client, token)


# The sample ledger, as it is

def test_the_sample_ledger_is_reported_then_imported_on_confirmation(client, importer, ledger,
                                                                     import_folder) -> None:
    token = token_of(upload(client, ledger))
    columns = text_of(client.get(f"/demands/import/{token}/columns"))
    assert 'id="mapping-guessed"' in columns
    for name, header in SAMPLE_COLUMNS.items():  # every column recognised by its usual name
        select_html = re.search(rf'<select[^>]*name="{name}".*?</select>', columns, re.S).group(0)
        assert re.search(rf'<option selected value="{header}">', select_html), name
    assert 'name="title"' in columns
    preview = re.search(r'<table[^>]*id="preview".*?</table>', columns, re.S).group(0)
    assert preview.count("<tr>") == 4 and "研发人员子女入学难" in preview  # the header and 3 rows

    saved = map_columns(client, token)
    assert saved.headers["Location"].endswith(f"/demands/import/{token}")
    page = report(client, token)
    assert demand_count() == 0  # nothing but the mapping before confirming
    assert (count(page, "rows"), count(page, "create"), count(page, "refused"), count(page, "skipped")) \
        == (60, 57, 3, 0)
    assert "sheet “诉求台账”, header in row 2" in page
    assert "序号" in page  # among the columns ignored
    refused = refused_rows(page)
    assert set(refused) == SAMPLE_REFUSED
    assert all("Category “生态环保” is not one of the desk's" in reasons for reasons in refused.values())
    assert "and 7 more rows" in page  # 57 to create, the first 50 shown
    assert 'id="note-closed"' in page

    response = confirm(client, token, page)
    assert response.status_code == 302 and response.headers["Location"].endswith("/demands/")
    assert "Import finished. Demands created: 57; rows already imported: 0; rows refused: 3." \
        in text_of(client.get("/demands/"))
    assert list(import_folder.glob(f"{token}.*")) == []

    demands = list(db.session.scalars(select(Demand).order_by(Demand.number)))
    assert len(demands) == 57
    assert [d.number for d in demands] == [f"2026-{n:04d}" for n in range(1, 58)]
    assert [d.created_at for d in demands] == sorted(d.created_at for d in demands)
    first = demands[0]  # № 44, sheet row 46: the earliest raised, 9 March
    assert first.created_at == datetime(2026, 3, 9, tzinfo=ZONE)
    events = list(db.session.scalars(select(DemandEvent).order_by(DemandEvent.id)))
    assert len(events) == 57 and {e.action for e in events} == {"imported"}
    assert {e.actor_id for e in events} == {importer.id} and {e.actor_role for e in events} == {"officer"}
    by_demand = {e.demand_id: e for e in events}
    assert by_demand[first.id].details["row"] == 46
    assert by_demand[first.id].details["file"] == "ledger-2026.xlsx"
    # in the desk's language (Chinese), whoever imported it
    assert "46" in by_demand[first.id].text and "ledger-2026.xlsx" in by_demand[first.id].text
    assert sorted(e.details["row"] for e in events) == sorted(set(range(3, 63)) - SAMPLE_REFUSED)
    assert len({d.import_key for d in demands}) == 57
    # found by the keyword search like any demand
    flats = sum(1 for cells in sample_rows() if "人才公寓" in cells[6] and cells[5] != "生态环保")
    listed = client.get("/demands/?q=人才公寓").get_data(as_text=True)
    assert f'data-total="{flats}"' in listed and flats == 7


def test_states_departments_and_deadlines_of_imported_demands(client, importer, ledger, zone) -> None:
    token, page = imported(client, ledger)
    confirm(client, token, page)
    demands = {e.details["row"]: e.demand for e in db.session.scalars(select(DemandEvent))}
    states = {}
    for demand in demands.values():
        states[demand.state] = states.get(demand.state, 0) + 1
    assert states == {"registered": 11, "accepted": 19, "responded": 8, "closed": 19}

    registered = demands[7]  # sheet row 7 is the sample's № 5: 未交办
    assert registered.state == "registered" and registered.lead_department is None
    assert registered.co_departments == [] and registered.current_due is None
    assert registered.dispatched_by_id is None and registered.created_by_id == importer.id
    event = registered.events[0]
    assert event.details["lead_department"] == "住房和城乡建设局"  # kept for the dispatch
    assert event.details["co_departments"] == ["人力资源和社会保障局"] and event.details["state"] == "未交办"
    assert event.to_state == "registered"

    accepted = demands[4]  # № 2: 办理中, 科技局 with 财政局
    assert accepted.state == "accepted" and accepted.lead_department.name == "科技局"
    assert [d.name for d in accepted.co_departments] == ["财政局"]
    assert accepted.dispatched_at is None and accepted.signed_at is None and accepted.sign_due is None
    assert accepted.dispatched_by_id == importer.id  # chased for the feedback, may decide extensions
    # 10 working days of a normal demand, counted from the import day, Monday 15 June (端午 on the 19th)
    assert (accepted.respond_from, accepted.respond_days, accepted.respond_due) \
        == (date(2026, 6, 15), 10, date(2026, 6, 30))
    assert (accepted.current_step, accepted.current_due) == ("respond", date(2026, 6, 30))
    assert accepted.urgency == "normal" and accepted.source == "visit"
    assert accepted.response_text == "已协调" and accepted.outcome is None

    responded = demands[3]  # № 1: 已答复
    assert responded.state == "responded" and responded.responded_at is None
    assert (responded.feedback_from, responded.feedback_due) == (date(2026, 6, 15), date(2026, 6, 18))
    assert (responded.current_step, responded.current_due) == ("feedback", date(2026, 6, 18))
    assert responded.response_text == "正在推进" and responded.source == "online"

    satisfied = demands[57]  # № 55: 已办结, 满意
    assert (satisfied.state, satisfied.feedback, satisfied.close_reason) \
        == ("closed", "satisfied", "satisfied")
    assert satisfied.closed_at is None and satisfied.current_due is None
    basically = demands[11]  # № 9: 已办结, 基本满意
    assert (basically.feedback, basically.close_reason) == ("basically_satisfied", "basically_satisfied")
    unsatisfied = demands[6]  # № 4: 已办结, 不满意
    assert (unsatisfied.state, unsatisfied.feedback, unsatisfied.close_reason) \
        == ("closed", "unsatisfied", None)
    silent = demands[10]  # № 8: 已办结 without feedback
    assert (silent.feedback, silent.close_reason) == (None, None)
    assert demands[10].source == "hotline" and demands[5].source == "symposium"  # 12345热线, 座谈会
    assert demands[8].source == "letter"  # 来信


def test_the_demand_page_shows_where_it_came_from(client, importer, ledger) -> None:
    token, page = imported(client, ledger)
    confirm(client, token, page)
    event = db.session.scalar(select(DemandEvent).where(DemandEvent.details["row"].as_integer() == 7))
    page = text_of(client.get(f"/demands/{event.demand_id}"))
    timeline = re.search(r'<li class="timeline-event"[^>]*data-action="imported".*?</li>\s*</ol>', page, re.S)
    assert timeline, "no imported event on the timeline"
    assert "Imported from the old ledger" in timeline.group(0)
    assert "ledger-2026.xlsx" in timeline.group(0)  # in the event's text
    assert "State in the ledger: 未交办" in timeline.group(0)
    assert "Lead department in the ledger: 住房和城乡建设局" in timeline.group(0)
    assert "申请人才公寓30套" in page


def test_importing_the_same_file_twice_creates_nothing_the_second_time(client, importer, ledger) -> None:
    token, page = imported(client, ledger)
    confirm(client, token, page)
    assert demand_count() == 57

    token, page = imported(client, ledger)
    assert (count(page, "create"), count(page, "refused"), count(page, "skipped")) == (0, 3, 57)
    assert 'id="confirm-import"' not in page and 'id="nothing-to-import"' in page
    assert "Row 46: demand 2026-0" in page
    client.post(f"/demands/import/{token}/confirm", data={"digest": "0" * 64})
    assert demand_count() == 57


def test_a_resorted_or_retyped_ledger_is_recognised_as_imported(client, importer, ledger) -> None:
    token, page = imported(client, ledger)
    confirm(client, token, page)
    rows = sample_rows()[::-1]  # sorted otherwise, numbered otherwise
    for number, cells in enumerate(rows, start=1):
        cells[0] = number
        cells[3] = cells[3].strftime("%Y年%-m月%-d日")  # typed as text
        cells[4] = {"12345热线": "热线", "座谈会": "座谈"}.get(cells[4], cells[4])
        cells[7] = {"经济发展局": "经发局"}.get(cells[7], cells[7])  # by its short name
    token, page = imported(client, ledger_of(rows), "resorted.xlsx")
    assert (count(page, "create"), count(page, "skipped")) == (0, 57)


def test_a_repeated_row_is_refused_and_the_first_imported(client, importer) -> None:
    first = row(number=1)
    again = row(number=2, source="走访 ")  # the same row typed again
    _token, page = imported(client, ledger_of([first, again]))
    assert count(page, "create") == 1
    assert "This row repeats row 3." in refused_rows(page)[4]


# The column mapping

def test_the_mapping_is_remembered_for_files_with_the_same_header(client, importer, ledger) -> None:
    token = token_of(upload(client, ledger))
    map_columns(client, token)
    mapping = db.session.scalar(select(ImportMapping))
    assert mapping.columns == SAMPLE_COLUMNS and mapping.updated_by_id == importer.id
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "import_mapping.saved"))
    assert audit.details["columns"] == SAMPLE_COLUMNS and audit.details["file"] == "ledger-2026.xlsx"
    client.post(f"/demands/import/{token}/cancel")

    # the same shape again: straight to the report, with a way to change the mapping
    token = token_of(upload(client, ledger_of([row()]), "another.xlsx"))
    page = report(client, token)
    assert count(page, "create") == 1
    assert f'href="/demands/import/{token}/columns" id="change-columns"' in page
    columns = text_of(client.get(f"/demands/import/{token}/columns"))
    assert 'id="mapping-remembered"' in columns

    # changing it: the response column left out
    changed = {**SAMPLE_COLUMNS}
    del changed["response"]
    data = {name: changed.get(name, "") for name in ledger_import.FIELDS}
    client.post(f"/demands/import/{token}/columns", data=data)
    db.session.expire_all()
    assert db.session.scalar(select(ImportMapping)).columns == changed
    assert db.session.scalar(select(func.count()).select_from(ImportMapping)) == 1
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "import_mapping.saved")) == 2
    assert "办理情况" in report(client, token)  # now among the columns ignored


def test_a_ledger_with_other_headers_is_mapped_on_screen(client, importer) -> None:
    data = workbook(
        ["2025年服务企业问题清单"],
        ["编号", "单位", "代码", "反映日期", "反映方式", "问题类型", "问题", "主办", "协办", "当前进度",
         "答复", "回访结果", "备注"],
        [1, "万邦医药", WANBANG, "2026/5/6", "热线", "审批", "临床试验批件审批进度较慢", "审批局",
         "科技局、财政局", "已交办", "", "", "见附件"],
    )
    token = token_of(upload(client, data, "问题清单.xlsx"))
    columns = text_of(client.get(f"/demands/import/{token}/columns"))
    assert 'id="mapping-guessed"' in columns
    assert 'option selected value="代码"' not in columns  # not a usual name: nothing guessed

    # required fields left out, a column chosen twice
    refused = client.post(f"/demands/import/{token}/columns", data={
        **{name: "" for name in ledger_import.FIELDS}, "credit_code": "代码", "raised_on": "代码"})
    assert refused.status_code == 200
    page = text_of(refused)
    assert "“代码” is already chosen for Credit code" in page
    assert page.count("Choose the column that holds this.") == 3  # category, description, state
    assert db.session.scalar(select(func.count()).select_from(ImportMapping)) == 0

    chosen = {"company_name": "单位", "credit_code": "代码", "raised_on": "反映日期", "source": "反映方式",
              "category": "问题类型", "title": "", "description": "问题", "lead_department": "主办",
              "co_departments": "协办", "state": "当前进度", "response": "答复", "feedback": "回访结果"}
    response = client.post(f"/demands/import/{token}/columns", data=chosen)
    assert response.headers["Location"].endswith(f"/demands/import/{token}")
    page = report(client, token)
    assert (count(page, "create"), count(page, "refused")) == (1, 0)
    assert "备注" in page and "编号" in page  # ignored
    confirm(client, token, page)
    demand = db.session.scalar(select(Demand))
    assert demand.state == "assigned" and demand.lead_department.short_name == "审批局"
    assert sorted(d.short_name for d in demand.co_departments) == ["科技局", "财政局"]
    # assigned: sign within 1 working day and respond within 10, both from the import day
    assert (demand.sign_due, demand.respond_due) == (date(2026, 6, 16), date(2026, 6, 30))
    assert (demand.current_step, demand.current_due) == ("sign", date(2026, 6, 16))
    assert demand.source == "hotline" and demand.title == "临床试验批件审批进度较慢"
    assert demand.created_at == datetime(2026, 5, 6, tzinfo=ZONE)


def test_a_csv_ledger_in_gbk_is_read(client, importer) -> None:
    lines = [",".join(HEADER), "1,江苏万邦生化医药集团有限责任公司,913203052MACL12THK,2026-05-06,网上,"
             "政策咨询,咨询高新技术企业认定政策,科技局,,已答复,已答复企业,"]
    _token, page = imported(client, "\r\n".join(lines).encode("gb18030"), "台账.csv")
    assert (count(page, "rows"), count(page, "create")) == (1, 1)


# What each row is refused for, all reasons at once

def test_every_reason_a_row_is_refused_for(client, importer, zone) -> None:
    rows = [
        row(number=1),  # row 3: valid
        row(number=2, code=""),  # 4
        row(number=3, code="913203052MACL12THL"),  # 5: check character
        row(number=4, code="913203052MACL12TH"),  # 6: 17 characters
        row(number=5, raised=None),  # 7
        row(number=6, raised="5月6日"),  # 8
        row(number=7, raised="2026-07-01"),  # 9: after today
        row(number=8, source="微信"),  # 10
        row(number=9, category="生态环保"),  # 11
        row(number=10, lead="招商局"),  # 12
        row(number=11, co="经济发展局、宣传部"),  # 13
        row(number=12, lead=None, co=None),  # 14: 办理中 without a lead department
        row(number=13, state="已归档"),  # 15
        row(number=14, feedback="一般"),  # 16
        row(number=15, description=None),  # 17
        row(number=16, state=None),  # 18
        row(number=17, code=YUNFAN, company="云帆物流", source="网上", raised="2026/4/1"),  # 19: short name
        row(number=18, company="徐州某某科技有限公司", code=UNREGISTERED, category="其他",
            raised="2026/4/2"),  # 20: registered nowhere (valid code)
        row(number=19, raised="2026-02-30", source="火星", category="", lead="", state="已交办",
            feedback="很好"),  # 21: five at once
        row(number=20, lead=None, co=None, state="未交办", raised="2026-04-03"),  # 22: valid
    ]
    _token, page = imported(client, ledger_of(rows))
    refused = refused_rows(page)
    assert set(refused) == {4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 21}
    assert "The credit code is missing." in refused[4]
    assert "The check character (the 18th) is 'L' but the first 17 characters call for 'K'" in refused[5]
    assert "The credit code must have 18 characters; this one has 17." in refused[6]
    assert "The date raised is missing." in refused[7]
    assert "“5月6日” is not a date" in refused[8]
    assert "The date raised, 2026-07-01, must lie between 2000-01-01 and today." in refused[9]
    assert ("Source “微信” is not known to the desk: write one of 走访、座谈会、调研、12345热线、来信、网上、"
            "其他.") in refused[10]
    assert ("Category “生态环保” is not one of the desk's: write one of 土地规划、人才与子女入学"
            ) in refused[11]
    assert "Lead department “招商局” is not a department of the desk" in refused[12]
    assert "Co-department “宣传部” is not a department of the desk" in refused[13]
    assert "The lead department is missing: a demand that has been dispatched has one." in refused[14]
    assert ("State “已归档” is not known to the desk: write one of 未交办、已交办、办理中、已答复、"
            "已办结.") in refused[15]
    assert "Feedback “一般” is not known to the desk: write one of 满意、基本满意、不满意." in refused[16]
    assert "The description is missing." in refused[17]
    assert "The state is missing." in refused[18]
    assert f"No company is registered with the credit code {UNREGISTERED}" in refused[20]
    reasons = refused[21]
    for reason in ("“2026-02-30” is not a date", "Source “火星”", "The category is missing.",
                   "The lead department is missing", "Feedback “很好”"):
        assert reason in reasons, reason
    assert reasons.count("<li>") == 5

    assert count(page, "create") == 3  # rows 3, 19 and 22
    assert "The ledger names the company" not in page  # 云帆物流 is its short name
    assert demand_count() == 0


def test_a_company_name_that_is_neither_its_name_nor_short_name_is_a_warning(client, importer) -> None:
    rows = [row(company="万邦制药厂"), row(company="万邦医药", number=2, raised="2026-05-07"),
            row(company="江苏万邦生化医药集团有限责任公司 ", number=3, raised="2026-05-08")]
    token, page = imported(client, ledger_of(rows))
    assert (count(page, "create"), count(page, "refused")) == (3, 0)
    warnings = re.findall(r'<div class="small text-warning-emphasis warning">(.*?)</div>', page)
    assert warnings == ["The ledger names the company “万邦制药厂”; the credit code is registered to "
                        "“江苏万邦生化医药集团有限责任公司”, which the demand will belong to."]
    confirm(client, token, page)
    assert {d.company.credit_code for d in db.session.scalars(select(Demand))} == {WANBANG}


def test_the_report_changes_nothing(client, importer, ledger, count_queries) -> None:
    token, _page = imported(client, ledger)
    counts = [db.session.scalar(select(func.count()).select_from(model))
              for model in (Demand, DemandEvent, ImportMapping, AuditEvent)]
    with count_queries() as counter:
        report(client, token)
    writes = [s for s in counter.statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == []
    assert counts == [db.session.scalar(select(func.count()).select_from(model))
                      for model in (Demand, DemandEvent, ImportMapping, AuditEvent)]


def test_the_report_runs_a_fixed_number_of_queries(client, importer, count_queries) -> None:
    rows = sample_rows()
    counts = []
    for size in (5, 60):
        token, _page = imported(client, ledger_of(rows[:size]), f"{size}.xlsx")
        report(client, token)  # warm up
        with count_queries() as counter:
            page = report(client, token)
        assert count(page, "rows") == size
        counts.append(counter.count)
    assert counts[0] == counts[1], counts
    assert counts[1] <= 10


# Who may import, and what a stale or forged request gets

@pytest.mark.parametrize("role", ["handler", "leader", "admin"])
def test_only_officers_import(client, auth, role, handler, leader, admin_user, officer, ledger,
                              import_folder, zone) -> None:
    auth.login(officer)
    token = token_of(upload(client, ledger))
    auth.logout()
    auth.login({"handler": handler, "leader": leader, "admin": admin_user}[role])
    assert client.get("/demands/import").status_code == 403
    assert upload(client, ledger).status_code == 403
    for url in (f"/demands/import/{token}", f"/demands/import/{token}/columns"):
        assert client.get(url).status_code == 403
    for url in (f"/demands/import/{token}/columns", f"/demands/import/{token}/confirm",
                f"/demands/import/{token}/cancel"):
        assert client.post(url, data={"digest": "0" * 64}).status_code == 403
    assert 'id="import-ledger"' not in client.get("/demands/").get_data(as_text=True)
    assert len(list(import_folder.glob("*.data"))) == 1  # the officer's upload is untouched


def test_the_list_links_the_import_for_officers(client, importer) -> None:
    page = client.get("/demands/").get_data(as_text=True)
    assert 'id="import-ledger" href="/demands/import"' in page
    assert client.get("/demands/import").status_code == 200


def test_a_confirmation_without_its_csrf_token_is_refused(client, importer, ledger) -> None:
    token, page = imported(client, ledger)
    response = client.post(f"/demands/import/{token}/confirm", data={"digest": digest_of(page)}, csrf=False)
    assert response.status_code == 400
    assert client.post(f"/demands/import/{token}/cancel", csrf=False).status_code == 400
    assert demand_count() == 0


def test_a_spent_or_unknown_token_leads_back_to_the_upload(client, importer, ledger) -> None:
    token, page = imported(client, ledger)
    confirm(client, token, page)
    again = confirm(client, token, page)
    assert again.headers["Location"].endswith("/demands/import")
    assert "This upload is no longer available" in text_of(client.get("/demands/import"))
    for url in ("/demands/import/AAAAAAAAAAAAAAAAAAAAAAAA", "/demands/import/../../etc/passwd"):
        assert client.get(url).status_code in (302, 404)
    assert demand_count() == 57


def test_another_officers_upload_cannot_be_opened(client, auth, importer, make_user, ledger) -> None:
    token, page = imported(client, ledger)
    auth.logout()
    auth.login(make_user(Role.OFFICER, username="liuyang"))
    assert client.get(f"/demands/import/{token}").headers["Location"].endswith("/demands/import")
    confirm(client, token, page)
    assert demand_count() == 0


def test_the_confirmation_is_refused_when_the_check_changed_since_the_report(client, importer) -> None:
    rows = [row(), row(number=2, code=UNREGISTERED, raised="2026-04-02")]
    token, page = imported(client, ledger_of(rows))
    assert (count(page, "create"), count(page, "refused")) == (1, 1)
    register_company(UNREGISTERED, {"name": "徐州某某科技有限公司"})  # registered meanwhile
    db.session.commit()
    response = confirm(client, token, page)
    assert response.headers["Location"].endswith(f"/demands/import/{token}")
    assert demand_count() == 0
    page = report(client, token)
    assert "the check now gives another result than the report you confirmed" in page
    assert count(page, "create") == 2
    confirm(client, token, page)
    assert demand_count() == 2


def test_cancelling_discards_the_upload(client, importer, ledger, import_folder) -> None:
    token, _page = imported(client, ledger)
    assert client.post(f"/demands/import/{token}/cancel").status_code == 302
    assert list(import_folder.glob("*")) == []
    assert demand_count() == 0


def test_a_file_that_is_not_a_ledger_is_refused_at_once(client, importer, import_folder) -> None:
    response = upload(client, b"\xd0\xcf\x11\xe0 an old xls", "ledger.xls")
    assert response.status_code == 200
    assert "Only CSV files and Excel workbooks (.xlsx) can be imported." in text_of(response)
    response = upload(client, workbook(["经开区2026年企业诉求办理台账"]), "empty.xlsx")
    assert "No header row found" in text_of(response)
    assert list(import_folder.glob("*")) == []


# The pieces

def test_a_title_is_the_start_of_the_description() -> None:
    short = "新车间用电容量不足，申请增容至5000千伏安"
    assert ledger_import.title_from(short) == short
    long = ("企业二期扩产项目需新增工业用地约五十亩，希望尽快协调用地指标并明确供地时间，"
            "以便项目按期开工建设投产达效")
    title = ledger_import.title_from(long)
    assert title == "企业二期扩产项目需新增工业用地约五十亩，希望尽快协调用地指标并明确供地时间…"
    assert len(title) <= ledger_import.TITLE_LENGTH + 1
    assert ledger_import.title_from("\n  第一行\n第二行") == "第一行"
    unbroken = "甲" * 60
    assert ledger_import.title_from(unbroken) == "甲" * 40 + "…"


@pytest.mark.parametrize(("text", "day"), [
    ("2026-05-14", date(2026, 5, 14)), ("2026-05-14T10:30:00", date(2026, 5, 14)),
    ("2026/5/14", date(2026, 5, 14)), ("2026年5月14日", date(2026, 5, 14)),
    ("2026年5月14日 14:30", date(2026, 5, 14)), ("2026.5.14", date(2026, 5, 14)),
    ("5月14日", None), ("2026-02-30", None), ("明天", None),
])
def test_dates_raised(app, text, day) -> None:
    assert ledger_import.parse_day(text) == day


def test_the_header_row_is_found_whatever_its_columns_are_called(app) -> None:
    data = workbook(["问题清单"], [], ["编号", "单位", "代码"], [1, "某企业", WANBANG])
    header = ledger_import.read_header(data)
    assert (header.title, header.number, header.headers) == ("诉求台账", 3, ("编号", "单位", "代码"))
    ledger = workbook(["台账"], ["说明", None], [*HEADER, None, None], row())
    header = ledger_import.read_header(ledger)
    assert header.number == 3 and header.headers == tuple(HEADER)  # the row naming most fields
    assert ledger_import.guess_columns(header) == SAMPLE_COLUMNS
    with pytest.raises(spreadsheets.ImportFileError):
        ledger_import.read_header(workbook(["台账"], ["只有一格"]))


def test_the_ledger_is_looked_for_past_a_sheet_of_instructions(app) -> None:
    book = Workbook()
    book.active.title = "填表说明"
    book.active.append(["说明", "请按要求填写"])
    ledger = book.create_sheet("诉求台账")
    for cells in (["经开区2026年企业诉求办理台账"], HEADER, row()):
        ledger.append(cells)
    output = io.BytesIO()
    book.save(output)
    header = ledger_import.read_header(output.getvalue())
    assert (header.title, header.number) == ("诉求台账", 2)
    sheet = ledger_import.read_rows(output.getvalue(), SAMPLE_COLUMNS)
    assert sheet.title == "诉求台账" and [r.number for r in sheet.rows] == [3]


def test_the_signature_is_the_header_row_as_written(app) -> None:
    one = spreadsheets.HeaderRow("诉求台账", 2, tuple(HEADER))
    assert ledger_import.signature(one) == ledger_import.signature(spreadsheets.HeaderRow("Sheet1", 1,
                                                                                          tuple(HEADER)))
    other = spreadsheets.HeaderRow("诉求台账", 2, (*HEADER, "备注"))
    assert ledger_import.signature(one) != ledger_import.signature(other)
    assert len(ledger_import.signature(one)) == 64
