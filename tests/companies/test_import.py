"""Importing companies from Excel: the report first, nothing written before confirming."""

from __future__ import annotations

import html
import io
import re
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from servicedesk import uploads
from servicedesk.companies.importer import plan, read_workbook
from servicedesk.extensions import db
from servicedesk.models import AuditEvent, Company

LEDGER = Path(__file__).parents[2].parent / "shared/samples/ledger-2026.xlsx"
LEDGER_CODES = {
    "913203052MACL12THK", "913203009MA3Y7LLJF", "913203024MAD4H3J9X", "913203078MADQAEJX8",
    "913203082MA3JJL6B2", "913203018MAN2J1K68", "913203015MAJ1XG61U", "913203009MAJC171HY",
    "913203016MAD272HD4", "913203075MA97R5NQ6",
}


@pytest.fixture
def ledger() -> bytes:
    if not LEDGER.is_file():
        pytest.skip(f"the zone's sample ledger is not at {LEDGER}")
    return LEDGER.read_bytes()


def workbook(*rows: list, title: str = "Sheet1") -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def zipped(name: str, content: bytes) -> bytes:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        archive.writestr(name, content)
    return output.getvalue()


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def company_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Company))


def upload(client, data: bytes, name: str = "companies.xlsx"):
    return client.post("/companies/import", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def review_url(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    location = response.headers["Location"]
    assert re.search(r"/companies/import/[A-Za-z0-9_-]{24}$", location), location
    return location


def table(page: str, table_id: str) -> str:
    match = re.search(rf'<table[^>]*id="{table_id}".*?</table>', page, re.S)
    return match.group(0) if match else ""


@pytest.fixture
def editor(client, auth, officer, import_folder):
    auth.login(officer)
    client.post("/language", data={"locale": "en", "next": "/"})
    return officer


# The zone's ledger, as it is

def test_ledger_is_reported_then_imported_on_confirm(client, editor, ledger, import_folder) -> None:
    review = review_url(upload(client, ledger, "ledger-2026.xlsx"))
    page = text_of(client.get(review))
    assert company_count() == 0  # nothing before confirming
    assert re.search(r'id="count-added">10<', page)
    assert re.search(r'id="count-refused">0<', page)
    assert "sheet “诉求台账”, header in row 2" in page
    additions = table(page, "additions")
    assert additions.count("<tr>") == 11  # header and one row per company, not per ledger row
    assert "徐州北辰电子科技有限公司" in additions
    assert "牵头单位" in page  # listed among the columns ignored

    token = review.rsplit("/", 1)[1]
    kept = import_folder / f"{token}.data"
    assert kept.is_file()

    response = client.post(f"{review}/confirm")
    assert response.status_code == 302 and response.headers["Location"].endswith("/companies/")
    assert set(db.session.scalars(select(Company.credit_code))) == LEDGER_CODES
    assert company_count() == 10
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "company.registered"))
    details = [event.details for event in events]
    assert len(details) == 10 and {d["import"] for d in details} == {"ledger-2026.xlsx"}
    assert not kept.exists()
    page = text_of(client.get("/companies/"))
    assert "Import finished. Companies added: 10; updated: 0;" in page

    # the token is spent
    again = client.post(f"{review}/confirm")
    assert again.headers["Location"].endswith("/companies/import")
    assert company_count() == 10


def test_ledger_imported_twice_adds_nothing(client, editor, ledger) -> None:
    client.post(f"{review_url(upload(client, ledger))}/confirm")
    assert company_count() == 10
    review = review_url(upload(client, ledger))
    page = text_of(client.get(review))
    assert re.search(r'id="count-added">0<', page)
    assert re.search(r'id="count-unchanged">10<', page)
    assert 'id="confirm-import"' not in page and 'id="nothing-to-import"' in page
    client.post(f"{review}/confirm")
    assert company_count() == 10
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "company.updated")) == 0


def test_ledger_updates_registered_companies_without_blanking_details(
        client, editor, ledger, make_company) -> None:
    wanbang = make_company("万邦医药", "913203052MACL12THK", short_name="万邦医药", industry="生物医药")
    review = review_url(upload(client, ledger))
    page = text_of(client.get(review))
    assert re.search(r'id="count-added">9<', page) and re.search(r'id="count-updated">1<', page)
    updates = table(page, "updates")
    assert "<del>万邦医药</del> → <ins>江苏万邦生化医药集团有限责任公司</ins>" in updates
    client.post(f"{review}/confirm")
    db.session.expire_all()
    assert company_count() == 10
    wanbang = db.session.get(Company, wanbang.id)
    assert wanbang.name == "江苏万邦生化医药集团有限责任公司"
    assert (wanbang.short_name, wanbang.industry) == ("万邦医药", "生物医药")  # empty cells blank nothing


