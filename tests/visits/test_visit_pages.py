"""The list of visits and a visit's page: what they show, to whom, in a fixed number of queries."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from servicedesk.demands.operations import NewDemand, take_action
from servicedesk.domain.lifecycle import Action
from servicedesk.extensions import db
from servicedesk.models import Category
from servicedesk.visits.operations import log_visit

NOW = datetime.fromisoformat("2026-06-16T10:00+08:00")


@pytest.fixture
def make_visit(officer, company, calendar_2026):
    category = db.session.scalars(select(Category).order_by(Category.position)).first()

    def make(day: date = date(2026, 6, 4), titles: tuple[str, ...] = ("用地",), companies=None,
             dispatch_to=None, kind: str = "symposium"):
        visit = log_visit({"kind": kind, "visited_on": day, "place": "会议室", "lead_official": "王强"},
                          [c.id for c in companies or [company]],
                          [NewDemand(company.id, category.id, title, f"{title}的说明", "normal")
                           for title in titles], officer, NOW)
        if dispatch_to is not None:
            for demand in visit.demands:
                take_action(demand, Action.DISPATCH, officer, {"lead_department_id": dispatch_to.id,
                                                               "urgency": "normal"}, None, NOW)
        db.session.commit()
        return visit

    return make


def test_the_list_shows_visits_newest_first_with_companies_and_counts(client, auth, officer, make_visit,
                                                                      make_company, company) -> None:
    other = make_company("徐州另一家企业", "913203009MA3Y7LLJF", short_name="另一家")
    older = make_visit(date(2026, 5, 20), titles=())
    newer = make_visit(date(2026, 6, 4), titles=("用地", "人才"), companies=[company, other])
    auth.login(officer)
    html = client.get("/visits/").get_data(as_text=True)
    assert html.index(f'data-visit-id="{newer.id}"') < html.index(f'data-visit-id="{older.id}"')
    assert "万邦医药" in html and "另一家" in html
    assert 'data-total="2" data-open="2"' in html and 'data-total="0" data-open="0"' in html
    assert "2 visits logged." in html
    assert 'id="new-visit"' in html


def test_the_list_is_paginated(client, auth, officer, make_visit) -> None:
    for days in range(22):
        make_visit(date(2026, 6, 4) - timedelta(days=days), titles=())
    auth.login(officer)
    first = client.get("/visits/").get_data(as_text=True)
    assert first.count("data-visit-id=") == 20 and "Page 1 of 2" in first
    second = client.get("/visits/?page=2").get_data(as_text=True)
    assert second.count("data-visit-id=") == 2


@pytest.mark.parametrize("role", ["officer", "handler"])
def test_the_list_runs_a_fixed_number_of_queries(client, auth, officer, handler, department, make_visit,
                                                 count_queries, role) -> None:
    auth.login(officer if role == "officer" else handler)
    counts = []
    made = 0
    for size in (2, 12):
        while made < size:
            make_visit(date(2026, 6, 1) - timedelta(days=made), titles=("用地", "人才"),
                       dispatch_to=department)
            made += 1
        db.session.expire_all()
        with count_queries() as counter:
            html = client.get("/visits/").get_data(as_text=True)
        assert html.count("data-visit-id=") == size
        counts.append(counter.count)
    # the user, their roles (and department), the count, the page, its companies, its demand counts
    assert counts[0] == counts[1] <= 8, counts


def test_handlers_see_only_visits_with_their_demands(client, auth, make_visit, make_user, department,
                                                     other_department, handler) -> None:
    theirs = make_visit(titles=("用地",), dispatch_to=department)
    others = make_visit(titles=("人才",), dispatch_to=other_department)
    undispatched = make_visit(titles=("审批",))
    auth.login(handler)
    html = client.get("/visits/").get_data(as_text=True)
    assert f'data-visit-id="{theirs.id}"' in html
    assert f'data-visit-id="{others.id}"' not in html and f'data-visit-id="{undispatched.id}"' not in html
    assert 'id="new-visit"' not in html
    assert client.get(f"/visits/{theirs.id}").status_code == 200
    assert client.get(f"/visits/{others.id}").status_code == 404
    assert client.get(f"/visits/{undispatched.id}").status_code == 404
    assert client.get("/visits/999999").status_code == 404


def test_a_handler_sees_only_their_demands_of_a_visit(client, auth, make_visit, officer, department,
                                                      other_department, handler) -> None:
    visit = make_visit(titles=("用地", "人才"))
    take_action(visit.demands[0], Action.DISPATCH, officer, {"lead_department_id": department.id,
                                                              "urgency": "normal"}, None, NOW)
    take_action(visit.demands[1], Action.DISPATCH, officer, {"lead_department_id": other_department.id,
                                                              "urgency": "normal"}, None, NOW)
    db.session.commit()
    auth.login(handler)
    html = client.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert f'data-demand-id="{visit.demands[0].id}"' in html
    assert f'data-demand-id="{visit.demands[1].id}"' not in html


def test_the_visit_page_shows_everything(client, auth, officer, leader, make_visit, department) -> None:
    visit = make_visit(titles=("新建生产线用地", "人才公寓"), dispatch_to=department)
    visit.officials, visit.company_attendees, visit.minutes = "李淑侠、张伟", "董事长", "第一行\n第二行"
    db.session.commit()
    auth.login(leader)
    html = client.get(f"/visits/{visit.id}").get_data(as_text=True)
    for text in ("Symposium", "会议室", "王强", "李淑侠、张伟", "董事长", "第一行\n第二行",
                 "江苏万邦生化医药集团有限责任公司", "新建生产线用地", "人才公寓", "2026-06-04",
                 department.short_name, "assigned", "No files are attached."):
        assert text in html, text
    for demand in visit.demands:
        assert demand.number in html
        assert f"/demands/{demand.id}" in html


def test_the_visit_page_of_a_visit_without_demands(client, auth, officer, make_visit, handler) -> None:
    visit = make_visit(titles=())
    auth.login(officer)
    html = client.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert 'id="no-demands"' in html
    auth.logout()
    auth.login(handler)
    assert client.get(f"/visits/{visit.id}").status_code == 404


def test_the_list_needs_signing_in(client) -> None:
    assert client.get("/visits/").status_code == 302
