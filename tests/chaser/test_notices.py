"""Escalation notices: numbered per level and year, printable, listed on the demand's page, seen by
whoever may see the demand."""

from __future__ import annotations

import html
from datetime import date

import pytest
from sqlalchemy import select

from servicedesk.chaser.tick import run_tick
from servicedesk.extensions import db
from servicedesk.models import EscalationNotice, Role
from tests.chaser.tick_helpers import SCENARIO_NOW, build_scenario, moment


@pytest.fixture
def escalated(make_demand, make_user, department, other_department, handler, officer, leader):
    scenario = build_scenario(make_demand, make_user, department, other_department, handler, officer, leader)
    run_tick(moment(SCENARIO_NOW))
    notices = db.session.scalars(select(EscalationNotice).order_by(EscalationNotice.id)).all()
    return scenario, notices


def _english(client) -> None:
    client.post("/language", data={"locale": "en", "next": "/"})


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_the_demand_page_lists_its_notices(client, auth, escalated) -> None:
    scenario, notices = escalated
    auth.login(scenario.handler)
    page = _text(client.get(f"/demands/{scenario.overdue.id}"))
    assert 'id="notices"' in page
    for notice in notices:
        assert f'id="notice-{notice.id}" data-level="{notice.level}"' in page
        assert f"/demands/{scenario.overdue.id}/notices/{notice.id}" in page
    assert 'id="notices"' not in _text(client.get(f"/demands/{scenario.accepted.id}"))


def test_a_head_notice_is_printable_and_addressed_to_the_head(client, auth, escalated) -> None:
    scenario, notices = escalated
    head_notice = notices[0]
    auth.login(scenario.handler)
    _english(client)
    response = client.get(f"/demands/{scenario.overdue.id}/notices/{head_notice.id}")
    assert response.status_code == 200
    page = _text(response)
    assert 'data-level="head"' in page and 'data-number="催办〔2026〕0001"' in page
    assert "Reminder notice (催办通知书)" in page
    assert scenario.head.display_name in page and scenario.department.name in page
    assert scenario.overdue.number in page and scenario.overdue.title in page
    assert 'data-deadline="sign" data-due="2026-06-16"' in page and 'data-days="8"' in page
    assert "8 working days" in page
    assert 'class="dispatch-sheet escalation-notice"' in page and "data-print" in page
    assert "style=" not in page and "<script>" not in page


def test_a_leadership_notice_is_a_supervision_notice(client, auth, escalated) -> None:
    scenario, notices = escalated
    auth.login(scenario.leader)
    _english(client)
    page = _text(client.get(f"/demands/{scenario.overdue.id}/notices/{notices[1].id}"))
    assert 'data-level="leadership"' in page and "督办〔2026〕0001" in page
    assert "Supervision notice (督办单)" in page


def test_notices_are_seen_only_by_those_who_see_the_demand(client, auth, escalated, make_user) -> None:
    scenario, notices = escalated
    url = f"/demands/{scenario.overdue.id}/notices/{notices[0].id}"
    assert client.get(url).status_code == 302  # to the login page
    auth.login(scenario.other_handler)  # the other department's handler: not lead, not co
    assert client.get(url).status_code == 404
    auth.logout()
    auth.login(scenario.officer)
    assert client.get(url).status_code == 200
    # A notice only under its own demand; an unknown one is not found.
    assert client.get(f"/demands/{scenario.accepted.id}/notices/{notices[0].id}").status_code == 404
    assert client.get(f"/demands/{scenario.overdue.id}/notices/9999").status_code == 404
    assert client.get(f"/demands/9999/notices/{notices[0].id}").status_code == 404


def test_numbers_run_per_level_through_the_year(escalated, make_demand, department) -> None:
    later = make_demand("生产基地用电增容", dispatch_to=department)
    run_tick(moment("2026-06-30T09:00+08:00"))
    numbers = [(n.demand_id, n.number) for n in db.session.scalars(
        select(EscalationNotice).order_by(EscalationNotice.id))]
    scenario = escalated[0]
    assert numbers[:2] == [(scenario.overdue.id, "催办〔2026〕0001"),
                           (scenario.overdue.id, "督办〔2026〕0001")]
    # 30 June: the milestone due on the 29th goes to the head; the new demand's signing (due 16 June)
    # to its head and to leadership at once.
    assert numbers[2:] == [(scenario.accepted.id, "催办〔2026〕0002"), (later.id, "催办〔2026〕0003"),
                           (later.id, "督办〔2026〕0002")]
    # A new year starts again at 0001.
    next_year = make_demand("园区道路限行影响货车通行", dispatch_to=department)
    next_year.sign_due = next_year.current_due = date(2026, 12, 30)
    db.session.commit()
    run_tick(moment("2027-01-05T09:00+08:00"))
    head, leadership = db.session.scalars(select(EscalationNotice.number).where(
        EscalationNotice.demand_id == next_year.id).order_by(EscalationNotice.id)).all()
    # reached on 31 December 2026, and on 4 January 2027 (2027 is not loaded: Monday to Friday)
    assert head.startswith("催办〔2026〕") and leadership == "督办〔2027〕0001"


def test_numbers_go_on_past_9999(escalated) -> None:
    from servicedesk.chaser.notices import Numbering

    _scenario, notices = escalated
    notices[0].number, notices[1].number = "催办〔2026〕10000", "催办〔2026〕9999"
    db.session.commit()
    numbering = Numbering()
    assert numbering.next("head", 2026) == "催办〔2026〕10001"
    assert numbering.next("head", 2026) == "催办〔2026〕10002"


def test_handler_heads_of_a_department_are_found(make_user, department) -> None:
    from servicedesk.chaser.notices import head_of

    head = make_user(Role.HANDLER, department=department, is_head=True)
    assert head_of(department.id) == head and head_of(None) is None
