"""Issue 11: answers a planner can trust, and the comfort around them.

- Any metric anywhere: ``sweep --metric``, the sweep CSV and ``report --metric/--target``
  take every path ``check`` takes; a sweep records each directory's and group's key
  metrics; ``report --target`` reads ``METRIC OP VALUE``. On a shared group the overall
  service level can pass a target that one directory misses: the answers show it.
- ``compare`` gives a verdict per metric (better, worse, no significant difference) by
  the one list of directions, and ``--fail-on-regression`` is a CI gate (exit 1/0/2).
- ``ccsim -h``, readable help, one ``--confidence``, ``print(results)``, and ``ccsim run``
  showing thresholds and checking the scenario's ``expect:``.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from ccsim.cli import app
from ccsim.compare import (
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    NO_DIRECTION,
    UnrelatedError,
    compare,
    default_direction,
    parse_directions,
    parse_tolerance,
    parse_tolerances,
    run_pair,
)
from ccsim.confidence import CONFIDENCE_HELP, summary_at
from ccsim.expect import ExpectationError, parse_metric_path
from ccsim.results import METRICS
from ccsim.scenario import load_scenario, scenario_from_dict
from ccsim.sweep import (
    DIRECTORY_KEY_METRICS,
    GROUP_KEY_METRICS,
    SweepError,
    SweepFile,
    build_points,
    columns_for,
    metric_paths,
    parse_axis,
    run_sweep,
    scenario_digest,
)
from ccsim.testing import HIGHER_IS_WORSE, LOWER_IS_WORSE

ROOT = Path(__file__).resolve().parents[1]
QA = ROOT / "scenarios" / "qa"
SHARED = ROOT / "scenarios" / "shared_fraud.yaml"
BASELINE, COLD = str(QA / "baseline.yaml"), str(QA / "candidate_cold.yaml")
QA_SHORT = ["--set", "duration=2h", "--set", "warmup=15m", "-n", "4", "--workers", "1"]
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def flat(text: str) -> str:
    """Messages as one line (the console wraps long ones at 80 columns)."""
    return " ".join(text.split())


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


# --------------------------------------------------------------------------- 1: any metric


def test_metric_paths_are_read_as_check_reads_them() -> None:
    assert parse_metric_path("service_level") == "service_level"
    assert parse_metric_path("overall.wait_p90") == "wait_p90"
    assert parse_metric_path(" directories.fraud.queued_service_level ") == (
        "directories.fraud.queued_service_level"
    )
    assert parse_metric_path("groups.a.utilization", ["x"], ["a"]) == "groups.a.utilization"
    for text, message in [
        ("servce_level", "did you mean 'service_level'"),
        ("directory.x.wait_p90", "did you mean 'directories'"),
        ("directories.x.utilization", "is an agent metric"),
        ("wait_p90 <= 30s", "not a metric path"),
    ]:
        with pytest.raises(ExpectationError, match=message):
            parse_metric_path(text)
    with pytest.raises(ExpectationError, match="did you mean 'fraud'"):
        parse_metric_path("directories.frud.service_level", ["fraud", "support"], ["team"])


def test_a_sweep_records_every_directory_and_group_key_metric() -> None:
    scenario = load_scenario(SHARED)
    paths = metric_paths(scenario, extra=["directories.fraud.wait_p95", "service_level"])
    assert paths[: len(METRICS)] == list(METRICS)
    for directory in ("support", "fraud"):
        for metric in DIRECTORY_KEY_METRICS:
            assert f"directories.{directory}.{metric}" in paths
    for group in ("support_team", "generalists"):
        for metric in GROUP_KEY_METRICS:
            assert f"groups.{group}.{metric}" in paths
    assert paths[-1] == "directories.fraud.wait_p95" and paths.count("service_level") == 1


def test_sweep_estimates_per_directory_match_a_run_of_the_point() -> None:
    from ccsim.api import simulate
    from ccsim.scenario.load import parse_yaml

    data = parse_yaml(SHARED.read_text())
    data.update(duration="2h", warmup="15m")
    points = build_points(data, [parse_axis("agents.support_team.count=9,10")], SHARED.parent)
    result = run_sweep(points, 3, seed=5)
    alone = simulate(points[1].scenario, 3, 5, keep_records=False).summary_table
    got = result.points[1].estimates
    for path in ("directories.fraud.service_level", "groups.generalists.utilization", "offered"):
        assert repr(got[path]) == repr(alone.lookup(path)), path


def test_acceptance_a_shared_group_sweep_shows_the_directory_that_misses(
    tmp_path: Path,
) -> None:
    """Overall passes 80% at 10 support agents; the fraud queue, answered only by the
    shared generalists, does not: the screen, the CSV and the report all say so."""
    out = tmp_path / "sweep.csv"
    result = invoke(
        "sweep", str(SHARED), "--set", "agents.support_team.count=9,10",
        "--set", "duration=4h", "-n", "4", "--workers", "1", "--quiet", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "fraud" in result.stdout and "support" in result.stdout  # per-directory columns
    rows = {r["agents.support_team.count"]: r for r in read_rows(out)}
    ten = rows["10"]
    assert float(ten["service_level"]) >= 0.8  # overall passes ...
    assert float(ten["directories.fraud.service_level"]) < 0.8  # ... fraud does not
    assert ten["confidence"] == "0.95"

    page = tmp_path / "sweep.html"
    report = invoke(
        "report", str(out),
        "--target", "directories.fraud.service_level >= 80%",
        "--target", "service_level >= 80%",
    )  # fmt: skip
    assert report.exit_code == 0, report.output
    said = flat(report.stdout)
    assert "MISS directories.fraud.service_level >= 80%: met at no point" in said
    assert "service_level >= 80%: met at 1 of 2 points (agents.support_team.count = 10)" in said
    html = page.read_text()
    assert "misses directories.fraud.service_level &gt;= 80%" in html
    assert 'id="directories.fraud.service_level"' in html  # its curve, with the target line


def test_sweep_metric_paths_on_screen_and_in_the_csv(tmp_path: Path) -> None:
    out = tmp_path / "sweep.csv"
    result = invoke(
        "sweep", str(SHARED), "--set", "agents.support_team.count=9", "--set", "duration=2h",
        "-n", "2", "--workers", "1", "--quiet", "--out", str(out),
        "-m", "directories.fraud.wait_p95", "-m", "groups.generalists.occupancy",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    header = list(read_rows(out)[0])
    assert "directories.fraud.wait_p95_ci_high" in header  # asked for: recorded too
    assert "groups.generalists.occupancy" in header
    assert "generalists" in result.stdout and "p95" in result.stdout
    # resuming with other metric columns is refused with a reason
    again = invoke(
        "sweep", str(SHARED), "--set", "agents.support_team.count=9", "--set", "duration=2h",
        "-n", "2", "--workers", "1", "--quiet", "--out", str(out),
    )  # fmt: skip
    assert again.exit_code == 2
    assert "other metric columns" in flat(again.output)


def test_a_sweep_file_keeps_one_confidence_level(tmp_path: Path) -> None:
    from ccsim.scenario.load import parse_yaml

    data = parse_yaml(SHARED.read_text())
    data.update(duration="1h", warmup="10m")
    axes = [parse_axis("agents.support_team.count=9")]
    points = build_points(data, axes, SHARED.parent)
    digest = scenario_digest(data)
    paths = metric_paths(points[0].scenario)
    path = tmp_path / "sweep.csv"
    wide = run_sweep(
        points, 4, 3, digest=digest, out=SweepFile(path, columns_for(axes, paths), digest)
    )
    narrow = run_sweep(points, 4, 3, confidence=0.5, metrics=paths)
    a, b = wide.points[0].estimates["service_level"], narrow.points[0].estimates["service_level"]
    assert a.mean == b.mean and b.ci_high - b.ci_low < a.ci_high - a.ci_low
    with pytest.raises(SweepError, match=r"confidence 0\.95, this sweep asks for 0\.5"):
        run_sweep(
            points, 4, 3, digest=digest, confidence=0.5,
            out=SweepFile(path, columns_for(axes, paths), digest, 0.5),
        )  # fmt: skip
    # a report of the file cannot recompute its intervals at another level
    report = invoke("report", str(path), "--confidence", "0.9")
    assert report.exit_code == 2 and "holds 95% intervals" in flat(report.output)


def test_a_sweep_file_of_an_earlier_ccsim_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "old.csv"
    path.write_text(
        "agents.support_team.count,seed,replications,scenario_sha,"
        "service_level,service_level_ci_low,service_level_ci_high\n"
        "9,11,2,abc,0.8,0.7,0.9\n"
    )
    axes = [parse_axis("agents.support_team.count=9")]
    sweep_file = SweepFile(path, columns_for(axes, ["service_level"]), "abc")
    with pytest.raises(SweepError, match="written by an earlier ccsim"):
        sweep_file.load()
    report = invoke("report", str(path), "--target", "service_level >= 85%")
    assert report.exit_code == 0, report.output  # still readable
    assert "MISS service_level >= 85%: met at no point" in flat(report.stdout)


# --------------------------------------------------------------------------- 3: verdicts


def test_one_list_of_directions_for_compare_and_the_pytest_helpers() -> None:
    assert HIGHER_IS_WORSE is LOWER_IS_BETTER and LOWER_IS_WORSE is HIGHER_IS_BETTER
    assert not LOWER_IS_BETTER & HIGHER_IS_BETTER
    assert set(METRICS) == LOWER_IS_BETTER | HIGHER_IS_BETTER | set(NO_DIRECTION)
    assert default_direction("service_level") == "higher"
    assert default_direction("handoff_gap_p95") == "lower"
    assert default_direction("utilization") is None and default_direction("offered") is None


def test_tolerances_and_directions_are_read_with_their_units() -> None:
    assert parse_tolerance("1pp", "service_level").absolute == pytest.approx(0.01)
    assert parse_tolerance("5%", "wait_mean").relative == pytest.approx(0.05)
    assert parse_tolerance("5%", "wait_mean").amount(20.0) == pytest.approx(1.0)
    assert parse_tolerance("2s", "wait_p90").absolute == 2.0
    assert parse_tolerance("1m", "wait_p90").absolute == 60.0
    assert parse_tolerance("0.02", "abandon_rate").absolute == 0.02
    for text, metric, message in [
        ("1%", "service_level", "ambiguous for a ratio; write 1pp"),
        ("1pp", "wait_mean", "applies to ratios"),
        ("-2s", "wait_mean", "not be negative|not negative"),
        ("2s", "service_level", "takes no time unit"),
    ]:
        with pytest.raises(ExpectationError, match=message):
            parse_tolerance(text, metric)
    tolerances = parse_tolerances(["service_level=1pp", "directories.sales.wait_p90=5s"])
    assert set(tolerances) == {"service_level", "directories.sales.wait_p90"}
    assert parse_directions(["utilization=lower", "groups.a.occupancy=Higher"]) == {
        "utilization": "lower",
        "groups.a.occupancy": "higher",
    }
    with pytest.raises(ExpectationError, match="higher or lower"):
        parse_directions(["utilization=worse"])
    with pytest.raises(ExpectationError, match="write METRIC=VALUE"):
        parse_tolerances(["service_level"])


@pytest.fixture(scope="module")
def warm_cold():
    overrides = ["duration=2h", "warmup=15m"]
    return run_pair(
        load_scenario(QA / "baseline.yaml", overrides),
        load_scenario(QA / "candidate_cold.yaml", overrides),
        replications=4,
    )


def test_verdicts_follow_the_better_side_and_the_tolerance(warm_cold) -> None:
    comparison = compare(*warm_cold)
    by_path = {j.difference.path: j for j in comparison.judgements()}
    gap = by_path["handoff_gap_p95"]
    assert gap.verdict == "worse" and gap.regression and gap.direction == "lower"
    assert by_path["offered"].verdict == "no significant difference"  # same arrivals
    sales_util = by_path["groups.sales_team.utilization"]
    assert sales_util.verdict in ("lower", "higher") and not sales_util.regression
    # a direction makes it judged; a tolerance above the worsening forgives it
    judged = {
        j.difference.path: j
        for j in comparison.judgements(
            {"utilization": "higher"}, parse_tolerances(["handoff_gap_p95=10m"])
        )
    }
    assert judged["groups.sales_team.utilization"].verdict in ("better", "worse")
    assert judged["handoff_gap_p95"].verdict == "worse"
    assert not judged["handoff_gap_p95"].regression
    assert not judged["directories.sales.handoff_gap_p95"].regression  # a metric: every scope
    # a path's own tolerance wins over its metric's
    own = parse_tolerances(["handoff_gap_p95=10m", "directories.sales.handoff_gap_p95=1s"])
    strict = {j.difference.path: j for j in comparison.judgements(tolerances=own)}
    assert strict["directories.sales.handoff_gap_p95"].regression
    assert not strict["handoff_gap_p95"].regression


def test_acceptance_fail_on_regression_exits_1_on_the_cold_candidate() -> None:
    result = invoke("compare", BASELINE, COLD, *QA_SHORT, "--fail-on-regression")
    assert result.exit_code == 1, result.output
    out = result.stdout
    gap_line = next(line for line in out.splitlines() if line.strip().startswith("handoff_gap_p95"))
    assert gap_line.rstrip().endswith("worse")
    assert "FAIL: " in out and "regression(s)" in out
    assert any(line.strip().startswith("handoff_gap_p95: 0.0s -> ") for line in out.splitlines())
    # the same comparison without the gate exits 0
    plain = invoke("compare", BASELINE, COLD, *QA_SHORT, "-m", "handoff_gap_p95")
    assert plain.exit_code == 0, plain.output
    assert "FAIL" not in plain.stdout


def test_acceptance_fail_on_regression_exits_0_on_a_neutral_candidate(tmp_path: Path) -> None:
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(
        (QA / "baseline.yaml")
        .read_text()
        .replace("name: qa_baseline", "name: qa_renamed")
        .replace("description: >", "description: >\n  Only the name and this line differ.")
    )
    result = invoke("compare", BASELINE, str(renamed), *QA_SHORT, "--fail-on-regression")
    assert result.exit_code == 0, result.output
    assert "PASS: no metric significantly worse beyond its tolerance" in result.stdout
    counts = next(line for line in result.stdout.splitlines() if "metrics at the 95%" in line)
    assert counts.endswith("no significant difference")
    assert "better" not in counts and "worse" not in counts


def test_tolerances_let_a_known_worsening_pass_the_gate() -> None:
    result = invoke(
        "compare", BASELINE, COLD, *QA_SHORT, "--fail-on-regression",
        "-m", "handoff_gap_p95", "--tolerance", "handoff_gap_p95=10m",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "worse, within tolerance" in result.stdout


def test_compare_json_carries_verdicts_and_regressions() -> None:
    result = invoke(
        "compare", BASELINE, COLD, *QA_SHORT, "--json", "--fail-on-regression",
        "-m", "handoff_gap_p95", "-m", "directories.support.wait_p90",
        "--direction", "directories.support.wait_p90=lower",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    paths = [d["path"] for d in data["differences"]]
    assert paths == [
        "handoff_gap_p95",
        "directories.sales.handoff_gap_p95",
        "directories.support.wait_p90",
        "directories.support.handoff_gap_p95",
    ]
    first = data["differences"][0]["verdict"]
    assert first["verdict"] == "worse" and first["regression"] and first["direction"] == "lower"
    assert data["regressions"] == ["handoff_gap_p95", "directories.sales.handoff_gap_p95"]
    assert data["confidence"] == 0.95


def test_compare_confidence_widens_the_intervals() -> None:
    args = ["compare", BASELINE, COLD, *QA_SHORT, "--json", "-m", "wait_mean"]
    usual = json.loads(invoke(*args).stdout)["differences"][0]["difference"]
    wide = json.loads(invoke(*args, "--confidence", "0.999").stdout)["differences"][0]
    assert wide["difference"]["ci_high"] - wide["difference"]["ci_low"] > (
        usual["ci_high"] - usual["ci_low"]
    )


def _center(directory: str, group: str) -> dict:
    return {
        "duration": "1h",
        "warmup": "10m",
        "seed": 3,
        "directories": {directory: {"arrivals": "30/h", "handle_time": "4m"}},
        "agents": {group: {"count": 2, "directories": [directory]}},
    }


def test_unrelated_scenarios_are_refused_unless_asked_for(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(json.dumps(_center("sales", "sales_team")))
    b.write_text(json.dumps(_center("billing", "billing_team")))
    refused = invoke("compare", str(a), str(b), "-n", "2", "--workers", "1")
    assert refused.exit_code == 2
    message = flat(refused.stderr)
    assert "share no directory and no agent group" in message and "--allow-unrelated" in message
    allowed = invoke("compare", str(a), str(b), "-n", "2", "--workers", "1", "--allow-unrelated")
    assert allowed.exit_code == 0, allowed.output
    assert "note: the two share no directory" in allowed.stdout
    with pytest.raises(UnrelatedError):
        compare(
            *run_pair(
                scenario_from_dict(_center("sales", "sales_team")),
                scenario_from_dict(_center("billing", "billing_team")),
                replications=2,
            )
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tolerance", "service_level=1%"], "ambiguous for a ratio"),
        (["--tolerance", "wait_p90"], "write METRIC=VALUE"),
        (["--direction", "utilization=up"], "higher or lower"),
        (["--direction", "groups.sales_tem.utilization=lower"], "did you mean 'sales_team'"),
        (["-m", "directories.suport.wait_p90"], "did you mean 'support'"),
        (["--confidence", "1.2"], "between 0 and 1"),
    ],
)
def test_compare_bad_settings_exit_2(args: list[str], message: str) -> None:
    result = invoke("compare", BASELINE, COLD, "-n", "2", "--workers", "1", *args)
    assert result.exit_code == 2
    assert message in flat(result.output)


# --------------------------------------------------------------------------- comfort


def test_dash_h_is_help_for_the_app_and_every_command() -> None:
    top = invoke("-h")
    assert top.exit_code == 0 and "Commands" in top.stdout and "sweep" in top.stdout
    for command in ("run", "compare", "check", "report", "staff", "sweep", "theory"):
        result = invoke(command, "-h")
        assert result.exit_code == 0, (command, result.output)
        assert "Usage: " in result.stdout


@pytest.mark.parametrize(
    "command", [None, "validate", "run", "compare", "check", "report", "staff", "sweep", "theory"]
)
def test_help_shows_value_names_not_python_type_tags(command: str | None) -> None:
    result = runner.invoke(
        app, [command, "--help"] if command else ["--help"], env={"COLUMNS": "160"}
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    for tag in ("<bool>", "<int", "<float", "<str>", "list[", "9223372036854775807"):
        assert tag not in text, (command, tag)


def _options(command: str) -> dict:
    group = typer.main.get_command(app)
    import click

    ctx = click.Context(group)
    return {p.name: p for p in group.get_command(ctx, command).get_params(ctx)}


def test_confidence_means_the_same_in_every_command() -> None:
    for command in ("check", "compare", "theory", "report", "sweep"):
        option = _options(command)["confidence"]
        assert option.opts == ["--confidence"], command
        assert option.default == 0.95, command
        assert option.help == CONFIDENCE_HELP, command
    assert "whole_interval" in _options("check")


def test_summary_at_another_level_narrows_or_widens_every_interval(warm_cold) -> None:
    base = warm_cold[0]
    usual, narrow = base.summary_table, summary_at(base.replication_metrics, 0.5)
    assert narrow.overall["wait_mean"].mean == usual.overall["wait_mean"].mean
    for table, other in ((narrow.overall, usual.overall),):
        width = other["wait_mean"].ci_high - other["wait_mean"].ci_low
        assert table["wait_mean"].ci_high - table["wait_mean"].ci_low < width
    assert summary_at(base.replication_metrics, 0.95) == usual


def test_print_results_is_a_short_readable_summary(warm_cold) -> None:
    text = str(warm_cold[0])
    assert text == repr(warm_cold[0])
    assert len(text) < 4000  # not the dataclass dump of every replication
    lines = text.splitlines()
    assert lines[0].startswith("ccsim results: qa_baseline, 4 replications, seed 2024")
    assert "95% CI" in lines[1]
    assert "directory support (service level: answered within 1m30s)" in lines
    service = next(line for line in lines if line.strip().startswith("service_level"))
    assert "[" in service and "%" in service  # mean and interval
    assert any(line.startswith("group supervisors") for line in lines)
    assert all(len(line) <= 100 for line in lines)
    assert math.isfinite(warm_cold[0].metric("service_level"))


def test_run_shows_thresholds_and_checks_the_scenario_expectations() -> None:
    args = ["run", COLD, "--set", "duration=2h", "--set", "warmup=15m", "-n", "3"]
    shown = invoke(*args, "--workers", "1", "--quiet")
    assert shown.exit_code == 0, shown.output  # a failed expect: alone does not fail run
    out = shown.stdout
    assert "in 60s" in out and "in 90s" in out  # sales' and support's thresholds
    assert "the scenario's expect: targets" in out
    assert "PASS service_level >= 70%" in out
    assert "FAIL handoff_gap_p95 <= 30s" in out
    assert "1 of 4 failed: exit 0 without --check" in flat(out)
    checked = invoke(*args, "--workers", "1", "--quiet", "--check")
    assert checked.exit_code == 1
    as_json = invoke(*args, "--workers", "1", "--quiet", "--check", "--json")
    assert as_json.exit_code == 1
    verdicts = json.loads(as_json.stdout)["expect"]
    assert [v["holds"] for v in verdicts] == [True, False, True, True]
    passing = invoke("run", BASELINE, "--set", "duration=2h", "-n", "2", "--quiet", "--check")
    assert passing.exit_code == 0, passing.output
