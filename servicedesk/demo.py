"""The demo zone: the departments, people and companies of the canonical story in PRODUCT.md, and
a few months of everyday demands before today around it, so that the dashboard has something to say.

Idempotent: every row is looked up by its natural key (department name, user name, credit code, the
symposium's day, the history's audit marker) and only what is missing is added.
"""

from __future__ import annotations

import heapq
import itertools
import random
import secrets
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from servicedesk import clock
from servicedesk.admin.operations import create_department, create_user
from servicedesk.auth.operations import find_user
from servicedesk.calendar import store as calendar_store
from servicedesk.companies.operations import find_by_credit_code, register_company
from servicedesk.demands.operations import NewDemand, log_demand, take_action
from servicedesk.domain import statutory_holidays
from servicedesk.domain.lifecycle import Action
from servicedesk.domain.workdays import ZONE, local_day
from servicedesk.extensions import db
from servicedesk.models import Category, Company, Demand, Department, Role, User, Visit
from servicedesk.visits.operations import VISIT_KINDS, log_visit

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
    DemoUser("xuming", "徐明", (Role.HANDLER,), "生态环境分局", is_head=True),
    DemoUser("majun", "马军", (Role.HANDLER,), "应急管理局", is_head=True),
    DemoUser("guoyan", "郭燕", (Role.HANDLER,), "投资促进局", is_head=True),
    DemoUser("luobin", "罗斌", (Role.HANDLER,), "金龙湖控股集团", is_head=True),
    DemoUser("songjia", "宋佳", (Role.HANDLER,), "金龙湖控股集团"),
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
    # After the story's chase: its June ticks chase the story alone, and the history, which starts
    # after them, ends with a tick of its own at today's moment.
    _seed_history()
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


# The history: some five months of everyday demands before today, on top of the story, so that the
# dashboard's trend, league table, rates and red list have shape. Generated with a fixed seed and
# walked step by step through log_demand / log_visit and take_action at explicit moments, as the
# officers, handlers and the leader would have done it; each department's diligence decides how
# often it signs late, answers late, asks for more time, gets the company's answer wrong or stalls.

#: the seed of the history: the same today, the same history
HISTORY_SEED = 20260629
#: how far back the history reaches from today
HISTORY_WEEKS = 21
#: how many demands it logs a working day on average: some 200 over the 21 weeks
HISTORY_DEMANDS_PER_DAY = 1.9
#: the history follows the story: it starts after the story's last chase moment (26 June), so that
#: the story's numbers come first and its June ticks, run again by every seed-demo, never see a
#: deadline of the history
HISTORY_STARTS_AFTER = date(2026, 6, 28)
#: The audit event that says the history was generated: seed-demo adds it once, with the history,
#: in one transaction, and a second run finds it and adds nothing. A marker of its own rather than a
#: look for some generated demand: users of the demo log demands of their own, and the generated
#: titles are ordinary ones a user may type too.
HISTORY_MARK = "demo.history_seeded"

#: how readily each department (by short name) does its part, 0 to 1: the league table's good and
#: bad pupils
DILIGENCE = {
    "审批局": 0.95, "科技局": 0.9, "经发局": 0.85, "投促局": 0.85, "人社局": 0.8, "财政局": 0.75,
    "应急局": 0.7, "生态分局": 0.6, "资规分局": 0.55, "教文体局": 0.5, "住建局": 0.4, "金龙湖集团": 0.35,
}


@dataclass(frozen=True)
class HistoryTemplate:
    """One kind of everyday demand: what a company writes, and who may lead it."""

    category: str
    title: str
    #: "{n}" takes a number drawn from `numbers`
    description: str
    #: the departments (short names) that may lead it
    leads: tuple[str, ...]
    urgencies: tuple[str, ...] = ("normal",)
    #: only companies of these industries raise it (any company when empty)
    industries: tuple[str, ...] = ()
    numbers: tuple[int, int] = (2, 9)


