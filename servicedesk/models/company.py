"""The zone's companies, keyed by their unified social credit code."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from servicedesk.models.base import Base, UTCDateTime, utcnow


class Company(Base):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 统一社会信用代码: 18 characters, check character verified (GB 32100-2015)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    #: registered name, e.g. 江苏万邦生化医药集团有限责任公司
    name: Mapped[str] = mapped_column(String(200), index=True)
    #: name in common use, e.g. 万邦医药
    short_name: Mapped[str | None] = mapped_column(String(60))
    address: Mapped[str | None] = mapped_column(String(255))
    #: industry in the zone's own words, e.g. 生物医药
    industry: Mapped[str | None] = mapped_column(String(60))
    contact_person: Mapped[str | None] = mapped_column(String(60))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
