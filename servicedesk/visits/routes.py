"""The visits area: the list of visits, logging a visit with the demands raised there, its page
and its attachments.

Logging is one form shown as often as needed before it is saved: "Add another demand" and the
remove buttons show it again with what was typed; the duplicate check shows it again with the
open demands that look like new ones; only "Save" writes, all in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload, selectinload
from werkzeug import Response
from werkzeug.datastructures import CombinedMultiDict, MultiDict

from servicedesk import attachments, clock
from servicedesk.demands import operations
from servicedesk.domain.lifecycle import OPEN_STATES
from servicedesk.extensions import db
from servicedesk.models import Attachment, Demand, Role, User, Visit
from servicedesk.pagination import paginate
from servicedesk.security import roles_required, signed_in
from servicedesk.visits import bp
from servicedesk.visits import operations as visit_operations
from servicedesk.visits.forms import (
    MAX_DEMANDS,
    DuplicateCheck,
    VisitForm,
    category_choices,
    check_duplicates,
    company_choices,
    show_field_errors,
    show_refused_files,
    take_files,
)

PER_PAGE = 20


bp.add_app_template_filter(attachments.human_size, "filesize")


# The list

def visible_visits(user: User) -> Select[Any]:
    """The visits the user may see: all for those who see all demands, else those with at least
    one demand the user may see."""
    statement = select(Visit)
    if not operations.sees_all(user):
        statement = statement.where(Visit.id.in_(
            select(Demand.visit_id).where(Demand.visit_id.is_not(None),
                                          operations.visibility_clause(user))))
    return statement


@dataclass(frozen=True)
class DemandCounts:
    total: int = 0
    open: int = 0


def demand_counts(visit_ids: Iterable[int], user: User) -> dict[int, DemandCounts]:
    """How many demands of each visit the user may see, and how many are open: one query."""
    ids = list(visit_ids)
    if not ids:
        return {}
    open_states = [s.value for s in OPEN_STATES]
    rows = db.session.execute(
        select(Demand.visit_id, func.count(Demand.id),
               func.count(Demand.id).filter(Demand.state.in_(open_states)))
        .where(Demand.visit_id.in_(ids), operations.visibility_clause(user))
        .group_by(Demand.visit_id))
    return {visit_id: DemandCounts(total, open_) for visit_id, total, open_ in rows}


@bp.route("/")
@signed_in
def index() -> str:
    statement = (visible_visits(current_user)
                 .options(selectinload(Visit.companies))
                 .order_by(Visit.visited_on.desc(), Visit.id.desc()))
    page = paginate(statement, request.args.get("page", 1, type=int), PER_PAGE)
    counts = demand_counts((v.id for v in page.items), current_user)
    return render_template("visits/index.html", page=page, counts=counts, no_counts=DemandCounts(),
                           kind_labels=operations.VISIT_KIND_LABELS)


# Logging a visit

def _renumbered(formdata: MultiDict, prefix: str, removed: int) -> MultiDict:
    """The submitted fields without entry `removed` of the list `prefix`, the later ones moved up."""
    result: MultiDict = MultiDict()
    start = f"{prefix}-"
    for key, value in formdata.items(multi=True):
        if key.startswith(start):
            index_text, dash, rest = key[len(start):].partition("-")
            if dash and index_text.isdigit():
                index = int(index_text)
                if index == removed:
                    continue
                if index > removed:
                    key = f"{start}{index - 1}-{rest}"
        result.add(key, value)
    return result


def _render_new(form: VisitForm, check: DuplicateCheck | None = None, refused: bool = False) -> str:
    if refused:
        flash(_("Nothing has been saved: correct what is marked below, then save again."), "danger")
    return render_template("visits/new.html", form=form, check=check or DuplicateCheck(),
                           max_demands=MAX_DEMANDS, state_labels=operations.STATE_LABELS,
                           kept_count=len(form.kept_files.data or ()))


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def create() -> str | Response:
    if request.method != "POST":
        form = VisitForm()
        form.visited_on.data = form.visited_on.data or clock.today()
        form.fill_choices(company_choices(), category_choices())
        return _render_new(form)

    removed = request.form.get("remove_demand", type=int)
    formdata = request.form
    if removed is not None:
        formdata = _renumbered(request.form, "demands", removed)
    form = VisitForm(formdata=CombinedMultiDict([request.files, formdata]))
    files = take_files(form, current_user)
    companies, categories = company_choices(), category_choices()

    if removed is not None or form.add_demand.data:
        if form.add_demand.data and not form.add_entry():
            flash(_("One visit takes at most %(num)d demands; log the others on their own.", num=MAX_DEMANDS),
                  "warning")
        if not form.demands.entries:
            form.add_entry()
        form.fill_choices(companies, categories)
        show_refused_files(form, files)
        return _render_new(form)

    form.fill_choices(companies, categories)
    valid = form.validate()
    show_refused_files(form, files)
    if not valid or files.refused:
        return _render_new(form, refused=True)

    entries = [(i, entry.form) for i, entry in enumerate(form.demands) if not entry.form.is_blank()]
    errors = visit_operations.visit_errors(form.values(), form.company_ids.data,
                                     [e.new_demand(form.kind.data) for _i, e in entries], clock.today())
    if errors:
        show_field_errors(form, _entry_keys(errors, [i for i, _e in entries]))
        return _render_new(form, refused=True)

    check = check_duplicates(entries, already_shown=form.checked.data == "1")
    if check.found:
        form.checked.data = "1"
    if check.undecided:
        flash(ngettext(
            "One new demand looks like a demand of the same company that is still open. Nothing "
            "has been saved yet: say below whether it is the same demand, then save.",
            "%(num)d new demands look like demands of the same company that are still open. "
            "Nothing has been saved yet: say below for each whether it is the same demand, then save.",
            len(check.undecided)), "warning")
        return _render_new(form, check)

    demands = [entry.new_demand(form.kind.data, check.chosen.get(i)) for i, entry in entries]
    try:
        visit = visit_operations.log_visit(form.values(), form.company_ids.data, demands, current_user,
                                     clock.now())
        for kept in files.kept:
            attachments.adopt(kept, visit=visit, user=current_user)
    except operations.DemandRefused as refused:
        show_field_errors(form, _entry_keys(refused.field_errors, [i for i, _e in entries]))
        return _render_new(form, check, refused=True)
    except attachments.AttachmentRefused as refused:
        db.session.rollback()
        form.files.errors = [*form.files.errors, str(refused)]
        return _render_new(form, check, refused=True)
    db.session.commit()
    flash(ngettext("The visit has been logged with %(num)d demand.",
                   "The visit has been logged with %(num)d demands.", len(demands)), "success")
    return redirect(url_for(".show", visit_id=visit.id))


def _entry_keys(errors: dict[str, str], form_indexes: list[int]) -> dict[str, str]:
    """Messages keyed by the demands' places in the list given to the operation, keyed instead
    by the entries of the form they came from (blank entries were left out)."""
    result = {}
    for key, message in errors.items():
        head, _dash, rest = key.partition("-")
        if head == "demands" and rest:
            index_text, _dash, name = rest.partition("-")
            if index_text.isdigit() and int(index_text) < len(form_indexes):
                key = f"demands-{form_indexes[int(index_text)]}-{name}"
        result[key] = message
    return result


# A visit's page

def visit_or_404(visit_id: int, user: User) -> tuple[Visit, list[Demand]]:
    """The visit and its demands the user may see; 404 when the user may see none of them (and
    does not see every demand)."""
    visit = db.session.scalar(select(Visit).where(Visit.id == visit_id).options(
        selectinload(Visit.companies), joinedload(Visit.created_by)))
    if visit is None:
        abort(404)
    demands = list(db.session.scalars(
        select(Demand).where(Demand.visit_id == visit.id, operations.visibility_clause(user))
        .options(joinedload(Demand.company), joinedload(Demand.lead_department),
                 joinedload(Demand.category), joinedload(Demand.duplicate_of))
        .order_by(Demand.id)))
    if not demands and not operations.sees_all(user):
        abort(404)
    return visit, demands


@bp.route("/<int:visit_id>")
@signed_in
def show(visit_id: int) -> str:
    visit, demands = visit_or_404(visit_id, current_user)
    files = list(db.session.scalars(select(Attachment).where(Attachment.visit_id == visit.id)
                                    .order_by(Attachment.id)))
    return render_template("visits/show.html", visit=visit, demands=demands, files=files,
                           kind_labels=operations.VISIT_KIND_LABELS,
                           source_labels=operations.SOURCE_LABELS,
                           urgency_labels=operations.URGENCY_LABELS,
                           state_labels=operations.STATE_LABELS)


@bp.route("/<int:visit_id>/attachments/<int:attachment_id>")
@signed_in
def attachment(visit_id: int, attachment_id: int) -> Response:
    visit, _demands = visit_or_404(visit_id, current_user)
    found = db.session.get(Attachment, attachment_id)
    if found is None or found.visit_id != visit.id:
        abort(404)
    return attachments.send(found)

