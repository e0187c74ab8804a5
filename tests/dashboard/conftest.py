"""A hand-built June 2026 whose every measure is known: `june` builds it, `JUNE_TODAY` is "now".

Department A (`department`) and B (`other_department`); "today" is Tuesday 30 June 2026. The
time limits are the defaults: sign in 1 working day, respond in 10, feedback in 3. 19 June
(端午节) is a holiday.

| demand | what happened | at the end |
|---|---|---|
| d1 | logged and dispatched to A 1 Jun, signed 2 Jun, solved 10 Jun, satisfied 11 Jun | closed |
| d2 | to A 1 Jun, signed late 4 Jun, partly solved late 22 Jun, basically satisfied 23 Jun | closed |
| d3 | to A 8 Jun, never signed (sign due 9 Jun) | assigned, overdue (department) |
| d4 | to A 29 Jun, not signed yet (sign due 30 Jun) | assigned |
| d5 | to B 2 Jun, returned by B 3 Jun, to A 5 Jun, signed, extended to 10 Jul, explained 29 Jun | responded |
| d6 | to A 1 Jun, signed, solved 5 Jun, unsatisfied 8 Jun (reopened, due 23 Jun) | accepted, overdue |
| d7 | to B 1 Jun, signed, solved 3 Jun, no feedback (due 8 Jun) | responded, overdue (officer) |
| d8 | logged 2 Jun, withdrawn 10 Jun | closed |
| d9 | logged 2 Jun, closed 12 Jun as a duplicate of d1 | closed |
| d10 | to A 20 May, signed, explained 25 May, satisfied 2 Jun | closed |
| d11 | logged 15 Jun, key supervision | registered |
| d12 | logged 20 May | registered |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pytest

from servicedesk.demands.operations import NewDemand, log_demand, take_action
from servicedesk.domain.lifecycle import Action
from servicedesk.domain.workdays import ZONE
from servicedesk.extensions import db
from servicedesk.models import Category, Demand, Department, Role, User

JUNE_TODAY = date(2026, 6, 30)
JUNE_NOW = "2026-06-30T10:00:00+08:00"


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(f"2026-{day}T{hour:02d}:00:00").replace(tzinfo=ZONE)


@dataclass
class June:
    demands: dict[str, Demand]
    department_a: Department
    department_b: Department
    officer: User
    leader: User
    handler_a: User
    handler_b: User

    def ids(self, *names: str) -> set[int]:
        return {self.demands[name].id for name in names}


@pytest.fixture
def june(make_user: Any, officer: User, leader: User, handler: User, department: Department,
         other_department: Department, company: Any, calendar_2026: None, freeze_clock: Any) -> June:
    handler_b = make_user(Role.HANDLER, username="handler_b", department=other_department)
    category = db.session.query(Category).order_by(Category.position).first()
    demands: dict[str, Demand] = {}

    def log(name: str, day: str) -> Demand:
        demands[name] = log_demand(NewDemand(company.id, category.id, f"{name} 诉求", f"{name} 的描述",
                                             "normal", source="visit"), officer, at(day, 9))
        return demands[name]

    def act(name: str, action: Action, user: User, day: str, **values: Any) -> None:
        take_action(demands[name], action, user, values, None, at(day))

    def dispatch(name: str, to: Department, day: str) -> None:
        act(name, Action.DISPATCH, officer, day, lead_department_id=to.id, urgency="normal")

    def respond(name: str, user: User, day: str, outcome: str) -> None:
        act(name, Action.RESPOND, user, day, outcome=outcome, text="答复")

    a, b = department, other_department
    log("d1", "06-01"), dispatch("d1", a, "06-01"), act("d1", Action.SIGN, handler, "06-02")
    respond("d1", handler, "06-10", "solved"), act("d1", Action.RECORD_FEEDBACK, officer, "06-11",
                                                  feedback="satisfied")
    log("d2", "06-01"), dispatch("d2", a, "06-01"), act("d2", Action.SIGN, handler, "06-04")
    respond("d2", handler, "06-22", "partly_solved")
    act("d2", Action.RECORD_FEEDBACK, officer, "06-23", feedback="basically_satisfied")
    log("d3", "06-08"), dispatch("d3", a, "06-08")
    log("d4", "06-29"), dispatch("d4", a, "06-29")
    log("d5", "06-02"), dispatch("d5", b, "06-02")
    act("d5", Action.RETURN, handler_b, "06-03", reason="不属于本部门职责")
    dispatch("d5", a, "06-05"), act("d5", Action.SIGN, handler, "06-05")
    act("d5", Action.REQUEST_EXTENSION, handler, "06-10", reason="需协调", new_due="2026-07-10")
    act("d5", Action.APPROVE_EXTENSION, leader, "06-11", reason="同意")
    respond("d5", handler, "06-29", "explained")
    log("d6", "06-01"), dispatch("d6", a, "06-01"), act("d6", Action.SIGN, handler, "06-01")
    respond("d6", handler, "06-05", "solved")
    act("d6", Action.RECORD_FEEDBACK, officer, "06-08", feedback="unsatisfied")
    log("d7", "06-01"), dispatch("d7", b, "06-01"), act("d7", Action.SIGN, handler_b, "06-01")
    respond("d7", handler_b, "06-03", "solved")
    log("d8", "06-02"), act("d8", Action.CLOSE, leader, "06-10", close_reason="withdrawn")
    log("d9", "06-02")
    act("d9", Action.CLOSE, leader, "06-12", close_reason="duplicate", duplicate_of_id=demands["d1"].id)
    log("d10", "05-20"), dispatch("d10", a, "05-20"), act("d10", Action.SIGN, handler, "05-20")
    respond("d10", handler, "05-25", "explained")
    act("d10", Action.RECORD_FEEDBACK, officer, "06-02", feedback="satisfied")
    log("d11", "06-15"), act("d11", Action.FLAG_KEY_SUPERVISION, leader, "06-15", reason="领导关注")
    log("d12", "05-20")
    db.session.commit()
    freeze_clock(JUNE_NOW)
    return June(demands, a, b, officer, leader, handler, handler_b)
