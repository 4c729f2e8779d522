"""Shift plans: the cheapest shifts from a group's templates that meet the targets in
every interval, checked and repaired by simulation (``ccsim schedule``).

1. **Requirements.** Each interval's agents on duty: by default the per-interval staffing
   search of :func:`ccsim.planning.staffing.staff_per_interval` (Erlang estimates,
   confirmed by simulating the day, so transfers, shared agents, chat slots and slowdown
   count); ``requirements="erlang"`` takes the Erlang estimates alone.
2. **Covering.** The cheapest whole numbers of shifts (template x start) whose agents on
   duty cover every requirement within the limits (:mod:`ccsim.planning.covering`).
3. **Check and repair.** The plan's agents on duty over the run become the group's
   shifts; the day is simulated with the same replications and seed (common random
   numbers) and every measured interval is judged on every target. Each interval that
   fails for sure gets a requirement of one agent more than the plan gives it, and the
   covering is solved again, until every interval passes, a requirement cannot be covered
   within the limits, or ``max_rounds`` coverings have been simulated. Why an interval
   cannot be met is said for each one.

The shifts overlap while a scenario's shifts of one group may not, so the plan goes into
the scenario as the *agents on duty*: non-overlapping pieces, one per change (a shift
starting or ending, a break), breaks taken out. An agent going on break is modelled like
a shift end: the chats in hand are finished, no new ones are offered.

Requirement and coverage are agents on duty averaged over an interval (agent-time / the
interval's length), so a 30-minute break in an hour counts as half an agent.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ccsim.planning.covering import EPSILON, CoveringInfeasible, solve_covering
from ccsim.planning.staffing import (
    DEFAULT_CONFIDENCE,
    Check,
    NotReachable,
    Simulations,
    StaffingError,
    Target,
    _resolve,
    _sequential,
    arrival_rates,
    erlang_estimate,
    fails,
    interval_edges,
    interval_problem,
    load_shares,
    staff_per_interval,
    with_shifts,
)
from ccsim.planning.templates import (
    ShiftOption,
    TemplateError,
    TemplateFile,
    clock_start,
    coverage_matrix,
    on_duty_matrix,
    on_duty_steps,
    shift_options,
)

if TYPE_CHECKING:
    from ccsim.api import Replication
    from ccsim.executors import Executor
    from ccsim.scenario import Scenario

#: Coverings simulated at most, unless asked otherwise (``--max-rounds``).
MAX_ROUNDS = 10
#: The most ``--max-rounds`` may be: every round is a simulation of the day.
MAX_ROUNDS_LIMIT = 100
REQUIREMENT_SOURCES = ("simulated", "erlang")


class ScheduleError(ValueError):
    """Bad input found before any simulation: an unusable target or interval."""


class CannotCover(RuntimeError):
    """Even the first requirements cannot be covered within the templates' limits."""


@dataclass(frozen=True)
class PlannedShift:
    """Agents on one template at one start."""

    template: str
    start: float
    end: float
    count: int
    cost_each: float
    on_duty_s: float  # one agent's time on duty (breaks left out)

    @property
    def cost(self) -> float:
        return self.count * self.cost_each


@dataclass(frozen=True)
class IntervalRow:
    """One interval of the plan: what it needs, what the plan gives, how it did."""

    start: float
    end: float
    erlang: int
    searched: int | None  # the simulated requirement (None: Erlang only)
    required: int  # the requirement of the last covering (raised by repairs)
    scheduled: float  # agents on duty in the final plan (averaged over the interval)
    measured: bool
    checks: tuple[Check, ...] = ()

    @property
    def meets(self) -> bool:
        return all(c.holds for c in self.checks)


@dataclass(frozen=True)
class Round:
    """One covering and its simulation."""

    number: int
    cost: float
    shifts: int
    raised: tuple[int, ...]  # intervals whose requirement was raised before this covering
    failing: tuple[int, ...]  # intervals that failed for sure in its simulation
    replications: int


