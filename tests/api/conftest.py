"""API tests sign in with bearer tokens."""

from __future__ import annotations

from typing import Any

import pytest

from servicedesk.auth.operations import issue_api_token
from servicedesk.extensions import db


@pytest.fixture
def token_for(app) -> Any:
    def issue(user) -> dict[str, str]:
        token = issue_api_token(user, "tests")
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}

    return issue
