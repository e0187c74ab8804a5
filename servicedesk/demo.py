"""The demo zone: the departments, people and companies of the canonical story in PRODUCT.md.

Idempotent: every row is looked up by its natural key (department name, user name, credit code)
and only what is missing is added.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select

from servicedesk import clock
from servicedesk.admin.operations import create_department, create_user
from servicedesk.auth.operations import find_user
from servicedesk.calendar import store as calendar_store
from servicedesk.companies.operations import find_by_credit_code, register_company
from servicedesk.domain import statutory_holidays
from servicedesk.extensions import db
from servicedesk.models import Department, Role

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
