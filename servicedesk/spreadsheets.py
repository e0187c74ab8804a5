"""Reading the tables users upload: an Excel workbook (.xlsx) or a CSV file, as they come.

The header row is found among the first rows (a merged title row may sit above it), columns are
recognised by any of their usual names, other columns are ignored, and every cell comes back as
text. Each importer declares its columns in a `Layout` and then checks the rows itself.

An importer that lets the user map the columns on screen reads the header row first
(`read_header_row`), then the rows with a `Layout` made of the columns the user chose
(`Layout.of_columns`).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from flask_babel import gettext as _

#: the header row is looked for in this many rows at the top of each sheet
HEADER_SEARCH_ROWS = 10
#: a sheet with data past this row is refused as a whole: split it
MAX_ROWS = 20_000
#: columns read from each row; the ledger has a dozen
MAX_COLUMNS = 80
#: past MAX_ROWS, this many empty rows in a row end the sheet (formatted but empty rows)
TRAILING_EMPTY_ROWS = 1_000

_BRACKETED = re.compile(r"\(.*?\)|\[.*?\]")
_IGNORED_IN_HEADERS = re.compile(r"[\s_*:\-]")


class ImportFileError(ValueError):
    """The file as a whole cannot be read: not a workbook or CSV, no header row, too long."""


@dataclass(frozen=True)
class Layout:
    """The columns an importer reads: field -> the header names it goes by; the header row must
    name every required field."""

    synonyms: Mapping[str, tuple[str, ...]]
    required: tuple[str, ...]
    #: the message when no header row is found (called when needed: it is translated)
    no_header_message: Callable[[], str]

    def field_by_header(self) -> dict[str, str]:
        return {header_key(name): field for field, names in self.synonyms.items() for name in names}

    @classmethod
    def of_columns(cls, columns: Mapping[str, str], no_header_message: Callable[[], str]) -> Layout:
        """The layout of a sheet whose columns the user mapped: field -> the header of its column,
        each one required."""
        return cls({name: (header,) for name, header in columns.items()}, tuple(columns),
                   no_header_message)


@dataclass
class SheetRow:
    """One row with something in the columns read, as text keyed by field ('' for an empty cell)."""

    number: int
    values: dict[str, str]


@dataclass(frozen=True)
class HeaderRow:
    """The header row of a sheet as written, for a screen where the user maps its columns."""

    title: str
    number: int
    #: the cells as text, up to the last one filled ('' for an empty cell between)
    headers: tuple[str, ...]


@dataclass
class Sheet:
    title: str
    header_row: int
    #: field -> the header as written in the sheet
    columns: dict[str, str]
    #: headers of the columns that are not read
    ignored: list[str]
    rows: list[SheetRow]
    #: rows between the data with nothing in the columns read (empty, or only a 序号 say)
    skipped_rows: int = 0


def header_key(value: Any) -> str:
    """统一社会信用代码（必填）, 'Credit_Code *' and 'credit code' all give the same key."""
    text = unicodedata.normalize("NFKC", str(value)).lower()
    text = _BRACKETED.sub("", text)
    return _IGNORED_IN_HEADERS.sub("", text)


def cell_text(value: Any) -> str:
    """Cells come as text, numbers (codes and phones typed as numbers), dates or nothing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, date):
        return value.isoformat()
    return unicodedata.normalize("NFC", str(value)).strip()


def _unreadable_workbook() -> ImportFileError:
    return ImportFileError(_(
        "The file could not be read as an Excel workbook (.xlsx). Open it in Excel or WPS, "
        "save it again and upload the saved file."
    ))


def is_workbook(data: bytes) -> bool:
    return zipfile.is_zipfile(io.BytesIO(data))


T = TypeVar("T")
#: reads one sheet (its title and its rows, top down); None when it holds no table
SheetReader = Callable[[str, Iterator[tuple[Any, ...]]], T | None]


def read_table(data: bytes, layout: Layout, *, csv_allowed: bool = False) -> Sheet:
    """Read an .xlsx workbook, or (where allowed) a CSV file; ImportFileError if neither works."""
    sheet = _first_found(data, lambda title, rows: _read_rows(title, rows, layout), csv_allowed=csv_allowed)
    if sheet is None:
        raise ImportFileError(layout.no_header_message())
    return sheet


def read_header_row(data: bytes, layout: Layout, *, csv_allowed: bool = False) -> HeaderRow:
    """The header row of a table whatever its columns are called: among the first rows of the first
    sheet naming any of the layout's fields, the row naming most; failing that, the first row with
    two cells filled (a title row above it fills one) of the first sheet that has one.
    ImportFileError if no sheet has one."""
    found = (_first_found(data, lambda title, rows: _header_row(title, rows, layout, named=True),
                          csv_allowed=csv_allowed)
             or _first_found(data, lambda title, rows: _header_row(title, rows, layout, named=False),
                             csv_allowed=csv_allowed))
    if found is None:
        raise ImportFileError(layout.no_header_message())
    return found


def _first_found(data: bytes, read: SheetReader[T], *, csv_allowed: bool) -> T | None:
    """What `read` makes of the CSV file (where allowed) or of the workbook's first sheet it makes
    something of."""
    if csv_allowed and not is_workbook(data) and not data.startswith(OLE_SIGNATURE):
        return read("CSV", iter(_csv_rows(data)))
    return _first_worksheet(data, read)


#: the container of Excel 97-2003 .xls files
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0"


