"""The year and month views: loading a year from chinese-calendar, marking days, confirming a year."""

from __future__ import annotations

import re
from datetime import date

import pytest

from servicedesk.calendar import store
from servicedesk.extensions import db
from tests.calendar.helpers import (
    calendar_snapshot,
    events,
    field_has_error,
    input_value,
    listed_special_days,
    stored_days,
    text_of,
    year_row,
)


def grid_cell(page: str, day: str) -> str:
    """The opening tag of the year or month grid's cell of the day."""
    match = re.search(rf'<td class="([^"]*)" data-day="{day}" data-working="(yes|no)"', page)
    assert match, f"no cell for {day}"
    return match.group(0)


def working(page: str, day: str) -> str:
    return re.search(r'data-working="(yes|no)"', grid_cell(page, day)).group(1)


def deadline_due(client, start: str, days: int) -> str:
    page = text_of(client.get(f"/calendar/deadline?start={start}&days={days}"))
    match = re.search(r'class="deadline-explanation" data-due="([0-9-]+)"', page)
    assert match, page[:2000]
    return match.group(1)


# Loading a year from chinese-calendar

def test_prefill_loads_the_year_from_the_package(as_admin, admin_user) -> None:
    empty = text_of(as_admin.get("/calendar/2026"))
    assert 'id="no-special-days"' in empty
    assert 'id="year-status" data-loaded="no"' in empty

    response = as_admin.post("/calendar/2026/prefill")
    assert response.status_code == 302
    assert response.headers["Location"] == "/calendar/2026"

    page = text_of(as_admin.get("/calendar/2026"))
    listed = listed_special_days(page)
    assert len(listed) == 25
    assert listed["2026-02-14"] == "workday"
    assert listed["2026-10-01"] == "holiday"
    assert sum(1 for kind in listed.values() if kind == "workday") == 6
    assert 'id="year-status" data-loaded="yes"' in page
    assert "25 days added, 0 removed, 0 changed" in page  # the flash
    assert working(page, "2026-10-01") == "no"
    assert working(page, "2026-02-14") == "yes"  # a Saturday worked
    assert working(page, "2026-02-15") == "no"  # a plain Sunday
    assert working(page, "2026-10-08") == "yes"  # a plain Thursday
    assert "day-pending" not in page

    days = stored_days(2026)
    assert days[date(2026, 10, 1)] == ("holiday", "国庆节")
    assert days[date(2026, 2, 14)] == ("workday", "春节")
    assert days[date(2026, 4, 6)] == ("holiday", "清明节")
    record = year_row(2026)
    assert record.loaded and record.source == "package"
    assert record.source_detail.startswith("chinese-calendar ")
    assert record.loaded_by_id == admin_user.id
    [loaded] = events("calendar.loaded")
    assert loaded.actor_id == admin_user.id
    assert (loaded.subject_type, loaded.subject_id) == ("calendar_years", 2026)
    assert loaded.details["source"] == "package"
    assert loaded.details["holidays"] == 19 and loaded.details["workdays"] == 6
    assert len(loaded.details["added"]) == 25 and loaded.details["was_loaded"] is False
    assert store.working_calendar().is_working_day(date(2026, 10, 1)) is False


def test_prefilling_again_replaces_the_days_entered(as_admin, calendar_2026) -> None:
    store.mark_days(date(2026, 3, 2), date(2026, 3, 2), store.DayKind.HOLIDAY, "停电")
    db.session.commit()
    assert date(2026, 3, 2) in stored_days(2026)

    as_admin.post("/calendar/2026/prefill")
    assert date(2026, 3, 2) not in stored_days(2026)
    assert len(stored_days(2026)) == 25
    again = events("calendar.loaded")[-1]
    assert again.details["was_loaded"] is True
    assert again.details["removed"] == ["2026-03-02 holiday 停电"]
    assert again.details["added"] == []


@pytest.mark.parametrize("year", [2027, 2100])
def test_prefilling_a_year_the_package_does_not_know_changes_nothing(as_admin, calendar_2026, year) -> None:
    page = text_of(as_admin.get(f"/calendar/{year}"))
    assert 'id="package-unaware"' in page
    assert f'action="/calendar/{year}/prefill"' not in page
    before = calendar_snapshot()

    response = as_admin.post(f"/calendar/{year}/prefill", follow_redirects=True)
    assert response.status_code == 200
    page = text_of(response)
    assert f"has no holiday arrangement for {year} yet" in page
    assert 'alert-warning' in page
    assert calendar_snapshot() == before
    assert year_row(year) is None


