"""The visits and demands API: the same operations, rules and 404s as the pages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import abort
from sqlalchemy import Select, false, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from servicedesk import audit, clock
from servicedesk.api import bp, page_args
from servicedesk.api.demand_schemas import (
    ActionSchema,
    DemandCreateSchema,
    DemandDetailSchema,
    DemandListArgsSchema,
    DemandSchema,
    SimilarArgsSchema,
    VisitArgsSchema,
    VisitCreateSchema,
    VisitDetailSchema,
    VisitSchema,
    filters_of,
)
from servicedesk.api.schemas import page_of
from servicedesk.demands import operations
from servicedesk.demands.operations import DemandRefused, NewDemand
from servicedesk.demands.search import demand_query, known_total
from servicedesk.domain.lifecycle import BY_ACTION, Action, Refusal
from servicedesk.extensions import db
from servicedesk.models import Demand, DemandEvent, ExtensionRequest, Role, User, Visit
from servicedesk.pagination import paginate
from servicedesk.security import roles_required, signed_in
from servicedesk.visits import operations as visit_operations

#: the route matches only these, so that an unknown action is 404
ACTIONS = ", ".join(action.value for action in Action)


# Loading with what the answers show, in a fixed number of queries

def demand_options() -> list[Any]:
    return [
        selectinload(Demand.company), selectinload(Demand.category),
        selectinload(Demand.lead_department), selectinload(Demand.co_departments),
        selectinload(Demand.dispatched_by), selectinload(Demand.duplicate_of),
    ]


def detail_options() -> list[Any]:
    return [
        *demand_options(),
        selectinload(Demand.events).selectinload(DemandEvent.actor),
        selectinload(Demand.events).selectinload(DemandEvent.actor_department),
        selectinload(Demand.milestones),
        selectinload(Demand.extensions).selectinload(ExtensionRequest.requested_by),
        selectinload(Demand.extensions).selectinload(ExtensionRequest.decided_by),
    ]


def load_demand(demand_id: int) -> Demand | None:
    return db.session.scalar(select(Demand).where(Demand.id == demand_id).options(*detail_options())
                             .execution_options(populate_existing=True))


def visible_demand(demand_id: int) -> Demand:
    """The demand, or 404 when there is none or the user may not see it."""
    demand = load_demand(demand_id)
    if demand is None or not operations.may_see(_user(), demand):
        abort(404)
    return demand


def _user() -> User:
    return current_user._get_current_object()


def _visible_visits(user: User) -> Select[Any]:
    """Officers and leaders see every visit; a handler those with a demand of their department."""
    statement = select(Visit)
    clause = operations.visibility_clause(user)
    if clause is True:
        return statement
    if clause is False:
        return statement.where(false())
    return statement.where(select(Demand.id).where(Demand.visit_id == Visit.id, clause).exists())


def _visit_options(demand_schema_options: list[Any]) -> list[Any]:
    return [
        selectinload(Visit.companies), selectinload(Visit.created_by),
        selectinload(Visit.demands).options(*demand_schema_options),
    ]


def _refused(refused: DemandRefused) -> NoReturn:
    """A refusal as a JSON error: 403 when the table does not allow the user the action, else 422
    with the refusal's message and the fields it concerns."""
    errors = dict(refused.field_errors)
    message = errors.pop("", None)
    code = refused.refusal.value if refused.refusal else None
    if refused.refusal is Refusal.NOT_ALLOWED:
        abort(403, message=message, code=code)
    abort(422, message=message, code=code, fields=nest_fields(errors) or None)


#: operations' field names whose API name is nested
NESTED_NAMES = {"contact_name": ("contact", "name"), "contact_phone": ("contact", "phone"),
                "duplicate_of": ("duplicate_of_id",)}


def nest_fields(errors: Mapping[str, str]) -> dict[str, Any]:
    """operations' flat keys ("demands-0-title", "contact_name") as the body's nesting:
    {"demands": {"0": {"title": ...}}}, as marshmallow reports a list's items."""
    nested: dict[str, Any] = {}
    for key, message in errors.items():
        path: list[str] = []
        parts = key.split("-")
        while len(parts) >= 3 and parts[1].isdigit():
            path += parts[:2]
            parts = parts[2:]
        name = "-".join(parts)
        path += list(NESTED_NAMES.get(name, (name,)))
        where = nested
        for step in path[:-1]:
            child = where.setdefault(step, {})
            if not isinstance(child, dict):  # a message on the list itself and on one item
                child = where[step] = {"": child}
            where = child
        where[path[-1]] = message
    return nested


def _new_demand(data: Mapping[str, Any], source: str) -> NewDemand:
    contact = data.get("contact") or {}
    return NewDemand(
        company_id=data["company_id"], category_id=data["category_id"], title=data["title"],
        description=data["description"], urgency=data["urgency"], contact_name=contact.get("name"),
        contact_phone=contact.get("phone"), source=source, duplicate_of_id=data.get("duplicate_of_id"))


def _commit() -> None:
    try:
        db.session.commit()
    except StaleDataError:
        abort(409)


# Visits

