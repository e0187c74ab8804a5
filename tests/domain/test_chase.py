"""The chase rules on the real 2026 calendar: due soon, due today, overdue and escalation, with their keys.

2026 around the dates used here: Friday 19 June is 端午节 (Dragon Boat); 1 to 7 October are off for
国庆节 (National Day) and Saturday 10 October is worked, as is Sunday 20 September; Friday
25 September is 中秋节.
"""

from __future__ import annotations

import ast
import dataclasses
import random
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicedesk.domain import chase as chase_module
from servicedesk.domain import statutory_holidays
from servicedesk.domain.chase import (
    DEADLINE_OWNERS,
    KEY_MAX_LENGTH,
    ChaseAction,
    ChaseSettings,
    Kind,
    OpenDeadline,
    Owner,
    chase,
    idempotency_key,
)
from servicedesk.domain.workdays import ZONE, InMemoryCalendar, WorkingCalendar

D = date.fromisoformat
DEFAULTS = ChaseSettings()
DEPARTMENT_ID = 5
OFFICER_ID = 11
APPROVER_ID = 12


def calendar_2026() -> WorkingCalendar:
    return WorkingCalendar(InMemoryCalendar(statutory_holidays.special_days(2026), [2025, 2026]))


#: one calendar for the property tests (it only caches what it has read)
SHARED_CALENDAR = calendar_2026()


def at(day: str, hour: int = 9, minute: int = 0) -> datetime:
    """A moment of the day in Beijing time."""
    return datetime.combine(D(day), time(hour, minute), ZONE)


def open_deadline(deadline: str = "respond", due: str = "2026-06-18", *, demand_id: int = 42,
                  milestone_id: int | None = None) -> OpenDeadline:
    owner = DEADLINE_OWNERS[deadline]
    return OpenDeadline(
        demand_id=demand_id, deadline=deadline, due=D(due), owner=owner,
        department_id=DEPARTMENT_ID if owner is Owner.DEPARTMENT else None,
        user_id={Owner.OFFICER: OFFICER_ID, Owner.APPROVER: APPROVER_ID}.get(owner),
        milestone_id=milestone_id if milestone_id is not None else (1 if deadline == "milestone" else None),
    )


def run(
    now: datetime, *deadlines: OpenDeadline, chase_settings: ChaseSettings = DEFAULTS,
) -> list[ChaseAction]:
    return chase(now, deadlines, calendar_2026(), chase_settings)


def summary(actions: list[ChaseAction]) -> list[tuple[str, str, int]]:
    return [(action.kind.value, action.working_day.isoformat(), action.days_overdue) for action in actions]


# Due soon: the yellow-card window, in working days


@pytest.mark.parametrize(("today", "due", "due_soon"), [
    # an ordinary week: Tuesday sees Wednesday and Thursday coming
    ("2026-06-16", "2026-06-17", True),
    ("2026-06-16", "2026-06-18", True),
    ("2026-06-16", "2026-06-22", False),
    # Dragon Boat: from Wednesday 17 June the second working day ahead is Monday 22 June
    ("2026-06-17", "2026-06-18", True),
    ("2026-06-17", "2026-06-19", True),     # due on the holiday itself
    ("2026-06-17", "2026-06-22", True),
    ("2026-06-17", "2026-06-23", False),
    ("2026-06-18", "2026-06-23", True),
    ("2026-06-18", "2026-06-24", False),
    # National Day: from Tuesday 29 September the window jumps 1 to 7 October
    ("2026-09-29", "2026-09-30", True),
    ("2026-09-29", "2026-10-08", True),
    ("2026-09-29", "2026-10-09", False),
    ("2026-09-30", "2026-10-09", True),
    ("2026-09-30", "2026-10-10", False),
    # Saturday 10 October is a working day, so it counts in the window and is in it
    ("2026-10-08", "2026-10-10", True),
    ("2026-10-08", "2026-10-12", False),
    ("2026-10-09", "2026-10-12", True),
    # the Sunday worked before National Day is a working day too
    ("2026-09-18", "2026-09-20", True),
    ("2026-09-18", "2026-09-22", False),
])
def test_due_soon_counts_working_days_across_holidays(today: str, due: str, due_soon: bool) -> None:
    actions = run(at(today), open_deadline(due=due))
    assert summary(actions) == ([("due_soon", today, 0)] if due_soon else [])


