"""``ccsim staff``: the smallest head count meeting targets (see :mod:`ccsim.staffing`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated

import typer
from rich.table import Table

from ccsim.cli import (
    AllowOutsideOption,
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
from ccsim.executors import Progress
from ccsim.results import format_interval, format_metric
from ccsim.scenario.limits import MAX_AGENTS, MAX_REPLICATIONS, MAX_SEED
from ccsim.scenario.units import compact_duration, parse_duration
from ccsim.staffing import (
    Check,
    Evaluation,
    IntervalStaffingResult,
    NotReachable,
    StaffingError,
    StaffingResult,
    clock,
    interval_problem,
    parse_targets,
    staff,
    staff_per_interval,
)


@app.command("staff")
def staff_command(
    scenario: ScenarioPath,
    group: Annotated[str, typer.Option(help="The agent group to staff.", show_default=False)],
    target: Annotated[
        list[str],
        typer.Option(
            help="METRIC OP NUMBER[UNIT] (repeatable), e.g. 'service_level >= 0.8', "
            "'wait_p90 <= 60s'. Without a scope it applies to each directory the group "
            "serves (agent metrics: the group); overall.METRIC for the whole center.",
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
            help="Replications per simulation (default: the scenario's, at least 2).",
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
            help="Search no higher (default: twice the estimate plus 20).",
        ),
    ] = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    quiet: QuietOption = False,
    allow_outside_data: AllowOutsideOption = False,
) -> None:
    """Find the smallest head count of a group meeting every target with 95% confidence.

    Starts from an Erlang estimate and confirms by simulation, every candidate with the
    same random numbers. Exit 0 when found, 1 when no head count up to the limit meets
    the targets, 2 on bad input.
    """
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
    count = max(2, loaded.replications if replications is None else replications)
    result: StaffingResult | IntervalStaffingResult
    try:
        with (
            executor_or_exit(workers, scheduler, count) as executor,
            Progress(count, "simulation 1", enabled=not quiet) as progress,
        ):

            def started(number: int, candidate: int | Sequence[int]) -> None:
                shown = candidate if isinstance(candidate, int) else "per interval"
                progress.reset(f"simulation {number}: {group}={shown}", count)

            options = {
                "max_agents": max_agents,
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
        print_evaluations(error.evaluations, group)
        stderr.print(f"[bold red]not reachable:[/] {error}", highlight=False)
        raise typer.Exit(1) from None
    if isinstance(result, StaffingResult):
        print_evaluations(result.evaluations, group, result.count)
        stdout.print(
            f"{group}: {result.count} agents meet every target with 95% confidence"
            f"{_below(result)} (Erlang estimate {result.estimate}); "
            f"{result.simulations} simulations of {result.replications} replications",
            highlight=False,
        )
    else:
        print_intervals(result)
        stdout.print(
            f"{result.simulations} simulations of the day, {result.replications} "
            "replications each; shifts:",
            highlight=False,
        )
        stdout.out(result.yaml(), end="")


def _below(result: StaffingResult) -> str:
    if result.count == 0:
        return ""
    below = result.evaluation(result.count - 1)
    return f"; {result.count - 1} do not" if below is not None and not below.meets else ""


def _cell(check: Check) -> str:
    estimate = check.estimate
    text = format_metric(check.metric, estimate.mean)
    if not math.isnan(estimate.ci_low):
        text += " " + format_interval(check.metric, estimate)
    return text + (" ok" if check.holds else " no")


def print_evaluations(
    evaluations: Sequence[Evaluation], group: str, chosen: int | None = None
) -> None:
    """Every simulated head count, in the order run, with each check's value and interval."""
    if not evaluations:
        return
    table = Table(title=f"staffing {group}: simulations in the order run", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("agents", justify="right")
    paths = [(c.target, c.path) for c in evaluations[0].checks]
    for _, path in paths:
        table.add_column(path, justify="right")
    table.add_column("meets", justify="center")
    for number, evaluation in enumerate(evaluations, 1):
        style = "bold" if evaluation.count == chosen else None
        table.add_row(
            str(number),
            str(evaluation.count),
            *(_cell(c) for c in evaluation.checks),
            "yes" if evaluation.meets else "no",
            style=style,
        )
    stdout.print(table)


def print_intervals(result: IntervalStaffingResult) -> None:
    table = Table(title=f"staffing {result.group} per interval", title_justify="left")
    table.add_column("interval")
    table.add_column("agents", justify="right")
    table.add_column("Erlang", justify="right")
    paths = next((p.checks for p in result.intervals if p.checks), ())
    for check in paths:
        table.add_column(check.path, justify="right")
    for plan in result.intervals:
        span = f"{clock(plan.start)}-{clock(plan.end)}"
        cells = [_cell(c) for c in plan.checks] if plan.measured else ["warm-up"] * len(paths)
        table.add_row(span, str(plan.count), str(plan.estimate), *cells)
    stdout.print(table)
