"""The lifecycle through demands.operations: effects, deadlines, events, refusals, stale versions."""

from __future__ import annotations

import threading
import time
from datetime import date, datetime

import pytest
from sqlalchemy import select

from servicedesk.audit import StaleEdit
from servicedesk.demands.operations import DemandRefused, NewDemand, log_demand, next_number, take_action
from servicedesk.domain.lifecycle import Action, Refusal
from servicedesk.extensions import db
from servicedesk.models import DemandEvent, Role, User
from servicedesk.models.demand import AppendOnlyError


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_dispatch_sets_deadlines_from_the_time_limits(make_demand, department, officer) -> None:
    demand = make_demand(dispatch_to=department)  # Monday 15 June 2026
    assert demand.state == "assigned"
    assert demand.sign_due == date(2026, 6, 16)
    assert demand.respond_due == date(2026, 6, 30)  # 10 working days; 19 June is 端午节
    assert (demand.current_step, demand.current_due) == ("sign", date(2026, 6, 16))
    actions = [e.action for e in demand.events]
    assert actions == ["logged", "dispatch"]
    assert demand.events[-1].actor_role == "officer"
    assert demand.number.startswith("2026-")


def test_the_whole_happy_path(make_demand, department, officer, handler, leader) -> None:
    demand = make_demand(dispatch_to=department)
    take_action(demand, Action.SIGN, handler, {}, demand.version, at("2026-06-17T10:00+08:00"))
    assert demand.state == "accepted" and demand.signed_late  # due the 16th
    take_action(demand, Action.RESPOND, handler, {"outcome": "solved", "text": "已协调用地指标"},
                demand.version, at("2026-06-20T10:00+08:00"))
    assert demand.state == "responded"
    assert demand.feedback_due == date(2026, 6, 24)
    take_action(demand, Action.RECORD_FEEDBACK, officer, {"feedback": "unsatisfied"}, demand.version,
                at("2026-06-22T10:00+08:00"))
    assert demand.state == "accepted" and demand.reopen_count == 1
    assert demand.respond_due == date(2026, 7, 6)
    take_action(demand, Action.RESPOND, handler, {"outcome": "solved", "text": "再次答复"},
                demand.version, at("2026-06-23T10:00+08:00"))
    take_action(demand, Action.RECORD_FEEDBACK, officer, {"feedback": "satisfied"}, demand.version,
                at("2026-06-24T10:00+08:00"))
    db.session.commit()
    assert demand.state == "closed" and demand.close_reason == "satisfied"
    assert demand.current_due is None
    assert [e.to_state for e in demand.events] == [
        "registered", "assigned", "accepted", "responded", "accepted", "responded", "closed"]


def test_a_refused_action_changes_nothing(make_demand, department, other_department, make_user) -> None:
    demand = make_demand(dispatch_to=department)
    stranger = make_user(Role.HANDLER, department=other_department)
    version, events = demand.version, len(demand.events)
    with pytest.raises(DemandRefused) as refused:
        take_action(demand, Action.SIGN, stranger, {}, version, at("2026-06-16T10:00+08:00"))
    assert refused.value.refusal is Refusal.NOT_ALLOWED
    db.session.rollback()
    assert demand.state == "assigned" and demand.version == version and len(demand.events) == events


def test_missing_fields_are_named(make_demand, department, handler) -> None:
    demand = make_demand(dispatch_to=department)
    with pytest.raises(DemandRefused) as refused:
        take_action(demand, Action.RETURN, handler, {"reason": "  "}, demand.version,
                    at("2026-06-16T10:00+08:00"))
    assert set(refused.value.field_errors) == {"reason"}


def test_a_stale_version_is_refused(make_demand, department, handler) -> None:
    demand = make_demand(dispatch_to=department)
    with pytest.raises(StaleEdit):
        take_action(demand, Action.SIGN, handler, {}, demand.version - 1, at("2026-06-16T10:00+08:00"))


def test_return_sends_it_back_for_dispatch(make_demand, department, handler) -> None:
    demand = make_demand(dispatch_to=department)
    take_action(demand, Action.RETURN, handler, {"reason": "不属于本部门职责"}, demand.version,
                at("2026-06-16T10:00+08:00"))
    db.session.commit()
    assert demand.state == "registered" and demand.lead_department_id is None
    assert demand.returns_count == 1 and demand.current_due is None
    assert demand.events[-1].details["department_id"] == department.id
    assert demand.events[-1].text == "不属于本部门职责"


