"""Fixtures: an app on a real database built by the migrations, clients, users by role."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, g, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import MetaData, event, insert, inspect, select, text

from servicedesk import create_app
from servicedesk.admin.operations import create_department, create_user
from servicedesk.companies.operations import register_company
from servicedesk.extensions import db, limiter
from servicedesk.models import Company, Department, Role, User

PASSWORD = "correct horse battery"
TEST_DATABASE_ENV = "SERVICEDESK_TEST_DATABASE_URL"
# Valid codes (check character verified) for companies the tests make.
CREDIT_CODES = ["913203052MACL12THK", "913203009MA3Y7LLJF", "913203024MAD4H3J9X",
                "913203078MADQAEJX8", "913203082MA3JJL6B2", "913203018MAN2J1K68"]


def _database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    configured = os.environ.get(TEST_DATABASE_ENV)
    if configured:
        return configured
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "servicedesk-test.sqlite3")


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    instance = tmp_path_factory.mktemp("instance")
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": _database_url(tmp_path_factory),
        "SECRET_KEY": "test-secret-key-not-for-production",
        # Cheaper argon2id so that the suite stays fast; the production parameters have a test.
        "PASSWORD_ARGON2_TIME_COST": 1,
        "PASSWORD_ARGON2_MEMORY_KIB": 8192,
        "PASSWORD_ARGON2_PARALLELISM": 1,
    })
    app.instance_path = str(instance)
    with app.app_context():
        _drop_everything()
        upgrade()
        app.extensions["baseline_rows"] = _snapshot()
    yield app
    with app.app_context():
        db.engine.dispose()


def _drop_everything() -> None:
    existing = MetaData()
    existing.reflect(db.engine)
    existing.drop_all(db.engine)


def _snapshot() -> dict[str, list[dict[str, Any]]]:
    """The rows the migrations themselves insert (default categories), restored after each test."""
    rows = {}
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            rows[table.name] = [dict(r._mapping) for r in connection.execute(table.select())]
    return rows


def _restore(app: Flask) -> None:
    baseline = app.extensions["baseline_rows"]
    tables = db.metadata.sorted_tables
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                connection.execute(table.delete())
        for table in tables:
            if baseline[table.name]:
                connection.execute(insert(table), baseline[table.name])
        if connection.dialect.name == "postgresql":
            for table in tables:
                if "id" in table.c and baseline[table.name]:
                    connection.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT max(id) FROM \"{table.name}\"))"))


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    if "app" not in request.fixturenames:
        yield
        return
    app: Flask = request.getfixturevalue("app")
    limiter.reset()
    with app.app_context():
        yield
        db.session.remove()
        _restore(app)


CSRF_FIELD = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


class DeskClient(FlaskClient):
    """A test client that sends the CSRF token a browser would, taken from a rendered form."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        # Tests run inside one app context (for db.session), which Flask reuses for each request;
        # clear `g` so that nothing cached by one request (the user, the CSRF token) leaks into
        # the next, as it could not between two real requests.
        if has_app_context():
            vars(g).clear()
        return super().open(*args, **kwargs)

    def csrf_token(self) -> str:
        page = self.get("/", follow_redirects=True)
        match = CSRF_FIELD.search(page.get_data(as_text=True))
        assert match, "no form with a CSRF token on the start page"
        return match.group(1)

    def post(self, *args: Any, csrf: bool = True, **kwargs: Any) -> Any:
        data = kwargs.get("data")
        if csrf and (data is None or isinstance(data, dict)) and "json" not in kwargs:
            data = dict(data or {})
            data.setdefault("csrf_token", self.csrf_token())
            kwargs["data"] = data
        return super().post(*args, **kwargs)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = DeskClient
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


# Factories and ready defaults, in pairs.

@pytest.fixture
def make_department(app: Flask) -> Any:
    counter = iter(range(1, 10_000))

    def make(name: str | None = None, short_name: str | None = None) -> Department:
        number = next(counter)
        department = create_department(name or f"测试部门{number}", short_name or f"测试{number}")
        db.session.commit()
        return department

    return make


@pytest.fixture
def department(make_department: Any) -> Department:
    return make_department("自然资源和规划分局", "资规分局")


@pytest.fixture
def other_department(make_department: Any) -> Department:
    return make_department("行政审批局", "审批局")


@pytest.fixture
def make_user(app: Flask) -> Any:
    counter = iter(range(1, 10_000))

    def make(*roles: Role, username: str | None = None, department: Department | None = None,
             is_head: bool = False, display_name: str | None = None) -> User:
        username = username or f"user{next(counter)}"
        user = create_user(username, display_name or username.title(), PASSWORD,
                           set(roles or (Role.OFFICER,)), department=department, is_head=is_head)
        db.session.commit()
        return user

    return make


@pytest.fixture
def officer(make_user: Any) -> User:
    return make_user(Role.OFFICER, username="officer", display_name="张伟")