@pytest.mark.parametrize(("window", "today", "due", "due_soon"), [
    (0, "2026-06-17", "2026-06-18", False),
    (1, "2026-06-17", "2026-06-18", True),
    (1, "2026-06-18", "2026-06-22", True),
    (1, "2026-06-17", "2026-06-22", False),
    (5, "2026-06-15", "2026-06-23", True),   # 16, 17, 18, 22, 23
    (5, "2026-06-15", "2026-06-24", False),
])
def test_the_window_is_a_setting(window: int, today: str, due: str, due_soon: bool) -> None:
    actions = run(at(today), open_deadline(due=due), chase_settings=ChaseSettings(due_soon_days=window))
    assert [action.kind for action in actions] == ([Kind.DUE_SOON] if due_soon else [])


def test_a_reminder_on_each_day_of_the_window_with_its_own_key() -> None:
    deadline = open_deadline(due="2026-06-22")
    keys = [run(at(day), deadline)[0].idempotency_key for day in ("2026-06-17", "2026-06-18")]
    assert keys == ["d42:respond:2026-06-22:due_soon:2026-06-17",
                    "d42:respond:2026-06-22:due_soon:2026-06-18"]


# Due today


@pytest.mark.parametrize(("now", "due"), [
    (at("2026-06-15", 0, 0), "2026-06-15"),
    (at("2026-06-15", 23, 59), "2026-06-15"),
    (datetime(2026, 6, 15, 16, 30, tzinfo=UTC), "2026-06-16"),   # 00:30 on Tuesday in Beijing
    (datetime(2026, 6, 16, 15, 59, tzinfo=UTC), "2026-06-16"),   # 23:59 on Tuesday in Beijing
    (at("2026-10-10"), "2026-10-10"),                            # the Saturday worked
    (at("2026-09-20"), "2026-09-20"),                            # the Sunday worked
])
def test_due_today_on_the_zone_day(now: datetime, due: str) -> None:
    assert summary(run(now, open_deadline(due=due))) == [("due_today", due, 0)]


@pytest.mark.parametrize("deadline", sorted(DEADLINE_OWNERS))
def test_every_deadline_gets_the_reminders(deadline: str) -> None:
    item = open_deadline(deadline, due="2026-06-16")
    assert [a.kind for a in run(at("2026-06-15"), item)] == [Kind.DUE_SOON]
    assert [a.kind for a in run(at("2026-06-16"), item)] == [Kind.DUE_TODAY]
    assert Kind.OVERDUE in [a.kind for a in run(at("2026-06-17"), item)]


# Overdue: every working day, counting the working days only


@pytest.mark.parametrize(("due", "today", "days_overdue"), [
    ("2026-06-16", "2026-06-17", 1),
    ("2026-06-16", "2026-06-18", 2),
    ("2026-06-16", "2026-06-22", 3),    # 19 June (端午节), 20 and 21 June not counted
    ("2026-06-18", "2026-06-22", 1),
    ("2026-06-18", "2026-06-23", 2),
    ("2026-06-12", "2026-06-15", 1),    # a Friday deadline, overdue on Monday
    ("2026-09-30", "2026-10-08", 1),    # 1 to 7 October not counted
    ("2026-09-30", "2026-10-09", 2),
    ("2026-09-30", "2026-10-10", 3),    # the Saturday worked counts
    ("2026-09-30", "2026-10-12", 4),
    ("2026-09-24", "2026-09-28", 1),    # 中秋节 on Friday 25 September
    ("2026-09-18", "2026-09-20", 1),    # the Sunday worked counts
    ("2026-06-19", "2026-06-22", 1),    # due on a holiday: overdue from the next working day
])
def test_overdue_counts_working_days_only(due: str, today: str, days_overdue: int) -> None:
    actions = run(at(today), open_deadline("feedback", due=due))
    assert summary(actions) == [("overdue", today, days_overdue)]
    assert actions[0].idempotency_key == f"d42:feedback:{due}:overdue:{today}"


