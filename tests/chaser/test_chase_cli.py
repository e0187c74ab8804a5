"""`flask chase`: one tick at a given moment, printing what it recorded."""

from __future__ import annotations

import pytest

from tests.chaser.tick_helpers import SCENARIO_NOW, build_scenario, totals


@pytest.fixture
def scenario(make_demand, make_user, department, other_department, handler, officer, leader):
    return build_scenario(make_demand, make_user, department, other_department, handler, officer, leader)


def _lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def test_chase_prints_one_line_per_recorded_action_and_a_total(runner, scenario) -> None:
    s = scenario
    result = runner.invoke(args=["chase", "--now", SCENARIO_NOW])
    assert result.exit_code == 0, result.output
    lines = _lines(result.output)
    assert len(lines) == 8
    body, total = lines[:-1], lines[-1]
    overdue = [line for line in body if line.startswith(s.overdue.number)]
    assert [line.split()[1:5] for line in overdue] == [
        ["overdue", "sign", "due", "2026-06-16"], ["escalate_head", "sign", "due", "2026-06-16"],
        ["escalate_leadership", "sign", "due", "2026-06-16"]]
    assert all("8 working days overdue" in line for line in overdue)
    assert overdue[1].endswith("催办〔2026〕0001") and overdue[2].endswith("督办〔2026〕0001")
    accepted = [line.split()[1:5] for line in body if line.startswith(s.accepted.number)]
    assert ["due_soon", "respond", "due", "2026-06-30"] in accepted
    assert accepted[1][:2] == ["due_today", "milestone"]
    feedback = next(line for line in body if line.startswith(s.responded.number))
    assert feedback.split()[1:5] == ["overdue", "feedback", "due", "2026-06-18"]
    assert "6 working days overdue" in feedback
    assert total.startswith("Recorded 7 at 2026-06-29T09:00:00+08:00; 0 recorded before")

    again = runner.invoke(args=["chase", "--now", SCENARIO_NOW])
    assert again.exit_code == 0
    assert _lines(again.output) == ["Recorded 0 at 2026-06-29T09:00:00+08:00; 7 recorded before, "
                                    "0 no longer owed."]
    assert totals()["chase_records"] == 7


def test_chase_without_a_moment_ticks_at_the_clock(runner, scenario, freeze_clock) -> None:
    freeze_clock("2026-06-29T11:30+08:00")
    result = runner.invoke(args=["chase"])
    assert result.exit_code == 0, result.output
    assert _lines(result.output)[-1].startswith("Recorded 7 at 2026-06-29T11:30:00+08:00")


def test_chase_refuses_a_moment_without_offset_or_not_a_moment(runner, scenario) -> None:
    for moment in ("2026-06-29T09:00", "next monday"):
        result = runner.invoke(args=["chase", "--now", moment])
        assert result.exit_code == 2
        assert "2026-06-15T09:00+08:00" in result.output
    assert totals()["chase_records"] == 0


def test_chase_on_a_day_off_records_nothing(runner, scenario) -> None:
    result = runner.invoke(args=["chase", "--now", "2026-06-20T09:00+08:00"])
    assert result.exit_code == 0
    assert _lines(result.output) == ["Recorded 0 at 2026-06-20T09:00:00+08:00; 0 recorded before, "
                                     "0 no longer owed."]
