"""The co-departments' copy of their demand's state (demand_co_departments.demand_state, kept by the
triggers of migration 0008) follows the demand through its lifecycle, bulk writes that bypass the
application and the benchmark's bulk generator, on SQLite and PostgreSQL; and the department's lists
and queue read the same demands through it as through the demands' own state."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, or_, select, text, union, update

from servicedesk.demands.lists import queue_sections
from servicedesk.demands.operations import department_demand_ids, take_action
from servicedesk.demands.search import DemandFilters, DepartmentRole, card_window, demand_query
from servicedesk.domain.lifecycle import Action
from servicedesk.extensions import db
from servicedesk.models import Demand, Department, Role, User
from servicedesk.models.demand import demand_co_departments

co = demand_co_departments.c


def at(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


def co_states(demand_id: int) -> dict[int, str | None]:
    """department id -> the state its co-department row holds."""
    return dict(db.session.execute(select(co.department_id, co.demand_state)
                                   .where(co.demand_id == demand_id)).all())


def astray() -> int:
    """The co-department rows whose state is not their demand's."""
    return db.session.execute(text(
        "SELECT count(*) FROM demand_co_departments c JOIN demands d ON d.id = c.demand_id "
        "WHERE c.demand_state IS NULL OR c.demand_state <> d.state")).scalar_one()


# Through the lifecycle

@pytest.fixture
def third_department(make_department: Any) -> Department:
    return make_department("市场监督管理局")


def test_the_state_follows_the_demand_through_its_lifecycle(
        make_demand, department, other_department, third_department, make_user, officer, leader) -> None:
    handler = make_user(Role.HANDLER, department=department)
    demand = make_demand(dispatch_to=department, co=(other_department, third_department))
    assert co_states(demand.id) == {other_department.id: "assigned", third_department.id: "assigned"}

    take_action(demand, Action.RETURN, handler, {"reason": "不属于本部门职责"}, None,
                at("2026-06-15T10:00+08:00"))
    db.session.commit()
    assert demand.state == "registered" and co_states(demand.id) == {}  # a return drops the co-departments

    # dispatched again to another lead, with other co-departments
    take_action(demand, Action.DISPATCH, officer, {
        "lead_department_id": other_department.id, "urgency": "normal",
        "co_department_ids": [department.id, third_department.id]}, None, at("2026-06-15T11:00+08:00"))
    db.session.commit()
    assert co_states(demand.id) == {department.id: "assigned", third_department.id: "assigned"}

    lead = make_user(Role.HANDLER, department=other_department)
    steps = [
        (Action.SIGN, lead, {}, "accepted"),
        (Action.RESPOND, lead, {"outcome": "solved", "text": "已协调"}, "responded"),
        (Action.RECORD_FEEDBACK, officer, {"feedback": "unsatisfied"}, "accepted"),  # reopened
        (Action.RESPOND, lead, {"outcome": "solved", "text": "再次答复"}, "responded"),
        (Action.RECORD_FEEDBACK, officer, {"feedback": "satisfied"}, "closed"),
    ]
    for day, (action, actor, values, state) in enumerate(steps, start=16):
        take_action(demand, action, actor, values, None, at(f"2026-06-{day}T10:00+08:00"))
        db.session.commit()
        assert demand.state == state
        assert co_states(demand.id) == {department.id: state, third_department.id: state}, action

    withdrawn = make_demand("电力增容", dispatch_to=department, co=(other_department,))
    take_action(withdrawn, Action.CLOSE, leader, {"close_reason": "withdrawn"}, None,
                at("2026-06-16T12:00+08:00"))
    db.session.commit()
    assert co_states(withdrawn.id) == {other_department.id: "closed"}
    assert astray() == 0


def test_a_row_written_by_hand_takes_its_demands_state(make_demand, department, other_department,
                                                       third_department) -> None:
    demand = make_demand(dispatch_to=department)
    # the ORM's way (the two ids) and a wrong state given by hand
    db.session.execute(insert(demand_co_departments).values(demand_id=demand.id,
                                                            department_id=other_department.id))
    db.session.execute(insert(demand_co_departments).values(demand_id=demand.id,
                                                            department_id=third_department.id,
                                                            demand_state="closed"))
    assert co_states(demand.id) == {other_department.id: "assigned", third_department.id: "assigned"}
    db.session.execute(update(demand_co_departments).where(co.demand_id == demand.id)
                       .values(demand_state="responded"))
    assert co_states(demand.id) == {other_department.id: "assigned", third_department.id: "assigned"}
    moved_to = make_demand("融资", dispatch_to=department)
    db.session.execute(update(Demand).where(Demand.id == moved_to.id).values(state="accepted"))
    db.session.execute(update(demand_co_departments)
                       .where(co.demand_id == demand.id, co.department_id == third_department.id)
                       .values(demand_id=moved_to.id))
    db.session.commit()
    assert co_states(moved_to.id) == {third_department.id: "accepted"}
    assert astray() == 0


