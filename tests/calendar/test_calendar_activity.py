"""The activity log shows the calendar's and the time limits' events readably."""

from __future__ import annotations

import re

from sqlalchemy import select

from servicedesk.extensions import db
from servicedesk.models import Category
from tests.calendar.helpers import input_value, text_of


def event_rows(page: str) -> dict[str, str]:
    """action -> its newest row in the log."""
    rows: dict[str, str] = {}
    for action, row in re.findall(r'<tr data-action="([^"]+)">(.*?)</tr>', page, re.S):
        rows.setdefault(action, row)
    return rows


def test_calendar_and_time_limit_events_are_readable(as_admin, freeze_clock) -> None:
    freeze_clock("2026-11-25T10:00+08:00")
    as_admin.post("/calendar/2026/prefill")
    as_admin.post("/calendar/2027/2/mark", data={"first": "2027-02-08", "last": "2027-02-09",
                                                 "kind": "holiday", "name": "春节"})
    version = input_value(text_of(as_admin.get("/calendar/2027")), "version")
    as_admin.post("/calendar/2027/confirm", data={"version": version})
    page = text_of(as_admin.get("/calendar/time-limits"))
    values = {name: input_value(page, name) for name in
              ("seen", "sign", "respond_urgent", "respond_normal", "respond_complex", "feedback", "due_soon")}
    as_admin.post("/calendar/time-limits", data={**values, "sign": "2"})
    category = db.session.scalars(select(Category).order_by(Category.id)).first()
    url = f"/calendar/time-limits/categories/{category.id}"
    as_admin.post(url, data={"seen": input_value(text_of(as_admin.get(url)), "seen"), "respond_normal": "15"})

    log = text_of(as_admin.get("/admin/activity"))
    rows = event_rows(log)
    assert {"calendar.loaded", "calendar.days_marked", "calendar.confirmed", "time_limits.updated",
            "time_limits.category_updated"} <= set(rows)

    loaded = rows["calendar.loaded"]
    assert "Calendar year loaded" in loaded
    assert '<a href="/calendar/2026">2026</a>' in loaded
    assert "管理员" in loaded
    assert "package" in loaded and "chinese-calendar" in loaded
    assert "Holidays:</span> 19" in loaded
    assert "Make-up working days:</span> 6" in loaded

    marked = rows["calendar.days_marked"]
    assert "Calendar days marked" in marked
    assert '<a href="/calendar/2027">2027</a>' in marked
    assert "2027-02-08, 2027-02-09" in marked
    assert "春节" in marked
    assert "Year loaded:</span> no" in marked

    confirmed = rows["calendar.confirmed"]
    assert "Calendar year confirmed" in confirmed
    assert '<a href="/calendar/2027">2027</a>' in confirmed
    assert "Holidays:</span> 2" in confirmed

    updated = rows["time_limits.updated"]
    assert "Time limits changed" in updated
    assert '<a href="/calendar/time-limits">Time limits</a>' in updated
    assert "Sign (签收):</span> 1 → 2" in updated

    category_updated = rows["time_limits.category_updated"]
    assert "Time limits of a category changed" in category_updated
    assert f'href="/admin/categories/{category.id}"' in category_updated
    assert "Respond (答复), normal:</span> — → 15" in category_updated


def test_the_log_narrows_to_the_calendar_or_the_time_limits(as_admin) -> None:
    as_admin.post("/calendar/2026/prefill")
    page = text_of(as_admin.get("/calendar/time-limits"))
    values = {name: input_value(page, name) for name in
              ("seen", "sign", "respond_urgent", "respond_normal", "respond_complex", "feedback", "due_soon")}
    as_admin.post("/calendar/time-limits", data={**values, "feedback": "4"})

    calendar_only = event_rows(text_of(as_admin.get("/admin/activity?action=calendar.")))
    assert set(calendar_only) == {"calendar.loaded"}
    limits_only = event_rows(text_of(as_admin.get("/admin/activity?action=time_limits.")))
    assert set(limits_only) == {"time_limits.updated"}