def test_overdue_on_each_working_day_while_it_stays_overdue() -> None:
    deadline = open_deadline("extension", due="2026-09-29")
    days = [D("2026-09-29") + timedelta(days=n) for n in range(1, 16)]
    reminded = {day.isoformat(): [a.days_overdue for a in run(at(day.isoformat()), deadline)] for day in days}
    assert reminded == {
        "2026-09-30": [1],
        **{f"2026-10-0{n}": [] for n in range(1, 8)},
        "2026-10-08": [2], "2026-10-09": [3], "2026-10-10": [4], "2026-10-11": [], "2026-10-12": [5],
        "2026-10-13": [6], "2026-10-14": [7],
    }


# Nothing on a day off


@pytest.mark.parametrize("today", [
    "2026-06-19",   # 端午节
    "2026-06-20", "2026-06-21",
    "2026-09-25",   # 中秋节
    "2026-10-01", "2026-10-04", "2026-10-07",
    "2026-10-11",   # the Sunday after the worked Saturday
    "2026-05-01",
])
def test_nothing_on_a_day_off(today: str) -> None:
    day = D(today)
    deadlines = [
        open_deadline("respond", due=(day - timedelta(days=30)).isoformat(), demand_id=1),
        open_deadline("sign", due=(day - timedelta(days=1)).isoformat(), demand_id=2),
        open_deadline("feedback", due=today, demand_id=3),
        open_deadline("milestone", due=(day + timedelta(days=1)).isoformat(), demand_id=4),
        open_deadline("extension", due=(day + timedelta(days=3)).isoformat(), demand_id=5),
    ]
    for hour in (0, 9, 23):
        assert run(at(today, hour), *deadlines) == []


def test_a_working_weekend_day_chases() -> None:
    assert [a.kind for a in run(at("2026-10-10"), open_deadline(due="2026-09-30"))] == [
        Kind.OVERDUE, Kind.ESCALATE_HEAD, Kind.ESCALATE_LEADERSHIP]


# Escalation: to the head, then to leadership, for a department's deadlines only


@pytest.mark.parametrize(("today", "expected"), [
    ("2026-06-17", [("due_soon", "2026-06-17", 0)]),
    ("2026-06-18", [("due_today", "2026-06-18", 0)]),
    ("2026-06-22", [("overdue", "2026-06-22", 1), ("escalate_head", "2026-06-22", 1)]),
    ("2026-06-23", [("overdue", "2026-06-23", 2), ("escalate_head", "2026-06-22", 2)]),
    ("2026-06-24", [("overdue", "2026-06-24", 3), ("escalate_head", "2026-06-22", 3),
                    ("escalate_leadership", "2026-06-24", 3)]),
    ("2026-06-29", [("overdue", "2026-06-29", 6), ("escalate_head", "2026-06-22", 6),
                    ("escalate_leadership", "2026-06-24", 6)]),
])
@pytest.mark.parametrize("deadline", ["sign", "respond", "milestone"])
def test_a_department_deadline_escalates_to_the_head_then_to_leadership(
    deadline: str, today: str, expected: list[tuple[str, str, int]],
) -> None:
    assert summary(run(at(today), open_deadline(deadline, due="2026-06-18"))) == expected


@pytest.mark.parametrize("deadline", ["feedback", "extension"])
@pytest.mark.parametrize("today", ["2026-06-22", "2026-06-24", "2026-07-31"])
def test_the_officer_and_the_approver_are_reminded_but_not_escalated(deadline: str, today: str) -> None:
    actions = run(at(today), open_deadline(deadline, due="2026-06-18"))
    assert [action.kind for action in actions] == [Kind.OVERDUE]
    assert not actions[0].is_escalation


