"""Time of day: the clock start, daily patterns over several days, closing at night, and
YAML's base-60 trap (an unquoted 8:00 is the number 480)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import ccsim
from ccsim.cli import app
from ccsim.scenario import ScenarioError, scenario_from_dict
from ccsim.scenario.clock import clock_at, format_clock, interval_label, parse_clock
from ccsim.scenario.load import parse_yaml

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
DAY = 86400.0

# Open one hour a day, from 08:00, for three days; one agent holding one chat at a time.
DAILY: dict[str, Any] = {
    "name": "daily",
    "start": "08:00",
    "days": 3,
    "directories": {
        "sales": {
            "arrivals": {"times": ["0s", "10m"]},
            "patience": "5m",
            "handle_time": "20m",
            "service_level": "30s",
        }
    },
    "agents": {
        "team": {
            "directories": ["sales"],
            "max_chats": 1,
            "shifts": [{"from": "0h", "to": "1h", "count": 1}],
        }
    },
}


def test_clock_times_parse_format_and_label() -> None:
    assert parse_clock("08:00") == 8 * 3600
    assert parse_clock("8:30:15") == 8 * 3600 + 30 * 60 + 15
    for bad in ("24:00", "8h", "08:60", 480, None, "noon"):
        with pytest.raises(ValueError, match="clock time"):
            parse_clock(bad)
    assert format_clock(8 * 3600 + 30) == "08:00:30"
    assert clock_at(17 * 3600, 8 * 3600, with_day=True) == "day 2 01:00"
    assert interval_label(15.75 * 3600, 16 * 3600, 8 * 3600, with_day=True) == ("day 1 23:45–24:00")


def test_days_repeat_the_daily_arrivals_and_shifts_and_set_the_duration() -> None:
    scenario = scenario_from_dict(DAILY)
    assert scenario.duration == 3 * DAY
    assert scenario.start == 8 * 3600
    run = ccsim.simulate(scenario, replications=1, seed=1)
    chats = run.chats.sort_values("arrival")
    assert chats["arrival"].tolist() == [0, 600, DAY, DAY + 600, 2 * DAY, 2 * DAY + 600]
    # Each day: the first chat is answered at once; the second would wait until 20m,
    # past its patience of 5m, and abandons at 15m.
    assert chats["connect"].tolist()[::2] == [0, DAY, 2 * DAY]
    assert chats["outcome"].astype(str).tolist()[1::2] == ["abandoned"] * 3
    staffed = run.timeseries("1h")["staffed_agents"]["team"]
    assert staffed.index[0] == pd.Timedelta(hours=8)
    on_duty = staffed[staffed > 0].index
    assert list(on_duty) == [pd.Timedelta(hours=8 + 24 * day) for day in range(3)]
    assert list(staffed[staffed > 0]) == pytest.approx([1.0, 1.0, 1.0])


def test_a_chat_waiting_at_closing_waits_overnight_or_abandons() -> None:
    """Documented: closing drops nobody. A chat without patience waits for the next
    morning's shift; one with patience abandons when it runs out, in the night."""
    data = {
        **DAILY,
        "days": 2,
        "directories": {
            # The agent holds the 0s chat until 70m, past the shift's end at 1h.
            "sales": {"arrivals": {"times": ["0s"]}, "handle_time": "70m"},
            "patient": {"arrivals": {"times": ["30m"]}, "handle_time": "1m"},
            "leaving": {"arrivals": {"times": ["50m"]}, "handle_time": "1m", "patience": "2h"},
        },
        "agents": {
            "team": {
                "directories": ["sales", "patient", "leaving"],
                "max_chats": 1,
                "shifts": [{"from": "0h", "to": "1h", "count": 1}],
            }
        },
    }
    chats = ccsim.simulate(scenario_from_dict(data), replications=1, seed=1).chats
    by_directory = chats.set_index(chats["directory"].astype(str))
    first = by_directory.loc[by_directory["arrival"] < DAY]
    assert first.loc["sales", "end"] == 70 * 60  # finished after the shift ended
    assert first.loc["patient", "connect"] == DAY  # the next morning's shift answers it
    assert first.loc["leaving", "end"] == 50 * 60 + 2 * 3600
    assert str(first.loc["leaving", "outcome"]) == "abandoned"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"duration": "8h"}, "duration: days: 3 means a run of 72h"),
        (
            {
                "directories.sales.arrivals": {
                    "schedule": [{"from": 0, "rate": "60/h"}, {"from": "25h", "rate": 0}]
                }
            },
            "directories.sales.arrivals.schedule.1.from: with days",
        ),
        ({"directories.sales.arrivals.times": ["1m", "24h"]}, "directories.sales.arrivals.times"),
        ({"agents.team.shifts.0.to": "26h"}, "agents.team.shifts.0.to: with days"),
        ({"start": "8am"}, "start: expected a clock time"),
        ({"start": 480}, "start: expected a clock time"),
        ({"days": 0}, "days: must be at least 1"),
    ],
)
def test_bad_days_and_start_are_refused_with_their_path(
    change: dict[str, Any], expected: str
) -> None:
    from ccsim.scenario.load import apply_overrides

    data = apply_overrides(DAILY, change)
    with pytest.raises(ScenarioError) as error:
        scenario_from_dict(data)
    assert any(problem.startswith(expected) for problem in error.value.problems), (
        error.value.problems
    )


