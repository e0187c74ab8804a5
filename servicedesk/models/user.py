"""Accounts: users, their roles, their login sessions and their API tokens."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, false, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from servicedesk.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from servicedesk.models.organisation import Department


class Role(enum.StrEnum):
    OFFICER = "officer"
    HANDLER = "handler"
    LEADER = "leader"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.OFFICER: _l("Officer"),
    Role.HANDLER: _l("Department handler"),
    Role.LEADER: _l("Leader"),
    Role.ADMIN: _l("Administrator"),
}


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        # A department has at most one head.
        Index(
            "uq_users_department_head",
            "department_id",
            unique=True,
            sqlite_where=text("is_department_head = 1"),
            postgresql_where=text("is_department_head"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: login name, unique, compared case-insensitively (stored lower-case)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    #: the name shown to other users, e.g. 张伟
    display_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    #: argon2id hash in PHC string format
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: deactivated users cannot log in; users are never deleted
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    #: the department a handler works for
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    #: the handler who heads the department and receives its escalations
    is_department_head: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: interface language chosen by the user, remembered across sessions
    locale: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: optimistic lock: an edit made on a stale copy is refused instead of overwriting
    version: Mapped[int] = mapped_column(Integer, default=1)

    department: Mapped[Department | None] = relationship(back_populates="members")
    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(row.role) for row in self.role_rows)

    def set_roles(self, roles: set[Role]) -> None:
        current = {Role(row.role): row for row in self.role_rows}
        for role, row in current.items():
            if role not in roles:
                self.role_rows.remove(row)
        for role in sorted(roles - current.keys()):
            self.role_rows.append(UserRole(role=role.value))

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    # Flask-Login's interface
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    #: a Role code name
    role: Mapped[str] = mapped_column(String(16), primary_key=True, index=True)

    user: Mapped[User] = relationship(back_populates="role_rows")


class LoginSession(Base):
    """One signed-in browser; ending it makes a copied session cookie worthless."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: random identifier kept in the signed session cookie
    key: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: set at logout, password change or deactivation
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remote_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))

    user: Mapped[User] = relationship()


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: what the token is for, e.g. "12345 hotline bridge"
    name: Mapped[str] = mapped_column(String(100))
    #: hex SHA-256 of the token; the token itself is shown once and never stored
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: the first characters, so that users can tell their tokens apart
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

