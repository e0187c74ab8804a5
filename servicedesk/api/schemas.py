from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app
from flask_babel import get_locale
from marshmallow import RAISE, Schema, fields, validate

from servicedesk.domain.time_limits import PER_CATEGORY, Limit
from servicedesk.domain.workdays import FIRST_YEAR, LAST_YEAR


class ApiSchema(Schema):
    class Meta:
        unknown = RAISE
        ordered = True


class PageArgsSchema(ApiSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class CompanySearchArgsSchema(PageArgsSchema):
    q = fields.String(load_default="", metadata={"description": "part of the name or credit code"})


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """{"items": [...], "total": N}: the shape of every list the API answers."""
    return type(
        f"{item_schema.__name__.removesuffix('Schema')}PageSchema",
        (ApiSchema,),
        {"items": fields.List(fields.Nested(item_schema)), "total": fields.Integer()},
    )


class CompanySchema(ApiSchema):
    id = fields.Integer(dump_only=True)
    credit_code = fields.String(required=True, metadata={"description": "统一社会信用代码, 18 characters"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    short_name = fields.String(allow_none=True, validate=validate.Length(max=60))
    address = fields.String(allow_none=True, validate=validate.Length(max=255))
    industry = fields.String(allow_none=True, validate=validate.Length(max=60))
    contact_person = fields.String(allow_none=True, validate=validate.Length(max=60))
    contact_phone = fields.String(allow_none=True, validate=validate.Length(max=40))
    version = fields.Integer(dump_only=True, metadata={
        "description": "send it back with an update; a stale one is refused with 409"})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class CompanyUpdateSchema(ApiSchema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    short_name = fields.String(allow_none=True, validate=validate.Length(max=60))
    address = fields.String(allow_none=True, validate=validate.Length(max=255))
    industry = fields.String(allow_none=True, validate=validate.Length(max=60))
    contact_person = fields.String(allow_none=True, validate=validate.Length(max=60))
    contact_phone = fields.String(allow_none=True, validate=validate.Length(max=40))
    version = fields.Integer(required=True, metadata={
        "description": "the version you read; refused with 409 when the company changed since"})


class DepartmentSchema(ApiSchema):
    id = fields.Integer()
    name = fields.String()
    short_name = fields.String()
    active = fields.Boolean()
    head = fields.Method("head_of", allow_none=True)

    def head_of(self, department: Any) -> dict[str, Any] | None:
        head = department.head
        return {"id": head.id, "display_name": head.display_name} if head else None


class CategorySchema(ApiSchema):
    id = fields.Integer()
    name = fields.String(metadata={"description": "Chinese name"})
    name_en = fields.String()
    label = fields.Method("label_of", metadata={"description": "name in the language asked for"})
    active = fields.Boolean()

    def label_of(self, category: Any) -> str:
        return category.label(str(get_locale()))


class MeSchema(ApiSchema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    email = fields.String(allow_none=True)
    roles = fields.Method("role_names")
    department = fields.Method("department_of", allow_none=True)
    is_department_head = fields.Boolean()
    locale = fields.String(allow_none=True)

    def role_names(self, user: Any) -> list[str]:
        return sorted(role.value for role in user.roles)

    def department_of(self, user: Any) -> dict[str, Any] | None:
        if user.department is None:
            return None
        return {"id": user.department.id, "name": user.department.name}


def max_page_size() -> int:
    return current_app.config["API_PAGE_SIZE_MAX"]


# The working-day calendar and the time limits

class CalendarDaySchema(ApiSchema):
    date = fields.Date(attribute="day")
    kind = fields.String(metadata={
        "description": "holiday (a weekday off) or workday (a weekend day worked)"})
    name = fields.String(metadata={"description": "the holiday, e.g. 春节, or a local closure"})


class CalendarYearSchema(ApiSchema):
    year = fields.Integer()
    loaded = fields.Boolean(metadata={"description": "only a loaded year's days count; deadlines reaching "
                                                     "into a year not loaded are provisional"})
    loaded_at = fields.DateTime(allow_none=True)
    source = fields.String(allow_none=True, metadata={"description": "package, import or manual"})
    source_detail = fields.String(allow_none=True)
    days = fields.List(fields.Nested(CalendarDaySchema),
                       metadata={"description": "the days that differ from Monday to Friday"})


class AddWorkingDaysArgsSchema(ApiSchema):
    start = fields.Date(required=True, data_key="from", validate=validate.Range(
        min=date(FIRST_YEAR, 1, 1), max=date(LAST_YEAR, 12, 31)),
        metadata={"description": "YYYY-MM-DD, not counted"})
    days = fields.Integer(required=True, validate=validate.Range(min=0, max=250))


class SkippedDaySchema(ApiSchema):
    date = fields.Date(attribute="day")
    reason = fields.String(metadata={"description": "weekend or holiday"})
    name = fields.String(metadata={"description": "the holiday's name"})


class MadeUpDaySchema(ApiSchema):
    date = fields.Date(attribute="day")
    name = fields.String()


class AddWorkingDaysSchema(ApiSchema):
    start = fields.Date(data_key="from", attribute="deadline.counted_from")
    days = fields.Integer(attribute="deadline.working_days")
    due = fields.Date(attribute="deadline.due")
    ends_at = fields.DateTime(attribute="deadline.ends_at",
                              metadata={"description": "23:59:59 Beijing time on the due day"})
    provisional = fields.Boolean(attribute="deadline.provisional")
    skipped = fields.List(fields.Nested(SkippedDaySchema))
    made_up = fields.List(fields.Nested(MadeUpDaySchema),
                          metadata={"description": "make-up working days that counted"})
    unloaded_years = fields.List(fields.Integer())


def _limit_map(keys: Any, required: bool) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=validate.OneOf([limit.value for limit in keys])),
        values=fields.Integer(allow_none=not required),
        required=required,
    )


class CategoryLimitsSchema(ApiSchema):
    category_id = fields.Integer(required=True)
    limits = _limit_map(PER_CATEGORY, required=True)


class TimeLimitsSchema(ApiSchema):
    defaults = _limit_map(Limit, required=True)
    categories = fields.List(fields.Nested(CategoryLimitsSchema), metadata={
        "description": "the categories with limits of their own; on PUT, when given, categories "
                       "left out have none afterwards (leave the key out to keep them as they are)"})
