"""The outbox sender against a real SMTP server on loopback: up, down, up again; crashes; two senders."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from servicedesk.chaser.outbox import FAILED, PENDING, SENDING, SENT, retry, retry_delay, send_due
from servicedesk.extensions import db
from servicedesk.models import OutboxMessage
from tests.chaser.smtp import NOW, SmtpServer, make_message, minutes
from tests.conftest import is_postgresql


@pytest.fixture
def smtp(app):
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_down(app):
    """A port with nothing listening; `.start()` brings the server up on it."""
    server = SmtpServer()
    yield server
    server.stop()


def _reload(message_id: int) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get(OutboxMessage, message_id)


def _by_key(server: SmtpServer) -> Counter[str]:
    """How many times each message arrived, by its Message-ID (one per outbox message)."""
    return Counter(str(r.message["Message-ID"]) for r in server.received)


def test_pending_mail_is_delivered_as_text_and_html_with_a_readable_chinese_subject(smtp) -> None:
    message = make_message(subject="【催办】诉求“新建生产线用地”明天到期", to="chenjing@zone.example.cn",
                           body_text="陈静：请于6月16日前签收。\nhttp://127.0.0.1:5000/demands/7",
                           body_html="<p>陈静：请于6月16日前签收。</p>")
    later = make_message(2, next_attempt_at=NOW + minutes(5))

    result = send_due(NOW, smtp.config())

    assert (result.sent, result.retried, result.failed, result.unreachable) == (1, 0, 0, None)
    [received] = smtp.received
    assert received.rcpt_tos == ["chenjing@zone.example.cn"]
    assert received.mail_from == "desk@zone.example.cn"
    mail = received.message
    assert mail["Subject"] == "【催办】诉求“新建生产线用地”明天到期"
    assert b"=?utf-8?" in received.raw.lower()  # encoded on the wire (RFC 2047), not raw UTF-8
    assert str(mail["From"]) == "服务台 <desk@zone.example.cn>"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail.get_content_type() == "multipart/alternative"
    assert "请于6月16日前签收" in mail.get_body(preferencelist=("plain",)).get_content()
    assert "<p>陈静：请于6月16日前签收。</p>" in mail.get_body(preferencelist=("html",)).get_content()
    assert str(mail["Message-ID"]).startswith(f"<outbox.{message.id}.")

    sent = _reload(message.id)
    assert (sent.status, sent.attempts, sent.sent_at, sent.last_attempt_at, sent.last_error) == (
        SENT, 1, NOW, NOW, None)
    assert _reload(later.id).status == PENDING  # not due yet
    assert send_due(NOW, smtp.config()).sent == 0  # nothing is sent twice


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_a_login_is_used_when_a_user_name_is_set(app) -> None:
    server = SmtpServer(login=("desk", "s3cret"))
    server.start()
    try:
        make_message()
        result = send_due(NOW, server.config(MAIL_USERNAME="desk", MAIL_PASSWORD="s3cret"))
    finally:
        server.stop()
    assert result.sent == 1
    assert server.logins == ["desk"]


def test_the_retry_pauses_grow_then_repeat_hourly() -> None:
    steps = (1, 5, 30, 60)
    assert [retry_delay(n, steps) for n in range(1, 7)] == [
        minutes(1), minutes(5), minutes(30), minutes(60), minutes(60), minutes(60)]


def test_with_the_server_down_the_attempt_is_recorded_and_retried_with_backoff(smtp_down) -> None:
    message = make_message()
    config = smtp_down.config()

    moment = NOW
    expected_waits = [1, 5, 30, 60, 60]
    for attempt, wait in enumerate(expected_waits, start=1):
        result = send_due(moment, config)
        assert (result.sent, result.retried, result.failed) == (0, 1, 0)
        assert result.unreachable and "refused" in result.unreachable.lower()
        waiting = _reload(message.id)
        assert waiting.status == PENDING
        assert waiting.attempts == attempt
        assert waiting.last_attempt_at == moment
        assert waiting.next_attempt_at == moment + minutes(wait)
        assert "ConnectionRefusedError" in waiting.last_error
        assert send_due(moment + minutes(wait) - timedelta(seconds=1), config).retried == 0  # not yet
        moment += minutes(wait)


def test_nothing_is_lost_while_the_server_is_down_and_each_message_arrives_once_when_it_is_up(
        smtp_down) -> None:
    messages = [make_message(number, created_at=NOW - minutes(number)) for number in range(1, 6)]
    config = smtp_down.config()
    moment = NOW
    for _ in range(8):  # down for a while: each pass finds the server unreachable and stops
        result = send_due(moment, config)
        assert result.sent == 0 and result.unreachable
        moment += minutes(1)
    assert {m.status for m in db.session.scalars(select(OutboxMessage))} == {PENDING}

    smtp_down.start()
    later = moment + timedelta(hours=2)  # every backoff has run out by then
    assert send_due(later, config).sent == 5
    assert send_due(later + minutes(1), config).sent == 0

    arrived = _by_key(smtp_down)
    assert len(arrived) == 5 and set(arrived.values()) == {1}
    assert sorted(r.rcpt_tos[0] for r in smtp_down.received) == sorted(m.to_address for m in messages)
    assert {_reload(m.id).status for m in messages} == {SENT}


def test_a_message_refused_by_the_server_waits_while_the_others_go_on(smtp) -> None:
    refused = make_message(1, to="gone@zone.example.cn")
    fine = make_message(2)
    smtp.handler.refused.add("gone@zone.example.cn")

    result = send_due(NOW, smtp.config())

    assert (result.sent, result.retried, result.unreachable) == (1, 1, None)
    waiting = _reload(refused.id)
    assert waiting.status == PENDING and waiting.next_attempt_at == NOW + minutes(1)
    assert "550" in waiting.last_error and "mailbox unavailable" in waiting.last_error
    assert _reload(fine.id).status == SENT


def test_the_sender_gives_up_after_three_days_and_an_admin_retry_sends_it_again(smtp_down) -> None:
    message = make_message(created_at=NOW, attempts=30, status=PENDING)
    config = smtp_down.config()

    almost = NOW + timedelta(hours=71, minutes=30)
    send_due(almost, config)
    waiting = _reload(message.id)
    assert waiting.status == PENDING
    assert waiting.next_attempt_at == NOW + timedelta(hours=72)  # one last try at the limit

    result = send_due(NOW + timedelta(hours=72), config)
    assert (result.retried, result.failed) == (0, 1)
    failed = _reload(message.id)
    assert failed.status == FAILED
    assert "ConnectionRefusedError" in failed.last_error
    assert send_due(NOW + timedelta(hours=80), config).failed == 0  # failed messages stay put

    smtp_down.start()
    assert retry(failed, NOW + timedelta(hours=90))
    db.session.commit()
    assert not retry(_reload(message.id), NOW)  # only a failed message is retried
    result = send_due(NOW + timedelta(hours=90), config)
    assert result.sent == 1
    assert len(smtp_down.received) == 1
    assert _reload(message.id).status == SENT


def test_a_message_a_dead_sender_left_sending_is_retried_but_a_fresh_one_is_left_alone(smtp) -> None:
    crashed = make_message(1, status=SENDING, attempts=1, last_attempt_at=NOW - minutes(11))
    busy = make_message(2, status=SENDING, attempts=1, last_attempt_at=NOW - minutes(2))

    result = send_due(NOW, smtp.config())

    assert result.sent == 1
    [received] = smtp.received
    assert received.rcpt_tos == [crashed.to_address]
    recovered = _reload(crashed.id)
    assert (recovered.status, recovered.attempts) == (SENT, 2)
    untouched = _reload(busy.id)
    assert (untouched.status, untouched.attempts, untouched.last_attempt_at) == (SENDING, 1, NOW - minutes(2))


def test_the_attempt_is_recorded_and_committed_before_the_server_is_contacted(smtp, monkeypatch) -> None:
    """A sender that dies during the SMTP conversation leaves the message 'sending', not 'pending'."""
    from servicedesk.chaser import outbox

    message_id = make_message().id
    seen = []

    def dying_send(_self, _mail) -> None:
        with db.engine.connect() as other:  # what another process sees at this moment
            seen.append(tuple(other.execute(select(OutboxMessage.status, OutboxMessage.attempts)
                                            .where(OutboxMessage.id == message_id)).one()))
        raise SystemExit("the process dies")

    monkeypatch.setattr(outbox.Mailer, "send", dying_send)
    with pytest.raises(SystemExit):
        send_due(NOW, smtp.config())
    db.session.rollback()
    assert seen == [(SENDING, 1)]
    assert _reload(message_id).status == SENDING

    monkeypatch.undo()
    assert send_due(NOW + minutes(5), smtp.config()).sent == 0  # another sender may still be on it
    assert send_due(NOW + minutes(11), smtp.config()).sent == 1  # stale: the sender died
    assert len(smtp.received) == 1


def test_two_senders_at_once_never_send_a_message_twice(app, smtp, count_queries) -> None:
    messages = [make_message(number) for number in range(1, 31)]
    config = smtp.config()
    results = []
    errors = []
    start = threading.Barrier(2)

    def sender() -> None:
        with app.app_context():
            try:
                start.wait()
                results.append(send_due(NOW, config))
            except Exception as error:  # reported below
                errors.append(error)
            finally:
                db.session.remove()

    with count_queries() as counter:
        threads = [threading.Thread(target=sender) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors
    assert sum(r.sent for r in results) == 30
    arrived = _by_key(smtp)
    assert len(arrived) == 30 and set(arrived.values()) == {1}
    assert {_reload(m.id).status for m in messages} == {SENT}
    if is_postgresql():
        claims = [s for s in counter.statements if "FOR UPDATE" in s]
        assert claims and all("SKIP LOCKED" in s for s in claims)


def test_send_mail_command_prints_what_it_did(app, runner, smtp, monkeypatch) -> None:
    for key, value in smtp.config().items():
        if key.startswith("MAIL_"):
            monkeypatch.setitem(app.config, key, value)
    make_message(1)
    make_message(2, to="gone@zone.example.cn")
    smtp.handler.refused.add("gone@zone.example.cn")

    result = runner.invoke(args=["send-mail", "--now", "2026-06-15T09:00+08:00"])

    assert result.exit_code == 0, result.output
    assert "sent 1, to retry 1, failed 0" in result.output
    bad = runner.invoke(args=["send-mail", "--now", "2026-06-15T09:00"])
    assert bad.exit_code != 0 and "offset" in bad.output


def test_the_sender_refuses_to_commit_someone_elses_unsaved_changes(smtp) -> None:
    message = make_message()
    message.subject = "changed but not saved"
    with pytest.raises(RuntimeError):
        send_due(NOW, smtp.config())
    db.session.rollback()
