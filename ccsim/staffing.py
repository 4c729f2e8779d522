"""Staffing search: the smallest head count of one agent group that meets every target.

A target is an expectation of :mod:`ccsim.expect` (``service_level >= 80%``,
``directories.sales.wait_p90 <= 60s``); it is met when the whole 95% confidence interval
across replications lies on the right side of the limit, not just the mean. A target
without a scope applies to the group itself: a chat metric to every directory the group
serves (each must meet it), an agent metric to the group; ``overall.METRIC`` means the
whole center.

The search starts from an Erlang estimate (:mod:`ccsim.theory`: Erlang C, or Erlang A
when the directories have patience) computed from the mean arrival, handle, wrap-up and
patience times of the group's directories, with ``max_chats`` slots an agent. For other
distributions this is only a rough guide, which the simulation then confirms: it gallops
down (or up) from the estimate and bisects to the smallest count that passes, with one
below it that fails. Every candidate runs the same replications with the same seed
(common random numbers), so counts are compared on the same arrivals and the comparison
is not blurred by noise between candidates. The search assumes that adding agents never
makes a target worse, which holds for these metrics up to simulation noise.

:func:`staff_per_interval` staffs each interval (an hour, say) of a time-varying day
separately: it simulates the whole day with one shift per interval, raises the
intervals that fail and lowers the others while they keep passing, and returns the
resulting shifts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ccsim import theory
from ccsim.api import Replication, simulate
from ccsim.executors import Executor, open_executor
from ccsim.expect import Expectation, ExpectationError, parse_expectation
from ccsim.results import (
    AGENT_METRICS,
    CHAT_METRICS,
    QUEUE_METRICS,
    Estimate,
    ReplicationMetrics,
    Summary,
    chat_metrics_between,
)
from ccsim.scenario import Scenario, limits
from ccsim.scenario.schema import Shift, ToDirectory
from ccsim.scenario.units import compact_duration

if TYPE_CHECKING:
    from distributed import Client

    from ccsim.model import Records

#: Give up on a per-interval search after this many simulations of the day.
MAX_SIMULATIONS = 200


class StaffingError(ValueError):
    """Bad input: an unknown group, a target that cannot be read or does not apply."""


class NotReachable(RuntimeError):
    """No head count up to the limit meets every target."""

    def __init__(self, message: str, evaluations: Sequence[Evaluation] = ()) -> None:
        super().__init__(message)
        self.evaluations = list(evaluations)


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """An expectation and the summary paths it is checked at."""

    expectation: Expectation
    paths: tuple[str, ...]

    @property
    def text(self) -> str:
        return self.expectation.text


@dataclass(frozen=True)
class Check:
    """One target at one path on one simulation: met or not, with its estimate."""

    target: str
    path: str
    metric: str
    holds: bool
    estimate: Estimate
    reason: str


def parse_targets(texts: Iterable[str], scenario: Scenario, group: str) -> list[Target]:
    """Read ``--target`` texts and resolve each to the paths it applies to.

    Raises :class:`StaffingError` with a readable message (a did-you-mean for misspelt
    metrics, directories and groups; comparisons other than <, <=, >, >=).
    """
    check_group(scenario, group)
    served = scenario.agents[group].directories
    targets = []
    for text in texts:
        try:
            expectation = parse_expectation(text)
            expectation.check_names(scenario.directories, scenario.agents)
        except ExpectationError as error:
            raise StaffingError(str(error)) from None
        if expectation.op == "==":
            raise StaffingError(
                f"{expectation.text!r}: a staffing target needs <, <=, > or >=, not =="
            )
        metric = expectation.metric
        if expectation.scope is not None:
            paths: tuple[str, ...] = (expectation.path,)
        elif expectation.text.startswith("overall."):
            paths = (metric,)
        elif metric in AGENT_METRICS:
            paths = (f"groups.{group}.{metric}",)
        elif not served:
            raise StaffingError(
                f"{expectation.text!r}: group {group!r} serves no directory; name where to "
                f"measure it, e.g. directories.NAME.{metric} or overall.{metric}"
            )
        else:
            paths = tuple(f"directories.{name}.{metric}" for name in served)
        targets.append(Target(expectation, paths))
    if not targets:
        raise StaffingError("give at least one target, e.g. --target 'service_level >= 0.8'")
    return targets


def check_group(scenario: Scenario, group: str) -> None:
    if group not in scenario.agents:
        from difflib import get_close_matches

        close = get_close_matches(group, list(scenario.agents), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise StaffingError(
            f"unknown agent group {group!r}{hint}; the scenario has {', '.join(scenario.agents)}"
        )


def check_targets(targets: Sequence[Target], summary: Summary) -> tuple[Check, ...]:
    """Every target at every path, met only if its whole 95% interval is on the right side.

    A chat metric of a directory that received no chats at all holds vacuously.
    """
    checks = []
    for target in targets:
        for path in target.paths:
            estimate = summary.lookup(path)
            verdict = target.expectation.evaluate(estimate, confidence=True)
            holds, reason = verdict.holds, verdict.reason
            if not holds and _no_chats(summary, path):
                holds, reason = True, ""
            checks.append(
                Check(target.text, path, target.expectation.metric, holds, estimate, reason)
            )
    return tuple(checks)


def _no_chats(summary: Summary, path: str) -> bool:
    metric = path.rsplit(".", 1)[-1]
    if metric not in CHAT_METRICS:
        return False
    # a directory that only receives transfers has offered 0 but stays in its queue
    count = "queued" if metric in QUEUE_METRICS else "offered"
    scope = path.rsplit(".", 1)[0] + f".{count}" if "." in path else count
    try:
        offered = summary.lookup(scope)
    except KeyError:
        return False
    return offered.mean == 0


# --------------------------------------------------------------------------- Erlang estimate


def with_count(scenario: Scenario, group: str, count: int) -> Scenario:
    """The scenario with ``count`` agents in ``group`` all day (shifts replaced)."""
    spec = scenario.agents[group].model_copy(update={"count": count, "shifts": None})
    return scenario.model_copy(update={"agents": {**scenario.agents, group: spec}})


def with_shifts(
    scenario: Scenario, group: str, shifts: Sequence[tuple[float, float, int]]
) -> Scenario:
    """The scenario with ``group`` staffed by ``(start, end, count)`` shifts."""
    pieces = tuple(Shift.model_validate({"from": a, "to": b, "count": c}) for a, b, c in shifts)
    spec = scenario.agents[group].model_copy(update={"count": None, "shifts": pieces})
    return scenario.model_copy(update={"agents": {**scenario.agents, group: spec}})


def arrival_rates(scenario: Scenario, start: float, end: float) -> dict[str, float]:
    """Mean arrival rate of each directory over ``[start, end)``, transfers included
    (directory transfers routed as in a Jackson network)."""
    length = end - start
    external = {
        name: d.arrivals.expected_count(start, end) / length if d.arrivals else 0.0
        for name, d in scenario.directories.items()
    }
    routing: dict[str, dict[str, float]] = {}
    for rule in scenario.transfers:
        if isinstance(rule.to, ToDirectory) and rule.source_directory is not None:
            row = routing.setdefault(rule.source_directory, {})
            row[rule.to.directory] = row.get(rule.to.directory, 0.0) + rule.probability
    try:
        return theory.jackson_arrival_rates(external, routing)
    except ValueError:  # a transfer loop: fall back to the external rates
        return external


def erlang_estimate(
    scenario: Scenario,
    group: str,
    targets: Sequence[Target],
    start: float | None = None,
    end: float | None = None,
) -> int:
    """Agents the group needs by queueing theory, over ``[start, end)`` (default: the
    measured part of the day), as the simulation search's starting point.

    The group's directories are pooled into one queue with the mean handle plus wrap-up
    time, the mean patience (Erlang A; Erlang C if a directory has none) and
    ``max_chats`` independent slots an agent. Targets with no formula (transfer or
    handoff metrics, a group serving no directory) fall back to the offered load.
    """
    spec = scenario.agents[group]
    start = scenario.warmup if start is None else start
    end = scenario.duration if end is None else end
    rates = arrival_rates(scenario, start, end)
    served = [d for d in spec.directories if rates.get(d, 0.0) > 0]
    arrival = sum(rates[d] for d in served)
    if arrival <= 0:
        return 0 if spec.directories else 1
    work = (
        sum(
            rates[d]
            * (scenario.directories[d].handle_time.mean + scenario.directories[d].wrap_up.mean)
            for d in served
        )
        / arrival
    )
    service_rate = 1 / work
    patiences = [scenario.directories[d].patience for d in served]
    patience_rate = (
        None
        if any(p is None for p in patiences)
        else arrival / sum(rates[d] * scenario.directories[d].patience.mean for d in served)  # type: ignore[union-attr]
    )
    threshold = min(scenario.directories[d].service_level for d in served)
    load = arrival / service_rate
    slots = [math.floor(load) + 1 if patience_rate is None else math.ceil(load)]
    for target in targets:
        expectation = target.expectation
        lower_is_better = expectation.op in ("<", "<=")
        limit = expectation.threshold
        try:
            if expectation.metric == "service_level" and not lower_is_better:
                slots.append(
                    theory.servers_for_service_level(
                        arrival, service_rate, min(limit, 1 - 1e-9), threshold, patience_rate
                    )
                )
            elif expectation.metric == "abandon_rate" and lower_is_better and patience_rate:
                slots.append(
                    theory.servers_for_abandonment(
                        arrival, service_rate, patience_rate, max(limit, 1e-9)
                    )
                )
            elif expectation.metric == "wait_mean" and lower_is_better:
                slots.append(
                    theory.servers_for_wait(arrival, service_rate, max(limit, 1e-9), patience_rate)
                )
        except ValueError:  # a limit the formula cannot reach: the load is the guide
            continue
    return max(1, math.ceil(max(slots) / spec.max_chats))


# --------------------------------------------------------------------------- all-day search


@dataclass(frozen=True)
class Evaluation:
    """One simulation of a candidate staffing and how it did on every target."""

    count: int
    checks: tuple[Check, ...]

    @property
    def meets(self) -> bool:
        return all(check.holds for check in self.checks)


@dataclass
class StaffingResult:
    """The smallest head count that meets every target, and how the search got there."""

    group: str
    count: int
    estimate: int
    replications: int
    seed: int
    evaluations: list[Evaluation] = field(default_factory=list)

    @property
    def simulations(self) -> int:
        return len(self.evaluations)

    def evaluation(self, count: int) -> Evaluation | None:
        return next((e for e in self.evaluations if e.count == count), None)


def smallest_passing(meets: Callable[[int], bool], start: int, lowest: int, highest: int) -> int:
    """Smallest ``c`` in ``[lowest, highest]`` with ``meets(c)`` (see
    :func:`ccsim.theory.smallest_meeting`); raises :class:`NotReachable` if ``highest``
    fails."""
    count = theory.smallest_meeting(meets, start, lowest, highest)
    if count is None:
        raise NotReachable(f"no head count up to {highest} meets every target")
    return count


def staff(
    scenario: Scenario,
    group: str,
    targets: Sequence[str] | Sequence[Target],
    replications: int | None = None,
    seed: int | None = None,
    *,
    max_agents: int | None = None,
    workers: int | None = 1,
    executor: Executor | None = None,
    client: Client | None = None,
    scheduler: str | None = None,
    on_replication: Callable[[Replication], None] | None = None,
    on_simulation: Callable[[int, int], None] | None = None,
) -> StaffingResult:
    """Smallest head count of ``group`` (all day) meeting every target with 95% confidence.

    ``max_agents`` bounds the search (default: twice the estimate plus 20). Every
    simulation uses ``replications`` (default: the scenario's, at least 2) and ``seed``.
    ``on_simulation(number, count)`` is called before each simulation.
    """
    resolved = _resolve(targets, scenario, group)
    replications = max(2, scenario.replications if replications is None else replications)
    seed = scenario.seed if seed is None else seed
    estimate = erlang_estimate(scenario, group, resolved)
    highest = max_agents if max_agents is not None else 2 * estimate + 20
    result = StaffingResult(group, -1, estimate, replications, seed)
    cache: dict[int, Evaluation] = {}

    with open_executor(
        workers, replications, executor=executor, client=client, scheduler=scheduler
    ) as run:

        def meets(count: int) -> bool:
            if count not in cache:
                if on_simulation is not None:
                    on_simulation(len(cache) + 1, count)
                results = simulate(
                    with_count(scenario, group, count),
                    replications,
                    seed,
                    record_events=False,
                    keep_records=False,
                    on_replication=on_replication,
                    executor=run,
                )
                cache[count] = Evaluation(count, check_targets(resolved, results.summary_table))
                result.evaluations.append(cache[count])
            return cache[count].meets

        try:
            result.count = smallest_passing(meets, estimate, 0, highest)
        except NotReachable as error:
            raise NotReachable(str(error), result.evaluations) from None
    return result


def _resolve(
    targets: Sequence[str] | Sequence[Target], scenario: Scenario, group: str
) -> list[Target]:
    if all(isinstance(t, Target) for t in targets):
        check_group(scenario, group)
        return list(targets)  # type: ignore[arg-type]
    return parse_targets([str(t) for t in targets], scenario, group)


# --------------------------------------------------------------------------- per interval


def interval_edges(duration: float, length: float) -> list[tuple[float, float]]:
    """``[0, duration)`` cut into pieces of ``length`` (the last may be shorter)."""
    if not length > 0:
        raise StaffingError("the interval length must be positive, e.g. 1h")
    count = math.ceil(duration / length - 1e-9)
    return [(k * length, min((k + 1) * length, duration)) for k in range(count)]


def interval_metrics(
    records: Records, thresholds: Mapping[str, float], start: float, end: float
) -> ReplicationMetrics:
    """Chat metrics of the chats that arrived in ``[start, end)`` (and after warm-up),
    overall and per directory, with the same definitions as the whole-day metrics."""
    return chat_metrics_between(records, thresholds, start, end)


@dataclass(frozen=True)
class IntervalPlan:
    """The head count of one interval, its Erlang estimate and its final checks."""

    start: float
    end: float
    count: int
    estimate: int
    measured: bool  # False when the interval lies within the warm-up: Erlang only
    checks: tuple[Check, ...] = ()

    @property
    def meets(self) -> bool:
        return all(check.holds for check in self.checks)


@dataclass
class IntervalStaffingResult:
    """Shifts for one group, one per interval, each meeting every target."""

    group: str
    intervals: list[IntervalPlan]
    replications: int
    seed: int
    simulations: int

    def shifts(self) -> list[tuple[float, float, int]]:
        """``(start, end, count)``, adjacent intervals with the same count merged."""
        merged: list[tuple[float, float, int]] = []
        for plan in self.intervals:
            if merged and merged[-1][2] == plan.count:
                merged[-1] = (merged[-1][0], plan.end, plan.count)
            else:
                merged.append((plan.start, plan.end, plan.count))
        return merged

    def yaml(self) -> str:
        """The group's shifts as scenario YAML, to paste into the scenario file."""
        lines = ["agents:", f"  {self.group}:", "    shifts:"]
        for start, end, count in self.shifts():
            lines.append(f"      - {{from: {clock(start)}, to: {clock(end)}, count: {count}}}")
        return "\n".join(lines) + "\n"


def interval_problem(interval: float, duration: float) -> str | None:
    """Why ``interval`` cannot be staffed separately over a run of ``duration``, or None.

    Each interval is searched by simulation, so the count is capped
    (``limits.MAX_STAFF_INTERVALS``) and intervals are at least ``MIN_STAFF_INTERVAL_S``.
    """
    shortest = limits.MIN_STAFF_INTERVAL_S
    if not interval >= shortest:
        return (
            f"--per-interval must be at least {compact_duration(shortest)}, "
            f"got {compact_duration(interval)}"
        )
    count = math.ceil(duration / interval)
    if count > limits.MAX_STAFF_INTERVALS:
        return (
            f"--per-interval {compact_duration(interval)} cuts the run "
            f"({compact_duration(duration)}) into {count:,} intervals, more than the "
            f"{limits.MAX_STAFF_INTERVALS:,} allowed; use longer intervals"
        )
    return None


def staff_per_interval(
    scenario: Scenario,
    group: str,
    targets: Sequence[str] | Sequence[Target],
    interval: float,
    replications: int | None = None,
    seed: int | None = None,
    *,
    max_agents: int | None = None,
    max_simulations: int = MAX_SIMULATIONS,
    workers: int | None = 1,
    executor: Executor | None = None,
    client: Client | None = None,
    scheduler: str | None = None,
    on_replication: Callable[[Replication], None] | None = None,
    on_simulation: Callable[[int, Sequence[int]], None] | None = None,
) -> IntervalStaffingResult:
    """Staff ``group`` with one shift per ``interval`` seconds so that every measured
    interval meets every target (chat metrics, measured on the chats arriving in it).

    Starts from each interval's Erlang estimate; simulates the whole day; adds an agent
    to each failing interval until all pass; then takes one away from every other
    interval that may still shrink (even ones, then odd ones), keeping the cuts that
    pass and freezing the intervals that fail, until none may shrink. Intervals within
    the warm-up keep their estimate.
    """
    resolved = _resolve(targets, scenario, group)
    for target in resolved:
        if target.expectation.metric not in CHAT_METRICS or any(
            p.startswith("groups.") for p in target.paths
        ):
            raise StaffingError(
                f"{target.text!r}: per-interval staffing takes targets on chat metrics "
                f"(service_level, abandon_rate, wait_p90, ...), measured by arrival interval"
            )
    problem = interval_problem(interval, scenario.duration)
    if problem:
        raise StaffingError(problem)
    replications = max(2, scenario.replications if replications is None else replications)
    seed = scenario.seed if seed is None else seed
    edges = interval_edges(scenario.duration, interval)
    measured = [end > scenario.warmup for _, end in edges]
    estimates = [erlang_estimate(scenario, group, resolved, a, b) for a, b in edges]
    counts = list(estimates)
    cap = max_agents if max_agents is not None else 2 * max(estimates) + 20
    thresholds = {name: d.service_level for name, d in scenario.directories.items()}
    simulations = 0

    with open_executor(
        workers, replications, executor=executor, client=client, scheduler=scheduler
    ) as run:

        def evaluate(candidate: Sequence[int]) -> list[tuple[Check, ...]]:
            nonlocal simulations
            if simulations >= max_simulations:
                raise NotReachable(
                    f"no staffing meets every target within {max_simulations} simulations"
                )
            simulations += 1
            if on_simulation is not None:
                on_simulation(simulations, candidate)
            shifts = [(a, b, c) for (a, b), c in zip(edges, candidate, strict=True)]
            results = simulate(
                with_shifts(scenario, group, shifts),
                replications,
                seed,
                record_events=False,
                keep_records=True,
                on_replication=on_replication,
                executor=run,
            )
            checks = []
            for (a, b), is_measured in zip(edges, measured, strict=True):
                if not is_measured:
                    checks.append(())
                    continue
                summary = Summary.from_replications(
                    [interval_metrics(r, thresholds, a, b) for r in results.records]
                )
                checks.append(check_targets(resolved, summary))
            return checks

        def failing(checks: Sequence[tuple[Check, ...]]) -> list[int]:
            return [k for k, c in enumerate(checks) if not all(x.holds for x in c)]

        def raise_until_passing(candidate: list[int]) -> list[tuple[Check, ...]]:
            checks = evaluate(candidate)
            while bad := failing(checks):
                for k in bad:
                    if candidate[k] >= cap:
                        raise NotReachable(
                            f"interval {_span(*edges[k])} needs more than {cap} agents"
                        )
                    candidate[k] += 1
                    frozen.add(k)
                checks = evaluate(candidate)
            return checks

        frozen = {k for k, m in enumerate(measured) if not m}
        checks = raise_until_passing(counts)
        parity = 0
        while shrinkable := [k for k in range(len(edges)) if k not in frozen and counts[k] > 0]:
            # Every other interval at a time: a backlog carried into the next interval
            # then comes from an interval that kept its count.
            cut = [k for k in shrinkable if k % 2 == parity] or shrinkable
            parity = 1 - parity
            trial = [c - 1 if k in cut else c for k, c in enumerate(counts)]
            trial_checks = evaluate(trial)
            bad = failing(trial_checks)
            if not bad:
                counts, checks = trial, trial_checks
                continue
            for k in bad:
                if k in cut:
                    trial[k] += 1
                    frozen.add(k)
            counts = trial
            checks = raise_until_passing(counts)

    plans = [
        IntervalPlan(a, b, counts[k], estimates[k], measured[k], checks[k])
        for k, (a, b) in enumerate(edges)
    ]
    return IntervalStaffingResult(group, plans, replications, seed, simulations)


def clock(seconds: float) -> str:
    """A time of day as the scenario format writes it (``0h``, ``1h30m``)."""
    return "0h" if seconds == 0 else compact_duration(seconds)


def _span(start: float, end: float) -> str:
    return f"{clock(start)}-{clock(end)}"


__all__ = [
    "Check",
    "Evaluation",
    "IntervalPlan",
    "IntervalStaffingResult",
    "NotReachable",
    "StaffingError",
    "StaffingResult",
    "Target",
    "erlang_estimate",
    "interval_metrics",
    "parse_targets",
    "smallest_passing",
    "staff",
    "staff_per_interval",
    "with_count",
    "with_shifts",
]
