"""The ``ccsim`` command line: thin typer commands over :func:`ccsim.api.simulate`.

Bad input (an invalid scenario, a bad option value) prints a readable list on stderr
and exits with code 2, never a traceback. Tables go to stdout; ``--json`` prints only
JSON there so that pipes stay clean.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from ccsim.api import Results, ccsim_version, simulate
from ccsim.executors import ClusterLostError, Executor, Progress, SchedulerError, open_executor
from ccsim.results import OUTCOMES_NOTE, Summary, format_interval, format_metric
from ccsim.safe_write import OutputRefused
from ccsim.scenario import Scenario, ScenarioError, load_scenario
from ccsim.scenario.limits import MAX_REPLICATIONS, MAX_SEED
from ccsim.scenario.warnings import results_warnings

app = typer.Typer(
    name="ccsim",
    help="Simulate chat contact centers: queues, conferences, warm and directory transfers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stdout = Console()
stderr = Console(stderr=True)

ScenarioPath = Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False)]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override one value: path=value (repeatable), e.g. --set agents.sales_team.count=12.",
    ),
]
MAX_WORKERS = 1024
WorkersOption = Annotated[
    int | None,
    typer.Option(min=1, max=MAX_WORKERS, help="Parallel worker processes (default: all cores)."),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        envvar="CCSIM_SCHEDULER",
        help="Run on this Dask cluster instead (scheduler address, e.g. tcp://host:8786).",
        show_default=False,
    ),
]
QuietOption = Annotated[bool, typer.Option("--quiet", help="No progress bar.")]
ReplicationsOption = Annotated[
    int | None,
    typer.Option(
        "--replications",
        "-n",
        min=1,
        max=MAX_REPLICATIONS,
        help="Replications (default: the scenario's).",
    ),
]
SeedOption = Annotated[
    int | None, typer.Option(min=0, max=MAX_SEED, help="Seed (default: the scenario's).")
]
AllowOutsideOption = Annotated[
    bool,
    typer.Option(
        "--allow-outside-data",
        help="Let data files named in the scenario (empirical csv:) lie outside its folder "
        "(absolute paths, '..', links elsewhere).",
    ),
]
StrictOption = Annotated[
    bool, typer.Option("--strict", help="Treat warnings about the scenario as errors (exit 2).")
]


def fail(message: str, code: int = 2) -> NoReturn:
    stderr.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def executor_or_exit(workers: int | None, scheduler: str | None, tasks: int) -> Iterator[Executor]:
    """The executor for ``--workers``/``--scheduler``; an unusable scheduler exits 2, a
    cluster lost in the middle of the run exits 1 (one line each, no traceback).

    Opened before any progress bar: the local pool forks its workers here, while this
    process has no other thread.
    """
    try:
        with open_executor(workers, tasks, scheduler=scheduler or None) as executor:
            yield executor
    except SchedulerError as error:
        fail(str(error))
    except ClusterLostError as error:
        fail(str(error), code=1)


@contextlib.contextmanager
def output_or_exit(option: str, path: Path) -> Iterator[None]:
    """An output path ccsim refuses (see :mod:`ccsim.safe_write`) or a write that fails
    exits 2 with the option, the path, why and what to do; never a traceback."""
    try:
        yield
    except OutputRefused as error:
        fail(f"{option} {error}")
    except OSError as error:
        fail(f"{option} {path}: cannot write it ({error.strerror or error})")


def load_or_exit(
    path: Path, overrides: list[str] | None, allow_outside_data: bool = False
) -> Scenario:
    """Load and validate a scenario; on failure print every problem and exit 2."""
    try:
        return load_scenario(path, overrides or [], allow_outside_data=allow_outside_data)
    except ScenarioError as error:
        scenario_error_exit(error)


def scenario_error_exit(error: ScenarioError) -> NoReturn:
    """Print every problem of a scenario, one line each with its path, and exit 2."""
    stderr.print(f"[bold red]error:[/] {error.source} is not a valid scenario:", highlight=False)
    for problem in error.problems:
        stderr.print(f"  - {problem}", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(2)


def load_and_warn(
    path: Path, overrides: list[str] | None, allow_outside_data: bool, strict: bool
) -> Scenario:
    """:func:`load_or_exit`, then print the scenario's warnings on stderr (see
    :mod:`ccsim.scenario.warnings`); with ``strict`` a warning exits 2 before any run."""
    from ccsim.scenario.load import read_scenario_data, scenario_from_dict
    from ccsim.scenario.warnings import scenario_warnings

    try:
        data = read_scenario_data(path, overrides or [])
        loaded = scenario_from_dict(
            data, base_dir=path.parent, source=str(path), allow_outside_data=allow_outside_data
        )
    except ScenarioError as error:
        scenario_error_exit(error)
    print_warnings(scenario_warnings(loaded, data), strict)
    return loaded


def print_warnings(warnings: Sequence[object], strict: bool = False) -> None:
    """One ``warning:`` line each on stderr; with ``strict``, then exit 2."""
    for warning in warnings:
        stderr.print("[bold yellow]warning:[/] ", end="", highlight=False)
        stderr.print(str(warning), highlight=False, markup=False, soft_wrap=True)
    if strict and warnings:
        count = len(warnings)
        fail(f"{count} warning{'s' if count != 1 else ''} and --strict: not going further")


def _version(value: bool) -> None:
    if value:
        stdout.print(f"ccsim {ccsim_version()}", highlight=False)
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """ccsim: discrete-event simulation of chat contact centers."""


@app.command()
def validate(
    scenario: ScenarioPath,
    set_: SetOption = None,
    allow_outside_data: AllowOutsideOption = False,
    strict: StrictOption = False,
) -> None:
    """Check a scenario file without running it; warn about what is probably a mistake."""
    loaded = load_and_warn(scenario, set_, allow_outside_data, strict)
    groups = ", ".join(f"{n} ({g.size})" for n, g in loaded.agents.items())
    stdout.print(
        f"{scenario}: valid scenario {loaded.name!r}: "
        f"{len(loaded.directories)} directories, agent groups {groups}, "
        f"{len(loaded.transfers)} transfer rules",
        highlight=False,
    )


@app.command()
def run(
    scenario: ScenarioPath,
    replications: ReplicationsOption = None,
    seed: SeedOption = None,
    set_: SetOption = None,
    out: Annotated[
        Path | None, typer.Option(help="Write summary.json, scenario and tables to this folder.")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="Table format for --out: csv or parquet.")
    ] = "csv",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    workers: WorkersOption = None,
    events: Annotated[bool, typer.Option(help="Keep the event log.")] = True,
    report: Annotated[
        Path | None,
        typer.Option(help="Write a self-contained HTML report (summary, charts) to this file."),
    ] = None,
    scheduler: SchedulerOption = None,
    quiet: QuietOption = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace the --out folder if it holds ccsim results of an earlier run "
            "(never a folder of other files).",
        ),
    ] = False,
    allow_outside_data: AllowOutsideOption = False,
    strict: StrictOption = False,
) -> None:
    """Run a scenario and print its metrics with 95% confidence intervals.

    Warnings about the scenario (and, after the run, a queue that grew without bound) go
    to stderr; ``--strict`` stops before running when the scenario has warnings.
    """
    if fmt not in ("csv", "parquet"):
        fail(f"--format must be csv or parquet, not {fmt!r}")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            fail("--format parquet needs pyarrow: pip install 'ccsim[parquet]'")
    check_run_outputs(scenario, out, report, force)
    loaded = load_and_warn(scenario, set_, allow_outside_data, strict)
    count = loaded.replications if replications is None else replications
    with (
        executor_or_exit(workers, scheduler, count) as executor,
        Progress(count, loaded.name, enabled=not quiet) as progress,
    ):
        results = simulate(
            loaded,
            replications=count,
            seed=seed,
            record_events=events,
            keep_records=out is not None or report is not None,
            on_replication=progress,
            executor=executor,
        )
    if out is not None:
        from ccsim.output import write_results

        with output_or_exit("--out", out):
            write_results(results, out, fmt, force=force, inputs=[scenario])  # type: ignore[arg-type]
    if report is not None:
        from ccsim.report import write_report

        with output_or_exit("--report", report):
            write_report(results, report)
    if as_json:
        from ccsim.output import json_safe

        sys.stdout.write(json.dumps(json_safe(results.to_dict()), indent=2) + "\n")
        print_warnings(results_warnings(results))
        return
    print_summary(results)
    if out is not None:
        stdout.print(f"results written to {out}/", highlight=False)
    if report is not None:
        stdout.print(f"report written to {report}", highlight=False, soft_wrap=True)
    print_warnings(results_warnings(results))


def check_run_outputs(scenario: Path, out: Path | None, report: Path | None, force: bool) -> None:
    """Refuse bad ``--out``/``--report`` paths before the simulation runs, not after."""
    from ccsim.safe_write import REPORT, RESULTS, check_file_output, check_folder_output

    if out is not None:
        with output_or_exit("--out", out):
            check_folder_output(out, RESULTS, force=force, inputs=[scenario], force_hint="--force")
    if report is not None:
        if out is not None and report.absolute() == out.absolute():
            fail(f"--report {report} is also the --out folder; give the report a file name")
        with output_or_exit("--report", report):
            check_file_output(report, REPORT, inputs=[scenario])


DIRECTORY_COLUMNS = (
    "offered",
    "abandon_rate",
    "service_level",
    "wait_mean",
    "wait_p90",
    "transfer_rate",
    "handoff_gap_mean",
)
# The queue view: a directory that only receives transfers has offered 0 above.
QUEUE_COLUMNS = (
    "queued",
    "transferred_in",
    "queued_answered",
    "queued_abandoned",
    "queued_service_level",
    "queued_wait_mean",
    "queued_wait_p90",
)
# The overall table starts a new section at each of these: outcomes of the chats that
# arrived, their waits and transfers, the queue view, the agents.
OVERALL_SECTIONS = frozenset({"completed", "service_level", "queued", "utilization"})


def _directory_table(
    title: str, summary: Summary, columns: tuple[str, ...], header_breaks: int = 1
) -> Table:
    """Means per directory; headers broken at underscores keep it within 80-100 columns."""
    table = Table(title=title, title_justify="left")
    table.add_column("directory")
    for metric in columns:
        table.add_column(metric.replace("_", "\n", header_breaks), justify="right")
    for name, metrics in summary.directories.items():
        table.add_row(name, *(format_metric(m, metrics[m].mean) for m in columns))
    return table


def print_summary(results: Results) -> None:
    summary = results.summary_table
    scenario = results.scenario
    title = (
        f"{scenario.name}: {results.replications} replication"
        f"{'s' if results.replications != 1 else ''}, seed {results.seed}, "
        f"{results.runtime_s:.1f}s"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("mean", justify="right")
    table.add_column("95% CI", justify="right")
    for metric, estimate in summary.overall.items():
        if metric in OVERALL_SECTIONS and table.row_count:
            table.add_section()
        table.add_row(
            metric, format_metric(metric, estimate.mean), format_interval(metric, estimate)
        )
    stdout.print(table)
    if "completed" in summary.overall:
        stdout.print(OUTCOMES_NOTE, highlight=False, style="dim")
    if len(summary.directories) > 0:
        arrived = "per directory, chats that [b]arrived here[/b] (means; transfers: by source)"
        stdout.print(_directory_table(arrived, summary, DIRECTORY_COLUMNS))
        if all(m in metrics for metrics in summary.directories.values() for m in QUEUE_COLUMNS):
            queued = "per directory, every stay [b]queued here[/b], incl. transfers in (means)"
            stdout.print(_directory_table(queued, summary, QUEUE_COLUMNS, header_breaks=2))
    if summary.groups:
        by_group = Table(title="per agent group", title_justify="left")
        by_group.add_column("group")
        for metric in ("utilization", "occupancy"):
            by_group.add_column(metric, justify="right")
            by_group.add_column("95% CI", justify="right")
        for name, metrics in summary.groups.items():
            cells: list[str] = []
            for metric in ("utilization", "occupancy"):
                cells += [
                    format_metric(metric, metrics[metric].mean),
                    format_interval(metric, metrics[metric]),
                ]
            by_group.add_row(name, *cells)
        stdout.print(by_group)
    if results.replications == 1:
        stdout.print("(one replication: no confidence intervals; use -n for more)")


# Commands defined in other modules register themselves here, one import each:
# (keep this list sorted; each module calls ``app.command()`` on its functions)
from ccsim.commands import check as _check  # noqa: E402, F401
from ccsim.commands import compare as _compare  # noqa: E402, F401
from ccsim.commands import report as _report  # noqa: E402, F401
from ccsim.commands import staff as _staff  # noqa: E402, F401
from ccsim.commands import sweep as _sweep  # noqa: E402, F401
from ccsim.commands import theory as _theory  # noqa: E402, F401

if __name__ == "__main__":  # pragma: no cover
    app()
