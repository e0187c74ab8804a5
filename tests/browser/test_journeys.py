"""End to end in Chromium: sign in, switch language, register a company.

Data fixtures come before `page`/`live_server` in each signature: the live server waits for the
test's own database session to let go, which it does once the data is made.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from servicedesk.extensions import db
from servicedesk.models import Company, Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def officer_name(make_user) -> str:
    return make_user(Role.OFFICER, username="zhangwei", display_name="张伟").username


def sign_in(page, username: str) -> None:
    page.goto("/auth/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#submit").click()
    page.wait_for_url("**/")


def test_sign_in_switch_language_and_register_a_company(officer_name, page) -> None:
    sign_in(page, officer_name)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "张伟" in page.locator("#user-menu").inner_text()

    page.locator("#language-menu").click()
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Companies" in page.locator("nav").inner_text()

    page.get_by_role("link", name="Companies").first.click()
    page.locator("a[href$='/companies/new']").click()
    page.locator("#credit_code").fill("913203052MACL12THA")  # a mistyped check character
    page.locator("#name").fill("江苏万邦生化医药集团有限责任公司")
    page.locator("form button[type=submit], form input[type=submit]").last.click()
    assert "check character" in page.locator(".invalid-feedback").first.inner_text()

    page.locator("#credit_code").fill("913203052MACL12THK")
    page.locator("form button[type=submit], form input[type=submit]").last.click()
    page.wait_for_url("**/companies/*")
    assert "江苏万邦生化医药集团有限责任公司" in page.content()
    names = db.session.scalars(select(Company.name)).all()
    db.session.close()
    assert names == ["江苏万邦生化医药集团有限责任公司"]


def test_language_choice_is_remembered_for_the_user(officer_name, page, browser,
                                                    live_server) -> None:
    sign_in(page, officer_name)
    page.locator("#language-menu").click()
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    other_browser = browser.new_context(base_url=live_server)
    other_page = other_browser.new_page()
    sign_in(other_page, officer_name)
    assert other_page.locator("html").get_attribute("lang") == "en"
    other_browser.close()


def test_navigation_collapses_on_a_phone(officer_name, browser, live_server) -> None:
    phone = browser.new_context(base_url=live_server, viewport={"width": 375, "height": 740},
                                is_mobile=True, has_touch=True)
    page = phone.new_page()
    sign_in(page, officer_name)
    toggler = page.locator(".navbar-toggler")
    assert toggler.is_visible()
    assert not page.locator("#main-nav").is_visible()
    toggler.click()
    page.locator("#main-nav").wait_for(state="visible")
    width = page.evaluate("document.documentElement.scrollWidth")
    phone.close()
    assert width <= 375  # nothing forces sideways scrolling
