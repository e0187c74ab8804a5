"""The current moment, for the views and commands that need one.

Domain rules take the moment as an argument; this is where the app gets it. FROZEN_NOW (an ISO
datetime with its offset, e.g. SERVICEDESK_FROZEN_NOW=2026-06-15T09:00+08:00) pins it: for the
tests, and for a demo shown as of a given day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import current_app

from servicedesk.domain.workdays import local_day


def now() -> datetime:
    frozen = current_app.config.get("FROZEN_NOW")
    if frozen:
        moment = frozen if isinstance(frozen, datetime) else datetime.fromisoformat(str(frozen))
        if moment.tzinfo is None:
            raise ValueError("FROZEN_NOW needs an offset, e.g. 2026-06-15T09:00+08:00")
        return moment
    return datetime.now(UTC)


def today() -> date:
    """The zone's calendar day now (Beijing time)."""
    return local_day(now())
