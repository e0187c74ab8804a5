"""`flask scheduler` (the scheduler as its own process) and `flask send-mail` (one sender pass)."""

from __future__ import annotations

import logging
import signal
from datetime import datetime
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext


def register(app: Flask) -> None:
    app.cli.add_command(scheduler_command)
    app.cli.add_command(send_mail_command)


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the scheduler here until stopped: the chase tick, digests and the outbox sender.

    Safe on several hosts at once: one of them takes the lock and schedules, the others wait and
    take over within a minute if it stops. Set SCHEDULER_ENABLED false for the web processes.
    """
    from servicedesk.chaser.scheduler import DeskScheduler, new_scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # APScheduler tells of every run (the election, every minute); its warnings and job errors stay.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    desk = DeskScheduler(app, new_scheduler(blocking=True))

    def stop(_signal: int, _frame: Any) -> None:
        desk.shutdown()

    signal.signal(signal.SIGTERM, stop)
    click.echo("The scheduler runs until stopped (Ctrl+C); one process at a time holds the lock.")
    try:
        desk.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        desk.shutdown()
    click.echo("The scheduler has stopped.")


@click.command("send-mail")
@click.option("--now", "moment", help="the moment to act at, e.g. 2026-06-15T09:00+08:00 (default: now)")
@with_appcontext
def send_mail_command(moment: str | None) -> None:
    """Deliver the outbox messages that are due, once, and print what happened."""
    from servicedesk import clock
    from servicedesk.chaser.outbox import send_due

    now = clock.now()
    if moment:
        try:
            now = datetime.fromisoformat(moment)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--now") from None
        if now.tzinfo is None:
            raise click.BadParameter("give the offset, e.g. 2026-06-15T09:00+08:00", param_hint="--now")
    result = send_due(now, current_app.config)
    click.echo(f"sent {result.sent}, to retry {result.retried}, failed {result.failed}")
    if result.unreachable:
        click.echo(f"the mail server could not be reached: {result.unreachable}")
