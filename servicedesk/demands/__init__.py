"""The demands area: logging a demand, its page and lifecycle actions, the queues and the lists."""

from flask import Blueprint

bp = Blueprint("demands", __name__, url_prefix="/demands")

from servicedesk.demands import exports, import_routes, lists, logging, notices, routes  # noqa: E402, F401
