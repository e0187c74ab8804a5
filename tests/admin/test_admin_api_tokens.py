"""API tokens: issued once, usable at once, dead once revoked."""

import re

import pytest
from flask.testing import FlaskClient

from servicedesk.extensions import db
from servicedesk.models import ApiToken

TOKEN = re.compile(r"sdk_[A-Za-z0-9_-]{20,}")


@pytest.fixture
def as_admin(auth, admin_user) -> FlaskClient:
    auth.login(admin_user)
    return auth.client


def _issue(as_admin, user) -> str:
    response = as_admin.post("/admin/api-tokens/new", data={"user": str(user.id), "name": "12345 热线"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "it will not be shown again" in page
    tokens = set(TOKEN.findall(page))
    assert len(tokens) == 1
    return tokens.pop()


def _me(client, token: str):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def test_token_is_shown_once_and_works(app, as_admin, officer) -> None:
    token = _issue(as_admin, officer)
    api_token = db.session.scalars(db.select(ApiToken)).one()
    assert api_token.user_id == officer.id and api_token.name == "12345 热线"
    assert token.startswith(api_token.prefix)
    listing = as_admin.get("/admin/api-tokens").get_data(as_text=True)
    assert token not in listing
    assert api_token.prefix in listing
    response = _me(app.test_client(), token)
    assert response.status_code == 200
    assert response.get_json()["username"] == "officer"


def test_revoked_token_answers_401(app, as_admin, officer) -> None:
    token = _issue(as_admin, officer)
    api_token = db.session.scalars(db.select(ApiToken)).one()
    response = as_admin.post(f"/admin/api-tokens/{api_token.id}/revoke")
    assert response.status_code == 302
    db.session.expire_all()
    assert api_token.revoked_at is not None
    assert _me(app.test_client(), token).status_code == 401
    assert "Revoked" in as_admin.get("/admin/api-tokens").get_data(as_text=True)


def test_token_is_only_issued_for_active_users(as_admin, officer) -> None:
    as_admin.post(f"/admin/users/{officer.id}/deactivate")
    response = as_admin.post("/admin/api-tokens/new", data={"user": str(officer.id), "name": "x"})
    assert response.status_code == 200
    assert "is-invalid" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(ApiToken)) == 0


def test_token_needs_a_name(as_admin, officer) -> None:
    response = as_admin.post("/admin/api-tokens/new", data={"user": str(officer.id), "name": " "})
    assert not TOKEN.search(response.get_data(as_text=True))
    assert db.session.scalar(db.select(db.func.count()).select_from(ApiToken)) == 0
