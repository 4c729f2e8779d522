"""Paired comparison on common random numbers: intervals, pairing rules, partial scenarios,
saved folders, and the ``ccsim compare`` command."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from ccsim.api import Results, simulate
from ccsim.cli import app
from ccsim.compare import compare, paired_interval, run_pair, welch_interval
from ccsim.output import write_results
from ccsim.scenario import Scenario, load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
QA = ROOT / "scenarios" / "qa"
SHORT = ["duration=2h", "warmup=15m"]
runner = CliRunner()


def qa(name: str, overrides: list[str] = SHORT) -> Scenario:
    return load_scenario(QA / f"{name}.yaml", overrides)


@pytest.fixture(scope="module")
def warm_cold() -> tuple[Results, Results]:
    return run_pair(qa("baseline"), qa("candidate_cold"), replications=5)


# --------------------------------------------------------------------------- intervals


def test_paired_interval_is_the_student_t_interval_of_the_differences() -> None:
    rng = np.random.default_rng(1)
    baseline = rng.normal(10, 3, 12)
    candidate = baseline + rng.normal(0.5, 0.4, 12)
    interval, pairs = paired_interval(baseline.tolist(), candidate.tolist())
    d = candidate - baseline
    half = stats.t.ppf(0.975, 11) * d.std(ddof=1) / math.sqrt(12)
    assert pairs == 12
    assert interval.mean == pytest.approx(d.mean())
    assert (interval.ci_low, interval.ci_high) == pytest.approx((d.mean() - half, d.mean() + half))
    assert interval.p_value == pytest.approx(stats.ttest_rel(candidate, baseline).pvalue)


def test_welch_interval_matches_scipy_for_unequal_variances() -> None:
    rng = np.random.default_rng(2)
    baseline, candidate = rng.normal(10, 1, 8), rng.normal(11, 3, 15)
    interval = welch_interval(baseline.tolist(), candidate.tolist())
    reference = stats.ttest_ind(candidate, baseline, equal_var=False)
    low, high = reference.confidence_interval(0.95)
    assert (interval.ci_low, interval.ci_high) == pytest.approx((low, high))
    assert interval.p_value == pytest.approx(reference.pvalue)


def test_pairs_with_an_undefined_value_are_left_out() -> None:
    interval, pairs = paired_interval([1.0, math.nan, 3.0, 4.0], [2.0, 5.0, math.nan, 6.0])
    assert pairs == 2
    assert interval.mean == pytest.approx(1.5)


def test_constant_differences_give_a_zero_width_interval() -> None:
    shifted, _ = paired_interval([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    assert (shifted.ci_low, shifted.ci_high) == (3.0, 3.0) and shifted.significant
    same, _ = paired_interval([3.0, 3.0], [3.0, 3.0 + 4e-16])  # rounding only
    assert same.mean == 0 and not same.significant and same.p_value == 1.0


# --------------------------------------------------------------------------- on the model


def test_r8_common_random_numbers_keep_arrivals_identical_and_isolate_the_handoff_gap(
    warm_cold: tuple[Results, Results],
) -> None:
    comparison = compare(*warm_cold)
    assert comparison.paired and comparison.pairs == 5 and comparison.notes == []
    offered = comparison.lookup("offered").difference
    assert (offered.mean, offered.ci_low, offered.ci_high) == (0.0, 0.0, 0.0)
    assert comparison.lookup("directories.support.offered").difference.width == 0.0
    gap = comparison.lookup("directories.sales.handoff_gap_mean")
    assert gap.baseline.mean == 0.0 and gap.significant and gap.difference.ci_low > 0


def test_paired_intervals_are_narrower_than_independent_ones(
    warm_cold: tuple[Results, Results],
) -> None:
    comparison = compare(*warm_cold)
    ratios = [d.narrowing for d in comparison.differences if not math.isnan(d.narrowing)]
    assert len(ratios) > 20
    assert statistics.median(ratios) > 1.5
    wait = comparison.lookup("directories.sales.wait_mean")
    assert wait.difference.width < wait.independent.width


def test_different_seeds_are_compared_as_independent_runs(
    warm_cold: tuple[Results, Results],
) -> None:
    other = simulate(qa("candidate_cold"), replications=5, seed=99, keep_records=False)
    comparison = compare(warm_cold[0], other)
    assert not comparison.paired and comparison.pairs == 0
    assert "seeds differ (2024 vs 99)" in comparison.notes[0]
    d = comparison.lookup("wait_p90")
    assert (d.difference.ci_low, d.difference.ci_high) == (
        d.independent.ci_low,
        d.independent.ci_high,
    )


def test_unequal_replication_counts_pair_the_common_indices(
    warm_cold: tuple[Results, Results],
) -> None:
    longer = simulate(qa("candidate_cold"), replications=7, seed=2024, keep_records=False)
    comparison = compare(warm_cold[0], longer)
    assert comparison.paired and comparison.pairs == 5
    assert "replications differ (5 vs 7): 5 paired" in comparison.notes[0]
    # the five common replications are the same runs as before: same differences
    again = compare(*warm_cold).lookup("wait_p90").difference.mean
    assert comparison.lookup("wait_p90").difference.mean == pytest.approx(again)


def test_scenarios_with_different_directories_are_compared_on_what_they_share() -> None:
    base = {
        "duration": "2h",
        "warmup": "15m",
        "seed": 5,
        "directories": {
            "sales": {"arrivals": "60/h", "handle_time": {"dist": "exponential", "mean": "5m"}},
            "support": {"arrivals": "30/h", "handle_time": {"dist": "exponential", "mean": "6m"}},
        },
        "agents": {
            "sales_team": {"count": 3, "directories": ["sales"]},
            "support_team": {"count": 2, "directories": ["support"]},
        },
    }
    candidate = json.loads(json.dumps(base))
    del candidate["directories"]["support"], candidate["agents"]["support_team"]
    candidate["directories"]["billing"] = {"arrivals": "20/h", "handle_time": "4m"}
    candidate["agents"]["billing_team"] = {"count": 2, "directories": ["billing"]}
    comparison = compare(
        *run_pair(scenario_from_dict(base), scenario_from_dict(candidate), replications=3)
    )
    paths = {d.path for d in comparison.differences}
    assert "directories.sales.wait_p90" in paths and "groups.sales_team.utilization" in paths
    assert not any("support" in p or "billing" in p for p in paths)
    notes = "\n".join(comparison.notes)
    assert "directories only in the baseline, left out: support" in notes
    assert "directories only in the candidate, left out: billing" in notes
    assert "agent groups only in the baseline, left out: support_team" in notes
    assert "overall metrics cover different sets of directories" in notes
    # sales keeps its own streams: its arrivals are the same in both
    assert comparison.lookup("directories.sales.offered").difference.width == 0.0


def test_saved_folders_compare_like_the_results_they_hold(
    warm_cold: tuple[Results, Results], tmp_path: Path
) -> None:
    write_results(warm_cold[0], tmp_path / "base", tables=False)
    write_results(warm_cold[1], tmp_path / "cold", tables=False)
    from_folders = compare(tmp_path / "base", tmp_path / "cold")
    direct = compare(*warm_cold)
    assert from_folders.paired and from_folders.pairs == direct.pairs
    for path in ("handoff_gap_p95", "directories.sales.wait_p90", "groups.sales_team.utilization"):
        a, b = from_folders.lookup(path).difference, direct.lookup(path).difference
        assert (a.mean, a.ci_low, a.ci_high) == pytest.approx((b.mean, b.ci_low, b.ci_high))


# --------------------------------------------------------------------------- the command


def invoke(*args: str):
    return runner.invoke(app, list(args))


def flat(text: str) -> str:
    """Messages as one line (the console wraps long ones at 80 columns)."""
    return " ".join(text.split())


def short_args() -> list[str]:
    return [arg for item in SHORT for arg in ("--set", item)]


def test_compare_command_prints_every_scope_with_paired_intervals() -> None:
    result = invoke(
        "compare", str(QA / "baseline.yaml"), str(QA / "candidate_cold.yaml"),
        "-n", "3", "--workers", "1", *short_args(),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "paired on 3 replications (seed 2024, common random numbers)" in out
    for header in ("overall", "directory sales", "directory support", "group sales_team"):
        assert any(line.startswith(header) for line in out.splitlines()), header
    gap_line = next(line for line in out.splitlines() if line.strip().startswith("handoff_gap_p95"))
    assert gap_line.rstrip().endswith("  worse")  # significant, and lower is better


def test_compare_json_is_machine_readable_only() -> None:
    result = invoke(
        "compare", str(QA / "baseline.yaml"), str(QA / "candidate_timeout_8s.yaml"),
        "-n", "3", "--workers", "1", "--json", "-m", "wait_p90", *short_args(),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["paired"] is True and data["pairs"] == 3
    assert data["baseline"]["seed"] == data["candidate"]["seed"] == 2024
    paths = [d["path"] for d in data["differences"]]
    assert paths == ["wait_p90", "directories.sales.wait_p90", "directories.support.wait_p90"]
    first = data["differences"][0]
    assert set(first["difference"]) == {
        "mean",
        "ci_low",
        "ci_high",
        "p_value",
        "significant",
        "pairs",
    }
    assert first["independent"]["ci_low"] is not None


def test_compare_reads_saved_folders_and_runs_a_scenario_against_one(
    warm_cold: tuple[Results, Results], tmp_path: Path
) -> None:
    write_results(warm_cold[0], tmp_path / "base", tables=False)
    write_results(warm_cold[1], tmp_path / "cold", tables=False)
    folders = invoke("compare", str(tmp_path / "base"), str(tmp_path / "cold"), "--json")
    assert folders.exit_code == 0, folders.output
    mixed = invoke(
        "compare", str(tmp_path / "base"), str(QA / "candidate_cold.yaml"),
        "--json", "--workers", "1", *short_args(),
    )  # fmt: skip
    assert mixed.exit_code == 0, mixed.output
    a, b = json.loads(folders.stdout), json.loads(mixed.stdout)
    assert b["candidate"]["seed"] == 2024 and b["candidate"]["replications"] == 5
    gap_a = next(d for d in a["differences"] if d["path"] == "handoff_gap_p95")
    gap_b = next(d for d in b["differences"] if d["path"] == "handoff_gap_p95")
    assert gap_a["difference"]["mean"] == pytest.approx(gap_b["difference"]["mean"])
    assert gap_a["difference"]["significant"] and gap_b["difference"]["significant"]


def test_compare_bad_input_exits_2_with_a_readable_message(tmp_path: Path) -> None:
    misspelt = invoke(
        "compare",
        str(QA / "baseline.yaml"),
        str(QA / "candidate_cold.yaml"),
        "-m",
        "handoff_gap_p59",
    )
    assert misspelt.exit_code == 2
    assert "did you mean 'handoff_gap_p95'?" in flat(misspelt.stderr)
    (tmp_path / "empty").mkdir()
    folder = invoke("compare", str(tmp_path / "empty"), str(QA / "baseline.yaml"))
    assert folder.exit_code == 2 and "without summary.json" in flat(folder.stderr)
    missing = invoke("compare", str(QA / "baseline.yaml"), str(QA / "nope.yaml"))
    assert missing.exit_code == 2 and "file not found" in flat(missing.stderr)
