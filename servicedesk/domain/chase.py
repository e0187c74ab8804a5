"""The chase rules: which reminders and escalations every open deadline calls for at one moment.

`chase(now, deadlines, calendar, settings)` decides, for each open deadline, what the chaser owes it
on the zone's day of `now`:

- due soon (yellow card): the due day lies after today and within `due_soon_days` working days;
- due today: the due day is today;
- overdue (red card): the due day has passed, a reminder on each working day while it stays so,
  counting the working days overdue; and for a deadline a department owes (sign, respond, a
  milestone) one escalation to the department head once it is `escalate_head_after` working days
  overdue, and one to leadership once it is `escalate_leadership_after` working days overdue.

Reminders go out on working days only: on a weekend or a holiday `chase` returns nothing.

Every action carries an idempotency key built from the demand, the deadline (which one and its due
day), the kind of action and the working day it belongs to, so that the same situation always gives
the same key and the caller can record each action once with a unique constraint. A reminder belongs
to the day it is made, so each working day gives a new reminder key. An escalation belongs to the
working day its threshold was reached (`add_working_days(due, threshold)`), whichever day a tick
first sees it, so it is keyed once per due day: a tick that missed that day still makes it later,
under the same key; a deadline moved to a new due day (an approved extension) starts again.

No Flask, no database, no clock and no mail: the caller passes the moment, the open deadlines and
the working calendar, and records, sends and shows what comes back.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType

from servicedesk.domain.workdays import WorkingCalendar, local_day

#: the longest idempotency key the caller's column holds
KEY_MAX_LENGTH = 200


class Kind(enum.StrEnum):
    DUE_SOON = "due_soon"
    DUE_TODAY = "due_today"
    OVERDUE = "overdue"
    ESCALATE_HEAD = "escalate_head"
    ESCALATE_LEADERSHIP = "escalate_leadership"


#: the reminders, as opposed to the escalations
REMINDERS = frozenset({Kind.DUE_SOON, Kind.DUE_TODAY, Kind.OVERDUE})
ESCALATIONS = frozenset({Kind.ESCALATE_HEAD, Kind.ESCALATE_LEADERSHIP})
_KIND_ORDER = {kind: position for position, kind in enumerate(Kind)}


class Owner(enum.StrEnum):
    """Who owes the next step of a deadline."""

    #: the lead department (its handlers; escalated to its head, then to leadership)
    DEPARTMENT = "department"
    #: the dispatching officer, who owes the company's feedback
    OFFICER = "officer"
    #: whoever decides a pending extension request
    APPROVER = "approver"


SIGN = "sign"
RESPOND = "respond"
FEEDBACK = "feedback"
EXTENSION = "extension"
MILESTONE = "milestone"

#: every deadline the chaser follows, with who owes it, in the order of a demand's life
DEADLINE_OWNERS: Mapping[str, Owner] = MappingProxyType({
    SIGN: Owner.DEPARTMENT,
    RESPOND: Owner.DEPARTMENT,
    MILESTONE: Owner.DEPARTMENT,
    EXTENSION: Owner.APPROVER,
    FEEDBACK: Owner.OFFICER,
})
DEADLINES = frozenset(DEADLINE_OWNERS)
_DEADLINE_ORDER = {name: position for position, name in enumerate(DEADLINE_OWNERS)}


@dataclass(frozen=True)
class OpenDeadline:
    """One deadline of an open demand that nobody has met yet."""

    demand_id: int
    #: "sign", "respond", "feedback", "extension" (the decision on a pending request) or "milestone"
    deadline: str
    due: date
    owner: Owner
    #: the department that owes it (for a department's deadline)
    department_id: int | None
    #: the user who owes it, when one user does (the dispatching officer, the approver)
    user_id: int | None
    #: the milestone (for a milestone's deadline only)
    milestone_id: int | None = None

    def __post_init__(self) -> None:
        if self.deadline not in DEADLINES:
            raise ValueError(f"unknown deadline {self.deadline!r}")
        object.__setattr__(self, "owner", Owner(self.owner))
        if DEADLINE_OWNERS[self.deadline] is not self.owner:
            raise ValueError(f"the {self.deadline} deadline is owed by the {DEADLINE_OWNERS[self.deadline]}")
        if (self.deadline == MILESTONE) != (self.milestone_id is not None):
            raise ValueError("a milestone id goes with a milestone's deadline, and only with one")
        if self.owner is Owner.DEPARTMENT and self.department_id is None:
            raise ValueError(f"the {self.deadline} deadline needs the department that owes it")
        if isinstance(self.due, datetime) or not isinstance(self.due, date):
            raise TypeError("the due day is a date")

    @property
    def escalates(self) -> bool:
        """Only a department's deadlines are escalated to its head and to leadership."""
        return self.owner is Owner.DEPARTMENT

    @property
    def key_name(self) -> str:
        """The deadline's name in keys: "milestone7" for milestone 7."""
        return f"{MILESTONE}{self.milestone_id}" if self.deadline == MILESTONE else self.deadline

    def _identity(self) -> tuple[int, str, int | None, date]:
        return self.demand_id, self.deadline, self.milestone_id, self.due


