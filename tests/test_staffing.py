"""Staffing search: targets, the Erlang start, the simulated smallest head count, shifts."""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ccsim import theory
from ccsim.api import simulate
from ccsim.cli import app
from ccsim.results import Estimate, Summary
from ccsim.scenario import Scenario, scenario_from_dict
from ccsim.staffing import (
    NotReachable,
    StaffingError,
    check_targets,
    erlang_estimate,
    interval_metrics,
    parse_targets,
    smallest_passing,
    staff,
    staff_per_interval,
    with_count,
)

runner = CliRunner()


def markov(**changes: Any) -> dict[str, Any]:
    """M/M/c+M: 120 chats/h, 5 min handling, 5 min patience, one chat per agent."""
    data: dict[str, Any] = {
        "name": "markov",
        "duration": "4h",
        "warmup": "30m",
        "seed": 3,
        "replications": 5,
        "directories": {
            "sales": {
                "arrivals": "120/h",
                "patience": {"dist": "exponential", "mean": "5m"},
                "handle_time": {"dist": "exponential", "mean": "5m"},
                "service_level": "30s",
            }
        },
        "agents": {"team": {"count": 10, "directories": ["sales"], "max_chats": 1}},
    }
    data.update(changes)
    return data


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return scenario_from_dict(markov())


# --------------------------------------------------------------------------- targets


def test_a_target_without_scope_applies_to_each_directory_of_the_group() -> None:
    data = markov()
    data["directories"]["support"] = dict(data["directories"]["sales"])
    data["agents"]["team"]["directories"] = ["sales", "support"]
    data["agents"]["boss"] = {"count": 1, "directories": []}
    scenario = scenario_from_dict(data)
    sl, util, whole, one = parse_targets(
        [
            "service_level >= 80%",
            "utilization <= 0.9",
            "overall.abandon_rate < 0.05",
            "directories.support.wait_p90 <= 1m",
        ],
        scenario,
        "team",
    )
    assert sl.paths == ("directories.sales.service_level", "directories.support.service_level")
    assert sl.expectation.threshold == 0.8
    assert util.paths == ("groups.team.utilization",)
    assert whole.paths == ("abandon_rate",)
    assert one.paths == ("directories.support.wait_p90",) and one.expectation.threshold == 60
    with pytest.raises(StaffingError, match="serves no directory"):
        parse_targets(["service_level >= 0.8"], scenario, "boss")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("service_levle >= 0.8", "did you mean 'service_level'"),
        ("service_level == 0.8", "not =="),
        ("service_level >= 30s", "ratio"),
        ("directories.slaes.wait_p90 <= 30s", "did you mean 'sales'"),
        ("service_level >=", "expected a number"),
        ("__import__('os') >= 1", "unexpected"),
    ],
)
def test_bad_targets_are_refused_with_a_reason(
    scenario: Scenario, target: str, message: str
) -> None:
    with pytest.raises(StaffingError, match=message):
        parse_targets([target], scenario, "team")


def test_an_unknown_group_gets_a_did_you_mean(scenario: Scenario) -> None:
    with pytest.raises(StaffingError, match="did you mean 'team'"):
        parse_targets(["service_level >= 0.8"], scenario, "teem")


def test_a_target_is_met_only_when_its_whole_interval_is_on_the_right_side(
    scenario: Scenario,
) -> None:
    at_least, at_most = parse_targets(["service_level >= 0.8", "wait_p90 <= 60s"], scenario, "team")

    def verdicts(sl: Estimate, wait: Estimate, offered: float = 100.0) -> list[bool]:
        chats = Estimate(offered, offered, offered, 5)
        summary = Summary({}, {"sales": {"service_level": sl, "wait_p90": wait, "offered": chats}})
        return [check.holds for check in check_targets([at_least, at_most], summary)]

    assert verdicts(Estimate(0.85, 0.80, 0.90, 5), Estimate(50, 40, 60, 5)) == [True, True]
    assert verdicts(Estimate(0.85, 0.79, 0.91, 5), Estimate(50, 39, 61, 5)) == [False, False]
    no_interval = Estimate(0.85, math.nan, math.nan, 1)
    assert verdicts(no_interval, Estimate(50, 40, 60, 5)) == [False, True]
    nan = Estimate(math.nan, math.nan, math.nan, 0)
    assert verdicts(nan, nan) == [False, False]
    assert verdicts(nan, nan, offered=0.0) == [True, True]  # no chats at all: nothing failed


