"""Both catalogs are complete, compiled, and in step with the strings in the code."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from servicedesk.config import LOCALES, catalog_name

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "servicedesk" / "translations"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def _catalog(locale: str):
    with (TRANSLATIONS / catalog_name(locale) / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle)


def _key(value):
    """Plural messages come back as lists from .mo files and as tuples from .po files."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _strings_in_code() -> set[str]:
    found = set()
    for folder, method in ((ROOT / "servicedesk", "python"), (ROOT / "templates", "jinja2")):
        pattern = "**.py" if method == "python" else "**.html"
        for _, _, message, _, _ in extract_from_dir(
                folder, method_map=[(pattern, method)], keywords=KEYWORDS,
                options_map={pattern: {}}):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.mark.parametrize("locale", LOCALES)
def test_every_string_in_the_code_is_in_the_catalog(locale: str) -> None:
    catalog = _catalog(locale)
    missing = sorted(s for s in _strings_in_code() if s and s not in catalog)
    assert missing == [], f"run `flask --app servicedesk translate update` ({locale})"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_msgid_has_a_translation(locale: str) -> None:
    untranslated = [m.id for m in _catalog(locale) if m.id and (
        not m.string or (isinstance(m.string, tuple) and not all(m.string)) or m.fuzzy)]
    assert untranslated == []


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalog_matches_the_po_file(locale: str) -> None:
    folder = TRANSLATIONS / catalog_name(locale) / "LC_MESSAGES"
    compiled = read_mo(io.BytesIO((folder / "messages.mo").read_bytes()))
    source = {_key(m.id): _key(m.string) for m in _catalog(locale) if m.id}
    shipped = {_key(m.id): _key(m.string) for m in compiled if m.id}
    assert shipped == source, "run `flask --app servicedesk translate compile`"


def test_chinese_catalog_is_really_chinese() -> None:
    catalog = _catalog("zh_CN")
    same_as_english = [m.id for m in catalog if m.id and m.string == m.id
                       and any(c.isalpha() for c in str(m.id))]
    assert same_as_english == []
