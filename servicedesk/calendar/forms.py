"""The forms of the calendar area."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import InputRequired, NumberRange, Optional, ValidationError

from servicedesk.calendar.limits import LABELS
from servicedesk.calendar.store import NAME_MAX_LENGTH
from servicedesk.domain.time_limits import MAX_WORKING_DAYS, PER_CATEGORY, Limit, allowed_range
from servicedesk.domain.workdays import FIRST_YEAR, LAST_YEAR
from servicedesk.forms import SpreadsheetUploadForm, VersionedForm, strip_filter

USUAL = "usual"


class MarkDaysForm(FlaskForm):
    first = DateField(_l("From"), validators=[InputRequired(message=_l("Choose the first day."))])
    last = DateField(_l("To"), validators=[Optional()],
                     description=_l("Leave empty to mark one day."))
    kind = SelectField(_l("Mark as"))
    name = StringField(_l("Holiday"), filters=[strip_filter],
                       render_kw={"maxlength": NAME_MAX_LENGTH, "list": "holiday-names"},
                       description=_l("元旦, 春节, 清明节, 劳动节, 端午节, 中秋节, 国庆节, or the "
                                      "reason for a local closure."))
    submit = SubmitField(_l("Mark the days"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = [
            ("holiday", _l("Holiday: weekdays in the range are off")),
            ("workday", _l("Make-up working day (调休上班): weekend days in the range are worked")),
            (USUAL, _l("As usual: remove what was entered")),
        ]


class CalendarUploadForm(SpreadsheetUploadForm):
    """The holiday arrangement, as a CSV file or an Excel workbook."""


class ConfirmYearForm(VersionedForm):
    submit = SubmitField(_l("Confirm the year"))


def within_supported_years(form: FlaskForm, field: Any) -> None:
    if field.data is not None and not FIRST_YEAR <= field.data.year <= LAST_YEAR:
        raise ValidationError(_l("Choose a day from %(first)d to %(last)d.", first=FIRST_YEAR,
                                 last=LAST_YEAR))


class DeadlineForm(FlaskForm):
    """The deadline calculator: a GET form anyone can bookmark."""

    class Meta:
        csrf = False

    start = DateField(_l("Counted from"), validators=[InputRequired(), within_supported_years])
    days = IntegerField(_l("Working days"), validators=[
        InputRequired(), NumberRange(min=0, max=MAX_WORKING_DAYS)])


def _limit_field(limit: Limit, required: bool) -> IntegerField:
    low, high = allowed_range(limit)
    validators: list[Any] = [InputRequired(message=_l("Enter a number of working days."))] \
        if required else [Optional()]
    validators.append(NumberRange(min=low, max=high))
    return IntegerField(LABELS[limit], validators=validators,
                        render_kw={"min": low, "max": high, "inputmode": "numeric"})


def _limits_form(name: str, limits: tuple[Limit, ...], required: bool, submit: str) -> type[FlaskForm]:
    """A form with one number field per limit, named by the limit, and the limits as seen."""
    fields = {limit.value: _limit_field(limit, required) for limit in limits}
    return type(name, (FlaskForm,), {"seen": HiddenField(), **fields, "submit": SubmitField(submit)})


DefaultLimitsForm = _limits_form("DefaultLimitsForm", tuple(Limit), True, _l("Save the time limits"))
#: empty fields: the default applies
CategoryLimitsForm = _limits_form("CategoryLimitsForm", PER_CATEGORY, False, _l("Save the category's limits"))


def limit_values(form: FlaskForm, limits: tuple[Limit, ...]) -> dict[Limit, int | None]:
    return {limit: getattr(form, limit.value).data for limit in limits}