# --------------------------------------------------------------------------- Erlang start


def test_erlang_estimate_is_erlang_c_and_a_for_a_markovian_queue() -> None:
    patient = markov()
    del patient["directories"]["sales"]["patience"]
    targets_text = ["service_level >= 0.8"]
    for data, patience_rate in ((patient, None), (markov(), 1 / 300)):
        for max_chats in (1, 3):
            data["agents"]["team"]["max_chats"] = max_chats
            scenario = scenario_from_dict(data)
            targets = parse_targets(targets_text, scenario, "team")
            servers = theory.servers_for_service_level(1 / 30, 1 / 300, 0.8, 30, patience_rate)
            assert erlang_estimate(scenario, "team", targets) == math.ceil(servers / max_chats)
    scenario = scenario_from_dict(markov())
    abandon = parse_targets(["abandon_rate <= 0.02"], scenario, "team")
    servers = theory.servers_for_abandonment(1 / 30, 1 / 300, 1 / 300, 0.02)
    assert erlang_estimate(scenario, "team", abandon) == servers


def test_erlang_estimate_counts_chats_transferred_in() -> None:
    data = markov()
    data["directories"]["support"] = dict(data["directories"]["sales"], arrivals=None)
    data["agents"]["helpers"] = {"count": 5, "directories": ["support"], "max_chats": 1}
    data["transfers"] = [{"from": "sales", "to": {"directory": "support"}, "probability": 0.5}]
    scenario = scenario_from_dict(data)
    targets = parse_targets(["service_level >= 0.8"], scenario, "helpers")
    servers = theory.servers_for_service_level(1 / 60, 1 / 300, 0.8, 30, 1 / 300)
    assert erlang_estimate(scenario, "helpers", targets) == servers


# --------------------------------------------------------------------------- search


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 60), st.integers(0, 60))
def test_search_finds_the_threshold_from_any_start(threshold: int, start: int) -> None:
    tried: list[int] = []

    def meets(count: int) -> bool:
        tried.append(count)
        return count >= threshold

    assert smallest_passing(meets, start, 0, 60) == threshold
    assert len(tried) <= 2 * math.ceil(math.log2(abs(threshold - start) + 2)) + 2
    with pytest.raises(NotReachable):
        smallest_passing(lambda count: count >= 61, start, 0, 60)


def test_staff_finds_the_smallest_count_that_meets_every_target(scenario: Scenario) -> None:
    targets = ["service_level >= 0.8", "abandon_rate <= 5%"]
    result = staff(scenario, "team", targets)
    assert result.simulations == len({e.count for e in result.evaluations})
    assert abs(result.count - result.estimate) <= 2  # the Erlang start is close
    for count, should_meet in ((result.count, True), (result.count - 1, False)):
        # checked again here on plain simulate() results: the whole interval counts
        summary = simulate(with_count(scenario, "team", count), keep_records=False).summary_table
        sl = summary.lookup("directories.sales.service_level")
        abandon = summary.lookup("directories.sales.abandon_rate")
        assert (sl.ci_low >= 0.8 and abandon.ci_high <= 0.05) is should_meet, count
        assert result.evaluation(count) is not None


def test_staff_reports_an_unreachable_target(scenario: Scenario) -> None:
    with pytest.raises(NotReachable) as caught:
        staff(scenario, "team", ["service_level >= 0.8"], max_agents=5)
    assert caught.value.evaluations and caught.value.evaluations[-1].count == 5
    assert not any(e.meets for e in caught.value.evaluations)


