"""The list's Excel exports in Chromium: the menu in the toolbar opens, and the downloaded ledger
holds the demands the list shows for its filters, under the file name the desk gives it."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.browser.test_demands import sign_in

pytestmark = pytest.mark.browser

#: Wednesday 17 June 2026
NOW = "2026-06-17T10:00+08:00"


@pytest.fixture
def numbers(freeze_clock, officer, make_demand, department, other_department) -> dict[str, str]:
    made = {
        "first": make_demand("新建生产线用地", dispatch_to=department),
        "co": make_demand("电力增容", dispatch_to=other_department, co=(department,)),
        "registered": make_demand("人才公寓"),
    }
    freeze_clock(NOW)
    return {name: demand.number for name, demand in made.items()}


def test_the_ledger_downloaded_from_the_menu_holds_the_filtered_list(numbers, page: Any) -> None:
    sign_in(page, "officer")
    page.goto("/demands/?state=assigned&sort=number")
    listed = page.locator("tr[data-demand]").evaluate_all("rows => rows.map(r => r.dataset.demand)")
    assert listed == sorted([numbers["first"], numbers["co"]])
    page.locator("#export-menu .dropdown-toggle").click()
    ledger = page.locator("#export-menu a[href*='ledger.xlsx']")
    assert ledger.is_visible()
    with page.expect_download() as download:
        ledger.click()
    assert download.value.suggested_filename.endswith("-2026-06-17.xlsx")
    sheet = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == listed