def test_events_are_append_only(make_demand, department) -> None:
    demand = make_demand(dispatch_to=department)
    event = db.session.scalars(select(DemandEvent).where(DemandEvent.demand_id == demand.id)).first()
    event.text = "edited"
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(DemandEvent, event.id))
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()


def test_provisional_deadlines_are_counted_again_once_their_year_is_loaded(
        make_demand, department, officer, handler) -> None:
    from servicedesk.calendar import store
    from servicedesk.domain.workdays import DayKind, SpecialDay

    demand = make_demand()
    take_action(demand, Action.DISPATCH, officer, {"lead_department_id": department.id, "urgency": "normal"},
                demand.version, at("2026-12-25T10:00+08:00"))
    db.session.commit()
    # 2027 is not loaded: counted Monday to Friday, 1 January included.
    assert demand.respond_due == date(2027, 1, 8) and demand.respond_provisional
    assert demand.sign_due == date(2026, 12, 28) and not demand.sign_provisional
    assert demand.current_due == date(2026, 12, 28)

    store.replace_year(2027, [SpecialDay(date(2027, 1, 1), DayKind.HOLIDAY, "元旦")], store.Source.IMPORT,
                       "2027.csv")
    db.session.commit()
    db.session.refresh(demand)
    assert demand.respond_due == date(2027, 1, 11) and not demand.respond_provisional
    recounted = [e for e in demand.events if e.action == "deadline_recomputed"]
    assert len(recounted) == 1
    assert recounted[0].actor_id is None
    assert recounted[0].details == {"step": "respond", "before": "2027-01-08", "after": "2027-01-11",
                                    "provisional": False}
    # Loading it again moves nothing and records nothing more.
    store.prefill(2026)
    db.session.commit()
    db.session.refresh(demand)
    assert len([e for e in demand.events if e.action == "deadline_recomputed"]) == 1


def test_each_action_is_one_new_version(make_demand, department, officer, handler) -> None:
    demand = make_demand()
    for action, user, values in [
            (Action.DISPATCH, officer, {"lead_department_id": department.id, "urgency": "normal",
                                        "co_department_ids": []}),
            (Action.SIGN, handler, {}),
            (Action.REQUEST_EXTENSION, handler, {"reason": "需报市局", "new_due": "2026-07-31"})]:
        before = demand.version
        take_action(demand, action, user, values, before, at("2026-06-16T10:00+08:00"))
        db.session.commit()
        assert demand.version == before + 1, action


def test_numbers_go_on_past_9999_in_a_year(make_demand) -> None:
    first, second = make_demand("电力增容"), make_demand("消防验收")
    first.number, second.number = "2026-9999", "2026-10000"
    db.session.commit()
    # As text 2026-9999 is the greatest; the last number is 2026-10000.
    assert next_number(2026) == "2026-10001"


def test_two_officers_logging_at_once_get_two_numbers(app, make_demand, officer, company) -> None:
    """The second officer's numbering waits for the first one's commit (SQLite: the write lock
    taken by BEGIN IMMEDIATE; PostgreSQL: the advisory lock of the year's numbers), instead of
    reading the same last number and failing on the unique number at its commit."""
    make_demand()  # 2026-0001
    category_id, officer_id, company_id = make_demand().category_id, officer.id, company.id
    db.session.rollback()  # reading them began a transaction, which on SQLite holds the write lock
    now = at("2026-06-15T10:00:00+08:00")
    numbers: list[str] = []
    errors: list[BaseException] = []
    first_holds, second_starts = threading.Event(), threading.Event()

    def log(title: str) -> str:
        demand = log_demand(NewDemand(company_id, category_id, title, f"{title}：来电反映。", "normal",
                                      source="hotline"), db.session.get(User, officer_id), now)
        return demand.number

    def first() -> None:
        try:
            with app.app_context():
                numbers.append(log("电力增容"))
                db.session.flush()
                first_holds.set()
                second_starts.wait(5)
                time.sleep(0.5)  # the second officer is at the numbering by now
                db.session.commit()
                db.session.remove()
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)
            first_holds.set()

    def second() -> None:
        try:
            first_holds.wait(5)
            with app.app_context():
                second_starts.set()
                numbers.append(log("消防验收"))
                db.session.commit()
                db.session.remove()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert sorted(numbers) == ["2026-0003", "2026-0004"]
