"""Every administration page is for administrators only."""

from urllib.parse import urlparse

import pytest

from servicedesk.extensions import db
from servicedesk.models import ApiToken, Category, User

PAGES = [
    "/admin/users",
    "/admin/users/new",
    "/admin/users/{user}",
    "/admin/users/{user}/password",
    "/admin/departments",
    "/admin/departments/new",
    "/admin/departments/{department}",
    "/admin/categories",
    "/admin/categories/new",
    "/admin/categories/{category}",
    "/admin/api-tokens",
    "/admin/api-tokens/new",
    "/admin/activity",
]
EXPECTED = {"admin": 200, "officer": 403, "handler": 403, "leader": 403}


def _url(page: str, users_by_role: dict[str, User], department) -> str:
    return page.format(user=users_by_role["officer"].id, department=department.id,
                       category=db.session.scalars(db.select(Category.id)).first())


@pytest.mark.parametrize("role", ["officer", "handler", "leader", "admin", "anonymous"])
@pytest.mark.parametrize("page", PAGES)
def test_admin_pages_are_for_admins_only(client, auth, users_by_role, department, page, role) -> None:
    url = _url(page, users_by_role, department)
    if role != "anonymous":
        auth.login(users_by_role[role])
    response = client.get(url)
    if role == "anonymous":
        assert response.status_code == 302
        assert urlparse(response.headers["Location"]).path == "/auth/login"
    else:
        assert response.status_code == EXPECTED[role]


ACTIONS = [
    "/admin/users/{user}/deactivate",
    "/admin/users/{user}/reactivate",
    "/admin/categories/{category}/deactivate",
    "/admin/api-tokens/{token}/revoke",
]


@pytest.mark.parametrize("action", ACTIONS)
def test_admin_actions_are_refused_to_other_roles(client, auth, users_by_role, action) -> None:
    from servicedesk.auth.operations import issue_api_token

    officer, leader = users_by_role["officer"], users_by_role["leader"]
    issue_api_token(leader, "bridge")
    db.session.commit()
    category = db.session.scalars(db.select(Category)).first()
    token = db.session.scalars(db.select(ApiToken)).one()
    auth.login(users_by_role["leader"])
    url = action.format(user=officer.id, category=category.id, token=token.id)
    assert client.post(url, data={"version": category.version}).status_code == 403
    db.session.expire_all()
    assert officer.active and category.active and token.revoked_at is None


def test_administration_menu_only_for_admins(client, auth, users_by_role) -> None:
    auth.login(users_by_role["leader"])
    assert b"/admin/users" not in client.get("/").data
    auth.logout()
    auth.login(users_by_role["admin"])
    page = client.get("/").get_data(as_text=True)
    for url in ("/admin/users", "/admin/departments", "/admin/categories", "/admin/api-tokens",
                "/admin/activity"):
        assert url in page
