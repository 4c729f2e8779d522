"""``ccsim sweep``: run a scenario over a grid of parameter values (see :mod:`ccsim.sweep`)."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Table

from ccsim.commands.common import (
    AllowOutsideOption,
    ConfidenceOption,
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
from ccsim.scenario.limits import MAX_REPLICATIONS, MAX_SEED

if TYPE_CHECKING:  # ccsim.sweep imports pandas and scipy: imported where a command runs
    from ccsim.sweep import SweepResult

#: Metrics shown on screen unless --metric says otherwise (the CSV has every overall metric
#: and the key ones of each directory and group); each directory's service level is shown
#: after the overall one when there are several (see :func:`shown_metrics`).
SHOWN_METRICS = ("service_level", "abandon_rate", "wait_p90", "utilization")


def shown_metrics(directories: list[str]) -> list[str]:
    """The default screen columns: the overall service level, each directory's (when
    there are several: a shared group can lift one while another misses its target),
    then abandonment, the 90th percentile wait and utilization overall."""
    per_directory = [f"directories.{d}.service_level" for d in directories]
    return [SHOWN_METRICS[0], *(per_directory if len(directories) > 1 else []), *SHOWN_METRICS[1:]]


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
            metavar="METRIC",
            help="Metric to show on screen: any path ccsim check takes, e.g. "
            "directories.sales.wait_p90 (repeatable; default: service level overall and per "
            "directory, abandon_rate, wait_p90, utilization). The CSV also has it.",
            show_default=False,
        ),
    ] = None,
    confidence: ConfidenceOption = 0.95,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    quiet: QuietOption = False,
    allow_outside_data: AllowOutsideOption = False,
) -> None:
    """Run a scenario at every point of a parameter grid, with the same random numbers.

    Example: ccsim sweep scenarios/retail.yaml --set agents.sales_team.count=10..18
    --set transfers.0.probability=0.1,0.2,0.3 -n 10 --out sweep.csv
    """
    from ccsim.executors import Progress
    from ccsim.expect import ExpectationError, parse_metric_path
    from ccsim.scenario import ScenarioError
    from ccsim.scenario.load import read_scenario_data
    from ccsim.sweep import (
        SweepError,
        SweepFile,
        build_points,
        columns_for,
        metric_paths,
        parse_axis,
        run_sweep,
        scenario_digest,
    )

    for name in metric or []:  # the grammar first; names once the scenario is read
        try:
            parse_metric_path(name)
        except ExpectationError as error:
            fail(f"--metric {error}")
    try:
        axes = [parse_axis(text) for text in set_]
    except SweepError as error:
        fail(str(error))
    base = load_or_exit(scenario, None, allow_outside_data)
    try:
        shown = [parse_metric_path(m, base.directories, base.agents) for m in metric or []]
    except ExpectationError as error:
        fail(f"--metric {error}")
    shown = shown or shown_metrics(list(base.directories))
    paths = metric_paths(base, extra=shown)
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
    sweep_file = (
        SweepFile(out, columns_for(axes, paths), digest, confidence) if out is not None else None
    )
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
                    confidence=confidence,
                    metrics=paths,
                )
        except SweepError as error:
            fail(str(error))
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


def _narrow(path: str) -> str:
    """A column header one key a line (``agents.\nsales_team.\ncount``)."""
    return path.replace(".", ".\n")


def metric_header(path: str, scoped: bool) -> str:
    """A narrow header for a metric path: with ``scoped``, a first line saying whose it
    is (``overall``, or the directory's or group's name: chat and agent metrics differ,
    so the metric says which), then the metric one word a line (``service\nlevel``)."""
    parts = path.split(".")
    words = parts[-1].replace("_", "\n")
    if not scoped:
        return words
    return f"{parts[1] if len(parts) == 3 else 'overall'}\n{words}"


def print_sweep(result: SweepResult, parameters: list[str], metrics: list[str]) -> None:
    """One row per point: parameter values, then each metric (a path such as
    ``directories.sales.service_level``) as mean ± the half-width of its interval (the
    CSV has the interval's ends)."""
    from ccsim.confidence import level_text
    from ccsim.results import format_metric
    from ccsim.sweep import format_parameter

    scoped = any("." in name for name in metrics)
    rows: list[list[tuple[str, str]]] = []
    for point in result.points:
        cells = []
        for name in metrics:
            estimate = point.estimates[name]
            base = name.rsplit(".", 1)[-1]
            spread = ""
            if not math.isnan(estimate.ci_low):
                spread = f"±{format_metric(base, estimate.half_width)}"
            cells.append((format_metric(base, estimate.mean), spread))
        rows.append(cells)
    headers = [metric_header(name, scoped) for name in metrics]
    lefts = [_narrow(p) for p in parameters]
    values = [[format_parameter(point.values[p]) for p in parameters] for point in result.points]
    widths = [
        max([*map(len, lefts[i].split("\n")), *(len(v[i]) for v in values)])
        for i in range(len(parameters))
    ] + [
        max([*map(len, headers[i].split("\n")), *(len(f"{m} {s}".strip()) for m, s in column)])
        for i, column in enumerate(zip(*rows, strict=True) if rows else [[]] * len(metrics))
    ]
    # One line a cell, columns three spaces apart, when that fits the terminal; else one
    # space apart with the ± part under the mean (never a header or a number cut short).
    stacked = sum(w + 3 for w in widths) > stdout.width
    stdout.print(
        f"sweep: {len(result.points)} points, {result.replications} replications each, "
        f"seed {result.seed} (mean ± {level_text(result.confidence)} CI half-width)",
        highlight=False,
        soft_wrap=True,
    )
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 0) if stacked else (0, 1),
        pad_edge=False,
    )
    for header in [*lefts, *headers]:
        table.add_column(header, justify="right", min_width=max(map(len, header.split("\n"))))
    for left, cells in zip(values, rows, strict=True):
        joined = [f"{m}\n{s}" if stacked and s else f"{m} {s}".strip() for m, s in cells]
        table.add_row(*left, *joined)
    stdout.print(table)
