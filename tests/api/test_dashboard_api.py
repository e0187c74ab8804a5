"""The dashboard API on the hand-built June (tests/dashboard/conftest.py): the figures are the measures,
each count's `list` (this API's demand list) totals its value and its `page` is the desk's list, the
scope read leniently, and who may ask."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from servicedesk.calendar.store import working_calendar
from servicedesk.dashboard.measures import Count, Period, PeriodKind, Rate, Scope, dashboard
from servicedesk.demands.search import card_window
from tests.dashboard import conftest as june_data
from tests.dashboard.conftest import JUNE_TODAY, June

#: the hand-built June, a fixture of the dashboard's tests
june = june_data.june
JUNE = Period(PeriodKind.MONTH, date(2026, 6, 1), date(2026, 6, 30))


def measures(june: June, **scope: Any) -> Any:
    calendar = working_calendar()
    return dashboard(june.leader, Scope(JUNE, JUNE_TODAY, **scope), card_window(JUNE_TODAY, calendar),
                     calendar)


def numbers_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every count the answer holds, wherever it is."""
    found = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if {"value", "list", "page"} <= value.keys():
                found.append(value)
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(body)
    return found


def test_the_figures_are_the_measures(client, token_for, june: June) -> None:
    response = client.get("/api/v1/dashboard", headers=token_for(june.leader))
    assert response.status_code == 200
    body = response.get_json()
    assert body["scope"] == {"period": {"kind": "month", "first": "2026-06-01", "last": "2026-06-30"},
                             "today": "2026-06-30", "department": None, "category": None}
    board = measures(june)
    for count in Count:
        number = body["headline"]["counts"][count.value]
        assert number["value"] == board.headline[count].value, count
        assert number["definition"] and number["label"]
    for rate in Rate:
        value = board.headline.rate(rate)
        answer = body["headline"]["rates"][rate.value]
        assert answer["value"] == pytest.approx(value.value)
        assert answer["met"]["value"] == value.met.value
        assert answer["measured"]["value"] == value.measured.value
    average = body["headline"]["average_days"]
    assert average["value"] == pytest.approx(42 / 5) and average["over"]["value"] == 5
    league = {row["department"]["id"]: row for row in body["league"]}
    b = league[june.department_b.id]
    assert b["figures"]["rates"]["resolution"]["value"] is None  # no cases: null, not 0 or 1
    assert b["worst"] == ["returns"]
    assert [row["department"]["id"] for row in body["league"]] == [june.department_a.id, june.department_b.id]
    assert [(age["fewest"], age["most"], age["open"]["value"]) for age in body["ages"]] == [
        (0, 5, 1), (6, 10, 1), (11, 20, 4), (21, None, 1)]
    assert len(body["trend"]) == 12 and body["trend"][-1]["week"] == "2026-06-29"
    numbers = {june.demands[name].number: name for name in ("d3", "d6", "d7")}
    assert [(numbers[item["number"]], item["days_overdue"]) for item in body["red_list"]] == [
        ("d7", 15), ("d3", 14), ("d6", 5)]
    assert body["red_list"][0]["step"] == "feedback" and body["red_list"][0]["due"] == "2026-06-08"
    assert [item["id"] for item in body["key_supervision"]] == [june.demands["d11"].id]
    assert body["companies"][0]["figures"]["counts"]["open"]["value"] == 7
    assert body["categories"][0]["category"]["name"]


def test_each_list_holds_exactly_the_demands_counted(client, token_for, june: June, auth) -> None:
    headers = token_for(june.leader)
    body = client.get("/api/v1/dashboard", headers=headers).get_json()
    numbers = numbers_of(body)
    assert len(numbers) > 100
    checked = {}
    for number in numbers:
        if number["list"] not in checked:
            listed = client.get(number["list"], headers=headers)
            assert listed.status_code == 200, number["list"]
            checked[number["list"]] = listed.get_json()["total"]
        assert checked[number["list"]] == number["value"], number["list"]
        assert number["page"].startswith("/demands/?") or number["page"] == "/demands/"
        assert number["page"].split("?")[1:] == number["list"].split("?")[1:]
    auth.login(june.leader)
    closed = body["headline"]["counts"]["closed"]["page"]
    assert f'data-total="{body["headline"]["counts"]["closed"]["value"]}"' in client.get(closed).get_data(
        as_text=True)


def test_a_department_a_category_and_a_range(client, token_for, june: June) -> None:
    headers = token_for(june.officer)
    b = client.get(f"/api/v1/dashboard?department={june.department_b.id}", headers=headers).get_json()
    assert b["scope"]["department"] == {"id": june.department_b.id, "name": june.department_b.name}
    assert b["headline"]["counts"]["open"]["value"] == 1 and b["headline"]["counts"]["returns"]["value"] == 1
    category = june.demands["d1"].category_id
    by_category = client.get(f"/api/v1/dashboard?category={category}", headers=headers).get_json()
    assert by_category["scope"]["category"]["id"] == category
    assert by_category["headline"]["counts"]["open"]["value"] == 7
    chosen = client.get("/api/v1/dashboard?from=2026-06-01&to=2026-06-07", headers=headers).get_json()
    assert chosen["scope"]["period"] == {"kind": "range", "first": "2026-06-01", "last": "2026-06-07"}
    assert chosen["headline"]["counts"]["dispatched"]["value"] == 5
    quarter = client.get("/api/v1/dashboard?period=quarter", headers=headers).get_json()
    assert quarter["scope"]["period"]["first"] == "2026-04-01"


def test_bad_arguments_are_ignored(client, token_for, june: June) -> None:
    headers = token_for(june.leader)
    for query in ("period=decade", "from=yesterday&to=2026-06-30", "from=2026-06-30&to=2026-06-01",
                  "department=abc", "department=999999", "category=-3", "unknown=1", "sort=x&order=y"):
        response = client.get(f"/api/v1/dashboard?{query}", headers=headers)
        assert response.status_code == 200, query
        body = response.get_json()
        assert body["scope"]["period"]["kind"] == "month", query
        assert body["scope"]["department"] is None and body["scope"]["category"] is None, query
        assert body["headline"]["counts"]["open"]["value"] == 7, query


def test_handlers_and_administrators_may_not_ask(client, token_for, june: June, admin_user) -> None:
    for user in (june.handler_a, admin_user):
        assert client.get("/api/v1/dashboard", headers=token_for(user)).status_code == 403
    assert client.get("/api/v1/dashboard").status_code == 401


def test_the_demand_list_takes_the_measure_filters_and_refuses_bad_ones(client, token_for,
                                                                        june: June) -> None:
    headers = token_for(june.leader)
    listed = client.get("/api/v1/demands?state=closed&close_reason=withdrawn&close_reason=duplicate"
                        "&closed_from=2026-06-01", headers=headers).get_json()
    assert {item["id"] for item in listed["items"]} == june.ids("d8", "d9")
    for query, name in (("close_reason=lost", "close_reason"), ("sign=perhaps", "sign"),
                        ("responded_from=tomorrow", "responded_from"), ("owed_by=nobody", "owed_by")):
        response = client.get(f"/api/v1/demands?{query}", headers=headers)
        assert response.status_code == 422, query
        assert name in response.get_json()["error"]["fields"], query


def test_the_dashboard_is_in_the_openapi_document(client) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/dashboard"]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} >= {"period", "from", "to",
                                                                          "department", "category"}
