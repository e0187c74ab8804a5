"""The desk at size: how long its pages, exports and chase tick take over a realistic data set.

    python -m servicedesk.bench [--demands 100000] [--repeat 20] [--database-url URL] [--keep]
                                [--wipe | --reuse] [--seed 7] [--only pages|exports|chase]

Builds the data set of servicedesk.bench.data (a year of a busy desk: 2,000 companies, 25
departments, 400 users, `--demands` demands with their visits and history) in a throwaway SQLite
file, or in the database `--database-url` names (PostgreSQL or SQLite), which must be empty: one that
holds any table is refused unless `--wipe` (drop every table first) or `--reuse` (measure the data a
former run left there, `--keep` or a database URL, without building). Then measures in-process,
through the Flask test client signed in as the desk's users, with the clock pinned to FROZEN_NOW:

- page=NAME median_ms p95_ms queries: `--repeat` requests of each page after WARM_UP to warm up; queries
  is the number of SQL statements one request runs (the most of any request), counted on the engine.
  The list (as an officer: unfiltered, by department and state, a keyword of two characters and one
  of four), the demand page of a demand with 30 events (as a leader), each role's queue (a handler of
  the busiest department, an officer, a leader), the dashboard (this month, this year, as a leader),
  its drill-down lists (the overdue number's link, the on-time rate's link), the visits, the
  messages (the handler's);
- export=NAME rows seconds rows_per_second cpu_seconds peak_memory_mb file_mb queries: the Excel
  ledger of all open demands and of the whole year, as servicedesk.bench.ledger_export measures it
  (after one to warm up, one untraced export for the time, one under tracemalloc for the peak of
  Python's allocations, and the SQL statements it ran);
- chase=tick seconds queries recorded open_demands: one chase tick over all open demands at
  FROZEN_NOW, the first of its working day (the data set's history of reminders stops the day
  before), then chase=tick_again, the next tick of the same day (all recorded already). They run
  last, since they change the data; a fresh build measures them again the same way.

Each figure is one line of `name=value` pairs, after a header line naming the machine and the
database, so that runs can be compared line by line. Nothing is asserted: the figures are for reading
(README, "Performance", gives the budgets).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from sqlalchemy import event, func, select, text

from servicedesk.bench import data, ledger_export
from servicedesk.bench.ledger_export import QueryCounter
from servicedesk.domain.lifecycle import OPEN_STATES
from servicedesk.extensions import db
from servicedesk.models import Demand

#: requests before the timed ones: imports, compiled statements, template caches, and on PostgreSQL
#: the plans it keeps: psycopg prepares a statement at its sixth run on a connection, and PostgreSQL
#: keeps a plan from the sixth run of the prepared statement on, as on any server that has run the
#: page a dozen times since it started
WARM_UP = 12
OPEN_STATE_ARGS = [("state", state.value) for state in sorted(OPEN_STATES)]
#: the groups of figures, in the order they are measured (the chase tick changes the data: last)
FIGURES = ("pages", "exports", "chase")
#: the keyword searches: a two-character term (below the trigram's three) and a longer one
SHORT_TERM = "用地"
LONG_TERM = "排污许可"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m servicedesk.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--demands", type=int, default=100_000,
                        help="demands in the data set (default 100000)")
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per page (default 20)")
    parser.add_argument("--database-url", help="measure on this database (PostgreSQL or SQLite), which must "
                                               "be empty; default: a throwaway SQLite file")
    parser.add_argument("--keep", action="store_true",
                        help="keep the throwaway SQLite file (its path is printed)")
    given = parser.add_mutually_exclusive_group()
    given.add_argument("--wipe", action="store_true", help="drop every table of --database-url first")
    given.add_argument("--reuse", action="store_true",
                       help="measure the data set a former run left in --database-url, without building")
    parser.add_argument("--seed", type=int, default=7, help="the data set's random seed (default 7)")
    parser.add_argument("--only", choices=FIGURES, action="append",
                        help="measure only these figures (repeat it; default: all)")
    parser.add_argument("--page", type=re.compile, metavar="REGEX",
                        help="time only the pages whose name this matches (e.g. 'dashboard|queue')")
    args = parser.parse_args(argv)
    if args.demands < 200:
        parser.error("--demands must be at least 200")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if (args.wipe or args.reuse) and not args.database_url:
        parser.error("--wipe and --reuse go with --database-url")
    folder = Path(tempfile.mkdtemp(prefix="servicedesk-bench-"))
    try:
        url = args.database_url or "sqlite:///" + str(folder / "bench.sqlite3")
        app = data.bench_app(url, folder)
        try:
            return run(app, args)
        except data.DatabaseNotEmpty as error:
            print(f"{error}: give --wipe to drop its tables, or --reuse to measure what is there",
                  file=sys.stderr)
            return 2
        finally:
            with app.app_context():
                db.engine.dispose()
    finally:
        if args.keep and not args.database_url:
            print(f"bench=kept path={folder / 'bench.sqlite3'}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def run(app: Flask, args: argparse.Namespace) -> int:
    report(bench="machine", **machine(app))
    if args.reuse:
        world = data.load_world(app)
        report(bench="reused", demands=world.demands, events=world.events, visits=world.visits)
    else:
        data.prepare(app, wipe=args.wipe)
        started = time.perf_counter()
        world = data.seed_world(app, args.seed)
        data.add_demands(app, world, args.demands)
        report(bench="build", demands=world.demands, events=world.events, visits=world.visits,
               seconds=f"{time.perf_counter() - started:.1f}")
    if world.long_history_demand_id is None:
        raise RuntimeError("the data set has no demand with a long history")
    bench = Bench(app, world, args.repeat, args.page)
    for figures in args.only or FIGURES:
        getattr(bench, figures)()
    return 0


def report(**figures: Any) -> None:
    """One line of name=value pairs; a value never holds a space, so that the line splits on them."""
    print(" ".join(f"{name}={_token(value)}" for name, value in figures.items()), flush=True)


def _token(value: Any) -> str:
    return re.sub(r"\s+", "_", str(value).strip()) or "-"


def machine(app: Flask) -> dict[str, Any]:
    with app.app_context():
        dialect = db.engine.dialect.name
        if dialect == "postgresql":
            version = db.session.scalar(text("SHOW server_version"))
        else:
            version = sqlite3.sqlite_version
        db.session.remove()
    return {"platform": platform.platform(), "cpus": os.cpu_count(), "cpu_model": cpu_model(),
            "python": platform.python_version(), "database": dialect, "database_version": version}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


class Bench:
    def __init__(self, app: Flask, world: data.World, repeat: int,
                 page_names: re.Pattern[str] | None = None) -> None:
        self.app, self.world, self.repeat, self.page_names = app, world, repeat, page_names
        self.queries = QueryCounter()
        busiest = world.department_ids[0]  # the generator sends most demands to the first twelve
        self.department_id = busiest
        self.clients = {
            "leader": ledger_export.signed_in_client(app, world.usernames["leader"][0]),
            "officer": ledger_export.signed_in_client(app, world.usernames["officer"][0]),
            "handler": ledger_export.signed_in_client(app, world.handler_usernames[busiest][0]),
        }
        with app.app_context():
            self.engine = db.engine
            self.demands = db.session.scalar(select(func.count()).select_from(Demand)) or 0
            db.session.remove()

    def get(self, role: str, url: str) -> bytes:
        response = self.clients[role].get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code} to the {role}")
        return response.get_data()

    def page(self, name: str, role: str, url: str) -> bytes:
        """Time `repeat` requests of the page after WARM_UP; report the median, p95 and queries.
        A page `--page` leaves out is only fetched, for the links a later page needs."""
        if self.page_names and not self.page_names.search(name):
            return self.get(role, url)
        body = b""
        for _ in range(WARM_UP):
            body = self.get(role, url)
        times, most = [], 0
        # No app context around the requests: each request has its own, as on a server, and so its
        # own session (an outer context would keep the session and its identity map across requests).
        event.listen(self.engine, "before_cursor_execute", self.queries.before)
        try:
            for _ in range(self.repeat):
                self.queries.count = 0
                started = time.perf_counter()
                self.get(role, url)
                times.append((time.perf_counter() - started) * 1000)
                most = max(most, self.queries.count)
        finally:
            event.remove(self.engine, "before_cursor_execute", self.queries.before)
        times.sort()
        report(page=name, median_ms=f"{statistics.median(times):.1f}",
               p95_ms=f"{times[math.ceil(0.95 * len(times)) - 1]:.1f}", queries=most, demands=self.demands,
               url=url)
        return body

    def pages(self) -> None:
        department = self.department_id
        self.page("demand_list", "officer", "/demands/")
        self.page("demand_list_filtered", "officer", "/demands/?" + urlencode(
            {"department": department, "state": "accepted"}))
        self.page("demand_search_short", "officer", "/demands/?" + urlencode({"q": SHORT_TERM}))
        self.page("demand_search_long", "officer", "/demands/?" + urlencode({"q": LONG_TERM}))
        self.page("demand_page", "leader", f"/demands/{self.world.long_history_demand_id}")
        self.page("queue_handler", "handler", "/demands/queue")
        self.page("queue_officer", "officer", "/demands/queue")
        self.page("queue_leader", "leader", "/demands/queue")
        month = self.page("dashboard_month", "leader", "/dashboard/?period=month")
        self.page("dashboard_year", "leader", "/dashboard/?period=year")
        links = measure_links(month.decode())
        self.page("drilldown_overdue", "leader", links["overdue"])
        self.page("drilldown_on_time_rate", "leader", links["rate:on_time"])
        self.page("visits", "officer", "/visits/")
        self.page("messages", "handler", "/messages/")

    def exports(self) -> None:
        with self.app.app_context():
            open_rows = db.session.scalar(select(func.count()).select_from(Demand).where(
                Demand.state.in_([state.value for state in OPEN_STATES]))) or 0
            year_rows = self.demands
            db.session.remove()
        first = data.FIRST_DAY.isoformat()
        last = data.TODAY.isoformat()
        year = urlencode({"logged_from": first, "logged_to": last})
        for name, query, rows in (("ledger_open", urlencode(OPEN_STATE_ARGS), open_rows),
                                  ("ledger_year", year, year_rows)):
            url = f"{ledger_export.URL}?{query}"
            client = self.clients["leader"]
            ledger_export.export(client, rows, url=url)  # to warm up, as the pages are
            timed = ledger_export.export(client, rows, url=url)
            traced = ledger_export.export(client, rows, traced=True, url=url)
            report(export=name, rows=rows, seconds=f"{timed.seconds:.2f}",
                   rows_per_second=f"{rows / timed.seconds:.0f}", cpu_seconds=f"{timed.cpu_seconds:.2f}",
                   peak_memory_mb=ledger_export.megabytes(traced.peak or 0),
                   file_mb=ledger_export.megabytes(timed.file_bytes), queries=timed.queries,
                   demands=self.demands)

    def chase(self) -> None:
        from servicedesk.chaser.tick import run_tick

        with self.app.app_context():
            open_demands = db.session.scalar(select(func.count()).select_from(Demand).where(
                Demand.state.in_([state.value for state in OPEN_STATES]))) or 0
            db.session.remove()
            for name in ("tick", "tick_again"):
                with self.queries.counting():
                    started = time.perf_counter()
                    result = run_tick(data.NOW)
                    seconds = time.perf_counter() - started
                report(chase=name, seconds=f"{seconds:.2f}", queries=self.queries.count,
                       recorded=len(result.recorded), already=result.already, open_demands=open_demands,
                       demands=self.demands)
                db.session.remove()


def measure_links(page: str) -> dict[str, str]:
    """The dashboard's links by measure: "overdue", ..., and "rate:on_time" for a rate's link."""
    links: dict[str, str] = {}
    for tag in re.findall(r"<a class=\"measure-link[^>]*>", page):
        href = re.search(r'href="([^"]+)"', tag)
        measure = re.search(r'data-measure="([^"]+)"', tag)
        if href and measure:
            key = f"rate:{measure.group(1)}" if "data-rate=" in tag else measure.group(1)
            links.setdefault(key, unescape(href.group(1)))
    return links


if __name__ == "__main__":
    sys.exit(main())
