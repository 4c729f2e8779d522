"""The day's busyness factor: one draw per replication from a stream of its own, so that
common random numbers still pair scenarios, visible per replication, exact instants left
as they are, and bad values refused at the door."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ccsim.api import simulate
from ccsim.model import run_replication
from ccsim.model.randomness import busyness_factor, replication_seed, stream
from ccsim.output import load_results, write_results
from ccsim.scenario import ScenarioError, scenario_from_dict
from ccsim.scenario.limits import MAX_BUSYNESS

BUSY = {"dist": "gamma", "mean": 1, "cv": 0.32}


def center(busyness: Any = BUSY, handle: str = "5m", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "duration": "4h",
        "seed": 11,
        "directories": {
            "sales": {"arrivals": "120/h", "handle_time": {"dist": "exponential", "mean": "4m"}},
            "support": {"arrivals": "60/h", "handle_time": {"dist": "exponential", "mean": handle}},
        },
        "agents": {"team": {"directories": ["sales", "support"], "count": 12}},
        **extra,
    }
    if busyness is not None:
        data["busyness"] = busyness
    return data


def arrivals(records: Any) -> list[tuple[int, float]]:
    return sorted(zip(records.chat_directory, records.chat_arrival, strict=True))


def test_busyness_crn_scenarios_differing_in_one_handle_time_get_the_same_factor_and_arrivals() -> (
    None
):
    base = scenario_from_dict(center())
    slower = scenario_from_dict(center(handle="9m"))
    factors = []
    for replication in range(4):
        a = run_replication(base, replication)
        b = run_replication(slower, replication)
        assert a.busyness == b.busyness  # the same day in both
        assert arrivals(a) == arrivals(b)  # the same customers
        factors.append(a.busyness)
    assert len(set(factors)) == 4  # a new day in each replication


def test_busyness_multiplies_every_rate_and_leaves_the_other_streams_alone() -> None:
    plain = scenario_from_dict(center(busyness=None))
    doubled = scenario_from_dict(center(busyness=2))
    a, b = run_replication(plain, 0), run_replication(doubled, 0)
    assert a.busyness is None and b.busyness == 2.0
    # the same Exp(1) draws spent against twice the rate: every instant is halved
    times_a = [t for d, t in arrivals(a) if d == 0]
    times_b = [t for d, t in arrivals(b) if d == 0]
    assert np.allclose(times_b[: len(times_a) // 2], np.asarray(times_a[: len(times_a) // 2]) / 2)
    assert 1.6 < len(b.chat_id) / len(a.chat_id) < 2.4


def test_busyness_of_one_changes_nothing() -> None:
    plain = run_replication(scenario_from_dict(center(busyness=None)), 0)
    one = run_replication(scenario_from_dict(center(busyness=1)), 0)
    assert arrivals(plain) == arrivals(one)
    for column in ("chat_connect", "chat_end"):
        same = np.array_equal(getattr(plain, column), getattr(one, column), equal_nan=True)
        assert same, column


def test_explicit_arrival_times_are_not_scaled() -> None:
    data = center(busyness=3)
    data["directories"]["sales"]["arrivals"] = {"times": [10, 20, 30]}
    records = run_replication(scenario_from_dict(data), 0)
    sales = [t for d, t in arrivals(records) if d == 0]
    assert sales == [10.0, 20.0, 30.0]


def test_the_factor_is_one_draw_of_its_own_stream_and_capped() -> None:
    scenario = scenario_from_dict(center())
    records = run_replication(scenario, 2)
    root = replication_seed(11, 2)
    rng = stream(root, "busyness", "day")
    expected = float(rng.gamma(1 / 0.32**2, 0.32**2, 512)[0])
    assert records.busyness == pytest.approx(expected, rel=1e-12)
    huge = scenario_from_dict(center(busyness={"dist": "uniform", "low": 20, "high": 30}))
    assert busyness_factor(huge.busyness, rng) == MAX_BUSYNESS


def test_the_factor_is_in_the_replications_table_and_the_results_api(tmp_path: Path) -> None:
    results = simulate(scenario_from_dict(center()), replications=3)
    factors = results.busyness
    assert factors is not None and list(factors.index) == [0, 1, 2]
    table = results.per_replication()
    rows = table[table["metric"] == "busyness"]
    assert list(rows["replication"]) == [0, 1, 2]
    assert list(rows["value"]) == list(factors)
    assert "busyness" not in set(results.summary()["metric"])  # a draw, not an outcome
    write_results(results, tmp_path / "out")
    assert list(load_results(tmp_path / "out").busyness) == pytest.approx(list(factors))
    assert simulate(scenario_from_dict(center(busyness=None))).busyness is None


def test_busyness_also_scales_a_run_without_tables() -> None:
    scenario = scenario_from_dict(center())
    full = run_replication(scenario, 1)
    tallies = run_replication(scenario, 1, tables=False)
    assert tallies.busyness == full.busyness
    assert tallies.chat_count == full.chat_count


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"dist": "gamma", "mean": 1}, "busyness.cv"),
        ({"dist": "gama", "mean": 1, "cv": 0.3}, "busyness"),
        (-1, "busyness"),
        ({"dist": "gamma", "mean": 1, "cv": 0.3, "sd": 2}, "busyness.sd"),
    ],
)
def test_bad_busyness_is_refused_with_its_path(value: Any, path: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(center(busyness=value))
    assert any(line.startswith(path) for line in caught.value.problems), caught.value.problems


def test_busyness_that_would_make_too_many_arrivals_is_refused() -> None:
    data = center(busyness=8)
    data["duration"] = "3000d"
    data["directories"]["sales"]["arrivals"] = "400/h"
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(data)
    assert any(line.startswith("busyness: at its mean") for line in caught.value.problems)


def test_a_factor_written_as_a_duration_is_warned_about() -> None:
    from ccsim.scenario.warnings import scenario_warnings

    scenario = scenario_from_dict(center(busyness={"dist": "gamma", "mean": "1h", "cv": 0.3}))
    assert [w.path for w in scenario_warnings(scenario)] == ["busyness"]
    assert not [w for w in scenario_warnings(scenario_from_dict(center())) if w.path == "busyness"]


def test_run_prints_each_replications_factor(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from ccsim.cli import app

    data = center()
    data["duration"] = "30m"
    (tmp_path / "s.yaml").write_text(json.dumps(data))
    result = CliRunner().invoke(app, ["run", str(tmp_path / "s.yaml"), "-n", "2", "--quiet"])
    assert result.exit_code == 0, result.output
    factors = simulate(scenario_from_dict(data), replications=2).busyness
    assert factors is not None
    shown = ", ".join(f"{value:.3g}" for value in factors)
    assert f"per replication: {shown}" in " ".join(result.output.split())
