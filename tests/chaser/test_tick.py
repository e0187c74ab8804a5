"""The chase tick: what the rules decide is recorded once, in whole batches, whatever happens."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select, update

from servicedesk.calendar.store import working_calendar
from servicedesk.chaser import tick
from servicedesk.chaser.tick import current_settings, load_deadlines, prefetch_calendar, run_tick
from servicedesk.domain.chase import ChaseSettings, chase
from servicedesk.domain.lifecycle import Action
from servicedesk.extensions import db
from servicedesk.models import (
    ChaseRecord,
    Demand,
    DemandEvent,
    EscalationNotice,
    Notification,
    OutboxMessage,
    Role,
)
from tests.chaser.tick_helpers import SCENARIO_NOW, act, build_scenario, count, moment, totals, with_email
from tests.conftest import is_postgresql


@pytest.fixture
def scenario(make_demand, make_user, department, other_department, handler, officer, leader):
    return build_scenario(make_demand, make_user, department, other_department, handler, officer, leader)


def _decided(now: str) -> list[Any]:
    calendar = working_calendar()
    deadlines = load_deadlines()
    prefetch_calendar(calendar, deadlines, moment(now))
    actions = chase(moment(now), deadlines, calendar, current_settings())
    db.session.rollback()
    return actions


def _notified(record: ChaseRecord) -> set[int]:
    return set(db.session.scalars(select(Notification.user_id)
                                  .where(Notification.chase_record_id == record.id)))


def test_a_tick_records_what_the_rules_decide(scenario) -> None:
    s = scenario
    decided = _decided(SCENARIO_NOW)
    assert {(a.deadline.demand_id, a.deadline.deadline, a.kind.value) for a in decided} == {
        (s.overdue.id, "sign", "overdue"), (s.overdue.id, "sign", "escalate_head"),
        (s.overdue.id, "sign", "escalate_leadership"),
        (s.accepted.id, "respond", "due_soon"), (s.accepted.id, "milestone", "due_today"),
        (s.accepted.id, "extension", "due_soon"), (s.responded.id, "feedback", "overdue")}
    versions = {d.id: d.version for d in (s.overdue, s.accepted)}

    result = run_tick(moment(SCENARIO_NOW))

    assert result.already == 0 and result.batches == 1
    assert [r.idempotency_key for r in result.recorded] == [a.idempotency_key for a in decided]
    records = {(r.demand_id, r.deadline, r.kind): r for r in db.session.scalars(select(ChaseRecord))}
    assert {r.idempotency_key for r in records.values()} == {a.idempotency_key for a in decided}
    for action in decided:
        record = records[action.deadline.demand_id, action.deadline.deadline, action.kind.value]
        assert (record.due, record.working_day, record.milestone_id) == (
            action.deadline.due, action.working_day, action.deadline.milestone_id)
        event = record.event
        assert event.demand_id == record.demand_id and event.actor_id is None
        assert event.action == ("escalate" if action.kind.value.startswith("escalate") else "remind")
        assert event.details["kind"] == action.kind.value
        assert event.details["deadline"] == action.deadline.deadline
        assert event.details["due"] == action.deadline.due.isoformat()
        assert event.details["days_overdue"] == action.days_overdue
        assert event.details["working_day"] == action.working_day.isoformat()
        assert event.at == moment(SCENARIO_NOW)

    # Whoever owes the step is told: the lead department's handlers, the officer for feedback, the
    # leaders and the dispatching officer for an extension decision; escalations reach the head and
    # the leaders as well.
    department = {s.handler.id, s.head.id}
    assert _notified(records[s.overdue.id, "sign", "overdue"]) == department
    assert _notified(records[s.overdue.id, "sign", "escalate_head"]) == department
    assert _notified(records[s.overdue.id, "sign", "escalate_leadership"]) == department | {s.leader.id}
    assert _notified(records[s.accepted.id, "respond", "due_soon"]) == department
    assert _notified(records[s.accepted.id, "milestone", "due_today"]) == department
    assert _notified(records[s.accepted.id, "extension", "due_soon"]) == {s.leader.id, s.officer.id}
    assert _notified(records[s.responded.id, "feedback", "overdue"]) == {s.officer.id}
    assert records[s.responded.id, "feedback", "overdue"].user_id == s.officer.id

    # Escalations yield notices and mail at once; reminders no mail (the digests gather them).
    notices = db.session.scalars(select(EscalationNotice).order_by(EscalationNotice.id)).all()
    assert [(n.number, n.level, n.demand_id, n.department_id, n.deadline, n.days_overdue)
            for n in notices] == [
        ("催办〔2026〕0001", "head", s.overdue.id, s.department.id, "sign", 8),
        ("督办〔2026〕0001", "leadership", s.overdue.id, s.department.id, "sign", 8)]
    mail = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(m.recipient_id, m.kind, m.status, m.demand_id) for m in mail] == [
        (s.head.id, "escalation", "pending", s.overdue.id),
        (s.leader.id, "escalation", "pending", s.overdue.id)]
    assert records[s.overdue.id, "sign", "escalate_head"].event.details["notice"] == "催办〔2026〕0001"
    assert records[s.overdue.id, "sign", "escalate_leadership"].event.details["notice"] == "督办〔2026〕0001"
    assert records[s.overdue.id, "sign", "escalate_leadership"].event.details["key_supervision"] is True
    head_key = records[s.overdue.id, "sign", "escalate_head"].idempotency_key
    assert mail[0].idempotency_key == f"escalation:{head_key}:{s.head.id}"
    overdue = db.session.get(Demand, s.overdue.id)
    assert overdue.escalation_level == 2 and overdue.key_supervision
    assert "督办〔2026〕0001" in overdue.key_supervision_reason
    accepted = db.session.get(Demand, s.accepted.id)
    assert accepted.escalation_level == 0
    # An escalation changes the demand, once for the batch: whoever saw it before must look again.
    # Reminders leave it as it was.
    assert (overdue.version, accepted.version) == (versions[s.overdue.id] + 1, versions[s.accepted.id])


def test_the_same_tick_twice_records_once(scenario) -> None:
    first = run_tick(moment(SCENARIO_NOW))
    after_first = totals()
    second = run_tick(moment(SCENARIO_NOW))
    later_that_day = run_tick(moment("2026-06-29T16:45+08:00"))
    assert len(first.recorded) == 7
    assert second.recorded == [] and second.already == 7
    assert later_that_day.recorded == [] and later_that_day.already == 7
    assert totals() == after_first
    # The next working day brings the day's reminders again, and no escalation twice.
    next_day = run_tick(moment("2026-06-30T09:00+08:00"))
    assert {(r.deadline, r.kind) for r in next_day.recorded} == {
        ("sign", "overdue"), ("respond", "due_today"), ("extension", "due_today"),
        ("milestone", "overdue"), ("milestone", "escalate_head"), ("feedback", "overdue")}


def test_no_tick_records_on_a_day_off(scenario) -> None:
    result = run_tick(moment("2026-06-27T09:00+08:00"))  # a Saturday
    assert result.recorded == [] and totals()["chase_records"] == 0


def _tick_in_thread(app, now: str, barrier: threading.Barrier, results: list, errors: list,
                    batch_size: int = 1) -> threading.Thread:
    def run() -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                results.append(run_tick(moment(now), batch_size=batch_size))
            except BaseException as error:  # reported by the test
                errors.append(error)
            finally:
                db.session.remove()

    return threading.Thread(target=run)


def test_two_ticks_at_once_record_each_action_once(app, scenario) -> None:
    """On PostgreSQL the second tick's insert waits on the unique key, fails once the first commits,
    and its batch is done again without the keys now recorded; SQLite queues the writers."""
    barrier, results, errors = threading.Barrier(2), [], []
    threads = [_tick_in_thread(app, SCENARIO_NOW, barrier, results, errors) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(len(r.recorded) + r.already for r in results) == [7, 7]
    assert sum(len(r.recorded) for r in results) == 7
    keys = db.session.scalars(select(ChaseRecord.idempotency_key)).all()
    assert len(keys) == len(set(keys)) == 7
    assert totals()["chase events"] == 7
    assert count(OutboxMessage) == 2 and count(EscalationNotice) == 2


def test_a_key_recorded_by_another_tick_meanwhile_makes_the_batch_start_again(app, scenario,
                                                                               monkeypatch) -> None:
    """Deterministic race: another tick records everything after this batch checked its keys."""
    if not is_postgresql():
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): another tick cannot record a key "
                    "between a batch's check and its insert")
    original = tick._record_action
    raced = []

    def record_after_another_tick(*args: Any, **kwargs: Any) -> Any:
        if not raced:
            raced.append(True)
            barrier, results, errors = threading.Barrier(1), [], []
            other = _tick_in_thread(app, SCENARIO_NOW, barrier, results, errors, batch_size=200)
            other.start()
            other.join(timeout=60)
            assert errors == [] and len(results[0].recorded) == 7
        return original(*args, **kwargs)

    monkeypatch.setattr(tick, "_record_action", record_after_another_tick)
    result = run_tick(moment(SCENARIO_NOW))
    assert result.retries == 1
    assert result.recorded == [] and result.already == 7
    assert count(ChaseRecord) == 7 and totals()["chase events"] == 7


def test_a_tick_that_fails_half_way_leaves_whole_batches_and_a_rerun_completes(scenario, monkeypatch) -> None:
    original = tick._record_action
    calls = []

    def fail_on_the_second(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("the process died")
        return original(*args, **kwargs)

    monkeypatch.setattr(tick, "_record_action", fail_on_the_second)
    with pytest.raises(RuntimeError, match="died"):
        run_tick(moment(SCENARIO_NOW), batch_size=1)
    first_key = calls[0][0].idempotency_key
    assert db.session.scalars(select(ChaseRecord.idempotency_key)).all() == [first_key]
    assert totals() == {"chase_records": 1, "escalation_notices": 0, "notifications": 2,
                        "outbox_messages": 0, "chase events": 1}

    monkeypatch.setattr(tick, "_record_action", original)
    rerun = run_tick(moment(SCENARIO_NOW), batch_size=1)
    assert rerun.already == 1 and len(rerun.recorded) == 6 and rerun.batches == 7
    assert count(ChaseRecord) == 7 and totals()["chase events"] == 7
    assert count(EscalationNotice) == 2 and count(OutboxMessage) == 2


def test_a_failing_batch_of_several_leaves_nothing_of_itself(scenario, monkeypatch) -> None:
    original = tick._record_action
    calls = []

    def fail_on_the_fifth(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) == 5:
            raise RuntimeError("the process died")
        return original(*args, **kwargs)

    monkeypatch.setattr(tick, "_record_action", fail_on_the_fifth)
    with pytest.raises(RuntimeError):
        run_tick(moment(SCENARIO_NOW), batch_size=3)
    assert count(ChaseRecord) == 3 and totals()["chase events"] == 3


def test_a_demand_changed_while_its_batch_escalates_it_makes_the_batch_start_again(scenario,
                                                                                   monkeypatch) -> None:
    """Here the change comes in the batch's own transaction; below, from another on PostgreSQL."""
    s = scenario
    version = s.overdue.version
    original = tick._update_demands
    changed = []

    def changed_meanwhile(*args: Any, **kwargs: Any) -> Any:
        if not changed:
            changed.append(True)
            db.session.execute(update(Demand.__table__).where(Demand.id == s.overdue.id)
                               .values(version=Demand.version + 1))
        return original(*args, **kwargs)

    monkeypatch.setattr(tick, "_update_demands", changed_meanwhile)
    result = run_tick(moment(SCENARIO_NOW))
    assert result.retries == 1 and len(result.recorded) == 7
    db.session.expire_all()
    overdue = db.session.get(Demand, s.overdue.id)
    assert (overdue.version, overdue.escalation_level) == (version + 1, 2)
    assert count(EscalationNotice) == 2 and count(ChaseRecord) == 7 and totals()["chase events"] == 7


