"""The expectation grammar: paths, comparisons, units, did-you-mean, evaluation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccsim.expect import (
    COMPARISONS,
    Expectation,
    ExpectationError,
    evaluate_all,
    parse_expectation,
    parse_quantity,
)
from ccsim.results import METRICS, Estimate, Summary
from ccsim.scenario import ScenarioError, scenario_from_dict


@pytest.mark.parametrize(
    ("text", "scope", "name", "metric", "op", "threshold"),
    [
        ("handoff_gap_p95 <= 30s", None, None, "handoff_gap_p95", "<=", 30.0),
        ("service_level >= 0.8", None, None, "service_level", ">=", 0.8),
        ("service_level >= 80%", None, None, "service_level", ">=", 0.8),
        (
            "groups.support_team.utilization < 0.85",
            "groups",
            "support_team",
            "utilization",
            "<",
            0.85,
        ),
        ("directories.sales.wait_p90 <= 1m", "directories", "sales", "wait_p90", "<=", 60.0),
        ("wait_p90<=1m30s", None, None, "wait_p90", "<=", 90.0),
        ("wait_mean > 500ms", None, None, "wait_mean", ">", 0.5),
        ("session_time_mean < 1.5h", None, None, "session_time_mean", "<", 5400.0),
        ("handoff_gap_p95 <= 30 s", None, None, "handoff_gap_p95", "<=", 30.0),
        ("abandon_rate < 5 %", None, None, "abandon_rate", "<", 0.05),
        ("overall.offered >= 100", None, None, "offered", ">=", 100.0),
        ("transfers == 0", None, None, "transfers", "==", 0.0),
        ("  wait_p50 < 4  ", None, None, "wait_p50", "<", 4.0),
        ("directories.sales-eu.wait_p90 <= 2m", "directories", "sales-eu", "wait_p90", "<=", 120.0),
    ],
)
def test_expectation_parses_path_comparison_and_number_with_unit(
    text: str, scope: str | None, name: str | None, metric: str, op: str, threshold: float
) -> None:
    expectation = parse_expectation(text)
    assert (expectation.scope, expectation.name, expectation.metric) == (scope, name, metric)
    assert expectation.op == op
    assert expectation.threshold == pytest.approx(threshold)
    assert expectation.text == text.strip()


def test_expectation_path_is_the_summary_lookup_path() -> None:
    assert (
        parse_expectation("directories.sales.wait_p90 <= 1m").path == "directories.sales.wait_p90"
    )
    assert parse_expectation("overall.wait_p90 <= 1m").path == "wait_p90"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("handof_gap_p95 <= 30s", "did you mean 'handoff_gap_p95'?"),
        ("servicelevel >= 0.8", "did you mean 'service_level'?"),
        ("directories.sales.wiat_p90 <= 1m", "did you mean 'wait_p90'?"),
        ("groups.team.utilisation < 0.9", "did you mean 'utilization'?"),
        ("directory.sales.wait_p90 <= 1m", "did you mean 'directories'?"),
        ("grups.team.occupancy < 0.9", "did you mean 'groups'?"),
    ],
)
def test_misspelt_metric_or_scope_gets_a_did_you_mean(text: str, fragment: str) -> None:
    with pytest.raises(ExpectationError, match="did you mean") as error:
        parse_expectation(text)
    assert fragment in str(error.value)


def test_unknown_metric_without_a_close_match_lists_the_metrics() -> None:
    with pytest.raises(ExpectationError) as error:
        parse_expectation("xyzzy < 1")
    assert "unknown metric 'xyzzy'" in str(error.value)
    assert "handoff_gap_p95" in str(error.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("groups.team.wait_p90 < 3s", "chat metric: write directories.NAME.wait_p90"),
        ("directories.sales.utilization < 0.9", "agent metric: write groups.NAME.utilization"),
        ("directories.sales < 3", "write directories.NAME.METRIC"),
        ("directories < 3", "needs a name and a metric"),
    ],
)
def test_scope_must_fit_the_metric(text: str, fragment: str) -> None:
    with pytest.raises(ExpectationError) as error:
        parse_expectation(text)
    assert fragment in str(error.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("service_level >= 80", "ratio between 0 and 1; write 0.8 or 80%"),
        ("service_level <= 30s", "is a ratio (write 0.8 or 80%), it takes no time unit"),
        ("wait_p90 <= 80%", "'%' applies to ratios"),
        ("offered > 3m", "'offered' is a count, it takes no time unit"),
        ("wait_p90 <= 3x", "'3x' is not a duration"),
    ],
)
def test_units_must_fit_the_metric(text: str, fragment: str) -> None:
    with pytest.raises(ExpectationError) as error:
        parse_expectation(text)
    assert fragment in str(error.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty expectation"),
        ("wait_p90", "expected a comparison"),
        ("wait_p90 30s", "expected a comparison (<, <=, >, >=, ==) after 'wait_p90', found '30s'"),
        ("wait_p90 <=", "expected a number"),
        ("wait_p90 <= fast", "expected a number"),
        ("wait_p90 = 3", "did you mean '=='?"),
        ("wait_p90 =< 3", "did you mean '<='?"),
        ("wait_p90 != 3", "is not a comparison"),
        ("wait_p90 <= 3 and wait_p95 <= 4", "unexpected 'and' at column 15"),
        ("wait_p90 <= 3; rm -rf /", "unexpected ';' at column 14"),
        ("30s >= wait_p90", "must start with a metric path"),
    ],
)
def test_bad_syntax_is_reported_with_what_was_expected(text: str, fragment: str) -> None:
    with pytest.raises(ExpectationError) as error:
        parse_expectation(text)
    assert fragment in str(error.value)


def test_code_is_never_evaluated(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    def forbidden(*_: object) -> None:
        raise AssertionError("eval was called")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    for text in ("__import__('os').system('true') > 1", "wait_p90 <= (1).__class__", "1 < 2"):
        with pytest.raises(ExpectationError):
            parse_expectation(text)


@given(st.text(max_size=60))
def test_any_text_parses_or_raises_an_expectation_error(text: str) -> None:
    try:
        expectation = parse_expectation(text)
    except ExpectationError:
        return
    assert expectation.metric in METRICS and expectation.op in COMPARISONS
    assert math.isfinite(expectation.threshold)


@given(
    metric=st.sampled_from(["wait_p90", "handoff_gap_p95", "session_time_mean"]),
    op=st.sampled_from(sorted(COMPARISONS)),
    seconds=st.integers(min_value=0, max_value=10**6),
)
def test_time_thresholds_round_trip_in_seconds_and_minutes(
    metric: str, op: str, seconds: int
) -> None:
    assert parse_expectation(f"{metric} {op} {seconds}").threshold == seconds
    assert parse_expectation(f"{metric} {op} {seconds}s").threshold == seconds
    assert parse_expectation(f"{metric} {op} {seconds}m").threshold == 60 * seconds


@pytest.mark.parametrize(
    ("op", "value", "holds"),
    [
        ("<", 29.9, True),
        ("<", 30.0, False),
        ("<=", 30.0, True),
        ("<=", 30.1, False),
        (">", 30.1, True),
        (">", 30.0, False),
        (">=", 30.0, True),
        (">=", 29.9, False),
        ("==", 30.0, True),
        ("==", 30.1, False),
    ],
)
def test_each_comparison_on_the_mean(op: str, value: float, holds: bool) -> None:
    verdict = parse_expectation(f"wait_p90 {op} 30s").evaluate(Estimate(value, 0.0, 100.0, 5))
    assert verdict.holds is holds
    assert (verdict.reason == "") is holds


def test_confidence_needs_the_whole_interval_to_satisfy_the_expectation() -> None:
    expectation = parse_expectation("handoff_gap_p95 <= 30s")
    estimate = Estimate(25.0, 18.0, 33.0, 10)
    assert expectation.evaluate(estimate, confidence=False).holds
    verdict = expectation.evaluate(estimate, confidence=True)
    assert not verdict.holds
    assert "the 95% interval is not entirely <= 30.0s (33.0s is not)" in verdict.message
    assert expectation.evaluate(Estimate(25.0, 18.0, 29.0, 10), confidence=True).holds
    # lower bounds: the low end is the one that fails
    low = parse_expectation("service_level >= 80%").evaluate(Estimate(0.85, 0.78, 0.9, 5), True)
    assert not low.holds and "78.0% is not" in low.message


def test_verdict_message_shows_value_interval_and_replications() -> None:
    verdict = parse_expectation("handoff_gap_p95 <= 30s").evaluate(Estimate(41.2, 35.0, 47.3, 10))
    assert verdict.message == (
        "handoff_gap_p95 <= 30s: 41.2s, 95% CI [35.0s, 47.3s] (10 replications); "
        "the mean is not <= 30.0s"
    )
    ratio = parse_expectation("service_level >= 0.8").evaluate(Estimate(0.75, 0.7, 0.8, 4))
    assert "75.0%, 95% CI [70.0%, 80.0%]" in ratio.message


def test_undefined_metric_or_missing_interval_fails_with_a_reason() -> None:
    expectation = parse_expectation("handoff_gap_p95 <= 30s")
    undefined = expectation.evaluate(Estimate(math.nan, math.nan, math.nan, 0))
    assert not undefined.holds and "undefined" in undefined.reason
    single = expectation.evaluate(Estimate(5.0, math.nan, math.nan, 1), confidence=True)
    assert not single.holds and "at least 2 replications" in single.reason
    assert expectation.evaluate(Estimate(5.0, math.nan, math.nan, 1)).holds


def test_names_are_checked_against_the_scenario_with_did_you_mean() -> None:
    with pytest.raises(
        ExpectationError, match="unknown directory 'sale' \\(did you mean 'sales'\\?\\)"
    ):
        parse_expectation("directories.sale.wait_p90 < 1m").check_names(["sales", "support"], [])
    with pytest.raises(ExpectationError, match="unknown agent group 'suport_team'"):
        parse_expectation("groups.suport_team.utilization < 1").check_names([], ["support_team"])
    parse_expectation("wait_p90 < 1m").check_names([], [])  # overall needs no names


def test_evaluate_all_reads_every_scope_of_a_summary() -> None:
    summary = Summary(
        overall={"wait_p90": Estimate(20.0, 15.0, 25.0, 3)},
        directories={"sales": {"wait_p90": Estimate(40.0, 30.0, 50.0, 3)}},
        groups={"team": {"utilization": Estimate(0.9, 0.85, 0.95, 3)}},
    )
    expectations = [
        parse_expectation(t)
        for t in (
            "wait_p90 < 30s",
            "directories.sales.wait_p90 < 30s",
            "groups.team.utilization < 0.85",
        )
    ]
    assert [v.holds for v in evaluate_all(summary, expectations)] == [True, False, False]
    with pytest.raises(ExpectationError, match="did you mean 'team'"):
        evaluate_all(summary, [parse_expectation("groups.tem.utilization < 1")])


def test_parse_quantity_reads_a_tolerance_in_the_metric_unit() -> None:
    assert parse_quantity("2s", "wait_p90") == 2.0
    assert parse_quantity("1%", "service_level") == 0.01
    assert parse_quantity(0.5, "wait_p90") == 0.5
    with pytest.raises(ExpectationError):
        parse_quantity("2s", "service_level")


BASE = {
    "duration": "1h",
    "directories": {"sales": {"arrivals": "60/h", "handle_time": "5m"}},
    "agents": {"team": {"count": 2, "directories": ["sales"]}},
}


def test_scenario_expect_list_is_validated_at_load_with_item_paths() -> None:
    ok = scenario_from_dict({**BASE, "expect": ["wait_p90 <= 1m", "groups.team.utilization < 90%"]})
    assert isinstance(parse_expectation(ok.expect[0]), Expectation)
    with pytest.raises(ScenarioError) as error:
        scenario_from_dict(
            {**BASE, "expect": ["wait_p90 <= 1m", "wiat_p90 < 3", "directories.sals.wait_p90 < 1m"]}
        )
    problems = error.value.problems
    assert any(p.startswith("expect.1: ") and "did you mean 'wait_p90'" in p for p in problems)
    assert any(p.startswith("expect.2: ") and "did you mean 'sales'" in p for p in problems)
    assert not any(p.startswith("expect.0") for p in problems)
