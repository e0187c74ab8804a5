"""The benchmarks' data set is what the desk itself would have recorded: its calendar arithmetic is
the working calendar's, and the demands' columns agree with their histories and the lifecycle."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta

from sqlalchemy import func, select, text

from servicedesk.bench import data
from servicedesk.calendar import store
from servicedesk.chaser.tick import run_tick
from servicedesk.demands.operations import CURRENT_STEP
from servicedesk.domain.lifecycle import OPEN_STATES, State
from servicedesk.domain.workdays import end_of, local_day
from servicedesk.extensions import db
from servicedesk.models import ChaseRecord, Company, Demand, DemandEvent, User
from servicedesk.models.demand import DemandStateTotal

DEMANDS = 300


def test_the_generators_calendar_counts_as_the_working_calendar(app, calendar_2026) -> None:
    calendar = store.working_calendar()
    fast = data._Calendar(calendar, date(2025, 10, 1), date(2027, 6, 30))
    rng = random.Random(1)
    for _ in range(400):
        day = date(2025, 10, 1) + timedelta(days=rng.randrange(400))
        n = rng.randrange(40)
        assert fast.add(day, n) == calendar.add_working_days(day, n), (day, n)
        assert fast.deadline(day, n) == calendar.deadline(day, n), (day, n)
        later = day + timedelta(days=rng.randrange(120))
        assert fast.between(day, later) == calendar.working_days_between(day, later), (day, later)
        assert fast.is_working_day(day) == calendar.is_working_day(day), day


def test_the_data_set_is_what_the_operations_would_have_recorded(app) -> None:
    world = data.seed_world(app)
    data.add_demands(app, world, DEMANDS)
    db.session.remove()
    assert (world.demands, db.session.scalar(select(func.count()).select_from(Demand))) == (DEMANDS, DEMANDS)
    assert db.session.scalar(select(func.count()).select_from(User)) == 400
    assert db.session.scalar(select(func.count()).select_from(Company)) == data.COMPANIES
    demands = db.session.scalars(select(Demand)).all()
    events = db.session.execute(select(DemandEvent.demand_id, DemandEvent.id, DemandEvent.at,
                                       DemandEvent.action, DemandEvent.to_state)
                                .order_by(DemandEvent.id)).all()
    history: dict[int, list] = {}
    for row in events:
        history.setdefault(row.demand_id, []).append(row)
    states = Counter(d.state for d in demands)
    assert states["closed"] > DEMANDS * 0.8 and sum(states[s.value] for s in OPEN_STATES) > 0
    assert 8 <= len(events) / DEMANDS <= 16
    assert len(history[world.long_history_demand_id]) == data.LONG_HISTORY
    assert len({d.number for d in demands}) == DEMANDS

    for demand in demands:
        lines = history[demand.id]
        assert lines[0].action == "logged" and all(line.at <= data.NOW for line in lines)
        assert [line.at for line in lines] == sorted(line.at for line in lines), demand.id
        last_state = [line.to_state for line in lines if line.to_state][-1]
        assert last_state == demand.state, demand.id
        step = CURRENT_STEP.get(State(demand.state))
        assert demand.current_step == step
        assert demand.current_due == (getattr(demand, f"{step}_due") if step else None)
        assert (demand.closed_at is not None) == (demand.state == "closed")
        if demand.signed_at is not None:
            assert demand.signed_late == (demand.signed_at > end_of(demand.sign_due))
        if demand.responded_at is not None and demand.reopen_count == 0:
            assert demand.handling_days is not None and demand.feedback_due is not None
            assert demand.responded_at >= demand.dispatched_at
        assert demand.returns_count == sum(1 for line in lines if line.action == "return")
        assert demand.reopen_count == sum(1 for line in lines
                                          if line.action == "record_feedback" and line.to_state == "accepted")
        if demand.escalation_level:
            assert any(line.action == "escalate" for line in lines)

    # the search table holds every demand (the triggers fired on SQLite), and the totals kept per
    # state are the demands' (row triggers on SQLite, one per COPY on PostgreSQL)
    if db.engine.dialect.name == "sqlite":
        assert db.session.scalar(text("SELECT count(*) FROM demand_search")) == DEMANDS
    kept = dict(db.session.execute(select(DemandStateTotal.state, DemandStateTotal.demands)).all())
    assert {state: n for state, n in kept.items() if n} == dict(states)
    # today's chase tick finds what is owed today, and nothing the history recorded already twice
    keys = db.session.scalars(select(ChaseRecord.idempotency_key)).all()
    assert len(keys) == len(set(keys)) and all(not key.endswith(data.TODAY.isoformat()) for key in keys)
    db.session.remove()
    result = run_tick(data.NOW)
    assert result.recorded and all(r.working_day <= local_day(data.NOW) for r in result.recorded)