_T = HistoryTemplate
HISTORY_TEMPLATES = [
    _T("土地规划", "新增工业用地指标",
       "企业二期扩产项目需新增工业用地约{n}0亩，希望协调用地指标并明确供地时间。",
       ("资规分局",), ("complex", "normal")),
    _T("土地规划", "厂区规划条件调整", "现有厂区容积率偏低，企业拟建设多层标准化厂房，希望调整规划条件。",
       ("资规分局", "住建局"), ("complex",)),
    _T("土地规划", "不动产权证办理滞后", "新建厂房已竣工验收{n}个月，不动产权证尚未办出，影响企业抵押融资。",
       ("资规分局",), numbers=(2, 6)),
    _T("土地规划", "租赁园区标准厂房", "企业订单增长，希望租赁园区标准厂房约{n}000平方米，尽快安排入驻。",
       ("金龙湖集团", "投促局")),
    _T("土地规划", "厂区围墙与道路红线冲突", "厂区北侧围墙与规划道路红线存在冲突，需明确退让距离及补偿方式。",
       ("资规分局", "住建局")),
    _T("土地规划", "闲置厂房盘活利用", "企业有闲置厂房约{n}000平方米，希望协助招引合适项目盘活利用。",
       ("投促局", "金龙湖集团"), numbers=(1, 5)),
    _T("审批", "施工许可证并联审批", "二期项目施工图已审查合格，希望尽快办理施工许可证，确保按期开工。",
       ("审批局", "住建局"), ("urgent", "normal")),
    _T("审批", "建设项目环评审批", "新建项目环境影响报告书已编制完成，希望加快环评审批进度。",
       ("生态分局", "审批局"), ("normal", "complex")),
    _T("审批", "危化品仓库安全条件审查", "企业危化品仓库改造项目需办理安全条件审查，希望予以指导。",
       ("应急局", "审批局")),
    _T("审批", "食品生产许可证延续", "企业食品生产许可证将于{n}个月后到期，希望指导办理延续手续。",
       ("审批局",), industries=("食品加工",), numbers=(1, 3)),
    _T("审批", "医疗器械生产许可变更", "企业新增{n}个医疗器械产品注册证，需变更生产许可范围。",
       ("审批局",), ("normal", "urgent"), ("医疗器械", "生物医药"), (1, 4)),
    _T("审批", "新建车间消防验收", "新建车间消防设施已安装完毕，希望尽快安排消防验收。",
       ("住建局", "审批局"), ("urgent", "normal")),
    _T("审批", "排污许可证变更", "企业扩产后污染物排放量变化，需变更排污许可证。", ("生态分局", "审批局")),
    _T("资金融资", "技改补贴资金拨付", "企业技术改造项目补贴已公示{n}个月，补贴资金尚未拨付到位。",
       ("财政局", "经发局"), numbers=(2, 5)),
    _T("资金融资", "流动资金贷款对接",
       "受原材料价格上涨影响，企业流动资金缺口约{n}000万元，希望对接银行贷款。",
       ("财政局", "金龙湖集团"), ("normal", "urgent"), numbers=(1, 5)),
    _T("资金融资", "高新技术企业奖励兑现", "企业已通过高新技术企业认定，希望尽快兑现园区奖励资金。",
       ("科技局", "财政局")),
    _T("资金融资", "产业基金股权投资", "企业计划启动新一轮融资约{n}亿元，希望园区产业基金参与投资。",
       ("金龙湖集团", "财政局"), ("complex",), numbers=(1, 3)),
    _T("资金融资", "首台套保险补偿申报", "企业研制的智能装备入选首台套目录，希望指导申报保险补偿。",
       ("经发局",), industries=("装备制造", "新能源", "电子信息")),
    _T("资金融资", "研发设备购置补助", "企业新购研发设备约{n}00万元，希望申请研发设备购置补助。",
       ("科技局", "财政局")),
    _T("人才与子女入学", "人才公寓申请", "企业新引进{n}名技术骨干，需要申请园区人才公寓。",
       ("住建局", "人社局"), numbers=(5, 30)),
    _T("人才与子女入学", "员工子女就近入学", "企业{n}名员工子女需在园区就近入学，希望协调学位。",
       ("教文体局",), ("normal", "urgent"), numbers=(3, 15)),
    _T("人才与子女入学", "员工子女暑期托管", "企业双职工家庭较多，希望园区学校开设员工子女暑期托管班。",
       ("教文体局",)),
    _T("人才与子女入学", "高层次人才认定", "企业引进的博士研发团队希望申报园区高层次人才认定。",
       ("人社局", "科技局")),
    _T("人才与子女入学", "技能人才培训补贴",
       "企业组织{n}0名员工参加技能提升培训，希望申请培训补贴。", ("人社局",)),
    _T("人才与子女入学", "招聘普工用工缺口", "企业订单增加，急需招聘普工约{n}0人，希望协助组织专场招聘。",
       ("人社局",), ("urgent", "normal"), numbers=(3, 12)),
    _T("人才与子女入学", "外籍专家工作许可", "企业聘请的{n}名外籍专家需办理工作许可。",
       ("人社局", "审批局"), numbers=(1, 4)),
    _T("水电气", "生产线用电增容", "新生产线投产后用电负荷增加约{n}000千伏安，需要供电增容。",
       ("经发局", "金龙湖集团"), ("normal", "complex"), numbers=(1, 6)),
    _T("水电气", "天然气管道接入", "新建车间需接入天然气管道，日用气量约{n}000立方米。",
       ("住建局", "金龙湖集团"), numbers=(1, 5)),
    _T("水电气", "厂区供水压力不足", "用水高峰期厂区供水压力不足，影响生产线正常运行。",
       ("金龙湖集团", "住建局"), ("urgent", "normal")),
    _T("水电气", "蒸汽供应价格偏高", "园区集中供热蒸汽价格偏高，希望协调降低用汽成本。", ("经发局",)),
    _T("水电气", "雨污分流管网改造", "厂区周边雨污管网老化，雨季积水严重，希望实施改造。",
       ("住建局",), ("complex", "normal")),
    _T("水电气", "计划停电影响生产",
       "近期多次计划停电，企业连续生产受影响，希望提前协调。", ("经发局",), ("urgent",)),
    _T("物流交通", "厂区门前道路破损", "厂区门前道路路面破损严重，重载货车通行困难。",
       ("住建局",), ("normal", "urgent")),
    _T("物流交通", "员工通勤公交线路", "园区公交班次少，员工上下班通勤困难，希望延伸公交线路或增开班车。",
       ("住建局", "金龙湖集团")),
    _T("物流交通", "路口增设信号灯",
       "厂区出入口与主干道交叉口车流量大，希望增设信号灯和减速带。", ("住建局",)),
    _T("物流交通", "危化品运输车辆停放", "园区缺少危化品运输车辆专用停车场，车辆停放存在安全隐患。",
       ("应急局", "住建局")),
    _T("物流交通", "冷链仓储用地需求", "企业拟建设冷链仓储中心，需用地约{n}0亩。",
       ("投促局", "资规分局"), ("complex",), ("现代物流", "食品加工"), (2, 6)),
    _T("物流交通", "进出口货物通关便利",
       "企业出口订单增加，希望协调海关提供通关便利。", ("投促局", "经发局")),
    _T("政策咨询", "专精特新企业申报",
       "企业拟申报省级专精特新中小企业，希望了解申报条件并获得指导。", ("经发局",)),
    _T("政策咨询", "研发费用加计扣除政策", "企业希望了解研发费用加计扣除政策的适用范围和申报口径。",
       ("科技局", "财政局")),
    _T("政策咨询", "稳岗返还政策咨询", "企业希望了解失业保险稳岗返还政策及办理流程。", ("人社局",)),
    _T("政策咨询", "招商引资优惠政策兑现", "企业落户时签订的投资协议约定的优惠政策尚未兑现。",
       ("投促局", "财政局"), ("normal", "complex")),
    _T("政策咨询", "外资企业增资政策",
       "外方股东拟增资约{n}00万美元，希望了解外资增资相关政策。", ("投促局",)),
    _T("政策咨询", "数字化转型补贴政策",
       "企业计划实施智能化改造，希望了解数字化转型补贴政策。", ("经发局", "科技局")),
    _T("其他", "周边企业异味扰民", "厂区周边企业夜间排放异味，影响员工正常工作生活。",
       ("生态分局",), ("urgent", "normal")),
    _T("其他", "危险废物处置渠道",
       "企业每年产生危险废物约{n}0吨，现有处置渠道不足、费用偏高。", ("生态分局",)),
    _T("其他", "安全生产标准化指导", "企业申报安全生产标准化二级达标，希望应急部门上门指导。", ("应急局",)),
    _T("其他", "应急预案备案", "企业修订了生产安全事故应急预案，希望指导备案。", ("应急局",)),
    _T("其他", "上下游配套企业招引", "企业希望园区招引上下游配套企业，降低采购和物流成本。",
       ("投促局", "经发局"), ("complex",)),
    _T("其他", "职工文体活动场地", "企业希望借用园区体育场馆开展职工文体活动。", ("教文体局",)),
]

