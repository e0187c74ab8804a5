"""The forms of the companies area."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import StringField, SubmitField
from wtforms.validators import InputRequired, Length, Optional

from servicedesk.companies.operations import FIELD_LABELS
from servicedesk.forms import VersionedForm, strip_filter


def _text(field: str, max_length: int, required_message: str | None = None,
          **kwargs: object) -> StringField:
    validators = [InputRequired(message=required_message)] if required_message else [Optional()]
    validators.append(Length(max=max_length))
    return StringField(FIELD_LABELS[field], filters=[strip_filter], validators=validators,
                       render_kw={"maxlength": max_length}, **kwargs)


class CompanyDetailsForm(FlaskForm):
    """What can be changed about a company; the credit code is its key and stays."""

    name = _text("name", 200, _l("Enter the company's registered name."),
                 description=_l("The registered name, e.g. 江苏万邦生化医药集团有限责任公司."))
    short_name = _text("short_name", 60, description=_l("The name in common use, e.g. 万邦医药."))
    address = _text("address", 255)
    industry = _text("industry", 60)
    contact_person = _text("contact_person", 60)
    contact_phone = _text("contact_phone", 40)

    def values(self) -> dict[str, str | None]:
        return {name: getattr(self, name).data for name in
                ("name", "short_name", "address", "industry", "contact_person", "contact_phone")}


class CompanyForm(CompanyDetailsForm):
    # Checked by the operation, which says exactly what is wrong (length, character, check character).
    credit_code = StringField(
        _l("Unified social credit code"),
        filters=[strip_filter],
        validators=[InputRequired(message=_l("Enter the 18-character unified social credit code."))],
        description=_l("18 characters, digits and capital letters; the last one is a check character."),
        render_kw={"autocomplete": "off", "spellcheck": "false", "class": "credit-code"},
    )
    submit = SubmitField(_l("Register company"))


class CompanyEditForm(CompanyDetailsForm, VersionedForm):
    submit = SubmitField(_l("Save changes"))


class ImportUploadForm(FlaskForm):
    file = FileField(
        _l("Excel workbook (.xlsx)"),
        validators=[
            FileRequired(message=_l("Choose the Excel file to import.")),
            FileAllowed(["xlsx"], message=_l("Only Excel workbooks (.xlsx) can be imported.")),
        ],
        render_kw={"accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    )
    submit = SubmitField(_l("Check the file"))
