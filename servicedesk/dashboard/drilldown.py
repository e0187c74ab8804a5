"""The list of demands opened from a dashboard number: what the number's extra conditions mean, in words.

A dashboard number links to the list with the measure arguments (search.MEASURE_ARGUMENTS: closed in
the period, signed by the deadline, owed by the department…), which the list's filter form has no
field for. The list says what they mean above its count, carries them through its form as hidden
inputs (so that a search or a sort within the drill-down keeps them) and offers a link without them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any

from flask_babel import gettext as _

from servicedesk.dashboard import bp
from servicedesk.dashboard.measures import LABELS, Count
from servicedesk.demands.forms import CLOSE_REASON_LABELS, FEEDBACK_LABELS, OUTCOME_LABELS
from servicedesk.demands.search import MEASURE_ARGUMENTS, DemandFilters, OwedBy, Timeliness
from servicedesk.i18n import format_day

SIGN_NOTES = {
    Timeliness.ON_TIME: lambda: _("Signed by the sign deadline"),
    Timeliness.LATE: lambda: _("Signed late, or not signed by the sign deadline"),
    Timeliness.MEASURED: lambda: _("Signed, or past the sign deadline"),
}
RESPONSE_NOTES = {
    Timeliness.ON_TIME: lambda: _("by the respond deadline in force"),
    Timeliness.LATE: lambda: _("after the respond deadline in force"),
}


@dataclass(frozen=True)
class Drilldown:
    #: what each extra condition means, in words
    notes: list[str]
    #: the measure arguments as (name, value) pairs, one per hidden input
    hidden: list[tuple[str, str]]
    #: the list's arguments without the measure ones (the link that drops them)
    without: dict[str, Any]


def days(first: date | None, last: date | None) -> str:
    """A range of days as words: both ends, one day, or an open end."""
    if first is not None and last is not None:
        if first == last:
            return format_day(first)
        return _("%(first)s – %(last)s", first=format_day(first), last=format_day(last))
    if first is not None:
        return _("from %(day)s", day=format_day(first))
    if last is not None:
        return _("until %(day)s", day=format_day(last))
    return ""


def _phrase(head: str, *details: str) -> str:
    return " · ".join(part for part in (head, *details) if part)


def _labels(labels: dict[Any, Any], values: Iterable[str]) -> str:
    return ", ".join(str(labels.get(value, value)) for value in values)


def notes(filters: DemandFilters, department_names: dict[int, str]) -> list[str]:
    """Each measure condition of the filters, in words."""
    found: list[str] = []
    if filters.closed_from or filters.closed_to or filters.close_reasons:
        found.append(_phrase(_("Closed %(days)s", days=days(filters.closed_from, filters.closed_to)).strip(),
                             _labels(CLOSE_REASON_LABELS, filters.close_reasons)))
    if filters.responded_from or filters.responded_to or filters.response or filters.outcomes:
        found.append(_phrase(
            _("Responded %(days)s", days=days(filters.responded_from, filters.responded_to)).strip(),
            RESPONSE_NOTES[filters.response]() if filters.response in RESPONSE_NOTES else "",
            _labels(OUTCOME_LABELS, filters.outcomes)))
    if filters.feedback_from or filters.feedback_to or filters.feedbacks:
        found.append(_phrase(
            _("Feedback recorded %(days)s", days=days(filters.feedback_from, filters.feedback_to)).strip(),
            _labels(FEEDBACK_LABELS, filters.feedbacks)))
    if filters.owed_by is not None:
        found.append(_owed(filters))
    if filters.sign is not None:
        found.append(SIGN_NOTES[filters.sign]())
    if filters.returned_by is not None or filters.returned_from or filters.returned_to:
        period = days(filters.returned_from, filters.returned_to)
        if filters.returned_by is not None:
            department = department_names.get(filters.returned_by) or _("a department")
            found.append(_("Returned by %(department)s %(days)s", department=department, days=period).strip())
        else:
            found.append(_("Returned %(days)s", days=period).strip())
    if filters.reopened_from or filters.reopened_to:
        found.append(_("Reopened %(days)s", days=days(filters.reopened_from, filters.reopened_to)).strip())
    return found


def _owed(filters: DemandFilters) -> str:
    department = filters.owed_by is OwedBy.DEPARTMENT
    if filters.overdue:
        return str(LABELS[Count.OVERDUE_DEPARTMENT if department else Count.OVERDUE_OFFICER])
    return _("Owed by the department") if department else _("Owed by the officer")


def _hidden(filters: DemandFilters) -> list[tuple[str, str]]:
    pairs = []
    for name, value in filters.to_args().items():
        if name in MEASURE_ARGUMENTS:
            pairs += [(name, str(one)) for one in (value if isinstance(value, list) else [value])]
    return pairs


def _without_measures(filters: DemandFilters) -> DemandFilters:
    defaults = {f.name: f.default for f in fields(DemandFilters) if f.name in filters.measure_narrowing}
    return replace(filters, **defaults)


@bp.app_template_global("drilldown")
def drilldown(filters: DemandFilters, department_choices: Iterable[Any] = ()) -> Drilldown | None:
    """The list page's drill-down notice, or None when no dashboard number narrowed the list.

    `department_choices` are the list form's (id, name) pairs, so that naming a department costs
    no query."""
    if not filters.measure_narrowing:
        return None
    names = {int(key): str(label) for key, label in department_choices if str(key).isdigit()}
    return Drilldown(notes(filters, names), _hidden(filters), _without_measures(filters).to_args())
