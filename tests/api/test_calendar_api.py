"""The calendar and time-limit endpoints of the API: a year's days, counting working days, the limits."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from servicedesk.calendar import limits, store
from servicedesk.domain.workdays import DayKind
from servicedesk.extensions import db
from servicedesk.models import AuditEvent, Category

CHINESE = re.compile(r"[\u4e00-\u9fff]")
DEFAULT_LIMITS = {"sign": 1, "respond_urgent": 3, "respond_normal": 10, "respond_complex": 20,
                  "feedback": 3, "due_soon": 2}
NEW_DEFAULTS = {"sign": 2, "respond_urgent": 4, "respond_normal": 12, "respond_complex": 25,
                "feedback": 5, "due_soon": 3}
TIME_LIMIT_ACTIONS = ("time_limits.updated", "time_limits.category_updated")


@pytest.fixture
def category_ids(app) -> list[int]:
    """The ids of the categories the migration made, in pick-list order."""
    return list(db.session.scalars(select(Category.id).order_by(Category.position, Category.id)))


def time_limit_events() -> list[AuditEvent]:
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.in_(TIME_LIMIT_ACTIONS)).order_by(AuditEvent.id)))


def messages_of(fields: dict[str, Any], name: str) -> list[str]:
    found = fields[name]
    return found if isinstance(found, list) else [found]


# A year of the calendar

def test_a_loaded_year_lists_its_days(client, token_for, officer, calendar_2026) -> None:
    response = client.get("/api/v1/calendar/2026", headers=token_for(officer))
    assert response.status_code == 200
    body = response.get_json()
    assert body["year"] == 2026
    assert body["loaded"] is True
    assert body["loaded_at"]
    assert body["source"] == "package"
    assert body["source_detail"].startswith("chinese-calendar")
    days = body["days"]
    assert len(days) == 25
    assert {"date": "2026-02-14", "kind": "workday", "name": "春节"} in days
    assert {"date": "2026-10-01", "kind": "holiday", "name": "国庆节"} in days
    assert [day["date"] for day in days] == sorted(day["date"] for day in days)
    assert {day["kind"] for day in days} == {"holiday", "workday"}


def test_a_year_not_loaded_has_no_days(client, token_for, officer, calendar_2026) -> None:
    body = client.get("/api/v1/calendar/2027", headers=token_for(officer)).get_json()
    assert body == {"year": 2027, "loaded": False, "loaded_at": None, "source": None,
                    "source_detail": None, "days": []}


def test_days_marked_but_not_confirmed_are_listed_and_do_not_count(client, token_for, officer,
                                                                   calendar_2026) -> None:
    store.mark_days(date(2027, 10, 1), date(2027, 10, 7), DayKind.HOLIDAY, "国庆节")
    db.session.commit()
    headers = token_for(officer)
    body = client.get("/api/v1/calendar/2027", headers=headers).get_json()
    assert body["loaded"] is False
    assert body["loaded_at"] is None
    assert body["source"] is None
    # 2027-10-02 and 10-03 are a weekend: a holiday range stores only its weekdays
    assert body["days"] == [{"date": day, "kind": "holiday", "name": "国庆节"} for day in
                            ("2027-10-01", "2027-10-04", "2027-10-05", "2027-10-06", "2027-10-07")]
    counted = client.get("/api/v1/calendar/add-working-days?from=2027-09-30&days=1",
                         headers=headers).get_json()
    assert counted["due"] == "2027-10-01"  # counted Monday to Friday until the year is confirmed
    assert counted["provisional"] is True
    assert counted["unloaded_years"] == [2027]


# Counting working days

def test_add_working_days_skips_the_national_day_holidays(client, token_for, officer,
                                                          calendar_2026) -> None:
    response = client.get("/api/v1/calendar/add-working-days?from=2026-09-30&days=3",
                          headers=token_for(officer))
    assert response.status_code == 200
    body = response.get_json()
    assert body["from"] == "2026-09-30"
    assert body["days"] == 3
    assert body["due"] == "2026-10-10"
    assert body["ends_at"] == "2026-10-10T23:59:59+08:00"
    assert body["provisional"] is False
    assert body["unloaded_years"] == []
    assert body["skipped"] == [
        {"date": "2026-10-01", "reason": "holiday", "name": "国庆节"},
        {"date": "2026-10-02", "reason": "holiday", "name": "国庆节"},
        {"date": "2026-10-03", "reason": "weekend", "name": ""},
        {"date": "2026-10-04", "reason": "weekend", "name": ""},
        {"date": "2026-10-05", "reason": "holiday", "name": "国庆节"},
        {"date": "2026-10-06", "reason": "holiday", "name": "国庆节"},
        {"date": "2026-10-07", "reason": "holiday", "name": "国庆节"},
    ]
    assert body["made_up"] == [{"date": "2026-10-10", "name": "国庆节"}]


def test_add_working_days_into_a_year_not_loaded_is_provisional(client, token_for, officer,
                                                                calendar_2026) -> None:
    body = client.get("/api/v1/calendar/add-working-days?from=2026-12-25&days=10",
                      headers=token_for(officer)).get_json()
    assert body["due"] == "2027-01-08"
    assert body["provisional"] is True
    assert body["unloaded_years"] == [2027]
    assert [day["date"] for day in body["skipped"]] == ["2026-12-26", "2026-12-27", "2027-01-02",
                                                       "2027-01-03"]
    assert {day["reason"] for day in body["skipped"]} == {"weekend"}
    assert body["made_up"] == []


def test_zero_working_days_is_the_day_itself(client, token_for, officer, calendar_2026) -> None:
    body = client.get("/api/v1/calendar/add-working-days?from=2026-10-01&days=0",
                      headers=token_for(officer)).get_json()
    assert body["due"] == "2026-10-01"
    assert body["skipped"] == []
    assert body["provisional"] is False


BAD_QUERIES = [
    pytest.param("from=2026-13-01&days=3", "from", "date", id="month-13"),
    pytest.param("from=2026-09-30&days=-1", "days", "250", id="negative"),
    pytest.param("from=2026-09-30", "days", "required", id="days-missing"),
    pytest.param("from=2026-09-30&days=251", "days", "250", id="251-days"),
    pytest.param("from=9999-12-25&days=3", "from", "2100", id="far-future"),
]


@pytest.mark.parametrize("year", [1999, 2101, 99999])
def test_years_outside_the_desk_are_not_found(client, token_for, officer, year) -> None:
    assert client.get(f"/api/v1/calendar/{year}", headers=token_for(officer)).status_code == 404


@pytest.mark.parametrize("query, field, english", BAD_QUERIES)
def test_bad_input_is_refused_in_english_when_asked(client, token_for, officer, query, field,
                                                    english) -> None:
    response = client.get(f"/api/v1/calendar/add-working-days?{query}",
                          headers={**token_for(officer), "Accept-Language": "en"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == {field}
    messages = messages_of(error["fields"], field)
    assert any(english in message.lower() for message in messages)
    assert not CHINESE.search(error["message"] + "".join(messages))


@pytest.mark.parametrize("query, field, _english", BAD_QUERIES)
def test_bad_input_is_refused_in_chinese_by_default(client, token_for, officer, query, field,
                                                    _english) -> None:
    response = client.get(f"/api/v1/calendar/add-working-days?{query}", headers=token_for(officer))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert set(error["fields"]) == {field}
    assert CHINESE.search(error["message"])
    assert all(CHINESE.search(message) for message in messages_of(error["fields"], field))


@pytest.mark.parametrize("method, url", [
    ("get", "/api/v1/calendar/add-working-days?from=2026-09-30&days=3"),
    ("get", "/api/v1/calendar/2026"),
    ("get", "/api/v1/time-limits"),
    ("put", "/api/v1/time-limits"),
])
def test_calendar_and_limits_need_a_token(client, officer, method, url) -> None:
    kwargs = {"json": {"defaults": NEW_DEFAULTS}} if method == "put" else {}
    response = getattr(client, method)(url, **kwargs)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert limits.as_document()["defaults"] == DEFAULT_LIMITS


# Time limits

@pytest.mark.parametrize("role", ["officer", "leader", "admin", "handler"])
def test_everyone_signed_in_reads_the_time_limits(client, token_for, users_by_role, role) -> None:
    response = client.get("/api/v1/time-limits", headers=token_for(users_by_role[role]))
    assert response.status_code == 200
    assert response.get_json() == {"defaults": DEFAULT_LIMITS, "categories": []}


def test_admin_sets_defaults_and_category_limits(client, token_for, admin_user, category_ids) -> None:
    headers = token_for(admin_user)
    first, second = category_ids[:2]
    response = client.put("/api/v1/time-limits", headers=headers, json={
        "defaults": NEW_DEFAULTS,
        "categories": [{"category_id": first, "limits": {"sign": 2}},
                       {"category_id": second, "limits": {"respond_normal": 7, "feedback": 4}}],
    })
    assert response.status_code == 200
    expected = {"defaults": NEW_DEFAULTS,
                "categories": [{"category_id": first, "limits": {"sign": 2}},
                               {"category_id": second, "limits": {"respond_normal": 7, "feedback": 4}}]}
    assert response.get_json() == expected
    assert client.get("/api/v1/time-limits", headers=headers).get_json() == expected
    in_force = limits.current()
    assert in_force.sign(first) == 2
    assert in_force.sign(second) == 2  # the new default
    assert in_force.feedback(second) == 4

    events = time_limit_events()
    assert [(e.action, e.subject_type, e.subject_id) for e in events] == [
        ("time_limits.updated", "time_limits", None),
        ("time_limits.category_updated", "categories", first),
        ("time_limits.category_updated", "categories", second),
    ]
    assert {e.actor_id for e in events} == {admin_user.id}
    assert events[0].details == {name: [DEFAULT_LIMITS[name], NEW_DEFAULTS[name]]
                                 for name in DEFAULT_LIMITS}
    assert events[1].details == {"sign": [None, 2]}
    assert events[2].details == {"respond_normal": [None, 7], "feedback": [None, 4]}


def test_categories_left_out_lose_their_limits(client, token_for, admin_user, category_ids) -> None:
    headers = token_for(admin_user)
    first, second = category_ids[:2]
    client.put("/api/v1/time-limits", headers=headers, json={
        "defaults": DEFAULT_LIMITS,
        "categories": [{"category_id": first, "limits": {"sign": 2}},
                       {"category_id": second, "limits": {"feedback": 4}}],
    })
    response = client.put("/api/v1/time-limits", headers=headers, json={
        "defaults": DEFAULT_LIMITS,
        "categories": [{"category_id": second, "limits": {"feedback": 4}}],
    })
    assert response.status_code == 200
    assert response.get_json() == {"defaults": DEFAULT_LIMITS, "categories": [
        {"category_id": second, "limits": {"feedback": 4}}]}
    last = time_limit_events()[-1]
    assert (last.action, last.subject_id, last.details) == (
        "time_limits.category_updated", first, {"sign": [2, None]})
    # the defaults did not change: no event for them
    assert [e.action for e in time_limit_events()].count("time_limits.updated") == 0


@pytest.mark.parametrize("role", ["officer", "leader", "handler"])
def test_only_admins_change_the_time_limits(client, token_for, users_by_role, category_ids,
                                            role) -> None:
    response = client.put("/api/v1/time-limits", headers=token_for(users_by_role[role]), json={
        "defaults": NEW_DEFAULTS, "categories": [{"category_id": category_ids[0], "limits": {"sign": 2}}]})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert limits.as_document() == {"defaults": DEFAULT_LIMITS, "categories": []}
    assert time_limit_events() == []


def _at(fields: dict[str, Any], path: tuple[str, ...]) -> Any:
    found: Any = fields
    for step in path:
        assert isinstance(found, dict) and step in found, f"no {path} in {fields}"
        found = found[step]
    return found


# (the body, made from two category ids; where the message is, {second} for the second id)
REFUSED_BODIES = [
    pytest.param(lambda first, second: {
        "defaults": {k: v for k, v in NEW_DEFAULTS.items() if k != "sign"}},
        ("defaults.sign",), id="missing-default"),
    pytest.param(lambda first, second: {"defaults": {**NEW_DEFAULTS, "respond_normal": 251}},
                 ("defaults.respond_normal",), id="default-above-250"),
    pytest.param(lambda first, second: {"defaults": {**NEW_DEFAULTS, "sign": 0}},
                 ("defaults.sign",), id="sign-0"),
    pytest.param(lambda first, second: {"defaults": {**NEW_DEFAULTS, "colour": 3}},
                 ("defaults", "colour"), id="unknown-limit"),
    pytest.param(lambda first, second: {
        "defaults": NEW_DEFAULTS, "categories": [{"category_id": 99_999, "limits": {"sign": 2}}]},
        ("categories",), id="unknown-category"),
    pytest.param(lambda first, second: {
        "defaults": NEW_DEFAULTS, "categories": [{"category_id": second, "limits": {"due_soon": 1}}]},
        ("categories", "0", "limits", "due_soon"), id="category-due-soon"),
    # refused after the defaults and the first category were changed in the session
    pytest.param(lambda first, second: {
        "defaults": NEW_DEFAULTS, "categories": [{"category_id": second, "limits": {"sign": 0}}]},
        ("categories.{second}.sign",), id="category-out-of-range"),
]


@pytest.mark.parametrize("make_body, path", REFUSED_BODIES)
def test_invalid_time_limits_are_refused_and_nothing_changes(client, token_for, admin_user,
                                                             category_ids, make_body,
                                                             path) -> None:
    headers = token_for(admin_user)
    first, second = category_ids[:2]
    before = {"defaults": DEFAULT_LIMITS,
              "categories": [{"category_id": first, "limits": {"respond_urgent": 2}}]}
    assert client.put("/api/v1/time-limits", headers=headers, json=before).status_code == 200
    events_before = db.session.scalar(select(func.count()).select_from(AuditEvent))

    response = client.put("/api/v1/time-limits", headers=headers, json=make_body(first, second))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert _at(error["fields"], tuple(step.format(second=second) for step in path))
    assert limits.as_document() == before
    assert client.get("/api/v1/time-limits", headers=headers).get_json() == before
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events_before


# The OpenAPI document

def test_openapi_describes_the_calendar_and_the_time_limits(client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.get_json()["paths"]
    assert "get" in paths["/api/v1/calendar/{year}"]
    counting = paths["/api/v1/calendar/add-working-days"]["get"]
    assert {p["name"] for p in counting["parameters"] if p["in"] == "query"} == {"from", "days"}
    assert {"get", "put"} <= set(paths["/api/v1/time-limits"])
    assert "requestBody" in paths["/api/v1/time-limits"]["put"]