def test_a_demand_signed_while_its_batch_escalates_it_is_not_escalated(app, scenario, monkeypatch) -> None:
    if not is_postgresql():
        pytest.skip("SQLite serialises writers: nobody signs while a batch holds the write lock")
    s = scenario
    original = tick._update_demands
    signed = []

    def sign_meanwhile(*args: Any, **kwargs: Any) -> Any:
        if not signed:
            signed.append(True)
            other = threading.Thread(target=_sign_in_another_transaction, args=(app, s.overdue.id,
                                                                                s.handler.id))
            other.start()
            other.join(timeout=60)
        return original(*args, **kwargs)

    monkeypatch.setattr(tick, "_update_demands", sign_meanwhile)
    result = run_tick(moment(SCENARIO_NOW))
    assert result.retries == 1 and result.stale == 3 and len(result.recorded) == 4
    db.session.expire_all()
    overdue = db.session.get(Demand, s.overdue.id)
    assert overdue.state == "accepted" and overdue.escalation_level == 0
    assert count(EscalationNotice) == 0 and count(OutboxMessage) == 0
    assert s.overdue.id not in set(db.session.scalars(select(ChaseRecord.demand_id)))


def _sign_in_another_transaction(app: Any, demand_id: int, handler_id: int) -> None:
    from servicedesk.demands.operations import take_action
    from servicedesk.models import User

    with app.app_context():
        try:
            take_action(db.session.get(Demand, demand_id), Action.SIGN, db.session.get(User, handler_id), {},
                        None, moment(SCENARIO_NOW))
            db.session.commit()
        finally:
            db.session.remove()


