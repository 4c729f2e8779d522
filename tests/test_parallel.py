"""Parallel replications: a local process pool gives the same numbers as a serial run,
and progress is drawn on a terminal only."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

import ccsim
from ccsim.api import simulate
from ccsim.cli import app
from ccsim.executors import LocalPool, Progress, Task, open_executor, serial
from ccsim.results import ReplicationMetrics
from ccsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
RETAIL = ROOT / "scenarios" / "retail.yaml"
SHORT = ["duration=2h", "warmup=15m"]


@pytest.fixture(scope="module")
def retail() -> ccsim.Scenario:
    return load_scenario(RETAIL, SHORT)


def _metrics(results: ccsim.Results) -> pd.DataFrame:
    return results.per_replication()


def _table(runs: Sequence[ReplicationMetrics]) -> pd.DataFrame:
    """Replication metrics as a long table, so that NaN compares equal to NaN."""
    rows = [
        (i, scope, name, metric, value)
        for i, run in enumerate(runs)
        for scope, by_name in (
            ("overall", {"": run.overall}),
            ("dir", run.directories),
            ("group", run.groups),
        )
        for name, metrics in by_name.items()
        for metric, value in metrics.items()
    ]
    return pd.DataFrame(rows, columns=["position", "scope", "name", "metric", "value"])


def test_pool_gives_the_serial_numbers_whatever_the_number_of_workers(
    retail: ccsim.Scenario,
) -> None:
    serial_run = simulate(retail, replications=5, seed=11, workers=1)
    for workers in (2, 3):
        pooled = simulate(retail, replications=5, seed=11, workers=workers)
        pd.testing.assert_frame_equal(_metrics(pooled), _metrics(serial_run))
        pd.testing.assert_frame_equal(pooled.summary(), serial_run.summary())
        pd.testing.assert_frame_equal(pooled.chats, serial_run.chats)
        pd.testing.assert_frame_equal(pooled.events, serial_run.events)


def test_replication_depends_only_on_scenario_seed_and_its_number(
    retail: ccsim.Scenario,
) -> None:
    three = simulate(retail, replications=3, seed=5, keep_records=False)
    six = simulate(retail, replications=6, seed=5, keep_records=False, workers=2)
    pd.testing.assert_frame_equal(
        _table(six.replication_metrics[:3]), _table(three.replication_metrics)
    )
    assert not _table(six.replication_metrics[3:4]).equals(_table(three.replication_metrics[:1]))


def test_reused_pool_keeps_scenarios_apart_and_returns_every_position(
    retail: ccsim.Scenario,
) -> None:
    busier = load_scenario(RETAIL, [*SHORT, "agents.sales_team.count=9"])
    tasks = [Task(s, r, 3, False, False) for r in range(3) for s in (retail, busier)]
    expected = [rep.metrics for _, rep in sorted(serial(tasks), key=lambda item: item[0])]
    with LocalPool(2) as pool:
        for _ in range(2):  # the second call finds both scenarios in the workers' cache
            got = [rep.metrics for _, rep in sorted(pool(tasks), key=lambda item: item[0])]
            pd.testing.assert_frame_equal(_table(got), _table(expected))
    assert not _table(expected[:1]).equals(_table(expected[1:2]).assign(position=0))


def test_open_executor_is_serial_for_one_worker_or_one_task() -> None:
    with open_executor(1, 10) as executor:
        assert executor is serial
    with open_executor(4, 1) as executor:
        assert executor is serial
    with open_executor(2, 4) as executor:
        assert isinstance(executor, LocalPool) and executor.workers == 2
    with (
        pytest.raises(ValueError, match="at most one"),
        open_executor(2, 4, executor=serial, scheduler="tcp://x:1"),
    ):
        pass


def test_cli_run_json_is_the_same_with_one_or_two_workers() -> None:
    runner = CliRunner()
    outputs = []
    for workers in ("1", "2"):
        args = ["run", str(RETAIL), "-n", "4", "--workers", workers, "--json"]
        result = runner.invoke(app, [*args, "--set", SHORT[0], "--set", SHORT[1]])
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        data.pop("runtime_s")
        outputs.append(data)
    assert outputs[0] == outputs[1]


CCSIM = Path(sys.executable).with_name("ccsim")
TERMINAL_VARIABLES = ("FORCE_COLOR", "FORCE_TERMINAL", "TTY_COMPATIBLE", "TTY_INTERACTIVE")


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``ccsim ARGS`` in a subprocess whose stdout and stderr are pipes."""
    environment = {k: v for k, v in os.environ.items() if k not in TERMINAL_VARIABLES}
    environment.update(env or {})
    return subprocess.run(
        [str(CCSIM), *args], capture_output=True, text=True, env=environment, check=False
    )


def test_piped_run_prints_no_progress() -> None:
    result = _cli("run", str(RETAIL), "-n", "3", "--workers", "2", "--set", SHORT[0])
    assert result.returncode == 0, result.stderr
    assert "service_level" in result.stdout
    for stream in (result.stdout, result.stderr):
        assert "\x1b[" not in stream and "\r" not in stream
        assert "0:00:" not in stream  # the bar's elapsed and time-left columns
        assert "3/3" not in stream


def test_progress_is_drawn_on_a_terminal_and_quiet_silences_it() -> None:
    env = {"FORCE_COLOR": "1", "COLUMNS": "100"}  # rich then treats the pipe as a terminal
    args = ["run", str(RETAIL), "-n", "3", "--workers", "1", "--set", SHORT[0]]
    shown = _cli(*args, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "3/3" in shown.stderr and "replications" in shown.stderr
    assert "3/3" not in shown.stdout
    quiet = _cli(*args, "--quiet", env=env)
    assert quiet.returncode == 0, quiet.stderr
    assert "3/3" not in quiet.stderr and "replications" not in quiet.stderr


def test_progress_counts_replications_and_is_silent_when_disabled() -> None:
    terminal = io.StringIO()
    console = Console(file=terminal, force_terminal=True, width=100)
    with Progress(4, "retail", console=console) as progress:
        assert progress.active
        for _ in range(4):
            progress()
    assert "4/4" in terminal.getvalue()

    piped = io.StringIO()
    with Progress(4, "retail", console=Console(file=piped, width=100)) as progress:
        assert not progress.active  # not a terminal
        progress()
    with Progress(4, "retail", enabled=False, console=console) as progress:
        assert not progress.active
    assert piped.getvalue() == ""
