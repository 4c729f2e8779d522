"""``ccsim report OUTDIR``: the HTML report of a results folder saved by ``ccsim run --out``,
or of a sweep CSV written by ``ccsim sweep --out``.

A results folder gives the same page as ``ccsim run --report`` (see :mod:`ccsim.report`);
charts that need tables the folder lacks (the event log after ``--no-events``) are
replaced by a note. A sweep CSV gives one curve per metric with its confidence band and
optional target lines. ``--figures DIR`` also saves each chart as a PNG file.

Both are checked before any work: the page replaces only a page ccsim wrote, the figures
folder only a folder of ccsim's charts (see :mod:`ccsim.safe_write`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ccsim.cli import app, fail, output_or_exit, stdout
from ccsim.safe_write import (
    FIGURES,
    REPORT,
    check_file_output,
    check_folder_output,
    staged_folder,
)
from ccsim.scenario import ScenarioError
from ccsim.scenario.limits import MIN_INTERVAL_S
from ccsim.timeseries import interval_count_problem

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ccsim.api import Results


@app.command()
def report(
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
            "--metric", "-m", help="Sweep CSV only: metric to draw (repeatable; default: usual)."
        ),
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option(
            help="Sweep CSV only: a target line, METRIC=VALUE, e.g. service_level=80% "
            "or wait_p90=60s (repeatable)."
        ),
    ] = None,
) -> None:
    """Write a self-contained HTML report (summary with intervals, charts, scenario)."""
    from ccsim.scenario.units import parse_duration

    if outdir.is_file() and outdir.suffix.lower() == ".csv":
        check_outputs(outdir, output or outdir.with_suffix(".html"), figures)
        sweep_report(outdir, output, figures, metric or [], target or [])
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
        written = write_report(results, output or outdir / "report.html", freq=freq)
    stdout.print(f"report written to {written}", highlight=False, soft_wrap=True)
    if figures is not None:
        save_figures(results, figures, freq)


def check_outputs(source: Path, page: Path, figures: Path | None) -> None:
    """Refuse a page or figures folder that would replace anything but ccsim's own, before
    reading anything."""
    with output_or_exit("--output", page):
        check_file_output(page, REPORT, inputs=[source])
    if figures is not None:
        with output_or_exit("--figures", figures):
            check_folder_output(figures, FIGURES, inputs=[source])


def parse_targets(texts: list[str]) -> dict[str, float]:
    """``["service_level=80%", "wait_p90=1m"]`` -> ``{"service_level": 0.8, ...}``."""
    from ccsim.expect import ExpectationError, parse_quantity

    targets: dict[str, float] = {}
    for text in texts:
        name, sep, value = text.partition("=")
        if not sep or not name.strip() or not value.strip():
            fail(f"--target {text!r}: write METRIC=VALUE, e.g. service_level=80%")
        try:
            targets[name.strip()] = parse_quantity(value.strip(), name.strip().rsplit(".")[-1])
        except ExpectationError as error:
            fail(f"--target {text!r}: {error}")
    return targets


def sweep_report(
    path: Path, output: Path | None, figures: Path | None, metrics: list[str], targets: list[str]
) -> None:
    """The page (and optionally PNGs) of a sweep CSV."""
    from ccsim.output import read_table
    from ccsim.report import sweep_charts, write_sweep_report

    wanted = parse_targets(targets)
    try:
        frame = read_table(path)  # a regular file of bounded size, not truncated
    except (OSError, ValueError) as error:
        fail(f"cannot read the sweep CSV {error}")
    unknown = [m for m in wanted if m not in frame.columns]
    if unknown:
        fail(f"--target: no metric {', '.join(unknown)} in {path}")
    page = output or path.with_suffix(".html")
    try:
        with output_or_exit("--output", page):
            written = write_sweep_report(frame, page, metrics, wanted, f"ccsim sweep: {path.name}")
    except (KeyError, ValueError) as error:
        fail(str(error.args[0] if error.args else error))
    stdout.print(f"report written to {written}", highlight=False, soft_wrap=True)
    if figures is not None:
        _save(figures, [(f"sweep_{m}", fig) for m, fig in sweep_charts(frame, metrics, wanted)])


def save_figures(results: Results, folder: Path, freq: str) -> None:
    """Each standard chart as ``folder/NAME.png``; charts that cannot be drawn are named."""
    from ccsim.plots import standard_charts

    drawn = []
    for chart in standard_charts(results, freq):
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
