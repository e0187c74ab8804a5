"""The bell and the user's messages: the notifications the chaser leaves (newest first, marked read one
by one or all at once), and what the user is chased for — to see, not to turn off."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload
from werkzeug import Response

from servicedesk import clock
from servicedesk.calendar import limits
from servicedesk.chaser import messages as chaser_messages
from servicedesk.chaser.tick import current_settings
from servicedesk.demands.operations import may_see
from servicedesk.domain.chase import ChaseSettings
from servicedesk.domain.time_limits import TimeLimits, Urgency
from servicedesk.extensions import db
from servicedesk.forms import ButtonForm
from servicedesk.messages import bp
from servicedesk.models import Demand, Notification, Role, User
from servicedesk.pagination import paginate
from servicedesk.security import signed_in

PER_PAGE = 50
#: the bell shows this many at most, then "99+"
BELL_MAX = 99


# The bell, on every page

def unread_messages() -> int:
    """The signed-in user's unread count for the navigation bar: one query per request."""
    if not current_user.is_authenticated:
        return 0
    if "unread_messages" not in g:
        try:
            g.unread_messages = chaser_messages.unread_count(current_user.id)
        except SQLAlchemyError:  # an error page is being shown: the bell must not hide it
            g.unread_messages = 0
    return int(g.unread_messages)


@bp.app_context_processor
def _bell_globals() -> dict[str, Any]:
    return {"unread_messages": unread_messages, "BELL_MAX": BELL_MAX}


# The list

@bp.route("/")
@signed_in
def index() -> str:
    statement = (select(Notification).where(Notification.user_id == current_user.id)
                 .options(joinedload(Notification.demand).selectinload(Demand.co_departments),
                          joinedload(Notification.chase_record))
                 .order_by(Notification.created_at.desc(), Notification.id.desc()))
    page = paginate(statement, request.args.get("page", 1, type=int), PER_PAGE)
    user = current_user._get_current_object()
    shown = {n.id: n.demand is not None and may_see(user, n.demand) for n in page.items}
    return render_template("messages/index.html", page=page, shown=shown, form=ButtonForm(),
                           kind_label=chaser_messages.kind_label,
                           deadline_noun=chaser_messages.deadline_noun, unread=unread_messages())


def _back() -> Response:
    page = request.form.get("page", type=int)
    return redirect(url_for("messages.index", page=page) if page and page > 1 else url_for("messages.index"))


@bp.route("/<int:notification_id>/read", methods=["POST"])
@signed_in
def mark_read(notification_id: int) -> Response:
    if not ButtonForm().validate_on_submit():
        abort(400)
    if not chaser_messages.mark_read(current_user.id, notification_id, clock.now()):
        abort(404)
    db.session.commit()
    return _back()


@bp.route("/read-all", methods=["POST"])
@signed_in
def mark_all_read() -> Response:
    if not ButtonForm().validate_on_submit():
        abort(400)
    count = chaser_messages.mark_all_read(current_user.id, clock.now())
    db.session.commit()
    flash(ngettext("%(num)d message marked as read.", "%(num)d messages marked as read.", count), "success")
    return _back()


# What the user is chased for

@dataclass
class Part:
    """One reason the user is chased: what they owe, and how they are told."""

    key: str
    title: str
    owed: list[str] = field(default_factory=list)
    told: list[str] = field(default_factory=list)


def chased_for(user: User, time_limits: TimeLimits, digest_time: str) -> list[Part]:
    """What the user is chased for, by role, from the time limits and the settings in force."""
    parts: list[Part] = []
    if user.has_role(Role.HANDLER) and user.department is not None:
        part = Part("department", _("As a handler of %(department)s", department=user.department.name), [
            ngettext("Signing for a demand dispatched to your department: within %(num)d working day.",
                     "Signing for a demand dispatched to your department: within %(num)d working days.",
                     time_limits.sign()),
            _("Its response: within %(urgent)d, %(normal)d or %(complex)d working days of dispatch (urgent, "
              "normal, complex), or by the day of an approved extension.",
              urgent=time_limits.respond(Urgency.URGENT), normal=time_limits.respond(Urgency.NORMAL),
              complex=time_limits.respond(Urgency.COMPLEX)),
            _("The milestones of its roadmap, each by its day."),
        ], [
            _("Every working morning at %(time)s: one digest of your department's open items by card, "
              "by mail.", time=digest_time),
            _("Under the bell: each reminder and escalation of your department's items."),
        ])
        if user.is_department_head:
            part.told.append(_("As the head of the department: each escalation of its items, by mail at "
                               "once and on a printable notice."))
        parts.append(part)
    if user.has_role(Role.OFFICER):
        parts.append(Part("officer", _("As an officer"), [
            ngettext("The company's feedback on the demands you dispatched: within %(num)d working day of "
                     "the department's response.",
                     "The company's feedback on the demands you dispatched: within %(num)d working days of "
                     "the department's response.", time_limits.feedback()),
            _("The decision on their requests for more time."),
        ], [
            _("Every working morning at %(time)s: your own digest of these, by mail.", time=digest_time),
            _("Under the bell: each reminder of these."),
        ]))
    if user.has_role(Role.LEADER):
        parts.append(Part("leader", _("As a leader"), [
            _("Demands escalated to leadership; each is put under key supervision."),
            _("The decision on requests for more time."),
        ], [
            _("Each escalation to leadership, by mail at once."),
            _("On the first working day of each week: the weekly summary (open and overdue demands, the "
              "departments most behind, the key supervision list)."),
            _("Under the bell: the escalations to leadership."),
        ]))
    return parts


def rules(settings: ChaseSettings) -> list[str]:
    """How every deadline is chased, in words."""
    return [
        ngettext("Due soon (yellow card): from %(num)d working day before the deadline, a reminder.",
                 "Due soon (yellow card): from %(num)d working days before the deadline, a reminder.",
                 settings.due_soon_days),
        _("On the day it is due: a reminder."),
        _("Overdue (red card): a reminder on each working day until it is met."),
        ngettext("%(num)d working day overdue: a department's deadline is escalated to its head.",
                 "%(num)d working days overdue: a department's deadline is escalated to its head.",
                 settings.escalate_head_after),
        ngettext("%(num)d working day overdue: it is escalated to leadership and put under key supervision.",
                 "%(num)d working days overdue: it is escalated to leadership and put under key supervision.",
                 settings.escalate_leadership_after),
        _("Reminders go out on working days only, counted on the zone's working-day calendar."),
    ]


@bp.route("/chased-for", endpoint="chased_for")
@signed_in
def chased_for_page() -> str:
    time_limits = limits.current()
    settings = current_settings(time_limits)
    user = current_user._get_current_object()
    digest_time = str(current_app.config.get("DIGEST_TIME") or "08:30")
    return render_template("messages/chased_for.html", rules=rules(settings), user=user,
                           parts=chased_for(user, time_limits, digest_time))
