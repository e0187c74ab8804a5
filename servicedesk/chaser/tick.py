"""The chase tick: what the rules decide at one moment, recorded once.

A tick

1. loads every open deadline in a fixed number of queries (the demands' current step, pending
   extension requests, open milestones) and the working calendar of the days they span;
2. asks `domain.chase.chase` what they call for at `now`;
3. records the actions in batches, one transaction each: the demand's history line (催办 for a
   reminder, 督办 for an escalation), the ChaseRecord under its idempotency key, the notifications
   of whoever owes the step and, for an escalation, its printable notice, the demand's escalation
   level (key supervision once leadership is involved) and the mail to the head or the leaders,
   written to the outbox in the same transaction.

The unique index on chase_records.idempotency_key makes each action count once: a batch first skips
the keys already recorded, and when another tick records one of its keys meanwhile (two schedulers
at once) the insert fails, the batch is rolled back and done again without those keys. A tick that
dies half-way leaves whole batches behind it; the next tick does the rest.

Reminders themselves send no mail: the morning digests (chaser.digests) gather them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from servicedesk.calendar import limits as time_limits
from servicedesk.calendar import store as calendar_store
from servicedesk.chaser import messages, notices
from servicedesk.demands import operations
from servicedesk.domain.chase import (
    ESCALATIONS,
    ChaseAction,
    ChaseSettings,
    Kind,
    OpenDeadline,
    Owner,
    chase,
)
from servicedesk.domain.lifecycle import State
from servicedesk.domain.time_limits import TimeLimits
from servicedesk.domain.workdays import WorkingCalendar, local_day
from servicedesk.extensions import db
from servicedesk.models import (
    ChaseRecord,
    Demand,
    EscalationNotice,
    ExtensionRequest,
    Milestone,
    Role,
    User,
    UserRole,
)

DEFAULT_BATCH_SIZE = 200
#: how often a batch is tried again after another tick recorded some of its keys meanwhile
ATTEMPTS = 5
#: the demand event of a reminder (催办) and of an escalation (督办)
REMIND = "remind"
ESCALATE = "escalate"
#: the step whose deadline is chased in each state, with the column holding it
STEP_OF_STATE = {State.ASSIGNED: "sign", State.ACCEPTED: "respond", State.RESPONDED: "feedback"}
#: days fetched around the deadlines, so that the rules never ask the calendar for more
CALENDAR_MARGIN = timedelta(days=93)
#: PostgreSQL's deadlock and serialisation failures: the batch is simply tried again
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


@dataclass(frozen=True)
class Recorded:
    """What one recorded action was, for the command's output and the tests."""

    demand_id: int
    demand_number: str
    kind: str
    deadline: str
    due: date
    days_overdue: int
    working_day: date
    idempotency_key: str
    milestone_id: int | None = None
    #: the escalation notice's number
    notice: str | None = None


@dataclass
class TickResult:
    now: datetime
    recorded: list[Recorded] = field(default_factory=list)
    #: actions the rules called for that an earlier (or a concurrent) tick had recorded already
    already: int = 0
    #: actions dropped because their demand moved on between loading and recording
    stale: int = 0
    batches: int = 0
    #: batches done again because another tick recorded some of their keys meanwhile
    retries: int = 0

    @property
    def decided(self) -> int:
        return len(self.recorded) + self.already + self.stale


def current_settings(limits: TimeLimits | None = None) -> ChaseSettings:
    """The rules' settings: the yellow-card window of the time limits (read now unless given), the
    escalations from the configuration (CHASE_ESCALATE_HEAD_AFTER, CHASE_ESCALATE_LEADERSHIP_AFTER)."""
    config = current_app.config
    return ChaseSettings(
        due_soon_days=(limits or time_limits.current()).due_soon,
        escalate_head_after=int(config["CHASE_ESCALATE_HEAD_AFTER"]),
        escalate_leadership_after=int(config["CHASE_ESCALATE_LEADERSHIP_AFTER"]))


