"""The chase tick: what the rules decide at one moment, recorded once.

A tick

1. loads every open deadline in a fixed number of queries (the demands' current step, pending
   extension requests, open milestones), the working calendar of the days they span, and in one
   more query whom the actions may concern (the active handlers of the departments that owe them,
   the users they name, the leaders);
2. asks `domain.chase.chase` what they call for at `now`;
3. records the actions in batches, one transaction each: the demand's history line (催办 for a
   reminder, 督办 for an escalation), the ChaseRecord under its idempotency key, the notifications
   of whoever owes the step and, for an escalation, its printable notice, the demand's escalation
   level (key supervision once leadership is involved) and the mail to the head or the leaders,
   written to the outbox in the same transaction. A batch writes each table in one statement and
   reads what it needs in one query each, so that its statements do not grow with its actions; the
   mail is composed once per escalation and language.

The unique index on chase_records.idempotency_key makes each action count once: a batch first skips
the keys already recorded, and when another tick records one of its keys meanwhile (two schedulers
at once) the insert fails, the batch is rolled back and done again without those keys. An
escalation changes the demand like any other change, at the version the batch read (and bumps it):
a demand changed meanwhile makes the batch start again too, which drops what the demand no longer
owes. A tick that dies half-way leaves whole batches behind it; the next tick does the rest.

Reminders themselves send no mail: the morning digests (chaser.digests) gather them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Column, Row, Table, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from servicedesk.calendar import limits as time_limits
from servicedesk.calendar import store as calendar_store
from servicedesk.chaser import messages, notices
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
    Company,
    Demand,
    DemandEvent,
    Department,
    EscalationNotice,
    ExtensionRequest,
    Milestone,
    Notification,
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
    shared = _Shared(now, _audience(actions), notices.Numbering(), messages.base_url())
    db.session.commit()  # ends the reading transaction (on SQLite, the write lock it took)
    result = TickResult(now)
    for start in range(0, len(actions), batch_size):
        _record_batch(actions[start:start + batch_size], shared, result)
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

@dataclass
class _Shared:
    """What the batches of a tick share: the moment, whom they may tell (read once, with the
    deadlines) and the notice numbers, counted on from batch to batch."""

    now: datetime
    audience: _Audience
    numbering: notices.Numbering
    base_url: str


def _record_batch(batch: Sequence[ChaseAction], shared: _Shared, result: TickResult) -> None:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            recorded, already, stale = _write_batch(batch, shared)
            db.session.commit()
        except (IntegrityError, StaleDataError, OperationalError) as error:
            # Another tick recorded some of these keys, or numbered notices, or changed one of these
            # demands meanwhile: start the batch again, which skips what is now recorded and counts
            # the numbers on from what is now there.
            db.session.rollback()
            shared.numbering = notices.Numbering()
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


def _write_batch(batch: Sequence[ChaseAction], shared: _Shared) -> tuple[list[Recorded], int, int]:
    """Write one batch in a fixed number of statements, however many actions it holds: the keys
    recorded already and the demands (one query each), then one statement each for the history
    lines, the records, the notifications, the notices, the demands' escalation and the mail (and a
    query for the mail's milestones, the keys of the mail queued already and, for a year's first
    notice of a level in this tick, its last number)."""
    todo = _unrecorded(batch)
    already = len(batch) - len(todo)
    if not todo:
        return [], already, 0
    demands = _demands_of(todo)
    owed = [a for a in todo if _still_owed(demands.get(a.deadline.demand_id), a.deadline)]
    stale = len(todo) - len(owed)
    if not owed:
        return [], already, stale
    numbers = [_notice_number(action, shared.numbering) for action in owed]
    escalated, flagging = _escalate(owed, numbers, demands)
    rows = [_record_action(action, demands[action.deadline.demand_id], number,
                           flags=action.idempotency_key in flagging)
            for action, number in zip(owed, numbers, strict=True)]
    record_ids = _insert_records(rows, shared.now)
    _follow_up(owed, numbers, record_ids, demands, shared)
    _update_demands(escalated.values(), shared.now)
    return [_recorded(action, demands[action.deadline.demand_id], number)
            for action, number in zip(owed, numbers, strict=True)], already, stale


def _unrecorded(batch: Sequence[ChaseAction]) -> list[ChaseAction]:
    """The batch's actions whose keys are not recorded yet: one query."""
    existing = set(db.session.scalars(select(ChaseRecord.idempotency_key).where(
        ChaseRecord.idempotency_key.in_([action.idempotency_key for action in batch]))))
    return [action for action in batch if action.idempotency_key not in existing]


