"""Logging a demand on its own, raised by hotline, letter, online or otherwise rather than at a
visit (those are logged with their visit: visits.routes).

The same form pieces, checks and duplicate check as the visit form: the demand's fields are named
"demand-title" and so on; only "Log the demand" writes.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug import Response
from werkzeug.datastructures import CombinedMultiDict

from servicedesk import attachments, clock
from servicedesk.demands import bp, operations
from servicedesk.extensions import db
from servicedesk.models import Role
from servicedesk.security import roles_required
from servicedesk.visits.forms import (
    DemandForm,
    DuplicateCheck,
    category_choices,
    check_duplicates,
    company_choices,
    show_field_errors,
    show_refused_files,
    take_files,
)


def _render(form: DemandForm, check: DuplicateCheck | None = None, refused: bool = False) -> str:
    if refused:
        flash(_("Nothing has been saved: correct what is marked below, then save again."), "danger")
    return render_template("demands/new.html", form=form, check=check or DuplicateCheck(),
                           state_labels=operations.STATE_LABELS)


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def new() -> str | Response:
    """Log one demand; ?company_id= chooses the company beforehand (from the company's page)."""
    if request.method != "POST":
        form = DemandForm()
        form.demand.form.company_id.data = request.args.get("company_id", type=int)
        form.fill_choices(company_choices(), category_choices())
        return _render(form)

    form = DemandForm(formdata=CombinedMultiDict([request.files, request.form]))
    files = take_files(form, current_user)
    form.fill_choices(company_choices(), category_choices())
    valid = form.validate()
    show_refused_files(form, files)
    if not valid or files.refused:
        return _render(form, refused=True)

    entry = form.demand.form
    errors = operations.demand_errors(entry.new_demand(form.source.data))
    if form.source.data not in operations.STANDALONE_SOURCES:
        errors["source"] = _("Choose where the demand came from; demands raised at a visit are "
                             "logged with the visit.")
    if errors:
        show_field_errors(form, errors, prefix="demand-")
        return _render(form, refused=True)

    check = check_duplicates([(0, entry)], already_shown=form.checked.data == "1")
    if check.found:
        form.checked.data = "1"
    if check.undecided:
        flash(_("This demand looks like a demand of the same company that is still open. Nothing "
                "has been saved yet: say below whether it is the same demand, then save."), "warning")
        return _render(form, check)

    try:
        demand = operations.log_demand(entry.new_demand(form.source.data, check.chosen.get(0)),
                                       current_user, clock.now())
        for kept in files.kept:
            attachments.adopt(kept, demand=demand, user=current_user)
    except operations.DemandRefused as refused:
        show_field_errors(form, refused.field_errors, prefix="demand-")
        return _render(form, check, refused=True)
    except attachments.AttachmentRefused as refused:
        db.session.rollback()
        form.files.errors = [*form.files.errors, str(refused)]
        return _render(form, check, refused=True)
    db.session.commit()
    if demand.duplicate_of_id:
        flash(_("Demand %(number)s has been logged as a repeat of %(original)s.", number=demand.number,
                original=demand.duplicate_of.number), "success")
    else:
        flash(_("Demand %(number)s has been logged.", number=demand.number), "success")
    return redirect(url_for("demands.show", demand_id=demand.id))
