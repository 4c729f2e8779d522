"""Pytest helpers: keep transfer-rule checks in a QA team's own test suite.

::

    from ccsim.testing import assert_metrics, assert_no_regression

    def test_cold_transfer_keeps_handoff_short(cold_results):
        assert_metrics(cold_results, {"handoff_gap_p95": "<= 30s", "service_level": ">= 80%"})

    def test_timeout_change_does_not_slow_answers(baseline, candidate):
        assert_no_regression(baseline, candidate, metrics=["wait_p90"], tolerance="1s")

Both raise ``AssertionError`` with one readable line per failure (value and interval),
which pytest shows as is. They use the same grammar as ``ccsim check``
(:mod:`ccsim.expect`) and the same paired comparison as ``ccsim compare``
(:mod:`ccsim.compare`); bad expectations raise :class:`ccsim.expect.ExpectationError`,
which is a bug in the test rather than a failed check.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path

from ccsim.api import Results
from ccsim.compare import (
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    Comparison,
    Difference,
    compare,
    compare_scenarios,
)
from ccsim.expect import (
    METRICS,
    ExpectationError,
    Verdict,
    did_you_mean,
    evaluate_all,
    format_metric_value,
    parse_expectation,
    parse_quantity,
)

Source = Results | str | Path

# Which direction is worse: the one list of directions, in :mod:`ccsim.compare` (the
# verdicts of ``ccsim compare`` use it too).
HIGHER_IS_WORSE = LOWER_IS_BETTER
LOWER_IS_WORSE = HIGHER_IS_BETTER
DEFAULT_REGRESSION_METRICS = (
    "service_level",
    "abandon_rate",
    "wait_p90",
    "transfer_wait_p90",
    "handoff_gap_p95",
)


def check_metrics(
    results: Source,
    expectations: Mapping[str, str] | Iterable[str],
    confidence: bool = False,
) -> list[Verdict]:
    """Verdicts of ``{"service_level": ">= 0.8"}`` or ``["service_level >= 0.8", ...]``."""
    loaded = results if isinstance(results, Results) else _load(results)
    if isinstance(expectations, Mapping):
        texts = [f"{path} {condition}" for path, condition in expectations.items()]
    else:
        texts = list(expectations)
    parsed = [parse_expectation(text) for text in texts]
    return evaluate_all(loaded.summary_table, parsed, confidence)


def assert_metrics(
    results: Source,
    expectations: Mapping[str, str] | Iterable[str],
    confidence: bool = False,
) -> list[Verdict]:
    """Assert every expectation holds (``confidence``: its whole 95% interval does).

    ``expectations`` maps a metric path to a condition (``{"service_level": ">= 0.8",
    "groups.support_team.utilization": "< 85%"}``) or lists whole expectations. Returns the
    verdicts when all hold; otherwise raises ``AssertionError`` listing each failure.
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not this helper
    verdicts = check_metrics(results, expectations, confidence)
    failed = [v for v in verdicts if not v.holds]
    if failed:
        lines = [f"{len(failed)} of {len(verdicts)} expectations failed:"]
        lines += [f"  {v.message}" for v in failed]
        raise AssertionError("\n".join(lines))
    return verdicts


def paired_comparison(baseline: Source, candidate: Source) -> Comparison:
    """:func:`ccsim.compare.compare` for ``Results`` or saved folders (paired when the
    seeds agree). For two scenarios use :func:`ccsim.compare.compare_scenarios`."""
    return compare(baseline, candidate)


def _direction(path: str, given: str | None) -> str:
    metric = path.rsplit(".", 1)[-1]
    if metric not in METRICS:
        raise ExpectationError(f"unknown metric {metric!r}{did_you_mean(metric, METRICS)}")
    if given is not None:
        if given not in ("higher_is_worse", "lower_is_worse"):
            raise ExpectationError(
                f"{path}: direction must be 'higher_is_worse' or 'lower_is_worse', got {given!r}"
            )
        return given
    if metric in HIGHER_IS_WORSE:
        return "higher_is_worse"
    if metric in LOWER_IS_WORSE:
        return "lower_is_worse"
    raise ExpectationError(
        f"{path}: say which way is worse, metrics={{{path!r}: 'higher_is_worse'}} "
        "or 'lower_is_worse'"
    )