def test_an_escalated_milestone_is_named_in_the_mail_to_the_head(scenario) -> None:
    run_tick(moment(SCENARIO_NOW))
    run_tick(moment("2026-06-30T09:00+08:00"))  # the milestone due on the 29th goes to the head
    mail = db.session.scalars(select(OutboxMessage)
                              .where(OutboxMessage.demand_id == scenario.accepted.id)).all()
    assert [m.recipient_id for m in mail] == [scenario.head.id]
    assert "完成规划条件论证" in mail[0].body_text and "完成规划条件论证" in mail[0].body_html


def test_escalation_to_the_head_then_to_leadership(make_demand, make_user, department, other_department,
                                                    handler, leader) -> None:
    head = with_email(make_user(Role.HANDLER, username="head", department=department, is_head=True))
    other_head = with_email(make_user(Role.HANDLER, username="otherhead", department=other_department,
                                      is_head=True))
    with_email(leader)
    second_leader = with_email(make_user(Role.LEADER, username="leader2"))
    gone = with_email(make_user(Role.LEADER, username="retired"))
    gone.active = False
    db.session.commit()
    demand = make_demand("新建生产线用地", dispatch_to=department)  # signing due Tuesday 16 June
    other = make_demand("生产基地用电增容", dispatch_to=other_department)

    due_today = run_tick(moment("2026-06-16T09:00+08:00"))
    assert {r.kind for r in due_today.recorded} == {"due_today"}

    # Wednesday: one working day overdue, escalated to the heads.
    first = run_tick(moment("2026-06-17T09:00+08:00"))
    assert sorted((r.demand_number, r.kind, r.days_overdue, r.notice) for r in first.recorded) == [
        (demand.number, "escalate_head", 1, "催办〔2026〕0001"), (demand.number, "overdue", 1, None),
        (other.number, "escalate_head", 1, "催办〔2026〕0002"), (other.number, "overdue", 1, None)]
    db.session.expire_all()
    assert (demand.escalation_level, demand.key_supervision) == (1, False)
    mail = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(m.recipient_id, m.to_address, m.status) for m in mail] == [
        (head.id, "head@desk.example", "pending"), (other_head.id, "otherhead@desk.example", "pending")]
    assert demand.number in mail[0].subject and mail[0].body_text and mail[0].body_html

    # Thursday: two days overdue, a reminder only. Friday 19 June is the Dragon Boat Festival.
    second = run_tick(moment("2026-06-18T09:00+08:00"))
    assert {r.kind for r in second.recorded} == {"overdue"}
    assert run_tick(moment("2026-06-19T09:00+08:00")).recorded == []

    # Monday 22 June: three working days overdue, escalated to leadership, under key supervision.
    third = run_tick(moment("2026-06-22T09:00+08:00"))
    assert sorted((r.demand_number, r.kind, r.notice) for r in third.recorded if r.notice) == [
        (demand.number, "escalate_leadership", "督办〔2026〕0001"),
        (other.number, "escalate_leadership", "督办〔2026〕0002")]
    db.session.expire_all()
    assert demand.escalation_level == 2 and demand.key_supervision and demand.key_supervision_reason
    leadership_mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.demand_id == demand.id)
                                         .order_by(OutboxMessage.id)).all()
    assert [m.recipient_id for m in leadership_mail] == [head.id, leader.id, second_leader.id]
    assert gone.id not in set(db.session.scalars(select(Notification.user_id)))
    escalations = db.session.scalars(select(DemandEvent).where(DemandEvent.demand_id == demand.id,
                                                               DemandEvent.action == "escalate")
                                     .order_by(DemandEvent.id)).all()
    assert [e.details["kind"] for e in escalations] == ["escalate_head", "escalate_leadership"]
    assert {n.user_id for n in db.session.scalars(select(Notification).where(
        Notification.kind == "escalate_leadership", Notification.demand_id == demand.id))} == {
        handler.id, head.id, leader.id, second_leader.id}


