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
share; :attr:`Comparison.notes` says what was left out and why.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ccsim.api import Results, simulate
from ccsim.results import METRICS, Estimate, ReplicationMetrics, estimate
from ccsim.scenario import Scenario

CONFIDENCE = 0.95
SCOPE_NAMES = {None: "overall", "directories": "directory", "groups": "group"}


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
        """The interval excludes zero (the change is significant at the 5% level)."""
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
            "confidence": CONFIDENCE,
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
) -> Comparison:
    """Compare two runs (``Results`` or saved ``--out`` folders), paired when they share a
    seed, on every metric, directory and agent group they have in common."""
    base = load(baseline)
    cand = load(candidate)
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
    base_summary, cand_summary = base.summary_table, cand.summary_table

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
            independent = welch_interval(b_values, c_values)
            if paired:
                difference, used = paired_interval(b_values[:pairs], c_values[:pairs])
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
) -> Comparison:
    """:func:`run_pair` then :func:`compare`."""
    return compare(*run_pair(baseline, candidate, replications, seed, workers))


__all__ = [
    "Comparison",
    "Difference",
    "Interval",
    "compare",
    "compare_scenarios",
    "load",
    "paired_interval",
    "run_pair",
    "welch_interval",
]
