"""Writing the Excel workbooks (.xlsx) the desk hands out: the lists' exports, the league table.

A workbook is written row by row from a lazy iterable to a temporary file, and the response streams
that file in chunks: the memory used stays flat however many rows there are. The temporary file is
anonymous (gone once closed) and closed when the response is: after the last chunk, or when the
client goes away.

The sheet's XML is written here, straight from the values, and deflated into the zip as it goes at
zlib's fastest level (level 6 took as long as writing the XML; level 1 still makes a smaller file
than openpyxl did). openpyxl's write-only mode and XlsxWriter's constant_memory mode were measured
first: both make an object and several calls per cell, and reached about a tenth of the ledger's
budget (20,000 rows a second). A row is written through a template, one per combination of the
classes of its values (an export has few): a %-format of its cells' markup that takes all the values
at once, only days and moments converted one by one (a day's serial looked up, not computed; the
ledger's come as serials already, numbers in date and datetime columns). A row the template cannot
write as it is (its text, joined, holding "<", "&" or ">", empty text, text with white space around
it, a number Excel cannot hold) is written again cell by cell, its text escaped.

The package holds what a spreadsheet program needs and nothing else: the content types, the
relationships, the workbook, the styles (a bold wrapped header and one style per number format) and
one sheet with its header row frozen and its column widths. Strings are inline (no shared-string
table held in memory) and keep their white space (xml:space="preserve" on the cells whose text has
some around it, as openpyxl and XlsxWriter do); cells carry no reference (their place in the row is
their column, an empty cell is `<c/>`).

Cells hold real values: dates and datetimes are Excel dates (days since 1899-12-30; an aware
datetime in Beijing time, since Excel knows no time zones, a naive one as the wall-clock time it
is; a number in a date or datetime column is taken as the serial it is, in a datetime column
written to a hundredth of a millisecond like a datetime), numbers are numbers, and text is always
text, never a formula, whatever it begins with (a company name typed as "=HYPERLINK(...)" stays the
characters typed). Characters XML cannot hold (control characters pasted in) are dropped.
"""

from __future__ import annotations

import math
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from operator import itemgetter
from typing import IO, Any
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from flask import Response

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

#: zlib's fastest level: the sheet is mostly markup, which deflates well even so
COMPRESS_LEVEL = 1
#: rows joined into one string before it is cleaned, encoded and deflated
ROWS_PER_WRITE = 256
#: row templates kept at most (a sheet whose rows' classes combine in more ways starts afresh)
TEMPLATES_KEPT = 1024
#: what XML 1.0 cannot hold: control characters but tab and newlines, lone surrogates, U+FFFE/F
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: the same control characters as UTF-8 bytes, and U+FFFE and U+FFFF
_CONTROL_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_NONCHARACTERS = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")
#: Excel's day 0 (it counts 1900 as a leap year, so its serials are right from March 1900 on)
EXCEL_EPOCH = date(1899, 12, 30)
_EXCEL_EPOCH = datetime(1899, 12, 30)
_EXCEL_EPOCH_ORDINAL = _EXCEL_EPOCH.toordinal()
_BEIJING_EXCEL_EPOCH = _EXCEL_EPOCH.replace(tzinfo=ZONE)
_DAY = timedelta(days=1)

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIP = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
#: the styles (cellXfs) by index: 0 plain, 1 the header, then one per number format
_HEADER_STYLE = 1
_STYLES = {kind: index for index, kind in enumerate(NUMBER_FORMATS, start=2)}
#: the first number format id a workbook may define for itself
_CUSTOM_FORMAT_ID = 164
_EMPTY_CELL = "<c/>"
#: text is kept as it is, white space around it included (Excel trims it otherwise): the cells of
#: text with white space around it say so, the others need not (a fifth of the sheet's bytes)
_TEXT_CELL = '<c t="inlineStr"><is><t>%s</t></is></c>'
_PRESERVED_TEXT_CELL = '<c t="inlineStr"><is><t xml:space="preserve">%s</t></is></c>'


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
    """Write the workbook to a binary file open for writing (and seekable, as a zip needs)."""
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED,
                         compresslevel=COMPRESS_LEVEL) as archive:
        for name, xml in _package(safe_sheet_title(sheet_title)):
            archive.writestr(name, _XML_HEAD + xml)
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            _write_sheet(sheet, columns, rows)


