"""The visits and demands API: logging, lists and search, the lifecycle through actions, the access
rules (404 outside a handler's departments, 403 for an action the table does not allow), stale
versions, errors in the asked-for language."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from servicedesk.extensions import db
from servicedesk.models import Category, Demand, DemandEvent, Role, Visit

NOW = "2026-06-16T10:00:00+08:00"  # Tuesday, the day after make_demand acts
ENGLISH = {"Accept-Language": "en"}
REQUIRED_ZH = "此项为必填项。"
REQUIRED_EN = "This field is required."


@pytest.fixture(autouse=True)
def _now(freeze_clock, calendar_2026) -> None:
    freeze_clock(NOW)


@pytest.fixture
def category_id(app) -> int:
    return db.session.scalars(select(Category.id).order_by(Category.position)).first()


@pytest.fixture
def co_handler(make_user, other_department) -> Any:
    return make_user(Role.HANDLER, username="co-handler", department=other_department,
                     display_name="李娜")


@pytest.fixture
def stranger(make_user, make_department) -> Any:
    """A handler of a department that has nothing to do with the demands."""
    return make_user(Role.HANDLER, username="stranger", department=make_department("商务局", "商务局"))


def act(client, headers, demand_id: int, action: str, **body: Any) -> Any:
    if "version" not in body:
        body["version"] = client.get(f"/api/v1/demands/{demand_id}", headers=headers).get_json()["version"]
    return client.post(f"/api/v1/demands/{demand_id}/actions/{action}", headers=headers, json=body)


def new_demand(company, category_id: int, **values: Any) -> dict[str, Any]:
    return {"company_id": company.id, "category_id": category_id, "title": "人才公寓及子女入学",
            "description": "研发人员需要人才公寓，子女需要就近入学。", "urgency": "normal",
            "contact": {"name": "王经理", "phone": "0516-87654321"}, **values}


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# Logging a demand on its own

def test_officer_logs_a_demand_from_the_hotline(client, token_for, officer, company, category_id) -> None:
    response = client.post("/api/v1/demands", headers=token_for(officer),
                           json=new_demand(company, category_id, source="hotline"))
    assert response.status_code == 201
    body = response.get_json()
    assert body["state"] == "registered"
    assert body["number"] == "2026-0001"
    assert body["source"] == "hotline"
    assert body["company"] == {"id": company.id, "name": company.name}
    assert body["category"]["id"] == category_id
    assert body["contact"] == {"name": "王经理", "phone": "0516-87654321"}
    assert body["visit_id"] is None
    assert body["lead_department"] is None and body["co_departments"] == []
    assert body["deadlines"] == {"sign": None, "respond": None, "feedback": None}
    assert body["current_due"] is None and body["card"] is None
    assert body["version"] == 1
    assert [e["action"] for e in body["events"]] == ["logged"]
    assert body["events"][0]["actor"] == {"id": officer.id, "display_name": "张伟"}
    assert body["events"][0]["to_state"] == "registered"
    assert body["allowed_actions"] == ["dispatch", "comment"]
    assert count(Demand) == 1


def test_only_officers_log_demands(client, token_for, handler, leader, company, category_id) -> None:
    for user in (handler, leader):
        response = client.post("/api/v1/demands", headers=token_for(user),
                               json=new_demand(company, category_id, source="letter"))
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "forbidden"
    assert count(Demand) == 0


def test_missing_fields_are_named_in_chinese_by_default(client, token_for, officer) -> None:
    response = client.post("/api/v1/demands", headers=token_for(officer), json={"title": "缺少内容"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    for name in ("company_id", "category_id", "description", "urgency", "source"):
        assert error["fields"][name] == [REQUIRED_ZH], name
    assert "title" not in error["fields"]


def test_missing_fields_are_named_in_english_when_asked(client, token_for, officer) -> None:
    response = client.post("/api/v1/demands", headers={**token_for(officer), **ENGLISH},
                           json={"title": "缺少内容"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["fields"]["company_id"] == [REQUIRED_EN]
    assert error["message"] == "Some fields are invalid."


@pytest.mark.parametrize("change, field", [
    ({"source": "symposium"}, "source"),
    ({"urgency": "whenever"}, "urgency"),
    ({"title": "长" * 201}, "title"),
    ({"category_id": 99999}, "category_id"),
    ({"company_id": 99999}, "company_id"),
    ({"duplicate_of_id": 99999}, "duplicate_of_id"),
    ({"colour": "red"}, "colour"),
])
def test_bad_demands_are_refused_and_nothing_saved(client, token_for, officer, company, category_id,
                                                   change, field) -> None:
    body = {**new_demand(company, category_id, source="online"), **change}
    response = client.post("/api/v1/demands", headers=token_for(officer), json=body)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert count(Demand) == 0


def test_a_demand_may_be_logged_as_the_duplicate_of_another(client, token_for, officer, company,
                                                            category_id, make_demand) -> None:
    original = make_demand("人才公寓及子女入学问题", category_id=category_id)
    headers = token_for(officer)
    similar = client.get("/api/v1/demands/similar", headers=headers, query_string={
        "company_id": company.id, "category_id": category_id, "title": "人才公寓及子女入学"})
    assert similar.status_code == 200
    assert [d["number"] for d in similar.get_json()] == [original.number]
    response = client.post("/api/v1/demands", headers=headers, json=new_demand(
        company, category_id, source="hotline", duplicate_of_id=original.id))
    assert response.status_code == 201
    assert response.get_json()["duplicate_of"] == original.number


# One demand, and who may see it

def test_the_demand_as_each_user_sees_it(client, token_for, make_demand, department, other_department,
                                         officer, leader, handler, co_handler, stranger,
                                         admin_user) -> None:
    demand = make_demand(dispatch_to=department, co=(other_department,))
    path = f"/api/v1/demands/{demand.id}"
    for user in (officer, leader, handler, co_handler):
        response = client.get(path, headers=token_for(user))
        assert response.status_code == 200, user.username
    for user in (stranger, admin_user):
        response = client.get(path, headers=token_for(user))
        assert response.status_code == 404, user.username
        assert response.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/demands/99999", headers=token_for(officer)).status_code == 404
    assert client.get(path).status_code == 401
    body = client.get(path, headers=token_for(handler)).get_json()
    assert body["state"] == "assigned"
    assert body["lead_department"] == {"id": department.id, "name": "自然资源和规划分局"}
    assert body["co_departments"] == [{"id": other_department.id, "name": "行政审批局"}]
    assert body["dispatched_by"] == {"id": officer.id, "display_name": "张伟"}
    assert body["dispatched_at"].startswith("2026-06-15T01:00:00")
    assert body["deadlines"]["sign"] == {"from": "2026-06-15", "working_days": 1, "due": "2026-06-16",
                                         "provisional": False, "extended": False}
    assert body["deadlines"]["respond"]["due"] == "2026-06-30"
    assert body["deadlines"]["feedback"] is None
    assert (body["current_step"], body["current_due"]) == ("sign", "2026-06-16")
    assert body["card"] == "yellow"  # due today
    assert [e["action"] for e in body["events"]] == ["logged", "dispatch"]
    dispatch = body["events"][1]
    assert (dispatch["from_state"], dispatch["to_state"], dispatch["role"]) == (
        "registered", "assigned", "officer")
    assert dispatch["details"]["lead_department"] == "自然资源和规划分局"
    assert body["milestones"] == [] and body["extensions"] == []
    assert body["allowed_actions"] == ["sign", "return", "progress", "comment"]
    co_view = client.get(path, headers=token_for(co_handler)).get_json()
    assert co_view["allowed_actions"] == ["co_opinion", "progress", "comment"]


# Lists and search

def test_the_list_filters_and_searches_like_the_pages(client, token_for, make_demand, department,
                                                      other_department, officer, handler,
                                                      stranger) -> None:
    land = make_demand("新建生产线用地", dispatch_to=department)
    power = make_demand("电力增容", dispatch_to=other_department, urgency="urgent")
    make_demand("重组胰岛素项目融资")
    headers = token_for(officer)
    everything = client.get("/api/v1/demands", headers=headers).get_json()
    assert everything["total"] == 3
    assert {d["number"] for d in everything["items"]} == {f"2026-000{i}" for i in (1, 2, 3)}
    assert "events" not in everything["items"][0]
    registered = client.get("/api/v1/demands?state=registered", headers=headers).get_json()
    assert [d["title"] for d in registered["items"]] == ["重组胰岛素项目融资"]
    urgent = client.get("/api/v1/demands?urgency=urgent", headers=headers).get_json()
    assert [d["id"] for d in urgent["items"]] == [power.id]
    found = client.get("/api/v1/demands", headers=headers, query_string={"q": "生产线"}).get_json()
    assert [d["id"] for d in found["items"]] == [land.id]
    by_company = client.get("/api/v1/demands", headers=headers, query_string={"q": "万邦"}).get_json()
    assert by_company["total"] == 3
    page = client.get("/api/v1/demands?per_page=2&page=2", headers=headers).get_json()
    assert page["total"] == 3 and len(page["items"]) == 1
    mine = client.get("/api/v1/demands", headers=token_for(handler)).get_json()
    assert [d["id"] for d in mine["items"]] == [land.id]
    searched = client.get("/api/v1/demands", headers=token_for(handler),
                          query_string={"q": "电力"}).get_json()
    assert searched == {"items": [], "total": 0}
    assert client.get("/api/v1/demands", headers=token_for(stranger)).get_json()["total"] == 0


def test_the_list_filters_by_cards_department_and_sorts(client, token_for, make_demand, department,
                                                        other_department, officer, freeze_clock) -> None:
    urgent = make_demand("电力增容", dispatch_to=department, co=(other_department,), urgency="urgent")
    normal = make_demand("人才公寓", dispatch_to=other_department)
    make_demand("融资")
    headers = token_for(officer)

    def ids(**args: Any) -> list[int]:
        body = client.get("/api/v1/demands", headers=headers, query_string=args).get_json()
        return [d["id"] for d in body["items"]]

    # Tuesday: both signing deadlines are today (yellow); Thursday they have passed (red).
    assert set(ids(due_soon="true")) == {urgent.id, normal.id}
    assert ids(overdue="true") == []
    freeze_clock("2026-06-18T10:00:00+08:00")
    assert set(ids(overdue="true")) == {urgent.id, normal.id}
    listed = client.get("/api/v1/demands?overdue=true", headers=headers).get_json()["items"]
    assert {d["card"] for d in listed} == {"red"}
    assert set(ids(department=other_department.id)) == {urgent.id, normal.id}
    assert ids(department=other_department.id, department_role="lead") == [normal.id]
    assert ids(department=other_department.id, department_role="co") == [urgent.id]
    assert ids(sort="number")[:2] == [urgent.id, normal.id]
    assert ids(logged_from="2026-06-16") == []
    assert len(ids(logged_from="2026-06-15", logged_to="2026-06-15")) == 3


def test_the_list_refuses_bad_filters(client, token_for, officer) -> None:
    for query, field in (("state=lost", "state"), ("overdue=perhaps", "overdue"),
                         ("logged_from=tomorrow", "logged_from"), ("sort=random", "sort")):
        response = client.get(f"/api/v1/demands?{query}", headers=token_for(officer))
        assert response.status_code == 422, query
        assert field in response.get_json()["error"]["fields"], query


def test_the_list_runs_the_same_queries_whatever_its_length(client, token_for, make_demand, department,
                                                            other_department, officer,
                                                            count_queries) -> None:
    headers = token_for(officer)

    def queries() -> int:
        with count_queries() as counter:
            assert client.get("/api/v1/demands?per_page=100", headers=headers).status_code == 200
        return counter.count

    for i in range(2):
        make_demand(f"诉求{i}", dispatch_to=department, co=(other_department,))
    few = queries()
    for i in range(10):
        make_demand(f"更多诉求{i}", dispatch_to=other_department, co=(department,))
        make_demand(f"未交办{i}")
    assert queries() == few


# The lifecycle through the API

def test_a_demand_goes_through_its_whole_lifecycle(client, token_for, make_demand, department,
                                                   other_department, officer, handler,
                                                   co_handler) -> None:
    demand = make_demand()
    officer_headers, handler_headers = token_for(officer), token_for(handler)
    dispatched = act(client, officer_headers, demand.id, "dispatch", lead_department_id=department.id,
                     co_department_ids=[other_department.id], urgency="urgent", note="请尽快研究")
    assert dispatched.status_code == 200, dispatched.get_json()
    body = dispatched.get_json()
    assert body["state"] == "assigned"
    assert body["urgency"] == "urgent"
    assert body["dispatch_note"] == "请尽快研究"
    assert body["deadlines"]["sign"]["due"] == "2026-06-17"
    assert body["deadlines"]["respond"]["working_days"] == 3
    assert body["events"][-1]["text"] == "请尽快研究"

    signed = act(client, handler_headers, demand.id, "sign")
    assert signed.status_code == 200
    assert signed.get_json()["state"] == "accepted"
    assert signed.get_json()["signed_late"] is False
    assert signed.get_json()["current_step"] == "respond"

    opinion = act(client, token_for(co_handler), demand.id, "co_opinion", text="审批局可并联审批")
    assert opinion.status_code == 200
    assert opinion.get_json()["events"][-1]["department"] == {"id": other_department.id,
                                                              "name": "行政审批局"}

    responded = act(client, handler_headers, demand.id, "respond", outcome="solved",
                    text="已协调用地指标")
    assert responded.status_code == 200
    body = responded.get_json()
    assert body["state"] == "responded"
    assert body["outcome"] == "solved" and body["response_text"] == "已协调用地指标"
    assert body["deadlines"]["feedback"]["due"] == "2026-06-22"  # 19 June is 端午节

    closed = act(client, officer_headers, demand.id, "record_feedback", feedback="satisfied")
    assert closed.status_code == 200
    body = closed.get_json()
    assert body["state"] == "closed"
    assert body["close_reason"] == "satisfied"
    assert body["current_due"] is None and body["card"] is None
    assert [(e["action"], e["to_state"]) for e in body["events"]] == [
        ("logged", "registered"), ("dispatch", "assigned"), ("sign", "accepted"),
        ("co_opinion", "accepted"), ("respond", "responded"), ("record_feedback", "closed")]
    db.session.expire_all()
    assert db.session.get(Demand, demand.id).state == "closed"


def test_extension_milestones_and_a_planned_response(client, token_for, make_demand, department,
                                                      officer, handler, leader) -> None:
    demand = make_demand(dispatch_to=department)
    handler_headers = token_for(handler)
    assert act(client, handler_headers, demand.id, "sign").status_code == 200
    asked = act(client, handler_headers, demand.id, "request_extension", reason="需要市里协调",
                new_due="2026-07-31")
    assert asked.status_code == 200
    assert asked.get_json()["extensions"][0]["status"] == "pending"
    again = act(client, handler_headers, demand.id, "request_extension", reason="再次", new_due="2026-08-31")
    assert again.status_code == 422
    assert again.get_json()["error"]["code"] == "extension_pending"
    approved = act(client, token_for(leader), demand.id, "approve_extension", reason="同意")
    assert approved.status_code == 200
    body = approved.get_json()
    assert body["extensions"][0]["status"] == "approved"
    assert body["extensions"][0]["decided_by"]["display_name"] == "赵磊"
    assert body["deadlines"]["respond"]["due"] == "2026-07-31"
    assert body["deadlines"]["respond"]["extended"] is True
    planned = act(client, handler_headers, demand.id, "respond", outcome="planned", text="分步解决",
                  planned_on="2026-12-31")
    assert planned.status_code == 422
    assert "planned_on" in planned.get_json()["error"]["fields"]
    added = act(client, handler_headers, demand.id, "add_milestone", title="完成用地预审",
                due_on="2026-09-30")
    assert added.status_code == 200
    milestone = added.get_json()["milestones"][0]
    assert (milestone["title"], milestone["due_on"], milestone["completed_at"]) == (
        "完成用地预审", "2026-09-30", None)
    responded = act(client, handler_headers, demand.id, "respond", outcome="planned", text="分步解决",
                    planned_on="2026-12-31")
    assert responded.status_code == 200
    assert responded.get_json()["planned_on"] == "2026-12-31"
    completed = act(client, handler_headers, demand.id, "complete_milestone", milestone_id=milestone["id"])
    assert completed.status_code == 200
    assert completed.get_json()["milestones"][0]["completed_at"]


def test_a_leader_closes_a_duplicate_and_flags_another(client, token_for, make_demand, department,
                                                       leader) -> None:
    original = make_demand("电力增容", dispatch_to=department)
    repeat = make_demand("电力增容申请")
    headers = token_for(leader)
    flagged = act(client, headers, original.id, "flag_key_supervision", reason="市领导交办")
    assert flagged.status_code == 200
    assert flagged.get_json()["key_supervision"] is True
    assert flagged.get_json()["key_supervision_reason"] == "市领导交办"
    closed = act(client, headers, repeat.id, "close", close_reason="duplicate", duplicate_of_id=original.id)
    assert closed.status_code == 200
    assert closed.get_json()["state"] == "closed"
    assert closed.get_json()["duplicate_of"] == original.number


def test_a_department_returns_a_demand(client, token_for, make_demand, department, handler) -> None:
    demand = make_demand(dispatch_to=department)
    headers = token_for(handler)
    returned = act(client, headers, demand.id, "return", reason="不属于本部门职责")
    assert returned.status_code == 200
    body = returned.get_json()
    assert body["state"] == "registered"
    assert body["returns_count"] == 1
    assert body["lead_department"] is None
    assert body["events"][-1]["text"] == "不属于本部门职责"
    # No longer the department's: it is out of sight now.
    assert client.get(f"/api/v1/demands/{demand.id}", headers=headers).status_code == 404


# Refusals

def test_a_stale_version_is_refused_and_nothing_changes(client, token_for, make_demand, department,
                                                        officer, handler) -> None:
    demand = make_demand(dispatch_to=department)
    seen = demand.version
    assert act(client, token_for(officer), demand.id, "comment", text="请及时签收",
               version=seen).status_code == 200
    stale = act(client, token_for(handler), demand.id, "sign", version=seen)
    assert stale.status_code == 409
    assert stale.get_json()["error"]["code"] == "conflict"
    db.session.expire_all()
    assert db.session.get(Demand, demand.id).state == "assigned"
    assert [e.action for e in db.session.scalars(select(DemandEvent).order_by(DemandEvent.id))] == [
        "logged", "dispatch", "comment"]


def test_an_action_the_table_does_not_allow_a_visible_user_is_403(client, token_for, make_demand,
                                                                    department, other_department,
                                                                    leader, co_handler) -> None:
    demand = make_demand(dispatch_to=department, co=(other_department,))
    for user in (leader, co_handler):
        response = act(client, token_for(user), demand.id, "sign")
        assert response.status_code == 403, user.username
        error = response.get_json()["error"]
        assert error["code"] == "not_allowed"
        assert error["message"]
    english = client.post(f"/api/v1/demands/{demand.id}/actions/sign",
                          headers={**token_for(leader), **ENGLISH}, json={"version": demand.version})
    assert english.get_json()["error"]["message"] == "You may not do this on this demand."
    db.session.expire_all()
    assert db.session.get(Demand, demand.id).state == "assigned"


def test_an_action_on_a_demand_out_of_sight_is_404(client, token_for, make_demand, department,
                                                   stranger, handler) -> None:
    demand = make_demand(dispatch_to=department)
    response = act(client, token_for(stranger), demand.id, "sign", version=demand.version)
    assert response.status_code == 404
    unknown = act(client, token_for(handler), demand.id, "approve_everything", version=demand.version)
    assert unknown.status_code == 404
    assert unknown.get_json()["error"]["code"] == "not_found"
    missing = act(client, token_for(handler), 99999, "sign", version=1)
    assert missing.status_code == 404


def test_a_wrong_state_is_422_with_the_reason(client, token_for, make_demand, department,
                                              officer) -> None:
    demand = make_demand(dispatch_to=department)
    response = client.post(f"/api/v1/demands/{demand.id}/actions/dispatch",
                           headers={**token_for(officer), **ENGLISH}, json={
                               "version": demand.version, "lead_department_id": department.id,
                               "urgency": "normal"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "wrong_state"
    assert error["message"] == "This cannot be done while the demand is assigned."


def test_missing_action_fields_in_chinese_and_english(client, token_for, make_demand, department,
                                                      handler) -> None:
    demand = make_demand(dispatch_to=department)
    headers = token_for(handler)
    chinese = act(client, headers, demand.id, "return", version=demand.version)
    assert chinese.status_code == 422
    assert chinese.get_json()["error"]["code"] == "missing_field"
    assert chinese.get_json()["error"]["fields"] == {"reason": REQUIRED_ZH}
    english = client.post(f"/api/v1/demands/{demand.id}/actions/return", headers={**headers, **ENGLISH},
                          json={"version": demand.version, "reason": "  "})
    assert english.get_json()["error"]["fields"] == {"reason": REQUIRED_EN}
    no_version = client.post(f"/api/v1/demands/{demand.id}/actions/sign", headers=headers, json={})
    assert no_version.status_code == 422
    assert no_version.get_json()["error"]["fields"] == {"version": [REQUIRED_ZH]}


@pytest.mark.parametrize("action, body, field", [
    ("sign", {"reason": "多余"}, "reason"),
    ("sign", {"colour": "red"}, "colour"),
    ("return", {"reason": 42}, "reason"),
    ("request_extension", {"reason": "需要时间", "new_due": "明天"}, "new_due"),
])
def test_bad_action_fields_are_422(client, token_for, make_demand, department, handler, action, body,
                                   field) -> None:
    demand = make_demand(dispatch_to=department)
    if action == "request_extension":
        assert act(client, token_for(handler), demand.id, "sign").status_code == 200
        db.session.refresh(demand)
    response = act(client, token_for(handler), demand.id, action, version=demand.version, **body)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_an_invalid_choice_is_named(client, token_for, make_demand, department, handler) -> None:
    demand = make_demand(dispatch_to=department)
    headers = token_for(handler)
    assert act(client, headers, demand.id, "sign").status_code == 200
    response = act(client, headers, demand.id, "respond", outcome="great", text="答复")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_value"
    assert "outcome" in response.get_json()["error"]["fields"]


# Visits

def visit_body(company, other_company, category_id: int, **values: Any) -> dict[str, Any]:
    return {
        "kind": "symposium", "visited_on": "2026-06-04", "place": "万邦医药会议室",
        "lead_official": "市政府秘书长", "officials": "经开区管委会主任", "company_attendees": "董事长",
        "minutes": "企业提出诉求，市领导要求一一回应落实。",
        "company_ids": [company.id, other_company.id],
        "demands": [
            new_demand(company, category_id, title="新建生产线用地", urgency="complex"),
            new_demand(other_company, category_id, title="电力增容", urgency="urgent", contact=None),
        ],
        **values,
    }


@pytest.fixture
def other_company(make_company) -> Any:
    return make_company("徐州金龙湖新材料有限公司", "913203009MA3Y7LLJF")


def test_officer_logs_a_visit_with_its_demands(client, token_for, officer, company, other_company,
                                               category_id) -> None:
    response = client.post("/api/v1/visits", headers=token_for(officer),
                           json=visit_body(company, other_company, category_id))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["kind"] == "symposium" and body["visited_on"] == "2026-06-04"
    assert {c["id"] for c in body["companies"]} == {company.id, other_company.id}
    assert body["created_by"]["display_name"] == "张伟"
    assert [d["title"] for d in body["demands"]] == ["新建生产线用地", "电力增容"]
    assert {d["source"] for d in body["demands"]} == {"symposium"}
    assert {d["visit_id"] for d in body["demands"]} == {body["id"]}
    assert {d["state"] for d in body["demands"]} == {"registered"}
    assert body["demands"][1]["contact"] == {"name": None, "phone": None}
    assert count(Visit) == 1 and count(Demand) == 2


def test_only_officers_log_visits(client, token_for, handler, leader, company, other_company,
                                  category_id) -> None:
    for user in (handler, leader):
        response = client.post("/api/v1/visits", headers=token_for(user),
                               json=visit_body(company, other_company, category_id))
        assert response.status_code == 403
    assert count(Visit) == 0


def test_a_bad_demand_saves_nothing_of_the_visit(client, token_for, officer, company, other_company,
                                                 category_id) -> None:
    body = visit_body(company, other_company, category_id)
    body["demands"][1]["category_id"] = 99999
    response = client.post("/api/v1/visits", headers=token_for(officer), json=body)
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert list(fields["demands"]) == ["1"]
    assert "category_id" in fields["demands"]["1"]
    assert count(Visit) == 0 and count(Demand) == 0


def test_a_visit_missing_fields_is_refused_in_the_asked_language(client, token_for, officer, company,
                                                                 other_company, category_id) -> None:
    body = visit_body(company, other_company, category_id)
    del body["place"]
    del body["demands"][0]["title"]
    response = client.post("/api/v1/visits", headers={**token_for(officer), **ENGLISH}, json=body)
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert fields["place"] == [REQUIRED_EN]
    assert fields["demands"] == {"0": {"title": [REQUIRED_EN]}}
    assert count(Visit) == 0


def test_visits_as_each_user_sees_them(client, token_for, officer, handler, stranger, company,
                                       other_company, category_id, department) -> None:
    created = client.post("/api/v1/visits", headers=token_for(officer),
                          json=visit_body(company, other_company, category_id)).get_json()
    client.post("/api/v1/visits", headers=token_for(officer), json=visit_body(
        company, other_company, category_id, visited_on="2026-06-10", kind="visit", demands=[]))
    land = created["demands"][0]
    dispatched = act(client, token_for(officer), land["id"], "dispatch", lead_department_id=department.id,
                     urgency="complex")
    assert dispatched.status_code == 200
    everything = client.get("/api/v1/visits", headers=token_for(officer)).get_json()
    assert everything["total"] == 2
    assert [v["visited_on"] for v in everything["items"]] == ["2026-06-10", "2026-06-04"]
    assert len(everything["items"][1]["demands"]) == 2
    symposiums = client.get("/api/v1/visits?kind=symposium", headers=token_for(officer)).get_json()
    assert symposiums["total"] == 1
    mine = client.get("/api/v1/visits", headers=token_for(handler)).get_json()
    assert mine["total"] == 1
    assert [d["id"] for d in mine["items"][0]["demands"]] == [land["id"]]
    detail = client.get(f"/api/v1/visits/{created['id']}", headers=token_for(handler))
    assert detail.status_code == 200
    assert [d["title"] for d in detail.get_json()["demands"]] == ["新建生产线用地"]
    assert detail.get_json()["demands"][0]["state"] == "assigned"
    assert client.get("/api/v1/visits", headers=token_for(stranger)).get_json()["total"] == 0
    assert client.get(f"/api/v1/visits/{created['id']}", headers=token_for(stranger)).status_code == 404
    assert client.get("/api/v1/visits/99999", headers=token_for(officer)).status_code == 404


def test_the_visit_list_runs_the_same_queries_whatever_its_length(client, token_for, officer, company,
                                                                  other_company, category_id,
                                                                  count_queries) -> None:
    headers = token_for(officer)

    def queries() -> int:
        with count_queries() as counter:
            assert client.get("/api/v1/visits?per_page=100", headers=headers).status_code == 200
        return counter.count

    client.post("/api/v1/visits", headers=headers, json=visit_body(company, other_company, category_id))
    few = queries()
    for _ in range(4):
        client.post("/api/v1/visits", headers=headers, json=visit_body(company, other_company, category_id))
    assert queries() == few


# The document

def test_the_openapi_document_lists_the_visit_and_demand_paths(client) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    for path, methods in {
        "/api/v1/visits": {"get", "post"},
        "/api/v1/visits/{visit_id}": {"get"},
        "/api/v1/demands": {"get", "post"},
        "/api/v1/demands/{demand_id}": {"get"},
        "/api/v1/demands/similar": {"get"},
        "/api/v1/demands/{demand_id}/actions/{action}": {"post"},
    }.items():
        assert path in paths, path
        assert methods <= set(paths[path]), path
    action = paths["/api/v1/demands/{demand_id}/actions/{action}"]
    parameter = next(p for p in action["parameters"] if p["name"] == "action")
    assert "record_feedback" in parameter["schema"]["enum"]
    assert {"403", "404", "409", "422"} <= set(action["post"]["responses"])
    schemas = spec["components"]["schemas"]
    assert {"events", "milestones", "state", "deadlines"} <= set(schemas["DemandDetail"]["properties"])
