"""The workbooks the desk writes, read back by openpyxl: a valid package, the header frozen, the
widths, and every kind of value as the cell it should be (dates in Beijing time, text never a
formula, whatever XML cannot hold dropped)."""

from __future__ import annotations

import enum
import io
import re
import zipfile
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from defusedxml import ElementTree
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from servicedesk.workbooks import TEMPLATES_KEPT, Column, write_workbook

COLUMNS = [Column("Text", 30), Column("Day", 11, "date"), Column("Moment", 16, "datetime"),
           Column("Count", 7, "integer"), Column("Rate", 8, "percent"), Column("Average", 9, "decimal")]


class Colour(enum.Enum):
    RED = "red"

    def __str__(self) -> str:
        return "红色"


def workbook(columns: list[Column], rows: list[list[object]], title: str = "Sheet") -> bytes:
    output = io.BytesIO()
    write_workbook(output, title, columns, iter(rows))
    return output.getvalue()


def sheet_of(data: bytes) -> Worksheet:
    return load_workbook(io.BytesIO(data)).active


def values(data: bytes) -> list[tuple[object, ...]]:
    return list(sheet_of(data).iter_rows(values_only=True))


def test_the_package_parts_are_well_formed_xml() -> None:
    data = workbook(COLUMNS, [["x", None, None, 1, 0.5, 2.25]], title='A&B <季度> "台账"')
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert set(archive.namelist()) == {"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml",
                                           "xl/_rels/workbook.xml.rels", "xl/styles.xml",
                                           "xl/worksheets/sheet1.xml"}
        for name in archive.namelist():
            ElementTree.fromstring(archive.read(name))  # raises if not well-formed
    assert sheet_of(data).title == 'A&B <季度> "台账"'


def test_the_header_is_bold_frozen_and_the_widths_are_kept() -> None:
    sheet = sheet_of(workbook(COLUMNS, [["x", None, None, None, None, None]]))
    assert [cell.value for cell in sheet[1]] == [column.header for column in COLUMNS]
    assert all(cell.font.b and cell.alignment.wrap_text for cell in sheet[1])
    assert not sheet["A2"].font.b
    assert sheet.freeze_panes == "A2"
    assert [sheet.column_dimensions[letter].width for letter in "ABCDEF"] == [30, 11, 16, 7, 8, 9]


def test_numbers_and_dates_are_real_with_their_kind_s_format() -> None:
    moment = datetime(2026, 6, 15, 1, 30, 15, tzinfo=UTC)  # 09:30:15 in Beijing
    data = workbook(COLUMNS, [["x", date(2026, 6, 15), moment, 3, 0.25, Decimal("2.50")],
                              ["y", moment, date(2026, 6, 16), True, 1, 7]])
    sheet = sheet_of(data)
    assert [cell.value for cell in sheet[2]] == ["x", datetime(2026, 6, 15), datetime(2026, 6, 15, 9, 30, 15),
                                                3, 0.25, 2.5]
    assert [cell.number_format for cell in sheet[2]][1:] == ["yyyy-mm-dd", "yyyy-mm-dd hh:mm", "0", "0.0%",
                                                            "0.00"]
    assert all(sheet.cell(2, column).is_date for column in (2, 3))
    # a moment in a date column is its Beijing day; a day in a datetime column its midnight
    assert sheet["B3"].value == datetime(2026, 6, 15) and sheet["C3"].value == datetime(2026, 6, 16)
    assert sheet["D3"].value is True and sheet["E3"].value == 1 and sheet["F3"].value == 7


def test_a_moment_is_written_in_beijing_time_whatever_its_zone() -> None:
    columns = [Column("Moment", 16, "datetime"), Column("Day", 11, "date")]
    late_evening_utc = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)  # already 1 January in Beijing
    new_york = datetime(2026, 12, 31, 15, 0, tzinfo=timezone(timedelta(hours=-5)))
    naive = datetime(2026, 12, 31, 20, 0)  # taken as Beijing wall-clock time already
    rows = [[late_evening_utc, late_evening_utc], [new_york, new_york], [naive, naive]]
    assert values(workbook(columns, rows))[1:] == [
        (datetime(2027, 1, 1, 4, 0), datetime(2027, 1, 1)),
        (datetime(2027, 1, 1, 4, 0), datetime(2027, 1, 1)),
        (datetime(2026, 12, 31, 20, 0), datetime(2026, 12, 31)),
    ]


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://example.com\",\"点此\")", "+1+2", "-3", "@SUM(A1)",
                                  "=1+1"])
def test_text_that_looks_like_a_formula_stays_text(text: str) -> None:
    data = workbook([Column("Text", 10), Column("Number", 10, "integer")], [[text, 1]])
    sheet = sheet_of(data)
    assert sheet["A2"].value == text and sheet["A2"].data_type == "s"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()


