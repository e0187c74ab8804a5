"""Secure by default: every view declares who may use it, strict headers, nothing from outside."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

import pytest

from servicedesk.models import Role
from servicedesk.security import access_rule_of, undeclared_views


def test_every_view_declares_its_access_rule(app) -> None:
    assert undeclared_views(app) == []


def test_a_view_without_a_rule_is_caught(app) -> None:
    from servicedesk import create_app

    broken = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "x"})
    broken.add_url_rule("/forgotten", "forgotten", lambda: "open to all")
    assert undeclared_views(broken) == ["forgotten"]


def test_only_the_login_page_and_language_switch_are_public(app) -> None:
    public = sorted(
        endpoint for endpoint, view in app.view_functions.items()
        if (rule := access_rule_of(view)) is not None and rule.public
    )
    assert public == ["api-docs.openapi_json", "auth.login", "core.set_language"]


def test_responses_carry_a_strict_content_security_policy(client) -> None:
    response = client.get("/auth/login")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "default-src 'self'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


class _Resources(HTMLParser):
    """Collects every address a page loads or links to, and any inline script or style."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.links: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if "style" in values:
            self.inline.append(f"style attribute on <{tag}>")
        if any(name.startswith("on") for name in values):
            self.inline.append(f"event handler on <{tag}>")
        for name in ("src", "href", "action", "srcset", "poster", "data"):
            if values.get(name):
                (self.links if tag == "a" or name == "action" else self.loads).append(values[name])
        self._in_script = tag == "script"
        if tag == "style":
            self.inline.append("<style> element")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append("inline <script>")


def _is_local(address: str) -> bool:
    parts = urlsplit(address)
    return (not parts.scheme and not parts.netloc) or parts.netloc == "localhost"


def _crawl(client, start: str, limit: int = 150) -> dict[str, _Resources]:
    seen: dict[str, _Resources] = {}
    queue = [start]
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if path in seen:
            continue
        response = client.get(path)
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        parser = _Resources()
        parser.feed(response.get_data(as_text=True))
        seen[path] = parser
        for link in parser.links:
            target = urldefrag(link)[0]
            if _is_local(target) and target.startswith("/") and "logout" not in target \
                    and not target.startswith("/static") and target not in seen:
                queue.append(target)
    return seen


@pytest.fixture
def everyone(make_user, department):
    return make_user(Role.OFFICER, Role.LEADER, Role.ADMIN, Role.HANDLER, username="everyone",
                     department=department)


def test_no_page_loads_anything_from_outside_or_inline(client, auth, everyone, company) -> None:
    login_page = _crawl(client, "/auth/login")
    auth.login(everyone)
    # "/" takes a leader to the dashboard; the queue was this user's home before, and links to it
    pages = {**login_page, **_crawl(client, "/demands/queue")}
    assert "/dashboard/" in pages
    assert len(pages) >= 20, sorted(pages)
    problems = []
    for path, page in pages.items():
        problems += [f"{path}: loads {src}" for src in page.loads if not _is_local(src)]
        problems += [f"{path}: links off-site {href}" for href in page.links
                     if not _is_local(href) and not href.startswith("mailto:")]
        problems += [f"{path}: {item}" for item in page.inline]
    assert problems == []


def test_stylesheets_fetch_nothing_from_outside(client, auth, officer) -> None:
    auth.login(officer)
    page = _Resources()
    page.feed(client.get("/").get_data(as_text=True))
    stylesheets = [href for href in page.loads if href.endswith(".css")]
    assert stylesheets
    for href in stylesheets:
        css = client.get(href).get_data(as_text=True)
        external = re.findall(r"url\(\s*['\"]?(https?:|//)", css) + re.findall(r"@import", css)
        assert external == [], href
