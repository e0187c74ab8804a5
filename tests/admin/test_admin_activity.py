"""The activity log shows what administrators (and everybody else) did, newest first."""

import re

import pytest
from flask.testing import FlaskClient

from servicedesk.extensions import db
from servicedesk.models import ApiToken, Category
from tests.conftest import PASSWORD


@pytest.fixture
def as_admin(auth, admin_user) -> FlaskClient:
    auth.login(admin_user)
    return auth.client


def _actions(page: str) -> list[str]:
    return re.findall(r'<tr data-action="([^"]+)"', page)


def test_activity_log_shows_the_admin_actions(as_admin, admin_user, officer) -> None:
    as_admin.post("/admin/users/new", data={"username": "wanghao", "display_name": "王浩",
                                            "roles": ["officer"], "department": "0", "password": PASSWORD})
    as_admin.post(f"/admin/users/{officer.id}/deactivate")
    category = db.session.scalars(db.select(Category)).first()
    as_admin.post(f"/admin/categories/{category.id}/deactivate", data={"version": category.version})
    as_admin.post("/admin/api-tokens/new", data={"user": str(admin_user.id), "name": "桥"})
    token = db.session.scalars(db.select(ApiToken)).one()
    as_admin.post(f"/admin/api-tokens/{token.id}/revoke")

    page = as_admin.get("/admin/activity").get_data(as_text=True)
    actions = [a for a in _actions(page) if a != "user.signed_in"]
    assert actions[:6] == ["api_token.revoked", "api_token.issued", "category.updated", "user.deactivated",
                           "user.created", "user.created"]
    for label in ("User created", "User deactivated", "Category changed", "API token issued",
                  "API token revoked"):
        assert label in page
    assert "王浩 (wanghao)" in page  # the subject, named
    assert "yes → no" in page  # the category's active flag, old → new
    assert "管理员" in page  # the actor


def test_activity_log_filters_by_kind_and_user(as_admin, officer, leader) -> None:
    as_admin.post(f"/admin/users/{officer.id}/deactivate")
    category = db.session.scalars(db.select(Category)).first()
    as_admin.post(f"/admin/categories/{category.id}/deactivate", data={"version": category.version})

    only_categories = _actions(as_admin.get("/admin/activity?action=category.").get_data(as_text=True))
    assert only_categories == ["category.updated"]
    about_officer = _actions(as_admin.get(f"/admin/activity?user={officer.id}").get_data(as_text=True))
    assert "user.deactivated" in about_officer and "category.updated" not in about_officer
    about_leader = _actions(as_admin.get(f"/admin/activity?user={leader.id}").get_data(as_text=True))
    assert "user.deactivated" not in about_leader


def test_company_changes_are_named_and_linked(as_admin, company) -> None:
    from servicedesk.companies.operations import update_company

    update_company(company, {"contact_person": "李博"}, company.version)
    db.session.commit()
    page = as_admin.get("/admin/activity?action=company.").get_data(as_text=True)
    assert _actions(page)[:2] == ["company.updated", "company.registered"]
    assert f'href="/companies/{company.id}"' in page
    assert "Contact person" in page
