"""The ``ccsim`` command line, the console script's entry point (``ccsim.cli:app``).

Thin typer commands over :func:`ccsim.api.simulate`. Bad input (an invalid scenario, a
bad option value) prints a readable list on stderr and exits with code 2, never a
traceback. Tables go to stdout; ``--json`` prints only JSON there so that pipes stay clean.

Layout: :mod:`ccsim.commands.common` holds the ``app``, consoles, shared options and
helpers and imports no command; each module of :mod:`ccsim.commands` imports it and
registers its commands on ``app``; this module adds ``--version`` and imports the command
modules in the order ``--help`` lists them. Nothing here or at the top of a command
module imports pandas, scipy or numpy: ``ccsim --version``, ``--help`` and ``validate``
start in a fraction of a second (``tests/test_startup.py``).
"""

from __future__ import annotations

from importlib import import_module
from typing import Annotated

import typer

from ccsim.commands.common import (
    MAX_WORKERS,
    AllowOutsideOption,
    ConfidenceOption,
    QuietOption,
    ReplicationsOption,
    ScenarioPath,
    SchedulerOption,
    SeedOption,
    SetOption,
    StrictOption,
    WorkersOption,
    app,
    executor_or_exit,
    fail,
    load_and_warn,
    load_or_exit,
    output_or_exit,
    print_warnings,
    scenario_error_exit,
    stderr,
    stdout,
)
from ccsim.commands.run import check_run_outputs, print_summary, run, validate


def _version(value: bool) -> None:
    if value:
        from ccsim import __version__

        stdout.print(f"ccsim {__version__}", highlight=False)
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


#: The command modules; importing one registers its commands on ``app``, and ``--help``
#: lists them in this order.
COMMAND_MODULES = (
    "run",
    "compare",
    "check",
    "report",
    "staff",
    "schedule",
    "sweep",
    "theory",
    "fit",
    "backtest",
)
for _module in COMMAND_MODULES:
    import_module(f"ccsim.commands.{_module}")

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
    "check_run_outputs",
    "executor_or_exit",
    "fail",
    "load_and_warn",
    "load_or_exit",
    "output_or_exit",
    "print_summary",
    "print_warnings",
    "run",
    "scenario_error_exit",
    "stderr",
    "stdout",
    "validate",
]

if __name__ == "__main__":  # pragma: no cover
    app()