@bp.route("/visits")
class Visits(MethodView):
    @signed_in
    @bp.arguments(VisitArgsSchema, location="query")
    @bp.response(200, page_of(VisitSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Visits, latest first; a department handler sees those with a demand of their department"""
        statement = _visible_visits(_user())
        if "company_id" in args:
            statement = statement.where(Visit.companies.any(id=args["company_id"]))
        if "kind" in args:
            statement = statement.where(Visit.kind == args["kind"])
        if "visited_from" in args:
            statement = statement.where(Visit.visited_on >= args["visited_from"])
        if "visited_to" in args:
            statement = statement.where(Visit.visited_on <= args["visited_to"])
        statement = (statement.options(*_visit_options([selectinload(Demand.co_departments)]))
                     .order_by(Visit.visited_on.desc(), Visit.id.desc()))
        page = paginate(statement, *page_args(args))
        return {"items": page.items, "total": page.total}

    @roles_required(Role.OFFICER)
    @bp.arguments(VisitCreateSchema)
    @bp.response(201, VisitDetailSchema)
    def post(self, data: dict[str, Any]) -> Visit:
        """Log a visit with the demands raised there, all in one transaction (officers).

        Refused with 422 and nothing saved when the visit or any of its demands is invalid; a
        demand's errors are under `demands` by its position."""
        demands = [_new_demand(item, data["kind"]) for item in data.pop("demands")]
        company_ids = data.pop("company_ids")
        try:
            visit = visit_operations.log_visit(data, company_ids, demands, _user(), clock.now())
        except DemandRefused as refused:
            _refused(refused)
        _commit()
        return db.session.scalar(select(Visit).where(Visit.id == visit.id)
                                 .options(*_visit_options(demand_options())))


@bp.route("/visits/<int:visit_id>")
class VisitById(MethodView):
    @signed_in
    @bp.response(200, VisitDetailSchema)
    def get(self, visit_id: int) -> Visit:
        """One visit with the demands raised there that you may see"""
        visit = db.session.scalar(_visible_visits(_user()).where(Visit.id == visit_id)
                                  .options(*_visit_options(demand_options())))
        if visit is None:
            abort(404)
        return visit


# Demands

@bp.route("/demands")
class Demands(MethodView):
    @signed_in
    @bp.arguments(DemandListArgsSchema, location="query")
    @bp.response(200, page_of(DemandSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Demands, with the filters and the keyword search of the pages.

        A department handler finds only the demands in which their department is lead or co."""
        user, filters = _user(), filters_of(args)

        def listed(matches: int = 0) -> Any:
            return demand_query(user, filters, matches=matches).options(*demand_options())

        page = paginate(listed(), *page_args(args), read_with=listed, counted=known_total(user, filters),
                        ids_first=True)
        return {"items": page.items, "total": page.total}

    @roles_required(Role.OFFICER)
    @bp.arguments(DemandCreateSchema)
    @bp.response(201, DemandDetailSchema)
    def post(self, data: dict[str, Any]) -> Demand:
        """Log a demand that came by hotline, letter, online or otherwise (officers); it is registered,
        ready to dispatch"""
        new = _new_demand(data, data["source"])
        try:
            errors = operations.demand_errors(new)
            if errors:
                raise DemandRefused(errors)
            demand = operations.log_demand(new, _user(), clock.now())
        except DemandRefused as refused:
            _refused(refused)
        _commit()
        return load_demand(demand.id)


@bp.route("/demands/similar")
class SimilarDemands(MethodView):
    @signed_in
    @bp.arguments(SimilarArgsSchema, location="query")
    @bp.response(200, DemandSchema(many=True))
    def get(self, args: dict[str, Any]) -> list[Demand]:
        """Open demands of the company in the category with a title like this one: check before
        logging a new one, and link it as their duplicate if it is one"""
        found = operations.similar_open_demands(args["company_id"], args["category_id"], args["title"])
        if not found:
            return []
        user = _user()
        demands = db.session.scalars(select(Demand).where(Demand.id.in_([d.id for d in found]))
                                     .options(*demand_options()).order_by(Demand.id.desc()))
        return [demand for demand in demands if operations.may_see(user, demand)]


@bp.route("/demands/<int:demand_id>")
class DemandById(MethodView):
    @signed_in
    @bp.response(200, DemandDetailSchema)
    def get(self, demand_id: int) -> Demand:
        """One demand with its history (events, oldest first), milestones and extension requests,
        and the actions you may take on it now"""
        return visible_demand(demand_id)


@bp.route(f"/demands/<int:demand_id>/actions/<any({ACTIONS}):action>")
class DemandAction(MethodView):
    @signed_in
    @bp.arguments(ActionSchema)
    @bp.response(200, DemandDetailSchema)
    @bp.alt_response(403, description="you may see the demand but not take this action")
    @bp.alt_response(404, description="no such demand, or not one you may see")
    @bp.alt_response(409, description="the demand changed since the version you sent")
    @bp.alt_response(422, description="missing or invalid fields, or not in this state; "
                                      "`code` says why (wrong_state, missing_field, ...)")
    def post(self, data: dict[str, Any], demand_id: int, action: str) -> Demand:
        """Take a lifecycle action on a demand, with its fields and the version you read.

        The actions, who takes them and the fields each needs are those of the lifecycle table:
        dispatch (lead_department_id, urgency, co_department_ids, note), sign, return (reason),
        co_opinion (text), progress (text), request_extension (reason, new_due), approve_extension
        and refuse_extension (reason), add_milestone (title, due_on), complete_milestone
        (milestone_id), respond (outcome, text, planned_on when planned), record_feedback
        (feedback), close (close_reason, duplicate_of_id when duplicate), flag_key_supervision
        (reason), comment (text). Answers the demand as it is afterwards."""
        demand = visible_demand(demand_id)
        chosen = Action(action)
        version = data.pop("version")
        foreign = sorted(set(data) - set(BY_ACTION[chosen].fields))
        if foreign:
            abort(422, fields={name: ["Unknown field."] for name in foreign})
        try:
            audit.ensure_not_stale(demand, version)
            operations.take_action(demand, chosen, _user(), data, version, clock.now())
        except audit.StaleEdit:
            abort(409)
        except StaleDataError:
            abort(409)
        except DemandRefused as refused:
            _refused(refused)
        _commit()
        # As it is now, even when the action took it out of the user's sight (a return).
        return load_demand(demand_id)
