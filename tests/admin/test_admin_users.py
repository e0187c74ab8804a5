"""Creating, editing, deactivating users and resetting their passwords."""

from urllib.parse import urlparse

import pytest
from flask.testing import FlaskClient

from servicedesk.admin.operations import Refused, create_user, update_user
from servicedesk.auth.operations import count_live_sessions, find_user
from servicedesk.extensions import db
from servicedesk.models import Role, User
from tests.conftest import PASSWORD, AuthActions

NEW_PASSWORD = "another long secret"


@pytest.fixture
def as_admin(auth, admin_user) -> FlaskClient:
    auth.login(admin_user)
    return auth.client


def _form(**values):
    data = {"display_name": "王浩", "email": "wanghao@example.cn", "phone": "0516-87000002",
            "roles": ["officer"], "department": "0", "password": PASSWORD}
    data.update(values)
    return {key: value for key, value in data.items() if value is not None}


def _signed_in_elsewhere(app, user: User) -> FlaskClient:
    other = app.test_client()
    assert AuthActions(other).login(user).status_code == 302
    assert other.get("/").status_code == 200
    return other


def _is_sent_to_login(response) -> bool:
    return response.status_code == 302 and urlparse(response.headers["Location"]).path == "/auth/login"


def test_create_user_with_several_roles(as_admin, department) -> None:
    response = as_admin.post("/admin/users/new", data=_form(
        username="WangHao", roles=["handler", "leader"], department=str(department.id),
        is_department_head="y"))
    assert response.status_code == 302
    user = find_user("wanghao")
    assert user is not None and user.username == "wanghao"
    assert user.roles == {Role.HANDLER, Role.LEADER}
    assert user.department_id == department.id and user.is_department_head
    assert user.email == "wanghao@example.cn"
    assert "王浩" in as_admin.get("/admin/users").get_data(as_text=True)


def test_new_user_can_sign_in(client, as_admin) -> None:
    as_admin.post("/admin/users/new", data=_form(username="liuyang"))
    client.post("/auth/logout")
    assert AuthActions(client).login("liuyang").status_code == 302


def test_handler_without_department_is_refused(as_admin) -> None:
    response = as_admin.post("/admin/users/new", data=_form(username="nodept", roles=["handler"]))
    assert response.status_code == 200
    assert "A department handler must belong to a department." in response.get_data(as_text=True)
    assert find_user("nodept") is None


def test_no_role_is_refused(as_admin) -> None:
    response = as_admin.post("/admin/users/new", data=_form(username="noroles", roles=[]))
    assert "Choose at least one role." in response.get_data(as_text=True)
    assert find_user("noroles") is None


def test_duplicate_user_name_is_refused(as_admin, officer) -> None:
    response = as_admin.post("/admin/users/new", data=_form(username="Officer", display_name="另一个"))
    assert response.status_code == 200
    assert "The user name officer is taken." in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(User)
                             .where(User.display_name == "另一个")) == 0


def test_short_password_is_refused(as_admin) -> None:
    response = as_admin.post("/admin/users/new", data=_form(username="shorty", password="short"))
    assert "The password must have at least 10 characters." in response.get_data(as_text=True)
    assert find_user("shorty") is None


def _edit_form(user: User, **values):
    data = {"display_name": user.display_name, "email": user.email or "", "phone": user.phone or "",
            "roles": sorted(r.value for r in user.roles),
            "department": str(user.department_id or 0), "version": str(user.version)}
    if user.is_department_head:
        data["is_department_head"] = "y"
    data.update(values)
    return data


def test_edit_page_shows_current_values_and_live_sessions(app, as_admin, officer) -> None:
    _signed_in_elsewhere(app, officer)
    _signed_in_elsewhere(app, officer)
    page = as_admin.get(f"/admin/users/{officer.id}").get_data(as_text=True)
    assert 'value="张伟"' in page
    assert 'name="version" type="hidden" value="1"' in page
    assert 'id="live-sessions">2 devices<' in page
    assert count_live_sessions(officer) == 2


def test_edit_roles(as_admin, officer, department) -> None:
    response = as_admin.post(f"/admin/users/{officer.id}", data=_edit_form(
        officer, roles=["officer", "handler"], department=str(department.id), display_name="张伟伟"))
    assert response.status_code == 302
    db.session.expire_all()
    assert officer.roles == {Role.OFFICER, Role.HANDLER}
    assert officer.department_id == department.id
    assert officer.display_name == "张伟伟"
    assert officer.version == 2


def test_removing_the_handler_role_clears_the_department(as_admin, handler) -> None:
    as_admin.post(f"/admin/users/{handler.id}", data=_edit_form(handler, roles=["officer"]))
    db.session.expire_all()
    assert handler.roles == {Role.OFFICER}
    assert handler.department_id is None


def test_stale_edit_is_refused_and_changes_nothing(as_admin, officer) -> None:
    stale = _edit_form(officer, display_name="旧的改动")
    update_user(officer, {"display_name": "别人改的"}, {Role.OFFICER}, officer.version)
    db.session.commit()
    response = as_admin.post(f"/admin/users/{officer.id}", data=stale, follow_redirects=True)
    assert "Someone else changed this user" in response.get_data(as_text=True)
    db.session.expire_all()
    assert officer.display_name == "别人改的"


