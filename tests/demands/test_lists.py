"""The queues and the list of all demands: each role's sections, the filters and the search through
the page, department scoping, pagination, and a fixed number of SQL statements per page."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from servicedesk.calendar.store import working_calendar
from servicedesk.demands import lists
from servicedesk.demands.operations import take_action
from servicedesk.demands.search import LIST_ROWS, DemandFilters, Sort, demand_query
from servicedesk.domain.lifecycle import Action
from servicedesk.extensions import db
from servicedesk.models import Category, Demand, DemandEvent, ExtensionRequest, Role
from servicedesk.pagination import first_rows_of_each, ids_first_of, paginate, rows_of_each
from tests.demands.test_search import spread_demands

#: Wednesday 17 June 2026: demands made by the fixtures on Monday the 15th had to be signed on the 16th
WEDNESDAY = "2026-06-17T10:00+08:00"


@pytest.fixture(autouse=True)
def _english(client) -> None:
    client.post("/language", data={"locale": "en", "next": "/"})


class ListPage(HTMLParser):
    """The sections of a queue (data-section, data-count) and the demand numbers of each table."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.sections: dict[str, int] = {}
        self.rows: dict[str, list[str]] = {}
        self.cards: dict[str, str] = {}
        self._section = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "section" and found.get("data-section"):
            self._section = found["data-section"] or ""
            self.sections[self._section] = int(found.get("data-count") or 0)
            self.rows[self._section] = []
        if tag == "tr" and found.get("data-demand"):
            self.rows.setdefault(self._section, []).append(found["data-demand"] or "")
            self.cards[found["data-demand"] or ""] = found.get("data-card") or ""


def page_of(client, url: str) -> tuple[ListPage, str]:
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.get_data(as_text=True)
    return ListPage(html), html


@pytest.fixture
def spread(client, make_demand, make_user, department, other_department, make_company, leader,
           freeze_clock):
    demands = spread_demands(make_demand, make_user, department, other_department, make_company, leader)
    freeze_clock(WEDNESDAY)
    return {name: demand.number for name, demand in demands.items()}


# The queues

def test_officer_queue(client, auth, officer, spread, department, make_demand, handler) -> None:
    responded = make_demand("研发楼配电", dispatch_to=department)
    take_action(responded, Action.SIGN, handler, {}, None, datetime.fromisoformat("2026-06-15T10:00+08:00"))
    take_action(responded, Action.RESPOND, handler, {"outcome": "solved", "text": "已增容"}, None,
                datetime.fromisoformat("2026-06-16T10:00+08:00"))
    db.session.commit()
    auth.login(officer)
    page, html = page_of(client, "/demands/queue")
    assert page.sections == {"officer-to_dispatch": 2, "officer-awaiting_feedback": 1, "officer-returned": 1}
    assert page.rows["officer-to_dispatch"] == [spread["registered"], spread["returned"]]
    assert page.rows["officer-awaiting_feedback"] == [responded.number]
    assert page.rows["officer-returned"] == [spread["returned"]]
    assert "Returned by 行政审批局" in html and "不属于本部门" in html
    assert html.count('class="small text-danger-emphasis returned-note"') == 2  # in both sections


def test_handler_queue(client, auth, spread, department, make_user) -> None:
    handler = make_user(Role.HANDLER, department=department, display_name="陈静")
    auth.login(handler)
    page, html = page_of(client, "/demands/queue")
    assert page.sections == {"handler-to_sign": 1, "handler-in_progress": 2, "handler-due_soon": 1,
                             "handler-overdue": 2, "handler-extensions": 1}
    assert page.rows["handler-to_sign"] == [spread["assigned"]]  # lead only: not the co one
    assert page.rows["handler-in_progress"] == [spread["accepted"], spread["extension"]]
    assert page.rows["handler-due_soon"] == [spread["accepted"]]
    assert page.rows["handler-overdue"] == sorted([spread["assigned"], spread["co"]])
    assert page.rows["handler-extensions"] == [spread["extension"]]
    assert "需要省厅批复" in html
    for hidden in ("registered", "returned", "flagged"):
        assert spread[hidden] not in html
    assert page.cards[spread["assigned"]] == "red" and page.cards[spread["accepted"]] == "yellow"


