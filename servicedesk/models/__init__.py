"""Typed models, one module per aggregate; importing this package registers them all."""

from servicedesk.models.audit import AuditEvent
from servicedesk.models.calendar import CalendarDay, CalendarYear, CategoryTimeLimit, TimeLimitSetting
from servicedesk.models.chase import ChaseRecord, EscalationNotice, Notification, OutboxMessage
from servicedesk.models.company import Company
from servicedesk.models.dashboard import CountedEvent, DemandTally
from servicedesk.models.demand import (
    Attachment,
    Demand,
    DemandEvent,
    ExtensionRequest,
    ImportMapping,
    Milestone,
    Visit,
)
from servicedesk.models.organisation import Category, Department
from servicedesk.models.user import ApiToken, LoginSession, Role, User, UserRole

__all__ = [
    "ApiToken",
    "Attachment",
    "AuditEvent",
    "CalendarDay",
    "CalendarYear",
    "Category",
    "CategoryTimeLimit",
    "ChaseRecord",
    "Company",
    "CountedEvent",
    "Demand",
    "DemandEvent",
    "DemandTally",
    "Department",
    "EscalationNotice",
    "ExtensionRequest",
    "ImportMapping",
    "LoginSession",
    "Milestone",
    "Notification",
    "OutboxMessage",
    "Role",
    "TimeLimitSetting",
    "User",
    "UserRole",
    "Visit",
]
