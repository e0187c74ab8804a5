"""The lifecycle table, exhaustively: every state × action × kind of user, allowed or refused and why.

The expectations here are written out again from issue 5's action table rather than read from the
module's table, so that a wrong row in the table fails a test instead of confirming itself.
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
from collections import Counter
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicedesk.domain import lifecycle
from servicedesk.domain.lifecycle import (
    BY_ACTION,
    OPEN_STATES,
    REFUSED_WHEN,
    TRANSITIONS,
    Action,
    Actor,
    CloseReason,
    DemandFacts,
    Feedback,
    Outcome,
    Party,
    Refusal,
    State,
    allowed_actions,
    check,
    invalid_fields,
    missing_fields,
    parties,
    sets_for,
    target_state,
)
from servicedesk.domain.time_limits import Urgency

LEAD_DEPARTMENT, CO_DEPARTMENT, OTHER_CO_DEPARTMENT, UNRELATED_DEPARTMENT = 1, 2, 3, 9
DISPATCHER_ID = 10


def actor(user_id: int, *roles: str, department_id: int | None = None) -> Actor:
    return Actor(user_id, frozenset(roles), department_id)


ACTORS: Mapping[str, Actor] = {
    "dispatching_officer": actor(DISPATCHER_ID, "officer"),
    "other_officer": actor(11, "officer"),
    "officer_and_leader": actor(12, "officer", "leader"),
    "leader": actor(20, "leader"),
    # a leader placed in the lead department is still no handler of it
    "leader_in_lead_department": actor(21, "leader", department_id=LEAD_DEPARTMENT),
    "lead_handler": actor(30, "handler", department_id=LEAD_DEPARTMENT),
    "co_handler": actor(31, "handler", department_id=CO_DEPARTMENT),
    "unrelated_handler": actor(32, "handler", department_id=UNRELATED_DEPARTMENT),
    "handler_without_department": actor(33, "handler"),
    "admin": actor(40, "admin"),
    "admin_in_lead_department": actor(41, "admin", department_id=LEAD_DEPARTMENT),
}

OFFICERS = frozenset({"dispatching_officer", "other_officer", "officer_and_leader"})
LEADERS = frozenset({"leader", "officer_and_leader", "leader_in_lead_department"})
LEAD = frozenset({"lead_handler"})
CO = frozenset({"co_handler"})
VIEWERS = OFFICERS | LEADERS | LEAD | CO

EXPECTED_PARTIES: Mapping[str, frozenset[Party]] = {
    "dispatching_officer": frozenset({Party.OFFICER, Party.DISPATCHER, Party.VIEWER}),
    "other_officer": frozenset({Party.OFFICER, Party.VIEWER}),
    "officer_and_leader": frozenset({Party.OFFICER, Party.LEADER, Party.VIEWER}),
    "leader": frozenset({Party.LEADER, Party.VIEWER}),
    "leader_in_lead_department": frozenset({Party.LEADER, Party.VIEWER}),
    "lead_handler": frozenset({Party.LEAD, Party.VIEWER}),
    "co_handler": frozenset({Party.CO, Party.VIEWER}),
    "unrelated_handler": frozenset(),
    "handler_without_department": frozenset(),
    "admin": frozenset(),
    "admin_in_lead_department": frozenset(),
}

R, AS, AC, RS, C = State.REGISTERED, State.ASSIGNED, State.ACCEPTED, State.RESPONDED, State.CLOSED
ALL = frozenset(State)

#: issue 5's action table: the states each action may be taken in and the users who may take it
EXPECTED: Mapping[Action, tuple[frozenset[State], frozenset[str]]] = {
    Action.DISPATCH: (frozenset({R}), OFFICERS),
    Action.SIGN: (frozenset({AS}), LEAD),
    Action.RETURN: (frozenset({AS}), LEAD),
    Action.CO_OPINION: (frozenset({AS, AC}), CO),
    Action.PROGRESS: (frozenset({AS, AC, RS}), LEAD | CO),
    Action.REQUEST_EXTENSION: (frozenset({AC}), LEAD),
    Action.APPROVE_EXTENSION: (frozenset({AC}), LEADERS | {"dispatching_officer"}),
    Action.REFUSE_EXTENSION: (frozenset({AC}), LEADERS | {"dispatching_officer"}),
    Action.ADD_MILESTONE: (frozenset({AC, RS}), LEAD),
    Action.COMPLETE_MILESTONE: (frozenset({AC, RS, C}), LEAD),
    Action.RESPOND: (frozenset({AC}), LEAD),
    Action.RECORD_FEEDBACK: (frozenset({RS}), OFFICERS),
    Action.CLOSE: (frozenset({R, AS, AC, RS}), LEADERS),
    Action.FLAG_KEY_SUPERVISION: (frozenset({R, AS, AC, RS}), LEADERS),
    Action.COMMENT: (ALL, VIEWERS),
}

#: the state after each action that does not branch on a value; None: unchanged
EXPECTED_TO_STATE: Mapping[Action, State | None] = {
    Action.DISPATCH: AS,
    Action.SIGN: AC,
    Action.RETURN: R,
    Action.CO_OPINION: None,
    Action.PROGRESS: None,
    Action.REQUEST_EXTENSION: None,
    Action.APPROVE_EXTENSION: None,
    Action.REFUSE_EXTENSION: None,
    Action.ADD_MILESTONE: None,
    Action.COMPLETE_MILESTONE: None,
    Action.RESPOND: RS,
    Action.CLOSE: C,
    Action.FLAG_KEY_SUPERVISION: None,
    Action.COMMENT: None,
}

EXPECTED_REQUIRED: Mapping[Action, tuple[str, ...]] = {
    Action.DISPATCH: ("lead_department_id", "urgency"),
    Action.SIGN: (),
    Action.RETURN: ("reason",),
    Action.CO_OPINION: ("text",),
    Action.PROGRESS: ("text",),
    Action.REQUEST_EXTENSION: ("reason", "new_due"),
    Action.APPROVE_EXTENSION: ("reason",),
    Action.REFUSE_EXTENSION: ("reason",),
    Action.ADD_MILESTONE: ("title", "due_on"),
    Action.COMPLETE_MILESTONE: ("milestone_id",),
    Action.RESPOND: ("outcome", "text"),
    Action.RECORD_FEEDBACK: ("feedback",),
    Action.CLOSE: ("close_reason",),
    Action.FLAG_KEY_SUPERVISION: ("reason",),
    Action.COMMENT: ("text",),
}

#: a complete, acceptable submission of each action
VALID_VALUES: Mapping[Action, Mapping[str, object]] = {
    Action.DISPATCH: {"lead_department_id": LEAD_DEPARTMENT, "urgency": "normal",
                      "co_department_ids": [CO_DEPARTMENT], "note": ""},
    Action.SIGN: {},
    Action.RETURN: {"reason": "用地规划不属于本部门职责"},
    Action.CO_OPINION: {"text": "人才公寓可于7月交付"},
    Action.PROGRESS: {"text": "已与供电公司现场踏勘"},
    Action.REQUEST_EXTENSION: {"reason": "需省级部门会商", "new_due": date(2026, 7, 15)},
    Action.APPROVE_EXTENSION: {"reason": "同意"},
    Action.REFUSE_EXTENSION: {"reason": "时限内可办结"},
    Action.ADD_MILESTONE: {"title": "完成增容方案", "due_on": date(2026, 6, 30)},
    Action.COMPLETE_MILESTONE: {"milestone_id": 7},
    Action.RESPOND: {"outcome": "solved", "text": "已协调解决"},
    Action.RECORD_FEEDBACK: {"feedback": "satisfied"},
    Action.CLOSE: {"close_reason": "withdrawn"},
    Action.FLAG_KEY_SUPERVISION: {"reason": "市领导现场交办"},
    Action.COMMENT: {"text": "请关注"},
}


def facts(state: State, **changes: object) -> DemandFacts:
    """A dispatched demand with a lead, two co-departments and one open milestone."""
    base = DemandFacts(
        state=state,
        lead_department_id=LEAD_DEPARTMENT,
        co_department_ids=frozenset({CO_DEPARTMENT, OTHER_CO_DEPARTMENT}),
        dispatched_by_id=DISPATCHER_ID,
        pending_extension=False,
        open_milestones=1,
        milestones=1,
        key_supervision=False,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def ready_for(action: Action, state: State) -> DemandFacts:
    """Facts under which none of the action's own refusals applies."""
    return facts(state, pending_extension=action in (Action.APPROVE_EXTENSION, Action.REFUSE_EXTENSION))


