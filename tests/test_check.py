"""``ccsim check``: exit codes 0/1/2, listed failures, --whole-interval and --confidence,
--junit, folders."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ccsim.api import simulate
from ccsim.cli import app
from ccsim.expect import parse_expectation
from ccsim.output import write_results
from ccsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
QA = ROOT / "scenarios" / "qa"
BASELINE, COLD = str(QA / "baseline.yaml"), str(QA / "candidate_cold.yaml")
OVERRIDES = ["duration=2h", "warmup=15m"]
SHORT = ["-n", "3", "--workers", "1", *(arg for item in OVERRIDES for arg in ("--set", item))]
runner = CliRunner()


def check(*args: str):
    return runner.invoke(app, ["check", *args])


def flat(text: str) -> str:
    """Messages as one line (the console wraps long ones at 80 columns)."""
    return " ".join(text.split())


def test_check_exits_0_when_the_scenario_file_expectations_hold() -> None:
    result = check(BASELINE, *SHORT)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "qa_baseline: 3 replications, seed 2024"
    expected = load_scenario(BASELINE).expect
    assert [line.split(": ")[0] for line in lines[1:-1]] == [f"PASS {e}" for e in expected]
    assert lines[-1] == f"all {len(expected)} expectations hold"


def test_r8_check_exits_1_on_a_cold_transfer_listing_value_and_interval() -> None:
    result = check(COLD, *SHORT, "-e", "wait_p90 < 10m")
    assert result.exit_code == 1, result.output
    failures = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failures) == 1
    assert failures[0].startswith("FAIL handoff_gap_p95 <= 30s: ")
    assert "95% CI [" in failures[0] and "(3 replications); the mean is not <= 30.0s" in failures[0]
    assert "PASS wait_p90 < 10m" in result.stdout
    assert result.stdout.splitlines()[-1] == "1 of 5 expectations failed"


def test_whole_interval_fails_an_expectation_whose_interval_crosses_the_limit() -> None:
    scenario = load_scenario(BASELINE, OVERRIDES)
    estimate = simulate(scenario, replications=3, keep_records=False).summary_table.lookup(
        "directories.support.wait_p90"
    )
    limit = (estimate.mean + estimate.ci_high) / 2  # the mean is below, the interval is not
    text = f"directories.support.wait_p90 <= {limit:.3f}"
    assert check(BASELINE, *SHORT, "-e", text).exit_code == 0
    strict = check(BASELINE, *SHORT, "-e", text, "--whole-interval")
    assert strict.exit_code == 1, strict.output
    assert "whole 95% interval must hold" in strict.stdout
    assert f"FAIL {text}: " in strict.stdout and "the 95% interval is not entirely" in strict.stdout
    # --confidence is the level, as in every command: a 50% interval is narrower
    loose = check(BASELINE, *SHORT, "-e", text, "--whole-interval", "--confidence", "0.5")
    assert "whole 50% interval must hold" in loose.stdout and "50% CI [" in loose.stdout


@pytest.mark.parametrize(
    ("expect", "message"),
    [
        (
            "handof_gap_p95 <= 30s",
            "unknown metric 'handof_gap_p95' (did you mean 'handoff_gap_p95'?)",
        ),
        ("wait_p90 <= 30s and more", "unexpected 'and'"),
        ("service_level >= 80", "write 0.8 or 80%"),
        (
            "directories.suport.wait_p90 < 1m",
            "unknown directory 'suport' (did you mean 'support'?)",
        ),
        (
            "groups.support.utilization < 0.9",
            "unknown agent group 'support' (did you mean 'support_team'?)",
        ),
    ],
)
def test_bad_expectations_exit_2_before_running(expect: str, message: str) -> None:
    result = check(BASELINE, *SHORT, "-e", expect)
    assert result.exit_code == 2
    assert message in flat(result.stderr)
    assert result.stdout == ""  # nothing ran


def test_bad_expect_list_in_the_scenario_file_exits_2_with_its_path(tmp_path: Path) -> None:
    text = Path(BASELINE).read_text().replace("service_level >= 70%", "servce_level >= 70%")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    result = check(str(bad), *SHORT)
    assert result.exit_code == 2
    assert (
        "expect.0: 'servce_level >= 70%': unknown metric 'servce_level' "
        "(did you mean 'service_level'?)" in flat(result.stderr)
    )


def test_nothing_to_check_exits_2() -> None:
    result = check(BASELINE, *SHORT, "--set", "expect=[]")
    assert result.exit_code == 2 and "nothing to check" in flat(result.stderr)


def test_junit_report_has_one_testcase_per_expectation_and_failures(tmp_path: Path) -> None:
    report = tmp_path / "reports" / "check.xml"
    result = check(COLD, *SHORT, "--junit", str(report))
    assert result.exit_code == 1
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    expected = load_scenario(COLD).expect
    assert [case.get("name") for case in cases] == list(expected)
    assert suite.get("tests") == str(len(expected)) and suite.get("failures") == "1"
    assert {p.get("name"): p.get("value") for p in suite.iter("property")}["seed"] == "2024"
    failed = [case for case in cases if case.find("failure") is not None]
    assert [case.get("name") for case in failed] == ["handoff_gap_p95 <= 30s"]
    message = failed[0].find("failure").get("message")
    assert message.startswith("handoff_gap_p95 <= 30s: ") and "95% CI [" in message
    passed = [case for case in cases if case.find("failure") is None]
    assert all(case.find("system-out").text.startswith(case.get("name")) for case in passed)


def test_junit_report_is_written_when_everything_holds(tmp_path: Path) -> None:
    report = tmp_path / "ok.xml"
    assert check(BASELINE, *SHORT, "--junit", str(report)).exit_code == 0
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite.get("failures") == "0" and all(c.find("failure") is None for c in suite)


def test_check_reads_a_results_folder_without_rerunning(tmp_path: Path) -> None:
    scenario = load_scenario(COLD, OVERRIDES)
    results = simulate(scenario, replications=3, keep_records=False)
    write_results(results, tmp_path / "cold", tables=False)
    from_folder = check(str(tmp_path / "cold"), "-e", "wait_p90 < 10m")
    rerun = check(COLD, *SHORT, "-e", "wait_p90 < 10m")
    assert from_folder.exit_code == rerun.exit_code == 1
    assert from_folder.stdout == rerun.stdout
    value = results.summary_table.lookup("handoff_gap_p95")
    verdict = parse_expectation("handoff_gap_p95 <= 30s").evaluate(value)
    assert f"FAIL {verdict.message}" in from_folder.stdout
    refused = check(str(tmp_path / "cold"), "-n", "5")
    assert refused.exit_code == 2 and "results folder" in flat(refused.stderr)