@pytest.fixture
def leader(make_user: Any) -> User:
    return make_user(Role.LEADER, username="leader", display_name="赵磊")


@pytest.fixture
def admin_user(make_user: Any) -> User:
    return make_user(Role.ADMIN, username="admin", display_name="管理员")


@pytest.fixture
def handler(make_user: Any, department: Department) -> User:
    return make_user(Role.HANDLER, username="handler", department=department,
                     display_name="陈静")


@pytest.fixture
def users_by_role(officer: User, leader: User, admin_user: User, handler: User) -> dict[str, User]:
    return {"officer": officer, "leader": leader, "admin": admin_user, "handler": handler}


@pytest.fixture
def make_company(app: Flask) -> Any:
    codes = iter(CREDIT_CODES)

    def make(name: str | None = None, credit_code: str | None = None, **values: Any) -> Company:
        code = credit_code or next(codes)
        company = register_company(code, {"name": name or f"测试企业{code[-4:]}", **values})
        db.session.commit()
        return company

    return make


@pytest.fixture
def company(make_company: Any) -> Company:
    return make_company("江苏万邦生化医药集团有限责任公司", "913203052MACL12THK",
                        short_name="万邦医药", industry="生物医药")


@dataclass
class AuthActions:
    client: FlaskClient

    def login(self, user: User | str, password: str = PASSWORD) -> Any:
        username = user if isinstance(user, str) else user.username
        return self.client.post("/auth/login", data={"username": username, "password": password})

    def logout(self) -> Any:
        return self.client.post("/auth/logout")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@dataclass
class QueryCounter:
    statements: list[str] = field(default_factory=list)
    #: each statement's parameters, as sent to the driver
    parameters: list[Any] = field(default_factory=list)

    @property
    def sent(self) -> list[tuple[str, Any]]:
        return list(zip(self.statements, self.parameters, strict=True))

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app: Flask) -> Iterator[QueryCounter]:
    """Counts the SQL statements a block runs: `with count_queries() as counter: ...`."""
    from contextlib import contextmanager

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()

        def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
            if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA",
                                                          "SAVEPOINT", "RELEASE")):
                counter.statements.append(statement)
                counter.parameters.append(parameters)

        event.listen(db.engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            event.remove(db.engine, "before_cursor_execute", before)

    yield counting  # type: ignore[misc]


# Time and the calendar.

@pytest.fixture
def freeze_clock(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Pin the desk's clock (servicedesk.clock): `freeze_clock("2026-06-15T09:00+08:00")`."""

    def freeze(moment: str) -> None:
        monkeypatch.setitem(app.config, "FROZEN_NOW", moment)

    return freeze


@pytest.fixture
def bench_year(app: Flask, freeze_clock: Any) -> Any:
    """The benchmark's data set (servicedesk.bench.data: a year up to its FROZEN_NOW), small: 400
    demands lived through with the lifecycle's rules and written in bulk; its World."""
    from servicedesk.bench import data

    freeze_clock(data.FROZEN_NOW)
    world = data.seed_world(app)
    data.add_demands(app, world, 400)
    db.session.remove()
    return world


@pytest.fixture
def calendar_2026(app: Flask) -> None:
    """2025 and 2026 loaded from chinese-calendar, as the admin of a running desk would have."""
    from servicedesk.calendar import store

    store.prefill(2025)
    store.prefill(2026)
    db.session.commit()


# Demands

#: the moment the demand fixtures act at: Monday 15 June 2026, 09:00 Beijing time
DEMAND_NOW = "2026-06-15T09:00:00+08:00"


@pytest.fixture
def make_demand(app: Flask, officer: User, company: Company, calendar_2026: None) -> Any:
    """A logged demand; `make_demand(dispatch_to=department)` dispatches it too (at DEMAND_NOW)."""
    from datetime import datetime

    from servicedesk.demands.operations import NewDemand, log_demand, take_action
    from servicedesk.domain.lifecycle import Action
    from servicedesk.models import Category

    category = db.session.scalars(select(Category).order_by(Category.position)).first()

    def make(title: str = "新建生产线用地", *, dispatch_to: Department | None = None,
             co: tuple[Department, ...] = (), urgency: str = "normal", by: User | None = None,
             company_id: int | None = None, category_id: int | None = None, **values: Any) -> Any:
        now = datetime.fromisoformat(DEMAND_NOW)
        demand = log_demand(NewDemand(
            company_id=company_id or company.id, category_id=category_id or category.id, title=title,
            description=values.pop("description", f"{title}：企业在座谈会上提出。"), urgency=urgency,
            source=values.pop("source", "symposium"), **values), by or officer, now)
        if dispatch_to is not None:
            take_action(demand, Action.DISPATCH, by or officer, {
                "lead_department_id": dispatch_to.id, "urgency": urgency,
                "co_department_ids": [d.id for d in co]}, None, now)
        db.session.commit()
        return demand

    return make


def is_postgresql() -> bool:
    return inspect(db.engine).dialect.name == "postgresql"
