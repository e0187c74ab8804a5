"""Time limits: how many working days each deadline allows, by default and per category.

A category's limit overrides the default for that deadline. Deadlines keep the number of working
days they were given when set, so changing a limit never moves a deadline already set.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class Urgency(enum.StrEnum):
    URGENT = "urgent"
    NORMAL = "normal"
    COMPLEX = "complex"


class Limit(enum.StrEnum):
    #: sign (签收), counted from dispatch
    SIGN = "sign"
    #: respond (答复), counted from dispatch, by urgency
    RESPOND_URGENT = "respond_urgent"
    RESPOND_NORMAL = "respond_normal"
    RESPOND_COMPLEX = "respond_complex"
    #: feedback (回访), counted from the response
    FEEDBACK = "feedback"
    #: the yellow card: this many working days before any deadline
    DUE_SOON = "due_soon"


DEFAULTS: Mapping[Limit, int] = {
    Limit.SIGN: 1,
    Limit.RESPOND_URGENT: 3,
    Limit.RESPOND_NORMAL: 10,
    Limit.RESPOND_COMPLEX: 20,
    Limit.FEEDBACK: 3,
    Limit.DUE_SOON: 2,
}

#: the limits a category may set for itself; the yellow-card window is the same for all
PER_CATEGORY = (Limit.SIGN, Limit.RESPOND_URGENT, Limit.RESPOND_NORMAL, Limit.RESPOND_COMPLEX,
                Limit.FEEDBACK)

#: no deadline further than a working year away: a longer one is a typing error
MAX_WORKING_DAYS = 250


def respond_limit(urgency: Urgency) -> Limit:
    return Limit(f"respond_{urgency.value}")


@dataclass(frozen=True)
class TimeLimits:
    """The limits in force: the defaults, and each category's own where it has any."""

    defaults: Mapping[Limit, int] = field(default_factory=lambda: dict(DEFAULTS))
    by_category: Mapping[int, Mapping[Limit, int]] = field(default_factory=dict)

    def working_days(self, limit: Limit, category_id: int | None = None) -> int:
        own = self.by_category.get(category_id, {}) if category_id is not None else {}
        if limit in own:
            return own[limit]
        return self.defaults.get(limit, DEFAULTS[limit])

    def sign(self, category_id: int | None = None) -> int:
        return self.working_days(Limit.SIGN, category_id)

    def respond(self, urgency: Urgency, category_id: int | None = None) -> int:
        return self.working_days(respond_limit(urgency), category_id)

    def feedback(self, category_id: int | None = None) -> int:
        return self.working_days(Limit.FEEDBACK, category_id)

    @property
    def due_soon(self) -> int:
        return self.working_days(Limit.DUE_SOON)


def allowed_range(limit: Limit) -> tuple[int, int]:
    """The fewest and most working days the limit may be set to (the yellow card may be off: 0)."""
    return (0 if limit is Limit.DUE_SOON else 1), MAX_WORKING_DAYS
