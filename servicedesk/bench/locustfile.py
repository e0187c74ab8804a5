"""The simulated users of the load test (`python -m servicedesk.bench.load` runs this with locust).

Each user signs in through the login page and works through the real pages and forms, reading
the CSRF token, the demand's version and the choices from the HTML as a browser would:

- officers log a standalone demand with the "log a demand" form (answering the duplicate check
  when it asks) and dispatch a registered demand from its page;
- handlers, each for one department, open their queue, sign an assigned demand of their
  department and respond to an accepted one;
- leaders open the dashboard (this month, this year, with its trend chart) and follow one of
  its numbers to the list behind it.

The plan (users, password, the demands waiting at each step) is a JSON file named by
SERVICEDESK_LOAD_PLAN, written by servicedesk.bench.load from the database. What the users
confirmed they wrote (each demand logged, each action's event) is written at the end to
SERVICEDESK_LOAD_COUNTS, for the load script to compare with the database.

Two users never work on the same demand: the demands waiting at a step are in one pool per step
(and department) in this process, and a user takes a demand out of its pool before opening it
and puts it in the next step's pool once its action is done. A refusal (409 stale version, or
the page saying the action cannot be taken) is therefore not expected; it is counted apart as a
race, not as an error. Any other answer than the one the page gives for the step (a 5xx, a 4xx,
a body with "database is locked", a redirect to the login page) is a failure.
"""

from __future__ import annotations

import html
import json
import os
import random
import re
from collections import Counter, deque
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from locust import FastHttpUser, between, events, task
from locust.exception import StopUser

PLAN_ENV = "SERVICEDESK_LOAD_PLAN"
COUNTS_ENV = "SERVICEDESK_LOAD_COUNTS"
FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded"}
LOCKED = b"database is locked"
DEMAND_PATH = re.compile(r"^(?:https?://[^/]+)?/demands/(\d+)(?:[?#].*)?$")
DRILL_DOWN = re.compile(r'href="(/demands/\?[^"]+)"')
TREND = re.compile(r'src="(/dashboard/trend\.svg[^"]*)"')
TOPICS = ("新建生产线用地指标", "厂房扩建规划许可", "电力增容", "环评审批加快", "人才公寓申请", "融资担保",
          "子女入学", "物流通道改造", "消防验收", "排污许可证延续", "高新技术企业认定", "出口退税")
STANDALONE_SOURCES = ("hotline", "letter", "online", "other")


def _load_plan() -> dict[str, Any]:
    path = os.environ.get(PLAN_ENV)
    if not path:  # imported without a plan (e.g. `locust --help`): users fail to start, loudly
        return {}
    return json.loads(Path(path).read_text(encoding="utf-8"))


PLAN = _load_plan()


