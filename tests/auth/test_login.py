"""Signing in and out, lockout, sessions that really end, password rules."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from servicedesk.extensions import db
from servicedesk.models import AuditEvent, LoginSession, Role
from tests.conftest import PASSWORD, DeskClient


def test_login_page_is_chinese_by_default(client) -> None:
    page = client.get("/auth/login").get_data(as_text=True)
    assert "登录" in page
    assert 'lang="zh-CN"' in page


def test_pages_need_a_signed_in_user(client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_sign_in_and_land_on_home(client, auth, officer) -> None:
    response = auth.login(officer)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "张伟" in page


def test_sign_in_goes_back_to_the_page_asked_for_but_never_off_site(client, auth, officer) -> None:
    response = client.post("/auth/login?next=/auth/password",
                           data={"username": "officer", "password": PASSWORD})
    assert response.headers["Location"] == "/auth/password"
    client.post("/auth/logout")
    response = client.post("/auth/login?next=//evil.example/",
                           data={"username": "officer", "password": PASSWORD})
    assert response.headers["Location"] == "/"


def test_user_name_is_not_case_sensitive(client, auth, officer) -> None:
    assert auth.login("OFFICER").status_code == 302


def test_wrong_password_is_refused_with_a_message(client, auth, officer) -> None:
    response = auth.login(officer, password="not the password")
    assert response.status_code == 200
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_unknown_user_gets_the_same_message(client, auth) -> None:
    wrong_user = auth.login("nobody", password="whatever").get_data(as_text=True)
    assert "用户名或密码错误" in wrong_user


def test_deactivated_user_cannot_sign_in(client, auth, officer) -> None:
    officer.active = False
    db.session.commit()
    response = auth.login(officer)
    assert response.status_code == 200
    assert client.get("/").status_code == 302


def test_repeated_failures_lock_the_login_with_a_clear_message(client, auth, officer) -> None:
    for _ in range(5):
        assert auth.login(officer, password="wrong password").status_code == 200
    locked = auth.login(officer)  # even the right password waits now
    assert locked.status_code == 429
    text = locked.get_data(as_text=True)
    assert "登录失败次数过多" in text
    assert client.get("/").status_code == 302


def test_successful_logins_do_not_count_towards_the_lockout(client, auth, officer) -> None:
    for _ in range(7):
        assert auth.login(officer).status_code == 302
        auth.logout()


def test_form_without_csrf_token_is_refused(client, officer) -> None:
    response = client.post("/auth/login", data={"username": "officer", "password": PASSWORD},
                           csrf=False)
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_logout_needs_csrf_too(client, auth, officer) -> None:
    auth.login(officer)
    assert client.post("/auth/logout", csrf=False).status_code == 400
    assert client.get("/").status_code == 200


def _copied_cookie_client(app, client: DeskClient) -> DeskClient:
    """A second browser holding a copy of the first one's session cookie."""
    thief = app.test_client()
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    thief.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
    return thief


def test_logout_ends_the_session_on_the_server(app, client, auth, officer) -> None:
    auth.login(officer)
    thief = _copied_cookie_client(app, client)
    assert thief.get("/").status_code == 200
    auth.logout()
    assert thief.get("/").status_code == 302
    ended = db.session.scalars(select(LoginSession)).all()
    assert [s.ended_at is not None for s in ended] == [True]


def test_password_change_ends_other_sessions_and_keeps_this_one(app, client, auth, officer) -> None:
    auth.login(officer)
    thief = _copied_cookie_client(app, client)
    response = client.post("/auth/password", data={
        "current_password": PASSWORD, "new_password": "a much better passphrase",
        "confirm": "a much better passphrase"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert thief.get("/").status_code == 302
    auth.logout()
    assert auth.login(officer, "a much better passphrase").status_code == 302


def test_password_change_checks_current_password_and_rules(client, auth, officer) -> None:
    auth.login(officer)
    wrong = client.post("/auth/password", data={
        "current_password": "nope", "new_password": "a much better passphrase",
        "confirm": "a much better passphrase"})
    assert wrong.status_code == 200
    short = client.post("/auth/password", data={
        "current_password": PASSWORD, "new_password": "short", "confirm": "short"})
    assert short.status_code == 200
    assert "10" in short.get_data(as_text=True)
    auth.logout()
    assert auth.login(officer).status_code == 302  # old password still valid: nothing changed


def test_deactivation_ends_open_sessions(app, client, auth, officer, admin_user) -> None:
    from servicedesk.admin.operations import set_active

    auth.login(officer)
    set_active(officer, False, acting=admin_user)
    db.session.commit()
    assert client.get("/").status_code == 302


def test_passwords_are_hashed_with_argon2id(officer) -> None:
    assert officer.password_hash.startswith("$argon2id$")
    assert PASSWORD not in officer.password_hash


def test_production_argon2_parameters_meet_owasp_asvs() -> None:
    from servicedesk.config import DEFAULTS

    # OWASP's floor for argon2id is 19 MiB with 2 iterations (or more memory with fewer).
    assert DEFAULTS["PASSWORD_ARGON2_MEMORY_KIB"] >= 19 * 1024
    assert DEFAULTS["PASSWORD_ARGON2_TIME_COST"] >= 2
    hasher = PasswordHasher(time_cost=DEFAULTS["PASSWORD_ARGON2_TIME_COST"],
                            memory_cost=DEFAULTS["PASSWORD_ARGON2_MEMORY_KIB"],
                            parallelism=DEFAULTS["PASSWORD_ARGON2_PARALLELISM"])
    encoded = hasher.hash("x" * 12)
    assert encoded.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_session_cookie_is_httponly_and_samesite(client, auth, officer) -> None:
    response = auth.login(officer)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_sign_in_and_out_are_recorded(client, auth, officer) -> None:
    auth.login(officer)
    auth.logout()
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["user.signed_in", "user.signed_out"]


@pytest.mark.parametrize("roles", [(Role.OFFICER, Role.LEADER)])
def test_a_user_may_hold_several_roles(make_user, roles) -> None:
    user = make_user(*roles)
    assert user.roles == frozenset(roles)