#: what a department answers when it solved the demand, by category
SOLVED_RESPONSES = {
    "土地规划": ("已会同相关部门现场踏勘，用地手续已办结，相关文件已送达企业。",
             "已完成规划条件核定并出具书面意见，企业可按程序办理后续手续。"),
    "审批": ("已开辟绿色通道，安排专人帮办代办，相关许可已办结。", "已完成审查，许可文件已送达企业。"),
    "资金融资": ("资金已拨付到企业账户，企业已确认到账。", "已组织合作银行上门对接，贷款已获批放款。"),
    "人才与子女入学": ("已落实相关安排，企业已确认。", "已完成认定和补贴发放，并向企业反馈。"),
    "水电气": ("已协调供电、供水、燃气单位完成改造，企业生产已恢复正常。", "已协调相关单位完成接入。"),
    "物流交通": ("已完成道路修复和交通设施设置。", "已协调公交公司调整线路、增开班次。"),
    "政策咨询": ("已上门解读政策，并指导企业完成申报。", "已书面答复政策适用口径，企业表示清楚。"),
    "其他": ("已现场核查并督促整改，问题已解决。", "已上门指导，企业已完成相关工作。"),
}
PARTLY_RESPONSES = ("已解决部分问题，其余事项正与上级部门协调，将持续跟进。",
                    "已落实主要诉求，剩余事项受客观条件限制，正在推进。")
EXPLAINED_RESPONSES = ("经研究，该诉求不符合现行政策规定，已向企业当面解释说明并提出替代方案。",
                       "受上级政策限制暂无法解决，已向企业说明原因，企业表示理解。")
PLANNED_RESPONSE = "已制定解决方案并明确推进节点，计划于{month}月{day}日前落实到位。"
MILESTONE_TITLES = ("制定工作方案", "完成前期手续", "召开协调推进会", "完成主体工作")
RETURN_REASONS = ("该事项不属本部门职责范围，建议交{lead}办理。",
                  "经核实，该诉求主要涉及{lead}职能，请重新交办。")
EXTENSION_REASONS = ("需报上级部门审批，办理时间较长，申请延期。",
                     "涉及多个部门协调，需召开专题会议研究，申请延期。", "需企业补充材料，申请延长办理时限。")
EXTENSION_DECISIONS = ("同意延期，请按新的时限办结。", "同意，请加快推进并及时反馈进展。")
PROGRESS_NOTES = ("已与企业对接，正在研究解决方案。", "已召开协调会，相关工作正在推进。",
                  "已赴企业现场调研，正在形成处理意见。")
CO_OPINIONS = ("我单位将积极配合牵头部门做好相关工作。", "已提供相关政策依据，支持牵头部门办理。",
               "同意牵头部门意见，我单位将做好配合。")
UNSATISFIED_NOTES = ("企业反映问题仍未解决，要求进一步落实。",
                     "企业对答复不满意，希望提出切实可行的解决办法。")
WITHDRAWN_REASONS = ("企业已自行解决，申请撤回该诉求。", "企业调整投资计划，撤回该诉求。")
FLAG_REASONS = ("企业多次反映，列入重点督办。", "涉及重点项目落地，列入重点督办。")
DISPATCH_NOTES = ("请按时限办理并及时反馈。", "请牵头部门会同协办部门抓紧办理。", "")
CONTACTS = ("王经理", "刘主任", "陈总监", "赵部长", "孙经理", "周主任")
VISIT_LEADS = ("管委会主任 王立新", "管委会副主任 孙明", "管委会副主任 钱进")
#: where the history's demands come from, and how often
HISTORY_SOURCES = {"hotline": 30, "visit": 14, "online": 15, "symposium": 6, "letter": 8, "survey": 7,
                   "other": 10}
OFFICE_OPENS, OFFICE_CLOSES = time(8, 40), time(17, 50)
STEP_GAP = timedelta(minutes=7)


