"""The deadline calculator: when N working days from a day end, and why."""

from __future__ import annotations

import re

from tests.calendar.helpers import field_has_error, input_value, text_of


def explanation(client, query: str) -> str:
    response = client.get(f"/calendar/deadline?{query}")
    assert response.status_code == 200
    return text_of(response)


def due(page: str) -> str:
    match = re.search(r'class="deadline-explanation" data-due="([0-9-]+)"', page)
    assert match, "no explanation on the page"
    return match.group(1)


def days_in(page: str, list_class: str) -> list[str]:
    found = re.search(rf'<ul class="{list_class} small">(.*?)</ul>', page, re.S)
    return re.findall(r'<li data-day="([0-9-]+)"', found.group(1)) if found else []


def test_national_day_is_skipped_and_the_make_up_day_counts(sign_in, officer, calendar_2026) -> None:
    page = explanation(sign_in(officer), "start=2026-09-30&days=3")
    assert due(page) == "2026-10-10"
    assert days_in(page, "skipped-days") == ["2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04",
                                             "2026-10-05", "2026-10-06", "2026-10-07"]
    skipped = re.search(r'<ul class="skipped-days small">(.*?)</ul>', page, re.S).group(1)
    assert skipped.count("holiday, National Day") == 5
    assert skipped.count("weekend") == 2
    assert days_in(page, "made-up-days") == ["2026-10-10"]
    assert "worked in exchange for National Day" in page
    assert "provisional-mark" not in page
    assert "unloaded-years" not in page
    assert "Due 2026-10-10 (Sat)" in page


def test_without_the_calendar_the_deadline_is_provisional(sign_in, officer) -> None:
    page = explanation(sign_in(officer), "start=2026-09-30&days=3")
    assert due(page) == "2026-10-05"
    assert days_in(page, "skipped-days") == ["2026-10-03", "2026-10-04"]
    assert days_in(page, "made-up-days") == []
    assert "provisional-mark" in page
    assert "The calendar of 2026 is not loaded" in page


def test_a_deadline_into_an_unloaded_year_is_provisional(sign_in, leader, calendar_2026) -> None:
    page = explanation(sign_in(leader), "start=2026-12-28&days=10")
    assert due(page) == "2027-01-11"  # 2027-01-01 counted as a plain Friday
    assert "provisional-mark" in page
    unloaded = re.search(r'<p class="[^"]*unloaded-years">(.*?)</p>', page, re.S)
    assert unloaded and "The calendar of 2027 is not loaded" in unloaded.group(1)
    assert "2026" not in unloaded.group(1)


def test_a_deadline_within_a_loaded_year_with_no_day_skipped(sign_in, handler, calendar_2026) -> None:
    page = explanation(sign_in(handler), "start=2026-03-02&days=0")
    assert due(page) == "2026-03-02"
    assert "No day in between was skipped" in page


def test_without_a_query_the_form_starts_today_with_the_sign_limit(sign_in, officer, freeze_clock) -> None:
    freeze_clock("2026-06-15T09:00+08:00")
    page = explanation(sign_in(officer), "")
    assert input_value(page, "start") == "2026-06-15"
    assert input_value(page, "days") == "1"
    assert 'id="deadline-result"' not in page


def test_a_wrong_query_shows_the_errors_and_no_result(sign_in, officer) -> None:
    client = sign_in(officer)
    page = explanation(client, "start=2026-02-30&days=3")
    assert field_has_error(page, "start")
    assert 'id="deadline-result"' not in page
    page = explanation(client, "start=2026-09-30&days=251")
    assert field_has_error(page, "days")
    assert 'id="deadline-result"' not in page
    page = explanation(client, "start=2026-09-30&days=-1")
    assert field_has_error(page, "days")


def test_a_start_outside_the_supported_years_is_refused(sign_in, officer) -> None:
    client = sign_in(officer)
    for start in ("1999-12-31", "2101-01-01", "9999-12-31"):
        page = explanation(client, f"start={start}&days=3")
        assert field_has_error(page, "start"), start
        assert 'id="deadline-result"' not in page
