"""What every ``ccsim`` command shares: the typer ``app``, consoles, option types, and the
helpers that turn bad input into one readable line and exit code 2.

This module imports nothing from the command modules (they import it), and nothing heavy:
``ccsim --version``, ``--help`` and ``validate`` import every command module, so pandas,
scipy, numpy and the executors are imported inside the functions that need them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

from ccsim.confidence import CONFIDENCE_HELP, DEFAULT_CONFIDENCE, level_problem
from ccsim.help_format import ReadableGroup
from ccsim.scenario.limits import MAX_REPLICATIONS, MAX_SEED

if TYPE_CHECKING:
    from ccsim.executors import Executor
    from ccsim.scenario import Scenario, ScenarioError

app = typer.Typer(
    name="ccsim",
    help="Simulate chat contact centers: queues, conferences, warm and directory transfers.",
    context_settings={"help_option_names": ["-h", "--help"]},
    cls=ReadableGroup,  # help shows value names, not Python type tags
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# No emoji codes: ':x:' in a user's value must print as written.
stdout = Console(emoji=False)
stderr = Console(stderr=True, emoji=False)

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


def _confidence_level(value: float) -> float:
    """``--confidence`` outside (0, 1): one ``error:`` line and exit 2, like all bad input."""
    problem = level_problem(value)
    if problem:
        fail(f"--confidence {problem}")
    return value


# The same --confidence in every command: the level of the intervals shown and judged.
ConfidenceOption = Annotated[
    float,
    typer.Option("--confidence", metavar="LEVEL", help=CONFIDENCE_HELP, callback=_confidence_level),
]
assert DEFAULT_CONFIDENCE == 0.95  # the default every command gives ConfidenceOption


# How fit and backtest find ccsim's columns in a user's own export (docs/log-format.md).
MapOption = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        metavar="COLUMN=NAME",
        help="Read ccsim's COLUMN from the export's column NAME (repeatable), e.g. "
        "--map arrival=created_at or --map legs.end=left_at.",
    ),
]
MapFileOption = Annotated[
    Path | None,
    typer.Option(help="YAML column map: files, columns and values (docs/log-format.md)."),
]


def fail(message: str, code: int = 2) -> NoReturn:
    """One ``error:`` line on stderr, then exit (2: bad input), never a traceback."""
    stderr.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def executor_or_exit(workers: int | None, scheduler: str | None, tasks: int) -> Iterator[Executor]:
    """The executor for ``--workers``/``--scheduler``; an unusable scheduler exits 2, a
    cluster lost in the middle of the run exits 1 (one line each, no traceback).

    Opened before any progress bar: the local pool forks its workers here, while this
    process has no other thread.
    """
    from ccsim.executors import ClusterLostError, SchedulerError, open_executor

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
    from ccsim.safe_write import OutputRefused

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
    from ccsim.scenario import ScenarioError, load_scenario

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
    from ccsim.scenario import ScenarioError
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
    from ccsim.scenario.warnings import planning_notes

    for note in planning_notes(loaded):
        stderr.print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)
    return loaded


def print_warnings(warnings: Sequence[object], strict: bool = False) -> None:
    """One ``warning:`` line each on stderr; with ``strict``, then exit 2."""
    for warning in warnings:
        stderr.print("[bold yellow]warning:[/] ", end="", highlight=False)
        stderr.print(str(warning), highlight=False, markup=False, soft_wrap=True)
    if strict and warnings:
        count = len(warnings)
        fail(f"{count} warning{'s' if count != 1 else ''} and --strict: not going further")


__all__ = [
    "MAX_WORKERS",
    "AllowOutsideOption",
    "ConfidenceOption",
    "QuietOption",
    "ReplicationsOption",
    "ScenarioPath",
    "SchedulerOption",
    "SeedOption",
    "SetOption",
    "StrictOption",
    "WorkersOption",
    "app",
    "executor_or_exit",
    "fail",
    "load_and_warn",
    "load_or_exit",
    "output_or_exit",
    "print_warnings",
    "scenario_error_exit",
    "stderr",
    "stdout",
]


def read_log_or_exit(logdir: Path, map_: list[str] | None, map_file: Path | None) -> object:
    """The interaction log, or every problem with file, row and column on stderr and exit 2."""
    from ccsim.data.log import LogError, column_map_from_options, read_log

    try:
        return read_log(logdir, column_map_from_options(map_, map_file))
    except LogError as error:
        stderr.print(
            f"[bold red]error:[/] {logdir} is not a usable interaction log:",
            highlight=False,
            soft_wrap=True,
        )
        for problem in error.problems:
            stderr.print(f"  - {problem}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
