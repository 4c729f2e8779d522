"""``ccsim validate`` and ``ccsim run``: check a scenario, run it and print its metrics.

Only the scenario schema is imported to validate; ``run`` imports the engine, pandas and
the writers when it runs, so ``ccsim --help`` and ``ccsim validate`` start quickly.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ccsim.commands.common import (
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
    output_or_exit,
    print_warnings,
    stdout,
)

if TYPE_CHECKING:
    import datetime

    from rich.table import Table

    from ccsim.api import Results
    from ccsim.model.start import StartState
    from ccsim.results import Summary
    from ccsim.scenario import Scenario


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
    events: Annotated[
        bool | None,
        typer.Option(
            "--events/--no-events",
            help="Keep the event log: the events table of --out (about 6 rows a chat, the "
            "largest table) and the report's queue chart. Default: on with --report only.",
            show_default=False,
        ),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(help="Write a self-contained HTML report (summary, charts) to this file."),
    ] = None,
    log: Annotated[
        Path | None,
        typer.Option(
            "--log",
            metavar="LOGDIR",
            help="Write the run as an interaction log (docs/log-format.md) to this folder: "
            "one replication per day, chats, legs and agent states.",
        ),
    ] = None,
    log_date: Annotated[
        str | None,
        typer.Option(
            "--log-date",
            metavar="YYYY-MM-DD",
            help="The date of the log's first day (replication 0). Default: 2026-01-05.",
            show_default=False,
        ),
    ] = None,
    log_format: Annotated[
        str, typer.Option("--log-format", help="Table format for --log: csv or parquet.")
    ] = "csv",
    scheduler: SchedulerOption = None,
    quiet: QuietOption = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace the --out folder if it holds ccsim results of an earlier run, and "
            "the --log folder if it holds a ccsim log (never a folder of other files).",
        ),
    ] = False,
    allow_outside_data: AllowOutsideOption = False,
    strict: StrictOption = False,
    confidence: ConfidenceOption = 0.95,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Exit 1 if one of the scenario's expect: targets fails (they are checked "
            "and shown either way).",
        ),
    ] = False,
    initial: Annotated[
        Path | None,
        typer.Option(
            "--initial",
            help="Start from the chats in the center now: a YAML or JSON snapshot (waiting: "
            "and held: lists), or the --out folder of another run (where each of its "
            "replications ended).",
        ),
    ] = None,
) -> None:
    """Run a scenario and print its metrics with confidence intervals (95% by default).

    Each directory's service level is shown with its threshold; the scenario's expect:
    targets, if any, are checked after the tables (PASS/FAIL; exit 1 with --check).
    Warnings about the scenario (and, after the run, a queue that grew without bound) go
    to stderr; --strict stops before running when the scenario has warnings.
    """
    if fmt not in ("csv", "parquet"):
        fail(f"--format must be csv or parquet, not {fmt!r}")
    inputs = [scenario] if initial is None else [scenario, initial]
    check_run_outputs(scenario, out, report, force, inputs)
    log_start = check_log_output(inputs, log, log_date, log_format, force, out, report)
    loaded = load_and_warn(scenario, set_, allow_outside_data, strict)
    states = read_initial_or_exit(initial, loaded)
    from ccsim.api import simulate
    from ccsim.executors import Progress
    from ccsim.scenario.warnings import results_warnings

    count = loaded.replications if replications is None else replications
    with (
        executor_or_exit(workers, scheduler, count) as executor,
        Progress(count, loaded.name, enabled=not quiet) as progress,
    ):
        results = simulate(
            loaded,
            replications=count,
            seed=seed,
            record_events=log is not None or (report is not None if events is None else events),
            keep_records=out is not None or report is not None or log is not None,
            on_replication=progress,
            executor=executor,
            initial=states,
        )
    if out is not None:
        from ccsim.output import write_results

        with output_or_exit("--out", out):
            write_results(  # type: ignore[arg-type]
                results, out, fmt, force=force, inputs=inputs, force_hint="--force"
            )
    if log is not None:
        from ccsim.data.log_write import write_log

        with output_or_exit("--log", log):
            write_log(
                results,  # type: ignore[arg-type]
                log,
                log_start,
                log_format,
                force=force,
                inputs=inputs,
                force_hint="--force",
            )
    if report is not None:
        from ccsim.report import write_report

        with output_or_exit("--report", report):
            write_report(results, report, confidence=confidence)
    verdicts = expect_verdicts(results, confidence)
    failed = check and any(not v.holds for v in verdicts)
    if as_json:
        from ccsim.confidence import results_summary
        from ccsim.output import json_safe

        data = json_safe({**results.header(), **results_summary(results, confidence).as_dict()})
        data["confidence"] = confidence
        if verdicts:
            data["expect"] = [v.as_dict() for v in verdicts]
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        print_warnings(results_warnings(results))
        if failed:
            raise typer.Exit(1)
        return
    print_summary(results, confidence)
    print_busyness(results)
    if verdicts:
        print_expect(verdicts, check)
    if out is not None:
        stdout.print(f"results written to {out}/", highlight=False)
    if log is not None:
        stdout.print(f"interaction log written to {log}/", highlight=False)
    if report is not None:
        stdout.print(f"report written to {report}", highlight=False, soft_wrap=True)
    print_warnings(results_warnings(results))
    if failed:
        raise typer.Exit(1)


def expect_verdicts(results: Results, confidence: float = 0.95) -> list:
    """The verdicts of the scenario's ``expect:`` targets on ``results`` (on the mean, as
    ``ccsim check`` does by default, intervals shown at ``confidence``); none if it lists
    none."""
    if not results.scenario.expect:
        return []
    from ccsim.confidence import results_summary
    from ccsim.expect import evaluate_all, parse_expectation

    expectations = [parse_expectation(text) for text in results.scenario.expect]
    summary = results_summary(results, confidence)
    return evaluate_all(summary, expectations, level=confidence)


def print_expect(verdicts: list, check: bool) -> None:
    """The ``expect:`` targets, PASS/FAIL each, and what that means for the exit code."""
    from ccsim.commands.check import print_verdicts

    stdout.print("the scenario's expect: targets (on the mean)", highlight=False)
    print_verdicts(verdicts)
    failed = sum(not v.holds for v in verdicts)
    if failed:
        consequence = "exit 1 (--check)" if check else "exit 0 without --check"
        stdout.print(f"{failed} of {len(verdicts)} failed: {consequence}", highlight=False)


def check_run_outputs(
    scenario: Path,
    out: Path | None,
    report: Path | None,
    force: bool,
    inputs: list[Path] | None = None,
) -> None:
    """Refuse bad ``--out``/``--report`` paths before the simulation runs, not after;
    ``inputs`` (the scenario, an --initial file or folder) are never replaced."""
    from ccsim.safe_write import REPORT, RESULTS, check_file_output, check_folder_output

    inputs = [scenario] if inputs is None else inputs
    if out is not None:
        with output_or_exit("--out", out):
            check_folder_output(out, RESULTS, force=force, inputs=inputs, force_hint="--force")
    if report is not None:
        if out is not None and report.absolute() == out.absolute():
            fail(f"--report {report} is also the --out folder; give the report a file name")
        with output_or_exit("--report", report):
            check_file_output(report, REPORT, inputs=inputs)


def print_busyness(results: Results) -> None:
    """The day's factor of each replication (``busyness:``), where to find it."""
    factors = results.busyness
    if factors is None:
        return
    shown = ", ".join(f"{value:.3g}" for value in factors.iloc[:10])
    more = f", ... ({len(factors)} in all)" if len(factors) > 10 else ""
    stdout.print(
        f"busyness: the day's factor on every arrival rate, per replication: {shown}{more} "
        f"(mean {factors.mean():.3g}; the busyness rows of replications.csv)",
        highlight=False,
    )


