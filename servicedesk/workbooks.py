"""Writing the Excel workbooks (.xlsx) the desk hands out: the lists' exports, the league table.

A workbook is written in openpyxl's write-only mode, row by row from a lazy iterable, to a
temporary file, and the response streams that file in chunks: the memory used stays flat however
many rows there are. The temporary file is anonymous (gone once closed) and closed when the
response is: after the last chunk, or when the client goes away.

Cells hold real values: dates and datetimes are Excel dates (datetimes in Beijing time, since Excel
knows no time zones), numbers are numbers, and text is always text, never a formula, whatever it
begins with (a company name typed as "=HYPERLINK(...)" stays the characters typed).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any
from urllib.parse import quote

from flask import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from servicedesk.domain.workdays import ZONE

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: bytes read from the temporary file per chunk of the response
CHUNK_SIZE = 64 * 1024
#: Excel refuses sheet titles longer than this, and these characters in them
SHEET_TITLE_LENGTH = 31
_SHEET_TITLE_FORBIDDEN = str.maketrans({character: " " for character in "[]:*?/\\"})

#: what the plain filename= of Content-Disposition cannot hold (non-ASCII, quotes, separators)
_NOT_IN_FALLBACK = re.compile(r'[^A-Za-z0-9 ._()\[\]-]+')

NUMBER_FORMATS = {
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
    "integer": "0",
    "percent": "0.0%",
    "decimal": "0.00",
}
KINDS = frozenset({"text", *NUMBER_FORMATS})


@dataclass(frozen=True)
class Column:
    header: str  # already translated (Chinese headers in Chinese mode)
    width: int  # Excel column width in characters
    kind: str = "text"  # "text" | "date" | "datetime" | "integer" | "percent" | "decimal"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")


def xlsx_response(file_name: str, sheet_title: str, columns: Sequence[Column],
                  rows: Iterable[Sequence[Any]]) -> Response:
    """The workbook of `rows` under a header row of `columns`, as a download named `file_name`.

    The rows are written before this returns (so the database is read inside the request, and an
    error is an ordinary error page); only the finished file is streamed.
    """
    output = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 (closed with the response)
    try:
        write_workbook(output, sheet_title, columns, rows)
        size = output.tell()
        output.seek(0)
    except BaseException:
        output.close()
        raise
    response = Response(_chunks(output), mimetype=XLSX_MIMETYPE)
    response.call_on_close(output.close)  # a client gone before the first chunk
    response.headers["Content-Length"] = str(size)
    response.headers["Content-Disposition"] = content_disposition(file_name)
    response.headers["Cache-Control"] = "no-store"
    return response


def write_workbook(output: IO[bytes], sheet_title: str, columns: Sequence[Column],
                   rows: Iterable[Sequence[Any]]) -> None:
    """Write the workbook to a binary file open for writing."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(safe_sheet_title(sheet_title))
    sheet.freeze_panes = "A2"
    for number, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(number)].width = column.width
    sheet.append(_header_cells(sheet, columns))
    writers = [_cell_writer(sheet, column.kind) for column in columns]
    for row in rows:
        sheet.append([write(value) for write, value in zip(writers, row, strict=True)])
    workbook.save(output)


def content_disposition(file_name: str) -> str:
    """attachment; with an ASCII name for old clients and the real one (RFC 5987) for the rest."""
    fallback = _NOT_IN_FALLBACK.sub("_", file_name).lstrip("_-. ") or "export.xlsx"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


def safe_sheet_title(title: str) -> str:
    return title.translate(_SHEET_TITLE_FORBIDDEN).strip()[:SHEET_TITLE_LENGTH] or "Sheet1"


def excel_datetime(value: datetime) -> datetime:
    """Excel has no time zones: an aware moment is written as Beijing wall-clock time."""
    if value.tzinfo is None:
        return value
    return value.astimezone(ZONE).replace(tzinfo=None)


def _chunks(output: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := output.read(CHUNK_SIZE):
            yield chunk
    finally:
        output.close()


def _header_cells(sheet: WriteOnlyWorksheet, columns: Sequence[Column]) -> list[WriteOnlyCell]:
    cells = []
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    for column in columns:
        cell = _text_cell(sheet, column.header)
        cell.font = bold
        cell.alignment = wrap
        cells.append(cell)
    return cells


def _text_cell(sheet: WriteOnlyWorksheet, value: str) -> WriteOnlyCell:
    """A cell holding `value` as text whatever it begins with."""
    cell = WriteOnlyCell(sheet, ILLEGAL_CHARACTERS_RE.sub("", value))
    cell.data_type = "s"  # set after the value: openpyxl takes "=..." for a formula
    return cell


def _text(sheet: WriteOnlyWorksheet, value: str) -> str | WriteOnlyCell:
    """Plain text as it is (the common case, and the cheapest); a text cell where openpyxl would
    write a formula or refuse a control character pasted in."""
    if value.startswith("=") or ILLEGAL_CHARACTERS_RE.search(value):
        return _text_cell(sheet, value)
    return value


def _cell_writer(sheet: WriteOnlyWorksheet, kind: str) -> Callable[[Any], Any]:
    """What goes into a row for a value of a column of this kind."""
    number_format = NUMBER_FORMATS.get(kind)

    def write(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, datetime):
            value = excel_datetime(value)
            if kind == "date":
                value = value.date()
        elif isinstance(value, Decimal):
            value = float(value)
        elif not isinstance(value, date | int | float):
            return _text(sheet, str(value))  # str, enum labels, lazy translations
        if number_format is None:
            return value
        cell = WriteOnlyCell(sheet, value)
        cell.number_format = number_format
        return cell

    return write