def expected_refusal(action: Action, state: State, actor_name: str) -> Refusal | None:
    states, actors = EXPECTED[action]
    if state not in states:
        return Refusal.WRONG_STATE
    if actor_name not in actors:
        return Refusal.NOT_ALLOWED
    return None


def taker(action: Action) -> tuple[DemandFacts, Actor]:
    """A demand the action may be taken on, and a user who may take it."""
    states, actors = EXPECTED[action]
    state = min(states, key=list(State).index)
    return ready_for(action, state), ACTORS[min(actors)]


# The table itself

def test_the_table_has_one_row_per_action_in_order() -> None:
    assert Counter(row.action for row in TRANSITIONS) == Counter(Action)
    assert [row.action for row in TRANSITIONS] == list(Action)
    assert list(BY_ACTION) == list(Action)
    assert all(BY_ACTION[row.action] is row for row in TRANSITIONS)


def test_the_open_states_are_all_but_closed() -> None:
    assert frozenset({State.REGISTERED, State.ASSIGNED, State.ACCEPTED, State.RESPONDED}) == OPEN_STATES
    assert set(State) - OPEN_STATES == {State.CLOSED}


def test_the_enum_values_are_the_code_names() -> None:
    assert [str(s) for s in State] == ["registered", "assigned", "accepted", "responded", "closed"]
    assert [str(o) for o in Outcome] == ["solved", "partly_solved", "explained", "planned"]
    assert [str(f) for f in Feedback] == ["satisfied", "basically_satisfied", "unsatisfied"]
    assert [str(r) for r in CloseReason] == ["satisfied", "basically_satisfied", "withdrawn", "duplicate"]
    assert all(str(r) == r.name.lower() for r in Refusal)
    assert all(str(a) == a.name.lower() for a in Action)


