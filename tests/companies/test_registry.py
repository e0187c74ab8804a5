"""The registry pages: list, search, company page, registering and editing, who may do what."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select

from servicedesk.companies.operations import register_company, update_company
from servicedesk.domain.credit_code import check_character
from servicedesk.extensions import db
from servicedesk.models import AuditEvent, Company


def valid_code(number: int) -> str:
    first = f"9132030{number:010d}"
    return first + check_character(first)


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def company_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Company))


def set_english(client) -> None:
    client.post("/language", data={"locale": "en", "next": "/"})


FORM = {"name": "徐州云帆物流有限公司", "short_name": "云帆物流", "address": "徐州经开区高新路 8 号",
        "industry": "现代物流", "contact_person": "王芳", "contact_phone": "0516-87000002"}


# The list and the search

def test_list_shows_companies_with_their_codes(client, auth, handler, company, make_company) -> None:
    make_company("徐州云帆物流有限公司", "913203024MAD4H3J9X")
    auth.login(handler)
    response = client.get("/companies/")
    assert response.status_code == 200
    page = text_of(response)
    assert "江苏万邦生化医药集团有限责任公司" in page and "徐州云帆物流有限公司" in page
    assert '<td class="credit-code text-nowrap">913203052MACL12THK</td>' in page
    assert "table-responsive" in page


@pytest.mark.parametrize(("query", "found", "not_found"), [
    ("万邦", "江苏万邦生化医药集团有限责任公司", "徐州云帆物流有限公司"),
    ("云帆", "徐州云帆物流有限公司", "江苏万邦生化医药集团有限责任公司"),
    ("MAD4H3", "徐州云帆物流有限公司", "江苏万邦生化医药集团有限责任公司"),  # part of the code
    ("mad4h3", "徐州云帆物流有限公司", "江苏万邦生化医药集团有限责任公司"),  # typed in lower case
    ("052MACL", "江苏万邦生化医药集团有限责任公司", "徐州云帆物流有限公司"),
])
def test_search_by_part_of_name_or_code(client, auth, officer, company, make_company,
                                        query, found, not_found) -> None:
    make_company("徐州云帆物流有限公司", "913203024MAD4H3J9X")
    auth.login(officer)
    page = text_of(client.get("/companies/", query_string={"q": query}))
    assert found in page
    assert not_found not in page


def test_search_without_match_says_so(client, auth, officer, company) -> None:
    auth.login(officer)
    set_english(client)
    page = text_of(client.get("/companies/", query_string={"q": "不存在的企业"}))
    assert "No company matches your search" in page
    assert "江苏万邦" not in page


def test_list_is_paginated(client, auth, officer) -> None:
    for number in range(30):
        register_company(valid_code(number), {"name": f"企业{number:02d}"})
    db.session.commit()
    auth.login(officer)
    first = text_of(client.get("/companies/"))
    second = text_of(client.get("/companies/", query_string={"page": 2}))
    assert "企业00" in first and "企业24" in first and "企业25" not in first
    assert "企业25" in second and "企业29" in second and "企业00" not in second
    assert "page=2" in first


@pytest.mark.parametrize("url", ["/companies/", "/companies/?q=企业"])
def test_list_runs_a_fixed_number_of_queries(client, auth, officer, count_queries, url) -> None:
    def queries_with(total: int) -> int:
        existing = company_count()
        for number in range(existing, total):
            register_company(valid_code(number), {"name": f"企业{number:02d}", "industry": "制造"})
        db.session.commit()
        with count_queries() as counter:
            response = client.get(url)
        assert response.status_code == 200
        assert text_of(response).count('<td class="credit-code') == min(total, 25)
        return counter.count

    auth.login(officer)
    assert queries_with(3) == queries_with(30)


def test_company_page_runs_a_fixed_number_of_queries(client, auth, officer, company,
                                                     count_queries) -> None:
    auth.login(officer)

    def queries() -> int:
        with count_queries() as counter:
            assert client.get(f"/companies/{company.id}").status_code == 200
        return counter.count

    few = queries()
    for number in range(8):
        update_company(company, {"contact_phone": f"0516-8700000{number}"}, company.version)
        db.session.commit()
    assert queries() == few


def test_signed_out_visitor_is_sent_to_login(client, company) -> None:
    response = client.get("/companies/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


# The company page

def test_company_page_shows_details_and_history(client, auth, handler, company) -> None:
    auth.login(handler)
    set_english(client)
    page = text_of(client.get(f"/companies/{company.id}"))
    assert "万邦医药" in page and "生物医药" in page and "913203052MACL12THK" in page
    assert "Registered" in page
    assert client.get("/companies/99999").status_code == 404


def test_buttons_only_for_those_who_may_use_them(client, auth, officer, handler, company) -> None:
    auth.login(handler)
    assert 'id="new-company"' not in text_of(client.get("/companies/"))
    assert 'id="import-companies"' not in text_of(client.get("/companies/"))
    assert 'id="edit-company"' not in text_of(client.get(f"/companies/{company.id}"))
    auth.logout()
    auth.login(officer)
    assert 'id="new-company"' in text_of(client.get("/companies/"))
    assert 'id="import-companies"' in text_of(client.get("/companies/"))
    assert 'id="edit-company"' in text_of(client.get(f"/companies/{company.id}"))


def test_handler_and_leader_may_look_but_not_change(client, auth, handler, leader, company) -> None:
    for user in (handler, leader):
        auth.login(user)
        assert client.get("/companies/").status_code == 200
        assert client.get(f"/companies/{company.id}").status_code == 200
        assert client.get("/companies/new").status_code == 403
        assert client.post("/companies/new", data={"credit_code": "913203024MAD4H3J9X",
                                                   **FORM}).status_code == 403
        assert client.get(f"/companies/{company.id}/edit").status_code == 403
        assert client.post(f"/companies/{company.id}/edit",
                           data={"version": company.version, "name": "改名"}).status_code == 403
        assert client.get("/companies/import").status_code == 403
        assert client.get("/companies/import/template.xlsx").status_code == 403
        auth.logout()
    assert company_count() == 1
    assert db.session.get(Company, company.id).name == "江苏万邦生化医药集团有限责任公司"


# Registering

def test_officer_registers_a_company(client, auth, officer) -> None:
    auth.login(officer)
    assert client.get("/companies/new").status_code == 200
    response = client.post("/companies/new", data={"credit_code": " 913203024mad4h3j9x ", **FORM})
    assert response.status_code == 302
    company = db.session.scalar(select(Company))
    assert company.credit_code == "913203024MAD4H3J9X"
    assert company.name == "徐州云帆物流有限公司" and company.contact_phone == "0516-87000002"
    assert response.headers["Location"].endswith(f"/companies/{company.id}")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "company.registered"))
    assert event.actor_id == officer.id and event.subject_id == company.id


def test_admin_may_register_too(client, auth, admin_user) -> None:
    auth.login(admin_user)
    response = client.post("/companies/new", data={"credit_code": "913203024MAD4H3J9X", **FORM})
    assert response.status_code == 302
    assert company_count() == 1


@pytest.mark.parametrize(("code", "message"), [
    ("913203024MAD4H3J9", "The credit code must have 18 characters; this one has 17."),
    ("913203024MAD4H3J9XX", "The credit code must have 18 characters; this one has 19."),
    ("913203024MAI4H3J9X", "Character 12, 'I', cannot appear in a credit code"),
    ("913203024MAD4H3J9A", "The check character (the 18th) is 'A' but the first 17 characters call "
                           "for 'X'"),
])
def test_wrong_code_is_refused_next_to_the_field(client, auth, officer, code, message) -> None:
    auth.login(officer)
    set_english(client)
    response = client.post("/companies/new", data={"credit_code": code, **FORM})
    assert response.status_code == 200
    page = text_of(response)
    assert f'<div class="invalid-feedback d-block">{message}' in page
    assert 'id="credit_code"' in page and "is-invalid" in page
    assert 'value="徐州云帆物流有限公司"' in page  # what was typed is kept
    assert company_count() == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action.like("company.%"))) == 0


def test_missing_name_and_code_are_refused(client, auth, officer) -> None:
    auth.login(officer)
    set_english(client)
    page = text_of(client.post("/companies/new", data={"credit_code": "", "name": ""}))
    assert "Enter the 18-character unified social credit code." in page
    assert "Enter the company's registered name." in page
    assert company_count() == 0


def test_same_code_twice_is_refused(client, auth, officer, company) -> None:
    auth.login(officer)
    set_english(client)
    page = text_of(client.post("/companies/new", data={"credit_code": "913203052MACL12THK",
                                                       "name": "另一家企业"}))
    assert "A company with this credit code is already registered: 江苏万邦生化医药集团有限责任公司" in page
    assert company_count() == 1


# Editing

def test_officer_edits_a_company(client, auth, officer, company) -> None:
    auth.login(officer)
    form = text_of(client.get(f"/companies/{company.id}/edit"))
    assert f'name="version" type="hidden" value="{company.version}"' in form
    response = client.post(f"/companies/{company.id}/edit", data={
        "version": company.version, "name": company.name, "short_name": "万邦",
        "industry": "生物医药", "contact_person": "李博", "contact_phone": "0516-87000001"})
    assert response.status_code == 302
    db.session.expire_all()
    changed = db.session.get(Company, company.id)
    assert (changed.short_name, changed.contact_person) == ("万邦", "李博")
    assert changed.credit_code == "913203052MACL12THK"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "company.updated"))
    assert event.details["short_name"] == ["万邦医药", "万邦"]
    assert "李博" in text_of(client.get(f"/companies/{company.id}"))


def test_edit_cannot_change_the_credit_code(client, auth, officer, company) -> None:
    auth.login(officer)
    client.post(f"/companies/{company.id}/edit", data={
        "version": company.version, "name": company.name, "credit_code": "913203024MAD4H3J9X"})
    db.session.expire_all()
    assert db.session.get(Company, company.id).credit_code == "913203052MACL12THK"


def test_edit_refuses_an_empty_name(client, auth, officer, company) -> None:
    auth.login(officer)
    set_english(client)
    response = client.post(f"/companies/{company.id}/edit",
                           data={"version": company.version, "name": "  "})
    assert response.status_code == 200
    assert "Enter the company's registered name." in text_of(response)
    db.session.expire_all()
    assert db.session.get(Company, company.id).name == "江苏万邦生化医药集团有限责任公司"


def test_stale_edit_is_refused_and_changes_nothing(client, auth, officer, company) -> None:
    auth.login(officer)
    set_english(client)
    seen = company.version
    update_company(company, {"contact_person": "李博"}, seen)  # someone else saves first
    db.session.commit()
    response = client.post(f"/companies/{company.id}/edit", data={
        "version": seen, "name": "被覆盖的名称", "contact_person": "张三"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/companies/{company.id}/edit")
    page = text_of(client.get(response.headers["Location"]))
    assert "Someone else changed this company while you were editing it" in page
    db.session.expire_all()
    current = db.session.get(Company, company.id)
    assert (current.name, current.contact_person) == ("江苏万邦生化医药集团有限责任公司", "李博")
    assert f'value="{current.version}"' in page  # the form now carries the current version
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "company.updated")) == 1
