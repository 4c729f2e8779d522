"""``ccsim staff``: the smallest head counts meeting targets.

The search lives in :mod:`ccsim.planning.staffing`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ccsim.commands.common import (
    AllowOutsideOption,
    ConfidenceOption,
    QuietOption,
    ScenarioPath,
    SchedulerOption,
    SetOption,
    WorkersOption,
    app,
    executor_or_exit,
    fail,
    load_or_exit,
    stderr,
    stdout,
)
from ccsim.scenario.limits import MAX_AGENTS, MAX_REPLICATIONS, MAX_SEED
from ccsim.scenario.units import compact_duration, parse_duration

if TYPE_CHECKING:  # ccsim.planning.staffing imports scipy and pandas: imported where a command runs
    from ccsim.planning.staffing import (
        Check,
        Evaluation,
        IntervalEvaluation,
        IntervalStaffingResult,
        StaffingResult,
    )
    from ccsim.scenario import Scenario


@app.command("staff")
def staff_command(
    scenario: ScenarioPath,
    group: Annotated[
        list[str],
        typer.Option(
            help="An agent group to staff; repeat to staff several together.",
            show_default=False,
        ),
    ],
    target: Annotated[
        list[str],
        typer.Option(
            help="METRIC OP NUMBER[UNIT] (repeatable), the grammar of 'ccsim check', e.g. "
            "'service_level >= 0.8', 'wait_p90 <= 60s'. Without a scope it applies to each "
            "directory the groups serve (agent metrics: each group); overall.METRIC for "
            "the whole center.",
            show_default=False,
        ),
    ],
    replications: Annotated[
        int | None,
        typer.Option(
            "--replications",
            "-n",
            min=2,
            max=MAX_REPLICATIONS,
            help="Replications per simulation, at most (default: the scenario's, at least 2).",
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(min=0, max=MAX_SEED, help="Seed (default: the scenario's).")
    ] = None,
    set_: SetOption = None,
    per_interval: Annotated[
        str | None,
        typer.Option(
            help="Staff each interval of this length separately (e.g. 1h); prints shifts.",
            show_default=False,
        ),
    ] = None,
    max_agents: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_AGENTS,
            help="Search no higher, per group (default: twice the estimate plus 20).",
        ),
    ] = None,
    protect: Annotated[
        bool,
        typer.Option(
            help="Keep the targets that other directories met with the staffing as given "
            "(--no-protect: only warn when one is lost).",
        ),
    ] = True,
    early_stop: Annotated[
        bool,
        typer.Option(
            help="Stop a candidate's replications early once its verdict is decided "
            "(at least 6, Bonferroni-corrected; see the README).",
        ),
    ] = True,
    confidence: ConfidenceOption = 0.95,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    quiet: QuietOption = False,
    allow_outside_data: AllowOutsideOption = False,
) -> None:
    """Find the smallest head counts of one or more groups meeting every target.

    A target is met when its whole confidence interval lies on the right side. Starts
    from an Erlang estimate and confirms by simulation, every candidate with the same
    random numbers; checks the targets at every directory the groups serve, says which
    one binds, and protects what other directories met before. A group with shifts keeps
    them (scaled) unless --per-interval. Exit 0 when found; 1 when no staffing up to the
    limit meets the targets (the simulations tried are printed, then an error: line);
    2 on bad input.
    """
    from ccsim.executors import Progress
    from ccsim.planning.staffing import (
        NotReachable,
        StaffingError,
        StaffingResult,
        interval_problem,
        parse_targets,
        staff,
        staff_per_interval,
    )

    loaded = load_or_exit(scenario, set_, allow_outside_data)
    try:
        targets = parse_targets(target, loaded, group)
    except StaffingError as error:
        fail(str(error))
    interval = None
    if per_interval is not None:
        try:
            interval = parse_duration(per_interval)
        except ValueError as error:
            fail(f"--per-interval: {error}")
        if not 0 < interval <= loaded.duration:
            fail(
                f"--per-interval must be positive and at most the duration "
                f"({compact_duration(loaded.duration)}), got {per_interval}"
            )
        problem = interval_problem(interval, loaded.duration)
        if problem:
            fail(problem)
        if loaded.days and loaded.days > 1:
            # Shifts are a daily pattern: staff one day; the shifts found repeat each day.
            stdout.print(
                f"days: {loaded.days}: staffing the daily pattern on one day (days: 1); "
                "the shifts found repeat every day",
                highlight=False,
            )
            loaded = loaded.with_changes({"days": 1, "duration": "24h"})
    count = max(2, loaded.replications if replications is None else replications)
    names = ", ".join(group)
    result: StaffingResult | IntervalStaffingResult
    try:
        with (
            executor_or_exit(workers, scheduler, count) as executor,
            Progress(count, "simulation 1", enabled=not quiet) as progress,
        ):

            def started(number: int, candidate: int | Sequence[int]) -> None:
                if isinstance(candidate, int):
                    shown = f"{names}={candidate}"
                elif interval is None:
                    shown = ", ".join(f"{g}={c}" for g, c in zip(group, candidate, strict=True))
                else:
                    shown = "per interval"
                progress.reset(f"simulation {number}: {shown}", count)

            options = {
                "max_agents": max_agents,
                "protect": protect,
                "confidence": confidence,
                "early_stop": early_stop,
                "executor": executor,
                "on_replication": progress,
                "on_simulation": started,
            }
            if interval is None:
                result = staff(loaded, group, targets, count, seed, **options)
            else:
                result = staff_per_interval(
                    loaded, group, targets, interval, count, seed, **options
                )
    except StaffingError as error:
        fail(str(error))
    except NotReachable as error:
        if interval is None:
            print_evaluations(error.evaluations, group)  # type: ignore[arg-type]
        else:
            print_day_evaluations(error.evaluations, group, loaded)  # type: ignore[arg-type]
        fail(f"not reachable: {error}", code=1)
    if isinstance(result, StaffingResult):
        print_evaluations(result.evaluations, group, result.counts)
        print_answer(result)
    else:
        print_intervals(result, loaded)
        print_interval_notes(result, loaded)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _header(path: str) -> str:
    """``directories.sales.wait_p90`` -> ``sales`` over ``wait_p90`` (fits 80 columns)."""
    parts = path.split(".")
    if len(parts) == 1:
        return f"overall\n{path}"
    scope, name, metric = parts
    return f"{name}\n{metric}" if scope == "directories" else f"group {name}\n{metric}"


def _widest(path: str) -> int:
    """The longest line of a column header: the column never folds a metric name."""
    return max(len(line) for line in _header(path).splitlines())


def _value(check: Check) -> str:
    from ccsim.results import format_interval, format_metric

    estimate = check.estimate
    text = format_metric(check.metric, estimate.mean)
    if not math.isnan(estimate.ci_low):
        text += " " + format_interval(check.metric, estimate)
    return text


def _cell(check: Check) -> str:
    verdict = "ok" if check.holds else ("no" if check.decided else "?")
    return f"{_value(check)} {verdict}"


def _columns(evaluations: Sequence[Evaluation | IntervalEvaluation]) -> list[str]:
    paths: list[str] = []
    for evaluation in evaluations:
        checks = evaluation.checks
        flat = (
            [c for unit in checks for c in unit]
            if checks and isinstance(checks[0], tuple)
            else checks
        )
        for check in flat:
            if check.path not in paths:
                paths.append(check.path)
    return paths


def print_evaluations(
    evaluations: Sequence[Evaluation],
    groups: Sequence[str],
    chosen: Sequence[int] | None = None,
) -> None:
    """Every simulated staffing, in the order run, with each check's value and interval
    (``?``: left open by early stopping, the candidate failed on another check)."""
    rows = [e for e in evaluations if not e.given]
    if not rows:
        return
    title = f"staffing {', '.join(groups)}: simulations in the order run"
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    for group in groups:
        table.add_column(group if len(groups) > 1 else "agents", justify="right", overflow="fold")
    table.add_column("reps", justify="right")
    paths = _columns(rows)
    for path in paths:
        table.add_column(_header(path), justify="right", min_width=_widest(path))
    table.add_column("met", justify="center")
    for number, evaluation in enumerate(rows, 1):
        by_path = {c.path: c for c in evaluation.checks}
        chosen_row = chosen is not None and tuple(chosen) == evaluation.counts
        table.add_row(
            str(number),
            *(str(c) for c in evaluation.counts),
            str(evaluation.replications),
            *(_cell(by_path[p]) if p in by_path else "" for p in paths),
            "yes" if evaluation.meets else "no",
            style="bold" if chosen_row else None,
        )
    stdout.print(table)


def print_answer(result: StaffingResult) -> None:
    level = f"{100 * result.confidence:g}%"
    staffed = ", ".join(f"{g} {c}" for g, c in zip(result.groups, result.counts, strict=True))
    erlang = ", ".join(str(e) for e in result.estimates)
    if len(result.groups) == 1:
        head = f"{result.group}: {_plural(result.count, 'agent')} meet every target"
    else:
        head = f"{staffed} agents meet every target"
    stdout.print(
        f"{head} with {level} confidence{_below(result)} "
        f"(Erlang estimate {erlang}); {_plural(result.simulations, 'simulation')}, "
        f"{result.replications_run} replications in all (at most {result.replications} each)",
        highlight=False,
    )
    for group, count in zip(result.groups, result.counts, strict=True):
        binding = result.binding(group)
        if binding:
            fewer = f"{group} {count - 1}" if len(result.groups) > 1 else f"{count - 1} agents"
            where = " and ".join(f"{c.path} {c.limit_text} ({_value(c)})" for c in binding)
            verb = "fails" if len(binding) == 1 else "fail"
            stdout.print(f"binds: with {fewer}, {where} {verb}", highlight=False, soft_wrap=True)
    print_guards(result.guards, result.protected, result.baseline)
    for note in result.notes:
        stdout.print(note, highlight=False, soft_wrap=True)
    for warning in result.warnings:
        stderr.print("[bold yellow]warning:[/] ", end="", highlight=False)
        stderr.print(warning, highlight=False, markup=False, soft_wrap=True)
    if result.shifts:
        stdout.print("shifts:", highlight=False)
        lines = ["agents:"]
        for group, shifts in result.shifts.items():
            lines += [f"  {group}:", "    shifts:"]
            lines += [f"      - {{from: {a}, to: {b}, count: {c}}}" for a, b, c in _clock(shifts)]
        stdout.out("\n".join(lines))


def _clock(shifts: Sequence[tuple[float, float, int]]) -> list[tuple[str, str, int]]:
    from ccsim.planning.staffing import clock

    return [(clock(a), clock(b), c) for a, b, c in shifts]


def print_guards(
    guards: Sequence[Check], protected: Sequence[Check], baseline: Evaluation | None
) -> None:
    """The targets at the other directories, on the answer (and as given, if simulated)."""
    if not guards:
        return
    kept = {c.path + c.target for c in protected}
    before = {c.path + c.target: c for c in baseline.checks} if baseline else {}
    for check in guards:
        key = check.path + check.target
        text = f"other directory: {check.path} {check.limit_text}: {_cell(check)}"
        if key in before:
            text += f" (as given: {_cell(before[key])})"
        if key in kept:
            text += "; protected"
        stdout.print(text, highlight=False, soft_wrap=True)


def _below(result: StaffingResult) -> str:
    if len(result.groups) != 1 or result.count == 0:
        return ""
    below = result.evaluation(result.count - 1)
    return f"; {result.count - 1} do not" if below is not None and not below.meets else ""


def interval_spans(scenario: Scenario | None) -> Callable[[float, float], str]:
    """How tables name an interval of run time: its clock times (``08:00–09:00``, with
    the day when the run passes midnight), from the scenario's ``start``."""
    from ccsim.scenario.clock import interval_label, spans_days

    start = scenario.start if scenario is not None else None
    with_day = scenario is not None and spans_days(start, scenario.duration)
    return lambda low, high: interval_label(low, high, start, with_day)