@pytest.mark.parametrize(("chase_settings", "today", "escalations"), [
    (ChaseSettings(escalate_head_after=2, escalate_leadership_after=5), "2026-06-22", []),
    (ChaseSettings(escalate_head_after=2, escalate_leadership_after=5), "2026-06-23",
     [("escalate_head", "2026-06-23")]),
    (ChaseSettings(escalate_head_after=2, escalate_leadership_after=5), "2026-06-25",
     [("escalate_head", "2026-06-23")]),
    (ChaseSettings(escalate_head_after=2, escalate_leadership_after=5), "2026-06-26",
     [("escalate_head", "2026-06-23"), ("escalate_leadership", "2026-06-26")]),
    (ChaseSettings(escalate_head_after=1, escalate_leadership_after=1), "2026-06-22",
     [("escalate_head", "2026-06-22"), ("escalate_leadership", "2026-06-22")]),
])
def test_the_thresholds_are_settings(
    chase_settings: ChaseSettings, today: str, escalations: list[tuple[str, str]],
) -> None:
    actions = run(at(today), open_deadline(due="2026-06-18"), chase_settings=chase_settings)
    assert [(a.kind.value, a.working_day.isoformat()) for a in actions if a.is_escalation] == escalations


def test_escalation_days_skip_national_day() -> None:
    actions = run(at("2026-10-12"), open_deadline("sign", due="2026-09-30"))
    assert [a.idempotency_key for a in actions] == [
        "d42:sign:2026-09-30:overdue:2026-10-12",
        "d42:sign:2026-09-30:escalate_head:2026-10-08",
        "d42:sign:2026-09-30:escalate_leadership:2026-10-10",
    ]


def test_a_missed_escalation_comes_later_under_the_same_key() -> None:
    deadline = open_deadline(due="2026-06-18")
    on_the_days = {a.kind: a.idempotency_key for day in ("2026-06-22", "2026-06-24")
                   for a in run(at(day), deadline) if a.is_escalation}
    # the scheduler was down from 22 to 25 June: the first tick after sees both escalations
    late = {a.kind: a.idempotency_key for a in run(at("2026-06-26"), deadline) if a.is_escalation}
    assert late == on_the_days
    assert set(late) == {Kind.ESCALATE_HEAD, Kind.ESCALATE_LEADERSHIP}


def test_a_new_due_day_escalates_again() -> None:
    before = {a.idempotency_key for a in run(at("2026-06-24"), open_deadline(due="2026-06-18"))}
    after = {a.idempotency_key for a in run(at("2026-07-06"), open_deadline(due="2026-06-30"))}
    assert "d42:respond:2026-06-30:escalate_head:2026-07-01" in after
    assert not before & after


# Idempotency keys


def test_the_key_reads_as_the_situation() -> None:
    actions = run(at("2026-07-02"), open_deadline("respond", due="2026-06-30"))
    assert actions[0].idempotency_key == "d42:respond:2026-06-30:overdue:2026-07-02"
    assert idempotency_key(open_deadline(due="2026-06-30"), Kind.OVERDUE, D("2026-07-02")) == (
        "d42:respond:2026-06-30:overdue:2026-07-02")


def test_the_same_day_gives_the_same_keys_at_any_hour() -> None:
    deadlines = [open_deadline("respond", due="2026-06-18", demand_id=1),
                 open_deadline("feedback", due="2026-06-22", demand_id=2),
                 open_deadline("sign", due="2026-06-24", demand_id=3)]
    morning = run(at("2026-06-22", 0, 0), *deadlines)
    evening = run(at("2026-06-22", 23, 59), *deadlines)
    in_utc = run(datetime(2026, 6, 22, 6, 15, tzinfo=UTC), *deadlines)
    assert morning == evening == in_utc
    assert [a.kind for a in morning] == [Kind.OVERDUE, Kind.ESCALATE_HEAD, Kind.DUE_TODAY, Kind.DUE_SOON]


