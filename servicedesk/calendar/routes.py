"""The calendar area: the year and month views, loading a year, the import, the deadline calculator
and the time limits. Anyone signed in may look; only admins change anything.
"""

from __future__ import annotations

import calendar as stdlib_calendar
import io
from dataclasses import dataclass
from datetime import date

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug import Response

from servicedesk import clock, uploads
from servicedesk.audit import StaleEdit
from servicedesk.calendar import bp, importer, limits, store
from servicedesk.calendar.forms import (
    USUAL,
    CalendarUploadForm,
    CategoryLimitsForm,
    ConfirmYearForm,
    DeadlineForm,
    DefaultLimitsForm,
    MarkDaysForm,
    limit_values,
)
from servicedesk.domain import statutory_holidays
from servicedesk.domain.time_limits import PER_CATEGORY, Limit
from servicedesk.domain.workdays import FIRST_YEAR, LAST_YEAR, DayKind, is_weekend
from servicedesk.extensions import db
from servicedesk.forms import ButtonForm, show_refusal
from servicedesk.i18n import is_chinese
from servicedesk.models import CalendarDay, Category, Role
from servicedesk.security import roles_required, signed_in

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: the holidays' names in the interface language; a local closure keeps the name it was given
HOLIDAY_NAMES = {
    "元旦": _l("New Year's Day"),
    "春节": _l("Spring Festival"),
    "清明节": _l("Qingming Festival"),
    "劳动节": _l("Labour Day"),
    "端午节": _l("Dragon Boat Festival"),
    "中秋节": _l("Mid-Autumn Festival"),
    "国庆节": _l("National Day"),
}
#: changes that lost a race with another admin's: nothing was saved
RACES = (StaleEdit, StaleDataError, IntegrityError)


@bp.app_template_filter("holiday")
def holiday_name(name: str) -> str:
    return str(HOLIDAY_NAMES.get(name, name))


def calendar_warning() -> list[int]:
    """The years of the coming days (CALENDAR_WARNING_DAYS) not loaded, for admins and leaders."""
    if not current_user.is_authenticated or not current_user.has_role(Role.ADMIN, Role.LEADER):
        return []
    try:
        return store.unloaded_years_ahead(clock.today(), current_app.config["CALENDAR_WARNING_DAYS"])
    except SQLAlchemyError:  # an error page is being shown: the banner must not hide it
        return []


@bp.app_context_processor
def _calendar_globals() -> dict[str, object]:
    return {"calendar_warning": calendar_warning}


def _rollback_race() -> None:
    db.session.rollback()
    flash(_("Someone else changed the calendar at the same moment, so nothing was saved. "
            "Check the calendar and try again."), "warning")


def _checked_year(year: int) -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        abort(404)
    return year


# Year and month views

@dataclass(frozen=True)
class GridDay:
    day: date
    in_month: bool
    special: CalendarDay | None

    @property
    def working(self) -> bool:
        if self.special is not None:
            return self.special.kind == DayKind.WORKDAY
        return not is_weekend(self.day)

    @property
    def weekend(self) -> bool:
        return is_weekend(self.day)


def month_grid(year: int, month: int, specials: dict[date, CalendarDay]) -> list[list[GridDay]]:
    """The month's weeks, Monday first, with the days of the neighbouring months to fill them."""
    weeks = stdlib_calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
    return [[GridDay(day, day.month == month, specials.get(day)) for day in week] for week in weeks]


def _specials(year: int) -> tuple[list[CalendarDay], dict[date, CalendarDay]]:
    days = store.days_of(year)
    return days, {special.day: special for special in days}


@bp.route("/")
@signed_in
def index() -> Response:
    return redirect(url_for(".year", year=clock.today().year))


