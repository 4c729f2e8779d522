"""``ccsim compare BASE CANDIDATE``: how a rule change moves every metric, on common
random numbers.

Each side is a scenario file (run here) or a folder written by ``ccsim run --out`` (read
as saved). Scenario files run with the same seed and replication indices, which pairs
replication ``r`` of one with replication ``r`` of the other (see :mod:`ccsim.compare`).

Every metric gets a verdict: better, worse or no significant difference, by the metric's
better side (:data:`ccsim.compare.HIGHER_IS_BETTER`, :data:`ccsim.compare.LOWER_IS_BETTER`,
``--direction`` for the others). ``--fail-on-regression`` exits 1 when a compared metric
is significantly worse beyond its ``--tolerance``: a CI gate. Exit 2 for bad input, and
for two scenarios that share no directory and no agent group (``--allow-unrelated``).
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ccsim.commands.common import (
    MAX_WORKERS,
    AllowOutsideOption,
    ConfidenceOption,
    SetOption,
    app,
    fail,
    load_or_exit,
    stderr,
)
from ccsim.confidence import level_text
from ccsim.scenario.limits import MAX_REPLICATIONS, MAX_SEED

if TYPE_CHECKING:  # ccsim.api and ccsim.compare import scipy and pandas: lazily
    from ccsim.api import Results
    from ccsim.compare import Comparison, Judgement, Tolerance
    from ccsim.scenario import Scenario

SCOPE_NAMES = {None: "overall", "directories": "directory", "groups": "group"}

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
    from ccsim.scenario import ScenarioError

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


def check_metric_names(
    names: list[str] | None,
    directories: Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
    option: str = "--metric",
) -> list[str]:
    """``--metric`` values, each a metric (every scope) or a metric path such as
    ``directories.sales.wait_p90`` as ``ccsim check`` reads it (else exit 2 with a
    did-you-mean); names are checked against ``directories`` and ``groups`` if given."""
    from ccsim.expect import ExpectationError, parse_metric_path

    paths, problems = [], []
    for name in names or []:
        try:
            paths.append(parse_metric_path(name, directories, groups))
        except ExpectationError as error:
            problems.append(f"{option} {error}")
    if problems:
        fail("; ".join(problems))
    return paths


def _names(side: Scenario | Results) -> tuple[list[str], list[str]]:
    from ccsim.api import Results

    scenario = side.scenario if isinstance(side, Results) else side
    return list(scenario.directories), list(scenario.agents)


def _check_setting_names(
    keys: Sequence[str], option: str, directories: Sequence[str], groups: Sequence[str]
) -> None:
    from ccsim.expect import ExpectationError, parse_metric_path

    for key in keys:
        try:
            parse_metric_path(key, directories, groups)
        except ExpectationError as error:
            fail(f"{option} {error}")


def _interval(metric: str, low: float, high: float) -> str:
    if math.isnan(low):
        return "-"
    return f"[{_signed(metric, low)}, {_signed(metric, high)}]"


def _signed(metric: str, value: float) -> str:
    from ccsim.expect import format_metric_value

    return format_metric_value(metric, value, signed=True)


def text_tables(blocks: Sequence[Sequence[Sequence[str]]], left_last: bool = False) -> list[str]:
    """Blocks of rows (first row a header) in plain columns aligned across all blocks,
    first column left (and the last with ``left_last``), others right; never wrapped, so
    CI logs and terminals of any width keep one metric per line. Blocks are separated by
    a blank line."""
    rows = [row for block in blocks for row in block]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))] if rows else []

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        if left_last and len(cells) > 1:
            rest[-1] = cells[-1].ljust(widths[-1])
        return "  ".join([first, *rest]).rstrip()

    out: list[str] = []
    for block in blocks:
        out += ["", *(line(row) for row in block)]
    return out


def _verdict_text(judgement: Judgement) -> str:
    if judgement.verdict == "worse" and not judgement.regression:
        return "worse, within tolerance"
    return judgement.verdict if judgement.verdict != "no value" else "-"


def print_comparison(
    comparison: Comparison,
    independent: bool,
    judgements: Sequence[Judgement] | None = None,
    gate: bool = False,
) -> None:
    """The comparison as plain aligned text: a block per scope, a verdict per metric,
    counts of verdicts, and with ``gate`` the regressions that fail it."""
    from ccsim.expect import format_metric_value

    c = comparison
    judgements = list(judgements) if judgements is not None else c.judgements()
    level = level_text(c.confidence)
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
        f"diff = candidate - baseline; verdict ({level} level): better or worse by the "
        "metric's better side (--direction), higher or lower when it has none, or no "
        "significant difference",
    ]
    label = f"paired {level} CI" if c.paired else f"Welch {level} CI"
    blocks = []
    sections: dict[tuple[str | None, str | None], list[Judgement]] = {}
    for j in judgements:
        sections.setdefault((j.difference.scope, j.difference.name), []).append(j)
    for (scope, name), rows in sections.items():
        title = "overall" if scope is None else f"{SCOPE_NAMES[scope]} {name}"
        header = [title, "baseline", "candidate", "diff", label]
        if both:
            header.append(f"independent {level} CI")
        header.append("verdict")
        cells = [header]
        for j in rows:
            d = j.difference
            row = [
                f"  {d.metric}",
                format_metric_value(d.metric, d.baseline.mean),
                format_metric_value(d.metric, d.candidate.mean),
                _signed(d.metric, d.difference.mean),
                _interval(d.metric, d.difference.ci_low, d.difference.ci_high),
            ]
            if both:
                row.append(_interval(d.metric, d.independent.ci_low, d.independent.ci_high))
            row.append(_verdict_text(j))
            cells.append(row)
        blocks.append(cells)
    lines += text_tables(blocks, left_last=True)
    lines.append("")
    counts: dict[str, int] = {}
    for j in judgements:
        counts[j.verdict] = counts.get(j.verdict, 0) + 1
    order = ("better", "worse", "higher", "lower", "no significant difference", "no value")
    parts = [f"{counts[v]} {v}" for v in order if counts.get(v)]
    lines.append(
        f"{len(judgements)} metrics at the {level} level: {', '.join(parts) or 'none'}"
        + (" (higher/lower: no better side)" if counts.get("higher") or counts.get("lower") else "")
    )
    if both:
        ratios = [j.difference.narrowing for j in judgements]
        ratios = [r for r in ratios if not math.isnan(r)]
        if ratios:
            lines.append(
                "independent-runs (Welch) intervals are wider than the paired ones by a "
                f"median factor of {statistics.median(ratios):.1f} "
                f"(range {min(ratios):.1f} to {max(ratios):.1f} over {len(ratios)} metrics)"
            )
    lines += [f"note: {note}" for note in c.notes]
    if gate:
        lines += gate_lines(judgements, level)
    sys.stdout.write("\n".join(lines) + "\n")


def gate_lines(judgements: Sequence[Judgement], level: str) -> list[str]:
    """The verdict of ``--fail-on-regression``: each regression, then FAIL or PASS."""
    from ccsim.expect import format_metric_value

    regressions = [j for j in judgements if j.regression]
    if not regressions:
        judged = sum(j.direction is not None for j in judgements)
        return [
            f"PASS: no metric significantly worse beyond its tolerance ({judged} metrics "
            f"with a better side, {level} level)"
        ]
    lines = [f"FAIL: {len(regressions)} regression(s), significantly worse beyond tolerance:"]
    for j in regressions:
        d = j.difference
        interval = _interval(d.metric, d.difference.ci_low, d.difference.ci_high)
        allowed = format_metric_value(d.metric, j.allowed)
        tolerance = f"tolerance {j.tolerance.text} = {allowed}" if j.allowed else "no tolerance"
        lines.append(
            f"  {d.path}: {format_metric_value(d.metric, d.baseline.mean)} -> "
            f"{format_metric_value(d.metric, d.candidate.mean)}, diff "
            f"{_signed(d.metric, d.difference.mean)} {level} CI {interval} "
            f"({j.direction} is better; {tolerance})"
        )
    return lines


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
        typer.Option(
            "--metric",
            "-m",
            metavar="METRIC",
            help="Show only this metric (every scope) or path, e.g. "
            "directories.sales.wait_p90 (repeatable).",
        ),
    ] = None,
    confidence: ConfidenceOption = 0.95,
    direction: Annotated[
        list[str] | None,
        typer.Option(
            "--direction",
            metavar="METRIC=higher|lower",
            help="Which side of a metric (or path) is better, e.g. utilization=lower "
            "(repeatable; defaults in the README: lower waits, abandonment and handoff "
            "gaps, higher service levels and answered chats; none for load metrics).",
        ),
    ] = None,
    fail_on_regression: Annotated[
        bool,
        typer.Option(
            "--fail-on-regression",
            help="Exit 1 if a compared metric is significantly worse beyond its "
            "--tolerance (a CI gate).",
        ),
    ] = False,
    tolerance: Annotated[
        list[str] | None,
        typer.Option(
            "--tolerance",
            metavar="METRIC=AMOUNT",
            help="Worsening accepted for a metric (or path) before it is a regression: "
            "service_level=1pp, wait_mean=5% (of the baseline), wait_p90=2s (repeatable).",
        ),
    ] = None,
    allow_unrelated: Annotated[
        bool,
        typer.Option(
            "--allow-unrelated",
            help="Compare two scenarios that share no directory and no agent group.",
        ),
    ] = False,
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
    """Compare a candidate with a baseline, paired on common random numbers: better,
    worse or no significant difference for every metric.

    Exit 0, or 1 with --fail-on-regression when a metric is significantly worse beyond
    its tolerance; 2 for bad input or unrelated scenarios.
    """
    from ccsim.api import Results, simulate
    from ccsim.compare import (
        UnrelatedError,
        compare,
        parse_directions,
        parse_tolerances,
        run_pair,
        unrelated_problem,
    )
    from ccsim.expect import ExpectationError
    from ccsim.scenario import Scenario

    check_metric_names(metric)  # the grammar, before anything runs
    try:
        directions = parse_directions(direction or [])
        tolerances: dict[str, Tolerance] = parse_tolerances(tolerance or [])
    except ExpectationError as error:
        fail(str(error))
    base = read_side(baseline, set_, allow_outside_data)
    cand = read_side(candidate, set_, allow_outside_data)
    base_names, cand_names = _names(base), _names(cand)
    problem = unrelated_problem(base_names, cand_names)
    if problem and not allow_unrelated:
        fail(f"{baseline} and {candidate}: {problem}; give --allow-unrelated to compare anyway")
    directories = sorted({*base_names[0], *cand_names[0]})
    groups = sorted({*base_names[1], *cand_names[1]})
    paths = check_metric_names(metric, directories, groups)
    _check_setting_names(list(directions), "--direction", directories, groups)
    _check_setting_names(list(tolerances), "--tolerance", directories, groups)
    notes: list[str] = []
    if problem:
        notes.append(f"{problem} (--allow-unrelated)")
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
    try:
        comparison = compare(
            base,
            cand,
            str(baseline),
            str(candidate),
            confidence=confidence,
            allow_unrelated=allow_unrelated,
        )
    except UnrelatedError as error:  # pragma: no cover - refused above, before running
        fail(str(error))
    comparison.notes[:0] = notes
    if paths:
        comparison.differences = [
            d for d in comparison.differences if d.metric in paths or d.path in paths
        ]
    judgements = comparison.judgements(directions, tolerances)
    regressions = [j for j in judgements if j.regression]
    if as_json:
        data = comparison.to_dict()
        for entry, judgement in zip(data["differences"], judgements, strict=True):
            entry["verdict"] = judgement.as_dict()
        data["regressions"] = [j.difference.path for j in regressions]
        data["fail_on_regression"] = fail_on_regression
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        print_comparison(comparison, independent, judgements, gate=fail_on_regression)
        if not comparison.differences:
            stderr.print("nothing in common to compare", highlight=False)
    if fail_on_regression and regressions:
        raise typer.Exit(1)