def test_the_next_working_day_gives_a_new_reminder_but_the_same_escalation() -> None:
    deadline = open_deadline(due="2026-06-18")
    monday = {a.kind: a.idempotency_key for a in run(at("2026-06-22", 9), deadline)}
    tuesday = {a.kind: a.idempotency_key for a in run(at("2026-06-23", 15), deadline)}
    assert monday[Kind.OVERDUE] == "d42:respond:2026-06-18:overdue:2026-06-22"
    assert tuesday[Kind.OVERDUE] == "d42:respond:2026-06-18:overdue:2026-06-23"
    assert monday[Kind.ESCALATE_HEAD] == tuesday[Kind.ESCALATE_HEAD] == (
        "d42:respond:2026-06-18:escalate_head:2026-06-22")


def test_milestones_are_keyed_by_their_id() -> None:
    actions = run(at("2026-06-22"), open_deadline("milestone", due="2026-06-18", milestone_id=8),
                  open_deadline("milestone", due="2026-06-18", milestone_id=7))
    assert [a.idempotency_key for a in actions] == [
        "d42:milestone7:2026-06-18:overdue:2026-06-22",
        "d42:milestone7:2026-06-18:escalate_head:2026-06-22",
        "d42:milestone8:2026-06-18:overdue:2026-06-22",
        "d42:milestone8:2026-06-18:escalate_head:2026-06-22",
    ]
    assert [a.deadline.milestone_id for a in actions] == [7, 7, 8, 8]


def test_the_key_fits_its_column() -> None:
    huge = 10 ** 30
    deadline = open_deadline("milestone", due="2026-06-18", demand_id=huge, milestone_id=huge)
    assert len(idempotency_key(deadline, Kind.ESCALATE_LEADERSHIP, D("2026-06-24"))) <= KEY_MAX_LENGTH
    too_big = dataclasses.replace(deadline, demand_id=10 ** 200)
    with pytest.raises(ValueError, match="at most"):
        idempotency_key(too_big, Kind.OVERDUE, D("2026-06-24"))


# Order and input


def test_the_order_is_by_demand_then_deadline_then_kind() -> None:
    deadlines = [
        open_deadline("feedback", due="2026-06-18", demand_id=2),
        open_deadline("extension", due="2026-06-23", demand_id=1),
        open_deadline("milestone", due="2026-06-22", demand_id=1, milestone_id=3),
        open_deadline("respond", due="2026-06-17", demand_id=1),
        open_deadline("sign", due="2026-06-18", demand_id=2),
    ]
    actions = run(at("2026-06-22"), *deadlines)
    assert [(a.deadline.demand_id, a.deadline.deadline, a.kind.value) for a in actions] == [
        (1, "respond", "overdue"), (1, "respond", "escalate_head"),
        (1, "milestone", "due_today"),
        (1, "extension", "due_soon"),
        (2, "sign", "overdue"), (2, "sign", "escalate_head"),
        (2, "feedback", "overdue"),
    ]
    shuffled = deadlines[:]
    random.Random(6).shuffle(shuffled)
    assert run(at("2026-06-22"), *shuffled) == actions


def test_a_deadline_given_twice_counts_once() -> None:
    deadline = open_deadline(due="2026-06-18")
    assert run(at("2026-06-22"), deadline, deadline) == run(at("2026-06-22"), deadline)


def test_two_deadlines_that_would_share_keys_are_refused() -> None:
    deadline = open_deadline(due="2026-06-18")
    with pytest.raises(ValueError, match="share"):
        run(at("2026-06-22"), deadline, dataclasses.replace(deadline, department_id=6))


def test_nothing_open_gives_nothing() -> None:
    assert run(at("2026-06-22")) == []


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        run(datetime(2026, 6, 22, 9), open_deadline())


@pytest.mark.parametrize(("changes", "message"), [
    ({"deadline": "close"}, "unknown deadline"),
    ({"owner": Owner.OFFICER}, "owed by the department"),
    ({"deadline": "milestone"}, "milestone id"),
    ({"milestone_id": 3}, "milestone id"),
    ({"department_id": None}, "needs the department"),
])
def test_an_inconsistent_deadline_is_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(open_deadline("respond"), **changes)


