"""The visits area: logging a visit or symposium with the demands raised there, and its page."""

from flask import Blueprint

bp = Blueprint("visits", __name__, url_prefix="/visits")

from servicedesk.visits import routes  # noqa: E402, F401
