"""Schemas of the visits and demands API: what a visit and a demand look like, what creates them,
the filters of the lists and the body of a lifecycle action."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import g
from flask_login import current_user
from marshmallow import fields, missing, validate

from servicedesk.api.schemas import ApiSchema, PageArgsSchema
from servicedesk.demands import operations, search
from servicedesk.domain.lifecycle import Action, Feedback, Outcome, State, allowed_actions
from servicedesk.domain.time_limits import Urgency

STATES = [state.value for state in State]
URGENCIES = [urgency.value for urgency in Urgency]
#: the sources of a demand logged on its own; demands raised at a visit take the visit's kind
OWN_SOURCES = operations.STANDALONE_SOURCES
STEPS = ("sign", "respond", "feedback")


# References to other records

class RefSchema(ApiSchema):
    id = fields.Integer()
    name = fields.String()


class CompanyRefSchema(RefSchema):
    pass


class DepartmentRefSchema(RefSchema):
    pass


class CategoryRefSchema(RefSchema):
    pass


class UserRefSchema(ApiSchema):
    id = fields.Integer()
    display_name = fields.String()


class WholeObject(fields.Nested):
    """A nested object made of some of the record's own columns (the contact, the deadlines)."""

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:
        return obj


# A demand

class ContactSchema(ApiSchema):
    name = fields.String(attribute="contact_name", allow_none=True)
    phone = fields.String(attribute="contact_phone", allow_none=True)


class DeadlineSchema(ApiSchema):
    start = fields.Date(data_key="from", attribute="counted_from",
                        metadata={"description": "the day counting started from (not counted)"})
    working_days = fields.Integer()
    due = fields.Date(metadata={"description": "ends at 23:59:59 Beijing time on that day"})
    provisional = fields.Boolean(metadata={
        "description": "counted into a year whose calendar is not loaded; it may move once it is"})
    extended = fields.Boolean(metadata={
        "description": "an approved extension set the due day, in place of the count"})


class StepDeadline(fields.Nested):
    """One step's deadline, or null when the demand has none for that step (yet, or any more)."""

    def __init__(self, step: str, **kwargs: Any) -> None:
        super().__init__(DeadlineSchema, allow_none=True, **kwargs)
        self.step = step

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:
        deadline = operations.deadline_of(obj, self.step)
        if deadline is None:
            return None
        return {**asdict(deadline), "extended": self.step == "respond" and obj.respond_extended}


class DeadlinesSchema(ApiSchema):
    sign = StepDeadline("sign")
    respond = StepDeadline("respond")
    feedback = StepDeadline("feedback")


def _card_of(demand: Any) -> str | None:
    """The yellow/red card of the deadline owed now, null when none is owed; the window is computed
    once per request, whatever the number of demands."""
    if demand.current_due is None:
        return None
    if "api_card_window" not in g:
        g.api_card_window = search.card_window()
    return g.api_card_window.card(demand.current_due).value


