"""The load test: the real server, driven by concurrent simulated users for a bounded time.

    python -m servicedesk.bench.load [--demands 10000] [--database-url URL] [--seconds 60]
                                     [--users 20] [--threads 8] [--think 0.5,1.5] [--mix 3,5,2]
                                     [--folder DIR [--reuse]]

1. Builds a benchmark database with the benchmarks' generator (servicedesk.bench.data): a SQLite
   file in a temporary folder, or the PostgreSQL database named by --database-url (emptied first:
   give it a database of its own). --reuse takes the database as an earlier run left it.
2. Starts the desk as it is deployed, waitress with --threads threads, on 127.0.0.1 at a free port,
   with the scheduler off (no chase events during the run) and the clock pinned to the data's day.
3. Runs locust headless (servicedesk/bench/locustfile.py) for --seconds with --users simulated
   officers, handlers and leaders (weighted by --mix) signing in and working through the real
   pages and forms, each waiting --think seconds between tasks: far less than people do, so that
   20 users load the server as a few hundred people at work would. The login limit counts failed
   logins only, so it stays on.
4. Stops the server and prints `name=value` lines: requests, requests per second and failures in
   all; per page its requests and p50/p95/p99 latency; the races the desk refused; the errors the
   server logged; and the lost-writes check: the demands and events the users saw saved against
   what the database gained, per action.

It exits 1 on any failed request (a 5xx, an unexpected 4xx, "database is locked" in a page), any
error in the server's log, or any write the users saw saved that the database lacks (or the
reverse); 2 when the server or locust could not run. Requires locust (`pip install -e .[bench]`).

The server is one waitress process: its threads share one interpreter lock, so it uses one
processor core however many threads it has. The users' figures are those of the desk at that
capacity; locust runs on the same machine and takes its share of it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from servicedesk.bench import data
from servicedesk.config import normalise_database_url
from servicedesk.domain.lifecycle import State
from servicedesk.extensions import db
from servicedesk.models import Demand, DemandEvent, ExtensionRequest, Role

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
#: seconds the server has to answer after it starts, and users to finish their task at the end
START_TIMEOUT = 60
STOP_TIMEOUT = 30
#: the most demands put in each pool of the plan: far more than a run gets through
POOL_LIMIT = 5_000
#: a line the desk logs for every unhandled error (errors.handle_unexpected), and SQLite's
#: complaint when a writer waited longer than the busy timeout
SERVER_ERROR_MARKS = ("unhandled error", "Traceback", "database is locked")


@dataclass
class Outcome:
    """What the users confirmed written, and locust's figures (the locustfile's counts file)."""

    counts: dict[str, Any]


@dataclass
class Tally:
    """Rows of the database the run could write: demands, and events by action."""

    demands: int = 0
    events: Counter[str] = field(default_factory=Counter)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.reuse and not (args.folder or args.database_url):
        parser.error("--reuse needs the --folder or --database-url of an earlier run")
    if importlib.util.find_spec("locust") is None:
        print("locust is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    kept = Path(args.folder) if args.folder else None
    with tempfile.TemporaryDirectory(prefix="servicedesk-load-") as temporary:
        folder = kept or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        url = args.database_url or "sqlite:///" + str(folder / "load.sqlite3")
        app = _app(url, folder)
        started = time.perf_counter()
        if not args.reuse:
            build(app, args.demands)
        build_seconds = time.perf_counter() - started
        plan = make_plan(app, args)
        before = tally(app)
        (folder / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
        with app.app_context():
            db.engine.dispose()  # the server and the users have the database to themselves
        log = folder / "server.log"
        try:
            with running_server(url, folder, args.threads, server_settings(app), log) as base_url:
                outcome = run_locust(base_url, folder, args)
        except RuntimeError as problem:
            print(f"error={problem}", file=sys.stderr)
            return 2
        after = tally(app)
        missing = missing_demands(app, outcome.counts.get("demand_ids", []))
        with app.app_context():
            db.engine.dispose()
        server_errors = server_log_errors(log)
    figures = summarise(args, url, build_seconds, before, after, outcome, missing, server_errors)
    report(figures, outcome.counts)
    return 0 if figures["result"] == "ok" else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m servicedesk.bench.load",
                                     description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--demands", type=int, default=10_000, help="demands in the database (default 10000)")
    parser.add_argument("--database-url", help="a PostgreSQL database of its own (emptied first); "
                                               "default: SQLite in the folder")
    parser.add_argument("--seconds", type=int, default=60, help="how long the users work (default 60)")
    parser.add_argument("--users", type=int, default=20, help="simulated users at once (default 20)")
    parser.add_argument("--spawn-rate", type=float, help="users started per second (default: all "
                                                         "within 5 seconds)")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads (default 8, as dev.py "
                                                               "start)")
    parser.add_argument("--think", default="0.5,1.5", help="seconds a user waits between tasks, "
                                                           "min,max (default 0.5,1.5)")
    parser.add_argument("--mix", default="3,5,2", help="weights of officers, handlers and leaders among "
                                                       "the users (default 3,5,2)")
    parser.add_argument("--folder", help="keep the database, the server's log and locust's CSV here "
                                         "(default: a temporary folder, removed)")
    parser.add_argument("--reuse", action="store_true", help="use the database as it is (built by an "
                                                             "earlier run with the same --folder or "
                                                             "--database-url)")
    return parser


def _app(url: str, folder: Path) -> Flask:
    """The generator's app on the database, for building and counting in this process."""
    return data.bench_app(normalise_database_url(url), folder)


