"""``ccsim.testing``: the pytest helpers QA teams use in their own suites."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ccsim.api import Results
from ccsim.compare import run_pair
from ccsim.expect import ExpectationError
from ccsim.output import write_results
from ccsim.scenario import load_scenario
from ccsim.testing import (
    HIGHER_IS_WORSE,
    assert_metrics,
    assert_no_regression,
    check_metrics,
    paired_comparison,
)

QA = Path(__file__).resolve().parents[1] / "scenarios" / "qa"
SHORT = ["duration=2h", "warmup=15m"]


@pytest.fixture(scope="module")
def warm_cold() -> tuple[Results, Results]:
    return run_pair(
        load_scenario(QA / "baseline.yaml", SHORT),
        load_scenario(QA / "candidate_cold.yaml", SHORT),
        replications=4,
    )


def test_assert_metrics_returns_the_verdicts_when_all_hold(
    warm_cold: tuple[Results, Results],
) -> None:
    baseline, _ = warm_cold
    verdicts = assert_metrics(
        baseline,
        {"handoff_gap_p95": "<= 30s", "service_level": ">= 0.8", "abandon_rate": "< 20%"},
    )
    assert [v.expectation.text for v in verdicts] == [
        "handoff_gap_p95 <= 30s",
        "service_level >= 0.8",
        "abandon_rate < 20%",
    ]
    assert all(v.holds for v in verdicts)


def test_r8_assert_metrics_lists_each_failure_with_value_and_interval(
    warm_cold: tuple[Results, Results],
) -> None:
    _, cold = warm_cold
    with pytest.raises(AssertionError) as error:
        assert_metrics(
            cold,
            [
                "handoff_gap_p95 <= 30s",
                "service_level >= 80%",
                "groups.sales_team.utilization < 0.1",
            ],
        )
    lines = str(error.value).splitlines()
    assert lines[0] == "2 of 3 expectations failed:"
    assert lines[1].startswith("  handoff_gap_p95 <= 30s: ") and "95% CI [" in lines[1]
    assert lines[2].startswith("  groups.sales_team.utilization < 0.1: ")
    assert lines[2].endswith("(4 replications); the mean is not < 10.0%")


def test_assert_metrics_with_confidence_judges_the_whole_interval(
    warm_cold: tuple[Results, Results],
) -> None:
    baseline, _ = warm_cold
    estimate = baseline.summary_table.lookup("wait_p90")
    limit = f"<= {(estimate.mean + estimate.ci_high) / 2:.4f}"
    assert_metrics(baseline, {"wait_p90": limit})
    with pytest.raises(AssertionError, match="the 95% interval is not entirely"):
        assert_metrics(baseline, {"wait_p90": limit}, confidence=True)


def test_assert_metrics_reads_saved_folders(
    warm_cold: tuple[Results, Results], tmp_path: Path
) -> None:
    write_results(warm_cold[1], tmp_path / "cold", tables=False)
    from_folder = check_metrics(tmp_path / "cold", ["handoff_gap_p95 <= 30s"])
    direct = check_metrics(warm_cold[1], ["handoff_gap_p95 <= 30s"])
    assert from_folder[0].message == direct[0].message and not direct[0].holds


def test_bad_expectations_raise_expectation_errors_not_assertion_errors(
    warm_cold: tuple[Results, Results],
) -> None:
    with pytest.raises(ExpectationError, match="did you mean 'wait_p90'"):
        assert_metrics(warm_cold[0], {"wiat_p90": "< 1m"})
    with pytest.raises(ExpectationError, match="did you mean 'sales'"):
        assert_metrics(warm_cold[0], {"directories.sale.wait_p90": "< 1m"})


def test_r8_assert_no_regression_catches_the_cold_transfer_handoff_gap(
    warm_cold: tuple[Results, Results],
) -> None:
    baseline, cold = warm_cold
    with pytest.raises(AssertionError) as error:
        assert_no_regression(baseline, cold)
    text = str(error.value)
    assert text.startswith("1 regression(s) of qa_candidate_cold against qa_baseline")
    assert "paired on 4 replications" in text
    assert "  handoff_gap_p95: baseline 0.0s, candidate " in text
    assert "worse by at least" in text and "(tolerance 0.0s)" in text


def test_assert_no_regression_accepts_a_worsening_within_the_tolerance(
    warm_cold: tuple[Results, Results],
) -> None:
    baseline, cold = warm_cold
    gap = paired_comparison(baseline, cold).lookup("handoff_gap_p95").difference
    # a tolerance just below the interval's low end still fails; just above passes
    with pytest.raises(AssertionError):
        assert_no_regression(
            baseline, cold, metrics=["handoff_gap_p95"], tolerance=f"{gap.ci_low * 0.99:.3f}s"
        )
    assert_no_regression(
        baseline,
        cold,
        metrics=["handoff_gap_p95"],
        tolerance={"handoff_gap_p95": gap.ci_low * 1.01},
    )


def test_assert_no_regression_passes_a_scenario_against_itself(
    warm_cold: tuple[Results, Results],
) -> None:
    baseline, _ = warm_cold
    comparison = assert_no_regression(baseline, baseline, strict=True)
    assert comparison.pairs == 4
    defined = [d for d in comparison.differences if not math.isnan(d.difference.ci_low)]
    assert defined and all(d.difference.width == 0 for d in defined)


def test_strict_no_regression_fails_when_the_interval_cannot_rule_it_out(
    warm_cold: tuple[Results, Results],
) -> None:
    baseline, cold = warm_cold
    undecided = [
        d.path
        for d in paired_comparison(baseline, cold).differences
        if d.metric in HIGHER_IS_WORSE and d.difference.ci_low < 0 < d.difference.ci_high
    ]
    assert undecided  # some waits move by less than the noise of 4 replications
    assert_no_regression(baseline, cold, metrics=undecided)
    with pytest.raises(AssertionError, match="cannot be ruled out"):
        assert_no_regression(baseline, cold, metrics=undecided, strict=True)


def test_metrics_without_an_obvious_direction_must_say_which_way_is_worse(
    warm_cold: tuple[Results, Results],
) -> None:
    baseline, cold = warm_cold
    with pytest.raises(ExpectationError, match="say which way is worse"):
        assert_no_regression(baseline, cold, metrics=["groups.sales_team.utilization"])
    # cold transfers free sales slots sooner: utilization drops, a "regression" only if
    # lower is worse
    with pytest.raises(AssertionError, match=r"groups\.sales_team\.utilization"):
        assert_no_regression(
            baseline, cold, metrics={"groups.sales_team.utilization": "lower_is_worse"}
        )
    assert_no_regression(
        baseline, cold, metrics={"groups.sales_team.utilization": "higher_is_worse"}
    )