def read_workbook(data: bytes, layout: Layout) -> Sheet:
    """Find the first sheet with a header row and read its rows; ImportFileError if none has one."""
    return read_table(data, layout)


def _first_worksheet(data: bytes, read: SheetReader[T]) -> T | None:
    """What `read` makes of the first worksheet it makes something of."""
    from openpyxl import load_workbook

    if data.startswith(OLE_SIGNATURE):
        raise ImportFileError(_(
            "This is an old Excel 97-2003 (.xls) file. Open it in Excel or WPS, save it as an "
            "Excel workbook (.xlsx) and upload that."
        ))
    if not is_workbook(data):
        raise ImportFileError(_("The file is not an Excel workbook (.xlsx)."))
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises whatever the broken part of the zip causes
        raise _unreadable_workbook() from error
    try:
        for worksheet in workbook.worksheets:
            if not hasattr(worksheet, "iter_rows"):  # a chart sheet
                continue
            worksheet.reset_dimensions()  # do not trust the size the writing program recorded
            found = read(worksheet.title, worksheet.iter_rows(max_col=MAX_COLUMNS, values_only=True))
            if found is not None:
                return found
    except ImportFileError:
        raise
    except Exception as error:
        raise _unreadable_workbook() from error
    finally:
        workbook.close()
    return None


def _decode(data: bytes) -> str:
    """UTF-8 (with or without the BOM Excel writes), else GB 18030: Excel in China saves CSV as GBK."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError(_("The file is neither an Excel workbook (.xlsx) nor a CSV text file."))


def _csv_rows(data: bytes) -> list[tuple[str, ...]]:
    text = _decode(data)
    if "\x00" in text:
        raise ImportFileError(_("The file is neither an Excel workbook (.xlsx) nor a CSV text file."))
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return [tuple(row[:MAX_COLUMNS]) for row in csv.reader(io.StringIO(text), dialect)]
    except csv.Error as error:
        raise ImportFileError(_("The CSV file could not be read: %(problem)s.",
                                problem=str(error))) from error


def read_csv(data: bytes, layout: Layout) -> Sheet:
    sheet = _read_rows("CSV", iter(_csv_rows(data)), layout)
    if sheet is None:
        raise ImportFileError(layout.no_header_message())
    return sheet


def _header_row(title: str, rows: Iterator[tuple[Any, ...]], layout: Layout, *,
                named: bool) -> HeaderRow | None:
    """The row naming most of the layout's fields (named), or the first with two cells filled."""
    top = [cells for _number, cells in zip(range(HEADER_SEARCH_ROWS), rows, strict=False)]
    if named:
        by_header = layout.field_by_header()
        counts = [len({by_header[key] for cell in cells
                       if cell is not None and (key := header_key(cell)) in by_header}) for cells in top]
    else:
        counts = [int(sum(1 for cell in cells if cell_text(cell)) >= 2) for cells in top]
    if not any(counts):
        return None
    index = counts.index(max(counts))
    headers = [cell_text(cell) for cell in top[index]]
    while headers and not headers[-1]:
        headers.pop()
    return HeaderRow(title, index + 1, tuple(headers))


def _find_header(rows: list[tuple[Any, ...]], layout: Layout) -> tuple[int, dict[str, int]] | None:
    """The first row naming every required field: (index, field -> column)."""
    by_header = layout.field_by_header()
    for index, cells in enumerate(rows):
        columns: dict[str, int] = {}
        for column, cell in enumerate(cells):
            field_name = by_header.get(header_key(cell)) if cell is not None else None
            if field_name and field_name not in columns:  # the first of two such columns counts
                columns[field_name] = column
        if all(name in columns for name in layout.required):
            return index, columns
    return None


def _is_empty(cells: Iterable[Any]) -> bool:
    return all(cell_text(cell) == "" for cell in cells)


def _read_rows(title: str, rows: Iterator[tuple[Any, ...]], layout: Layout) -> Sheet | None:
    top = [cells for _number, cells in zip(range(HEADER_SEARCH_ROWS), rows, strict=False)]
    found = _find_header(top, layout)
    if found is None:
        return None
    index, columns = found
    header = top[index]
    sheet = Sheet(
        title=title,
        header_row=index + 1,
        columns={name: cell_text(header[column]) for name, column in columns.items()},
        ignored=[cell_text(cell) for column, cell in enumerate(header)
                 if column not in columns.values() and cell_text(cell)],
        rows=[],
    )

    pending_skipped = 0  # rows at the end (pre-numbered, formatted) are not worth a mention

    def add(number: int, cells: tuple[Any, ...]) -> None:
        nonlocal pending_skipped
        values = {name: cell_text(cells[column]) if column < len(cells) else ""
                  for name, column in columns.items()}
        if not any(values.values()):
            pending_skipped += 1
            return
        sheet.skipped_rows += pending_skipped
        pending_skipped = 0
        sheet.rows.append(SheetRow(number, values))

    for number, cells in enumerate(top[index + 1:], start=index + 2):
        add(number, cells)
    empty_run = 0
    for number, cells in enumerate(rows, start=len(top) + 1):
        if number > MAX_ROWS:
            if not _is_empty(cells):
                raise ImportFileError(_(
                    "The sheet has more than %(n)d rows. Split it into smaller files.", n=MAX_ROWS
                ))
            empty_run += 1
            if empty_run >= TRAILING_EMPTY_ROWS:
                break
            continue
        add(number, cells)
    return sheet
