"""The ledger export (台账) at size: how fast, and whether its memory stays flat.

    python -m servicedesk.bench.ledger_export --rows 20000 [--output ledger.xlsx]

Builds a throwaway SQLite database in a temporary folder (the migrations, then departments, users,
companies, visits and `--rows` demands in every state with their history, inserted in bulk), then
exports the ledger through the Flask test client as a leader, reading the streamed body chunk by
chunk as a browser would. It exports a quarter of the rows first, then all of them:

- seconds, rows_per_second: one export of all the rows, not traced (tracemalloc slows Python down),
  and cpu_seconds the processor time it took (the same on a busy machine);
- peak_memory_mb: the peak of Python's allocations during another export of all the rows
  (tracemalloc), and quarter_peak_memory_mb the same for a quarter of them: the two are close when
  memory is flat, as the export is meant to be;
- file_mb: the size of the workbook.

The clock is pinned to FROZEN_NOW so that every run exports the same workbook.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import insert, select

from servicedesk import create_app
from servicedesk.admin.operations import create_department, create_user
from servicedesk.calendar import store as calendar_store
from servicedesk.domain.credit_code import check_character
from servicedesk.domain.lifecycle import Action, State
from servicedesk.domain.time_limits import DEFAULTS, Limit, Urgency, respond_limit
from servicedesk.domain.workdays import ZONE, WorkingCalendar
from servicedesk.extensions import db
from servicedesk.models import Category, Company, Demand, DemandEvent, Role, Visit
from servicedesk.models.demand import demand_co_departments

FROZEN_NOW = "2026-11-25T10:00+08:00"
#: demands are logged over the year before FROZEN_NOW
FIRST_DAY = date(2025, 11, 25)
PASSWORD = "benchmark password"  # noqa: S105 (of a throwaway database)
URL = "/demands/export/ledger.xlsx"
#: rows inserted per executemany
INSERT_BATCH = 2_000
DEPARTMENTS = ("自然资源和规划分局", "行政审批局", "生态环境分局", "住房和城乡建设局", "市场监督管理局",
               "人力资源和社会保障局", "财政局", "税务局", "供电公司", "消防救援大队", "交通运输局", "商务局")
COMPANIES = 400
VISITS = 300
#: the share of demands in each state
STATES = ((State.REGISTERED, 0.05), (State.ASSIGNED, 0.08), (State.ACCEPTED, 0.22),
          (State.RESPONDED, 0.15), (State.CLOSED, 0.50))
TOPICS = ("新建生产线用地指标", "厂房扩建规划许可", "电力增容", "环评审批加快", "人才公寓申请", "融资担保",
          "子女入学", "物流通道改造", "消防验收", "排污许可证延续", "高新技术企业认定", "出口退税")
#: days before FROZEN_NOW a demand in each state was logged at the latest, so its steps are past
LOGGED_AGO = {State.REGISTERED: 1, State.ASSIGNED: 1, State.ACCEPTED: 5, State.RESPONDED: 60,
              State.CLOSED: 60}


@dataclass
class World:
    """What the demands refer to: the ids the seeding made."""

    officer_id: int
    leader_id: int
    department_ids: list[int]
    #: department id -> the id of its handler
    handlers: dict[int, int]
    category_ids: list[int]
    company_ids: list[int]
    visits: list[tuple[int, date]]
    calendar: WorkingCalendar
    random: random.Random = field(default_factory=lambda: random.Random(7))  # noqa: S311 (reproducible)


@dataclass(frozen=True)
class Measure:
    rows: int
    seconds: float
    cpu_seconds: float
    file_bytes: int
    #: bytes; None when not traced
    peak: int | None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m servicedesk.bench.ledger_export",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000, help="demands in the ledger (default 20000)")
    parser.add_argument("--output", type=Path, help="keep the full workbook at this path")
    args = parser.parse_args(argv)
    if args.rows < 4:
        parser.error("--rows must be at least 4")
    with tempfile.TemporaryDirectory(prefix="servicedesk-bench-") as folder:
        app = bench_app(Path(folder))
        with app.app_context():
            upgrade()
            world = seed(app)
        quarter = args.rows // 4
        add_demands(app, world, 0, quarter)
        client = signed_in_client(app)
        export(client, quarter)  # warm up: imports, compiled statements, caches
        small = export(client, quarter, traced=True)
        add_demands(app, world, quarter, args.rows)
        timed = export(client, args.rows)
        traced = export(client, args.rows, traced=True, output=args.output)
        with app.app_context():
            db.engine.dispose()
    report({
        "rows": timed.rows,
        "seconds": f"{timed.seconds:.2f}",
        "rows_per_second": f"{timed.rows / timed.seconds:.0f}",
        "cpu_seconds": f"{timed.cpu_seconds:.2f}",
        "peak_memory_mb": megabytes(traced.peak or 0),
        "file_mb": megabytes(timed.file_bytes),
        "quarter_rows": small.rows,
        "quarter_peak_memory_mb": megabytes(small.peak or 0),
    })
    return 0


def report(figures: dict[str, Any]) -> None:
    for name, value in figures.items():
        print(f"{name}={value}")


def megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f}"


def bench_app(folder: Path) -> Flask:
    url = "sqlite:///" + str(folder / "bench.sqlite3")
    app = create_app({
        "TESTING": True,  # no scheduler
        "DATABASE_URL": url,
        "SQLALCHEMY_DATABASE_URI": url,  # over any the instance folder or the environment sets
        "SECRET_KEY": "benchmark",
        "WTF_CSRF_ENABLED": False,
        "FROZEN_NOW": FROZEN_NOW,
        "SCHEDULER_ENABLED": False,
        "PASSWORD_ARGON2_TIME_COST": 1,
        "PASSWORD_ARGON2_MEMORY_KIB": 8192,
        "PASSWORD_ARGON2_PARALLELISM": 1,
    })
    app.instance_path = str(folder)
    return app


# Seeding

def seed(app: Flask) -> World:
    """Departments with a handler each, an officer, a leader, companies, visits and the calendar."""
    for year in range(FIRST_DAY.year, FIRST_DAY.year + 2):
        calendar_store.prefill(year)
    departments = [create_department(name, name[:4]) for name in DEPARTMENTS]
    officer = create_user("officer", "张伟", PASSWORD, {Role.OFFICER})
    leader = create_user("leader", "赵磊", PASSWORD, {Role.LEADER})
    db.session.flush()
    handlers = {d.id: create_user(f"handler{d.id}", f"经办人{d.id}", PASSWORD, {Role.HANDLER},
                                  department=d) for d in departments}
    db.session.flush()
    moment = datetime.fromisoformat(FROZEN_NOW)
    insert_rows(Company, ({"credit_code": credit_code(number), "name": f"徐州经开区第{number}科技有限公司",
                           "short_name": f"企业{number}", "industry": "制造业", "contact_person": "李明",
                           "contact_phone": f"0516-8888{number:04d}", "created_at": moment,
                           "updated_at": moment, "version": 1} for number in range(COMPANIES)))
    rng = random.Random(11)  # noqa: S311 (reproducible data, nothing secret)
    visits = [(number + 1, FIRST_DAY + timedelta(days=rng.randrange(360))) for number in range(VISITS)]
    insert_rows(Visit, ({"id": number, "kind": rng.choice(("visit", "symposium", "survey")),
                         "visited_on": day, "place": f"经开区第{number % 40}片区", "lead_official": "王主任",
                         "created_by_id": officer.id, "created_at": moment, "version": 1}
                        for number, day in visits))
    db.session.commit()
    return World(
        officer_id=officer.id, leader_id=leader.id, department_ids=[d.id for d in departments],
        handlers={department_id: user.id for department_id, user in handlers.items()},
        category_ids=list(db.session.scalars(select(Category.id).order_by(Category.id))),
        company_ids=list(db.session.scalars(select(Company.id).order_by(Company.id))),
        visits=visits, calendar=calendar_store.working_calendar(),
    )


def credit_code(number: int) -> str:
    first = f"91320300MA{number:07d}"
    return first + check_character(first)


def insert_rows(model: Any, rows: Iterator[dict[str, Any]]) -> None:
    """Core executemany in batches: no ORM objects, one statement per batch."""
    batch: list[dict[str, Any]] = []
    table = model if hasattr(model, "c") else model.__table__
    for row in rows:
        batch.append(row)
        if len(batch) == INSERT_BATCH:
            db.session.execute(insert(table), batch)
            batch = []
    if batch:
        db.session.execute(insert(table), batch)


def add_demands(app: Flask, world: World, first: int, last: int) -> None:
    """Demands first+1..last with their co-departments and their history."""
    with app.app_context():
        demands, co, events = [], [], []
        for number in range(first + 1, last + 1):
            demand, co_departments, history = make_demand(world, number)
            demands.append(demand)
            co += [{"demand_id": number, "department_id": d} for d in co_departments]
            events += history
        insert_rows(Demand, iter(demands))
        insert_rows(demand_co_departments, iter(co))
        insert_rows(DemandEvent, iter(events))
        db.session.commit()


def _state(rng: random.Random) -> State:
    draw, total = rng.random(), 0.0
    for state, share in STATES:
        total += share
        if draw < total:
            return state
    return State.CLOSED


def _moment(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=ZONE)


def make_demand(world: World, number: int) -> tuple[dict[str, Any], list[int], list[dict[str, Any]]]:
    """One demand as a row, its co-departments and its events, in a state drawn at random."""
    rng, calendar = world.random, world.calendar
    today = datetime.fromisoformat(FROZEN_NOW).astimezone(ZONE).date()
    state = _state(rng)
    logged_on = FIRST_DAY + timedelta(days=rng.randrange((today - FIRST_DAY).days - LOGGED_AGO[state]))
    urgency = rng.choice((Urgency.URGENT, Urgency.NORMAL, Urgency.NORMAL, Urgency.COMPLEX))
    topic = rng.choice(TOPICS)
    visit_id, visited_on = rng.choice(world.visits) if rng.random() < 0.4 else (None, None)
    if visited_on is not None and visited_on > logged_on:
        visit_id = None  # raised at a visit still to come: logged on its own
    logged = _moment(logged_on, 9)
    row: dict[str, Any] = {column.name: None for column in Demand.__table__.c}
    row.update({
        "id": number, "number": f"{logged.year}-{number:05d}", "company_id": rng.choice(world.company_ids),
        "visit_id": visit_id, "source": rng.choice(("visit", "symposium", "survey")) if visit_id
        else rng.choice(("hotline", "letter", "online", "other")),
        "category_id": rng.choice(world.category_ids), "title": f"{topic}问题",
        "description": f"企业反映{topic}事项推进缓慢，希望相关部门协调解决。" * rng.randint(1, 4),
        "urgency": urgency.value, "contact_name": "李明", "contact_phone": f"1380516{number % 10000:04d}",
        "state": state.value, "created_by_id": world.officer_id, "created_at": logged, "updated_at": logged,
        "version": 1, "signed_late": False, "responded_late": False, "respond_extended": False,
        "sign_provisional": False, "respond_provisional": False, "feedback_provisional": False,
        "returns_count": 0, "reopen_count": 0, "key_supervision": rng.random() < 0.03, "escalation_level": 0,
    })
    events = [_event(number, logged, world.officer_id, Role.OFFICER, None, "logged", None, State.REGISTERED)]
    if state is State.REGISTERED:
        return row, [], events
    if state is State.CLOSED and rng.random() < 0.05:  # withdrawn before dispatch
        closed = logged + timedelta(days=1)
        row.update(closed_at=closed, close_reason="withdrawn")
        events.append(_event(number, closed, world.officer_id, Role.OFFICER, None, Action.CLOSE.value,
                             State.REGISTERED, State.CLOSED))
        return row, [], events
    lead = rng.choice(world.department_ids)
    co = [d for d in rng.sample(world.department_ids, 2) if d != lead] if rng.random() < 0.3 else []
    handler = world.handlers[lead]
    dispatched = logged + timedelta(hours=2)
    sign = calendar.deadline(logged_on, DEFAULTS[Limit.SIGN])
    respond = calendar.deadline(logged_on, DEFAULTS[respond_limit(urgency)])
    row.update(lead_department_id=lead, dispatched_by_id=world.officer_id, dispatched_at=dispatched,
               sign_from=logged_on, sign_days=sign.working_days, sign_due=sign.due, respond_from=logged_on,
               respond_days=respond.working_days, respond_due=respond.due, current_step="sign",
               current_due=sign.due)
    events.append(_event(number, dispatched, world.officer_id, Role.OFFICER, None, Action.DISPATCH.value,
                         State.REGISTERED, State.ASSIGNED))
    if state is State.ASSIGNED:
        return row, co, events
    signed_on = calendar.add_working_days(logged_on, rng.choice((0, 1, 1, 2)))
    signed = _moment(signed_on, 10)
    row.update(signed_at=signed, signed_late=signed_on > sign.due, current_step="respond",
               current_due=respond.due)
    events.append(_event(number, signed, handler, Role.HANDLER, lead, Action.SIGN.value, State.ASSIGNED,
                         State.ACCEPTED))
    if state is State.ACCEPTED:
        return row, co, events
    taken = rng.randint(1, respond.working_days + 5)
    responded_on = calendar.add_working_days(logged_on, taken)
    responded = _moment(responded_on, 16)
    outcome = rng.choice(("solved", "solved", "partly_solved", "explained", "planned"))
    feedback = calendar.deadline(responded_on, DEFAULTS[Limit.FEEDBACK])
    row.update(responded_at=responded, responded_late=responded_on > respond.due, handling_days=taken,
               outcome=outcome, response_text=f"已协调{topic}。" + "措施已与企业沟通。" * rng.randint(1, 3),
               planned_on=responded_on + timedelta(days=90) if outcome == "planned" else None,
               feedback_from=responded_on, feedback_days=feedback.working_days, feedback_due=feedback.due,
               current_step="feedback", current_due=feedback.due)
    events.append(_event(number, responded, handler, Role.HANDLER, lead, Action.RESPOND.value,
                         State.ACCEPTED, State.RESPONDED))
    if state is State.RESPONDED:
        return row, co, events
    verdict = rng.choice(("satisfied", "satisfied", "basically_satisfied"))
    closed = responded + timedelta(days=rng.randint(1, 5))
    row.update(feedback=verdict, feedback_at=closed, closed_at=closed, close_reason=verdict,
               current_step=None, current_due=None)
    events.append(_event(number, closed, world.officer_id, Role.OFFICER, None, Action.RECORD_FEEDBACK.value,
                         State.RESPONDED, State.CLOSED))
    return row, co, events


def _event(demand_id: int, at: datetime, actor_id: int, role: Role, department_id: int | None, action: str,
           from_state: State | None, to_state: State) -> dict[str, Any]:
    return {"demand_id": demand_id, "at": at, "actor_id": actor_id, "actor_role": role.value,
            "actor_department_id": department_id, "action": action,
            "from_state": from_state.value if from_state else None, "to_state": to_state.value,
            "text": None, "details": {}}


# Measuring

def signed_in_client(app: Flask) -> Any:
    client = app.test_client()
    response = client.post("/auth/login", data={"username": "leader", "password": PASSWORD})
    if response.status_code != 302:
        raise RuntimeError("the benchmark's leader could not sign in")
    return client


def export(client: Any, rows: int, traced: bool = False, output: Path | None = None) -> Measure:
    """One export of the ledger of `rows` demands, its body read chunk by chunk (and written to
    `output`)."""
    if traced:
        tracemalloc.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        response = client.get(URL)
        if response.status_code != 200:
            raise RuntimeError(f"the export answered {response.status_code}")
        size = consume(response, output)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        peak = tracemalloc.get_traced_memory()[1] if traced else None
    finally:
        if traced:
            tracemalloc.stop()
    return Measure(rows, seconds, cpu_seconds, size, peak)


def consume(response: Any, output: Path | None) -> int:
    """Read the body as a browser would, chunk by chunk; its size."""
    size = 0
    sink: IO[bytes] | None = output.open("wb") if output else None
    try:
        for chunk in response.response:
            size += len(chunk)
            if sink is not None:
                sink.write(chunk)
    finally:
        response.close()
        if sink is not None:
            sink.close()
    return size


if __name__ == "__main__":
    sys.exit(main())