class Pools:
    """The demands waiting at each step, taken by one user at a time (gevent: no thread switches
    between the check and the pop)."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.to_dispatch: deque[int] = deque(plan.get("to_dispatch", ()))
        self.to_sign: dict[int, deque[int]] = {int(k): deque(v) for k, v in plan.get("to_sign", {}).items()}
        self.to_respond: dict[int, deque[int]] = {int(k): deque(v)
                                                  for k, v in plan.get("to_respond", {}).items()}

    @staticmethod
    def take(pool: deque[int]) -> int | None:
        return pool.popleft() if pool else None


POOLS = Pools(PLAN)
#: what the users confirmed written: demands logged, and events by action ("logged" included)
CREATED: dict[str, Any] = {"demand_ids": [], "events": Counter(), "actions": []}
#: actions refused by the desk (races), by action, and why (the first few, for reading)
REFUSED: Counter[str] = Counter()
REASONS: list[str] = []
MESSAGE = re.compile(r'class="(?:alert alert-danger[^"]*|invalid-feedback[^"]*)"[^>]*>\s*([^<]+)')
#: actions not attempted because no demand waited at the step
IDLE: Counter[str] = Counter()
#: users started so far, by class: each takes the next account, so that no two share one
TURNS: Counter[str] = Counter()
#: the departments some simulated handler works for: officers dispatch to them, so that what
#: they dispatch is signed during the run
STAFFED: set[int] = set()


@events.quitting.add_listener
def _write_counts(environment: Any, **_kwargs: Any) -> None:
    """What the users wrote, and locust's figures, once every user has stopped. (Locust's own CSV
    is written every second while users run, so it misses the requests of their last tasks.)"""
    path = os.environ.get(COUNTS_ENV)
    if not path:
        return
    stats = environment.stats
    Path(path).write_text(json.dumps({
        "demand_ids": CREATED["demand_ids"], "events": dict(CREATED["events"]),
        "actions": CREATED["actions"], "refused": dict(REFUSED), "reasons": REASONS, "idle": dict(IDLE),
        "stats": [_figures(entry) for entry in sorted(stats.entries.values(),
                                                       key=lambda e: (e.name, e.method))],
        "total": _figures(stats.total),
        "failures": [{"method": error.method, "name": error.name, "error": str(error.error),
                      "occurrences": error.occurrences} for error in stats.errors.values()],
        # errors in the simulation itself (a task that raised): the run proves nothing then
        "exceptions": [{"count": e["count"], "msg": e["msg"], "traceback": e["traceback"]}
                       for e in environment.runner.exceptions.values()] if environment.runner else [],
    }), encoding="utf-8")


def _figures(entry: Any) -> dict[str, Any]:
    return {"method": entry.method or "", "name": entry.name, "requests": entry.num_requests,
            "failures": entry.num_failures, "rps": entry.total_rps,
            "p50": entry.get_response_time_percentile(0.5), "p95": entry.get_response_time_percentile(0.95),
            "p99": entry.get_response_time_percentile(0.99), "max": entry.max_response_time}


# Reading pages

class Form:
    """A form as the browser would send it: its action and its successful controls' values."""

    def __init__(self, attrs: dict[str, str]) -> None:
        self.id = attrs.get("id", "")
        self.action = html.unescape(attrs.get("action", ""))
        self.values: dict[str, list[str]] = {}
        #: each radio group's and select's choices, by name
        self.choices: dict[str, list[str]] = {}

    def set(self, name: str, *values: str) -> None:
        self.values[name] = list(values)

    def first(self, name: str) -> str | None:
        return (self.values.get(name) or [None])[0]

    def encoded(self) -> str:
        return urlencode([(name, value) for name, values in self.values.items() for value in values])


