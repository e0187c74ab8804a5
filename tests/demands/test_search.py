"""Finding demands: the filters read from a query string, the keyword search that finds Chinese
substrings (SQLite FTS5 trigram / PostgreSQL pg_trgm), the department scoping and the indexes."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, inspect, select, text, update
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import MultiDict

from servicedesk.demands.operations import take_action
from servicedesk.demands.search import (
    LIST_ROWS,
    SORT_INDEX_FROM,
    CardWindow,
    DemandFilters,
    DepartmentRole,
    KeywordRead,
    OwedBy,
    Sort,
    Timeliness,
    card_window,
    conditions,
    demand_query,
    fts_phrase,
    keyword_clause,
    known_total,
    terms_of,
)
from servicedesk.domain.lifecycle import Action
from servicedesk.domain.workdays import Card
from servicedesk.extensions import db
from servicedesk.models import Category, Demand, Role
from servicedesk.models.demand import DemandStateTotal
from servicedesk.pagination import ids_first_of


def numbers(user, **filters) -> list[str]:
    statement = demand_query(user, DemandFilters(**filters))
    return [d.number for d in db.session.scalars(statement)]


def titles(user, q: str) -> set[str]:
    return {d.title for d in db.session.scalars(demand_query(user, DemandFilters(q=q)))}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# Reading the query string

def test_filters_are_read_from_the_query_string() -> None:
    args = MultiDict([
        ("q", "  新建   用地 "), ("state", "assigned"), ("state", "accepted"), ("state", "nonsense"),
        ("department", "7"), ("department_role", "lead"), ("category", "3"), ("company", "x"),
        ("source", "hotline"), ("urgency", "urgent"), ("overdue", "1"), ("due_soon", "y"),
        ("key_supervision", "on"), ("pending_extension", "true"), ("returned", "0"),
        ("logged_from", "2026-06-01"), ("logged_to", "2026-13-01"), ("dispatched_from", ""),
        ("dispatched_to", "2026-06-30"), ("sort", "due"),
    ])
    filters = DemandFilters.from_args(args)
    assert filters == DemandFilters(
        q="新建 用地", states=("assigned", "accepted"), department_id=7,
        department_role=DepartmentRole.LEAD, category_id=3, company_id=None, source="hotline",
        urgency="urgent", overdue=True, due_soon=True, key_supervision=True, pending_extension=True,
        returned=False, logged_from=date(2026, 6, 1), logged_to=None, dispatched_from=None,
        dispatched_to=date(2026, 6, 30), sort=Sort.DUE)


def test_filters_give_back_their_query_string() -> None:
    filters = DemandFilters(q="用地", states=("registered", "closed"), department_id=2,
                            department_role=DepartmentRole.CO, overdue=True,
                            logged_from=date(2026, 6, 1), sort=Sort.NUMBER)
    args = filters.to_args()
    assert args == {"q": "用地", "state": ["registered", "closed"], "department": 2,
                    "department_role": "co", "overdue": "1", "logged_from": "2026-06-01",
                    "sort": "number"}
    multi = MultiDict([(k, v) for k, value in args.items()
                       for v in (value if isinstance(value, list) else [value])])
    assert DemandFilters.from_args(multi) == filters
    assert DemandFilters().to_args() == {}
    assert DemandFilters(sort=Sort.OLDEST).is_empty
    assert not filters.is_empty


def test_the_measure_filters_give_back_their_query_string() -> None:
    filters = DemandFilters(closed_from=date(2026, 6, 1), closed_to=date(2026, 6, 30),
                            close_reasons=("satisfied", "withdrawn"), outcomes=("solved",),
                            feedbacks=("unsatisfied",), owed_by=OwedBy.OFFICER, sign=Timeliness.MEASURED,
                            response=Timeliness.LATE, returned_by=3, reopened_from=date(2026, 6, 1))
    args = filters.to_args()
    assert args == {"closed_from": "2026-06-01", "closed_to": "2026-06-30",
                    "close_reason": ["satisfied", "withdrawn"], "outcome": ["solved"],
                    "feedback": ["unsatisfied"], "owed_by": "officer", "sign": "measured",
                    "response": "late", "returned_by": 3, "reopened_from": "2026-06-01"}
    multi = MultiDict([(k, v) for k, value in args.items()
                       for v in (value if isinstance(value, list) else [value])])
    assert DemandFilters.from_args(multi) == filters
    assert set(filters.measure_narrowing) == {
        "closed_from", "closed_to", "close_reasons", "outcomes", "feedbacks", "owed_by", "sign",
        "response", "returned_by", "reopened_from"}
    assert filters.needs_window


def test_bad_measure_values_are_ignored() -> None:
    filters = DemandFilters.from_args({"close_reason": ["bored", "withdrawn"], "sign": "never",
                                       "response": "measured", "owed_by": "nobody",
                                       "closed_from": "yesterday", "returned_by": "x"})
    assert filters.close_reasons == ("withdrawn",)
    assert filters.sign is None and filters.response is None and filters.owed_by is None
    assert filters.closed_from is None and filters.returned_by is None


def test_filters_accept_a_plain_mapping_as_the_api_gives_it() -> None:
    filters = DemandFilters.from_args({"state": ["closed"], "overdue": True, "department": 4, "q": None})
    assert filters.states == ("closed",) and filters.overdue and filters.department_id == 4
    assert filters.q == ""


def test_bad_values_are_ignored_never_an_error() -> None:
    filters = DemandFilters.from_args({"department": "-1", "category": "99999999999", "sort": "drop",
                                       "department_role": "boss", "source": "telepathy",
                                       "q": "x" * 500})
    assert filters.department_id is None and filters.category_id is None
    assert filters.sort is Sort.NEWEST and filters.department_role is DepartmentRole.ANY
    assert filters.source is None and len(filters.q) == 100


def test_terms_and_phrases() -> None:
    assert terms_of("  用地  万邦 用地 ") == ["用地", "万邦"]
    assert terms_of("a b c d e f g") == ["a", "b", "c", "d", "e"]
    assert fts_phrase('say "hi"') == '"say ""hi"""'


