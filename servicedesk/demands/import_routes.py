"""Importing the old ledger: upload, map the columns (once per shape of file), check, confirm.

Only officers import. The upload waits under the instance folder (servicedesk.uploads) until the
officer confirms or cancels; nothing is written before the confirmation but the column mapping,
which is remembered as soon as the officer confirms it.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from werkzeug import Response

from servicedesk import clock, uploads
from servicedesk.demands import bp, ledger_import
from servicedesk.demands.forms import FEEDBACK_LABELS, SOURCE_LABELS
from servicedesk.demands.import_forms import ColumnMappingForm, ConfirmImportForm
from servicedesk.demands.operations import STATE_LABELS
from servicedesk.extensions import db
from servicedesk.forms import ButtonForm, SpreadsheetUploadForm
from servicedesk.models import Role
from servicedesk.security import roles_required
from servicedesk.spreadsheets import HeaderRow, ImportFileError

#: rows to be created shown on the report; the rest are summed up
SHOWN_ROWS = 50


def _labels() -> dict[str, object]:
    return {"fields": ledger_import.FIELD_LABELS, "states": {str(s): v for s, v in STATE_LABELS.items()},
            "sources": SOURCE_LABELS, "feedback": {str(f): v for f, v in FEEDBACK_LABELS.items()}}


@bp.route("/import", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def import_upload() -> str | Response:
    form = SpreadsheetUploadForm()
    if form.validate_on_submit():
        token = uploads.accept(form.file, ledger_import.read_header)
        if token is not None:
            return redirect(url_for(".import_review", token=token))
    return render_template("demands/import.html", form=form, labels=_labels(),
                           synonyms=ledger_import.HEADER_SYNONYMS, required=ledger_import.REQUIRED,
                           words={"source": ledger_import.SOURCE_WORDS,
                                  "state": ledger_import.STATE_WORDS,
                                  "feedback": ledger_import.FEEDBACK_WORDS})


def _opened(token: str) -> tuple[uploads.PendingImport, HeaderRow] | Response:
    """The officer's upload and its header row, or the way back to the upload page."""
    pending = uploads.pending_or_redirect(token, ".import_upload")
    if isinstance(pending, Response):
        return pending
    try:
        return pending, ledger_import.read_header(pending.data)
    except ImportFileError as error:  # read once on upload; only a damaged file
        return _unreadable(token, error)


def _unreadable(token: str, error: ImportFileError) -> Response:
    uploads.discard(token)
    flash(str(error), "danger")
    return redirect(url_for(".import_upload"))


@bp.route("/import/<token>/columns", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def import_columns(token: str) -> str | Response:
    opened = _opened(token)
    if isinstance(opened, Response):
        return opened
    pending, header = opened
    mapping = ledger_import.remembered(header)
    form = ColumnMappingForm(header, mapping.columns if mapping else ledger_import.guess_columns(header))
    if form.validate_on_submit():
        try:
            ledger_import.remember_columns(header, form.columns(), current_user, clock.now(),
                                           pending.file_name)
            db.session.commit()
        except IntegrityError:  # another officer saved the first mapping of this shape meanwhile
            db.session.rollback()
            flash(_("Someone else saved the columns of files like this one meanwhile. Here they "
                    "are: check them and save again."), "warning")
            return redirect(url_for(".import_columns", token=token))
        return redirect(url_for(".import_review", token=token))
    try:
        preview = ledger_import.preview(pending.data, header)
    except ImportFileError as error:
        return _unreadable(token, error)
    return render_template("demands/import_columns.html", form=form, pending=pending, header=header,
                           remembered=mapping is not None, required=ledger_import.REQUIRED,
                           choices=ledger_import.header_choices(header), preview=preview,
                           cancel_form=ButtonForm())


def _checked(token: str) -> tuple[uploads.PendingImport, HeaderRow, ledger_import.LedgerPlan] | Response:
    """The upload checked row by row with its remembered columns; without them, the mapping page."""
    opened = _opened(token)
    if isinstance(opened, Response):
        return opened
    pending, header = opened
    mapping = ledger_import.usable_mapping(header)
    if mapping is None:
        return redirect(url_for(".import_columns", token=token))
    try:
        return pending, header, ledger_import.prepare(pending.data, mapping.columns, clock.today())
    except ImportFileError as error:
        return _unreadable(token, error)


@bp.route("/import/<token>")
@roles_required(Role.OFFICER)
def import_review(token: str) -> str | Response:
    checked = _checked(token)
    if isinstance(checked, Response):
        return checked
    pending, header, plan = checked
    return render_template("demands/import_review.html", plan=plan, pending=pending, header=header,
                           shown=plan.to_create[:SHOWN_ROWS], labels=_labels(),
                           confirm_form=ConfirmImportForm(digest=plan.digest), cancel_form=ButtonForm())


@bp.route("/import/<token>/confirm", methods=["POST"])
@roles_required(Role.OFFICER)
def import_confirm(token: str) -> Response:
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        abort(400)
    checked = _checked(token)
    if isinstance(checked, Response):
        return checked
    pending, _header, plan = checked
    if plan.digest != form.digest.data:
        flash(_("Nothing was imported: the check now gives another result than the report you "
                "confirmed (rows imported, companies registered or the columns changed meanwhile). "
                "Here is the report again."), "warning")
        return redirect(url_for(".import_review", token=token))
    try:
        result = ledger_import.apply_plan(plan, current_user, clock.now(), pending.file_name)
        db.session.commit()
    except IntegrityError:  # the same rows imported, or demand numbers taken, by someone meanwhile
        db.session.rollback()
        flash(_("Someone else imported demands while you were importing, so nothing was imported. "
                "Check the report again and confirm."), "danger")
        return redirect(url_for(".import_review", token=token))
    uploads.discard(token)
    if result.created:
        flash(_("Import finished. Demands created: %(created)d; rows already imported: "
                "%(skipped)d; rows refused: %(refused)d.", created=result.created,
                skipped=result.already_imported, refused=result.refused), "success")
    else:
        flash(_("Nothing was imported: no row of the file is new and valid (%(skipped)d already "
                "imported, %(refused)d refused).", skipped=result.already_imported,
                refused=result.refused), "info")
    return redirect(url_for(".index"))


@bp.route("/import/<token>/cancel", methods=["POST"])
@roles_required(Role.OFFICER)
def import_cancel(token: str) -> Response:
    if not ButtonForm().validate_on_submit():
        abort(400)
    uploads.discard(token)
    flash(_("The import was cancelled; nothing was changed."), "info")
    return redirect(url_for(".index"))
