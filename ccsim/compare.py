"""Paired comparison of a candidate scenario against a baseline, on common random numbers.

Replication ``r`` of seed ``s`` draws every role of every directory and group from its own
stream (``ccsim.model.randomness``), so running baseline and candidate with the same seed
and replication indices gives both the same arrivals, patience and handling draws: the
differences ``candidate_r - baseline_r`` cancel most of the noise the two runs share. The
difference of means is estimated from these per-replication differences with a Student-t
interval (a paired t test), which is valid whatever the correlation, and narrower the
more the runs share.

For contrast each row also carries Welch's interval, which treats the two runs as
independent samples (what one would get from runs with unrelated seeds). Runs with
different seeds are compared with Welch's interval only, as they share no randomness.

Two runs that differ in their directories or agent groups are compared on what they
share; :attr:`Comparison.notes` says what was left out and why. Two runs that share no
directory and no agent group are refused (:class:`UnrelatedError`) unless
``allow_unrelated``: their overall metrics describe different centers.

Verdicts: each metric has a better side (:data:`HIGHER_IS_BETTER`, :data:`LOWER_IS_BETTER`;
the others, such as ``offered`` or ``utilization``, have none unless one is given), and
:meth:`Comparison.verdicts` says for each difference *better*, *worse* or *no significant
difference* (``higher``/``lower`` for a significant change of a metric with no better
side). A *regression* is a difference significantly worse by more than its tolerance: the
whole interval lies beyond it on the worse side (:func:`parse_tolerance`: ``1pp`` for
ratios, ``5%`` of the baseline for times and counts, ``2s``, or a plain number in the
metric's unit).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ccsim.api import Results, simulate
from ccsim.confidence import DEFAULT_CONFIDENCE, results_summary
from ccsim.expect import ExpectationError, did_you_mean, parse_metric_path, parse_quantity
from ccsim.results import METRICS, RATIO_METRICS, Estimate, ReplicationMetrics, estimate
from ccsim.scenario import Scenario

CONFIDENCE = DEFAULT_CONFIDENCE
SCOPE_NAMES = {None: "overall", "directories": "directory", "groups": "group"}

#: Metrics where a lower value is better for customers (the one list of directions:
#: ``ccsim compare`` verdicts and :func:`ccsim.testing.assert_no_regression` use it).
LOWER_IS_BETTER = frozenset(
    {
        "abandoned",
        "abandon_rate",
        "wait_mean",
        "wait_p50",
        "wait_p90",
        "wait_p95",
        "transfer_wait_mean",
        "transfer_wait_p90",
        "handoff_gap_mean",
        "handoff_gap_p90",
        "handoff_gap_p95",
        "session_time_mean",
        "abandoned_initial",
        "abandoned_in_transfer",
        "queued_abandoned",
        "queued_wait_mean",
        "queued_wait_p90",
        "balked",
        "abandon_rate_first_attempt",
        "abandon_rate_all_attempts",
    }
)
#: Metrics where a higher value is better.
HIGHER_IS_BETTER = frozenset(
    {"service_level", "answered", "completed", "queued_service_level", "queued_answered"}
)
#: Metrics with no better side (load, volume, cost): a significant change is reported as
#: higher or lower, never as better or worse, unless a direction is given for it.
NO_DIRECTION = tuple(m for m in METRICS if m not in LOWER_IS_BETTER | HIGHER_IS_BETTER)
DIRECTIONS = ("higher", "lower")  # which side is better

#: Verdicts of one difference.
BETTER, WORSE, SAME, HIGHER, LOWER, NO_VALUE = (
    "better",
    "worse",
    "no significant difference",
    "higher",
    "lower",
    "no value",
)


class UnrelatedError(ValueError):
    """Two runs that share no directory and no agent group."""


def default_direction(metric: str) -> str | None:
    """``"higher"`` or ``"lower"`` (the better side) for a metric name, None if none."""
    if metric in HIGHER_IS_BETTER:
        return "higher"
    if metric in LOWER_IS_BETTER:
        return "lower"
    return None


def unrelated_problem(
    baseline: tuple[Iterable[str], Iterable[str]], candidate: tuple[Iterable[str], Iterable[str]]
) -> str | None:
    """Why two runs with these ``(directories, groups)`` should not be compared, or None."""
    (base_dirs, base_groups), (cand_dirs, cand_groups) = (
        (set(baseline[0]), set(baseline[1])),
        (set(candidate[0]), set(candidate[1])),
    )
    if base_dirs & cand_dirs or base_groups & cand_groups:
        return None
    return (
        "the two share no directory and no agent group (baseline: "
        f"{', '.join(sorted(base_dirs | base_groups)) or 'none'}; candidate: "
        f"{', '.join(sorted(cand_dirs | cand_groups)) or 'none'}), so only their overall "
        "metrics, of two different centers, could be compared"
    )


@dataclass(frozen=True)
class Tolerance:
    """The worsening accepted before a difference is a regression: ``absolute`` in the
    metric's unit, or ``relative`` to the baseline's mean (0.05 for 5%)."""

    text: str
    absolute: float = 0.0
    relative: float = 0.0

    def amount(self, baseline_mean: float) -> float:
        if self.relative:
            return self.relative * abs(baseline_mean) if math.isfinite(baseline_mean) else 0.0
        return self.absolute


NO_TOLERANCE = Tolerance("0")


def parse_tolerance(text: str | float, metric: str) -> Tolerance:
    """``"1pp"`` (ratios: percentage points), ``"5%"`` (times and counts: 5% of the
    baseline's mean), ``"2s"``/``"1m"`` (times), or a plain number in the metric's unit
    (``0.01`` for a ratio, seconds for a time). Raises :class:`ExpectationError`."""
    raw = str(text).strip()
    shown = f"tolerance {raw!r} for {metric}"
    match = re.fullmatch(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*(pp|%)", raw, re.IGNORECASE)
    if match:
        number, unit = float(match.group(1)), match.group(2).lower()
        if number < 0:
            raise ExpectationError(f"{shown}: must not be negative")
        if unit == "pp":
            if metric not in RATIO_METRICS:
                raise ExpectationError(
                    f"{shown}: 'pp' (percentage points) applies to ratios such as "
                    f"service_level, not to {metric}; write 5% (of the baseline) or an amount"
                )
            return Tolerance(raw, absolute=number / 100)
        if metric in RATIO_METRICS:
            raise ExpectationError(
                f"{shown}: '%' is ambiguous for a ratio; write {number:g}pp for percentage "
                f"points, or {number / 100:g} as a ratio"
            )
        return Tolerance(raw, relative=number / 100)
    try:
        value = parse_quantity(raw, metric)
    except ExpectationError as error:
        raise ExpectationError(
            f"{shown}: {error}; write 1pp for a ratio, 5% (of the baseline) or 2s"
        ) from None
    if value < 0 or not math.isfinite(value):
        raise ExpectationError(f"{shown}: must be a finite amount, not negative")
    return Tolerance(raw, absolute=value)


def _split_setting(text: str, option: str, example: str) -> tuple[str, str]:
    key, sep, value = str(text).partition("=")
    if not sep or not key.strip() or not value.strip():
        raise ExpectationError(f"{option} {text!r}: write METRIC=VALUE, e.g. {example}")
    return key.strip(), value.strip()


def _setting_key(key: str, option: str, text: str) -> str:
    """A bare metric name (every scope) or a metric path (that one)."""
    try:
        return parse_metric_path(key)
    except ExpectationError as error:
        raise ExpectationError(f"{option} {text!r}: {error}") from None


def parse_directions(texts: Iterable[str]) -> dict[str, str]:
    """``["utilization=lower", "directories.sales.offered=higher"]`` -> key -> better side;
    a key is a metric (in every scope) or a path (``directories.NAME.METRIC``)."""
    out: dict[str, str] = {}
    for text in texts:
        key, value = _split_setting(text, "--direction", "utilization=lower")
        path = _setting_key(key, "--direction", text)
        side = value.lower()
        if side not in DIRECTIONS:
            raise ExpectationError(
                f"--direction {text!r}: say which side is better, higher or lower"
                f"{did_you_mean(side, DIRECTIONS)}"
            )
        out[path] = side
    return out


def parse_tolerances(texts: Iterable[str]) -> dict[str, Tolerance]:
    """``["service_level=1pp", "wait_mean=5%", "directories.sales.wait_p90=2s"]``."""
    out: dict[str, Tolerance] = {}
    for text in texts:
        key, value = _split_setting(text, "--tolerance", "service_level=1pp or wait_mean=5%")
        path = _setting_key(key, "--tolerance", text)
        try:
            out[path] = parse_tolerance(value, path.rsplit(".", 1)[-1])
        except ExpectationError as error:
            raise ExpectationError(f"--tolerance {text!r}: {error}") from None
    return out


def _setting(settings: Mapping[str, Any], path: str, metric: str) -> Any:
    """The setting for a path: given for the path itself, else for its metric."""
    if path in settings:
        return settings[path]
    return settings.get(metric)


@dataclass(frozen=True)
class Interval:
    """A difference of means with its 95% interval and the two-sided p-value of zero."""

    mean: float
    ci_low: float
    ci_high: float
    p_value: float
    df: float

    @property
    def width(self) -> float:
        return self.ci_high - self.ci_low

    @property
    def significant(self) -> bool:
        """The interval excludes zero (the change is significant at the interval's level:
        at 5% for a 95% interval)."""
        return not math.isnan(self.ci_low) and (self.ci_low > 0 or self.ci_high < 0)

    def as_dict(self) -> dict[str, float | bool | None]:
        return {
            "mean": _number(self.mean),
            "ci_low": _number(self.ci_low),
            "ci_high": _number(self.ci_high),
            "p_value": _number(self.p_value),
            "significant": self.significant,
        }


NO_INTERVAL = Interval(math.nan, math.nan, math.nan, math.nan, math.nan)


def _number(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _finite(values: Iterable[float]) -> np.ndarray:
    array = np.asarray(list(values), dtype=float)
    return array[np.isfinite(array)]


def paired_interval(
    baseline: Sequence[float], candidate: Sequence[float], confidence: float = CONFIDENCE
) -> tuple[Interval, int]:
    """Student-t interval of the mean of ``candidate[i] - baseline[i]`` and the pairs used.

    Pairs where either value is undefined (NaN: no chat of that kind in a replication)
    are left out. Identical differences give a zero-width interval (p 0, or 1 if zero);
    differences below 1e-9 of the values are rounding and count as zero.
    """
    b = np.asarray(baseline, dtype=float)
    c = np.asarray(candidate, dtype=float)
    keep = np.isfinite(b) & np.isfinite(c)
    b, c = b[keep], c[keep]
    differences = c - b
    # Equal up to rounding (3.0 vs 3.0000000000000004) is equal: no spurious significance.
    differences[np.abs(differences) <= 1e-9 * np.maximum(np.abs(b), np.abs(c))] = 0.0
    n = int(differences.size)
    if n == 0:
        return NO_INTERVAL, 0
    summary = estimate(differences.tolist(), confidence)
    if n == 1:
        return Interval(summary.mean, math.nan, math.nan, math.nan, math.nan), 1
    spread = float(differences.std(ddof=1))
    if spread == 0 or summary.ci_high - summary.ci_low <= 1e-12 * max(1.0, abs(summary.mean)):
        p_value = 1.0 if summary.mean == 0 else 0.0
        return Interval(summary.mean, summary.mean, summary.mean, p_value, n - 1), n
    p_value = float(stats.ttest_1samp(differences, 0.0).pvalue)
    return Interval(summary.mean, summary.ci_low, summary.ci_high, p_value, n - 1), n


def welch_interval(
    baseline: Sequence[float], candidate: Sequence[float], confidence: float = CONFIDENCE
) -> Interval:
    """Welch's interval for ``mean(candidate) - mean(baseline)`` from independent samples."""
    b, c = _finite(baseline), _finite(candidate)
    if b.size == 0 or c.size == 0:
        return NO_INTERVAL
    mean = float(c.mean() - b.mean())
    if b.size < 2 or c.size < 2:
        return Interval(mean, math.nan, math.nan, math.nan, math.nan)
    vb, vc = float(b.var(ddof=1)) / b.size, float(c.var(ddof=1)) / c.size
    se = math.sqrt(vb + vc)
    if se == 0:
        return Interval(mean, mean, mean, 1.0 if mean == 0 else 0.0, math.nan)
    df = (vb + vc) ** 2 / (vb**2 / (b.size - 1) + vc**2 / (c.size - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
    p_value = float(2 * stats.t.sf(abs(mean) / se, df))
    return Interval(mean, mean - half, mean + half, p_value, df)


@dataclass(frozen=True)
class Difference:
    """One metric of one scope: baseline, candidate, and their difference."""

    scope: str | None  # None (overall), "directories" or "groups"
    name: str | None
    metric: str
    baseline: Estimate
    candidate: Estimate
    difference: Interval  # paired when the runs are paired, else Welch's
    independent: Interval  # Welch's interval, for contrast
    pairs: int  # replications paired (0 when the runs are independent)

    @property
    def path(self) -> str:
        return self.metric if self.scope is None else f"{self.scope}.{self.name}.{self.metric}"

    @property
    def significant(self) -> bool:
        return self.difference.significant

    @property
    def narrowing(self) -> float:
        """Independent interval width / paired interval width (NaN if undefined)."""
        paired, independent = self.difference.width, self.independent.width
        if math.isnan(paired) or math.isnan(independent) or paired == 0:
            return math.nan
        return independent / paired

    def judge(self, direction: str | None, tolerance: Tolerance = NO_TOLERANCE) -> Judgement:
        """Better, worse or no significant difference, given the better side
        (``"higher"``, ``"lower"`` or None), and whether it is a regression: worse by
        more than ``tolerance`` with the interval's confidence (its whole interval lies
        beyond the tolerance on the worse side)."""
        interval = self.difference
        if math.isnan(interval.mean):
            return Judgement(self, direction, tolerance, NO_VALUE, False, 0.0)
        allowed = tolerance.amount(self.baseline.mean)
        if not interval.significant:
            return Judgement(self, direction, tolerance, SAME, False, allowed)
        up = interval.mean > 0
        if direction is None:
            return Judgement(self, None, tolerance, HIGHER if up else LOWER, False, allowed)
        worse = up == (direction == "lower")
        if not worse:
            return Judgement(self, direction, tolerance, BETTER, False, allowed)
        # the least worsening the interval allows, in the metric's worse direction
        least = min(abs(interval.ci_low), abs(interval.ci_high))
        return Judgement(self, direction, tolerance, WORSE, least > allowed, allowed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "scope": SCOPE_NAMES[self.scope],
            "name": self.name,
            "metric": self.metric,
            "baseline": self.baseline.as_dict(),
            "candidate": self.candidate.as_dict(),
            "difference": {**self.difference.as_dict(), "pairs": self.pairs},
            "independent": self.independent.as_dict(),
        }


@dataclass(frozen=True)
class Judgement:
    """The verdict on one difference: ``verdict`` is better, worse, no significant
    difference, higher/lower (no better side) or no value; ``regression`` is worse beyond
    the tolerance (``allowed``, in the metric's unit)."""

    difference: Difference
    direction: str | None
    tolerance: Tolerance
    verdict: str
    regression: bool
    allowed: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "verdict": self.verdict,
            "regression": self.regression,
            "tolerance": self.tolerance.text,
            "allowed": _number(self.allowed),
        }


@dataclass
class Comparison:
    """Every shared metric of two runs; ``notes`` says what was left out."""

    baseline_label: str
    candidate_label: str
    baseline_seed: int
    candidate_seed: int
    baseline_replications: int
    candidate_replications: int
    paired: bool
    pairs: int
    differences: list[Difference]
    notes: list[str] = field(default_factory=list)
    confidence: float = CONFIDENCE

    def judgements(
        self,
        directions: Mapping[str, str | None] | None = None,
        tolerances: Mapping[str, Tolerance] | None = None,
    ) -> list[Judgement]:
        """A :class:`Judgement` of every difference, in order. ``directions`` and
        ``tolerances`` are keyed by path (``directories.sales.wait_p90``) or by metric
        (every scope); a path's own setting wins. Directions default to
        :func:`default_direction`; tolerances to none."""
        directions, tolerances = directions or {}, tolerances or {}
        out = []
        for d in self.differences:
            direction = _setting(directions, d.path, d.metric)
            if direction is None:
                direction = default_direction(d.metric)
            tolerance = _setting(tolerances, d.path, d.metric) or NO_TOLERANCE
            out.append(d.judge(direction, tolerance))
        return out

    def lookup(self, path: str) -> Difference:
        """``"handoff_gap_p95"``, ``"directories.sales.wait_p90"``, ``"groups.x.utilization"``."""
        for difference in self.differences:
            if difference.path == path:
                return difference
        raise KeyError(f"no metric {path!r} in this comparison")

    def significant(self) -> list[Difference]:
        return [d for d in self.differences if d.significant]

    def frame(self) -> pd.DataFrame:
        """Long table: one row per metric and scope, with both intervals."""
        rows = []
        for d in self.differences:
            rows.append(
                {
                    "scope": SCOPE_NAMES[d.scope],
                    "name": d.name or "all",
                    "metric": d.metric,
                    "baseline": d.baseline.mean,
                    "candidate": d.candidate.mean,
                    "difference": d.difference.mean,
                    "ci_low": d.difference.ci_low,
                    "ci_high": d.difference.ci_high,
                    "p_value": d.difference.p_value,
                    "significant": d.significant,
                    "independent_ci_low": d.independent.ci_low,
                    "independent_ci_high": d.independent.ci_high,
                    "pairs": d.pairs,
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": {
                "label": self.baseline_label,
                "seed": self.baseline_seed,
                "replications": self.baseline_replications,
            },
            "candidate": {
                "label": self.candidate_label,
                "seed": self.candidate_seed,
                "replications": self.candidate_replications,
            },
            "paired": self.paired,
            "pairs": self.pairs,
            "confidence": self.confidence,
            "notes": list(self.notes),
            "differences": [d.as_dict() for d in self.differences],
        }


def _values(runs: Sequence[ReplicationMetrics], scope: str | None, name: str | None, metric: str):
    """The metric's value in each replication (NaN where a run lacks it)."""
    out = []
    for run in runs:
        table: Mapping[str, float]
        if scope is None:
            table = run.overall
        elif scope == "directories":
            table = run.directories.get(str(name), {})
        else:
            table = run.groups.get(str(name), {})
        out.append(float(table.get(metric, math.nan)))
    return out


def _names(runs: Sequence[ReplicationMetrics], scope: str) -> list[str]:
    if not runs:
        return []
    return list(getattr(runs[0], scope))


def _metrics(runs: Sequence[ReplicationMetrics], scope: str | None, name: str | None) -> list[str]:
    if not runs:
        return []
    first = runs[0]
    table = (
        first.overall
        if scope is None
        else (first.directories if scope == "directories" else first.groups).get(str(name), {})
    )
    return [m for m in METRICS if m in table]


def _left_out(kind: str, only_baseline: list[str], only_candidate: list[str]) -> list[str]:
    notes = []
    if only_baseline:
        notes.append(f"{kind} only in the baseline, left out: {', '.join(only_baseline)}")
    if only_candidate:
        notes.append(f"{kind} only in the candidate, left out: {', '.join(only_candidate)}")
    return notes


def compare(
    baseline: Results | str | Path,
    candidate: Results | str | Path,
    baseline_label: str | None = None,
    candidate_label: str | None = None,
    *,
    confidence: float = CONFIDENCE,
    allow_unrelated: bool = False,
) -> Comparison:
    """Compare two runs (``Results`` or saved ``--out`` folders), paired when they share a
    seed, on every metric, directory and agent group they have in common, with intervals
    at ``confidence``. Runs that share no directory and no agent group raise
    :class:`UnrelatedError` unless ``allow_unrelated``."""
    base = load(baseline)
    cand = load(candidate)
    problem = unrelated_problem(
        (base.scenario.directories, base.scenario.agents),
        (cand.scenario.directories, cand.scenario.agents),
    )
    if problem and not allow_unrelated:
        raise UnrelatedError(problem)
    base_runs, cand_runs = base.replication_metrics, cand.replication_metrics
    notes: list[str] = []
    paired = base.seed == cand.seed
    pairs = min(len(base_runs), len(cand_runs)) if paired else 0
    if not paired:
        notes.append(
            f"the seeds differ ({base.seed} vs {cand.seed}): the runs share no random "
            "numbers, so differences use Welch's interval for independent samples"
        )
    elif len(base_runs) != len(cand_runs):
        longer = "baseline" if len(base_runs) > len(cand_runs) else "candidate"
        extra = abs(len(base_runs) - len(cand_runs))
        notes.append(
            f"replications differ ({len(base_runs)} vs {len(cand_runs)}): {pairs} paired; "
            f"the {longer}'s last {extra} are used in its means but not in the differences"
        )
    differences: list[Difference] = []
    base_summary = results_summary(base, confidence)
    cand_summary = results_summary(cand, confidence)

    def add(scope: str | None, name: str | None) -> None:
        base_metrics, cand_metrics = (
            _metrics(base_runs, scope, name),
            _metrics(cand_runs, scope, name),
        )
        where = "overall" if scope is None else f"{scope}.{name}"
        missing = [m for m in base_metrics if m not in cand_metrics] + [
            m for m in cand_metrics if m not in base_metrics
        ]
        if missing:
            notes.append(f"{where}: metrics in one run only, left out: {', '.join(missing)}")
        for metric in (m for m in base_metrics if m in cand_metrics):
            b_values = _values(base_runs, scope, name, metric)
            c_values = _values(cand_runs, scope, name, metric)
            independent = welch_interval(b_values, c_values, confidence)
            if paired:
                difference, used = paired_interval(b_values[:pairs], c_values[:pairs], confidence)
            else:
                difference, used = independent, 0
            path = metric if scope is None else f"{scope}.{name}.{metric}"
            differences.append(
                Difference(
                    scope,
                    name,
                    metric,
                    base_summary.lookup(path),
                    cand_summary.lookup(path),
                    difference,
                    independent,
                    used,
                )
            )

    add(None, None)
    for scope, kind in (("directories", "directories"), ("groups", "agent groups")):
        base_names, cand_names = _names(base_runs, scope), _names(cand_runs, scope)
        shared = [n for n in base_names if n in cand_names]
        left = _left_out(
            kind,
            [n for n in base_names if n not in cand_names],
            [n for n in cand_names if n not in base_names],
        )
        if left and scope == "directories":
            left.append("overall metrics cover different sets of directories")
        notes += left
        for name in shared:
            add(scope, name)
    return Comparison(
        baseline_label or base.scenario.name,
        candidate_label or cand.scenario.name,
        base.seed,
        cand.seed,
        len(base_runs),
        len(cand_runs),
        paired,
        pairs,
        differences,
        notes,
        confidence,
    )


def load(source: Results | str | Path) -> Results:
    """``Results`` as given, or loaded from a folder written by ``ccsim run --out``."""
    if isinstance(source, Results):
        return source
    from ccsim.output import load_results

    return load_results(source)


def run_pair(
    baseline: Scenario,
    candidate: Scenario,
    replications: int | None = None,
    seed: int | None = None,
    workers: int | None = 1,
) -> tuple[Results, Results]:
    """Run both scenarios on common random numbers: the same seed (default: the
    baseline's) and the same replication indices (default count: the baseline's)."""
    replications = baseline.replications if replications is None else replications
    seed = baseline.seed if seed is None else seed
    runs = tuple(
        simulate(
            scenario,
            replications=replications,
            seed=seed,
            workers=workers,
            record_events=False,
            keep_records=False,
        )
        for scenario in (baseline, candidate)
    )
    return runs[0], runs[1]


def compare_scenarios(
    baseline: Scenario,
    candidate: Scenario,
    replications: int | None = None,
    seed: int | None = None,
    workers: int | None = 1,
    *,
    confidence: float = CONFIDENCE,
    allow_unrelated: bool = False,
) -> Comparison:
    """:func:`run_pair` then :func:`compare`."""
    if not allow_unrelated:
        problem = unrelated_problem(
            (baseline.directories, baseline.agents), (candidate.directories, candidate.agents)
        )
        if problem:
            raise UnrelatedError(problem)
    return compare(
        *run_pair(baseline, candidate, replications, seed, workers),
        confidence=confidence,
        allow_unrelated=allow_unrelated,
    )


__all__ = [
    "HIGHER_IS_BETTER",
    "LOWER_IS_BETTER",
    "NO_DIRECTION",
    "Comparison",
    "Difference",
    "Interval",
    "Judgement",
    "Tolerance",
    "UnrelatedError",
    "compare",
    "compare_scenarios",
    "default_direction",
    "load",
    "paired_interval",
    "parse_directions",
    "parse_tolerance",
    "parse_tolerances",
    "run_pair",
    "unrelated_problem",
    "welch_interval",
]
