"""Demands in Chromium: a symposium logged with three demands, one dispatched and signed for; the
duplicate check of a demand logged on its own.

Data fixtures come before `page`/`live_server` in each signature: the live server waits for the
test's own database session to let go, which it does once the data is made. They hand plain values
(ids, numbers) to the test, not the ORM objects, which that session has let go of. The `page` fixture
fails a test on any console error, so these pages also prove they need no inline script. The UI is
Chinese: the assertions read ids, data-* attributes, dates and URLs, not wording.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from servicedesk.extensions import db
from servicedesk.models import Category, Demand, Visit
from tests.conftest import CREDIT_CODES, PASSWORD

pytestmark = pytest.mark.browser

#: Monday 15 June 2026: signing is due the next working day; the respond deadline (10 working
#: days for a normal demand) skips 19 June (端午节) and two weekends
NOW = "2026-06-15T09:00+08:00"
SIGN_DUE = "2026-06-16"
RESPOND_DUE = "2026-06-30"
VISIT_DAY = "2026-06-12"


def sign_in(page: Any, username: str) -> None:
    page.goto("/auth/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#submit").click()
    page.wait_for_url("**/")


@dataclass(frozen=True)
class Desk:
    """What the browser needs to know of the data made beforehand, as plain values."""

    officer: str
    handler: str
    department_id: int
    company_id: int
    second_company_id: int
    category_ids: list[int]


@pytest.fixture
def desk(freeze_clock, calendar_2026, officer, handler, department, company, make_company) -> Desk:
    freeze_clock(NOW)
    # make_company's codes start with the one `company` took
    second = make_company("徐州恒盛新材料科技有限公司", CREDIT_CODES[1], short_name="恒盛新材")
    categories = db.session.scalars(select(Category.id).where(Category.active.is_(True))
                                    .order_by(Category.position, Category.id)).all()
    return Desk(officer.username, handler.username, department.id, company.id, second.id,
                list(categories[:2]))


@pytest.fixture
def handler_page(browser: Any, live_server: str) -> Iterator[Any]:
    """A second browser, for the department's handler, failing the test on console errors too."""
    context = browser.new_context(base_url=live_server, locale="zh-CN",
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and console_errors.append(
        message.text))
    yield page
    context.close()
    assert console_errors == [], "the browser reported errors (a CSP violation?)"


def fill_demand(page: Any, index: int, *, company_id: int | None, category_id: int, title: str,
                description: str, urgency: str = "normal", contact: str = "",
                phone: str = "") -> None:
    prefix = f"#demands-{index}-"
    if company_id is not None:
        page.locator(prefix + "company_id").select_option(str(company_id))
    page.locator(prefix + "category_id").select_option(str(category_id))
    page.locator(prefix + "title").fill(title)
    page.locator(prefix + "description").fill(description)
    page.locator(prefix + "urgency").select_option(urgency)
    page.locator(prefix + "contact_name").fill(contact)
    page.locator(prefix + "contact_phone").fill(phone)


def add_another_demand(page: Any, expected_index: int) -> None:
    page.locator("#visit-form [name=add_demand]").click()
    page.locator(f"#demand-{expected_index}").wait_for()
    page.wait_for_load_state()


