"""The scheduler: its jobs, the lock that lets one process schedule, and how it starts."""

from __future__ import annotations

from datetime import datetime, timedelta

import click
import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select, text

from servicedesk.chaser import scheduler as desk_scheduler
from servicedesk.chaser.scheduler import (
    JOB_IDS,
    AdvisoryLock,
    DeskScheduler,
    FileLock,
    new_scheduler,
    run_job,
    serving,
    start_in_process,
)
from servicedesk.domain.workdays import ZONE
from servicedesk.extensions import db
from servicedesk.models import OutboxMessage
from tests.chaser.smtp import SmtpServer, make_message
from tests.conftest import is_postgresql

MORNING = datetime(2026, 6, 15, 9, 0, tzinfo=ZONE)  # half an hour after the digests' time
EARLY = datetime(2026, 6, 15, 7, 0, tzinfo=ZONE)


@pytest.fixture
def lock_path(tmp_path):
    return tmp_path / "instance" / "scheduler.lock"


@pytest.fixture
def schedulers(app):
    """DeskSchedulers over unstarted APScheduler schedulers; shut down at the end."""
    made: list[DeskScheduler] = []

    def make(lock) -> DeskScheduler:
        desk = DeskScheduler(app, BackgroundScheduler(timezone=ZONE), lock)
        made.append(desk)
        return desk

    yield make
    for desk in made:
        desk.shutdown()


def _jobs(desk: DeskScheduler) -> dict:
    return {job.id: job for job in desk.scheduler.get_jobs()}


def test_the_elected_scheduler_registers_the_jobs_coalesced_and_never_overlapping(schedulers,
                                                                                 lock_path) -> None:
    desk = schedulers(FileLock(lock_path))
    assert desk.elect(MORNING)

    jobs = _jobs(desk)
    assert set(jobs) == set(JOB_IDS)
    for job in jobs.values():
        assert job.coalesce is True and job.max_instances == 1
        assert job.args[0] is desk.app
    tick, sender = jobs["chase-tick"], jobs["send-mail"]
    assert isinstance(tick.trigger, IntervalTrigger) and tick.trigger.interval == timedelta(minutes=15)
    assert isinstance(sender.trigger, IntervalTrigger) and sender.trigger.interval == timedelta(minutes=1)
    assert tick.args[1] is desk_scheduler.chase_tick and sender.args[1] is desk_scheduler.send_mail
    for job_id, function in (("department-digests", desk_scheduler.department_digests),
                             ("weekly-summary", desk_scheduler.weekly_summary)):
        digest = jobs[job_id]
        assert isinstance(digest.trigger, CronTrigger) and digest.args[1] is function
        assert str(digest.trigger.timezone) == "Asia/Shanghai"
        fields = {f.name: str(f) for f in digest.trigger.fields}
        assert (fields["hour"], fields["minute"]) == ("8", "30")
        assert digest.misfire_grace_time == 8 * 3600
    # taking over catches up once: the tick and the sender at once, the digests missed this morning too
    assert tick.next_run_time == MORNING and sender.next_run_time == MORNING
    assert jobs["department-digests"].next_run_time == MORNING


