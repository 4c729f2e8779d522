"""``ccsim schedule``: templates checked at the door, a plan repaired by simulation on an
exact timeline, the plan scenario and chart it writes, and a plan for the retail example."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from ccsim.cli import app
from ccsim.planning.schedule import CannotCover, schedule
from ccsim.planning.templates import TemplateError, parse_templates, shift_options
from ccsim.scenario import load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()

# Two chats at 0s and two at 40m, each taking 30m, answered within 60s or late; one agent
# holds one chat. With one shift an hour the search needs 2 agents in hour 0 (the first
# two are free again at 30m) and 3 in hour 1 (agents carried over keep their chats till
# 70m, so the chat at 4000s needs a third).
BREAKS_SCENARIO: dict[str, Any] = {
    "name": "breaks",
    "duration": "2h",
    "replications": 2,
    "directories": {
        "chat": {
            "arrivals": {"times": [0, 0, 2400, 2400, 4000]},
            "handle_time": "30m",
            "service_level": "60s",
        }
    },
    "agents": {"team": {"count": 1, "directories": ["chat"], "max_chats": 1}},
}
# "split" is on duty 0-30m and 1h-2h (a 30-minute break at 30m); "hour" is one hour.
BREAKS_TEMPLATES: dict[str, Any] = {
    "groups": {
        "team": {
            "templates": {
                "split": {
                    "starts": ["0h"],
                    "length": "2h",
                    "breaks": [{"at": "30m", "length": "30m"}],
                    "cost": 1.5,
                },
                "hour": {"starts": ["0h", "1h"], "length": "1h", "cost": 2},
            }
        }
    }
}


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_plan_with_breaks_is_repaired_round_by_round_on_an_exact_timeline() -> None:
    """Requirements 2 and 3 (hour 0 counts a split agent as half: on break 30m-1h).

    Round 1: 4 split (cost 6) cover both hours, but nobody is on duty at 40m: fails hour 0.
    Round 2: hour 0 needs 3, so 4 split and 1 hour (cost 8): one of the chats at 40m waits.
    Round 3: hour 0 needs 4: 4 split and 2 hour (cost 10): everything answered at once.
    """
    scenario = scenario_from_dict(BREAKS_SCENARIO)
    templates = parse_templates(BREAKS_TEMPLATES)
    plan = schedule(scenario, "team", ["service_level >= 100%"], templates, 3600)
    assert [row.searched for row in plan.intervals] == [2, 3]
    assert [(r.cost, r.failing) for r in plan.rounds] == [(6, (0,)), (8, (0,)), (10, ())]
    assert [r.raised for r in plan.rounds] == [(), (0,), (0,)]
    assert {(s.template, s.start, s.count) for s in plan.shifts} == {
        ("split", 0.0, 4),
        ("hour", 0.0, 2),
    }
    assert plan.steps == [(0.0, 1800.0, 6), (1800.0, 3600.0, 2), (3600.0, 7200.0, 4)]
    assert (plan.first_cost, plan.cost, plan.gap) == (6, 10, 4)
    assert [row.required for row in plan.intervals] == [4, 3]
    assert [row.scheduled for row in plan.intervals] == [4, 4]
    assert plan.meets and not plan.unmet
    assert plan.check_simulations == 3
    assert plan.simulations == plan.requirement_simulations + 3
    assert plan.agent_hours == 10 and plan.on_duty_hours == 8


def test_plan_that_cannot_be_repaired_within_max_rounds_says_which_interval() -> None:
    scenario = scenario_from_dict(BREAKS_SCENARIO)
    templates = parse_templates(BREAKS_TEMPLATES)
    plan = schedule(scenario, "team", ["service_level >= 100%"], templates, 3600, max_rounds=2)
    assert not plan.meets
    assert [k for k, _ in plan.unmet] == [0]
    assert "after 2 rounds (--max-rounds)" in plan.unmet[0][1]


def test_max_at_once_holds_at_every_instant_not_on_interval_averages() -> None:
    """The unlimited plan has 6 on duty from 0 to 30m (4 on average over hour 0). With at
    most 5 at once, round 3 needs hour 0 covered 4 times with at most 5 on duty at 0-30m:
    2 split, 3 hour at 0h and 1 at 1h (cost 11), which meets the target."""
    data = json.loads(json.dumps(BREAKS_TEMPLATES))
    data["groups"]["team"]["max_at_once"] = 5
    plan = schedule(
        scenario_from_dict(BREAKS_SCENARIO),
        "team",
        ["service_level >= 100%"],
        parse_templates(data),
        3600,
    )
    assert [(r.cost, r.failing) for r in plan.rounds] == [(6, (0,)), (8, (0,)), (11, ())]
    assert {(s.template, s.start, s.count) for s in plan.shifts} == {
        ("split", 0.0, 2),
        ("hour", 0.0, 3),
        ("hour", 3600.0, 1),
    }
    assert plan.steps == [(0.0, 1800.0, 5), (1800.0, 7200.0, 3)]
    assert plan.meets


def test_repair_stopped_by_template_limits_says_which_interval_and_why() -> None:
    """At most one "hour" agent per shift and six "split" agents: hour 0 keeps a single
    agent on duty from 30m, so it fails at costs 6, 8 and 11 (4, 5 and 7 on duty before
    the break); the fourth covering would need 5 agents in hour 0, more than 6 split
    agents (3 on average) and 1 hour agent can bring."""
    data = json.loads(json.dumps(BREAKS_TEMPLATES))
    data["groups"]["team"]["templates"]["hour"]["max_per_shift"] = 1
    data["groups"]["team"]["templates"]["split"]["max_agents"] = 6
    plan = schedule(
        scenario_from_dict(BREAKS_SCENARIO),
        "team",
        ["service_level >= 100%"],
        parse_templates(data),
        3600,
    )
    assert [(r.cost, r.failing) for r in plan.rounds] == [(6, (0,)), (8, (0,)), (11, (0,))]
    assert plan.cost == 11 and not plan.meets
    assert plan.unmet == [
        (
            0,
            "fails with 4 agents on duty; the next covering needs 5 agents but the shifts "
            "covering it can bring at most 4 agents within their limits",
        )
    ]


def test_requirements_above_max_at_once_exit_1_naming_the_interval(tmp_path: Path) -> None:
    data = json.loads(json.dumps(BREAKS_TEMPLATES))
    data["groups"]["team"]["max_at_once"] = 2  # hour 1 needs 3
    with pytest.raises(
        CannotCover, match=r"01:00–02:00 needs 3 agents, more than max_at_once \(2\)"
    ):
        schedule(
            scenario_from_dict(BREAKS_SCENARIO),
            "team",
            ["service_level >= 100%"],
            parse_templates(data),
            3600,
        )
    scenario = write(tmp_path / "breaks.yaml", BREAKS_SCENARIO)
    path = write(tmp_path / "shifts.yaml", data)
    result = runner.invoke(
        app,
        [
            "schedule",
            str(scenario),
            "--group",
            "team",
            "--target",
            "service_level >= 100%",
            "--templates",
            str(path),
            "--quiet",
        ],
    )
    assert result.exit_code == 1
    assert "error: no plan covers the requirements" in result.output


def test_cli_writes_a_plan_scenario_that_run_takes_and_a_chart(tmp_path: Path) -> None:
    scenario = write(tmp_path / "breaks.yaml", BREAKS_SCENARIO)
    templates = write(tmp_path / "shifts.yaml", BREAKS_TEMPLATES)
    plan_path, chart_path = tmp_path / "plan.yaml", tmp_path / "plan.png"
    args = [
        "schedule",
        str(scenario),
        "--group",
        "team",
        "--target",
        "service_level >= 100%",
        "--templates",
        str(templates),
        "--workers",
        "1",
        "-o",
        str(plan_path),
        "--chart",
        str(chart_path),
        "--json",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["cost"] == 10 and payload["first_cost"] == 6 and payload["meets"]
    assert [s["count"] for s in payload["shifts"]] == [2, 4]
    assert payload["simulations"] == payload["requirement_simulations"] + 3
    assert payload["scenario"] == "breaks" and payload["seed"] == 0 and payload["version"]
    written = load_scenario(plan_path)
    shifts = [(s.start, s.end, s.count) for s in written.agents["team"].shifts]
    assert shifts == [(0.0, 1800.0, 6), (1800.0, 3600.0, 2), (3600.0, 7200.0, 4)]
    assert chart_path.read_bytes().startswith(b"\x89PNG")
    # ccsim's own outputs are replaced on a second run; a user's file never is
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    mine = tmp_path / "mine.yaml"
    mine.write_text("name: mine\n", encoding="utf-8")
    refused = runner.invoke(app, [*args[:-5], "-o", str(mine), "--json"])
    assert refused.exit_code == 2
    assert "not a plan scenario written by ccsim" in refused.output
    assert mine.read_text(encoding="utf-8") == "name: mine\n"
    run = runner.invoke(app, ["run", str(plan_path), "--quiet", "--workers", "1", "--json"])
    assert run.exit_code == 0, run.output


def bad_templates_exit(tmp_path: Path, templates: dict[str, Any], *extra: str) -> str:
    scenario = write(tmp_path / "breaks.yaml", BREAKS_SCENARIO)
    path = write(tmp_path / "shifts.yaml", templates)
    out = tmp_path / "plan.yaml"
    result = runner.invoke(
        app,
        [
            "schedule",
            str(scenario),
            "--group",
            "team",
            "--target",
            "service_level >= 80%",
            "--templates",
            str(path),
            "-o",
            str(out),
            *extra,
        ],
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    return result.output


def template(**fields: Any) -> dict[str, Any]:
    spec = {"starts": ["0h"], "length": "2h", **fields}
    return {"groups": {"team": {"templates": {"day": spec}}}}


def test_bad_template_overlapping_breaks_exit_2_with_path(tmp_path: Path) -> None:
    breaks = [{"at": "30m", "length": "30m"}, {"at": "45m", "length": "10m"}]
    output = bad_templates_exit(tmp_path, template(breaks=breaks))
    assert "groups.team.templates.day.breaks.1: overlaps break 0" in output


def test_bad_template_break_outside_the_shift_exit_2_with_path(tmp_path: Path) -> None:
    output = bad_templates_exit(tmp_path, template(breaks=[{"at": "1h45m", "length": "30m"}]))
    assert "groups.team.templates.day.breaks.0: the break (1h45m for 30m) must lie inside" in output


def test_bad_template_shift_longer_than_a_day_exit_2_with_path(tmp_path: Path) -> None:
    output = bad_templates_exit(tmp_path, template(length="25h"))
    assert "groups.team.templates.day.length: a shift lasts at most a day (24h), got 1d1h" in (
        output.replace("25h", "1d1h")
    )


def test_bad_template_shift_longer_than_the_run_exit_2_with_path(tmp_path: Path) -> None:
    output = bad_templates_exit(tmp_path, template(length="3h"))
    assert "groups.team.templates.day.length: the shift (3h) is longer than the run (2h)" in output


def test_bad_template_start_ending_after_the_run_exit_2_with_path(tmp_path: Path) -> None:
    output = bad_templates_exit(tmp_path, template(starts=["0h", "1h"]))
    assert "groups.team.templates.day.starts.1: a shift starting at 1h ends at 3h" in output


def test_bad_template_leaving_an_interval_with_demand_uncovered_exit_2(tmp_path: Path) -> None:
    output = bad_templates_exit(tmp_path, template(length="1h"))
    assert "groups.team.templates: no template puts an agent on duty in 01:00–02:00" in output


def test_bad_template_unknown_group_and_missing_group_exit_2_with_paths(tmp_path: Path) -> None:
    data = {"groups": {"teem": template()["groups"]["team"]}}
    output = bad_templates_exit(tmp_path, data)
    assert "groups.teem: unknown agent group 'teem' (did you mean 'team'?)" in output
    assert "groups: has no templates for agent group 'team'" in output


def test_bad_template_every_problem_in_one_round(tmp_path: Path) -> None:
    data = template(cost=-1, breaks=[{"at": "3h", "length": "1m"}], shape="round")
    output = bad_templates_exit(tmp_path, data)
    assert "groups.team.templates.day.cost: must be at least 0" in output
    assert "groups.team.templates.day.breaks.0:" in output
    assert "groups.team.templates.day.shape: unknown key" in output


def test_clock_time_start_needs_the_scenario_clock() -> None:
    scenario = scenario_from_dict(BREAKS_SCENARIO)
    templates = parse_templates(template(starts=["07:00"]))
    with pytest.raises(TemplateError) as caught:
        shift_options(templates, scenario, "team")
    assert "groups.team.templates.day.starts.0: a clock time (07:00) needs" in str(caught.value)


def test_bad_target_and_interval_exit_2(tmp_path: Path) -> None:
    output = bad_templates_exit(tmp_path, BREAKS_TEMPLATES, "--interval", "1s")
    assert "--interval must be at least" in output
    scenario = write(tmp_path / "breaks.yaml", BREAKS_SCENARIO)
    path = write(tmp_path / "shifts.yaml", BREAKS_TEMPLATES)
    result = runner.invoke(
        app,
        [
            "schedule",
            str(scenario),
            "--group",
            "team",
            "--target",
            "utilization <= 90%",
            "--templates",
            str(path),
        ],
    )
    assert result.exit_code == 2 and "chat metrics" in result.output


def test_retail_support_team_plan_meets_the_target_in_every_interval() -> None:
    scenario = load_scenario(ROOT / "scenarios" / "retail.yaml")
    templates = parse_templates(
        yaml.safe_load((ROOT / "shift_templates" / "retail.yaml").read_text(encoding="utf-8"))
    )
    plan = schedule(scenario, "support_team", ["service_level >= 80%"], templates, 3600)
    assert plan.meets, plan.unmet
    assert all(c.holds and c.estimate.ci_low >= 0.8 for row in plan.intervals for c in row.checks)
    assert plan.cost >= plan.first_cost
    # every shift within the limits of the templates file
    assert max(count for _, _, count in plan.steps) <= 16
    assert sum(s.count for s in plan.shifts if s.template == "short") <= 8


def test_clock_start_gives_clock_labels_and_clock_time_template_starts() -> None:
    """With start 08:00, a template starting at "08:00" is the run's 0h; the plan is the
    same as with durations and its intervals read 08:00-09:00, 09:00-10:00."""
    scenario = scenario_from_dict({**BREAKS_SCENARIO, "start": "08:00"})
    data = json.loads(json.dumps(BREAKS_TEMPLATES))
    team = data["groups"]["team"]["templates"]
    team["split"]["starts"] = ["08:00"]
    team["hour"]["starts"] = ["08:00", "09:00"]
    plan = schedule(scenario, "team", ["service_level >= 100%"], parse_templates(data), 3600)
    assert {(s.template, s.start, s.count) for s in plan.shifts} == {
        ("split", 0.0, 4),
        ("hour", 0.0, 2),
    }
    assert [plan.label(r.start, r.end) for r in plan.intervals] == ["08:00–09:00", "09:00–10:00"]
    payload = plan.to_dict()
    assert [s["start"] for s in payload["shifts"]] == ["08:00", "08:00"]
    assert payload["on_duty"][1] == {"from": "08:30", "to": "09:00", "count": 2}
