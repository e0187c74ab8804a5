"""Typed models, one module per aggregate; importing this package registers them all."""

from servicedesk.models.audit import AuditEvent
from servicedesk.models.calendar import CalendarDay, CalendarYear, CategoryTimeLimit, TimeLimitSetting
from servicedesk.models.company import Company
from servicedesk.models.demand import (
    Attachment,
    Demand,
    DemandEvent,
    ExtensionRequest,
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
    "Company",
    "Demand",
    "DemandEvent",
    "Department",
    "ExtensionRequest",
    "LoginSession",
    "Milestone",
    "Role",
    "TimeLimitSetting",
    "User",
    "UserRole",
    "Visit",
]