def test_leader_queue(client, auth, leader, spread) -> None:
    auth.login(leader)
    page, html = page_of(client, "/demands/queue")
    assert page.sections == {"leader-key_supervision": 1, "leader-extension_requests": 1,
                             "leader-overdue": 3}
    assert page.rows["leader-key_supervision"] == [spread["flagged"]]
    assert page.rows["leader-extension_requests"] == [spread["extension"]]
    assert page.rows["leader-overdue"] == sorted([spread["assigned"], spread["co"], spread["flagged"]])
    assert 'data-key-supervision="1"' in html and "市领导关注" in html


def test_a_user_with_several_roles_sees_each_queue(client, auth, make_user, spread) -> None:
    both = make_user(Role.OFFICER, Role.LEADER)
    auth.login(both)
    page, html = page_of(client, "/demands/queue")
    assert {key.split("-")[0] for key in page.sections} == {"officer", "leader"}
    assert 'id="role-officer"' in html and 'id="role-leader"' in html


def test_an_empty_queue_says_so(client, auth, officer, calendar_2026, freeze_clock) -> None:
    freeze_clock(WEDNESDAY)
    auth.login(officer)
    page, html = page_of(client, "/demands/queue")
    assert set(page.sections.values()) == {0}
    assert "Nothing waits to be dispatched." in html


def test_a_section_opens_the_same_demands_in_the_list(client, auth, leader, officer, spread,
                                                       department, make_user) -> None:
    handler = make_user(Role.HANDLER, department=department)
    for user in (leader, officer, handler):
        auth.login(user)
        page, html = page_of(client, "/demands/queue")
        pattern = r'data-section="([^"]+)"(?:(?!data-section=).)*?class="small see-all" href="([^"]+)"'
        links = dict(re.findall(pattern, html, re.S))
        for section, count in page.sections.items():
            if not count:
                continue
            listed, _html = page_of(client, links[section].replace("&amp;", "&"))
            assert set(listed.rows.get("", [])) == set(page.rows[section]), section
        auth.logout()


def test_home_opens_on_the_queue_but_not_for_leaders_or_administrators(client, auth, officer, admin_user,
                                                                       spread, leader) -> None:
    auth.login(officer)
    page, _html = page_of(client, "/")
    assert page.sections
    auth.logout()
    auth.login(leader)  # a leader opens on the dashboard and keeps the queue in the navigation
    assert client.get("/").headers["Location"] == "/dashboard/"
    page, html = page_of(client, "/demands/queue")
    assert page.sections and 'href="/demands/queue"' in html
    auth.logout()
    auth.login(admin_user)
    page, html = page_of(client, "/")
    assert not page.sections and "stat-card" in html


def test_the_queue_needs_signing_in(client) -> None:
    assert client.get("/demands/queue").status_code == 302
    assert client.get("/demands/").status_code == 302


# The list of all demands

def test_every_filter_through_the_page(client, auth, officer, spread, department, company) -> None:
    auth.login(officer)
    category = db.session.scalars(select(Category).order_by(Category.position)).all()[1]
    cases = {
        "state=registered&state=closed": {"registered", "returned", "closed"},
        f"department={department.id}": {"assigned", "co", "accepted", "extension", "closed"},
        f"department={department.id}&department_role=lead": {"assigned", "accepted", "extension", "closed"},
        f"department={department.id}&department_role=co": {"co"},
        f"category={category.id}": {"registered"},
        f"company={company.id}&state=assigned": {"assigned", "flagged"},
        "company_name=徐工": {"co"},
        "company_name=913203009ma3y7lljf": {"co"},  # the whole credit code, in any case
        "company_name=913203009MA3Y7LLJ": set(),  # part of a credit code is not one
        "company_name=万邦医药&state=assigned": {"assigned", "flagged"},  # the short name
        "company_name=万邦%": set(),  # a wildcard is a character like any other
        "source=hotline": {"registered"},
        "urgency=urgent": {"co", "accepted"},
        "overdue=y": {"assigned", "co", "flagged"},
        "due_soon=y": {"accepted"},
        "key_supervision=y": {"flagged"},
        "pending_extension=y": {"extension"},
        "returned=y": {"returned"},
        "logged_from=2026-06-15&logged_to=2026-06-15&state=registered": {"registered", "returned"},
        "logged_from=2026-06-16": set(),
        "dispatched_from=2026-06-15&dispatched_to=2026-06-15&urgency=complex": {"extension"},
        "dispatched_to=2026-06-14": set(),
        "q=融资": {"accepted"},
        "q=万邦&urgency=urgent": {"accepted"},
        "q=徐工挖掘机": {"co"},
    }
    for query, kinds in cases.items():
        page, html = page_of(client, "/demands/?" + query)
        assert set(page.rows.get("", [])) == {spread[kind] for kind in kinds}, query
        assert f'data-total="{len(kinds)}"' in html


