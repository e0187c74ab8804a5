"""Visits, the demands raised at them, and everything that happens to a demand.

The demand carries its state and, denormalised for the lists and the scheduler, its current
deadline; the append-only events are its history. Rules live in domain.lifecycle; changes go
through demands.operations only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    event,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from servicedesk.models.base import Base, UTCDateTime, utcnow
from servicedesk.models.company import Company
from servicedesk.models.organisation import Category, Department
from servicedesk.models.user import User

visit_companies = Table(
    "visit_companies",
    Base.metadata,
    Column("visit_id", ForeignKey("visits.id"), primary_key=True),
    Column("company_id", ForeignKey("companies.id"), primary_key=True, index=True),
)


class Visit(Base):
    """A site visit, symposium or survey (走访 / 座谈 / 专题调研) at which companies raised demands."""

    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: visit, symposium or survey
    kind: Mapped[str] = mapped_column(String(20))
    visited_on: Mapped[date] = mapped_column(Date, index=True)
    place: Mapped[str] = mapped_column(String(200))
    lead_official: Mapped[str] = mapped_column(String(100))
    #: the officials who took part, as written
    officials: Mapped[str | None] = mapped_column(Text)
    #: the company's people who took part, as written
    company_attendees: Mapped[str | None] = mapped_column(Text)
    minutes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    companies: Mapped[list[Company]] = relationship(secondary=visit_companies, order_by=Company.name)
    demands: Mapped[list[Demand]] = relationship(back_populates="visit", order_by="Demand.id")
    created_by: Mapped[User] = relationship()

    __mapper_args__ = {"version_id_col": version}


demand_co_departments = Table(
    "demand_co_departments",
    Base.metadata,
    Column("demand_id", ForeignKey("demands.id"), primary_key=True),
    Column("department_id", ForeignKey("departments.id"), primary_key=True),
    #: the demand's state, copied by triggers (migration 0008) whoever writes the demand or the row;
    #: nullable, as the ORM inserts the two ids only and the trigger fills it in
    Column("demand_state", String(12), nullable=True),
    #: a department's co-handled demands in some states (or all), read from the index alone (queues,
    #: lists and visibility)
    Index("ix_demand_co_departments_department_state", "department_id", "demand_state", "demand_id"),
)


class Demand(Base):
    """One request a company raised (诉求)."""

    __tablename__ = "demands"
    __table_args__ = (
        # the id too on PostgreSQL, whose index entries point at rows, not ids (migration 0011)
        Index("ix_demands_state_due_created", "state", "current_due", "created_at",
              postgresql_include=["id"]),
        Index("ix_demands_lead_state", "lead_department_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: what people quote on the phone and on the dispatch sheet: 2026-0001, numbered per year
    number: Mapped[str] = mapped_column(String(20), unique=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    #: visit, symposium, survey, hotline, letter, online or other
    source: Mapped[str] = mapped_column(String(20), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    #: urgent, normal or complex (domain.time_limits.Urgency)
    urgency: Mapped[str] = mapped_column(String(10), index=True)
    contact_name: Mapped[str | None] = mapped_column(String(60))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    #: domain.lifecycle.State
    state: Mapped[str] = mapped_column(String(12), index=True)
    #: the demand this one repeats, when it was logged as a duplicate or closed as one
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("demands.id"), index=True)

    # Assignment
    lead_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    dispatched_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    dispatch_note: Mapped[str | None] = mapped_column(Text)

    # Deadlines: each counted from a day by a number of working days, provisional while it reaches
    # into a year whose calendar is not loaded (domain.workdays.Deadline)
    sign_from: Mapped[date | None] = mapped_column(Date)
    sign_days: Mapped[int | None] = mapped_column(Integer)
    sign_due: Mapped[date | None] = mapped_column(Date)
    sign_provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    respond_from: Mapped[date | None] = mapped_column(Date)
    respond_days: Mapped[int | None] = mapped_column(Integer)
    respond_due: Mapped[date | None] = mapped_column(Date)
    respond_provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: an approved extension set the respond deadline to a day of its own
    respond_extended: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    feedback_from: Mapped[date | None] = mapped_column(Date)
    feedback_days: Mapped[int | None] = mapped_column(Integer)
    feedback_due: Mapped[date | None] = mapped_column(Date)
    feedback_provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: the deadline of the step owed now (sign, respond or feedback), for the lists and the chaser
    current_due: Mapped[date | None] = mapped_column(Date, index=True)
    #: sign, respond or feedback
    current_step: Mapped[str | None] = mapped_column(String(10))

    # Progress
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    #: the last response came after the end of the respond deadline then in force
    responded_late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: working days from the dispatch to the last response, counted when it was given
    handling_days: Mapped[int | None] = mapped_column(Integer)
    #: domain.lifecycle.Outcome of the last response
    outcome: Mapped[str | None] = mapped_column(String(20))
    response_text: Mapped[str | None] = mapped_column(Text)
    planned_on: Mapped[date | None] = mapped_column(Date)
    #: domain.lifecycle.Feedback last recorded
    feedback: Mapped[str | None] = mapped_column(String(30))
    feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    #: domain.lifecycle.CloseReason
    close_reason: Mapped[str | None] = mapped_column(String(30))
    returns_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    #: indexed with the state (models.dashboard)
    key_supervision: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    key_supervision_reason: Mapped[str | None] = mapped_column(Text)
    #: how far the chaser has escalated it: 0 none, 1 the department head, 2 leadership
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0", index=True)

    #: for a demand taken in from the old ledger: a digest of its row, so that a file imported twice
    #: creates nothing the second time
    import_key: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)

    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    company: Mapped[Company] = relationship()
    visit: Mapped[Visit | None] = relationship(back_populates="demands")
    category: Mapped[Category] = relationship()
    lead_department: Mapped[Department | None] = relationship()
    co_departments: Mapped[list[Department]] = relationship(
        secondary=demand_co_departments, order_by=Department.id)
    dispatched_by: Mapped[User | None] = relationship(foreign_keys=[dispatched_by_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    duplicate_of: Mapped[Demand | None] = relationship(remote_side=[id])
    events: Mapped[list[DemandEvent]] = relationship(
        back_populates="demand", order_by="DemandEvent.id", viewonly=True)
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="demand", order_by="(Milestone.due_on, Milestone.id)")
    extensions: Mapped[list[ExtensionRequest]] = relationship(
        back_populates="demand", order_by="ExtensionRequest.id")

    __mapper_args__ = {"version_id_col": version}


class DemandEvent(Base):
    """One line of a demand's history (流转记录). Append-only: see the guard below."""

    __tablename__ = "demand_events"
    __table_args__ = (
        #: the demands returned or reopened in a period (the dashboard's drill-downs)
        Index("ix_demand_events_action_at", "action", "at"),
        #: a demand's events of one kind (the lists' last return), and a demand's history by its prefix
        Index("ix_demand_events_demand_action", "demand_id", "action"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: empty for the system (the scheduler, a recomputed deadline)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: the role the actor acted in, and their department then
    actor_role: Mapped[str | None] = mapped_column(String(16))
    actor_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    #: domain.lifecycle.Action, or a system action (created, deadline_recomputed, ...)
    action: Mapped[str] = mapped_column(String(30), index=True)
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str | None] = mapped_column(String(12))
    #: the reason or text the user gave
    text: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    demand: Mapped[Demand] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
    actor_department: Mapped[Department | None] = relationship()


class AppendOnlyError(RuntimeError):
    """Something tried to change or delete a demand event: the history is never edited."""


@event.listens_for(DemandEvent, "before_update")
@event.listens_for(DemandEvent, "before_delete")
def _refuse_history_edits(_mapper: Any, _connection: Any, target: DemandEvent) -> None:
    raise AppendOnlyError(f"demand event {target.id} is part of the history and cannot change")


class Milestone(Base):
    """A dated step of the roadmap of a demand that cannot be solved at once (节点)."""

    __tablename__ = "milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    demand: Mapped[Demand] = relationship(back_populates="milestones")

    @property
    def is_open(self) -> bool:
        return self.completed_at is None


class ExtensionRequest(Base):
    """A lead department's request for more time (延期申请), pending until a leader or the
    dispatching officer decides."""

    __tablename__ = "extension_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text)
    #: the respond deadline asked for
    new_due: Mapped[date] = mapped_column(Date)
    #: pending, approved or refused
    status: Mapped[str] = mapped_column(String(10), index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)

    demand: Mapped[Demand] = relationship(back_populates="extensions")
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class Attachment(Base):
    """A file kept under the instance folder for a visit or a demand; served only to those who
    may see it, under its original name."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    demand_id: Mapped[int | None] = mapped_column(ForeignKey("demands.id"), index=True)
    original_name: Mapped[str] = mapped_column(String(255))
    #: the name under instance/uploads/attachments: random, never the user's
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    uploaded_by: Mapped[User] = relationship()


class ImportMapping(Base):
    """How the columns of an uploaded ledger map to a demand's fields, remembered by the file's
    header row so that the next file of the same shape needs no mapping."""

    __tablename__ = "import_mappings"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: a digest of the header row as written
    signature: Mapped[str] = mapped_column(String(64), unique=True)
    #: field -> the header of its column
    columns: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    updated_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DemandStateTotal(Base):
    """How many demands are in each state, kept in step by triggers on `demands` (migration 0007)
    in the statement that changes them, so that the list of all demands tells its total without
    counting every demand."""

    __tablename__ = "demand_state_totals"

    state: Mapped[str] = mapped_column(String(12), primary_key=True)
    #: the demands in that state now
    demands: Mapped[int] = mapped_column(Integer, default=0)
