"""Fixtures of the calendar area: English pages, signed-in clients, an empty upload folder."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from servicedesk.models import User


@pytest.fixture(autouse=True)
def _english(client: FlaskClient) -> None:
    """These tests read the English wording; the Chinese catalog is being written separately."""
    client.post("/language", data={"locale": "en", "next": "/"})


@pytest.fixture
def sign_in(client: FlaskClient, auth) -> Callable[[User], FlaskClient]:
    """Sign the client in as the user (ending whoever was signed in) and return it."""

    def sign(user: User) -> FlaskClient:
        auth.logout()  # clears the session, and its language with it
        client.post("/language", data={"locale": "en", "next": "/"})
        response = auth.login(user)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return sign


@pytest.fixture
def as_admin(sign_in, admin_user: User) -> FlaskClient:
    return sign_in(admin_user)


@pytest.fixture(autouse=True)
def import_folder(app: Flask) -> Iterator[Path]:
    """Where uploads wait for confirmation; emptied around each test (the instance is per session)."""
    folder = Path(app.instance_path) / "uploads" / "imports"
    shutil.rmtree(folder, ignore_errors=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
