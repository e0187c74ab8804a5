"""The departments pages: everyone sees the zone's departments, a handler only their own."""

import re
from urllib.parse import urlparse

import pytest

from servicedesk.admin.operations import update_user
from servicedesk.extensions import db
from servicedesk.models import Role


def _listed(page: str) -> set[str]:
    return set(re.findall(r'<a href="/departments/\d+">([^<]+)</a>', page))


@pytest.fixture
def staffed(department, other_department, make_user) -> None:
    """Each department has a head with contact details and one more handler."""
    head = make_user(Role.HANDLER, department=department, is_head=True, display_name="陈静")
    update_user(head, {"display_name": "陈静", "email": "chenjing@example.cn", "phone": "0516-87000003",
                       "department": department, "is_department_head": True}, {Role.HANDLER}, head.version)
    db.session.commit()
    make_user(Role.HANDLER, department=department, display_name="王浩")
    make_user(Role.HANDLER, department=other_department, display_name="周杰", is_head=True)


@pytest.mark.parametrize("role", ["officer", "leader", "admin"])
def test_officers_leaders_and_admins_see_every_department(client, auth, users_by_role, staffed,
                                                          department, other_department, role) -> None:
    auth.login(users_by_role[role])
    page = client.get("/departments/").get_data(as_text=True)
    assert _listed(page) == {department.name, other_department.name}
    assert "陈静" in page and "王浩" in page and "周杰" in page
    assert client.get(f"/departments/{other_department.id}").status_code == 200


def test_handler_sees_only_their_own_department(client, auth, handler, staffed, department,
                                                other_department) -> None:
    auth.login(handler)
    page = client.get("/departments/").get_data(as_text=True)
    assert _listed(page) == {department.name}
    assert "周杰" not in page
    assert client.get(f"/departments/{department.id}").status_code == 200
    assert client.get(f"/departments/{other_department.id}").status_code == 404


def test_handler_who_is_also_an_officer_sees_all(client, auth, make_user, department,
                                                 other_department) -> None:
    both = make_user(Role.HANDLER, Role.OFFICER, department=department)
    auth.login(both)
    assert _listed(client.get("/departments/").get_data(as_text=True)) == {department.name,
                                                                           other_department.name}
    assert client.get(f"/departments/{other_department.id}").status_code == 200


def test_department_page_shows_head_and_contacts(client, auth, officer, staffed, department) -> None:
    auth.login(officer)
    page = client.get(f"/departments/{department.id}").get_data(as_text=True)
    assert department.name in page
    assert re.search(r'id="head">\s*陈静', page)
    assert 'href="mailto:chenjing@example.cn"' in page
    assert "0516-87000003" in page
    assert "王浩" in page and "周杰" not in page


def test_deactivated_handlers_are_not_listed(client, auth, officer, department, make_user) -> None:
    from servicedesk.admin.operations import set_active

    gone = make_user(Role.HANDLER, department=department, display_name="离职者")
    set_active(gone, False, None)
    db.session.commit()
    auth.login(officer)
    assert "离职者" not in client.get(f"/departments/{department.id}").get_data(as_text=True)


def test_missing_department_is_404(client, auth, officer) -> None:
    auth.login(officer)
    assert client.get("/departments/999").status_code == 404


def test_departments_need_sign_in(client, department) -> None:
    for url in ("/departments/", f"/departments/{department.id}"):
        response = client.get(url)
        assert response.status_code == 302
        assert urlparse(response.headers["Location"]).path == "/auth/login"