def test_cancel_discards_the_upload(client, editor, ledger, import_folder) -> None:
    review = review_url(upload(client, ledger))
    assert len(list(import_folder.glob("*.data"))) == 1
    response = client.post(f"{review}/cancel")
    assert response.status_code == 302
    assert list(import_folder.glob("*")) == []
    assert client.get(review).headers["Location"].endswith("/companies/import")
    assert company_count() == 0


def test_confirm_checks_the_file_again(client, editor, make_company) -> None:
    data = workbook(["企业名称", "统一社会信用代码", "行业"],
                    ["徐州云帆物流有限公司", "913203024MAD4H3J9X", "现代物流"])
    review = review_url(upload(client, data))
    make_company("徐州云帆物流有限公司", "913203024MAD4H3J9X")  # registered meanwhile by someone else
    client.post(f"{review}/confirm")
    assert company_count() == 1
    assert db.session.scalar(select(Company.industry)) == "现代物流"


def test_another_user_cannot_open_or_confirm_my_upload(client, auth, editor, admin_user, ledger) -> None:
    review = review_url(upload(client, ledger))
    auth.logout()
    auth.login(admin_user)
    assert client.get(review).status_code == 302
    client.post(f"{review}/confirm")
    assert company_count() == 0


# Refused rows and what the report says about them

def test_bad_rows_are_reported_with_their_reasons(client, editor, make_company) -> None:
    data = workbook(
        ["2026年企业名录"],  # row 1: a title above the header
        [],
        ["序号", "公司名称", "信用代码", "简称", "联系电话", "备注"],
        [1, "徐州云帆物流有限公司", "913203024MAD4H3J9X", "云帆物流", 13805160000, "好"],
        [2, "江苏博远新能源有限公司", "913203078MADQAEJX", None, None, None],  # 17 characters
        [3, "江苏青禾食品有限公司", "913203082MA3JJL6B3", None, None, None],  # check character
        [4, "徐州北辰电子科技有限公司", "913203018MAN2J1KO8", None, None, None],  # letter O
        [5, None, "913203015MAJ1XG61U", None, None, None],  # no name
        [6, "某某企业", None, None, None, None],  # no code
        [7, "徐州云帆物流（集团）有限公司", "913203024MAD4H3J9X", None, None, None],  # code of row 4
        [8, "徐州云帆物流有限公司", "９１３２０３０２４ＭＡＤ４Ｈ３Ｊ９Ｘ", None, "0516-1", None],  # same
        [None, None, None, None, None, None],
        [None, None, None, None, None, "见附件"],  # nothing in the columns read
        [9, "徐州云帆物流有限公司", "913203009MA3Y7LLJF", None, None, None],  # name of row 4
        [10, " 江苏瑞康生物科技有限公司 ", " 913203016mad272hd4 ", "瑞康", None, None],
        [11], [12], [13],  # numbered in advance, never filled: not worth a mention
    )
    review = review_url(upload(client, data, "名录.xlsx"))
    page = text_of(client.get(review))
    refused = table(page, "refused")
    expected = {
        5: "The credit code must have 18 characters; this one has 17.",
        6: "The check character (the 18th) is '3' but the first 17 characters call for '2'",
        7: "Character 17, 'O', cannot appear in a credit code",
        8: "The company name is missing.",
        9: "The credit code is missing.",
        10: "Row 4 gives this credit code to “徐州云帆物流有限公司”; one credit code belongs to one company.",
        14: "Row 4 gives this company the credit code 913203024MAD4H3J9X",
    }
    rows = re.findall(r"<tr>\s*<td>(\d+)</td>(.*?)</tr>", refused, re.S)
    assert {int(number) for number, _ in rows} == set(expected)
    for number, cells in rows:
        assert expected[int(number)] in cells, (number, cells)
    assert re.search(r'id="count-added">2<', page)
    additions = table(page, "additions")
    assert "4, 11" in additions  # the repeated row merged into the first
    assert "Row 11 gives another Contact phone, “0516-1”; “13805160000” is kept." in additions
    assert "2 rows with nothing in these columns were skipped." in page
    assert "备注" in page and "序号" in page  # ignored columns are named
    assert company_count() == 0

    client.post(f"{review}/confirm")
    codes = dict(db.session.execute(select(Company.credit_code, Company.name)).all())
    assert codes == {"913203024MAD4H3J9X": "徐州云帆物流有限公司",
                     "913203016MAD272HD4": "江苏瑞康生物科技有限公司"}
    assert db.session.scalar(select(Company.contact_phone)
                             .where(Company.credit_code == "913203024MAD4H3J9X")) == "13805160000"


