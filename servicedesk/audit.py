"""Append an audit event to the current transaction."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from sqlalchemy import inspect

from servicedesk.extensions import db
from servicedesk.models import AuditEvent, User


def record(
    action: str,
    subject: Any,
    details: dict[str, Any] | None = None,
    actor: User | None = None,
) -> AuditEvent:
    """Add the event to the session; the caller's commit writes it with the change it describes.

    The subject is the changed row, or the name of a table changed as a whole (the time limits).
    """
    if isinstance(subject, str):
        subject_type, subject_id = subject, None
    else:
        db.session.flush()  # the subject needs its primary key
        subject_type, subject_id = subject.__tablename__, _key_of(subject)
    if actor is None:
        actor = acting_user()
    event = AuditEvent(
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        actor_id=actor.id if actor else None,
        details=details or {},
    )
    db.session.add(event)
    return event


def _key_of(subject: Any) -> int | None:
    identity = inspect(subject).identity
    if identity and len(identity) == 1 and isinstance(identity[0], int):
        return identity[0]
    return None


def acting_user() -> User | None:
    try:
        return current_user if current_user.is_authenticated else None
    except (AttributeError, RuntimeError):  # no request: a shell command or the scheduler
        return None


def changes(obj: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Apply values to obj and return {field: [old, new]} for the fields that really changed."""
    changed: dict[str, list[Any]] = {}
    for field, new in values.items():
        old = getattr(obj, field)
        if old != new:
            changed[field] = [_plain(old), _plain(new)]
            setattr(obj, field, new)
    return changed


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return sorted(_plain(item) for item in value)
    return str(value)


class StaleEdit(Exception):
    """The record changed since the user opened it; saving would overwrite someone's work."""


def ensure_not_stale(obj: Any, version_seen: int | None) -> None:
    if version_seen != obj.version:
        raise StaleEdit