def _demands_of(actions: Sequence[ChaseAction]) -> dict[int, Row[Any]]:
    """What the batch reads of its demands, with the company and lead department a mail names: one
    query."""
    return {row.id: row for row in db.session.execute(
        select(Demand.id, Demand.number, Demand.title, Demand.state, Demand.sign_due, Demand.respond_due,
               Demand.feedback_due, Demand.escalation_level, Demand.key_supervision,
               Demand.key_supervision_reason, Demand.version, Company.name.label("company"),
               Department.name.label("department"))
        .join(Company, Company.id == Demand.company_id)
        .outerjoin(Department, Department.id == Demand.lead_department_id)
        .where(Demand.id.in_({action.deadline.demand_id for action in actions})))}


def _still_owed(demand: Row[Any] | None, deadline: OpenDeadline) -> bool:
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


@dataclass
class _Escalated:
    """A demand's escalation as the batch leaves it, and the version it was read at."""

    demand_id: int
    version: int
    level: int
    key_supervision: bool
    key_supervision_reason: str | None


def _escalate(actions: Sequence[ChaseAction], numbers: Sequence[str | None],
              demands: dict[int, Row[Any]]) -> tuple[dict[int, _Escalated], set[str]]:
    """The demands the batch's escalations raise (a level up; key supervision once leadership is
    involved), and the keys of the escalations that put a demand under key supervision."""
    escalated: dict[int, _Escalated] = {}
    flagging: set[str] = set()
    for action, number in zip(actions, numbers, strict=True):
        level = notices.LEVEL_OF_KIND.get(action.kind)
        if level is None or number is None:
            continue
        demand = demands[action.deadline.demand_id]
        current = escalated.get(demand.id) or _Escalated(
            demand.id, demand.version, demand.escalation_level or 0, demand.key_supervision,
            demand.key_supervision_reason)
        new_level = max(current.level, notices.ESCALATION_LEVEL[level])
        flag = level == notices.LEADERSHIP and not current.key_supervision
        if new_level == current.level and not flag:
            continue
        current.level = new_level
        if flag:
            current.key_supervision = True
            current.key_supervision_reason = _supervision_reason(action, number)
            flagging.add(action.idempotency_key)
        escalated[demand.id] = current
    return escalated, flagging


def _supervision_reason(action: ChaseAction, number: str) -> str:
    """Why the desk put the demand under key supervision, in the desk's language."""
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")):
        return _("Escalated to leadership by the desk (%(number)s): %(deadline)s %(due)s, %(days)d "
                 "working days overdue.", number=number,
                 deadline=notices.DEADLINE_LABELS[action.deadline.deadline],
                 due=action.deadline.due.isoformat(), days=action.days_overdue)


@dataclass(frozen=True)
class _Rows:
    """The history line and the record of one action, before they are written."""

    event: dict[str, Any]
    record: dict[str, Any]


def _record_action(action: ChaseAction, demand: Row[Any], notice: str | None, *, flags: bool) -> _Rows:
    """The history line and the record of one action (written with the rest of the batch); `flags`
    when it puts the demand under key supervision."""
    deadline = action.deadline
    details: dict[str, Any] = {
        "kind": action.kind.value, "deadline": deadline.deadline, "due": deadline.due.isoformat(),
        "days_overdue": action.days_overdue, "working_day": action.working_day.isoformat()}
    if deadline.milestone_id is not None:
        details["milestone_id"] = deadline.milestone_id
    if notice is not None:
        details["notice"] = notice
    if flags:
        details["key_supervision"] = True
    event = {"demand_id": demand.id, "action": ESCALATE if action.kind in ESCALATIONS else REMIND,
             "details": details}
    record = {"idempotency_key": action.idempotency_key, "demand_id": demand.id, "kind": action.kind.value,
              "deadline": deadline.deadline, "due": deadline.due, "milestone_id": deadline.milestone_id,
              "working_day": action.working_day, "department_id": deadline.department_id,
              "user_id": deadline.user_id}
    return _Rows(event, record)