@dataclass(frozen=True)
class ChaseSettings:
    """How far ahead a deadline is due soon, and after how many working days overdue it escalates."""

    due_soon_days: int = 2
    escalate_head_after: int = 1
    escalate_leadership_after: int = 3

    def __post_init__(self) -> None:
        if self.due_soon_days < 0:
            raise ValueError("the due-soon window cannot be negative")
        if self.escalate_head_after < 1 or self.escalate_leadership_after < 1:
            raise ValueError("a deadline escalates after one working day overdue at the earliest")

    def thresholds(self) -> tuple[tuple[Kind, int], ...]:
        return ((Kind.ESCALATE_HEAD, self.escalate_head_after),
                (Kind.ESCALATE_LEADERSHIP, self.escalate_leadership_after))


@dataclass(frozen=True)
class ChaseAction:
    """One reminder or escalation to record, once, under its idempotency key."""

    kind: Kind
    deadline: OpenDeadline
    #: the working day the action belongs to: today for a reminder, the day its threshold was reached
    #: for an escalation (which may be before today when a tick missed that day)
    working_day: date
    #: working days overdue today (0 for due soon and due today)
    days_overdue: int
    idempotency_key: str

    @property
    def is_escalation(self) -> bool:
        return self.kind in ESCALATIONS


def idempotency_key(deadline: OpenDeadline, kind: Kind, working_day: date) -> str:
    """A readable key, the same for the same situation: "d42:respond:2026-06-30:overdue:2026-07-02"."""
    key = ":".join((f"d{deadline.demand_id}", deadline.key_name, deadline.due.isoformat(), str(kind),
                    working_day.isoformat()))
    if len(key) > KEY_MAX_LENGTH:
        raise ValueError(f"an idempotency key is at most {KEY_MAX_LENGTH} characters")
    return key


def chase(
    now: datetime, deadlines: Iterable[OpenDeadline], calendar: WorkingCalendar, settings: ChaseSettings,
) -> list[ChaseAction]:
    """The actions every open deadline calls for on the zone's day of `now`, in a fixed order.

    Nothing on a day that is not a working day. The same deadline given twice counts once; two
    different deadlines with the same demand, name, milestone and due day are refused, since they
    would share their keys.
    """
    today = local_day(now)
    unique = _distinct(deadlines)
    if not calendar.is_working_day(today):
        return []
    due_soon_until = calendar.add_working_days(today, settings.due_soon_days)
    actions: list[ChaseAction] = []
    for deadline in unique:
        actions.extend(_actions(deadline, today, due_soon_until, calendar, settings))
    actions.sort(key=_order)
    return actions


def _distinct(deadlines: Iterable[OpenDeadline]) -> list[OpenDeadline]:
    by_identity: dict[tuple[int, str, int | None, date], OpenDeadline] = {}
    for deadline in deadlines:
        seen = by_identity.setdefault(deadline._identity(), deadline)
        if seen != deadline:
            raise ValueError(f"two different deadlines share the keys of {deadline}")
    return list(by_identity.values())


def _actions(
    deadline: OpenDeadline, today: date, due_soon_until: date, calendar: WorkingCalendar,
    settings: ChaseSettings,
) -> list[ChaseAction]:
    due = deadline.due
    if today < due:
        if due <= due_soon_until:
            return [_action(Kind.DUE_SOON, deadline, today, 0)]
        return []
    if today == due:
        return [_action(Kind.DUE_TODAY, deadline, today, 0)]
    days_overdue = calendar.working_days_between(due, today)
    actions = [_action(Kind.OVERDUE, deadline, today, days_overdue)]
    if deadline.escalates:
        for kind, threshold in settings.thresholds():
            if days_overdue >= threshold:
                reached_on = calendar.add_working_days(due, threshold)
                actions.append(_action(kind, deadline, reached_on, days_overdue))
    return actions


def _action(kind: Kind, deadline: OpenDeadline, working_day: date, days_overdue: int) -> ChaseAction:
    key = idempotency_key(deadline, kind, working_day)
    return ChaseAction(kind, deadline, working_day, days_overdue, key)


def _order(action: ChaseAction) -> tuple[int, int, int, date, int, str]:
    deadline = action.deadline
    return (deadline.demand_id, _DEADLINE_ORDER[deadline.deadline], deadline.milestone_id or 0, deadline.due,
            _KIND_ORDER[action.kind], action.idempotency_key)