def test_symposium_with_three_demands_dispatched_and_signed(desk, page, handler_page) -> None:
    sign_in(page, desk.officer)
    page.goto("/visits/new")
    assert page.locator("#visited_on").input_value() == "2026-06-15"  # today, by the frozen clock
    assert page.locator(".demand-entry").count() == 1

    page.locator("#kind").select_option("symposium")
    page.locator("#visited_on").fill(VISIT_DAY)
    page.locator("#place").fill("万邦医药会议室")
    page.locator("#lead_official").fill("王强 副区长")
    # one company chosen: the script gives it to the demand whose company is not chosen yet
    page.locator("#company_ids").select_option(str(desk.company_id))
    assert page.locator("#demands-0-company_id").input_value() == str(desk.company_id)
    page.locator("#company_ids").select_option([str(desk.company_id), str(desk.second_company_id)])
    page.locator("#officials").fill("李淑侠、张伟")
    page.locator("#minutes").fill("座谈会纪要：企业提出三项诉求。")
    first = {"category_id": desk.category_ids[0], "title": "新建生产线用地指标",
             "description": "二期生产线需新增用地约50亩。", "urgency": "urgent",
             "contact": "李经理", "phone": "0516-80000001"}
    fill_demand(page, 0, company_id=None, **first)

    add_another_demand(page, 1)
    assert page.locator(".demand-entry").count() == 2
    # what was typed in the first demand and the visit is shown again as it was
    assert page.locator("#demands-0-company_id").input_value() == str(desk.company_id)
    assert page.locator("#demands-0-category_id").input_value() == str(first["category_id"])
    assert page.locator("#demands-0-title").input_value() == first["title"]
    assert page.locator("#demands-0-description").input_value() == first["description"]
    assert page.locator("#demands-0-urgency").input_value() == "urgent"
    assert page.locator("#demands-0-contact_name").input_value() == first["contact"]
    assert page.locator("#demands-0-contact_phone").input_value() == first["phone"]
    assert page.locator("#place").input_value() == "万邦医药会议室"
    assert page.locator("#visited_on").input_value() == VISIT_DAY
    assert page.locator("#kind").input_value() == "symposium"
    chosen = page.locator("#company_ids").evaluate(
        "select => Array.from(select.selectedOptions).map(option => option.value)")
    assert sorted(chosen) == sorted([str(desk.company_id), str(desk.second_company_id)])
    assert page.locator("#demands-1-title").input_value() == ""
    assert page.locator("#demands-1-urgency").input_value() == "normal"

    fill_demand(page, 1, company_id=desk.company_id, category_id=desk.category_ids[1],
                title="人才公寓配套", description="希望为研发人员提供人才公寓。")
    add_another_demand(page, 2)
    assert page.locator("#demands-1-title").input_value() == "人才公寓配套"
    fill_demand(page, 2, company_id=desk.second_company_id, category_id=desk.category_ids[0],
                title="临床试验批件加快审批", description="请协调加快临床试验批件的审批。",
                urgency="complex")

    page.locator("#visit-form #save").click()
    page.wait_for_url(re.compile(r"/visits/\d+$"))
    visit_id = int(page.url.rsplit("/", 1)[1])
    assert page.locator("#visit-fields [data-kind]").get_attribute("data-kind") == "symposium"
    companies = page.locator("#visit-companies [data-company-id]")
    assert sorted(int(c.get_attribute("data-company-id")) for c in companies.all()) == sorted(
        [desk.company_id, desk.second_company_id])
    rows = page.locator("#visit-demands tbody tr[data-demand-id]")
    assert rows.count() == 3
    assert [row.get_attribute("data-state") for row in rows.all()] == ["registered"] * 3

    saved = db.session.scalars(select(Demand).where(Demand.visit_id == visit_id)
                               .order_by(Demand.id)).all()
    stored = [(d.title, d.company_id, d.category_id, d.urgency, d.source, d.contact_phone)
              for d in saved]
    visit_day = db.session.get(Visit, visit_id).visited_on.isoformat()
    db.session.close()
    assert visit_day == VISIT_DAY
    assert stored == [
        ("新建生产线用地指标", desk.company_id, desk.category_ids[0], "urgent", "symposium", "0516-80000001"),
        ("人才公寓配套", desk.company_id, desk.category_ids[1], "normal", "symposium", None),
        ("临床试验批件加快审批", desk.second_company_id, desk.category_ids[0], "complex", "symposium",
         None),
    ]
    assert [int(row.get_attribute("data-demand-id")) for row in rows.all()] == [d.id for d in saved]

    # the officer opens the first demand and dispatches it, urgent no more
    demand_id = saved[0].id
    rows.first.locator(f"a[href$='/demands/{demand_id}']").click()
    page.wait_for_url(f"**/demands/{demand_id}")
    assert page.locator("#demand-state").get_attribute("data-state") == "registered"
    assert page.locator("#visit-link").get_attribute("href").endswith(f"/visits/{visit_id}")
    number = page.locator("h1 .demand-number").inner_text().strip()
    dispatch = page.locator("#action-dispatch")
    dispatch.locator("#dispatch-lead_department_id").select_option(str(desk.department_id))
    assert dispatch.locator("input[name=urgency][value=urgent]").is_checked()  # the demand's own
    dispatch.locator("input[name=urgency][value=normal]").check()
    dispatch.locator("#dispatch-note").fill("请于端午节前签收。")
    dispatch.locator("[type=submit]").click()
    page.wait_for_url(f"**/demands/{demand_id}#timeline")

    assert page.locator("#demand-state").get_attribute("data-state") == "assigned"
    assert page.locator("[data-urgency]").first.get_attribute("data-urgency") == "normal"
    assert page.locator("#dispatch-sheet-link").is_visible()
    assert page.locator("#action-dispatch").count() == 0
    assert page.locator("#deadline-sign").get_attribute("data-due") == SIGN_DUE
    respond = page.locator("#deadline-respond")
    assert respond.get_attribute("data-due") == RESPOND_DUE

    why = respond.locator("details.deadline-reason")
    explanation = why.locator(".deadline-explanation")
    assert not explanation.is_visible()
    why.locator("summary").click()
    explanation.wait_for(state="visible")
    assert why.get_attribute("open") is not None
    assert explanation.get_attribute("data-due") == RESPOND_DUE
    skipped = [item.get_attribute("data-day") for item in explanation.locator(".skipped-days li").all()]
    assert skipped == ["2026-06-19", "2026-06-20", "2026-06-21", "2026-06-27", "2026-06-28"]
    assert explanation.locator(".provisional-mark").count() == 0

    # the department's handler, in a browser of their own, finds it in the queue and signs for it
    sign_in(handler_page, desk.handler)
    handler_page.goto("/demands/queue")
    to_sign = handler_page.locator("#handler-to_sign")
    assert to_sign.get_attribute("data-count") == "1"
    row = to_sign.locator(f"tr[data-demand='{number}']")
    assert row.get_attribute("data-state") == "assigned"
    row.locator(f"a[href$='/demands/{demand_id}']").click()
    handler_page.wait_for_url(f"**/demands/{demand_id}")
    assert handler_page.locator("#deadline-sign").get_attribute("data-due") == SIGN_DUE
    handler_page.locator("#action-sign [type=submit]").click()
    handler_page.wait_for_url(f"**/demands/{demand_id}#timeline")
    assert handler_page.locator("#demand-state").get_attribute("data-state") == "accepted"
    assert handler_page.locator("#action-sign").count() == 0

    handler_page.goto("/demands/queue")
    assert handler_page.locator("#handler-to_sign").get_attribute("data-count") == "0"
    in_progress = handler_page.locator("#handler-in_progress")
    assert in_progress.locator(f"tr[data-demand='{number}']").get_attribute("data-state") == "accepted"

    page.reload()  # the officer sees the signing too
    assert page.locator("#demand-state").get_attribute("data-state") == "accepted"

    signed = db.session.get(Demand, demand_id)
    state, lead, signed_late = signed.state, signed.lead_department_id, signed.signed_late
    db.session.close()
    assert (state, lead, signed_late) == ("accepted", desk.department_id, False)


