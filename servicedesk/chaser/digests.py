"""The morning digests and the weekly summary: one mail per person instead of one per item.

- `queue_department_digests(now)`: on a working day, each handler (with an address) of a department
  with open items gets the department's one digest, its items by card (overdue, due soon, in
  progress): the demands it leads that wait to be signed for or answered, and the open milestones of
  its roadmaps, with what the tick recorded that day (escalations). Each officer gets a digest of their
  own: the demands they dispatched that wait for the company's feedback, and the extension requests
  on them that wait for a decision.
- `queue_weekly_summary(now)`: on the first working day of a week, each leader gets the summary:
  open and overdue demands, the departments with the most overdue items, the key supervision list.

Both put their mail in the outbox in the caller's transaction (the caller commits), return how many
messages they queued, queue nothing twice for the same day or week (the idempotency keys
"digest:department:<department>:<day>:<user>", "digest:officer:<day>:<user>" and
"weekly:<ISO week>:<user>"), do nothing on a day that is not a working day, and read their data in
a fixed number of queries whatever the number of departments, people and demands.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, insert, select
from sqlalchemy.exc import IntegrityError

from servicedesk.calendar.store import working_calendar
from servicedesk.chaser.messages import (
    ESCALATION_LEVELS,
    Line,
    Section,
    base_url,
    demand_url,
    desk_url,
    language_of,
    listing,
    new_mail,
    outbox_values,
    overdue_words,
    standard_footer,
    tagged,
)
from servicedesk.demands.search import CardWindow, card_window
from servicedesk.domain.lifecycle import OPEN_STATES, State
from servicedesk.domain.workdays import DAY, ZONE, Card, WorkingCalendar, local_day
from servicedesk.extensions import db
from servicedesk.i18n import format_day, is_chinese
from servicedesk.models import (
    ChaseRecord,
    Company,
    Demand,
    Department,
    ExtensionRequest,
    Milestone,
    OutboxMessage,
    Role,
    User,
    UserRole,
)

OPEN_STATE_VALUES = tuple(s.value for s in State if s in OPEN_STATES)
#: the states in which the lead department owes the next step (sign, respond)
DEPARTMENT_STATES = (State.ASSIGNED.value, State.ACCEPTED.value)
#: how many departments the weekly summary names, and how many key supervision items it lists
WORST_DEPARTMENTS = 5
KEY_SUPERVISION_LIMIT = 20

DEPARTMENT_DIGEST = "digest_department"
OFFICER_DIGEST = "digest_officer"
WEEKLY_SUMMARY = "weekly_summary"

CARD_HEADINGS = {
    Card.RED: _l("Overdue (red card)"),
    Card.YELLOW: _l("Due soon (yellow card)"),
    Card.NONE: _l("In progress"),
}
CARD_ORDER = (Card.RED, Card.YELLOW, Card.NONE)


# Keys

def department_digest_key(department_id: int, day: date, user_id: int) -> str:
    return f"digest:department:{department_id}:{day.isoformat()}:{user_id}"


def officer_digest_key(day: date, user_id: int) -> str:
    return f"digest:officer:{day.isoformat()}:{user_id}"


def iso_week(day: date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def weekly_key(day: date, user_id: int) -> str:
    return f"weekly:{iso_week(day)}:{user_id}"


# What the digests list

@dataclass(frozen=True)
class Recipient:
    id: int
    display_name: str
    email: str
    locale: str | None
    department_id: int | None


@dataclass
class Item:
    """One open deadline in a digest."""

    demand_id: int
    number: str
    title: str
    company: str
    #: sign, respond, milestone, feedback or extension
    deadline: str
    due: date
    milestone_id: int | None = None
    #: the milestone's title, or the extension's requested day (ISO)
    detail: str | None = None
    escalation_level: int = 0
    key_supervision: bool = False
    #: the chase kinds the tick recorded for it on the day
    chased: set[str] = field(default_factory=set)
    card: Card = Card.NONE
    days_overdue: int = 0

    @property
    def chase_key(self) -> tuple[int, str, int | None]:
        return self.demand_id, self.deadline, self.milestone_id


def _grade(items: Iterable[Item], window: CardWindow, calendar: WorkingCalendar) -> None:
    """Give each item its card and working days overdue: one more range of the calendar at most."""
    items = list(items)
    today = window.today
    # Fetch the whole range back to the oldest due day at once (always one fetch, so that the number
    # of queries does not depend on whether anything is overdue).
    earliest = min([item.due for item in items] + [today - DAY])
    calendar.working_days_between(earliest, today)
    for item in items:
        if today > item.due:
            item.card, item.days_overdue = Card.RED, calendar.working_days_between(item.due, today)
        elif item.due <= window.due_soon_until:
            item.card = Card.YELLOW


def _recipients(*roles: Role) -> list[tuple[Recipient, str]]:
    """Active users with an address holding the roles, with the role: one query."""
    rows = db.session.execute(
        select(User.id, User.display_name, User.email, User.locale, User.department_id, UserRole.role)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role.in_([r.value for r in roles]), User.active.is_(True),
               User.email.is_not(None), func.trim(User.email) != "")
        .order_by(User.id, UserRole.role))
    return [(Recipient(r.id, r.display_name, r.email.strip(), r.locale, r.department_id), r.role)
            for r in rows]


def _existing_keys(pattern: str) -> set[str]:
    return set(db.session.scalars(select(OutboxMessage.idempotency_key)
                                  .where(OutboxMessage.idempotency_key.like(pattern))))


def _company(name: str, short_name: str | None) -> str:
    return short_name or name


def _department_items(department_ids: Sequence[int]) -> dict[int, list[Item]]:
    """The open deadlines the departments owe as lead: two queries."""
    found: dict[int, list[Item]] = defaultdict(list)
    rows = db.session.execute(
        select(Demand.id, Demand.number, Demand.title, Demand.lead_department_id, Demand.current_step,
               Demand.current_due, Demand.escalation_level, Demand.key_supervision, Company.name,
               Company.short_name)
        .join(Company, Company.id == Demand.company_id)
        .where(Demand.state.in_(DEPARTMENT_STATES), Demand.lead_department_id.in_(department_ids),
               Demand.current_due.is_not(None), Demand.current_step.in_(("sign", "respond"))))
    for row in rows:
        found[row.lead_department_id].append(Item(
            row.id, row.number, row.title, _company(row.name, row.short_name), row.current_step,
            row.current_due, escalation_level=row.escalation_level, key_supervision=row.key_supervision))
    rows = db.session.execute(
        select(Milestone.id.label("milestone_id"), Milestone.title.label("milestone_title"), Milestone.due_on,
               Demand.id, Demand.number, Demand.title, Demand.lead_department_id, Demand.escalation_level,
               Demand.key_supervision, Company.name, Company.short_name)
        .join(Demand, Demand.id == Milestone.demand_id)
        .join(Company, Company.id == Demand.company_id)
        .where(Milestone.completed_at.is_(None), Demand.state.in_(OPEN_STATE_VALUES),
               Demand.lead_department_id.in_(department_ids)))
    for row in rows:
        found[row.lead_department_id].append(Item(
            row.id, row.number, row.title, _company(row.name, row.short_name), "milestone", row.due_on,
            milestone_id=row.milestone_id, detail=row.milestone_title, escalation_level=row.escalation_level,
            key_supervision=row.key_supervision))
    return found


def _officer_items(officer_ids: Sequence[int]) -> dict[int, list[Item]]:
    """What the officers owe on the demands they dispatched: feedback, extension decisions. Two queries."""
    found: dict[int, list[Item]] = defaultdict(list)
    rows = db.session.execute(
        select(Demand.id, Demand.number, Demand.title, Demand.dispatched_by_id, Demand.feedback_due,
               Demand.key_supervision, Company.name, Company.short_name)
        .join(Company, Company.id == Demand.company_id)
        .where(Demand.state == State.RESPONDED.value, Demand.dispatched_by_id.in_(officer_ids),
               Demand.feedback_due.is_not(None)))
    for row in rows:
        found[row.dispatched_by_id].append(Item(
            row.id, row.number, row.title, _company(row.name, row.short_name), "feedback", row.feedback_due,
            key_supervision=row.key_supervision))
    rows = db.session.execute(
        select(ExtensionRequest.new_due, Demand.id, Demand.number, Demand.title, Demand.dispatched_by_id,
               Demand.respond_due, Demand.key_supervision, Company.name, Company.short_name)
        .join(Demand, Demand.id == ExtensionRequest.demand_id)
        .join(Company, Company.id == Demand.company_id)
        .where(ExtensionRequest.status == "pending", Demand.dispatched_by_id.in_(officer_ids),
               Demand.state.in_(OPEN_STATE_VALUES), Demand.respond_due.is_not(None)))
    for row in rows:
        found[row.dispatched_by_id].append(Item(
            row.id, row.number, row.title, _company(row.name, row.short_name), "extension", row.respond_due,
            detail=row.new_due.isoformat(), key_supervision=row.key_supervision))
    return found


def _chased_on(day: date) -> dict[tuple[int, str, int | None], set[str]]:
    """What the tick recorded for the day, by deadline: one query."""
    found: dict[tuple[int, str, int | None], set[str]] = defaultdict(set)
    rows = db.session.execute(select(ChaseRecord.demand_id, ChaseRecord.deadline, ChaseRecord.milestone_id,
                                     ChaseRecord.kind).where(ChaseRecord.working_day == day))
    for row in rows:
        found[(row.demand_id, row.deadline, row.milestone_id)].add(row.kind)
    return found


# Writing them

def _deadline_words(item: Item) -> str:
    day = format_day(item.due)
    if item.deadline == "sign":
        return _("sign by %(day)s", day=day)
    if item.deadline == "respond":
        return _("respond by %(day)s", day=day)
    if item.deadline == "milestone":
        return _("milestone “%(title)s” by %(day)s", title=item.detail or "", day=day)
    if item.deadline == "feedback":
        return _("record the company's feedback by %(day)s", day=day)
    return _("decide the extension request (to %(new_due)s) by %(day)s",
             new_due=format_day(date.fromisoformat(item.detail)) if item.detail else "—", day=day)


def _status_words(item: Item, today: date) -> list[str]:
    words = []
    if item.card is Card.RED:
        words.append(overdue_words(item.days_overdue))
    elif item.due == today:
        words.append(_("due today"))
    elif item.card is Card.YELLOW:
        words.append(_("due soon"))
    if item.escalation_level in ESCALATION_LEVELS:
        words.append(str(ESCALATION_LEVELS[item.escalation_level]))
    if item.chased & {"escalate_head", "escalate_leadership"}:
        words.append(_("escalated today"))
    if item.key_supervision:
        words.append(_("under key supervision"))
    return words


def _item_line(item: Item, today: date, base: str) -> Line:
    sentence = _deadline_words(item)
    status = listing(_status_words(item, today))
    rest = f" — {item.company} — {sentence}" + (_bracketed(status) if status else "")
    return Line(f"{item.number} {item.title}", demand_url(base, item.demand_id), rest)


def _bracketed(text: Any) -> str:
    return f"（{text}）" if is_chinese() else f" ({text})"


def _counted(heading: Any, count: int) -> str:
    return f"{heading}{_bracketed(count)}"


def _card_sections(items: Sequence[Item], today: date, base: str) -> list[Section]:
    ordered = sorted(items, key=lambda i: (CARD_ORDER.index(i.card), i.due, i.number, i.milestone_id or 0))
    sections = []
    for card in CARD_ORDER:
        lines = [_item_line(item, today, base) for item in ordered if item.card is card]
        if lines:
            sections.append(Section(_counted(CARD_HEADINGS[card], len(lines)), lines))
    return sections


def _counts(items: Sequence[Item]) -> dict[str, int]:
    return {"overdue": sum(1 for i in items if i.card is Card.RED),
            "due_soon": sum(1 for i in items if i.card is Card.YELLOW), "open": len(items)}


def department_digest(recipient: Recipient, department: Department, items: Sequence[Item], today: date,
                      base: str) -> tuple[str, str, str]:
    with language_of(recipient):
        mail = new_mail(recipient, tagged(_("Reminder"), _(
            "%(department)s, %(day)s: %(overdue)d overdue, %(due_soon)d due soon, %(open)d open",
            department=department.short_name or department.name, day=format_day(today), **_counts(items))))
        mail.paragraphs.append(_("The open items of %(department)s on %(day)s, the most urgent first: "
                                 "please sign for new demands, answer them before their deadlines and keep "
                                 "the milestones of their roadmaps.",
                                 department=department.name, day=format_day(today)))
        mail.sections = _card_sections(items, today, base)
        mail.footer = [Line(_("Your queue:"), desk_url(base, "demands.queue")), *standard_footer(base)]
        return mail.parts()


def officer_digest(recipient: Recipient, items: Sequence[Item], today: date,
                   base: str) -> tuple[str, str, str]:
    with language_of(recipient):
        mail = new_mail(recipient, tagged(_("Reminder"), _(
            "Feedback to record, %(day)s: %(overdue)d overdue, %(due_soon)d due soon, %(open)d waiting",
            day=format_day(today), **_counts(items))))
        mail.paragraphs.append(_("These demands you dispatched wait for you on %(day)s: the company's "
                                 "feedback on a department's response, or your decision on a request for "
                                 "more time.", day=format_day(today)))
        mail.sections = _card_sections(items, today, base)
        mail.footer = [Line(_("Your queue:"), desk_url(base, "demands.queue")), *standard_footer(base)]
        return mail.parts()


def _queue_all(rows: Sequence[dict[str, Any]]) -> int:
    """Insert the messages in one statement; none if another process queued them meanwhile (their keys)."""
    if not rows:
        return 0
    try:
        with db.session.begin_nested():
            db.session.execute(insert(OutboxMessage), list(rows))
    except IntegrityError:
        return 0
    return len(rows)


# The morning digests

def queue_department_digests(now: datetime) -> int:
    """Queue the morning digests of the day of `now`: one per department handler, one per officer.

    Returns how many messages were queued; none on a day that is not a working day, and none that
    were queued already that day.
    """
    today = local_day(now)
    calendar = working_calendar()
    if not calendar.is_working_day(today):
        return 0
    window = card_window(today, calendar)
    existing = _existing_keys(f"digest:%:{today.isoformat()}:%")
    recipients = _recipients(Role.HANDLER, Role.OFFICER)
    handlers = [r for r, role in recipients if role == Role.HANDLER.value and r.department_id is not None]
    officers = [r for r, role in recipients if role == Role.OFFICER.value]
    department_ids = sorted({r.department_id for r in handlers if r.department_id is not None})
    departments = {d.id: d for d in db.session.scalars(select(Department)
                                                       .where(Department.id.in_(department_ids)))}
    by_department = _department_items(department_ids)
    by_officer = _officer_items([r.id for r in officers])
    chased = _chased_on(today)
    every_item = [i for items in (*by_department.values(), *by_officer.values()) for i in items]
    for item in every_item:
        item.chased = chased.get(item.chase_key, set())
    _grade(every_item, window, calendar)

    base = base_url()
    rows: list[dict[str, Any]] = []
    for recipient in handlers:
        department_id = recipient.department_id
        assert department_id is not None
        key = department_digest_key(department_id, today, recipient.id)
        items = by_department.get(department_id)
        if not items or key in existing or department_id not in departments:
            continue
        rows.append(outbox_values(
            key, DEPARTMENT_DIGEST, recipient.id, recipient.email,
            department_digest(recipient, departments[department_id], items, today, base), None, now))
    for recipient in officers:
        key = officer_digest_key(today, recipient.id)
        items = by_officer.get(recipient.id)
        if not items or key in existing:
            continue
        rows.append(outbox_values(key, OFFICER_DIGEST, recipient.id, recipient.email,
                                       officer_digest(recipient, items, today, base), None, now))
    return _queue_all(rows)


# The weekly summary

def is_first_working_day_of_week(day: date, calendar: WorkingCalendar) -> bool:
    """Whether the day is a working day and no day of its week (Monday to Sunday) before it is."""
    monday = day - timedelta(days=day.weekday())
    return calendar.working_days_between(monday - DAY, day - DAY) == 0 and calendar.is_working_day(day)


@dataclass
class Summary:
    today: date
    open: int = 0
    overdue: int = 0
    flagged: int = 0
    logged_last_week: int = 0
    closed_last_week: int = 0
    #: (department id, name, overdue demands)
    worst: list[tuple[int, str, int]] = field(default_factory=list)
    #: rows of open demands under key supervision
    key_supervision: list[Any] = field(default_factory=list)


def _summary(today: date) -> Summary:
    """The numbers of the weekly summary: three queries."""
    monday = today - timedelta(days=today.weekday())
    this_week = datetime.combine(monday, datetime.min.time(), ZONE)
    last_week = this_week - timedelta(days=7)
    is_open = Demand.state.in_(OPEN_STATE_VALUES)
    counts = db.session.execute(select(
        func.count(case((is_open, 1))),
        func.count(case((and_(is_open, Demand.current_due < today), 1))),
        func.count(case((and_(is_open, Demand.key_supervision.is_(True)), 1))),
        func.count(case((and_(Demand.created_at >= last_week, Demand.created_at < this_week), 1))),
        func.count(case((and_(Demand.closed_at >= last_week, Demand.closed_at < this_week), 1))),
    )).one()
    summary = Summary(today, *counts)
    overdue = func.count(Demand.id).label("overdue")
    summary.worst = [(row.id, row.name, row.overdue) for row in db.session.execute(
        select(Department.id, Department.name, overdue)
        .join(Demand, Demand.lead_department_id == Department.id)
        .where(Demand.state.in_(DEPARTMENT_STATES), Demand.current_due < today)
        .group_by(Department.id, Department.name)
        .order_by(overdue.desc(), Department.id).limit(WORST_DEPARTMENTS))]
    summary.key_supervision = list(db.session.execute(
        select(Demand.id, Demand.number, Demand.title, Demand.current_due, Company.name.label("company"),
               Company.short_name, Department.name.label("department"))
        .join(Company, Company.id == Demand.company_id)
        .outerjoin(Department, Department.id == Demand.lead_department_id)
        .where(is_open, Demand.key_supervision.is_(True))
        .order_by(Demand.current_due.is_(None), Demand.current_due, Demand.id).limit(KEY_SUPERVISION_LIMIT)))
    return summary


def weekly_summary(recipient: Recipient, summary: Summary, base: str) -> tuple[str, str, str]:
    today = summary.today
    year, week, _weekday = today.isocalendar()
    with language_of(recipient):
        mail = new_mail(recipient, tagged(_("Weekly summary"), _(
            "week %(week)d of %(year)d: %(open)d open, %(overdue)d overdue",
            week=week, year=year, open=summary.open, overdue=summary.overdue)))
        mail.paragraphs.append(_(
            "On %(day)s the desk has %(open)d open demands, %(overdue)d of them overdue and %(flagged)d "
            "under key supervision. Last week %(logged)d demands were logged and %(closed)d closed.",
            day=format_day(today), open=summary.open, overdue=summary.overdue, flagged=summary.flagged,
            logged=summary.logged_last_week, closed=summary.closed_last_week))
        if summary.worst:
            mail.sections.append(Section(_("Departments with the most overdue demands"), [
                Line(name, desk_url(base, "demands.index", department=department_id, overdue=1),
                     " — " + _("%(num)d overdue", num=count))
                for department_id, name, count in summary.worst]))
        if summary.key_supervision:
            mail.sections.append(Section(_counted(_("Key supervision"), summary.flagged), [
                Line(f"{row.number} {row.title}", demand_url(base, row.id),
                     " — " + listing([row.short_name or row.company, row.department or "",
                                      _("due %(day)s", day=format_day(row.current_due))
                                      if row.current_due else ""]))
                for row in summary.key_supervision]))
        mail.footer = [Line(_("The dashboard:"), desk_url(base, "core.index")), *standard_footer(base)]
        return mail.parts()


def queue_weekly_summary(now: datetime) -> int:
    """Queue the leaders' weekly summary on the first working day of the week of `now`.

    Returns how many messages were queued; none on any other day, and none queued already that week.
    """
    today = local_day(now)
    calendar = working_calendar()
    if not is_first_working_day_of_week(today, calendar):
        return 0
    existing = _existing_keys(f"weekly:{iso_week(today)}:%")
    leaders = [r for r, _role in _recipients(Role.LEADER)]
    wanted = [r for r in leaders if weekly_key(today, r.id) not in existing]
    if not wanted:
        return 0
    summary = _summary(today)
    base = base_url()
    return _queue_all([outbox_values(weekly_key(today, r.id), WEEKLY_SUMMARY, r.id, r.email,
                                      weekly_summary(r, summary, base), None, now) for r in wanted])
