"""The scheduler: the chase tick, the digests and the outbox sender on a timetable (APScheduler 3).

Exactly one process schedules, however many web workers or hosts run the desk: each process that
may schedule tries to take a lock every minute, and only the holder adds the jobs. On PostgreSQL
the lock is a session-level advisory lock held by the scheduler's own connection (it ends with
the process, or with that connection); on SQLite, an exclusive file lock on
instance/scheduler.lock (SQLite lives on one machine). A process that loses its lock (the
database connection dropped) removes its jobs and competes again.

Jobs (each in an app context of its own, committing or rolling back itself):

- chase-tick, every CHASE_TICK_MINUTES: servicedesk.chaser.tick.run_tick(now)
- department-digests and weekly-summary, daily at DIGEST_TIME (Beijing): the digest functions
  decide themselves whether today is a day for them, and their idempotency keys make a second
  call a no-op
- send-mail, every minute: servicedesk.chaser.outbox.send_due(now, config)

All jobs coalesce (a backlog of missed runs is run once) and never overlap themselves. The job
store is in memory, so a run missed while no process scheduled is caught up once by the process
that takes the lock: the tick and the sender run at once, the digests at once if their time
today has passed within DIGEST_GRACE.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import IO, Any, Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask, current_app

from servicedesk.domain.workdays import ZONE
from servicedesk.extensions import db

logger = logging.getLogger(__name__)

#: how often a process without the lock tries to take it, and the holder checks it still has it
ELECTION_SECONDS = 60
LOCK_FILE_NAME = "scheduler.lock"
#: pg_try_advisory_lock's key: any bigint that nothing else in the database uses
ADVISORY_LOCK_KEY = 0x5E_41CE_DE5C
#: a digest whose time was missed is still sent this long after it (and not later that day)
DIGEST_GRACE = timedelta(hours=8)
ELECTION_JOB = "elect"
JOB_IDS = ("chase-tick", "department-digests", "weekly-summary", "send-mail")


# The jobs: imported lazily, so that the scheduler loads without the modules it calls


def chase_tick() -> None:
    from servicedesk import clock
    from servicedesk.chaser.tick import run_tick

    run_tick(clock.now())


def department_digests() -> None:
    from servicedesk import clock
    from servicedesk.chaser.digests import queue_department_digests

    queue_department_digests(clock.now())


def weekly_summary() -> None:
    from servicedesk import clock
    from servicedesk.chaser.digests import queue_weekly_summary

    queue_weekly_summary(clock.now())


def send_mail() -> None:
    from servicedesk import clock
    from servicedesk.chaser.outbox import send_due

    send_due(clock.now(), current_app.config)


def run_job(app: Flask, job: Callable[[], None]) -> None:
    """Run a job in an app context of its own; commit what it did, or roll it back and re-raise
    (APScheduler logs the error and the job runs again at its next time)."""
    with app.app_context():
        try:
            job()
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        finally:
            db.session.remove()


# The lock that elects the one scheduling process


class SchedulerLock(Protocol):
    def acquire(self) -> bool:
        """Take the lock if it is free; True if this process holds it now."""

    def held(self) -> bool:
        """Whether this process still holds the lock."""

    def release(self) -> None: ...


class FileLock:
    """An exclusive flock on a file: for SQLite, whose database lives on this machine too.

    flock locks belong to the open file, so two schedulers in one process exclude each other as
    well; the kernel drops the lock when the process dies.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def acquire(self) -> bool:
        if self._handle is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="ascii")
        try:
            _lock_file(handle)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")  # for people: which process schedules
        handle.flush()
        self._handle = handle
        return True

    def held(self) -> bool:
        return self._handle is not None

    def release(self) -> None:
        if self._handle is not None:
            try:
                _unlock_file(self._handle)
            finally:
                self._handle.close()
                self._handle = None


