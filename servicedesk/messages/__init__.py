"""Messages in the desk: the bell with the unread count, the user's messages, and what they are
chased for."""

from flask import Blueprint

bp = Blueprint("messages", __name__, url_prefix="/messages")

from servicedesk.messages import routes  # noqa: E402, F401