class DemandSchema(ApiSchema):
    id = fields.Integer()
    number = fields.String(metadata={"description": "e.g. 2026-0001, numbered per year"})
    state = fields.String(metadata={"enum": STATES})
    company = fields.Nested(CompanyRefSchema)
    visit_id = fields.Integer(allow_none=True)
    source = fields.String(metadata={"enum": list(operations.SOURCES)})
    category = fields.Nested(CategoryRefSchema)
    title = fields.String()
    description = fields.String()
    urgency = fields.String(metadata={"enum": URGENCIES})
    contact = WholeObject(ContactSchema, metadata={"description": "the company's contact for the demand"})
    lead_department = fields.Nested(DepartmentRefSchema, allow_none=True)
    co_departments = fields.List(fields.Nested(DepartmentRefSchema))
    dispatched_at = fields.DateTime(allow_none=True)
    dispatched_by = fields.Nested(UserRefSchema, allow_none=True)
    dispatch_note = fields.String(allow_none=True)
    deadlines = WholeObject(DeadlinesSchema, metadata={
        "description": "each step's deadline in working days; null when there is none"})
    current_due = fields.Date(allow_none=True, metadata={"description": "the deadline of the step owed now"})
    current_step = fields.String(allow_none=True, metadata={"enum": list(STEPS)})
    card = fields.Function(_card_of, metadata={
        "type": "string", "nullable": True, "enum": ["none", "yellow", "red", None],
        "description": "yellow: the current deadline is near; red: it has passed; null when no "
                       "deadline is owed (registered, closed)"})
    signed_at = fields.DateTime(allow_none=True)
    signed_late = fields.Boolean()
    responded_at = fields.DateTime(allow_none=True)
    outcome = fields.String(allow_none=True, metadata={"enum": [o.value for o in Outcome]})
    response_text = fields.String(allow_none=True)
    planned_on = fields.Date(allow_none=True)
    feedback = fields.String(allow_none=True, metadata={"enum": [f.value for f in Feedback]})
    feedback_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    close_reason = fields.String(allow_none=True)
    duplicate_of = fields.Function(
        lambda demand: demand.duplicate_of.number if demand.duplicate_of else None,
        metadata={"type": "string", "nullable": True, "description": "the number of the demand it repeats"})
    key_supervision = fields.Boolean()
    key_supervision_reason = fields.String(allow_none=True)
    returns_count = fields.Integer()
    reopen_count = fields.Integer()
    version = fields.Integer(metadata={
        "description": "send it with an action; a stale one is refused with 409"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class EventSchema(ApiSchema):
    at = fields.DateTime()
    actor = fields.Nested(UserRefSchema, allow_none=True, metadata={"description": "null for the system"})
    role = fields.String(attribute="actor_role", allow_none=True,
                         metadata={"description": "the role the actor acted in"})
    department = fields.Nested(DepartmentRefSchema, attribute="actor_department", allow_none=True)
    action = fields.String(metadata={
        "description": "a lifecycle action, or logged, deadline_recomputed, ..."})
    from_state = fields.String(allow_none=True)
    to_state = fields.String(allow_none=True)
    text = fields.String(allow_none=True, metadata={"description": "the reason or text given"})
    details = fields.Dict()


class MilestoneSchema(ApiSchema):
    id = fields.Integer()
    title = fields.String()
    due_on = fields.Date()
    completed_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class ExtensionSchema(ApiSchema):
    id = fields.Integer()
    requested_by = fields.Nested(UserRefSchema)
    requested_at = fields.DateTime()
    reason = fields.String()
    new_due = fields.Date()
    status = fields.String(metadata={"enum": ["pending", "approved", "refused"]})
    decided_by = fields.Nested(UserRefSchema, allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_reason = fields.String(allow_none=True)


def _allowed_actions(demand: Any) -> list[str]:
    facts = operations.facts_of(demand)
    return [action.value for action in allowed_actions(facts, operations.actor_of(current_user))]


class DemandDetailSchema(DemandSchema):
    events = fields.List(fields.Nested(EventSchema), metadata={"description": "the history, oldest first"})
    milestones = fields.List(fields.Nested(MilestoneSchema))
    extensions = fields.List(fields.Nested(ExtensionSchema))
    allowed_actions = fields.Function(_allowed_actions, metadata={
        "type": "array", "items": {"type": "string", "enum": [a.value for a in Action]},
        "description": "the actions the signed-in user may take now"})


# Creating demands

class ContactInputSchema(ApiSchema):
    name = fields.String(allow_none=True, validate=validate.Length(max=60))
    phone = fields.String(allow_none=True, validate=validate.Length(max=40))


class NewDemandFields(ApiSchema):
    company_id = fields.Integer(required=True)
    category_id = fields.Integer(required=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(required=True, validate=validate.Length(min=1))
    urgency = fields.String(required=True, validate=validate.OneOf(URGENCIES))
    contact = fields.Nested(ContactInputSchema, allow_none=True)
    duplicate_of_id = fields.Integer(allow_none=True, metadata={
        "description": "the open demand this one repeats, when it is logged as its duplicate"})


class DemandCreateSchema(NewDemandFields):
    source = fields.String(required=True, validate=validate.OneOf(OWN_SOURCES))


class VisitDemandSchema(NewDemandFields):
    """A demand raised at the visit: its source is the visit's kind."""


# Visits

class DemandSummarySchema(ApiSchema):
    id = fields.Integer()
    number = fields.String()
    title = fields.String()
    state = fields.String(metadata={"enum": STATES})
    company_id = fields.Integer()


class VisibleDemands(fields.List):
    """The visit's demands that the signed-in user may see."""

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:
        return [demand for demand in obj.demands if operations.may_see(current_user, demand)]


class VisitSchema(ApiSchema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": list(operations.VISIT_KINDS)})
    visited_on = fields.Date()
    place = fields.String()
    lead_official = fields.String()
    officials = fields.String(allow_none=True)
    company_attendees = fields.String(allow_none=True)
    minutes = fields.String(allow_none=True)
    companies = fields.List(fields.Nested(CompanyRefSchema))
    demands = VisibleDemands(fields.Nested(DemandSummarySchema),
                             metadata={"description": "the demands raised there that you may see"})
    created_by = fields.Nested(UserRefSchema)
    created_at = fields.DateTime()
    version = fields.Integer()


class VisitDetailSchema(VisitSchema):
    demands = VisibleDemands(fields.Nested(DemandSchema),
                             metadata={"description": "the demands raised there that you may see"})


class VisitCreateSchema(ApiSchema):
    kind = fields.String(required=True, validate=validate.OneOf(operations.VISIT_KINDS))
    visited_on = fields.Date(required=True)
    place = fields.String(required=True, validate=validate.Length(min=1, max=200))
    lead_official = fields.String(required=True, validate=validate.Length(min=1, max=100))
    officials = fields.String(allow_none=True)
    company_attendees = fields.String(allow_none=True)
    minutes = fields.String(allow_none=True)
    company_ids = fields.List(fields.Integer(), required=True,
                              metadata={"description": "the companies visited, one or more"})
    demands = fields.List(fields.Nested(VisitDemandSchema), load_default=list,
                          metadata={"description": "the demands raised there, saved with the visit or "
                                                   "not at all"})


class VisitArgsSchema(PageArgsSchema):
    company_id = fields.Integer(metadata={"description": "visits to this company"})
    kind = fields.String(validate=validate.OneOf(operations.VISIT_KINDS))
    visited_from = fields.Date()
    visited_to = fields.Date()


class DemandListArgsSchema(PageArgsSchema):
    """The filters of the demands pages, by the same names; a bad value is refused, not ignored."""

    q = fields.String(validate=validate.Length(max=search.MAX_QUERY_LENGTH), metadata={
        "description": "words (Chinese substrings too) each found in the title, description or "
                       "company name"})
    state = fields.List(fields.String(validate=validate.OneOf(STATES)),
                        metadata={"description": "any of these states; repeat the argument"})
    department = fields.Integer(metadata={"description": "a department id, as lead or co (department_role)"})
    department_role = fields.String(validate=validate.OneOf([r.value for r in search.DepartmentRole]))
    category = fields.Integer(metadata={"description": "a category id"})
    company = fields.Integer(metadata={"description": "a company id"})
    company_name = fields.String(validate=validate.Length(max=search.MAX_QUERY_LENGTH), metadata={
        "description": "part of the company's name or short name, or its whole credit code"})
    source = fields.String(validate=validate.OneOf(operations.SOURCES))
    urgency = fields.String(validate=validate.OneOf(URGENCIES))
    overdue = fields.Boolean(metadata={"description": "red card: the current deadline has passed"})
    due_soon = fields.Boolean(metadata={"description": "yellow card: the current deadline is near"})
    key_supervision = fields.Boolean()
    pending_extension = fields.Boolean(metadata={"description": "an extension request awaits a decision"})
    returned = fields.Boolean(metadata={"description": "returned by a department at least once"})
    logged_from = fields.Date()
    logged_to = fields.Date()
    dispatched_from = fields.Date()
    dispatched_to = fields.Date()
    sort = fields.String(validate=validate.OneOf([s.value for s in search.Sort]),
                         metadata={"description": "newest (the default), oldest, due or number"})
    # What the dashboard's numbers count (GET /dashboard gives each number's list with these)
    closed_from = fields.Date()
    closed_to = fields.Date()
    close_reason = fields.List(fields.String(validate=validate.OneOf(search.CLOSE_REASON_VALUES)),
                               metadata={"description": "closed as any of these; repeat the argument"})
    responded_from = fields.Date(metadata={"description": "the last response given on or after this day"})
    responded_to = fields.Date()
    response = fields.String(validate=validate.OneOf([search.Timeliness.ON_TIME, search.Timeliness.LATE]),
                             metadata={"description": "the last response by its deadline in force, or late"})
    outcome = fields.List(fields.String(validate=validate.OneOf(search.OUTCOME_VALUES)),
                          metadata={"description": "the last response's outcome, any of these"})
    feedback_from = fields.Date(metadata={"description": "the last feedback recorded on or after this day"})
    feedback_to = fields.Date()
    feedback = fields.List(fields.String(validate=validate.OneOf(search.FEEDBACK_VALUES)),
                           metadata={"description": "the last feedback, any of these"})
    owed_by = fields.String(validate=validate.OneOf([o.value for o in search.OwedBy]),
                            metadata={"description": "who owes the current step: the department (sign, "
                                                     "respond) or the officer (feedback)"})
    sign = fields.String(validate=validate.OneOf([t.value for t in search.Timeliness]),
                         metadata={"description": "signed by the sign deadline (on_time), after it or not "
                                                  "at all once it passed (late), either (measured)"})
    returned_by = fields.Integer(metadata={"description": "returned by this department (a department id)"})
    returned_from = fields.Date()
    returned_to = fields.Date()
    reopened_from = fields.Date(metadata={
        "description": "reopened by unsatisfied feedback on or after this day"})
    reopened_to = fields.Date()


#: the day arguments of the measures, each a DemandFilters field of the same name
MEASURE_DAYS = ("closed_from", "closed_to", "responded_from", "responded_to", "feedback_from",
                "feedback_to", "returned_from", "returned_to", "reopened_from", "reopened_to")


def _measures_of(args: dict[str, Any]) -> dict[str, Any]:
    """The measure arguments as DemandFilters fields."""
    chosen = {name: args.get(name) for name in MEASURE_DAYS}
    for name, field_name, allowed in (("close_reason", "close_reasons", search.CLOSE_REASON_VALUES),
                                      ("outcome", "outcomes", search.OUTCOME_VALUES),
                                      ("feedback", "feedbacks", search.FEEDBACK_VALUES)):
        given = set(args.get(name) or ())
        chosen[field_name] = tuple(value for value in allowed if value in given)
    for name, kind in (("owed_by", search.OwedBy), ("sign", search.Timeliness),
                       ("response", search.Timeliness)):
        chosen[name] = kind(args[name]) if args.get(name) else None
    chosen["returned_by"] = args.get("returned_by")
    return chosen


def filters_of(args: dict[str, Any]) -> search.DemandFilters:
    """The validated arguments as the filters the pages use."""
    states = set(args.get("state") or ())
    return search.DemandFilters(
        q=" ".join((args.get("q") or "").split()),
        states=tuple(state for state in STATES if state in states),
        department_id=args.get("department"),
        department_role=search.DepartmentRole(args.get("department_role", "any")),
        category_id=args.get("category"), company_id=args.get("company"),
        company_name=" ".join((args.get("company_name") or "").split()),
        source=args.get("source"), urgency=args.get("urgency"),
        overdue=args.get("overdue", False), due_soon=args.get("due_soon", False),
        key_supervision=args.get("key_supervision", False),
        pending_extension=args.get("pending_extension", False), returned=args.get("returned", False),
        logged_from=args.get("logged_from"), logged_to=args.get("logged_to"),
        dispatched_from=args.get("dispatched_from"), dispatched_to=args.get("dispatched_to"),
        sort=search.Sort(args.get("sort", "newest")),
        **_measures_of(args),
    )


class SimilarArgsSchema(ApiSchema):
    company_id = fields.Integer(required=True)
    category_id = fields.Integer(required=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))


# Actions

def _action_field(field: fields.Field, *actions: Action, description: str = "") -> fields.Field:
    names = ", ".join(action.value for action in actions)
    field.metadata = {**field.metadata, "description": f"{description} ({names})".lstrip()}
    return field


class ActionSchema(ApiSchema):
    """The action's fields (each action takes only its own) and the version of the demand you read."""

    version = fields.Integer(required=True, metadata={
        "description": "the demand's version you read; refused with 409 when it changed since"})
    lead_department_id = _action_field(fields.Integer(allow_none=True), Action.DISPATCH)
    co_department_ids = _action_field(fields.List(fields.Integer(), allow_none=True), Action.DISPATCH)
    urgency = _action_field(fields.String(allow_none=True), Action.DISPATCH,
                            description="urgent, normal or complex")
    note = _action_field(fields.String(allow_none=True), Action.DISPATCH)
    reason = _action_field(fields.String(allow_none=True), Action.RETURN, Action.REQUEST_EXTENSION,
                           Action.APPROVE_EXTENSION, Action.REFUSE_EXTENSION,
                           Action.FLAG_KEY_SUPERVISION)
    text = _action_field(fields.String(allow_none=True), Action.CO_OPINION, Action.PROGRESS,
                         Action.RESPOND, Action.COMMENT)
    new_due = _action_field(fields.Date(allow_none=True), Action.REQUEST_EXTENSION,
                            description="the respond deadline asked for")
    title = _action_field(fields.String(allow_none=True, validate=validate.Length(max=200)),
                          Action.ADD_MILESTONE)
    due_on = _action_field(fields.Date(allow_none=True), Action.ADD_MILESTONE)
    milestone_id = _action_field(fields.Integer(allow_none=True), Action.COMPLETE_MILESTONE)
    outcome = _action_field(fields.String(allow_none=True), Action.RESPOND,
                            description="solved, partly_solved, explained or planned")
    planned_on = _action_field(fields.Date(allow_none=True), Action.RESPOND,
                               description="when planned: the day it will be solved")
    feedback = _action_field(fields.String(allow_none=True), Action.RECORD_FEEDBACK,
                             description="satisfied, basically_satisfied or unsatisfied")
    close_reason = _action_field(fields.String(allow_none=True), Action.CLOSE,
                                 description="withdrawn or duplicate")
    duplicate_of_id = _action_field(fields.Integer(allow_none=True), Action.CLOSE,
                                    description="when duplicate: the demand it repeats")
