"""What the chaser records: reminders and escalations (once each), the messages it sends through the
outbox, what users see under the bell, and the printable escalation notices."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from servicedesk.models.base import Base, UTCDateTime, utcnow
from servicedesk.models.demand import Demand, DemandEvent
from servicedesk.models.organisation import Department
from servicedesk.models.user import User


class ChaseRecord(Base):
    """One reminder or escalation, recorded once: the idempotency key says which situation it is
    (demand, deadline and its value, step, working day), and the unique index keeps a second tick,
    a repeated tick or two ticks at once from recording it again."""

    __tablename__ = "chase_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id"), index=True)
    #: the demand's history line for it (催办 / 督办)
    event_id: Mapped[int] = mapped_column(ForeignKey("demand_events.id"))
    #: domain.chase.Kind: due_soon, due_today, overdue, escalate_head, escalate_leadership
    kind: Mapped[str] = mapped_column(String(30), index=True)
    #: which deadline: sign, respond, feedback, extension or milestone
    deadline: Mapped[str] = mapped_column(String(20))
    due: Mapped[date] = mapped_column(Date)
    milestone_id: Mapped[int | None] = mapped_column(ForeignKey("milestones.id"))
    #: the working day it was recorded for
    working_day: Mapped[date] = mapped_column(Date, index=True)
    #: who owes the step: a department, or a user (the officer for feedback, the approver)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    demand: Mapped[Demand] = relationship()
    event: Mapped[DemandEvent] = relationship()
    department: Mapped[Department | None] = relationship()
    user: Mapped[User | None] = relationship()


class Notification(Base):
    """A message a user sees under the bell, mail or no mail."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_unread", "user_id", "read_at"),
        #: a user's messages, newest first, read in the index's order rather than all sorted
        Index("ix_notifications_user_created", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    demand_id: Mapped[int | None] = mapped_column(ForeignKey("demands.id"), index=True)
    chase_record_id: Mapped[int | None] = mapped_column(ForeignKey("chase_records.id"), index=True)
    #: the chase kind, or another reason a user is told something
    kind: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    demand: Mapped[Demand | None] = relationship()
    chase_record: Mapped[ChaseRecord | None] = relationship()


class OutboxMessage(Base):
    """A mail written in the same transaction as what caused it, delivered later by the sender.

    Sending is recorded before the SMTP conversation (status sending, attempts + 1), so a sender that
    dies after the server accepted the mail but before marking it sent leaves it 'sending': the next
    sender retries it once that attempt is stale, the one rare case of a duplicate (ARCHITECTURE.md).
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: what it is, once: "digest:department:5:2026-06-15", "escalation:<chase key>", ...
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    demand_id: Mapped[int | None] = mapped_column(ForeignKey("demands.id"), index=True)
    #: pending, sending, sent or failed
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    recipient: Mapped[User | None] = relationship()


class EscalationNotice(Base):
    """The printable notice an escalation yields: 催办通知书 to the department head, 督办单 from
    leadership."""

    __tablename__ = "escalation_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 催办〔2026〕0001 / 督办〔2026〕0001 style numbers, per kind and year
    number: Mapped[str] = mapped_column(String(30), unique=True)
    #: head or leadership
    level: Mapped[str] = mapped_column(String(12))
    chase_record_id: Mapped[int] = mapped_column(ForeignKey("chase_records.id"), unique=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    deadline: Mapped[str] = mapped_column(String(20))
    due: Mapped[date] = mapped_column(Date)
    days_overdue: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    demand: Mapped[Demand] = relationship()
    department: Mapped[Department | None] = relationship()
    chase_record: Mapped[ChaseRecord] = relationship()
