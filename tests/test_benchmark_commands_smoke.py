"""The whole-command benchmark (benchmarks/commands.py) runs end to end at a tiny size.

Speed is never asserted (the figures depend on the machine); these tests check that each
case runs what it claims, on the engine benchmark's scenario, and that the verdicts
follow from the figures.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPT = BENCHMARKS / "commands.py"


def load(path: Path) -> ModuleType:
    """benchmarks/ is not a package: load a script as a module."""
    spec = importlib.util.spec_from_file_location(f"benchmark_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_scenario_file_is_the_engine_benchmarks_case(tmp_path: Path) -> None:
    from ccsim.scenario import load_scenario

    commands, engine = load(SCRIPT), load(BENCHMARKS / "engine.py")
    path = tmp_path / "mmc.yaml"
    path.write_text(commands.mmc_yaml(200_000))
    ours, theirs = load_scenario(path), engine.mmc_scenario(200_000)
    assert ours.duration == pytest.approx(theirs.duration)
    assert ours.seed == theirs.seed
    assert ours.directories == theirs.directories
    assert ours.agents == theirs.agents


def test_benchmark_script_runs_every_case_in_json() -> None:
    pytest.importorskip("ciw")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--chats", "1500", "--repeat", "1", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report["machine"]) >= {"platform", "cpus", "python", "ccsim", "ciw"}
    cases = report["cases"]
    assert set(cases) == {"startup", "run_out", "tables"}
    assert set(cases["startup"]) == {"ciw_import", "version", "help", "validate"}
    for figure in [*cases["startup"].values(), *cases["run_out"].values()]:
        assert figure["seconds"] == min(figure["runs"]) > 0 and figure["cpu_seconds"] >= 0
    run_out = cases["run_out"]
    # the same queue over the same time: about 1,500 arrivals on each side
    assert 1200 < run_out["ccsim"]["chats"] < 1800 and 1200 < run_out["ciw"]["records"] < 1800
    assert "chats.csv" in run_out["ccsim"]["files"]
    assert "events.csv" not in run_out["ccsim"]["files"]  # the event log only with --events
    csv, parquet = cases["tables"]["csv"]["tables"], cases["tables"]["parquet"]["tables"]
    for name in ("chats", "agents", "events", "transfers"):
        assert csv[f"{name}.csv"]["rows"] == parquet[f"{name}.parquet"]["rows"]
    assert csv["events.csv"]["rows"] > csv["chats.csv"]["rows"] > 0
    checks = report["checks"]
    assert set(checks) == {"startup_version", "startup_help", "startup_validate", "run_out_vs_ciw"}
    startup = cases["startup"]
    help_ratio = startup["help"]["seconds"] / startup["ciw_import"]["seconds"]
    assert checks["startup_help"]["ratio"] == pytest.approx(help_ratio)
    expected = run_out["ciw"]["seconds"] / run_out["ccsim"]["seconds"]
    assert checks["run_out_vs_ciw"]["ratio"] == pytest.approx(expected)


def test_verdicts_compare_figures_with_targets() -> None:
    commands = load(SCRIPT)

    def figure(seconds: float) -> dict[str, float]:
        return {"seconds": seconds, "cpu_seconds": seconds / 2}

    cases = {
        "startup": {
            "ciw_import": figure(0.4),
            "version": figure(0.2),
            "help": figure(0.6),  # exactly 1.5 times: passes
            "validate": figure(0.8),  # twice: fails
        },
        "run_out": {"ciw": figure(8.0), "ccsim": figure(5.0)},  # 1.6 times: fails
    }
    checks = commands.verdicts(cases)
    assert {name: check["ok"] for name, check in checks.items()} == {
        "startup_version": True,
        "startup_help": True,
        "startup_validate": False,
        "run_out_vs_ciw": False,
    }
    assert checks["run_out_vs_ciw"]["ratio"] == pytest.approx(1.6)
    cases["run_out"]["ccsim"] = figure(4.0)
    assert commands.verdicts(cases)["run_out_vs_ciw"]["ok"]
