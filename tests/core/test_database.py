"""The schema comes from the migrations alone, and SQLite is set up for concurrent writers."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, select, text

from servicedesk.database import end_read_only_request, include_in_migrations, with_values_written_in
from servicedesk.extensions import db
from servicedesk.models import Category


def test_migrations_build_exactly_the_models(app) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_object": include_in_migrations})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_migration_head_is_applied(app) -> None:
    with db.engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    head = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config()).get_current_head()
    assert version == head == "0011"


@pytest.fixture
def sqlite_url(app) -> str:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite settings apply to SQLite only")
    return str(db.engine.url)


def test_sqlite_runs_with_foreign_keys_wal_and_busy_timeout(sqlite_url) -> None:
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_two_writers_wait_for_each_other_instead_of_failing(sqlite_url) -> None:
    """Each writer reads then writes: with deferred transactions one would fail "database is
    locked" at once; beginning IMMEDIATE makes the second wait for the first."""
    engine = create_engine(sqlite_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS counter (n INTEGER)")
        connection.exec_driver_sql("DELETE FROM counter")
        connection.exec_driver_sql("INSERT INTO counter VALUES (0)")
    both_read = threading.Barrier(2, timeout=5)
    errors: list[BaseException] = []

    def increment() -> None:
        try:
            with engine.begin() as connection:
                value = connection.exec_driver_sql("SELECT n FROM counter").scalar()
                # The second writer is blocked in BEGIN IMMEDIATE, so the barrier breaks.
                with contextlib.suppress(threading.BrokenBarrierError):
                    both_read.wait(timeout=0.5)
                connection.exec_driver_sql(f"UPDATE counter SET n = {value + 1}")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=increment) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.begin() as connection:
        final = connection.exec_driver_sql("SELECT n FROM counter").scalar()
        connection.exec_driver_sql("DROP TABLE counter")
    engine.dispose()
    assert errors == []
    assert final == 2  # no lost update: the second writer read after the first committed


def test_postgresql_starts_no_parallel_workers_for_the_desk(app) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL setting")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar() == "0"


@contextlib.contextmanager
def transaction_ends(engine) -> Iterator[list[str]]:
    """How the engine's transactions end meanwhile: "commit" or "rollback", in order."""
    ends: list[str] = []
    on_commit, on_rollback = (lambda _c: ends.append("commit")), (lambda _c: ends.append("rollback"))
    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)
    try:
        yield ends
    finally:
        event.remove(engine, "commit", on_commit)
        event.remove(engine, "rollback", on_rollback)


def served(client, url: str, times: int = 1) -> list[int]:
    """The status codes of GET url, each request in its own app context and session as on a
    server: from a thread of its own, where the test's app context does not reach."""
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.extend(client.get(url).status_code for _ in range(times)))
    thread.start()
    thread.join()
    return codes


def test_a_read_only_request_ends_its_transaction_with_commit(client, auth, officer) -> None:
    auth.login(officer)
    with transaction_ends(db.engine) as ends:
        assert served(client, "/demands/") == [200]
    assert ends == ["commit"]


def test_a_request_that_wrote_or_failed_is_not_committed_by_its_end(app) -> None:
    def category_named(name: str) -> Category:
        db.session.add(category := Category(name=name, name_en=name, position=99))
        db.session.flush()
        return category

    cases = [("GET", None, "flushed in a read"), ("POST", None, "flushed in a write"),
             ("GET", RuntimeError("the view failed"), "flushed before a failure")]
    for method, error, name in cases:
        with app.test_request_context("/", method=method), transaction_ends(db.engine) as ends:
            category_named(name)
            end_read_only_request(db.session(), error)
            db.session.rollback()  # what the session's removal does
        assert ends == ["rollback"], name
    assert db.session.scalars(select(Category.name).where(Category.position == 99)).all() == []


def test_postgresql_keeps_a_connections_prepared_statements_across_read_only_requests(
        app, client, auth, officer) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("psycopg's prepared statements")
    auth.login(officer)
    connections = set()

    def remember(connection, *_args) -> None:
        connections.add(connection.connection.dbapi_connection)

    event.listen(db.engine, "after_cursor_execute", remember)
    try:  # psycopg prepares a statement at its sixth run on a connection
        assert served(client, "/demands/", times=8) == [200] * 8
    finally:
        event.remove(db.engine, "after_cursor_execute", remember)
    prepared = []
    for raw in connections:  # idle in the pool: asked directly, and left as found
        prepared.append(raw.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0])
        raw.commit()
    assert max(prepared) > 0


def test_a_statement_with_its_values_written_in_runs_without_parameters(app, count_queries) -> None:
    for position, name in enumerate(["甲", "乙", "丙"], start=50):
        db.session.add(Category(name=name, name_en=name, position=position))
    db.session.commit()
    statement = (select(Category.name).where(Category.position.in_([50, 52, 53]), Category.name != "乙")
                 .order_by(Category.position).limit(5))
    with count_queries() as counter:
        assert db.session.scalars(with_values_written_in(statement)).all() == ["甲", "丙"]
        assert db.session.scalars(statement).all() == ["甲", "丙"]

    def values(parameters) -> set:
        return set(parameters.values() if isinstance(parameters, dict) else parameters)

    (written_sql, written_parameters), (_sql, parameters) = counter.sent
    own = {50, 52, 53, "乙", 5}
    assert not own & values(written_parameters) and "50" in written_sql and "'乙'" in written_sql
    assert own <= values(parameters)  # the statement itself still sends them apart