# The cards

def test_the_card_window_is_measured_on_working_days(app, calendar_2026, freeze_clock) -> None:
    freeze_clock("2026-06-17T10:00+08:00")  # Wednesday; Friday 19 June is 端午节
    window = card_window()
    assert window == CardWindow(date(2026, 6, 17), date(2026, 6, 22))
    assert window.card(date(2026, 6, 16)) is Card.RED
    assert window.card(date(2026, 6, 17)) is Card.YELLOW
    assert window.card(date(2026, 6, 22)) is Card.YELLOW
    assert window.card(date(2026, 6, 23)) is Card.NONE
    assert window.card(None) is Card.NONE


# Keyword search: Chinese substrings on both databases

@pytest.fixture
def wanbang(make_demand, make_company, department):
    """The Wanbang demands and one of another company."""
    land = make_demand("新建生产线用地", dispatch_to=department,
                       description="企业计划新建胰岛素生产线，需要用地指标约50亩。")
    school = make_demand("研发人员子女入学", description="希望协调子女就近入学。")
    other = make_company("徐州徐工挖掘机械有限公司", "913203009MA3Y7LLJF")
    power = make_demand("电力增容", company_id=other.id, description="新厂房需要增加用电容量。")
    return land, school, power


def test_a_two_character_word_finds_the_title_it_is_part_of(wanbang, officer) -> None:
    assert titles(officer, "用地") == {"新建生产线用地"}


def test_a_longer_substring_finds_it_too(wanbang, officer) -> None:
    assert titles(officer, "生产线用地") == {"新建生产线用地"}
    assert titles(officer, "胰岛素生产线") == {"新建生产线用地"}  # in the description


def test_part_of_the_company_name_finds_its_demands(wanbang, officer) -> None:
    assert titles(officer, "万邦") == {"新建生产线用地", "研发人员子女入学"}
    assert titles(officer, "万邦生化医药") == {"新建生产线用地", "研发人员子女入学"}
    assert titles(officer, "徐工") == {"电力增容"}


def test_a_single_character_and_several_terms(wanbang, officer) -> None:
    assert titles(officer, "电") == {"电力增容"}
    assert titles(officer, "万邦 入学") == {"研发人员子女入学"}
    assert titles(officer, "新厂房 用电") == {"电力增容"}
    assert titles(officer, "万邦 电力") == set()


def test_no_match_finds_nothing(wanbang, officer) -> None:
    assert titles(officer, "不存在的诉求") == set()
    assert titles(officer, "无") == set()