def test_every_daily_problem_comes_in_one_round() -> None:
    data = {
        **DAILY,
        "duration": "10h",
        "start": "25:00",
        "agents": {
            "team": {"directories": ["sales"], "shifts": [{"from": "20h", "to": "30h", "count": 1}]}
        },
    }
    with pytest.raises(ScenarioError) as error:
        scenario_from_dict(data)
    paths = sorted(problem.split(":")[0] for problem in error.value.problems)
    assert paths == ["agents.team.shifts.0.to", "duration", "start"]


def test_a_saved_daily_scenario_reads_back_the_same() -> None:
    scenario = scenario_from_dict(DAILY)
    dumped = scenario.model_dump(mode="json", by_alias=True)
    assert dumped["start"] == "08:00" and dumped["days"] == 3
    assert scenario_from_dict(dumped) == scenario
    assert scenario.with_changes({"agents.team.shifts.0.count": 2}).days == 3


def test_yaml_base60_values_are_refused_in_durations_and_read_as_clocks_in_start() -> None:
    text = """
name: trap
start: 8:00
duration: 8:00
directories:
  sales:
    arrivals: 60/h
    handle_time: 4:30
    patience: {dist: exponential, mean: 1:30:00}
agents:
  team: {count: 2, directories: [sales], max_chats: 1}
"""
    with pytest.raises(ScenarioError) as error:
        scenario_from_dict(parse_yaml(text))
    problems = error.value.problems
    assert problems[0].startswith("duration: 8:00 is read by YAML 1.1 as the base-60 number 480")
    assert "8h if hours:minutes, 8m if minutes:seconds" in problems[0]
    assert problems[1].startswith("directories.sales.handle_time: 4:30 is read by YAML 1.1")
    assert problems[2].startswith("directories.sales.patience.mean: 1:30:00")
    assert "(1h30m)" not in problems[2] and "1h30m" in problems[2]
    assert len(problems) == 3  # not also "expected a duration, got '8:00'"
    fixed = text.replace("duration: 8:00", "duration: 8h").replace("4:30", "4m30s")
    fixed = fixed.replace("mean: 1:30:00", "mean: 90m")
    assert scenario_from_dict(parse_yaml(fixed)).start == 8 * 3600
    assert parse_yaml("a: '8:00'\nb: 08:00\nc: 8:00")["a"] == "8:00"


