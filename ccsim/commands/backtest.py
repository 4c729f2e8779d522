"""``ccsim backtest SCENARIO LOGDIR``: does the scenario reproduce the log's days?

Thin: options, output checks before any work, then :func:`ccsim.data.backtest.backtest`
and its writers. A bad scenario or log exits 2 with every problem and writes nothing; a
tolerance exceeded exits 1 (a QA gate for a recalibrated model).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ccsim.commands.common import (
    AllowOutsideOption,
    ConfidenceOption,
    MapFileOption,
    MapOption,
    QuietOption,
    ScenarioPath,
    SeedOption,
    SetOption,
    app,
    fail,
    load_and_warn,
    output_or_exit,
    read_log_or_exit,
    stderr,
    stdout,
)

if TYPE_CHECKING:
    from ccsim.data.backtest import Backtest


def _interval_seconds(text: str) -> float:
    from ccsim.scenario.units import parse_duration

    try:
        seconds = float(parse_duration(text))
    except ValueError as error:
        fail(f"--interval {error}")
    if not 60 <= seconds <= 86400:
        fail(f"--interval must be between 1m and 24h (got {text})")
    return seconds


@app.command()
def backtest(
    scenario: ScenarioPath,
    logdir: Annotated[
        Path,
        typer.Argument(help="Interaction log folder (docs/log-format.md).", show_default=False),
    ],
    synthetic: Annotated[
        bool,
        typer.Option(
            "--synthetic",
            help="Use the scenario's own arrival process instead of the log's arrival instants "
            "(staffing still comes from the log).",
        ),
    ] = False,
    interval: Annotated[
        str, typer.Option(help="Length of the compared intervals of the day, e.g. 30m or 1h.")
    ] = "30m",
    tolerance: Annotated[
        list[str] | None,
        typer.Option(
            "--tolerance",
            metavar="METRIC=LIMIT",
            help="Exit 1 if the median absolute per-interval error of METRIC exceeds LIMIT "
            "for some directory or group (repeatable): service_level=3pp, abandon_rate=2pp, "
            "utilization=5pp, wait_mean=20s, transfer_wait_mean=30s.",
        ),
    ] = None,
    replications: Annotated[
        int,
        typer.Option(
            "--replications",
            "-n",
            min=1,
            max=1000,
            help="Simulations of every day of the log (the simulation's intervals).",
        ),
    ] = 5,
    seed: SeedOption = None,
    set_: SetOption = None,
    map_: MapOption = None,
    map_file: MapFileOption = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write intervals.csv, summary.csv and backtest.json to this folder."),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(help="Write an HTML report (charts of observed against simulated)."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace the --out folder if it holds an earlier backtest."),
    ] = False,
    confidence: ConfidenceOption = 0.95,
    allow_outside_data: AllowOutsideOption = False,
    quiet: QuietOption = False,
) -> None:
    """Replay the days of an interaction log with a scenario and compare them.

    Every day of the log is simulated with its exact arrival instants per directory and
    the staffing of its agent states (agents ready or not ready per interval), or with
    --synthetic the scenario's arrival process. Per directory and interval: service
    level, mean wait, abandonment and transfer waits; per group: utilization. Shown:
    observed, simulated (with its interval over the replications) and the error.
    """
    seconds = _interval_seconds(interval)
    from ccsim.data.backtest import BacktestProblem, Tolerance

    tolerances = []
    for text in tolerance or []:
        try:
            tolerances.append(Tolerance.parse(text))
        except ValueError as error:
            fail(str(error))
    check_outputs(scenario, logdir, out, report, force)
    loaded = load_and_warn(scenario, set_, allow_outside_data, strict=False)
    log = read_log_or_exit(logdir, map_, map_file)
    from ccsim.data.backtest import backtest as run_backtest

    try:
        with stderr.status("replaying the log's days", spinner="dots") if not quiet else _nothing():
            result = run_backtest(
                loaded,
                log,
                interval=seconds,
                synthetic=synthetic,
                replications=replications,
                seed=seed,
                tolerances=tolerances,
                confidence=confidence,
            )
    except BacktestProblem as error:
        fail(f"{logdir}: {error}")
    if out is not None:
        from ccsim.data.backtest import write_outputs

        with output_or_exit("--out", out):
            write_outputs(
                result,
                out,
                str(logdir),
                force=force,
                inputs=[scenario, logdir],
                force_hint="--force",
            )
    if report is not None:
        from ccsim.data.backtest import report_html
        from ccsim.safe_write import REPORT, write_file

        with output_or_exit("--report", report):
            write_file(report, report_html(result, str(logdir)), REPORT, inputs=[scenario, logdir])
    print_backtest(result)
    if out is not None:
        stdout.print(f"backtest written to {out}/", highlight=False)
    if report is not None:
        stdout.print(f"report written to {report}", highlight=False, soft_wrap=True)
    if result.failed:
        raise typer.Exit(1)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def check_outputs(
    scenario: Path, logdir: Path, out: Path | None, report: Path | None, force: bool
) -> None:
    """Refuse bad --out/--report paths before the replay, not after."""
    from ccsim.data.backtest import _folder_kind
    from ccsim.safe_write import REPORT, check_file_output, check_folder_output

    if out is not None:
        with output_or_exit("--out", out):
            check_folder_output(
                out, _folder_kind(), force=force, inputs=[scenario, logdir], force_hint="--force"
            )
    if report is not None:
        if out is not None and report.absolute() == out.absolute():
            fail(f"--report {report} is also the --out folder; give the report a file name")
        with output_or_exit("--report", report):
            check_file_output(report, REPORT, inputs=[scenario, logdir])


def print_backtest(result: Backtest) -> None:
    """The summary per directory/group and metric, then the tolerances' verdicts."""
    from rich import box
    from rich.table import Table

    from ccsim.data.backtest import SHARE_METRICS

    def cell(metric: str, value: float, error: bool = False) -> str:
        if value != value:
            return "-"
        if metric in SHARE_METRICS:
            return f"{value * 100:.2f} pp" if error else f"{value * 100:.1f}%"
        return f"{value:.1f}s"

    days = result.days
    title = (
        f"backtest of {result.scenario.name}: {len(days)} days ({days[0]} to {days[-1]}), "
        f"{result.replications} replications each, seed {result.seed}, "
        f"{'synthetic arrivals' if result.synthetic else 'the log arrivals'}, "
        f"{result.runtime_s:.1f}s"
    )
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column, justify in (
        ("name", "left"), ("metric", "left"), ("observed", "right"), ("simulated", "right"),
        ("median\n|error|", "right"), ("largest\n|error|", "right"), ("n", "right"),
    ):  # fmt: skip
        table.add_column(column, justify=justify, no_wrap=column == "metric")  # type: ignore[arg-type]
    for row in result.summary.itertuples(index=False):
        if row.observed != row.observed and row.simulated != row.simulated:
            continue
        table.add_row(
            row.name,
            row.metric,
            cell(row.metric, row.observed),
            cell(row.metric, row.simulated),
            cell(row.metric, row.mae_median, True),
            cell(row.metric, row.mae_max, True),
            str(row.intervals),
        )
    stdout.print(table)
    stdout.print(
        f"error: simulated - observed per {result.interval / 60:g}-minute interval; n: the "
        "intervals judged (at least 5 observed chats)",
        highlight=False,
        style="dim",
    )
    for note in result.notes:
        stderr.print(f"[bold yellow]note:[/] {note}", highlight=False)
    for verdict in result.verdicts:
        mark = "PASS" if verdict.holds else "FAIL"
        stdout.print(
            f"{mark} {verdict.tolerance.text} on {verdict.scope} {verdict.name}: median "
            f"|error| {cell(verdict.tolerance.metric, verdict.error, True)} over "
            f"{verdict.intervals} intervals",
            highlight=False,
        )
    if result.failed:
        stdout.print(f"{len(result.failed)} tolerance checks failed: exit 1", highlight=False)