def read_initial_or_exit(path: Path | None, scenario: Scenario) -> list[StartState]:
    """The ``--initial`` state(s) checked against the scenario; every problem on stderr
    with its path, then exit 2."""
    if path is None:
        return []
    from ccsim.commands.common import stderr
    from ccsim.initial import InitialStateError, read_initial

    if not path.exists():
        fail(f"--initial {path}: no such file or folder")
    try:
        states = read_initial(path, scenario)
    except InitialStateError as error:
        stderr.print(
            f"[bold red]error:[/] --initial {error.source} is not a valid initial state:",
            highlight=False,
        )
        for problem in error.problems:
            stderr.print(f"  - {problem}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    waiting = sum(len(s.waiting) for s in states) / len(states)
    held = sum(len(s.held) for s in states) / len(states)
    several = len(states) > 1
    what = f"{len(states)} end states (one per replication, cycled), " if several else ""
    stderr.print(
        f"initial state: {what}{waiting:.3g} chats waiting and {held:.3g} held at the start"
        + (" (on average)" if several else ""),
        highlight=False,
    )
    if scenario.warmup > 0 and any(state.waiting for state in states):
        stderr.print(
            "note: the scenario has a warm-up: chats waiting at the start are simulated but "
            "not measured (--set warmup=0h to measure them)",
            highlight=False,
        )
    return states


def check_log_output(
    inputs: list[Path],
    log: Path | None,
    log_date: str | None,
    log_format: str,
    force: bool,
    out: Path | None,
    report: Path | None,
) -> datetime.date:
    """Check ``--log`` and its options before the simulation runs; the first day's date."""
    import datetime

    from ccsim.data.log_write import DEFAULT_START_DATE, LOG

    if log_format not in ("csv", "parquet"):
        fail(f"--log-format must be csv or parquet, not {log_format!r}")
    try:
        start = datetime.date.fromisoformat(log_date) if log_date else DEFAULT_START_DATE
    except ValueError:
        fail(f"--log-date must be a date YYYY-MM-DD, not {log_date!r}")
    if log is None:
        return start
    for other, option in ((out, "--out"), (report, "--report")):
        if other is not None and other.absolute() == log.absolute():
            fail(f"--log {log} is also the {option} path; give the log its own folder")
    from ccsim.safe_write import check_folder_output

    with output_or_exit("--log", log):
        check_folder_output(log, LOG, force=force, inputs=inputs, force_hint="--force")
    return start


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
    title: str,
    summary: Summary,
    columns: tuple[str, ...],
    header_breaks: int = 1,
    thresholds: dict[str, float] | None = None,
) -> Table:
    """Means per directory; headers broken at underscores keep it within 80-100 columns.
    With ``thresholds``, each service level shows its directory's threshold beside it
    (``91.6% in 60s``: answered within 60s), under it when the terminal is narrow."""
    from rich.table import Table

    from ccsim.results import format_metric

    def build(between: str, breaks: int) -> Table:
        table = Table(title=title, title_justify="left")
        table.add_column("directory")
        for metric in columns:
            table.add_column(metric.replace("_", "\n", breaks), justify="right")
        for name, metrics in summary.directories.items():
            cells = []
            for m in columns:
                text = format_metric(m, metrics[m].mean)
                if m == "service_level" and thresholds and name in thresholds:
                    text += f"{between}in {thresholds[name]:g}s"
                cells.append(text)
            table.add_row(name, *cells)
        return table

    table = build(" ", header_breaks)
    natural = stdout.measure(table, options=stdout.options.update(max_width=10_000)).maximum
    if natural > stdout.width:  # narrow: break every header, no header or name cut short
        table = build("\n", 9)
    return table


