"""The shell commands an administrator uses."""

from __future__ import annotations

from sqlalchemy import func, select

from servicedesk.auth.operations import find_user
from servicedesk.extensions import db
from servicedesk.models import ApiToken, Company, Department, Role, User


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_create_user_with_several_roles(runner) -> None:
    result = runner.invoke(args=["create-user", "Zhaolei", "--role", "leader", "--role", "officer",
                                 "--password", "a long enough password"])
    assert result.exit_code == 0, result.output
    user = find_user("zhaolei")
    assert user.roles == {Role.LEADER, Role.OFFICER}


def test_create_handler_in_a_department_as_its_head(runner, department) -> None:
    result = runner.invoke(args=["create-user", "chenjing", "--role", "handler", "--department",
                                 "资规分局", "--head", "--password", "a long enough password"])
    assert result.exit_code == 0, result.output
    user = find_user("chenjing")
    assert user.department_id == department.id
    assert user.is_department_head


def test_create_user_prompts_for_the_password(runner) -> None:
    result = runner.invoke(args=["create-user", "wangmin", "--role", "admin"],
                           input="a long enough password\na long enough password\n")
    assert result.exit_code == 0, result.output
    assert "Password" in result.output
    assert find_user("wangmin") is not None


def test_create_user_refusals_change_nothing(runner, department) -> None:
    before = _count(User)
    for args in (
        ["create-user", "x1", "--role", "handler", "--password", "a long enough password"],
        ["create-user", "x2", "--role", "handler", "--department", "没有的部门",
         "--password", "a long enough password"],
        ["create-user", "x3", "--role", "officer", "--password", "short"],
        ["create-user", "x4", "--role", "superuser", "--password", "a long enough password"],
    ):
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
    assert _count(User) == before


def test_create_token_prints_the_token_alone_on_the_last_line(runner, client, officer) -> None:
    result = runner.invoke(args=["create-token", "officer", "--name", "hotline bridge"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("sdk_") and " " not in token
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.get_json()["username"] == "officer"
    assert db.session.scalar(select(ApiToken.name)) == "hotline bridge"


def test_create_token_for_unknown_user_fails(runner) -> None:
    assert runner.invoke(args=["create-token", "nobody"]).exit_code != 0


def test_seed_demo_tells_the_story_and_twice_adds_nothing(app, runner, tmp_path) -> None:
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "zhangwei" in first.output
    counts = (_count(User), _count(Department), _count(Company))
    assert counts[1] >= 12 and counts[2] >= 10
    wanbang = db.session.scalar(select(Company).where(Company.credit_code == "913203052MACL12THK"))
    assert wanbang.name == "江苏万邦生化医药集团有限责任公司"
    roles = set().union(*(u.roles for u in db.session.scalars(select(User))))
    assert roles == set(Role)
    logins = (app.instance_path + "/demo-logins.txt")
    with open(logins, encoding="utf-8") as handle:
        assert "zhaolei" in handle.read()
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    assert (_count(User), _count(Department), _count(Company)) == counts


def test_the_demo_walks_the_symposium_demands_through_every_state_and_side_path(runner) -> None:
    from servicedesk.models import Demand, DemandEvent, ExtensionRequest, Visit

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    visit = db.session.scalar(select(Visit))
    assert visit.visited_on.isoformat() == "2026-06-04" and visit.kind == "symposium"
    assert len(visit.demands) == 5
    demands = db.session.scalars(select(Demand)).all()
    assert {d.state for d in demands} == {"registered", "assigned", "accepted", "responded", "closed"}
    actions = set(db.session.scalars(select(DemandEvent.action)))
    assert {"dispatch", "sign", "return", "co_opinion", "progress", "request_extension",
            "approve_extension", "add_milestone", "complete_milestone", "respond", "record_feedback",
            "close", "flag_key_supervision"} <= actions
    assert any(d.returns_count for d in demands) and any(d.reopen_count for d in demands)
    assert {d.close_reason for d in demands} >= {"satisfied", "duplicate"}
    assert db.session.scalar(select(ExtensionRequest.status)) == "approved"
    events = _count(DemandEvent)
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert _count(DemandEvent) == events and _count(Demand) == len(demands)


def test_demo_passwords_work(runner, client, auth) -> None:
    runner.invoke(args=["seed-demo", "--password", "demo password 2026"])
    assert auth.login("zhangwei", "demo password 2026").status_code == 302
