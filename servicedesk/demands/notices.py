"""The escalation notices of a demand (催办通知书, 督办单), printable on A4 like the dispatch sheet.

Seen by whoever may see the demand; a handler of another department gets 404, as everywhere.
"""

from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user

from servicedesk import clock
from servicedesk.chaser import notices
from servicedesk.demands import bp, operations
from servicedesk.extensions import db
from servicedesk.models import Demand, EscalationNotice, Milestone
from servicedesk.security import signed_in


@bp.app_template_global("escalation_notices")
def escalation_notices(demand_id: int) -> list[EscalationNotice]:
    """The demand's notices for its page (templates/demands/_notices.html): one query."""
    return notices.notices_of(demand_id)


@bp.route("/<int:demand_id>/notices/<int:notice_id>")
@signed_in
def notice(demand_id: int, notice_id: int) -> str:
    """One escalation notice, for printing."""
    demand = db.session.get(Demand, demand_id)
    if demand is None or not operations.may_see(current_user, demand):
        abort(404)
    found = notices.notice_for_page(demand.id, notice_id)
    if found is None:
        abort(404)
    record = found.chase_record
    return render_template(
        "demands/notice.html", notice=found, demand=found.demand, record=record,
        milestone=db.session.get(Milestone, record.milestone_id) if record.milestone_id else None,
        head=notices.head_of(found.department_id) if found.level == notices.HEAD else None,
        title=notices.TITLES[found.level], deadline_label=notices.DEADLINE_LABELS.get(found.deadline),
        printed_at=clock.now())