def test_a_flag_set_by_a_leader_keeps_its_reason(make_demand, make_user, department, leader) -> None:
    demand = make_demand("新建生产线用地", dispatch_to=department)
    act(demand, Action.FLAG_KEY_SUPERVISION, leader, reason="市领导现场调研承诺事项。")
    run_tick(moment("2026-06-22T09:00+08:00"))
    db.session.expire_all()
    assert demand.escalation_level == 2 and demand.key_supervision_reason == "市领导现场调研承诺事项。"


def test_settings_come_from_the_configuration(app, scenario, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "CHASE_ESCALATE_HEAD_AFTER", 2)
    monkeypatch.setitem(app.config, "CHASE_ESCALATE_LEADERSHIP_AFTER", 20)
    assert current_settings() == ChaseSettings(due_soon_days=2, escalate_head_after=2,
                                               escalate_leadership_after=20)
    result = run_tick(moment(SCENARIO_NOW))
    assert "escalate_leadership" not in {r.kind for r in result.recorded}


def test_a_demand_that_moved_on_since_loading_is_not_chased(scenario, monkeypatch) -> None:
    """Signed between the tick's reading and its recording: the sign reminder is dropped."""
    s = scenario
    original = tick.chase

    def chase_then_sign(*args: Any) -> Any:
        actions = original(*args)
        demand = db.session.get(Demand, s.overdue.id)
        from servicedesk.demands.operations import take_action

        take_action(demand, Action.SIGN, s.handler, {}, None, moment(SCENARIO_NOW))
        return actions

    monkeypatch.setattr(tick, "chase", chase_then_sign)
    result = run_tick(moment(SCENARIO_NOW))
    assert result.stale == 3 and len(result.recorded) == 4
    assert s.overdue.id not in set(db.session.scalars(select(ChaseRecord.demand_id)))


