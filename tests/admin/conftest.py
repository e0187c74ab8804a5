import pytest


@pytest.fixture(autouse=True)
def _english(client) -> None:
    """These tests read the English wording; the Chinese catalog has its own tests."""
    client.post("/language", data={"locale": "en", "next": "/"})
