"""The leader's dashboard: the measures of a period at a glance, each number a link to its demands,
the league table of departments (also in Excel), the weekly trend drawn on the server, and the
dashboard's figures in the API."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

from servicedesk.dashboard import drilldown, routes  # noqa: E402, F401
