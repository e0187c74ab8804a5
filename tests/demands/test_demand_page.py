"""The demand page: what it shows, to whom, which action forms; the dispatch sheet; attachments."""

from __future__ import annotations

import io
import re
from datetime import date, datetime

import pytest

from servicedesk.demands.operations import actor_of, facts_of, take_action
from servicedesk.domain.lifecycle import Action, allowed_actions
from servicedesk.extensions import db
from servicedesk.models import Demand, Role

ACTION_FORM = re.compile(r'<form[^>]* id="action-([a-z_]+)"')
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _english(client) -> None:
    client.post("/language", data={"locale": "en", "next": "/"})


@pytest.fixture
def co_handler(make_user, other_department):
    return make_user(Role.HANDLER, username="cohandler", department=other_department, display_name="王芳")


@pytest.fixture
def stranger(make_user, make_department):
    return make_user(Role.HANDLER, username="stranger", department=make_department("商务局", "商务局"))


@pytest.fixture
def dispatched(make_demand, department, other_department) -> Demand:
    return make_demand(dispatch_to=department, co=(other_department,))


def at(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


def page_of(client, demand: Demand) -> str:
    response = client.get(f"/demands/{demand.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def timeline_of(page: str) -> str:
    return page.split('id="timeline"')[1].split("</section>")[0]


def forms_on(page: str) -> set[str]:
    return set(ACTION_FORM.findall(page))


def test_the_page_shows_the_demand(client, auth, officer, dispatched, company, department,
                                   other_department, freeze_clock) -> None:
    freeze_clock("2026-06-15T10:00+08:00")
    auth.login(officer)
    page = page_of(client, dispatched)
    assert dispatched.number in page and dispatched.title in page and dispatched.description in page
    assert f'href="/companies/{company.id}"' in page and company.name in page
    assert department.name in page and other_department.name in page
    assert 'id="demand-state" data-state="assigned"' in page
    assert 'id="deadline-sign" data-due="2026-06-16"' in page
    assert 'id="deadline-respond" data-due="2026-06-30"' in page
    assert "Why this day?" in page  # each deadline explains itself
    assert 'data-day="2026-06-19"' in page  # 端午节, skipped in counting the respond deadline
    assert re.findall(r'data-action="([a-z_]+)"', timeline_of(page)) == ["logged", "dispatch"]
    assert officer.display_name in page
    assert f'href="/demands/{dispatched.id}/sheet"' in page


def test_the_timeline_shows_who_what_and_why(client, auth, officer, handler, dispatched) -> None:
    take_action(dispatched, Action.RETURN, handler, {"reason": "不属于本部门职责"}, None,
                at("2026-06-15T11:00+08:00"))
    db.session.commit()
    auth.login(officer)
    page = page_of(client, dispatched)
    timeline = timeline_of(page)
    assert "不属于本部门职责" in timeline
    assert handler.display_name in timeline and "Department handler" in timeline
    assert "assigned → registered" in timeline
    assert "Returned by" in timeline


@pytest.mark.parametrize(("stage", "role", "expected"), [
    ("registered", "officer", {"dispatch", "comment"}),
    ("registered", "leader", {"close", "flag_key_supervision", "comment"}),
    ("assigned", "officer", {"comment"}),
    ("assigned", "leader", {"close", "flag_key_supervision", "comment"}),
    ("assigned", "handler", {"sign", "return", "progress", "comment"}),
    ("assigned", "co_handler", {"co_opinion", "progress", "comment"}),
    ("accepted", "handler", {"progress", "request_extension", "add_milestone", "respond", "comment"}),
    ("accepted", "co_handler", {"co_opinion", "progress", "comment"}),
    ("extension", "leader", {"approve_extension", "refuse_extension", "close", "flag_key_supervision",
                             "comment"}),
    ("extension", "officer", {"approve_extension", "refuse_extension", "comment"}),
    ("extension", "other_officer", {"comment"}),
    ("extension", "handler", {"progress", "add_milestone", "respond", "comment"}),
    ("responded", "officer", {"record_feedback", "comment"}),
    ("responded", "handler", {"progress", "add_milestone", "comment"}),
])
def test_each_user_sees_exactly_the_actions_allowed(stage, role, expected, client, auth, make_demand,
                                                    department, other_department, officer, leader,
                                                    handler, co_handler, make_user) -> None:
    users = {"officer": officer, "leader": leader, "handler": handler, "co_handler": co_handler,
             "other_officer": make_user(Role.OFFICER, username="officer2")}
    if stage == "registered":
        demand = make_demand()
    else:
        demand = make_demand(dispatch_to=department, co=(other_department,))
    moment = at("2026-06-15T15:00+08:00")
    if stage in ("accepted", "extension", "responded"):
        take_action(demand, Action.SIGN, handler, {}, None, moment)
    if stage == "extension":
        take_action(demand, Action.REQUEST_EXTENSION, handler, {"reason": "需要时间",
                                                                "new_due": date(2026, 7, 10)}, None, moment)
    if stage == "responded":
        take_action(demand, Action.RESPOND, handler, {"outcome": "solved", "text": "已办"}, None, moment)
    db.session.commit()
    user = users[role]
    auth.login(user)
    shown = forms_on(page_of(client, demand))
    assert shown == expected
    assert shown == {a.value for a in allowed_actions(facts_of(demand), actor_of(user))}


def test_a_pending_extension_and_milestones_are_shown(client, auth, leader, handler, dispatched) -> None:
    moment = at("2026-06-15T15:00+08:00")
    take_action(dispatched, Action.SIGN, handler, {}, None, moment)
    for title, due_on in (("完成用地预审", date(2026, 7, 1)), ("取得规划许可", date(2026, 8, 1))):
        take_action(dispatched, Action.ADD_MILESTONE, handler, {"title": title, "due_on": due_on}, None,
                    moment)
    take_action(dispatched, Action.COMPLETE_MILESTONE, handler,
                {"milestone_id": dispatched.milestones[0].id}, None, moment)
    take_action(dispatched, Action.REQUEST_EXTENSION, handler, {"reason": "需要规划调整",
                                                                "new_due": date(2026, 7, 10)}, None, moment)
    db.session.commit()
    auth.login(leader)
    page = page_of(client, dispatched)
    assert 'id="pending-extension"' in page and "需要规划调整" in page
    assert page.count('data-open="no"') == 1 and page.count('data-open="yes"') == 1
    assert "完成用地预审" in page and "取得规划许可" in page
    # the complete-milestone select offers only the open one (to the handler)
    auth.logout()
    auth.login(handler)
    page = page_of(client, dispatched)
    select = page.split('id="complete_milestone-milestone_id"')[1].split("</select>")[0]
    assert "取得规划许可" in select and "完成用地预审" not in select


def test_co_department_opinions_are_visible_to_the_lead(client, auth, handler, co_handler,
                                                       dispatched) -> None:
    take_action(dispatched, Action.CO_OPINION, co_handler, {"text": "同意配合，提供用地指标"}, None,
                at("2026-06-15T15:00+08:00"))
    db.session.commit()
    auth.login(handler)
    page = page_of(client, dispatched)
    assert "同意配合，提供用地指标" in page.split('id="co-opinions"')[1].split("</section>")[0]


def test_key_supervision_shows_its_reason(client, auth, handler, leader, dispatched) -> None:
    take_action(dispatched, Action.FLAG_KEY_SUPERVISION, leader, {"reason": "市领导关注"}, None,
                at("2026-06-15T15:00+08:00"))
    db.session.commit()
    auth.login(handler)
    page = page_of(client, dispatched)
    assert 'id="key-supervision"' in page and "市领导关注" in page


def test_a_handler_of_an_unrelated_department_gets_404(client, auth, stranger, dispatched) -> None:
    auth.login(stranger)
    assert client.get(f"/demands/{dispatched.id}").status_code == 404
    assert client.get(f"/demands/{dispatched.id}/sheet").status_code == 404


def test_co_department_handlers_see_the_page(client, auth, co_handler, dispatched) -> None:
    auth.login(co_handler)
    page_of(client, dispatched)


def test_a_missing_demand_is_404_and_anonymous_users_sign_in(client, auth, officer, dispatched) -> None:
    assert client.get(f"/demands/{dispatched.id}").status_code == 302
    auth.login(officer)
    assert client.get("/demands/999999").status_code == 404


@pytest.mark.parametrize(("moment", "card"), [
    ("2026-06-15T10:00+08:00", "yellow"),  # signing is due on the 16th: within two working days
    ("2026-06-16T23:00+08:00", "yellow"),  # the due day itself
    ("2026-06-17T09:00+08:00", "red"),  # the day after
])
def test_the_yellow_and_red_card(moment, card, client, auth, officer, dispatched, freeze_clock) -> None:
    freeze_clock(moment)
    auth.login(officer)
    page = page_of(client, dispatched)
    assert f'id="deadline-card" data-card="{card}"' in page


def test_no_card_when_the_deadline_is_far(client, auth, officer, handler, dispatched, freeze_clock) -> None:
    take_action(dispatched, Action.SIGN, handler, {}, None, at("2026-06-15T15:00+08:00"))
    db.session.commit()
    freeze_clock("2026-06-16T10:00+08:00")  # respond by the 30th
    auth.login(officer)
    assert 'id="deadline-card"' not in page_of(client, dispatched)


def test_the_page_runs_the_same_queries_for_3_or_30_events(client, auth, officer, leader, handler,
                                                           co_handler, make_demand, department,
                                                           other_department, count_queries) -> None:
    def demand_with(events: int) -> Demand:
        demand = make_demand(f"诉求{events}", dispatch_to=department, co=(other_department,))
        users = [officer, leader, handler, co_handler]
        moment = at("2026-06-15T15:00+08:00")
        take_action(demand, Action.SIGN, handler, {}, None, moment)
        for number in range(events - 3):
            take_action(demand, Action.COMMENT, users[number % len(users)], {"text": f"评论{number}"}, None,
                        moment)
        db.session.commit()
        return demand

    urls = [f"/demands/{demand_with(events).id}" for events in (3, 30)]
    auth.login(officer)
    client.get(urls[0])  # warm up: the first request loads what every request shares
    counts = []
    for url in urls:
        db.session.expire_all()
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1], counts


# The dispatch sheet

def test_the_dispatch_sheet(client, auth, handler, officer, dispatched, company, department,
                            other_department) -> None:
    auth.login(handler)
    response = client.get(f"/demands/{dispatched.id}/sheet")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'data-number="{dispatched.number}"' in page
    assert company.name in page and dispatched.title in page and dispatched.description in page
    assert department.name in page.split('id="sheet-lead"')[1].split("</td>")[0]
    assert other_department.name in page.split('id="sheet-co"')[1].split("</td>")[0]
    assert "10 working days" in page.split('id="sheet-time-limit"')[1].split("</td>")[0]
    assert 'id="sheet-due" data-due="2026-06-30"' in page
    assert officer.display_name in page.split('id="sheet-officer"')[1].split("</td>")[0]
    assert "style=" not in page and "<script>" not in page


def test_no_sheet_before_dispatch(client, auth, officer, make_demand) -> None:
    demand = make_demand()
    auth.login(officer)
    assert client.get(f"/demands/{demand.id}/sheet").status_code == 404
    assert "/sheet" not in page_of(client, demand)


def test_the_print_stylesheet_is_a4() -> None:
    from pathlib import Path

    css = (Path(__file__).resolve().parents[2] / "servicedesk" / "static" / "desk.css").read_text("utf-8")
    assert "@page { size: A4" in css


# Attachments

def upload(client, demand: Demand, data: bytes, name: str):
    return client.post(f"/demands/{demand.id}/attachments",
                       data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_attach_and_download(client, auth, handler, co_handler, stranger, dispatched) -> None:
    auth.login(handler)
    response = upload(client, dispatched, PNG, "现场照片.png")
    assert response.status_code == 302
    page = page_of(client, dispatched)
    match = re.search(rf'href="(/demands/{dispatched.id}/attachments/\d+)">现场照片.png</a>', page)
    assert match, page
    url = match.group(1)
    auth.logout()

    auth.login(co_handler)
    download = client.get(url)
    assert download.status_code == 200 and download.data == PNG
    assert "attachment" in download.headers["Content-Disposition"]
    assert "%E7%8E%B0%E5%9C%BA%E7%85%A7%E7%89%87.png" in download.headers["Content-Disposition"]
    auth.logout()

    auth.login(stranger)
    assert client.get(url).status_code == 404
    assert upload(client, dispatched, PNG, "x.png").status_code == 404


def test_an_attachment_is_only_served_under_its_own_demand(client, auth, officer, handler, dispatched,
                                                           make_demand) -> None:
    other = make_demand("另一个诉求")
    auth.login(officer)
    assert upload(client, other, PNG, "a.png").status_code == 302
    page = page_of(client, other)
    attachment_id = re.search(rf"/demands/{other.id}/attachments/(\d+)", page).group(1)
    assert client.get(f"/demands/{dispatched.id}/attachments/{attachment_id}").status_code == 404
    assert client.get(f"/demands/{other.id}/attachments/999999").status_code == 404


def test_a_refused_file_is_not_attached(client, auth, handler, dispatched) -> None:
    auth.login(handler)
    response = upload(client, dispatched, b"MZ\x90\x00", "tool.exe")
    assert response.status_code == 422
    assert "was not accepted" in response.get_data(as_text=True)
    assert 'id="attachment-list"' not in response.get_data(as_text=True)