# The database

def build(app: Flask, demands: int) -> None:
    """The migrations on an emptied database, then the generator's data."""
    data.prepare(app, wipe=True)
    data.build(app, demands)


def make_plan(app: Flask, args: argparse.Namespace) -> dict[str, Any]:
    """Who the simulated users sign in as, and the demands waiting at each step they take."""
    low, high = (float(part) for part in args.think.split(","))
    officer, handler, leader = (int(part) for part in args.mix.split(","))
    world = data.load_world(app)
    with app.app_context():
        waiting = ~select(ExtensionRequest.id).where(ExtensionRequest.demand_id == Demand.id,
                                                     ExtensionRequest.status == "pending").exists()
        rng = random.Random(3)  # noqa: S311 (the order demands are taken in)

        def pool(state: State) -> dict[str, list[int]]:
            found: dict[str, list[int]] = {}
            for demand_id, department_id in db.session.execute(
                    select(Demand.id, Demand.lead_department_id).where(Demand.state == state.value, waiting)
                    .order_by(Demand.id.desc()).limit(POOL_LIMIT * 4)):
                found.setdefault(str(department_id), []).append(demand_id)
            return {key: rng.sample(ids, len(ids))[:POOL_LIMIT] for key, ids in found.items()}

        to_dispatch = list(db.session.scalars(select(Demand.id).where(Demand.state == State.REGISTERED.value)
                                              .order_by(Demand.id.desc()).limit(POOL_LIMIT)))
        plan = {
            "password": world.password,
            "officers": world.usernames[Role.OFFICER.value],
            "leaders": world.usernames[Role.LEADER.value],
            "handlers": {str(department): names for department, names in world.handler_usernames.items()},
            "departments": sorted(world.handler_usernames),
            "to_dispatch": rng.sample(to_dispatch, len(to_dispatch)),
            "to_sign": pool(State.ASSIGNED),
            "to_respond": pool(State.ACCEPTED),
            "think": [low, high],
            "weights": {"officer": officer, "handler": handler, "leader": leader},
        }
        db.session.rollback()
    return plan