def test_markup_in_text_is_escaped_and_white_space_kept() -> None:
    texts = ["a < b & c > d", "</t></is></c><c><v>1</v></c>", "]]>", "<![CDATA[x]]>", "  两边有空格 ",
             "line one\nline two", "tab\there", "{0} %s %d {}"]
    rows = [[text, index] for index, text in enumerate(texts)]
    assert values(workbook([Column("Text", 10), Column("N", 4, "integer")], rows))[1:] == [
        (text, index) for index, text in enumerate(texts)]


def sheet_xml(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("xl/worksheets/sheet1.xml").decode()


@pytest.mark.parametrize("text", [" before", "after ", "\tboth\n", "\u3000全角空格", "空格 "])
def test_white_space_around_text_is_kept_by_saying_so(text: str) -> None:
    """A spreadsheet program trims the text of a cell unless it says to keep its white space: the
    cells of text with white space around it say so, wherever it is in the row (the others need
    not, white space inside the text is kept anyway)."""
    data = workbook([Column("A", 10), Column("B", 10), Column("N", 4, "integer")],
                    [["plain", "line one\nline two", 1], ["plain", text, 2], [text, "plain", 3]])
    xml = sheet_xml(data)
    assert xml.count(f'<t xml:space="preserve">{text}</t>') == 2
    plain = '<c t="inlineStr"><is><t>%s</t></is></c>'
    assert '<row r="2">' + plain % "plain" + plain % "line one\nline two" in xml
    assert values(data)[1:] == [("plain", "line one\nline two", 1), ("plain", text, 2), (text, "plain", 3)]


def test_a_number_in_a_datetime_column_is_a_moment_s_serial() -> None:
    """What a moment is written as (to a hundredth of a millisecond), given as that serial already
    (the ledger's moments come so from the database); not finite, an empty cell."""
    columns = [Column("Moment", 16, "datetime"), Column("Day", 11, "date")]
    moment = datetime(2026, 6, 15, 9, 30, 15, 123000)
    serial = (moment - datetime(1899, 12, 30)) / timedelta(days=1)
    data = workbook(columns, [[moment, moment.date()], [serial, 46188], [float("nan"), None],
                              [Decimal(serial), None]])
    cells = re.findall(r"<v>([^<]*)</v>", sheet_xml(data))
    assert cells == [f"{serial:.10f}", "46188", f"{serial:.10f}", "46188", f"{serial:.10f}"]
    sheet = sheet_of(data)
    assert sheet["A3"].value == sheet["A2"].value and sheet["B3"].value == datetime(2026, 6, 15)
    assert sheet["A3"].is_date and sheet["A4"].value is None and sheet["A5"].value == sheet["A2"].value


def test_what_xml_cannot_hold_is_dropped() -> None:
    rows = [["a\x01b\x1fc\x0bd"], ["e\ufffef\uffffg"], ["h\ud800i"]]
    assert values(workbook([Column("Text", 10)], rows))[1:] == [("abcd",), ("efg",), ("hi",)]


def test_empty_values_are_empty_cells() -> None:
    columns = [Column("Text", 10), Column("Rate", 8, "percent"), Column("Day", 11, "date")]
    rows = [["", float("nan"), None], [None, float("inf"), None], ["x", Decimal("NaN"), None]]
    assert values(workbook(columns, rows))[1:] == [(None, None, None), (None, None, None), ("x", None, None)]


def test_other_values_are_their_text() -> None:
    from flask_babel import lazy_gettext

    rows = [[Colour.RED, lazy_gettext("Number")], [42, "42"]]
    sheet = values(workbook([Column("A", 10), Column("B", 10)], rows))
    assert sheet[1] == ("红色", "Number")
    assert sheet[2] == (42, "42")  # a number in a text column is still a number


def test_rows_of_many_shapes_are_each_right() -> None:
    """More combinations of empty cells than the writer keeps row templates for, an empty row and
    rows of a single value among them."""
    width = 12
    columns = [Column(f"c{number}", 6, "integer" if number % 2 else "text") for number in range(width)]
    everything_empty = 2**width - 1
    shapes = [*range(TEMPLATES_KEPT + 300), everything_empty,
              *(everything_empty - 2**number for number in range(width))]
    rows = [[None if shape >> number & 1 else (number if number % 2 else f"t{number}")
             for number in range(width)]
            for shape in shapes]
    assert values(workbook(columns, rows))[1:] == [tuple(row) for row in rows]


def test_a_row_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError):
        workbook([Column("A", 10), Column("B", 10)], [["a", "b", "c"]])