def print_day_evaluations(
    evaluations: Sequence[IntervalEvaluation],
    groups: Sequence[str],
    scenario: Scenario | None = None,
) -> None:
    """Per-interval search: every simulated day, its counts and the intervals that fail."""
    span = interval_spans(scenario)
    if not evaluations:
        return
    title = f"staffing {', '.join(groups)} per interval: days simulated, in order"
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    for group in groups:
        table.add_column(f"{group} per interval", overflow="fold")
    table.add_column("reps", justify="right")
    table.add_column("failing intervals", overflow="fold")
    number = 0
    for evaluation in evaluations:
        if evaluation.given:
            label = "given"
        else:
            number += 1
            label = str(number)
        failing = [
            span(*evaluation.edges[k]) if evaluation.edges else f"#{k + 1}"
            for k in evaluation.failing
        ]
        table.add_row(
            label,
            *(" ".join(str(c) for c in row) for row in evaluation.counts),
            str(evaluation.replications),
            ", ".join(failing) or "none",
        )
    stdout.print(table)


def print_intervals(result: IntervalStaffingResult, scenario: Scenario | None = None) -> None:
    """One row per interval, named by its clock times."""
    span_of = interval_spans(scenario)
    names = ", ".join(result.groups)
    table = Table(title=f"staffing {names} per interval", title_justify="left")
    table.add_column("interval")
    for group in result.groups:
        table.add_column(
            group if len(result.groups) > 1 else "agents", justify="right", overflow="fold"
        )
    table.add_column("Erlang", justify="right")
    paths: list[str] = []
    for plan in result.intervals:
        for check in plan.checks:
            if check.path not in paths:
                paths.append(check.path)
    for path in paths:
        table.add_column(_header(path), justify="right", min_width=_widest(path))
    several = len(paths) > 1
    if several:
        table.add_column("binds", overflow="fold")
    for plan in result.intervals:
        span = span_of(plan.start, plan.end)
        by_path = {c.path: c for c in plan.checks}
        if plan.measured:
            cells = [_cell(by_path[p]) if p in by_path else "" for p in paths]
            binding = plan.binding
            binds = binding.path.split(".")[1] if binding and "." in binding.path else ""
        else:
            cells, binds = ["warm-up"] * len(paths), ""
        erlang = " ".join(str(e) for e in plan.estimates)
        table.add_row(
            span, *(str(c) for c in plan.counts), erlang, *cells, *([binds] if several else [])
        )
    stdout.print(table)


