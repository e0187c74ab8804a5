"""The ledger export's benchmark keeps working: run small, its figures parse and its workbook holds
one row per demand (no timing is asserted: the figures are for reading)."""

from __future__ import annotations

from openpyxl import load_workbook

from servicedesk.bench import ledger_export

FIGURES = ("rows", "seconds", "rows_per_second", "cpu_seconds", "peak_memory_mb", "file_mb", "queries",
           "quarter_rows", "quarter_peak_memory_mb", "quarter_queries")


def test_the_benchmark_runs_small(tmp_path, capsys) -> None:
    output = tmp_path / "ledger.xlsx"
    assert ledger_export.main(["--rows", "300", "--output", str(output)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "=" in line]
    figures = dict(line.split("=", 1) for line in lines)
    assert tuple(figures) == FIGURES
    assert figures["rows"] == "300" and figures["quarter_rows"] == "75"
    assert figures["queries"] == figures["quarter_queries"]  # as many statements at a quarter of the rows
    for name in FIGURES:
        assert float(figures[name]) >= 0, name
    assert float(figures["peak_memory_mb"]) > 0 and output.stat().st_size > 0
    sheet = load_workbook(output, read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 301 and rows[0][0] == "编号"
    assert len({row[0] for row in rows[1:]}) == 300