@pytest.fixture
def open_demand(make_demand) -> dict[str, Any]:
    """An open demand of the company, logged at a symposium (registered, not yet dispatched)."""
    demand = make_demand("新建生产线用地")
    return {"id": demand.id, "number": demand.number, "company_id": demand.company_id,
            "category_id": demand.category_id, "officer": demand.created_by.username}


def test_a_demand_like_an_open_one_is_linked_as_its_duplicate(freeze_clock, open_demand, page) -> None:
    freeze_clock(NOW)
    sign_in(page, open_demand["officer"])
    page.goto(f"/demands/new?company_id={open_demand['company_id']}")
    form = page.locator("#demand-form")
    assert form.locator("#demand-company_id").input_value() == str(open_demand["company_id"])
    form.locator("#source").select_option("hotline")
    form.locator("#demand-category_id").select_option(str(open_demand["category_id"]))
    form.locator("#demand-title").fill("新建生产线 用地指标")
    form.locator("#demand-description").fill("企业来电再次反映生产线用地问题。")
    assert page.locator(".duplicate-check").count() == 0
    form.locator("#save").click()
    page.wait_for_load_state()

    check = page.locator(".duplicate-check")
    check.wait_for()
    assert page.url.endswith("/demands/new")  # shown again, nothing saved yet
    assert [item.get_attribute("data-demand-id") for item in check.locator(".similar-demands li").all()] == [
        str(open_demand["id"])]
    assert check.locator(f"a[href$='/demands/{open_demand['id']}']").inner_text().strip() == (
        open_demand["number"])
    assert page.locator("#demand-title").input_value() == "新建生产线 用地指标"
    assert page.locator("#source").input_value() == "hotline"
    count = len(db.session.scalars(select(Demand.id)).all())
    db.session.close()
    assert count == 1

    check.locator(f"input[name='demand-duplicate_of'][value='{open_demand['id']}']").check()
    page.locator("#demand-form #save").click()
    page.wait_for_url(re.compile(r"/demands/\d+$"))
    new_id = int(page.url.rsplit("/", 1)[1])
    assert new_id != open_demand["id"]
    assert page.locator("#demand-state").get_attribute("data-state") == "registered"
    assert page.locator("#duplicate-of").get_attribute("href").endswith(f"/demands/{open_demand['id']}")

    logged = db.session.get(Demand, new_id)
    stored = (logged.duplicate_of_id, logged.source, logged.company_id, logged.title)
    db.session.close()
    assert stored == (open_demand["id"], "hotline", open_demand["company_id"], "新建生产线 用地指标")
