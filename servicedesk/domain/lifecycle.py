"""The lifecycle of a demand (诉求) as one declarative table: who may do what, when, with which fields.

`TRANSITIONS` holds one row per action: the states it may be taken in, the state it leads to, the
parties who may take it, the fields it needs and the values they may have, and the facts that refuse
it. `check` reads the table and nothing else, so the UI (which shows each user the actions
`allowed_actions` lists), the API and the operations that apply a change all answer the same way.

Refusals are checked in a fixed order, so that a user is told the most basic reason first: the state
(WRONG_STATE), then who the user is to the demand (NOT_ALLOWED), then the facts of the demand (a pending
extension, an open milestone, ...), and only when the caller passes the submitted values, the fields
(MISSING_FIELD, INVALID_VALUE) and the rules on their values (a planned response needs a milestone).

No Flask and no database: the caller describes the demand as `DemandFacts` and the user as `Actor`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from servicedesk.domain.time_limits import Urgency


class State(enum.StrEnum):
    #: 已登记: logged by an officer, or returned by a department for re-dispatch
    REGISTERED = "registered"
    #: 已交办: dispatched to a lead department
    ASSIGNED = "assigned"
    #: 已签收: the lead department signed for it (and again after unsatisfied feedback reopened it)
    ACCEPTED = "accepted"
    #: 已答复: the lead department submitted its response
    RESPONDED = "responded"
    #: 已办结
    CLOSED = "closed"


OPEN_STATES = frozenset({State.REGISTERED, State.ASSIGNED, State.ACCEPTED, State.RESPONDED})
ALL_STATES = frozenset(State)

#: the states' Chinese names, for docs and diagrams (the UI translates through gettext)
STATE_LABELS: Mapping[State, str] = MappingProxyType({
    State.REGISTERED: "已登记",
    State.ASSIGNED: "已交办",
    State.ACCEPTED: "已签收",
    State.RESPONDED: "已答复",
    State.CLOSED: "已办结",
})


class Action(enum.StrEnum):
    DISPATCH = "dispatch"
    SIGN = "sign"
    RETURN = "return"
    CO_OPINION = "co_opinion"
    PROGRESS = "progress"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    REFUSE_EXTENSION = "refuse_extension"
    ADD_MILESTONE = "add_milestone"
    COMPLETE_MILESTONE = "complete_milestone"
    RESPOND = "respond"
    RECORD_FEEDBACK = "record_feedback"
    CLOSE = "close"
    FLAG_KEY_SUPERVISION = "flag_key_supervision"
    COMMENT = "comment"


class Party(enum.StrEnum):
    """Who a user is to one demand: a user may be several at once (an officer who is also a leader)."""

    #: any user with the officer role
    OFFICER = "officer"
    #: the officer who dispatched this demand
    DISPATCHER = "dispatcher"
    #: a handler of the demand's lead department
    LEAD = "lead"
    #: a handler of one of its co-departments
    CO = "co"
    #: any user with the leader role
    LEADER = "leader"
    #: anyone who may see the demand: officers, leaders, handlers of its lead or co-departments
    VIEWER = "viewer"


class Outcome(enum.StrEnum):
    SOLVED = "solved"
    PARTLY_SOLVED = "partly_solved"
    #: cannot be solved under current policy, and the company has been told why
    EXPLAINED = "explained"
    #: to be solved by a date, along the milestones of its roadmap
    PLANNED = "planned"


class Feedback(enum.StrEnum):
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    UNSATISFIED = "unsatisfied"


class CloseReason(enum.StrEnum):
    # The first two are stored when feedback closes a demand; a leader closes one only with the last two.
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    WITHDRAWN = "withdrawn"
    DUPLICATE = "duplicate"


class Refusal(enum.StrEnum):
    """Why an action is refused; the app turns each into a translated message."""

    #: the demand is not in a state the action may be taken in
    WRONG_STATE = "wrong_state"
    #: the user is none of the parties the action needs
    NOT_ALLOWED = "not_allowed"
    #: an extension request is already pending
    EXTENSION_PENDING = "extension_pending"
    #: there is no pending extension request to decide
    NO_PENDING_EXTENSION = "no_pending_extension"
    #: a required field is absent, empty or blank (`missing_fields` names it)
    MISSING_FIELD = "missing_field"
    #: a field has a value the action does not take (`invalid_fields` names it)
    INVALID_VALUE = "invalid_value"
    #: a planned response needs at least one milestone of its roadmap
    PLANNED_NEEDS_MILESTONE = "planned_needs_milestone"
    #: every milestone is already complete
    NO_OPEN_MILESTONE = "no_open_milestone"
    #: the demand is already under key supervision
    ALREADY_FLAGGED = "already_flagged"


@dataclass(frozen=True)
class DemandFacts:
    """What the rules need to know about one demand."""

    state: State
    lead_department_id: int | None
    co_department_ids: frozenset[int]
    dispatched_by_id: int | None
    pending_extension: bool
    open_milestones: int
    milestones: int
    key_supervision: bool


@dataclass(frozen=True)
class Actor:
    """The user taking an action: their roles ("officer", "handler", "leader", "admin") and department."""

    user_id: int
    roles: frozenset[str]
    department_id: int | None


#: the facts that refuse an action, each with the test that says when it applies; a row of the table
#: (or one of its `When`s) names the refusals that concern it
REFUSED_WHEN: Mapping[Refusal, Callable[[DemandFacts], bool]] = MappingProxyType({
    Refusal.EXTENSION_PENDING: lambda facts: facts.pending_extension,
    Refusal.NO_PENDING_EXTENSION: lambda facts: not facts.pending_extension,
    Refusal.NO_OPEN_MILESTONE: lambda facts: facts.open_milestones == 0,
    Refusal.ALREADY_FLAGGED: lambda facts: facts.key_supervision,
    Refusal.PLANNED_NEEDS_MILESTONE: lambda facts: facts.milestones == 0,
})


@dataclass(frozen=True)
class When:
    """What else holds when one field of the action has one value.

    This is how the table stays one row per action where an action branches: record_feedback has a
    `When` for each feedback value, each with its own state after; a planned response needs a date and
    a milestone; closing as a duplicate needs the original.
    """

    field: str
    value: str
    #: the state after the action, in place of the transition's own
    to_state: State | None = None
    #: fields needed besides the transition's own
    requires: tuple[str, ...] = ()
    #: refusals (see REFUSED_WHEN) that apply besides the transition's own
    refused_when: tuple[Refusal, ...] = ()
    #: what it sets besides the transition's own
    sets: tuple[str, ...] = ()

    def matches(self, values: Mapping[str, object]) -> bool:
        return values.get(self.field) == self.value


@dataclass(frozen=True)
class Transition:
    """One row of the table: one action, all it needs and all it does."""

    action: Action
    from_states: frozenset[State]
    #: None: the state does not change, unless a `When` picks the state after (record_feedback)
    to_state: State | None
    #: any of these may take it
    parties: frozenset[Party]
    #: field names the action needs
    required: tuple[str, ...]
    #: what it sets, for the record and the docs: deadlines, counters, flags
    sets: tuple[str, ...] = ()
    #: the Chinese name, for docs only (the UI translates through gettext)
    label: str = ""
    #: field names the action takes but does not need
    optional: tuple[str, ...] = ()
    #: the values a field may have; a field not listed may have any
    choices: Mapping[str, frozenset[str]] = field(default_factory=dict, hash=False)
    #: refusals (see REFUSED_WHEN) that the facts of the demand may give
    refused_when: tuple[Refusal, ...] = ()
    #: what else holds for a given value of a field
    when: tuple[When, ...] = ()

    def __post_init__(self) -> None:
        # The table is shared by every request: nothing may change it in place.
        object.__setattr__(self, "choices", MappingProxyType(dict(self.choices)))

    @property
    def to_state_by(self) -> Mapping[str, State]:
        """The state after the action by the value of the field that picks it (empty if none does)."""
        return {when.value: when.to_state for when in self.when if when.to_state is not None}

    @property
    def to_states(self) -> frozenset[State]:
        """Every state the action may lead to; empty when it never changes the state."""
        states = {when.to_state for when in self.when if when.to_state is not None}
        if self.to_state is not None:
            states.add(self.to_state)
        return frozenset(states)

    @property
    def fields(self) -> tuple[str, ...]:
        """Every field the action takes: required, optional, then those needed for some value."""
        names = [*self.required, *self.optional, *(name for when in self.when for name in when.requires)]
        return tuple(dict.fromkeys(names))


def _values(enum_type: Iterable[enum.StrEnum]) -> frozenset[str]:
    return frozenset(str(member) for member in enum_type)


#: the reasons a leader may close a demand with; satisfied and basically satisfied come from feedback only
LEADER_CLOSE_REASONS = frozenset({str(CloseReason.WITHDRAWN), str(CloseReason.DUPLICATE)})

_HANDLERS = frozenset({Party.LEAD, Party.CO})
_DECIDERS = frozenset({Party.LEADER, Party.DISPATCHER})

TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        Action.DISPATCH, frozenset({State.REGISTERED}), State.ASSIGNED, frozenset({Party.OFFICER}),
        required=("lead_department_id", "urgency"), optional=("co_department_ids", "note"),
        choices={"urgency": _values(Urgency)},
        sets=("sign_deadline", "respond_deadline"), label="交办",
    ),
    Transition(
        # Signing late is allowed: the deadline is for the chaser and the league table, not a lock.
        Action.SIGN, frozenset({State.ASSIGNED}), State.ACCEPTED, frozenset({Party.LEAD}),
        required=(), label="签收",
    ),
    Transition(
        # Only before signing: once a department has signed for a demand, it is its business.
        Action.RETURN, frozenset({State.ASSIGNED}), State.REGISTERED, frozenset({Party.LEAD}),
        required=("reason",), sets=("returns_count",), label="退回",
    ),
    Transition(
        Action.CO_OPINION, frozenset({State.ASSIGNED, State.ACCEPTED}), None, frozenset({Party.CO}),
        required=("text",), label="协办意见",
    ),
    Transition(
        Action.PROGRESS, frozenset({State.ASSIGNED, State.ACCEPTED, State.RESPONDED}), None, _HANDLERS,
        required=("text",), label="进展",
    ),
    Transition(
        Action.REQUEST_EXTENSION, frozenset({State.ACCEPTED}), None, frozenset({Party.LEAD}),
        required=("reason", "new_due"), refused_when=(Refusal.EXTENSION_PENDING,),
        sets=("pending_extension",), label="延期申请",
    ),
    Transition(
        Action.APPROVE_EXTENSION, frozenset({State.ACCEPTED}), None, _DECIDERS,
        required=("reason",), refused_when=(Refusal.NO_PENDING_EXTENSION,),
        sets=("respond_deadline", "pending_extension"), label="批准延期",
    ),
    Transition(
        Action.REFUSE_EXTENSION, frozenset({State.ACCEPTED}), None, _DECIDERS,
        required=("reason",), refused_when=(Refusal.NO_PENDING_EXTENSION,),
        sets=("pending_extension",), label="不予延期",
    ),
    Transition(
        # Also after the response: a planned response's roadmap is drawn up before it and may grow.
        Action.ADD_MILESTONE, frozenset({State.ACCEPTED, State.RESPONDED}), None, frozenset({Party.LEAD}),
        required=("title", "due_on"), label="添加节点",
    ),
    Transition(
        # Also once closed: a planned demand is closed on the company's feedback while its roadmap
        # still runs, and the department keeps reporting the steps it completes.
        Action.COMPLETE_MILESTONE, frozenset({State.ACCEPTED, State.RESPONDED, State.CLOSED}), None,
        frozenset({Party.LEAD}),
        required=("milestone_id",), refused_when=(Refusal.NO_OPEN_MILESTONE,), label="完成节点",
    ),
    Transition(
        Action.RESPOND, frozenset({State.ACCEPTED}), State.RESPONDED, frozenset({Party.LEAD}),
        required=("outcome", "text"), choices={"outcome": _values(Outcome)},
        when=(When("outcome", Outcome.PLANNED, requires=("planned_on",),
                   refused_when=(Refusal.PLANNED_NEEDS_MILESTONE,)),),
        sets=("feedback_deadline",), label="答复",
    ),
    Transition(
        # One row, two ways out: the feedback value picks the state after.
        Action.RECORD_FEEDBACK, frozenset({State.RESPONDED}), None, frozenset({Party.OFFICER}),
        required=("feedback",), choices={"feedback": _values(Feedback)},
        when=(
            When("feedback", Feedback.SATISFIED, to_state=State.CLOSED),
            When("feedback", Feedback.BASICALLY_SATISFIED, to_state=State.CLOSED),
            # Reopened: counted against the department, with a new respond deadline.
            When("feedback", Feedback.UNSATISFIED, to_state=State.ACCEPTED,
                 sets=("reopen_count", "respond_deadline")),
        ),
        label="回访",
    ),
    Transition(
        Action.CLOSE, OPEN_STATES, State.CLOSED, frozenset({Party.LEADER}),
        required=("close_reason",), choices={"close_reason": LEADER_CLOSE_REASONS},
        when=(When("close_reason", CloseReason.DUPLICATE, requires=("duplicate_of_id",)),),
        label="办结",
    ),
    Transition(
        Action.FLAG_KEY_SUPERVISION, OPEN_STATES, None, frozenset({Party.LEADER}),
        required=("reason",), refused_when=(Refusal.ALREADY_FLAGGED,),
        sets=("key_supervision",), label="重点督办",
    ),
    Transition(
        Action.COMMENT, ALL_STATES, None, frozenset({Party.VIEWER}),
        required=("text",), label="评论",
    ),
)

BY_ACTION: Mapping[Action, Transition] = MappingProxyType({row.action: row for row in TRANSITIONS})


def parties(actor: Actor, facts: DemandFacts) -> frozenset[Party]:
    """Who the actor is to this demand. An admin with no other role is none of these."""
    found: set[Party] = set()
    if "officer" in actor.roles:
        found.add(Party.OFFICER)
        if facts.dispatched_by_id is not None and actor.user_id == facts.dispatched_by_id:
            found.add(Party.DISPATCHER)
    if "leader" in actor.roles:
        found.add(Party.LEADER)
    # A department acts through its handlers: a leader or officer placed in a department is not one.
    if "handler" in actor.roles and actor.department_id is not None:
        if actor.department_id == facts.lead_department_id:
            found.add(Party.LEAD)
        if actor.department_id in facts.co_department_ids:
            found.add(Party.CO)
    if found & {Party.OFFICER, Party.LEADER, Party.LEAD, Party.CO}:
        found.add(Party.VIEWER)
    return frozenset(found)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _matching(row: Transition, values: Mapping[str, object]) -> list[When]:
    return [when for when in row.when if when.matches(values)]


def missing_fields(action: Action, values: Mapping[str, object]) -> list[str]:
    """The fields the action needs that are absent, None or blank, in the table's order; including
    those needed for the values given (a planned response's date, a duplicate's original)."""
    row = BY_ACTION[action]
    needed = [*row.required, *(name for when in _matching(row, values) for name in when.requires)]
    return [name for name in dict.fromkeys(needed) if _blank(values.get(name))]


def invalid_fields(action: Action, values: Mapping[str, object]) -> list[str]:
    """The fields given a value the action does not take (a blank field is missing, not invalid)."""
    row = BY_ACTION[action]
    return [name for name, allowed in row.choices.items()
            if not _blank(values.get(name)) and str(values[name]) not in allowed]


def check(
    action: Action, facts: DemandFacts, actor: Actor, values: Mapping[str, object] | None = None,
) -> Refusal | None:
    """Why the actor may not take the action on this demand now, or None when they may.

    Without values only the state, the parties and the facts are checked: that is what decides
    whether the action is offered. With values the fields are checked too, as the change is applied.
    """
    row = BY_ACTION[action]
    if facts.state not in row.from_states:
        return Refusal.WRONG_STATE
    if not row.parties & parties(actor, facts):
        return Refusal.NOT_ALLOWED
    for refusal in row.refused_when:
        if REFUSED_WHEN[refusal](facts):
            return refusal
    if values is None:
        return None
    # The base fields first: which value rules apply depends on them.
    if any(_blank(values.get(name)) for name in row.required):
        return Refusal.MISSING_FIELD
    if invalid_fields(action, values):
        return Refusal.INVALID_VALUE
    if missing_fields(action, values):
        return Refusal.MISSING_FIELD
    for when in _matching(row, values):
        for refusal in when.refused_when:
            if REFUSED_WHEN[refusal](facts):
                return refusal
    return None


def allowed_actions(facts: DemandFacts, actor: Actor) -> list[Action]:
    """The actions the actor may take on this demand now, in table order: those the UI offers."""
    return [row.action for row in TRANSITIONS if check(row.action, facts, actor) is None]


def target_state(action: Action, facts: DemandFacts, values: Mapping[str, object]) -> State:
    """The state after the action: the table's, the one its values pick, or the state it is in."""
    row = BY_ACTION[action]
    for when in _matching(row, values):
        if when.to_state is not None:
            return when.to_state
    if row.to_state_by:
        # A branching action without a value that picks a branch: check() refuses it before this.
        raise ValueError(f"{action} needs one of {sorted(row.to_state_by)} to know the state after it")
    return row.to_state if row.to_state is not None else facts.state


def sets_for(action: Action, values: Mapping[str, object]) -> tuple[str, ...]:
    """What the action sets with these values: the table's own and those of the values given."""
    row = BY_ACTION[action]
    names = [*row.sets, *(name for when in _matching(row, values) for name in when.sets)]
    return tuple(dict.fromkeys(names))