def test_the_owner_may_be_given_as_its_value() -> None:
    deadline = dataclasses.replace(open_deadline("feedback"), owner="officer")
    assert deadline.owner is Owner.OFFICER


def test_a_due_moment_is_not_a_due_day() -> None:
    with pytest.raises(TypeError):
        dataclasses.replace(open_deadline(), due=at("2026-06-18"))


@pytest.mark.parametrize("changes", [
    {"due_soon_days": -1}, {"escalate_head_after": 0}, {"escalate_leadership_after": 0},
])
def test_settings_are_checked(changes: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        ChaseSettings(**changes)


def test_the_module_needs_no_flask_no_database_no_clock() -> None:
    source = Path(chase_module.__file__).read_text(encoding="utf-8")
    tree = ast.parse(source)
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.split(".")[0] in {"flask", "sqlalchemy", "smtplib"}}
    assert not {name for name in imported if name.startswith(("servicedesk.models", "servicedesk.core"))}
    assert ".now(" not in source and ".today(" not in source


# Properties

YEAR_DAYS = st.dates(min_value=D("2026-01-01"), max_value=D("2026-12-31"))
MOMENTS = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31, 23, 59),
                       timezones=st.just(ZONE))


@st.composite
def deadlines(draw: st.DrawFn) -> OpenDeadline:
    name = draw(st.sampled_from(sorted(DEADLINE_OWNERS)))
    milestone_id = draw(st.integers(1, 4)) if name == "milestone" else None
    return open_deadline(name, due=draw(YEAR_DAYS).isoformat(), demand_id=draw(st.integers(1, 6)),
                         milestone_id=milestone_id)


def distinct(items: list[OpenDeadline]) -> list[OpenDeadline]:
    by_identity = {(d.demand_id, d.deadline, d.milestone_id, d.due): d for d in items}
    return list(by_identity.values())


CHASE_SETTINGS = st.builds(ChaseSettings, due_soon_days=st.integers(0, 5),
                           escalate_head_after=st.integers(1, 4), escalate_leadership_after=st.integers(1, 6))


@settings(max_examples=200, deadline=None)
@given(st.lists(deadlines(), max_size=25).map(distinct), MOMENTS, CHASE_SETTINGS, st.randoms())
def test_keys_are_unique_and_stable(
    items: list[OpenDeadline], now: datetime, chase_settings: ChaseSettings, rnd: random.Random,
) -> None:
    first = chase(now, items, SHARED_CALENDAR, chase_settings)
    keys = [action.idempotency_key for action in first]
    assert len(keys) == len(set(keys))
    assert all(len(key) <= KEY_MAX_LENGTH for key in keys)
    shuffled = items[:]
    rnd.shuffle(shuffled)
    later_that_day = datetime.combine(now.date(), time(23, 59, 59), ZONE)
    assert chase(later_that_day, shuffled, calendar_2026(), chase_settings) == first
    # at most one reminder per deadline, and it is today's
    reminders = [a for a in first if not a.is_escalation]
    assert len({a.deadline for a in reminders}) == len(reminders)
    assert all(a.working_day == now.date() for a in reminders)


@settings(max_examples=200, deadline=None)
@given(deadlines(), MOMENTS, st.integers(1, 30), CHASE_SETTINGS)
def test_an_escalation_keeps_its_key_on_every_later_day(
    item: OpenDeadline, now: datetime, days_later: int, chase_settings: ChaseSettings,
) -> None:
    earlier = chase(now, [item], SHARED_CALENDAR, chase_settings)
    later = chase(now + timedelta(days=days_later), [item], SHARED_CALENDAR, chase_settings)
    escalated_earlier = {a.idempotency_key for a in earlier if a.is_escalation}
    later_keys = {a.idempotency_key for a in later}
    if later:
        assert escalated_earlier <= later_keys
        assert not {a.idempotency_key for a in earlier if not a.is_escalation} & later_keys
    if escalated_earlier:
        assert item.owner is Owner.DEPARTMENT
