"""Escalation notices: the printable paper an escalation yields.

An escalation to the department head yields a 催办通知书 numbered 催办〔2026〕0001; one to leadership a
督办单 numbered 督办〔2026〕0001: each level counts on through its year (the working day the
escalation was recorded for). Notices are written by the tick (chaser.tick), in its transaction, and
shown by the demand pages (demands.notices).
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from servicedesk.demands.forms import STEP_LABELS
from servicedesk.domain.chase import Kind
from servicedesk.extensions import db
from servicedesk.models import ChaseRecord, Demand, EscalationNotice, User

HEAD = "head"
LEADERSHIP = "leadership"
#: the notice level an escalation yields, and the escalation level it puts the demand on
LEVEL_OF_KIND = {Kind.ESCALATE_HEAD: HEAD, Kind.ESCALATE_LEADERSHIP: LEADERSHIP}
ESCALATION_LEVEL = {HEAD: 1, LEADERSHIP: 2}
#: what a number starts with, by level
NUMBER_PREFIX = {HEAD: "催办", LEADERSHIP: "督办"}
TITLES = {
    HEAD: _l("Reminder notice (催办通知书)"),
    LEADERSHIP: _l("Supervision notice (督办单)"),
}
#: each chased deadline as a notice (and a key supervision reason) names it
DEADLINE_LABELS = STEP_LABELS


def number_prefix(level: str, year: int) -> str:
    return f"{NUMBER_PREFIX[level]}〔{year}〕"


class Numbering:
    """The next notice numbers of one transaction: one query per level and year, then counting on."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, int], int] = {}

    def next(self, level: str, year: int) -> str:
        prefix = number_prefix(level, year)
        if (level, year) not in self._last:
            # the longest, then the highest: as text 督办〔2026〕10000 sorts before 督办〔2026〕9999
            last = db.session.scalar(select(EscalationNotice.number)
                                     .where(EscalationNotice.number.startswith(prefix))
                                     .order_by(func.length(EscalationNotice.number).desc(),
                                               EscalationNotice.number.desc()).limit(1))
            self._last[level, year] = int(last.removeprefix(prefix)) if last else 0
        self._last[level, year] += 1
        return f"{prefix}{self._last[level, year]:04d}"


def issue(record: ChaseRecord, level: str, number: str, days_overdue: int, now: datetime) -> EscalationNotice:
    """The notice of an escalation just recorded (flushed: it needs the record's id), under the
    number `Numbering` gave it."""
    notice = EscalationNotice(
        number=number, level=level,
        chase_record_id=record.id, demand_id=record.demand_id, department_id=record.department_id,
        deadline=record.deadline, due=record.due, days_overdue=days_overdue, created_at=now)
    db.session.add(notice)
    return notice


# Reading, for the pages

def notices_of(demand_id: int) -> list[EscalationNotice]:
    """The demand's notices, oldest first: one query."""
    return list(db.session.scalars(select(EscalationNotice).where(EscalationNotice.demand_id == demand_id)
                                   .order_by(EscalationNotice.id)))


def notice_for_page(demand_id: int, notice_id: int) -> EscalationNotice | None:
    """One notice of the demand with what its page shows, or None when the demand has no such notice."""
    return db.session.scalar(select(EscalationNotice).where(
        EscalationNotice.id == notice_id, EscalationNotice.demand_id == demand_id).options(
        joinedload(EscalationNotice.demand).options(joinedload(Demand.company),
                                                    joinedload(Demand.lead_department),
                                                    joinedload(Demand.dispatched_by)),
        joinedload(EscalationNotice.department), joinedload(EscalationNotice.chase_record)))


def head_of(department_id: int | None) -> User | None:
    """The department's head, whom a 催办通知书 is addressed to."""
    if department_id is None:
        return None
    return db.session.scalar(select(User).where(User.department_id == department_id,
                                                User.is_department_head.is_(True)))