class FormReader(HTMLParser):
    """Every form of a page with its inputs, selects (their options) and text areas."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in attrs_list}
        if tag == "form":
            self._form = Form(attrs)
            self.forms.append(self._form)
            return
        form = self._form
        if form is None:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text").lower()
            if kind in ("radio", "checkbox"):
                form.choices.setdefault(name, []).append(attrs.get("value", "on"))
                if "checked" in attrs:
                    form.values.setdefault(name, []).append(attrs.get("value", "on"))
            elif kind not in ("submit", "button", "file", "image", "reset"):
                form.values[name] = [attrs.get("value", "")]
        elif tag == "select" and name:
            self._select = name
            form.choices[name] = []
        elif tag == "option" and self._select:
            value = attrs.get("value", "")
            form.choices[self._select].append(value)
            if "selected" in attrs or self._select not in form.values:
                form.values[self._select] = [value]  # the first option until one is selected
        elif tag == "textarea" and name:
            self._textarea = name
            form.values[name] = [""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea:
            self._form.values[self._textarea][0] += data


def form_on(page: str, form_id: str) -> Form | None:
    reader = FormReader()
    reader.feed(page)
    return next((form for form in reader.forms if form.id == form_id), None)


def demand_id_of(location: str) -> int | None:
    match = DEMAND_PATH.match(location)
    return int(match.group(1)) if match else None


# The users

class DeskUser(FastHttpUser):
    """A signed-in user of the desk; subclasses say who and what they do."""

    abstract = True
    wait_time = between(float(PLAN.get("think", (0.5, 1.5))[0]), float(PLAN.get("think", (0.5, 1.5))[1]))
    username = ""
    last_body = ""

    def on_start(self) -> None:
        if not PLAN:
            raise StopUser  # no plan: nothing to do
        self.rng = random.Random()  # noqa: S311 (choices of a simulation)
        self.username = self.choose_account()
        self.sign_in()

    def choose_account(self) -> str:
        raise NotImplementedError

    def turn(self) -> int:
        number = TURNS[type(self).__name__]
        TURNS[type(self).__name__] += 1
        return number

    def sign_in(self) -> None:
        form = self._login_form(self.page("/auth/login", "/auth/login") or "")
        if form is None:
            raise StopUser
        form.set("username", self.username)
        form.set("password", PLAN["password"])
        location = self.post(form.action or "/auth/login", form, "/auth/login", expect=(302,))
        if location is None or "/auth/login" in location:
            raise StopUser

    @staticmethod
    def _login_form(page: str) -> Form | None:
        reader = FormReader()
        reader.feed(page)
        return next((f for f in reader.forms if "password" in f.values), None)

    # Requests: every answer is checked, and a failure recorded with why

    def page(self, url: str, name: str) -> str | None:
        """A page the user opens (GET, 200 expected); its HTML, or None after a failure."""
        with self.client.get(url, name=name, allow_redirects=False, catch_response=True) as response:
            body = response.content or b""
            if LOCKED in body:
                response.failure("database is locked")
                return None
            if response.status_code != 200:
                where = response.headers.get("Location", "") if response.headers else ""
                response.failure(f"{response.status_code} {where}".strip())
                return None
            response.success()
            return body.decode("utf-8", "replace")

    def post(self, url: str, form: Form, name: str, expect: Iterable[int] = (302,),
             refusal: str | None = None) -> str | None:
        """Send a form without following the redirect; the redirect's target, "" when the desk
        refused the action (counted under `refusal`), or None after a failure."""
        expected = set(expect)
        with self.client.post(url, data=form.encoded(), headers=FORM_TYPE, name=name, allow_redirects=False,
                              catch_response=True) as response:
            body = response.content or b""
            status = response.status_code
            if LOCKED in body:
                response.failure("database is locked")
                return None
            if status in expected:
                response.success()
                if status in (301, 302, 303):
                    return response.headers.get("Location", "")
                self.last_body = body.decode("utf-8", "replace")
                return "" if status != 200 else "200"
            if refusal and status in (409, 422):
                # 409: someone changed the demand since the page was read; 422: the page says the
                # action cannot be taken now. Both are the desk refusing, correctly, a race.
                REFUSED[refusal] += 1
                if len(REASONS) < 20:
                    found = MESSAGE.search(body.decode("utf-8", "replace"))
                    REASONS.append(f"{refusal} {status}: {found.group(1).strip() if found else '?'}")
                response.success()
                return ""
            response.failure(f"{status}")
            return None

    def follow(self, location: str) -> None:
        """Open the page a form redirected to, as the browser does."""
        path = re.sub(r"^https?://[^/]+", "", location).split("#")[0]
        self.page(path, "/demands/[id]" if demand_id_of(path) else path.split("?")[0])

    def act(self, demand_id: int, action: str, fill: dict[str, str]) -> bool:
        """Open the demand's page and take the action with its form; whether it was done."""
        page = self.page(f"/demands/{demand_id}", "/demands/[id]")
        if page is None:
            return False
        form = form_on(page, f"action-{action}")
        if form is None:  # the page offers no such action: the demand moved on under us
            REFUSED[action] += 1
            if len(REASONS) < 20:
                REASONS.append(f"{action}: no form on the page of demand {demand_id}")
            return False
        for name, value in fill.items():
            form.set(name, value)
        location = self.post(form.action, form, f"/demands/[id]/actions/{action}", refusal=action)
        if not location:
            return False
        CREATED["events"][action] += 1
        CREATED["actions"].append([demand_id, action])
        self.follow(location)
        return True