def test_too_long_detail_is_refused(client, editor) -> None:
    data = workbook(["name", "credit code", "contact phone"],
                    ["徐州云帆物流有限公司", "913203024MAD4H3J9X", "1" * 41])
    page = text_of(client.get(review_url(upload(client, data))))
    assert "Contact phone: at most 40 characters are allowed; this one has 41." in table(page, "refused")


# Files that cannot be imported at all

@pytest.mark.parametrize(("data", "name", "message"), [
    (b"name,credit code\n", "companies.csv", "Only Excel workbooks (.xlsx) can be imported."),
    (b"just some text", "companies.xlsx", "The file is not an Excel workbook (.xlsx)."),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "old.xlsx", "old Excel 97-2003 (.xls) file"),
    (b"PK\x03\x04" + bytes(100), "broken.xlsx", "The file is not an Excel workbook (.xlsx)."),
    (zipped("word/document.xml", b"<w:document/>"), "letter.xlsx",
     "The file could not be read as an Excel workbook (.xlsx)."),
    (workbook(["序号", "名字", "代码"], [1, "某企业", "913203024MAD4H3J9X"]), "x.xlsx",
     "No header row found."),
])
def test_unreadable_files_are_refused(client, editor, import_folder, data, name, message) -> None:
    response = upload(client, data, name)
    assert response.status_code == 200
    page = text_of(response)
    assert re.search(r'invalid-feedback d-block">[^<]*' + re.escape(message), page)
    assert company_count() == 0
    assert not import_folder.exists() or list(import_folder.glob("*")) == []


def test_upload_without_a_file_is_refused(client, editor) -> None:
    response = client.post("/companies/import", data={}, content_type="multipart/form-data")
    assert "Choose the Excel file to import." in text_of(response)


def test_handler_cannot_import(client, auth, handler, ledger) -> None:
    auth.login(handler)
    assert client.get("/companies/import").status_code == 403
    assert upload(client, ledger).status_code == 403
    assert client.post("/companies/import/AAAAAAAAAAAAAAAAAAAAAAAA/confirm").status_code == 403
    assert company_count() == 0


def test_odd_tokens_are_not_paths(client, editor) -> None:
    for token in ("..", "AAAA", "..%2F..%2Fsecret_key"):
        response = client.get(f"/companies/import/{token}")
        assert response.status_code in (302, 404)


# The template

@pytest.mark.parametrize(("locale", "first_header"), [("zh_CN", "统一社会信用代码"),
                                                       ("en", "Credit code")])
def test_template_has_the_headers_the_import_reads(client, auth, officer, locale,
                                                   first_header) -> None:
    auth.login(officer)
    client.post("/language", data={"locale": locale, "next": "/"})
    response = client.get("/companies/import/template.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet["A1"].value == first_header
    assert len(read_workbook(response.data).columns) == 7  # every field recognised


def test_template_filled_in_imports(app) -> None:
    from servicedesk.companies.importer import template_workbook

    with app.test_request_context():
        book = load_workbook(io.BytesIO(template_workbook(True)))
        book.active.append(["913203024MAD4H3J9X", "徐州云帆物流有限公司", "云帆物流", "高新路8号",
                            "现代物流", "王芳", "0516-87000002"])
        output = io.BytesIO()
        book.save(output)
        result = plan(read_workbook(output.getvalue()), {})
    assert [p.values for p in result.additions] == [{
        "name": "徐州云帆物流有限公司", "short_name": "云帆物流", "address": "高新路8号",
        "industry": "现代物流", "contact_person": "王芳", "contact_phone": "0516-87000002"}]


def test_expired_uploads_are_purged(app, import_folder) -> None:
    with app.test_request_context():
        token = uploads.save(b"data", "old.xlsx", 1)
        assert uploads.load(token, 1) is not None
        assert uploads.load(token, 2) is None  # someone else's
        uploads.purge_expired(now=time.time() + uploads.MAX_AGE_SECONDS + 1)
        assert uploads.load(token, 1) is None
