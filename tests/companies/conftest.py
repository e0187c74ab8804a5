from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask


@pytest.fixture
def import_folder(app: Flask) -> Iterator[Path]:
    """Where uploads wait for confirmation; emptied after the test (the instance is per session)."""
    folder = Path(app.instance_path) / "uploads" / "imports"
    shutil.rmtree(folder, ignore_errors=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