@pytest.mark.parametrize("action", list(Action))
def test_each_row_is_the_issues(action: Action) -> None:
    row = BY_ACTION[action]
    states, _ = EXPECTED[action]
    assert row.from_states == states
    assert row.required == EXPECTED_REQUIRED[action]
    assert row.label
    assert row.parties
    if action is not Action.RECORD_FEEDBACK:
        assert row.to_state == EXPECTED_TO_STATE[action]
        assert not row.to_state_by
    # every field the rules speak of is a field the action takes
    assert set(row.choices) <= set(row.fields)
    for when in row.when:
        assert when.field in row.choices
        assert when.value in row.choices[when.field]
    assert set(row.refused_when) <= set(REFUSED_WHEN)
    assert set(VALID_VALUES[action]) <= set(row.fields)


def test_the_rows_cannot_be_changed() -> None:
    row = BY_ACTION[Action.CLOSE]
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.to_state = State.REGISTERED  # type: ignore[misc]
    with pytest.raises(TypeError):
        row.choices["close_reason"] = frozenset({"anything"})  # type: ignore[index]
    assert hash(row) == hash(BY_ACTION[Action.CLOSE])


def test_what_the_actions_set() -> None:
    assert BY_ACTION[Action.DISPATCH].sets == ("sign_deadline", "respond_deadline")
    assert BY_ACTION[Action.RETURN].sets == ("returns_count",)
    assert "respond_deadline" in BY_ACTION[Action.APPROVE_EXTENSION].sets
    assert "respond_deadline" not in BY_ACTION[Action.REFUSE_EXTENSION].sets
    assert BY_ACTION[Action.RESPOND].sets == ("feedback_deadline",)
    reopened = sets_for(Action.RECORD_FEEDBACK, {"feedback": "unsatisfied"})
    assert reopened == ("reopen_count", "respond_deadline")
    assert sets_for(Action.RECORD_FEEDBACK, {"feedback": "satisfied"}) == ()
    assert sets_for(Action.DISPATCH, VALID_VALUES[Action.DISPATCH]) == ("sign_deadline", "respond_deadline")


