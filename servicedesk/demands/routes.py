"""The demand page: all a demand is and has been, a form for each action the user may take on it
now, its printable dispatch sheet and its attachments.

Handlers of a department that is neither lead nor co-department get 404 here, as everywhere.
"""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
from werkzeug import Response

from servicedesk import attachments, audit, clock
from servicedesk.calendar.store import page_calendar
from servicedesk.chaser.messages import KIND_LABELS
from servicedesk.demands import bp, forms, operations
from servicedesk.demands.search import card_window
from servicedesk.domain import lifecycle
from servicedesk.domain.lifecycle import Action, State
from servicedesk.domain.workdays import Card
from servicedesk.extensions import db
from servicedesk.forms import show_refusal
from servicedesk.i18n import format_day, once_per_locale
from servicedesk.models import Attachment, Demand, Role
from servicedesk.navigation import may_open
from servicedesk.security import signed_in


def _visible_demand(demand_id: int, *, whole: bool = True) -> Demand:
    """The demand (with all its page shows, when whole), or 404 when it does not exist or the user
    may not see it."""
    demand = operations.demand_for_page(demand_id) if whole else db.session.get(Demand, demand_id)
    if demand is None or not operations.may_see(current_user, demand):
        abort(404)
    return demand


@bp.app_template_filter("iso_day")
def iso_day(value: Any) -> str:
    """A day kept as ISO text (in an event's details) shown as the |day filter shows a date."""
    if not value:
        return ""
    try:
        return format_day(date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _deadlines(demand: Demand) -> list[dict[str, Any]]:
    """Each deadline set on the demand, with why it falls on its day (not for a day an approved
    extension set: that one was chosen, not counted)."""
    calendar = page_calendar()
    found = []
    for step in ("sign", "respond", "feedback"):
        deadline = operations.deadline_of(demand, step)
        if deadline is None:
            continue
        extended = step == "respond" and demand.respond_extended
        found.append({
            "step": step, "deadline": deadline, "extended": extended,
            "explanation": None if extended else calendar.explain(deadline.counted_from,
                                                                   deadline.working_days),
            "current": demand.current_step == step and demand.state != State.CLOSED,
        })
    return found


def _card(demand: Demand) -> Card:
    """The demand's card, measured as the lists measure theirs (search.card_window)."""
    if State(demand.state) not in lifecycle.OPEN_STATES:
        return Card.NONE
    return card_window().card(demand.current_due)


def _page(demand: Demand, *, posted: forms.ActionForm | None = None, stale: bool = False,
          status: int = 200) -> tuple[str, int]:
    allowed = lifecycle.allowed_actions(operations.facts_of(demand), operations.actor_of(current_user))
    action_forms = []
    for action in allowed:
        if posted is not None and posted.action is action:
            posted.version.data = demand.version  # the page shows the demand as it is now
            action_forms.append(posted)
        else:
            action_forms.append(forms.form_for(action, demand))
    if posted is not None and posted.action not in allowed:
        for errors in posted.errors.values():
            for message in errors:
                flash(message, "danger")
    return render_template(
        "demands/show.html", demand=demand, action_forms=action_forms, stale=stale,
        history=operations.history_of(demand.id), deadlines=_deadlines(demand), card=_card(demand),
        attachments=operations.demand_attachments(demand.id), attachment_form=forms.AttachmentForm(),
        accept=attachments.ACCEPT, labels=_labels(),
    ), status


def _page_labels() -> SimpleNamespace:
    """The labels the demand page shows (its history's above all), translated once per locale."""
    tables = {
        "actions": {**forms.SYSTEM_EVENT_LABELS,
                    **{str(a): label for a, label in forms.ACTION_LABELS.items()}},
        "hints": {str(a): hint for a, hint in forms.ACTION_HINTS.items()},
        "states": {str(s): label for s, label in operations.STATE_LABELS.items()},
        "urgency": {str(u): label for u, label in forms.URGENCY_LABELS.items()},
        "outcomes": {str(o): label for o, label in forms.OUTCOME_LABELS.items()},
        "feedback": {str(f): label for f, label in forms.FEEDBACK_LABELS.items()},
        "close_reasons": {str(r): label for r, label in forms.CLOSE_REASON_LABELS.items()},
        "sources": forms.SOURCE_LABELS,
        "steps": forms.STEP_LABELS,
        "chase_kinds": KIND_LABELS,
        "roles": {str(role): role.label for role in Role},
    }
    # attributes rather than keys: a template's `labels.states` is then found at the first try
    return SimpleNamespace(**{name: {key: str(label) for key, label in table.items()}
                              for name, table in tables.items()})


_labels = once_per_locale(_page_labels)


@bp.route("/<int:demand_id>")
@signed_in
def show(demand_id: int) -> tuple[str, int]:
    return _page(_visible_demand(demand_id))


@bp.route("/<int:demand_id>/actions/<action_name>", methods=["POST"])
@signed_in
def act(demand_id: int, action_name: str) -> tuple[str, int] | Response:
    demand = _visible_demand(demand_id)
    try:
        action = Action(action_name)
    except ValueError:
        abort(404)
    form = forms.form_for(action, demand, submitted=True)
    if not form.validate_on_submit():
        refusal = lifecycle.check(action, operations.facts_of(demand), operations.actor_of(current_user))
        if refusal is not None:  # say first that it cannot be done at all, as the table would
            flash(operations.refusal_message(refusal, demand), "danger")
            form = forms.form_for(action, demand)
        return _page(demand, posted=form, status=422)
    try:
        operations.take_action(demand, action, current_user, form.values(), form.version.data, clock.now())
        db.session.commit()
    except operations.DemandRefused as refused:
        show_refusal(form, refused.field_errors)
        return _page(_visible_demand(demand_id), posted=form, status=422)
    except (audit.StaleEdit, StaleDataError):
        db.session.rollback()
        return _page(_visible_demand(demand_id), posted=form, stale=True, status=409)
    flash(_("%(action)s: done for demand %(number)s.", action=forms.ACTION_LABELS[action],
            number=demand.number), "success")
    if not operations.may_see(current_user, demand):  # returned: no longer the department's
        return redirect(url_for("demands.queue" if may_open("demands.queue") else "core.index"))
    return redirect(url_for(".show", demand_id=demand_id, _anchor="timeline"))


@bp.route("/<int:demand_id>/sheet")
@signed_in
def sheet(demand_id: int) -> str:
    """The dispatch sheet (交办单) of the current dispatch, for printing."""
    demand = _visible_demand(demand_id)
    if demand.lead_department is None or demand.dispatched_at is None:
        abort(404)
    deadlines = {entry["step"]: entry for entry in _deadlines(demand)}
    return render_template("demands/sheet.html", demand=demand, deadlines=deadlines, labels=_labels(),
                           printed_at=clock.now())


@bp.route("/<int:demand_id>/attachments", methods=["POST"])
@signed_in
def upload_attachment(demand_id: int) -> tuple[str, int] | Response:
    demand = _visible_demand(demand_id)
    form = forms.AttachmentForm()
    if form.validate_on_submit():
        try:
            attachment = attachments.save(form.file.data, demand=demand, user=current_user)
        except attachments.AttachmentRefused as refused:
            db.session.rollback()
            flash(str(refused), "danger")
        else:
            db.session.commit()
            flash(_("%(name)s is attached.", name=attachment.original_name), "success")
            return redirect(url_for(".show", demand_id=demand_id, _anchor="attachments"))
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "danger")
    return _page(demand, status=422)


@bp.route("/<int:demand_id>/attachments/<int:attachment_id>")
@signed_in
def download_attachment(demand_id: int, attachment_id: int) -> Response:
    demand = _visible_demand(demand_id, whole=False)
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.demand_id != demand.id:
        abort(404)
    return attachments.send(attachment)
