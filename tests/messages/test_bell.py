"""The bell in the navigation bar, the user's messages, marking them read, and what a user is chased
for."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from servicedesk.chaser.messages import notify
from servicedesk.extensions import db
from servicedesk.models import ChaseRecord, DemandEvent, Notification, Role

NOW = datetime.fromisoformat("2026-06-17T09:00+08:00")


@pytest.fixture(autouse=True)
def _english(client) -> None:
    """These tests read the English wording; the Chinese catalog has its own tests."""
    client.post("/language", data={"locale": "en", "next": "/"})


def _notes(user, count: int, kind: str = "overdue", demand=None, record=None,
           start: datetime = NOW) -> list[int]:
    for number in range(count):
        notify([user.id], kind, demand.id if demand else None, record.id if record else None,
               start + timedelta(minutes=number))
    db.session.commit()
    return list(db.session.scalars(select(Notification.id).where(Notification.user_id == user.id)
                                   .order_by(Notification.id)))


def _record(demand, kind: str = "overdue") -> ChaseRecord:
    event = DemandEvent(demand_id=demand.id, at=NOW, action="reminded", details={})
    db.session.add(event)
    db.session.flush()
    record = ChaseRecord(idempotency_key=f"d{demand.id}:sign:{kind}:{event.id}", demand_id=demand.id,
                         event_id=event.id, kind=kind, deadline="sign", due=date(2026, 6, 16),
                         working_day=date(2026, 6, 17), department_id=demand.lead_department_id)
    db.session.add(record)
    db.session.commit()
    return record


def _bell(page: str) -> tuple[str, str | None]:
    unread = re.search(r'id="bell" data-unread="(\d+)"', page)
    badge = re.search(r'id="bell-count">([^<]+)<', page)
    assert unread, "no bell on the page"
    return unread.group(1), badge.group(1) if badge else None


def _unread(user) -> int:
    return len(db.session.scalars(select(Notification.id).where(Notification.user_id == user.id,
                                                                Notification.read_at.is_(None))).all())


# The bell

def test_the_bell_counts_the_unread(client, auth, handler) -> None:
    ids = _notes(handler, 3)
    db.session.get(Notification, ids[0]).read_at = NOW
    db.session.commit()
    auth.login(handler)
    page = client.get("/demands/queue").get_data(as_text=True)
    assert _bell(page) == ("2", "2")
    assert 'href="/messages/"' in page


def test_no_badge_without_unread_and_no_bell_signed_out(client, auth, handler) -> None:
    assert 'id="bell"' not in client.get("/auth/login").get_data(as_text=True)
    auth.login(handler)
    assert _bell(client.get("/departments/").get_data(as_text=True)) == ("0", None)


def test_the_bell_stops_at_99(client, auth, officer) -> None:
    _notes(officer, 120)
    auth.login(officer)
    assert _bell(client.get("/departments/").get_data(as_text=True)) == ("120", "99+")


# The list

def test_messages_newest_first_with_the_demand_and_the_kind(client, auth, handler, department,
                                                             make_demand) -> None:
    demand = make_demand("新建生产线用地", dispatch_to=department)
    record = _record(demand)
    _notes(handler, 1, "due_soon", demand, start=NOW - timedelta(days=1))
    _notes(handler, 1, "overdue", demand, record)
    auth.login(handler)
    page = client.get("/messages/").get_data(as_text=True)

    kinds = re.findall(r'data-kind="([a-z_]+)"', page)
    assert kinds == ["overdue", "due_soon"]
    assert page.count(f'href="/demands/{demand.id}"') == 2
    assert "Overdue" in page and "Due soon" in page and "signing, due 2026-06-16" in page


def test_only_the_users_own_messages(client, auth, handler, officer) -> None:
    _notes(officer, 2)
    auth.login(handler)
    page = client.get("/messages/").get_data(as_text=True)
    assert 'data-message-id' not in page and 'id="no-messages"' in page


def test_a_demand_the_user_may_no_longer_see_is_not_linked(client, auth, make_user, other_department,
                                                            department, make_demand) -> None:
    moved = make_user(Role.HANDLER, department=other_department)
    demand = make_demand("新建生产线用地", dispatch_to=department)
    _notes(moved, 1, "overdue", demand)
    auth.login(moved)
    page = client.get("/messages/").get_data(as_text=True)
    assert f'href="/demands/{demand.id}"' not in page and "新建生产线用地" not in page
    assert "no longer open" in page


def test_messages_need_a_signed_in_user(client) -> None:
    response = client.get("/messages/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert client.post("/messages/read-all").status_code == 302


# Marking read

def test_mark_one_read(client, auth, officer) -> None:
    first, second = _notes(officer, 2)
    auth.login(officer)
    response = client.post(f"/messages/{first}/read")
    assert response.status_code == 302 and response.headers["Location"].endswith("/messages/")
    assert db.session.get(Notification, first).read_at is not None
    assert db.session.get(Notification, second).read_at is None
    page = client.get("/messages/").get_data(as_text=True)
    assert _bell(page) == ("1", "1")
    assert re.search(rf'data-message-id="{first}" data-kind="overdue"\s+data-read="true"', page)
    # marking it again changes nothing
    assert client.post(f"/messages/{first}/read").status_code == 302


def test_mark_all_read(client, auth, officer, leader) -> None:
    _notes(officer, 3)
    _notes(leader, 2)
    auth.login(officer)
    response = client.post("/messages/read-all", follow_redirects=True)
    assert "3 messages marked as read." in response.get_data(as_text=True)
    assert _unread(officer) == 0 and _unread(leader) == 2


def test_nobody_marks_anothers_message(client, auth, officer, leader) -> None:
    [theirs] = _notes(leader, 1)
    auth.login(officer)
    assert client.post(f"/messages/{theirs}/read").status_code == 404
    assert client.post("/messages/999999/read").status_code == 404
    assert _unread(leader) == 1


def test_marking_read_needs_the_csrf_token_and_a_post(client, auth, officer) -> None:
    [mine] = _notes(officer, 1)
    auth.login(officer)
    assert client.post(f"/messages/{mine}/read", csrf=False).status_code == 400
    assert client.post("/messages/read-all", csrf=False).status_code == 400
    assert client.get(f"/messages/{mine}/read").status_code == 405
    assert _unread(officer) == 1


def test_each_message_form_carries_a_token_that_marks_it_read(client, auth, officer) -> None:
    """The page renders the CSRF field once and repeats it in every message's form: the token a
    browser would send from the form itself works."""
    first, second = _notes(officer, 2)
    auth.login(officer)
    page = client.get("/messages/").get_data(as_text=True)
    forms = re.findall(r'<form method="post" action="/messages/(\d+)/read" class="mark-read">(.*?)</form>',
                       page, re.S)
    assert {int(number) for number, _form in forms} == {first, second}
    for number, form in forms:
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', form)
        assert token, form
        response = client.post(f"/messages/{number}/read", csrf=False,
                               data={"csrf_token": token.group(1), "page": "1"})
        assert response.status_code == 302
    assert _unread(officer) == 0


# Queries

def test_the_list_runs_a_fixed_number_of_queries(client, auth, handler, department, make_demand,
                                                 count_queries) -> None:
    def count() -> int:
        client.get("/messages/")
        with count_queries() as counter:
            response = client.get("/messages/")
        assert response.status_code == 200
        return counter.count

    demand = make_demand("第一件", dispatch_to=department)
    _notes(handler, 1, "overdue", demand, _record(demand))
    auth.login(handler)
    few = count()
    for number in range(8):
        more = make_demand(f"诉求{number}", dispatch_to=department)
        _notes(handler, 3, "due_soon", more, _record(more, "due_soon"))
    assert count() == few


# What a user is chased for

def test_a_department_head_sees_what_they_are_chased_for(client, auth, make_user, department) -> None:
    head = make_user(Role.HANDLER, department=department, is_head=True)
    auth.login(head)
    page = client.get("/messages/chased-for").get_data(as_text=True)
    assert 'id="chased-department"' in page and department.name in page
    assert "As the head of the department" in page
    assert 'id="chased-officer"' not in page and 'id="chased-leader"' not in page
    assert "within 1 working day." in page and "within 3, 10 or 20 working days" in page
    assert "08:30" in page and 'data-email="false"' in page
    assert "cannot be turned off" in page and "<form" not in page.split('id="chased-mail"')[1]


def test_the_rules_follow_the_settings(app, client, auth, officer, leader, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "CHASE_ESCALATE_HEAD_AFTER", 2)
    monkeypatch.setitem(app.config, "CHASE_ESCALATE_LEADERSHIP_AFTER", 5)
    monkeypatch.setitem(app.config, "DIGEST_TIME", "08:00")
    officer.email = "zhangwei@zone.example.cn"
    officer.locale = leader.locale = "en"  # the wording is read in English
    db.session.commit()
    auth.login(officer)
    page = client.get("/messages/chased-for").get_data(as_text=True)
    assert 'id="chased-officer"' in page and "08:00" in page
    assert "within 3 working days of the department&#39;s response" in page
    assert "2 working days overdue: a department&#39;s deadline is escalated to its head" in page
    assert "5 working days overdue: it is escalated to leadership" in page
    assert "from 2 working days before the deadline" in page
    assert "zhangwei@zone.example.cn" in page and 'data-email="true"' in page
    auth.logout()
    auth.login(leader)
    page = client.get("/messages/chased-for").get_data(as_text=True)
    assert 'id="chased-leader"' in page and "weekly summary" in page
    assert "within 3 working days of the department" not in page  # an officer's, not a leader's


def test_an_admin_is_chased_for_nothing(client, auth, admin_user) -> None:
    auth.login(admin_user)
    page = client.get("/messages/chased-for").get_data(as_text=True)
    assert 'id="chased-nothing"' in page and 'class="mb-4 chased-part"' not in page