def test_prefilling_a_year_outside_the_calendars_range_is_not_found(as_admin, calendar_2026) -> None:
    before = calendar_snapshot()
    assert as_admin.post("/calendar/2999/prefill").status_code == 404
    assert calendar_snapshot() == before


# Marking days

def mark(client, first: str, last: str, kind: str, name: str = "", month: str = "2027/2"):
    return client.post(f"/calendar/{month}/mark",
                       data={"first": first, "last": last, "kind": kind, "name": name})


def test_a_holiday_range_stores_only_its_weekdays(as_admin, admin_user) -> None:
    response = mark(as_admin, "2027-02-05", "2027-02-11", "holiday", "春节")
    assert response.status_code == 302
    assert response.headers["Location"] == "/calendar/2027/2"
    assert stored_days(2027) == {date(2027, 2, day): ("holiday", "春节") for day in (5, 8, 9, 10, 11)}

    page = text_of(as_admin.get("/calendar/2027/2"))
    assert "5 days marked." in page
    assert "2027-02-06, 2027-02-07" in page  # left alone: the weekend is off anyway
    assert "2027 is not loaded yet" in page
    assert "day-pending" in grid_cell(page, "2027-02-08")
    assert "day-holiday" in grid_cell(page, "2027-02-08")
    assert working(page, "2027-02-08") == "no"
    assert 'id="year-status" data-loaded="no"' in page
    [marked] = events("calendar.days_marked")
    assert marked.actor_id == admin_user.id
    assert marked.subject_id == 2027
    assert marked.details["days"] == ["2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11"]
    assert marked.details["year_loaded"] is False


def test_a_make_up_working_day_is_stored_on_weekends_only(as_admin) -> None:
    mark(as_admin, "2027-02-19", "2027-02-21", "workday", "春节")
    assert stored_days(2027) == {date(2027, 2, 20): ("workday", "春节"),
                                 date(2027, 2, 21): ("workday", "春节")}
    page = text_of(as_admin.get("/calendar/2027/2"))
    assert "2 days marked." in page
    assert "2027-02-19" in page  # a Friday, worked anyway: left alone
    assert "day-workday" in grid_cell(page, "2027-02-20")


def test_a_single_day_needs_no_last_day(as_admin) -> None:
    mark(as_admin, "2027-03-01", "", "holiday", "停电检修", month="2027/3")
    assert stored_days(2027) == {date(2027, 3, 1): ("holiday", "停电检修")}


def test_usual_removes_what_was_entered(as_admin) -> None:
    mark(as_admin, "2027-02-08", "2027-02-12", "holiday", "春节")
    mark(as_admin, "2027-02-20", "", "workday", "春节")
    response = mark(as_admin, "2027-02-10", "2027-02-20", "usual")
    assert response.status_code == 302
    assert stored_days(2027) == {date(2027, 2, 8): ("holiday", "春节"), date(2027, 2, 9): ("holiday", "春节")}
    assert events("calendar.days_marked")[-1].details["kind"] == "usual"
    assert events("calendar.days_marked")[-1].details["days"] == [
        "2027-02-10", "2027-02-11", "2027-02-12", "2027-02-20"]


def test_a_range_across_new_year_counts_at_once_only_in_the_loaded_year(as_admin, calendar_2026) -> None:
    response = mark(as_admin, "2026-12-31", "2027-01-01", "holiday", "元旦", month="2026/12")
    assert response.headers["Location"] == "/calendar/2026/12"
    assert stored_days(2026)[date(2026, 12, 31)] == ("holiday", "元旦")
    assert stored_days(2027) == {date(2027, 1, 1): ("holiday", "元旦")}
    marked = events("calendar.days_marked")
    assert [(event.subject_id, event.details["year_loaded"]) for event in marked] == [
        (2026, True), (2027, False)]
    page = text_of(as_admin.get("/calendar/2026/12"))
    assert "2027 is not loaded yet" in page
    assert store.working_calendar().is_working_day(date(2026, 12, 31)) is False
    assert store.working_calendar().is_working_day(date(2027, 1, 1)) is True


def test_remarking_a_day_changes_its_kind_and_name(as_admin) -> None:
    mark(as_admin, "2027-02-08", "", "holiday", "春节")
    mark(as_admin, "2027-02-08", "", "holiday", "地方休假")
    assert stored_days(2027) == {date(2027, 2, 8): ("holiday", "地方休假")}


