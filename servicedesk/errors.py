"""Error answers: JSON {"error": {"code", "message"}} for the API, a page for everyone else."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug import Response
from werkzeug.exceptions import HTTPException

from servicedesk.extensions import db
from servicedesk.i18n import is_api_request

MESSAGES = {
    400: _l("The request could not be understood."),
    401: _l("Sign in first: give a valid API token as 'Authorization: Bearer <token>'."),
    403: _l("You are not allowed to do this."),
    404: _l("There is nothing here."),
    405: _l("This method is not allowed here."),
    409: _l("Someone else changed this record in the meantime. Reload it and try again."),
    413: _l("The file is too large."),
    422: _l("Some fields are invalid."),
    429: _l("Too many attempts. Wait a few minutes and try again."),
    500: _l("Something went wrong on our side. The change was not saved."),
}

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
}

# marshmallow's English messages, given in the language the client asked for
FIELD_MESSAGES = {
    "Missing data for required field.": _l("This field is required."),
    "Unknown field.": _l("Unknown field."),
    "Field may not be null.": _l("This field may not be empty."),
    "Not a valid string.": _l("Not a valid text."),
    "Not a valid integer.": _l("Not a valid whole number."),
    "Not a valid boolean.": _l("Not a valid true/false value."),
    "Invalid input type.": _l("Invalid input type."),
    "Invalid JSON body.": _l("The body is not valid JSON."),
    "Not a valid date.": _l("Not a valid date: write it as YYYY-MM-DD."),
    "Not a valid datetime.": _l("Not a valid date and time."),
    "Not a valid mapping type.": _l("Not a valid object."),
    "Not a valid list.": _l("Not a valid list."),
}

# marshmallow's messages that carry numbers or choices
FIELD_PATTERNS = [
    (re.compile(r"Must be greater than or equal to (?P<min>\S+) and less than or equal to (?P<max>\S+)\."),
     _l("Must be from %(min)s to %(max)s.")),
    (re.compile(r"Must be greater than or equal to (?P<min>\S+)\."), _l("Must be at least %(min)s.")),
    (re.compile(r"Must be less than or equal to (?P<max>\S+)\."), _l("Must be at most %(max)s.")),
    (re.compile(r"Length must be between (?P<min>\d+) and (?P<max>\d+)\."),
     _l("Must have from %(min)s to %(max)s characters.")),
    (re.compile(r"Longer than maximum length (?P<max>\d+)\."), _l("Must have at most %(max)s characters.")),
    (re.compile(r"Must be one of: (?P<choices>.*)\."), _l("Must be one of: %(choices)s.")),
]


WEBARGS_LOCATIONS = {"json", "query", "form", "headers", "files", "view_args"}


def api_error(status: int, message: str | None = None, code: str | None = None,
              fields: dict[str, Any] | None = None) -> tuple[Response, int]:
    body: dict[str, Any] = {
        "code": code or CODES.get(status, "error"),
        "message": message or str(MESSAGES.get(status, _("The request failed."))),
    }
    if fields:
        body["fields"] = fields
    return jsonify(error=body), status


def _unnest_locations(messages: Any) -> Any:
    """webargs files its messages under where they came from; clients want the fields."""
    if isinstance(messages, dict) and set(messages) <= WEBARGS_LOCATIONS:
        merged: dict[str, Any] = {}
        for by_field in messages.values():
            merged.update(by_field if isinstance(by_field, dict) else {"_body": by_field})
        return merged
    return messages


def _translate_fields(messages: Any) -> Any:
    if isinstance(messages, dict):
        return {key: _translate_fields(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [_translate_fields(value) for value in messages]
    if isinstance(messages, str):
        return _translate_message(messages)
    return messages


def _translate_message(message: str) -> str:
    if message in FIELD_MESSAGES:
        return str(FIELD_MESSAGES[message])
    for pattern, translation in FIELD_PATTERNS:
        match = pattern.fullmatch(message)
        if match:
            return str(translation) % match.groupdict()
    return message


def handle_http_exception(error: HTTPException) -> Any:
    status = error.code or 500
    db.session.rollback()  # an error answer never saves half a change
    if error.response is not None:  # the raiser built the answer itself (the login lockout page)
        return error.response
    if is_api_request():
        data = getattr(error, "data", None) or {}
        fields = data.get("fields") or _unnest_locations(data.get("messages"))
        message = data.get("message") if isinstance(data.get("message"), str) else None
        return api_error(status, message, code=data.get("code"), fields=_translate_fields(fields))
    if isinstance(error, CSRFError):
        message = _("The form expired or was sent from another site. Reload the page and try again.")
    else:
        message = str(MESSAGES.get(status, error.description))
    return render_template("errors/error.html", status=status, message=message), status


def handle_unexpected(error: Exception) -> Any:
    db.session.rollback()
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    if is_api_request():
        return api_error(500)
    return render_template("errors/error.html", status=500, message=str(MESSAGES[500])), 500


def register_errorhandlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    if not app.config.get("PROPAGATE_EXCEPTIONS"):
        app.register_error_handler(Exception, handle_unexpected)
