"""The duplicate check: an open demand of the same company that looks like a new one is shown
before anything is saved; the officer links the new one as its repeat or goes on."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from servicedesk.extensions import db
from servicedesk.models import Demand, Visit


@pytest.fixture
def existing(make_demand, department):
    """An open demand of the company, dispatched: 新建生产线用地."""
    return make_demand("新建生产线用地", dispatch_to=department)


@pytest.fixture
def signed_in_officer(auth, officer, freeze_clock):
    freeze_clock("2026-06-16T10:00+08:00")
    auth.login(officer)
    return officer


def demands() -> list[Demand]:
    return list(db.session.scalars(select(Demand).order_by(Demand.id)))


def test_a_similar_open_demand_is_shown_before_saving(client, signed_in_officer, existing,
                                                      visit_data) -> None:
    data = visit_data({"title": "新建生产线用地指标"}, {"title": "人才公寓"})
    response = client.post("/visits/new", data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 0
    assert demands() == [existing]
    assert 'id="demands-0-duplicate_of-check"' in html
    assert f'data-demand-id="{existing.id}"' in html
    assert existing.number in html and f"/demands/{existing.id}" in html
    assert "assigned" in html  # its state
    assert "demands-1-duplicate_of-check" not in html  # the other demand looks like none
    assert 'name="checked" type="hidden" value="1"' in html
    assert "Nothing has been saved yet" in html
    assert "is-invalid" not in html  # a question, not an error, the first time


def test_linking_as_a_duplicate(client, signed_in_officer, existing, visit_data) -> None:
    data = visit_data({"title": "新建生产线用地指标", "duplicate_of": str(existing.id)},
                      {"title": "人才公寓"},
                      checked="1")
    response = client.post("/visits/new", data=data)
    assert response.status_code == 302
    new, other = demands()[1:]
    assert new.duplicate_of_id == existing.id and other.duplicate_of_id is None
    assert new.events[0].details == {"duplicate_of": existing.id}
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"repeats {existing.number}" in page


def test_going_on_logs_a_different_demand(client, signed_in_officer, existing, visit_data) -> None:
    data = visit_data({"title": "新建生产线用地指标", "duplicate_of": "new"}, checked="1")
    assert client.post("/visits/new", data=data).status_code == 302
    assert demands()[1].duplicate_of_id is None


def test_the_officer_must_choose_once_shown(client, signed_in_officer, existing, visit_data) -> None:
    html = client.post("/visits/new", data=visit_data({"title": "新建生产线用地指标"}, checked="1")
                       ).get_data(as_text=True)
    assert len(demands()) == 1
    assert "Say whether this is the same demand as an open one" in html


def test_a_choice_of_an_unrelated_demand_is_not_taken(client, signed_in_officer, existing, make_demand,
                                                       categories, visit_data) -> None:
    unrelated = make_demand("完全不同的事情")
    data = visit_data({"title": "新建生产线用地指标", "duplicate_of": str(unrelated.id)}, checked="1")
    html = client.post("/visits/new", data=data).get_data(as_text=True)
    assert len(demands()) == 2
    assert "Say whether this is the same demand as an open one" in html


def test_closed_demands_and_other_categories_are_not_duplicates(client, signed_in_officer, existing,
                                                                 categories, visit_data) -> None:
    data = visit_data({"title": "新建生产线用地指标", "category_id": str(categories[1].id)})
    assert client.post("/visits/new", data=data).status_code == 302


def test_the_demand_form_has_the_same_check(client, signed_in_officer, existing, company,
                                            categories) -> None:
    data = {"source": "hotline", "demand-company_id": str(company.id),
            "demand-category_id": str(categories[0].id), "demand-title": "新建生产线用地",
            "demand-description": "来电反映用地问题", "demand-urgency": "normal", "save": "y"}
    html = client.post("/demands/new", data=data).get_data(as_text=True)
    assert len(demands()) == 1
    assert 'id="demand-duplicate_of-check"' in html and existing.number in html
    response = client.post("/demands/new", data={**data, "checked": "1",
                                                  "demand-duplicate_of": str(existing.id)})
    assert response.status_code == 302
    new = demands()[1]
    assert response.headers["Location"].endswith(f"/demands/{new.id}")
    assert (new.source, new.duplicate_of_id, new.visit_id) == ("hotline", existing.id, None)