def test_a_holiday_needs_a_name(as_admin, calendar_2026) -> None:
    before = calendar_snapshot()
    response = mark(as_admin, "2027-02-08", "2027-02-12", "holiday", "  ")
    assert response.status_code == 200
    page = text_of(response)
    assert field_has_error(page, "name")
    assert "Give the holiday's name" in page
    assert calendar_snapshot() == before
    assert year_row(2027) is None


def test_the_last_day_cannot_come_before_the_first(as_admin) -> None:
    before = calendar_snapshot()
    response = mark(as_admin, "2027-02-12", "2027-02-08", "holiday", "春节")
    assert response.status_code == 200
    page = text_of(response)
    assert field_has_error(page, "last")
    assert not field_has_error(page, "name")
    assert "The last day comes before the first." in page
    assert calendar_snapshot() == before


def test_too_long_a_range_is_refused(as_admin) -> None:
    before = calendar_snapshot()
    response = mark(as_admin, "2027-01-01", "2027-03-31", "holiday", "春节")
    assert response.status_code == 200
    assert field_has_error(text_of(response), "last")
    assert calendar_snapshot() == before


def test_a_missing_first_day_or_unknown_kind_is_a_field_error(as_admin) -> None:
    before = calendar_snapshot()
    page = text_of(mark(as_admin, "", "2027-02-08", "holiday", "春节"))
    assert field_has_error(page, "first")
    page = text_of(mark(as_admin, "2027-02-08", "", "sometimes", "春节"))
    assert field_has_error(page, "kind")
    assert calendar_snapshot() == before


def test_marking_days_of_a_loaded_year_counts_at_once(as_admin, calendar_2026) -> None:
    assert deadline_due(as_admin, "2026-03-04", 1) == "2026-03-05"
    mark(as_admin, "2026-03-05", "", "holiday", "停电检修", month="2026/3")
    assert deadline_due(as_admin, "2026-03-04", 1) == "2026-03-06"
    page = text_of(as_admin.get("/calendar/2026/3"))
    assert "is not loaded yet" not in page
    assert "day-pending" not in grid_cell(page, "2026-03-05")
    assert events("calendar.days_marked")[-1].details["year_loaded"] is True


def test_an_unloaded_years_days_count_once_the_year_is_confirmed(as_admin, admin_user, calendar_2026) -> None:
    mark(as_admin, "2027-02-05", "2027-02-12", "holiday", "春节")
    mark(as_admin, "2027-02-20", "", "workday", "春节")
    # Entered, not counted: the deadlines reaching into 2027 still go Monday to Friday.
    assert store.working_calendar().is_working_day(date(2027, 2, 8)) is True
    assert store.working_calendar().is_working_day(date(2027, 2, 20)) is False
    assert deadline_due(as_admin, "2027-02-04", 1) == "2027-02-05"
    year_page = text_of(as_admin.get("/calendar/2027"))
    assert 'data-loaded="no"' in year_page
    assert "7 days have been entered" in year_page
    assert "Confirm 2027 with the 7 days entered" in year_page
    assert working(year_page, "2027-02-08") == "no"  # the grid shows what was entered, as pending
    assert "day-pending" in grid_cell(year_page, "2027-02-08")

    version = input_value(year_page, "version")
    response = as_admin.post("/calendar/2027/confirm", data={"version": version})
    assert response.status_code == 302
    assert response.headers["Location"] == "/calendar/2027"
    page = text_of(as_admin.get("/calendar/2027"))
    assert 'id="year-status" data-loaded="yes"' in page
    assert "2027 is loaded: its holidays and make-up working days count from now on." in page
    assert "day-pending" not in page
    assert "/calendar/2027/confirm" not in page

    assert store.working_calendar().is_working_day(date(2027, 2, 8)) is False
    assert store.working_calendar().is_working_day(date(2027, 2, 20)) is True
    assert deadline_due(as_admin, "2027-02-04", 1) == "2027-02-15"
    record = year_row(2027)
    assert record.source == "manual" and record.loaded_by_id == admin_user.id
    [confirmed] = events("calendar.confirmed")
    assert confirmed.actor_id == admin_user.id
    assert confirmed.subject_id == 2027
    assert confirmed.details == {"holidays": 6, "workdays": 1}


def test_confirming_with_a_stale_version_changes_nothing(as_admin, calendar_2026) -> None:
    mark(as_admin, "2027-02-08", "2027-02-12", "holiday", "春节")
    version = input_value(text_of(as_admin.get("/calendar/2027")), "version")
    # Meanwhile the year is loaded by someone else, with other days.
    store.replace_year(2027, [store.SpecialDay(date(2027, 1, 1), store.DayKind.HOLIDAY, "元旦")],
                       store.Source.IMPORT, "other.csv")
    db.session.commit()
    before = calendar_snapshot()

    response = as_admin.post("/calendar/2027/confirm", data={"version": version}, follow_redirects=True)
    assert response.status_code == 200
    assert "Someone else changed the calendar at the same moment" in text_of(response)
    assert calendar_snapshot() == before
    assert events("calendar.confirmed") == []
    assert year_row(2027).source == "import"


