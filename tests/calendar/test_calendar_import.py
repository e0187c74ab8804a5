"""Importing a year from a CSV file or an Excel workbook: report first, load on confirmation."""

from __future__ import annotations

import io
import random
import re
import zipfile
from datetime import date
from urllib.parse import unquote

import pytest
from sqlalchemy.exc import IntegrityError

from servicedesk.calendar import importer, store
from servicedesk.extensions import db
from servicedesk.models import Role
from tests.calendar.helpers import (
    ARRANGEMENT_2027,
    STORED_2027,
    arrangement_rows,
    calendar_snapshot,
    csv_bytes,
    element,
    events,
    stored_days,
    text_of,
    xlsx_bytes,
    year_row,
)

REVIEW = re.compile(r"^/calendar/import/([A-Za-z0-9_-]{24})$")


def upload(client, data: bytes, name: str):
    return client.post("/calendar/import", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def review_url(response) -> str:
    assert response.status_code == 302, text_of(response)[:3000]
    location = response.headers["Location"]
    assert REVIEW.match(location), location
    return location


def listed(page: str, list_class: str, year: int = 2027) -> list[str]:
    """The ISO dates in the review's list of added/removed/changed days of the year."""
    section = re.search(rf'<section class="card mb-3 import-year" data-year="{year}">.*?</section>',
                        page, re.S)
    assert section, f"no section for {year}"
    found = re.search(rf'<ul class="{list_class}">(.*?)</ul>', section.group(0), re.S)
    return re.findall(r"\d{4}-\d{2}-\d{2}", found.group(1)) if found else []


def zipped(name: str, content: bytes) -> bytes:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        archive.writestr(name, content)
    return output.getvalue()


def uploads_kept(folder) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def chinese_csv(encoding: str) -> bytes:
    return csv_bytes(arrangement_rows(chinese=True), encoding)


def english_csv() -> bytes:
    return csv_bytes(arrangement_rows())


def workbook_with_dates() -> bytes:
    rows = [["日期", "类型", "名称"],
            *([date.fromisoformat(day), "休" if kind == "holiday" else "班", name]
              for day, kind, name in ARRANGEMENT_2027)]
    return xlsx_bytes(rows, title="2027年")


FILES = {
    "utf-8": ("2027安排.csv", english_csv),
    "utf-8-bom": ("2027-bom.csv", lambda: chinese_csv("utf-8-sig")),
    "gbk": ("2027放假安排.csv", lambda: chinese_csv("gbk")),
    "xlsx": ("2027年节假日.xlsx", workbook_with_dates),
}


@pytest.mark.parametrize("kind", list(FILES))
def test_a_file_is_reported_then_loaded_on_confirmation(as_admin, admin_user, calendar_2026, import_folder,
                                                        kind) -> None:
    name, build = FILES[kind]
    data = build()
    if kind == "gbk":
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")  # really GBK, as Excel in China saves it
    before = calendar_snapshot()

    url = review_url(upload(as_admin, data, name))
    page = text_of(as_admin.get(url))
    assert sorted(listed(page, "added")) == sorted(day.isoformat() for day in STORED_2027)
    assert listed(page, "removed") == []
    assert "The file gives 15 weekday holidays and 4 make-up working days." in page
    assert "2027 is not loaded yet: importing loads it." in page
    assert name in page
    assert "2027-01-02" in element(page, "details", "notes")  # a weekend holiday: noted, not stored
    assert 'id="refused"' not in page
    confirm = element(page, "form", "confirm-import")
    assert f'action="{url}/confirm"' in confirm
    assert calendar_snapshot() == before  # nothing saved before the confirmation
    assert len(uploads_kept(import_folder)) == 2

    response = as_admin.post(f"{url}/confirm")
    assert response.status_code == 302
    assert response.headers["Location"] == "/calendar/2027"
    assert stored_days(2027) == STORED_2027
    record = year_row(2027)
    assert record.loaded and record.source == "import"
    assert record.source_detail == name
    assert record.loaded_by_id == admin_user.id
    [loaded] = events("calendar.loaded")[-1:]
    assert loaded.subject_id == 2027
    assert loaded.actor_id == admin_user.id
    assert loaded.details["source"] == "import" and loaded.details["source_detail"] == name
    assert loaded.details["holidays"] == 15 and loaded.details["workdays"] == 4
    assert store.working_calendar().is_working_day(date(2027, 10, 9)) is True  # a Saturday worked
    assert store.working_calendar().is_working_day(date(2027, 10, 4)) is False
    assert stored_days(2026) == {day: value for day, value in before_days(before, 2026).items()}
    assert uploads_kept(import_folder) == []  # the upload is gone once imported

    page = text_of(as_admin.get("/calendar/2027"))
    assert f"has been loaded from {name}: 15 holidays and 4 make-up working days" in page
    assert 'data-loaded="yes"' in page
    again = as_admin.get(url)
    assert again.status_code == 302 and again.headers["Location"] == "/calendar/import"


def before_days(snapshot, year: int) -> dict[date, tuple[str, str]]:
    days, _years, _events = snapshot
    return {day: (kind, name) for day, row_year, kind, name in days if row_year == year}


def test_a_title_row_and_chinese_dates_are_understood(as_admin) -> None:
    text = ("2027年部分节假日安排\r\n日期,类型,名称\r\n2027年1月1日,休,元旦\r\n2027/2/20,上班,春节\r\n"
            "2027.10.9,补班,国庆节\r\n")
    url = review_url(upload(as_admin, text.encode("gbk"), "安排.csv"))
    page = text_of(as_admin.get(url))
    assert "header in row 2" in page
    assert sorted(listed(page, "added")) == ["2027-01-01", "2027-02-20", "2027-10-09"]
    as_admin.post(f"{url}/confirm")
    assert stored_days(2027) == {date(2027, 1, 1): ("holiday", "元旦"),
                                 date(2027, 2, 20): ("workday", "春节"),
                                 date(2027, 10, 9): ("workday", "国庆节")}


def test_importing_replaces_the_days_entered_for_the_year(as_admin, admin_user) -> None:
    store.mark_days(date(2027, 3, 1), date(2027, 3, 1), store.DayKind.HOLIDAY, "停电检修")
    store.mark_days(date(2027, 10, 1), date(2027, 10, 1), store.DayKind.HOLIDAY, "地方假日")
    db.session.commit()

    url = review_url(upload(as_admin, english_csv(), "2027.csv"))
    page = text_of(as_admin.get(url))
    assert listed(page, "removed") == ["2027-03-01"]
    assert listed(page, "changed") == ["2027-10-01", "2027-10-01"]  # before → after
    assert "2027-10-01" not in listed(page, "added")
    as_admin.post(f"{url}/confirm")

    days = stored_days(2027)
    assert date(2027, 3, 1) not in days
    assert days[date(2027, 10, 1)] == ("holiday", "国庆节")
    assert days == STORED_2027


def test_reimporting_a_year_replaces_its_rows(as_admin, admin_user) -> None:
    as_admin.post(review_url(upload(as_admin, english_csv(), "first.csv")) + "/confirm")
    assert stored_days(2027) == STORED_2027

    corrected = [row for row in ARRANGEMENT_2027 if row[0] != "2027-04-05"]
    corrected = [(day, kind, "国庆节" if day == "2027-10-09" else name) for day, kind, name in corrected]
    corrected.append(("2027-04-06", "holiday", "清明节"))
    url = review_url(upload(as_admin, xlsx_bytes(arrangement_rows(corrected)), "second.xlsx"))
    page = text_of(as_admin.get(url))
    assert "2027 is loaded already: importing replaces its days." in page
    assert listed(page, "removed") == ["2027-04-05"]
    assert listed(page, "added") == ["2027-04-06"]
    as_admin.post(f"{url}/confirm")

    days = stored_days(2027)
    assert date(2027, 4, 5) not in days
    assert days[date(2027, 4, 6)] == ("holiday", "清明节")
    assert len(days) == len(STORED_2027)
    assert year_row(2027).source_detail == "second.xlsx"
    latest = events("calendar.loaded")[-1]
    assert latest.details["was_loaded"] is True
    assert latest.details["removed"] == ["2027-04-05 holiday 清明节"]
    assert latest.details["added"] == ["2027-04-06 holiday 清明节"]


def test_a_file_of_two_years_is_loaded_in_one_transaction(as_admin, monkeypatch) -> None:
    rows = [*ARRANGEMENT_2027, ("2028-01-03", "holiday", "元旦")]
    url = review_url(upload(as_admin, csv_bytes(arrangement_rows(rows)), "two-years.csv"))
    page = text_of(as_admin.get(url))
    assert listed(page, "added", 2028) == ["2028-01-03"]
    assert "Confirm the import of 2027, 2028" in page
    before = calendar_snapshot()

    original = store.replace_year

    def second_year_fails(year, *args, **kwargs):
        if year == 2028:  # the first year has been written, in the same transaction
            raise IntegrityError("INSERT", {}, Exception("another admin loaded 2028 meanwhile"))
        return original(year, *args, **kwargs)

    monkeypatch.setattr(store, "replace_year", second_year_fails)
    response = as_admin.post(f"{url}/confirm", follow_redirects=True)
    assert "Someone else changed the calendar at the same moment" in text_of(response)
    assert calendar_snapshot() == before  # 2027 was not kept without 2028
    assert year_row(2027) is None

    monkeypatch.setattr(store, "replace_year", original)
    as_admin.post(f"{url}/confirm")  # the upload is still there: try again
    assert stored_days(2027) == STORED_2027
    assert stored_days(2028) == {date(2028, 1, 3): ("holiday", "元旦")}
    assert year_row(2028).loaded


MALFORMED = {
    "random bytes": ("2027.csv", random.Random(2027).randbytes(2048),
                     "neither an Excel workbook (.xlsx) nor a CSV text file"),
    "xls renamed": ("2027.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024),
                    "old Excel 97-2003 (.xls) file"),
    "xls": ("2027.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024),
            "Only CSV files and Excel workbooks (.xlsx) can be imported."),
    "no header": ("2027.csv", "2027-01-01,休,元旦\n2027-02-08,休,春节\n".encode(), "No header row found."),
    "empty": ("2027.csv", b"", "No header row found."),
    "zip, not a workbook": ("2027.xlsx", zipped("readme.txt", b"not a workbook"),
                            "could not be read as an Excel workbook"),
    "workbook without header": ("2027.xlsx", xlsx_bytes([[date(2027, 1, 1), "休", "元旦"]]),
                                "No header row found."),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_file_is_refused_on_the_upload_page(as_admin, import_folder, case) -> None:
    name, data, message = MALFORMED[case]
    before = calendar_snapshot()
    response = upload(as_admin, data, name)
    assert response.status_code == 200
    page = text_of(response)
    form = element(page, "form", "calendar-import-form")
    assert 'is-invalid' in form
    assert message in form
    assert calendar_snapshot() == before
    assert uploads_kept(import_folder) == []


def test_uploading_without_a_file_asks_for_one(as_admin) -> None:
    response = as_admin.post("/calendar/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 200
    assert "Choose the file to import." in element(text_of(response), "form", "calendar-import-form")


def test_a_file_with_refused_rows_cannot_be_imported(as_admin, calendar_2026, import_folder) -> None:
    rows = arrangement_rows([*ARRANGEMENT_2027[:5], ("2027-02-30", "holiday", "春节"),
                             ("2027-03-01", "maybe", "春节"), ("2027-03-02", "holiday", "")])
    before = calendar_snapshot()
    url = review_url(upload(as_admin, csv_bytes(rows), "2027.csv"))
    page = text_of(as_admin.get(url))
    assert 'id="import-blocked"' in page
    assert "3 rows are refused" in page
    refused = element(page, "table", "refused")
    assert re.findall(r"<tr><td>(\d+)</td>", refused) == ["7", "8", "9"]
    assert "“2027-02-30” is not a date" in refused
    assert "“maybe” is not a kind of day" in refused
    assert "The holiday's name is missing" in refused
    assert 'id="confirm-import"' not in page
    assert "/confirm" not in page
    assert 'id="cancel-import"' in page

    response = as_admin.post(f"{url}/confirm", follow_redirects=True)
    assert "Fix the refused rows and upload the file again." in text_of(response)
    assert calendar_snapshot() == before
    assert year_row(2027) is None


def test_a_date_outside_the_desks_years_is_refused(as_admin) -> None:
    """2207 for 2027: stored, it would load a year nobody can see or undo."""
    rows = arrangement_rows([("2207-01-01", "holiday", "元旦")])
    page = text_of(as_admin.get(review_url(upload(as_admin, csv_bytes(rows), "typo.csv"))))
    assert "Choose a day from 2000 to 2100." in element(page, "table", "refused")
    assert 'id="confirm-import"' not in page


def test_the_same_date_twice_with_another_kind_is_refused(as_admin) -> None:
    rows = arrangement_rows([("2027-02-20", "workday", "春节"), ("2027-02-20", "holiday", "春节")])
    page = text_of(as_admin.get(review_url(upload(as_admin, csv_bytes(rows), "dup.csv"))))
    assert "Row 2 gives the same date as another kind of day." in element(page, "table", "refused")
    assert 'id="confirm-import"' not in page


def test_cancel_discards_the_upload(as_admin, import_folder) -> None:
    before = calendar_snapshot()
    url = review_url(upload(as_admin, english_csv(), "2027.csv"))
    assert len(uploads_kept(import_folder)) == 2
    response = as_admin.post(f"{url}/cancel")
    assert response.status_code == 302
    assert response.headers["Location"] == "/calendar/"
    assert uploads_kept(import_folder) == []
    assert calendar_snapshot() == before

    response = as_admin.get(url, follow_redirects=True)
    assert "This upload is no longer available" in text_of(response)
    response = as_admin.post(f"{url}/confirm")
    assert response.headers["Location"] == "/calendar/import"
    assert calendar_snapshot() == before


def test_an_upload_is_only_for_the_admin_who_made_it(as_admin, sign_in, make_user) -> None:
    url = review_url(upload(as_admin, english_csv(), "2027.csv"))
    other = sign_in(make_user(Role.ADMIN, username="admin2"))
    before = calendar_snapshot()
    response = other.get(url)
    assert response.status_code == 302 and response.headers["Location"] == "/calendar/import"
    response = other.post(f"{url}/confirm")
    assert response.headers["Location"] == "/calendar/import"
    assert calendar_snapshot() == before


def test_a_file_with_few_holidays_is_flagged(as_admin) -> None:
    rows = arrangement_rows([("2027-01-01", "holiday", "元旦"), ("2027-01-02", "holiday", "元旦"),
                             ("2027-01-04", "workday", "元旦")])
    page = text_of(as_admin.get(review_url(upload(as_admin, csv_bytes(rows), "few.csv"))))
    assert "Only 1 holidays for the whole year" in page
    assert "2 rows need no entry" in page
    notes = element(page, "details", "notes")
    assert "Row 3" in notes and "Row 4" in notes
    assert listed(page, "added") == ["2027-01-01"]


def test_a_file_with_a_header_only_has_nothing_to_import(as_admin) -> None:
    url = review_url(upload(as_admin, csv_bytes([["日期", "类型", "名称"]]), "empty.csv"))
    page = text_of(as_admin.get(url))
    assert 'id="nothing-to-import"' in page
    assert 'id="confirm-import"' not in page


@pytest.mark.parametrize("locale, headers, kind, file_name", [
    ("en", ("Date", "Kind", "Name"), "holiday", "calendar-2027.xlsx"),
    ("zh_CN", ("日期", "类型", "名称"), "休", "2027年工作日历.xlsx"),
])
def test_the_template_reads_back_through_the_importer(as_admin, freeze_clock, locale, headers, kind,
                                                      file_name) -> None:
    freeze_clock("2026-11-25T10:00+08:00")
    if locale != "en":
        as_admin.post("/language", data={"locale": locale, "next": "/"})
    response = as_admin.get("/calendar/import/template.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert file_name in unquote(response.headers["Content-Disposition"])
    data = response.get_data()

    sheet = importer.read_file(data)
    assert tuple(sheet.columns[field] for field in ("day", "kind", "name")) == headers
    assert [row.values for row in sheet.rows] == [{"day": "2027-01-01", "kind": kind, "name": "元旦"}]
    plan = importer.plan(sheet)
    assert plan.refused == [] and plan.can_import
    assert [(year.year, year.days) for year in plan.years] == [
        (2027, [store.SpecialDay(date(2027, 1, 1), store.DayKind.HOLIDAY, "元旦")])]

    # and through the page
    as_admin.post("/language", data={"locale": "en", "next": "/"})
    page = text_of(as_admin.get(review_url(upload(as_admin, data, "template.xlsx"))))
    assert listed(page, "added") == ["2027-01-01"]
    assert 'id="confirm-import"' in page