def run_tick(now: datetime, settings: ChaseSettings | None = None,
             batch_size: int = DEFAULT_BATCH_SIZE) -> TickResult:
    """Record what the rules call for at `now`; commits each batch (the session must hold no
    unsaved changes)."""
    if now.tzinfo is None:
        raise ValueError("the tick needs an aware moment, e.g. 2026-06-15T09:00+08:00")
    if batch_size < 1:
        raise ValueError("a batch holds at least one action")
    if db.session.new or db.session.dirty or db.session.deleted:
        raise RuntimeError("the tick commits batches of its own: commit or roll back first")
    settings = settings or current_settings()
    calendar = calendar_store.working_calendar()
    deadlines = load_deadlines()
    prefetch_calendar(calendar, deadlines, now)
    actions = chase(now, deadlines, calendar, settings)
    db.session.commit()  # ends the reading transaction (on SQLite, the write lock it took)
    result = TickResult(now)
    for start in range(0, len(actions), batch_size):
        _record_batch(actions[start:start + batch_size], now, result)
    return result


# Loading: a fixed number of queries, whatever the number of demands

def load_deadlines() -> list[OpenDeadline]:
    """Every open deadline: three queries (demands, pending extension requests, open milestones)."""
    found: list[OpenDeadline] = []
    rows = db.session.execute(
        select(Demand.id, Demand.state, Demand.sign_due, Demand.respond_due, Demand.feedback_due,
               Demand.lead_department_id, Demand.dispatched_by_id)
        .where(Demand.state.in_([s.value for s in STEP_OF_STATE]))
        .order_by(Demand.id))
    for row in rows:
        step = STEP_OF_STATE[State(row.state)]
        due = getattr(row, f"{step}_due")
        if due is None:
            continue
        if step == "feedback":
            found.append(OpenDeadline(row.id, step, due, Owner.OFFICER, row.lead_department_id,
                                      row.dispatched_by_id))
        elif row.lead_department_id is not None:
            found.append(OpenDeadline(row.id, step, due, Owner.DEPARTMENT, row.lead_department_id, None))
    extensions = db.session.execute(
        select(ExtensionRequest.demand_id, Demand.respond_due, Demand.lead_department_id,
               Demand.dispatched_by_id)
        .join(Demand, Demand.id == ExtensionRequest.demand_id)
        .where(ExtensionRequest.status == "pending", Demand.state == State.ACCEPTED.value,
               Demand.respond_due.is_not(None))
        .order_by(ExtensionRequest.demand_id, ExtensionRequest.id))
    found.extend(OpenDeadline(row.demand_id, "extension", row.respond_due, Owner.APPROVER,
                              row.lead_department_id, row.dispatched_by_id) for row in extensions)
    milestones = db.session.execute(
        select(Milestone.id, Milestone.demand_id, Milestone.due_on, Demand.lead_department_id)
        .join(Demand, Demand.id == Milestone.demand_id)
        .where(Milestone.completed_at.is_(None),
               Demand.state.in_([State.ACCEPTED.value, State.RESPONDED.value]),
               Demand.lead_department_id.is_not(None))
        .order_by(Milestone.demand_id, Milestone.id))
    found.extend(OpenDeadline(row.demand_id, "milestone", row.due_on, Owner.DEPARTMENT,
                              row.lead_department_id, None, milestone_id=row.id) for row in milestones)
    return found


def prefetch_calendar(calendar: WorkingCalendar, deadlines: Sequence[OpenDeadline], now: datetime) -> None:
    """Fetch, in one query, every day the rules will count over: from the earliest due day to well
    past the latest one and today."""
    today = local_day(now)
    days = [today, *(d.due for d in deadlines)]
    calendar.working_days_between(min(days) - timedelta(days=1), max(days) + CALENDAR_MARGIN)


# Recording: one transaction per batch

def _record_batch(batch: Sequence[ChaseAction], now: datetime, result: TickResult) -> None:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            recorded, already, stale = _write_batch(batch, now)
            db.session.commit()
        except (IntegrityError, StaleDataError, OperationalError) as error:
            # Another tick recorded some of these keys (or changed one of these demands) meanwhile:
            # start the batch again, which skips what is now recorded.
            db.session.rollback()
            if attempt == ATTEMPTS or not _retryable(error):
                raise
            result.retries += 1
            continue
        except BaseException:
            db.session.rollback()
            raise
        result.recorded.extend(recorded)
        result.already += already
        result.stale += stale
        result.batches += 1
        return


