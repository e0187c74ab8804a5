"""What the dashboard reads instead of every demand: tallies by day, week, month and year, and the returns
and reopenings with their demand's lead department and category.

Both are derived tables, never written by the application: triggers (migration 0006) keep them in
step inside the very statement that writes a demand or an event, whoever writes it (the operations,
the ledger import, the chaser, the benchmark's bulk loader), so that they cannot lag behind. The
dashboard's measures (dashboard.measures) read them with the same conditions as the demand list's
filters; tests/dashboard checks every number against the list.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from servicedesk.models.base import Base, UTCDateTime
from servicedesk.models.demand import Demand

#: the lengths of time a tally's bucket spans, each from its `first_day`
GRAINS = ("day", "week", "month", "year")
#: the tally columns: each a count of demands, but `handling_days`, their sum of handling days
TALLY_COLUMNS = ("dispatched", "signed_on_time", "signed_late", "closed", "closed_resolved",
                 "closed_withdrawn", "closed_duplicate", "solved", "partly_solved", "responses",
                 "responses_on_time", "handling_days", "handling_counted", "feedback", "satisfied")


def _tally() -> Mapped[int]:
    return mapped_column(Integer, default=0, server_default="0")


class DemandTally(Base):
    """The demands of one lead department and one category whose step fell in one bucket: each
    demand counts once per step, in the buckets of its latest moment of that step (the demand row
    keeps its latest dispatch, response, feedback and closing)."""

    __tablename__ = "demand_tallies"
    # clustered by its key on SQLite: a period's buckets are read as runs of the table
    __table_args__ = {"sqlite_with_rowid": False}

    #: day, week (from a Monday), month or year (from the 1st), Beijing days
    grain: Mapped[str] = mapped_column(String(5), primary_key=True)
    first_day: Mapped[date] = mapped_column(Date, primary_key=True)
    #: the demands' lead department, 0 for demands without one (a primary key holds no NULL)
    lead_department_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    category_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: latest dispatch in the bucket
    dispatched: Mapped[int] = _tally()
    #: ... and signed by the sign deadline since
    signed_on_time: Mapped[int] = _tally()
    #: ... and signed after it
    signed_late: Mapped[int] = _tally()
    #: closed in the bucket
    closed: Mapped[int] = _tally()
    #: ... on satisfied or basically satisfied feedback
    closed_resolved: Mapped[int] = _tally()
    closed_withdrawn: Mapped[int] = _tally()
    closed_duplicate: Mapped[int] = _tally()
    #: ... on that feedback, the last response 'solved'
    solved: Mapped[int] = _tally()
    #: ... on that feedback, the last response 'partly solved'
    partly_solved: Mapped[int] = _tally()
    #: latest response in the bucket
    responses: Mapped[int] = _tally()
    #: ... given by the respond deadline in force
    responses_on_time: Mapped[int] = _tally()
    #: the sum of those responses' handling days (working days from dispatch)
    handling_days: Mapped[int] = _tally()
    #: how many of those responses have handling days (the average's divisor)
    handling_counted: Mapped[int] = _tally()
    #: latest feedback in the bucket
    feedback: Mapped[int] = _tally()
    #: ... satisfied or basically satisfied
    satisfied: Mapped[int] = _tally()


#: the kinds of counted event: a return, and unsatisfied feedback that reopened the demand
RETURN, REOPENING = "return", "reopening"


class CountedEvent(Base):
    """A return or a reopening (an event of the history), with its demand's lead department and
    category now: the dashboard counts both by period without reading the demands."""

    __tablename__ = "counted_events"
    __table_args__ = (Index("ix_counted_events_kind_at", "kind", "at", "lead_department_id", "category_id",
                            "actor_department_id", "demand_id"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("demand_events.id"), primary_key=True,
                                          autoincrement=False)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id"), index=True)
    #: RETURN or REOPENING
    kind: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: the department that returned it
    actor_department_id: Mapped[int | None] = mapped_column(Integer)
    #: the demand's, now
    lead_department_id: Mapped[int | None] = mapped_column(Integer)
    category_id: Mapped[int] = mapped_column(Integer)


# The indexes of what the dashboard counts live, each reading only the rows that can count (SQLite
# plans without statistics: each list's conditions find an index that begins with more of them than
# the single-column ones do):
#: the open demands, with every column their counts, breakdowns and lists read (PostgreSQL's indexes
#: hold no row id of their own: the id is the last column)
Index("ix_demands_state_counted", Demand.state, Demand.category_id, Demand.key_supervision,
      Demand.lead_department_id, Demand.current_step, Demand.current_due, Demand.created_at,
      Demand.company_id, Demand.id)
#: the demands under key supervision by state, the open ones in deadline order
Index("ix_demands_key_supervision", Demand.key_supervision, Demand.state, Demand.current_due, Demand.id)
#: the unsigned demands, whose sign deadline may pass before anyone acts (a partial index)
Index("ix_demands_unsigned", Demand.sign_due, Demand.lead_department_id, Demand.category_id,
      Demand.dispatched_at, sqlite_where=text("signed_at IS NULL"),
      postgresql_where=text("signed_at IS NULL"))