def test_like_wildcards_and_quotes_are_plain_characters(make_demand, officer) -> None:
    make_demand("用地指标50%完成", description="进度过半")
    make_demand("用地指标完成", description="a_b")
    assert titles(officer, "%") == {"用地指标50%完成"}
    assert titles(officer, "50%完") == {"用地指标50%完成"}
    assert titles(officer, "_") == {"用地指标完成"}
    assert titles(officer, '"用地') == set()  # a quote is looked for, not an FTS5 syntax error
    assert titles(officer, 'AND OR NOT') == set()


def test_latin_letters_match_whatever_their_case(make_demand, officer) -> None:
    make_demand("GMP认证咨询", description="Clinical trial batch")
    assert titles(officer, "gmp") == {"GMP认证咨询"}
    assert titles(officer, "CLINICAL") == {"GMP认证咨询"}


def test_search_follows_changes_to_title_and_company_name(wanbang, officer, company) -> None:
    land = wanbang[0]
    land.title = "新建厂房用地"
    company.name = "江苏万邦生物医药集团有限责任公司"
    db.session.commit()
    assert titles(officer, "厂房用地") == {"新建厂房用地"}
    assert titles(officer, "生产线用地") == set()
    assert titles(officer, "生物医药") == {"新建厂房用地", "研发人员子女入学"}
    assert titles(officer, "生化医药") == set()


def test_two_characters_are_found_wherever_they_stand(make_demand, make_company, officer) -> None:
    """Two characters are looked up through an index of their own (the trigrams that begin with
    them on SQLite, the two-character pieces on PostgreSQL): at the start, in the middle and at
    the very end of a title, a description or a company's name."""
    make_demand("用地", description="扩建")  # a whole value of two characters
    make_demand("人才公寓申请", description="引进博士需要人才")
    other = make_company("徐州徐工挖掘机械", "913203009MA3Y7LLJF")
    make_demand("税收优惠咨询", company_id=other.id, description="研发费用加计扣除")
    assert titles(officer, "用地") == {"用地"}
    assert titles(officer, "扩建") == {"用地"}
    assert titles(officer, "人才") == {"人才公寓申请"}
    assert titles(officer, "机械") == {"税收优惠咨询"}  # the company's name ends with it
    assert titles(officer, "扣除 人才") == set()  # every term must match
    assert titles(officer, "扣除 税收") == {"税收优惠咨询"}
    assert titles(officer, "审批") == set()  # two characters that no demand holds


def test_two_characters_follow_edits(make_demand, officer, company) -> None:
    land = make_demand("新建生产线用地", description="需要指标")
    land.title = "厂房扩建"
    company.name = "江苏万邦生化医药股份"
    db.session.commit()
    assert titles(officer, "扩建") == {"厂房扩建"}
    assert titles(officer, "用地") == set()
    assert titles(officer, "股份") == {"厂房扩建"}


def test_two_latin_letters_match_whatever_their_case(make_demand, officer) -> None:
    make_demand("IT系统对接", description="ERP上线")
    assert titles(officer, "it") == {"IT系统对接"}
    assert titles(officer, "Rp") == {"IT系统对接"}


@pytest.mark.parametrize("q", ["用地", "Rp", "万邦", "生产线", "Erp 万邦", "用地 需要指标", "徐工", "审批"])
def test_every_way_of_asking_for_a_keyword_finds_the_same_demands(make_demand, make_company, officer,
                                                                  q) -> None:
    """PostgreSQL asks a term one way for a count, another for a page read along the sort's index
    and a third for a small page (search.KeywordRead): each must find the same demands."""
    make_demand("新建生产线用地", description="需要指标约50亩")
    make_demand("IT系统对接", description="ERP上线")
    make_demand("人才公寓申请", company_id=make_company("徐州徐工挖掘机械有限公司", "913203009MA3Y7LLJF").id)
    bare = make_demand("税收优惠咨询")
    db.session.execute(update(Demand).where(Demand.id == bare.id).values(description=""))
    db.session.commit()
    found = {read: set(db.session.scalars(select(Demand.title).where(keyword_clause(q, read))))
             for read in KeywordRead}
    assert found[KeywordRead.EVERY_MATCH] == found[KeywordRead.PAGE] == found[KeywordRead.ALONG_THE_SORT]
    assert found[KeywordRead.EVERY_MATCH] == titles(officer, q)