# A year of the benchmark's data, and writes that bypass the application

STATE_SETS = [("assigned",), ("accepted",), ("assigned", "accepted"), ("responded",), ("closed",),
              ("registered", "closed")]


def _by_demands_state(department_id: int, states: tuple[str, ...]) -> set[int]:
    """The demands the department leads or co-handles in these states, read from the demands' own
    state (what department_demand_ids gave before the copy)."""
    ids = union(select(Demand.id).where(Demand.lead_department_id == department_id),
                select(co.demand_id).where(co.department_id == department_id)).subquery()
    return set(db.session.scalars(select(Demand.id).where(Demand.id.in_(select(ids)),
                                                          Demand.state.in_(states))))


def _differences() -> list[tuple[int, tuple[str, ...]]]:
    departments = db.session.scalars(select(Department.id).order_by(Department.id)).all()
    found = []
    for department_id in departments:
        for states in STATE_SETS:
            listed = set(db.session.scalars(department_demand_ids(department_id, states=states)))
            co_only = set(db.session.scalars(department_demand_ids(department_id, lead=False, states=states)))
            states_of = set(db.session.scalars(select(Demand.state).where(Demand.id.in_(listed | co_only))))
            if listed != _by_demands_state(department_id, states) or not states_of <= set(states):
                found.append((department_id, states))
    return found


def test_the_generators_rows_hold_their_demands_state(bench_year: Any) -> None:
    assert db.session.scalar(select(func.count()).select_from(demand_co_departments)) > 30
    assert astray() == 0
    assert _differences() == []


def test_the_state_follows_bulk_writes(bench_year: Any) -> None:
    """Bulk statements, as an import or a repair would write: on PostgreSQL one statement trigger."""
    co_handled = select(co.demand_id)
    changed = db.session.execute(update(Demand).where(Demand.id % 3 == 0, Demand.id.in_(co_handled))
                                 .values(state="closed")).rowcount
    db.session.execute(update(Demand).where(Demand.id % 3 == 1, Demand.state == "closed",
                                            Demand.id.in_(co_handled)).values(state="accepted"))
    db.session.execute(update(Demand).where(Demand.id % 3 == 2).values(urgency="urgent"))  # no state changes
    db.session.commit()
    assert changed > 5
    assert astray() == 0
    assert _differences() == []
    # a demand removed with its co-departments leaves no row behind
    demand_id = db.session.scalar(select(co.demand_id).limit(1))
    db.session.execute(delete(demand_co_departments).where(co.demand_id == demand_id))
    db.session.commit()
    assert astray() == 0


def test_the_handlers_queue_and_department_lists_read_the_same_demands(bench_year: Any) -> None:
    """Each section of a co-handling department's handler, and the list by department and state,
    against the same conditions written with the demands' own state."""
    window = card_window()
    busiest = db.session.execute(select(co.department_id).group_by(co.department_id)
                                 .order_by(func.count().desc()).limit(1)).scalar_one()
    users = db.session.scalars(select(User).order_by(User.id)).all()
    handler = next(u for u in users if u.department_id == busiest and u.has_role(Role.HANDLER))
    officer = next(u for u in users if u.has_role(Role.OFFICER))  # sees every demand
    filters = [s.filters for s in queue_sections(handler) if s.role is Role.HANDLER]
    filters += [DemandFilters(states=states, department_id=busiest, department_role=role)
                for states in STATE_SETS for role in (DepartmentRole.ANY, DepartmentRole.CO)]
    shown = 0
    for chosen in filters:
        listed = set(db.session.scalars(demand_query(handler, chosen, window).with_only_columns(Demand.id)))
        mine = Demand.id.in_(select(co.demand_id).where(co.department_id == busiest))
        if chosen.department_role is DepartmentRole.ANY:
            mine = or_(mine, Demand.lead_department_id == busiest)
        elif chosen.department_role is DepartmentRole.LEAD:
            mine = Demand.lead_department_id == busiest
        expected = set(db.session.scalars(demand_query(officer, replace(chosen, department_id=None), window)
                                          .with_only_columns(Demand.id).where(mine)))
        assert listed == expected, chosen
        shown += len(listed)
    assert shown > 0

