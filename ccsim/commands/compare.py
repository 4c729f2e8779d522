"""``ccsim compare BASE CANDIDATE``: how a rule change moves every metric, on common
random numbers.

Each side is a scenario file (run here) or a folder written by ``ccsim run --out`` (read
as saved). Scenario files run with the same seed and replication indices, which pairs
replication ``r`` of one with replication ``r`` of the other (see :mod:`ccsim.compare`).
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from ccsim.api import Results, simulate
from ccsim.cli import (
    MAX_WORKERS,
    AllowOutsideOption,
    SetOption,
    app,
    fail,
    load_or_exit,
    stderr,
)
from ccsim.compare import SCOPE_NAMES, Comparison, Difference, compare, run_pair
from ccsim.expect import METRICS, did_you_mean, format_metric_value
from ccsim.scenario import Scenario, ScenarioError
from ccsim.scenario.limits import MAX_REPLICATIONS, MAX_SEED

SidePath = Annotated[
    Path,
    typer.Argument(
        help="Scenario YAML file, or a results folder written by ccsim run --out.",
        show_default=False,
    ),
]


def read_side(
    path: Path, overrides: list[str] | None, allow_outside_data: bool = False
) -> Scenario | Results:
    """A results folder (it holds summary.json) as saved, else a scenario file.

    A damaged folder exits 2 naming the file and the fault (see
    :func:`ccsim.output.load_results`); it never makes ccsim read files named inside it.
    """
    if path.is_dir():
        if not (path / "summary.json").is_file():
            fail(
                f"{path} is a folder without summary.json: give a scenario file or a "
                "results folder written by ccsim run --out"
            )
        from ccsim.output import load_results

        try:
            return load_results(path)
        except ScenarioError as error:
            fail(f"{path}/summary.json holds an invalid scenario: {'; '.join(error.problems)}")
        except (OSError, ValueError, KeyError) as error:
            fail(f"cannot read results folder {path}: {error}")
    return load_or_exit(path, overrides, allow_outside_data)


def check_metric_names(names: list[str] | None) -> list[str]:
    """``--metric`` values, each a known metric (else exit 2 with a did-you-mean)."""
    for name in names or []:
        if name not in METRICS:
            hint = did_you_mean(name, METRICS) or f"; metrics: {', '.join(METRICS)}"
            fail(f"--metric {name!r}: unknown metric{hint}")
    return list(names or [])


def _interval(metric: str, low: float, high: float) -> str:
    if math.isnan(low):
        return "-"
    return f"[{_signed(metric, low)}, {_signed(metric, high)}]"


def _signed(metric: str, value: float) -> str:
    return format_metric_value(metric, value, signed=True)


def text_tables(blocks: Sequence[Sequence[Sequence[str]]]) -> list[str]:
    """Blocks of rows (first row a header) in plain columns aligned across all blocks,
    first column left, others right; never wrapped, so CI logs and terminals of any width
    keep one metric per line. Blocks are separated by a blank line."""
    rows = [row for block in blocks for row in block]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))] if rows else []

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    out: list[str] = []
    for block in blocks:
        out += ["", *(line(row) for row in block)]
    return out


def print_comparison(comparison: Comparison, independent: bool) -> None:
    c = comparison
    how = (
        f"paired on {c.pairs} replications (seed {c.baseline_seed}, common random numbers)"
        if c.paired
        else f"independent runs (seeds {c.baseline_seed} and {c.candidate_seed})"
    )
    both = independent and c.paired
    lines = [
        f"baseline:  {c.baseline_label}",
        f"candidate: {c.candidate_label}",
        how,
        "diff = candidate - baseline; * = significant (the 95% interval excludes 0)",
    ]
    label = "paired 95% CI" if c.paired else "Welch 95% CI"
    blocks = []
    sections: dict[tuple[str | None, str | None], list[Difference]] = {}
    for d in c.differences:
        sections.setdefault((d.scope, d.name), []).append(d)
    for (scope, name), rows in sections.items():
        title = "overall" if scope is None else f"{SCOPE_NAMES[scope]} {name}"
        header = [title, "baseline", "candidate", "diff", label]
        if both:
            header.append("independent 95% CI")
        header.append("")
        cells = [header]
        for d in rows:
            row = [
                f"  {d.metric}",
                format_metric_value(d.metric, d.baseline.mean),
                format_metric_value(d.metric, d.candidate.mean),
                _signed(d.metric, d.difference.mean),
                _interval(d.metric, d.difference.ci_low, d.difference.ci_high),
            ]
            if both:
                row.append(_interval(d.metric, d.independent.ci_low, d.independent.ci_high))
            row.append("*" if d.significant else "")
            cells.append(row)
        blocks.append(cells)
    lines += text_tables(blocks)
    lines.append("")
    lines.append(
        f"{len(c.significant())} of {len(c.differences)} differences significant at the 5% level"
    )
    if both:
        ratios = [d.narrowing for d in c.differences if not math.isnan(d.narrowing)]
        if ratios:
            lines.append(
                "independent-runs (Welch) intervals are wider than the paired ones by a "
                f"median factor of {statistics.median(ratios):.1f} "
                f"(range {min(ratios):.1f} to {max(ratios):.1f} over {len(ratios)} metrics)"
            )
    lines += [f"note: {note}" for note in c.notes]
    sys.stdout.write("\n".join(lines) + "\n")


@app.command("compare")
def compare_command(
    baseline: SidePath,
    candidate: SidePath,
    replications: Annotated[
        int | None,
        typer.Option(
            "--replications",
            "-n",
            min=1,
            max=MAX_REPLICATIONS,
            help="Replications of each (default: a results folder's, else the baseline's).",
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=MAX_SEED,
            help="Seed for both (default: a results folder's, else the baseline's).",
        ),
    ] = None,
    set_: SetOption = None,
    metric: Annotated[
        list[str] | None,
        typer.Option("--metric", "-m", help="Show only this metric (repeatable)."),
    ] = None,
    independent: Annotated[
        bool,
        typer.Option(
            "--independent", help="Also show Welch's interval, as if the runs were independent."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, max=MAX_WORKERS, help="Parallel worker processes (default: all cores)."
        ),
    ] = None,
    allow_outside_data: AllowOutsideOption = False,
) -> None:
    """Compare a candidate with a baseline, paired on common random numbers."""
    metrics = check_metric_names(metric)
    base = read_side(baseline, set_, allow_outside_data)
    cand = read_side(candidate, set_, allow_outside_data)
    notes: list[str] = []
    folders = [side for side in (base, cand) if isinstance(side, Results)]
    scenarios = [side for side in (base, cand) if isinstance(side, Scenario)]
    if not scenarios and (replications is not None or seed is not None or set_):
        notes.append("both sides are results folders: -n, --seed and --set were not used")
    if scenarios:
        folder = folders[0] if folders else None
        seed_used = seed if seed is not None else (folder.seed if folder else scenarios[0].seed)
        count = replications or (folder.replications if folder else scenarios[0].replications)
        if len(scenarios) == 2 and seed is None and scenarios[1].seed != scenarios[0].seed:
            notes.append(
                f"the candidate file's seed {scenarios[1].seed} was not used: both ran with "
                f"the baseline's seed {seed_used}"
            )
        if isinstance(base, Scenario) and isinstance(cand, Scenario):
            base, cand = run_pair(base, cand, count, seed_used, workers)
        else:
            ran = simulate(
                scenarios[0],
                replications=count,
                seed=seed_used,
                workers=workers,
                record_events=False,
                keep_records=False,
            )
            base, cand = (ran, cand) if isinstance(base, Scenario) else (base, ran)
    assert isinstance(base, Results) and isinstance(cand, Results)
    comparison = compare(base, cand, str(baseline), str(candidate))
    comparison.notes[:0] = notes
    if metrics:
        comparison.differences = [d for d in comparison.differences if d.metric in metrics]
    if as_json:
        sys.stdout.write(json.dumps(comparison.to_dict(), indent=2) + "\n")
        return
    print_comparison(comparison, independent)
    if not comparison.differences:
        stderr.print("nothing in common to compare", highlight=False)