def _regression(
    difference: Difference, direction: str, tolerance: float, strict: bool
) -> str | None:
    """Why ``difference`` is a regression, or None."""
    interval = difference.difference
    sign = 1.0 if direction == "higher_is_worse" else -1.0
    # Worsening in the metric's own orientation: positive means worse.
    best, worst = sorted((sign * interval.ci_low, sign * interval.ci_high))
    mean = sign * interval.mean
    metric = difference.metric
    limit = format_metric_value(metric, tolerance)
    if math.isnan(mean):
        return None
    if math.isnan(best):
        best = worst = mean  # one pair: judge by the difference itself
    if strict and worst > tolerance:
        reach = format_metric_value(metric, worst, signed=True)
        return f"a worsening of up to {reach} cannot be ruled out (tolerance {limit})"
    if not strict and best > tolerance:
        least = format_metric_value(metric, best, signed=True)
        return f"worse by at least {least} with 95% confidence (tolerance {limit})"
    return None


def assert_no_regression(
    baseline: Source,
    candidate: Source,
    metrics: Iterable[str] | Mapping[str, str | None] | None = None,
    tolerance: float | str | Mapping[str, float | str] = 0.0,
    strict: bool = False,
) -> Comparison:
    """Assert the candidate is not significantly worse than the baseline.

    ``metrics``: paths (``"wait_p90"``, ``"directories.sales.wait_p90"``), or a mapping
    path -> ``"higher_is_worse"``/``"lower_is_worse"`` for metrics with no obvious
    direction (utilization); default :data:`DEFAULT_REGRESSION_METRICS`. ``tolerance``:
    the worsening accepted, in the metric's unit (``"2s"``, ``"1%"``, ``0.01``), one for
    all or per path. A regression is a paired 95% interval lying entirely beyond the
    tolerance on the worse side; with ``strict`` (non-inferiority), any part of the
    interval beyond it fails, so too few replications fail rather than pass.

    Returns the comparison; raises ``AssertionError`` listing each regression.
    """
    __tracebackhide__ = True
    comparison = compare(baseline, candidate)
    if metrics is None:
        metrics = DEFAULT_REGRESSION_METRICS
    directions = (
        {path: _direction(path, given) for path, given in metrics.items()}
        if isinstance(metrics, Mapping)
        else {path: _direction(path, None) for path in metrics}
    )
    failures = []
    for path, direction in directions.items():
        try:
            difference = comparison.lookup(path)
        except KeyError:
            raise ExpectationError(
                f"{path!r}: not in both runs (compared: {len(comparison.differences)} metrics)"
            ) from None
        limit = tolerance.get(path, 0.0) if isinstance(tolerance, Mapping) else tolerance
        allowed = parse_quantity(limit, difference.metric)
        why = _regression(difference, direction, allowed, strict)
        if why:
            metric, interval = difference.metric, difference.difference

            def show(value: float, signed: bool = False, metric: str = metric) -> str:
                return format_metric_value(metric, value, signed)

            failures.append(
                f"  {path}: baseline {show(difference.baseline.mean)}, candidate "
                f"{show(difference.candidate.mean)}, difference {show(interval.mean, True)} "
                f"95% CI [{show(interval.ci_low, True)}, {show(interval.ci_high, True)}]: {why}"
            )
    if failures:
        how = f"paired on {comparison.pairs} replications" if comparison.paired else "unpaired"
        raise AssertionError(
            f"{len(failures)} regression(s) of {comparison.candidate_label} against "
            f"{comparison.baseline_label} ({how}):\n" + "\n".join(failures)
        )
    return comparison


def _load(folder: str | Path) -> Results:
    from ccsim.output import load_results

    return load_results(folder)


__all__ = [
    "DEFAULT_REGRESSION_METRICS",
    "HIGHER_IS_WORSE",
    "LOWER_IS_WORSE",
    "assert_metrics",
    "assert_no_regression",
    "check_metrics",
    "compare_scenarios",
    "paired_comparison",
]
