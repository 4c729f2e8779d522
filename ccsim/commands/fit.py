"""``ccsim fit LOGDIR -o scenario.yaml``: a scenario estimated from an interaction log.

The log is read with :func:`ccsim.data.log.read_log` (a bad log: every problem with file,
row and column, exit 2), fitted by :func:`ccsim.data.fit.fit_log`, rendered as commented
YAML and, with ``--report``, as an HTML page of the data against each fitted curve. Both
outputs are checked before any work and written only once everything is computed and the
scenario has been read back by the loader, so a failure leaves nothing half-written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ccsim.commands.common import (
    MapFileOption,
    MapOption,
    app,
    fail,
    output_or_exit,
    read_log_or_exit,
    stderr,
    stdout,
)


def _interval_seconds(text: str) -> float:
    from ccsim.scenario.units import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as error:
        fail(f"--interval {error}")
    if not 60 <= seconds <= 86400 or 86400 % seconds:
        fail(f"--interval must divide a day and be between 1m and 24h (got {text})")
    return seconds


@app.command()
def fit(
    logdir: Annotated[
        Path,
        typer.Argument(help="Interaction log folder (docs/log-format.md).", show_default=False),
    ],
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Scenario YAML file to write.", show_default=False),
    ],
    interval: Annotated[
        str,
        typer.Option(help="Length of the arrival schedule's and shifts' pieces, e.g. 30m or 1h."),
    ] = "30m",
    map_: MapOption = None,
    map_file: MapFileOption = None,
    report: Annotated[
        Path | None,
        typer.Option(
            help="Write the fit report (data against each fitted curve) to this HTML file."
        ),
    ] = None,
    weekday: Annotated[
        str | None,
        typer.Option(help="Fit only the days of this weekday (monday ... sunday)."),
    ] = None,
    slowdown: Annotated[
        bool,
        typer.Option(
            "--slowdown",
            help="Estimate each group's slowdown (chats slowing each other down) and take it "
            "out of the handle times; without it a leg's length is its handling work.",
        ),
    ] = False,
    name: Annotated[
        str | None, typer.Option(help="The scenario's name (default: fitted-LOGDIR).")
    ] = None,
) -> None:
    """Estimate a complete scenario from an interaction log, with a fit report.

    Arrivals per directory and interval (mean of the log's days, Poisson 95% intervals),
    handle times and wrap-up (exponential, lognormal or gamma by maximum likelihood, best
    by AIC; the data themselves when none fits), patience from censored waits (answered
    chats censored, Kaplan-Meier in the report), transfer and conference rules, offers,
    staffing per interval and max_chats. Each estimate's uncertainty is written as a
    comment beside it.
    """
    from ccsim.data.fit_yaml import FITTED_SCENARIO
    from ccsim.safe_write import REPORT, check_file_output

    seconds = _interval_seconds(interval)
    if weekday is not None:
        weekday = weekday.strip().lower()
        from ccsim.data.fit import WEEKDAYS

        if weekday not in WEEKDAYS:
            fail(f"--weekday must be one of {', '.join(WEEKDAYS)} (got {weekday!r})")
    with output_or_exit("--output", output):
        check_file_output(output, FITTED_SCENARIO, inputs=[logdir])
    if report is not None:
        if report.absolute() == output.absolute():
            fail("--report and --output are the same file")
        with output_or_exit("--report", report):
            check_file_output(report, REPORT, inputs=[logdir])

    from ccsim.data.fit import FitProblem, fit_log
    from ccsim.data.fit_yaml import scenario_text
    from ccsim.scenario import ScenarioError
    from ccsim.scenario.load import parse_yaml, scenario_from_dict
    from ccsim.scenario.schema import Scenario

    log = read_log_or_exit(logdir, map_, map_file)
    try:
        fitted = fit_log(log, interval=seconds, weekday=weekday, slowdown=slowdown)
    except FitProblem as error:
        stderr.print(
            f"[bold red]error:[/] {logdir}: nothing to fit a scenario from:",
            highlight=False,
            soft_wrap=True,
        )
        for problem in error.problems:
            stderr.print(f"  - {problem}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    scenario_name = name or _default_name(logdir)
    text = scenario_text(fitted, scenario_name, supports_start="start" in Scenario.model_fields)
    try:
        loaded = scenario_from_dict(
            parse_yaml(text, str(output)), base_dir=output.parent, source=str(output)
        )
    except ScenarioError as error:  # a defect of the fit, never of the user's input
        stderr.print(
            "[bold red]error:[/] the fitted scenario does not validate (a ccsim bug):",
            highlight=False,
        )
        for problem in error.problems:
            stderr.print(f"  - {problem}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    page = None
    if report is not None:
        from ccsim.data.fit_report import fit_report_html

        page = fit_report_html(fitted, text, title=f"ccsim fit: {scenario_name}")
    from ccsim.safe_write import write_file

    with output_or_exit("--output", output):
        write_file(output, text, FITTED_SCENARIO, inputs=[logdir])
    if report is not None and page is not None:
        with output_or_exit("--report", report):
            write_file(report, page, REPORT, inputs=[logdir])
    _print_summary(fitted, loaded, output, report)


def _default_name(logdir: Path) -> str:
    import re

    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", logdir.resolve().name).strip("-") or "log"
    return f"fitted-{stem}"[:100]


def _print_summary(fitted: object, loaded: object, output: Path, report: Path | None) -> None:
    from rich.table import Table

    from ccsim.data.fit import LogFit
    from ccsim.scenario.units import format_duration

    assert isinstance(fitted, LogFit)
    days = len(fitted.days)
    table = Table(title=f"Fitted from {days} day{'s' if days != 1 else ''} of {fitted.source}")
    for column in ("directory", "arrivals/day", "handle time", "patience", "wrap-up"):
        table.add_column(column, justify="left" if column == "directory" else "right")
    for name, directory in fitted.directories.items():
        per_day = (
            f"{sum(r.n for r in directory.arrivals.rates) / days:.1f}"
            if directory.arrivals
            else "–"
        )

        def shown(fit: object) -> str:
            spec = getattr(fit, "spec", None)
            if spec is None:
                return "–"
            return f"{spec['dist']} {format_duration(fit.mean)}"

        table.add_row(
            name,
            per_day,
            shown(directory.handle_time),
            shown(directory.patience),
            shown(directory.wrap_up),
        )
    stdout.print(table)
    for rule in fitted.transfers:
        stdout.print(
            f"{'group ' if rule.source_is_group else ''}{rule.source} -> "
            f"{rule.target_kind} {rule.target} "
            f"({rule.kind}): p = {rule.probability.value:.3f} "
            f"[{rule.probability.low:.3f}, {rule.probability.high:.3f}]",
            highlight=False,
        )
    for group in fitted.groups.values():
        stdout.print(f"group {group.group}: max_chats {group.max_chats}", highlight=False)
    stdout.print(f"wrote {output}" + (f" and {report}" if report else ""), highlight=False)
