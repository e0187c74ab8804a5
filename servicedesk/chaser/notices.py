"""Escalation notices: the printable paper an escalation yields.

An escalation to the department head yields a 催办通知书 numbered 催办〔2026〕0001; one to leadership a
督办单 numbered 督办〔2026〕0001: each level counts on through its year (the working day the
escalation was recorded for). Notices are written by the tick (chaser.tick), in its transaction, and
shown by the demand pages (demands.notices).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from servicedesk.demands.forms import STEP_LABELS
from servicedesk.domain.chase import ChaseAction, Kind
from servicedesk.extensions import db
from servicedesk.models import Demand, EscalationNotice, User

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
    """The next notice numbers: one query per level and year, then counting on. The tick keeps one
    for all its batches, and starts a new one after a batch was rolled back."""

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


def notice_values(action: ChaseAction, chase_record_id: int, number: str) -> dict[str, Any]:
    """The notice an escalation yields, as a row (the tick inserts a batch's notices at once, made
    at its moment), under the number `Numbering` gave it."""
    deadline = action.deadline
    return {"number": number, "level": LEVEL_OF_KIND[action.kind], "chase_record_id": chase_record_id,
            "demand_id": deadline.demand_id, "department_id": deadline.department_id,
            "deadline": deadline.deadline, "due": deadline.due, "days_overdue": action.days_overdue}


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
