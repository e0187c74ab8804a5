"""Schemas of the dashboard API: the scope asked for and every figure of the dashboard, each count with
its definition and the lists of the demands it counts."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields

from servicedesk.api.demand_schemas import CategoryRefSchema, CompanyRefSchema, DepartmentRefSchema
from servicedesk.api.schemas import ApiSchema
from servicedesk.dashboard.league import COLUMNS_BY_KEY
from servicedesk.dashboard.measures import PeriodKind


class DashboardArgsSchema(Schema):
    """Read as the page reads its query string: an unknown argument or a bad value is ignored (this
    month, every department), never refused."""

    class Meta:
        unknown = EXCLUDE
        ordered = True

    period = fields.String(metadata={
        "enum": [kind.value for kind in PeriodKind],
        "description": "this week, month (the default), quarter or year; `range` (or none) takes from/to"})
    first = fields.String(data_key="from", metadata={"format": "date", "description": "first day of a range"})
    last = fields.String(data_key="to", metadata={"format": "date",
                                                  "description": "last day of a range (at most three years)"})
    department = fields.String(metadata={"description": "a department id: its lead demands only"})
    category = fields.String(metadata={"description": "a category id"})
    sort = fields.String(metadata={"enum": list(COLUMNS_BY_KEY),
                                   "description": "the league table's order (most overdue first)"})
    order = fields.String(metadata={"enum": ["asc", "desc"]})


class NumberSchema(ApiSchema):
    value = fields.Integer()
    label = fields.String()
    definition = fields.String()
    list = fields.String(metadata={"description": "GET it (this API's demand list) for exactly the demands "
                                                  "counted: its total equals value"})
    page = fields.String(metadata={"description": "the same list on the desk's pages"})


class RateSchema(ApiSchema):
    value = fields.Float(allow_none=True, metadata={"description": "met / measured, a fraction; null when "
                                                                    "nothing was measured"})
    label = fields.String()
    definition = fields.String()
    met = fields.Nested(NumberSchema)
    measured = fields.Nested(NumberSchema)


class AverageSchema(ApiSchema):
    value = fields.Float(allow_none=True, metadata={"description": "working days; null without responses"})
    label = fields.String()
    definition = fields.String()
    over = fields.Nested(NumberSchema, metadata={"description": "the responses averaged"})


class FiguresSchema(ApiSchema):
    counts = fields.Dict(keys=fields.String(), values=fields.Nested(NumberSchema))
    rates = fields.Dict(keys=fields.String(), values=fields.Nested(RateSchema))
    average_days = fields.Nested(AverageSchema, allow_none=True)


class PeriodSchema(ApiSchema):
    kind = fields.String(metadata={"enum": [kind.value for kind in PeriodKind]})
    first = fields.Date()
    last = fields.Date()


class ScopeSchema(ApiSchema):
    period = fields.Nested(PeriodSchema)
    today = fields.Date(metadata={"description": "the day counted on (Beijing): open and overdue are now"})
    department = fields.Nested(DepartmentRefSchema, allow_none=True)
    category = fields.Nested(CategoryRefSchema, allow_none=True)


class LeagueRowSchema(ApiSchema):
    department = fields.Nested(DepartmentRefSchema)
    worst = fields.List(fields.String(), metadata={
        "description": "the columns in which this department holds the worst value, where another "
                       "does better"})
    figures = fields.Nested(FiguresSchema)


class CategoryRowSchema(ApiSchema):
    category = fields.Nested(CategoryRefSchema)
    figures = fields.Nested(FiguresSchema)


class CompanyRowSchema(ApiSchema):
    company = fields.Nested(CompanyRefSchema)
    figures = fields.Nested(FiguresSchema)


class AgeGroupSchema(ApiSchema):
    fewest = fields.Integer(metadata={"description": "working days since logged, at least"})
    most = fields.Integer(allow_none=True, metadata={"description": "at most; null: no upper bound"})
    open = fields.Nested(NumberSchema)


class WeekSchema(ApiSchema):
    week = fields.Date(metadata={"description": "its Monday"})
    dispatched = fields.Nested(NumberSchema)
    closed = fields.Nested(NumberSchema)


class ListedDemandSchema(ApiSchema):
    id = fields.Integer()
    number = fields.String()
    title = fields.String()
    company = fields.Nested(CompanyRefSchema)
    lead_department = fields.Nested(DepartmentRefSchema, allow_none=True)
    step = fields.String(allow_none=True, metadata={"description": "the step owed: sign, respond, feedback"})
    due = fields.Date(allow_none=True)
    escalation_level = fields.Integer(metadata={"description": "0 none, 1 department head, 2 leadership"})


class RedListItemSchema(ListedDemandSchema):
    days_overdue = fields.Integer(metadata={"description": "working days past the due day"})


class KeySupervisionItemSchema(ListedDemandSchema):
    reason = fields.String(allow_none=True)


class DashboardSchema(ApiSchema):
    scope = fields.Nested(ScopeSchema)
    headline = fields.Nested(FiguresSchema)
    league = fields.List(fields.Nested(LeagueRowSchema), metadata={
        "description": "each lead department; returns count against the department that returned"})
    categories = fields.List(fields.Nested(CategoryRowSchema))
    companies = fields.List(fields.Nested(CompanyRowSchema), metadata={
        "description": "the companies with most open demands"})
    ages = fields.List(fields.Nested(AgeGroupSchema))
    trend = fields.List(fields.Nested(WeekSchema), metadata={"description": "the last 12 weeks"})
    red_list = fields.List(fields.Nested(RedListItemSchema), metadata={"description": "the most overdue"})
    key_supervision = fields.List(fields.Nested(KeySupervisionItemSchema))