def _retryable(error: Exception) -> bool:
    if isinstance(error, IntegrityError | StaleDataError):
        return True
    return getattr(getattr(error, "orig", None), "sqlstate", None) in RETRYABLE_SQLSTATES


@dataclass
class _Audience:
    """The users a batch may notify or mail, loaded at once."""

    users: dict[int, User]
    handlers: dict[int, list[int]]
    heads: dict[int, User]
    leaders: list[User]


def _write_batch(batch: Sequence[ChaseAction], now: datetime) -> tuple[list[Recorded], int, int]:
    keys = [action.idempotency_key for action in batch]
    existing = set(db.session.scalars(
        select(ChaseRecord.idempotency_key).where(ChaseRecord.idempotency_key.in_(keys))))
    todo = [action for action in batch if action.idempotency_key not in existing]
    already = len(batch) - len(todo)
    if not todo:
        return [], already, 0
    demands = {demand.id: demand for demand in db.session.scalars(
        select(Demand).where(Demand.id.in_({a.deadline.demand_id for a in todo}))
        .options(joinedload(Demand.lead_department)))}
    owed = [a for a in todo if _still_owed(demands.get(a.deadline.demand_id), a.deadline)]
    stale = len(todo) - len(owed)
    if not owed:
        return [], already, stale
    numbering = notices.Numbering()
    numbers = [_notice_number(action, numbering) for action in owed]
    records = [_record_action(action, demands[action.deadline.demand_id], number, now)
               for action, number in zip(owed, numbers, strict=True)]
    db.session.flush()
    audience = _audience(owed)
    recorded = []
    for action, record, number in zip(owed, records, numbers, strict=True):
        demand = demands[action.deadline.demand_id]
        _follow_up(action, record, demand, number, audience, now)
        recorded.append(Recorded(
            demand.id, demand.number, action.kind.value, action.deadline.deadline, action.deadline.due,
            action.days_overdue, action.working_day, action.idempotency_key,
            action.deadline.milestone_id, number))
    db.session.flush()
    return recorded, already, stale


def _still_owed(demand: Demand | None, deadline: OpenDeadline) -> bool:
    """Whether the demand still owes the deadline as loaded (it may have moved on since)."""
    if demand is None:
        return False
    if deadline.deadline in ("sign", "respond", "feedback"):
        return (STEP_OF_STATE.get(State(demand.state)) == deadline.deadline
                and getattr(demand, f"{deadline.deadline}_due") == deadline.due)
    if deadline.deadline == "extension":
        return demand.state == State.ACCEPTED.value and demand.respond_due == deadline.due
    return demand.state in (State.ACCEPTED.value, State.RESPONDED.value)


def _notice_number(action: ChaseAction, numbering: notices.Numbering) -> str | None:
    """The number of the notice an escalation yields (None for a reminder)."""
    level = notices.LEVEL_OF_KIND.get(action.kind)
    return numbering.next(level, action.working_day.year) if level else None


def _record_action(action: ChaseAction, demand: Demand, notice: str | None, now: datetime) -> ChaseRecord:
    """The history line and the record of one action (flushed with the rest of the batch)."""
    deadline = action.deadline
    details = {"kind": action.kind.value, "deadline": deadline.deadline, "due": deadline.due.isoformat(),
               "days_overdue": action.days_overdue, "working_day": action.working_day.isoformat()}
    if deadline.milestone_id is not None:
        details["milestone_id"] = deadline.milestone_id
    if notice is not None:
        details["notice"] = notice
    if action.kind is Kind.ESCALATE_LEADERSHIP and not demand.key_supervision:
        details["key_supervision"] = True  # set by _escalate below
    event = operations.append_event(demand, ESCALATE if action.kind in ESCALATIONS else REMIND, now,
                                    details=details)
    record = ChaseRecord(
        idempotency_key=action.idempotency_key, demand=demand, event=event, kind=action.kind.value,
        deadline=deadline.deadline, due=deadline.due, milestone_id=deadline.milestone_id,
        working_day=action.working_day, department_id=deadline.department_id, user_id=deadline.user_id,
        created_at=now)
    db.session.add(record)
    return record


