"""The load test keeps working: a short run of `python -m servicedesk.bench.load` on a small data set
ends with requests served, writes made, no error and no lost write. It runs in its own process, as
one runs it by hand: locust brings gevent, which must not enter the test session's interpreter.
Nothing about speed is asserted; on PostgreSQL it uses a database of its own beside the tests'."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from servicedesk.config import normalise_database_url

pytestmark = pytest.mark.skipif(importlib.util.find_spec("locust") is None,
                                reason="locust is not installed (it comes with the test extra)")


@pytest.fixture
def load_database_url(tmp_path: Path) -> Iterator[str | None]:
    """None on SQLite (the script makes its own file); on PostgreSQL a fresh database `<tests'>_load`."""
    tests_url = os.environ.get("SERVICEDESK_TEST_DATABASE_URL")
    if not tests_url:
        yield None
        return
    url = make_url(normalise_database_url(tests_url))
    name = f"{url.database}_load"
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def test_a_short_load_run_loses_nothing(tmp_path: Path, load_database_url: str | None) -> None:
    command = [sys.executable, "-m", "servicedesk.bench.load", "--demands", "300", "--seconds", "8",
               "--users", "6", "--think", "0.1,0.3", "--folder", str(tmp_path / "load")]
    if load_database_url:
        command += ["--database-url", load_database_url]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    figures = dict(line.split("=", 1) for line in finished.stdout.splitlines()
                   if "=" in line and " " not in line)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert figures["result"] == "ok"
    assert int(figures["requests"]) > 20
    assert figures["failures"] == "0" and figures["database_locked"] == "0"
    assert figures["lost_writes"] == "0" and figures["unseen_writes"] == "0"
    assert int(figures["demands_created"]) == int(figures["demands_gained_in_database"])
    assert int(figures["events_created"]) > 0
    assert int(figures["events_created"]) == int(figures["events_gained_in_database"])
