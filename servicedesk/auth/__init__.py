from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from servicedesk.auth import routes  # noqa: E402,F401
