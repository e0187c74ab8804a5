"""Every list, queue and dashboard page runs the same number of queries whatever the number of
demands: measured on the benchmark's data set (servicedesk.bench.data) at two sizes, four times
apart, in the suite's own database (restored after the test like any other).

Two things vary with the data and not with its size, and are kept out of the comparison: a list that
is empty skips its loader queries (so every queue section is given a demand first), and the working
calendar fetches a range of days once per request, reaching as far back as the oldest deadline shown
(one statement more when that lies before what the page had fetched already; a few per page, never
one per row).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from sqlalchemy import func, insert, select, update

from servicedesk.bench import data
from servicedesk.bench.__main__ import measure_links
from servicedesk.extensions import db
from servicedesk.models import Demand, DemandEvent, ExtensionRequest, Notification, User, Visit

SMALL, LARGE = 150, 600
#: the working calendar's fetch of a range of days (see the module's docstring)
CALENDAR_SPAN = "SELECT calendar_years.year, calendar_days.day"
#: the most of them a page runs (the dashboard: its periods, age groups, red list and cards)
MAX_CALENDAR_SPANS = 5


def _busiest(column: Any, *where: Any) -> int:
    """The value of the column shared by the most rows (of its table, under the conditions)."""
    return db.session.execute(select(column).where(*where).group_by(column)
                              .order_by(func.count().desc(), column).limit(1)).scalar_one()


def _pages(world: data.World) -> dict[str, tuple[str, str]]:
    """Page name -> (who opens it, its URL), chosen on the small data set so that every list on
    them has rows at both sizes (an empty list skips its loader queries: that is no growth)."""
    department = _busiest(Demand.lead_department_id, Demand.state == "closed")
    handler = _busiest(Notification.user_id, Notification.user_id.in_(world.handlers[department]))
    longest = _busiest(DemandEvent.demand_id, DemandEvent.demand_id.in_(
        select(Demand.id).where(Demand.state == "closed")))
    visit = _busiest(Demand.visit_id, Demand.visit_id.is_not(None))
    assert db.session.get(Visit, visit) is not None
    return {
        "list": ("officer", "/demands/"),
        "list_page_2": ("officer", "/demands/?page=2"),
        "list_filtered": ("officer", "/demands/?" + urlencode({"department": department, "state": "closed"})),
        "list_keyword_short": ("officer", "/demands/?" + urlencode({"q": "用地"})),
        "list_keyword_long": ("officer", "/demands/?" + urlencode({"q": "协调解决"})),
        "list_as_handler": (f"handler:{handler}", "/demands/"),
        "queue_handler": (f"handler:{handler}", "/demands/queue"),
        "queue_officer": ("officer", "/demands/queue"),
        "queue_leader": ("leader", "/demands/queue"),
        "demand_page": ("leader", f"/demands/{longest}"),
        "dashboard_month": ("leader", "/dashboard/?period=month"),
        "dashboard_year": ("leader", "/dashboard/?period=year"),
        "dashboard_department": ("leader", f"/dashboard/?period=year&department={department}"),
        "visits": ("officer", "/visits/"),
        "visit_page": ("officer", f"/visits/{visit}"),
        "companies": ("officer", "/companies/"),
        "messages": (f"handler:{handler}", "/messages/"),
        "chased_for": (f"handler:{handler}", "/messages/chased-for"),
    }


def _give_every_queue_section_a_demand(department: int, world: data.World) -> None:
    """Six closed demands of the department made into one of each thing a queue lists: to sign, in
    progress and due soon, overdue under key supervision, with a pending extension request, returned
    and waiting for dispatch, waiting for the company's feedback."""
    ids = db.session.scalars(select(Demand.id).where(Demand.lead_department_id == department,
                                                     Demand.state == "closed")
                             .order_by(Demand.id).limit(6)).all()
    assert len(ids) == 6
    today = data.TODAY
    reopened = {"closed_at": None, "close_reason": None, "feedback": None, "feedback_at": None}
    changes = [
        {"state": "assigned", "current_step": "sign", "current_due": today + timedelta(days=14)},
        {"state": "accepted", "current_step": "respond", "current_due": today},
        {"state": "accepted", "current_step": "respond", "current_due": today - timedelta(days=10),
         "key_supervision": True},
        {"state": "accepted", "current_step": "respond", "current_due": today + timedelta(days=14)},
        {"state": "registered", "current_step": None, "current_due": None, "lead_department_id": None,
         "returns_count": 1},
        {"state": "responded", "current_step": "feedback", "current_due": today + timedelta(days=2)},
    ]
    for demand_id, change in zip(ids, changes, strict=True):
        db.session.execute(update(Demand).where(Demand.id == demand_id).values(**reopened, **change))
    db.session.execute(insert(ExtensionRequest).values(
        demand_id=ids[3], requested_by_id=world.handlers[department][0], requested_at=data.NOW,
        reason="需要会商", new_due=today + timedelta(days=30), status="pending"))
    db.session.commit()


def _counts(app: Flask, client: Any, count_queries: Any, world: data.World,
            pages: dict[str, tuple[str, str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    signed_in = None
    for name, (who, url) in sorted(pages.items(), key=lambda item: item[1][0]):
        if who != signed_in:
            client.post("/auth/logout")
            username = (db.session.get(User, int(who.split(":")[1])).username if who.startswith("handler:")
                        else world.usernames[who][0])
            assert client.post("/auth/login", data={"username": username,
                                                     "password": data.PASSWORD}).status_code == 302
            signed_in = who
        client.get(url)  # the first request of a page compiles and caches; count the second
        # each request starts from an empty session, as a real one does (the test's app context
        # would otherwise keep what earlier pages loaded, and spare this one its queries)
        db.session.remove()
        with count_queries() as counter:
            response = client.get(url)
        assert response.status_code == 200, (name, url)
        spans = sum(1 for statement in counter.statements if statement.startswith(CALENDAR_SPAN))
        assert spans <= MAX_CALENDAR_SPANS, (name, counter.statements)
        counts[name] = counter.count - spans
        if name == "dashboard_year":
            links = measure_links(response.get_data(as_text=True))
            pages.setdefault("drilldown_overdue", ("leader", links["overdue"]))
            pages.setdefault("drilldown_on_time_rate", ("leader", links["rate:on_time"]))
    return counts


def test_pages_run_as_many_queries_at_four_times_the_demands(app, client, count_queries,
                                                              freeze_clock) -> None:
    freeze_clock(data.FROZEN_NOW)
    world = data.seed_world(app)
    data.add_demands(app, world, SMALL)
    pages = _pages(world)
    _give_every_queue_section_a_demand(int(pages["list_filtered"][1].split("department=")[1].split("&")[0]),
                                       world)
    small = _counts(app, client, count_queries, world, pages)
    # the drill-down links come from the dashboard: count them at the small size too
    small.update(_counts(app, client, count_queries, world,
                         {k: v for k, v in pages.items() if k.startswith("drilldown")}))

    db.session.remove()  # end the test's reading transaction, so that it sees the new demands
    data.add_demands(app, world, LARGE - SMALL)
    assert db.session.scalar(select(func.count()).select_from(Demand)) == LARGE
    large = _counts(app, client, count_queries, world, pages)

    assert set(small) == set(large) and len(small) == 20
    grown = {name: (small[name], large[name]) for name in small if small[name] != large[name]}
    assert not grown, f"queries at {SMALL} and {LARGE} demands differ: {grown}"
