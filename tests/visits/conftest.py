"""Fixtures for the visit and demand-logging pages: an English client, form data as a browser sends it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from servicedesk.extensions import db
from servicedesk.models import Category

VISIT_DAY = "2026-06-04"


@pytest.fixture(autouse=True)
def _english(client) -> None:
    """These tests read the English wording; the Chinese catalog has its own tests."""
    client.post("/language", data={"locale": "en", "next": "/"})


@pytest.fixture
def categories(app) -> list[Category]:
    return list(db.session.scalars(select(Category).where(Category.active.is_(True))
                                   .order_by(Category.position, Category.id)))


@pytest.fixture
def visit_data(company, categories) -> Any:
    """The fields of the visit form with `demands` demand entries, as the browser posts them."""

    def make(*demands: dict[str, Any], **visit: Any) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": "symposium", "visited_on": VISIT_DAY, "place": "万邦医药会议室",
            "lead_official": "王强", "officials": "李淑侠、张伟", "company_attendees": "董事长",
            "company_ids": [str(company.id)], "minutes": "座谈会纪要", "save": "y",
        }
        data.update(visit)
        for index, demand in enumerate(demands):
            entry = {"company_id": str(company.id), "category_id": str(categories[0].id),
                     "title": f"诉求{index + 1}", "description": f"企业提出的第{index + 1}项诉求",
                     "urgency": "normal", "contact_name": "李经理", "contact_phone": "0516-80000000"}
            entry.update(demand)
            for name, value in entry.items():
                data[f"demands-{index}-{name}"] = value
        return {k: v for k, v in data.items() if v is not None}

    return make
