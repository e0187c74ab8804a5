"""How the desk talks to its database: SQLite settings, transaction start, and the ORM session."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.visitors import replacement_traverse

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: the keyword search's own objects, made by migration 0003 per database and not in the models:
#: SQLite's FTS5 table (and its shadow tables), PostgreSQL's trigram indexes
SEARCH_TABLE = "demand_search"
#: PostgreSQL's keyword indexes (migrations 0003, 0007 and 0009, which replaced the per-column demand
#: indexes by ix_demands_text_*), which no model declares
TRIGRAM_INDEXES = frozenset({"ix_demands_title_trgm", "ix_demands_description_trgm",
                             "ix_companies_name_trgm", "ix_demands_title_bigrams",
                             "ix_demands_description_bigrams", "ix_companies_name_bigrams",
                             "ix_demands_text_trgm", "ix_demands_text_bigrams"})
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: set in a session's info once it has flushed in its current transaction
WROTE = "servicedesk.wrote"
Remembered = TypeVar("Remembered")
Statement = TypeVar("Statement")
log = logging.getLogger(__name__)


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Take transaction control away from pysqlite so that we choose how each one begins.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


@event.listens_for(Engine, "do_connect")
def _configure_postgresql(dialect: Any, _record: Any, _args: Any, parameters: dict[str, Any]) -> None:
    if dialect.name != "postgresql":
        return
    # No parallel workers for the desk's statements: starting them costs more than the largest
    # page's scan saves (at 100,000 demands the count of a common keyword took 16 ms with two
    # workers and 7 without), and a server's cores serve other requests meanwhile. Given at
    # connection, so that it costs no statement.
    options = parameters.get("options", "")
    parameters["options"] = f"{options} -c max_parallel_workers_per_gather=0".strip()


@event.listens_for(Engine, "begin")
def _begin_sqlite(connection: Connection) -> None:
    if connection.dialect.name != "sqlite":
        return
    # A deferred transaction that reads and then writes cannot wait for another writer: SQLite
    # fails it at once with "database is locked". Writers therefore take the write lock up front.
    connection.exec_driver_sql("BEGIN" if is_read_only() else "BEGIN IMMEDIATE")


def is_read_only() -> bool:
    return has_request_context() and request.method in READ_ONLY_METHODS


@event.listens_for(Session, "after_flush")
def _remember_writing(session: Session, _flush_context: Any) -> None:
    session.info[WROTE] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_writing(session: Session) -> None:
    session.info.pop(WROTE, None)


def end_read_only_request(session: Session, error: BaseException | None) -> None:
    """End the transaction of a read-only request that went well with COMMIT, not the ROLLBACK
    the session's removal would send: psycopg forgets every statement it has prepared on a
    connection at each ROLLBACK, so that PostgreSQL would plan each of a page's statements anew on
    every request (the demand page's main one: 5 ms of planning for 0.5 ms of work). Having read
    only, the transaction has nothing that COMMIT could keep and ROLLBACK would undo. A request
    that failed, wrote, or holds unflushed changes is left to the rollback."""
    if (error is not None or not is_read_only() or not session.in_transaction()
            or session.info.get(WROTE) or session.new or session.dirty or session.deleted):
        return
    try:
        session.commit()
    except SQLAlchemyError:
        log.warning("could not end a read-only request's transaction; it is rolled back", exc_info=True)


def for_the_request(name: str, build: Callable[[], Remembered]) -> Remembered:
    """What `build` returns, made once and kept for the rest of the request: in its environ, not in
    `g`, which a test's app context shares between the requests it makes. Outside a request, made
    on each call."""
    if not has_request_context():
        return build()
    key = f"servicedesk.{name}"
    if key not in request.environ:
        request.environ[key] = build()
    return request.environ[key]


def with_values_written_in(statement: Statement) -> Statement:
    """The statement with each of its values written into its SQL rather than sent as a parameter
    (SQLAlchemy's literal_execute), for a statement of values the desk chose or checked against
    its own (states, ids, days), never a user's text. PostgreSQL keeps the plan of a prepared
    statement without parameters, so that it plans such a statement once per connection; one with
    parameters it plans again on each run where its plan for any value might cost more (a queue's
    statement: 6 ms of planning each time, for 4-6 of work)."""
    def written_in(element: Any) -> Any:
        if isinstance(element, BindParameter) and not element.literal_execute:
            written = element._clone()
            written.literal_execute = True
            return written
        return None

    return replacement_traverse(statement, {}, written_in)


def include_in_migrations(_object: Any, name: str | None, type_: str, _reflected: bool,
                          _compare_to: Any) -> bool:
    """Leave the search objects out when comparing the models with the database."""
    if type_ == "table" and name and name.startswith(SEARCH_TABLE):
        return False
    return not (type_ == "index" and name in TRIGRAM_INDEXES)
