"""``ccsim sweep``: run a scenario over a grid of parameter values (see :mod:`ccsim.sweep`)."""

from __future__ import annotations

import contextlib
import difflib
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ccsim.cli import (
    AllowOutsideOption,
    QuietOption,
    ScenarioPath,
    SchedulerOption,
    WorkersOption,
    app,
    executor_or_exit,
    fail,
    load_or_exit,
    scenario_error_exit,
    stderr,
    stdout,
)
from ccsim.executors import Progress
from ccsim.results import METRICS, format_metric
from ccsim.scenario import ScenarioError
from ccsim.scenario.limits import MAX_REPLICATIONS, MAX_SEED
from ccsim.scenario.load import read_scenario_data
from ccsim.sweep import (
    SweepError,
    SweepFile,
    SweepResult,
    build_points,
    columns_for,
    format_parameter,
    parse_axis,
    run_sweep,
    scenario_digest,
)

#: Metrics shown on screen unless --metric says otherwise (the CSV has them all).
SHOWN_METRICS = ("service_level", "abandon_rate", "wait_p90", "utilization")


@app.command()
def sweep(
    scenario: ScenarioPath,
    set_: Annotated[
        list[str],
        typer.Option(
            "--set",
            help="An axis: path=START..END[..STEP] (inclusive), path=a,b,c or path=value. "
            "Repeatable; the grid is every combination.",
            show_default=False,
        ),
    ],
    replications: Annotated[
        int | None,
        typer.Option(
            "--replications",
            "-n",
            min=1,
            max=MAX_REPLICATIONS,
            help="Replications per point (default: the scenario's).",
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(min=0, max=MAX_SEED, help="Seed of every point (default: the scenario's)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="CSV file: each point is added as it finishes; rerun to resume.",
            show_default=False,
        ),
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            "-m",
            help=f"Metric to show on screen (repeatable; default {', '.join(SHOWN_METRICS)}).",
            show_default=False,
        ),
    ] = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    quiet: QuietOption = False,
    allow_outside_data: AllowOutsideOption = False,
) -> None:
    """Run a scenario at every point of a parameter grid, with the same random numbers.

    Example: ccsim sweep scenarios/retail.yaml --set agents.sales_team.count=10..18
    --set transfers.0.probability=0.1,0.2,0.3 -n 10 --out sweep.csv
    """
    shown = list(metric or SHOWN_METRICS)
    for name in shown:
        if name not in METRICS:
            close = difflib.get_close_matches(name, METRICS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            fail(f"--metric {name!r}: unknown metric{hint}; metrics: {', '.join(METRICS)}")
    try:
        axes = [parse_axis(text) for text in set_]
    except SweepError as error:
        fail(str(error))
    base = load_or_exit(scenario, None, allow_outside_data)
    try:
        data = read_scenario_data(scenario)  # read once more, as safely (size, file type)
    except ScenarioError as error:
        scenario_error_exit(error)
    try:
        points = build_points(
            data,
            axes,
            base_dir=scenario.parent,
            source=str(scenario),
            allow_outside_data=allow_outside_data,
        )
    except SweepError as error:
        fail(str(error))
    except ScenarioError as error:
        stderr.print(f"[bold red]error:[/] the sweep of {error.source} has invalid points:")
        for problem in error.problems:
            stderr.print(f"  - {problem}", highlight=False, markup=False)
        raise typer.Exit(2) from None
    count = base.replications if replications is None else replications
    seed = base.seed if seed is None else seed
    digest = scenario_digest(data)
    sweep_file = SweepFile(out, columns_for(axes), digest) if out is not None else None
    with contextlib.ExitStack() as hold:
        try:
            if sweep_file is not None:
                hold.enter_context(sweep_file.lock())  # held until the last row is written
            finished = len(sweep_file.load()) if sweep_file is not None else 0
        except SweepError as error:
            fail(str(error))
        if finished and sweep_file is not None:
            stderr.print(f"{out}: resuming, {finished} points already there", highlight=False)
        todo = len(points) * count  # an upper bound when resuming; the bar is resized below
        try:
            with (
                executor_or_exit(workers, scheduler, todo) as executor,
                Progress(todo, f"{len(points)} points", enabled=not quiet) as progress,
            ):
                result = run_sweep(
                    points,
                    count,
                    seed,
                    digest=digest,
                    out=sweep_file,
                    executor=executor,
                    on_replication=progress,
                    on_start=lambda tasks: progress.update(total=tasks),
                )
        except KeyboardInterrupt:
            where = f"; finished points are in {out}, run the same command to resume" if out else ""
            stderr.print(f"interrupted{where}", highlight=False)
            raise typer.Exit(130) from None
    print_sweep(result, [axis.path for axis in axes], shown)
    if out is not None:
        stdout.print(
            f"{result.ran} points run, {len(result.points) - result.ran} resumed; rows in {out}",
            highlight=False,
        )


def print_sweep(result: SweepResult, parameters: list[str], metrics: list[str]) -> None:
    """One row per point: parameter values, then each metric as mean ± the half-width of
    its 95% interval (the CSV has the interval's ends)."""
    table = Table(
        title=f"sweep: {len(result.points)} points, {result.replications} replications each, "
        f"seed {result.seed} (mean ± 95% CI half-width)",
        title_justify="left",
    )
    for parameter in parameters:
        lines = parameter.replace(".", ".\n")  # a narrow column, one key a line
        table.add_column(lines, justify="right", min_width=max(map(len, lines.split())))
    for name in metrics:
        table.add_column(name, justify="right", no_wrap=True)
    for point in result.points:
        cells = [format_parameter(point.values[p]) for p in parameters]
        for name in metrics:
            estimate = point.estimates[name]
            text = format_metric(name, estimate.mean)
            if not math.isnan(estimate.ci_low):
                text += f" ±{format_metric(name, estimate.half_width)}"
            cells.append(text)
        table.add_row(*cells)
    stdout.print(table)
