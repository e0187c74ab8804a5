"""The outbox page: admins only, failed messages first with their error, a retry that sends again."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from sqlalchemy import select

from servicedesk.chaser.outbox import FAILED, PENDING, SENDING, SENT, send_due
from servicedesk.extensions import db
from servicedesk.models import AuditEvent, OutboxMessage
from tests.chaser.smtp import NOW, SmtpServer, make_message, minutes

ROW = re.compile(r'<tr data-message-id="(\d+)" data-status="(\w+)"')


def _rows(html: str) -> list[tuple[int, str]]:
    return [(int(i), status) for i, status in ROW.findall(html)]


@pytest.fixture
def mail(app):
    """Messages in each state; the failed one gave up three days after it was written."""
    sent = make_message(1, status=SENT, attempts=1, sent_at=NOW)
    waiting = make_message(2, status=PENDING, attempts=2, next_attempt_at=NOW + minutes(5),
                           last_error="ConnectionRefusedError: [Errno 111] Connection refused")
    sending = make_message(3, status=SENDING, attempts=1, last_attempt_at=NOW)
    failed = make_message(4, status=FAILED, attempts=40, created_at=NOW - timedelta(hours=73),
                          last_attempt_at=NOW - timedelta(hours=1),
                          last_error="SMTPRecipientsRefused: gone@zone.example.cn: 550 mailbox unavailable")
    return {"sent": sent.id, "waiting": waiting.id, "sending": sending.id, "failed": failed.id}


@pytest.mark.parametrize("role", ["officer", "handler", "leader", "anonymous"])
def test_the_outbox_is_for_admins_only(client, auth, users_by_role, mail, role) -> None:
    if role != "anonymous":
        auth.login(users_by_role[role])
    page = client.get("/admin/outbox")
    retried = client.post(f"/admin/outbox/{mail['failed']}/retry")
    if role == "anonymous":
        assert page.status_code == 302 and urlparse(page.headers["Location"]).path == "/auth/login"
        assert retried.status_code == 302
    else:
        assert page.status_code == 403 and retried.status_code == 403
    db.session.expire_all()
    assert db.session.get(OutboxMessage, mail["failed"]).status == FAILED


def test_failed_messages_come_first_with_their_error_and_attempts(client, auth, admin_user, mail) -> None:
    auth.login(admin_user)
    page = client.get("/admin/outbox")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    rows = _rows(html)
    assert rows[0] == (mail["failed"], FAILED)
    assert {status for _id, status in rows} == {SENT, PENDING, SENDING, FAILED}
    assert 'id="failed-alert" data-failed="1"' in html
    assert "550 mailbox unavailable" in html
    assert f'action="/admin/outbox/{mail["failed"]}/retry' in html
    assert html.count("/retry") == 1  # only a failed message offers Retry
    assert 'href="/admin/outbox"' in html  # in the administration tabs


def test_the_status_filter(client, auth, admin_user, mail) -> None:
    auth.login(admin_user)
    def rows(status: str) -> list[tuple[int, str]]:
        return _rows(client.get(f"/admin/outbox?status={status}").get_data(as_text=True))

    assert rows("failed") == [(mail["failed"], FAILED)]
    assert rows("pending") == [(mail["waiting"], PENDING)]
    assert len(rows("nonsense")) == 4


def test_retry_puts_a_failed_message_back_in_line_and_the_sender_delivers_it(client, auth, admin_user,
                                                                              freeze_clock) -> None:
    server = SmtpServer()  # down
    config = server.config()
    message_id = make_message(created_at=NOW).id
    send_due(NOW + timedelta(hours=72), config)  # the last try, three days on, fails: given up
    assert db.session.get(OutboxMessage, message_id).status == FAILED
    auth.login(admin_user)
    assert (message_id, FAILED) in _rows(client.get("/admin/outbox").get_data(as_text=True))

    freeze_clock("2026-06-18T10:00+08:00")
    response = client.post(f"/admin/outbox/{message_id}/retry?status=failed")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/outbox?status=failed")
    db.session.expire_all()
    retried = db.session.get(OutboxMessage, message_id)
    assert retried.status == PENDING
    assert retried.next_attempt_at == NOW + timedelta(days=3, hours=1)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "outbox.retried")).one()
    assert (event.subject_id, event.actor_id) == (message_id, admin_user.id)
    db.session.commit()

    server.start()
    try:
        assert send_due(NOW + timedelta(days=3, hours=1), config).sent == 1
    finally:
        server.stop()
    assert len(server.received) == 1
    assert db.session.get(OutboxMessage, message_id).status == SENT

    again = client.post(f"/admin/outbox/{message_id}/retry", follow_redirects=True)
    assert "has not failed" in again.get_data(as_text=True)
    assert client.post("/admin/outbox/999999/retry").status_code == 404


def test_retry_needs_the_csrf_token(client, auth, admin_user, mail) -> None:
    auth.login(admin_user)
    assert client.post(f"/admin/outbox/{mail['failed']}/retry", csrf=False).status_code == 400
    db.session.expire_all()
    assert db.session.get(OutboxMessage, mail["failed"]).status == FAILED


def test_the_outbox_page_runs_a_fixed_number_of_queries(client, auth, admin_user, make_user,
                                                       count_queries) -> None:
    from servicedesk.models import Role

    auth.login(admin_user)
    recipient = make_user(Role.OFFICER)
    make_message(1, recipient_id=recipient.id)

    def count() -> int:
        client.get("/admin/outbox")
        with count_queries() as counter:
            assert client.get("/admin/outbox").status_code == 200
        return counter.count

    few = count()
    for number in range(2, 40):
        other = make_user(Role.OFFICER)
        make_message(number, recipient_id=other.id, status=FAILED if number % 3 else SENT,
                     last_error="SMTPServerDisconnected" if number % 3 else None)
    assert count() == few
    assert few <= 8


def test_the_outbox_is_paginated(client, auth, admin_user) -> None:
    auth.login(admin_user)
    for number in range(1, 56):
        make_message(number, status=SENT, created_at=NOW + minutes(number))
    first = _rows(client.get("/admin/outbox").get_data(as_text=True))
    second = _rows(client.get("/admin/outbox?page=2").get_data(as_text=True))
    assert len(first) == 50 and len(second) == 5
    assert not set(first) & set(second)