def _insert_records(rows: Sequence[_Rows], now: datetime) -> dict[str, int]:
    """Write the history lines, then the records pointing at them, one statement each; the records'
    ids by key. A key recorded meanwhile by another tick fails here (IntegrityError)."""
    events, records = DemandEvent.__table__, ChaseRecord.__table__
    written = _insert_all(events, [row.event for row in rows], events.c.id, events.c.demand_id,
                          events.c.details, at=now)
    # RETURNING keeps no order: an event is known by its demand and details, which hold its key's parts
    event_ids = {_event_identity(demand_id, details): event_id for event_id, demand_id, details in written}
    with_events = [row.record | {"event_id": event_ids[_event_identity(row.event["demand_id"],
                                                                       row.event["details"])]}
                   for row in rows]
    return {key: record_id for record_id, key in _insert_all(
        records, with_events, records.c.id, records.c.idempotency_key, created_at=now)}


def _insert_all(table: Table, rows: Sequence[dict[str, Any]], *returning: Column[Any],
                **common: Any) -> Sequence[Row[Any]]:
    """Insert the rows (each with the same columns, and the `common` values they all take) in one
    statement; the `returning` columns of the rows written, in no particular order."""
    if not rows:
        return []
    names = list(rows[0])
    if db.session.get_bind().dialect.name == "postgresql":
        # One INSERT reading an array per column: an executemany runs a statement per row, and a
        # multi-row VALUES is a new text for the driver to parse whenever a batch's size changes.
        columns = [func.unnest(bindparam(name, [row[name] for row in rows],
                                         type_=ARRAY(table.c[name].type))) for name in names]
        values = [bindparam(name, value, type_=table.c[name].type) for name, value in common.items()]
        statement: Any = insert(table).from_select([*names, *common], select(*columns, *values))
        parameters: list[dict[str, Any]] | None = None
    else:
        # Core, not the ORM's bulk insert: that leaves a row's None values out, and rows of different
        # shapes would take a statement each.
        statement, parameters = insert(table).values(**common), list(rows)
    if not returning:
        db.session.execute(statement, parameters)
        return []
    return db.session.execute(statement.returning(*returning), parameters).all()


def _event_identity(demand_id: int, details: dict[str, Any]) -> tuple[Any, ...]:
    return (demand_id, details["kind"], details["deadline"], details.get("milestone_id"), details["due"],
            details["working_day"])


@dataclass(frozen=True)
class _Member:
    """An active user the tick may notify or mail."""

    id: int
    display_name: str
    email: str | None
    locale: str | None
    department_id: int | None
    is_department_head: bool
    roles: frozenset[str]
    active: bool = True


@dataclass
class _Audience:
    """The users a tick may notify or mail, loaded at once."""

    users: dict[int, _Member]
    handlers: dict[int, list[int]]
    heads: dict[int, _Member]
    leaders: list[_Member]


def _audience(actions: Iterable[ChaseAction]) -> _Audience:
    """The active users the actions concern: the handlers of the departments that owe them, the users
    named by them, and the leaders, with their roles: one query."""
    department_ids = {a.deadline.department_id for a in actions if a.deadline.department_id is not None}
    user_ids = {a.deadline.user_id for a in actions if a.deadline.user_id is not None}
    wanted = [User.id.in_(select(UserRole.user_id).where(UserRole.role == Role.LEADER.value))]
    if department_ids:
        wanted.append(User.department_id.in_(department_ids))
    if user_ids:
        wanted.append(User.id.in_(user_ids))
    roles: dict[int, set[str]] = defaultdict(set)
    found: dict[int, Row[Any]] = {}
    for row in db.session.execute(
            select(User.id, User.display_name, User.email, User.locale, User.department_id,
                   User.is_department_head, UserRole.role)
            .outerjoin(UserRole, UserRole.user_id == User.id)
            .where(User.active.is_(True), or_(*wanted)).order_by(User.id)):
        found.setdefault(row.id, row)
        if row.role is not None:
            roles[row.id].add(row.role)
    users = {user_id: _Member(row.id, row.display_name, row.email, row.locale, row.department_id,
                              row.is_department_head, frozenset(roles[user_id]))
             for user_id, row in found.items()}
    handlers: dict[int, list[int]] = defaultdict(list)
    heads: dict[int, _Member] = {}
    for user in users.values():
        if user.department_id is not None and Role.HANDLER.value in user.roles:
            handlers[user.department_id].append(user.id)
            if user.is_department_head:
                heads[user.department_id] = user
    leaders = [user for user in users.values() if Role.LEADER.value in user.roles]
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


