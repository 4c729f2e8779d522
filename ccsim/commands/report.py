"""``ccsim report OUTDIR``: the HTML report of a results folder saved by ``ccsim run --out``,
or of a sweep CSV written by ``ccsim sweep --out``.

A results folder gives the same page as ``ccsim run --report`` (see :mod:`ccsim.report`);
charts that need tables the folder lacks (the event log after ``--no-events``) are
replaced by a note. A sweep CSV gives one curve per metric with its confidence band and
optional target lines. ``--figures DIR`` also saves each chart as a PNG file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ccsim.cli import app, fail, stdout
from ccsim.scenario import ScenarioError

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
        parse_duration(freq)
    except ValueError as error:
        fail(f"--freq: {error}")
    from ccsim.output import load_results
    from ccsim.report import write_report

    try:
        results = load_results(outdir)
    except (ScenarioError, ValueError, KeyError, OSError) as error:
        fail(f"cannot read results from {outdir}: {error}")
    written = write_report(results, output or outdir / "report.html", freq=freq)
    stdout.print(f"report written to {written}", highlight=False, soft_wrap=True)
    if figures is not None:
        save_figures(results, figures, freq)


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
    import pandas as pd

    from ccsim.report import sweep_charts, write_sweep_report

    wanted = parse_targets(targets)
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as error:
        fail(f"cannot read {path}: {error}")
    unknown = [m for m in wanted if m not in frame.columns]
    if unknown:
        fail(f"--target: no metric {', '.join(unknown)} in {path}")
    try:
        written = write_sweep_report(
            frame, output or path.with_suffix(".html"), metrics, wanted, f"ccsim sweep: {path.name}"
        )
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
    folder.mkdir(parents=True, exist_ok=True)
    for name, figure in charts:
        figure.savefig(folder / f"{name}.png", dpi=110)
    stdout.print(f"charts written to {folder}/", highlight=False, soft_wrap=True)


__all__ = ["parse_targets", "report", "save_figures", "sweep_report"]