def _make_zone(make_demand, department, other_department, handler, other_handler, size: int) -> None:
    for number in range(size):
        kind = number % 4
        demand = make_demand(f"诉求{number}", dispatch_to=other_department if kind == 3 else department)
        if kind in (1, 2):
            act(demand, Action.SIGN, handler)
            act(demand, Action.ADD_MILESTONE, handler, title="节点", due_on=date(2026, 6, 29))
        if kind == 2:
            act(demand, Action.REQUEST_EXTENSION, handler, reason="延期", new_due=date(2026, 7, 15))
        if kind == 3:
            act(demand, Action.SIGN, other_handler)
            act(demand, Action.RESPOND, other_handler, outcome="solved", text="已解决。")


@pytest.mark.parametrize("sizes", [(5, 50)])
def test_loading_runs_a_fixed_number_of_queries(make_demand, make_user, department, other_department, handler,
                                                count_queries, sizes) -> None:
    other_handler = make_user(Role.HANDLER, username="other", department=other_department)
    counts = []
    made = 0
    for size in sizes:
        _make_zone(make_demand, department, other_department, handler, other_handler, size - made)
        made = size
        db.session.expire_all()
        with count_queries() as counter:
            settings = current_settings()
            calendar = working_calendar()
            deadlines = load_deadlines()
            prefetch_calendar(calendar, deadlines, moment(SCENARIO_NOW))
            actions = chase(moment(SCENARIO_NOW), deadlines, calendar, settings)
        db.session.rollback()
        assert len(deadlines) > size
        assert actions
        counts.append(counter.count)
    assert counts[0] == counts[1], counts
    assert counts[0] <= 7


def test_a_batch_writes_in_as_many_statements_however_many_actions_it_holds(
        make_demand, make_user, department, other_department, handler, leader, count_queries) -> None:
    """The second tick's batch holds ten times the first's new actions (and the first's, recorded)."""
    other_handler = make_user(Role.HANDLER, username="other", department=other_department)
    with_email(make_user(Role.HANDLER, username="head", department=department, is_head=True))
    with_email(leader)
    counts, recorded = [], []
    made = 0
    for size in (4, 44):
        _make_zone(make_demand, department, other_department, handler, other_handler, size - made)
        made = size
        db.session.expire_all()
        with count_queries() as counter:
            result = run_tick(moment(SCENARIO_NOW), batch_size=1000)
        counts.append(counter.count)
        recorded.append(result)
    first, second = recorded
    assert first.batches == second.batches == 1 and second.already == len(first.recorded)
    assert len(second.recorded) == 10 * len(first.recorded)
    assert {r.kind for r in first.recorded} == {r.kind for r in second.recorded} == {
        "due_soon", "due_today", "overdue", "escalate_head", "escalate_leadership"}
    assert counts[0] == counts[1], counts
    assert counts[0] <= 20


def test_the_demo_ticks_show_reminders_escalations_and_mail_and_twice_add_nothing(runner) -> None:
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    kinds = set(db.session.scalars(select(ChaseRecord.kind)))
    assert {"due_soon", "due_today", "overdue", "escalate_head", "escalate_leadership"} <= kinds
    levels = set(db.session.scalars(select(EscalationNotice.level)))
    assert levels == {"head", "leadership"}
    assert count(OutboxMessage, OutboxMessage.kind == "escalation", OutboxMessage.status == "pending") >= 2
    assert count(Demand, Demand.escalation_level == 2) >= 1
    before = totals()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert totals() == before