def server_settings(app: Flask) -> dict[str, str]:
    """What the server is told through SERVICEDESK_* variables besides the database: the
    generator's clock and argon2 settings (its users' hashes are made with them, so that signing in
    verifies and never rehashes, as on a desk whose settings have not changed), no scheduler (no
    chase events in the count), a fixed secret key."""
    settings = {"SECRET_KEY": "load test", "SCHEDULER_ENABLED": "false", "FROZEN_NOW": data.FROZEN_NOW}
    for name in ("PASSWORD_ARGON2_TIME_COST", "PASSWORD_ARGON2_MEMORY_KIB", "PASSWORD_ARGON2_PARALLELISM"):
        settings[name] = str(app.config[name])
    return settings


def tally(app: Flask) -> Tally:
    with app.app_context():
        counted = Tally(db.session.scalar(select(func.count()).select_from(Demand)) or 0)
        for action, number in db.session.execute(
                select(DemandEvent.action, func.count()).group_by(DemandEvent.action)):
            counted.events[action] = number
        db.session.rollback()
    return counted


def missing_demands(app: Flask, demand_ids: list[int]) -> int:
    """How many of the demands the users saw logged are not in the database."""
    found = 0
    with app.app_context():
        for start in range(0, len(demand_ids), 500):
            chunk = demand_ids[start:start + 500]
            found += db.session.scalar(
                select(func.count()).select_from(Demand).where(Demand.id.in_(chunk))) or 0
        db.session.rollback()
    return len(set(demand_ids)) - found


