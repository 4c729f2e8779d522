"""``ccsim report OUTDIR``: the HTML report of a results folder saved by ``ccsim run --out``,
or of a sweep CSV written by ``ccsim sweep --out``.

A results folder gives the same page as ``ccsim run --report`` (see :mod:`ccsim.report`);
charts that need tables the folder lacks (the event log after ``--no-events``) are
replaced by a note. A sweep CSV gives one curve per metric (any metric path the CSV has,
``directories.fraud.service_level``) with its confidence band, and targets in the grammar
of ``ccsim check`` (``--target 'directories.fraud.service_level >= 80%'``): drawn as
lines, marked where missed, and listed (here and on the page) with the points that meet
them. ``--figures DIR`` also saves each chart as a PNG file.

Both are checked before any work: the page replaces only a page ccsim wrote, the figures
folder only a folder of ccsim's charts (see :mod:`ccsim.safe_write`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from ccsim.commands.common import ConfidenceOption, app, fail, output_or_exit, stdout
from ccsim.safe_write import (
    FIGURES,
    REPORT,
    check_file_output,
    check_folder_output,
    staged_folder,
)
from ccsim.scenario.limits import MIN_INTERVAL_S

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ccsim.api import Results
    from ccsim.expect import Expectation


@app.command()
def report(
    ctx: typer.Context,
    outdir: Annotated[
        Path,
        typer.Argument(
            help="Results folder written by ccsim run --out, or a sweep CSV from ccsim sweep.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="HTML file to write (default: OUTDIR/report.html, or the CSV's name .html).",
        ),
    ] = None,
    figures: Annotated[
        Path | None, typer.Option(help="Also save each chart as a PNG in this folder.")
    ] = None,
    freq: Annotated[
        str, typer.Option(help="Interval of the over-the-day charts, e.g. 15m or 1h.")
    ] = "15m",
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            "-m",
            metavar="METRIC",
            help="Sweep CSV only: metric to draw, any path the CSV has, e.g. "
            "directories.sales.wait_p90 (repeatable; default: the usual ones and each "
            "directory's service level).",
        ),
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option(
            metavar="'METRIC OP VALUE'",
            help="Sweep CSV only: a target as in ccsim check, e.g. 'service_level >= 80%' "
            "or 'directories.fraud.wait_p90 <= 60s' (repeatable): a line on the curve, "
            "and the points that meet it.",
        ),
    ] = None,
    confidence: ConfidenceOption = 0.95,
) -> None:
    """Write a self-contained HTML report (summary with intervals, charts, scenario)."""
    from ccsim.scenario.units import parse_duration

    if outdir.is_file() and outdir.suffix.lower() == ".csv":
        check_outputs(outdir, output or outdir.with_suffix(".html"), figures)
        source = ctx.get_parameter_source("confidence")
        given = source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")
        sweep_report(
            outdir, output, figures, metric or [], target or [], confidence if given else None
        )
        return
    if metric or target:
        fail("--metric and --target apply to a sweep CSV, not to a results folder")
    if not (outdir / "summary.json").is_file():
        fail(
            f"{outdir} is not a results folder (no summary.json) nor a sweep CSV; write one "
            "with ccsim run --out or ccsim sweep --out"
        )
    try:
        step = parse_duration(freq)
    except ValueError as error:
        fail(f"--freq: {error}")
    if not step >= MIN_INTERVAL_S:
        fail(f"--freq must be at least {MIN_INTERVAL_S:g}s, got {freq}")
    check_outputs(outdir, output or outdir / "report.html", figures)
    from ccsim.output import load_results
    from ccsim.report import write_report
    from ccsim.scenario import ScenarioError
    from ccsim.timeseries import interval_count_problem

    try:
        results = load_results(outdir)
    except ScenarioError as error:
        fail(f"{outdir}/summary.json holds an invalid scenario: {'; '.join(error.problems)}")
    except (ValueError, KeyError, OSError) as error:
        fail(f"cannot read results from {outdir}: {error}")
    problem = interval_count_problem(results.scenario.duration, step)
    if problem:
        fail(f"--{problem}")
    with output_or_exit("--output", output or outdir / "report.html"):
        written = write_report(
            results, output or outdir / "report.html", freq=freq, confidence=confidence
        )
    stdout.print(f"report written to {written}", highlight=False, soft_wrap=True)
    if figures is not None:
        save_figures(results, figures, freq, confidence)


def check_outputs(source: Path, page: Path, figures: Path | None) -> None:
    """Refuse a page or figures folder that would replace anything but ccsim's own, before
    reading anything."""
    with output_or_exit("--output", page):
        check_file_output(page, REPORT, inputs=[source])
    if figures is not None:
        with output_or_exit("--figures", figures):
            check_folder_output(figures, FIGURES, inputs=[source])


def parse_targets(texts: list[str]) -> list[Expectation]:
    """``["service_level >= 80%", "directories.fraud.wait_p90 <= 1m"]``: targets in the
    grammar of ``ccsim check`` (bad ones exit 2, all named at once)."""
    from ccsim.expect import ExpectationError, parse_expectation

    targets, problems = [], []
    for text in texts:
        name, sep, value = text.partition("=")
        if sep and not value.startswith("=") and not name.rstrip().endswith(("<", ">", "!")):
            metric = name.strip() or "METRIC"
            problems.append(
                f"--target {text!r}: write METRIC OP VALUE as in ccsim check, e.g. "
                f"'{metric} >= {value.strip() or 'VALUE'}' or '{metric} <= ...'"
            )
            continue
        try:
            targets.append(parse_expectation(text))
        except ExpectationError as error:
            problems.append(f"--target {error}")
    if problems:
        fail("; ".join(problems))
    return targets


def sweep_report(
    path: Path,
    output: Path | None,
    figures: Path | None,
    metrics: list[str],
    targets: list[str],
    confidence: float | None = None,
) -> None:
    """The page (and optionally PNGs) of a sweep CSV; ``confidence``, if given, must be
    the level of the CSV's intervals (they cannot be recomputed from it)."""
    from ccsim.expect import ExpectationError, did_you_mean, parse_metric_path
    from ccsim.output import read_table
    from ccsim.plots import sweep_metrics
    from ccsim.report import sweep_charts, write_sweep_report
    from ccsim.sweep import target_outcomes

    checks = parse_targets(targets)
    try:
        paths = [parse_metric_path(m) for m in metrics]
    except ExpectationError as error:
        fail(f"--metric {error}")
    try:
        frame = read_table(path)  # a regular file of bounded size, not truncated
    except (OSError, ValueError) as error:
        fail(f"cannot read the sweep CSV {error}")
    level = float(frame["confidence"].iloc[0]) if "confidence" in frame and len(frame) else 0.95
    if confidence is not None and confidence != level:
        fail(
            f"--confidence {confidence:g}: {path} holds {100 * level:g}% intervals, which "
            f"cannot be recomputed from it; run the sweep again with --confidence {confidence:g}"
        )
    available = sweep_metrics(frame)
    problems = [
        f"{option}: no metric {name} in {path}{did_you_mean(name, available)}"
        for option, names in (("--metric", paths), ("--target", [c.path for c in checks]))
        for name in names
        if name not in available
    ]
    if problems:
        listed = "" if "did you mean" in problems[0] else f"; it has {', '.join(available)}"
        fail("; ".join(problems) + listed)
    page = output or path.with_suffix(".html")
    lines = {c.path: c.threshold for c in checks}
    try:
        with output_or_exit("--output", page):
            written = write_sweep_report(
                frame, page, paths, None, f"ccsim sweep: {path.name}", checks
            )
    except (KeyError, ValueError) as error:
        fail(str(error.args[0] if error.args else error))
    for outcome in target_outcomes(frame, checks):
        mark = (
            ("PASS", "green")
            if not outcome.missed and not outcome.no_value
            else ("MISS", "bold red")
        )
        stdout.print(Text.assemble(mark, " ", outcome.text), soft_wrap=True)
    stdout.print(f"report written to {written}", highlight=False, soft_wrap=True)
    if figures is not None:
        _save(figures, [(f"sweep_{m}", fig) for m, fig in sweep_charts(frame, paths, lines)])


def save_figures(results: Results, folder: Path, freq: str, confidence: float = 0.95) -> None:
    """Each standard chart as ``folder/NAME.png``; charts that cannot be drawn are named."""
    from ccsim.plots import standard_charts

    drawn = []
    for chart in standard_charts(results, freq, confidence=confidence):
        if chart.figure is None:
            stdout.print(f"{chart.name}: {chart.note}", highlight=False, soft_wrap=True)
        else:
            drawn.append((chart.name, chart.figure))
    _save(folder, drawn)


def _save(folder: Path, charts: list[tuple[str, Figure]]) -> None:
    """The charts as PNG files, written whole into a folder that replaces ``folder``."""
    with output_or_exit("--figures", folder), staged_folder(folder, FIGURES) as staging:
        for name, figure in charts:
            figure.savefig(staging / f"{name}.png", dpi=110)
    stdout.print(f"charts written to {folder}/", highlight=False, soft_wrap=True)


__all__ = ["check_outputs", "parse_targets", "report", "save_figures", "sweep_report"]
