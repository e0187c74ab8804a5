"""A non-editable install must carry every module, template, catalog and migration."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _declared_packages() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(config["tool"]["setuptools"]["packages"])


def test_every_python_package_of_the_desk_is_declared() -> None:
    on_disk = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "servicedesk").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert on_disk - _declared_packages() == set()


def test_templates_ship_as_part_of_the_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert config["tool"]["setuptools"]["package-dir"]["servicedesk.templates"] == "templates"
    assert "servicedesk.templates" in _declared_packages()
    folders = {p.parent.name for p in (ROOT / "templates").rglob("*.html")}
    assert {"auth", "admin", "companies", "departments", "core", "errors"} <= folders