@pytest.mark.parametrize(("matches", "sort", "read"), [
    (0, Sort.NEWEST, KeywordRead.EVERY_MATCH), (1, Sort.NEWEST, KeywordRead.PAGE),
    (SORT_INDEX_FROM - 1, Sort.OLDEST, KeywordRead.PAGE),
    (SORT_INDEX_FROM, Sort.NEWEST, KeywordRead.ALONG_THE_SORT),
    (SORT_INDEX_FROM, Sort.NUMBER, KeywordRead.ALONG_THE_SORT),
    (SORT_INDEX_FROM, Sort.DUE, KeywordRead.PAGE),
])
def test_a_keyword_is_read_along_the_sort_only_for_a_large_result_in_an_indexed_order(
        matches, sort, read) -> None:
    assert KeywordRead.of(sort, matches) is read


def test_a_term_is_never_found_across_the_title_and_the_description(make_demand, officer) -> None:
    """PostgreSQL reads the title and the description as one value (migration 0009): the space
    between them keeps a term, which holds no whitespace, from matching across the two."""
    make_demand("新建用", description="地指标约50亩")
    bare = make_demand("没有说明")
    db.session.execute(update(Demand).where(Demand.id == bare.id).values(description=""))
    db.session.commit()
    assert titles(officer, "用地") == set()
    assert titles(officer, "建用地指") == set()
    assert titles(officer, "新建用") == {"新建用"}  # the end of the title
    assert titles(officer, "地指") == {"新建用"}  # the start of the description
    assert titles(officer, "说明") == {"没有说明"}  # a demand with an empty description


def test_each_term_may_be_found_in_another_place(make_demand, make_company, officer) -> None:
    """Every term must match, each in the title, the description or the company's name: terms of
    two characters and longer ones, Latin letters in any case."""
    other = make_company("徐州徐工挖掘机械有限公司", "913203009MA3Y7LLJF")
    make_demand("ERP系统上线", company_id=other.id, description="需要用地指标")
    make_demand("用地审批", description="ERP")
    assert titles(officer, "徐工 erp") == {"ERP系统上线"}
    assert titles(officer, "挖掘机械 用地指标") == {"ERP系统上线"}
    assert titles(officer, "用地 eRp") == {"ERP系统上线", "用地审批"}
    assert titles(officer, "徐工 审批") == set()
    assert titles(officer, "机械 系统上线 ERP 需要 徐") == {"ERP系统上线"}


