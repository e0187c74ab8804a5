"""The time limits page: the defaults, each category's own limits, and who changed them."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from servicedesk.calendar import limits
from servicedesk.domain.time_limits import DEFAULTS, Limit, Urgency
from servicedesk.extensions import db
from servicedesk.models import Category, CategoryTimeLimit, TimeLimitSetting
from tests.calendar.helpers import element, event_count, events, field_has_error, input_value, text_of

FIELDS = [limit.value for limit in Limit]


def stored_defaults() -> dict[str, int]:
    db.session.expire_all()
    return {row.kind: row.working_days for row in db.session.scalars(select(TimeLimitSetting))}


def stored_category_limits() -> list[tuple[int, str, int]]:
    db.session.expire_all()
    return sorted((row.category_id, row.kind, row.working_days)
                  for row in db.session.scalars(select(CategoryTimeLimit)))


def limit_row(page: str, limit: str) -> str:
    match = re.search(rf'<tr data-limit="{limit}">.*?</tr>', page, re.S)
    assert match, limit
    return match.group(0)


def category_row(page: str, category_id: int) -> str:
    match = re.search(rf'<tr data-category="{category_id}">.*?</tr>', page, re.S)
    assert match, category_id
    return match.group(0)


def form_values(page: str, names: list[str]) -> dict[str, str]:
    return {name: input_value(page, name) for name in [*names, "seen"]}


@pytest.fixture
def two_categories() -> tuple[Category, Category]:
    first, second = db.session.scalars(select(Category).order_by(Category.id).limit(2)).all()
    return first, second


def test_the_page_shows_the_defaults_and_an_example_deadline(as_admin, freeze_clock, calendar_2026) -> None:
    freeze_clock("2026-09-30T10:00+08:00")
    page = text_of(as_admin.get("/calendar/time-limits"))
    assert stored_defaults() == {limit.value: days for limit, days in DEFAULTS.items()}
    for limit, days in DEFAULTS.items():
        assert input_value(page, limit.value) == str(days)
        assert "the default" in limit_row(page, limit.value)
    # Dispatched on 2026-09-30, signed within 1 working day: after National Day, on 2026-10-08.
    sign = limit_row(page, "sign")
    assert 'href="/calendar/deadline?start=2026-09-30&days=1"' in sign
    assert ">2026-10-08<" in sign
    assert "/calendar/deadline" not in limit_row(page, "due_soon")


def test_non_admins_read_the_limits(sign_in, officer) -> None:
    page = text_of(sign_in(officer).get("/calendar/time-limits"))
    assert ">1<" in limit_row(page, "sign").replace(" ", "").replace("\n", "")
    assert ">20<" in limit_row(page, "respond_complex").replace(" ", "").replace("\n", "")


def test_admin_saves_new_defaults(as_admin, admin_user) -> None:
    values = form_values(text_of(as_admin.get("/calendar/time-limits")), FIELDS)
    values.update(sign="2", respond_normal="12", due_soon="0")
    response = as_admin.post("/calendar/time-limits", data=values)
    assert response.status_code == 302
    assert response.headers["Location"] == "/calendar/time-limits"

    assert stored_defaults() == {**{limit.value: days for limit, days in DEFAULTS.items()},
                                 "sign": 2, "respond_normal": 12, "due_soon": 0}
    current = limits.current()
    assert current.sign() == 2 and current.respond(Urgency.NORMAL) == 12 and current.due_soon == 0
    [event] = events("time_limits.updated")
    assert event.actor_id == admin_user.id
    assert event.subject_type == "time_limits"
    assert event.details == {"sign": [1, 2], "respond_normal": [10, 12], "due_soon": [2, 0]}

    page = text_of(as_admin.get("/calendar/time-limits"))
    assert "The time limits have been saved." in page
    assert input_value(page, "sign") == "2"
    assert "by 管理员" in limit_row(page, "sign")
    assert "by 管理员" not in limit_row(page, "respond_urgent")
    assert "the default" in limit_row(page, "respond_urgent")
    assert input_value(page, "seen") != values["seen"]


def test_saving_the_same_values_changes_nothing(as_admin) -> None:
    values = form_values(text_of(as_admin.get("/calendar/time-limits")), FIELDS)
    before = event_count()
    response = as_admin.post("/calendar/time-limits", data=values, follow_redirects=True)
    assert "Nothing was changed." in text_of(response)
    assert event_count() == before
    assert events("time_limits.updated") == []


@pytest.mark.parametrize("changes, wrong", [
    ({"sign": "0"}, ["sign"]),
    ({"respond_complex": "251"}, ["respond_complex"]),
    ({"sign": "0", "feedback": "251", "due_soon": "-1"}, ["sign", "feedback", "due_soon"]),
    ({"respond_urgent": "three"}, ["respond_urgent"]),
    ({"respond_normal": ""}, ["respond_normal"]),
])
def test_out_of_range_defaults_are_refused(as_admin, changes, wrong) -> None:
    values = form_values(text_of(as_admin.get("/calendar/time-limits")), FIELDS)
    values.update(changes)
    values["respond_urgent" if "respond_urgent" not in wrong else "sign"] = "4"  # a valid change too
    before_defaults, before_events = stored_defaults(), event_count()
    response = as_admin.post("/calendar/time-limits", data=values)
    assert response.status_code == 200
    page = text_of(response)
    for name in FIELDS:
        assert field_has_error(page, name) == (name in wrong), name
    assert stored_defaults() == before_defaults
    assert event_count() == before_events


def test_a_stale_form_is_refused(as_admin) -> None:
    values = form_values(text_of(as_admin.get("/calendar/time-limits")), FIELDS)
    limits.set_defaults({Limit.FEEDBACK: 5}, seen=None)  # another admin, meanwhile
    db.session.commit()
    before_defaults, before_events = stored_defaults(), event_count()

    values.update(sign="3")
    response = as_admin.post("/calendar/time-limits", data=values)
    assert response.status_code == 302
    assert stored_defaults() == before_defaults
    assert stored_defaults()["feedback"] == 5 and stored_defaults()["sign"] == 1
    assert event_count() == before_events
    page = text_of(as_admin.get("/calendar/time-limits"))
    assert "Someone else changed the time limits while you were editing them." in page
    assert input_value(page, "feedback") == "5"


def test_a_forged_fingerprint_is_refused(as_admin) -> None:
    values = form_values(text_of(as_admin.get("/calendar/time-limits")), FIELDS)
    values.update(sign="3", seen="0" * 16)
    before = stored_defaults()
    as_admin.post("/calendar/time-limits", data=values)
    assert stored_defaults() == before
    assert events("time_limits.updated") == []


# A category's own limits

def test_a_category_gets_its_own_limit_and_loses_it(as_admin, admin_user, two_categories) -> None:
    category, other = two_categories
    url = f"/calendar/time-limits/categories/{category.id}"
    page = text_of(as_admin.get(url))
    names = [limit.value for limit in limits.PER_CATEGORY]
    assert 'name="due_soon"' not in page  # the same for every category
    values = form_values(page, names)
    assert {name: value for name, value in values.items() if name != "seen"} == dict.fromkeys(names, "")

    values["respond_normal"] = "15"
    response = as_admin.post(url, data=values)
    assert response.status_code == 302
    assert response.headers["Location"] == "/calendar/time-limits"
    assert stored_category_limits() == [(category.id, "respond_normal", 15)]
    current = limits.current()
    assert current.respond(Urgency.NORMAL, category.id) == 15
    assert current.respond(Urgency.NORMAL, other.id) == 10
    assert current.respond(Urgency.NORMAL) == 10
    assert current.respond(Urgency.URGENT, category.id) == 3
    [event] = events("time_limits.category_updated")
    assert (event.subject_type, event.subject_id) == ("categories", category.id)
    assert event.actor_id == admin_user.id
    assert event.details == {"respond_normal": [None, 15]}

    table = text_of(as_admin.get("/calendar/time-limits"))
    row = category_row(table, category.id)
    assert re.findall(r'<td class="fw-bold own-limit">(\d+)</td>', row) == ["15"]
    assert "own-limit" not in category_row(table, other.id)
    page = text_of(as_admin.get(url))
    assert input_value(page, "respond_normal") == "15"
    assert "by 管理员" in limit_row(page, "respond_normal")

    values = form_values(page, names)
    values["respond_normal"] = ""
    as_admin.post(url, data=values)
    assert stored_category_limits() == []
    assert limits.current().respond(Urgency.NORMAL, category.id) == 10
    assert events("time_limits.category_updated")[-1].details == {"respond_normal": [15, None]}
    assert "own-limit" not in category_row(text_of(as_admin.get("/calendar/time-limits")), category.id)


def test_a_category_limit_out_of_range_is_refused(as_admin, two_categories) -> None:
    category, _other = two_categories
    url = f"/calendar/time-limits/categories/{category.id}"
    values = form_values(text_of(as_admin.get(url)), [limit.value for limit in limits.PER_CATEGORY])
    values.update(sign="0", respond_complex="251", feedback="2")
    before = event_count()
    response = as_admin.post(url, data=values)
    assert response.status_code == 200
    page = text_of(response)
    assert field_has_error(page, "sign") and field_has_error(page, "respond_complex")
    assert not field_has_error(page, "feedback")
    assert stored_category_limits() == []
    assert event_count() == before


def test_a_stale_category_form_is_refused(as_admin, two_categories) -> None:
    category, _other = two_categories
    url = f"/calendar/time-limits/categories/{category.id}"
    values = form_values(text_of(as_admin.get(url)), [limit.value for limit in limits.PER_CATEGORY])
    limits.set_category_limits(category, {Limit.SIGN: 2}, seen=None)
    db.session.commit()
    before = event_count()
    values["respond_normal"] = "15"
    response = as_admin.post(url, data=values)
    assert response.status_code == 302 and response.headers["Location"] == url
    assert stored_category_limits() == [(category.id, "sign", 2)]
    assert event_count() == before
    page = text_of(as_admin.get(url))
    assert "Someone else changed this category's limits" in page
    assert input_value(page, "sign") == "2"


def test_the_category_page_shows_the_defaults_as_placeholders(as_admin, two_categories) -> None:
    limits.set_defaults({Limit.RESPOND_NORMAL: 12}, seen=None)
    db.session.commit()
    category, _other = two_categories
    page = text_of(as_admin.get(f"/calendar/time-limits/categories/{category.id}"))
    form = element(page, "form", "category-limits-form")
    field = re.search(r'<input[^>]*name="respond_normal"[^>]*>', form)
    assert 'placeholder="12"' in field.group(0)


def test_the_page_runs_as_many_queries_however_many_categories_have_limits(as_admin, count_queries) -> None:
    def count() -> int:
        as_admin.get("/calendar/time-limits")
        with count_queries() as counter:
            response = as_admin.get("/calendar/time-limits")
        assert response.status_code == 200
        return counter.count

    few = count()
    for category in db.session.scalars(select(Category)):
        limits.set_category_limits(category, {Limit.SIGN: 2, Limit.RESPOND_NORMAL: 12}, seen=None)
    db.session.commit()
    many = count()
    assert len(stored_category_limits()) >= 4
    assert many == few