# --------------------------------------------------------------------------- per interval


def peaked() -> dict[str, Any]:
    data = markov(duration="3h", warmup=0)
    data["directories"]["sales"]["arrivals"] = {
        "schedule": [
            {"from": "0h", "rate": "40/h"},
            {"from": "1h", "rate": "160/h"},
            {"from": "2h", "rate": "40/h"},
        ]
    }
    return data


def test_per_interval_staffing_follows_the_arrivals_and_every_hour_passes() -> None:
    scenario = scenario_from_dict(peaked())
    result = staff_per_interval(scenario, "team", ["service_level >= 0.8"], 3600)
    counts = [plan.count for plan in result.intervals]
    assert counts[1] > counts[0] and counts[1] > counts[2]
    assert all(plan.meets and plan.checks for plan in result.intervals)
    # the printed shifts are a scenario fragment that reproduces the staffing
    data = peaked()
    data["agents"]["team"].pop("count")
    data["agents"]["team"]["shifts"] = yaml.safe_load(result.yaml())["agents"]["team"]["shifts"]
    again = simulate(scenario_from_dict(data), keep_records=True, record_events=False)
    thresholds = {"sales": 30.0}
    for plan in result.intervals:
        summary = Summary.from_replications(
            [interval_metrics(r, thresholds, plan.start, plan.end) for r in again.records]
        )
        assert summary.lookup("directories.sales.service_level").ci_low >= 0.8


def test_per_interval_staffing_takes_chat_metrics_only(scenario: Scenario) -> None:
    with pytest.raises(StaffingError, match="chat metrics"):
        staff_per_interval(scenario, "team", ["utilization <= 0.9"], 3600)


# --------------------------------------------------------------------------- command line


def _write(tmp_path: Any, data: dict[str, Any]) -> str:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_cli_staff_prints_the_count_and_the_simulations(tmp_path: Any) -> None:
    path = _write(tmp_path, markov())
    result = runner.invoke(
        app, ["staff", path, "--group", "team", "--target", "service_level >= 0.8", "-n", "4"]
    )
    assert result.exit_code == 0, result.output
    assert "agents meet every target with 95% confidence" in result.output
    assert "simulations of 4 replications" in result.output


def test_cli_staff_per_interval_prints_shifts_as_yaml(tmp_path: Any) -> None:
    path = _write(tmp_path, peaked())
    args = ["staff", path, "--group", "team", "--target", "service_level >= 0.8"]
    result = runner.invoke(app, [*args, "--per-interval", "1h", "-n", "3", "--workers", "1"])
    assert result.exit_code == 0, result.output
    fragment = result.stdout[result.stdout.index("agents:") :]
    shifts = yaml.safe_load(fragment)["agents"]["team"]["shifts"]
    assert shifts[0]["from"] == "0h" and shifts[-1]["to"] == "3h"
    assert "simulations of the day" in result.stdout


SALES_80 = ["--target", "service_level >= 0.8"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--group", "teem", *SALES_80], "did you mean 'team'"),
        (["--group", "team", "--target", "servce_level >= 0.8"], "did you mean 'service_level'"),
        (["--group", "team", *SALES_80, "--per-interval", "0h"], "positive"),
        (["--group", "team", *SALES_80, "--per-interval", "x"], "per-interval"),
        (["--group", "team", *SALES_80, "--per-interval", "5h"], "at most the duration"),
    ],
)
def test_cli_staff_bad_input_exits_2(tmp_path: Any, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["staff", _write(tmp_path, markov()), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_staff_unreachable_exits_1(tmp_path: Any) -> None:
    path = _write(tmp_path, markov())
    result = runner.invoke(
        app,
        ["staff", path, "--group", "team", "--target", "service_level >= 0.8",
         "--max-agents", "4", "-n", "2", "--workers", "1"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "not reachable" in result.output
