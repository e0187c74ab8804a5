"""The banner warning admins and leaders that the coming days reach into a year not loaded."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest

from servicedesk.calendar import store
from servicedesk.extensions import db
from tests.calendar.helpers import csv_bytes, element, input_value, text_of

NEAR_YEAR_END = "2026-11-25T10:00+08:00"
PAGES = ["/", "/companies/", "/calendar/time-limits"]


def banner(client, url: str = "/") -> str:
    response = client.get(url, follow_redirects=True)  # a leader's home is the dashboard
    assert response.status_code == 200, url
    return element(text_of(response), "div", "calendar-warning")


@pytest.mark.parametrize("role", ["admin", "leader"])
def test_admins_and_leaders_are_warned_of_an_unloaded_coming_year(sign_in, users_by_role, freeze_clock,
                                                                  calendar_2026, role) -> None:
    freeze_clock(NEAR_YEAR_END)
    client = sign_in(users_by_role[role])
    for url in PAGES:
        warning = banner(client, url)
        assert warning, url
        assert 'href="/calendar/2027"' in warning
        assert "The working-day calendar of 2027 is not loaded" in warning
        assert "the coming 60 days" in warning
        assert "2026" not in re.sub(r"<[^>]+>", "", warning)  # 2026 is loaded


@pytest.mark.parametrize("role", ["officer", "handler"])
def test_officers_and_handlers_are_not_warned(sign_in, users_by_role, freeze_clock, calendar_2026,
                                              role) -> None:
    freeze_clock(NEAR_YEAR_END)
    client = sign_in(users_by_role[role])
    for url in PAGES:
        assert banner(client, url) == "", url


def test_nobody_signed_out_is_warned(client, freeze_clock, calendar_2026) -> None:
    freeze_clock(NEAR_YEAR_END)
    assert 'id="calendar-warning"' not in text_of(client.get("/auth/login"))


def test_the_banner_goes_once_the_year_is_imported(as_admin, freeze_clock, calendar_2026) -> None:
    freeze_clock(NEAR_YEAR_END)
    assert banner(as_admin)
    data = csv_bytes([["日期", "类型", "名称"], ["2027-01-01", "休", "元旦"]])
    response = as_admin.post("/calendar/import", data={"file": (io.BytesIO(data), "2027.csv")},
                             content_type="multipart/form-data")
    review = response.headers["Location"]
    assert banner(as_admin, review)  # not loaded until confirmed
    as_admin.post(f"{review}/confirm")
    for url in PAGES:
        assert banner(as_admin, url) == "", url


def test_the_banner_goes_once_the_marked_year_is_confirmed(as_admin, sign_in, leader, freeze_clock,
                                                           calendar_2026) -> None:
    freeze_clock(NEAR_YEAR_END)
    as_admin.post("/calendar/2027/1/mark", data={"first": "2027-01-01", "last": "", "kind": "holiday",
                                                 "name": "元旦"})
    assert banner(as_admin)  # marked days alone do not load the year
    version = input_value(text_of(as_admin.get("/calendar/2027")), "version")
    as_admin.post("/calendar/2027/confirm", data={"version": version})
    assert banner(as_admin) == ""
    assert banner(sign_in(leader), "/companies/") == ""


def test_the_banner_names_every_unloaded_year_and_links_the_first(as_admin, freeze_clock) -> None:
    freeze_clock(NEAR_YEAR_END)
    warning = banner(as_admin)
    assert "The working-day calendar of 2026, 2027 is not loaded" in warning
    assert 'href="/calendar/2026"' in warning


def test_no_banner_while_the_coming_days_stay_in_a_loaded_year(as_admin, freeze_clock, calendar_2026) -> None:
    freeze_clock("2026-09-01T10:00+08:00")
    for url in PAGES:
        assert banner(as_admin, url) == "", url


def test_the_warning_horizon_is_configurable(app, as_admin, freeze_clock, calendar_2026, monkeypatch) -> None:
    freeze_clock("2026-09-01T10:00+08:00")
    monkeypatch.setitem(app.config, "CALENDAR_WARNING_DAYS", 130)  # reaches 2027-01-09
    warning = banner(as_admin)
    assert 'href="/calendar/2027"' in warning
    assert "the coming 130 days" in warning
    monkeypatch.setitem(app.config, "CALENDAR_WARNING_DAYS", 121)  # 2026-12-31: still 2026
    assert banner(as_admin) == ""

    freeze_clock(NEAR_YEAR_END)
    monkeypatch.setitem(app.config, "CALENDAR_WARNING_DAYS", 36)  # 2026-12-31
    assert banner(as_admin) == ""
    monkeypatch.setitem(app.config, "CALENDAR_WARNING_DAYS", 37)  # 2027-01-01
    assert 'href="/calendar/2027"' in banner(as_admin)


def test_unloaded_years_ahead(app, calendar_2026) -> None:
    assert store.unloaded_years_ahead(date(2026, 11, 25), 60) == [2027]
    assert store.unloaded_years_ahead(date(2026, 9, 1), 60) == []
    store.mark_days(date(2027, 1, 1), date(2027, 1, 1), store.DayKind.HOLIDAY, "元旦")
    db.session.commit()
    assert store.unloaded_years_ahead(date(2026, 11, 25), 60) == [2027]
    store.confirm_year(2027, store.year_record(2027).version)
    db.session.commit()
    assert store.unloaded_years_ahead(date(2026, 11, 25), 60) == []


def test_a_request_reads_one_page_calendar_and_the_next_request_a_fresh_one(app, calendar_2026) -> None:
    """What one page shows (its cards, its deadlines) is counted on one calendar fetched once; a
    change to the calendar shows on the next request, even under the test's own app context."""
    with app.test_request_context("/"):
        first = store.page_calendar()
        assert store.page_calendar() is first
        assert first.is_loaded(2026) and not first.is_loaded(2027)
    store.mark_days(date(2027, 1, 1), date(2027, 1, 1), store.DayKind.HOLIDAY, "元旦")
    store.confirm_year(2027, store.year_record(2027).version)
    db.session.commit()
    with app.test_request_context("/"):
        again = store.page_calendar()
        assert again is not first
        assert again.is_loaded(2027)
    assert store.page_calendar() is not store.page_calendar()  # outside a request, one per call
