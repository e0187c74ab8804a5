"""Shell commands: flask --app servicedesk <command>."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup

from servicedesk.config import LOCALES, catalog_name
from servicedesk.extensions import db
from servicedesk.models import Department, Role

ROLE_CHOICES = [role.value for role in Role]
SOURCE_LOCALE = "en"
PACKAGE_DIR = Path(__file__).resolve().parent


def register(app: Flask) -> None:
    from servicedesk.calendar.commands import calendar_commands
    from servicedesk.chaser.commands import chase_command

    app.cli.add_command(calendar_commands)
    app.cli.add_command(chase_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(create_token_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(translate)
    from servicedesk.chaser.scheduler_commands import register as register_scheduler_commands
    register_scheduler_commands(app)


def _fail(message: str) -> None:
    db.session.rollback()
    raise click.ClickException(message)


@click.command("create-user")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLE_CHOICES),
              help="officer, handler, leader or admin; repeat for several roles")
@click.option("--department", help="the department's full or short name (handlers)")
@click.option("--head", is_flag=True, help="make the handler the head of the department")
@click.option("--display-name", help="the name other users see (default: the user name)")
@click.option("--email")
@click.password_option(prompt="Password", help="asked for when left out")
def create_user_command(username: str, roles: tuple[str, ...], department: str | None, head: bool,
                        display_name: str | None, email: str | None, password: str) -> None:
    """Create a user with one or more roles."""
    from sqlalchemy import or_, select

    from servicedesk.admin.operations import Refused, create_user
    from servicedesk.auth.operations import PasswordRejected

    found = None
    if department:
        found = db.session.scalar(select(Department).where(
            or_(Department.name == department, Department.short_name == department)))
        if found is None:
            _fail(f"no department named {department!r}")
    try:
        user = create_user(username, display_name or username, password,
                           {Role(r) for r in roles}, department=found, is_head=head, email=email)
    except (Refused, PasswordRejected) as refused:
        _fail(str(refused))
    db.session.commit()
    click.echo(f"created user {user.username} ({', '.join(sorted(roles))})")


@click.command("create-token")
@click.argument("username")
@click.option("--name", default="shell", show_default=True, help="what the token is for")
def create_token_command(username: str, name: str) -> None:
    """Issue an API token for USERNAME; the token is printed alone on the last line."""
    from servicedesk.auth.operations import find_user, issue_api_token

    user = find_user(username)
    if user is None or not user.active:
        _fail(f"no active user named {username!r}")
    token = issue_api_token(user, name)
    db.session.commit()
    click.echo(f"API token for {user.username} ({name}); it is shown this once:")
    click.echo(token)


@click.command("seed-demo")
@click.option("--password", help="one password for every demo user (default: a random one each)")
def seed_demo_command(password: str | None) -> None:
    """Load the demo zone; running it again adds nothing twice."""
    from servicedesk.demo import seed_demo

    created = seed_demo(password)
    db.session.commit()
    if created:
        lines = [f"{login.username:<12} {login.password:<20} {login.description}"
                 for login in created]
        logins_file = Path(current_app.instance_path) / "demo-logins.txt"
        logins_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        logins_file.chmod(0o600)
        click.echo("Demo users (passwords are shown once and kept in instance/demo-logins.txt):")
        click.echo("\n".join(lines))
    else:
        click.echo("Demo data is loaded already; nothing added.")


@click.group()
def translate() -> None:
    """Keep the translation catalogs in step with the code (wraps pybabel)."""


def _pybabel(*args: str) -> None:
    from babel.messages.frontend import CommandLineInterface

    CommandLineInterface().run(["pybabel", "-q", *args])


@translate.command("update")
def translate_update() -> None:
    """Extract the strings and merge them into every catalog."""
    root = PACKAGE_DIR.parent
    pot = root / "messages.pot"
    _pybabel("extract", "-F", str(root / "babel.cfg"), "-k", "_l", "--no-location",
             "--omit-header", "--sort-output", "-o", str(pot), str(root))
    translations = PACKAGE_DIR / "translations"
    for locale in LOCALES:
        catalog = translations / catalog_name(locale) / "LC_MESSAGES" / "messages.po"
        command = "update" if catalog.exists() else "init"
        _pybabel(command, "-i", str(pot), "-d", str(translations), "-l", catalog_name(locale),
                 "--no-wrap",
                 *(["--ignore-obsolete"] if command == "update" else []))
    pot.unlink()
    _fill_source_language(translations / SOURCE_LOCALE / "LC_MESSAGES" / "messages.po")


def _fill_source_language(path: Path) -> None:
    """The msgids are the English text, so the English catalog repeats them."""
    from babel.messages.pofile import read_po, write_po

    with path.open("rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if message.id:
            message.string = message.id
        message.flags.discard("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalog, width=0, omit_header=False)


@translate.command("compile")
def translate_compile() -> None:
    """Compile the catalogs into the .mo files the desk reads."""
    _pybabel("compile", "-d", str(PACKAGE_DIR / "translations"))


def main() -> None:
    """The `servicedesk` console script: the flask commands without --app."""
    from servicedesk import create_app

    FlaskGroup(create_app=create_app)()
