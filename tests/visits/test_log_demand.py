"""A demand logged on its own (hotline, letter, online, other) at /demands/new."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from servicedesk.extensions import db
from servicedesk.models import Demand, DemandEvent


@pytest.fixture
def signed_in_officer(auth, officer, freeze_clock, calendar_2026):
    freeze_clock("2026-06-16T10:00+08:00")
    auth.login(officer)
    return officer


@pytest.fixture
def demand_data(company, categories):
    def make(**values):
        data = {"source": "hotline", "demand-company_id": str(company.id),
                "demand-category_id": str(categories[0].id), "demand-title": "厂区周边道路破损",
                "demand-description": "来电反映厂区门前道路破损，影响物流车辆通行",
                "demand-urgency": "urgent",
                "demand-contact_name": "李经理", "demand-contact_phone": "13800000000", "save": "y"}
        data.update({key if key in ("source", "save", "checked") else f"demand-{key}": value
                     for key, value in values.items()})
        return data

    return make


def test_the_form_offers_the_sources_other_than_a_visit(client, signed_in_officer, company) -> None:
    html = client.get(f"/demands/new?company_id={company.id}").get_data(as_text=True)
    for source in ("hotline", "letter", "online", "other"):
        assert f'value="{source}"' in html
    assert 'value="symposium"' not in html
    assert f'<option selected value="{company.id}">' in html


def test_a_demand_is_logged_and_shown(client, signed_in_officer, demand_data, company) -> None:
    response = client.post("/demands/new", data=demand_data(source="online"))
    assert response.status_code == 302
    demand = db.session.scalars(select(Demand)).one()
    assert response.headers["Location"].endswith(f"/demands/{demand.id}")
    assert (demand.source, demand.state, demand.urgency, demand.visit_id, demand.company_id) == (
        "online", "registered", "urgent", None, company.id)
    assert (demand.contact_name, demand.contact_phone) == ("李经理", "13800000000")
    assert [e.action for e in db.session.scalars(select(DemandEvent))] == ["logged"]


def test_errors_are_shown_beside_the_fields(client, signed_in_officer, demand_data) -> None:
    html = client.post("/demands/new", data=demand_data(title="", category_id="", source="symposium")
                       ).get_data(as_text=True)
    assert db.session.scalar(select(Demand)) is None
    assert "Give the demand a short title." in html
    assert "Choose a category." in html
    assert "demands raised at a visit are logged with the visit" in html
    assert "来电反映厂区门前道路破损" in html  # kept


def test_only_officers_log_demands(client, auth, leader, handler, admin_user, demand_data) -> None:
    assert client.get("/demands/new").status_code == 302
    for user in (leader, handler, admin_user):
        auth.login(user)
        assert client.get("/demands/new").status_code == 403
        assert client.post("/demands/new", data=demand_data()).status_code == 403
        auth.logout()
    assert db.session.scalar(select(Demand)) is None
