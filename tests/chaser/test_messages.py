"""Composing the chaser's mail in the recipient's language, queueing it in the outbox once, and the
notifications under the bell."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from servicedesk.chaser import messages
from servicedesk.extensions import db
from servicedesk.models import ChaseRecord, DemandEvent, Notification, OutboxMessage, Role

NOW = datetime.fromisoformat("2026-06-17T09:00+08:00")
BASE = "http://127.0.0.1:5000"


def _with_mail(user, address: str = "someone@zone.example.cn", locale: str | None = None):
    user.email = address
    user.locale = locale
    db.session.commit()
    return user


def _record(demand, kind: str = "escalate_head", working_day: date = date(2026, 6, 17)) -> ChaseRecord:
    """An escalation of the demand's sign deadline (due Tue 16 June), as the tick records it."""
    event = DemandEvent(demand_id=demand.id, at=NOW, action="escalated", details={})
    db.session.add(event)
    db.session.flush()
    record = ChaseRecord(idempotency_key=f"d{demand.id}:sign:{demand.sign_due}:{kind}:{working_day}",
                         demand_id=demand.id, event_id=event.id, kind=kind, deadline="sign",
                         due=demand.sign_due, working_day=working_day,
                         department_id=demand.lead_department_id, created_at=NOW)
    db.session.add(record)
    db.session.commit()
    return record


def _outbox_count() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage))


# Composing

def test_escalation_mail_in_chinese_by_default(make_demand, department, make_user) -> None:
    head = _with_mail(make_user(Role.HANDLER, department=department, is_head=True, display_name="王强"))
    demand = make_demand(dispatch_to=department)
    assert demand.sign_due == date(2026, 6, 16)
    subject, text, html = messages.escalation_mail(_record(demand), head, BASE)

    assert subject.startswith("【") and demand.number in subject
    link = f"{BASE}/demands/{demand.id}"
    assert link in text and f'<a href="{link}">' in html
    assert "2026年6月16日" in text  # dates as a Chinese reader writes them
    assert "王强" in text and department.name in text and demand.company.name in text
    assert '<html lang="zh-CN">' in html


def test_escalation_mail_in_english_for_a_user_who_chose_it(make_demand, department, make_user) -> None:
    head = _with_mail(make_user(Role.HANDLER, department=department, is_head=True, display_name="Wang"),
                      locale="en")
    demand = make_demand(dispatch_to=department)
    subject, text, html = messages.escalation_mail(_record(demand), head, BASE)

    assert subject.startswith("[Escalation] ") and demand.number in subject
    assert "1 working day overdue" in subject
    assert "Dear Wang," in text and "2026-06-16" in text and "head of the department" in text
    assert f"{BASE}/demands/{demand.id}" in text
    assert '<html lang="en">' in html


def test_escalation_to_leadership_says_so(make_demand, department, leader) -> None:
    _with_mail(leader, locale="en")
    demand = make_demand(dispatch_to=department)
    record = _record(demand, "escalate_leadership", working_day=date(2026, 6, 22))
    subject, text, _html = messages.escalation_mail(record, leader, BASE, days_overdue=3)

    assert subject.startswith("[Escalation to leadership] ")
    assert "3 working days overdue" in text and "key supervision" in text


def test_links_follow_the_configured_base_url(app, make_demand, department, make_user, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "BASE_URL", "https://desk.zone.example.cn/")
    head = _with_mail(make_user(Role.HANDLER, department=department, is_head=True))
    demand = make_demand(dispatch_to=department)
    _subject, text, html = messages.escalation_mail(_record(demand), head, messages.base_url())

    assert f"https://desk.zone.example.cn/demands/{demand.id}" in text
    assert "https://desk.zone.example.cn/messages/chased-for" in text
    assert "cn//" not in text and "cn//" not in html


def test_the_html_part_escapes_what_users_typed(make_demand, department, make_user) -> None:
    head = _with_mail(make_user(Role.HANDLER, department=department, is_head=True), locale="en")
    demand = make_demand("扩建<script>alert(1)</script> & 用地", dispatch_to=department)
    _subject, text, html = messages.escalation_mail(_record(demand), head, BASE)

    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp; 用地" in html
    assert "<script>alert(1)</script> & 用地" in text  # the text part is plain text