# The server and the users

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_server(url: str, folder: Path, threads: int, settings: dict[str, str],
                   log: Path) -> Iterator[str]:
    """The desk under waitress on loopback, as `dev.py start` runs it; stopped on the way out."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("SERVICEDESK_")}
    env.update({f"SERVICEDESK_{name}": value for name, value in settings.items()})
    env.update(SERVICEDESK_DATABASE_URL=url, SERVICEDESK_INSTANCE_PATH=str(folder))
    command = [sys.executable, "-m", "waitress", "--listen", f"127.0.0.1:{port}", f"--threads={threads}",
               "--call", "servicedesk:create_app"]
    with log.open("wb") as output:
        server = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_until_answering(server, base_url, log)
            yield base_url
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_until_answering(server: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server stopped at start: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(base_url + "/auth/login", timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer within {START_TIMEOUT} s")


def run_locust(base_url: str, folder: Path, args: argparse.Namespace) -> Outcome:
    """Locust headless in its own process, as one would run it by hand."""
    counts_path = folder / "counts.json"
    counts_path.unlink(missing_ok=True)
    spawn_rate = args.spawn_rate or max(1.0, args.users / 5)
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
               "-u", str(args.users), "-r", f"{spawn_rate:g}", "--run-time", f"{args.seconds}s",
               "--stop-timeout", str(STOP_TIMEOUT), "--host", base_url, "--only-summary",
               "--loglevel", "WARNING"]
    env = {**os.environ, "SERVICEDESK_LOAD_PLAN": str(folder / "plan.json"),
           "SERVICEDESK_LOAD_COUNTS": str(counts_path)}
    try:
        with (folder / "locust.log").open("wb") as output:
            finished = subprocess.run(command, env=env, stdout=output,  # noqa: S603
                                      stderr=subprocess.STDOUT, timeout=args.seconds + STOP_TIMEOUT + 120,
                                      check=False)
    except subprocess.TimeoutExpired as timeout:
        raise RuntimeError("locust did not stop in time (killed)") from timeout
    if not counts_path.exists():
        tail = (folder / "locust.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"locust ended ({finished.returncode}) without its counts: {tail}")
    return Outcome(json.loads(counts_path.read_text(encoding="utf-8")))


def server_log_errors(log: Path) -> dict[str, int]:
    text = log.read_text(errors="replace") if log.exists() else ""
    return {mark: text.count(mark) for mark in SERVER_ERROR_MARKS}


# The report

def summarise(args: argparse.Namespace, url: str, build_seconds: float, before: Tally, after: Tally,
              outcome: Outcome, missing: int, server_errors: dict[str, int]) -> dict[str, Any]:
    counts = outcome.counts
    total = counts.get("total") or {}
    requests, failures = int(total.get("requests", 0)), int(total.get("failures", 0))
    confirmed = Counter({key: int(value) for key, value in counts.get("events", {}).items()})
    gained = Counter({action: after.events[action] - before.events[action]
                      for action in set(after.events) | set(before.events)})
    demands_created = len(counts.get("demand_ids", []))
    demands_gained = after.demands - before.demands
    # A write the users saw done that the database lacks, or one it holds that no user saw done.
    lost = missing + max(0, demands_created - demands_gained) + sum(
        max(0, confirmed[a] - gained[a]) for a in confirmed)
    unseen = max(0, demands_gained - demands_created) + sum(
        max(0, gained[a] - confirmed[a]) for a in gained)
    locked = sum(int(row["occurrences"]) for row in counts.get("failures", ())
                 if "locked" in row["error"]) + server_errors["database is locked"]
    # Each unhandled error is logged once with its traceback (two when chained): count the errors,
    # or the tracebacks when something failed outside the desk's error handler.
    logged_errors = server_errors["unhandled error"] or server_errors["Traceback"]
    exceptions = sum(int(row["count"]) for row in counts.get("exceptions", ()))
    writes = demands_created + sum(confirmed.values())
    ok = (requests > 0 and failures == 0 and lost == 0 and unseen == 0 and locked == 0
          and logged_errors == 0 and exceptions == 0 and writes > 0)
    return {
        "database": url.split(":", 1)[0].split("+", 1)[0],
        "demands": before.demands,
        "build_seconds": f"{build_seconds:.1f}",
        "users": args.users,
        "mix_officers_handlers_leaders": args.mix,
        "think_seconds": args.think,
        "seconds": args.seconds,
        "server": "waitress",
        "threads": args.threads,
        "requests": requests,
        "requests_per_second": f"{float(total.get('rps', 0)):.1f}",
        "p50_ms": total.get("p50", "-"),
        "p95_ms": total.get("p95", "-"),
        "p99_ms": total.get("p99", "-"),
        "failures": failures,
        "database_locked": locked,
        "server_errors_logged": logged_errors,
        "simulation_exceptions": exceptions,
        "refused_races": sum(int(v) for v in counts.get("refused", {}).values()),
        "idle_no_demand_waiting": sum(int(v) for v in counts.get("idle", {}).values()),
        "demands_created": demands_created,
        "demands_gained_in_database": demands_gained,
        "events_created": sum(confirmed.values()),
        "events_gained_in_database": sum(gained.values()),
        # per action: the events the users saw created / the events the database gained
        **{f"events_{action}": f"{confirmed[action]}/{gained[action]}"
           for action in sorted(set(confirmed) | {a for a in gained if gained[a]})},
        "lost_writes": lost,
        "unseen_writes": unseen,
        "result": "ok" if ok else "FAILED",
    }


def report(figures: dict[str, Any], counts: dict[str, Any]) -> None:
    for name, value in figures.items():
        if name != "result":
            print(f"{name}={value}")
    for row in counts.get("stats", ()):
        # One line per page, its name without spaces so that the line stays name=value pairs.
        print(f"page={row['method']}:{row['name'].replace(' ', '_')} requests={row['requests']} "
              f"failures={row['failures']} rps={float(row['rps']):.2f} p50_ms={row['p50']} "
              f"p95_ms={row['p95']} p99_ms={row['p99']} max_ms={float(row['max']):.0f}")
    for row in counts.get("failures", ()):
        print(f"failure={row['method']}:{row['name'].replace(' ', '_')} occurrences={row['occurrences']} "
              f"error={row['error'].replace(' ', '_')[:200]}")
    for reason in counts.get("reasons", ()):
        print(f"refused={reason.replace(' ', '_')[:200]}")
    for row in counts.get("exceptions", ()):
        print(f"exception={row['msg'].replace(' ', '_')[:200]} count={row['count']}", file=sys.stderr)
        print(row["traceback"], file=sys.stderr)
    print(f"result={figures['result']}")


if __name__ == "__main__":
    with suppress(KeyboardInterrupt):
        sys.exit(main())
