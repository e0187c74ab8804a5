"""The ledger export (台账) at size: how fast, and whether its memory stays flat.

    python -m servicedesk.bench.ledger_export --rows 20000 [--output ledger.xlsx]

Builds a throwaway SQLite database in a temporary folder (the migrations, then the benchmarks' data
set of servicedesk.bench.data with `--rows` demands, inserted in bulk), then
exports the ledger through the Flask test client as a leader, reading the streamed body chunk by
chunk as a browser would. It exports a quarter of the rows first, then all of them:

- seconds, rows_per_second: one export of all the rows, not traced (tracemalloc slows Python down),
  and cpu_seconds the processor time it took (the same on a busy machine);
- peak_memory_mb: the peak of Python's allocations during another export of all the rows
  (tracemalloc), and quarter_peak_memory_mb the same for a quarter of them: the two are close when
  memory is flat, as the export is meant to be;
- file_mb: the size of the workbook;
- queries, quarter_queries: the SQL statements one export ran (counted on the engine): the same for
  a quarter of the rows and for all of them.

The clock is pinned to FROZEN_NOW so that every run exports the same workbook.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from flask import Flask
from sqlalchemy import event

from servicedesk.bench import data
from servicedesk.extensions import db

FROZEN_NOW = data.FROZEN_NOW
PASSWORD = data.PASSWORD
URL = "/demands/export/ledger.xlsx"
#: statements that are no query of the page's own
NOT_QUERIES = ("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "SAVEPOINT", "RELEASE")


@dataclass(frozen=True)
class Measure:
    rows: int
    seconds: float
    cpu_seconds: float
    file_bytes: int
    #: bytes; None when not traced
    peak: int | None
    #: SQL statements run during the export
    queries: int


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m servicedesk.bench.ledger_export",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000, help="demands in the ledger (default 20000)")
    parser.add_argument("--output", type=Path, help="keep the full workbook at this path")
    args = parser.parse_args(argv)
    if args.rows < 4:
        parser.error("--rows must be at least 4")
    with tempfile.TemporaryDirectory(prefix="servicedesk-bench-") as folder:
        app = data.bench_app("sqlite:///" + str(Path(folder) / "bench.sqlite3"), folder)
        data.prepare(app)
        world = data.seed_world(app)
        quarter = args.rows // 4
        data.add_demands(app, world, quarter)
        client = signed_in_client(app, world.usernames["leader"][0])
        export(client, quarter)  # warm up: imports, compiled statements, caches
        small = export(client, quarter, traced=True)
        data.add_demands(app, world, args.rows - quarter)
        timed = export(client, args.rows)
        traced = export(client, args.rows, traced=True, output=args.output)
        with app.app_context():
            db.engine.dispose()
    report({
        "rows": timed.rows,
        "seconds": f"{timed.seconds:.2f}",
        "rows_per_second": f"{timed.rows / timed.seconds:.0f}",
        "cpu_seconds": f"{timed.cpu_seconds:.2f}",
        "peak_memory_mb": megabytes(traced.peak or 0),
        "file_mb": megabytes(timed.file_bytes),
        "queries": timed.queries,
        "quarter_rows": small.rows,
        "quarter_peak_memory_mb": megabytes(small.peak or 0),
        "quarter_queries": small.queries,
    })
    return 0


def report(figures: dict[str, Any]) -> None:
    for name, value in figures.items():
        print(f"{name}={value}")


def megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f}"


# Measuring

def signed_in_client(app: Flask, username: str) -> Any:
    client = app.test_client()
    response = client.post("/auth/login", data={"username": username, "password": PASSWORD})
    if response.status_code != 302:
        raise RuntimeError(f"the benchmark's user {username} could not sign in")
    return client


def export(client: Any, rows: int, traced: bool = False, output: Path | None = None,
           url: str = URL) -> Measure:
    """One export of the ledger (or another workbook at `url`) of `rows` demands, its body read
    chunk by chunk (and written to `output`)."""
    counter = QueryCounter()
    if traced:
        tracemalloc.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        with client.application.app_context(), counter.counting():
            response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"the export answered {response.status_code}")
        size = consume(response, output)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        peak = tracemalloc.get_traced_memory()[1] if traced else None
    finally:
        if traced:
            tracemalloc.stop()
    return Measure(rows, seconds, cpu_seconds, size, peak, counter.count)


class QueryCounter:
    """Counts the SQL statements the engine runs while `counting` (inside an app context)."""

    def __init__(self) -> None:
        self.count = 0

    def before(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(NOT_QUERIES):
            self.count += 1

    @contextmanager
    def counting(self) -> Iterator[QueryCounter]:
        self.count = 0
        event.listen(db.engine, "before_cursor_execute", self.before)
        try:
            yield self
        finally:
            event.remove(db.engine, "before_cursor_execute", self.before)


def consume(response: Any, output: Path | None) -> int:
    """Read the body as a browser would, chunk by chunk; its size."""
    size = 0
    sink: IO[bytes] | None = output.open("wb") if output else None
    try:
        for chunk in response.response:
            size += len(chunk)
            if sink is not None:
                sink.write(chunk)
    finally:
        response.close()
        if sink is not None:
            sink.close()
    return size


if __name__ == "__main__":
    sys.exit(main())
