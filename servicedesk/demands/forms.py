"""The forms of the demand page: one per lifecycle action, each carrying the demand's version.

The lifecycle table decides who may take an action and which fields it needs: these forms only
read the input (dates, numbers, choices) and hand it to operations.take_action, which puts its
messages beside the fields named here after the table's own names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import (
    DateField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from servicedesk.admin.forms import CheckboxListField
from servicedesk.demands import operations
from servicedesk.domain.lifecycle import LEADER_CLOSE_REASONS, Action, CloseReason, Feedback, Outcome
from servicedesk.extensions import db
from servicedesk.forms import VersionedForm, strip_filter
from servicedesk.models import Demand, Department

#: what each action is called on its button, its form and in the timeline
ACTION_LABELS = {
    Action.DISPATCH: _l("Dispatch"),
    Action.SIGN: _l("Sign"),
    Action.RETURN: _l("Return"),
    Action.CO_OPINION: _l("Co-department opinion"),
    Action.PROGRESS: _l("Progress note"),
    Action.REQUEST_EXTENSION: _l("Request an extension"),
    Action.APPROVE_EXTENSION: _l("Approve the extension"),
    Action.REFUSE_EXTENSION: _l("Refuse the extension"),
    Action.ADD_MILESTONE: _l("Add a milestone"),
    Action.COMPLETE_MILESTONE: _l("Complete a milestone"),
    Action.RESPOND: _l("Respond"),
    Action.RECORD_FEEDBACK: _l("Record feedback"),
    Action.CLOSE: _l("Close"),
    Action.FLAG_KEY_SUPERVISION: _l("Flag for key supervision"),
    Action.COMMENT: _l("Comment"),
}

#: events that are no user's action
SYSTEM_EVENT_LABELS = {
    "logged": _l("Logged"),
    "deadline_recomputed": _l("Deadline counted again"),
    "remind": _l("Reminder (催办)"),
    "escalate": _l("Escalation (督办)"),
    "imported": _l("Imported from the old ledger"),
}

#: a line under each action's heading: what it does
ACTION_HINTS = {
    Action.DISPATCH: _l("Give the demand to a lead department; the sign and respond deadlines are "
                        "counted from today."),
    Action.SIGN: _l("Your department takes the demand on."),
    Action.RETURN: _l("Not your department's business: it goes back to the officers for another "
                      "dispatch."),
    Action.CO_OPINION: _l("Your department's contribution, visible to the lead department."),
    Action.REQUEST_EXTENSION: _l("A leader or the dispatching officer decides."),
    Action.RESPOND: _l("The department's formal answer to the company."),
    Action.RECORD_FEEDBACK: _l("Unsatisfied feedback reopens the demand with a new respond deadline."),
    Action.CLOSE: _l("Only for a withdrawn or duplicate demand; otherwise the company's feedback "
                     "closes it."),
}

#: shared with the visit and demand forms (operations), so that each is translated once
URGENCY_LABELS = operations.URGENCY_LABELS

OUTCOME_LABELS = {
    Outcome.SOLVED: _l("Solved"),
    Outcome.PARTLY_SOLVED: _l("Partly solved"),
    Outcome.EXPLAINED: _l("Explained: cannot be solved under current policy"),
    Outcome.PLANNED: _l("Planned: to be solved by a date"),
}

FEEDBACK_LABELS = {
    Feedback.SATISFIED: _l("Satisfied"),
    Feedback.BASICALLY_SATISFIED: _l("Basically satisfied"),
    Feedback.UNSATISFIED: _l("Unsatisfied"),
}

CLOSE_REASON_LABELS = {
    CloseReason.SATISFIED: _l("Satisfied"),
    CloseReason.BASICALLY_SATISFIED: _l("Basically satisfied"),
    CloseReason.WITHDRAWN: _l("Withdrawn"),
    CloseReason.DUPLICATE: _l("Duplicate"),
}

SOURCE_LABELS = operations.SOURCE_LABELS

#: each deadline a demand has, and those the chaser chases
STEP_LABELS = {
    "sign": _l("Sign by"),
    "respond": _l("Respond by"),
    "feedback": _l("Feedback by"),
    "extension": _l("Decide the extension by"),
    "milestone": _l("Milestone due"),
}

TEXT_MAX = 4000


def _text(label: Any, **kwargs: Any) -> TextAreaField:
    # Whether it is required is the lifecycle table's to say (operations.take_action names the field).
    return TextAreaField(label, filters=[strip_filter], validators=[Optional(), Length(max=TEXT_MAX)],
                         render_kw={"rows": 3, "maxlength": TEXT_MAX}, **kwargs)


def _day(label: Any, **kwargs: Any) -> DateField:
    return DateField(label, validators=[Optional()], **kwargs)


def _choices(labels: Mapping[Any, Any], allowed: frozenset[str] | None = None) -> list[SelectChoice]:
    return [SelectChoice(str(value), label) for value, label in labels.items()
            if allowed is None or str(value) in allowed]


def _int_or_zero(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class ActionForm(VersionedForm):
    """One lifecycle action: its fields are named as in the table, its ids are prefixed with the
    action so that the page can hold every form at once (return-reason, comment-text, ...)."""

    action: ClassVar[Action]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.submit = SubmitField(ACTION_LABELS[cls.action])  # the button says what the form does

    class Meta:
        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
            if "id" not in unbound_field.kwargs:
                options = {**options, "id": f"{form.action.value}-{options['name']}"}
            return super().bind_field(form, unbound_field, options)  # type: ignore[misc]

    @property
    def html_id(self) -> str:
        return f"action-{self.action.value}"

    def setup(self, demand: Demand) -> None:
        """Fill in choices that depend on the demand or the database."""

    def values(self) -> dict[str, Any]:
        return {name: field.data for name, field in self._fields.items()
                if name not in {"version", "csrf_token", "submit"}}


class DispatchForm(ActionForm):
    action = Action.DISPATCH
    lead_department_id = SelectField(_l("Lead department"), coerce=_int_or_zero, validate_choice=False)
    co_department_ids = CheckboxListField(_l("Co-departments"), coerce=int, validate_choice=False)
    urgency = RadioField(_l("Urgency"), choices=_choices(URGENCY_LABELS), validate_choice=False)
    note = _text(_l("Note for the department"))

    def setup(self, demand: Demand) -> None:
        departments = [SelectChoice(d.id, d.name) for d in db.session.scalars(
            select(Department).where(Department.active.is_(True)).order_by(Department.name))]
        self.lead_department_id.choices = [SelectChoice(0, _l("(choose)")), *departments]
        self.co_department_ids.choices = departments
        if self.urgency.data is None:
            self.urgency.data = demand.urgency

    def values(self) -> dict[str, Any]:
        return {"lead_department_id": self.lead_department_id.data or None,
                "co_department_ids": list(self.co_department_ids.data or ()),
                "urgency": self.urgency.data, "note": self.note.data}


class SignForm(ActionForm):
    action = Action.SIGN


class ReturnForm(ActionForm):
    action = Action.RETURN
    reason = _text(_l("Why it is not your department's business"))


class CoOpinionForm(ActionForm):
    action = Action.CO_OPINION
    text = _text(_l("Opinion"))


class ProgressForm(ActionForm):
    action = Action.PROGRESS
    text = _text(_l("Progress"))


class RequestExtensionForm(ActionForm):
    action = Action.REQUEST_EXTENSION
    reason = _text(_l("Why more time is needed"))
    new_due = _day(_l("New respond deadline"))


class ApproveExtensionForm(ActionForm):
    action = Action.APPROVE_EXTENSION
    reason = _text(_l("Reason"))


class RefuseExtensionForm(ActionForm):
    action = Action.REFUSE_EXTENSION
    reason = _text(_l("Reason"))


class AddMilestoneForm(ActionForm):
    action = Action.ADD_MILESTONE
    title = StringField(_l("Milestone"), filters=[strip_filter], validators=[Optional(), Length(max=200)],
                        render_kw={"maxlength": 200})
    due_on = _day(_l("Due on"))


class CompleteMilestoneForm(ActionForm):
    action = Action.COMPLETE_MILESTONE
    milestone_id = SelectField(_l("Milestone"), coerce=_int_or_zero, validate_choice=False)

    def setup(self, demand: Demand) -> None:
        self.milestone_id.choices = [SelectChoice(m.id, f"{m.title} ({m.due_on.isoformat()})")
                                     for m in demand.milestones if m.is_open]

    def values(self) -> dict[str, Any]:
        return {"milestone_id": self.milestone_id.data or None}


class RespondForm(ActionForm):
    action = Action.RESPOND
    outcome = RadioField(_l("Outcome"), choices=_choices(OUTCOME_LABELS), validate_choice=False)
    text = _text(_l("Response"), description=_l("The answer as given to the company."))
    planned_on = _day(_l("Planned for"), description=_l("For a planned solution: the day it will be "
                                                       "solved. Add its milestones first."))

    def values(self) -> dict[str, Any]:
        values = super().values()
        if values["outcome"] != Outcome.PLANNED:
            values["planned_on"] = None
        return values


class RecordFeedbackForm(ActionForm):
    action = Action.RECORD_FEEDBACK
    feedback = RadioField(_l("The company's verdict"), choices=_choices(FEEDBACK_LABELS),
                          validate_choice=False)
    text = _text(_l("Note"))


class CloseForm(ActionForm):
    action = Action.CLOSE
    close_reason = RadioField(_l("Close as"), choices=_choices(CLOSE_REASON_LABELS, LEADER_CLOSE_REASONS),
                              validate_choice=False)
    duplicate_of_id = StringField(_l("Duplicate of"), filters=[strip_filter],
                                  validators=[Optional(), Length(max=20)],
                                  description=_l("For a duplicate: the number of the demand it repeats, "
                                                 "e.g. 2026-0001."))
    reason = TextAreaField(_l("Reason"), filters=[strip_filter], render_kw={"rows": 2, "maxlength": TEXT_MAX},
                           validators=[InputRequired(message=_l("This field is required.")),
                                       Length(max=TEXT_MAX)])

    _duplicate_of: Demand | None = None

    def validate_duplicate_of_id(self, field: StringField) -> None:
        if field.data:
            self._duplicate_of = operations.demand_by_reference(field.data)
            if self._duplicate_of is None:
                raise ValidationError(_l("No demand has this number."))

    def values(self) -> dict[str, Any]:
        original = self._duplicate_of if self.close_reason.data == CloseReason.DUPLICATE else None
        return {"close_reason": self.close_reason.data, "reason": self.reason.data,
                "duplicate_of_id": original.id if original else None}


class FlagKeySupervisionForm(ActionForm):
    action = Action.FLAG_KEY_SUPERVISION
    reason = _text(_l("Why it needs key supervision"))


class CommentForm(ActionForm):
    action = Action.COMMENT
    text = _text(_l("Comment"))


FORMS: dict[Action, type[ActionForm]] = {form.action: form for form in (
    DispatchForm, SignForm, ReturnForm, CoOpinionForm, ProgressForm, RequestExtensionForm,
    ApproveExtensionForm, RefuseExtensionForm, AddMilestoneForm, CompleteMilestoneForm, RespondForm,
    RecordFeedbackForm, CloseForm, FlagKeySupervisionForm, CommentForm)}

assert set(FORMS) == set(Action), "every action of the lifecycle table needs its form"


def form_for(action: Action, demand: Demand, *, submitted: bool = False) -> ActionForm:
    """The action's form: as submitted, or empty carrying the demand's version."""
    form = FORMS[action]() if submitted else FORMS[action](formdata=None)
    if not submitted:
        form.version.data = demand.version
    form.setup(demand)
    return form


class AttachmentForm(FlaskForm):
    file = FileField(_l("File"), validators=[FileRequired(message=_l("Choose a file to attach."))])
    submit = SubmitField(_l("Attach"))