@dataclass
class _Plan:
    """What will become of one demand of the history, decided before it is logged."""

    key: int
    template: HistoryTemplate
    company: Company
    lead: Department
    co: list[Department]
    urgency: str
    officer: User
    rng: random.Random
    #: "normal", "withdrawn", "duplicate", or where it stalls: "sign", "respond", "feedback"
    fate: str = "normal"
    returned_by: Department | None = None
    duplicate_of: int | None = None
    flag: bool = False
    extension: bool = False
    #: the company is unsatisfied with the first response, whatever it is
    reopen: bool = False
    #: the officer makes enquiries for a week before dispatching it
    held: bool = False
    number: int = 0

    @property
    def diligence(self) -> float:
        return DILIGENCE.get(self.lead.short_name, 0.7)

    @property
    def title(self) -> str:
        return self.template.title

    @property
    def description(self) -> str:
        return self.template.description.format(n=self.number)


@dataclass
class _Occasion:
    """A phone call, a letter, a visit...: where one or more demands of the history were logged."""

    at: datetime
    source: str
    officer: User
    plans: list[_Plan]


@dataclass(frozen=True)
class _Step:
    at: datetime
    action: Action
    user: User
    values: dict[str, object]


@dataclass
class _Walk:
    """One demand on its way: the step it takes next, drawn once the one before is taken."""

    demand: Demand
    steps: Iterator[_Step]
    step: _Step | None = None

    def advance(self) -> bool:
        self.step = next(self.steps, None)
        return self.step is not None


def _seeded(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 (a reproducible demo, nothing secret)


def _seed_history() -> None:
    """Generate the history once (see HISTORY_MARK), then let the chaser tick as it would today."""
    from servicedesk import audit
    from servicedesk.models import AuditEvent

    if db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == HISTORY_MARK)) is not None:
        return
    if find_by_credit_code(WANBANG) is None:
        return  # no demo companies: nothing to build the history on
    history = _History(clock.now(), _seeded(HISTORY_SEED))
    occasions = history.occasions()
    if not occasions:
        return  # today is before the history's start: nothing to tell yet
    logged = history.play(occasions)
    audit.record(HISTORY_MARK, "demands", {
        "seed": HISTORY_SEED, "from": occasions[0].at.date().isoformat(),
        "to": history.today.isoformat(), "demands": logged})
    db.session.commit()  # the tick records in transactions of its own
    history.tick()


