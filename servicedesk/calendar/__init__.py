"""The working-day calendar: the year and month views, loading and importing years, and why a
deadline falls on its day."""

from flask import Blueprint

bp = Blueprint("calendar", __name__, url_prefix="/calendar")

from servicedesk.calendar import routes  # noqa: E402, F401
