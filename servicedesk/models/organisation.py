"""The zone's departments and the categories demands are filed under."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from servicedesk.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from servicedesk.models.user import User


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: full name, e.g. 自然资源和规划分局
    name: Mapped[str] = mapped_column(String(100), unique=True)
    #: short name used in tables and digests, e.g. 资规分局
    short_name: Mapped[str] = mapped_column(String(30))
    #: inactive departments keep their history but receive no new assignments
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    members: Mapped[list[User]] = relationship(back_populates="department")

    __mapper_args__ = {"version_id_col": version}

    @property
    def head(self) -> User | None:
        """The handler who heads the department (a partial unique index allows one)."""
        return next((m for m in self.members if m.is_department_head), None)


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Chinese name, e.g. 土地规划
    name: Mapped[str] = mapped_column(String(60), unique=True)
    #: English name, shown when the interface is in English
    name_en: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true(), index=True)
    #: position in pick lists
    position: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    def label(self, locale: str) -> str:
        return self.name if locale.startswith("zh") else self.name_en
