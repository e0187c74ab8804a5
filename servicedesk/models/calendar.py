"""The working-day calendar and the time limits, as the admin has set them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from servicedesk.models.base import Base, UTCDateTime, utcnow
from servicedesk.models.organisation import Category
from servicedesk.models.user import User


class CalendarYear(Base):
    """A year of the calendar; its days count only once it is loaded (loaded_at set)."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    loaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    loaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: how it was loaded: "package" (chinese-calendar), "import" (a file) or "manual" (confirmed)
    source: Mapped[str | None] = mapped_column(String(20))
    #: the package's version or the imported file's name
    source_detail: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)

    loaded_by: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def loaded(self) -> bool:
        return self.loaded_at is not None


class CalendarDay(Base):
    """A day that differs from the Monday-to-Friday rule: a weekday holiday or a weekend workday."""

    __tablename__ = "calendar_days"
    __table_args__ = (CheckConstraint("kind IN ('holiday', 'workday')", name="kind"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("calendar_years.year"), index=True)
    #: "holiday" or "workday" (domain.workdays.DayKind)
    kind: Mapped[str] = mapped_column(String(10))
    #: the holiday it belongs to: 春节, 国庆节, ... or a local closure
    name: Mapped[str] = mapped_column(String(60))


class TimeLimitSetting(Base):
    """The default number of working days of one limit (domain.time_limits.Limit)."""

    __tablename__ = "time_limits"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    working_days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    updated_by: Mapped[User | None] = relationship()


class CategoryTimeLimit(Base):
    """A category's own limit, overriding the default for demands filed under it."""

    __tablename__ = "category_time_limits"

    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    working_days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    category: Mapped[Category] = relationship()
    updated_by: Mapped[User | None] = relationship()
