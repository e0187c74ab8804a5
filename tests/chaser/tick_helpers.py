"""A zone with a deadline of every kind, for the tick's tests (test_tick, test_notices, test_chase_cli).

Demands are dispatched on Monday 15 June 2026 at 09:00 (tests/conftest.py DEMAND_NOW): signing is due
Tuesday 16 June, a normal response Tuesday 30 June (19 June is the Dragon Boat Festival), feedback
three working days after the response.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from servicedesk.demands.operations import take_action
from servicedesk.domain.lifecycle import Action
from servicedesk.extensions import db
from servicedesk.models import (
    ChaseRecord,
    DemandEvent,
    Department,
    EscalationNotice,
    Notification,
    OutboxMessage,
    Role,
    User,
)

ON_DISPATCH_DAY = "2026-06-15T10:00+08:00"
#: the day the scenario's tick runs: Monday 29 June 2026, 09:00 Beijing time
SCENARIO_NOW = "2026-06-29T09:00+08:00"


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def act(demand: Any, action: Action, user: User, when: str = ON_DISPATCH_DAY, **values: Any) -> None:
    take_action(demand, action, user, values, None, moment(when))
    db.session.commit()


def with_email(user: User) -> User:
    user.email = f"{user.username}@desk.example"
    db.session.commit()
    return user


def count(model: Any, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def totals() -> dict[str, int]:
    """How many rows the chaser has written, by table."""
    return {model.__tablename__: count(model) for model in
            (ChaseRecord, EscalationNotice, Notification, OutboxMessage)} | {
        "chase events": count(DemandEvent, DemandEvent.action.in_(("remind", "escalate")))}


@dataclass
class Scenario:
    """At SCENARIO_NOW:

    - overdue: assigned to `department`, signing due 16 June, 8 working days overdue: a reminder and
      both escalations;
    - accepted: signed, respond due 30 June (due soon), a milestone due today, an extension request
      pending (its decision due 30 June, due soon);
    - responded: led by `other_department`, answered on 15 June, feedback due 18 June, overdue (the
      officer's: no escalation);
    - registered: not dispatched, nothing to chase.
    """

    department: Department
    other_department: Department
    handler: User
    head: User
    other_handler: User
    officer: User
    leader: User
    overdue: Any
    accepted: Any
    responded: Any
    registered: Any


def build_scenario(make_demand: Any, make_user: Any, department: Department, other_department: Department,
                   handler: User, officer: User, leader: User) -> Scenario:
    head = with_email(make_user(Role.HANDLER, username="head", department=department, is_head=True,
                                display_name="刘主任"))
    other_handler = make_user(Role.HANDLER, username="other", department=other_department)
    with_email(leader)
    overdue = make_demand("新建生产线用地", dispatch_to=department)
    accepted = make_demand("研发人员人才公寓", dispatch_to=department)
    act(accepted, Action.SIGN, handler)
    act(accepted, Action.ADD_MILESTONE, handler, title="完成规划条件论证", due_on=date(2026, 6, 29))
    act(accepted, Action.REQUEST_EXTENSION, handler, "2026-06-26T16:00+08:00",
        reason="需报市局统筹。", new_due=date(2026, 7, 15))
    responded = make_demand("加快临床试验批件审批", dispatch_to=other_department)
    act(responded, Action.SIGN, other_handler)
    act(responded, Action.RESPOND, other_handler, outcome="solved", text="批件已获批。")
    registered = make_demand("园区道路限行")
    return Scenario(department, other_department, handler, head, other_handler, officer, leader,
                    overdue, accepted, responded, registered)
