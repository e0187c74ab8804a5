"""The dashboard API: the page's figures as JSON, each count with the lists of the demands it counts."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_login import current_user

from servicedesk import clock
from servicedesk.api import bp
from servicedesk.api.dashboard_schemas import DashboardArgsSchema, DashboardSchema
from servicedesk.dashboard.league import league_table
from servicedesk.dashboard.measures import (
    AVERAGE_OVER,
    DEFINITIONS,
    LABELS,
    RATES,
    Dashboard,
    Figures,
    Number,
)
from servicedesk.dashboard.page import READERS, ListLinks, Names, QueryStrings, load_dashboard
from servicedesk.models import Demand
from servicedesk.security import roles_required


class _Numbers:
    """The figures of one response as JSON: each number with its label, its definition (translated
    once) and the links of its demands (written by ListLinks, not asked of the router hundreds of
    times)."""

    def __init__(self) -> None:
        queries = QueryStrings()
        self.api = ListLinks(url_for("api.Demands"), queries)
        self.page = ListLinks(url_for("demands.index"), queries)
        self.labels = {key: str(label) for key, label in LABELS.items()}
        self.definitions = {key: str(text) for key, text in DEFINITIONS.items()}

    def number(self, number: Number, key: str) -> dict[str, Any]:
        return {"value": number.value, "label": self.labels.get(key, ""),
                "definition": self.definitions.get(key, ""), "list": self.api(number.filters),
                "page": self.page(number.filters)}

    def figures(self, figures: Figures, *, average: bool = True) -> dict[str, Any]:
        """The counts a row has, the rates both of whose counts it has, and the average where computed."""
        counts = {str(count): self.number(number, count) for count, number in figures.counts.items()}
        rates = {}
        for rate, (met, measured) in RATES.items():
            if met in figures.counts and measured in figures.counts:
                rates[str(rate)] = {"value": figures.rate(rate).value, "label": self.labels[rate],
                                    "definition": self.definitions[rate], "met": counts[met],
                                    "measured": counts[measured]}
        average_days = None
        if average and AVERAGE_OVER in figures.counts:
            average_days = {"value": figures.average_days, "label": self.labels["average_days"],
                            "definition": self.definitions["average_days"], "over": counts[AVERAGE_OVER]}
        return {"counts": counts, "rates": rates, "average_days": average_days}


def _ref(key: int | None, name: str) -> dict[str, Any] | None:
    return None if key is None else {"id": key, "name": name}


def _listed(demand: Demand) -> dict[str, Any]:
    department = demand.lead_department
    return {"id": demand.id, "number": demand.number, "title": demand.title,
            "company": {"id": demand.company.id, "name": demand.company.name},
            "lead_department": _ref(department.id, department.name) if department else None,
            "step": demand.current_step, "due": demand.current_due,
            "escalation_level": demand.escalation_level}


def dashboard_json(board: Dashboard, names: Names, args: Any) -> dict[str, Any]:
    scope = board.scope
    numbers = _Numbers()
    league = league_table(board.departments, names.department_names, args.get("sort"), args.get("order"))
    return {
        "scope": {
            "period": {"kind": scope.period.kind.value, "first": scope.period.first,
                       "last": scope.period.last},
            "today": scope.today,
            "department": _ref(scope.department_id, names.department(scope.department_id)),
            "category": _ref(scope.category_id, _category_name(names, scope.category_id)),
        },
        "headline": numbers.figures(board.headline),
        "league": [{"department": {"id": row.department_id, "name": row.name}, "worst": sorted(row.worst),
                    "figures": numbers.figures(row.figures)} for row in league.rows],
        "categories": [{"category": {"id": row.key, "name": _category_name(names, row.key)},
                        "figures": numbers.figures(row.figures, average=False)} for row in board.categories],
        "companies": [{"company": {"id": row.key, "name": names.companies[row.key].name},
                       "figures": numbers.figures(row.figures, average=False)} for row in board.companies],
        "ages": [{"fewest": group.fewest, "most": group.most, "open": numbers.number(group.number, "open")}
                 for group in board.ages],
        "trend": [{"week": week.first, "dispatched": numbers.number(week.dispatched, "dispatched"),
                   "closed": numbers.number(week.closed, "closed")} for week in board.weeks],
        "red_list": [{**_listed(item.demand), "days_overdue": item.days_overdue} for item in board.red_list],
        "key_supervision": [{**_listed(demand), "reason": demand.key_supervision_reason}
                            for demand in board.key_supervision],
    }


def _category_name(names: Names, category_id: int | None) -> str:
    """The category's own (Chinese) name, as the rest of the API gives it."""
    row = names.categories.get(category_id) if category_id is not None else None
    return row.name if row is not None else ""


@bp.route("/dashboard")
class DashboardFigures(MethodView):
    @roles_required(*READERS)
    @bp.arguments(DashboardArgsSchema, location="query")
    @bp.response(200, DashboardSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The leader's dashboard for a period (this month by default), optionally one lead department or
        one category: every count with its definition and the demand lists it counts (`list`: this API's,
        `page`: the desk's), the rates, the average handling time, the league table of departments, the
        breakdowns, the weekly trend, the red list and the key supervision items"""
        query = {"period": args.get("period"), "from": args.get("first"), "to": args.get("last"),
                 "department": args.get("department"), "category": args.get("category")}
        loaded = load_dashboard(current_user._get_current_object(), query, clock.today())
        return dashboard_json(loaded.board, loaded.names, args)
