"""Form pieces shared by every area."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import InputRequired
from wtforms.widgets import HiddenInput


class VersionedForm(FlaskForm):
    """Carries the version of the record being edited, so a stale edit is caught, not saved."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


def strip_filter(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value
