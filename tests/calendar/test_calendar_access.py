"""Who may open the calendar pages: everyone signed in looks, only admins change anything."""

from __future__ import annotations

import io

import pytest

from servicedesk.extensions import db
from servicedesk.models import Category
from tests.calendar.helpers import calendar_snapshot, element, text_of

PAGES = ["/calendar/2026", "/calendar/2026/10", "/calendar/deadline",
         "/calendar/deadline?start=2026-09-30&days=3", "/calendar/time-limits"]
ROLES = ["officer", "leader", "admin", "handler"]
#: a well-formed token of an upload that does not exist
TOKEN = "A" * 24


def _first_category_id() -> int:
    return db.session.scalars(db.select(Category.id).order_by(Category.id)).first()


def admin_only_requests() -> list[tuple[str, str, dict]]:
    category_id = _first_category_id()
    return [
        ("post", "/calendar/2026/prefill", {}),
        ("post", "/calendar/2027/confirm", {"version": "0"}),
        ("post", "/calendar/2027/2/mark", {"first": "2027-02-08", "last": "2027-02-12",
                                            "kind": "holiday", "name": "春节"}),
        ("get", "/calendar/import", {}),
        ("post", "/calendar/import", {"file": (io.BytesIO(b"date,kind,name\n2027-01-01,holiday,x\n"),
                                               "2027.csv")}),
        ("get", "/calendar/import/template.xlsx", {}),
        ("get", f"/calendar/import/{TOKEN}", {}),
        ("post", f"/calendar/import/{TOKEN}/confirm", {}),
        ("post", f"/calendar/import/{TOKEN}/cancel", {}),
        ("post", "/calendar/time-limits", {"sign": "5", "respond_urgent": "3", "respond_normal": "10",
                                           "respond_complex": "20", "feedback": "3", "due_soon": "2"}),
        ("get", f"/calendar/time-limits/categories/{category_id}", {}),
        ("post", f"/calendar/time-limits/categories/{category_id}", {"respond_normal": "15"}),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_can_open_the_calendar_pages(sign_in, users_by_role, role) -> None:
    client = sign_in(users_by_role[role])
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
    response = client.get("/calendar/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/calendar/20")
    deadline = text_of(client.get("/calendar/deadline?start=2026-09-30&days=3"))
    assert 'id="deadline-result"' in deadline


@pytest.mark.parametrize("role", ["officer", "leader", "handler"])
def test_non_admins_cannot_change_the_calendar(sign_in, users_by_role, role) -> None:
    client = sign_in(users_by_role[role])
    before = calendar_snapshot()
    for method, url, data in admin_only_requests():
        if method == "get":
            response = client.get(url)
        else:
            response = client.post(url, data=data, content_type="multipart/form-data")
        assert response.status_code == 403, (method, url)
    assert calendar_snapshot() == before
    from servicedesk.calendar import limits

    assert limits.current().sign() == 1
    assert limits.category_rows() == {}


@pytest.mark.parametrize("role", ["officer", "leader", "handler"])
def test_non_admins_see_no_controls(sign_in, users_by_role, role) -> None:
    client = sign_in(users_by_role[role])
    year = text_of(client.get("/calendar/2026"))
    assert 'id="year-actions"' not in year
    assert "/calendar/2026/prefill" not in year
    month = text_of(client.get("/calendar/2026/10"))
    assert 'id="mark-form"' not in month
    limits_page = text_of(client.get("/calendar/time-limits"))
    assert 'name="sign"' not in limits_page
    assert 'name="csrf_token"' not in element(limits_page, "form", "time-limits-form")
    assert "/calendar/time-limits/categories/" not in limits_page
    assert "/calendar/import" not in year  # neither the tab nor the button


def test_admin_sees_the_controls(as_admin) -> None:
    year = text_of(as_admin.get("/calendar/2026"))
    assert 'id="year-actions"' in year
    assert 'action="/calendar/2026/prefill"' in year
    assert 'href="/calendar/import"' in year
    assert 'id="mark-form"' in text_of(as_admin.get("/calendar/2026/10"))
    limits_page = text_of(as_admin.get("/calendar/time-limits"))
    assert 'name="sign"' in limits_page
    assert f"/calendar/time-limits/categories/{_first_category_id()}" in limits_page


def test_anonymous_is_sent_to_login(client) -> None:
    for url in [*PAGES, "/calendar/", "/calendar/import", "/calendar/import/template.xlsx",
                f"/calendar/time-limits/categories/{_first_category_id()}"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/auth/login"), url
    before = calendar_snapshot()
    for method, url, data in admin_only_requests():
        if method == "post":
            response = client.post(url, data=data, content_type="multipart/form-data")
            assert response.status_code == 302, url
            assert response.headers["Location"].startswith("/auth/login"), url
    assert calendar_snapshot() == before


@pytest.mark.parametrize("url", ["/calendar/1999", "/calendar/2101", "/calendar/2026/0", "/calendar/2026/13",
                                 "/calendar/time-limits/categories/999999"])
def test_out_of_range_pages_are_not_found(as_admin, url) -> None:
    assert as_admin.get(url).status_code == 404
