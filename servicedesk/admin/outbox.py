"""The outbox page: the mail the desk has sent, what waits, and what could not be delivered.

Failed messages come first, with the server's last answer; an admin can put one back in line.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload
from werkzeug import Response

from servicedesk import audit, clock
from servicedesk.admin import bp
from servicedesk.chaser import outbox as sender
from servicedesk.extensions import db
from servicedesk.models import OutboxMessage, Role, User
from servicedesk.pagination import paginate
from servicedesk.security import roles_required

PER_PAGE = 50
STATUS_LABELS = {
    sender.FAILED: _l("Failed"),
    sender.PENDING: _l("Waiting"),
    sender.SENDING: _l("Being sent"),
    sender.SENT: _l("Sent"),
}
#: what each kind of mail is (chaser/tick.py, chaser/digests.py); another kind shows as it is stored
MAIL_KINDS = {
    "escalation": _l("Escalation"),
    "digest_department": _l("Department digest"),
    "digest_officer": _l("Officer digest"),
    "weekly_summary": _l("Weekly summary"),
}
STATUS_BADGES = {sender.FAILED: "danger", sender.PENDING: "warning", sender.SENDING: "info",
                 sender.SENT: "success"}


@bp.route("/outbox", endpoint="outbox")
@roles_required(Role.ADMIN)
def outbox_messages() -> str:
    status = request.args.get("status") if request.args.get("status") in STATUS_LABELS else None
    counts = dict(db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    statement = (select(OutboxMessage).options(joinedload(OutboxMessage.recipient).lazyload(User.role_rows))
                 .order_by(case((OutboxMessage.status == sender.FAILED, 0), else_=1),
                           OutboxMessage.created_at.desc(), OutboxMessage.id.desc()))
    if status:
        statement = statement.where(OutboxMessage.status == status)
    page = paginate(statement, request.args.get("page", 1, type=int) or 1, PER_PAGE)
    return render_template("admin/outbox.html", page=page, counts=counts, status=status,
                           labels=STATUS_LABELS, badges=STATUS_BADGES, kinds=MAIL_KINDS, failed=sender.FAILED,
                           give_up_hours=current_app.config["OUTBOX_GIVE_UP_HOURS"])


@bp.route("/outbox/<int:message_id>/retry", methods=["POST"], endpoint="retry_outbox_message")
@roles_required(Role.ADMIN)
def retry_outbox_message(message_id: int) -> Response:
    message = db.get_or_404(OutboxMessage, message_id)
    if sender.retry(message, clock.now()):
        audit.record("outbox.retried", message, {"to": message.to_address, "kind": message.kind,
                                                 "attempts": message.attempts})
        db.session.commit()
        flash(_("The message to %(address)s is sent again within a minute.", address=message.to_address),
              "success")
    else:
        flash(_("That message has not failed; nothing was changed."), "info")
    return redirect(url_for("admin.outbox", status=request.args.get("status") or None))