def print_summary(results: Results, confidence: float = 0.95) -> None:
    """Every metric overall with its interval at ``confidence``, then per directory and
    per group."""
    from rich.table import Table

    from ccsim.confidence import level_text, results_summary
    from ccsim.results import OUTCOMES_NOTE, format_interval, format_metric

    summary = results_summary(results, confidence)
    scenario = results.scenario
    title = (
        f"{scenario.name}: {results.replications} replication"
        f"{'s' if results.replications != 1 else ''}, seed {results.seed}, "
        f"{results.runtime_s:.1f}s"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("mean", justify="right")
    table.add_column(f"{level_text(confidence)} CI", justify="right")
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
        thresholds = {n: d.service_level for n, d in scenario.directories.items()}
        stdout.print(_directory_table(arrived, summary, DIRECTORY_COLUMNS, thresholds=thresholds))
        if all(m in metrics for metrics in summary.directories.values() for m in QUEUE_COLUMNS):
            queued = "per directory, every stay [b]queued here[/b], incl. transfers in (means)"
            stdout.print(_directory_table(queued, summary, QUEUE_COLUMNS, header_breaks=2))
    if summary.groups:
        by_group = Table(title="per agent group", title_justify="left")
        by_group.add_column("group")
        for metric in ("utilization", "occupancy"):
            by_group.add_column(metric, justify="right")
            by_group.add_column(f"{level_text(confidence)} CI", justify="right")
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
