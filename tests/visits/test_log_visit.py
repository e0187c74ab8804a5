"""Logging a visit with the demands raised there: one transaction, errors beside the fields,
"add another" and "remove" keeping what was typed, who may log."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from servicedesk.demands import operations
from servicedesk.demands.operations import DemandRefused, NewDemand
from servicedesk.extensions import db
from servicedesk.models import Demand, DemandEvent, Role, Visit
from servicedesk.visits import operations as visit_operations
from servicedesk.visits.operations import log_visit


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def field_value(html: str, name: str) -> str | None:
    """The value of the text input named `name` as the page shows it."""
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', html)
    if not match:
        return None
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else ""


def error_after(html: str, field_id: str) -> str:
    """The text of the invalid-feedback that follows the field with the id."""
    start = html.index(f'id="{field_id}"')
    match = re.search(r'<div class="invalid-feedback d-block">\s*([^<]*?)\s*</div>', html[start:])
    assert match, f"no error after {field_id}"
    return match.group(1)


@pytest.fixture
def signed_in_officer(auth, officer, freeze_clock, calendar_2026):
    freeze_clock("2026-06-16T10:00+08:00")
    auth.login(officer)
    return officer


def test_the_form_offers_one_demand_and_the_companies(client, signed_in_officer, company) -> None:
    page = client.get("/visits/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="demands-0-title"' in html and 'name="demands-1-title"' not in html
    assert company.name in html
    assert 'name="add_demand"' in html
    assert 'value="2026-06-16"' in html  # the date defaults to today


def test_a_visit_with_three_demands_is_saved_with_all_of_them(client, signed_in_officer, visit_data,
                                                               company, categories) -> None:
    response = client.post("/visits/new", data=visit_data(
        {"title": "新建生产线用地", "urgency": "complex"},
        {"title": "人才公寓", "category_id": str(categories[1].id)},
        {"title": "临床试验批件加快审批", "urgency": "urgent", "contact_name": "", "contact_phone": ""},
    ))
    assert response.status_code == 302
    visit = db.session.scalars(select(Visit)).one()
    assert response.headers["Location"].endswith(f"/visits/{visit.id}")
    assert (visit.kind, visit.visited_on, visit.place, visit.lead_official) == (
        "symposium", date(2026, 6, 4), "万邦医药会议室", "王强")
    assert [c.id for c in visit.companies] == [company.id]
    assert visit.created_by_id == signed_in_officer.id
    titles = [(d.title, d.urgency, d.source, d.state, d.visit_id) for d in visit.demands]
    assert titles == [("新建生产线用地", "complex", "symposium", "registered", visit.id),
                      ("人才公寓", "normal", "symposium", "registered", visit.id),
                      ("临床试验批件加快审批", "urgent", "symposium", "registered", visit.id)]
    assert visit.demands[1].category_id == categories[1].id
    assert visit.demands[2].contact_name is None
    assert [d.number for d in visit.demands] == ["2026-0001", "2026-0002", "2026-0003"]
    assert count(DemandEvent) == 3
    page = client.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert "The visit has been logged with 3 demands." in page


def test_the_visit_and_its_demands_are_one_transaction(client, signed_in_officer, visit_data,
                                                       monkeypatch) -> None:
    """A failure while writing the third demand leaves neither the visit nor the first two."""
    real = operations.log_demand
    calls = []

    def failing_on_the_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise DemandRefused({"": "the database refused"})
        return real(*args, **kwargs)

    monkeypatch.setattr(visit_operations, "log_demand", failing_on_the_third)
    response = client.post("/visits/new", data=visit_data({}, {}, {}))
    assert response.status_code == 200
    assert "the database refused" in response.get_data(as_text=True)
    assert len(calls) == 3
    assert count(Visit) == 0 and count(Demand) == 0 and count(DemandEvent) == 0


def test_a_bad_demand_saves_nothing_and_shows_the_error_beside_it(client, signed_in_officer,
                                                                  visit_data) -> None:
    response = client.post("/visits/new", data=visit_data(
        {"title": "新建生产线用地"}, {"title": "", "description": "人才子女入学"}, {"title": "扩容用电"}))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert count(Visit) == 0 and count(Demand) == 0
    assert "Nothing has been saved: correct what is marked below" in html
    assert error_after(html, "demands-1-title") == "Give the demand a short title."
    assert 'id="demands-1-title"' in html and "is-invalid" in html
    # what was typed is all still there
    assert field_value(html, "demands-0-title") == "新建生产线用地"
    assert field_value(html, "demands-2-title") == "扩容用电"
    assert "人才子女入学" in html
    assert field_value(html, "place") == "万邦医药会议室"


def test_the_visit_fields_are_checked_too(client, signed_in_officer, visit_data) -> None:
    response = client.post("/visits/new", data=visit_data(
        {}, place="", lead_official="", company_ids=[], visited_on="2026-07-01"))
    html = response.get_data(as_text=True)
    assert count(Visit) == 0
    assert error_after(html, "place") == "Say where the visit took place."
    assert error_after(html, "lead_official") == "Name the official who led the visit."
    assert error_after(html, "company_ids") == "Choose the company or companies visited."
    assert "log a visit once it has taken place" in error_after(html, "visited_on")


def test_empty_entries_are_left_out(client, signed_in_officer, visit_data) -> None:
    data = visit_data({"title": "用地"}, {"title": "", "description": "", "contact_name": "",
                                         "contact_phone": "", "category_id": ""})
    response = client.post("/visits/new", data=data)
    assert response.status_code == 302
    assert [d.title for d in db.session.scalars(select(Demand))] == ["用地"]


def test_a_visit_without_demands_can_be_logged(client, signed_in_officer, visit_data) -> None:
    response = client.post("/visits/new", data=visit_data())
    assert response.status_code == 302
    assert count(Visit) == 1 and count(Demand) == 0


def test_add_another_keeps_what_was_typed(client, signed_in_officer, visit_data) -> None:
    data = visit_data({"title": "新建生产线用地", "description": "需要50亩"})
    del data["save"]
    data["add_demand"] = "Add another demand"
    response = client.post("/visits/new", data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert count(Visit) == 0
    assert field_value(html, "demands-0-title") == "新建生产线用地"
    assert "需要50亩" in html
    assert field_value(html, "demands-1-title") == ""
    assert field_value(html, "place") == "万邦医药会议室"
    assert "invalid-feedback" not in html  # nothing was checked yet
    # the new entry's company is the visit's only company
    assert re.search(r'name="demands-1-company_id".*?<option selected value="\d+">', html, re.S)
    assert 'id="demand-1"' in html


def test_remove_takes_out_one_entry_and_keeps_the_others(client, signed_in_officer, visit_data) -> None:
    data = visit_data({"title": "第一"}, {"title": "第二"}, {"title": "第三"})
    del data["save"]
    data["remove_demand"] = "1"
    html = client.post("/visits/new", data=data).get_data(as_text=True)
    assert field_value(html, "demands-0-title") == "第一"
    assert field_value(html, "demands-1-title") == "第三"
    assert field_value(html, "demands-2-title") is None
    assert count(Visit) == 0


def test_only_officers_log_visits(client, auth, make_user, leader, handler, admin_user, visit_data) -> None:
    assert client.get("/visits/new").status_code == 302  # to the sign-in page
    for user in (leader, handler, admin_user):
        auth.login(user)
        assert client.get("/visits/new").status_code == 403
        assert client.post("/visits/new", data=visit_data({})).status_code == 403
        auth.logout()
    assert count(Visit) == 0


def test_log_visit_names_the_fields_of_each_demand(app, officer, company, categories) -> None:
    good = NewDemand(company.id, categories[0].id, "用地", "企业需要用地", "normal")
    bad = NewDemand(None, None, " ", "", "soon")
    values = {"kind": "visit", "visited_on": date(2026, 6, 4), "place": "企业", "lead_official": "王强"}
    with pytest.raises(DemandRefused) as refused:
        log_visit(values, [company.id], [good, bad], officer,
                  datetime.fromisoformat("2026-06-16T10:00+08:00"))
    assert set(refused.value.field_errors) == {"demands-1-company_id", "demands-1-category_id",
                                                "demands-1-title", "demands-1-description",
                                                "demands-1-urgency"}
    db.session.rollback()
    assert count(Visit) == 0 and count(Demand) == 0
    with pytest.raises(DemandRefused) as refused:
        log_visit({**values, "kind": "party"}, [company.id, 999_999], [], officer,
                  datetime.fromisoformat("2026-06-16T10:00+08:00"))
    assert set(refused.value.field_errors) == {"kind", "company_ids"}


def test_log_visit_takes_the_source_from_the_kind(app, officer, company, make_company, categories) -> None:
    other = make_company("徐州另一家企业", "913203009MA3Y7LLJF")
    visit = log_visit({"kind": "survey", "visited_on": date(2026, 6, 4), "place": " 企业 ",
                       "lead_official": "王强", "minutes": "  "},
                      [company.id, other.id],
                      [NewDemand(other.id, categories[0].id, "用地", "企业需要用地", "normal",
                                 source="hotline")],
                      officer, datetime.fromisoformat("2026-06-16T10:00+08:00"))
    db.session.commit()
    assert visit.place == "企业" and visit.minutes is None
    assert {c.id for c in visit.companies} == {company.id, other.id}
    assert [(d.source, d.company_id) for d in visit.demands] == [("survey", other.id)]


def test_an_officer_with_other_roles_too_may_log(client, auth, make_user) -> None:
    both = make_user(Role.LEADER, Role.OFFICER)
    auth.login(both)
    assert client.get("/visits/new").status_code == 200