def content_disposition(file_name: str) -> str:
    """attachment; with an ASCII name for old clients and the real one (RFC 5987) for the rest."""
    fallback = _NOT_IN_FALLBACK.sub("_", file_name).lstrip("_-. ") or "export.xlsx"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


def safe_sheet_title(title: str) -> str:
    title = _NOT_XML.sub("", title).translate(_SHEET_TITLE_FORBIDDEN)
    return title.strip()[:SHEET_TITLE_LENGTH] or "Sheet1"


def _chunks(output: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := output.read(CHUNK_SIZE):
            yield chunk
    finally:
        output.close()


# The sheet

def _write_sheet(sheet: IO[bytes], columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> None:
    header = "".join(_PRESERVED_TEXT_CELL.replace("<c", f'<c s="{_HEADER_STYLE}"', 1) % escape(column.header)
                     for column in columns)
    widths = "".join(f'<col min="{number}" max="{number}" width="{column.width}" customWidth="1"/>'
                     for number, column in enumerate(columns, start=1))
    pending = [
        _XML_HEAD, f'<worksheet xmlns="{_MAIN_NS}"><sheetViews><sheetView tabSelected="1" workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/><cols>{widths}</cols><sheetData><row r="1">{header}</row>',
    ]
    templates = _RowTemplates([column.kind for column in columns])
    for number, row in enumerate(rows, start=2):
        pending.append(templates.row(number, row))
        if len(pending) >= ROWS_PER_WRITE:
            _flush(sheet, pending)
    pending.append("</sheetData></worksheet>")
    _flush(sheet, pending)


def _flush(sheet: IO[bytes], pending: list[str]) -> None:
    """Write the pending XML without what XML cannot hold (never part of the markup itself): a lone
    surrogate cannot be encoded, and the control bytes are dropped from the bytes, where they only
    ever stand for themselves."""
    data = "".join(pending).encode("utf-8", "ignore").translate(None, _CONTROL_BYTES)
    for noncharacter in _NONCHARACTERS:
        if noncharacter in data:
            data = data.replace(noncharacter, b"")
    sheet.write(data)
    pending.clear()


class _RowTemplates:
    """The XML of the rows, from one template per combination of the classes of a row's values
    (the row number and the values are formatted into it): an export has few of them, and a
    template costs a call per cell only for the values that need converting (dates)."""

    def __init__(self, kinds: Sequence[str]) -> None:
        self._kinds = kinds
        self._templates: dict[tuple[type, ...], _RowTemplate] = {}
        self._days = _DaySerials()

    def row(self, number: int, values: Sequence[Any]) -> str:
        classes = tuple(map(type, values))
        template = self._templates.get(classes)
        if template is None:
            if len(self._templates) >= TEMPLATES_KEPT:
                self._templates.clear()
            template = self._templates[classes] = _RowTemplate(self._kinds, classes, self._days)
        return template.xml(number, values)


class _RowTemplate:
    """The XML of a row whose values are of these classes: a %-format of the row number and the
    values that are not None, each turned into what its cell holds if it is not that already."""

    def __init__(self, kinds: Sequence[str], classes: Sequence[type], days: _DaySerials) -> None:
        self._cells = [_cell_markup(kind, class_, days) for kind, class_ in zip(kinds, classes, strict=True)]
        present = [number for number, class_ in enumerate(classes) if class_ is not type(None)]
        self._present = _picker(present)
        self._conversions = [(position, self._cells[number].convert)
                             for position, number in enumerate(present) if self._cells[number].convert]
        self._text = '<row r="%d">' + "".join(cell.markup for cell in self._cells) + "</row>"
        #: the values (converted) the fast way cannot always write as they are: text, which may hold
        #: markup or be empty, and numbers, which may not be finite
        texts = [position for position, number in enumerate(present) if self._cells[number].text]
        numbers = [position for position, number in enumerate(present) if self._cells[number].number]
        self._texts = _picker(texts) if texts else None
        self._numbers = _picker(numbers) if numbers else None

    def xml(self, number: int, row: Sequence[Any]) -> str:
        values = self._present(row)
        if self._conversions:
            values = list(values)
            for position, convert in self._conversions:
                values[position] = convert(values[position])
        if self._texts is not None:
            texts = self._texts(values)
            joined = "".join(texts)
            # ">" only matters in "]]>", but it is as rare in text as the others; str.strip gives
            # back the very same string when there is no white space around it
            if ("<" in joined or "&" in joined or ">" in joined or not all(texts)
                    or tuple(map(str.strip, texts)) != texts):
                return self._escaped(number, row)
        if self._numbers is not None and not math.isfinite(sum(self._numbers(values))):
            return self._escaped(number, row)  # (or numbers so big their sum is not)
        return self._text % (number, *values)

    def _escaped(self, number: int, row: Sequence[Any]) -> str:
        """The row cell by cell, text escaped and its white space kept, empty text and numbers
        Excel cannot hold (NaN, infinity) an empty cell: what the fast way cannot write (a rare
        row)."""
        cells = []
        for cell, value in zip(self._cells, row, strict=True):
            if cell.convert:
                value = cell.convert(value)
            if value is None or value == "" or (cell.number and not math.isfinite(value)):
                cells.append(_EMPTY_CELL)
            else:
                cells.append(_PRESERVED_TEXT_CELL % escape(value) if cell.text else cell.markup % value)
        return f'<row r="{number}">{"".join(cells)}</row>'


def _picker(numbers: list[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """itemgetter of these items, as a tuple however many they are."""
    return itemgetter(*numbers) if len(numbers) > 1 else _few(numbers)


def _few(numbers: list[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """itemgetter for one value or none, as a tuple all the same."""
    return lambda row: tuple(row[number] for number in numbers)


@dataclass(frozen=True)
class _Cell:
    #: the cell's XML, with a %-format where the value goes (none for an empty cell)
    markup: str
    #: what turns the value into what goes there, if it is not already
    convert: Callable[[Any], Any] | None = None
    #: text (escaped when it holds markup, an empty cell when empty)
    text: bool = False
    #: a float (an empty cell when not finite)
    number: bool = False


def _cell_markup(kind: str, class_: type, days: _DaySerials) -> _Cell:
    """A cell of a column of this kind holding a value of this class. A date column writes a moment
    as its Beijing day, a datetime column a day as its midnight; any other column writes a day or a
    moment as the date it is. Text is whatever is not a number, as str() reads it (enum labels,
    lazy translations)."""
    dated = kind in ("date", "datetime")
    style = f' s="{_STYLES[kind]}"' if kind in _STYLES else ""
    if class_ is type(None):
        return _Cell(_EMPTY_CELL)
    if issubclass(class_, str):
        return _Cell(_TEXT_CELL, text=True)
    if issubclass(class_, bool):
        return _Cell('<c t="b"><v>%d</v></c>')
    if issubclass(class_, datetime):
        if kind == "date":
            return _Cell(f"<c{style}><v>%d</v></c>", _beijing_day_serial)
        style = style if dated else f' s="{_STYLES["datetime"]}"'
        return _Cell(f"<c{style}><v>%.10f</v></c>", _moment_serial, number=True)
    if issubclass(class_, date):
        style = style if dated else f' s="{_STYLES["date"]}"'
        return _Cell(f"<c{style}><v>%d</v></c>", days.__getitem__)
    if issubclass(class_, int):
        return _Cell(f"<c{style}><v>%d</v></c>")
    if issubclass(class_, float | Decimal):
        # a number in a datetime column is Excel's serial of a moment, written as a moment's is
        markup = f"<c{style}><v>{'%.10f' if kind == 'datetime' else '%r'}</v></c>"
        return _Cell(markup, None if class_ is float else float, number=True)
    return _Cell(_TEXT_CELL, str, text=True)


def excel_day(day: date) -> int:
    """Excel's serial of a day: what a date cell holds."""
    return day.toordinal() - _EXCEL_EPOCH_ORDINAL


class _DaySerials(dict[date, int]):
    """Excel's serial of each day, looked up rather than computed: an export's days are few and
    recur (deadlines), so most cells cost a lookup, not a call."""

    def __missing__(self, day: date) -> int:
        serial = self[day] = excel_day(day)
        return serial


def _beijing_day_serial(value: datetime) -> int:
    if value.tzinfo is not None:
        value = value.astimezone(ZONE)
    return value.toordinal() - _EXCEL_EPOCH_ORDINAL


def _moment_serial(value: datetime) -> float:
    """Days since Excel's day 0 in Beijing wall-clock time (written to a hundredth of a millisecond)."""
    if value.tzinfo is None:
        return (value - _EXCEL_EPOCH) / _DAY
    # the same zone on both sides: the difference between their wall clocks
    return (value.astimezone(ZONE) - _BEIJING_EXCEL_EPOCH) / _DAY


# The package around the sheet

def _package(sheet_title: str) -> Iterator[tuple[str, str]]:
    """The parts of the workbook but its sheet, by their names in the zip."""
    xml_type = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    yield "[Content_Types].xml", (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{xml_type}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{xml_type}.worksheet+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{xml_type}.styles+xml"/></Types>')
    yield "_rels/.rels", _relationships(("officeDocument", "xl/workbook.xml"))
    yield "xl/_rels/workbook.xml.rels", _relationships(("worksheet", "worksheets/sheet1.xml"),
                                                       ("styles", "styles.xml"))
    yield "xl/workbook.xml", (
        f'<workbook xmlns="{_MAIN_NS}" xmlns:r="{_RELATIONSHIP}"><bookViews><workbookView/></bookViews>'
        f'<sheets><sheet name={quoteattr(sheet_title)} sheetId="1" r:id="rId1"/></sheets></workbook>')
    yield "xl/styles.xml", _styles()


def _relationships(*targets: tuple[str, str]) -> str:
    links = "".join(f'<Relationship Id="rId{number}" Type="{_RELATIONSHIP}/{kind}" Target="{target}"/>'
                    for number, (kind, target) in enumerate(targets, start=1))
    return f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{links}' \
           "</Relationships>"


def _styles() -> str:
    formats = "".join(f'<numFmt numFmtId="{_CUSTOM_FORMAT_ID + index}" formatCode={quoteattr(code)}/>'
                      for index, code in enumerate(NUMBER_FORMATS.values()))
    numbered = "".join(f'<xf numFmtId="{_CUSTOM_FORMAT_ID + index}" fontId="0" fillId="0" borderId="0" '
                       'xfId="0" applyNumberFormat="1"/>' for index in range(len(NUMBER_FORMATS)))
    font = '<sz val="11"/><name val="Calibri"/><family val="2"/>'
    return (
        f'<styleSheet xmlns="{_MAIN_NS}"><numFmts count="{len(NUMBER_FORMATS)}">{formats}</numFmts>'
        f'<fonts count="2"><font>{font}</font><font><b/>{font}</font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f'<cellXfs count="{len(_STYLES) + 2}"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
        f'<alignment vertical="top" wrapText="1"/></xf>{numbered}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')