def test_the_form_shows_the_filters_chosen(client, auth, officer, spread, department) -> None:
    auth.login(officer)
    _page, html = page_of(client, f"/demands/?q=用地&state=assigned&state=accepted&department={department.id}"
                                  "&overdue=y&sort=due&logged_from=2026-06-01")
    assert 'value="用地"' in html
    assert re.search(r'value="assigned"[^>]*checked|checked[^>]*value="assigned"', html)
    assert re.search(r'value="accepted"[^>]*checked|checked[^>]*value="accepted"', html)
    assert re.search(rf'<option selected value="{department.id}">|<option value="{department.id}" selected>',
                     html)
    assert re.search(r'id="overdue"[^>]*checked|checked[^>]*id="overdue"', html)
    assert 'value="2026-06-01"' in html
    assert '<details class="mt-2 more-filters" open>' in html


def test_a_malformed_date_is_shown_not_fatal(client, auth, officer, spread) -> None:
    auth.login(officer)
    page, html = page_of(client, "/demands/?logged_from=2026-02-31")
    assert len(page.rows[""]) == len(spread)  # ignored
    assert "is-invalid" in html


def test_chinese_search_through_the_page(client, auth, officer, make_demand) -> None:
    make_demand("新建生产线用地")
    make_demand("研发人员子女入学")
    auth.login(officer)
    for query, found in (("用地", ["新建生产线用地"]), ("生产线用地", ["新建生产线用地"]),
                         ("万邦", ["研发人员子女入学", "新建生产线用地"]),
                         ("万邦生化医药集团", ["研发人员子女入学", "新建生产线用地"])):
        html = client.get("/demands/", query_string={"q": query}).get_data(as_text=True)
        assert re.findall(r'<td class="demand-title">\s*([^\s<]+)', html) == found, query
    missing = client.get("/demands/", query_string={"q": "不存在"}).get_data(as_text=True)
    assert 'id="no-demands"' in missing and 'data-total="0"' in missing


def test_a_word_logged_between_two_searches_is_found_by_the_second(client, auth, officer,
                                                                   make_demand) -> None:
    """What a search remembers (SQLite's trigrams that begin with a two-character word) lasts one
    request, even under the test's own app context."""
    make_demand("研发人员子女入学")
    auth.login(officer)
    titles = r'<td class="demand-title">\s*([^\s<]+)'
    assert re.findall(titles, client.get("/demands/?q=用地").get_data(as_text=True)) == []
    make_demand("新建生产线用地")
    assert re.findall(titles, client.get("/demands/?q=用地").get_data(as_text=True)) == ["新建生产线用地"]


def test_handlers_list_and_search_only_their_departments(client, auth, spread, department, make_user) -> None:
    handler = make_user(Role.HANDLER, department=department)
    auth.login(handler)
    page, html = page_of(client, "/demands/")
    assert set(page.rows[""]) == {spread[k] for k in ("assigned", "co", "accepted", "extension", "closed")}
    page, html = page_of(client, "/demands/?q=子女入学")  # another department's
    assert page.rows.get("", []) == [] and 'data-total="0"' in html
    page, html = page_of(client, "/demands/?q=电力")  # co-department
    assert page.rows[""] == [spread["co"]]


