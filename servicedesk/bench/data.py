"""The benchmarks' data set: one generator of a realistic year of a desk, shared by every bench script.

    from servicedesk.bench import data

    app = data.bench_app("sqlite:////tmp/bench.sqlite3", instance_path)   # or a PostgreSQL URL
    data.prepare(app)                        # the migrations; DatabaseNotEmpty if it holds anything
    world = data.build(app, demands=100_000, seed=7)   # -> World
    # ... or, on a database a former build left: world = data.load_world(app)

`build(app, demands, seed=7) -> World` fills an empty, migrated database (`prepare`) with:

- the calendar years of the data set loaded (2025, 2026 from chinese-calendar), the default time
  limits and categories of the migrations;
- 25 departments; 400 users: 1 admin (`admin`), 12 leaders (`leader01`..), 62 officers
  (`officer01`..), 13 handlers in each department (`handler0101`.. : department 01, handler 01, the
  first being the department's head), all with the password `PASSWORD`, hashed once with the app's
  own argon2 settings (so that signing in never rehashes, i.e. never writes);
- 2,000 companies; visits (visit, symposium, survey) each holding 1-8 of the demands, about 60 % of
  the demands, so their number grows with `demands`;
- `demands` demands logged on the working days of the year before `FROZEN_NOW` (2026-11-25 10:00,
  Beijing time) and lived through with the rules of `demands.operations.take_action` up to that
  moment: dispatch, returns (4 %), sign, progress and co-department opinions, extension requests
  (6 %, most approved), planned responses with milestones, responses (about one in eight late, a
  few stuck for months), feedback (6 % unsatisfied: reopened and answered again), withdrawn and
  duplicate closures, key supervision, and the chaser's reminders and escalations of every working
  day before today (history events, chase records, escalation notices, and a notification to
  whoever owes the step: the handler on the demand, the head for an escalation, the officer for
  feedback), each under the key `domain.chase.idempotency_key` gives it, so that today's tick is
  the day's first. At 100,000 demands about 95 % end closed, 4.5 % open, 1.3 % overdue, with 12
  events each on average (5 of them the chaser's); the demand columns (deadlines
  with their provisional flags, current_step/current_due, signed_late, responded_late,
  handling_days, closed_at, close_reason, outcome, feedback, counts, escalation_level,
  key_supervision) are what the operations would have set. At least one demand
  (`World.long_history_demand_id`) has 30 events.

Rows are written through the driver in batches, ids given: COPY on PostgreSQL, INSERTs of 500 rows on
SQLite; the demands through the `demands` table, so that SQLite's keyword-search triggers (and
PostgreSQL's trigram indexes) keep up. With more than one chunk of CHUNK demands a forked child makes
the next chunk while this process writes the last (100,000 demands in about 35 s on SQLite, 50 s on
PostgreSQL, on two cores). The same seed gives the same data. `add_demands(app, world, count)` adds
more demands to a built world (ledger_export measures a quarter first, then all); companies,
departments and users stay fixed.

`World` carries what the scripts need to act as the users: `usernames` by role, `handler_usernames`
by department id, the ids, `long_history_demand_id`, the counts made (`demands`, `events`, `visits`).
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import itertools
import json
import multiprocessing
import random
import time
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import JSON, Boolean, Date, MetaData, func, inspect, select, text

from servicedesk import create_app
from servicedesk.calendar import limits as time_limits_store
from servicedesk.calendar import store as calendar_store
from servicedesk.chaser.notices import ESCALATION_LEVEL, LEVEL_OF_KIND, number_prefix
from servicedesk.domain.chase import Kind, OpenDeadline, Owner, idempotency_key
from servicedesk.domain.credit_code import check_character
from servicedesk.domain.lifecycle import Action, Outcome, State
from servicedesk.domain.time_limits import TimeLimits, Urgency
from servicedesk.domain.workdays import ZONE, Deadline, WorkingCalendar, local_day
from servicedesk.extensions import db
from servicedesk.models import (
    Category,
    ChaseRecord,
    Company,
    Demand,
    DemandEvent,
    Department,
    EscalationNotice,
    ExtensionRequest,
    Milestone,
    Notification,
    Role,
    User,
    UserRole,
    Visit,
)
from servicedesk.models.base import UTCDateTime
from servicedesk.models.demand import demand_co_departments, visit_companies
from servicedesk.security import hash_password

FROZEN_NOW = "2026-11-25T10:00+08:00"
NOW = datetime.fromisoformat(FROZEN_NOW)
TODAY = local_day(NOW)
#: demands are logged over the year before FROZEN_NOW
FIRST_DAY = date(2025, 11, 25)
#: the calendar years loaded (chinese-calendar knows them); a deadline reaching into 2027 is provisional
YEARS = (2025, 2026)
PASSWORD = "benchmark password"  # noqa: S105 (of a throwaway database)
#: rows converted and inserted at a time
INSERT_BATCH = 5_000
#: the most parameters one SQLite statement takes (SQLITE_MAX_VARIABLE_NUMBER since 3.32 is 32766)
SQLITE_VARIABLES = 32_000
#: demands generated and inserted at a time, so that memory stays flat at any size
CHUNK = 10_000
COMPANIES = 2_000
LEADERS = 12
OFFICERS = 62
HANDLERS_PER_DEPARTMENT = 13
#: the share of demands raised at visits
VISIT_SHARE = 0.6
#: the events of the demand whose page the benchmark opens
LONG_HISTORY = 30

DEPARTMENTS = (
    ("自然资源和规划分局", "资规分局"), ("行政审批局", "审批局"), ("生态环境分局", "环境分局"),
    ("住房和城乡建设局", "住建局"), ("市场监督管理局", "市监局"), ("人力资源和社会保障局", "人社局"),
    ("财政局", "财政局"), ("税务局", "税务局"), ("供电公司", "供电公司"), ("消防救援大队", "消防大队"),
    ("交通运输局", "交通局"), ("商务局", "商务局"), ("科技创新局", "科创局"), ("经济发展局", "经发局"),
    ("应急管理局", "应急局"), ("教育文体局", "教文局"), ("卫生健康局", "卫健局"), ("城市管理局", "城管局"),
    ("水务局", "水务局"), ("公安分局", "公安分局"), ("海关办事处", "海关"), ("金融服务中心", "金融中心"),
    ("投资促进局", "投促局"), ("综合执法局", "执法局"), ("数据局", "数据局"),
)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "强", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "霞",
         "平", "刚", "桂英", "建华", "文", "华", "丽", "志强", "秀英", "海燕", "晓东", "鹏", "宇", "婷")
TRADE_NAMES = ("恒通", "华润", "中科", "万邦", "徐工", "海纳", "鑫源", "博远", "瑞丰", "金鼎", "天成", "协鑫",
               "宏达", "新元", "汇川", "德龙", "星辰", "润泽", "安泰", "康宁", "卓越", "凯盛", "永信", "三维",
               "正大", "远景", "华信", "佳禾", "铭泰", "云帆")
INDUSTRIES = (("机械", "装备制造"), ("生物医药", "生物医药"), ("新材料", "新材料"), ("电子", "集成电路"),
              ("新能源", "新能源"), ("物流", "现代物流"), ("食品", "食品加工"), ("软件", "软件信息"),
              ("化工", "精细化工"), ("汽车零部件", "汽车零部件"))
#: demand topics: the keyword searches of the benchmark look for 用地 and 排污许可
TOPICS = ("新建生产线用地指标", "厂房扩建规划许可", "工业用地出让", "电力增容", "环评审批加快",
          "人才公寓申请", "融资担保", "子女入学", "物流通道改造", "消防验收", "排污许可证延续",
          "高新技术企业认定", "出口退税", "用工招聘", "天然气接入", "道路破损维修", "研发费用加计扣除",
          "设备更新补贴", "员工通勤公交", "污水管网接入", "专利申请资助", "土地证办理", "项目竣工验收",
          "安全生产培训")
STANDALONE_SOURCES = ("hotline", "letter", "online", "other")


class DatabaseNotEmpty(RuntimeError):
    """The database holds something already: the benchmark fills only an empty one."""


@dataclass
class World:
    """What the demands refer to (the ids the seeding made) and who the scripts may sign in as."""

    admin_id: int
    officer_ids: list[int]
    leader_ids: list[int]
    department_ids: list[int]
    #: department id -> its handlers' ids, the head first
    handlers: dict[int, list[int]]
    category_ids: list[int]
    company_ids: list[int]
    #: role ("admin", "leader", "officer", "handler") -> user names; all share PASSWORD
    usernames: dict[str, list[str]]
    #: department id -> its handlers' user names, the head first
    handler_usernames: dict[int, list[str]]
    password: str = PASSWORD
    seed: int = 7
    #: counts made so far
    demands: int = 0
    events: int = 0
    visits: int = 0
    #: a demand with LONG_HISTORY events (None until one is made)
    long_history_demand_id: int | None = None
    #: the next ids to hand out by table ("event": 1234) and the last numbers given by year
    #: ("number:2026", "notice:督办〔2026〕"): the generator gives ids itself
    next_ids: dict[str, int] = field(default_factory=dict)
    random: random.Random = field(default_factory=lambda: random.Random(7))  # noqa: S311 (reproducible)

    @property
    def officer_id(self) -> int:
        return self.officer_ids[0]

    @property
    def leader_id(self) -> int:
        return self.leader_ids[0]


# The app and the database

def bench_app(database_url: str, instance_path: Path | str) -> Flask:
    """An app on the benchmark's database: testing mode (no scheduler), no CSRF, the clock pinned
    to FROZEN_NOW, cheap argon2 (the users' hashes are made with these settings)."""
    app = create_app({
        "TESTING": True,  # no scheduler
        "DATABASE_URL": database_url,
        "SQLALCHEMY_DATABASE_URI": database_url,  # over any the instance folder or the environment sets
        "SECRET_KEY": "benchmark",
        "WTF_CSRF_ENABLED": False,
        "FROZEN_NOW": FROZEN_NOW,
        "SCHEDULER_ENABLED": False,
        "PASSWORD_ARGON2_TIME_COST": 1,
        "PASSWORD_ARGON2_MEMORY_KIB": 8192,
        "PASSWORD_ARGON2_PARALLELISM": 1,
    })
    app.instance_path = str(instance_path)
    return app


def prepare(app: Flask, wipe: bool = False) -> None:
    """Run the migrations on an empty database. A database with any table in it is refused
    (DatabaseNotEmpty) unless `wipe`, which drops every table first."""
    with app.app_context():
        names = inspect(db.engine).get_table_names()
        if names and not wipe:
            raise DatabaseNotEmpty(f"the database {db.engine.url.render_as_string(hide_password=True)} "
                                   f"has {len(names)} tables already")
        if names:
            drop_everything()
        upgrade()


def drop_everything() -> None:
    """Drop every table of the app's database (the search table and its triggers with them)."""
    existing = MetaData()
    existing.reflect(db.engine)
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            for table in existing.sorted_tables:
                connection.execute(text(f'DROP TABLE IF EXISTS "{table.name}" CASCADE'))
        else:
            existing.drop_all(connection)


def build(app: Flask, demands: int, seed: int = 7) -> World:
    """Fill the migrated, empty database (see `prepare`) with the reference data and `demands`
    demands; returns the World. The same seed gives the same data."""
    world = seed_world(app, seed)
    add_demands(app, world, demands)
    return world


def seed_world(app: Flask, seed: int = 7) -> World:
    """The calendar, departments, users and companies: everything but visits and demands."""
    rng = random.Random(seed)  # noqa: S311 (reproducible data, nothing secret)
    with app.app_context():
        for year in YEARS:
            calendar_store.prefill(year)
        moment = NOW - timedelta(days=400)
        insert_rows(Department, ({"id": number, "name": name, "short_name": short, "active": True,
                                  "created_at": moment, "version": 1}
                                 for number, (name, short) in enumerate(DEPARTMENTS, start=1)))
        password_hash = hash_password(PASSWORD)
        users: list[dict[str, Any]] = []
        roles: list[dict[str, Any]] = []
        usernames: dict[str, list[str]] = {"admin": [], "leader": [], "officer": [], "handler": []}
        handler_usernames: dict[int, list[str]] = {}
        handlers: dict[int, list[int]] = {}

        def user(username: str, role: Role, department_id: int | None = None, head: bool = False) -> int:
            number = len(users) + 1
            users.append({"id": number, "username": username, "display_name": _person(rng),
                          "email": f"{username}@bench.example", "phone": f"1390516{number:04d}",
                          "password_hash": password_hash, "password_changed_at": moment, "active": True,
                          "department_id": department_id, "is_department_head": head, "locale": None,
                          "created_at": moment, "version": 1})
            roles.append({"user_id": number, "role": role.value})
            usernames[role.value].append(username)
            return number

        admin_id = user("admin", Role.ADMIN)
        leader_ids = [user(f"leader{n:02d}", Role.LEADER) for n in range(1, LEADERS + 1)]
        officer_ids = [user(f"officer{n:02d}", Role.OFFICER) for n in range(1, OFFICERS + 1)]
        for department_id in range(1, len(DEPARTMENTS) + 1):
            names = [f"handler{department_id:02d}{n:02d}" for n in range(1, HANDLERS_PER_DEPARTMENT + 1)]
            handlers[department_id] = [user(name, Role.HANDLER, department_id, head=n == 0)
                                       for n, name in enumerate(names)]
            handler_usernames[department_id] = names
        insert_rows(User, iter(users))
        insert_rows(UserRole, iter(roles))
        insert_rows(Company, _companies(rng, moment))
        db.session.commit()
        world = World(
            admin_id=admin_id, officer_ids=officer_ids, leader_ids=leader_ids,
            department_ids=list(handlers), handlers=handlers,
            category_ids=list(db.session.scalars(select(Category.id).where(Category.active.is_(True))
                                                 .order_by(Category.id))),
            company_ids=list(range(1, COMPANIES + 1)), usernames=usernames,
            handler_usernames=handler_usernames, seed=seed, random=rng,
        )
        _reset_sequences()
    return world


def load_world(app: Flask) -> World:
    """The World of a database a former `build` filled (to measure it again without building)."""
    with app.app_context():
        rows = db.session.execute(select(User.id, User.username, User.department_id, UserRole.role)
                                  .join(UserRole, UserRole.user_id == User.id).order_by(User.id)).all()
        usernames: dict[str, list[str]] = {"admin": [], "leader": [], "officer": [], "handler": []}
        ids: dict[str, list[int]] = {"admin": [], "leader": [], "officer": [], "handler": []}
        handlers: dict[int, list[int]] = {}
        handler_usernames: dict[int, list[str]] = {}
        for user_id, username, department_id, role in rows:
            usernames[role].append(username)
            ids[role].append(user_id)
            if role == Role.HANDLER.value and department_id is not None:
                handlers.setdefault(department_id, []).append(user_id)
                handler_usernames.setdefault(department_id, []).append(username)
        if "admin" not in usernames["admin"] or not usernames["officer"]:
            raise RuntimeError("this database was not filled by servicedesk.bench.data.build")
        world = World(
            admin_id=ids["admin"][0], officer_ids=ids["officer"], leader_ids=ids["leader"],
            department_ids=sorted(handlers), handlers=handlers,
            category_ids=list(db.session.scalars(select(Category.id).where(Category.active.is_(True))
                                                 .order_by(Category.id))),
            company_ids=list(db.session.scalars(select(Company.id).order_by(Company.id))),
            usernames=usernames, handler_usernames=handler_usernames,
            demands=db.session.scalar(select(func.count()).select_from(Demand)) or 0,
            events=db.session.scalar(select(func.count()).select_from(DemandEvent)) or 0,
            visits=db.session.scalar(select(func.count()).select_from(Visit)) or 0,
        )
        long = db.session.execute(
            select(DemandEvent.demand_id).join(Demand, Demand.id == DemandEvent.demand_id)
            .where(Demand.state == State.ACCEPTED.value).group_by(DemandEvent.demand_id)
            .having(func.count() == LONG_HISTORY).order_by(DemandEvent.demand_id).limit(1)).scalar()
        world.long_history_demand_id = long
    return world


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _companies(rng: random.Random, moment: datetime) -> Iterator[dict[str, Any]]:
    for number in range(1, COMPANIES + 1):
        trade = TRADE_NAMES[number % len(TRADE_NAMES)] + TRADE_NAMES[(number * 7) // len(TRADE_NAMES)
                                                                     % len(TRADE_NAMES)]
        kind, industry = INDUSTRIES[number % len(INDUSTRIES)]
        yield {"id": number, "credit_code": credit_code(number),
               "name": f"徐州{trade}{kind}{'科技' if number % 3 else '实业'}有限公司{number:04d}",
               "short_name": f"{trade}{kind}", "address": f"徐州经济技术开发区{rng.choice('东西南北')}区"
                                                       f"{number % 90 + 1}号",
               "industry": industry, "contact_person": _person(rng), "contact_phone": f"0516-8{number:07d}",
               "created_at": moment, "updated_at": moment, "version": 1}


def credit_code(number: int) -> str:
    first = f"91320300MA{number:07d}"
    return first + check_character(first)


def insert_rows(model: Any, rows: Iterable[dict[str, Any]]) -> int:
    """Insert rows (dicts, each with the same keys) in batches through the driver: executemany on
    SQLite, COPY on PostgreSQL. The values are converted here as the column types would (a UTC
    moment, a date, a boolean, JSON), since SQLAlchemy's per-value processing would take longer than
    the database. Returns the number of rows."""
    table = model if hasattr(model, "c") else model.__table__
    connection = db.session.connection()
    driver = connection.connection.driver_connection
    dialect = connection.dialect.name
    count = 0
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == INSERT_BATCH:
            count += _insert_batch(driver, dialect, table, batch)
            batch = []
    if batch:
        count += _insert_batch(driver, dialect, table, batch)
    return count


def _insert_batch(driver: Any, dialect: str, table: Any, batch: list[dict[str, Any]]) -> int:
    names = tuple(batch[0])
    return _write(driver, dialect, table, names, _row_converter(table, names, dialect)(batch))


def _write(driver: Any, dialect: str, table: Any, names: tuple[str, ...],
           values: list[tuple[Any, ...]]) -> int:
    """Rows as the driver takes them, through the driver: COPY on PostgreSQL, INSERT on SQLite."""
    quoted = ", ".join(f'"{name}"' for name in names)
    if dialect == "postgresql":
        with driver.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
            for value in values:
                copy.write_row(value)
    else:
        # Many rows per INSERT: SQLite opens a statement savepoint for each statement that fires a
        # trigger, and FTS5 writes its pending terms to disk at every savepoint, so one row per
        # statement would make the search table of `demands` three times slower to fill.
        per_statement = max(1, min(500, SQLITE_VARIABLES // len(names)))
        one = "(" + ", ".join("?" for _ in names) + ")"
        cursor = driver.cursor()
        for first in range(0, len(values), per_statement):
            part = values[first:first + per_statement]
            statement = f'INSERT INTO "{table.name}" ({quoted}) VALUES {", ".join([one] * len(part))}'  # noqa: S608
            cursor.execute(statement, [value for row in part for value in row])
        cursor.close()
    return len(values)


_ROW_CONVERTERS: dict[tuple[str, tuple[str, ...], str], Any] = {}


def _row_converter(table: Any, names: tuple[str, ...], dialect: str) -> Any:
    """A function from row dicts to the tuples the driver takes, written once per table and
    columns: a loop calling a converter per value costs more than the database's own work."""
    key = (table.name, names, dialect)
    if key not in _ROW_CONVERTERS:
        converters = {f"c{n}": _converter(table.c[name].type, dialect) for n, name in enumerate(names)}
        fields = [f"row[{name!r}]" if converters[f"c{n}"] is None
                  else f"(None if (v{n} := row[{name!r}]) is None else c{n}(v{n}))"
                  for n, name in enumerate(names)]
        source = f"lambda rows: [({', '.join(fields)},) for row in rows]"
        scope = {name: convert for name, convert in converters.items() if convert is not None}
        _ROW_CONVERTERS[key] = eval(source, scope)  # noqa: S307 (source written here, from column names)
    return _ROW_CONVERTERS[key]


def _json(value: Any) -> str:
    return json.dumps(value) if value else "{}"


def _converter(column_type: Any, dialect: str) -> Any:
    """How a value is stored, where the driver would not store it so by itself; None: as it is."""
    if isinstance(column_type, JSON):
        return _json
    if dialect == "postgresql":
        return None
    if isinstance(column_type, UTCDateTime):
        return _sqlite_moment
    if isinstance(column_type, Date):
        return date.isoformat
    if isinstance(column_type, Boolean):
        return int
    return None


_MOMENTS: dict[datetime, str] = {}


def _sqlite_moment(value: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME storage format, in UTC (models.base.UTCDateTime); remembered,
    as the same moments (the chaser's ticks) come back often."""
    stored = _MOMENTS.get(value)
    if stored is None:
        if len(_MOMENTS) > 500_000:
            _MOMENTS.clear()
        stored = _MOMENTS[value] = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    return stored


#: the tables the generator gives ids to itself
_ID_TABLES = (Department, User, Company, Visit, Demand, DemandEvent, Milestone, ExtensionRequest, ChaseRecord,
              EscalationNotice, Notification)


def _reset_sequences() -> None:
    """PostgreSQL's sequences after ids given by hand, so that the app's own inserts go on from them."""
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.begin() as connection:
        for model in _ID_TABLES:
            name = model.__tablename__
            connection.execute(text(  # the models' own table names
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                f"coalesce((SELECT max(id) FROM \"{name}\"), 0) + 1, false)"))


# Demands

def add_demands(app: Flask, world: World, count: int) -> float:
    """Add `count` demands (with their visits and history) to the world's database, in chunks of
    CHUNK, each its own transaction. Returns the seconds it took.

    Making the rows takes about as long as the database takes to write them, so with more than one
    chunk (and where processes fork) a child process makes chunk n+1 while this one writes chunk n:
    the same rows in the same order, in half the time on two cores.
    """
    started = time.perf_counter()
    collecting = gc.isenabled()
    # Millions of small objects, none of them in a cycle: the cyclic collector would only walk
    # them again and again (it more than doubles the time at 100,000 demands).
    gc.disable()
    try:
        with app.app_context():
            generator = _Generator(world)
            dialect = db.engine.dialect.name
            sizes = [min(CHUNK, count - first) for first in range(0, count, CHUNK)]
            if len(sizes) > 1 and "fork" in multiprocessing.get_all_start_methods():
                _pipelined(generator, sizes, dialect)
            else:
                for size in sizes:
                    _write_chunk(generator.chunk(size, dialect), dialect)
    finally:
        if collecting:
            gc.enable()
        gc.collect()
    with app.app_context():
        _reset_sequences()
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            # what autovacuum would soon do on a live database (statistics for the planner, and the
            # visibility map that lets a count read an index alone); SQLite gets no ANALYZE, as the
            # desk never runs one: its plans are measured as they are in use
            with db.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        db.engine.dispose()
    return time.perf_counter() - started


@dataclass
class _Spec:
    """One demand before its life: when, by whom, for which company, from which visit."""

    logged: datetime
    company_id: int
    visit_id: int | None
    source: str


class _Calendar:
    """The working calendar as an index of its working days: the generator asks a few million
    questions, each answered here in constant time, exactly as `WorkingCalendar` would (the days
    are its `is_working_day`; a test compares the two)."""

    def __init__(self, calendar: WorkingCalendar, first: date, last: date) -> None:
        self.first, self.last = first, last
        self.loaded = {year for year in range(first.year, last.year + 1) if calendar.is_loaded(year)}
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        #: the working days in order, and for each day how many of them fall on or before it
        self.working_days = [day for day in days if calendar.is_working_day(day)]
        self.working = frozenset(self.working_days)
        self.rank: dict[date, int] = {}
        count = 0
        for day in days:
            count += day in self.working
            self.rank[day] = count
        #: the working days of the data set's year, today excluded, to log demands on
        self.logging_days = [day for day in self.working_days if FIRST_DAY <= day < TODAY]

    def add(self, day: date, n: int) -> date:
        """WorkingCalendar.add_working_days: the n-th working day after the day (the day for 0)."""
        return day if n == 0 else self.working_days[self.rank[day] + n - 1]

    def between(self, start: date, end: date) -> int:
        """WorkingCalendar.working_days_between: working days after start up to and including end."""
        return self.rank[end] - self.rank[start]

    def is_working_day(self, day: date) -> bool:
        return day in self.working

    def deadline(self, day: date, n: int) -> Deadline:
        due = self.add(day, n)
        first_counted = min(day + timedelta(days=1), due)
        provisional = any(year not in self.loaded for year in range(first_counted.year, due.year + 1))
        return Deadline(day, n, due, provisional)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)


def _end_of(day: date) -> datetime:
    return _at(day, 23, 59) + timedelta(seconds=59)


class _Generator:
    """Makes the rows of the demands, a chunk at a time, numbered on from what the database holds."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = world.random
        self.calendar = _Calendar(calendar_store.working_calendar(), FIRST_DAY - timedelta(days=30),
                                  TODAY + timedelta(days=700))
        self.limits: TimeLimits = time_limits_store.current()
        #: department id -> name, as the events' details name them
        self.departments = dict(db.session.execute(select(Department.id, Department.name)).all())
        # a few companies raise many demands, most a handful
        self.company = _Draw((company_id, 1.0 / (1 + n % 97) ** 0.6)
                             for n, company_id in enumerate(world.company_ids))
        # Ids and numbers go on from what the database holds, whoever added it (a test, a load test).
        ids = world.next_ids
        for name, model in _TABLE_OF.items():
            ids[name] = (db.session.scalar(select(func.max(model.id))) or 0) + 1
        self.numbers: dict[str, int] = world.next_ids  # "number:2026" -> the last sequence of 2026
        for year in range(FIRST_DAY.year, TODAY.year + 1):
            prefix = f"{year}-"
            # the longest, then the highest: as text 2026-10000 sorts before 2026-9999
            last = db.session.scalar(select(Demand.number).where(Demand.number.startswith(prefix))
                                     .order_by(func.length(Demand.number).desc(), Demand.number.desc())
                                     .limit(1))
            self.numbers[f"number:{year}"] = int(last.removeprefix(prefix)) if last else 0
        for level in ESCALATION_LEVEL:
            for year in range(FIRST_DAY.year, TODAY.year + 1):
                prefix = number_prefix(level, year)
                last = db.session.scalar(select(EscalationNotice.number)
                                         .where(EscalationNotice.number.startswith(prefix))
                                         .order_by(func.length(EscalationNotice.number).desc(),
                                                   EscalationNotice.number.desc()).limit(1))
                self.numbers[f"notice:{prefix}"] = int(last.removeprefix(prefix)) if last else 0
        self.demands_of_company: dict[int, list[int]] = {}
        self.numbers_of: dict[int, str] = {}
        self.rows: dict[str, list[dict[str, Any]]] = {}

    def next_id(self, name: str) -> int:
        value = self.world.next_ids[name]
        self.world.next_ids[name] = value + 1
        return value

    # One chunk

    def chunk(self, size: int, dialect: str) -> Chunk:
        """The rows of `size` more demands as the driver takes them: (table, columns, rows) in the
        order they are inserted (no database needed: it may run in a child process)."""
        self.rows = {name: [] for name in _INSERT_ORDER}
        specs = self._specs(size)
        for spec in specs:
            _Life(self, spec).live()
        self.world.demands += len(self.rows["demand"])
        self.world.events += len(self.rows["event"])
        converted = []
        for name, table in _INSERT_ORDER.items():
            rows = self.rows[name]
            if rows:
                names = tuple(rows[0])
                converted.append((table.name, names, _row_converter(table, names, dialect)(rows)))
        return converted

    def _specs(self, size: int) -> list[_Spec]:
        rng, world, days = self.rng, self.world, self.calendar.logging_days
        specs: list[_Spec] = []
        at_visits = round(size * VISIT_SHARE)
        while len(specs) < at_visits:
            visit_id = self.next_id("visit")
            kind = VISIT_KIND(rng)
            day = rng.choice(days)
            held = min(VISIT_SIZE(rng), at_visits - len(specs))
            companies = self._companies(1 if kind == "visit" else rng.randint(1, min(6, held) if
                                                                               kind == "symposium" else 2))
            self.rows["visit"].append({
                "id": visit_id, "kind": kind, "visited_on": day, "place": f"经开区第{visit_id % 40 + 1}片区",
                "lead_official": _person(rng), "officials": "、".join(_person(rng) for _ in range(3)),
                "company_attendees": None, "minutes": f"{kind}座谈纪要：企业提出{held}项诉求。",
                "created_by_id": rng.choice(world.officer_ids), "created_at": _at(day, 18), "version": 1})
            self.rows["visit_companies"] += [{"visit_id": visit_id, "company_id": c} for c in set(companies)]
            for _ in range(held):
                logged_on = self.calendar.add(day, rng.choice((0, 0, 0, 1, 2)))
                if logged_on >= TODAY:
                    logged_on = day
                specs.append(_Spec(_at(logged_on, rng.randint(14, 18), rng.randrange(60)),
                                   rng.choice(companies), visit_id, kind))
            world.visits += 1
        while len(specs) < size:
            specs.append(_Spec(_at(rng.choice(days), rng.randint(8, 17), rng.randrange(60)),
                               self._companies(1)[0], None, rng.choice(STANDALONE_SOURCES)))
        specs.sort(key=lambda spec: spec.logged)
        return specs

    def _companies(self, count: int) -> list[int]:
        return [self.company(self.rng) for _ in range(count)]

    def number(self, logged: datetime) -> str:
        year = local_day(logged).year
        self.numbers[f"number:{year}"] += 1
        return f"{year}-{self.numbers[f'number:{year}']:04d}"

    def notice_number(self, level: str, year: int) -> str:
        prefix = number_prefix(level, year)
        self.numbers[f"notice:{prefix}"] += 1
        return f"{prefix}{self.numbers[f'notice:{prefix}']:04d}"


_TABLE_OF: dict[str, Any] = {
    "visit": Visit, "demand": Demand, "event": DemandEvent, "milestone": Milestone,
    "extension": ExtensionRequest, "chase": ChaseRecord, "notice": EscalationNotice,
    "notification": Notification,
}
#: the generator's rows by table, in an order the foreign keys accept (a demand that repeats
#: another points to an earlier one, inserted before it)
_INSERT_ORDER: dict[str, Any] = {
    "visit": Visit.__table__, "visit_companies": visit_companies, "demand": Demand.__table__,
    "co": demand_co_departments, "milestone": Milestone.__table__, "extension": ExtensionRequest.__table__,
    "event": DemandEvent.__table__, "chase": ChaseRecord.__table__, "notice": EscalationNotice.__table__,
    "notification": Notification.__table__,
}

Chunk = list[tuple[str, tuple[str, ...], list[tuple[Any, ...]]]]


def _write_chunk(chunk: Chunk, dialect: str) -> None:
    """Insert one chunk's rows and commit."""
    connection = db.session.connection()
    if dialect == "sqlite":
        # a cache that holds the indexes being filled (add_demands drops the connection afterwards,
        # so the measurements run with SQLite's defaults)
        connection.exec_driver_sql("PRAGMA cache_size = -400000")
    driver = connection.connection.driver_connection
    for name, columns, rows in chunk:
        _write(driver, dialect, db.metadata.tables[name], columns, rows)
    db.session.commit()


def _pipelined(generator: _Generator, sizes: list[int], dialect: str) -> None:
    """Make the chunks in a forked child, write them here as they come; the world's counters
    (ids, numbers, counts, its random state) come back from the child at the end.

    A plain pipe, not a multiprocessing.Queue: a queue's feeder thread never runs where gevent has
    patched threading (locust does, on import, in the load test's process), and nothing would
    arrive. The child's send waits for this side to read: it is one chunk ahead, no more.
    """
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_make_chunks, args=(generator, sizes, dialect, sender), daemon=True)
    child.start()
    sender.close()  # the child's end: reading here then ends with EOFError if the child dies
    try:
        for _ in sizes:
            _write_chunk(_received(receiver), dialect)
        world = generator.world
        (world.next_ids, world.demands, world.events, world.visits, world.long_history_demand_id,
         random_state) = _received(receiver)
        world.random.setstate(random_state)
    finally:
        receiver.close()
        child.join(timeout=60)
        if child.is_alive():
            child.terminate()
            child.join()


def _received(receiver: Any) -> Any:
    try:
        item = receiver.recv()
    except EOFError as error:
        raise RuntimeError("the process making the benchmark's demands ended without a word") from error
    if isinstance(item, str):
        raise RuntimeError(f"making the benchmark's demands failed:\n{item}")
    return item


def _make_chunks(generator: _Generator, sizes: list[int], dialect: str, sender: Any) -> None:
    """In the child: every chunk, then the world's counters; a failure as its traceback."""
    try:
        db.engine.dispose(close=False)  # the parent's connections are not the child's to use
        for size in sizes:
            sender.send(generator.chunk(size, dialect))
        world = generator.world
        sender.send((world.next_ids, world.demands, world.events, world.visits, world.long_history_demand_id,
                     world.random.getstate()))
    except BaseException:  # reported to the parent, which raises it
        sender.send(traceback.format_exc())
    finally:
        sender.close()


class _Draw:
    """A value drawn at random with its weight: the cumulative weights summed once, a draw a
    bisection (random.choices sums them on every call, a million times)."""

    def __init__(self, choices: Iterable[tuple[Any, float]]) -> None:
        self.values, weights = zip(*choices, strict=True)
        self.cumulative = list(itertools.accumulate(weights))
        self.total = self.cumulative[-1]

    def __call__(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect_right(self.cumulative, rng.random() * self.total)]


_OFFICER, _HANDLER, _LEADER = Role.OFFICER.value, Role.HANDLER.value, Role.LEADER.value
_REGISTERED, _ASSIGNED, _ACCEPTED, _RESPONDED, _CLOSED = (
    State.REGISTERED.value, State.ASSIGNED.value, State.ACCEPTED.value, State.RESPONDED.value,
    State.CLOSED.value)
(_DISPATCH, _SIGN, _RETURN, _CO_OPINION, _PROGRESS, _REQUEST_EXTENSION, _APPROVE_EXTENSION, _REFUSE_EXTENSION,
 _ADD_MILESTONE, _COMPLETE_MILESTONE, _RESPOND, _RECORD_FEEDBACK, _CLOSE, _FLAG_KEY_SUPERVISION, _COMMENT) = (
    action.value for action in (
        Action.DISPATCH, Action.SIGN, Action.RETURN, Action.CO_OPINION, Action.PROGRESS,
        Action.REQUEST_EXTENSION, Action.APPROVE_EXTENSION, Action.REFUSE_EXTENSION, Action.ADD_MILESTONE,
        Action.COMPLETE_MILESTONE,
        Action.RESPOND, Action.RECORD_FEEDBACK, Action.CLOSE, Action.FLAG_KEY_SUPERVISION, Action.COMMENT))
#: the step owed in each open state (demands.operations.CURRENT_STEP)
_CURRENT_STEP = {_ASSIGNED: "sign", _ACCEPTED: "respond", _RESPONDED: "feedback"}

URGENCY = _Draw(((Urgency.URGENT.value, 15), (Urgency.NORMAL.value, 65), (Urgency.COMPLEX.value, 20)))
OUTCOME = _Draw(((Outcome.SOLVED, 60), (Outcome.PARTLY_SOLVED, 15), (Outcome.EXPLAINED, 15),
                 (Outcome.PLANNED, 10)))
VISIT_KIND = _Draw((("visit", 55), ("symposium", 30), ("survey", 15)))
#: a visit's size 1..8
VISIT_SIZE = _Draw(zip((1, 2, 3, 4, 5, 6, 7, 8), (22, 20, 17, 13, 10, 8, 6, 4), strict=True))
#: working days from dispatch to signing
SIGN_DELAY = _Draw(((0, 72), (1, 18), (2, 6), (3, 3), (6, 1)))
#: working days from the response to the company's feedback
FEEDBACK_DELAY = _Draw(((0, 45), (1, 30), (2, 14), (3, 8), (5, 3)))
#: notes between signing and responding
PROGRESS_NOTES = _Draw(((0, 20), (1, 35), (2, 25), (3, 15), (4, 5)))
COMMENTS = _Draw(((0, 65), (1, 30), (2, 5)))


class _Stop(Exception):
    """The next step of the demand's life would come after FROZEN_NOW: it stays where it is."""


class _Life:
    """One demand lived from its logging to FROZEN_NOW, step by step as take_action would have
    recorded it. Each step first checks that its moment has come (`_when`), else the life stops."""

    def __init__(self, generator: _Generator, spec: _Spec) -> None:
        self.g, self.spec = generator, spec
        self.rng, self.calendar, self.world = generator.rng, generator.calendar, generator.world
        self.id = generator.next_id("demand")
        self.events: list[dict[str, Any]] = []
        self.co: list[int] = []
        self.state = _REGISTERED
        self.officer = self.rng.choice(self.world.officer_ids[:40] if self.rng.random() < 0.9
                                       else self.world.officer_ids)
        self.category_id = self.rng.choice(self.world.category_ids)
        self.urgency = Urgency(URGENCY(self.rng))
        self.topic = self.rng.choice(TOPICS)
        row: dict[str, Any] = {column.name: None for column in Demand.__table__.c}
        row.update({
            "id": self.id, "number": generator.number(spec.logged), "company_id": spec.company_id,
            "visit_id": spec.visit_id, "source": spec.source, "category_id": self.category_id,
            "title": f"{self.topic}{self.rng.choice(('问题', '事项', '需协调', '推进缓慢', '申请'))}",
            "description": (f"企业反映{self.topic}事项推进缓慢，" + "希望相关部门协调解决。" *
                            self.rng.randint(1, 3) + self.rng.choice(("时间紧迫。", "影响正常生产。", ""))),
            "urgency": self.urgency.value, "contact_name": _person(self.rng),
            "contact_phone": f"1380516{self.id % 10000:04d}", "state": _REGISTERED,
            "created_by_id": self.officer, "created_at": spec.logged, "updated_at": spec.logged,
            "version": 1, "signed_late": False, "responded_late": False, "respond_extended": False,
            "sign_provisional": False, "respond_provisional": False, "feedback_provisional": False,
            "returns_count": 0, "reopen_count": 0, "key_supervision": False, "escalation_level": 0,
        })
        self.row = row
        self.moment = spec.logged
        self.lead: int | None = None
        self.handler: int | None = None
        #: when the step owed now became owed: the chaser follows it from the next working day
        self.since = spec.logged
        #: milestones completed after the response, recorded at their own moments
        self.pending_events: list[tuple[datetime, int, str]] = []
        #: the chase records' events, whose ids are known once the history is complete
        self.chased: list[dict[str, Any]] = []

    # Steps

    def live(self) -> None:
        self._event(self.spec.logged, self.officer, _OFFICER, None, "logged", None, _REGISTERED)
        with contextlib.suppress(_Stop):
            self._life()
        self._finish()

    def _life(self) -> None:
        rng = self.rng
        draw = rng.random()
        if draw < 0.02:
            return self._close_early("withdrawn")
        if draw < 0.03:
            return self._close_early("duplicate")
        self._dispatch(self._later(self.spec.logged, rng.choice((0, 0, 0, 0, 1)), hours=(1, 5)))
        if rng.random() < 0.04:
            self._return()
            self._dispatch(self._later(self.moment, rng.choice((0, 1)), hours=(1, 4)))
        if rng.random() < 0.015:
            self._flag(self._later(self.moment, rng.randint(0, 5)))  # when its moment has come
        self._sign()
        self._work()
        self._respond()
        self._feedback()

    def _when(self, moment: datetime) -> datetime:
        if moment > NOW:
            raise _Stop
        self.moment = max(self.moment, moment)
        return moment

    def _later(self, moment: datetime, working_days: int, hours: tuple[int, int] = (0, 7)) -> datetime:
        """A moment some working days after another, in office hours (never before it)."""
        day = self.calendar.add(local_day(moment), working_days)
        candidate = _at(day, self.rng.randint(9, 17), self.rng.randrange(60))
        if candidate <= moment:
            candidate = moment + timedelta(hours=self.rng.randint(*hours), minutes=self.rng.randrange(60))
        return candidate

    def _close_early(self, reason: str) -> None:
        at = self._when(self._later(self.spec.logged, self.rng.randint(0, 3)))
        leader = self.rng.choice(self.world.leader_ids)
        details: dict[str, Any] = {"close_reason": reason}
        if reason == "duplicate":
            earlier = self.g.demands_of_company.get(self.spec.company_id)
            if not earlier:
                details["close_reason"] = reason = "withdrawn"
            else:
                original = self.rng.choice(earlier)
                self.row["duplicate_of_id"] = original
                details["duplicate_of"] = self.g.numbers_of[original]
        self.row.update(closed_at=at, close_reason=reason)
        self._event(at, leader, _LEADER, None, _CLOSE, self.state, _CLOSED,
                    text="企业已撤回诉求。" if reason == "withdrawn" else "与已登记诉求重复。",
                    details=details)
        self.state = _CLOSED

    def _dispatch(self, at: datetime) -> None:
        self._when(at)
        rng, world = self.rng, self.world
        # a returned demand goes to another department
        candidates = [d for d in world.department_ids if d != self.lead]
        self.lead = rng.choice(candidates[:12] if rng.random() < 0.7 else candidates)
        self.handler = rng.choice(world.handlers[self.lead])
        self.co = sorted({d for d in rng.sample(world.department_ids, rng.choice((1, 1, 2)))} - {self.lead}) \
            if rng.random() < 0.3 else []
        day = local_day(at)
        sign = self.calendar.deadline(day, self.limits.sign(self.category_id))
        respond = self.calendar.deadline(day, self.limits.respond(self.urgency, self.category_id))
        self._store("sign", sign)
        self._store("respond", respond)
        self.row.update(lead_department_id=self.lead, dispatched_by_id=self.officer, dispatched_at=at,
                        dispatch_note=rng.choice((None, None, "请尽快办理。", "请会同协办部门研究。")),
                        respond_extended=False, signed_at=None, signed_late=False)
        departments = self.g.departments
        self._event(at, self.officer, _OFFICER, None, _DISPATCH, self.state, _ASSIGNED,
                    text=self.row["dispatch_note"], details={
                        "lead_department": departments[self.lead],
                        "co_departments": [departments[d] for d in self.co],
                        "urgency": self.urgency.value, "sign_due": sign.due.isoformat(),
                        "respond_due": respond.due.isoformat()})
        self.state = _ASSIGNED
        self.since = at

    @property
    def limits(self) -> TimeLimits:
        return self.g.limits

    def _store(self, step: str, deadline: Deadline) -> None:
        self.row[f"{step}_from"] = deadline.counted_from
        self.row[f"{step}_days"] = deadline.working_days
        self.row[f"{step}_due"] = deadline.due
        self.row[f"{step}_provisional"] = deadline.provisional

    def _return(self) -> None:
        at = self._chase_until("sign", self._later(self.moment, self.rng.choice((0, 1))))
        self._when(at)
        department_id = self.lead or 0
        self.row["returns_count"] += 1
        self._event(at, self.handler, _HANDLER, self.lead, _RETURN, _ASSIGNED,
                    _REGISTERED, text="不属于本部门职责范围，请重新交办。",
                    details={"department": self.g.departments[department_id], "department_id": department_id})
        for step in ("sign", "respond"):
            for suffix in ("from", "days", "due"):
                self.row[f"{step}_{suffix}"] = None
            self.row[f"{step}_provisional"] = False
        self.row["lead_department_id"] = None
        self.co = []
        self.state = _REGISTERED

    def _flag(self, at: datetime) -> None:
        if self.row["key_supervision"] or at > NOW:
            return
        self._when(at)
        reason = "企业反映强烈，列入重点督办。"
        self.row.update(key_supervision=True, key_supervision_reason=reason)
        self._event(at, self.rng.choice(self.world.leader_ids), _LEADER, None,
                    _FLAG_KEY_SUPERVISION, self.state, self.state, text=reason)

    def _sign(self) -> None:
        delay = SIGN_DELAY(self.rng)
        at = self._chase_until("sign", self._later(self.moment, delay, hours=(0, 3)))
        self._when(at)
        late = at > _end_of(self.row["sign_due"])
        self.row.update(signed_at=at, signed_late=late)
        self._event(at, self.handler, _HANDLER, self.lead, _SIGN, _ASSIGNED,
                    _ACCEPTED, details={"late": late})
        self.state = _ACCEPTED
        self.since = at

    def _respond_delay(self) -> int:
        """Working days from the start of the respond deadline to the response."""
        limit = self.row["respond_days"]
        draw = self.rng.random()
        if draw < 0.03:
            return limit + self.rng.randint(15, 150)  # stuck: weeks or months overdue
        if draw < 0.13:
            return limit + self.rng.randint(1, 8)  # late
        return self.rng.randint(1, limit)

    def _work(self) -> None:
        """Between signing and responding: progress, co-departments' opinions, comments, an
        extension, the milestones of a planned response."""
        rng = self.rng
        start = self.moment
        self.respond_on = self.calendar.add(self.row["respond_from"], self._respond_delay())
        self.outcome: Outcome = OUTCOME(rng)
        notes: list[tuple[datetime, str]] = []
        span = max(1, self.calendar.between(local_day(start), self.respond_on))
        for _ in range(PROGRESS_NOTES(rng)):
            notes.append((self._later(start, rng.randint(0, span)), "progress"))
        for _ in self.co:
            notes.append((self._later(start, rng.randint(0, span)), "co_opinion"))
        for _ in range(COMMENTS(rng)):
            notes.append((self._later(start, rng.randint(0, span)), "comment"))
        extension = rng.random() < 0.06 and self.row["respond_days"] >= 3
        if extension:
            asked = rng.randint(0, max(0, self.row["respond_days"] - 2))
            notes.append((self._later(start, asked), "extension"))
        if self.outcome is Outcome.PLANNED:
            notes.append((self._later(start, rng.randint(0, span)), "milestones"))
        for at, kind in sorted(notes):
            if at >= _at(self.respond_on, 17) or at > NOW:
                continue
            self._when(at)
            if kind == "progress":
                self._event(at, self.handler, _HANDLER, self.lead, _PROGRESS, self.state,
                            self.state, text=f"已与企业对接{self.topic}事项，正在办理。")
            elif kind == "co_opinion":
                co = rng.choice(self.co)
                self._event(at, rng.choice(self.world.handlers[co]), _HANDLER, co,
                            _CO_OPINION, self.state, self.state, text="我部门配合办理，无异议。")
            elif kind == "comment":
                who, role = ((rng.choice(self.world.leader_ids), _LEADER) if rng.random() < 0.3
                             else (self.officer, _OFFICER))
                self._event(at, who, role, None, _COMMENT, self.state, self.state,
                            text="请加快办理进度。")
            elif kind == "extension":
                self._extension(at)
            else:
                self._milestones(at)

    def _extension(self, at: datetime) -> None:
        rng = self.rng
        extension_id = self.g.next_id("extension")
        current = self.row["respond_due"]
        new_due = self.calendar.add(current, rng.randint(5, 15))
        request = {"id": extension_id, "demand_id": self.id, "requested_by_id": self.handler,
                   "requested_at": at, "reason": "涉及多部门会商，需延长办理时限。", "new_due": new_due,
                   "status": "pending",
                   "decided_by_id": None, "decided_at": None, "decision_reason": None}
        self.g.rows["extension"].append(request)
        self._event(at, self.handler, _HANDLER, self.lead, _REQUEST_EXTENSION, self.state,
                    self.state, text=request["reason"],
                    details={"new_due": new_due.isoformat(), "current_due": current.isoformat()})
        decided = self._later(at, rng.choice((0, 1, 1, 2)))
        if decided > NOW:
            self._chase_until("respond", NOW)
            raise _Stop  # pending: nothing else happens until it is decided
        self._when(decided)
        approved = rng.random() < 0.8
        decider, role = ((self.officer, _OFFICER) if rng.random() < 0.5
                         else (rng.choice(self.world.leader_ids), _LEADER))
        reason = "同意延期。" if approved else "时限内可以办结，不予延期。"
        request.update(status="approved" if approved else "refused", decided_by_id=decider,
                       decided_at=decided, decision_reason=reason)
        self._event(decided, decider, role, None, _APPROVE_EXTENSION if approved else _REFUSE_EXTENSION,
                    self.state, self.state, text=reason,
                    details={"new_due": new_due.isoformat(), "previous_due": current.isoformat()})
        if approved:
            self.row.update(respond_due=new_due, respond_extended=True, respond_provisional=False)
            if self.respond_on > current:
                # the time asked for is mostly what it took
                self.respond_on = min(self.respond_on, new_due) if rng.random() < 0.9 else self.respond_on

    def _milestones(self, at: datetime) -> None:
        rng = self.rng
        base = max(self.respond_on, local_day(at))
        for number in range(rng.randint(1, 3)):
            due_on = base + timedelta(days=30 * (number + 1) + rng.randint(0, 20))
            milestone_id = self.g.next_id("milestone")
            title = ("完成方案编制", "完成审批手续", "项目开工", "完成验收")[number]
            milestone = {"id": milestone_id, "demand_id": self.id, "title": title, "due_on": due_on,
                         "completed_at": None, "completed_by_id": None, "created_by_id": self.handler,
                         "created_at": at}
            self.g.rows["milestone"].append(milestone)
            self._event(at, self.handler, _HANDLER, self.lead, _ADD_MILESTONE, self.state,
                        self.state, details={"title": title, "due_on": due_on.isoformat()})
            done = _at(due_on - timedelta(days=rng.randint(0, 10)), 15)
            if done <= NOW and rng.random() < 0.9:
                milestone.update(completed_at=done, completed_by_id=self.handler)
                # completing a milestone comes after the response; recorded here, at its own moment
                self.pending_events.append((done, milestone_id, title))

    def _respond(self) -> None:
        rng = self.rng
        at = _at(self.respond_on, rng.randint(9, 17), rng.randrange(60))
        at = max(at, self.moment + timedelta(minutes=30))
        at = self._chase_until("respond", at)
        self._when(at)
        outcome = self.outcome
        dispatched_on = local_day(self.row["dispatched_at"])
        day = local_day(at)
        feedback = self.calendar.deadline(day, self.limits.feedback(self.category_id))
        late = at > _end_of(self.row["respond_due"])
        planned_on = day + timedelta(days=rng.randint(60, 180)) if outcome is Outcome.PLANNED else None
        self.row.update(outcome=outcome.value, response_text=f"已协调{self.topic}。" + "措施已与企业沟通。" *
                        rng.randint(1, 3), planned_on=planned_on, responded_at=at, responded_late=late,
                        handling_days=self.calendar.between(dispatched_on, day))
        self._store("feedback", feedback)
        self._event(at, self.handler, _HANDLER, self.lead, _RESPOND, _ACCEPTED,
                    _RESPONDED, text=self.row["response_text"], details={
                        "outcome": outcome.value,
                        "planned_on": planned_on.isoformat() if planned_on else None, "on_time": not late,
                        "feedback_due": feedback.due.isoformat()})
        self.state = _RESPONDED
        self.since = at

    def _feedback(self) -> None:
        rng = self.rng
        delay = FEEDBACK_DELAY(rng)
        at = self._chase_until("feedback", self._later(self.moment, delay))
        self._when(at)
        unsatisfied = rng.random() < 0.06 and self.row["reopen_count"] == 0
        verdict = ("unsatisfied" if unsatisfied
                   else rng.choice(("satisfied", "satisfied", "basically_satisfied")))
        self.row.update(feedback=verdict, feedback_at=at)
        if not unsatisfied:
            self.row.update(closed_at=at, close_reason=verdict)
            self._event(at, self.officer, _OFFICER, None, _RECORD_FEEDBACK, _RESPONDED,
                        _CLOSED, details={"feedback": verdict})
            self.state = _CLOSED
            return
        respond = self.calendar.deadline(local_day(at), self.limits.respond(self.urgency, self.category_id))
        self._store("respond", respond)
        self.row.update(reopen_count=self.row["reopen_count"] + 1, respond_extended=False)
        self._event(at, self.officer, _OFFICER, None, _RECORD_FEEDBACK, _RESPONDED,
                    _ACCEPTED, text="企业对答复不满意。", details={
                        "feedback": verdict, "respond_due": respond.due.isoformat(),
                        "department": self.g.departments[self.lead or 0]})
        self.state = _ACCEPTED
        self.since = at
        self.respond_on = self.calendar.add(respond.counted_from, self._respond_delay())
        if self.outcome is Outcome.PLANNED:
            self.outcome = Outcome.SOLVED  # its milestones are already drawn up
        self._respond()
        self._feedback()

    # The chaser's history

    def _chase_until(self, step: str, done: datetime) -> datetime:
        """Record what the chaser did about the step's deadline on each working day's first tick
        (08:00) before the step was done, up to yesterday: today's tick is the benchmark's."""
        due: date = self.row[f"{step}_due"]
        start = local_day(self.since)
        last = min(local_day(done) if done.hour >= 8 else local_day(done) - timedelta(days=1),
                   TODAY - timedelta(days=1))
        department = step in ("sign", "respond")
        deadline = OpenDeadline(
            self.id, step, due, Owner.DEPARTMENT if department else Owner.OFFICER,
            self.lead if department else None, None if department else self.officer)
        calendar = self.calendar
        # the first working day the yellow card shows: due within two working days
        first = due
        for _ in range(2):
            previous = first - timedelta(days=1)
            while not calendar.is_working_day(previous):
                previous -= timedelta(days=1)
            first = previous
        day = max(first, calendar.add(start, 1))
        while day <= last:
            if day < due:
                self._chase(deadline, Kind.DUE_SOON, day, 0)
            elif day == due:
                self._chase(deadline, Kind.DUE_TODAY, day, 0)
            else:
                overdue = calendar.between(due, day)
                self._chase(deadline, Kind.OVERDUE, day, overdue)
                if department and overdue == 1:
                    self._chase(deadline, Kind.ESCALATE_HEAD, day, overdue)
                if department and overdue == 3:
                    self._chase(deadline, Kind.ESCALATE_LEADERSHIP, day, overdue)
            day = calendar.add(day, 1)
        return done

    def _chase(self, deadline: OpenDeadline, kind: Kind, day: date, overdue: int) -> None:
        g = self.g
        at = _at(day, 8)
        key = idempotency_key(deadline, kind, day)
        details: dict[str, Any] = {"kind": kind.value, "deadline": deadline.deadline,
                                   "due": deadline.due.isoformat(), "days_overdue": overdue,
                                   "working_day": day.isoformat()}
        level = LEVEL_OF_KIND.get(kind)
        if level is not None:
            details["notice"] = g.notice_number(level, day.year)
            if kind is Kind.ESCALATE_LEADERSHIP and not self.row["key_supervision"]:
                details["key_supervision"] = True
                self.row["key_supervision"] = True
                self.row["key_supervision_reason"] = "逾期三个工作日，升级督办。"
            self.row["escalation_level"] = max(self.row["escalation_level"], ESCALATION_LEVEL[level])
        event = self._event(at, None, None, None, "escalate" if level else "remind", None, None,
                            details=details)
        chase_id = g.next_id("chase")
        self.chased.append(event)
        g.rows["chase"].append({
            "id": chase_id, "idempotency_key": key, "demand_id": self.id, "event_id": event,
            "kind": kind.value, "deadline": deadline.deadline, "due": deadline.due, "milestone_id": None,
            "working_day": day, "department_id": deadline.department_id, "user_id": deadline.user_id,
            "created_at": at})
        if level is not None:
            g.rows["notice"].append({
                "id": g.next_id("notice"), "number": details["notice"], "level": level,
                "chase_record_id": chase_id, "demand_id": self.id, "department_id": deadline.department_id,
                "deadline": deadline.deadline,
                "due": deadline.due, "days_overdue": overdue, "created_at": at})
        # who owes the step hears of it: the head of the department for an escalation, else the
        # handler on the demand, the officer for feedback (the real tick tells every handler of the
        # department; one keeps the table, and the build, to a reasonable size)
        if deadline.department_id is None:
            user_id = self.officer
        elif level is not None:
            user_id = self.world.handlers[deadline.department_id][0]
        else:
            user_id = self.handler or self.world.handlers[deadline.department_id][0]
        g.rows["notification"].append({
            "id": g.next_id("notification"), "user_id": user_id, "demand_id": self.id,
            "chase_record_id": chase_id, "kind": kind.value, "created_at": at,
            "read_at": at + timedelta(hours=2) if day < TODAY - timedelta(days=3) else None})

    # The record

    def _event(self, at: datetime, actor_id: int | None, role: str | None, department_id: int | None,
               action: str, from_state: str | None, to_state: str | None, text: str | None = None,
               details: dict[str, Any] | None = None) -> dict[str, Any]:
        event = {"id": 0, "demand_id": self.id, "at": at, "actor_id": actor_id,
                 "actor_role": role, "actor_department_id": department_id,
                 "action": action, "from_state": from_state, "to_state": to_state, "text": text,
                 "details": details or {}}
        self.events.append(event)
        return event

    def _finish(self) -> None:
        """The row as the last step left it, the events in order with their ids."""
        row, g = self.row, self.g
        for at, milestone_id, title in self.pending_events:
            self._event(at, self.handler, _HANDLER, self.lead, _COMPLETE_MILESTONE,
                        None, None, details={"milestone_id": milestone_id, "title": title})
        if (self.world.long_history_demand_id is None and self.state == _ACCEPTED
                and 4 <= len(self.events) <= LONG_HISTORY):
            self._lengthen()
        row["state"] = self.state
        step = _CURRENT_STEP.get(self.state)
        row["current_step"] = step
        row["current_due"] = row[f"{step}_due"] if step else None
        self.events.sort(key=lambda event: event["at"])
        # the ids follow the order of the moments, as they would have been appended; a completed
        # milestone leaves the state as it was then
        state = None
        for event in self.events:
            event["id"] = g.next_id("event")
            if event["action"] == _COMPLETE_MILESTONE:
                event["from_state"] = event["to_state"] = state
            elif event["to_state"] is not None:
                state = event["to_state"]
        for record in g.rows["chase"][len(g.rows["chase"]) - len(self.chased):]:
            record["event_id"] = record["event_id"]["id"]
        row["updated_at"] = self.events[-1]["at"]
        # one version per change of the demand by a user (reminders change no column but the level)
        row["version"] = 1 + sum(1 for event in self.events
                                 if event["actor_id"] is not None and event["action"] != "logged")
        g.rows["demand"].append(row)
        # the state the triggers of migration 0008 would copy (SQLite's then has nothing to correct)
        g.rows["co"] += [{"demand_id": self.id, "department_id": d, "demand_state": self.state}
                         for d in self.co]
        g.rows["event"] += self.events
        g.demands_of_company.setdefault(self.spec.company_id, []).append(self.id)
        g.numbers_of[self.id] = row["number"]

    def _lengthen(self) -> None:
        """Progress notes until the history holds LONG_HISTORY events: the demand page's benchmark."""
        last = max(event["at"] for event in self.events)
        step = (NOW - last) / (LONG_HISTORY + 1)
        while len(self.events) < LONG_HISTORY:
            last += step
            self._event(last, self.handler, _HANDLER, self.lead, _PROGRESS, self.state,
                        self.state, text=f"第{len(self.events)}次进展：继续协调{self.topic}事项。")
        self.world.long_history_demand_id = self.id
