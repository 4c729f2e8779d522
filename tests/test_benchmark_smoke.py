"""The engine benchmark (benchmarks/engine.py) runs end to end at a tiny size.

Speed is never asserted here (the figures depend on the machine); these tests check that
every case runs the system it claims and that the verdicts follow from the figures.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from ccsim.model import run_replication
from ccsim.scenario import load_scenario

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "engine.py"


def load_engine() -> ModuleType:
    """benchmarks/ is not a package: load the script as a module."""
    spec = importlib.util.spec_from_file_location("benchmark_engine", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_script_runs_every_case_in_json() -> None:
    pytest.importorskip("ciw")
    engine = load_engine()
    sizes = ["--chats", "300", "--big-chats", "600", "--big-agents", "200", "--year-chats", "600"]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *sizes, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    cases = report["cases"]
    assert set(cases) == {"ccsim", "ciw", "simpy", "retail", "million", "big", "year"}
    # ccsim and 'million' run the M/M/c scenario through the model's entry point
    assert cases["ccsim"]["chats"] == run_replication(engine.mmc_scenario(300)).chat_count
    assert cases["million"]["chats"] == run_replication(engine.mmc_scenario(600)).chat_count
    # 'big' the same with more agents; 'year' a year of 500 agents, without tables
    big = engine.mmc_scenario(300, 200)
    assert big.agents["servers"].count == 200
    assert cases["big"]["chats"] == run_replication(big).chat_count
    year = engine.mmc_scenario(600, engine.YEAR_AGENTS, duration=engine.YEAR)
    assert year.duration == 365 * 86_400 and year.agents["servers"].count == 500
    assert cases["year"]["chats"] == run_replication(year, tables=False).chat_count
    retail = load_scenario(engine.RETAIL)
    assert cases["retail"]["chats"] == run_replication(retail).chat_count
    # Ciw and the SimPy loop simulate the same arrival rate over the same time
    for name in ("ciw", "simpy"):
        assert 150 < cases[name]["chats"] < 450, (name, cases[name]["chats"])
    for case in cases.values():
        assert case["seconds"] > 0 and case["peak_rss_mb"] >= case["baseline_rss_mb"] > 0
        assert case["chats_per_second"] == pytest.approx(case["chats"] / case["seconds"])
    checks = report["checks"]
    rates = {name: case["chats_per_second"] for name, case in cases.items()}
    assert checks["ccsim_vs_ciw"]["ratio"] == pytest.approx(rates["ccsim"] / rates["ciw"])
    assert checks["ccsim_vs_simpy"]["ratio"] == pytest.approx(rates["ccsim"] / rates["simpy"])
    cpu_rates = {name: case["chats_per_cpu_second"] for name, case in cases.items()}
    expected = cpu_rates["ccsim"] / cpu_rates["ciw"]
    assert checks["ccsim_vs_ciw"]["cpu_ratio"] == pytest.approx(expected)
    assert checks["million_memory"]["peak_rss_mb"] == cases["million"]["peak_rss_mb"]
    assert checks["big_vs_ccsim"]["ratio"] == pytest.approx(rates["big"] / rates["ccsim"])
    assert checks["big_vs_ccsim"]["cpu_ratio"] == pytest.approx(
        cpu_rates["big"] / cpu_rates["ccsim"]
    )
    assert checks["year_memory"]["peak_rss_mb"] == cases["year"]["peak_rss_mb"]


def test_benchmark_verdicts_compare_figures_with_targets() -> None:
    engine = load_engine()

    def case(rate: float, peak: float = 100.0) -> dict[str, float]:
        return {"chats_per_second": rate, "chats_per_cpu_second": rate, "peak_rss_mb": peak}

    # the targets: at least 2x Ciw and at least 1.0x the minimal SimPy loop
    assert (engine.TARGET_VS_CIW, engine.TARGET_VS_SIMPY) == (2.0, 1.0)
    fast = engine.verdicts(
        {"ccsim": case(200.0), "ciw": case(100.0), "simpy": case(200.0), "million": case(1, 900)}
        | {"big": case(100.0), "year": case(1, 1000)}
    )
    assert fast["ccsim_vs_ciw"]["ok"] and fast["ccsim_vs_simpy"]["ok"]
    assert fast["million_memory"]["ok"] and fast["big_vs_ccsim"]["ok"]
    assert fast["year_memory"]["ok"]
    slow = engine.verdicts(
        {"ccsim": case(199.0), "ciw": case(100.0), "simpy": case(200.5), "million": case(1, 1100)}
        | {"big": case(99.0), "year": case(1, 1030)}
    )
    assert not slow["ccsim_vs_ciw"]["ok"] and not slow["ccsim_vs_simpy"]["ok"]
    assert not slow["million_memory"]["ok"] and not slow["big_vs_ccsim"]["ok"]
    assert not slow["year_memory"]["ok"]
    assert engine.verdicts({"retail": case(10.0)}) == {}


def test_benchmark_rounds_keep_each_cases_fastest() -> None:
    """Interleaved rounds (``--repeat``): the fastest wall time of a case counts, with
    the least CPU time and the largest peak memory of its rounds."""
    engine = load_engine()

    def figure(seconds: float, cpu: float, peak: float) -> dict[str, float]:
        return {
            "chats": 1000,
            "seconds": seconds,
            "chats_per_second": 1000 / seconds,
            "cpu_seconds": cpu,
            "chats_per_cpu_second": 1000 / cpu,
            "peak_rss_mb": peak,
        }

    first, second = figure(2.0, 1.5, 100.0), figure(1.6, 1.7, 90.0)
    assert engine.fastest(None, first) == first
    best = engine.fastest(first, second)
    assert best["seconds"] == 1.6 and best["chats_per_second"] == 1000 / 1.6
    assert best["cpu_seconds"] == 1.5 and best["chats_per_cpu_second"] == 1000 / 1.5
    assert best["peak_rss_mb"] == 100.0
