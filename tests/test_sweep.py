"""Sweeps: axes, the grid, common random numbers, a row per finished point, resuming."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ccsim.api import Replication, simulate
from ccsim.cli import app
from ccsim.executors import LocalPool, Task, serial
from ccsim.results import METRICS
from ccsim.scenario import ScenarioError
from ccsim.scenario.load import parse_yaml
from ccsim.sweep import (
    SweepError,
    SweepFile,
    build_points,
    columns_for,
    grid,
    parse_axis,
    run_sweep,
    scenario_digest,
)

ROOT = Path(__file__).resolve().parents[1]
RETAIL = ROOT / "scenarios" / "retail.yaml"
SHORT = ["--set", "duration=1h", "--set", "warmup=10m"]
AXES = ["agents.sales_team.count=10..11", "transfers.0.probability=0.1,0.3"]
runner = CliRunner()


def sweep_cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["sweep", str(RETAIL), "--workers", "1", *args])
    return result.exit_code, result.output


def axes_args(axes: Sequence[str] = AXES) -> list[str]:
    return [part for axis in axes for part in ("--set", axis)]


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


# --------------------------------------------------------------------------- axes


def test_ranges_are_inclusive_with_an_optional_exact_step() -> None:
    assert parse_axis("agents.sales_team.count=10..13").values == (10, 11, 12, 13)
    assert parse_axis("x=10..18..4").values == (10, 14, 18)
    assert parse_axis("x=0.1..0.3..0.1").values == (0.1, 0.2, 0.3)  # no 0.30000000000000004
    assert parse_axis("x=5..5").values == (5,)


def test_lists_are_yaml_typed_and_flow_values_are_not_split() -> None:
    assert parse_axis("transfers.0.probability=0.1, 0.2,0.3").values == (0.1, 0.2, 0.3)
    assert parse_axis("directories.sales.arrivals=180/h,240/h").values == ("180/h", "240/h")
    assert parse_axis("directories.sales.routing=least_busy").values == ("least_busy",)
    assert parse_axis("agents.a.directories=[sales,support]").values == (["sales", "support"],)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x=18..10", "empty range, 10 is below 18"),
        ("x=1..5..0", "step must be positive"),
        ("x=1..5..-1", "step must be positive"),
        ("x=1h..2h", "plain numbers"),
        ("x10..18", "write path=values"),
        ("=1..2", "path before '=' is empty"),
        ("x=", "no value"),
        ("x=1,,2", "empty item"),
    ],
)
def test_bad_axes_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(SweepError, match=message):
        parse_axis(text)


def test_grid_is_every_combination_first_axis_slowest() -> None:
    points = grid([parse_axis("a=1..2"), parse_axis("b=x,y,z")])
    assert points == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 1, "b": "z"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
        {"a": 2, "b": "z"},
    ]
    with pytest.raises(SweepError, match="more than once"):
        grid([parse_axis("a=1..2"), parse_axis("a=3")])


def test_invalid_points_are_all_reported_with_their_values() -> None:
    data = parse_yaml(RETAIL.read_text())
    with pytest.raises(ScenarioError) as caught:
        build_points(data, [parse_axis("agents.sales_team.count=-1..1")])
    problems = "\n".join(caught.value.problems)
    assert "agents.sales_team.count" in problems
    assert "agents.sales_team.count=-1" in problems  # the failing point is named
    assert "=0" not in problems and "=1)" not in problems


# --------------------------------------------------------------------------- running


def _points(axes: Sequence[str] = AXES) -> tuple[list, str]:
    data = parse_yaml(RETAIL.read_text())
    data.update(duration="1h", warmup="10m")
    return build_points(data, [parse_axis(a) for a in axes], RETAIL.parent), scenario_digest(data)


def test_every_point_has_the_numbers_of_its_own_run_with_the_same_seed() -> None:
    points, _ = _points()
    result = run_sweep(points, 3, seed=4)
    assert len(result.points) == 4
    for point, got in zip(points, result.points, strict=True):
        alone = simulate(point.scenario, 3, 4, keep_records=False).summary_table.overall
        assert got.values == point.values
        for metric in METRICS:
            if metric not in alone:  # of a feature the scenario does not use
                continue
            assert repr(got.estimates[metric]) == repr(alone[metric]), metric
    # common random numbers: staffing and transfers do not change who arrives
    offered = {p.estimates["offered"].mean for p in result.points}
    assert len(offered) == 1


def test_pool_sweep_gives_the_serial_rows(tmp_path: Path) -> None:
    points, digest = _points()
    rows = []
    for name, executor in (("serial", serial), ("pool", None)):
        path = tmp_path / f"{name}.csv"
        sweep_file = SweepFile(path, columns_for([parse_axis(a) for a in AXES]), digest)
        if executor is None:
            with LocalPool(2) as pool:
                run_sweep(points, 3, 4, digest=digest, out=sweep_file, executor=pool)
        else:
            run_sweep(points, 3, 4, digest=digest, out=sweep_file, executor=executor)
        rows.append(sorted(read_rows(path), key=lambda r: list(r.values())[:2]))
    assert rows[0] == rows[1]


def test_cli_sweep_writes_a_row_per_point_with_every_metric_and_interval(tmp_path: Path) -> None:
    out = tmp_path / "sweep.csv"
    code, output = sweep_cli(*axes_args(), *SHORT, "-n", "3", "--out", str(out))
    assert code == 0, output
    rows = read_rows(out)
    assert len(rows) == 4  # two axes of two values; duration and warmup have one each
    header = list(rows[0])
    assert header[:4] == [*(a.split("=")[0] for a in AXES), "duration", "warmup"]
    for metric in METRICS:
        assert {metric, f"{metric}_ci_low", f"{metric}_ci_high"} <= set(header)
    assert {r["agents.sales_team.count"] for r in rows} == {"10", "11"}
    assert {r["transfers.0.probability"] for r in rows} == {"0.1", "0.3"}
    assert all(r["seed"] == "7" and r["replications"] == "3" for r in rows)
    for row in rows:
        assert float(row["service_level_ci_low"]) <= float(row["service_level"])
        assert float(row["service_level"]) <= float(row["service_level_ci_high"])
    # every directory's and group's key metrics too, with the confidence level
    for name in ("sales", "support"):
        assert f"directories.{name}.service_level_ci_low" in header
        assert f"directories.{name}.wait_p90" in header
    assert "groups.support_team.utilization" in header
    assert all(r["confidence"] == "0.95" for r in rows)
    assert "4 points run" in output
    # on screen, the service level overall and per directory, headers one word a line
    header_line = next(line for line in output.splitlines() if "overall" in line)
    assert "overall sales support overall overall" in " ".join(header_line.split())


def test_rerunning_resumes_and_a_longer_grid_runs_only_new_points(tmp_path: Path) -> None:
    out = tmp_path / "sweep.csv"
    code, output = sweep_cli(*axes_args(), *SHORT, "-n", "2", "--out", str(out))
    assert code == 0, output
    before = out.read_bytes()
    code, output = sweep_cli(*axes_args(), *SHORT, "-n", "2", "--out", str(out))
    assert code == 0, output
    assert "0 points run, 4 resumed" in output
    assert out.read_bytes() == before
    longer = ["agents.sales_team.count=10..12", AXES[1]]
    code, output = sweep_cli(*axes_args(longer), *SHORT, "-n", "2", "--out", str(out))
    assert code == 0, output
    assert "2 points run, 4 resumed" in output
    assert out.read_bytes().startswith(before)
    assert len(read_rows(out)) == 6
    # another replication count is another run of the same points
    code, output = sweep_cli(*axes_args(), *SHORT, "-n", "3", "--out", str(out))
    assert code == 0 and "4 points run, 0 resumed" in output


def test_resuming_refuses_another_scenario_or_other_axes(tmp_path: Path) -> None:
    out = tmp_path / "sweep.csv"
    assert sweep_cli(*axes_args(), *SHORT, "-n", "2", "--out", str(out))[0] == 0
    other = tmp_path / "other.yaml"
    other.write_text(RETAIL.read_text().replace("name: retail", "name: retail2"))
    result = runner.invoke(
        app, ["sweep", str(other), *axes_args(), *SHORT, "-n", "2", "--out", str(out)]
    )
    assert result.exit_code == 2
    assert "different scenario" in result.output
    code, output = sweep_cli(*axes_args(AXES[:1]), *SHORT, "-n", "2", "--out", str(out))
    assert code == 2 and "another sweep" in output


class _Interrupting:
    """Runs tasks serially and raises KeyboardInterrupt after ``after`` replications."""

    def __init__(self, after: int) -> None:
        self.after = after

    def __call__(self, tasks: Sequence[Task]) -> Iterator[tuple[int, Replication]]:
        for done, item in enumerate(serial(tasks)):
            if done == self.after:
                raise KeyboardInterrupt
            yield item


def test_an_interrupt_keeps_every_finished_point_and_the_rerun_completes(tmp_path: Path) -> None:
    points, digest = _points()
    columns = columns_for([parse_axis(a) for a in AXES])
    path = tmp_path / "sweep.csv"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(
            points, 2, 4, digest=digest, out=SweepFile(path, columns, digest),
            executor=_Interrupting(after=5),
        )  # fmt: skip
    assert len(read_rows(path)) == 2  # points 1 and 2 finished; point 3 had one of two
    resumed = run_sweep(points, 2, 4, digest=digest, out=SweepFile(path, columns, digest))
    assert resumed.ran == 2
    whole = tmp_path / "whole.csv"
    run_sweep(points, 2, 4, digest=digest, out=SweepFile(whole, columns, digest))
    assert path.read_text() == whole.read_text()


def test_a_torn_last_line_is_dropped_and_its_point_run_again(tmp_path: Path) -> None:
    points, digest = _points()
    columns = columns_for([parse_axis(a) for a in AXES])
    path = tmp_path / "sweep.csv"
    run_sweep(points[:2], 2, 4, digest=digest, out=SweepFile(path, columns, digest))
    whole = path.read_text()
    path.write_text(whole[: whole.rindex("\n", 0, -1) + 25])  # half of the second row
    result = run_sweep(points[:2], 2, 4, digest=digest, out=SweepFile(path, columns, digest))
    assert result.ran == 1
    assert path.read_text() == whole


def test_cli_bad_sweeps_exit_2_with_a_message(tmp_path: Path) -> None:
    code, output = sweep_cli("--set", "agents.sales_team.count=18..10")
    assert code == 2 and "empty range" in output
    code, output = sweep_cli("--set", "agents.sales_team.cuont=1..2", *SHORT)
    assert code == 2 and "did you mean 'count'" in output
    code, output = sweep_cli(*axes_args(), "--metric", "service_levle")
    assert code == 2 and "did you mean 'service_level'" in output
    code, output = sweep_cli(*axes_args(), *SHORT, "--metric", "directories.sale.wait_p90")
    assert code == 2 and "did you mean 'sales'" in " ".join(output.split())
    code, output = sweep_cli("--set", "agents.sales_team.count=-2..-1")
    assert code == 2 and "agents.sales_team.count=-2" in output
    result = runner.invoke(app, ["sweep", str(tmp_path / "missing.yaml"), "--set", "x=1"])
    assert result.exit_code == 2 and "file not found" in result.output
    assert "Traceback" not in output
