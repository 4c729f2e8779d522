"""``ccsim theory SCENARIO``: the simulation side by side with queueing theory.

Where the scenario is Markovian enough (see :func:`ccsim.validation.markov_problems`),
theory is exact and the table says whether it falls inside the simulation's confidence
interval. Otherwise the command names each assumption that fails and shows Erlang C/A
built from mean times as a rough guide only, without a verdict.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ccsim.commands.common import (
    AllowOutsideOption,
    ConfidenceOption,
    ScenarioPath,
    SeedOption,
    SetOption,
    WorkersOption,
    app,
    load_or_exit,
    stdout,
)
from ccsim.scenario.limits import MAX_REPLICATIONS

if TYPE_CHECKING:  # ccsim.validation imports scipy: imported where a command runs
    from ccsim.validation import Comparison, QueueTheory, Validation

DESCRIPTIONS = {
    "arrival_rate": "chats entering the queue (arrivals + transfers in)",
    "wait_probability": "not answered at once",
    "wait_mean": "mean wait of answered chats",
    "service_level": "answered within threshold",
    "abandon_rate": "abandoned",
    "utilization": "held slot time / staffed slot time",
    "transfer_wait_probability": "transfers in not answered at once",
    "transfer_wait_mean": "mean wait of transfers in",
    "transfer_service_level": "transfers in answered within threshold",
}


def _interval(comparison: Comparison) -> str:
    from ccsim.validation import format_metric

    e = comparison.simulation
    if math.isnan(e.ci_low):
        return "-"
    metric = comparison.metric
    return f"[{format_metric(metric, e.ci_low)}, {format_metric(metric, e.ci_high)}]"


def _verdict(comparison: Comparison) -> str:
    inside = comparison.inside
    if inside is None:
        return "-"
    return "[green]yes[/]" if inside else "[bold red]NO[/]"


def _title(queue: QueueTheory) -> str:
    if queue.bounds is not None:  # shared agents, no honest single-queue model
        return (
            f"[bold]{queue.directory}[/]: shared agents, no Erlang guide, "
            f"λ = {3600 * queue.arrival_rate:.2f}/h, threshold {queue.threshold:g}s"
        )
    parts = [
        f"[bold]{queue.directory}[/]: {queue.label}",
        f"λ = {3600 * queue.arrival_rate:.2f}/h",
        f"mean holding {1 / queue.service_rate:.1f}s",
        f"{queue.servers} slots",
    ]
    if queue.patience_rate is not None:
        parts.append(f"mean patience {1 / queue.patience_rate:.1f}s")
    parts.append(f"threshold {queue.threshold:g}s")
    return ", ".join(parts)


def print_validation(validation: Validation) -> None:
    """The verdict on assumptions, then one table per directory."""
    from ccsim.validation import format_metric

    scenario = validation.scenario
    stdout.print(
        f"[bold]{scenario.name}[/]: {validation.replications} replication"
        f"{'s' if validation.replications != 1 else ''}, seed {validation.seed}, "
        f"{validation.runtime_s:.1f}s; intervals are {100 * validation.confidence:g}% "
        "Student t over replications",
        highlight=False,
    )
    if validation.exact:
        network = any(q.receives_transfers for q in validation.theory.values())
        kind = (
            "an open Jackson network of M/M/c queues linked by cold transfers"
            if network
            else "each directory is an M/M/c queue (Erlang C) or M/M/c+M (Erlang A)"
        )
        stdout.print(f"Exact theory: {kind}.", highlight=False)
    else:
        stdout.print(
            "[bold yellow]Not exact[/]: these assumptions of the Erlang models fail, so the "
            "theory column is a [bold]rough guide only[/] (Erlang C/A from mean times):",
            highlight=False,
        )
        for problem in validation.problems:
            stdout.print(f"  - {problem}", highlight=False, markup=False)
    for note in validation.notes:
        stdout.print(f"[yellow]note:[/] {note}", highlight=False)
    if validation.replications < 2:
        stdout.print("[yellow]note:[/] one replication gives no interval; use -n 10 or more")

    by_directory: dict[str, list[Comparison]] = {}
    for comparison in validation.comparisons:
        by_directory.setdefault(comparison.directory, []).append(comparison)
    for name, queue in validation.theory.items():
        table = Table(title=_title(queue), title_justify="left")
        table.add_column("metric")
        table.add_column("theory" if validation.exact else "rough guide", justify="right")
        table.add_column("simulation", justify="right")
        table.add_column(f"{100 * validation.confidence:g}% CI", justify="right")
        if validation.exact:
            table.add_column("inside?", justify="center")
        for comparison in by_directory.get(name, []):
            cells = [
                comparison.metric,
                format_metric(comparison.metric, comparison.theory),
                format_metric(comparison.metric, comparison.simulation.mean),
                _interval(comparison),
            ]
            if validation.exact:
                cells.append(_verdict(comparison))
            table.add_row(*cells)
        stdout.print(table)
        if queue.bounds is not None:
            low, high = (format_metric("service_level", level) for level in queue.bounds)
            stdout.print(
                f"  {name}: theory does not apply: {queue.note}. All one can say: its "
                f"service level within {queue.threshold:g}s lies roughly between {low} (only "
                f"the slots dedicated to it) and {high} (every slot that can serve it, as "
                "if no other directory used them).",
                highlight=False,
                soft_wrap=True,
            )
        elif queue.note:
            stdout.print(f"  {name}: no steady-state theory: {queue.note}", highlight=False)
        if queue.pooled_with:
            stdout.print(
                f"  {name}: its agents serve {', '.join(queue.pooled_with)} too; the chats of "
                "all these directories wait in one pool, answered in arrival order, so the "
                "guide is one Erlang queue for the pool (pooled rate, load-weighted holding "
                "and patience), the same for each of them.",
                highlight=False,
                soft_wrap=True,
            )
    shown = dict.fromkeys(c.metric for c in validation.comparisons)
    legend = "; ".join(f"{m}: {DESCRIPTIONS[m]}" for m in shown if m in DESCRIPTIONS)
    stdout.print(f"[dim]{legend}[/]", highlight=False)
    if validation.exact:
        judged = [c for c in validation.comparisons if c.inside is not None]
        inside = sum(1 for c in judged if c.inside)
        stdout.print(
            f"theory inside the interval for {inside} of {len(judged)} metrics; at "
            f"{100 * validation.confidence:g}% about {100 * (1 - validation.confidence):g}% of "
            "correct metrics fall outside by chance",
            highlight=False,
        )


@app.command()
def theory(
    scenario: ScenarioPath,
    replications: Annotated[
        int | None,
        typer.Option(
            "--replications",
            "-n",
            min=2,
            max=MAX_REPLICATIONS,
            help="Replications (default: the scenario's).",
        ),
    ] = None,
    seed: SeedOption = None,
    set_: SetOption = None,
    confidence: ConfidenceOption = 0.95,
    workers: WorkersOption = None,
    allow_outside_data: AllowOutsideOption = False,
) -> None:
    """Compare a scenario's simulation with queueing theory (Erlang C/A, Jackson networks).

    Exact where the scenario is Markovian enough; otherwise names the assumption that
    fails and shows the Erlang models as a rough guide only.
    """
    from ccsim.validation import validate

    loaded = load_or_exit(Path(scenario), set_, allow_outside_data)
    print_validation(
        validate(
            loaded, replications=replications, seed=seed, confidence=confidence, workers=workers
        )
    )
