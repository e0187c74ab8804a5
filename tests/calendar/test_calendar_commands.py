"""flask calendar prefill / import / show."""

from __future__ import annotations

from datetime import date

from servicedesk.calendar import store
from servicedesk.extensions import db
from tests.calendar.helpers import (
    ARRANGEMENT_2027,
    STORED_2027,
    arrangement_rows,
    calendar_snapshot,
    csv_bytes,
    events,
    stored_days,
    xlsx_bytes,
    year_row,
)


def test_prefill_loads_a_year(runner) -> None:
    result = runner.invoke(args=["calendar", "prefill", "2026"])
    assert result.exit_code == 0, result.output
    assert "2026 loaded from chinese-calendar" in result.output
    assert "25 added, 0 removed, 0 changed" in result.output
    days = stored_days(2026)
    assert len(days) == 25
    assert days[date(2026, 10, 1)] == ("holiday", "国庆节")
    record = year_row(2026)
    assert record.loaded and record.source == "package" and record.loaded_by_id is None
    [event] = events("calendar.loaded")
    assert event.actor_id is None and event.subject_id == 2026

    again = runner.invoke(args=["calendar", "prefill", "2026"])
    assert again.exit_code == 0
    assert "0 added, 0 removed, 0 changed" in again.output


def test_prefill_of_a_year_the_package_does_not_know_fails(runner) -> None:
    before = calendar_snapshot()
    for year in ("2999", "2027"):
        result = runner.invoke(args=["calendar", "prefill", year])
        assert result.exit_code == 1
        assert f"has no holiday arrangement for {year}" in result.output
        assert "calendar import FILE" in result.output
    assert calendar_snapshot() == before


def test_import_loads_a_csv_file(runner, tmp_path, calendar_2026) -> None:
    file = tmp_path / "2027.csv"
    file.write_bytes(csv_bytes(arrangement_rows(chinese=True), "gbk"))
    result = runner.invoke(args=["calendar", "import", str(file), "--yes"])
    assert result.exit_code == 0, result.output
    assert "2027: 15 holidays, 4 make-up working days (not loaded)" in result.output
    assert "  + 2027-10-09 Sat workday  国庆节" in result.output
    # the notes, in the default language (Chinese) of a shell command: the row is what is certain
    assert "row 3 (2027-01-02 · 休 · 元旦): " in result.output
    assert "row 4 (2027-01-03 · 休 · 元旦): " in result.output
    assert "loaded 2027 from 2027.csv" in result.output
    assert stored_days(2027) == STORED_2027
    record = year_row(2027)
    assert record.source == "import" and record.source_detail == "2027.csv"
    assert events("calendar.loaded")[-1].details["source_detail"] == "2027.csv"


def test_import_replaces_a_loaded_year(runner, tmp_path) -> None:
    first = tmp_path / "first.xlsx"
    first.write_bytes(xlsx_bytes(arrangement_rows()))
    assert runner.invoke(args=["calendar", "import", str(first), "--yes"]).exit_code == 0
    second = tmp_path / "second.csv"
    without_qingming = [row for row in ARRANGEMENT_2027 if row[0] != "2027-04-05"]
    second.write_bytes(csv_bytes(arrangement_rows(without_qingming)))
    result = runner.invoke(args=["calendar", "import", str(second), "--yes"])
    assert result.exit_code == 0, result.output
    assert "(loaded, will be replaced)" in result.output
    assert "  - 2027-04-05 Mon holiday  清明节" in result.output
    assert date(2027, 4, 5) not in stored_days(2027)


def test_import_asks_before_loading(runner, tmp_path) -> None:
    file = tmp_path / "2027.csv"
    file.write_bytes(csv_bytes(arrangement_rows()))
    before = calendar_snapshot()
    result = runner.invoke(args=["calendar", "import", str(file)], input="n\n")
    assert result.exit_code == 1
    assert "Load 2027 from 2027.csv?" in result.output
    assert "nothing imported" in result.output
    assert calendar_snapshot() == before

    result = runner.invoke(args=["calendar", "import", str(file)], input="y\n")
    assert result.exit_code == 0, result.output
    assert stored_days(2027) == STORED_2027


def test_import_of_a_file_with_a_refused_row_changes_nothing(runner, tmp_path, calendar_2026) -> None:
    file = tmp_path / "2027.csv"
    file.write_bytes(csv_bytes(arrangement_rows([*ARRANGEMENT_2027, ("2027-02-30", "holiday", "春节"),
                                                 ("2027-03-01", "maybe", "春节")])))
    before = calendar_snapshot()
    result = runner.invoke(args=["calendar", "import", str(file), "--yes"])
    assert result.exit_code != 0
    refusals = result.stderr.splitlines()
    assert refusals[0].startswith("row 23 refused (2027-02-30 · holiday · 春节): “2027-02-30”")
    assert refusals[1].startswith("row 24 refused (2027-03-01 · maybe · 春节): “maybe”")
    assert "2 rows refused; nothing imported" in result.output
    assert calendar_snapshot() == before
    assert year_row(2027) is None


def test_import_of_an_unreadable_file_fails_clearly(runner, tmp_path) -> None:
    file = tmp_path / "2027.xls"
    file.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))
    before = calendar_snapshot()
    result = runner.invoke(args=["calendar", "import", str(file), "--yes"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert "Traceback" not in result.output
    assert "97-2003" in result.output  # the message says what the file is, in either language
    missing = runner.invoke(args=["calendar", "import", str(tmp_path / "missing.csv"), "--yes"])
    assert missing.exit_code == 2
    empty = tmp_path / "empty.csv"
    empty.write_bytes(csv_bytes([["date", "kind", "name"]]))
    result = runner.invoke(args=["calendar", "import", str(empty), "--yes"])
    assert result.exit_code == 1
    assert "the file has no days to import" in result.output
    assert calendar_snapshot() == before


def test_show_prints_the_year(runner, admin_user) -> None:
    result = runner.invoke(args=["calendar", "show", "2026"])
    assert result.exit_code == 0
    assert "2026: not loaded; deadlines reaching into it are provisional" in result.output

    runner.invoke(args=["calendar", "prefill", "2026"])
    result = runner.invoke(args=["calendar", "show", "2026"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("2026: loaded ")
    assert "by the system (package, chinese-calendar " in lines[0]
    assert len(lines) == 26
    assert "  2026-10-01 Thu holiday  国庆节" in lines
    assert "  2026-02-14 Sat workday  春节" in lines

    store.mark_days(date(2027, 2, 8), date(2027, 2, 8), store.DayKind.HOLIDAY, "春节")
    db.session.commit()
    result = runner.invoke(args=["calendar", "show", "2027"])
    assert "2027: not loaded" in result.output
    assert "  2027-02-08 Mon holiday  春节" in result.output
