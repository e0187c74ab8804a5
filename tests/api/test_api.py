"""The JSON API: tokens, access rules, every endpoint, errors in the asked-for language."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from servicedesk.auth.operations import revoke_api_token
from servicedesk.extensions import db
from servicedesk.models import ApiToken, AuditEvent, Company, Role


def test_me_answers_the_tokens_user(client, token_for, handler) -> None:
    response = client.get("/api/v1/me", headers=token_for(handler))
    assert response.status_code == 200
    body = response.get_json()
    assert body["username"] == "handler"
    assert body["roles"] == ["handler"]
    assert body["department"]["name"] == "自然资源和规划分局"


@pytest.mark.parametrize("header", [
    None,
    "Bearer ",
    "Bearer sdk_not-a-real-token",
    "Basic dXNlcjpwYXNz",
])
def test_missing_or_wrong_token_is_refused(client, header) -> None:
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    error = response.get_json()["error"]
    assert error["code"] == "unauthorized"
    assert error["message"]


def test_revoked_token_and_deactivated_user_are_refused(client, token_for, officer, leader) -> None:
    officer_headers = token_for(officer)
    revoke_api_token(db.session.scalar(select(ApiToken).where(ApiToken.user_id == officer.id)))
    db.session.commit()
    assert client.get("/api/v1/me", headers=officer_headers).status_code == 401
    leader_headers = token_for(leader)
    leader.active = False
    db.session.commit()
    assert client.get("/api/v1/me", headers=leader_headers).status_code == 401


def test_browser_session_cookie_does_not_open_the_api(client, auth, officer) -> None:
    auth.login(officer)
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me").status_code == 401


def test_tokens_are_stored_hashed(token_for, officer) -> None:
    headers = token_for(officer)
    token = headers["Authorization"].removeprefix("Bearer ")
    stored = db.session.scalar(select(ApiToken))
    assert stored.token_hash != token
    assert token not in stored.token_hash
    assert token.startswith(stored.prefix)


def test_company_list_search_and_pagination(client, token_for, officer, make_company) -> None:
    make_company("江苏万邦生化医药集团有限责任公司", "913203052MACL12THK")
    make_company("徐州金龙湖新材料有限公司", "913203009MA3Y7LLJF")
    make_company("徐州云帆物流有限公司", "913203024MAD4H3J9X")
    headers = token_for(officer)
    everything = client.get("/api/v1/companies", headers=headers).get_json()
    assert everything["total"] == 3
    assert len(everything["items"]) == 3
    by_name = client.get("/api/v1/companies?q=万邦", headers=headers).get_json()
    assert [c["credit_code"] for c in by_name["items"]] == ["913203052MACL12THK"]
    by_code = client.get("/api/v1/companies?q=MA3Y7", headers=headers).get_json()
    assert [c["name"] for c in by_code["items"]] == ["徐州金龙湖新材料有限公司"]
    page_two = client.get("/api/v1/companies?per_page=2&page=2", headers=headers).get_json()
    assert page_two["total"] == 3
    assert len(page_two["items"]) == 1


def test_page_size_is_capped_at_100(client, token_for, officer) -> None:
    response = client.get("/api/v1/companies?per_page=101", headers=token_for(officer))
    assert response.status_code == 422
    assert "per_page" in response.get_json()["error"]["fields"]


def test_get_one_company_and_404(client, token_for, leader, company) -> None:
    headers = token_for(leader)
    body = client.get(f"/api/v1/companies/{company.id}", headers=headers).get_json()
    assert body["name"] == "江苏万邦生化医药集团有限责任公司"
    assert body["version"] == 1
    missing = client.get("/api/v1/companies/99999", headers=headers)
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"


def test_officer_registers_a_company(client, token_for, officer) -> None:
    response = client.post("/api/v1/companies", headers=token_for(officer), json={
        "credit_code": "913203024mad4h3j9x", "name": "徐州云帆物流有限公司", "industry": "物流"})
    assert response.status_code == 201
    assert response.get_json()["credit_code"] == "913203024MAD4H3J9X"
    assert db.session.scalar(select(func.count()).select_from(Company)) == 1
    assert db.session.scalar(select(AuditEvent.action).where(
        AuditEvent.action == "company.registered")) == "company.registered"


@pytest.mark.parametrize("body, field", [
    ({"name": "缺少代码"}, "credit_code"),
    ({"credit_code": "913203024MAD4H3J9X"}, "name"),
    ({"credit_code": "913203024MAD4H3J9A", "name": "校验位错"}, "credit_code"),
    ({"credit_code": "91320302", "name": "太短"}, "credit_code"),
    ({"credit_code": "913203024MAD4H3J9X", "name": "x", "colour": "red"}, "colour"),
    ({"credit_code": 913203024, "name": "x"}, "credit_code"),
])
def test_bad_body_is_refused_and_nothing_written(client, token_for, officer, body, field) -> None:
    response = client.post("/api/v1/companies", headers=token_for(officer), json=body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"]
    assert db.session.scalar(select(func.count()).select_from(Company)) == 0


def test_duplicate_credit_code_is_refused(client, token_for, officer, company) -> None:
    response = client.post("/api/v1/companies", headers=token_for(officer), json={
        "credit_code": company.credit_code, "name": "另一个名字"})
    assert response.status_code == 422
    assert "credit_code" in response.get_json()["error"]["fields"]


def test_messages_follow_accept_language(client, token_for, officer) -> None:
    headers = token_for(officer)
    body = {"credit_code": "913203024MAD4H3J9A", "name": "x"}
    english = client.post("/api/v1/companies", json=body,
                          headers={**headers, "Accept-Language": "en-US,en;q=0.9"}).get_json()
    chinese = client.post("/api/v1/companies", json=body,
                          headers={**headers, "Accept-Language": "zh-CN"}).get_json()
    assert "check character" in english["error"]["fields"]["credit_code"]
    assert "校验" in chinese["error"]["fields"]["credit_code"]
    assert english["error"]["message"] != chinese["error"]["message"]


def test_handler_and_leader_may_read_but_not_write_companies(client, token_for, handler,
                                                             leader) -> None:
    for user in (handler, leader):
        headers = token_for(user)
        assert client.get("/api/v1/companies", headers=headers).status_code == 200
        refused = client.post("/api/v1/companies", headers=headers, json={
            "credit_code": "913203024MAD4H3J9X", "name": "x"})
        assert refused.status_code == 403
        assert refused.get_json()["error"]["code"] == "forbidden"


def test_update_needs_the_current_version(client, token_for, officer, company) -> None:
    headers = token_for(officer)
    updated = client.patch(f"/api/v1/companies/{company.id}", headers=headers,
                           json={"contact_person": "李博", "version": 1})
    assert updated.status_code == 200
    assert updated.get_json()["contact_person"] == "李博"
    assert updated.get_json()["version"] == 2
    stale = client.patch(f"/api/v1/companies/{company.id}", headers=headers,
                         json={"contact_person": "王某", "version": 1})
    assert stale.status_code == 409
    assert stale.get_json()["error"]["code"] == "conflict"
    db.session.expire_all()
    assert db.session.get(Company, company.id).contact_person == "李博"
    no_version = client.patch(f"/api/v1/companies/{company.id}", headers=headers,
                              json={"contact_person": "王某"})
    assert no_version.status_code == 422


def test_credit_code_cannot_be_changed(client, token_for, officer, company) -> None:
    response = client.patch(f"/api/v1/companies/{company.id}", headers=token_for(officer),
                            json={"credit_code": "913203009MA3Y7LLJF", "version": 1})
    assert response.status_code == 422


def test_departments_and_categories_lists(client, token_for, officer, make_user, department,
                                          other_department) -> None:
    make_user(Role.HANDLER, username="head", department=department, is_head=True,
              display_name="陈静")
    headers = token_for(officer)
    departments = client.get("/api/v1/departments", headers=headers).get_json()
    assert departments["total"] == 2
    by_name = {d["name"]: d for d in departments["items"]}
    assert by_name["自然资源和规划分局"]["head"]["display_name"] == "陈静"
    assert by_name["行政审批局"]["head"] is None
    categories = client.get("/api/v1/categories", headers={**headers, "Accept-Language": "en"})
    body = categories.get_json()
    assert body["total"] == 8
    assert body["items"][0]["name"] == "土地规划"
    assert body["items"][0]["label"] == "Land and planning"


def test_openapi_document_is_generated_from_the_code(client) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for path in ("/api/v1/me", "/api/v1/companies", "/api/v1/companies/{company_id}",
                 "/api/v1/departments", "/api/v1/categories"):
        assert path in paths, path
    assert "bearerAuth" in spec["components"]["securitySchemes"]


def test_unknown_api_path_answers_json(client) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
