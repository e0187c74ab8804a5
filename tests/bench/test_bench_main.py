"""`python -m servicedesk.bench` keeps working: run small on a throwaway SQLite file, every figure is
printed once as name=value pairs. No timing is asserted: the figures are for reading."""

from __future__ import annotations

from servicedesk.bench.__main__ import main

PAGES = ("demand_list", "demand_list_filtered", "demand_search_short", "demand_search_long", "demand_page",
         "queue_handler", "queue_officer", "queue_leader", "dashboard_month", "dashboard_year",
         "drilldown_overdue", "drilldown_on_time_rate", "visits", "messages")
EXPECTED = ("bench=machine", "bench=build", *(f"page={name}" for name in PAGES), "export=ledger_open",
            "export=ledger_year", "chase=tick", "chase=tick_again")


def test_the_benchmark_prints_every_figure(capsys) -> None:
    assert main(["--demands", "200", "--repeat", "2"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line]
    figures = {}
    for line in lines:
        pairs = dict(pair.split("=", 1) for pair in line.split(" "))  # every word is a name=value
        assert all(name and value for name, value in pairs.items()), line
        figures[line.split(" ", 1)[0]] = pairs
    assert tuple(figures) == EXPECTED
    assert figures["bench=build"]["demands"] == "200"
    assert int(figures["bench=build"]["events"]) > 200 * 5
    for name in PAGES:
        page = figures[f"page={name}"]
        assert float(page["median_ms"]) > 0 and float(page["p95_ms"]) >= float(page["median_ms"])
        assert int(page["queries"]) > 0 and page["demands"] == "200"
    for name in ("ledger_open", "ledger_year"):
        export = figures[f"export={name}"]
        assert int(export["rows"]) > 0 and float(export["peak_memory_mb"]) > 0
    assert int(figures["export=ledger_year"]["rows"]) == 200
    assert int(figures["chase=tick"]["queries"]) > 0
    assert figures["chase=tick_again"]["recorded"] == "0"