try:
    import fcntl

    def _lock_file(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock_file(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

except ImportError:  # Windows
    import msvcrt

    def _lock_file(handle: IO[str]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]

    def _unlock_file(handle: IO[str]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock, held by a connection of the scheduler's own.

    The lock lasts as long as that session: a process that dies, or whose connection drops,
    lets another take over at its next election.
    """

    def __init__(self, url: Any, key: int = ADVISORY_LOCK_KEY) -> None:
        self.url = url
        self.key = key
        self._engine: Any = None
        self._connection: Any = None

    def acquire(self) -> bool:
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        if self._connection is not None:
            return True
        engine = create_engine(self.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            connection = engine.connect()
        except Exception:
            engine.dispose()
            raise
        taken = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar()
        if not taken:
            connection.close()
            engine.dispose()
            return False
        self._engine, self._connection = engine, connection
        return True

    def held(self) -> bool:
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            logger.warning("scheduler: the connection holding the lock is gone")
            self._drop()
            return False
        return True

    def release(self) -> None:
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        if self._connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        self._drop()

    def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):  # a dead connection may fail to close; it is gone
                self._connection.close()
        if self._engine is not None:
            self._engine.dispose()
        self._engine = self._connection = None


def lock_for(app: Flask) -> SchedulerLock:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            return AdvisoryLock(engine.url)
    return FileLock(Path(app.instance_path) / LOCK_FILE_NAME)


# The scheduler


@dataclass(frozen=True)
class JobSpec:
    id: str
    function: Callable[[], None]
    trigger: BaseTrigger
    #: seconds a run may be late and still run; None: however late (coalesced into one run)
    misfire_grace_time: int | None
    #: whether the process that takes the lock runs it at once (catching up a missed run)
    run_at_election: bool


def digest_time(config: Any) -> time:
    hours, _, minutes = str(config["DIGEST_TIME"]).partition(":")
    return time(int(hours), int(minutes or 0))


def digest_missed(now: datetime, at: time) -> bool:
    """Whether today's digest time has passed, recently enough to send the digests late."""
    local = now.astimezone(ZONE)
    scheduled = datetime.combine(local.date(), at, ZONE)
    return scheduled <= local < scheduled + DIGEST_GRACE


def job_specs(config: Any, now: datetime) -> list[JobSpec]:
    at = digest_time(config)
    daily = {"hour": at.hour, "minute": at.minute, "timezone": ZONE}
    late_digest = digest_missed(now, at)
    grace = int(DIGEST_GRACE.total_seconds())
    return [
        JobSpec("chase-tick", chase_tick,
                IntervalTrigger(minutes=int(config["CHASE_TICK_MINUTES"]), timezone=ZONE), None, True),
        JobSpec("department-digests", department_digests, CronTrigger(**daily), grace, late_digest),
        JobSpec("weekly-summary", weekly_summary, CronTrigger(**daily), grace, late_digest),
        JobSpec("send-mail", send_mail, IntervalTrigger(minutes=1, timezone=ZONE), None, True),
    ]


def new_scheduler(blocking: bool = False) -> BaseScheduler:
    options = {"timezone": ZONE, "job_defaults": {"coalesce": True, "max_instances": 1}}
    if blocking:
        from apscheduler.schedulers.blocking import BlockingScheduler

        return BlockingScheduler(**options)
    return BackgroundScheduler(**options)


class DeskScheduler:
    """An APScheduler scheduler that schedules the desk's jobs only while it holds the lock."""

    def __init__(self, app: Flask, scheduler: BaseScheduler | None = None,
                 lock: SchedulerLock | None = None) -> None:
        self.app = app
        self.scheduler = scheduler if scheduler is not None else new_scheduler()
        self.lock = lock if lock is not None else lock_for(app)
        self.leading = False
        self._told_waiting = False
        self._guard = threading.Lock()

    def start(self) -> None:
        """Elect at once and then every minute; blocks for a BlockingScheduler."""
        self.scheduler.add_job(self.elect, IntervalTrigger(seconds=ELECTION_SECONDS, timezone=ZONE),
                               id=ELECTION_JOB, name="scheduler election", next_run_time=datetime.now(ZONE),
                               coalesce=True, max_instances=1, misfire_grace_time=None, replace_existing=True)
        self.scheduler.start()

    def elect(self, now: datetime | None = None) -> bool:
        """Take the lock and add the jobs, or check that the lock is still ours; True while leading."""
        with self._guard:
            if self.leading:
                if self.lock.held():
                    return True
                logger.warning("scheduler: lost the lock; jobs stopped until it is taken again")
                self._remove_jobs()
                self.leading = False
            try:
                taken = self.lock.acquire()
            except Exception:
                logger.exception("scheduler: could not ask for the lock; trying again in a minute")
                return False
            if not taken:
                if not self._told_waiting:
                    logger.info("scheduler: another process schedules; this one takes over if it stops")
                    self._told_waiting = True
                return False
            self._told_waiting = False
            self.leading = True
            self._add_jobs(now or datetime.now(ZONE))
            logger.info("scheduler: this process (pid %d) schedules the desk's jobs", os.getpid())
            return True

    def _add_jobs(self, now: datetime) -> None:
        for spec in job_specs(self.app.config, now):
            extra = {"next_run_time": now} if spec.run_at_election else {}
            self.scheduler.add_job(run_job, spec.trigger, args=(self.app, spec.function), id=spec.id,
                                   name=spec.id, coalesce=True, max_instances=1,
                                   misfire_grace_time=spec.misfire_grace_time, replace_existing=True, **extra)

    def _remove_jobs(self) -> None:
        for job_id in JOB_IDS:
            if self.scheduler.get_job(job_id) is not None:
                self.scheduler.remove_job(job_id)

    def shutdown(self) -> None:
        with self._guard:
            if self.scheduler.running:
                self.scheduler.shutdown(wait=False)
            if self.leading:
                self.lock.release()
                self.leading = False


# Starting it with the web server


def serving() -> bool:
    """Whether this create_app is for a web server rather than a `flask` shell command.

    create_app also runs for every `flask` command (db upgrade, seed-demo, scheduler ...); only a
    WSGI server (no click context) or `flask run` (in the reloader's child when reloading) schedules.
    """
    import click

    context = click.get_current_context(silent=True)
    if context is None:
        return True
    if context.info_name != "run":
        return False
    from flask.helpers import get_debug_flag
    from werkzeug.serving import is_running_from_reloader

    reload = context.params.get("reload")
    if reload is None:
        reload = get_debug_flag()
    return not reload or is_running_from_reloader()


def private_database(app: Flask) -> bool:
    """An in-memory SQLite database lives and dies with one connection: nothing to schedule for."""
    with app.app_context():
        url = db.engine.url
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def start_in_process(app: Flask) -> DeskScheduler | None:
    """Run the scheduler in a background thread of this (web) process, if it wins the lock."""
    if not serving() or private_database(app):
        return None
    desk = DeskScheduler(app)
    desk.start()
    atexit.register(desk.shutdown)
    app.extensions["servicedesk.scheduler"] = desk
    return desk