@bp.route("/<int:year>")
@signed_in
def year(year: int) -> str:
    _checked_year(year)
    record = store.year_record(year)
    days, by_date = _specials(year)
    return render_template(
        "calendar/year.html", year=year, record=record, days=days,
        months=[(month, month_grid(year, month, by_date)) for month in range(1, 13)],
        package_knows=statutory_holidays.knows(year),
        package_version=statutory_holidays.package_version(),
        today=clock.today(), button_form=ButtonForm(),
        confirm_form=ConfirmYearForm(data={"version": record.version if record else 0}),
    )


@bp.route("/<int:year>/prefill", methods=["POST"])
@roles_required(Role.ADMIN)
def prefill(year: int) -> Response:
    _checked_year(year)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        change = store.prefill(year)
        db.session.commit()
    except statutory_holidays.YearNotKnown:
        db.session.rollback()
        flash(_("chinese-calendar %(version)s has no holiday arrangement for %(year)d yet. Enter the "
                "year by marking its days, or import it from a file.",
                version=statutory_holidays.package_version(), year=year), "warning")
    except RACES:
        _rollback_race()
    else:
        flash(_("%(year)d has been loaded from chinese-calendar: %(added)d days added, %(removed)d "
                "removed, %(changed)d changed.", year=year, added=len(change.added),
                removed=len(change.removed), changed=len(change.changed)), "success")
    return redirect(url_for(".year", year=year))


@bp.route("/<int:year>/confirm", methods=["POST"])
@roles_required(Role.ADMIN)
def confirm(year: int) -> Response:
    _checked_year(year)
    form = ConfirmYearForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        store.confirm_year(year, form.version.data)
        db.session.commit()
    except store.CalendarRefused as refused:
        db.session.rollback()
        flash(str(refused), "info")
    except RACES:
        _rollback_race()
    else:
        flash(_("%(year)d is loaded: its holidays and make-up working days count from now on.",
                year=year), "success")
    return redirect(url_for(".year", year=year))


def _month_page(year: int, month: int, form: MarkDaysForm) -> str:
    record = store.year_record(year)
    _days, by_date = _specials(year)
    previous = date(year, month, 1).replace(day=1)
    return render_template(
        "calendar/month.html", year=year, month=month, record=record, form=form,
        weeks=month_grid(year, month, by_date), today=clock.today(),
        first_of_month=previous, holiday_names=list(HOLIDAY_NAMES),
        previous_month=_shift_month(year, month, -1), next_month=_shift_month(year, month, 1),
    )


def _shift_month(year: int, month: int, step: int) -> tuple[int, int] | None:
    index = year * 12 + month - 1 + step
    shifted = divmod(index, 12)
    if not FIRST_YEAR <= shifted[0] <= LAST_YEAR:
        return None
    return shifted[0], shifted[1] + 1


@bp.route("/<int:year>/<int:month>")
@signed_in
def month(year: int, month: int) -> str:
    _checked_year(year)
    if not 1 <= month <= 12:
        abort(404)
    picked = request.args.get("day", "")
    form = MarkDaysForm(data={"first": _parse_iso(picked) or date(year, month, 1)})
    return _month_page(year, month, form)


