"""`flask --app servicedesk chase`: one chase tick, now or at a given moment, for operators and tests."""

from __future__ import annotations

from datetime import datetime

import click

from servicedesk import clock


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not an ISO moment such as 2026-06-15T09:00+08:00") from error
    if moment.tzinfo is None:
        raise click.BadParameter("give the moment with its offset, e.g. 2026-06-15T09:00+08:00")
    return moment


@click.command("chase")
@click.option("--now", "now_text", metavar="MOMENT",
              help="tick as of this moment, e.g. 2026-06-15T09:00+08:00 (default: the clock)")
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(min=1),
              help="actions recorded per transaction")
def chase_command(now_text: str | None, batch_size: int) -> None:
    """Run one chase tick: record the reminders and escalations due, once each."""
    from servicedesk.chaser.tick import run_tick

    now = _moment(now_text) or clock.now()
    result = run_tick(now, batch_size=batch_size)
    for item in result.recorded:
        days = item.days_overdue
        overdue = f"{days} working day{'' if days == 1 else 's'} overdue" if days else "-"
        notice = f"  {item.notice}" if item.notice else ""
        deadline = f"milestone {item.milestone_id}" if item.milestone_id else item.deadline
        click.echo(f"{item.demand_number:<10} {item.kind:<20} {deadline:<13} due {item.due.isoformat()}"
                   f"  {overdue}{notice}")
    click.echo(f"Recorded {len(result.recorded)} at {now.isoformat()}; "
               f"{result.already} recorded before, {result.stale} no longer owed.")