def test_subject_is_one_line_and_fits_the_column(app) -> None:
    with force_locale("en"):
        subject = messages.tagged("Reminder", "line one\r\nline two " + "长" * 400)
    assert "\n" not in subject and "\r" not in subject
    assert subject.startswith("[Reminder] line one line two")
    assert len(subject) == messages.SUBJECT_MAX_LENGTH


# The outbox

def test_queue_mail_writes_a_pending_message_due_now(make_user) -> None:
    user = _with_mail(make_user(Role.OFFICER))
    message = messages.queue_mail("test:1", "test", user, ("Subject", "text", "<p>html</p>"), None, NOW)
    db.session.commit()

    assert message is not None
    stored = db.session.get(OutboxMessage, message.id)
    assert stored.status == "pending" and stored.attempts == 0
    assert stored.next_attempt_at == NOW and stored.to_address == "someone@zone.example.cn"
    assert (stored.subject, stored.body_text, stored.body_html) == ("Subject", "text", "<p>html</p>")
    assert stored.recipient_id == user.id and stored.kind == "test"


def test_queue_mail_skips_users_without_mail(make_user) -> None:
    user = make_user(Role.OFFICER)
    assert user.email is None
    assert messages.queue_mail("test:1", "test", user, ("s", "t", "h"), None, NOW) is None
    user.email = "   "
    assert messages.queue_mail("test:2", "test", user, ("s", "t", "h"), None, NOW) is None
    deactivated = _with_mail(make_user(Role.OFFICER))
    deactivated.active = False
    assert messages.queue_mail("test:3", "test", deactivated, ("s", "t", "h"), None, NOW) is None
    db.session.commit()
    assert _outbox_count() == 0


def test_queue_mail_queues_a_key_once(make_user) -> None:
    user = _with_mail(make_user(Role.OFFICER))
    assert messages.queue_mail("test:1", "test", user, ("s", "t", "h"), None, NOW) is not None
    # in the same transaction, before any flush
    with db.session.no_autoflush:
        assert messages.queue_mail("test:1", "test", user, ("s2", "t", "h"), None, NOW) is None
    db.session.commit()
    # and in a later one
    assert messages.queue_mail("test:1", "test", user, ("s3", "t", "h"), None, NOW) is None
    db.session.commit()
    assert _outbox_count() == 1
    assert db.session.scalar(select(OutboxMessage.subject)) == "s"


def test_queue_mail_stays_in_the_callers_transaction(make_user) -> None:
    user = _with_mail(make_user(Role.OFFICER))
    messages.queue_mail("test:1", "test", user, ("s", "t", "h"), None, NOW)
    db.session.rollback()
    assert _outbox_count() == 0


# The bell

def test_notify_adds_one_row_per_user(make_user, make_demand, department) -> None:
    first = make_user(Role.HANDLER, department=department)
    second = make_user(Role.HANDLER, department=department)
    demand = make_demand(dispatch_to=department)
    messages.notify([first.id, second.id, first.id], "overdue", demand.id, None, NOW)
    db.session.commit()

    rows = db.session.scalars(select(Notification).order_by(Notification.user_id)).all()
    assert [(n.user_id, n.kind, n.demand_id, n.read_at) for n in rows] == [
        (first.id, "overdue", demand.id, None), (second.id, "overdue", demand.id, None)]
    assert rows[0].created_at == NOW
    assert messages.unread_count(first.id) == 1


def test_mark_read_only_the_users_own(make_user) -> None:
    mine, theirs = make_user(Role.OFFICER), make_user(Role.OFFICER)
    messages.notify([mine.id, theirs.id], "due_soon", None, None, NOW)
    db.session.commit()
    their_note = db.session.scalar(select(Notification).where(Notification.user_id == theirs.id))

    assert messages.mark_read(mine.id, their_note.id, NOW) is False
    assert messages.mark_read(mine.id, 999_999, NOW) is False
    assert messages.mark_all_read(mine.id, NOW) == 1
    db.session.commit()
    assert messages.unread_count(mine.id) == 0 and messages.unread_count(theirs.id) == 1


@pytest.mark.parametrize(("kind", "english"), [
    ("due_soon", "Due soon"), ("escalate_head", "Escalated to the department head"),
    ("something", "something")])
def test_kinds_in_words(app, kind: str, english: str) -> None:
    with force_locale("en"):
        assert messages.kind_label(kind) == english
