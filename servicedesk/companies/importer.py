"""Reading companies from an Excel sheet and checking every row before anything is written.

`read_workbook` finds the header row and reads the rows; `plan` compares them with the companies
already registered and says, row by row, what an import would add, update or refuse and why. No
Flask views, no writes: `operations.apply_import` carries a plan out.

The sheet may be a template downloaded from the desk or the zone's own ledger (台账): a merged title
row above the header, the same company on many rows, other columns that are not ours.
"""

from __future__ import annotations

import contextlib
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from servicedesk import spreadsheets
from servicedesk.companies.operations import FIELD_LABELS, explain
from servicedesk.domain import credit_code
from servicedesk.domain.credit_code import CreditCodeError, Problem
from servicedesk.models import Company
from servicedesk.spreadsheets import ImportFileError, Sheet, SheetRow

__all__ = ["ImportFileError", "ImportPlan", "plan", "read_workbook", "template_workbook"]

FIELDS = ("credit_code", "name", "short_name", "address", "industry", "contact_person",
          "contact_phone")

#: header names by field, first the ones the template uses; compared after header_key()
HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "credit_code": ("统一社会信用代码", "社会信用代码", "信用代码", "统一代码", "credit code",
                    "unified social credit code", "social credit code", "uscc"),
    "name": ("企业名称", "企业", "企业全称", "公司名称", "公司", "单位名称", "名称", "name",
             "company", "company name", "enterprise", "enterprise name"),
    "short_name": ("简称", "企业简称", "公司简称", "short name", "abbreviation"),
    "address": ("地址", "企业地址", "公司地址", "注册地址", "经营地址", "通讯地址", "address"),
    "industry": ("行业", "所属行业", "行业类别", "行业分类", "产业", "industry", "sector"),
    "contact_person": ("联系人", "企业联系人", "联系人姓名", "contact person", "contact"),
    "contact_phone": ("联系电话", "电话", "联系方式", "手机", "手机号码", "phone", "telephone",
                      "contact phone", "tel"),
}

#: the template's headers
TEMPLATE_HEADERS = {
    "zh": ("统一社会信用代码", "企业名称", "简称", "地址", "行业", "联系人", "联系电话"),
    "en": ("Credit code", "Name", "Short name", "Address", "Industry", "Contact person",
           "Contact phone"),
}
TEMPLATE_WIDTHS = (24, 36, 16, 36, 14, 12, 16)

LAYOUT = spreadsheets.Layout(
    synonyms=HEADER_SYNONYMS,
    required=("name", "credit_code"),
    no_header_message=lambda: _(
        "No header row found. One of the first %(n)d rows must name the columns, with at least "
        "the company name (企业名称) and the credit code (统一社会信用代码).",
        n=spreadsheets.HEADER_SEARCH_ROWS,
    ),
)


def column_lengths() -> dict[str, int]:
    """The longest text each column takes, from the model."""
    return {name: Company.__table__.c[name].type.length for name in FIELDS}


def read_workbook(data: bytes) -> Sheet:
    """The first sheet with a header row naming the company and its credit code."""
    return spreadsheets.read_workbook(data, LAYOUT)


def credit_codes(sheet: Sheet) -> set[str]:
    """The codes the rows give, normalised: what to look up among the registered companies."""
    codes = set()
    for row in sheet.rows:
        with contextlib.suppress(CreditCodeError):
            codes.add(credit_code.validate(row.values.get("credit_code", "")))
    return codes


@dataclass
class PlannedCompany:
    """A company the sheet names, with the rows that name it merged into one."""

    credit_code: str
    #: the sheet's non-empty values (name always) keyed by field
    values: dict[str, str]
    rows: list[int]
    #: the registered company with this code, or None when it is new
    current: Company | None = None
    #: for a registered company: field -> (value now, value from the sheet)
    changes: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    #: what the user should know: a later row disagreeing on a detail, ...
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.values["name"]


@dataclass
class RefusedRow:
    number: int
    reason: str
    credit_code: str
    name: str


@dataclass
class ImportPlan:
    sheet: Sheet
    additions: list[PlannedCompany]
    updates: list[PlannedCompany]
    unchanged: list[PlannedCompany]
    refused: list[RefusedRow]

    @property
    def has_changes(self) -> bool:
        return bool(self.additions or self.updates)