class _History:
    """Draws the history's occasions and plays them, step by step in the order of their moments."""

    def __init__(self, now: datetime, rng: random.Random) -> None:
        self.now, self.today, self.rng = now, local_day(now), rng
        self.calendar = calendar_store.working_calendar()
        self.officers = [find_user("zhangwei"), find_user("liuyang")]
        self.leader = find_user("zhaolei")
        self.departments = {d.short_name: d for d in db.session.scalars(
            select(Department).where(Department.active.is_(True)).order_by(Department.id))}
        self.handlers: dict[int, list[User]] = {}
        for user in db.session.scalars(select(User).where(User.department_id.is_not(None),
                                                          User.active.is_(True)).order_by(User.id)):
            if user.has_role(Role.HANDLER):
                self.handlers.setdefault(user.department_id, []).append(user)
        self.categories = {c.name: c for c in db.session.scalars(select(Category).order_by(Category.id))}
        self.companies = [c for c in (find_by_credit_code(row["credit_code"]) for row in COMPANIES) if c]
        self.plans: list[_Plan] = []
        self.demands: dict[int, Demand] = {}

    # Drawing the occasions

    def occasions(self) -> list[_Occasion]:
        """The occasions of the history, oldest first, none after now."""
        first = max(self.today - timedelta(weeks=HISTORY_WEEKS), HISTORY_STARTS_AFTER)
        days = [first + timedelta(days=i) for i in range((self.today - first).days + 1)]
        days = [day for day in days if self.calendar.is_working_day(day) and day != SYMPOSIUM_DAY]
        if not days:
            return []
        weights = self._day_weights(days)
        templates = self._templates()
        found: list[_Occasion] = []
        while sum(len(o.plans) for o in found) < HISTORY_DEMANDS_PER_DAY * len(days):
            day = self.rng.choices(days, weights)[0]
            found.append(self._occasion(day, templates))
        self._side_paths(found)
        found.extend(self._duplicates(found))
        return sorted((o for o in found if o.at <= self.now), key=lambda o: o.at)

    def _day_weights(self, days: list[date]) -> list[float]:
        """The office's rhythm: busy and quiet weeks, Mondays busiest, a make-up Saturday quiet."""
        weeks: dict[tuple[int, int], float] = {}
        weights = []
        for day in days:
            week = day.isocalendar()[:2]
            if week not in weeks:
                # This month's weeks are busy: the dashboard opens on this month.
                recent = (self.today - day).days < 28
                weeks[week] = self.rng.choice((1.0, 1.2, 1.6) if recent else (0.5, 0.8, 1.0, 1.0, 1.2, 1.6))
            weights.append(weeks[week] * (1.4, 1.1, 1.0, 1.0, 0.8, 0.5, 0.5)[day.weekday()])
        return weights

    def _templates(self) -> Iterator[HistoryTemplate]:
        """Every template once in a shuffled round, then at random: each category and department
        has demands whatever the draw."""
        deck = list(HISTORY_TEMPLATES)
        self.rng.shuffle(deck)
        yield from deck
        while True:
            yield self.rng.choice(HISTORY_TEMPLATES)

    def _occasion(self, day: date, templates: Iterator[HistoryTemplate]) -> _Occasion:
        rng = self.rng
        source = rng.choices(list(HISTORY_SOURCES), list(HISTORY_SOURCES.values()))[0]
        officer = rng.choice(self.officers)
        size = {"visit": rng.randint(1, 3), "symposium": rng.randint(2, 4), "survey": rng.randint(1, 2)}
        plans: list[_Plan] = []
        company = None
        for _ in range(size.get(source, 1)):
            template = next(templates)
            # A visit or a survey hears one company; a symposium gathers several.
            if company is None or source == "symposium" or not self._fits(template, company):
                company = self._company_for(template)
            plans.append(self._plan(template, company, officer))
        if source in VISIT_KINDS:
            moment = datetime.combine(day, time(rng.randint(16, 17), rng.randint(0, 45)), ZONE)
        else:
            moment = self._on(day, rng)
        return _Occasion(moment, source, officer, plans)

    @staticmethod
    def _fits(template: HistoryTemplate, company: Company) -> bool:
        return not template.industries or company.industry in template.industries

    def _company_for(self, template: HistoryTemplate) -> Company:
        fitting = [c for c in self.companies if self._fits(template, c)] or self.companies
        # Wanbang, the zone's flagship, raises more than the others.
        return self.rng.choices(fitting, [2 if c.credit_code == WANBANG else 1 for c in fitting])[0]

    def _plan(self, template: HistoryTemplate, company: Company, officer: User) -> _Plan:
        rng = self.rng
        acting = [d for d in self.departments.values() if self.handlers.get(d.id)]
        leads = [self.departments[s] for s in template.leads if s in self.departments and
                 self.handlers.get(self.departments[s].id)] or acting
        lead = rng.choice(leads)
        co_choices = [d for d in leads if d.id != lead.id] or [d for d in acting if d.id != lead.id]
        co = rng.sample(co_choices, 1) if rng.random() < 0.25 else []
        plan = _Plan(len(self.plans), template, company, lead, co, rng.choice(template.urgencies), officer,
                     _seeded(rng.getrandbits(32)), number=rng.randint(*template.numbers))
        self.plans.append(plan)
        if rng.random() < 0.025:
            plan.fate = "withdrawn"
        if rng.random() < 0.04:
            self._send_back(plan)
        plan.flag = rng.random() < 0.03
        plan.extension = plan.urgency != "urgent" and rng.random() < 0.04 + 0.15 * (1 - plan.diligence)
        return plan

    def _send_back(self, plan: _Plan) -> None:
        """First dispatched to a department that returns it: a careless one, more likely than not."""
        others = [d for d in self.departments.values() if d.id != plan.lead.id and self.handlers.get(d.id)]
        if others:
            careless = [1.1 - DILIGENCE.get(d.short_name, 0.7) for d in others]
            plan.returned_by = self.rng.choices(others, careless)[0]

    def _side_paths(self, occasions: list[_Occasion]) -> None:
        """Pick, by number rather than by chance alone, the demands that stall or take a side path,
        so that whatever today is the red list has its items, this month's returns, reopenings
        and withdrawals are not zero and a few demands wait to be dispatched: a few old demands
        still stuck (the red list), more recent ones, mostly at the slow departments, a few whose
        feedback the officer never took."""
        age = {p.key: self.calendar.working_days_between(local_day(o.at), self.today)
               for o in occasions for p in o.plans}

        def normal(youngest: int, oldest: int) -> list[_Plan]:
            return [p for o in occasions for p in o.plans
                    if p.fate == "normal" and youngest <= age[p.key] <= oldest]

        for plan in self._pick(normal(41, 999), 3, lambda p: (1 - p.diligence) ** 2):
            plan.fate = self.rng.choice(("sign", "respond"))
        for plan in self._pick(normal(6, 30), 8, lambda p: 1 - p.diligence):
            plan.fate = self.rng.choices(("sign", "respond"), (2, 3))[0]
        for plan in self._pick(normal(6, 30), 3, lambda p: 1.0):
            plan.fate = "feedback"  # the officer never rang the company back
        for plan in self._pick(normal(3, 20), 1, lambda p: 1.0):
            plan.fate = "withdrawn"
        for plan in self._pick([p for p in normal(2, 20) if p.returned_by is None], 2, lambda p: 1.0):
            self._send_back(plan)
        for plan in self._pick(normal(10, 30), 3, lambda p: 1.2 - p.diligence):
            plan.reopen = True
        for plan in self._pick(normal(1, 3), 2, lambda p: 1.0):
            plan.held = True
        for plan in (p for o in occasions for p in o.plans):
            if plan.fate in ("sign", "respond") and self.rng.random() < 0.3:
                plan.flag = True

    def _pick(self, plans: list[_Plan], count: int, weight: Callable[[_Plan], float]) -> list[_Plan]:
        """`count` plans drawn without replacement, each as likely as its weight (Efraimidis-Spirakis)."""
        keyed = sorted(plans, key=lambda p: self.rng.random() ** (1 / max(weight(p), 0.01)), reverse=True)
        return keyed[:count]

    def _duplicates(self, occasions: list[_Occasion]) -> list[_Occasion]:
        """A few companies ring the hotline again about a demand already logged: closed as duplicates."""
        found = []
        originals = [(o, p) for o in occasions for p in o.plans]
        # Half of them this month, so that the dashboard's month has its duplicates.
        recent = [(o, p) for o, p in originals if 7 <= (self.today - local_day(o.at)).days < 30]
        picked = self.rng.sample(recent, min(3, len(recent)))
        taken = {p.key for _o, p in picked}
        rest = [(o, p) for o, p in originals if p.key not in taken]
        picked += self.rng.sample(rest, min(3, len(rest)))
        for occasion, original in picked:
            logged = local_day(occasion.at)
            day = self.calendar.add_working_days(logged, self.rng.randint(3, 12))
            if day > self.today:
                day = self.calendar.add_working_days(logged, 3)
            if day > self.today:
                continue
            officer = self.rng.choice(self.officers)
            template = replace(original.template, title=f"{original.title}（再次反映）",
                               description=f"企业来电询问「{original.title}」的办理进展。")
            repeat = _Plan(len(self.plans), template, original.company, original.lead, [], original.urgency,
                           officer, _seeded(self.rng.getrandbits(32)), fate="duplicate",
                           duplicate_of=original.key)
            self.plans.append(repeat)
            found.append(_Occasion(self._on(day, self.rng), "hotline", officer, [repeat]))
        return found

    # Playing them

    def play(self, occasions: list[_Occasion]) -> int:
        """Log every occasion and walk every demand, all steps in the order of their moments, none
        after now. Returns the number of demands logged."""
        queue: list[tuple[datetime, int, _Occasion | _Walk]] = []
        order = itertools.count()
        for occasion in occasions:
            heapq.heappush(queue, (occasion.at, next(order), occasion))
        while queue:
            _at, _order, item = heapq.heappop(queue)
            if isinstance(item, _Occasion):
                walks = [_Walk(demand, self._walk(demand, plan, item.at)) for demand, plan in self._log(item)]
            else:
                step = item.step
                take_action(item.demand, step.action, step.user, step.values, None, step.at,
                            calendar=self.calendar)
                walks = [item]
            for walk in walks:
                # A step still to come today or later is not taken: the demand waits there, open.
                if walk.advance() and walk.step.at <= self.now:
                    heapq.heappush(queue, (walk.step.at, next(order), walk))
        return len(self.demands)

    def _log(self, occasion: _Occasion) -> list[tuple[Demand, _Plan]]:
        news = [NewDemand(p.company.id, self.categories[p.template.category].id, p.title, p.description,
                          p.urgency, p.company.contact_person or p.rng.choice(CONTACTS),
                          p.company.contact_phone or f"0516-8{p.rng.randint(1000000, 9999999)}",
                          source=occasion.source) for p in occasion.plans]
        if occasion.source in VISIT_KINDS:
            demands = self._log_visit(occasion, news)
        else:
            demands = [log_demand(new, occasion.officer, occasion.at) for new in news]
        for demand, plan in zip(demands, occasion.plans, strict=True):
            self.demands[plan.key] = demand
        return list(zip(demands, occasion.plans, strict=True))

    def _log_visit(self, occasion: _Occasion, news: list[NewDemand]) -> list[Demand]:
        companies = {p.company.id: p.company for p in occasion.plans}
        first = occasion.plans[0].company
        place = {"visit": f"{first.short_name}生产车间", "symposium": "管委会三楼会议室",
                 "survey": "营商环境问卷调查（线上）"}[occasion.source]
        minutes = {"visit": "走访企业，了解生产经营情况，现场登记企业诉求。",
                   "symposium": "召开企业座谈会，" + "、".join(c.short_name for c in companies.values())
                                + "等企业参加，现场梳理诉求并逐项交办。",
                   "survey": "开展营商环境问卷调查，整理企业反映的问题。"}[occasion.source]
        visit = log_visit({"kind": occasion.source, "visited_on": local_day(occasion.at), "place": place,
                           "lead_official": self.rng.choice(VISIT_LEADS), "minutes": minutes},
                          companies, news, occasion.officer, occasion.at)
        return list(visit.demands)

    # Walking one demand: each step is drawn once the step before it is taken, from the deadlines the
    # desk set then

    def _walk(self, demand: Demand, plan: _Plan, logged_at: datetime) -> Iterator[_Step]:
        rng = plan.rng
        if plan.fate == "duplicate":
            original = self.demands[plan.duplicate_of]  # type: ignore[index]  # set for a duplicate
            yield _Step(self._after(logged_at, rng, 0, 1), Action.CLOSE, self.leader, {
                "close_reason": "duplicate", "duplicate_of_id": original.id,
                "reason": f"与{original.number}重复。"})
            return
        if plan.fate == "withdrawn" and rng.random() < 0.3:
            yield self._withdraw(logged_at, rng)  # before anyone dispatched it
            return
        t = logged_at
        if plan.returned_by is not None:
            t = self._after(t, rng, 0, 1)
            yield self._dispatch(plan, plan.returned_by, [], t)
            t = self._after(t, rng, 0, 1)
            yield _Step(t, Action.RETURN, self._handler(plan.returned_by, rng), {
                "reason": rng.choice(RETURN_REASONS).format(lead=plan.lead.name)})
        # The officer dispatches the same day mostly, now and then after a few days' enquiries.
        delays = ((5, 6),) if plan.held else rng.choices(((0, 0), (1, 1), (2, 2), (3, 5)), (45, 30, 15, 10))
        t = self._after(t, rng, *delays[0])
        yield self._dispatch(plan, plan.lead, plan.co, t)
        if plan.fate == "sign":
            if plan.flag:
                yield self._flag(self._after(t, rng, 3, 8), rng)
            return
        t = self._sign_moment(demand, plan, t)
        yield _Step(t, Action.SIGN, self._handler(plan.lead, rng), {})
        if plan.fate == "withdrawn":
            yield self._withdraw(t, rng)
            return
        for round_ in itertools.count(1):
            responded = yield from self._answer(demand, plan, t, round_)
            if responded is None or plan.fate == "feedback":
                return
            t = self._feedback_moment(demand, plan, responded)
            feedback = self._feedback(plan, demand.outcome or "", round_)
            values: dict[str, object] = {"feedback": feedback}
            if feedback == "unsatisfied":
                values["text"] = rng.choice(UNSATISFIED_NOTES)
            yield _Step(t, Action.RECORD_FEEDBACK, plan.officer, values)
            if feedback != "unsatisfied":
                break
        yield from self._complete_milestones(demand, plan, t)

    def _answer(self, demand: Demand, plan: _Plan, t: datetime,
                round_: int) -> Generator[_Step, None, datetime | None]:
        """The lead department at work up to its response (a reopened demand's again): an extension
        asked for, the co-departments' opinions, progress notes, a roadmap for a planned solution.
        Returns the moment of the response, or None when the department stalls."""
        rng = plan.rng
        if round_ == 1 and plan.extension:
            t = yield from self._extension(demand, plan, t)
        respond_at = self._respond_moment(demand, plan, t, round_)
        for step in self._meanwhile(plan, t, respond_at, round_):
            yield step
            t = step.at
        if plan.fate == "respond":
            return None
        outcome = self._outcome(plan, round_)
        values: dict[str, object] = {"outcome": outcome}
        if outcome == "planned":
            planned_on = local_day(respond_at) + timedelta(days=rng.randint(30, 90))
            values.update(planned_on=planned_on,
                          text=PLANNED_RESPONSE.format(month=planned_on.month, day=planned_on.day))
            for title, due_on in self._roadmap(respond_at, planned_on, rng):
                # Drawn up just before the response, within office hours.
                t = max(t, respond_at - 4 * STEP_GAP,
                        datetime.combine(local_day(respond_at), OFFICE_OPENS, ZONE)) + STEP_GAP
                yield _Step(t, Action.ADD_MILESTONE, self._handler(plan.lead, rng),
                            {"title": title, "due_on": due_on})
        else:
            texts = {"solved": SOLVED_RESPONSES[plan.template.category], "partly_solved": PARTLY_RESPONSES,
                     "explained": EXPLAINED_RESPONSES}[outcome]
            values["text"] = rng.choice(texts)
        respond_at = max(respond_at, t + STEP_GAP)
        yield _Step(respond_at, Action.RESPOND, self._handler(plan.lead, rng), values)
        return respond_at

    def _extension(self, demand: Demand, plan: _Plan, t: datetime) -> Generator[_Step, None, datetime]:
        """Asked for well before the deadline, decided the same or the next working day."""
        rng, due = plan.rng, demand.respond_due
        span = self.calendar.working_days_between(local_day(t), due) if due else 0
        if due is None or span < 2:
            return t
        asked = self._on(self.calendar.add_working_days(local_day(t), rng.randint(1, span - 1)), rng, t)
        yield _Step(asked, Action.REQUEST_EXTENSION, self._handler(plan.lead, rng), {
            "reason": rng.choice(EXTENSION_REASONS),
            "new_due": self.calendar.add_working_days(due, rng.choice((5, 10, 15)))})
        decided = self._after(asked, rng, 0, 1)
        yield _Step(decided, Action.APPROVE_EXTENSION, rng.choice((self.leader, plan.officer)),
                    {"reason": rng.choice(EXTENSION_DECISIONS)})
        return decided

    def _meanwhile(self, plan: _Plan, t: datetime, respond_at: datetime, round_: int) -> list[_Step]:
        """What happens between signing and responding, in the order of its moments."""
        rng = plan.rng
        span = max(0, self.calendar.working_days_between(local_day(t), local_day(respond_at)))

        def moment() -> datetime:
            return self._on(self.calendar.add_working_days(local_day(t), rng.randint(0, span)), rng, t)

        steps = []
        if round_ == 1:
            steps += [_Step(moment(), Action.CO_OPINION, self._handler(co, rng),
                            {"text": rng.choice(CO_OPINIONS)}) for co in plan.co if rng.random() < 0.75]
            if plan.flag:
                steps.append(self._flag(moment(), rng))
        if rng.random() < (0.5 if plan.urgency == "complex" or plan.fate == "respond" else 0.2):
            steps.append(_Step(moment(), Action.PROGRESS, self._handler(plan.lead, rng),
                               {"text": rng.choice(PROGRESS_NOTES)}))
        return sorted((s for s in steps if s.at < respond_at), key=lambda s: s.at)

    def _roadmap(self, respond_at: datetime, planned_on: date, rng: random.Random) -> list[tuple[str, date]]:
        """One or two milestones between the response and the planned day, in order."""
        first = local_day(respond_at) + timedelta(days=10)
        count = rng.randint(1, 2)
        titles = sorted(rng.sample(range(len(MILESTONE_TITLES)), count))
        days = sorted(first + timedelta(days=rng.randint(0, (planned_on - first).days)) for _ in titles)
        return [(MILESTONE_TITLES[i], self._working_day_from(day))
                for i, day in zip(titles, days, strict=True)]

    def _complete_milestones(self, demand: Demand, plan: _Plan, t: datetime) -> Iterator[_Step]:
        """The roadmap's steps reported as done around their due days, late for a slow department."""
        rng, slack = plan.rng, 1 - plan.diligence
        for milestone in [m for m in demand.milestones if m.is_open]:
            if rng.random() < 0.6 * slack:
                day = self.calendar.add_working_days(milestone.due_on, rng.randint(1, 4))
            else:
                day = milestone.due_on - timedelta(days=rng.randint(0, 5))
            t = self._on(day, rng, t)
            yield _Step(t, Action.COMPLETE_MILESTONE, self._handler(plan.lead, rng),
                        {"milestone_id": milestone.id})

    # What each party does, and when

    def _dispatch(self, plan: _Plan, lead: Department, co: list[Department], at: datetime) -> _Step:
        return _Step(at, Action.DISPATCH, plan.officer, {
            "lead_department_id": lead.id, "co_department_ids": [d.id for d in co], "urgency": plan.urgency,
            "note": plan.rng.choice(DISPATCH_NOTES)})

    def _withdraw(self, t: datetime, rng: random.Random) -> _Step:
        return _Step(self._after(t, rng, 1, 6), Action.CLOSE, self.leader,
                     {"close_reason": "withdrawn", "reason": rng.choice(WITHDRAWN_REASONS)})

    def _flag(self, at: datetime, rng: random.Random) -> _Step:
        return _Step(at, Action.FLAG_KEY_SUPERVISION, self.leader, {"reason": rng.choice(FLAG_REASONS)})

    def _handler(self, department: Department, rng: random.Random) -> User:
        return rng.choice(self.handlers[department.id])

    def _sign_moment(self, demand: Demand, plan: _Plan, t: datetime) -> datetime:
        rng, slack, due = plan.rng, 1 - plan.diligence, demand.sign_due or local_day(t)
        if rng.random() < 0.9 * slack ** 1.5:
            day = self.calendar.add_working_days(due, rng.randint(1, 1 + round(5 * slack)))
        else:
            day = rng.choice((local_day(t), due))
        return self._on(day, rng, t)

    def _respond_moment(self, demand: Demand, plan: _Plan, t: datetime, round_: int) -> datetime:
        """On time mostly, well before the deadline for a diligent department; late for a slow one,
        and always for one that stalls (its response never comes)."""
        rng, slack = plan.rng, 1 - plan.diligence
        start, due = local_day(t), demand.respond_due or local_day(t)
        span = self.calendar.working_days_between(start, due)
        late = plan.fate == "respond" or rng.random() < (0.8 if round_ == 1 else 0.3) * slack ** 1.5
        if late or span < 0:
            day = self.calendar.add_working_days(max(due, start), rng.randint(1, 2 + round(10 * slack)))
        else:
            day = self.calendar.add_working_days(start, max(min(1, span), round(span * rng.uniform(0.4, 1))))
        return self._on(day, rng, t)

    def _outcome(self, plan: _Plan, round_: int) -> str:
        if round_ > 1:
            weights = (6, 3, 0.5, 0.5)
        elif plan.reopen:
            weights = (1, 3, 2, 0)
        else:
            weights = (4.5 + 3 * plan.diligence, 1.5, 1, 2 if plan.urgency == "complex" else 1)
        return plan.rng.choices(("solved", "partly_solved", "explained", "planned"), weights)[0]

    def _feedback(self, plan: _Plan, outcome: str, round_: int) -> str:
        """The company's answer: worse for a partial answer or a refusal, and for a slow department."""
        if plan.reopen and round_ == 1:
            return "unsatisfied"
        unsatisfied = {"solved": 0.02, "partly_solved": 0.2, "explained": 0.15, "planned": 0.04}[outcome]
        unsatisfied = (unsatisfied + 0.1 * (1 - plan.diligence)) if round_ == 1 else 0.08 / round_
        satisfied = {"solved": 0.8, "partly_solved": 0.35, "explained": 0.3, "planned": 0.55}[outcome]
        draw = plan.rng.random()
        if draw < unsatisfied:
            return "unsatisfied"
        return "satisfied" if draw < unsatisfied + (1 - unsatisfied) * satisfied else "basically_satisfied"

    def _feedback_moment(self, demand: Demand, plan: _Plan, responded: datetime) -> datetime:
        """The officer rings the company back within the feedback deadline, now and then late."""
        rng, start = plan.rng, local_day(responded)
        due = demand.feedback_due or start
        if rng.random() < 0.08:
            day = self.calendar.add_working_days(due, rng.randint(1, 3))
        else:
            day = self.calendar.add_working_days(
                start, rng.randint(1, max(1, self.calendar.working_days_between(start, due))))
        return self._on(day, rng, responded)

    # Moments

    def _on(self, day: date, rng: random.Random, after: datetime | None = None) -> datetime:
        """A moment in office hours on the day (or the first working day after it that still has
        one), later than `after`."""
        if after is not None:
            day = max(day, local_day(after))
        while True:
            if self.calendar.is_working_day(day):
                opens = datetime.combine(day, OFFICE_OPENS, ZONE)
                closes = datetime.combine(day, OFFICE_CLOSES, ZONE)
                if after is not None:
                    opens = max(opens, after.astimezone(ZONE) + STEP_GAP)
                if opens < closes:
                    minutes = int((closes - opens).total_seconds()) // 60
                    return opens + timedelta(minutes=rng.randint(0, minutes))
            day += timedelta(days=1)

    def _after(self, t: datetime, rng: random.Random, fewest: int, most: int) -> datetime:
        """A moment `fewest` to `most` working days after t."""
        return self._on(self.calendar.add_working_days(local_day(t), rng.randint(fewest, most)), rng, t)

    def _working_day_from(self, day: date) -> date:
        while not self.calendar.is_working_day(day):
            day += timedelta(days=1)
        return day

    # The chaser

    def tick(self) -> None:
        """The tick the scheduler would run now (at the end of the last working day on a holiday):
        today's reminders, and the escalations the overdue demands have reached, with their levels."""
        from servicedesk.chaser.tick import run_tick

        moment, day = self.now, self.today
        if not self.calendar.is_working_day(day):
            while not self.calendar.is_working_day(day):
                day -= timedelta(days=1)
            moment = datetime.combine(day, time(18, 0), ZONE)
        run_tick(moment)