def test_confirming_with_a_made_up_version_changes_nothing(as_admin) -> None:
    mark(as_admin, "2027-02-08", "2027-02-12", "holiday", "春节")
    version = int(input_value(text_of(as_admin.get("/calendar/2027")), "version"))
    before = calendar_snapshot()
    response = as_admin.post("/calendar/2027/confirm", data={"version": str(version + 3)},
                             follow_redirects=True)
    assert "Someone else changed the calendar" in text_of(response)
    assert calendar_snapshot() == before
    assert not year_row(2027).loaded


def test_days_marked_after_the_page_was_opened_make_the_confirmation_stale(as_admin) -> None:
    mark(as_admin, "2027-02-08", "2027-02-12", "holiday", "春节")
    version = input_value(text_of(as_admin.get("/calendar/2027")), "version")
    mark(as_admin, "2027-10-01", "2027-10-07", "holiday", "国庆节")  # by another admin, say
    before = calendar_snapshot()
    response = as_admin.post("/calendar/2027/confirm", data={"version": version}, follow_redirects=True)
    assert "Someone else changed the calendar" in text_of(response)
    assert calendar_snapshot() == before
    assert not year_row(2027).loaded


def test_a_year_with_nothing_entered_is_confirmed_at_version_zero_only(as_admin) -> None:
    page = text_of(as_admin.get("/calendar/2028"))
    assert input_value(page, "version") == "0"
    mark(as_admin, "2028-01-03", "", "holiday", "停电检修", month="2028/1")
    assert "Someone else changed" in text_of(
        as_admin.post("/calendar/2028/confirm", data={"version": "0"}, follow_redirects=True))
    assert not year_row(2028).loaded
    version = input_value(text_of(as_admin.get("/calendar/2028")), "version")
    as_admin.post("/calendar/2028/confirm", data={"version": version})
    assert year_row(2028).loaded


def test_days_outside_the_desks_years_cannot_be_marked(as_admin) -> None:
    before = calendar_snapshot()
    page = text_of(mark(as_admin, "2207-01-02", "", "holiday", "元旦", month="2027/1"))
    assert field_has_error(page, "first")
    assert "Choose a day from 2000 to 2100." in page
    assert calendar_snapshot() == before


def test_confirming_a_loaded_year_again_changes_nothing(as_admin, calendar_2026) -> None:
    before = calendar_snapshot()
    response = as_admin.post("/calendar/2026/confirm", data={"version": str(year_row(2026).version)},
                             follow_redirects=True)
    assert "2026 is loaded already." in text_of(response)
    assert calendar_snapshot() == before


def test_confirm_without_a_version_is_a_bad_request(as_admin) -> None:
    before = calendar_snapshot()
    assert as_admin.post("/calendar/2027/confirm", data={}).status_code == 400
    assert calendar_snapshot() == before


# Navigation and query counts

def test_month_view_links_the_neighbouring_months(as_admin) -> None:
    page = text_of(as_admin.get("/calendar/2027/1"))
    assert 'href="/calendar/2026/12"' in page and 'href="/calendar/2027/2"' in page
    page = text_of(as_admin.get("/calendar/2027/12"))
    assert 'href="/calendar/2028/1"' in page
    page = text_of(as_admin.get("/calendar/2100/12"))
    assert 'rel="next"' not in page
    page = text_of(as_admin.get("/calendar/2027/2?day=2027-02-20"))
    assert input_value(page, "first") == "2027-02-20"


@pytest.mark.parametrize("url", ["/calendar/2026", "/calendar/2026/10"])
def test_the_year_page_runs_as_many_queries_with_or_without_days(as_admin, count_queries, url) -> None:
    def count() -> int:
        as_admin.get(url)  # warm up
        with count_queries() as counter:
            response = as_admin.get(url)
        assert response.status_code == 200
        return counter.count

    empty = count()
    assert listed_special_days(text_of(as_admin.get("/calendar/2026"))) == {}
    store.prefill(2026)
    db.session.commit()
    full = count()
    assert len(listed_special_days(text_of(as_admin.get("/calendar/2026")))) == 25
    assert full == empty
    assert empty <= 10