def _escalated_to(action: ChaseAction, audience: _Audience) -> list[_Member]:
    """Whom an escalation is sent to: the department head, or every leader."""
    if action.kind is Kind.ESCALATE_HEAD:
        head = audience.heads.get(action.deadline.department_id or 0)
        return [head] if head is not None else []
    if action.kind is Kind.ESCALATE_LEADERSHIP:
        return list(audience.leaders)
    return []


def _follow_up(actions: Sequence[ChaseAction], numbers: Sequence[str | None], record_ids: dict[str, int],
               demands: dict[int, Row[Any]], shared: _Shared) -> None:
    """The batch's notifications, and for its escalations their notices and mail: one statement each
    (and one query for the milestones the mail names)."""
    told: list[dict[str, Any]] = []
    issued: list[dict[str, Any]] = []
    mail: list[dict[str, Any]] = []
    milestones = _milestone_titles(a for a, number in zip(actions, numbers, strict=True) if number)
    for action, number in zip(actions, numbers, strict=True):
        record_id = record_ids[action.idempotency_key]
        escalated_to = _escalated_to(action, shared.audience)
        told_ids = sorted(_owers(action, shared.audience) | {user.id for user in escalated_to})
        told += messages.notification_values(told_ids, action.kind.value, action.deadline.demand_id,
                                             record_id)
        if number is None:
            continue
        issued.append(notices.notice_values(action, record_id, number))
        mail += _escalation_mail(action, demands[action.deadline.demand_id], milestones, escalated_to, shared)
    _insert_all(Notification.__table__, told, created_at=shared.now)
    _insert_all(EscalationNotice.__table__, issued, created_at=shared.now)
    messages.queue_mails(mail)


def _milestone_titles(actions: Iterable[ChaseAction]) -> dict[int, str]:
    """The titles of the milestones the actions concern: one query, none without a milestone."""
    ids = {a.deadline.milestone_id for a in actions if a.deadline.milestone_id is not None}
    if not ids:
        return {}
    rows = db.session.execute(select(Milestone.id, Milestone.title).where(Milestone.id.in_(ids)))
    return {row.id: row.title for row in rows}


def _escalation_mail(action: ChaseAction, demand: Row[Any], milestones: dict[int, str],
                     recipients: Sequence[_Member], shared: _Shared) -> list[dict[str, Any]]:
    """The outbox rows of an escalation's mail: one per recipient with an address."""
    addressed = [(user, address) for user in recipients if (address := messages.mail_address(user))]
    escalation = messages.Escalation(
        action.kind.value, demand.id, demand.number, demand.title, demand.company, demand.department,
        action.deadline.deadline, milestones.get(action.deadline.milestone_id or 0), action.deadline.due,
        action.days_overdue)
    mails = messages.escalation_mails(escalation, [user for user, _address in addressed], shared.base_url)
    return [messages.outbox_values(f"escalation:{action.idempotency_key}:{user.id}", "escalation", user.id,
                                   address, parts, demand.id, shared.now)
            for (user, address), parts in zip(addressed, mails, strict=True)]


def _update_demands(escalated: Iterable[_Escalated], now: datetime) -> None:
    """Raise the demands' escalation, each at the version the batch read it, one statement for all: a
    demand changed meanwhile makes the batch fail (StaleDataError) and start again."""
    rows = [{"b_id": e.demand_id, "b_version": e.version, "b_level": e.level,
             "b_flag": e.key_supervision, "b_reason": e.key_supervision_reason} for e in escalated]
    if not rows:
        return
    demands = Demand.__table__
    result = db.session.execute(
        update(demands)
        .where(demands.c.id == bindparam("b_id"), demands.c.version == bindparam("b_version"))
        .values(escalation_level=bindparam("b_level"), key_supervision=bindparam("b_flag"),
                key_supervision_reason=bindparam("b_reason"), updated_at=now,
                version=demands.c.version + 1),
        rows)
    if result.rowcount != len(rows):
        raise StaleDataError(f"{len(rows) - result.rowcount} of the batch's demands changed meanwhile")


def _recorded(action: ChaseAction, demand: Row[Any], number: str | None) -> Recorded:
    deadline = action.deadline
    return Recorded(demand.id, demand.number, action.kind.value, deadline.deadline, deadline.due,
                    action.days_overdue, action.working_day, action.idempotency_key, deadline.milestone_id,
                    number)
