"""The calendar in Chromium: an admin enters and confirms a year; anyone counts a deadline.

Data fixtures come before `page`/`live_server` in each signature: the live server waits for the
test's own database session to let go, which it does once the data is made. The `page` fixture
fails a test on any console error, so these pages also prove they need no inline script.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from servicedesk.extensions import db
from servicedesk.models import CalendarDay, CalendarYear, Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

NATIONAL_DAY_2027_WEEKDAYS = ["2027-10-01", "2027-10-04", "2027-10-05", "2027-10-06", "2027-10-07"]


def sign_in(page, username: str) -> None:
    page.goto("/auth/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#submit").click()
    page.wait_for_url("**/")


@pytest.fixture
def admin_name(make_user) -> str:
    return make_user(Role.ADMIN, username="guanli", display_name="管理员").username


@pytest.fixture
def officer_name(make_user) -> str:
    return make_user(Role.OFFICER, username="zhangwei", display_name="张伟").username


def test_admin_marks_national_day_2027_and_confirms_the_year(freeze_clock, calendar_2026, admin_name,
                                                             page) -> None:
    # the coming 60 days (to 2027-01-24) reach into 2027, which is not loaded; 2026 is
    freeze_clock("2026-11-25T10:00+08:00")
    sign_in(page, admin_name)
    assert page.locator("#calendar-warning").is_visible()

    page.goto("/calendar/2027")
    assert page.locator("#year-status").get_attribute("data-loaded") == "no"
    assert page.locator("#calendar-warning").is_visible()
    page.locator("#year-grid a[href$='/calendar/2027/10']").click()
    page.wait_for_url("**/calendar/2027/10")

    page.locator("table.month-grid td[data-day='2027-10-01'] a").click()
    page.wait_for_url("**/calendar/2027/10?day=2027-10-01*")
    assert page.locator("#first").input_value() == "2027-10-01"
    page.locator("#last").fill("2027-10-07")
    page.locator("#kind").select_option("holiday")
    page.locator("#name").fill("国庆节")
    page.locator("#mark-form [type=submit]").click()
    page.wait_for_url("**/calendar/2027/10")

    holidays = page.locator("table.month-grid td.day-holiday")
    holidays.first.wait_for()
    assert [cell.get_attribute("data-day") for cell in holidays.all()] == NATIONAL_DAY_2027_WEEKDAYS
    for day in NATIONAL_DAY_2027_WEEKDAYS:
        cell = page.locator(f"td[data-day='{day}']")
        assert cell.get_attribute("data-working") == "no"
        assert "day-pending" in (cell.get_attribute("class") or "")  # the year is not confirmed yet
    weekend = page.locator("td[data-day='2027-10-02']")
    assert "day-weekend" in (weekend.get_attribute("class") or "")
    assert page.locator("#year-status").get_attribute("data-loaded") == "no"

    page.goto("/calendar/2027")
    assert page.locator("#special-days tbody tr").count() == len(NATIONAL_DAY_2027_WEEKDAYS)
    confirm = page.locator("form[data-confirm][action$='/calendar/2027/confirm']")
    page.once("dialog", lambda dialog: dialog.accept())
    confirm.locator("[type=submit]").click()
    page.locator("#year-status[data-loaded=yes]").wait_for()
    assert page.locator("#calendar-warning").count() == 0
    assert page.locator("form[action$='/calendar/2027/confirm']").count() == 0
    cell = page.locator("td[data-day='2027-10-04']").first
    assert "day-pending" not in (cell.get_attribute("class") or "")

    record = db.session.get(CalendarYear, 2027)
    stored = db.session.scalars(select(CalendarDay.day).where(CalendarDay.year == 2027)
                                .order_by(CalendarDay.day)).all()
    loaded, source = record.loaded, record.source
    db.session.close()
    assert (loaded, source) == (True, "manual")
    assert [day.isoformat() for day in stored] == NATIONAL_DAY_2027_WEEKDAYS


def test_dismissing_the_confirm_dialog_leaves_the_year_unloaded(admin_name, page) -> None:
    sign_in(page, admin_name)
    page.goto("/calendar/2031")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.locator("form[data-confirm][action$='/calendar/2031/confirm'] [type=submit]").click()
    assert asked and "2031" in asked[0]
    assert page.url.endswith("/calendar/2031")
    assert page.locator("#year-status").get_attribute("data-loaded") == "no"
    loaded = db.session.scalar(select(CalendarYear.loaded_at).where(CalendarYear.year == 2031))
    db.session.close()
    assert loaded is None


def test_deadline_calculator_explains_the_national_day_gap(calendar_2026, officer_name, page) -> None:
    sign_in(page, officer_name)
    page.goto("/calendar/deadline")
    page.locator("#start").fill("2026-09-30")
    page.locator("#days").fill("3")
    page.locator("#deadline-form [type=submit]").click()
    page.wait_for_url("**/calendar/deadline?*")

    result = page.locator("#deadline-result [data-due]")
    assert result.get_attribute("data-due") == "2026-10-10"
    skipped = page.locator("#deadline-result .skipped-days li")
    assert [item.get_attribute("data-day") for item in skipped.all()] == [
        "2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06",
        "2026-10-07"]
    made_up = page.locator("#deadline-result .made-up-days li")
    assert [item.get_attribute("data-day") for item in made_up.all()] == ["2026-10-10"]
    assert page.locator("#deadline-result .provisional-mark").count() == 0
    assert page.locator("#deadline-result .unloaded-years").count() == 0


def test_deadline_into_a_year_not_loaded_is_marked_provisional(calendar_2026, officer_name,
                                                               page) -> None:
    sign_in(page, officer_name)
    page.goto(f"/calendar/deadline?start={date(2026, 12, 25).isoformat()}&days=10")
    assert page.locator("#deadline-result [data-due]").get_attribute("data-due") == "2027-01-08"
    assert page.locator("#deadline-result .provisional-mark").is_visible()
    assert page.locator("#deadline-result .unloaded-years").is_visible()