def test_edit_errors_are_shown_on_the_fields(as_admin, officer) -> None:
    response = as_admin.post(f"/admin/users/{officer.id}",
                             data=_edit_form(officer, roles=["handler"], email="not-an-address"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Enter an email address such as name@example.cn." in page
    assert "is-invalid" in page
    db.session.expire_all()
    assert officer.roles == {Role.OFFICER}


def test_admin_cannot_drop_own_admin_role(as_admin, admin_user) -> None:
    response = as_admin.post(f"/admin/users/{admin_user.id}", data=_edit_form(admin_user, roles=["leader"]))
    assert "You cannot remove your own administrator role." in response.get_data(as_text=True)
    db.session.expire_all()
    assert admin_user.roles == {Role.ADMIN}


def test_deactivate_signs_out_and_locks_out(app, client, as_admin, officer) -> None:
    elsewhere = _signed_in_elsewhere(app, officer)
    response = as_admin.post(f"/admin/users/{officer.id}/deactivate", follow_redirects=True)
    assert "has been deactivated" in response.get_data(as_text=True)
    db.session.expire_all()
    assert not officer.active
    assert count_live_sessions(officer) == 0
    assert _is_sent_to_login(elsewhere.get("/"))
    fresh = app.test_client()
    attempt = AuthActions(fresh).login(officer)
    assert attempt.status_code == 200
    assert "该账号已停用" in attempt.get_data(as_text=True)  # a fresh browser is in Chinese
    assert _is_sent_to_login(fresh.get("/"))


def test_reactivate_lets_the_user_back_in(app, as_admin, officer) -> None:
    as_admin.post(f"/admin/users/{officer.id}/deactivate")
    as_admin.post(f"/admin/users/{officer.id}/reactivate")
    db.session.expire_all()
    assert officer.active
    assert AuthActions(app.test_client()).login(officer).status_code == 302


def test_admin_cannot_deactivate_themselves(as_admin, admin_user) -> None:
    response = as_admin.post(f"/admin/users/{admin_user.id}/deactivate", follow_redirects=True)
    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    db.session.expire_all()
    assert admin_user.active
    assert as_admin.get("/admin/users").status_code == 200


def test_reset_password_ends_sessions(app, as_admin, officer) -> None:
    elsewhere = _signed_in_elsewhere(app, officer)
    response = as_admin.post(f"/admin/users/{officer.id}/password", data={"password": NEW_PASSWORD})
    assert response.status_code == 302
    assert _is_sent_to_login(elsewhere.get("/"))
    assert count_live_sessions(officer) == 0
    assert AuthActions(app.test_client()).login(officer).status_code == 200  # old password
    assert AuthActions(app.test_client()).login(officer, NEW_PASSWORD).status_code == 302


def test_reset_password_refuses_a_weak_one(app, as_admin, officer) -> None:
    elsewhere = _signed_in_elsewhere(app, officer)
    response = as_admin.post(f"/admin/users/{officer.id}/password", data={"password": "officer"})
    assert response.status_code == 200
    assert "is-invalid" in response.get_data(as_text=True)
    assert elsewhere.get("/").status_code == 200


def test_user_list_filters(as_admin, officer, handler, leader) -> None:
    def names(query: str) -> set[str]:
        page = as_admin.get("/admin/users" + query).get_data(as_text=True)
        return {u for u in ("officer", "handler", "leader", "admin") if f">{u}</a>" in page}

    assert names("") == {"officer", "handler", "leader", "admin"}
    assert names("?role=handler") == {"handler"}
    assert names(f"?department={handler.department_id}") == {"handler"}
    as_admin.post(f"/admin/users/{leader.id}/deactivate")
    assert names("?active=no") == {"leader"}
    assert "leader" not in names("?active=yes")


def test_user_list_is_paginated(as_admin, make_user) -> None:
    for _ in range(51):
        make_user(Role.OFFICER)
    first = as_admin.get("/admin/users").get_data(as_text=True)
    second = as_admin.get("/admin/users?page=2").get_data(as_text=True)
    assert first.count("/admin/users/") - second.count("/admin/users/") > 40
    assert "52 users" in first  # the total: 51 officers and the admin


def test_one_head_per_department(department, make_user) -> None:
    first = make_user(Role.HANDLER, department=department, is_head=True)
    second = make_user(Role.HANDLER, department=department, is_head=True)
    db.session.expire_all()
    assert second.is_department_head and not first.is_department_head


def test_operations_refuse_head_without_handler_role(app) -> None:
    with pytest.raises(Refused) as refused:
        create_user("boss", "Boss", PASSWORD, {Role.OFFICER}, is_head=True)
    assert "is_department_head" in refused.value.field_errors


def test_a_head_moving_to_another_department_replaces_its_head(department, other_department,
                                                               make_user) -> None:
    mover = make_user(Role.HANDLER, department=department, is_head=True)
    replaced = make_user(Role.HANDLER, department=other_department, is_head=True)
    update_user(mover, {"display_name": mover.display_name, "department": other_department,
                        "is_department_head": True}, {Role.HANDLER}, mover.version)
    db.session.commit()
    db.session.expire_all()
    assert mover.department_id == other_department.id and mover.is_department_head
    assert not replaced.is_department_head
    heads = db.session.scalars(db.select(User).where(User.is_department_head.is_(True))).all()
    assert heads == [mover]


def test_edit_that_names_a_head_steps_the_old_one_down(as_admin, department, make_user) -> None:
    old = make_user(Role.HANDLER, department=department, is_head=True)
    new = make_user(Role.HANDLER, department=department)
    response = as_admin.post(f"/admin/users/{new.id}", data=_edit_form(new, is_department_head="y"))
    assert response.status_code == 302
    db.session.expire_all()
    assert new.is_department_head and not old.is_department_head
