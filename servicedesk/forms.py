"""Form pieces shared by every area."""

from __future__ import annotations

from typing import Any

from flask import flash
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import InputRequired
from wtforms.widgets import HiddenInput

from servicedesk.extensions import db


class VersionedForm(FlaskForm):
    """Carries the version of the record being edited, so a stale edit is caught, not saved."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


class ButtonForm(FlaskForm):
    """The CSRF token only: the button's address says what it does (confirm, cancel, load)."""


def strip_filter(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def show_refusal(form: FlaskForm, field_errors: dict[str, str]) -> None:
    """Roll the attempt back and put each message beside its field (flashed if it has none)."""
    db.session.rollback()
    for name, message in field_errors.items():
        field = form._fields.get(name)
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            flash(message, "danger")
