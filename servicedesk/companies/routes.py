"""The companies area: the registry, its search, the company page, the forms and the Excel import."""

from __future__ import annotations

import io

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug import Response

from servicedesk import audit, uploads
from servicedesk.companies import bp, importer, operations
from servicedesk.companies.access import COMPANY_EDITORS
from servicedesk.companies.forms import CompanyEditForm, CompanyForm, ImportUploadForm
from servicedesk.extensions import db
from servicedesk.forms import ButtonForm, show_refusal
from servicedesk.i18n import is_chinese
from servicedesk.models import Company
from servicedesk.pagination import paginate
from servicedesk.security import roles_required, signed_in

PER_PAGE = 25
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/")
@signed_in
def index() -> str:
    query = request.args.get("q", "").strip()[:100]
    page = paginate(operations.search(query), request.args.get("page", 1, type=int), PER_PAGE)
    return render_template("companies/index.html", page=page, query=query)


@bp.route("/<int:company_id>")
@signed_in
def view(company_id: int) -> str:
    company = db.get_or_404(Company, company_id)
    return render_template("companies/view.html", company=company,
                           events=operations.history(company),
                           field_labels=operations.FIELD_LABELS)


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*COMPANY_EDITORS)
def create() -> str | Response:
    form = CompanyForm()
    if form.validate_on_submit():
        try:
            company = operations.register_company(form.credit_code.data, form.values())
        except operations.CompanyRefused as refused:
            show_refusal(form, refused.field_errors)
        else:
            db.session.commit()
            flash(_("%(name)s has been registered.", name=company.name), "success")
            return redirect(url_for(".view", company_id=company.id))
    return render_template("companies/form.html", form=form, company=None)


@bp.route("/<int:company_id>/edit", methods=["GET", "POST"])
@roles_required(*COMPANY_EDITORS)
def edit(company_id: int) -> str | Response:
    company = db.get_or_404(Company, company_id)
    form = CompanyEditForm(obj=company)
    if form.validate_on_submit():
        try:
            changed = operations.update_company(company, form.values(), form.version.data)
        except audit.StaleEdit:
            db.session.rollback()
            flash(_("Someone else changed this company while you were editing it, so your changes "
                    "were not saved. Here is the current record: make your changes again."),
                  "danger")
            return redirect(url_for(".edit", company_id=company_id))
        except operations.CompanyRefused as refused:
            show_refusal(form, refused.field_errors)
        else:
            db.session.commit()
            if changed:
                flash(_("The changes to %(name)s have been saved.", name=company.name), "success")
            else:
                flash(_("Nothing was changed."), "info")
            return redirect(url_for(".view", company_id=company.id))
    return render_template("companies/form.html", form=form, company=company)


@bp.route("/import", methods=["GET", "POST"])
@roles_required(*COMPANY_EDITORS)
def import_upload() -> str | Response:
    form = ImportUploadForm()
    if form.validate_on_submit():
        token = uploads.accept(form.file, importer.read_workbook)
        if token is not None:
            return redirect(url_for(".import_review", token=token))
    return render_template("companies/import.html", form=form,
                           headers=importer.HEADER_SYNONYMS, field_labels=operations.FIELD_LABELS)


@bp.route("/import/template.xlsx")
@roles_required(*COMPANY_EDITORS)
def import_template() -> Response:
    chinese = is_chinese()
    return send_file(
        io.BytesIO(importer.template_workbook(chinese)),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name="企业导入模板.xlsx" if chinese else "company-import-template.xlsx",
        max_age=0,
    )


def _pending(token: str) -> uploads.PendingImport | Response:
    return uploads.pending_or_redirect(token, ".import_upload")


@bp.route("/import/<token>")
@roles_required(*COMPANY_EDITORS)
def import_review(token: str) -> str | Response:
    pending = _pending(token)
    if isinstance(pending, Response):
        return pending
    try:
        plan = operations.prepare_import(pending.data)
    except importer.ImportFileError as error:  # read once on upload; only a damaged file
        uploads.discard(token)
        flash(str(error), "danger")
        return redirect(url_for(".import_upload"))
    return render_template("companies/import_review.html", plan=plan, pending=pending,
                           confirm_form=ButtonForm(), cancel_form=ButtonForm(),
                           field_labels=operations.FIELD_LABELS)


@bp.route("/import/<token>/confirm", methods=["POST"])
@roles_required(*COMPANY_EDITORS)
def import_confirm(token: str) -> Response:
    if not ButtonForm().validate_on_submit():
        abort(400)
    pending = _pending(token)
    if isinstance(pending, Response):
        return pending
    try:
        result = operations.import_workbook(pending.data, pending.file_name)
        db.session.commit()
    except importer.ImportFileError as error:
        db.session.rollback()
        uploads.discard(token)
        flash(str(error), "danger")
        return redirect(url_for(".import_upload"))
    except (IntegrityError, StaleDataError):  # another user saved one of these companies meanwhile
        db.session.rollback()
        flash(_("Someone else registered or changed some of these companies while you were "
                "importing, so nothing was imported. Check the report again and confirm."), "danger")
        return redirect(url_for(".import_review", token=token))
    uploads.discard(token)
    if result.added or result.updated:
        flash(_("Import finished. Companies added: %(added)d; updated: %(updated)d; already up to "
                "date: %(unchanged)d. Rows refused: %(refused)d.", added=result.added,
                updated=result.updated, unchanged=result.unchanged, refused=result.refused),
              "success")
    else:
        flash(_("Nothing was imported: every company in the file is already registered with these "
                "details (%(refused)d rows refused).", refused=result.refused), "info")
    return redirect(url_for(".index"))


@bp.route("/import/<token>/cancel", methods=["POST"])
@roles_required(*COMPANY_EDITORS)
def import_cancel(token: str) -> Response:
    if not ButtonForm().validate_on_submit():
        abort(400)
    uploads.discard(token)
    flash(_("The import was cancelled; nothing was changed."), "info")
    return redirect(url_for(".index"))
