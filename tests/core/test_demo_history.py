"""The demo's history: some five months of everyday demands before today, on top of the story."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from servicedesk.calendar.store import working_calendar
from servicedesk.demo import COMPANIES, DEPARTMENTS, DILIGENCE, HISTORY_MARK, SYMPOSIUM_DAY, seed_demo
from servicedesk.domain.workdays import ZONE, local_day
from servicedesk.extensions import db
from servicedesk.models import (
    AuditEvent,
    Category,
    ChaseRecord,
    Demand,
    DemandEvent,
    ExtensionRequest,
    OutboxMessage,
    User,
    Visit,
)

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZONE)
#: the story's demands are logged in June; the history's after it
HISTORY_FROM = datetime(2026, 6, 29, tzinfo=ZONE)
HANDLER_ACTIONS = {"sign", "return", "co_opinion", "progress", "request_extension", "add_milestone",
                   "complete_milestone", "respond"}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def history() -> list[Demand]:
    return list(db.session.scalars(select(Demand).where(Demand.created_at >= HISTORY_FROM)
                                   .order_by(Demand.id)))


def events_of(demands: list[Demand]) -> list[DemandEvent]:
    return list(db.session.scalars(select(DemandEvent).where(DemandEvent.demand_id.in_(
        [d.id for d in demands])).order_by(DemandEvent.id)))


def overdue(demand: Demand, today: date) -> bool:
    return demand.state != "closed" and demand.current_due is not None and demand.current_due < today


@pytest.fixture
def seeded(freeze_clock) -> list[Demand]:
    freeze_clock(NOW.isoformat())
    seed_demo("demo password 2026")
    db.session.commit()
    return history()


def test_the_history_walks_demands_through_every_state_and_side_path_and_twice_adds_nothing(seeded) -> None:
    demands = seeded
    assert 150 <= len(demands) <= 250
    assert {d.state for d in demands} == {"registered", "assigned", "accepted", "responded", "closed"}
    states = Counter(d.state for d in demands)
    assert states["closed"] > len(demands) / 2
    assert all(states[s] >= 2 for s in ("registered", "assigned", "accepted", "responded"))

    today = local_day(NOW)
    late = [d for d in demands if overdue(d, today)]
    assert len(late) >= 6
    assert {d.current_step for d in late} == {"sign", "respond", "feedback"}
    assert len({d.lead_department_id for d in late}) >= 4
    calendar = working_calendar()
    days_late = [calendar.working_days_between(d.current_due, today) for d in late]
    assert sum(days > 20 for days in days_late) >= 2, days_late  # the red list's long overdue items
    # The tick at the end of the history escalated what the department owes: to its head after a
    # working day overdue, to leadership after three.
    for demand, days in zip(late, days_late, strict=True):
        if demand.current_step != "feedback":
            assert demand.escalation_level >= (2 if days >= 3 else 1), (demand.number, days)
    assert sum(d.escalation_level == 2 and d.key_supervision for d in late) >= 3

    assert sum(d.returns_count for d in demands) >= 4
    assert sum(d.reopen_count for d in demands) >= 4
    assert sum(d.signed_late for d in demands) >= 10 and sum(d.responded_late for d in demands) >= 10
    extensions = db.session.scalars(select(ExtensionRequest).where(
        ExtensionRequest.demand_id.in_([d.id for d in demands]))).all()
    assert sum(e.status == "approved" for e in extensions) >= 4
    assert sum(d.respond_extended for d in demands) >= 4

    events = events_of(demands)
    responses = [e for e in events if e.action == "respond"]
    assert {e.details["outcome"] for e in responses} == {"solved", "partly_solved", "explained", "planned"}
    feedbacks = Counter(e.details["feedback"] for e in events if e.action == "record_feedback")
    assert set(feedbacks) == {"satisfied", "basically_satisfied", "unsatisfied"}
    assert feedbacks["satisfied"] > feedbacks["basically_satisfied"] > feedbacks["unsatisfied"]
    planned = [d for d in demands if d.outcome == "planned"]
    assert planned and all(d.milestones for d in planned)
    assert any(not m.is_open for d in planned for m in d.milestones)
    reasons = Counter(d.close_reason for d in demands)
    assert reasons["withdrawn"] >= 2 and reasons["duplicate"] >= 2
    assert all(d.duplicate_of is not None and d.duplicate_of.company_id == d.company_id
               for d in demands if d.close_reason == "duplicate")
    zhaolei = db.session.scalar(select(User).where(User.username == "zhaolei"))
    flags = [e for e in events if e.action == "flag_key_supervision"]
    assert flags and all(e.actor_id == zhaolei.id for e in flags)
    assert {e.action for e in events} >= {"dispatch", "sign", "return", "co_opinion", "progress",
                                          "request_extension", "approve_extension", "add_milestone",
                                          "complete_milestone", "respond", "record_feedback", "close",
                                          "flag_key_supervision", "remind", "escalate"}

    # Everyone and everything of the demo zone takes part.
    departments = {d.lead_department.name for d in demands if d.lead_department}
    assert departments == {name for name, _short in DEPARTMENTS}
    assert {d.company.credit_code for d in demands} == {c["credit_code"] for c in COMPANIES}
    assert {d.category.name for d in demands} == set(db.session.scalars(select(Category.name)))
    assert {d.source for d in demands} == {"visit", "symposium", "survey", "hotline", "letter", "online",
                                         "other"}
    assert all(d.visit is not None for d in demands if d.source in ("visit", "symposium", "survey"))

    totals = (count(Demand), count(DemandEvent), count(Visit), count(ChaseRecord), count(OutboxMessage),
              count(User))
    seed_demo("demo password 2026")
    db.session.commit()
    assert (count(Demand), count(DemandEvent), count(Visit), count(ChaseRecord), count(OutboxMessage),
            count(User)) == totals
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == HISTORY_MARK)) == 1


def test_the_history_is_played_as_its_users_would_have_and_gives_the_dashboard_shape(seeded) -> None:
    # One seeding for both checks: the history takes a couple of seconds to play.
    played_as_users_would(seeded)
    trend_and_league_table_have_shape(seeded)


def played_as_users_would(demands: list[Demand]) -> None:
    calendar = working_calendar()
    by_id = {d.id: d for d in demands}
    users = {u.id: u for u in db.session.scalars(select(User))}
    last_at: dict[int, datetime] = {}
    for event in events_of(demands):
        at = event.at.astimezone(ZONE)
        assert at <= NOW
        # A demand's history reads in the order things happened.
        assert at >= last_at.get(event.demand_id, at), (by_id[event.demand_id].number, event.action)
        last_at[event.demand_id] = at
        if event.actor_id is None:  # the chaser's tick, at the end of the history
            assert event.action in ("remind", "escalate") and at == NOW
            continue
        assert calendar.is_working_day(at.date()), (event.action, at)
        assert time(8, 40) <= at.time() <= time(17, 50), (event.action, at)
        actor = users[event.actor_id]
        if event.action in HANDLER_ACTIONS:
            assert event.actor_role == "handler" and actor.department_id == event.actor_department_id
        elif event.action in ("dispatch", "record_feedback"):
            assert actor.username in ("zhangwei", "liuyang")
        elif event.action in ("close", "flag_key_supervision"):
            assert actor.username == "zhaolei"
    # Numbers follow the order demands were logged, after the story's.
    logged = sorted(demands, key=lambda d: (d.created_at, d.id))
    assert [d.number for d in logged] == sorted(d.number for d in demands)
    assert min(d.number for d in demands) > "2026-0007"
    assert all(v.visited_on != SYMPOSIUM_DAY for v in db.session.scalars(select(Visit).where(
        Visit.id.in_([d.visit_id for d in demands if d.visit_id]))))


def trend_and_league_table_have_shape(demands: list[Demand]) -> None:
    today = local_day(NOW)
    monday = today - timedelta(days=today.weekday())
    dispatched = [local_day(e.at) for e in events_of(demands) if e.action == "dispatch"]
    closed = [local_day(d.closed_at) for d in demands if d.closed_at]
    weeks = [monday - timedelta(weeks=k) for k in range(12)]

    def in_week(days: list[date], start: date) -> int:
        return sum(start <= day < start + timedelta(days=7) for day in days)

    assert sum(in_week(dispatched, week) > 0 for week in weeks) >= 11
    assert sum(in_week(closed, week) > 0 for week in weeks) >= 11
    # Busy weeks and quiet ones: the rhythm of an office, not a flat line.
    per_week = [in_week(dispatched, week) for week in weeks[1:]]
    assert max(per_week) >= 2 * min(per_week)
    # The league table: diligent departments answer on time, slow ones late.
    late_share = {}
    for name in ("审批局", "经发局", "住建局", "金龙湖集团"):
        answered = [d for d in demands if d.lead_department and d.lead_department.short_name == name
                    and d.responded_at is not None]
        assert len(answered) >= 5, name
        late_share[name] = sum(d.responded_late or d.signed_late for d in answered) / len(answered)
    good, bad = ("审批局", "经发局"), ("住建局", "金龙湖集团")
    assert max(late_share[n] for n in good) + 0.2 < min(late_share[n] for n in bad), late_share
    # Overdue now mostly at the slow departments.
    late_now = Counter(DILIGENCE[d.lead_department.short_name] for d in demands
                       if overdue(d, today) and d.current_step != "feedback")
    slow = sum(n for diligence, n in late_now.items() if diligence <= 0.55)
    diligent = sum(n for diligence, n in late_now.items() if diligence >= 0.85)
    assert slow > diligent + 2, late_now


def test_on_a_weekend_the_tick_is_the_last_working_days(freeze_clock) -> None:
    freeze_clock("2026-11-22T15:00+08:00")  # a Sunday
    seed_demo("demo password 2026")
    db.session.commit()
    assert history()
    made = set(db.session.scalars(select(ChaseRecord.working_day).where(
        ChaseRecord.kind == "overdue", ChaseRecord.created_at >= HISTORY_FROM)))
    assert made == {date(2026, 11, 20)}


def test_before_the_history_starts_there_is_only_the_story(freeze_clock) -> None:
    freeze_clock("2026-06-20T10:00+08:00")
    seed_demo("demo password 2026")
    db.session.commit()
    assert not history()
    assert count(Demand) == 7
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == HISTORY_MARK)) is None