def test_postgresql_finds_terms_through_the_indexes_of_title_and_description_together(
        make_demand, officer) -> None:
    """The condition must name the indexes' expression exactly (search.demand_text, migration
    0009), or PostgreSQL reads every demand: told not to, it still would, and says so."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's keyword indexes")
    make_demand("新建生产线用地")
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    for q, index in (("用地", "ix_demands_text_bigrams"), ("生产线", "ix_demands_text_trgm")):
        statement = select(func.count()).select_from(Demand).where(keyword_clause(q))
        compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join(db.session.scalars(text(f"EXPLAIN {compiled}")))
        assert index in plan, plan
    db.session.rollback()


# Who sees what

def test_handlers_find_only_their_departments_demands(make_demand, make_user, department,
                                                      other_department, officer) -> None:
    mine = make_demand("新建生产线用地", dispatch_to=department)
    co = make_demand("用地规划调整", dispatch_to=other_department, co=(department,))
    theirs = make_demand("用地审批加急", dispatch_to=other_department)
    unassigned = make_demand("用地咨询")
    handler = make_user(Role.HANDLER, department=department)
    stranger = make_user(Role.HANDLER, department=other_department)
    admin = make_user(Role.ADMIN)
    assert set(numbers(handler, q="用地")) == {mine.number, co.number}
    assert set(numbers(handler, q="用地规划")) == {co.number}
    assert numbers(handler, q="审批加急") == []
    assert set(numbers(stranger, q="用地")) == {co.number, theirs.number}
    assert numbers(admin, q="用地") == [] and numbers(admin) == []
    assert len(numbers(officer, q="用地")) == 4
    assert unassigned.number in numbers(officer)


# The filters

def spread_demands(make_demand, make_user, department, other_department, make_company, leader) -> dict:
    """Demands in every state and with every mark, logged and dispatched on Monday 15 June 2026, by
    their kind: registered, assigned, co, accepted, extension, returned, flagged, closed."""
    handler = make_user(Role.HANDLER, department=department)
    other_handler = make_user(Role.HANDLER, department=other_department)
    categories = db.session.scalars(select(Category).order_by(Category.position)).all()
    second = make_company("徐州徐工挖掘机械有限公司", "913203009MA3Y7LLJF")
    d = {}
    d["registered"] = make_demand("人才公寓", source="hotline", category_id=categories[1].id)
    d["assigned"] = make_demand("用地", dispatch_to=department)  # sign due 16 June: overdue
    d["co"] = make_demand("电力增容", dispatch_to=other_department, co=(department,), urgency="urgent",
                          company_id=second.id)
    d["accepted"] = make_demand("融资", dispatch_to=department, urgency="urgent")
    take_action(d["accepted"], Action.SIGN, handler, {}, None, at("2026-06-15T10:00+08:00"))
    d["extension"] = make_demand("审批", dispatch_to=department, urgency="complex")
    take_action(d["extension"], Action.SIGN, handler, {}, None, at("2026-06-15T10:00+08:00"))
    take_action(d["extension"], Action.REQUEST_EXTENSION, handler,
                {"reason": "需要省厅批复", "new_due": "2026-08-31"}, None, at("2026-06-16T10:00+08:00"))
    d["returned"] = make_demand("物流", dispatch_to=other_department)
    take_action(d["returned"], Action.RETURN, other_handler, {"reason": "不属于本部门"}, None,
                at("2026-06-15T11:00+08:00"))
    d["flagged"] = make_demand("子女入学", dispatch_to=other_department)
    take_action(d["flagged"], Action.FLAG_KEY_SUPERVISION, leader, {"reason": "市领导关注"}, None,
                at("2026-06-15T12:00+08:00"))
    d["closed"] = make_demand("重复", dispatch_to=department)
    take_action(d["closed"], Action.CLOSE, leader, {"close_reason": "withdrawn"}, None,
                at("2026-06-16T12:00+08:00"))
    db.session.commit()
    return d


@pytest.fixture
def spread(make_demand, make_user, department, other_department, make_company, leader, freeze_clock):
    """spread_demands' numbers by kind, seen on Wednesday 17 June 2026."""
    demands = spread_demands(make_demand, make_user, department, other_department, make_company, leader)
    freeze_clock("2026-06-17T10:00+08:00")
    return {name: demand.number for name, demand in demands.items()}


@pytest.mark.parametrize("args", [
    "", "state=closed&state=registered", "q=用地", "q=万邦 入学&sort=oldest", "state=accepted&sort=number",
    "overdue=1&sort=oldest", "department={department}&department_role=lead&state=accepted&state=closed",
])
def test_a_large_result_lists_the_same_demands_in_the_same_order(spread, officer, department, args) -> None:
    """Past SORT_INDEX_FROM matches SQLite reads the page along the sort's index: the same rows."""
    query = args.format(department=department.id)
    filters = DemandFilters.from_args(MultiDict([pair.split("=") for pair in query.split("&") if pair]))
    as_counted = demand_query(officer, filters, matches=SORT_INDEX_FROM)
    expected = [d.number for d in db.session.scalars(demand_query(officer, filters))]
    assert expected  # every case lists something
    assert [d.number for d in db.session.scalars(as_counted)] == expected
    assert [d.number for d in db.session.scalars(as_counted.limit(2).offset(1))] == expected[1:3]
    if db.engine.dialect.name == "sqlite" and filters.sort is not Sort.NUMBER:
        sql = str(as_counted.compile(db.engine, compile_kwargs={"literal_binds": True}))
        plan = " ".join(row[3] for row in db.session.execute(text("EXPLAIN QUERY PLAN " + sql)))
        assert "ix_demands_created_at" in plan and "TEMP B-TREE" not in plan