def test_a_row_shows_its_deadline_card_and_reason(client, auth, officer, spread) -> None:
    auth.login(officer)
    page, html = page_of(client, "/demands/?sort=due")
    assert page.cards[spread["assigned"]] == "red" and page.cards[spread["accepted"]] == "yellow"
    assert page.cards[spread["extension"]] == "none"
    # every open demand with a deadline links to the explanation on its page
    assert html.count('class="small deadline-reason-link"') == 5
    ids = dict(db.session.execute(select(Demand.number, Demand.id)).all())
    assert f'/demands/{ids[spread["accepted"]]}#deadline-respond' in html
    assert f'/demands/{ids[spread["assigned"]]}#deadline-sign' in html
    assert "Red card: overdue" in html and "Yellow card: due soon" in html
    assert "Closed" in html


# Pagination and the number of queries

def bulk_demands(n: int, *, company, category, department, other_department, officer, handler,
                 start: int = 0) -> None:
    """n demands in eight kinds, inserted directly: registered, returned, assigned (red), accepted
    (yellow), accepted with a pending extension, responded, key supervision (co), closed."""
    calendar = working_calendar()
    monday = date(2026, 6, 15)
    dispatched = datetime.fromisoformat("2026-06-15T09:00+08:00")
    sign = calendar.deadline(monday, 1)
    urgent = calendar.deadline(monday, 3)
    normal = calendar.deadline(monday, 10)
    feedback = calendar.deadline(date(2026, 6, 16), 3)
    rows = []
    for i in range(start, start + n):
        kind = i % 8
        demand = Demand(
            number=f"B-{i:05d}", company_id=company.id, category_id=category.id, source="visit",
            title=f"新建生产线用地{i}", description="企业在座谈会上提出。", urgency="normal",
            state="registered", created_by_id=officer.id, created_at=dispatched, updated_at=dispatched,
            returns_count=1 if kind == 1 else 0)
        if kind >= 2:
            demand.lead_department_id = other_department.id if kind == 6 else department.id
            demand.dispatched_by_id, demand.dispatched_at = officer.id, dispatched
            demand.sign_from, demand.sign_days, demand.sign_due = sign.counted_from, 1, sign.due
            respond = urgent if kind == 3 else normal
            demand.respond_from, demand.respond_days = respond.counted_from, respond.working_days
            demand.respond_due = respond.due
            demand.state, demand.current_step, demand.current_due = "accepted", "respond", respond.due
        if kind == 2:
            demand.state, demand.current_step, demand.current_due = "assigned", "sign", sign.due
        if kind == 5:
            demand.feedback_from, demand.feedback_days = feedback.counted_from, 3
            demand.feedback_due = feedback.due
            demand.state, demand.current_step, demand.current_due = "responded", "feedback", feedback.due
        if kind == 6:
            demand.key_supervision, demand.key_supervision_reason = True, "市领导关注"
            demand.co_departments = [department]
        if kind == 7:
            demand.state, demand.current_step, demand.current_due = "closed", None, None
            demand.closed_at, demand.close_reason = dispatched + timedelta(days=1), "withdrawn"
        rows.append((kind, demand))
    db.session.add_all(demand for _kind, demand in rows)
    db.session.flush()
    for kind, demand in rows:
        if kind == 1:
            db.session.add(DemandEvent(demand_id=demand.id, at=dispatched, actor_id=handler.id,
                                       actor_role="handler", action="return", from_state="assigned",
                                       to_state="registered", text="不属于本部门",
                                       details={"department": department.name}))
        if kind == 4:
            db.session.add(ExtensionRequest(demand_id=demand.id, requested_by_id=handler.id,
                                            requested_at=dispatched, reason="需要省厅批复",
                                            new_due=date(2026, 8, 31), status="pending"))
    db.session.commit()


