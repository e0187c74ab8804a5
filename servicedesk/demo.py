"""The demo zone: the departments, people and companies of the canonical story in PRODUCT.md.

Idempotent: every row is looked up by its natural key (department name, user name, credit code)
and only what is missing is added.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from servicedesk import clock
from servicedesk.admin.operations import create_department, create_user
from servicedesk.auth.operations import find_user
from servicedesk.calendar import store as calendar_store
from servicedesk.companies.operations import find_by_credit_code, register_company
from servicedesk.demands.operations import NewDemand, log_demand, take_action
from servicedesk.domain import statutory_holidays
from servicedesk.domain.lifecycle import Action
from servicedesk.extensions import db
from servicedesk.models import Category, Department, Role, Visit
from servicedesk.visits.operations import log_visit

DEPARTMENTS = [
    ("经济发展局", "经发局"),
    ("自然资源和规划分局", "资规分局"),
    ("人力资源和社会保障局", "人社局"),
    ("行政审批局", "审批局"),
    ("科技局", "科技局"),
    ("财政局", "财政局"),
    ("住房和城乡建设局", "住建局"),
    ("生态环境分局", "生态分局"),
    ("应急管理局", "应急局"),
    ("教育文体局", "教文体局"),
    ("投资促进局", "投促局"),
    ("金龙湖控股集团", "金龙湖集团"),
]


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    roles: tuple[Role, ...]
    department: str | None = None
    is_head: bool = False


USERS = [
    DemoUser("admin", "系统管理员", (Role.ADMIN,)),
    DemoUser("zhaolei", "赵磊", (Role.LEADER,)),
    DemoUser("zhangwei", "张伟", (Role.OFFICER,)),
    DemoUser("liuyang", "刘洋", (Role.OFFICER,)),
    DemoUser("chenjing", "陈静", (Role.HANDLER,), "自然资源和规划分局", is_head=True),
    DemoUser("wanghao", "王浩", (Role.HANDLER,), "自然资源和规划分局"),
    DemoUser("sunli", "孙丽", (Role.HANDLER,), "人力资源和社会保障局", is_head=True),
    DemoUser("zhoujie", "周杰", (Role.HANDLER,), "行政审批局", is_head=True),
    DemoUser("wuqiang", "吴强", (Role.HANDLER,), "经济发展局", is_head=True),
    DemoUser("zhengyu", "郑宇", (Role.HANDLER,), "教育文体局", is_head=True),
    DemoUser("huangtao", "黄涛", (Role.HANDLER,), "科技局", is_head=True),
    DemoUser("linfang", "林芳", (Role.HANDLER,), "财政局", is_head=True),
    DemoUser("heming", "何明", (Role.HANDLER,), "住房和城乡建设局", is_head=True),
]

ROLE_DESCRIPTIONS = {
    Role.ADMIN: "管理员 administrator",
    Role.LEADER: "领导 leader",
    Role.OFFICER: "服务专员 officer",
    Role.HANDLER: "部门经办人 handler",
}

# The companies of the zone's 2026 ledger (shared/samples), with valid credit codes.
COMPANIES = [
    {"credit_code": "913203052MACL12THK", "name": "江苏万邦生化医药集团有限责任公司",
     "short_name": "万邦医药", "industry": "生物医药", "address": "徐州经济技术开发区杨山路",
     "contact_person": "李博", "contact_phone": "0516-87000001"},
    {"credit_code": "913203009MA3Y7LLJF", "name": "徐州金龙湖新材料有限公司",
     "short_name": "金龙湖新材料", "industry": "新材料"},
    {"credit_code": "913203024MAD4H3J9X", "name": "徐州云帆物流有限公司",
     "short_name": "云帆物流", "industry": "现代物流"},
    {"credit_code": "913203078MADQAEJX8", "name": "江苏博远新能源有限公司",
     "short_name": "博远新能源", "industry": "新能源"},
    {"credit_code": "913203082MA3JJL6B2", "name": "江苏青禾食品有限公司",
     "short_name": "青禾食品", "industry": "食品加工"},
    {"credit_code": "913203018MAN2J1K68", "name": "徐州北辰电子科技有限公司",
     "short_name": "北辰电子", "industry": "电子信息"},
    {"credit_code": "913203015MAJ1XG61U", "name": "徐州恒通精密机械有限公司",
     "short_name": "恒通精机", "industry": "装备制造"},
    {"credit_code": "913203009MAJC171HY", "name": "江苏汉唐智能装备股份有限公司",
     "short_name": "汉唐智能", "industry": "装备制造"},
    {"credit_code": "913203016MAD272HD4", "name": "江苏瑞康生物科技有限公司",
     "short_name": "瑞康生物", "industry": "生物医药"},
    {"credit_code": "913203075MA97R5NQ6", "name": "徐州安泰医疗器械有限公司",
     "short_name": "安泰医疗", "industry": "医疗器械"},
]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    description: str


def seed_demo(password: str | None = None) -> list[DemoLogin]:
    """Add what is missing of the demo zone; return the logins of the users created now."""
    departments = _seed_departments()
    created = [_seed_user(user, departments, password) for user in USERS]
    _seed_companies()
    _seed_calendar()
    _seed_story()
    _seed_chase()
    return [login for login in created if login is not None]


def _seed_departments() -> dict[str, Department]:
    existing = {d.name: d for d in db.session.scalars(select(Department))}
    for name, short_name in DEPARTMENTS:
        if name not in existing:
            existing[name] = create_department(name, short_name)
    return existing


def _seed_user(demo: DemoUser, departments: dict[str, Department],
               password: str | None) -> DemoLogin | None:
    if find_user(demo.username) is not None:
        return None
    password = password or secrets.token_urlsafe(9)
    create_user(demo.username, demo.display_name, password, set(demo.roles),
                department=departments[demo.department] if demo.department else None,
                is_head=demo.is_head)
    department = f" · {demo.department}" if demo.department else ""
    head = " (head 负责人)" if demo.is_head else ""
    description = " / ".join(ROLE_DESCRIPTIONS[r] for r in demo.roles) + department + head
    return DemoLogin(demo.username, password, f"{demo.display_name} {description}")


def _seed_companies() -> None:
    for company in COMPANIES:
        if find_by_credit_code(company["credit_code"]) is None:
            values = {k: v for k, v in company.items() if k != "credit_code"}
            register_company(company["credit_code"], values)


def _seed_calendar() -> None:
    """Last year and this one from chinese-calendar, as an admin would load them; a year the
    package does not know yet stays unloaded, and the desk warns about it as it would in use."""
    this_year = clock.today().year
    for year in (this_year - 1, this_year):
        record = calendar_store.year_record(year)
        if (record is None or not record.loaded) and statutory_holidays.knows(year):
            calendar_store.prefill(year)


# The canonical story: the Wanbang Biopharma symposium of 4 June 2026 and what became of its demands.

WANBANG = "913203052MACL12THK"
SYMPOSIUM_DAY = date(2026, 6, 4)


@dataclass(frozen=True)
class DemoDemand:
    key: str
    title: str
    description: str
    category: str
    urgency: str


SYMPOSIUM_DEMANDS = [
    DemoDemand("land", "新建重组胰岛素生产线用地",
               "企业计划新建一条重组胰岛素及类似物生产线，需在杨山路东侧新增工业用地约60亩，"
               "希望协调用地指标和规划条件。", "土地规划", "complex"),
    DemoDemand("talent", "研发人员人才公寓和子女入学",
               "新引进的30余名研发人员需要人才公寓，其中12名员工子女需在园区就近入学。",
               "人才与子女入学", "normal"),
    DemoDemand("trial", "加快临床试验批件审批",
               "胰岛素类似物新品种临床试验批件已报送，希望加快相关审批环节。", "审批", "urgent"),
    DemoDemand("power", "生产基地用电增容",
               "新车间投产后用电负荷增加约4000千伏安，需要供电增容。", "水电气", "normal"),
    DemoDemand("finance", "重组胰岛素项目融资支持",
               "重组胰岛素扩产项目总投资约5亿元，希望对接产业基金和银行贷款贴息政策。",
               "资金融资", "complex"),
]


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text + "+08:00")


def _seed_story() -> None:
    """Log the symposium and walk its demands through every state and side path, as it happened."""
    wanbang = find_by_credit_code(WANBANG)
    if wanbang is None or db.session.scalar(
            select(Visit.id).where(Visit.visited_on == SYMPOSIUM_DAY)) is not None:
        return
    users = {name: find_user(name) for name in
             ("zhangwei", "liuyang", "zhaolei", "chenjing", "wanghao", "sunli", "zhoujie", "wuqiang",
              "zhengyu", "huangtao", "linfang")}
    departments = {d.short_name: d for d in db.session.scalars(select(Department))}
    categories = {c.name: c for c in db.session.scalars(select(Category))}
    officer = users["zhangwei"]
    visit = log_visit(
        {"kind": "symposium", "visited_on": SYMPOSIUM_DAY, "place": "万邦医药会议室",
         "lead_official": "王强（市委常委、秘书长）", "officials": "李淑侠、臧晓鹏、张伟",
         "company_attendees": "万邦医药董事长、研发总监、行政总监",
         "minutes": "专题调研生物医药产业发展情况；座谈会上企业提出用地、人才、审批、用电、融资等诉求，"
                    "要求一一回应落实。"},
        [wanbang.id],
        [NewDemand(wanbang.id, categories[d.category].id, d.title, d.description, d.urgency,
                   wanbang.contact_person, wanbang.contact_phone, source="symposium")
         for d in SYMPOSIUM_DEMANDS],
        officer, _moment("2026-06-04T17:30"))
    demands = dict(zip([d.key for d in SYMPOSIUM_DEMANDS], visit.demands, strict=True))

    def act(key: str, action: Action, user: str, moment: str, **values: object) -> None:
        demand = demands[key]
        take_action(demand, action, users[user], values, demand.version, _moment(moment))

    def dispatch(key: str, lead: str, moment: str, *co: str, urgency: str | None = None) -> None:
        act(key, Action.DISPATCH, "zhangwei", moment, lead_department_id=departments[lead].id,
            co_department_ids=[departments[c].id for c in co],
            urgency=urgency or demands[key].urgency, note="请按时限办理并及时反馈。")

    # Land: signed, an extension asked for and approved, a roadmap under way.
    dispatch("land", "资规分局", "2026-06-05T09:30", "经发局")
    act("land", Action.SIGN, "wanghao", "2026-06-05T14:10")
    act("land", Action.CO_OPINION, "wuqiang", "2026-06-08T10:00",
        text="经发局已将项目列入年度重点产业项目，支持用地指标倾斜。")
    act("land", Action.ADD_MILESTONE, "wanghao", "2026-06-10T11:00", title="完成用地规划条件论证",
        due_on=date(2026, 6, 30))
    act("land", Action.REQUEST_EXTENSION, "wanghao", "2026-06-22T16:00",
        reason="用地指标需报市局统筹，预计7月中旬批复。", new_due=date(2026, 7, 17))
    act("land", Action.APPROVE_EXTENSION, "zhaolei", "2026-06-23T09:15",
        reason="同意延期，请按节点推进。")
    act("land", Action.COMPLETE_MILESTONE, "wanghao", "2026-06-29T17:00",
        milestone_id=demands["land"].milestones[0].id)

    # Talent: answered, the company unsatisfied, reopened.
    dispatch("talent", "人社局", "2026-06-05T09:40", "教文体局")
    act("talent", Action.SIGN, "sunli", "2026-06-05T15:00")
    act("talent", Action.RESPOND, "sunli", "2026-06-12T10:00", outcome="partly_solved",
        text="已安排20套人才公寓；子女入学正与教文体局协调。")
    act("talent", Action.RECORD_FEEDBACK, "zhangwei", "2026-06-15T10:30", feedback="unsatisfied",
        text="企业反映入学问题尚未落实。")

    # Trial approval: returned as not the department's business, re-dispatched, solved, closed.
    dispatch("trial", "科技局", "2026-06-05T09:50")
    act("trial", Action.RETURN, "huangtao", "2026-06-05T16:20",
        reason="临床试验批件审批不属科技局职责，建议交行政审批局办理。")
    dispatch("trial", "审批局", "2026-06-08T09:00")
    act("trial", Action.SIGN, "zhoujie", "2026-06-08T10:00")
    act("trial", Action.PROGRESS, "zhoujie", "2026-06-09T15:00", text="已与省药监局对接，材料齐全。")
    act("trial", Action.RESPOND, "zhoujie", "2026-06-10T16:00", outcome="solved",
        text="批件已于6月10日获批。")
    act("trial", Action.RECORD_FEEDBACK, "zhangwei", "2026-06-11T09:30", feedback="satisfied")

    # Power: dispatched, not signed yet.
    dispatch("power", "经发局", "2026-06-05T10:00")

    # Finance: a planned solution with its roadmap, awaiting the company's feedback.
    dispatch("finance", "财政局", "2026-06-05T10:10", "经发局")
    act("finance", Action.SIGN, "linfang", "2026-06-08T09:00")
    act("finance", Action.ADD_MILESTONE, "linfang", "2026-06-15T10:00", title="对接市产业基金",
        due_on=date(2026, 7, 15))
    act("finance", Action.RESPOND, "linfang", "2026-06-16T11:00", outcome="planned",
        planned_on=date(2026, 9, 30), text="拟通过市产业基金投资和贷款贴息支持，9月底前落实。")
    act("finance", Action.FLAG_KEY_SUPERVISION, "zhaolei", "2026-06-17T09:00",
        reason="市领导现场调研承诺事项。")

    # The talent demand phoned in again, closed as a duplicate.
    repeat = log_demand(NewDemand(wanbang.id, categories["人才与子女入学"].id, "研发人员子女入学",
                                  "企业来电询问研发人员子女入学进展。", "normal", source="hotline"),
                        users["liuyang"], _moment("2026-06-16T14:00"))
    take_action(repeat, Action.CLOSE, users["zhaolei"], {
        "close_reason": "duplicate", "duplicate_of_id": demands["talent"].id,
        "reason": "与座谈会诉求重复。"}, repeat.version, _moment("2026-06-16T16:00"))

    # A demand from the hotline, waiting to be dispatched.
    yunfan = find_by_credit_code("913203024MAD4H3J9X")
    if yunfan is not None:
        log_demand(NewDemand(yunfan.id, categories["物流交通"].id, "园区道路限行影响货车通行",
                             "金山路夜间限行，冷链货车无法按时进出园区。", "normal", source="hotline"),
                   users["liuyang"], _moment("2026-06-18T10:20"))


# The chaser: the tick run at chosen moments of June 2026, as the scheduler would have run it, so that
# the story shows reminders (a yellow card, a red one), an escalation to a department head and one to
# leadership, and their mail waiting in the outbox. The idempotency keys make a second run add nothing.

CHASE_MOMENTS = (
    "2026-06-09T09:00",  # the power demand's sign deadline (8 June) passed: overdue, to the head of 经发局
    "2026-06-10T09:00",
    "2026-06-11T09:00",  # three working days overdue: to leadership, key supervision
    "2026-06-18T09:00",  # the finance demand's feedback (22 June, after the Dragon Boat Festival) due soon
    "2026-06-22T09:00",  # due today
    "2026-06-23T09:00",  # overdue
    "2026-06-26T09:00",  # the reopened talent demand's response (30 June) due soon
)
#: demo users get an address here (a reserved domain: nothing is ever delivered)
DEMO_MAIL_DOMAIN = "desk.example"


def _seed_chase() -> None:
    from servicedesk.chaser.tick import run_tick
    from servicedesk.models import User

    if db.session.scalar(select(Visit.id).where(Visit.visited_on == SYMPOSIUM_DAY)) is None:
        return
    demo_names = [user.username for user in USERS]
    for user in db.session.scalars(select(User).where(User.username.in_(demo_names), User.email.is_(None))):
        user.email = f"{user.username}@{DEMO_MAIL_DOMAIN}"
    db.session.commit()  # the tick records in transactions of its own
    for moment in CHASE_MOMENTS:
        run_tick(_moment(moment))
