"""The leader's dashboard in Chromium: a leader opens the desk on it, the chart drawn on the server
loads (under its own content security policy: the `page` fixture fails on any console error), the
overdue number opens the list of as many demands, and the page prints on one A4 page.

The demo zone seen on 25 November 2026 (the Wanbang story and five months of history) gives the
dashboard its shape; the test saves its screenshot for the README (docs/screenshots/dashboard.png).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from servicedesk.demo import seed_demo
from servicedesk.extensions import db
from tests.conftest import PASSWORD
from tests.dashboard import conftest as june_data

pytestmark = pytest.mark.browser

#: the hand-built June, a fixture of the dashboard's tests
june = june_data.june
DEMO_NOW = "2026-11-25T10:00:00+08:00"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "dashboard.png"


def sign_in(page: Any, username: str) -> None:
    page.goto("/auth/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#submit").click()
    page.wait_for_url("**/")


@pytest.fixture
def demo_leader(app, freeze_clock) -> str:
    freeze_clock(DEMO_NOW)
    seed_demo(PASSWORD)
    db.session.commit()
    return "zhaolei"


@pytest.fixture
def officer_name(june) -> str:
    return june.officer.username


def chart_loaded(page: Any) -> bool:
    return page.locator("#trend-chart").evaluate("image => image.complete && image.naturalWidth > 0")


def printed_pages(page: Any) -> int:
    pdf = page.pdf(format="A4", print_background=True)
    return len(re.findall(rb"/Type\s*/Page\b", pdf))


def test_a_leader_opens_the_dashboard_and_follows_the_overdue_number(demo_leader, page) -> None:
    sign_in(page, demo_leader)
    assert page.url.endswith("/dashboard/")  # the desk opens on the dashboard for a leader
    assert chart_loaded(page)
    assert page.locator("#league tbody tr").count() >= 5
    assert page.locator("#league td[data-worst]").count() >= 1
    assert page.locator("#red-list tbody tr").count() >= 3
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.emulate_media(media="print")
    assert not page.locator("nav.navbar").is_visible()
    assert not page.locator("#dashboard-filter").is_visible()
    assert page.locator("#definitions").is_visible()
    assert printed_pages(page) == 1
    page.emulate_media(media="screen")

    overdue = page.locator("#headline a[data-measure='overdue']")
    count = int(overdue.get_attribute("data-count"))
    assert count > 0
    overdue.click()
    page.wait_for_url("**/demands/?*")
    assert int(page.locator("#demand-count").get_attribute("data-total")) == count
    assert page.locator("#drilldown").count() == 0  # overdue is a filter of the list's own
    assert page.locator("table#demands tbody tr[data-card='red']").count() == min(count, 50)


def test_an_officer_chooses_a_period_and_a_drill_down_keeps_its_conditions(officer_name, page) -> None:
    sign_in(page, officer_name)
    assert page.locator("#queue-summary").count() == 1  # an officer's home is still the queue
    page.goto("/dashboard/")
    page.locator("#period").select_option("year")
    page.locator("#dashboard-filter button[type=submit]").click()
    page.wait_for_url("**/dashboard/?period=year*")
    assert page.locator("#dashboard-scope").get_attribute("data-first") == "2026-01-01"
    assert chart_loaded(page)

    withdrawn = page.locator("#headline a[data-measure='closed_withdrawn']")
    assert withdrawn.get_attribute("data-count") == "1"
    withdrawn.click()
    page.wait_for_url("**/demands/?*")
    assert page.locator("#drilldown").is_visible()
    page.locator("#demand-search").fill("d8")
    page.locator("#demand-filter button[type=submit]").first.click()
    page.wait_for_url("**q=d8*")
    assert "close_reason=withdrawn" in page.url and "closed_from=2026-01-01" in page.url
    assert page.locator("#demand-count").get_attribute("data-total") == "1"
    page.locator("#drop-drilldown").click()
    page.wait_for_url(re.compile(r".*/demands/\?[^#]*state=closed"))
    assert "close_reason" not in page.url
    assert page.locator("#drilldown").count() == 0
