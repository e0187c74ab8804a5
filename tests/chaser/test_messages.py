"""Composing the chaser's mail in the recipient's language, queueing it in the outbox once, and the
notifications under the bell."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from servicedesk.chaser import messages
from servicedesk.extensions import db
from servicedesk.models import Notification, OutboxMessage, Role

NOW = datetime.fromisoformat("2026-06-17T09:00+08:00")
BASE = "http://127.0.0.1:5000"


def _with_mail(user, address: str = "someone@zone.example.cn", locale: str | None = None):
    user.email = address
    user.locale = locale
    db.session.commit()
    return user


def _escalation(demand, kind: str = "escalate_head", days_overdue: int = 1,
                milestone: str | None = None) -> messages.Escalation:
    """An escalation of the demand's sign deadline (due Tue 16 June), as the tick tells it."""
    return messages.Escalation(kind, demand.id, demand.number, demand.title, demand.company.name,
                               demand.lead_department.name, "milestone" if milestone else "sign", milestone,
                               demand.sign_due, days_overdue)


def _mail(escalation: messages.Escalation, recipient, base: str = BASE) -> tuple[str, str, str]:
    [mail] = messages.escalation_mails(escalation, [recipient], base)
    return mail


def _outbox_count() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def _row(key: str, user, subject: str = "s") -> dict:
    return messages.outbox_values(key, "test", user.id, user.email, (subject, "t", "h"), None, NOW)


# Composing

def test_escalation_mail_in_chinese_by_default(make_demand, department, make_user) -> None:
    head = _with_mail(make_user(Role.HANDLER, department=department, is_head=True, display_name="王强"))
    demand = make_demand(dispatch_to=department)
    assert demand.sign_due == date(2026, 6, 16)
    subject, text, html = _mail(_escalation(demand), head)

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
    subject, text, html = _mail(_escalation(demand), head)

    assert subject.startswith("[Escalation] ") and demand.number in subject
    assert "1 working day overdue" in subject
    assert "Dear Wang," in text and "2026-06-16" in text and "head of the department" in text
    assert f"{BASE}/demands/{demand.id}" in text
    assert '<html lang="en">' in html


def test_escalation_to_leadership_says_so(make_demand, department, leader) -> None:
    _with_mail(leader, locale="en")
    demand = make_demand(dispatch_to=department)
    subject, text, _html = _mail(_escalation(demand, "escalate_leadership", days_overdue=3), leader)

    assert subject.startswith("[Escalation to leadership] ")
    assert "3 working days overdue" in text and "key supervision" in text


def test_an_escalated_milestone_is_named(make_demand, department, leader) -> None:
    _with_mail(leader, locale="en")
    demand = make_demand(dispatch_to=department)
    _subject, text, _html = _mail(_escalation(demand, milestone="完成规划条件论证"), leader)
    assert "was due for the milestone “完成规划条件论证” on 2026-06-16" in text


def test_each_recipient_reads_the_escalation_in_their_language_under_their_name(make_demand, department,
                                                                                 make_user) -> None:
    demand = make_demand(dispatch_to=department)
    readers = [_with_mail(make_user(Role.LEADER, display_name=name), locale=locale)
               for name, locale in (("李明", None), ("Wang", "en"), ("赵红", "zh_CN"))]
    mails = messages.escalation_mails(_escalation(demand, "escalate_leadership", 3), readers, BASE)

    assert [subject[0] for subject, _text, _html in mails] == ["【", "[", "【"]
    first, english, third = (text.splitlines() for _subject, text, _html in mails)
    assert "李明" in first[0] and english[0] == "Dear Wang," and "赵红" in third[0]
    # the same words for the two Chinese readers, but for whom they greet
    assert first[1:] == third[1:] and mails[0][0] == mails[2][0]
    assert messages.escalation_mails(_escalation(demand), [], BASE) == []


def test_links_follow_the_configured_base_url(app, make_demand, department, make_user, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "BASE_URL", "https://desk.zone.example.cn/")
    head = _with_mail(make_user(Role.HANDLER, department=department, is_head=True))
    demand = make_demand(dispatch_to=department)
    _subject, text, html = _mail(_escalation(demand), head, messages.base_url())

    assert f"https://desk.zone.example.cn/demands/{demand.id}" in text
    assert "https://desk.zone.example.cn/messages/chased-for" in text
    assert "cn//" not in text and "cn//" not in html


def test_the_html_part_escapes_what_users_typed(make_demand, department, make_user) -> None:
    head = _with_mail(make_user(Role.HANDLER, department=department, is_head=True), locale="en")
    demand = make_demand("扩建<script>alert(1)</script> & 用地", dispatch_to=department)
    _subject, text, html = _mail(_escalation(demand), head)

    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp; 用地" in html
    assert "<script>alert(1)</script> & 用地" in text  # the text part is plain text


def test_subject_is_one_line_and_fits_the_column(app) -> None:
    with force_locale("en"):
        subject = messages.tagged("Reminder", "line one\r\nline two " + "长" * 400)
    assert "\n" not in subject and "\r" not in subject
    assert subject.startswith("[Reminder] line one line two")
    assert len(subject) == messages.SUBJECT_MAX_LENGTH


# The outbox

def test_queue_mails_writes_pending_messages_due_now(make_user) -> None:
    first = _with_mail(make_user(Role.OFFICER))
    second = _with_mail(make_user(Role.OFFICER), "two@zone.example.cn")
    queued = messages.queue_mails([
        messages.outbox_values("test:1", "test", first.id, "someone@zone.example.cn",
                               ("Subject", "text", "<p>html</p>"), None, NOW),
        _row("test:2", second)])
    db.session.commit()

    assert queued == 2
    stored = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.idempotency_key)).all()
    assert [(m.idempotency_key, m.recipient_id, m.to_address) for m in stored] == [
        ("test:1", first.id, "someone@zone.example.cn"), ("test:2", second.id, "two@zone.example.cn")]
    message = stored[0]
    assert message.status == "pending" and message.attempts == 0 and message.kind == "test"
    assert message.next_attempt_at == NOW and message.created_at == NOW
    assert (message.subject, message.body_text, message.body_html) == ("Subject", "text", "<p>html</p>")


def test_mail_goes_only_to_active_users_with_an_address(make_user) -> None:
    user = make_user(Role.OFFICER)
    assert user.email is None and messages.mail_address(user) is None
    user.email = "   "
    assert messages.mail_address(user) is None
    user.email = " someone@zone.example.cn "
    assert messages.mail_address(user) == "someone@zone.example.cn"
    user.active = False
    assert messages.mail_address(user) is None


def test_queue_mails_queues_a_key_once(make_user) -> None:
    user = _with_mail(make_user(Role.OFFICER))
    # given twice in one call
    assert messages.queue_mails([_row("test:1", user), _row("test:1", user, "s2")]) == 1
    db.session.commit()
    # and in a later transaction, among new ones
    assert messages.queue_mails([_row("test:1", user, "s3"), _row("test:2", user)]) == 1
    db.session.commit()
    assert messages.queue_mails([]) == 0
    assert _outbox_count() == 2
    subject = select(OutboxMessage.subject).where(OutboxMessage.idempotency_key == "test:1")
    assert db.session.scalar(subject) == "s"


def test_queue_mails_stays_in_the_callers_transaction(make_user) -> None:
    user = _with_mail(make_user(Role.OFFICER))
    messages.queue_mails([_row("test:1", user)])
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
