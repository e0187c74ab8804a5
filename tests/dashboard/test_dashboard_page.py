"""The dashboard page on the hand-built June (tests/dashboard/conftest.py): who may open it, each number
equal to its measure and each link listing exactly the demands it counts, "—" for a rate without cases,
the league table's order and worst values, the period, department and category, the chart, the league
table in Excel, the home page of leaders, and a fixed number of SQL statements however many demands."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from servicedesk.calendar.store import working_calendar
from servicedesk.dashboard.league import LEAGUE_COLUMNS
from servicedesk.dashboard.measures import Count, Period, PeriodKind, Rate, Scope, dashboard
from servicedesk.demands.search import card_window
from servicedesk.extensions import db
from servicedesk.models import Category
from servicedesk.workbooks import XLSX_MIMETYPE
from tests.dashboard.conftest import JUNE_TODAY, June
from tests.demands.test_lists import bulk_demands

JUNE = Period(PeriodKind.MONTH, date(2026, 6, 1), date(2026, 6, 30))


@pytest.fixture(autouse=True)
def _english(client) -> None:
    client.post("/language", data={"locale": "en", "next": "/"})


@dataclass
class Link:
    href: str
    measure: str
    count: int
    section: str


@dataclass
class DashboardPage(HTMLParser):
    """The numbers of a dashboard page: every link with a count, and the league table's cells."""

    html: str
    links: list[Link] = field(default_factory=list)
    #: (department id, column) -> {"worst": bool, "text": str}
    cells: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    league_order: list[int] = field(default_factory=list)
    ids: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()
        self._section = ""
        self._department: int | None = None
        self._cell: dict[str, Any] | None = None
        self.feed(self.html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if "id" in found:
            self.ids[found["id"]] = found
        if tag == "section":
            self._section = found.get("id", "")
        if tag == "tr" and "data-department" in found:
            self._department = int(found["data-department"])
            self.league_order.append(self._department)
        if tag == "td" and self._department is not None and "data-column" in found:
            self._cell = {"worst": found.get("data-worst") == "1", "text": ""}
            self.cells[(self._department, found["data-column"])] = self._cell
        if tag == "a" and "data-count" in found:
            self.links.append(Link(found["href"], found["data-measure"], int(found["data-count"]),
                                   self._section))

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._cell = None
        if tag == "tbody":
            self._department = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell["text"] += data.strip()

    def headline(self, measure: str) -> int:
        """The first number of the headline with this measure (a rate's: its measured count)."""
        return next(link.count for link in self.links
                    if link.section == "headline" and link.measure == measure)


def open_page(client, url: str = "/dashboard/") -> DashboardPage:
    response = client.get(url)
    assert response.status_code == 200, url
    return DashboardPage(response.get_data(as_text=True))


def list_total(client, href: str) -> int:
    response = client.get(href)
    assert response.status_code == 200, href
    page = DashboardPage(response.get_data(as_text=True))
    return int(page.ids["demand-count"]["data-total"])


def measures(june: June, **scope: Any) -> Any:
    calendar = working_calendar()
    return dashboard(june.leader, Scope(JUNE, JUNE_TODAY, **scope), card_window(JUNE_TODAY, calendar),
                     calendar)


# Who may open it

@pytest.mark.parametrize("who", ["leader", "officer"])
def test_leaders_and_officers_open_the_dashboard(client, auth, june: June, who: str) -> None:
    auth.login(getattr(june, who))
    for url in ("/dashboard/", "/dashboard/trend.svg", "/dashboard/league.xlsx"):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("who", ["handler", "admin_user"])
def test_handlers_and_administrators_may_not(client, auth, request, who: str) -> None:
    auth.login(request.getfixturevalue(who))
    for url in ("/dashboard/", "/dashboard/trend.svg", "/dashboard/league.xlsx"):
        assert client.get(url).status_code == 403, url


def test_anonymous_visitors_are_sent_to_sign_in(client) -> None:
    response = client.get("/dashboard/?period=week")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_a_leader_opens_the_desk_on_the_dashboard_and_keeps_a_queue(client, auth, june: June) -> None:
    auth.login(june.leader)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard/"
    html = client.get("/dashboard/").get_data(as_text=True)
    assert 'href="/demands/queue"' in html  # "My queue" in the navigation
    assert client.get("/demands/queue").status_code == 200


def test_officers_keep_their_queue_and_see_the_dashboard_in_the_navigation(client, auth, june: June) -> None:
    auth.login(june.officer)
    response = client.get("/")
    assert response.status_code == 200
    assert 'data-section="officer-to_dispatch"' in response.get_data(as_text=True)
    html = client.get("/dashboard/").get_data(as_text=True)
    assert 'href="/dashboard/"' in html and 'href="/demands/queue"' not in html


# The numbers and their lists

def test_each_headline_number_is_its_measure(client, auth, june: June) -> None:
    auth.login(june.leader)
    page = open_page(client)
    headline = measures(june).headline
    for count in (Count.OPEN, Count.OVERDUE, Count.OVERDUE_DEPARTMENT, Count.OVERDUE_OFFICER,
                  Count.DISPATCHED, Count.CLOSED, Count.CLOSED_WITHDRAWN, Count.CLOSED_DUPLICATE,
                  Count.PARTLY_SOLVED, Count.RETURNS, Count.REOPENINGS, Count.KEY_SUPERVISION):
        assert page.headline(count) == headline[count].value, count
    rates = {(link.measure, link.count) for link in page.links if link.section == "headline"}
    assert {(str(Count.SIGNED_ON_TIME), 4), (str(Count.SIGN_MEASURED), 6), (str(Rate.RESPONSE), 6),
            (str(Count.SOLVED), 1), (str(Count.CLOSED_RESOLVED), 3), (str(Rate.SATISFACTION), 4),
            ("average_days", 5)} <= rates
    assert 'data-rate="0.6666666666666666"' in page.html and ">66.7%<" in page.html
    assert ">8.4<" in page.html  # 42 working days over 5 responses


def test_every_link_lists_exactly_the_demands_it_counts(client, auth, june: June) -> None:
    auth.login(june.leader)
    page = open_page(client)
    by_href = {link.href: link.count for link in page.links}
    assert len(by_href) > 40
    sections = {link.section for link in page.links}
    assert {"headline", "league-section", "trend-section", "ages-section", "categories-section",
            "companies-section"} <= sections
    for href, count in by_href.items():
        assert list_total(client, href.replace("&amp;", "&")) == count, href


def test_a_rate_without_cases_shows_a_dash(client, auth, june: June, make_department) -> None:
    auth.login(june.leader)
    empty = db.session.scalars(select(Category.id).order_by(Category.position.desc())).first()
    page = open_page(client, f"/dashboard/?category={empty}")
    assert page.headline(Count.OPEN) == 0
    for rate in Rate:
        assert f'<span class="rate-none " data-measure="{rate}"' in page.html
    assert '<span class="rate-none " data-measure="average_days"' in page.html
    assert "data-rate=" not in page.html


# The league table

def test_the_league_table_sorts_and_marks_the_worst(client, auth, june: June) -> None:
    auth.login(june.leader)
    a, b = june.department_a.id, june.department_b.id
    page = open_page(client)
    assert page.ids["league"]["data-sort"] == "overdue" and page.ids["league"]["data-order"] == "desc"
    assert page.league_order == [a, b]  # A owes 2 overdue steps, B none
    worst = {(department, column) for (department, column), cell in page.cells.items() if cell["worst"]}
    assert worst == {(a, "open"), (a, "overdue"), (a, "response"), (a, "on_time"), (a, "average_days"),
                     (a, "reopenings"), (b, "returns")}
    # B closed nothing: its resolution and satisfaction rates are "—", never the worst; A's are alone
    assert page.cells[(b, "resolution")]["text"] == "—" and page.cells[(b, "satisfaction")]["text"] == "—"
    assert "(worst)" in page.cells[(a, "overdue")]["text"]
    assert "(worst)" not in page.cells[(b, "overdue")]["text"]

    assert open_page(client, "/dashboard/?sort=overdue&order=asc").league_order == [b, a]
    assert open_page(client, "/dashboard/?sort=returns").league_order == [b, a]  # worst first
    assert open_page(client, "/dashboard/?sort=response").league_order == [a, b]  # 60% before 100%
    # a rate without cases sorts last whichever way
    assert open_page(client, "/dashboard/?sort=resolution&order=desc").league_order == [a, b]
    assert open_page(client, "/dashboard/?sort=resolution&order=asc").league_order == [a, b]
    names = sorted([(june.department_a.name, a), (june.department_b.name, b)])
    assert open_page(client, "/dashboard/?sort=department").league_order == [key for _n, key in names]
    assert open_page(client, "/dashboard/?sort=nonsense&order=up").league_order == [a, b]


def test_the_sort_links_keep_the_scope_and_turn_the_order(client, auth, june: June) -> None:
    auth.login(june.leader)
    page = open_page(client, "/dashboard/?period=quarter&sort=overdue&order=desc")
    assert 'href="/dashboard/?period=quarter&amp;sort=overdue&amp;order=asc"' in page.html
    assert 'href="/dashboard/?period=quarter&amp;sort=response&amp;order=asc"' in page.html  # worst first
    assert 'href="/dashboard/league.xlsx?period=quarter&amp;sort=overdue&amp;order=desc"' in page.html


def test_the_league_table_in_excel_is_the_page_s(client, auth, june: June) -> None:
    auth.login(june.leader)
    page = open_page(client)
    response = client.get("/dashboard/league.xlsx")
    assert response.status_code == 200 and response.mimetype == XLSX_MIMETYPE
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == [str(column.label) for column in LEAGUE_COLUMNS]
    assert sheet.freeze_panes == "A2"
    departments = {june.department_a.id: june.department_a.name, june.department_b.id: june.department_b.name}
    assert [row[0] for row in rows[1:]] == [departments[key] for key in page.league_order]
    a = dict(zip([column.key for column in LEAGUE_COLUMNS], rows[1], strict=True))
    assert (a["open"], a["overdue"], a["returns"], a["reopenings"]) == (4, 2, 0, 1)
    assert a["response"] == pytest.approx(3 / 5) and a["on_time"] == pytest.approx(3 / 4)
    assert a["average_days"] == pytest.approx(10.0)
    b = dict(zip([column.key for column in LEAGUE_COLUMNS], rows[2], strict=True))
    assert b["resolution"] is None and b["satisfaction"] is None  # "—" on the page: an empty cell
    assert sheet.cell(row=2, column=4).number_format == "0.0%"
    for (department, column), cell in page.cells.items():
        if column in ("open", "overdue", "returns", "reopenings"):
            row = rows[1 + page.league_order.index(department)]
            value = row[[c.key for c in LEAGUE_COLUMNS].index(column)]
            assert str(value) == cell["text"].replace("(worst)", "")


# The scope

def test_the_period_department_and_category(client, auth, june: June) -> None:
    auth.login(june.leader)
    scope = open_page(client).ids["dashboard-scope"]
    assert (scope["data-kind"], scope["data-first"], scope["data-last"]) == (
        "month", "2026-06-01", "2026-06-30")
    year = open_page(client, "/dashboard/?period=year").ids["dashboard-scope"]
    assert (year["data-first"], year["data-last"]) == ("2026-01-01", "2026-12-31")
    week = open_page(client, "/dashboard/?period=week&from=2026-01-01&to=2026-01-31")  # the period wins
    assert week.ids["dashboard-scope"]["data-first"] == "2026-06-29"
    chosen = open_page(client, "/dashboard/?period=range&from=2026-06-01&to=2026-06-07")
    assert chosen.ids["dashboard-scope"]["data-kind"] == "range"
    assert chosen.headline(Count.DISPATCHED) == 5  # d1, d2, d6, d7 and d5 (again, on the 5th)
    assert "dates-refused" not in chosen.ids
    refused = open_page(client, "/dashboard/?from=2026-06-30&to=2026-06-01")
    assert "dates-refused" in refused.ids and refused.ids["dashboard-scope"]["data-kind"] == "month"

    b = open_page(client, f"/dashboard/?department={june.department_b.id}")
    assert (b.headline(Count.OPEN), b.headline(Count.RETURNS), b.headline(Count.DISPATCHED)) == (1, 1, 1)
    assert f'<option value="{june.department_b.id}" selected>' in b.html
    category = june.demands["d1"].category_id
    assert open_page(client, f"/dashboard/?category={category}").headline(Count.OPEN) == 7
    for bad in ("department=999999", "department=abc", "category=-1", "period=decade"):
        assert open_page(client, f"/dashboard/?{bad}").headline(Count.OPEN) == 7, bad


def test_the_dispatched_count_of_a_range_lists_the_same(client, auth, june: June) -> None:
    auth.login(june.leader)
    page = open_page(client, "/dashboard/?from=2026-06-01&to=2026-06-07")
    link = next(link for link in page.links if link.section == "headline" and link.measure == "dispatched")
    assert list_total(client, link.href.replace("&amp;", "&")) == link.count == 5


# The chart

def test_the_trend_chart_is_an_svg_with_a_policy_of_its_own(client, auth, june: June) -> None:
    auth.login(june.leader)
    page = open_page(client, "/dashboard/?period=quarter")
    assert page.ids["trend-chart"]["src"] == "/dashboard/trend.svg?period=quarter"
    assert page.ids["trend-chart"]["alt"]
    response = client.get("/dashboard/trend.svg?period=quarter")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    svg = response.get_data(as_text=True)
    assert svg.startswith("<svg") and "<script" not in svg
    assert "Dispatched" in svg and "Closed" in svg and "6/29" in svg and "4/13" in svg
    assert "WenQuanYi" in svg
    # the week table beside it holds the same numbers: 12 weeks, 5 dispatched in the week of 1 June
    weeks = [link for link in page.links if link.section == "trend-section"]
    assert len(weeks) == 24
    assert [link.count for link in weeks if link.measure == "dispatched"][-5] == 5


def test_the_chart_speaks_chinese(client, auth, june: June) -> None:
    client.post("/language", data={"locale": "zh_CN", "next": "/"})
    auth.login(june.leader)
    assert client.get("/dashboard/trend.svg").status_code == 200


# The list opened from a number

def test_the_list_says_what_a_dashboard_number_counts(client, auth, june: June) -> None:
    auth.login(june.leader)
    page = open_page(client)
    withdrawn = next(link for link in page.links if link.measure == "closed_withdrawn")
    html = client.get(withdrawn.href.replace("&amp;", "&")).get_data(as_text=True)
    assert 'id="drilldown"' in html
    assert "Closed 2026-06-01 – 2026-06-30 · Withdrawn" in html
    for name, value in (("closed_from", "2026-06-01"), ("closed_to", "2026-06-30"),
                        ("close_reason", "withdrawn")):
        assert f'<input type="hidden" name="{name}" value="{value}">' in html
    assert 'href="/demands/?state=closed" id="drop-drilldown"' in html

    overdue = next(link for link in page.links if link.measure == "overdue_department")
    html = client.get(overdue.href.replace("&amp;", "&")).get_data(as_text=True)
    assert "Overdue, owed by the department" in html
    signed = next(link for link in page.links if link.measure == "signed_on_time")
    html = client.get(signed.href.replace("&amp;", "&")).get_data(as_text=True)
    assert "Signed by the sign deadline" in html and "Dispatched" not in html.split('id="drilldown"')[1][:400]
    returns = next(link for link in page.links
                   if link.measure == "returns" and link.section == "league-section" and link.count == 1)
    html = client.get(returns.href.replace("&amp;", "&")).get_data(as_text=True)
    assert f"Returned by {june.department_b.name} 2026-06-01 – 2026-06-30" in html
    assert 'id="drilldown"' not in client.get("/demands/?overdue=1").get_data(as_text=True)


# A fixed number of statements

def _statements(client, count_queries, url: str) -> int:
    client.get(url)  # warm up
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    return counter.count


def test_the_page_runs_a_fixed_number_of_queries(client, auth, june: June, count_queries, company, department,
                                                 other_department, officer, handler) -> None:
    category = db.session.scalars(select(Category).order_by(Category.position)).first()

    def add(n: int, start: int) -> None:
        bulk_demands(n, company=company, category=category, department=department,
                     other_department=other_department, officer=officer, handler=handler, start=start)

    auth.login(june.leader)
    urls = ("/dashboard/", f"/dashboard/?department={department.id}&period=quarter",
            "/dashboard/?sort=response&order=asc", "/dashboard/trend.svg")
    add(10, 0)
    few = [_statements(client, count_queries, url) for url in urls]
    add(490, 10)
    assert open_page(client).headline(Count.OPEN) > 400
    many = [_statements(client, count_queries, url) for url in urls]
    assert many == few
    assert max(many) <= 22


def test_the_pager_keeps_every_value_of_the_drill_down(client, auth, june: June, company, department,
                                                       other_department, officer, handler) -> None:
    category = db.session.scalars(select(Category).order_by(Category.position)).first()
    bulk_demands(480, company=company, category=category, department=department,
                 other_department=other_department, officer=officer, handler=handler)  # 60 withdrawn
    auth.login(june.leader)
    url = ("/demands/?state=closed&closed_from=2026-06-01&closed_to=2026-06-30"
           "&close_reason=withdrawn&close_reason=duplicate")
    html = client.get(url).get_data(as_text=True)
    assert 'data-total="62"' in html  # and d8, d9
    next_link = re.search(r'<a class="page-link" href="([^"]+)">Next</a>', html).group(1)
    next_link = next_link.replace("&amp;", "&")
    args = parse_qs(urlsplit(next_link).query)
    assert args["close_reason"] == ["withdrawn", "duplicate"] and args["page"] == ["2"]
    assert args["closed_from"] == ["2026-06-01"] and args["state"] == ["closed"]
    assert 'id="drilldown"' in client.get(next_link).get_data(as_text=True)
