"""The dashboard's page, its chart and its league table in Excel: leaders and officers."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from servicedesk import clock
from servicedesk.chaser.messages import ESCALATION_LEVELS
from servicedesk.dashboard import bp, charts
from servicedesk.dashboard.league import LEAGUE_COLUMNS, League, league_table, league_workbook
from servicedesk.dashboard.links import NumberLinks
from servicedesk.dashboard.measures import (
    AVERAGE_OVER,
    CATEGORY_COUNTS,
    COMPANY_COUNTS,
    DEFINITIONS,
    LABELS,
    AgeGroup,
    Count,
    PeriodKind,
    Rate,
)
from servicedesk.dashboard.page import (
    READERS,
    ListLinks,
    dates_refused,
    load_dashboard,
    load_league,
    load_trend,
)
from servicedesk.demands.forms import STEP_LABELS
from servicedesk.security import roles_required

PERIOD_LABELS = {
    PeriodKind.WEEK: _l("This week"),
    PeriodKind.MONTH: _l("This month"),
    PeriodKind.QUARTER: _l("This quarter"),
    PeriodKind.YEAR: _l("This year"),
    PeriodKind.RANGE: _l("The dates below"),
}

#: the measures the page shows, in the order of their footnotes
DEFINED: tuple[str, ...] = (
    Count.OPEN, Count.OVERDUE, Count.OVERDUE_DEPARTMENT, Count.OVERDUE_OFFICER, Count.DISPATCHED,
    Count.CLOSED, Count.CLOSED_WITHDRAWN, Count.CLOSED_DUPLICATE, Rate.RESPONSE, Rate.ON_TIME,
    Rate.RESOLUTION, Count.PARTLY_SOLVED, Rate.SATISFACTION, "average_days", Count.RETURNS,
    Count.REOPENINGS, Count.KEY_SUPERVISION,
)


def age_label(group: AgeGroup) -> str:
    if group.most is None:
        return _("Over %(days)d", days=group.fewest - 1)
    return f"{group.fewest}–{group.most}"  # a range of numbers reads the same in both languages


def league_args(league: League) -> dict[str, str]:
    """The table's order when one was asked for (as read), for the links that keep it: the filter
    form and the export."""
    if not request.args.get("sort"):
        return {}
    return {"sort": league.sort.key, "order": league.order.value}


def _page_context() -> dict[str, Any]:
    # each label and definition is shown many times: translated once
    definitions = {key: str(text) for key, text in DEFINITIONS.items()}
    return {
        "columns": LEAGUE_COLUMNS, "labels": {key: str(label) for key, label in LABELS.items()},
        "definitions": definitions,
        "numbers": NumberLinks(ListLinks(url_for("demands.index")), definitions), "Count": Count,
        "Rate": Rate, "rates": tuple(Rate), "average_over": AVERAGE_OVER,
        "defined": DEFINED, "footnotes": {key: number for number, key in enumerate(DEFINED, start=1)},
        "period_labels": PERIOD_LABELS, "category_counts": CATEGORY_COUNTS,
        "company_counts": COMPANY_COUNTS, "step_labels": STEP_LABELS, "escalation_labels": ESCALATION_LEVELS,
        "week_label": charts.week_label, "age_label": age_label,
    }


@bp.route("/")
@roles_required(*READERS)
def index() -> str:
    loaded = load_dashboard(current_user._get_current_object(), request.args, clock.today())
    board = loaded.board
    league = league_table(board.departments, loaded.names.department_names, request.args.get("sort"),
                          request.args.get("order"))
    return render_template(
        "dashboard/index.html", board=board, names=loaded.names, scope=board.scope, league=league,
        league_args=league_args(league), dates_refused=dates_refused(request.args, board.scope.period),
        **_page_context(),
    )


@bp.route("/trend.svg")
@roles_required(*READERS)
def trend_svg() -> Response:
    """The weekly trend of the page's scope, as an SVG image."""
    response = Response(charts.trend_svg(load_trend(request.args, clock.today())), mimetype="image/svg+xml")
    # pygal styles the chart with an inline <style>: this response's own policy allows that and
    # nothing else; set here, so that the application's default (set only where none is) stays off.
    response.headers["Content-Security-Policy"] = charts.SVG_CONTENT_SECURITY_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/league.xlsx")
@roles_required(*READERS)
def league_xlsx() -> Response:
    """The league table as shown on the page (same scope, same order), in Excel."""
    scope, rows, names = load_league(current_user._get_current_object(), request.args, clock.today())
    return league_workbook(league_table(rows, names.department_names, request.args.get("sort"),
                                        request.args.get("order")), scope)
