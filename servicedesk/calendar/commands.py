"""flask --app servicedesk calendar ...: load, import and show years of the working-day calendar."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from servicedesk.calendar import importer, store
from servicedesk.domain import statutory_holidays
from servicedesk.domain.workdays import SpecialDay
from servicedesk.extensions import db

calendar_commands = AppGroup("calendar", help="The working-day calendar: prefill, import, show.")


def _line(special: SpecialDay) -> str:
    return f"{special.day.isoformat()} {special.day:%a} {special.kind.value:<8} {special.name}"


def _fail(message: str) -> None:
    db.session.rollback()
    raise click.ClickException(message)


@calendar_commands.command("prefill")
@click.argument("year", type=int)
def prefill_command(year: int) -> None:
    """Load YEAR from the chinese-calendar package, replacing the days entered for it."""
    try:
        change = store.prefill(year)
    except statutory_holidays.YearNotKnown as unknown:
        _fail(f"{unknown}; enter the year on the calendar page or with `calendar import FILE`")
    db.session.commit()
    click.echo(f"{year} loaded from chinese-calendar {statutory_holidays.package_version()}: "
               f"{len(change.added)} added, {len(change.removed)} removed, {len(change.changed)} changed")


@calendar_commands.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="load without asking once the file has been checked")
def import_command(file: Path, yes: bool) -> None:
    """Check FILE (CSV or .xlsx: date, kind, name), report, and on confirmation load its years."""
    try:
        plan = importer.plan(importer.read_file(file.read_bytes()))
    except importer.ImportFileError as error:
        _fail(str(error))
    for year in plan.years:
        state = "loaded, will be replaced" if year.current and year.current.loaded else "not loaded"
        click.echo(f"{year.year}: {year.holidays} holidays, {year.workdays} make-up working days ({state})")
        for special in year.change.added:
            click.echo(f"  + {_line(special)}")
        for special in year.change.removed:
            click.echo(f"  - {_line(special)}")
        for old, new in year.change.changed:
            click.echo(f"  ~ {_line(old)} -> {_line(new)}")
    for note in plan.notes:
        click.echo(f"row {note.number} ({note.text}): {note.note}")
    for refused in plan.refused:
        click.echo(f"row {refused.number} refused ({refused.text}): {refused.reason}", err=True)
    if plan.refused:
        _fail(f"{len(plan.refused)} rows refused; nothing imported. Fix the file and run again.")
    if not plan.years:
        _fail("the file has no days to import")
    years = ", ".join(str(year.year) for year in plan.years)
    if not yes and not click.confirm(f"Load {years} from {file.name}?"):
        _fail("nothing imported")
    importer.apply(plan, file.name)
    db.session.commit()
    click.echo(f"loaded {years} from {file.name}")


@calendar_commands.command("show")
@click.argument("year", type=int)
def show_command(year: int) -> None:
    """Print YEAR's status and the days that differ from Monday to Friday."""
    record = store.year_record(year)
    if record and record.loaded:
        who = record.loaded_by.username if record.loaded_by else "the system"
        click.echo(f"{year}: loaded {record.loaded_at:%Y-%m-%d %H:%M} UTC by {who} "
                   f"({record.source}{', ' + record.source_detail if record.source_detail else ''})")
    else:
        click.echo(f"{year}: not loaded; deadlines reaching into it are provisional")
    for day in store.days_of(year):
        click.echo("  " + _line(store.as_special(day)))