def _audience(actions: Iterable[ChaseAction]) -> _Audience:
    """The active users the batch's actions concern: the handlers of the departments that owe them,
    the users named by them, and the leaders: two queries (the users, their roles)."""
    department_ids = {a.deadline.department_id for a in actions if a.deadline.department_id is not None}
    user_ids = {a.deadline.user_id for a in actions if a.deadline.user_id is not None}
    wanted = [User.id.in_(select(UserRole.user_id).where(UserRole.role == Role.LEADER.value))]
    if department_ids:
        wanted.append(User.department_id.in_(department_ids))
    if user_ids:
        wanted.append(User.id.in_(user_ids))
    users = {user.id: user for user in db.session.scalars(
        select(User).where(User.active.is_(True), or_(*wanted)).order_by(User.id))}
    handlers: dict[int, list[int]] = defaultdict(list)
    heads: dict[int, User] = {}
    for user in users.values():
        if user.department_id is not None and user.has_role(Role.HANDLER):
            handlers[user.department_id].append(user.id)
            if user.is_department_head:
                heads[user.department_id] = user
    leaders = [user for user in users.values() if user.has_role(Role.LEADER)]
    return _Audience(users, handlers, heads, leaders)


def _owers(action: ChaseAction, audience: _Audience) -> set[int]:
    """Who owes the step: the lead department's handlers, the dispatching officer, or whoever decides
    an extension (the leaders and the dispatching officer)."""
    deadline = action.deadline
    if deadline.owner is Owner.DEPARTMENT:
        return set(audience.handlers.get(deadline.department_id or 0, ()))
    found = {deadline.user_id} if deadline.user_id in audience.users else set()
    if deadline.owner is Owner.APPROVER:
        found |= {leader.id for leader in audience.leaders}
    return found


def _escalated_to(action: ChaseAction, audience: _Audience) -> list[User]:
    """Whom an escalation is sent to: the department head, or every leader."""
    if action.kind is Kind.ESCALATE_HEAD:
        head = audience.heads.get(action.deadline.department_id or 0)
        return [head] if head is not None else []
    if action.kind is Kind.ESCALATE_LEADERSHIP:
        return list(audience.leaders)
    return []


def _follow_up(action: ChaseAction, record: ChaseRecord, demand: Demand, number: str | None,
               audience: _Audience, now: datetime) -> EscalationNotice | None:
    """Notifications, and for an escalation its notice, the demand's level and the mail."""
    escalated_to = _escalated_to(action, audience)
    told = _owers(action, audience) | {user.id for user in escalated_to}
    messages.notify(sorted(told), action.kind.value, demand.id, record.id, now)
    level = notices.LEVEL_OF_KIND.get(action.kind)
    if level is None or number is None:
        return None
    notice = notices.issue(record, level, number, action.days_overdue, now)
    _escalate(demand, level, number, action, now)
    base_url = messages.base_url()
    for user in escalated_to:
        mail = messages.escalation_mail(record, user, base_url, days_overdue=action.days_overdue)
        messages.queue_mail(f"escalation:{action.idempotency_key}:{user.id}", "escalation", user, mail,
                            demand.id, now)
    return notice


def _escalate(demand: Demand, level: str, number: str, action: ChaseAction, now: datetime) -> None:
    new_level = max(demand.escalation_level or 0, notices.ESCALATION_LEVEL[level])
    flag = level == notices.LEADERSHIP and not demand.key_supervision
    if new_level == demand.escalation_level and not flag:
        return
    demand.escalation_level = new_level
    if flag:
        demand.key_supervision = True
        with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")):
            demand.key_supervision_reason = _(
                "Escalated to leadership by the desk (%(number)s): %(deadline)s %(due)s, %(days)d "
                "working days overdue.", number=number,
                deadline=notices.DEADLINE_LABELS[action.deadline.deadline],
                due=action.deadline.due.isoformat(), days=action.days_overdue)
    demand.updated_at = now
