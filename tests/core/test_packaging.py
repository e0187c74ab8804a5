"""A non-editable install must carry every module, template, catalog and migration."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _shipped_folders() -> set[Path]:
    """The folders the declared packages come from, the templates mapped to the repo root."""
    folders = set()
    for package in CONFIG["packages"]:
        if package == "servicedesk.templates" or package.startswith("servicedesk.templates."):
            folders.add(ROOT.joinpath("templates", *package.split(".")[2:]))
        else:
            folders.add(ROOT.joinpath(*package.split(".")))
    return folders


def _folders_with_files(top: str) -> set[Path]:
    return {
        path.parent for path in (ROOT / top).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_every_folder_of_the_desk_is_declared() -> None:
    missing = (_folders_with_files("servicedesk") | _folders_with_files("templates")) \
        - _shipped_folders()
    assert missing == set()


def test_templates_ship_as_part_of_the_package() -> None:
    assert CONFIG["package-dir"]["servicedesk.templates"] == "templates"
    for package in CONFIG["packages"]:
        if package.startswith("servicedesk.templates"):
            assert package in CONFIG["package-data"], package