@pytest.mark.parametrize("args", [
    "", "state=closed&state=registered", "q=用地", "q=万邦 入学&sort=oldest", "state=accepted&sort=number",
    "sort=due", "overdue=1&sort=due", "department={department}&state=accepted&state=assigned&sort=due",
])
def test_a_page_chosen_by_ids_first_holds_the_same_rows_in_the_same_order(spread, officer, department,
                                                                          args) -> None:
    query = args.format(department=department.id)
    filters = DemandFilters.from_args(MultiDict([pair.split("=") for pair in query.split("&") if pair]))
    statement = demand_query(officer, filters).options(joinedload(Demand.company))
    expected = [d.number for d in db.session.scalars(statement)]
    assert expected
    for limit, offset in ((2, 0), (2, 1), (3, len(expected) - 1), (50, 0)):
        page = db.session.scalars(ids_first_of(statement, limit, offset)).unique().all()
        assert [d.number for d in page] == expected[offset:offset + limit]
        rows = db.session.execute(ids_first_of(statement, limit, offset, read_whole=LIST_ROWS)).all()
        assert [row.number for row in rows] == expected[offset:offset + limit]
        assert [row.company_name for row in rows] == [d.company.name for d in page]
    # the loader options reach the rows read whole: the company comes with the demand
    db.session.expunge_all()
    first = db.session.scalars(ids_first_of(statement, 1)).unique().one()
    assert "company" in first.__dict__


def kept_and_counted() -> tuple[dict[str, int], dict[str, int]]:
    kept = dict(db.session.execute(select(DemandStateTotal.state, DemandStateTotal.demands)).all())
    counted = dict(db.session.execute(select(Demand.state, func.count()).group_by(Demand.state)).all())
    return {state: n for state, n in kept.items() if n}, counted


def test_the_totals_kept_per_state_follow_every_change(spread, officer, leader) -> None:
    kept, counted = kept_and_counted()
    assert kept == counted and sum(counted.values()) == len(spread)
    # several rows in one statement (PostgreSQL's triggers add up a statement's rows at once)
    db.session.execute(update(Demand).where(Demand.state.in_(["registered", "accepted"]))
                       .values(state="closed"))
    db.session.execute(update(Demand).where(Demand.state == "closed").values(title="同一状态"))
    db.session.commit()
    kept, counted = kept_and_counted()
    assert kept == counted == {"assigned": 3, "closed": 5}  # the registered and the accepted closed


def test_the_list_tells_a_known_total_only_when_states_or_keywords_alone_narrow_it(
        spread, officer, department, make_user) -> None:
    assert known_total(officer, DemandFilters(states=("closed",))) is not None
    assert known_total(officer, DemandFilters(sort=Sort.OLDEST)) is not None
    keywords_alone = known_total(officer, DemandFilters(q="用地"))
    assert (keywords_alone is not None) == (db.engine.dialect.name == "sqlite")
    assert known_total(officer, DemandFilters(q="用地", states=("closed",))) is None
    assert known_total(officer, DemandFilters(states=("closed",), department_id=department.id)) is None
    handler = make_user(Role.HANDLER, department=department)
    assert known_total(handler, DemandFilters()) is None  # a handler sees only their departments'
    assert db.session.scalar(known_total(officer, DemandFilters(states=("registered", "closed")))) == 3


@pytest.mark.parametrize("q", ["用地", "用地 入学", "万邦", "排污许可", "子女入学", "地", "无此词", "用 地",
                               "WANBANG"])
def test_a_keyword_total_read_from_the_keyword_index_counts_the_demands_listed(spread, officer, q) -> None:
    total = known_total(officer, DemandFilters(q=q))
    if db.engine.dialect.name != "sqlite":
        pytest.skip("only SQLite reads a keyword total from its keyword index")
    assert db.session.scalar(total) == len(numbers(officer, q=q))


def test_state_filter_takes_several_states(spread, officer) -> None:
    assert numbers(officer, states=("registered",)) == [spread["returned"], spread["registered"]]
    assert set(numbers(officer, states=("accepted", "closed"))) == {
        spread["accepted"], spread["extension"], spread["closed"]}


def test_department_filter_as_lead_co_or_either(spread, officer, department) -> None:
    lead = {spread["assigned"], spread["accepted"], spread["extension"], spread["closed"]}
    assert set(numbers(officer, department_id=department.id, department_role=DepartmentRole.LEAD)) == lead
    assert set(numbers(officer, department_id=department.id, department_role=DepartmentRole.CO)) == {
        spread["co"]}
    assert set(numbers(officer, department_id=department.id)) == lead | {spread["co"]}


def test_category_company_source_and_urgency_filters(spread, officer, company) -> None:
    second_category = db.session.scalars(select(Category).order_by(Category.position)).all()[1]
    assert numbers(officer, category_id=second_category.id) == [spread["registered"]]
    assert spread["co"] not in numbers(officer, company_id=company.id)
    assert len(numbers(officer, company_id=company.id)) == 7
    assert numbers(officer, source="hotline") == [spread["registered"]]
    assert set(numbers(officer, urgency="urgent")) == {spread["co"], spread["accepted"]}