def print_interval_notes(result: IntervalStaffingResult, scenario: Scenario | None = None) -> None:
    span = interval_spans(scenario)
    for note in result.notes:
        stdout.print(note, highlight=False, soft_wrap=True)
    if result.guards:
        checked = sorted({f"{c.path} {c.limit_text}" for unit in result.guards for c in unit})
        kept: dict[str, list[str]] = {}
        for k, check in result.protected:
            plan = result.intervals[k]
            kept.setdefault(f"{check.path} {check.limit_text}", []).append(
                span(plan.start, plan.end)
            )
        for label in checked:
            where = kept.get(label)
            held = sum(
                1
                for unit in result.guards
                for c in unit
                if f"{c.path} {c.limit_text}" == label and c.holds
            )
            measured = sum(1 for plan in result.intervals if plan.measured)
            extra = f"; protected in {', '.join(where)} (met as given)" if where else ""
            stdout.print(
                f"other directories: {label} holds in {held} of {measured} intervals{extra}",
                highlight=False,
                soft_wrap=True,
            )
    for warning in result.warnings:
        stderr.print("[bold yellow]warning:[/] ", end="", highlight=False)
        stderr.print(warning, highlight=False, markup=False, soft_wrap=True)
    stdout.print(
        f"{_plural(result.simulations, 'simulation')} of the day, {result.replications_run} "
        f"replications in all (at most {result.replications} each); shifts:",
        highlight=False,
    )
    stdout.out(result.yaml(), end="")
