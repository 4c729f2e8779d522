"""``ccsim report OUTDIR``: the HTML report of a results folder saved by ``ccsim run --out``.

The page is the same as ``ccsim run --report`` writes (see :mod:`ccsim.report`); charts
that need tables the folder lacks (for instance the event log after ``--no-events``)
are replaced by a note. ``--figures DIR`` also saves each chart as a PNG file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ccsim.cli import app, fail, stdout
from ccsim.scenario import ScenarioError

if TYPE_CHECKING:
    from ccsim.api import Results


@app.command()
def report(
    outdir: Annotated[
        Path,
        typer.Argument(help="Results folder written by ccsim run --out.", show_default=False),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="HTML file to write (default: OUTDIR/report.html)."),
    ] = None,
    figures: Annotated[
        Path | None, typer.Option(help="Also save each chart as a PNG in this folder.")
    ] = None,
    freq: Annotated[
        str, typer.Option(help="Interval of the over-the-day charts, e.g. 15m or 1h.")
    ] = "15m",
) -> None:
    """Write a self-contained HTML report (summary with intervals, charts, scenario)."""
    from ccsim.output import load_results
    from ccsim.report import write_report
    from ccsim.scenario.units import parse_duration

    if not (outdir / "summary.json").is_file():
        fail(f"{outdir} is not a results folder (no summary.json); write one with ccsim run --out")
    try:
        parse_duration(freq)
    except ValueError as error:
        fail(f"--freq: {error}")
    try:
        results = load_results(outdir)
    except (ScenarioError, ValueError, KeyError, OSError) as error:
        fail(f"cannot read results from {outdir}: {error}")
    target = output or outdir / "report.html"
    write_report(results, target, freq=freq)
    stdout.print(f"report written to {target}", highlight=False, soft_wrap=True)
    if figures is not None:
        save_figures(results, figures, freq)


def save_figures(results: Results, folder: Path, freq: str) -> None:
    """Each standard chart as ``folder/NAME.png``; charts that cannot be drawn are named."""
    from ccsim.plots import standard_charts

    folder.mkdir(parents=True, exist_ok=True)
    for chart in standard_charts(results, freq):
        if chart.figure is None:
            stdout.print(f"{chart.name}: {chart.note}", highlight=False, soft_wrap=True)
            continue
        chart.figure.savefig(folder / f"{chart.name}.png", dpi=110)
    stdout.print(f"charts written to {folder}/", highlight=False, soft_wrap=True)
