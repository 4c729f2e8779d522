"""Staffing search: the smallest head counts of one or more agent groups that meet every
target, without taking from another directory what it had.

A target is an expectation of :mod:`ccsim.expect` (``service_level >= 80%``,
``directories.sales.wait_p90 <= 60s``); it is met when the whole confidence interval
(95% unless ``confidence`` says otherwise) across replications lies on the right side of
the limit, not just the mean. A target without a scope applies to the staffed groups: a
chat metric to every directory any of them serves (each must meet it), an agent metric to
each staffed group; ``overall.METRIC`` means the whole center.

**Shared agents.** A group shared by several directories, or a directory served by
several groups, links the directories: fewer agents in one group can make a directory
miss a target that it met before. So every target's statement is also checked at every
*other* directory on the answer (a chat-metric target ``service_level >= 80%`` on
``directories.sales`` is also checked as ``directories.support.service_level >= 80%``).
When one fails there, the scenario as given is simulated too (once): if it held as
given, the change lost it, and it is *protected*: it becomes a target (in that interval,
per interval) and the search goes on from the answer (``protect=False``: only a warning).
Each answer says which check binds: the ones that fail with one agent fewer (per
interval: the one with the least room).

**Search.** It starts from an Erlang estimate (:mod:`ccsim.theory`: Erlang C, or Erlang A
when the directories have patience) computed from the mean arrival, handle, wrap-up and
patience times of the group's directories, with ``max_chats`` slots an agent: for other
distributions only a rough guide, which the simulation then confirms. One group gallops
down (or up) from the estimate and bisects to the smallest count that passes, with one
below it that fails. Several groups are raised together until every target holds (each
failing check raises the staffed groups that serve its directory, in growing steps), then
each group in turn is lowered to its smallest passing count with the others fixed; the
result is minimal in the sense that no single group can lose an agent. A group with
shifts keeps them: the search scales every shift by the same factor (it searches the
largest shift's count and rounds the others up in proportion). The search assumes that
adding agents never makes a target worse, which holds for these metrics up to
simulation noise.

Every candidate runs the same replications with the same seed (common random numbers), so
counts are compared on the same arrivals. Each distinct candidate scenario is simulated
once (results are cached by the scenario's digest), and all candidates share one
executor (one pool of worker processes).

**Early stopping** (:class:`Sequential`). Replications run in rounds: a first look after
``minimum`` replications (default 6), then each time the count doubles (12, 24, ...), and
a last look at the number asked for, ``N``. A look decides a candidate when one of its
checks fails for sure (the whole interval on the wrong side: the candidate is rejected)
or every check holds (the whole interval on the right side); per interval, every
interval must be decided, or one fail for sure. With ``K`` looks in all, an interim
look judges at confidence ``1 - (1 - c) / K`` (a Bonferroni split of the error
``1 - c`` over the looks; c = 0.95 and N = 10 give looks at 6 and 10, and 97.5% at the
first), and the last look is the ordinary rule at confidence ``c``, so a candidate that
is not decided early is judged exactly as without early stopping. A wrong verdict on a
check (passing a check whose true mean misses the limit, say) needs one interval to miss
the true mean on that side: at most ``(1 - c) / (2K)`` at each interim look and
``(1 - c) / 2`` at the last, ``(1 - c)(2K - 1) / (2K)`` in all (3.75% for c = 0.95 and
K = 2, against 2.5% for the fixed-N rule alone). No candidate is decided on fewer than
``minimum`` replications; ``early_stop=False`` runs all ``N`` every time. The
replications used are the first ones of the same seed, so a candidate's verdict does not
depend on what was simulated before it.

:func:`staff_per_interval` staffs each interval (an hour, say) of a time-varying day
separately: it simulates the whole day with one shift per interval, raises the
intervals that fail and lowers the others while they keep passing, and returns the
resulting shifts (which replace the group's shifts or count).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ccsim import theory
from ccsim.executors import Executor, Task, open_executor
from ccsim.expect import COMPARISONS, Expectation, ExpectationError, parse_expectation
from ccsim.results import (
    AGENT_METRICS,
    CHAT_METRICS,
    QUEUE_METRICS,
    Estimate,
    ReplicationMetrics,
    chat_metrics_between,
    estimate,
    feasible,
    format_interval,
    format_metric,
)
from ccsim.scenario import Scenario, limits
from ccsim.scenario.schema import Shift, ToDirectory
from ccsim.scenario.units import compact_duration

if TYPE_CHECKING:
    from distributed import Client

    from ccsim.api import Replication
    from ccsim.model import Records
    from ccsim.results import Summary

#: Give up on a per-interval search after this many simulations of the day.
MAX_SIMULATIONS = 200
#: The default confidence level of every target's interval.
DEFAULT_CONFIDENCE = 0.95

Counts = tuple[int, ...]


class StaffingError(ValueError):
    """Bad input: an unknown group, a target that cannot be read or does not apply."""


class NotReachable(RuntimeError):
    """No head count up to the limit meets every target."""

    def __init__(
        self, message: str, evaluations: Sequence[Evaluation | IntervalEvaluation] = ()
    ) -> None:
        super().__init__(message)
        self.evaluations = list(evaluations)


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """An expectation and the summary paths it is checked at.

    ``guard`` marks a target's statement checked at another directory to protect what
    that directory met before the change (see the module's notes on shared agents)."""

    expectation: Expectation
    paths: tuple[str, ...]
    guard: bool = False

    @property
    def text(self) -> str:
        return self.expectation.text


@dataclass(frozen=True)
class Check:
    """One target at one path on one simulation: met or not, with its estimate.

    ``decided``: the verdict cannot change with more replications at this confidence (it
    holds, or the whole interval lies on the wrong side). ``guard``: a protected check
    (met before the change), not one of the targets asked for."""

    target: str
    path: str
    metric: str
    holds: bool
    estimate: Estimate
    reason: str
    decided: bool = True
    guard: bool = False
    op: str = ""
    threshold: float = math.nan

    @property
    def limit_text(self) -> str:
        """``>= 80%``: the comparison and the limit (the path names the metric)."""
        return f"{self.op} {format_metric(self.metric, self.threshold)}"


def _as_groups(groups: str | Sequence[str]) -> tuple[str, ...]:
    names = (groups,) if isinstance(groups, str) else tuple(groups)
    if not names:
        raise StaffingError("give at least one agent group to staff (--group NAME)")
    duplicated = sorted({g for g in names if names.count(g) > 1})
    if duplicated:
        raise StaffingError(f"group {duplicated[0]!r} is given more than once")
    return names


def served_directories(scenario: Scenario, groups: str | Sequence[str]) -> tuple[str, ...]:
    """Every directory any of ``groups`` serves, in the scenario's order."""
    names = _as_groups(groups)
    served = {d for g in names for d in scenario.agents[g].directories}
    return tuple(d for d in scenario.directories if d in served)


def parse_targets(
    texts: Iterable[str], scenario: Scenario, groups: str | Sequence[str]
) -> list[Target]:
    """Read ``--target`` texts and resolve each to the paths it applies to.

    ``groups`` is the group staffed, or several. Raises :class:`StaffingError` with a
    readable message (a did-you-mean for misspelt metrics, directories and groups;
    comparisons other than <, <=, >, >=).
    """
    names = _as_groups(groups)
    for name in names:
        check_group(scenario, name)
    served = served_directories(scenario, names)
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
            paths = tuple(f"groups.{name}.{metric}" for name in names)
        elif not served:
            which = f"group {names[0]!r} serves" if len(names) == 1 else "the groups serve"
            raise StaffingError(
                f"{expectation.text!r}: {which} no directory; name where to "
                f"measure it, e.g. directories.NAME.{metric} or overall.{metric}"
            )
        else:
            paths = tuple(f"directories.{name}.{metric}" for name in served)
        targets.append(Target(expectation, paths))
    if not targets:
        raise StaffingError("give at least one target, e.g. --target 'service_level >= 0.8'")
    return targets


def guard_candidates(targets: Sequence[Target], scenario: Scenario) -> list[Target]:
    """Each chat-metric target's statement at every directory it is not already checked
    at: what the search protects where it held before the change."""
    guards = []
    for target in targets:
        if target.guard or target.expectation.metric not in CHAT_METRICS:
            continue
        metric = target.expectation.metric
        for name in scenario.directories:
            path = f"directories.{name}.{metric}"
            if path not in target.paths:
                guards.append(Target(target.expectation, (path,), guard=True))
    return guards


def check_group(scenario: Scenario, group: str) -> None:
    if group not in scenario.agents:
        from difflib import get_close_matches

        close = get_close_matches(group, list(scenario.agents), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise StaffingError(
            f"unknown agent group {group!r}{hint}; the scenario has {', '.join(scenario.agents)}"
        )


def _check(
    target: Target, path: str, value: Estimate, holds: bool, reason: str, decided: bool
) -> Check:
    """A target's verdict at one path, with the target's own fields."""
    expectation = target.expectation
    return Check(
        target.text,
        path,
        expectation.metric,
        holds,
        value,
        reason,
        decided,
        target.guard,
        expectation.op,
        expectation.threshold,
    )


def check_targets(
    targets: Sequence[Target], summary: Summary, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[Check, ...]:
    """Every target at every path of a summary, met only if its whole interval is on the
    right side. A chat metric of a directory that received no chats at all holds
    vacuously."""
    checks = []
    for target in targets:
        for path in target.paths:
            value = summary.lookup(path)
            holds, reason, decided = _verdict(target, value, confidence)
            if not holds and _no_chats_summary(summary, path):
                holds, reason, decided = True, "", True
            checks.append(_check(target, path, value, holds, reason, decided))
    return tuple(checks)


def _verdict(target: Target, value: Estimate, confidence: float) -> tuple[bool, str, bool]:
    """(holds, reason, decided) of one target on one estimate."""
    expectation = target.expectation
    verdict = expectation.evaluate(value, confidence=True)
    reason = verdict.reason.replace("95%", f"{100 * confidence:g}%")
    if verdict.holds:
        return True, "", True
    compare = COMPARISONS[expectation.op]
    low, high = value.ci_low, value.ci_high
    against = not (math.isnan(low) or math.isnan(high)) and not (
        compare(low, expectation.threshold) or compare(high, expectation.threshold)
    )
    return False, reason, against


def _count_path(path: str) -> str | None:
    metric = path.rsplit(".", 1)[-1]
    if metric not in CHAT_METRICS:
        return None
    # a directory that only receives transfers has offered 0 but stays in its queue
    count = "queued" if metric in QUEUE_METRICS else "offered"
    return path.rsplit(".", 1)[0] + f".{count}" if "." in path else count


def _no_chats_summary(summary: Summary, path: str) -> bool:
    scope = _count_path(path)
    if scope is None:
        return False
    try:
        return summary.lookup(scope).mean == 0
    except KeyError:
        return False


# --------------------------------------------------------------------------- early stopping


@dataclass(frozen=True)
class Sequential:
    """When replications may stop early (see the module's notes): a first look after
    ``minimum`` replications, then each time the count doubles, and at the number asked
    for."""

    minimum: int = 6

    def __post_init__(self) -> None:
        if self.minimum < 3:
            raise ValueError("early stopping needs a minimum of at least 3 replications")

    def looks(self, replications: int) -> list[int]:
        """The replication counts at which the verdict is looked at."""
        looks = []
        look = self.minimum
        while look < replications:
            looks.append(look)
            look *= 2
        return [*looks, replications]

    @staticmethod
    def level(confidence: float, look: int, looks: Sequence[int]) -> float:
        """The confidence of the interval at ``look``: Bonferroni-split before the last."""
        if look == looks[-1]:
            return confidence
        return 1 - (1 - confidence) / len(looks)


def _value(run: ReplicationMetrics, path: str) -> float:
    parts = path.split(".")
    if len(parts) == 1:
        return run.overall.get(parts[0], math.nan)
    scope, name, metric = parts
    table = run.directories if scope == "directories" else run.groups
    return table.get(name, {}).get(metric, math.nan)


def _estimate_at(runs: Sequence[ReplicationMetrics], path: str, level: float) -> Estimate:
    metric = path.rsplit(".", 1)[-1]
    return feasible(metric, estimate([_value(run, path) for run in runs], level))


def judge(
    targets: Sequence[Target], runs: Sequence[ReplicationMetrics], level: float
) -> tuple[Check, ...]:
    """Every target at every path on these replications' metrics, at confidence
    ``level``; a directory that received no chats meets chat-metric targets."""
    checks = []
    for target in targets:
        for path in target.paths:
            value = _estimate_at(runs, path, level)
            holds, reason, decided = _verdict(target, value, level)
            count = _count_path(path)
            if (
                not holds
                and count is not None
                and runs
                and all(_value(run, count) == 0 for run in runs)
            ):
                holds, reason, decided = True, "", True
            checks.append(_check(target, path, value, holds, reason, decided))
    return tuple(checks)


def decided(checks: Sequence[Check]) -> bool:
    """Whether more replications could not change whether these checks all hold."""
    return all(c.holds for c in checks) or fails(checks)


def fails(checks: Sequence[Check]) -> bool:
    """Whether one of these checks fails for sure (at the last look, any failure does)."""
    return any(not c.holds and c.decided for c in checks)


def scenario_key(scenario: Scenario) -> str:
    """A digest of everything the simulation depends on in the scenario."""
    return hashlib.sha256(scenario.model_dump_json(by_alias=True).encode()).hexdigest()


class Simulations:
    """Candidate scenarios simulated on one executor, each distinct one once.

    Per replication it keeps one :class:`ReplicationMetrics` per *unit* (the whole run,
    or each measured interval: ``units``), never the records. :meth:`judge` runs
    replications in the rounds of ``sequential`` (None: all at once) and stops at the
    first look where every unit is decided.
    """

    def __init__(
        self,
        run: Executor,
        replications: int,
        seed: int,
        *,
        confidence: float = DEFAULT_CONFIDENCE,
        sequential: Sequential | None = Sequential(),
        units: Sequence[tuple[float, float]] | None = None,
        on_replication: Callable[[Replication], None] | None = None,
    ) -> None:
        self.run = run
        self.replications = replications
        self.seed = seed
        self.confidence = confidence
        self.looks = sequential.looks(replications) if sequential else [replications]
        self.units = list(units) if units is not None else None
        self.on_replication = on_replication
        self._rows: dict[str, list[list[ReplicationMetrics]]] = {}
        self.simulations = 0  # distinct scenarios simulated
        self.replications_run = 0

    def _measure(self, scenario: Scenario, replication: Replication) -> list[ReplicationMetrics]:
        if self.units is None:
            return [replication.metrics]
        assert replication.records is not None
        thresholds = {name: d.service_level for name, d in scenario.directories.items()}
        return [interval_metrics(replication.records, thresholds, a, b) for a, b in self.units]

    def _extend(self, scenario: Scenario, rows: list[list[ReplicationMetrics]], upto: int) -> None:
        keep = self.units is not None
        tasks = [Task(scenario, r, self.seed, False, keep) for r in range(len(rows), upto)]
        done: dict[int, list[ReplicationMetrics]] = {}
        for position, replication in self.run(tasks):
            done[position] = self._measure(scenario, replication)
            if self.on_replication is not None:
                self.on_replication(replication)
        rows.extend(done[p] for p in range(len(tasks)))
        self.replications_run += len(tasks)

    def judge(
        self, scenario: Scenario, targets: Sequence[Sequence[Target]]
    ) -> tuple[list[tuple[Check, ...]], int]:
        """Checks of each unit (``targets[u]`` for unit ``u``) and the replications used."""
        key = scenario_key(scenario)
        rows = self._rows.get(key)
        if rows is None:
            rows = self._rows[key] = []
            self.simulations += 1
        for look in self.looks:
            if len(rows) < look:
                self._extend(scenario, rows, look)
            level = Sequential.level(self.confidence, look, self.looks)
            checks = [
                judge(unit_targets, [row[u] for row in rows[:look]], level)
                for u, unit_targets in enumerate(targets)
            ]
            if look == self.looks[-1]:  # the final verdict: nothing is left open
                return [tuple(replace(c, decided=True) for c in unit) for unit in checks], look
            # Stop when every unit is decided, or one fails for sure: the candidate as a
            # whole is then rejected, whatever the undecided units would show.
            if all(decided(c) for c in checks) or any(fails(c) for c in checks):
                return checks, look
        raise AssertionError("unreachable: the last look always returns")

    def is_new(self, scenario: Scenario) -> bool:
        return scenario_key(scenario) not in self._rows


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
    (directory transfers routed as in a Jackson network). With ``days`` the daily
    arrivals count on every day of ``[start, end)``."""
    length = end - start
    scenario = scenario.over_run()
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
    shares: Mapping[str, float] | None = None,
) -> int:
    """Agents the group needs by queueing theory, over ``[start, end)`` (default: the
    measured part of the day), as the simulation search's starting point.

    The group's directories are pooled into one queue with the mean handle plus wrap-up
    time, the mean patience (Erlang A; Erlang C if a directory has none) and
    ``max_chats`` independent slots an agent. ``shares`` gives the part of a
    directory's chats this group answers (default all; several groups staffed together
    split a directory they share). Targets with no formula (transfer or handoff metrics,
    a group serving no directory) fall back to the offered load.
    """
    spec = scenario.agents[group]
    start = scenario.warmup if start is None else start
    end = scenario.duration if end is None else end
    rates = arrival_rates(scenario, start, end)
    if shares:
        rates = {d: rate * shares.get(d, 1.0) for d, rate in rates.items()}
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
class GroupPlan:
    """How a head count maps onto one group: agents all day, or its own shifts scaled.

    For a group with shifts the count searched is the largest shift's; every shift is
    scaled by the same factor and rounded up (a shift that had agents keeps at least one
    while the count is positive), so the shift structure stays as it was."""

    name: str
    given: int  # the count, or the largest shift's count, in the scenario as given
    shifts: tuple[tuple[float, float, int], ...] | None = None

    @classmethod
    def of(cls, scenario: Scenario, name: str) -> GroupPlan:
        spec = scenario.agents[name]
        if spec.shifts is None:
            return cls(name, spec.count or 0)
        shifts = tuple((s.start, s.end, s.count) for s in spec.shifts)
        return cls(name, max((c for _, _, c in shifts), default=0), shifts)

    def shifts_for(self, count: int) -> list[tuple[float, float, int]]:
        """The group's shifts scaled so that the largest has ``count`` agents."""
        assert self.shifts is not None
        if self.given == 0:
            return [(a, b, count) for a, b, _ in self.shifts]
        return [(a, b, -(-c * count // self.given)) for a, b, c in self.shifts]

    def apply(self, scenario: Scenario, count: int) -> Scenario:
        if self.shifts is None:
            return with_count(scenario, self.name, count)
        return with_shifts(scenario, self.name, self.shifts_for(count))

    def estimate(
        self,
        scenario: Scenario,
        targets: Sequence[Target],
        shares: Mapping[str, float] | None = None,
    ) -> int:
        """Erlang's count (for shifts: the largest shift's count that gives every measured
        shift its Erlang count once scaled)."""
        whole = erlang_estimate(scenario, self.name, targets, shares=shares)
        if self.shifts is None or self.given == 0:
            return whole
        needs = []
        for start, end, count in self.shifts:
            low, high = max(start, scenario.warmup), min(end, scenario.duration)
            if count > 0 and high > low:
                agents = erlang_estimate(scenario, self.name, targets, low, high, shares)
                needs.append(-(-agents * self.given // count))
        return max(needs) if needs else whole

    def describe(self, count: int) -> str:
        """What the search did to the group's staffing, for the output."""
        if self.shifts is None:
            return ""
        counts = ", ".join(str(c) for _, _, c in self.shifts_for(count))
        plural = "s" if len(self.shifts) != 1 else ""
        return (
            f"{self.name} keeps its {len(self.shifts)} shift{plural}: "
            f"each scaled by {count}/{self.given} (the largest shift's count) and rounded up "
            f"({counts} agents)"
        )


@dataclass(frozen=True)
class Evaluation:
    """One simulation of a candidate staffing and how it did on every check.

    ``counts`` has one head count per staffed group (for a group with shifts, its largest
    shift's); ``given`` marks the scenario's own staffing, simulated to learn what held
    before the change."""

    counts: Counts
    checks: tuple[Check, ...]
    replications: int = 0
    given: bool = False

    @property
    def count(self) -> int:
        return self.counts[0]

    @property
    def meets(self) -> bool:
        return all(check.holds for check in self.checks)


@dataclass
class StaffingResult:
    """The smallest head counts that meet every target, and how the search got there."""

    groups: tuple[str, ...]
    counts: Counts
    estimates: Counts
    replications: int
    seed: int
    confidence: float = DEFAULT_CONFIDENCE
    evaluations: list[Evaluation] = field(default_factory=list)
    baseline: Evaluation | None = None
    protected: tuple[Check, ...] = ()  # held as given, lost by the search, so enforced
    guards: tuple[Check, ...] = ()  # the targets at every other directory, on the answer
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    shifts: dict[str, list[tuple[float, float, int]]] = field(default_factory=dict)
    simulations: int = 0  # distinct staffings simulated (the baseline included)
    replications_run: int = 0

    @property
    def group(self) -> str:
        return self.groups[0]

    @property
    def count(self) -> int:
        return self.counts[0]

    @property
    def estimate(self) -> int:
        return self.estimates[0]

    def count_of(self, group: str) -> int:
        return self.counts[self.groups.index(group)]

    def evaluation(self, counts: int | Sequence[int]) -> Evaluation | None:
        """The latest simulation of these counts (a protected check found on the way
        makes later ones check more)."""
        key = (counts,) if isinstance(counts, int) else tuple(counts)
        return next((e for e in reversed(self.evaluations) if e.counts == key), None)

    def binding(self, group: str | None = None) -> tuple[Check, ...]:
        """The checks that fail with one agent fewer in ``group`` (default: the first):
        what stops the search from going lower."""
        index = self.groups.index(group) if group is not None else 0
        if self.counts[index] == 0:
            return ()
        below = list(self.counts)
        below[index] -= 1
        evaluation = self.evaluation(below)
        return tuple(c for c in evaluation.checks if not c.holds) if evaluation else ()


def smallest_passing(meets: Callable[[int], bool], start: int, lowest: int, highest: int) -> int:
    """Smallest ``c`` in ``[lowest, highest]`` with ``meets(c)`` (see
    :func:`ccsim.theory.smallest_meeting`); raises :class:`NotReachable` if ``highest``
    fails."""
    count = theory.smallest_meeting(meets, start, lowest, highest)
    if count is None:
        raise NotReachable(f"no head count up to {highest} meets every target")
    return count


def load_shares(scenario: Scenario, groups: Sequence[str]) -> dict[str, float]:
    """For the Erlang start of several groups staffed together: each directory's chats
    split evenly between the staffed groups that serve it."""
    serving: dict[str, int] = {}
    for group in groups:
        for directory in scenario.agents[group].directories:
            serving[directory] = serving.get(directory, 0) + 1
    return {d: 1 / n for d, n in serving.items()}


def _sequential(early_stop: bool | Sequential | None) -> Sequential | None:
    if isinstance(early_stop, Sequential):
        return early_stop
    return Sequential() if early_stop else None


def _helpers(scenario: Scenario, groups: Sequence[str], path: str) -> set[int]:
    """The staffed groups (indices) whose head count moves the metric at ``path``: those
    serving its directory, the group itself; all of them when none is that direct."""
    parts = path.split(".")
    found: set[int] = set()
    if len(parts) == 3 and parts[0] == "directories":
        found = {i for i, g in enumerate(groups) if parts[1] in scenario.agents[g].directories}
    elif len(parts) == 3 and parts[0] == "groups" and parts[1] in groups:
        found = {groups.index(parts[1])}
    return found or set(range(len(groups)))


def _failing_text(checks: Iterable[Check]) -> str:
    failing = [c for c in checks if not c.holds]
    if not failing:
        return ""
    first = failing[0]
    kind = "protected " if first.guard else ""
    more = f" (and {len(failing) - 1} more)" if len(failing) > 1 else ""
    return f"; {kind}{first.path} {first.limit_text} fails{more}"


def staff(
    scenario: Scenario,
    group: str | Sequence[str],
    targets: Sequence[str] | Sequence[Target],
    replications: int | None = None,
    seed: int | None = None,
    *,
    max_agents: int | None = None,
    protect: bool = True,
    confidence: float = DEFAULT_CONFIDENCE,
    early_stop: bool | Sequential | None = True,
    workers: int | None = 1,
    executor: Executor | None = None,
    client: Client | None = None,
    scheduler: str | None = None,
    on_replication: Callable[[Replication], None] | None = None,
    on_simulation: Callable[[int, int | Counts], None] | None = None,
) -> StaffingResult:
    """Smallest head counts of ``group`` (one name or several) meeting every target.

    A group with a count is staffed all day; a group with shifts keeps them, scaled.
    ``max_agents`` bounds each group (default: twice its estimate plus 20). Every
    simulation uses up to ``replications`` (default: the scenario's, at least 2) and
    ``seed``; ``early_stop`` (default on, or a :class:`Sequential`) may decide a
    candidate on fewer. With ``protect`` (default) a target's statement that held at
    another directory with the staffing as given must keep holding; without, losing it
    is only a warning. ``on_simulation(number, counts)`` is called before each new
    simulation (``counts`` an int for one group).
    """
    names = _as_groups(group)
    resolved = _resolve(targets, scenario, names)
    replications = max(2, scenario.replications if replications is None else replications)
    seed = scenario.seed if seed is None else seed
    plans = [GroupPlan.of(scenario, g) for g in names]
    shares = load_shares(scenario, names)
    estimates = tuple(plan.estimate(scenario, resolved, shares) for plan in plans)
    caps = tuple(max_agents if max_agents is not None else 2 * e + 20 for e in estimates)
    result = StaffingResult(names, (), estimates, replications, seed, confidence)
    candidates = guard_candidates(resolved, scenario)
    evaluations: dict[Counts, Evaluation] = {}

    with open_executor(
        workers, replications, executor=executor, client=client, scheduler=scheduler
    ) as run:
        simulations = Simulations(
            run,
            replications,
            seed,
            confidence=confidence,
            sequential=_sequential(early_stop),
            on_replication=on_replication,
        )

        def simulate_counts(counts: Counts, checked: Sequence[Target]) -> Evaluation:
            candidate = scenario
            for plan, count in zip(plans, counts, strict=True):
                candidate = plan.apply(candidate, count)
            if on_simulation is not None and simulations.is_new(candidate):
                on_simulation(
                    simulations.simulations + 1, counts[0] if len(counts) == 1 else counts
                )
            (checks,), used = simulations.judge(candidate, [checked])
            return Evaluation(counts, checks, used)

        enforced = list(resolved)

        def meets(counts: Counts) -> bool:
            if counts not in evaluations:
                evaluations[counts] = simulate_counts(counts, enforced)
                result.evaluations.append(evaluations[counts])
            return evaluations[counts].meets

        def search(start: Counts) -> Counts:
            if len(plans) == 1:
                try:
                    return (smallest_passing(lambda c: meets((c,)), start[0], 0, caps[0]),)
                except NotReachable:
                    last = evaluations.get((caps[0],))
                    why = _failing_text(last.checks) if last else ""
                    raise NotReachable(
                        f"no head count of {names[0]} up to {caps[0]} meets every target{why}"
                    ) from None
            return _raise_then_trim(
                meets, evaluations, start, caps, lambda p: _helpers(scenario, names, p)
            )

        try:
            final = search(estimates)
            # What the change did elsewhere: every target's statement at every other
            # directory, on the answer. One that fails there and held with the staffing
            # as given is lost: protected, the search goes on with it as a target.
            while candidates:
                result.guards = simulate_counts(final, candidates).checks
                lost = [t for t, c in zip(candidates, result.guards, strict=True) if not c.holds]
                if not lost:
                    break
                if result.baseline is None:
                    given = tuple(plan.given for plan in plans)
                    result.baseline = replace_given(simulate_counts(given, candidates))
                before = dict(zip(candidates, result.baseline.checks, strict=True))
                newly = [t for t in lost if before[t].holds and t not in enforced]
                if not protect or not newly:
                    for target, check in zip(candidates, result.guards, strict=True):
                        if target in lost and before[target].holds:
                            result.warnings.append(_lost(before[target], check, names))
                    break
                enforced += newly
                result.protected += tuple(before[t] for t in newly)
                evaluations.clear()  # judged again on the kept replications
                final = search(final)
        except NotReachable as error:
            tried = [result.baseline] if result.baseline is not None else []
            raise NotReachable(str(error), [*tried, *result.evaluations]) from None
        result.counts = final
        result.simulations = simulations.simulations
        result.replications_run = simulations.replications_run
    for plan, count in zip(plans, final, strict=True):
        if plan.shifts is not None:
            result.shifts[plan.name] = plan.shifts_for(count)
            result.notes.append(plan.describe(count))
    return result


def replace_given(evaluation: Evaluation) -> Evaluation:
    return Evaluation(evaluation.counts, evaluation.checks, evaluation.replications, True)


def _lost(before: Check, now: Check, groups: Sequence[str]) -> str:
    changed = ", ".join(groups)
    return (
        f"{now.path} met '{before.limit_text}' with the staffing as given "
        f"({_value_text(before)}) and misses it after the change to {changed} "
        f"({_value_text(now)}); drop --no-protect to keep it"
    )


def _value_text(check: Check) -> str:
    text = format_metric(check.metric, check.estimate.mean)
    if not math.isnan(check.estimate.ci_low):
        text += " " + format_interval(check.metric, check.estimate)
    return text


#: Rounds of lowering one group at a time before the multi-group search gives up trimming.
MAX_TRIM_ROUNDS = 5


def _raise_then_trim(
    meets: Callable[[Counts], bool],
    evaluations: Mapping[Counts, Evaluation],
    start: Counts,
    caps: Counts,
    helpers: Callable[[str], set[int]],
) -> Counts:
    """Several groups: raise together until every check holds (each failing check raises
    the groups that serve it, in steps of 1, 2, 4, ... while it keeps failing), then
    lower each group in turn to its smallest passing count, until a round changes
    nothing: then no single group can lose an agent."""
    counts = [min(c, cap) for c, cap in zip(start, caps, strict=True)]
    steps = [1] * len(counts)
    while not meets(tuple(counts)):
        failing = [c for c in evaluations[tuple(counts)].checks if not c.holds]
        who = set().union(*(helpers(c.path) for c in failing))
        raised = False
        for g in range(len(counts)):
            if g in who and counts[g] < caps[g]:
                counts[g] = min(caps[g], counts[g] + steps[g])
                steps[g] *= 2
                raised = True
            else:
                steps[g] = 1
        if not raised:
            limits_text = ", ".join(str(c) for c in caps)
            raise NotReachable(
                f"no staffing up to ({limits_text}) agents meets every target"
                f"{_failing_text(failing)}"
            )
    for _ in range(MAX_TRIM_ROUNDS):
        before = list(counts)
        for g in range(len(counts)):

            def meets_g(count: int, g: int = g) -> bool:
                trial = list(counts)
                trial[g] = count
                return meets(tuple(trial))

            counts[g] = smallest_passing(meets_g, counts[g], 0, counts[g])
        if counts == before:
            break
    return tuple(counts)


def _resolve(
    targets: Sequence[str] | Sequence[Target], scenario: Scenario, groups: Sequence[str]
) -> list[Target]:
    if all(isinstance(t, Target) for t in targets) and targets:
        for group in groups:
            check_group(scenario, group)
        return list(targets)  # type: ignore[arg-type]
    return parse_targets([str(t) for t in targets], scenario, groups)


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
    overall and per directory, with the same definitions as the whole-day metrics. Needs
    full records (``keep_records=True``): a run without tables keeps whole-run totals."""
    return chat_metrics_between(records, thresholds, start, end)


def room(check: Check) -> float:
    """How far the check's interval is from its limit, relative to the limit (negative:
    on the wrong side); NaN when it has no interval."""
    e, limit = check.estimate, check.threshold
    if math.isnan(e.ci_low) or math.isnan(e.ci_high) or math.isnan(limit):
        return math.nan
    edge = e.ci_low - limit if check.op in (">", ">=") else limit - e.ci_high
    return edge / (abs(limit) or 1.0)


def binding_check(checks: Sequence[Check]) -> Check | None:
    """The check with the least room: the one that binds."""
    scored = [(room(c), i) for i, c in enumerate(checks) if not math.isnan(room(c))]
    return checks[min(scored)[1]] if scored else None


@dataclass(frozen=True)
class IntervalPlan:
    """The head counts of one interval (one per staffed group), their Erlang estimates
    and the interval's final checks."""

    start: float
    end: float
    counts: Counts
    estimates: Counts
    measured: bool  # False when the interval lies within the warm-up: Erlang only
    checks: tuple[Check, ...] = ()

    @property
    def count(self) -> int:
        return self.counts[0]

    @property
    def estimate(self) -> int:
        return self.estimates[0]

    @property
    def meets(self) -> bool:
        return all(check.holds for check in self.checks)

    @property
    def binding(self) -> Check | None:
        return binding_check(self.checks)


@dataclass(frozen=True)
class IntervalEvaluation:
    """One simulation of the day: the counts of each group in each interval, and the
    checks of each interval (empty within the warm-up)."""

    counts: tuple[Counts, ...]  # per group, per interval
    checks: tuple[tuple[Check, ...], ...]  # per interval
    replications: int = 0
    given: bool = False
    edges: tuple[tuple[float, float], ...] = ()  # the intervals, for messages

    @property
    def failing(self) -> list[int]:
        """Intervals that fail for sure (an interval left undecided by early stopping
        is neither failing nor passing)."""
        return [k for k, c in enumerate(self.checks) if fails(c)]

    @property
    def meets(self) -> bool:
        return all(x.holds for c in self.checks for x in c)


@dataclass
class IntervalStaffingResult:
    """Shifts for each staffed group, one per interval, every interval meeting every
    target."""

    groups: tuple[str, ...]
    intervals: list[IntervalPlan]
    replications: int
    seed: int
    simulations: int
    confidence: float = DEFAULT_CONFIDENCE
    evaluations: list[IntervalEvaluation] = field(default_factory=list)
    baseline: IntervalEvaluation | None = None
    #: (interval index, check as given): held as given, lost by the search, so enforced
    protected: list[tuple[int, Check]] = field(default_factory=list)
    #: per interval: the targets at every other directory, on the answer
    guards: tuple[tuple[Check, ...], ...] = ()
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    replications_run: int = 0

    @property
    def group(self) -> str:
        return self.groups[0]

    def shifts(self, group: str | None = None) -> list[tuple[float, float, int]]:
        """``(start, end, count)`` of ``group`` (default: the first), adjacent intervals
        with the same count merged."""
        index = self.groups.index(group) if group is not None else 0
        merged: list[tuple[float, float, int]] = []
        for plan in self.intervals:
            count = plan.counts[index]
            if merged and merged[-1][2] == count:
                merged[-1] = (merged[-1][0], plan.end, count)
            else:
                merged.append((plan.start, plan.end, count))
        return merged

    def yaml(self) -> str:
        """The groups' shifts as scenario YAML, to paste into the scenario file."""
        lines = ["agents:"]
        for group in self.groups:
            lines += [f"  {group}:", "    shifts:"]
            for start, end, count in self.shifts(group):
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
    group: str | Sequence[str],
    targets: Sequence[str] | Sequence[Target],
    interval: float,
    replications: int | None = None,
    seed: int | None = None,
    *,
    max_agents: int | None = None,
    max_simulations: int = MAX_SIMULATIONS,
    protect: bool = True,
    confidence: float = DEFAULT_CONFIDENCE,
    early_stop: bool | Sequential | None = True,
    workers: int | None = 1,
    executor: Executor | None = None,
    client: Client | None = None,
    scheduler: str | None = None,
    on_replication: Callable[[Replication], None] | None = None,
    on_simulation: Callable[[int, Sequence[int]], None] | None = None,
) -> IntervalStaffingResult:
    """Staff ``group`` (one name or several) with one shift per ``interval`` seconds so
    that every measured interval meets every target (chat metrics, measured on the chats
    arriving in it). The new shifts replace the groups' count or shifts.

    Starts from each interval's Erlang estimate; simulates the whole day; adds an agent
    in each failing interval to each staffed group that serves the failing directory,
    until all pass; then takes one away from every other interval of one group that may
    still shrink (even ones, then odd ones, group by group), keeping the cuts that pass
    and freezing the intervals that fail, until none may shrink. Intervals within the
    warm-up keep their estimate. With ``protect`` (default) a target's statement that
    held at another directory in an interval with the staffing as given must keep
    holding there. ``on_simulation(number, counts)`` is called before each new
    simulation (the first group's counts per interval).
    """
    names = _as_groups(group)
    resolved = _resolve(targets, scenario, names)
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
    units = [k for k, m in enumerate(measured) if m]
    shares = load_shares(scenario, names)
    estimates = [
        [erlang_estimate(scenario, g, resolved, a, b, shares) for a, b in edges] for g in names
    ]
    caps = [max_agents if max_agents is not None else 2 * max(row) + 20 for row in estimates]
    counts = [[min(e, cap) for e in row] for row, cap in zip(estimates, caps, strict=True)]
    candidates = guard_candidates(resolved, scenario)
    span = compact_duration(interval)
    result = IntervalStaffingResult(names, [], replications, seed, 0, confidence)
    for name in names:
        spec = scenario.agents[name]
        if spec.shifts:
            shifts = len(spec.shifts)
            result.notes.append(
                f"{name} had {shifts} shift{'s' if shifts != 1 else ''} (largest "
                f"{spec.size}); staffed per {span}, the shifts below replace them"
            )
    evaluations: dict[tuple[Counts, ...], IntervalEvaluation] = {}

    with open_executor(
        workers, replications, executor=executor, client=client, scheduler=scheduler
    ) as run:
        simulations = Simulations(
            run,
            replications,
            seed,
            confidence=confidence,
            sequential=_sequential(early_stop),
            units=[edges[k] for k in units],
            on_replication=on_replication,
        )

        def judge_day(
            candidate: Scenario, by_unit: Sequence[Sequence[Target]]
        ) -> tuple[tuple[tuple[Check, ...], ...], int]:
            if simulations.is_new(candidate) and simulations.simulations >= max_simulations:
                raise NotReachable(
                    f"no staffing meets every target within {max_simulations} simulations",
                    [*given, *result.evaluations],
                )
            checks, used = simulations.judge(candidate, by_unit)
            per_interval: list[tuple[Check, ...]] = [()] * len(edges)
            for u, k in enumerate(units):
                per_interval[k] = checks[u]
            return tuple(per_interval), used

        given: list[IntervalEvaluation] = []
        enforced: list[list[Target]] = [list(resolved) for _ in units]

        def day_of(candidate: Sequence[Sequence[int]]) -> Scenario:
            day_scenario = scenario
            for name, row in zip(names, candidate, strict=True):
                shifts = [(a, b, c) for (a, b), c in zip(edges, row, strict=True)]
                day_scenario = with_shifts(day_scenario, name, shifts)
            return day_scenario

        def evaluate(candidate: Sequence[Sequence[int]]) -> tuple[tuple[Check, ...], ...]:
            key = tuple(tuple(row) for row in candidate)
            if key not in evaluations:
                day_scenario = day_of(candidate)
                if on_simulation is not None and simulations.is_new(day_scenario):
                    on_simulation(simulations.simulations + 1, list(candidate[0]))
                checks, used = judge_day(day_scenario, enforced)
                evaluations[key] = IntervalEvaluation(key, checks, used, edges=tuple(edges))
                result.evaluations.append(evaluations[key])
            return evaluations[key].checks

        def failing(checks: Sequence[tuple[Check, ...]]) -> list[int]:
            # Intervals that fail for sure; an interval that early stopping left open
            # is judged again at the next candidate.
            return [k for k, c in enumerate(checks) if fails(c)]

        def raise_until_passing(candidate: list[list[int]]) -> tuple[tuple[Check, ...], ...]:
            checks = evaluate(candidate)
            while bad := failing(checks):
                for k in bad:
                    wrong = [c for c in checks[k] if not c.holds and c.decided]
                    who = set().union(*(_helpers(scenario, names, c.path) for c in wrong))
                    raisable = [g for g in sorted(who) if candidate[g][k] < caps[g]]
                    if not raisable:
                        at = ", ".join(f"{names[g]} {candidate[g][k]}" for g in sorted(who))
                        raise NotReachable(
                            f"interval {_span(*edges[k], scenario)} needs more agents than the "
                            f"limit ({at}){_failing_text(wrong)}",
                            [*given, *result.evaluations],
                        )
                    for g in raisable:
                        candidate[g][k] += 1
                        frozen.add((g, k))
                checks = evaluate(candidate)
            return checks

        frozen = {(g, k) for g in range(len(names)) for k, m in enumerate(measured) if not m}
        turns = [(g, parity) for g in range(len(names)) for parity in (0, 1)]
        turn = 0

        def lower(counts: list[list[int]]) -> tuple[list[list[int]], tuple[tuple[Check, ...], ...]]:
            nonlocal turn
            checks = raise_until_passing(counts)
            while shrinkable := [
                (g, k)
                for g in range(len(names))
                for k in range(len(edges))
                if (g, k) not in frozen and counts[g][k] > 0
            ]:
                # Every other interval of one group at a time: a backlog carried into
                # the next interval then comes from an interval that kept its count.
                cut: list[tuple[int, int]] = []
                while not cut:
                    g, parity = turns[turn % len(turns)]
                    turn += 1
                    cut = [(h, k) for h, k in shrinkable if h == g and k % 2 == parity]
                trial = [list(row) for row in counts]
                for g, k in cut:
                    trial[g][k] -= 1
                trial_checks = evaluate(trial)
                if all(x.holds for c in trial_checks for x in c):
                    counts, checks = trial, trial_checks
                    continue
                bad = failing(trial_checks)
                for g, k in cut:
                    if k in bad:
                        trial[g][k] += 1
                        frozen.add((g, k))
                counts = trial
                checks = raise_until_passing(counts)
            return counts, checks

        counts, checks = lower(counts)
        # What the change did elsewhere: every target's statement at every other
        # directory, per interval, on the answer. One that fails there and held with
        # the staffing as given is lost: protected, the search goes on with it.
        while candidates:
            after, _ = judge_day(day_of(counts), [candidates] * len(units))
            result.guards = after
            lost = [
                [t for t, c in zip(candidates, after[k], strict=True) if not c.holds] for k in units
            ]
            if not any(lost):
                break
            if result.baseline is None:
                day, used = judge_day(scenario, [candidates] * len(units))
                now = tuple(
                    tuple(c for _, _, c in shifts_of(scenario, name, edges)) for name in names
                )
                result.baseline = IntervalEvaluation(now, day, used, True, tuple(edges))
                given.append(result.baseline)
            added = False
            for u, k in enumerate(units):
                before = dict(zip(candidates, result.baseline.checks[k], strict=True))
                now_checks = dict(zip(candidates, after[k], strict=True))
                newly = [t for t in lost[u] if before[t].holds and t not in enforced[u]]
                if protect and newly:
                    enforced[u] += newly
                    result.protected += [(k, before[t]) for t in newly]
                    added = True
                    continue
                for target in lost[u]:
                    if before[target].holds:
                        message = _lost(before[target], now_checks[target], names)
                        result.warnings.append(f"{_span(*edges[k], scenario)}: {message}")
            if not added:
                break
            evaluations.clear()  # judged again on the kept replications
            counts, checks = lower(counts)
        result.simulations = simulations.simulations
        result.replications_run = simulations.replications_run

    result.intervals = [
        IntervalPlan(
            a,
            b,
            tuple(row[k] for row in counts),
            tuple(row[k] for row in estimates),
            measured[k],
            checks[k],
        )
        for k, (a, b) in enumerate(edges)
    ]
    return result


def shifts_of(
    scenario: Scenario, group: str, edges: Sequence[tuple[float, float]]
) -> list[tuple[float, float, int]]:
    """The group's head count at the start of each interval, as the scenario gives it."""
    spec = scenario.agents[group]
    out = []
    for a, b in edges:
        if spec.shifts is None:
            count = spec.count or 0
        else:
            count = sum(s.count for s in spec.shifts if s.start <= a < s.end)
        out.append((a, b, count))
    return out


def clock(seconds: float) -> str:
    """A time of day as the scenario format writes it (``0h``, ``1h30m``)."""
    return "0h" if seconds == 0 else compact_duration(seconds)


def _span(start: float, end: float, scenario: Scenario) -> str:
    """An interval of run time in the scenario's clock (``08:00–09:00``, with the day
    when the run passes midnight), as the per-interval tables name it."""
    from ccsim.scenario.clock import interval_label, spans_days

    with_day = spans_days(scenario.start, scenario.duration)
    return interval_label(start, end, scenario.start, with_day)


__all__ = [
    "Check",
    "Evaluation",
    "GroupPlan",
    "IntervalEvaluation",
    "IntervalPlan",
    "IntervalStaffingResult",
    "NotReachable",
    "Sequential",
    "Simulations",
    "StaffingError",
    "StaffingResult",
    "Target",
    "binding_check",
    "erlang_estimate",
    "guard_candidates",
    "interval_metrics",
    "parse_targets",
    "smallest_passing",
    "staff",
    "staff_per_interval",
    "with_count",
    "with_shifts",
]