def test_overdue_due_soon_key_supervision_extension_and_returned(spread, officer) -> None:
    # Assigned on Monday: signing was due Tuesday 16th (red). Urgent and signed: respond by 18th (yellow).
    assert set(numbers(officer, overdue=True)) == {spread["assigned"], spread["co"], spread["flagged"]}
    assert numbers(officer, due_soon=True) == [spread["accepted"]]
    assert numbers(officer, key_supervision=True) == [spread["flagged"]]
    assert numbers(officer, pending_extension=True) == [spread["extension"]]
    assert numbers(officer, returned=True) == [spread["returned"]]


def test_date_ranges_count_beijing_days(spread, officer) -> None:
    everything = set(numbers(officer))
    assert set(numbers(officer, logged_from=date(2026, 6, 15), logged_to=date(2026, 6, 15))) == everything
    assert numbers(officer, logged_from=date(2026, 6, 16)) == []
    assert numbers(officer, logged_to=date(2026, 6, 14)) == []
    dispatched = set(numbers(officer, dispatched_from=date(2026, 6, 15), dispatched_to=date(2026, 6, 15)))
    assert dispatched == everything - {spread["registered"]}  # a returned demand was dispatched once
    assert numbers(officer, dispatched_to=date(2026, 6, 14)) == []


def test_sort_orders(spread, officer) -> None:
    newest = numbers(officer)
    assert newest == sorted(newest, reverse=True)
    assert numbers(officer, sort=Sort.OLDEST) == sorted(newest)
    assert numbers(officer, sort=Sort.NUMBER) == sorted(newest)
    by_due = numbers(officer, sort=Sort.DUE)
    assert by_due[:3] == sorted([spread["assigned"], spread["co"], spread["flagged"]])  # due 16 June
    assert set(by_due[-3:]) == {spread["registered"], spread["returned"], spread["closed"]}  # no deadline


# Every filter column has an index

def test_every_filter_column_has_an_index(app) -> None:
    inspector = inspect(db.engine)
    indexed = {tuple(ix["column_names"]) for ix in inspector.get_indexes("demands")}
    leading = {columns[0] for columns in indexed}
    for column in ("state", "lead_department_id", "category_id", "company_id", "source", "urgency",
                   "current_due", "key_supervision", "created_at", "dispatched_at"):
        assert column in leading, column
    co = {tuple(ix["column_names"]) for ix in inspector.get_indexes("demand_co_departments")}
    # a department's co-handled demands (in some states) from the index alone
    assert ("department_id", "demand_state", "demand_id") in co
    events = {tuple(ix["column_names"]) for ix in inspector.get_indexes("demand_events")}
    assert ("demand_id", "action") in events  # the lists' last return of each row
    extensions = {tuple(ix["column_names"]) for ix in inspector.get_indexes("extension_requests")}
    assert {("status",), ("demand_id",)} <= extensions


def test_filtered_reads_the_arguments_itself(wanbang, officer) -> None:
    from servicedesk.demands.search import filtered

    found = db.session.scalars(filtered(officer, MultiDict([("q", "万邦"), ("state", "assigned")]))).all()
    assert [d.title for d in found] == ["新建生产线用地"]


@pytest.mark.parametrize(("role", "asked_of_the_demands"), [
    (DepartmentRole.ANY, False), (DepartmentRole.CO, False), (DepartmentRole.LEAD, True),
])
def test_sqlite_leaves_the_states_to_a_departments_list_of_ids(app, department, role,
                                                               asked_of_the_demands) -> None:
    """On SQLite a department's list of ids carries the states, and the demands are not asked them
    again (which made SQLite read every demand in those states); as lead, the department is a
    column of the demand and the states are asked of the demands. PostgreSQL keeps both."""
    filters = DemandFilters(states=("accepted",), department_id=department.id, department_role=role)
    sql = str(select(Demand.id).where(*conditions(filters, None)).compile(
        db.engine, compile_kwargs={"literal_binds": True}))
    sqlite = db.engine.dialect.name == "sqlite"
    assert ("demands.state IN ('accepted')" in sql.replace("led_demands.state", "")) is (
        asked_of_the_demands or not sqlite)