def test_the_module_needs_no_flask_and_no_database() -> None:
    tree = ast.parse(Path(lifecycle.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "enum", "collections.abc", "dataclasses", "types",
                        "servicedesk.domain.time_limits"}


# Who a user is to a demand

@pytest.mark.parametrize("name", list(ACTORS))
def test_parties(name: str) -> None:
    assert parties(ACTORS[name], facts(State.ACCEPTED)) == EXPECTED_PARTIES[name]


def test_the_dispatcher_is_the_officer_who_dispatched() -> None:
    undispatched = facts(State.REGISTERED, dispatched_by_id=None, lead_department_id=None,
                         co_department_ids=frozenset())
    assert Party.DISPATCHER not in parties(ACTORS["dispatching_officer"], undispatched)
    # a user with the dispatcher's id who is no longer an officer is not the dispatcher
    assert parties(actor(DISPATCHER_ID, "leader"), facts(State.ACCEPTED)) == {Party.LEADER, Party.VIEWER}


def test_a_handler_without_a_department_is_no_lead_of_a_demand_without_one() -> None:
    undispatched = facts(State.REGISTERED, lead_department_id=None, co_department_ids=frozenset())
    assert parties(ACTORS["handler_without_department"], undispatched) == frozenset()


def test_a_department_may_be_lead_and_co_at_once() -> None:
    both = facts(State.ACCEPTED, co_department_ids=frozenset({LEAD_DEPARTMENT}))
    assert parties(ACTORS["lead_handler"], both) == {Party.LEAD, Party.CO, Party.VIEWER}


def test_a_handler_who_is_also_an_officer_is_both() -> None:
    assert parties(actor(50, "handler", "officer", department_id=CO_DEPARTMENT), facts(State.ASSIGNED)) == {
        Party.OFFICER, Party.CO, Party.VIEWER}


# Every state × action × user

@pytest.mark.parametrize(("state", "action", "actor_name"), list(itertools.product(State, Action, ACTORS)))
def test_every_state_action_and_user(state: State, action: Action, actor_name: str) -> None:
    demand, user = ready_for(action, state), ACTORS[actor_name]
    expected = expected_refusal(action, state, actor_name)
    assert check(action, demand, user) == expected
    assert check(action, demand, user, VALID_VALUES[action]) == expected
    assert (action in allowed_actions(demand, user)) is (expected is None)


@pytest.mark.parametrize(("state", "actor_name"), list(itertools.product(State, ACTORS)))
def test_allowed_actions_are_what_check_allows(state: State, actor_name: str) -> None:
    user = ACTORS[actor_name]
    for pending, open_milestones, flagged, dispatched_by in itertools.product(
            (False, True), (0, 1), (False, True), (DISPATCHER_ID, None)):
        demand = facts(state, pending_extension=pending, open_milestones=open_milestones,
                       key_supervision=flagged, dispatched_by_id=dispatched_by)
        assert allowed_actions(demand, user) == [a for a in Action if check(a, demand, user) is None]


@pytest.mark.parametrize(("actor_name", "state", "actions"), [
    ("other_officer", R, [Action.DISPATCH, Action.COMMENT]),
    ("lead_handler", AS, [Action.SIGN, Action.RETURN, Action.PROGRESS, Action.COMMENT]),
    ("co_handler", AS, [Action.CO_OPINION, Action.PROGRESS, Action.COMMENT]),
    ("lead_handler", AC, [Action.PROGRESS, Action.REQUEST_EXTENSION, Action.ADD_MILESTONE,
                          Action.COMPLETE_MILESTONE, Action.RESPOND, Action.COMMENT]),
    ("dispatching_officer", RS, [Action.RECORD_FEEDBACK, Action.COMMENT]),
    ("leader", AC, [Action.CLOSE, Action.FLAG_KEY_SUPERVISION, Action.COMMENT]),
    ("lead_handler", C, [Action.COMPLETE_MILESTONE, Action.COMMENT]),
    ("leader", C, [Action.COMMENT]),
    ("unrelated_handler", AC, []),
    ("admin", AS, []),
])
def test_what_each_user_is_offered(actor_name: str, state: State, actions: list[Action]) -> None:
    assert allowed_actions(facts(state), ACTORS[actor_name]) == actions


def test_an_extension_request_is_offered_to_those_who_decide_it() -> None:
    pending = facts(State.ACCEPTED, pending_extension=True)
    for name in ("leader", "dispatching_officer", "officer_and_leader"):
        offered = set(allowed_actions(pending, ACTORS[name]))
        assert {Action.APPROVE_EXTENSION, Action.REFUSE_EXTENSION} <= offered
    assert Action.APPROVE_EXTENSION not in allowed_actions(pending, ACTORS["other_officer"])
    assert Action.REQUEST_EXTENSION not in allowed_actions(pending, ACTORS["lead_handler"])


# The facts that refuse an action

@pytest.mark.parametrize(("action", "state", "changes", "refusal"), [
    (Action.REQUEST_EXTENSION, AC, {"pending_extension": True}, Refusal.EXTENSION_PENDING),
    (Action.APPROVE_EXTENSION, AC, {"pending_extension": False}, Refusal.NO_PENDING_EXTENSION),
    (Action.REFUSE_EXTENSION, AC, {"pending_extension": False}, Refusal.NO_PENDING_EXTENSION),
    *[(Action.COMPLETE_MILESTONE, state, {"open_milestones": 0, "milestones": 2}, Refusal.NO_OPEN_MILESTONE)
      for state in (AC, RS, C)],
    *[(Action.FLAG_KEY_SUPERVISION, state, {"key_supervision": True}, Refusal.ALREADY_FLAGGED)
      for state in (R, AS, AC, RS)],
])
def test_the_facts_refuse(action: Action, state: State, changes: dict[str, object], refusal: Refusal) -> None:
    _, user = taker(action)
    demand = facts(state, **changes)
    assert check(action, demand, user) is refusal
    assert check(action, demand, user, VALID_VALUES[action]) is refusal
    assert action not in allowed_actions(demand, user)


def test_the_state_is_checked_before_the_user_and_the_user_before_the_facts() -> None:
    flagged_and_closed = facts(State.CLOSED, key_supervision=True)
    assert check(Action.FLAG_KEY_SUPERVISION, flagged_and_closed, ACTORS["admin"]) is Refusal.WRONG_STATE
    flagged = facts(State.ACCEPTED, key_supervision=True)
    assert check(Action.FLAG_KEY_SUPERVISION, flagged, ACTORS["lead_handler"]) is Refusal.NOT_ALLOWED
    assert check(Action.FLAG_KEY_SUPERVISION, flagged, ACTORS["leader"], {}) is Refusal.ALREADY_FLAGGED


def test_a_respond_is_offered_before_any_milestone_exists() -> None:
    # Only a planned response needs one, and the outcome is not known until the form is sent.
    demand = facts(State.ACCEPTED, milestones=0, open_milestones=0)
    assert check(Action.RESPOND, demand, ACTORS["lead_handler"]) is None


# Fields

@pytest.mark.parametrize(("action", "name", "blank"), [
    (action, name, blank)
    for action, names in EXPECTED_REQUIRED.items() for name in names
    for blank in ("absent", None, "", "  ", "\u3000")  # the full-width space of Chinese input methods
])
def test_a_required_field_may_not_be_missing(action: Action, name: str, blank: object) -> None:
    demand, user = taker(action)
    values = dict(VALID_VALUES[action])
    if blank == "absent":
        del values[name]
    else:
        values[name] = blank
    assert check(action, demand, user, values) is Refusal.MISSING_FIELD
    assert missing_fields(action, values) == [name]


@pytest.mark.parametrize("action", list(Action))
def test_the_valid_values_are_complete(action: Action) -> None:
    demand, user = taker(action)
    assert missing_fields(action, VALID_VALUES[action]) == []
    assert invalid_fields(action, VALID_VALUES[action]) == []
    assert check(action, demand, user, VALID_VALUES[action]) is None


def test_missing_fields_are_named_in_order() -> None:
    assert missing_fields(Action.ADD_MILESTONE, {}) == ["title", "due_on"]
    assert missing_fields(Action.REQUEST_EXTENSION, {"new_due": date(2026, 7, 1)}) == ["reason"]
    assert missing_fields(Action.SIGN, {}) == []


def test_zero_and_false_are_values() -> None:
    assert missing_fields(Action.COMPLETE_MILESTONE, {"milestone_id": 0}) == []


@pytest.mark.parametrize(("action", "name", "value"), [
    (Action.DISPATCH, "urgency", "very_urgent"),
    (Action.RESPOND, "outcome", "done"),
    (Action.RECORD_FEEDBACK, "feedback", "ok"),
    (Action.CLOSE, "close_reason", "resolved"),
    # satisfied and basically satisfied close a demand through feedback, never by a leader's hand
    (Action.CLOSE, "close_reason", CloseReason.SATISFIED),
    (Action.CLOSE, "close_reason", CloseReason.BASICALLY_SATISFIED),
])
def test_a_value_the_action_does_not_take(action: Action, name: str, value: object) -> None:
    demand, user = taker(action)
    values = {**VALID_VALUES[action], name: value}
    assert check(action, demand, user, values) is Refusal.INVALID_VALUE
    assert invalid_fields(action, values) == [name]
    assert missing_fields(action, values) == []


@pytest.mark.parametrize("urgency", list(Urgency))
def test_every_urgency_may_be_dispatched(urgency: Urgency) -> None:
    demand, user = taker(Action.DISPATCH)
    assert check(Action.DISPATCH, demand, user, {**VALID_VALUES[Action.DISPATCH], "urgency": urgency}) is None


@pytest.mark.parametrize(("outcome", "milestones", "planned_on", "expected"), [
    *[(outcome, milestones, None, None)
      for outcome in (Outcome.SOLVED, Outcome.PARTLY_SOLVED, Outcome.EXPLAINED) for milestones in (0, 1)],
    (Outcome.PLANNED, 1, date(2026, 12, 31), None),
    (Outcome.PLANNED, 3, date(2026, 12, 31), None),
    (Outcome.PLANNED, 0, date(2026, 12, 31), Refusal.PLANNED_NEEDS_MILESTONE),
    (Outcome.PLANNED, 1, None, Refusal.MISSING_FIELD),
    (Outcome.PLANNED, 0, None, Refusal.MISSING_FIELD),   # the form first, then the roadmap
    ("planned", 0, "2026-12-31", Refusal.PLANNED_NEEDS_MILESTONE),  # as the form sends it
])
def test_a_planned_response_needs_a_date_and_a_milestone(
    outcome: str, milestones: int, planned_on: object, expected: Refusal | None,
) -> None:
    demand = facts(State.ACCEPTED, milestones=milestones, open_milestones=milestones)
    values = {"outcome": outcome, "text": "分三步推进", "planned_on": planned_on}
    assert check(Action.RESPOND, demand, ACTORS["lead_handler"], values) is expected
    missing = ["planned_on"] if expected is Refusal.MISSING_FIELD else []
    assert missing_fields(Action.RESPOND, values) == missing


@pytest.mark.parametrize(("values", "expected", "missing"), [
    ({"close_reason": "withdrawn"}, None, []),
    ({"close_reason": CloseReason.WITHDRAWN, "duplicate_of_id": None}, None, []),
    ({"close_reason": "duplicate", "duplicate_of_id": 3}, None, []),
    ({"close_reason": "duplicate"}, Refusal.MISSING_FIELD, ["duplicate_of_id"]),
    ({"close_reason": CloseReason.DUPLICATE, "duplicate_of_id": ""}, Refusal.MISSING_FIELD,
     ["duplicate_of_id"]),
    ({}, Refusal.MISSING_FIELD, ["close_reason"]),
])
def test_a_duplicate_is_closed_with_its_original(
    values: dict[str, object], expected: Refusal | None, missing: list[str],
) -> None:
    for state in OPEN_STATES:
        assert check(Action.CLOSE, facts(state), ACTORS["leader"], values) is expected
    assert missing_fields(Action.CLOSE, values) == missing


def test_a_refusal_by_the_facts_comes_before_the_fields() -> None:
    demand = facts(State.ACCEPTED, pending_extension=True)
    assert check(Action.REQUEST_EXTENSION, demand, ACTORS["lead_handler"], {}) is Refusal.EXTENSION_PENDING


# The state after

@pytest.mark.parametrize(("feedback", "after"), [
    (Feedback.SATISFIED, State.CLOSED),
    (Feedback.BASICALLY_SATISFIED, State.CLOSED),
    (Feedback.UNSATISFIED, State.ACCEPTED),
    ("satisfied", State.CLOSED),
    ("basically_satisfied", State.CLOSED),
    ("unsatisfied", State.ACCEPTED),
])
def test_feedback_closes_or_reopens(feedback: str, after: State) -> None:
    assert target_state(Action.RECORD_FEEDBACK, facts(State.RESPONDED), {"feedback": feedback}) is after


def test_record_feedback_is_one_row_whose_feedback_picks_the_state() -> None:
    row = BY_ACTION[Action.RECORD_FEEDBACK]
    assert row.to_state is None
    assert row.to_state_by == {Feedback.SATISFIED: State.CLOSED, Feedback.BASICALLY_SATISFIED: State.CLOSED,
                               Feedback.UNSATISFIED: State.ACCEPTED}
    assert row.to_states == {State.CLOSED, State.ACCEPTED}
    assert set(row.to_state_by) == set(row.choices["feedback"])


@pytest.mark.parametrize("values", [{}, {"feedback": None}, {"feedback": "ok"}])
def test_feedback_without_a_verdict_has_no_state_after(values: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="record_feedback"):
        target_state(Action.RECORD_FEEDBACK, facts(State.RESPONDED), values)


@pytest.mark.parametrize(("action", "state"), [
    (action, state) for action in EXPECTED_TO_STATE for state in EXPECTED[action][0]
])
def test_the_state_after_each_action(action: Action, state: State) -> None:
    after = target_state(action, facts(state), VALID_VALUES[action])
    assert after is (EXPECTED_TO_STATE[action] or state)
    expected_states = frozenset() if EXPECTED_TO_STATE[action] is None else {EXPECTED_TO_STATE[action]}
    assert BY_ACTION[action].to_states == expected_states


# Invariants over any demand and any user

@st.composite
def any_facts(draw: st.DrawFn) -> DemandFacts:
    open_milestones = draw(st.integers(0, 3))
    return DemandFacts(
        state=draw(st.sampled_from(State)),
        lead_department_id=draw(st.none() | st.integers(1, 4)),
        co_department_ids=draw(st.frozensets(st.integers(1, 4), max_size=3)),
        dispatched_by_id=draw(st.none() | st.integers(10, 12)),
        pending_extension=draw(st.booleans()),
        open_milestones=open_milestones,
        milestones=open_milestones + draw(st.integers(0, 2)),
        key_supervision=draw(st.booleans()),
    )


any_actor = st.builds(
    Actor,
    user_id=st.integers(10, 12),
    roles=st.frozensets(st.sampled_from(["officer", "handler", "leader", "admin"])),
    department_id=st.none() | st.integers(1, 4),
)

any_values = st.dictionaries(
    st.sampled_from(sorted({name for row in TRANSITIONS for name in row.fields})),
    st.none()
    | st.sampled_from(["", " ", "x", *Outcome, *Feedback, *CloseReason, *Urgency])
    | st.integers(0, 5),
)


@given(any_facts(), any_actor)
def test_allowed_actions_agree_with_check_and_the_table(demand: DemandFacts, user: Actor) -> None:
    allowed = allowed_actions(demand, user)
    assert allowed == [action for action in Action if check(action, demand, user) is None]
    for action in allowed:
        row = BY_ACTION[action]
        assert demand.state in row.from_states
        assert row.parties & parties(user, demand)


@given(any_facts(), any_actor)
def test_the_party_rules(demand: DemandFacts, user: Actor) -> None:
    found = parties(user, demand)
    assert (Party.OFFICER in found) is ("officer" in user.roles)
    assert (Party.LEADER in found) is ("leader" in user.roles)
    assert (Party.DISPATCHER in found) is (Party.OFFICER in found and user.user_id == demand.dispatched_by_id)
    assert (Party.VIEWER in found) is bool(found & {Party.OFFICER, Party.LEADER, Party.LEAD, Party.CO})
    assert (Party.LEAD in found) is ("handler" in user.roles and user.department_id is not None
                                     and user.department_id == demand.lead_department_id)
    assert (Party.CO in found) is ("handler" in user.roles and user.department_id in demand.co_department_ids)
    # the admin role gives no say over demands
    assert parties(dataclasses.replace(user, roles=user.roles | {"admin"}), demand) == found
    assert parties(dataclasses.replace(user, roles=user.roles - {"admin"}), demand) == found


@given(any_facts(), any_actor, st.sampled_from(Action), any_values)
def test_values_are_checked_only_after_the_rest(
    demand: DemandFacts, user: Actor, action: Action, values: dict[str, object],
) -> None:
    without = check(action, demand, user)
    with_values = check(action, demand, user, values)
    if without is not None:
        assert with_values is without
    else:
        assert with_values in (None, Refusal.MISSING_FIELD, Refusal.INVALID_VALUE,
                               Refusal.PLANNED_NEEDS_MILESTONE)
        missing, invalid = missing_fields(action, values), invalid_fields(action, values)
        assert (with_values is Refusal.MISSING_FIELD) <= bool(missing)
        assert (with_values is Refusal.INVALID_VALUE) <= bool(invalid)
        assert (with_values is None) <= (not missing and not invalid)
        if with_values is None and BY_ACTION[action].to_states:
            assert target_state(action, demand, values) in BY_ACTION[action].to_states