class Officer(DeskUser):
    weight = int(PLAN.get("weights", {}).get("officer", 3))

    def choose_account(self) -> str:
        return PLAN["officers"][self.turn() % len(PLAN["officers"])]

    @task(2)
    def log_demand(self) -> None:
        page = self.page("/demands/new", "/demands/new")
        form = form_on(page or "", "demand-form")
        if form is None:
            return
        companies = [c for c in form.choices.get("demand-company_id", ()) if c]
        categories = [c for c in form.choices.get("demand-category_id", ()) if c]
        topic = self.rng.choice(TOPICS)
        form.set("source", self.rng.choice(STANDALONE_SOURCES))
        form.set("demand-company_id", self.rng.choice(companies))
        form.set("demand-category_id", self.rng.choice(categories))
        form.set("demand-title", f"{topic}（来电）")
        form.set("demand-description", f"企业来电反映{topic}事项推进缓慢，希望相关部门协调解决。")
        form.set("demand-urgency", self.rng.choice(("normal", "normal", "urgent", "complex")))
        form.set("demand-contact_name", "李明")
        form.set("demand-contact_phone", f"1380516{self.rng.randrange(10000):04d}")
        location = self.post(form.action, form, "/demands/new", expect=(302, 200))
        if location == "200":
            # The duplicate check found an open demand of the company like this one and asks:
            # the officer says it is a different demand and saves again.
            again = form_on(self.last_body, "demand-form")
            if again is None or "demand-duplicate_of" not in again.choices:
                self._failed_form("/demands/new")
                return
            again.set("demand-duplicate_of", again.choices["demand-duplicate_of"][0])
            location = self.post(again.action, again, "/demands/new (duplicate check answered)")
        demand_id = demand_id_of(location or "")
        if demand_id is None:
            return
        CREATED["demand_ids"].append(demand_id)
        CREATED["events"]["logged"] += 1
        POOLS.to_dispatch.append(demand_id)
        self.follow(location or "")

    def _failed_form(self, name: str) -> None:
        # The form came back without a question: a field was refused, which the load test never
        # means to do. Recorded as a failed request so that the run fails.
        self.environment.events.request.fire(
            request_type="POST", name=name, response_time=0, response_length=0, response=None,
            context={}, exception=RuntimeError("the form was refused"))

    @task(2)
    def dispatch(self) -> None:
        self.page("/demands/queue", "/demands/queue")
        demand_id = POOLS.take(POOLS.to_dispatch)
        if demand_id is None:
            IDLE["dispatch"] += 1
            return
        lead = self.rng.choice(sorted(STAFFED) or PLAN["departments"])
        if self.act(demand_id, "dispatch", {"lead_department_id": str(lead),
                                            "note": "请按时签收并答复。"}):
            POOLS.to_sign.setdefault(lead, deque()).append(demand_id)


class Handler(DeskUser):
    weight = int(PLAN.get("weights", {}).get("handler", 5))

    def choose_account(self) -> str:
        # Departments in turn, so that the handlers spread over them; then the department's next
        # handler.
        turn = self.turn()
        departments = sorted(PLAN["handlers"], key=int)
        self.department = int(departments[turn % len(departments)])
        STAFFED.add(self.department)
        names = PLAN["handlers"][str(self.department)]
        return names[(turn // len(departments)) % len(names)]

    @task(3)
    def sign(self) -> None:
        self.page("/demands/queue", "/demands/queue")
        demand_id = POOLS.take(POOLS.to_sign.setdefault(self.department, deque()))
        if demand_id is None:
            IDLE["sign"] += 1
            return
        if self.act(demand_id, "sign", {}):
            POOLS.to_respond.setdefault(self.department, deque()).append(demand_id)

    @task(2)
    def respond(self) -> None:
        self.page("/demands/queue", "/demands/queue")
        demand_id = POOLS.take(POOLS.to_respond.setdefault(self.department, deque()))
        if demand_id is None:
            IDLE["respond"] += 1
            return
        self.act(demand_id, "respond", {"outcome": "solved",
                                        "text": "已与企业沟通，协调相关科室完成办理，问题已解决。"})


class Leader(DeskUser):
    weight = int(PLAN.get("weights", {}).get("leader", 2))

    def choose_account(self) -> str:
        return PLAN["leaders"][self.turn() % len(PLAN["leaders"])]

    @task
    def dashboard(self) -> None:
        links: list[str] = []
        for period in ("month", "year"):
            page = self.page(f"/dashboard/?period={period}", f"/dashboard/?period={period}")
            if page is None:
                continue
            chart = TREND.search(page)
            if chart:
                self.page(html.unescape(chart.group(1)), "/dashboard/trend.svg")
            links += [html.unescape(link) for link in DRILL_DOWN.findall(page)]
        if links:
            self.page(self.rng.choice(links), "/demands/?[drill-down]")
