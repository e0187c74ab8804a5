from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import abort
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from servicedesk.api import bp, page_args
from servicedesk.api.schemas import (
    AddWorkingDaysArgsSchema,
    AddWorkingDaysSchema,
    CalendarYearSchema,
    CategorySchema,
    CompanySchema,
    CompanySearchArgsSchema,
    CompanyUpdateSchema,
    DepartmentSchema,
    MeSchema,
    PageArgsSchema,
    TimeLimitsSchema,
    page_of,
)
from servicedesk.audit import StaleEdit
from servicedesk.calendar import limits, store
from servicedesk.companies import operations as companies
from servicedesk.companies.access import COMPANY_EDITORS
from servicedesk.domain.workdays import FIRST_YEAR, LAST_YEAR, Explanation
from servicedesk.extensions import db
from servicedesk.models import Category, Company, Department, Role, User
from servicedesk.pagination import paginate
from servicedesk.security import roles_required, signed_in


def _page(statement: Any, args: dict[str, Any]) -> dict[str, Any]:
    page = paginate(statement, *page_args(args))
    return {"items": page.items, "total": page.total}


@bp.route("/me")
class Me(MethodView):
    @signed_in
    @bp.response(200, MeSchema)
    def get(self) -> User:
        """The user the token belongs to, with roles and department"""
        return current_user._get_current_object()


@bp.route("/companies")
class Companies(MethodView):
    @signed_in
    @bp.arguments(CompanySearchArgsSchema, location="query")
    @bp.response(200, page_of(CompanySchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Companies, by name; `q` finds part of the name, short name or credit code"""
        return _page(companies.search(args["q"]), args)

    @roles_required(*COMPANY_EDITORS)
    @bp.arguments(CompanySchema)
    @bp.response(201, CompanySchema)
    def post(self, data: dict[str, Any]) -> Company:
        """Register a company; the credit code's check character is verified"""
        try:
            company = companies.register_company(data.pop("credit_code"), data)
        except companies.CompanyRefused as refused:
            abort(422, fields=refused.field_errors)
        db.session.commit()
        return company


@bp.route("/companies/<int:company_id>")
class CompanyById(MethodView):
    @signed_in
    @bp.response(200, CompanySchema)
    def get(self, company_id: int) -> Company:
        """One company"""
        return db.get_or_404(Company, company_id)

    @roles_required(*COMPANY_EDITORS)
    @bp.arguments(CompanyUpdateSchema)
    @bp.response(200, CompanySchema)
    def patch(self, data: dict[str, Any], company_id: int) -> Company:
        """Change some of a company's details; send the version you read"""
        company = db.get_or_404(Company, company_id)
        try:
            companies.update_company(company, data, data.pop("version"))
        except StaleEdit:
            abort(409)
        except companies.CompanyRefused as refused:
            abort(422, fields=refused.field_errors)
        db.session.commit()
        return company


@bp.route("/departments")
class Departments(MethodView):
    @signed_in
    @bp.arguments(PageArgsSchema, location="query")
    @bp.response(200, page_of(DepartmentSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The zone's departments, active ones first"""
        statement = (select(Department).options(selectinload(Department.members))
                     .order_by(Department.active.desc(), Department.id))
        return _page(statement, args)


@bp.route("/categories")
class Categories(MethodView):
    @signed_in
    @bp.arguments(PageArgsSchema, location="query")
    @bp.response(200, page_of(CategorySchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Categories of demands, in pick-list order"""
        statement = select(Category).order_by(Category.active.desc(), Category.position,
                                              Category.id)
        return _page(statement, args)


@bp.route("/calendar/<int:year>")
class CalendarYearView(MethodView):
    @signed_in
    @bp.response(200, CalendarYearSchema)
    def get(self, year: int) -> dict[str, Any]:
        """A year of the working-day calendar: the days that differ from Monday to Friday"""
        if not FIRST_YEAR <= year <= LAST_YEAR:
            abort(404)
        record = store.year_record(year)
        loaded = bool(record and record.loaded)
        return {
            "year": year, "loaded": loaded, "loaded_at": record.loaded_at if record else None,
            "source": record.source if loaded and record else None,
            "source_detail": record.source_detail if loaded and record else None,
            "days": store.days_of(year),
        }


@bp.route("/calendar/add-working-days")
class AddWorkingDays(MethodView):
    @signed_in
    @bp.arguments(AddWorkingDaysArgsSchema, location="query")
    @bp.response(200, AddWorkingDaysSchema)
    def get(self, args: dict[str, Any]) -> Explanation:
        """The N-th working day after a day, and why: the days skipped and the make-up days counted.

        Provisional when it reaches into a year whose calendar is not loaded."""
        return store.working_calendar().explain(args["start"], args["days"])


@bp.route("/time-limits")
class TimeLimits(MethodView):
    @signed_in
    @bp.response(200, TimeLimitsSchema)
    def get(self) -> dict[str, Any]:
        """The time limits in working days: the defaults and the categories' own"""
        return limits.as_document()

    @roles_required(Role.ADMIN)
    @bp.arguments(TimeLimitsSchema)
    @bp.response(200, TimeLimitsSchema)
    def put(self, data: dict[str, Any]) -> dict[str, Any]:
        """Set the time limits (admins); they apply to deadlines set from now on"""
        try:
            limits.replace_all(data["defaults"], data.get("categories"))
        except limits.LimitsRefused as refused:
            abort(422, fields=refused.field_errors)
        db.session.commit()
        return limits.as_document()
