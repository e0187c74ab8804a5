"""The morning digests (one per department handler, one per officer) and the leaders' weekly summary:
one mail per person and day or week, never twice, nothing on a day off, a fixed number of queries."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from servicedesk.chaser import digests
from servicedesk.demands.operations import take_action
from servicedesk.domain.lifecycle import Action
from servicedesk.extensions import db
from servicedesk.models import ChaseRecord, DemandEvent, OutboxMessage, Role

DISPATCHED = datetime.fromisoformat("2026-06-15T09:00+08:00")  # the make_demand fixture's moment
BASE = "http://127.0.0.1:5000"


def at(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


def _mail(user, address: str | None = None, locale: str | None = "en"):
    user.email = address or f"{user.username}@zone.example.cn"
    user.locale = locale
    db.session.commit()
    return user


def _outbox() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _sign(demand, handler, now: datetime = DISPATCHED) -> None:
    take_action(demand, Action.SIGN, handler, {}, None, now)
    db.session.commit()


def _respond(demand, handler, now: datetime = DISPATCHED) -> None:
    take_action(demand, Action.RESPOND, handler, {"outcome": "solved", "text": "已协调解决。"}, None, now)
    db.session.commit()


def _link(demand) -> str:
    return f"{BASE}/demands/{demand.id}"


# The department digest

def test_a_departments_items_come_in_one_mail_per_handler(make_demand, department, handler) -> None:
    _mail(handler)
    demands = [make_demand(f"诉求{n}", dispatch_to=department) for n in range(3)]

    assert digests.queue_department_digests(at("2026-06-16T08:30+08:00")) == 1
    db.session.commit()
    [message] = _outbox()
    assert message.idempotency_key == f"digest:department:{department.id}:2026-06-16:{handler.id}"
    assert message.kind == "digest_department" and message.status == "pending"
    assert message.recipient_id == handler.id and message.to_address == handler.email
    for demand in demands:
        assert _link(demand) in message.body_text and f'href="{_link(demand)}"' in message.body_html
    assert message.subject.startswith("[Reminder] ")


def test_not_twice_the_same_day_but_again_the_next(make_demand, department, handler) -> None:
    _mail(handler)
    make_demand(dispatch_to=department)
    assert digests.queue_department_digests(at("2026-06-16T08:30+08:00")) == 1
    db.session.commit()
    assert digests.queue_department_digests(at("2026-06-16T08:45+08:00")) == 0
    assert digests.queue_department_digests(at("2026-06-16T17:00+08:00")) == 0
    db.session.commit()
    assert digests.queue_department_digests(at("2026-06-17T08:30+08:00")) == 1
    db.session.commit()
    assert [m.idempotency_key.split(":")[3] for m in _outbox()] == ["2026-06-16", "2026-06-17"]


def test_every_handler_with_mail_gets_it(make_demand, department, handler, make_user) -> None:
    head = _mail(make_user(Role.HANDLER, department=department, is_head=True))
    _mail(handler)
    make_user(Role.HANDLER, department=department)  # no mail address: the bell only
    make_demand(dispatch_to=department)

    assert digests.queue_department_digests(at("2026-06-16T08:30+08:00")) == 2
    assert sorted(m.recipient_id for m in _outbox()) == sorted([head.id, handler.id])


def test_a_digest_queued_meanwhile_by_another_process_is_not_queued_again(make_demand, department, handler,
                                                                         monkeypatch) -> None:
    _mail(handler)
    make_demand(dispatch_to=department)
    now = at("2026-06-16T08:30+08:00")
    assert digests.queue_department_digests(now) == 1
    db.session.commit()
    # another scheduler's run committed its digests after this one looked for them
    monkeypatch.setattr(digests, "_existing_keys", lambda _pattern: set())
    assert digests.queue_department_digests(now) == 0
    db.session.commit()  # the transaction is still usable
    assert len(_outbox()) == 1


@pytest.mark.parametrize("day", ["2026-06-19", "2026-06-20", "2026-06-21"])
def test_nothing_on_a_day_off(make_demand, department, handler, day: str) -> None:
    _mail(handler)
    make_demand(dispatch_to=department)
    # the Dragon Boat Festival (Friday) and the weekend after it
    assert digests.queue_department_digests(at(f"{day}T08:30+08:00")) == 0
    assert _outbox() == []


def test_nothing_for_a_department_with_nothing_open(make_demand, department, other_department,
                                                     make_user) -> None:
    _mail(make_user(Role.HANDLER, department=other_department))
    make_demand(dispatch_to=department)
    assert digests.queue_department_digests(at("2026-06-16T08:30+08:00")) == 0


def test_items_by_card_the_most_urgent_first(make_demand, department, handler, make_user) -> None:
    _mail(handler)
    overdue = make_demand("逾期未签收", dispatch_to=department)        # sign due Tue 16 June
    urgent = make_demand("急件", dispatch_to=department, urgency="urgent")
    _sign(urgent, handler)                                               # respond due Thu 18 June
    normal = make_demand("常规件", dispatch_to=department)
    _sign(normal, handler)                                               # respond due Tue 30 June
    take_action(normal, Action.ADD_MILESTONE, handler, {"title": "完成规划调整", "due_on": "2026-06-22"},
                None, DISPATCHED)
    overdue.escalation_level = 1
    db.session.commit()

    assert digests.queue_department_digests(at("2026-06-18T08:30+08:00")) == 1
    text = _outbox()[0].body_text
    red, yellow, other = (text.index(h) for h in ("Overdue (red card) (1)", "Due soon (yellow card) (2)",
                                                   "In progress (1)"))
    assert red < text.index(_link(overdue)) < yellow < text.index(_link(urgent)) < other
    assert "sign by 2026-06-16" in text and "2 working days overdue" in text
    assert "escalated to the department head" in text
    assert "respond by 2026-06-18" in text and "due today" in text
    assert "milestone “完成规划调整” by 2026-06-22" in text
    assert "respond by 2026-06-30" in text.split("In progress")[1]


def test_the_days_escalations_are_noted(make_demand, department, handler) -> None:
    _mail(handler)
    demand = make_demand(dispatch_to=department)
    event = DemandEvent(demand_id=demand.id, at=at("2026-06-17T08:00+08:00"), action="escalated", details={})
    db.session.add(event)
    db.session.flush()
    db.session.add(ChaseRecord(idempotency_key="k1", demand_id=demand.id, event_id=event.id,
                               kind="escalate_head", deadline="sign", due=date(2026, 6, 16),
                               working_day=date(2026, 6, 17), department_id=department.id))
    db.session.commit()

    assert digests.queue_department_digests(at("2026-06-17T08:30+08:00")) == 1
    assert "escalated today" in _outbox()[0].body_text


def test_the_digest_in_chinese(make_demand, department, handler) -> None:
    _mail(handler, locale=None)
    demand = make_demand(dispatch_to=department)
    digests.queue_department_digests(at("2026-06-17T08:30+08:00"))
    message = _outbox()[0]
    assert message.subject.startswith("【") and department.short_name in message.subject
    assert "2026年6月16日" in message.body_text and _link(demand) in message.body_text
    assert '<html lang="zh-CN">' in message.body_html


# The officer's digest

def test_officers_get_their_own_digest_of_feedback(make_demand, department, handler, officer) -> None:
    _mail(officer)
    _mail(handler)
    awaiting = make_demand("待回访", dispatch_to=department)
    _sign(awaiting, handler)
    _respond(awaiting, handler)                                          # feedback due Thu 18 June
    extended = make_demand("申请延期", dispatch_to=department)
    _sign(extended, handler)
    take_action(extended, Action.REQUEST_EXTENSION, handler,
                {"reason": "需要补充材料", "new_due": "2026-07-15"}, None, DISPATCHED)
    db.session.commit()

    assert digests.queue_department_digests(at("2026-06-17T08:30+08:00")) == 2
    by_kind = {m.kind: m for m in _outbox()}
    mine = by_kind["digest_officer"]
    assert mine.idempotency_key == f"digest:officer:2026-06-17:{officer.id}"
    assert mine.recipient_id == officer.id
    text = mine.body_text
    assert _link(awaiting) in text and "record the company's feedback by 2026-06-18" in text
    assert _link(extended) in text and "decide the extension request (to 2026-07-15)" in text
    # the department is not chased for the feedback the officer owes
    assert _link(awaiting) not in by_kind["digest_department"].body_text
    assert _link(extended) in by_kind["digest_department"].body_text
    assert digests.queue_department_digests(at("2026-06-17T09:00+08:00")) == 0


def test_officers_with_nothing_waiting_get_nothing(make_demand, department, officer) -> None:
    _mail(officer)
    make_demand(dispatch_to=department)
    assert digests.queue_department_digests(at("2026-06-17T08:30+08:00")) == 0


# The weekly summary

@pytest.mark.parametrize(("day", "queued"), [
    ("2026-06-15", 1),  # Monday
    ("2026-06-16", 0),
    ("2026-10-05", 0),  # Monday of National Day week: a holiday
    ("2026-10-07", 0),
    ("2026-10-08", 1),  # Thursday, the first working day of that week
    ("2026-10-09", 0),
    ("2026-10-10", 0),  # a make-up working Saturday, not the first working day of its week
    ("2026-10-11", 0),
    ("2026-10-12", 1),
])
def test_weekly_summary_on_the_first_working_day_of_the_week(calendar_2026, leader, day: str,
                                                            queued: int) -> None:
    _mail(leader)
    assert digests.queue_weekly_summary(at(f"{day}T08:30+08:00")) == queued


def test_weekly_summary_once_a_week_per_leader(calendar_2026, leader, make_user) -> None:
    _mail(leader)
    second = _mail(make_user(Role.LEADER))
    make_user(Role.LEADER)  # no address
    assert digests.queue_weekly_summary(at("2026-10-08T08:30+08:00")) == 2
    db.session.commit()
    assert digests.queue_weekly_summary(at("2026-10-08T09:30+08:00")) == 0
    assert sorted(m.idempotency_key for m in _outbox()) == sorted(
        [f"weekly:2026-W41:{leader.id}", f"weekly:2026-W41:{second.id}"])
    assert {m.kind for m in _outbox()} == {"weekly_summary"}


def test_weekly_summary_says_what_is_open_overdue_behind_and_supervised(
        make_demand, department, other_department, handler, leader) -> None:
    _mail(leader)
    late = [make_demand(f"逾期{n}", dispatch_to=department) for n in range(2)]  # sign due 16 June
    other_late = make_demand("他部门逾期", dispatch_to=other_department)
    flagged = make_demand("重点诉求", dispatch_to=department, urgency="complex")
    _sign(flagged, handler)
    take_action(flagged, Action.FLAG_KEY_SUPERVISION, leader, {"reason": "市领导关注"}, None, DISPATCHED)
    make_demand("未交办")
    db.session.commit()

    assert digests.queue_weekly_summary(at("2026-06-22T08:30+08:00")) == 1
    message = _outbox()[0]
    text = message.body_text
    assert message.subject == "[Weekly summary] week 26 of 2026: 5 open, 3 overdue"
    assert "5 open demands, 3 of them overdue and 1 under key supervision" in text
    assert "Last week 5 demands were logged and 0 closed." in text
    behind = text.split("Departments with the most overdue demands")[1]
    assert behind.index(department.name) < behind.index(other_department.name)
    assert f"{department.name} — 2 overdue" in text and f"{other_department.name} — 1 overdue" in text
    supervised = text.split("Key supervision (1)")[1]
    assert _link(flagged) in supervised
    assert all(_link(d) not in supervised for d in [*late, other_late])


# Queries

def _grow(make_demand, make_department, make_user, officer, handler_of, n: int) -> None:
    """n departments with two handlers each, three demands each (one overdue, one in progress with a
    milestone, one responded for the officer's feedback), an extension request and a chase record."""
    for number in range(n):
        dept = make_department()
        first = _mail(make_user(Role.HANDLER, department=dept, is_head=True))
        _mail(make_user(Role.HANDLER, department=dept), locale=None)
        make_demand(f"未签收{number}", dispatch_to=dept)
        going = make_demand(f"办理中{number}", dispatch_to=dept)
        _sign(going, first)
        take_action(going, Action.ADD_MILESTONE, first, {"title": "节点", "due_on": "2026-06-23"}, None,
                    DISPATCHED)
        take_action(going, Action.REQUEST_EXTENSION, first, {"reason": "材料", "new_due": "2026-07-20"},
                    None, DISPATCHED)
        answered = make_demand(f"已答复{number}", dispatch_to=dept, by=officer)
        _sign(answered, first)
        _respond(answered, first)
        event = DemandEvent(demand_id=going.id, at=DISPATCHED, action="reminded", details={})
        db.session.add(event)
        db.session.flush()
        db.session.add(ChaseRecord(idempotency_key=f"k{going.id}", demand_id=going.id, event_id=event.id,
                                   kind="due_soon", deadline="milestone", due=date(2026, 6, 23),
                                   working_day=date(2026, 6, 17), department_id=dept.id))
        db.session.commit()


def test_the_digests_run_a_fixed_number_of_queries(make_demand, make_department, make_user, officer,
                                                   leader, count_queries) -> None:
    _mail(officer)
    _mail(leader)
    now = at("2026-06-22T08:30+08:00")  # a Monday: the weekly summary too

    def measure() -> tuple[int, int, int, int]:
        with count_queries() as daily:
            queued_daily = digests.queue_department_digests(now)
        with count_queries() as weekly:
            queued_weekly = digests.queue_weekly_summary(now)
        db.session.rollback()  # measure the same moment again with more data
        return daily.count, weekly.count, queued_daily, queued_weekly

    _grow(make_demand, make_department, make_user, officer, None, 1)
    few = measure()
    _grow(make_demand, make_department, make_user, officer, None, 4)
    many = measure()
    assert few[2:] == (3, 1) and many[2:] == (11, 1)  # two handlers per department and the officer
    assert many[:2] == few[:2]
    assert few[0] <= 13 and few[1] <= 8, few