def _parse_iso(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@bp.route("/<int:year>/<int:month>/mark", methods=["POST"])
@roles_required(Role.ADMIN)
def mark(year: int, month: int) -> str | Response:
    _checked_year(year)
    if not 1 <= month <= 12:
        abort(404)
    form = MarkDaysForm()
    if not form.validate_on_submit():
        return _month_page(year, month, form)
    kind = None if form.kind.data == USUAL else DayKind(form.kind.data)
    first = form.first.data
    last = form.last.data or first
    try:
        result = store.mark_days(first, last, kind, form.name.data or "")
        db.session.commit()
    except store.CalendarRefused as refused:
        show_refusal(form, refused.field_errors)
        return _month_page(year, month, form)
    except RACES:
        _rollback_race()
        return redirect(url_for(".month", year=year, month=month))
    _flash_marked(result)
    return redirect(url_for(".month", year=first.year, month=first.month))


def _flash_marked(result: store.MarkResult) -> None:
    if result.marked:
        flash(_("%(n)d days marked.", n=len(result.marked)), "success")
    else:
        flash(_("Nothing was changed."), "info")
    if result.left_alone:
        flash(_("Left as they are, since they need no entry: %(days)s.",
                days=", ".join(day.isoformat() for day in result.left_alone)), "info")
    unloaded = [year for year, loaded in result.years.items() if not loaded]
    if unloaded:
        flash(_("%(years)s is not loaded yet: the days you mark count once you confirm the year.",
                years=", ".join(str(year) for year in unloaded)), "warning")


# Import

@bp.route("/import", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def import_upload() -> str | Response:
    form = CalendarUploadForm()
    if form.validate_on_submit():
        token = uploads.accept(form.file, importer.read_file)
        if token is not None:
            return redirect(url_for(".import_review", token=token))
    return render_template("calendar/import.html", form=form, headers=importer.HEADER_SYNONYMS,
                           kind_words=importer.KIND_WORDS, next_year=clock.today().year + 1)


@bp.route("/import/template.xlsx")
@roles_required(Role.ADMIN)
def import_template() -> Response:
    chinese = is_chinese()
    next_year = clock.today().year + 1
    return send_file(
        io.BytesIO(importer.template_workbook(chinese, next_year)),
        mimetype=XLSX_MIMETYPE, as_attachment=True, max_age=0,
        download_name=f"{next_year}年工作日历.xlsx" if chinese else f"calendar-{next_year}.xlsx",
    )


def _pending(token: str) -> uploads.PendingImport | Response:
    return uploads.pending_or_redirect(token, ".import_upload")


def _plan(pending: uploads.PendingImport) -> importer.CalendarImportPlan | Response:
    try:
        return importer.plan(importer.read_file(pending.data))
    except importer.ImportFileError as error:  # read once on upload; only a damaged file
        uploads.discard(pending.token)
        flash(str(error), "danger")
        return redirect(url_for(".import_upload"))


@bp.route("/import/<token>")
@roles_required(Role.ADMIN)
def import_review(token: str) -> str | Response:
    pending = _pending(token)
    if isinstance(pending, Response):
        return pending
    plan = _plan(pending)
    if isinstance(plan, Response):
        return plan
    return render_template("calendar/import_review.html", plan=plan, pending=pending,
                           button_form=ButtonForm())


@bp.route("/import/<token>/confirm", methods=["POST"])
@roles_required(Role.ADMIN)
def import_confirm(token: str) -> Response:
    if not ButtonForm().validate_on_submit():
        abort(400)
    pending = _pending(token)
    if isinstance(pending, Response):
        return pending
    plan = _plan(pending)  # checked again: the calendar may have changed since the report
    if isinstance(plan, Response):
        return plan
    try:
        changes = importer.apply(plan, pending.file_name)
        db.session.commit()
    except store.CalendarRefused as refused:
        db.session.rollback()
        flash(str(refused), "danger")
        return redirect(url_for(".import_review", token=token))
    except RACES:
        _rollback_race()
        return redirect(url_for(".import_review", token=token))
    uploads.discard(token)
    for change, year_plan in zip(changes, plan.years, strict=True):
        flash(_("%(year)d has been loaded from %(file)s: %(holidays)d holidays and %(workdays)d make-up "
                "working days (%(added)d added, %(removed)d removed, %(changed)d changed).",
                year=change.year, file=pending.file_name, holidays=year_plan.holidays,
                workdays=year_plan.workdays, added=len(change.added), removed=len(change.removed),
                changed=len(change.changed)), "success")
    return redirect(url_for(".year", year=changes[0].year))


@bp.route("/import/<token>/cancel", methods=["POST"])
@roles_required(Role.ADMIN)
def import_cancel(token: str) -> Response:
    if not ButtonForm().validate_on_submit():
        abort(400)
    uploads.discard(token)
    flash(_("The import was cancelled; nothing was changed."), "info")
    return redirect(url_for(".index"))


# Why a deadline falls on its day

@bp.route("/deadline")
@signed_in
def deadline() -> str:
    form = DeadlineForm(request.args)
    explanation = None
    if request.args and form.validate():
        explanation = store.working_calendar().explain(form.start.data, form.days.data)
    elif not request.args:
        form = DeadlineForm(data={"start": clock.today(), "days": limits.current().sign()})
    return render_template("calendar/deadline.html", form=form, explanation=explanation)


# Time limits

def _limits_page(defaults_form: FlaskForm | None = None) -> str:
    rows = limits.default_rows()
    values = {limit: row.working_days for limit, row in rows.items()}
    if defaults_form is None:
        defaults_form = DefaultLimitsForm(data={
            **{limit.value: value for limit, value in values.items()},
            "seen": limits.fingerprint(values)})
    categories = db.session.scalars(select(Category).order_by(Category.active.desc(), Category.position,
                                                              Category.id)).all()
    today = clock.today()
    calendar = store.working_calendar()
    examples = {limit: calendar.deadline(today, value) for limit, value in values.items()
                if limit is not Limit.DUE_SOON}
    return render_template(
        "calendar/time_limits.html", rows=rows, form=defaults_form, categories=categories,
        category_limits=limits.category_rows(), labels=limits.LABELS, counted_from=limits.COUNTED_FROM,
        per_category=PER_CATEGORY, all_limits=list(Limit), today=today, examples=examples,
    )


@bp.route("/time-limits")
@signed_in
def time_limits() -> str:
    return _limits_page()


@bp.route("/time-limits", methods=["POST"])
@roles_required(Role.ADMIN)
def save_time_limits() -> str | Response:
    form = DefaultLimitsForm()
    if not form.validate_on_submit():
        return _limits_page(form)
    try:
        saved = limits.set_defaults(limit_values(form, tuple(Limit)), form.seen.data or None)
        db.session.commit()
    except limits.LimitsRefused as refused:
        show_refusal(form, refused.field_errors)
        return _limits_page(form)
    except limits.LimitsChanged:
        db.session.rollback()
        flash(_("Someone else changed the time limits while you were editing them. Nothing was saved: "
                "the form now shows the current values, make your changes again."), "warning")
        return redirect(url_for(".time_limits"))
    if saved.changed:
        flash(_("The time limits have been saved. They apply to demands dispatched from now on; "
                "deadlines already set stay as they are."), "success")
    else:
        flash(_("Nothing was changed."), "info")
    return redirect(url_for(".time_limits"))


@bp.route("/time-limits/categories/<int:category_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def category_time_limits(category_id: int) -> str | Response:
    category = db.get_or_404(Category, category_id)
    own = limits.category_rows().get(category.id, {})
    values = {limit: row.working_days for limit, row in own.items()}
    form = CategoryLimitsForm(data={**{limit.value: value for limit, value in values.items()},
                                    "seen": limits.fingerprint(values)})
    if form.validate_on_submit():
        try:
            saved = limits.set_category_limits(category, limit_values(form, PER_CATEGORY),
                                               form.seen.data or None)
            db.session.commit()
        except limits.LimitsRefused as refused:
            show_refusal(form, refused.field_errors)
        except limits.LimitsChanged:
            db.session.rollback()
            flash(_("Someone else changed this category's limits while you were editing them. Nothing "
                    "was saved: the form now shows the current values, make your changes again."),
                  "warning")
            return redirect(url_for(".category_time_limits", category_id=category_id))
        else:
            if saved.changed:
                flash(_("The time limits of %(name)s have been saved. They apply to its demands "
                        "dispatched from now on.", name=category.name), "success")
            else:
                flash(_("Nothing was changed."), "info")
            return redirect(url_for(".time_limits"))
    return render_template("calendar/category_limits.html", category=category, form=form, own=own,
                           defaults=limits.current(), labels=limits.LABELS, per_category=PER_CATEGORY)
