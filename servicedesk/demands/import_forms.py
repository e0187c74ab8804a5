"""The forms of the ledger import besides the upload (forms.SpreadsheetUploadForm): the column
mapping and the confirmation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, SubmitField
from wtforms.validators import InputRequired

from servicedesk.demands import ledger_import
from servicedesk.spreadsheets import HeaderRow


def _column(name: str) -> SelectField:
    return SelectField(ledger_import.FIELD_LABELS[name], choices=[], validate_choice=True)


class ColumnMappingForm(FlaskForm):
    """For each field of the desk, the column of the file that holds it ('' for none)."""

    company_name = _column("company_name")
    credit_code = _column("credit_code")
    raised_on = _column("raised_on")
    source = _column("source")
    category = _column("category")
    title = _column("title")
    description = _column("description")
    lead_department = _column("lead_department")
    co_departments = _column("co_departments")
    state = _column("state")
    response = _column("response")
    feedback = _column("feedback")
    submit = SubmitField(_l("Use these columns"))

    def __init__(self, header: HeaderRow, initial: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(data=dict(initial), **kwargs)
        self.header = header
        headers = ledger_import.header_choices(header)
        for name in ledger_import.FIELDS:
            self[name].choices = [("", _("(not in the file)")), *((text, text) for text in headers)]

    def fields(self) -> list[Any]:
        return [self[name] for name in ledger_import.FIELDS]

    def columns(self) -> dict[str, str]:
        return {name: self[name].data for name in ledger_import.FIELDS if self[name].data}

    def validate(self, extra_validators: Mapping[str, Any] | None = None) -> bool:
        if not super().validate(extra_validators):
            return False
        problems = ledger_import.column_problems(self.columns(), self.header)
        for name, message in problems.items():
            self[name].errors = [*self[name].errors, message]
        return not problems


class ConfirmImportForm(FlaskForm):
    """The digest of the report the officer saw: confirmed only while a fresh check agrees."""

    digest = HiddenField(validators=[InputRequired()])
