"""Every lifecycle action through the demand page: the right user changes the demand and records the
event; a user who may see the demand but not take the action is refused with a message and nothing
changes; a stale version is refused without overwriting anything."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from servicedesk.demands.operations import take_action
from servicedesk.domain.lifecycle import Action
from servicedesk.extensions import db
from servicedesk.models import Demand, DemandEvent, Department, Role, User

#: the moment the tests act at: Tuesday 16 June 2026, the day after the fixtures dispatched
NOW = "2026-06-16T10:00:00+08:00"


@pytest.fixture(autouse=True)
def _english_and_frozen(client, freeze_clock) -> None:
    client.post("/language", data={"locale": "en", "next": "/"})
    freeze_clock(NOW)


@dataclass
class World:
    officer: User
    leader: User
    handler: User
    co_handler: User
    admin: User
    other_officer: User
    department: Department
    other_department: Department
    demand: Demand | None = None
    original: Demand | None = None

    def user(self, role: str) -> User:
        return getattr(self, role)


@pytest.fixture
def world(officer, leader, handler, admin_user, make_user, department, other_department) -> World:
    return World(officer=officer, leader=leader, handler=handler, admin=admin_user,
                 co_handler=make_user(Role.HANDLER, username="cohandler", department=other_department,
                                      display_name="王芳"),
                 other_officer=make_user(Role.OFFICER, username="officer2", display_name="刘洋"),
                 department=department, other_department=other_department)


def _at(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


@pytest.fixture
def demand_in(world: World, make_demand) -> Callable[[str], Demand]:
    """A demand brought to a stage of its lifecycle through the operations."""

    def bring(stage: str) -> Demand:
        if stage == "registered":
            demand = make_demand()
        else:
            demand = make_demand(dispatch_to=world.department, co=(world.other_department,))
        later = _at("2026-06-15T15:00+08:00")
        if stage in ("accepted", "extension_pending", "with_milestone", "responded"):
            take_action(demand, Action.SIGN, world.handler, {}, None, later)
        if stage == "extension_pending":
            take_action(demand, Action.REQUEST_EXTENSION, world.handler,
                        {"reason": "需要规划调整", "new_due": date(2026, 7, 10)}, None, later)
        if stage == "with_milestone":
            take_action(demand, Action.ADD_MILESTONE, world.handler,
                        {"title": "完成用地预审", "due_on": date(2026, 7, 1)}, None, later)
        if stage == "responded":
            take_action(demand, Action.RESPOND, world.handler, {"outcome": "solved", "text": "已协调"},
                        None, later)
        db.session.commit()
        world.demand = demand
        return demand

    return bring


def post_action(client, demand: Demand, action: str, data: dict[str, Any] | None = None,
                version: int | None = None) -> Any:
    db.session.expire_all()
    current = db.session.get(Demand, demand.id)
    payload = {"version": current.version if version is None else version, **(data or {})}
    return client.post(f"/demands/{demand.id}/actions/{action}", data=payload)


def snapshot(demand: Demand) -> tuple[Any, ...]:
    db.session.expire_all()
    fresh = db.session.get(Demand, demand.id)
    events = db.session.scalar(select(func.count()).select_from(DemandEvent)
                               .where(DemandEvent.demand_id == demand.id))
    return (fresh.state, fresh.version, events, fresh.key_supervision, fresh.lead_department_id,
            fresh.respond_due, len(fresh.milestones), [e.status for e in fresh.extensions])


def last_event(demand: Demand) -> DemandEvent:
    return db.session.scalars(select(DemandEvent).where(DemandEvent.demand_id == demand.id)
                              .order_by(DemandEvent.id.desc())).first()


def _dispatch_data(w: World) -> dict[str, Any]:
    return {"lead_department_id": w.department.id, "co_department_ids": [w.other_department.id],
            "urgency": "urgent", "note": "请尽快办理"}


def _milestone_data(w: World) -> dict[str, Any]:
    return {"milestone_id": w.demand.milestones[0].id}


# What each action did, checked on the demand as stored

def _dispatched(d: Demand, w: World) -> None:
    assert d.lead_department_id == w.department.id
    assert [c.id for c in d.co_departments] == [w.other_department.id]
    assert d.urgency == "urgent" and d.dispatch_note == "请尽快办理"
    assert d.sign_due == date(2026, 6, 17) and d.respond_due == date(2026, 6, 22)  # 3 days; 19th off


def _signed(d: Demand, w: World) -> None:
    assert d.signed_at is not None and not d.signed_late


def _returned(d: Demand, w: World) -> None:
    assert (d.returns_count, d.lead_department_id, d.co_departments) == (1, None, [])


def _extension_requested(d: Demand, w: World) -> None:
    assert [(e.status, e.new_due) for e in d.extensions] == [("pending", date(2026, 7, 10))]


def _extension_approved(d: Demand, w: World) -> None:
    assert (d.respond_due, d.extensions[0].status) == (date(2026, 7, 10), "approved")


def _extension_refused(d: Demand, w: World) -> None:
    assert (d.respond_due, d.extensions[0].status) == (date(2026, 6, 30), "refused")


def _milestone_added(d: Demand, w: World) -> None:
    milestones = [(m.title, m.due_on, m.is_open) for m in d.milestones]
    assert milestones == [("完成用地预审", date(2026, 7, 1), True)]


def _milestone_completed(d: Demand, w: World) -> None:
    assert [m.is_open for m in d.milestones] == [False]


def _responded(d: Demand, w: World) -> None:
    assert (d.outcome, d.response_text, d.feedback_due) == ("solved", "已协调用地", date(2026, 6, 22))


def _closed_by_feedback(d: Demand, w: World) -> None:
    assert (d.feedback, d.close_reason) == ("satisfied", "satisfied")


def _withdrawn(d: Demand, w: World) -> None:
    assert d.close_reason == "withdrawn" and d.closed_at is not None


def _flagged(d: Demand, w: World) -> None:
    assert (d.key_supervision, d.key_supervision_reason) == (True, "市领导关注")


def _nothing_else(d: Demand, w: World) -> None:
    pass


@dataclass(frozen=True)
class Scenario:
    action: str
    #: the stage the demand is brought to first (see demand_in)
    stage: str
    #: who may take the action, and someone who sees the demand but may not
    by: str
    wrong: str
    data: Callable[[World], dict[str, Any]]
    state_after: str
    check: Callable[[Demand, World], None] = _nothing_else


SCENARIOS = [
    Scenario("dispatch", "registered", "officer", "leader", _dispatch_data, "assigned", _dispatched),
    Scenario("sign", "assigned", "handler", "officer", lambda w: {}, "accepted", _signed),
    Scenario("return", "assigned", "handler", "co_handler", lambda w: {"reason": "不属于本部门职责"},
             "registered", _returned),
    Scenario("co_opinion", "assigned", "co_handler", "handler", lambda w: {"text": "同意配合办理"},
             "assigned"),
    Scenario("progress", "accepted", "handler", "officer", lambda w: {"text": "已现场踏勘"}, "accepted"),
    Scenario("request_extension", "accepted", "handler", "co_handler",
             lambda w: {"reason": "需要规划调整", "new_due": "2026-07-10"}, "accepted", _extension_requested),
    Scenario("approve_extension", "extension_pending", "leader", "handler", lambda w: {"reason": "同意"},
             "accepted", _extension_approved),
    Scenario("refuse_extension", "extension_pending", "officer", "co_handler",
             lambda w: {"reason": "时限内可以完成"}, "accepted", _extension_refused),
    Scenario("add_milestone", "accepted", "handler", "leader",
             lambda w: {"title": "完成用地预审", "due_on": "2026-07-01"}, "accepted", _milestone_added),
    Scenario("complete_milestone", "with_milestone", "handler", "co_handler", _milestone_data, "accepted",
             _milestone_completed),
    Scenario("respond", "accepted", "handler", "officer",
             lambda w: {"outcome": "solved", "text": "已协调用地"}, "responded", _responded),
    Scenario("record_feedback", "responded", "officer", "handler", lambda w: {"feedback": "satisfied"},
             "closed", _closed_by_feedback),
    Scenario("close", "assigned", "leader", "officer",
             lambda w: {"close_reason": "withdrawn", "reason": "企业撤回诉求"}, "closed", _withdrawn),
    Scenario("flag_key_supervision", "assigned", "leader", "officer", lambda w: {"reason": "市领导关注"},
             "assigned", _flagged),
    Scenario("comment", "assigned", "co_handler", "admin", lambda w: {"text": "请注意时限"}, "assigned"),
]


def test_every_action_has_a_scenario() -> None:
    assert {s.action for s in SCENARIOS} == {a.value for a in Action}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.action)
def test_the_right_user_takes_the_action(scenario: Scenario, client, auth, world, demand_in) -> None:
    demand = demand_in(scenario.stage)
    user = world.user(scenario.by)
    auth.login(user)
    response = post_action(client, demand, scenario.action, scenario.data(world))
    assert response.status_code == 302, response.get_data(as_text=True)
    shown = client.get(response.headers["Location"], follow_redirects=True)
    assert "done for demand" in shown.get_data(as_text=True)  # the flash
    db.session.expire_all()
    demand = db.session.get(Demand, demand.id)
    assert demand.state == scenario.state_after
    scenario.check(demand, world)
    event = last_event(demand)
    assert (event.action, event.actor_id, event.to_state) == (scenario.action, user.id, scenario.state_after)
    if scenario.action == "return":  # no longer the department's: back to the queue
        assert not response.headers["Location"].startswith(f"/demands/{demand.id}")
        auth.logout()
        auth.login(world.officer)
    else:
        assert response.headers["Location"].startswith(f"/demands/{demand.id}")
    page = client.get(f"/demands/{demand.id}").get_data(as_text=True)
    timeline = page.split('id="timeline"')[1].split("</section>")[0]
    assert f'data-action="{scenario.action}"' in timeline
    assert f'data-action="{scenario.action}" data-to-state="{scenario.state_after}"' in timeline


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.action)
def test_the_wrong_user_is_refused_and_nothing_changes(scenario: Scenario, client, auth, world,
                                                       demand_in) -> None:
    demand = demand_in(scenario.stage)
    before = snapshot(demand)
    auth.login(world.user(scenario.wrong))
    response = post_action(client, demand, scenario.action, scenario.data(world))
    if scenario.wrong == "admin":  # an administrator does not see demands at all
        assert response.status_code == 404
    else:
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert "You may not do this on this demand." in page
        assert f'id="action-{scenario.action}"' not in page
    assert snapshot(demand) == before


def test_a_handler_of_another_department_gets_404_and_changes_nothing(client, auth, world, demand_in,
                                                                     make_department, make_user) -> None:
    demand = demand_in("assigned")
    before = snapshot(demand)
    stranger = make_user(Role.HANDLER, username="stranger", department=make_department("商务局", "商务局"))
    auth.login(stranger)
    assert post_action(client, demand, "sign").status_code == 404
    assert post_action(client, demand, "comment", {"text": "看看"}).status_code == 404
    assert snapshot(demand) == before


def test_an_action_in_the_wrong_state_says_so(client, auth, world, demand_in) -> None:
    demand = demand_in("accepted")
    auth.login(world.handler)
    response = post_action(client, demand, "sign")
    assert response.status_code == 422
    assert "This cannot be done while the demand is accepted." in response.get_data(as_text=True)


def test_an_unknown_action_is_404(client, auth, world, demand_in) -> None:
    demand = demand_in("assigned")
    auth.login(world.handler)
    assert post_action(client, demand, "delete").status_code == 404


def test_a_missing_field_is_named_beside_it(client, auth, world, demand_in) -> None:
    demand = demand_in("assigned")
    before = snapshot(demand)
    auth.login(world.handler)
    response = post_action(client, demand, "return", {"reason": "   "})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'class="form-control is-invalid" id="return-reason"' in page
    # the message sits under the field it is about
    under = r'id="return-reason".*?</textarea>\s*<div class="invalid-feedback d-block">This field is'
    assert re.search(under, page, re.S)
    assert snapshot(demand) == before


def test_a_planned_response_needs_a_milestone_beside_the_date(client, auth, world, demand_in) -> None:
    demand = demand_in("accepted")
    before = snapshot(demand)
    auth.login(world.handler)
    response = post_action(client, demand, "respond",
                           {"outcome": "planned", "text": "明年解决", "planned_on": "2026-12-31"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "A planned solution needs a date and at least one milestone." in page
    assert "明年解决" in page  # what was typed is kept
    assert snapshot(demand) == before


def test_dispatch_without_a_lead_department_is_refused(client, auth, world, demand_in) -> None:
    demand = demand_in("registered")
    before = snapshot(demand)
    auth.login(world.officer)
    response = post_action(client, demand, "dispatch", {"lead_department_id": "0", "urgency": "normal"})
    assert response.status_code == 422
    assert "This field is required." in response.get_data(as_text=True)
    assert snapshot(demand) == before


def test_a_request_for_an_earlier_day_is_refused(client, auth, world, demand_in) -> None:
    demand = demand_in("accepted")
    before = snapshot(demand)
    auth.login(world.handler)
    response = post_action(client, demand, "request_extension",
                           {"reason": "需要更久", "new_due": "2026-06-20"})
    assert response.status_code == 422
    assert "Ask for a day after the current deadline" in response.get_data(as_text=True)
    assert snapshot(demand) == before


def test_unsatisfied_feedback_reopens(client, auth, world, demand_in) -> None:
    demand = demand_in("responded")
    auth.login(world.officer)
    assert post_action(client, demand, "record_feedback", {"feedback": "unsatisfied",
                                                           "text": "企业不满意"}).status_code == 302
    db.session.expire_all()
    demand = db.session.get(Demand, demand.id)
    assert (demand.state, demand.reopen_count) == ("accepted", 1)
    assert last_event(demand).text == "企业不满意"


def test_close_as_duplicate_by_number(client, auth, world, demand_in, make_demand) -> None:
    original = make_demand("新建生产线用地（首次）")
    demand = demand_in("assigned")
    auth.login(world.leader)
    response = post_action(client, demand, "close", {"close_reason": "duplicate", "reason": "重复登记",
                                                     "duplicate_of_id": original.number})
    assert response.status_code == 302
    db.session.expire_all()
    demand = db.session.get(Demand, demand.id)
    assert (demand.state, demand.close_reason, demand.duplicate_of_id) == ("closed", "duplicate", original.id)
    page = client.get(f"/demands/{demand.id}").get_data(as_text=True)
    assert 'id="duplicate-of"' in page and original.number in page


def test_close_as_duplicate_of_an_unknown_number_is_refused(client, auth, world, demand_in) -> None:
    demand = demand_in("assigned")
    before = snapshot(demand)
    auth.login(world.leader)
    response = post_action(client, demand, "close", {"close_reason": "duplicate", "reason": "重复",
                                                     "duplicate_of_id": "2026-9999"})
    assert response.status_code == 422
    assert "No demand has this number." in response.get_data(as_text=True)
    response = post_action(client, demand, "close", {"close_reason": "duplicate", "reason": "重复"})
    assert response.status_code == 422
    assert snapshot(demand) == before


def test_a_stale_version_is_refused_and_nothing_is_overwritten(client, auth, world, demand_in) -> None:
    demand = demand_in("assigned")
    seen = demand.version
    # Meanwhile a leader flags the demand: its version moves on.
    take_action(demand, Action.FLAG_KEY_SUPERVISION, world.leader, {"reason": "市领导关注"}, seen,
                _at("2026-06-16T09:30+08:00"))
    db.session.commit()
    before = snapshot(demand)
    auth.login(world.handler)
    response = post_action(client, demand, "return", {"reason": "不属于本部门职责"}, version=seen)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert 'id="stale-edit"' in page
    assert "changed while you were looking at it" in page
    assert f'href="/demands/{demand.id}"' in page  # the link to reload
    assert "不属于本部门职责" in page  # what was typed is not lost
    assert snapshot(demand) == before
    # The page shown carries the current version: sending again, knowingly, works.
    response = post_action(client, demand, "return", {"reason": "不属于本部门职责"})
    assert response.status_code == 302
    assert snapshot(demand)[0] == "registered"


def test_every_form_carries_the_version(client, auth, world, demand_in) -> None:
    demand = demand_in("assigned")
    auth.login(world.handler)
    page = client.get(f"/demands/{demand.id}").get_data(as_text=True)
    for action in ("sign", "return", "progress", "comment"):
        assert f'id="{action}-version" name="version" type="hidden" value="{demand.version}"' in page
