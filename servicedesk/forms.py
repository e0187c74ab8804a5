"""Form pieces shared by every area."""

from __future__ import annotations

from typing import Any

from flask import flash
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import IntegerField, SubmitField
from wtforms.validators import InputRequired
from wtforms.widgets import HiddenInput

from servicedesk.extensions import db


class VersionedForm(FlaskForm):
    """Carries the version of the record being edited, so a stale edit is caught, not saved."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


class ButtonForm(FlaskForm):
    """The CSRF token only: the button's address says what it does (confirm, cancel, load)."""


class SpreadsheetUploadForm(FlaskForm):
    """A CSV file or an Excel workbook to check before importing it (spreadsheets, uploads)."""

    file = FileField(
        _l("CSV file or Excel workbook (.xlsx)"),
        validators=[
            FileRequired(message=_l("Choose the file to import.")),
            FileAllowed(["xlsx", "csv"], message=_l("Only CSV files and Excel workbooks (.xlsx) "
                                                    "can be imported.")),
        ],
        render_kw={"accept": ".csv,.xlsx,text/csv,"
                             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    )
    submit = SubmitField(_l("Check the file"))


def strip_filter(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def show_refusal(form: FlaskForm, field_errors: dict[str, str]) -> None:
    """Roll the attempt back and put each message beside its field (flashed if it has none)."""
    db.session.rollback()
    for name, message in field_errors.items():
        field = form._fields.get(name)
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            flash(message, "danger")