def test_before_the_digest_time_the_digests_wait_for_it(schedulers, lock_path, app, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "CHASE_TICK_MINUTES", 5)
    monkeypatch.setitem(app.config, "DIGEST_TIME", "07:45")
    desk = schedulers(FileLock(lock_path))
    assert desk.elect(EARLY)
    jobs = _jobs(desk)
    assert jobs["chase-tick"].trigger.interval == timedelta(minutes=5)
    assert not hasattr(jobs["department-digests"], "next_run_time")  # its cron time, 07:45
    fields = {f.name: str(f) for f in jobs["department-digests"].trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("7", "45")
    assert desk_scheduler.digest_missed(datetime(2026, 6, 15, 16, 0, tzinfo=ZONE),
                                        desk_scheduler.digest_time({"DIGEST_TIME": "08:30"}))
    assert not desk_scheduler.digest_missed(datetime(2026, 6, 15, 17, 0, tzinfo=ZONE),
                                            desk_scheduler.digest_time({"DIGEST_TIME": "08:30"}))


def test_the_file_lock_lets_only_one_of_two_schedulers_schedule(schedulers, lock_path) -> None:
    first, second = schedulers(FileLock(lock_path)), schedulers(FileLock(lock_path))

    assert first.elect(MORNING)
    assert not second.elect(MORNING)
    assert set(_jobs(first)) == set(JOB_IDS)
    assert _jobs(second) == {}
    assert first.elect(MORNING)  # the holder keeps it

    first.shutdown()  # its process stops: the lock is free, the other takes over at its next try
    assert second.elect(MORNING)
    assert set(_jobs(second)) == set(JOB_IDS)


def test_the_advisory_lock_lets_only_one_of_two_schedulers_schedule(app, schedulers) -> None:
    if not is_postgresql():
        pytest.skip("PostgreSQL only: set SERVICEDESK_TEST_DATABASE_URL")
    first, second = schedulers(AdvisoryLock(db.engine.url)), schedulers(AdvisoryLock(db.engine.url))

    assert first.elect(MORNING)
    assert not second.elect(MORNING)
    assert _jobs(second) == {}

    # the holder's connection dies (a database restart, a network cut): it stops scheduling and
    # the other process takes over
    pid = first.lock._connection.execute(text("SELECT pg_backend_pid()")).scalar()
    with db.engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    assert second.elect(MORNING)
    assert not first.elect(MORNING)
    assert _jobs(first) == {} and set(_jobs(second)) == set(JOB_IDS)

    second.shutdown()
    assert first.elect(MORNING)


def test_a_job_runs_in_its_own_app_context_and_commits_or_rolls_back(app) -> None:
    def adds(number: int, fails: bool = False):
        def job() -> None:
            db.session.add(OutboxMessage(idempotency_key=f"job:{number}", kind="test", to_address="a@b.cn",
                                         subject="s", body_text="t", body_html="h"))
            if fails:
                raise RuntimeError("the job failed")
        return job

    run_job(app, adds(1))
    with pytest.raises(RuntimeError):
        run_job(app, adds(2, fails=True))
    keys = db.session.scalars(select(OutboxMessage.idempotency_key)).all()
    assert keys == ["job:1"]


def test_the_sender_job_delivers_at_the_desks_clock(app, monkeypatch, freeze_clock) -> None:
    server = SmtpServer()
    server.start()
    try:
        for key, value in server.config().items():
            if key.startswith("MAIL_"):
                monkeypatch.setitem(app.config, key, value)
        freeze_clock("2026-06-15T09:00+08:00")
        make_message()
        run_job(app, desk_scheduler.send_mail)
    finally:
        server.stop()
    assert len(server.received) == 1
    assert db.session.scalar(select(func.count()).where(OutboxMessage.status == "sent")) == 1


def test_the_tick_and_digest_jobs_call_the_chaser_at_the_desks_clock(app, monkeypatch, freeze_clock) -> None:
    from servicedesk.chaser import digests, tick

    calls = []
    monkeypatch.setattr(tick, "run_tick", lambda now: calls.append(("tick", now)))
    monkeypatch.setattr(digests, "queue_department_digests", lambda now: calls.append(("digests", now)))
    monkeypatch.setattr(digests, "queue_weekly_summary", lambda now: calls.append(("weekly", now)))
    freeze_clock("2026-06-15T08:30+08:00")
    for job in (desk_scheduler.chase_tick, desk_scheduler.department_digests, desk_scheduler.weekly_summary):
        run_job(app, job)
    at = datetime(2026, 6, 15, 8, 30, tzinfo=ZONE)
    assert calls == [("tick", at), ("digests", at), ("weekly", at)]


def test_only_a_web_server_starts_the_scheduler_in_process(app) -> None:
    assert serving()  # no command: a WSGI server importing create_app
    with click.Context(click.Command("db"), info_name="db"):
        assert not serving()
        assert start_in_process(app) is None
    run = click.Context(click.Command("run"), info_name="run")
    run.params = {"reload": False}
    with run:
        assert serving()
    assert app.testing and "servicedesk.scheduler" not in app.extensions


def test_the_web_process_runs_the_scheduler_unless_disabled(tmp_path, monkeypatch) -> None:
    from servicedesk import create_app

    started = []
    monkeypatch.setattr(DeskScheduler, "start", lambda self: started.append(self))
    monkeypatch.setenv("SERVICEDESK_INSTANCE_PATH", str(tmp_path))
    settings = {"DATABASE_URL": f"sqlite:///{tmp_path}/desk.sqlite3", "SECRET_KEY": "x"}

    web = create_app(settings)
    assert len(started) == 1 and web.extensions["servicedesk.scheduler"] is started[0]
    assert isinstance(started[0].lock, FileLock)
    assert started[0].lock.path == tmp_path / "scheduler.lock"
    create_app({**settings, "SCHEDULER_ENABLED": False})
    create_app({**settings, "TESTING": True})
    create_app({**settings, "DATABASE_URL": "sqlite://"})  # in memory: one connection's own database
    assert len(started) == 1


def test_the_scheduler_command_elects_and_releases_the_lock(app, runner, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    elected = []

    def start(self) -> None:  # instead of blocking: one election, then Ctrl+C
        assert self.scheduler.__class__.__name__ == "BlockingScheduler"
        elected.append(self.elect(MORNING))
        raise KeyboardInterrupt

    monkeypatch.setattr(DeskScheduler, "start", start)
    result = runner.invoke(args=["scheduler"])
    assert result.exit_code == 0, result.output
    assert elected == [True]
    assert "The scheduler has stopped." in result.output
    lock = AdvisoryLock(db.engine.url) if is_postgresql() else FileLock(tmp_path / "scheduler.lock")
    assert lock.acquire()  # released on the way out
    lock.release()


def test_new_scheduler_defaults(app) -> None:
    scheduler = new_scheduler()
    assert isinstance(scheduler, BackgroundScheduler)
    assert scheduler._job_defaults["coalesce"] is True and scheduler._job_defaults["max_instances"] == 1
    assert str(scheduler.timezone) == "Asia/Shanghai"