@pytest.fixture
def bulk(app, company, department, other_department, officer, handler, leader, calendar_2026, freeze_clock):
    freeze_clock(WEDNESDAY)
    category = db.session.scalars(select(Category).order_by(Category.position)).first()
    made = [0]

    def add(n: int) -> None:
        bulk_demands(n, company=company, category=category, department=department,
                     other_department=other_department, officer=officer, handler=handler, start=made[0])
        made[0] += n

    return add


def test_the_list_is_paged_and_the_pager_keeps_the_filters(client, auth, officer, bulk) -> None:
    bulk(64)  # 8 of each kind: 16 registered, 8 assigned, 24 accepted
    auth.login(officer)
    url = "/demands/?q=用地&state=registered&state=assigned&state=accepted&sort=number"
    first, html = page_of(client, url)
    assert 'data-total="48"' in html and len(first.rows[""]) == 48
    assert 'class="page-link"' not in html
    bulk(64)
    first, html = page_of(client, url)
    assert 'data-total="96"' in html and len(first.rows[""]) == 50
    assert first.rows[""] == sorted(first.rows[""])
    next_link = re.search(r'<a class="page-link" href="([^"]+)">Next</a>', html).group(1)
    next_link = next_link.replace("&amp;", "&")
    args = parse_qs(urlsplit(next_link).query)
    assert args["page"] == ["2"] and args["q"] == ["用地"] and args["sort"] == ["number"]
    assert sorted(args["state"]) == ["accepted", "assigned", "registered"]
    second, _html = page_of(client, next_link)
    assert len(second.rows[""]) == 46 and not set(second.rows[""]) & set(first.rows[""])


def _count(client, count_queries, url: str) -> int:
    client.get(url)  # warm up
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200
    return counter.count


LIST_URLS = [
    "/demands/queue",
    "/demands/",
    "/demands/?q=用地&sort=due",
    "/demands/?q=生产线用地&state=assigned&state=accepted&overdue=1",
    "/demands/?due_soon=1&key_supervision=&pending_extension=&department_role=any",
    "/demands/?pending_extension=1&logged_from=2026-06-01&dispatched_to=2026-06-30",
    "/demands/?returned=1&state=registered&sort=oldest",
    "/demands/?key_supervision=1&urgency=normal&source=visit",
]


def test_list_pages_run_a_fixed_number_of_queries(client, auth, officer, leader, handler, department,
                                                  bulk, count_queries) -> None:
    bulk(10)
    users = {"officer": officer, "handler": handler, "leader": leader}
    few = {}
    for name, user in users.items():
        auth.login(user)
        few[name] = [_count(client, count_queries, url) for url in LIST_URLS]
        few[name].append(_count(client, count_queries, f"/demands/?department={department.id}&q=用地"))
        auth.logout()
    bulk(190)
    for name, user in users.items():
        auth.login(user)
        many = [_count(client, count_queries, url) for url in LIST_URLS]
        many.append(_count(client, count_queries, f"/demands/?department={department.id}&q=用地"))
        assert many == few[name], name
        assert max(many) <= 20, name
        auth.logout()


def test_a_long_section_shows_its_first_items_and_links_to_all(client, auth, officer, bulk) -> None:
    bulk(200)  # 50 registered: 25 of them returned
    auth.login(officer)
    page, html = page_of(client, "/demands/queue")
    assert page.sections["officer-to_dispatch"] == 50 and len(page.rows["officer-to_dispatch"]) == 20
    assert page.rows["officer-to_dispatch"] == sorted(page.rows["officer-to_dispatch"])  # oldest first
    assert "See all 50" in html and "See all 25" in html


def test_the_sections_rows_read_in_one_statement_are_each_sections_first_rows(app, leader, spread,
                                                                              department) -> None:
    """first_rows_of_each (one UNION ALL for all a queue's sections) gives each statement's first
    rows in its own order, as reading each alone would; an empty one stays empty."""
    filters = [DemandFilters(sort=sort) for sort in Sort] + [
        DemandFilters(states=("accepted", "assigned"), department_id=department.id, sort=Sort.DUE),
        DemandFilters(states=("closed",), key_supervision=True),  # nothing
    ]
    statements = [demand_query(leader, f) for f in filters]
    for limit in (1, 3, 50):
        together = rows_of_each(first_rows_of_each(statements, limit, LIST_ROWS), len(statements))
        alone = [db.session.execute(ids_first_of(s, limit, read_whole=LIST_ROWS)).all() for s in statements]
        assert [[row.number for row in rows] for rows in together] == [[row.number for row in rows]
                                                                      for rows in alone]
    assert together[-1] == [] and len(together[0]) == len(spread)


