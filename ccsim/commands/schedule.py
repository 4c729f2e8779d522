"""``ccsim schedule``: the cheapest shift plan from templates, checked and repaired by
simulation (see :mod:`ccsim.planning.schedule`)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ccsim.commands.common import (
    AllowOutsideOption,
    ConfidenceOption,
    QuietOption,
    ScenarioPath,
    SchedulerOption,
    SeedOption,
    SetOption,
    WorkersOption,
    app,
    executor_or_exit,
    fail,
    load_or_exit,
    output_or_exit,
    stderr,
    stdout,
)
from ccsim.scenario.limits import MAX_AGENTS, MAX_REPLICATIONS
from ccsim.scenario.units import parse_duration

if TYPE_CHECKING:  # the planning modules import numpy, scipy and pandas: imported where run
    from ccsim.planning.schedule import SchedulePlan

#: Mirrors ccsim.planning.schedule (not imported here: it loads scipy).
MAX_ROUNDS_DEFAULT = 10
MAX_ROUNDS_LIMIT = 100


@app.command("schedule")
def schedule_command(
    scenario: ScenarioPath,
    group: Annotated[
        str, typer.Option(metavar="NAME", help="The agent group to plan.", show_default=False)
    ],
    target: Annotated[
        list[str],
        typer.Option(
            metavar="TARGET",
            help="METRIC OP NUMBER[UNIT] (repeatable), e.g. 'service_level >= 80%', on chat "
            "metrics, met in every interval by the chats arriving in it.",
            show_default=False,
        ),
    ],
    templates: Annotated[
        Path,
        typer.Option(
            metavar="FILE",
            help="Shift templates YAML (starts, length, breaks, cost, limits per group).",
            show_default=False,
        ),
    ],
    interval: Annotated[
        str,
        typer.Option(
            metavar="DURATION", help="Length of the intervals planned and judged, e.g. 30m."
        ),
    ] = "1h",
    requirements: Annotated[
        str,
        typer.Option(
            metavar="simulated|erlang",
            help="Per-interval requirements: 'simulated' (Erlang estimates confirmed by "
            "simulating the day) or 'erlang' (the estimates alone; the plan is still checked).",
        ),
    ] = "simulated",
    max_rounds: Annotated[
        int,
        typer.Option(
            min=1,
            max=MAX_ROUNDS_LIMIT,
            help="Coverings simulated at most (each failing interval's requirement is "
            "raised between rounds).",
        ),
    ] = MAX_ROUNDS_DEFAULT,
    max_agents: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_AGENTS,
            help="Requirement search: no interval above this (default: twice Erlang plus 20).",
        ),
    ] = None,
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
    seed: SeedOption = None,
    set_: SetOption = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the scenario with the plan's shifts here (for ccsim run / compare).",
            show_default=False,
        ),
    ] = None,
    chart: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Write a PNG chart: required (line) against scheduled (bars) agents, and "
            "the plan's service levels per interval.",
            show_default=False,
        ),
    ] = None,
    early_stop: Annotated[
        bool,
        typer.Option(help="Stop a simulation's replications once its verdict is decided."),
    ] = True,
    json_: Annotated[bool, typer.Option("--json", help="Print the plan as JSON only.")] = False,
    confidence: ConfidenceOption = 0.95,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    quiet: QuietOption = False,
    allow_outside_data: AllowOutsideOption = False,
) -> None:
    """Plan shifts from templates: the cheapest covering of per-interval requirements
    (integer programming), simulated, and repaired where an interval misses a target.

    Exit 0 when every interval meets every target; 1 when some cannot (each is
    listed with why) or the requirement search cannot reach a target; 2 on bad input.
    """
    from ccsim.executors import Progress
    from ccsim.planning.outputs import CHART, PLAN
    from ccsim.planning.schedule import CannotCover, ScheduleError, schedule
    from ccsim.planning.staffing import NotReachable, StaffingError
    from ccsim.planning.templates import TemplateError, load_templates
    from ccsim.safe_write import check_file_output

    loaded = load_or_exit(scenario, set_, allow_outside_data)
    try:
        length = parse_duration(interval)
    except ValueError as error:
        fail(f"--interval: {error}")
    if requirements not in ("simulated", "erlang"):
        fail(f"--requirements must be 'simulated' or 'erlang', got {requirements!r}")
    try:
        plan_templates = load_templates(templates)
    except TemplateError as error:
        _template_exit(error)
    inputs = [scenario, templates]
    if output is not None:
        with output_or_exit("--output", output):
            check_file_output(output, PLAN, inputs=inputs)
    if chart is not None:
        with output_or_exit("--chart", chart):
            check_file_output(chart, CHART, inputs=inputs)
    count = max(2, loaded.replications if replications is None else replications)
    try:
        with (
            executor_or_exit(workers, scheduler, count) as executor,
            Progress(count, "simulation 1", enabled=not (quiet or json_)) as progress,
        ):
            number = 0

            def started(label: str) -> None:
                nonlocal number
                number += 1
                progress.reset(f"simulation {number}: {label}", count)

            plan = schedule(
                loaded,
                group,
                target,
                plan_templates,
                length,
                count,
                seed,
                requirements=requirements,
                max_rounds=max_rounds,
                max_agents=max_agents,
                confidence=confidence,
                early_stop=early_stop,
                executor=executor,
                on_replication=progress,
                on_simulation=started,
                source=str(templates),
            )
    except TemplateError as error:
        _template_exit(error)
    except (ScheduleError, StaffingError) as error:
        fail(str(error))
    except NotReachable as error:
        fail(f"the per-interval requirements cannot be found: {error}", code=1)
    except CannotCover as error:
        fail(str(error), code=1)

    if output is not None:
        _write_plan(plan, scenario, set_, output, inputs, allow_outside_data)
    if chart is not None:
        from ccsim.planning.outputs import chart_png
        from ccsim.safe_write import write_file

        with output_or_exit("--chart", chart):
            write_file(chart, chart_png(plan), CHART, inputs=inputs)
    if json_:
        stdout.out(json.dumps(plan.to_dict(), indent=1, allow_nan=False))
    else:
        print_plan(plan)
        if output is not None:
            stdout.print(f"wrote {output}: the scenario with the plan's shifts", highlight=False)
        if chart is not None:
            stdout.print(f"wrote {chart}", highlight=False)
    if not plan.meets:
        stderr.print(
            "[bold red]error:[/] the plan misses the targets in "
            f"{len(plan.unmet) or 'some'} interval(s); see 'cannot be met' above",
            highlight=False,
        )
        raise typer.Exit(1)


def _template_exit(error: Exception) -> None:
    problems = getattr(error, "problems", [str(error)])
    source = getattr(error, "source", "templates")
    stderr.print(f"[bold red]error:[/] {source} has bad shift templates:", highlight=False)
    for problem in problems:
        stderr.print(f"  - {problem}", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(2)


def _write_plan(
    plan: SchedulePlan,
    scenario: Path,
    overrides: list[str] | None,
    output: Path,
    inputs: list[Path],
    allow_outside_data: bool,
) -> None:
    from ccsim.planning.outputs import PLAN, check_plan_text, plan_yaml
    from ccsim.safe_write import write_file
    from ccsim.scenario import ScenarioError
    from ccsim.scenario.load import read_scenario_data

    try:
        data = read_scenario_data(scenario, overrides or [])
        text = plan_yaml(plan, data)
        check_plan_text(text, output, allow_outside_data)
    except ScenarioError as error:
        fail(
            f"--output {output}: the scenario with the plan would not load from there "
            f"({'; '.join(error.problems)}); write it beside {scenario}"
        )
    except ValueError as error:
        fail(f"--output {output}: {error}")
    with output_or_exit("--output", output):
        write_file(output, text, PLAN, inputs=inputs)


def _agents(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def print_plan(plan: SchedulePlan) -> None:
    """The shifts, the intervals (required, scheduled, the final service levels), the
    rounds of repair and what cannot be met."""
    from ccsim.results import format_interval, format_metric

    shifts = Table(title=f"shift plan for {plan.group}", title_justify="left")
    for name, justify in (("template", "left"), ("start", "left"), ("end", "left")):
        shifts.add_column(name, justify=justify)  # type: ignore[arg-type]
    for name in ("agents", "cost each", "cost"):
        shifts.add_column(name, justify="right")
    for s in plan.shifts:
        shifts.add_row(
            s.template,
            plan.time(s.start),
            plan.time(s.end),
            str(s.count),
            f"{s.cost_each:g}",
            f"{s.cost:g}",
        )
    stdout.print(shifts)

    rows = Table(title="required and scheduled agents per interval", title_justify="left")
    rows.add_column("interval")
    # the requirement's source: the simulated search, or Erlang alone
    rows.add_column("search" if plan.searched_available else "Erlang", justify="right")
    rows.add_column("required", justify="right")
    rows.add_column("scheduled", justify="right")
    paths: list[str] = []
    for row in plan.intervals:
        for check in row.checks:
            if check.path not in paths:
                paths.append(check.path)
    for path in paths:
        rows.add_column(path.replace("directories.", "").replace(".", "\n"), justify="right")
    rows.add_column("met", justify="center")
    for row in plan.intervals:
        by_path = {c.path: c for c in row.checks}
        cells = []
        for path in paths:
            check = by_path.get(path)
            if not row.measured:
                cells.append("warm-up")
            elif check is None:
                cells.append("")
            else:
                e = check.estimate
                text = format_metric(check.metric, e.mean)
                if not math.isnan(e.ci_low):
                    text += " " + format_interval(check.metric, e)
                cells.append(text)
        over = row.scheduled - row.required
        mark = "" if abs(over) < 1e-9 else (f" (+{_agents(over)})" if over > 0 else " (under)")
        rows.add_row(
            plan.label(row.start, row.end),
            str(row.searched if row.searched is not None else row.erlang),
            str(row.required),
            _agents(row.scheduled) + mark,
            *cells,
            ("yes" if row.meets else "no") if row.measured else "",
        )
    stdout.print(rows)

    for note in plan.notes:
        stdout.print(note, highlight=False, soft_wrap=True)
    for warning in plan.warnings:
        stderr.print("[bold yellow]warning:[/] ", end="", highlight=False)
        stderr.print(warning, highlight=False, markup=False, soft_wrap=True)
    for r in plan.rounds:
        raised = ", ".join(plan.label(*plan.edges[k]) for k in r.raised)
        failing = ", ".join(plan.label(*plan.edges[k]) for k in r.failing) or "none"
        head = f"round {r.number}: cost {r.cost:g}, {r.shifts} agents"
        if raised:
            head += f" (requirement raised in {raised})"
        stdout.print(f"{head}; failing: {failing}", highlight=False, soft_wrap=True)
    for k, why in plan.unmet:
        stdout.print(
            f"cannot be met: {plan.label(*plan.edges[k])} {why}", highlight=False, soft_wrap=True
        )
    gap = plan.gap
    percent = f" ({100 * gap / plan.first_cost:+.1f}%)" if plan.first_cost else ""
    limit = f", at most {plan.max_at_once} on duty at once" if plan.max_at_once is not None else ""
    stdout.print(
        f"total cost {plan.cost:g} (first covering {plan.first_cost:g}, gap {gap:+g}{percent}); "
        f"{plan.agent_hours:g} agent-hours on shift, {plan.on_duty_hours:g} on duty{limit}; "
        f"{plan.simulations} simulations of the day ({plan.requirement_simulations} for the "
        f"requirements, {plan.check_simulations} of plans), {plan.replications_run} "
        f"replications in all (at most {plan.replications} each, seed {plan.seed})"
        + ("" if plan.optimal else "; the covering was not proven cheapest (time limit)"),
        highlight=False,
        soft_wrap=True,
    )
