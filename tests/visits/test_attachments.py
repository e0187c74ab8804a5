"""Attachments of a visit: type and size checked with a clear message, kept while the form is shown
again, stored under the instance folder, downloaded under their original names by those who may
see the visit only."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import select

from servicedesk import attachments
from servicedesk.extensions import db
from servicedesk.models import Attachment, Demand, Role, Visit

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
PDF = b"%PDF-1.7\n" + b"1 0 obj\n" * 30


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def upload(data: bytes, name: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO(data), name


@pytest.fixture
def signed_in_officer(auth, officer, freeze_clock, calendar_2026):
    freeze_clock("2026-06-16T10:00+08:00")
    auth.login(officer)
    return officer


def stored(attachment: Attachment) -> Path:
    return attachments.path_of(attachment)


def test_files_are_stored_with_the_visit(client, signed_in_officer, visit_data, app) -> None:
    data = visit_data({"title": "用地"}, files=[upload(PNG, "现场照片.png"),
                                               upload(PDF, "signed minutes.pdf"),
                                                 upload(docx(), "纪要.DOCX")])
    response = client.post("/visits/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    visit = db.session.scalars(select(Visit)).one()
    files = list(db.session.scalars(select(Attachment).order_by(Attachment.id)))
    assert [(f.original_name, f.content_type, f.size, f.visit_id, f.demand_id) for f in files] == [
        ("现场照片.png", "image/png", len(PNG), visit.id, None),
        ("signed minutes.pdf", "application/pdf", len(PDF), visit.id, None),
        ("纪要.DOCX", attachments.TYPES["docx"], len(docx()), visit.id, None)]
    for file in files:
        path = stored(file)
        assert path.parent == Path(app.instance_path) / "uploads" / "attachments"
        assert path.name == file.stored_name and file.original_name not in path.name
        assert path.read_bytes()[:4] in (PNG[:4], PDF[:4], b"PK\x03\x04")
    assert not list((Path(app.instance_path) / "uploads" / "attachments" / "pending").glob("*.data"))


@pytest.mark.parametrize(("data", "name", "message"), [
    (b"MZ\x90\x00", "setup.exe", "only photos (.jpg, .png), PDF, Word (.doc, .docx) and Excel"),
    (PDF, "photo.png", "its content is not a .png file"),
    (b"PK\x03\x04 not really a zip", "table.xlsx", "its content is not a .xlsx file"),
    (b"", "empty.pdf", "the file is empty"),
])
def test_files_of_other_types_are_refused(client, signed_in_officer, visit_data, data, name,
                                          message) -> None:
    form = visit_data({"title": "用地"}, files=[upload(data, name), upload(PNG, "ok.png")])
    response = client.post("/visits/new", data=form, content_type="multipart/form-data")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert db.session.scalar(select(Visit)) is None
    assert db.session.scalar(select(Attachment)) is None
    assert f"{name} was not accepted: {message}" in html
    # the acceptable file is kept for the next try, ticked
    assert "ok.png" in html and 'name="kept_files"' in html and "checked" in html


def test_files_larger_than_the_limit_are_refused(client, signed_in_officer, visit_data, app,
                                                monkeypatch) -> None:
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 1000)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000 * 10 + 1024 * 1024)
    too_big = b"%PDF-" + b"x" * 1000
    form = visit_data(files=[upload(too_big, "scan.pdf")])
    html = client.post("/visits/new", data=form, content_type="multipart/form-data").get_data(as_text=True)
    assert "scan.pdf was not accepted: it is larger than 1000 B." in html
    assert db.session.scalar(select(Visit)) is None


def test_several_files_may_together_exceed_the_limit_of_one(client, signed_in_officer, visit_data, app,
                                                            monkeypatch) -> None:
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 1000)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000 * 10 + 1024 * 1024)
    files = [upload(b"%PDF-" + b"x" * 900, f"scan{i}.pdf") for i in range(3)]
    response = client.post("/visits/new", data=visit_data(files=files), content_type="multipart/form-data")
    assert response.status_code == 302
    assert len(db.session.scalars(select(Attachment)).all()) == 3


def test_files_are_kept_while_the_form_is_shown_again(client, signed_in_officer, visit_data) -> None:
    data = visit_data({"title": "用地"}, files=[upload(PNG, "照片.png")])
    del data["save"]
    data["add_demand"] = "y"
    html = client.post("/visits/new", data=data, content_type="multipart/form-data").get_data(as_text=True)
    kept = db.session.scalar(select(Attachment))
    assert kept is None
    token = html.split('name="kept_files" type="checkbox" value="')[1].split('"')[0]
    # saved later without choosing the file again
    response = client.post("/visits/new", data=visit_data({"title": "用地"}, kept_files=[token]))
    assert response.status_code == 302
    assert [a.original_name for a in db.session.scalars(select(Attachment))] == ["照片.png"]


def test_a_file_unticked_is_left_out(client, signed_in_officer, visit_data) -> None:
    data = visit_data(files=[upload(PNG, "照片.png")], place="")
    html = client.post("/visits/new", data=data, content_type="multipart/form-data").get_data(as_text=True)
    assert "照片.png" in html
    response = client.post("/visits/new", data=visit_data())  # the box unticked: no kept_files
    assert response.status_code == 302
    assert db.session.scalar(select(Attachment)) is None


def test_kept_files_of_another_user_cannot_be_taken(client, auth, signed_in_officer, make_user,
                                                    visit_data, app) -> None:
    other = make_user(Role.OFFICER)
    with app.test_request_context():
        from werkzeug.datastructures import FileStorage

        kept = attachments.keep(FileStorage(io.BytesIO(PNG), "别人的.png"), other)
    response = client.post("/visits/new", data=visit_data(kept_files=[kept.token]))
    assert response.status_code == 302
    assert db.session.scalar(select(Attachment)) is None


@pytest.fixture
def visit_with_file(client, signed_in_officer, visit_data, department):
    """A visit with one demand dispatched to `department` and one attached file."""
    from servicedesk.demands.operations import take_action
    from servicedesk.domain.lifecycle import Action
    from servicedesk.models import Demand

    files = [upload(PDF, "座谈会纪要（签字版）.pdf")]
    client.post("/visits/new", data=visit_data({"title": "用地"}, files=files),
                content_type="multipart/form-data")
    visit = db.session.scalars(select(Visit)).one()
    demand = db.session.scalars(select(Demand)).one()
    from datetime import datetime
    take_action(demand, Action.DISPATCH, signed_in_officer, {"lead_department_id": department.id,
                                                              "urgency": "normal"},
                None, datetime.fromisoformat("2026-06-16T10:00+08:00"))
    db.session.commit()
    return visit, db.session.scalars(select(Attachment)).one()


def test_the_file_is_downloaded_under_its_original_name(client, visit_with_file) -> None:
    visit, file = visit_with_file
    page = client.get(f"/visits/{visit.id}").get_data(as_text=True)
    url = f"/visits/{visit.id}/attachments/{file.id}"
    assert url in page and "座谈会纪要（签字版）.pdf" in page
    response = client.get(url)
    assert response.status_code == 200
    assert response.data == PDF
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert quote("座谈会纪要（签字版）.pdf") in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_only_those_who_may_see_the_visit_download(client, auth, visit_with_file, make_user, department,
                                                  other_department, leader) -> None:
    visit, file = visit_with_file
    url = f"/visits/{visit.id}/attachments/{file.id}"
    auth.logout()
    assert client.get(url).status_code == 302  # to the sign-in page
    stranger = make_user(Role.HANDLER, department=other_department)
    auth.login(stranger)
    assert client.get(url).status_code == 404
    assert client.get(f"/visits/{visit.id}").status_code == 404
    auth.logout()
    lead_handler = make_user(Role.HANDLER, department=department)
    auth.login(lead_handler)
    assert client.get(url).status_code == 200
    auth.logout()
    auth.login(leader)
    assert client.get(url).status_code == 200


def test_an_attachment_only_under_its_own_visit(client, visit_with_file, signed_in_officer) -> None:
    from datetime import date, datetime

    from servicedesk.visits.operations import log_visit

    visit, file = visit_with_file
    other = log_visit({"kind": "visit", "visited_on": date(2026, 6, 5), "place": "园区",
                       "lead_official": "王强"},
                      [c.id for c in visit.companies], [], signed_in_officer,
                      datetime.fromisoformat("2026-06-16T10:00+08:00"))
    db.session.commit()
    assert client.get(f"/visits/{other.id}/attachments/{file.id}").status_code == 404
    assert client.get(f"/visits/{visit.id}/attachments/{file.id + 1}").status_code == 404


def test_a_demand_logged_on_its_own_keeps_its_files(client, signed_in_officer, company, categories) -> None:
    data = {"source": "letter", "demand-company_id": str(company.id),
            "demand-category_id": str(categories[0].id), "demand-title": "来信反映用电问题",
            "demand-description": "企业来信", "demand-urgency": "normal", "save": "y",
            "files": [upload(PDF, "来信扫描件.pdf")]}
    response = client.post("/demands/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    demand = db.session.scalars(select(Demand)).one()
    file = db.session.scalars(select(Attachment)).one()
    assert (file.demand_id, file.visit_id, file.original_name) == (demand.id, None, "来信扫描件.pdf")