def test_a_queues_statements_are_built_once_for_each_kind_of_queue(client, auth, spread, department,
                                                                   other_department, make_user,
                                                                   freeze_clock) -> None:
    """Handlers of one department share their queue's statements; another department's handler, or
    the next day, get their own, and each sees their own demands."""
    first, second = (make_user(Role.HANDLER, department=department) for _ in range(2))
    other = make_user(Role.HANDLER, department=other_department)
    lists._queue_statements.clear()
    seen = {}
    for user in (first, second, other):
        auth.login(user)
        seen[user.id] = page_of(client, "/demands/queue")[0].sections
        auth.logout()
    assert seen[first.id] == seen[second.id] != seen[other.id]
    assert seen[other.id]["handler-in_progress"] == 0 and seen[first.id]["handler-in_progress"] == 2
    assert len(lists._queue_statements) == 2  # one per department
    auth.login(first)
    page_of(client, "/demands/queue")
    assert len(lists._queue_statements) == 2
    freeze_clock("2026-06-18T10:00+08:00")  # Thursday: another card window
    page_of(client, "/demands/queue")
    assert len(lists._queue_statements) == 3


def test_postgresql_is_sent_a_queues_statements_with_their_values_written_in(client, auth, handler,
                                                                              spread, count_queries) -> None:
    """Built for one kind of queue, they hold only the desk's own values, so that PostgreSQL
    keeps their plans (database.with_values_written_in)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plans")
    auth.login(handler)
    with count_queries() as counter:
        page, _html = page_of(client, "/demands/queue")
    assert page.sections["handler-in_progress"] > 0
    queue = [parameters for sql, parameters in counter.sent
             if sql.startswith("SELECT (SELECT count") or "list_number" in sql]
    assert len(queue) == 2 and not any(queue)


def test_postgresql_is_sent_a_list_of_checked_values_written_in_and_a_users_text_apart(
        client, auth, leader, spread, count_queries) -> None:
    """The lists people open again and again (the dashboard's links) keep their plans on
    PostgreSQL; a keyword is never written into the SQL."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plans")
    auth.login(leader)
    sent = {}
    for url in ("/demands/?state=accepted&state=assigned&overdue=1", "/demands/?q=用地&state=accepted"):
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        sent[url] = [parameters for sql, parameters in counter.sent if "FROM demands" in sql
                     and "demand_state_totals" not in sql]
    checked, keyword = sent.values()
    assert len(checked) == 2 and not any(checked)  # the count and the rows
    assert keyword and all("用地" in str(parameters) for parameters in keyword)


def test_a_pages_size_and_start_are_written_into_its_sql(app, leader, spread, count_queries) -> None:
    """As numbers in the SQL, not parameters, so that PostgreSQL may keep a list's plan
    (pagination.window_of); the page is the same rows either way."""
    statement = demand_query(leader, DemandFilters(sort=Sort.NEWEST))
    everything = db.session.scalars(statement).all()
    with count_queries() as counter:
        page = paginate(statement, 2, 3)
        by_ids = paginate(statement, 2, 3, ids_first=True)
    assert page.items == by_ids.items == everything[3:6] and page.total == len(everything)
    for sql in counter.statements[1::2]:  # each page's rows, after its count
        assert " LIMIT 3 OFFSET 3" in " ".join(sql.split())


def test_a_page_past_the_end_is_an_empty_page(client, auth, officer, spread) -> None:
    auth.login(officer)
    for page in ("2", "99999999999999999999999"):  # just past the end, and an offset no database takes
        response = client.get(f"/demands/?page={page}")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert "<tr data-demand=" not in html and f"{len(spread)} demands." in html
