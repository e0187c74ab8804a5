"""Logging demands and taking lifecycle actions on them; shared by the pages, the API and the demo.

`take_action` is the one way a demand changes after it is logged: it asks domain.lifecycle whether
the user may take the action now, checks the version the user saw, applies the action's effects
and appends the event, all in the caller's transaction. A refusal raises DemandRefused having
changed nothing.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, Row, bindparam, cast, func, or_, select, union_all
from sqlalchemy.orm import aliased, joinedload, selectinload

from servicedesk import audit
from servicedesk.calendar import limits as time_limits
from servicedesk.calendar import store as calendar_store
from servicedesk.domain.lifecycle import (
    BY_ACTION,
    OPEN_STATES,
    Action,
    Actor,
    DemandFacts,
    Feedback,
    Outcome,
    Party,
    Refusal,
    State,
    check,
    invalid_fields,
    missing_fields,
    parties,
    target_state,
)
from servicedesk.domain.time_limits import Urgency
from servicedesk.domain.workdays import Deadline, WorkingCalendar, end_of, local_day, recompute_provisional
from servicedesk.extensions import db
from servicedesk.models import (
    Attachment,
    Category,
    Company,
    Demand,
    DemandEvent,
    Department,
    ExtensionRequest,
    Milestone,
    Role,
    User,
    Visit,
)
from servicedesk.models.demand import demand_co_departments

SOURCES = ("visit", "symposium", "survey", "hotline", "letter", "online", "other")
VISIT_KINDS = ("visit", "symposium", "survey")
#: titles at least this alike (difflib's ratio) may be the same demand logged twice
SIMILAR_TITLE_RATIO = 0.6
#: the first key of PostgreSQL's advisory lock on a year's demand numbers (the second is the year);
#: two-key advisory locks never meet the scheduler's one-key lock (chaser/scheduler.py)
NUMBERING_LOCK = 1_001

REFUSALS = {
    Refusal.WRONG_STATE: _l("This cannot be done while the demand is %(state)s."),
    Refusal.NOT_ALLOWED: _l("You may not do this on this demand."),
    Refusal.EXTENSION_PENDING: _l("An extension request is already waiting for a decision."),
    Refusal.NO_PENDING_EXTENSION: _l("There is no extension request waiting for a decision."),
    Refusal.MISSING_FIELD: _l("Fill in every required field."),
    Refusal.INVALID_VALUE: _l("Choose one of the values offered."),
    Refusal.PLANNED_NEEDS_MILESTONE: _l("A planned solution needs a date and at least one milestone."),
    Refusal.NO_OPEN_MILESTONE: _l("There is no open milestone."),
    Refusal.ALREADY_FLAGGED: _l("The demand is under key supervision already."),
}

STATE_LABELS = {
    State.REGISTERED: _l("registered"),
    State.ASSIGNED: _l("assigned"),
    State.ACCEPTED: _l("accepted"),
    State.RESPONDED: _l("responded"),
    State.CLOSED: _l("closed"),
}


class DemandRefused(ValueError):
    """The action or the new demand is refused; field_errors says why, by field ('' for the whole)."""

    def __init__(self, field_errors: dict[str, str], refusal: Refusal | None = None) -> None:
        super().__init__("; ".join(field_errors.values()))
        self.field_errors = field_errors
        self.refusal = refusal


# Who may see what

def actor_of(user: User) -> Actor:
    return Actor(user.id, frozenset(role.value for role in user.roles), user.department_id)


def sees_all(user: User) -> bool:
    return user.has_role(Role.OFFICER, Role.LEADER)


def visibility_clause(user: User, *, within_department: int | None = None) -> Any:
    """The demands the user may see: all for officers and leaders, else those where the user's
    department is lead or co-department. `within_department`: the caller keeps to that department's
    demands already; when it is the handler's own, all of them may be seen, and checking again
    would read every demand of the department once more."""
    if sees_all(user):
        return True
    if user.department_id is None or not user.has_role(Role.HANDLER):
        return False
    if within_department == user.department_id:
        return True
    return Demand.id.in_(department_demand_ids(user.department_id))


#: the demands a department leads, named apart from the outer query's demands: made once, as making
#: an alias cost a list page 2 ms each time
LED_DEMANDS = aliased(Demand, name="led_demands")


def department_demand_ids(department_id: int, *, lead: bool = True, co: bool = True,
                          states: Sequence[str] = ()) -> Any:
    """The ids of the demands the department leads and/or co-handles (in these states, if given).

    Both is the union of two id lists, each read from an index alone ((lead_department_id, state) and
    the co-departments' (department_id, demand_state, demand_id)), each narrowed by the states: with
    `lead OR id IN (co)` SQLite read every demand in the states asked for and looked its departments
    up one by one. The co-departments' demand_state is their demand's state, kept by the triggers of
    migration 0008."""
    led = LED_DEMANDS
    lead_ids = select(led.id).where(led.lead_department_id == department_id)
    co_ids = (select(demand_co_departments.c.demand_id)
              .where(demand_co_departments.c.department_id == department_id))
    if states:
        lead_ids = lead_ids.where(led.state.in_(states))
        co_ids = co_ids.where(demand_co_departments.c.demand_state.in_(states))
    if lead and co:
        return union_all(lead_ids, co_ids)
    return lead_ids if lead else co_ids


def may_see(user: User, demand: Demand) -> bool:
    if sees_all(user):
        return True
    department_ids = {demand.lead_department_id, *(d.id for d in demand.co_departments)}
    return user.has_role(Role.HANDLER) and user.department_id in department_ids


# Facts for the rules

def facts_of(demand: Demand) -> DemandFacts:
    return DemandFacts(
        state=State(demand.state),
        lead_department_id=demand.lead_department_id,
        co_department_ids=frozenset(d.id for d in demand.co_departments),
        dispatched_by_id=demand.dispatched_by_id,
        pending_extension=any(e.status == "pending" for e in demand.extensions),
        open_milestones=sum(1 for m in demand.milestones if m.is_open),
        milestones=len(demand.milestones),
        key_supervision=demand.key_supervision,
    )


def refusal_message(refusal: Refusal, demand: Demand) -> str:
    return _(str(REFUSALS[refusal]), state=str(STATE_LABELS[State(demand.state)]))


# Logging

def next_number(year: int) -> str:
    """2026-0001, 2026-0002, ... in the order demands are logged each year.

    Two officers logging at once must not both read the same last number. On SQLite a writing
    transaction holds the write lock from its start (database.py: BEGIN IMMEDIATE); on PostgreSQL
    the numbering of the year is locked until the transaction ends (an advisory lock), so that
    the second officer reads the first one's number once it is committed.

    Numbers are thus handed out in the order the rows are inserted: the year's last number is
    that of its newest row. Read by id, it is found at once; the greatest as text is wrong past
    9999 (2026-10000 sorts before 2026-9999), and ordering by length reads every number of the year.
    """
    prefix = f"{year}-"
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(cast(NUMBERING_LOCK, Integer),
                                                             cast(year, Integer))))
    last = db.session.scalar(select(Demand.number).where(Demand.number.startswith(prefix))
                             .order_by(Demand.id.desc()).limit(1))
    sequence = int(last.removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{sequence:04d}"


@dataclass
class NewDemand:
    """What an officer enters for one demand."""

    company_id: int | None
    category_id: int | None
    title: str
    description: str
    urgency: str
    contact_name: str | None = None
    contact_phone: str | None = None
    source: str = "other"
    duplicate_of_id: int | None = None


def _checked(new: NewDemand) -> dict[str, str]:
    errors = {}
    if not new.company_id or db.session.get(Company, new.company_id) is None:
        errors["company_id"] = _("Choose the company that raised the demand.")
    category = db.session.get(Category, new.category_id) if new.category_id else None
    if category is None or not category.active:
        errors["category_id"] = _("Choose a category.")
    if not new.title.strip():
        errors["title"] = _("Give the demand a short title.")
    if not new.description.strip():
        errors["description"] = _("Describe the demand as the company put it.")
    if new.urgency not in {u.value for u in Urgency}:
        errors["urgency"] = _("Choose how urgent it is.")
    if new.source not in SOURCES:
        errors["source"] = _("Choose where the demand came from.")
    return errors


def log_demand(new: NewDemand, user: User, now: datetime, visit: Visit | None = None) -> Demand:
    """Register one demand (state registered) with its 'logged' event."""
    errors = demand_errors(new)
    if errors:
        raise DemandRefused(errors)
    demand = Demand(
        number=next_number(local_day(now).year), company_id=new.company_id, visit=visit,
        source=new.source, category_id=new.category_id, title=new.title.strip(),
        description=new.description.strip(), urgency=new.urgency,
        contact_name=(new.contact_name or "").strip() or None,
        contact_phone=(new.contact_phone or "").strip() or None,
        state=State.REGISTERED.value, duplicate_of_id=new.duplicate_of_id, created_by_id=user.id,
        created_at=now, updated_at=now,
    )
    db.session.add(demand)
    db.session.flush()
    _append(demand, "logged", user, Party.OFFICER, None, State.REGISTERED, now,
            details={"duplicate_of": new.duplicate_of_id} if new.duplicate_of_id else None)
    return demand


def similar_open_demands(company_id: int, category_id: int, title: str,
                         excluding: Iterable[int] = ()) -> list[Demand]:
    """Open demands of the company in the category whose title looks like this one."""
    candidates = db.session.scalars(
        select(Demand).where(Demand.company_id == company_id, Demand.category_id == category_id,
                             Demand.state.in_([s.value for s in OPEN_STATES]),
                             Demand.id.not_in(list(excluding)))
        .order_by(Demand.id.desc()).limit(200))
    wanted = _title_key(title)
    return [d for d in candidates if _similar(wanted, _title_key(d.title))]


def _title_key(title: str) -> str:
    return "".join(title.split()).lower()


def _similar(a: str, b: str) -> bool:
    if not a or not b:
        return False
    return a in b or b in a or difflib.SequenceMatcher(None, a, b).ratio() >= SIMILAR_TITLE_RATIO


# Events

def _append(demand: Demand, action: str, user: User | None, party: Party | None,
            from_state: State | None, to_state: State | None, now: datetime, text: str | None = None,
            details: Mapping[str, Any] | None = None) -> DemandEvent:
    event = DemandEvent(
        demand_id=demand.id, at=now, actor_id=user.id if user else None,
        actor_role=_ROLE_OF_PARTY.get(party) if party else None,
        actor_department_id=user.department_id if user and party in (Party.LEAD, Party.CO) else None,
        action=action, from_state=from_state.value if from_state else None,
        to_state=to_state.value if to_state else None, text=text, details=dict(details or {}),
    )
    db.session.add(event)
    return event


_ROLE_OF_PARTY = {
    Party.OFFICER: Role.OFFICER.value, Party.DISPATCHER: Role.OFFICER.value,
    Party.LEAD: Role.HANDLER.value, Party.CO: Role.HANDLER.value, Party.LEADER: Role.LEADER.value,
}


def _acting_party(action: Action, user_parties: frozenset[Party]) -> Party | None:
    """The capacity the user acts in, for the record: the most specific party the action allows."""
    allowed = BY_ACTION[action].parties
    for party in (Party.LEAD, Party.CO, Party.DISPATCHER, Party.LEADER, Party.OFFICER, Party.VIEWER):
        if party in allowed and party in user_parties:
            return party
    return None


# Taking an action

@dataclass
class Context:
    demand: Demand
    user: User
    values: Mapping[str, Any]
    now: datetime
    calendar: WorkingCalendar

    @property
    def today(self) -> date:
        return local_day(self.now)


def store_deadline(demand: Demand, step: str, deadline: Deadline) -> None:
    setattr(demand, f"{step}_from", deadline.counted_from)
    setattr(demand, f"{step}_days", deadline.working_days)
    setattr(demand, f"{step}_due", deadline.due)
    setattr(demand, f"{step}_provisional", deadline.provisional)


def _clear_deadline(demand: Demand, step: str) -> None:
    for suffix in ("from", "days", "due"):
        setattr(demand, f"{step}_{suffix}", None)
    setattr(demand, f"{step}_provisional", False)


def deadline_of(demand: Demand, step: str) -> Deadline | None:
    due = getattr(demand, f"{step}_due")
    if due is None:
        return None
    return Deadline(getattr(demand, f"{step}_from"), getattr(demand, f"{step}_days"), due,
                    getattr(demand, f"{step}_provisional"))


CURRENT_STEP = {State.ASSIGNED: "sign", State.ACCEPTED: "respond", State.RESPONDED: "feedback"}


def update_current_deadline(demand: Demand) -> None:
    step = CURRENT_STEP.get(State(demand.state))
    demand.current_step = step
    demand.current_due = getattr(demand, f"{step}_due") if step else None


def _respond_deadline(ctx: Context) -> Deadline:
    demand = ctx.demand
    days = time_limits.current().respond(Urgency(demand.urgency), demand.category_id)
    return ctx.calendar.deadline(ctx.today, days)


def _dispatch(ctx: Context) -> dict[str, Any]:
    demand, values = ctx.demand, ctx.values
    lead = db.session.get(Department, int(values["lead_department_id"]))
    if lead is None or not lead.active:
        raise DemandRefused({"lead_department_id": _("Choose an active lead department.")})
    co_ids = sorted({int(i) for i in values.get("co_department_ids") or ()} - {lead.id})
    co = list(db.session.scalars(select(Department).where(Department.id.in_(co_ids),
                                                          Department.active.is_(True))))
    if len(co) != len(co_ids):
        raise DemandRefused({"co_department_ids": _("Choose active co-departments.")})
    if values["urgency"] not in {u.value for u in Urgency}:
        raise DemandRefused({"urgency": _("Choose how urgent it is.")})
    demand.lead_department, demand.co_departments = lead, co
    demand.urgency = values["urgency"]
    demand.dispatched_by_id, demand.dispatched_at = ctx.user.id, ctx.now
    demand.dispatch_note = (values.get("note") or "").strip() or None
    limits = time_limits.current()
    sign = ctx.calendar.deadline(ctx.today, limits.sign(demand.category_id))
    store_deadline(demand, "sign", sign)
    store_deadline(demand, "respond", _respond_deadline(ctx))
    demand.respond_extended = False
    demand.signed_at, demand.signed_late = None, False
    return {"lead_department": lead.name, "co_departments": [d.name for d in co],
            "urgency": demand.urgency, "sign_due": sign.due.isoformat(),
            "respond_due": demand.respond_due.isoformat() if demand.respond_due else None}


def _sign(ctx: Context) -> dict[str, Any]:
    demand = ctx.demand
    demand.signed_at = ctx.now
    demand.signed_late = demand.sign_due is not None and ctx.now > end_of(demand.sign_due)
    return {"late": demand.signed_late}


def _return(ctx: Context) -> dict[str, Any]:
    demand = ctx.demand
    department = demand.lead_department
    demand.returns_count += 1
    demand.lead_department, demand.co_departments = None, []
    for step in ("sign", "respond"):
        _clear_deadline(demand, step)
    return {"department": department.name if department else None,
            "department_id": department.id if department else None}


def _request_extension(ctx: Context) -> dict[str, Any]:
    new_due = _as_date(ctx.values["new_due"], "new_due")
    if ctx.demand.respond_due and new_due <= ctx.demand.respond_due:
        raise DemandRefused({"new_due": _("Ask for a day after the current deadline, %(due)s.",
                                          due=ctx.demand.respond_due.isoformat())})
    ctx.demand.extensions.append(ExtensionRequest(
        requested_by_id=ctx.user.id, requested_at=ctx.now, reason=ctx.values["reason"].strip(),
        new_due=new_due, status="pending"))
    return {"new_due": new_due.isoformat(), "current_due": _iso(ctx.demand.respond_due)}


def _pending_extension(demand: Demand) -> ExtensionRequest:
    return next(e for e in demand.extensions if e.status == "pending")


def _decide_extension(ctx: Context, approved: bool) -> dict[str, Any]:
    request = _pending_extension(ctx.demand)
    request.status = "approved" if approved else "refused"
    request.decided_by_id, request.decided_at = ctx.user.id, ctx.now
    request.decision_reason = ctx.values["reason"].strip()
    details = {"new_due": request.new_due.isoformat(), "previous_due": _iso(ctx.demand.respond_due)}
    if approved:
        ctx.demand.respond_due = request.new_due
        ctx.demand.respond_extended = True
        ctx.demand.respond_provisional = False
    return details


def _add_milestone(ctx: Context) -> dict[str, Any]:
    due_on = _as_date(ctx.values["due_on"], "due_on")
    title = ctx.values["title"].strip()
    ctx.demand.milestones.append(Milestone(title=title, due_on=due_on, created_by_id=ctx.user.id,
                                           created_at=ctx.now))
    return {"title": title, "due_on": due_on.isoformat()}


def _complete_milestone(ctx: Context) -> dict[str, Any]:
    milestone_id = int(ctx.values["milestone_id"])
    milestone = next((m for m in ctx.demand.milestones if m.id == milestone_id and m.is_open), None)
    if milestone is None:
        raise DemandRefused({"milestone_id": _("Choose an open milestone of this demand.")})
    milestone.completed_at, milestone.completed_by_id = ctx.now, ctx.user.id
    return {"milestone_id": milestone.id, "title": milestone.title}


def _respond(ctx: Context) -> dict[str, Any]:
    demand, values = ctx.demand, ctx.values
    outcome = Outcome(values["outcome"])
    demand.outcome, demand.response_text = outcome.value, values["text"].strip()
    demand.planned_on = _as_date(values["planned_on"], "planned_on") if outcome is Outcome.PLANNED else None
    demand.responded_at = ctx.now
    demand.responded_late = demand.respond_due is not None and ctx.now > end_of(demand.respond_due)
    demand.handling_days = (ctx.calendar.working_days_between(local_day(demand.dispatched_at), ctx.today)
                            if demand.dispatched_at else None)
    feedback = ctx.calendar.deadline(ctx.today, time_limits.current().feedback(demand.category_id))
    store_deadline(demand, "feedback", feedback)
    return {"outcome": outcome.value, "planned_on": _iso(demand.planned_on),
            "on_time": not demand.responded_late, "feedback_due": feedback.due.isoformat()}


def _record_feedback(ctx: Context) -> dict[str, Any]:
    demand = ctx.demand
    feedback = Feedback(ctx.values["feedback"])
    demand.feedback, demand.feedback_at = feedback.value, ctx.now
    if feedback is Feedback.UNSATISFIED:
        demand.reopen_count += 1
        store_deadline(demand, "respond", _respond_deadline(ctx))
        demand.respond_extended = False
        return {"feedback": feedback.value, "respond_due": _iso(demand.respond_due),
                "department": demand.lead_department.name if demand.lead_department else None}
    demand.closed_at, demand.close_reason = ctx.now, feedback.value
    return {"feedback": feedback.value}


def _close(ctx: Context) -> dict[str, Any]:
    demand, reason = ctx.demand, ctx.values["close_reason"]
    details: dict[str, Any] = {"close_reason": reason}
    if reason == "duplicate":
        original = db.session.get(Demand, int(ctx.values["duplicate_of_id"]))
        if original is None or original.id == demand.id:
            raise DemandRefused({"duplicate_of_id": _("Give the number of the demand this one repeats.")})
        demand.duplicate_of = original
        details["duplicate_of"] = original.number
    demand.closed_at, demand.close_reason = ctx.now, reason
    return details


def _flag(ctx: Context) -> dict[str, Any]:
    ctx.demand.key_supervision = True
    ctx.demand.key_supervision_reason = ctx.values["reason"].strip()
    return {}


def _no_effect(_ctx: Context) -> dict[str, Any]:
    return {}


EFFECTS: dict[Action, Callable[[Context], dict[str, Any]]] = {
    Action.DISPATCH: _dispatch,
    Action.SIGN: _sign,
    Action.RETURN: _return,
    Action.CO_OPINION: _no_effect,
    Action.PROGRESS: _no_effect,
    Action.REQUEST_EXTENSION: _request_extension,
    Action.APPROVE_EXTENSION: lambda ctx: _decide_extension(ctx, approved=True),
    Action.REFUSE_EXTENSION: lambda ctx: _decide_extension(ctx, approved=False),
    Action.ADD_MILESTONE: _add_milestone,
    Action.COMPLETE_MILESTONE: _complete_milestone,
    Action.RESPOND: _respond,
    Action.RECORD_FEEDBACK: _record_feedback,
    Action.CLOSE: _close,
    Action.FLAG_KEY_SUPERVISION: _flag,
    Action.COMMENT: _no_effect,
}

#: the value kept as the event's text, by action
EVENT_TEXT = ("reason", "text", "note")


def take_action(demand: Demand, action: Action, user: User, values: Mapping[str, Any],
                version_seen: int | None, now: datetime,
                calendar: WorkingCalendar | None = None) -> DemandEvent:
    """Check the action against the lifecycle table, apply it and append its event.

    Raises DemandRefused (nothing changed) or audit.StaleEdit when the demand changed since the
    user saw version_seen.
    """
    if not may_see(user, demand):
        raise DemandRefused({"": refusal_message(Refusal.NOT_ALLOWED, demand)}, Refusal.NOT_ALLOWED)
    facts = facts_of(demand)
    actor = actor_of(user)
    refusal = check(action, facts, actor, values)
    if refusal is not None:
        raise DemandRefused(_refusal_fields(refusal, action, values, demand), refusal)
    if version_seen is not None:
        audit.ensure_not_stale(demand, version_seen)
    before = State(demand.state)
    after = target_state(action, facts, values)
    context = Context(demand, user, values, now, calendar or calendar_store.working_calendar())
    with db.session.no_autoflush:  # one UPDATE, one new version, whatever the effect looks up
        details = EFFECTS[action](context)
        demand.state = after.value
        demand.updated_at = now
        update_current_deadline(demand)
    text = next((str(values[key]).strip() for key in EVENT_TEXT if values.get(key)), None)
    db.session.flush()
    return _append(demand, action.value, user, _acting_party(action, parties(actor, facts)),
                   before, after, now, text=text, details=details)


def _refusal_fields(refusal: Refusal, action: Action, values: Mapping[str, Any],
                    demand: Demand) -> dict[str, str]:
    if refusal is Refusal.MISSING_FIELD:
        return {name: _("This field is required.") for name in missing_fields(action, values)}
    if refusal is Refusal.INVALID_VALUE:
        return {name: refusal_message(refusal, demand) for name in invalid_fields(action, values)}
    if refusal is Refusal.PLANNED_NEEDS_MILESTONE:
        return {"planned_on": refusal_message(refusal, demand)}
    return {"": refusal_message(refusal, demand)}


def _as_date(value: Any, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as error:
        raise DemandRefused({field: _("Not a valid date: write it as YYYY-MM-DD.")}) from error


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


# Provisional deadlines, once their year is loaded

def recompute_provisional_deadlines(now: datetime) -> int:
    """Count every provisional deadline of an open demand again on the calendar as it is now, and
    record each one that moved in the demand's history. Returns how many changed."""
    calendar = calendar_store.working_calendar()
    demands = db.session.scalars(select(Demand).where(
        Demand.state.in_([s.value for s in OPEN_STATES]),
        or_(Demand.sign_provisional, Demand.respond_provisional, Demand.feedback_provisional)))
    changed = 0
    for demand in demands:
        keyed = [(step, deadline) for step in ("sign", "respond", "feedback")
                 if (deadline := deadline_of(demand, step)) is not None]
        for change in recompute_provisional(keyed, calendar):
            store_deadline(demand, change.key, change.after)
            _append(demand, "deadline_recomputed", None, None, None, None, now, details={
                "step": change.key, "before": change.before.due.isoformat(),
                "after": change.after.due.isoformat(), "provisional": change.after.provisional})
            changed += 1
        update_current_deadline(demand)
    return changed


# The demand page (demands.routes): one demand with everything its page shows, in a fixed number
# of queries however long its history

def _named(person: Any) -> Any:
    """A person the page names and whose roles it never asks: loading the roles of each group of
    them (as users' roles are by default) cost three queries more."""
    return joinedload(person).lazyload(User.role_rows)


#: built once: making its loader options took 0.6 ms of each demand page
_DEMAND_FOR_PAGE = select(Demand).where(Demand.id == bindparam("demand_id")).options(
    joinedload(Demand.company), joinedload(Demand.visit), joinedload(Demand.category),
    joinedload(Demand.lead_department), _named(Demand.dispatched_by), _named(Demand.created_by),
    joinedload(Demand.duplicate_of), selectinload(Demand.co_departments),
    selectinload(Demand.milestones),
    selectinload(Demand.extensions).options(_named(ExtensionRequest.requested_by),
                                            _named(ExtensionRequest.decided_by)),
).execution_options(populate_existing=True)


def demand_for_page(demand_id: int) -> Demand | None:
    """The demand with all its page shows but its history (history_of)."""
    return db.session.scalar(_DEMAND_FOR_PAGE, {"demand_id": demand_id})


#: a demand's history as its page shows it, oldest first: each event's columns with the names of who
#: acted and of their department, read as plain rows (30 events as ORM objects with their people took
#: a millisecond)
_HISTORY = (
    select(DemandEvent.id, DemandEvent.at, DemandEvent.action, DemandEvent.from_state,
           DemandEvent.to_state, DemandEvent.actor_role, DemandEvent.text, DemandEvent.details,
           User.display_name.label("actor_name"), Department.short_name.label("department_short_name"))
    .outerjoin(User, User.id == DemandEvent.actor_id)
    .outerjoin(Department, Department.id == DemandEvent.actor_department_id)
    .where(DemandEvent.demand_id == bindparam("demand_id"))
    .order_by(DemandEvent.id)
)


def history_of(demand_id: int) -> list[Row[Any]]:
    return list(db.session.execute(_HISTORY, {"demand_id": demand_id}).all())


def demand_by_reference(reference: str) -> Demand | None:
    """The demand a user means by its number (2026-0001) or, failing that, its id."""
    reference = reference.strip()
    if not reference:
        return None
    found = db.session.scalar(select(Demand).where(Demand.number == reference))
    if found is None and reference.isdigit() and len(reference) < 10:
        found = db.session.get(Demand, int(reference))
    return found


def demand_attachments(demand_id: int) -> list[Any]:
    """The files attached to a demand, oldest first, with who uploaded them: one query."""
    return list(db.session.scalars(select(Attachment).where(Attachment.demand_id == demand_id)
                                   .options(joinedload(Attachment.uploaded_by))
                                   .order_by(Attachment.id)))


# Labels and limits of what an officer enters

VISIT_KIND_LABELS = {
    "visit": _l("Site visit"),
    "symposium": _l("Symposium"),
    "survey": _l("Survey"),
}
SOURCE_LABELS = {
    **VISIT_KIND_LABELS,
    "hotline": _l("Hotline"),
    "letter": _l("Letter"),
    "online": _l("Online"),
    "other": _l("Other"),
}
#: the sources of a demand logged on its own, not at a visit
STANDALONE_SOURCES = ("hotline", "letter", "online", "other")
URGENCY_LABELS = {
    Urgency.URGENT.value: _l("Urgent"),
    Urgency.NORMAL.value: _l("Normal"),
    Urgency.COMPLEX.value: _l("Complex"),
}
#: the longest text each field of a demand takes
DEMAND_TEXT_LIMITS = {"title": 200, "contact_name": 60, "contact_phone": 40}


def demand_errors(new: NewDemand) -> dict[str, str]:
    """Why a new demand cannot be logged, by field; empty when it can."""
    errors = _checked(new)
    for name, limit in DEMAND_TEXT_LIMITS.items():
        if name not in errors and len((getattr(new, name) or "").strip()) > limit:
            errors[name] = _("Write at most %(limit)d characters.", limit=limit)
    if new.duplicate_of_id is not None and db.session.get(Demand, new.duplicate_of_id) is None:
        errors["duplicate_of"] = _("The demand it repeats does not exist.")
    return errors


# The chaser (chaser.tick): its reminders (remind, 催办) and escalations (escalate, 督办) are lines of
# the demand's history, made by the system

def append_event(demand: Demand, action: str, now: datetime, text: str | None = None,
                 details: Mapping[str, Any] | None = None) -> DemandEvent:
    """Append a system event (no actor) to the demand's history, in the caller's transaction."""
    return _append(demand, action, None, None, None, None, now, text=text, details=details)


def append_officer_event(demand: Demand, action: str, user: User, to_state: State, now: datetime,
                         text: str | None = None,
                         details: Mapping[str, Any] | None = None) -> DemandEvent:
    """Append an officer's event that is no lifecycle action (a demand taken in from the old
    ledger, demands.ledger_import) to the demand's history, in the caller's transaction."""
    return _append(demand, action, user, Party.OFFICER, None, to_state, now, text=text, details=details)
