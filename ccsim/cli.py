"""The ``ccsim`` command line: thin typer commands over :func:`ccsim.api.simulate`.

Bad input (an invalid scenario, a bad option value) prints a readable list on stderr
and exits with code 2, never a traceback. Tables go to stdout; ``--json`` prints only
JSON there so that pipes stay clean.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from ccsim.api import Results, ccsim_version, simulate
from ccsim.executors import Executor, Progress, SchedulerError, open_executor
from ccsim.results import format_interval, format_metric
from ccsim.scenario import Scenario, ScenarioError, load_scenario

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
WorkersOption = Annotated[
    int | None, typer.Option(min=1, help="Parallel worker processes (default: all cores).")
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
    typer.Option("--replications", "-n", min=1, help="Replications (default: the scenario's)."),
]
SeedOption = Annotated[int | None, typer.Option(min=0, help="Seed (default: the scenario's).")]


def fail(message: str, code: int = 2) -> NoReturn:
    stderr.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def executor_or_exit(workers: int | None, scheduler: str | None, tasks: int) -> Iterator[Executor]:
    """The executor for ``--workers``/``--scheduler``; an unusable scheduler exits 2.

    Opened before any progress bar: the local pool forks its workers here, while this
    process has no other thread.
    """
    try:
        with open_executor(workers, tasks, scheduler=scheduler or None) as executor:
            yield executor
    except SchedulerError as error:
        fail(str(error))


def load_or_exit(path: Path, overrides: list[str] | None) -> Scenario:
    """Load and validate a scenario; on failure print every problem and exit 2."""
    try:
        return load_scenario(path, overrides or [])
    except ScenarioError as error:
        stderr.print(
            f"[bold red]error:[/] {error.source} is not a valid scenario:", highlight=False
        )
        for problem in error.problems:
            stderr.print(f"  - {problem}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None


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
def validate(scenario: ScenarioPath, set_: SetOption = None) -> None:
    """Check a scenario file without running it."""
    loaded = load_or_exit(scenario, set_)
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
) -> None:
    """Run a scenario and print its metrics with 95% confidence intervals."""
    if fmt not in ("csv", "parquet"):
        fail(f"--format must be csv or parquet, not {fmt!r}")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            fail("--format parquet needs pyarrow: pip install 'ccsim[parquet]'")
    loaded = load_or_exit(scenario, set_)
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

        write_results(results, out, fmt)  # type: ignore[arg-type]
    if report is not None:
        from ccsim.report import write_report

        write_report(results, report)
    if as_json:
        from ccsim.output import json_safe

        sys.stdout.write(json.dumps(json_safe(results.to_dict()), indent=2) + "\n")
        return
    print_summary(results)
    if out is not None:
        stdout.print(f"results written to {out}/", highlight=False)
    if report is not None:
        stdout.print(f"report written to {report}", highlight=False, soft_wrap=True)


DIRECTORY_COLUMNS = (
    "offered",
    "abandon_rate",
    "service_level",
    "wait_mean",
    "wait_p90",
    "transfer_rate",
    "handoff_gap_mean",
)


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
        table.add_row(
            metric, format_metric(metric, estimate.mean), format_interval(metric, estimate)
        )
    stdout.print(table)
    if len(summary.directories) > 0:
        by_directory = Table(title="per directory (means)", title_justify="left")
        by_directory.add_column("directory")
        for metric in DIRECTORY_COLUMNS:  # two-line headers fit an 80-column terminal
            by_directory.add_column(metric.replace("_", "\n", 1), justify="right")
        for name, metrics in summary.directories.items():
            by_directory.add_row(
                name, *(format_metric(m, metrics[m].mean) for m in DIRECTORY_COLUMNS)
            )
        stdout.print(by_directory)
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