def _name_key(name: str | None) -> str:
    """Full-width and half-width brackets and stray spaces do not make another name."""
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", name or ""))


def same_name(a: str | None, b: str | None) -> bool:
    return _name_key(a) == _name_key(b)


def _row_problem(row: SheetRow, lengths: Mapping[str, int]) -> str | None:
    values = row.values
    if not values.get("credit_code"):
        return _("The credit code is missing.")
    try:
        credit_code.validate(values["credit_code"])
    except CreditCodeError as error:
        return explain(error) if error.problem is not Problem.EMPTY else _(
            "The credit code is missing.")
    if not values.get("name"):
        return _("The company name is missing.")
    for name, value in values.items():
        if name != "credit_code" and len(value) > lengths[name]:
            return _("%(field)s: at most %(max)d characters are allowed; this one has %(n)d.",
                     field=FIELD_LABELS[name], max=lengths[name], n=len(value))
    return None


def plan(sheet: Sheet, existing: Mapping[str, Company]) -> ImportPlan:
    """Check every row and say what an import would do; `existing` maps credit codes to companies.

    One credit code is one company: rows repeating a code with the same name merge into one
    entry (the first non-empty value of each detail wins, later different ones are noted); a row
    giving a code already used by an earlier row for another name is refused, as is a row giving
    a name an earlier row gave another code. Empty cells never blank a registered detail.
    """
    lengths = column_lengths()
    by_code: dict[str, PlannedCompany] = {}
    code_by_name: dict[str, tuple[str, int]] = {}
    refused: list[RefusedRow] = []
    for row in sheet.rows:
        raw_code, name = row.values.get("credit_code", ""), row.values.get("name", "")
        problem = _row_problem(row, lengths)
        if problem is not None:
            refused.append(RefusedRow(row.number, problem, raw_code, name))
            continue
        code = credit_code.validate(raw_code)
        name_key = _name_key(name)
        planned = by_code.get(code)
        if planned is not None and not same_name(planned.name, name):
            refused.append(RefusedRow(row.number, _(
                "Row %(row)d gives this credit code to “%(name)s”; one credit code belongs to one "
                "company.", row=planned.rows[0], name=planned.name), raw_code, name))
            continue
        if planned is None and name_key in code_by_name:
            other_code, other_row = code_by_name[name_key]
            refused.append(RefusedRow(row.number, _(
                "Row %(row)d gives this company the credit code %(code)s; check which code is "
                "right.", row=other_row, code=other_code), raw_code, name))
            continue
        values = {k: v for k, v in row.values.items() if k != "credit_code" and v}
        if planned is None:
            by_code[code] = PlannedCompany(code, values, [row.number])
            code_by_name[name_key] = (code, row.number)
            continue
        planned.rows.append(row.number)
        for key, value in values.items():
            kept = planned.values.get(key)
            if kept is None:
                planned.values[key] = value
            elif key != "name" and kept != value:
                planned.notes.append(_(
                    "Row %(row)d gives another %(field)s, “%(value)s”; “%(kept)s” is kept.",
                    row=row.number, field=FIELD_LABELS[key], value=value, kept=kept))

    result = ImportPlan(sheet, additions=[], updates=[], unchanged=[], refused=refused)
    for code, planned in by_code.items():
        current = existing.get(code)
        if current is None:
            result.additions.append(planned)
            continue
        planned.current = current
        planned.changes = {
            key: (getattr(current, key), value) for key, value in planned.values.items()
            if getattr(current, key) != value
            and not (key == "name" and same_name(current.name, value))
        }
        (result.updates if planned.changes else result.unchanged).append(planned)
    return result


def template_workbook(chinese: bool) -> bytes:
    """An empty sheet with the headers the import reads, formatted as text so codes stay text."""
    headers = TEMPLATE_HEADERS["zh" if chinese else "en"]
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "企业" if chinese else "Companies"
    sheet.append(list(headers))
    for column, width in enumerate(TEMPLATE_WIDTHS, start=1):
        letter = sheet.cell(row=1, column=column).column_letter
        sheet.column_dimensions[letter].width = width
        sheet.column_dimensions[letter].number_format = "@"
        sheet.cell(row=1, column=column).font = Font(bold=True)
    sheet.freeze_panes = "A2"
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()