@dataclass
class SchedulePlan:
    """The final plan, the intervals, the rounds of repair and what could not be met."""

    scenario: str
    group: str
    targets: tuple[str, ...]
    interval: float
    replications: int
    seed: int
    confidence: float
    requirements: str
    clock: float | None  # the run's clock start (seconds after midnight), if given
    duration: float
    options: list[ShiftOption] = field(default_factory=list)
    counts: tuple[int, ...] = ()
    intervals: list[IntervalRow] = field(default_factory=list)
    rounds: list[Round] = field(default_factory=list)
    first_cost: float = math.nan
    optimal: bool = True
    requirement_simulations: int = 0
    check_simulations: int = 0
    replications_run: int = 0
    unmet: list[tuple[int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    steps: list[tuple[float, float, int]] = field(default_factory=list)
    max_at_once: int | None = None

    @property
    def shifts(self) -> list[PlannedShift]:
        return [
            PlannedShift(
                o.template,
                o.start,
                o.end,
                c,
                o.spec.shift_cost,
                sum(b - a for a, b in o.on_duty()),
            )
            for o, c in zip(self.options, self.counts, strict=True)
            if c > 0
        ]

    @property
    def cost(self) -> float:
        return sum(s.cost for s in self.shifts)

    @property
    def agent_hours(self) -> float:
        """Hours on shift, breaks included (what is paid, usually)."""
        return sum(s.count * (s.end - s.start) for s in self.shifts) / 3600

    @property
    def on_duty_hours(self) -> float:
        return sum(s.count * s.on_duty_s for s in self.shifts) / 3600

    @property
    def simulations(self) -> int:
        return self.requirement_simulations + self.check_simulations

    @property
    def gap(self) -> float:
        """What the repairs added to the first covering's cost."""
        return self.cost - self.first_cost

    @property
    def searched_available(self) -> bool:
        return any(row.searched is not None for row in self.intervals)

    @property
    def meets(self) -> bool:
        return not self.unmet and all(row.meets for row in self.intervals if row.measured)

    def label(self, start: float, end: float) -> str:
        return interval_label(start, end, self.clock, self.duration)

    def time(self, seconds: float) -> str:
        return clock_text(seconds, self.clock, self.duration)

    def to_dict(self) -> dict[str, Any]:
        """Everything the tables show, for ``--json``."""
        from ccsim import __version__

        return {
            "scenario": self.scenario,
            "group": self.group,
            "targets": list(self.targets),
            "interval_s": self.interval,
            "replications": self.replications,
            "seed": self.seed,
            "confidence": self.confidence,
            "version": __version__,
            "requirements": self.requirements,
            "meets": self.meets,
            "cost": self.cost,
            "first_cost": self.first_cost,
            "gap": self.gap,
            "optimal": self.optimal,
            "agent_hours": self.agent_hours,
            "on_duty_hours": self.on_duty_hours,
            "max_at_once": self.max_at_once,
            "simulations": self.simulations,
            "requirement_simulations": self.requirement_simulations,
            "check_simulations": self.check_simulations,
            "replications_run": self.replications_run,
            "shifts": [
                {
                    "template": s.template,
                    "start_s": s.start,
                    "end_s": s.end,
                    "start": self.time(s.start),
                    "end": self.time(s.end),
                    "count": s.count,
                    "cost_each": s.cost_each,
                    "cost": s.cost,
                }
                for s in self.shifts
            ],
            "intervals": [
                {
                    "start_s": row.start,
                    "end_s": row.end,
                    "interval": self.label(row.start, row.end),
                    "erlang": row.erlang,
                    "searched": row.searched,
                    "required": row.required,
                    "scheduled": row.scheduled,
                    "measured": row.measured,
                    "meets": row.meets,
                    "checks": [
                        {
                            "target": c.target,
                            "path": c.path,
                            "holds": c.holds,
                            "mean": _number(c.estimate.mean),
                            "ci_low": _number(c.estimate.ci_low),
                            "ci_high": _number(c.estimate.ci_high),
                        }
                        for c in row.checks
                    ],
                }
                for row in self.intervals
            ],
            "rounds": [
                {
                    "round": r.number,
                    "cost": r.cost,
                    "shifts": r.shifts,
                    "raised": [self.label(*self.edges[k]) for k in r.raised],
                    "failing": [self.label(*self.edges[k]) for k in r.failing],
                    "replications": r.replications,
                }
                for r in self.rounds
            ],
            "unmet": [
                {"interval": self.label(*self.edges[k]), "why": why} for k, why in self.unmet
            ],
            "on_duty": [
                {"from": self.time(a), "to": self.time(b), "count": c} for a, b, c in self.steps
            ],
            "notes": self.notes,
            "warnings": self.warnings,
        }

    @property
    def edges(self) -> list[tuple[float, float]]:
        return [(row.start, row.end) for row in self.intervals]


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value


def clock_text(seconds: float, clock: float | None, duration: float) -> str:
    """A run instant as every per-interval table names it (:mod:`ccsim.scenario.clock`):
    ``08:30`` from the scenario's clock start (midnight when it gives none), with the day
    (``day 2 08:30``) when the run passes midnight."""
    from ccsim.scenario.clock import clock_at, spans_days

    return clock_at(seconds, clock, spans_days(clock, duration))


def interval_label(start: float, end: float, clock: float | None, duration: float) -> str:
    """``08:00–09:00`` (see :func:`clock_text`)."""
    from ccsim.scenario.clock import interval_label as label
    from ccsim.scenario.clock import spans_days

    return label(start, end, clock, spans_days(clock, duration))


def schedule(
    scenario: Scenario,
    group: str,
    targets: Sequence[str] | Sequence[Target],
    templates: TemplateFile,
    interval: float,
    replications: int | None = None,
    seed: int | None = None,
    *,
    requirements: str = "simulated",
    max_rounds: int = MAX_ROUNDS,
    max_agents: int | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
    early_stop: bool = True,
    workers: int | None = 1,
    executor: Executor | None = None,
    scheduler: str | None = None,
    on_replication: Callable[[Replication], None] | None = None,
    on_simulation: Callable[[str], None] | None = None,
    source: str = "templates",
) -> SchedulePlan:
    """The cheapest plan of ``group``'s templates meeting ``targets`` in every interval
    of ``interval`` seconds (see the module's notes).

    Raises :class:`ScheduleError` or :class:`TemplateError` on bad input (before any
    simulation), :class:`NotReachable` when the requirement search cannot meet a target.
    A plan that misses some intervals is returned with ``unmet`` saying why.
    ``on_simulation(label)`` is called before each new simulation of the day.
    """
    from ccsim.executors import open_executor

    if requirements not in REQUIREMENT_SOURCES:
        raise ScheduleError(f"requirements must be one of {', '.join(REQUIREMENT_SOURCES)}")
    if not 1 <= max_rounds <= MAX_ROUNDS_LIMIT:
        raise ScheduleError(f"--max-rounds must lie between 1 and {MAX_ROUNDS_LIMIT}")
    try:
        resolved = _resolve(targets, scenario, (group,))
    except StaffingError as error:
        raise ScheduleError(str(error)) from None
    for target in resolved:
        if any(p.startswith("groups.") for p in target.paths) or target.expectation.metric in (
            "utilization",
            "occupancy",
        ):
            raise ScheduleError(
                f"{target.text!r}: a schedule takes targets on chat metrics (service_level, "
                "abandon_rate, wait_p90, ...), measured per interval by arrival"
            )
    problem = interval_problem(interval, scenario.duration)
    if problem:
        raise ScheduleError(problem.replace("--per-interval", "--interval"))
    days = getattr(scenario, "days", None)
    if days is not None and days > 1:
        raise ScheduleError(
            f"the scenario runs {days} days whose shifts repeat each day; a schedule plans "
            "one run as a whole: plan one day (days: 1) and repeat its shifts"
        )
    options, notes = shift_options(templates, scenario, group, source)
    spec = templates.groups[group]
    replications = max(2, scenario.replications if replications is None else replications)
    seed = scenario.seed if seed is None else seed
    edges = interval_edges(scenario.duration, interval)
    measured = [end > scenario.warmup for _, end in edges]
    units = [k for k, m in enumerate(measured) if m]
    coverage = coverage_matrix(options, edges)
    duty = (
        on_duty_matrix(options, scenario.duration) if spec_max_at_once(templates, group) else None
    )
    shares = load_shares(scenario, (group,))
    erlang = [erlang_estimate(scenario, group, resolved, a, b, shares) for a, b in edges]
    _check_demand_covered(scenario, group, edges, coverage, source)

    plan = SchedulePlan(
        scenario.name,
        group,
        tuple(t.text for t in resolved),
        interval,
        replications,
        seed,
        confidence,
        requirements,
        clock_start(scenario),
        scenario.duration,
        options=options,
        notes=list(notes),
        max_at_once=spec.max_at_once,
    )
    costs = [o.spec.shift_cost for o in options]
    column_max = [o.spec.max_per_shift for o in options]
    by_template: dict[str, list[int]] = {}
    for j, option in enumerate(options):
        by_template.setdefault(option.template, []).append(j)
    groups = [
        (columns, spec.templates[name].max_agents)
        for name, columns in by_template.items()
        if spec.templates[name].max_agents is not None
    ]

    with open_executor(workers, replications, executor=executor, scheduler=scheduler) as run:
        searched: list[int] | None = None
        if requirements == "simulated":
            found = staff_per_interval(
                scenario,
                group,
                resolved,
                interval,
                replications,
                seed,
                max_agents=max_agents,
                confidence=confidence,
                early_stop=early_stop,
                executor=run,
                on_replication=on_replication,
                on_simulation=(
                    (lambda n, _c: on_simulation(f"requirements, simulation {n}"))
                    if on_simulation
                    else None
                ),
            )
            searched = [p.count for p in found.intervals]
            plan.requirement_simulations = found.simulations
            plan.replications_run += found.replications_run
            plan.warnings += found.warnings
            base = list(searched)
        else:
            base = list(erlang)
        required = list(base)
        simulations = Simulations(
            run,
            replications,
            seed,
            confidence=confidence,
            sequential=_sequential(early_stop),
            units=[edges[k] for k in units],
            on_replication=on_replication,
        )
        checks: list[tuple[Check, ...]] = [()] * len(edges)
        raised: tuple[int, ...] = ()
        counts: tuple[int, ...] | None = None
        scheduled = [0.0] * len(edges)
        for number in range(1, max_rounds + 1):
            try:
                solution = solve_covering(
                    coverage,
                    required,
                    costs,
                    column_max=column_max,
                    groups=groups,
                    on_duty_max=spec.max_at_once,
                    on_duty=duty,
                )
            except CoveringInfeasible as error:
                reasons = _reasons(error, edges, plan)
                if counts is None:  # not even the first covering: nothing to simulate
                    raise CannotCover(
                        f"no plan covers the requirements within the limits: {reasons}"
                    ) from None
                for k in error.intervals or raised:
                    plan.unmet.append(
                        (
                            k,
                            f"fails with {_agents(scheduled[k])} on duty; the next covering "
                            + (dict(error.reasons).get(k) or str(error)),
                        )
                    )
                break
            counts = solution.counts
            plan.optimal = plan.optimal and solution.optimal
            if number == 1:
                plan.first_cost = solution.cost
            steps = on_duty_steps(options, counts, scenario.duration)
            candidate = with_shifts(scenario, group, steps)
            if on_simulation is not None and simulations.is_new(candidate):
                on_simulation(f"plan, round {number} (cost {solution.cost:g})")
            judged, used = simulations.judge(candidate, [resolved] * len(units))
            checks = [()] * len(edges)
            for u, k in enumerate(units):
                checks[k] = judged[u]
            scheduled = [sum(a * c for a, c in zip(row, counts, strict=True)) for row in coverage]
            failing = tuple(k for k in units if fails(checks[k]))
            plan.rounds.append(Round(number, solution.cost, sum(counts), raised, failing, used))
            plan.counts, plan.steps = counts, steps
            if not failing and all(c.holds for k in units for c in checks[k]):
                break
            raised = failing
            for k in failing:
                required[k] = max(required[k], math.floor(scheduled[k] + EPSILON)) + 1
        else:
            left = [k for k in units if not all(c.holds for c in checks[k])]
            plan.unmet += [
                (
                    k,
                    f"still misses the target with {_agents(scheduled[k])} on duty after "
                    f"{max_rounds} rounds (--max-rounds)",
                )
                for k in left
            ]
        plan.check_simulations = simulations.simulations
        plan.replications_run += simulations.replications_run

    scheduled = [sum(a * c for a, c in zip(row, plan.counts, strict=True)) for row in coverage]
    plan.intervals = [
        IntervalRow(
            a,
            b,
            erlang[k],
            searched[k] if searched is not None else None,
            required[k],
            scheduled[k],
            measured[k],
            checks[k],
        )
        for k, (a, b) in enumerate(edges)
    ]
    if not plan.optimal:
        plan.notes.append(
            "the solver stopped at its time limit: a covering was not proven cheapest"
        )
    return plan


def spec_max_at_once(templates: TemplateFile, group: str) -> int | None:
    return templates.groups[group].max_at_once


def _agents(value: float) -> str:
    shown = f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{shown} agent{'' if shown == '1' else 's'}"


def _reasons(error: CoveringInfeasible, edges: Sequence[tuple[float, float]], plan: Any) -> str:
    if not error.reasons:
        return str(error)
    return "; ".join(f"{plan.label(*edges[k])} {why}" for k, why in error.reasons)


def _check_demand_covered(
    scenario: Scenario,
    group: str,
    edges: Sequence[tuple[float, float]],
    coverage: Sequence[Sequence[float]],
    source: str,
) -> None:
    """Refuse templates that leave an interval with chats for the group without a shift."""
    served = scenario.agents[group].directories
    clock = clock_start(scenario)
    uncovered = []
    for (a, b), row in zip(edges, coverage, strict=True):
        if any(x > EPSILON for x in row):
            continue
        rates = arrival_rates(scenario, a, b)
        expected = sum(rates.get(d, 0.0) for d in served) * (b - a)
        if expected > 0:
            uncovered.append(
                f"{interval_label(a, b, clock, scenario.duration)} ({expected:.3g} chats expected)"
            )
    if uncovered:
        raise TemplateError(
            [
                f"groups.{group}.templates: no template puts an agent on duty in "
                f"{', '.join(uncovered)}, where {group} has chats to answer; add a start "
                "that covers it"
            ],
            source,
        )


__all__ = [
    "MAX_ROUNDS",
    "REQUIREMENT_SOURCES",
    "CannotCover",
    "IntervalRow",
    "NotReachable",
    "PlannedShift",
    "Round",
    "ScheduleError",
    "SchedulePlan",
    "clock_text",
    "interval_label",
    "schedule",
]