def test_cli_reads_start_from_set_and_refuses_base60_durations(tmp_path: Path) -> None:
    daily = ROOT / "scenarios" / "daily.yaml"
    ok = runner.invoke(app, ["validate", str(daily), "--set", "start=9:30"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(app, ["validate", str(daily), "--set", "warmup=1:00"])
    assert bad.exit_code == 2
    assert "warmup: 1:00 is read by YAML 1.1 as the base-60 number 60" in bad.output
    assert "Traceback" not in bad.output


def test_the_daily_example_runs_closed_at_night() -> None:
    scenario = ccsim.load_scenario(ROOT / "scenarios" / "daily.yaml")
    assert (scenario.start, scenario.days, scenario.duration) == (8 * 3600, 5, 5 * DAY)
    run = ccsim.simulate(scenario, replications=1, seed=2)
    arrivals = run.chats["arrival"] % DAY
    assert arrivals.max() < 12 * 3600  # nothing after 20:00
    assert (run.chats["arrival"] // DAY).nunique() == 5
    series = run.timeseries("1h")
    night = series.loc[pd.Timedelta(hours=22) : pd.Timedelta(hours=31, minutes=59)]
    assert (night["staffed_agents"]["shop_team"] == 0).all()
    assert (night["arrivals"] == 0).all().all()


def test_the_queue_chart_reads_in_clock_times_over_the_days() -> None:
    from ccsim.plots import queue_and_staffing

    data = {**DAILY, "warmup": "30m"}
    run = ccsim.simulate(scenario_from_dict(data), replications=1, seed=1)
    fig = queue_and_staffing(run, "1h")
    bottom = fig.axes[1]
    assert bottom.xaxis.get_major_formatter()(32.0, 0) == "day 2 08:00"
    assert bottom.get_xlim() == pytest.approx((8.0, 8.0 + 72.0))
    shaded = [p for p in bottom.patches if type(p).__name__ == "Rectangle"]
    assert any(
        p.get_x() == pytest.approx(8.0) and p.get_width() == pytest.approx(0.5) for p in shaded
    )


def test_capacity_warnings_judge_the_daily_pattern_over_its_one_day() -> None:
    from ccsim.scenario.warnings import scenario_warnings

    data = {
        **DAILY,
        "directories": {
            "sales": {
                "arrivals": {
                    "schedule": [{"from": 0, "rate": "60/h"}, {"from": "12h", "rate": "10/h"}]
                },
                "patience": "5m",
                "handle_time": "4m",
            }
        },
        "agents": {
            "team": {
                "directories": ["sales"],
                "shifts": [
                    {"from": "0h", "to": "12h", "count": 3},
                    {"from": "12h", "to": "24h", "count": 1},
                ],
            }
        },
    }
    # Covered all day, every day: no "nobody on shift from 24h" for the later days.
    assert [w for w in scenario_warnings(scenario_from_dict(data)) if "no agent" in w.message] == []
    data["agents"]["team"]["shifts"][1]["to"] = "20h"
    messages = [w.message for w in scenario_warnings(scenario_from_dict(data))]
    assert any("from 20h to 24h while no agent" in m for m in messages), messages


def test_repeated_instants_index_like_the_whole_list() -> None:
    from bisect import bisect_left

    from ccsim.scenario.schema import RepeatedInstants

    repeated = RepeatedInstants((10.0, 20.0), 3)
    whole = [10.0, 20.0, DAY + 10, DAY + 20, 2 * DAY + 10, 2 * DAY + 20]
    assert list(repeated) == whole and len(repeated) == 6
    assert [repeated[i] for i in range(-6, 6)] == whole + whole
    assert repeated[1:4] == whole[1:4]
    assert bisect_left(repeated, DAY + 15) == 3
    with pytest.raises(IndexError):
        repeated[6]


def test_days_are_bounded_by_the_pieces_and_shifts_they_repeat() -> None:
    data = {
        **DAILY,
        "days": 2000,
        "agents": {
            "team": {
                "directories": ["sales"],
                "shifts": [
                    {"from": "0h", "to": "1h", "count": 1},
                    {"from": "2h", "to": "3h", "count": 1},
                    {"from": "4h", "to": "5h", "count": 1},
                ],
            }
        },
    }
    with pytest.raises(ScenarioError) as error:
        scenario_from_dict(data)
    assert error.value.problems == [
        "agents.team.shifts: 3 shifts a day over 2000 days make 6,000, more than the 5,000 "
        "allowed; use fewer shifts or fewer days"
    ]
