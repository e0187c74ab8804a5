"""The outbox sender: delivers the messages the desk wrote into `outbox_messages` over SMTP.

One pass (`send_due`) takes the due messages one at a time. For each it first records the attempt
(status sending, attempts + 1, last_attempt_at) and commits, then talks to the mail server, then
marks the message sent and commits again. A failure schedules the next attempt after
OUTBOX_RETRY_MINUTES (the last step repeats) until OUTBOX_GIVE_UP_HOURS after the message was
written; then the message is failed, with the server's last answer, for an admin to retry.

Two senders never take the same message: on PostgreSQL the claim is SELECT ... FOR UPDATE SKIP
LOCKED, on SQLite the claim's BEGIN IMMEDIATE write lock serialises them; a claimed message is
'sending' once its claim commits, and no other sender takes a 'sending' message until it is
OUTBOX_STALE_MINUTES old (its sender died). The one duplicate left: a sender that dies after the
server accepted the mail and before it marked the message sent; the retry then delivers it again,
under the same Message-ID (docs/ARCHITECTURE.md, "Outbox").
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from types import TracebackType
from typing import Any

from sqlalchemy import and_, or_, select, update

from servicedesk.extensions import db
from servicedesk.models import OutboxMessage

logger = logging.getLogger(__name__)

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
STATUSES = (PENDING, SENDING, SENT, FAILED)
#: the messages one pass takes at most; the next pass, a minute later, takes the rest
BATCH_SIZE = 500
MAX_ERROR_LENGTH = 2000


@dataclass
class SendResult:
    sent: int = 0
    #: failed attempts that will be tried again
    retried: int = 0
    #: messages given up on in this pass
    failed: int = 0
    #: why the pass stopped early: the mail server could not be reached (the rest wait, untouched)
    unreachable: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """What a claimed message needs for its delivery, read before the claim commits."""

    id: int
    attempts: int
    to_address: str
    subject: str
    body_text: str
    body_html: str
    created_at: datetime


class Unreachable(Exception):
    """The mail server could not be reached or refused us (connection, TLS, login)."""


# Settings


def retry_delay(attempts: int, steps: Iterable[int]) -> timedelta:
    """The wait after the attempts-th failed attempt: the steps in turn, then the last one again."""
    minutes = tuple(int(step) for step in steps) or (60,)
    return timedelta(minutes=minutes[min(max(attempts, 1), len(minutes)) - 1])


def give_up_at(created_at: datetime, config: Mapping[str, Any]) -> datetime:
    return created_at + timedelta(hours=float(config["OUTBOX_GIVE_UP_HOURS"]))


def stale_window(config: Mapping[str, Any]) -> timedelta:
    return timedelta(minutes=float(config.get("OUTBOX_STALE_MINUTES", 10)))


# The pass


def due_clause(now: datetime, stale: timedelta) -> Any:
    """Pending messages whose time has come, and messages a dead sender left 'sending'."""
    return or_(
        and_(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == SENDING,
             or_(OutboxMessage.last_attempt_at.is_(None), OutboxMessage.last_attempt_at < now - stale)),
    )


def send_due(now: datetime, config: Mapping[str, Any], batch_size: int = BATCH_SIZE) -> SendResult:
    """Deliver the messages due at `now`; commits after each step of each message (the session
    must hold no unsaved changes)."""
    if db.session.new or db.session.dirty or db.session.deleted:
        raise RuntimeError("the sender commits as it goes: commit or roll back first")
    result = SendResult()
    stale = stale_window(config)
    with Mailer(config) as mailer:
        for _ in range(batch_size):
            outgoing = claim_next(now, stale)
            if outgoing is None:
                break
            try:
                mail = compose(outgoing, config, now)
            except (ValueError, TypeError, IndexError) as error:  # a malformed address: no retry helps
                _finish(outgoing, FAILED, now, error=_describe(error))
                result.failed += 1
                continue
            try:
                mailer.send(mail)
            except Unreachable as error:
                _failed_attempt(outgoing, now, config, error, result)
                result.unreachable = _describe(error.__cause__ or error)
                break
            except (OSError, smtplib.SMTPException) as error:
                _failed_attempt(outgoing, now, config, error, result)
                continue
            _finish(outgoing, SENT, now)
            result.sent += 1
    if result.sent or result.retried or result.failed:
        logger.info("outbox: %d sent, %d to retry, %d failed%s", result.sent, result.retried, result.failed,
                    f" ({result.unreachable})" if result.unreachable else "")
    return result


def claim_next(now: datetime, stale: timedelta) -> Outgoing | None:
    """Take the next due message and record the attempt, in a transaction of its own."""
    statement = (
        select(OutboxMessage)
        .where(due_clause(now, stale))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite's BEGIN IMMEDIATE serialises instead
    )
    message = db.session.scalars(statement).first()
    if message is None:
        db.session.rollback()
        return None
    message.status = SENDING
    message.attempts = (message.attempts or 0) + 1
    message.last_attempt_at = now
    outgoing = Outgoing(id=message.id, attempts=message.attempts, to_address=message.to_address,
                        subject=message.subject, body_text=message.body_text, body_html=message.body_html,
                        created_at=message.created_at)
    db.session.commit()
    return outgoing


def _failed_attempt(outgoing: Outgoing, now: datetime, config: Mapping[str, Any], error: BaseException,
                    result: SendResult) -> None:
    described = _describe(error.__cause__ or error) if isinstance(error, Unreachable) else _describe(error)
    last_chance = give_up_at(outgoing.created_at, config)
    if now >= last_chance:
        _finish(outgoing, FAILED, now, error=described)
        result.failed += 1
        logger.warning("outbox: gave up on message %d to %s: %s", outgoing.id, outgoing.to_address,
                       described)
        return
    next_attempt = min(now + retry_delay(outgoing.attempts, config["OUTBOX_RETRY_MINUTES"]), last_chance)
    _finish(outgoing, PENDING, now, error=described, next_attempt_at=next_attempt)
    result.retried += 1


def _finish(outgoing: Outgoing, status: str, now: datetime, error: str | None = None,
            next_attempt_at: datetime | None = None) -> None:
    """Write the outcome of our attempt, unless another sender has taken the message since."""
    values: dict[str, Any] = {"status": status, "last_error": error}
    if status == SENT:
        values["sent_at"] = now
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outgoing.id, OutboxMessage.status == SENDING,
               OutboxMessage.attempts == outgoing.attempts)
        .values(**values),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) \
            else str(error.smtp_error)
        described = f"{type(error).__name__}: {error.smtp_code} {text}"
    elif isinstance(error, smtplib.SMTPRecipientsRefused):
        answers = "; ".join(f"{address}: {code} {message.decode('utf-8', 'replace')}"
                            for address, (code, message) in error.recipients.items())
        described = f"{type(error).__name__}: {answers}"
    else:
        described = f"{type(error).__name__}: {error}"
    return described[:MAX_ERROR_LENGTH]


# An admin's retry


def retry(message: OutboxMessage, now: datetime) -> bool:
    """Put a failed message back in line for the next pass; False when it is not failed.

    The give-up time still counts from when it was written, so a retry is one more attempt: if
    it fails again the message is failed again, with the new error.
    """
    if message.status != FAILED:
        return False
    message.status = PENDING
    message.next_attempt_at = now
    return True


# The mail itself


def compose(outgoing: Outgoing, config: Mapping[str, Any], now: datetime) -> EmailMessage:
    """Plain text with an HTML alternative; headers encoded (RFC 2047) where they are not ASCII."""
    sender = str(config["MAIL_FROM"])
    _name, sender_address = parseaddr(sender)
    domain = sender_address.rpartition("@")[2] or "localhost"
    mail = EmailMessage()
    mail["Subject"] = outgoing.subject
    mail["From"] = sender
    mail["To"] = outgoing.to_address
    mail["Date"] = format_datetime(now.astimezone(UTC))
    # The same for every attempt: a duplicate from the crash window can be recognised as one.
    mail["Message-ID"] = f"<outbox.{outgoing.id}.{outgoing.created_at.astimezone(UTC):%Y%m%d%H%M%S}@{domain}>"
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to the desk
    mail.set_content(outgoing.body_text)
    mail.add_alternative(outgoing.body_html, subtype="html")
    return mail


class Mailer:
    """One SMTP connection for a pass, opened at the first message and reopened after a drop."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, _type: type[BaseException] | None, _value: BaseException | None,
                 _traceback: TracebackType | None) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        try:
            smtp = smtplib.SMTP(str(config["MAIL_SERVER"]), int(config["MAIL_PORT"]),
                                timeout=float(config.get("MAIL_TIMEOUT_SECONDS", 30)))
        except (OSError, smtplib.SMTPException) as error:
            raise Unreachable(str(error)) from error
        try:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):
                smtp.login(str(config["MAIL_USERNAME"]), str(config.get("MAIL_PASSWORD") or ""))
        except (OSError, smtplib.SMTPException) as error:
            self._abandon(smtp)
            raise Unreachable(str(error)) from error
        return smtp

    def send(self, mail: EmailMessage) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(mail)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError):
            raise  # the server answered about this message; the connection is still good
        except (OSError, smtplib.SMTPException):
            self._abandon(self._smtp)
            self._smtp = None
            raise

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._abandon(self._smtp)
            self._smtp = None

    @staticmethod
    def _abandon(smtp: smtplib.SMTP) -> None:
        with contextlib.suppress(OSError):
            smtp.close()
