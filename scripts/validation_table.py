"""Regenerate docs/validation.md and docs/img/service_level_curves.png.

    .venv/bin/python scripts/validation_table.py            # about two minutes on 2 cores

Runs exact Markovian scenarios (built by :mod:`ccsim.validation`) with independent
replications, compares each metric with Erlang C, Erlang A or Jackson-network theory
(the same code path as ``ccsim theory``), writes the comparison table as Markdown, and
plots simulated service levels (points with confidence bars) over analytic curves.
Seeds are fixed, so a rerun on the same code gives the same page.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ccsim.api import ccsim_version, simulate
from ccsim.results import estimate
from ccsim.scenario import Scenario
from ccsim.validation import (
    Validation,
    erlang_scenario,
    format_metric,
    jackson_scenario,
    observe,
    queue_theory,
    service_level_name,
    validate,
)

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "validation.md"
FIGURE = ROOT / "docs" / "img" / "service_level_curves.png"
REPLICATIONS = 20
TABLE_CONFIDENCE = 0.99
CURVE_CONFIDENCE = 0.95
HANDLE = 60.0


@dataclass(frozen=True)
class Case:
    title: str
    scenario: Scenario
    end: float


def relaxation_chats(load: float) -> float:
    return load / (1 - math.sqrt(load)) ** 2


def erlang_c_case(agents: int, load: float, max_chats: int = 1, seed: int = 1) -> Case:
    chats = int(max(20_000, 200 * relaxation_chats(load)))
    scenario, end = erlang_scenario(
        agents, load, max_chats=max_chats, chats=chats, threshold=20.0, seed=seed
    )
    servers = agents * max_chats
    slots = f"{agents} agents x {max_chats} slots = " if max_chats > 1 else ""
    return Case(f"{slots}M/M/{servers}, load {load:g}", scenario, end)


def cases() -> list[Case]:
    erlang_a, erlang_a_end = erlang_scenario(
        8, 1.1, patience=120.0, chats=20_000, threshold=30.0, seed=6
    )
    network, network_end = jackson_scenario(
        {"a": 1.5 / 60, "b": 1.0 / 60},
        {"a": {"b": 0.3, "c": 0.2}, "b": {"c": 0.25}, "c": {"a": 0.15}},
        {"a": 60.0, "b": 90.0, "c": 120.0},
        {"a": (2, 1), "b": (1, 3), "c": (2, 1)},
        visits=30_000,
        seed=7,
    )
    return [
        erlang_c_case(1, 0.5, seed=1),
        erlang_c_case(5, 0.8, seed=2),
        erlang_c_case(20, 0.9, seed=3),
        erlang_c_case(100, 0.95, seed=4),
        erlang_c_case(4, 0.85, max_chats=3, seed=5),
        Case("M/M/8+M (Erlang A), load 1.1, mean patience 2m", erlang_a, erlang_a_end),
        Case(
            "Jackson network: a → b 30%, a → c 20%, b → c 25%, c → a 15% (cold transfers)",
            network,
            network_end,
        ),
    ]


def run_cases(workers: int | None) -> list[tuple[Case, Validation]]:
    done = []
    for case in cases():
        validation = validate(
            case.scenario,
            replications=REPLICATIONS,
            confidence=TABLE_CONFIDENCE,
            workers=workers,
            end=case.end,
        )
        assert validation.exact, validation.problems
        done.append((case, validation))
        print(f"{case.title}: {validation.runtime_s:.1f}s", file=sys.stderr)
    return done


def describe(validation: Validation) -> str:
    """One line per directory: model, arrival rate, holding time, slots, threshold."""
    parts = []
    for queue in validation.theory.values():
        text = (
            f"`{queue.directory}`: {queue.label}, λ = {3600 * queue.arrival_rate:.2f}/h, "
            f"mean handle {1 / queue.service_rate:g} s, {queue.servers} "
            f"slot{'s' if queue.servers != 1 else ''}"
        )
        if queue.patience_rate is not None:
            text += f", mean patience {1 / queue.patience_rate:g} s"
        parts.append(text + f", threshold {queue.threshold:g} s")
    return "; ".join(parts) + "."


def sections(done: list[tuple[Case, Validation]]) -> tuple[list[str], int, int]:
    """A heading, a description and a table per case; and the counts judged and inside."""
    level = f"{100 * TABLE_CONFIDENCE:g}%"
    lines: list[str] = []
    judged = inside = 0
    for case, validation in done:
        lines += [
            f"### {case.title}",
            "",
            describe(validation),
            "",
            f"| directory | metric | theory | simulation | {level} CI | inside |",
            "| --- | --- | ---: | ---: | ---: | :---: |",
        ]
        for row in validation.comparisons:
            e = row.simulation
            verdict = {True: "yes", False: "**no**", None: "-"}[row.inside]
            judged += row.inside is not None
            inside += row.inside is True
            low, high = format_metric(row.metric, e.ci_low), format_metric(row.metric, e.ci_high)
            lines.append(
                f"| {row.directory} | {row.metric} | {format_metric(row.metric, row.theory)} | "
                f"{format_metric(row.metric, e.mean)} | {low} – {high} | {verdict} |"
            )
        lines.append("")
    return lines, judged, inside


# --------------------------------------------------------------------------- curves

CURVE_THRESHOLDS = tuple(float(t) for t in range(0, 121, 10))
ERLANG_C_CURVES = ((1, 0.85), (5, 0.85), (20, 0.85), (100, 0.85))
ERLANG_A_CURVES = (30.0, 120.0, 600.0)  # mean patience, 10 agents at load 1.05


def simulated_levels(scenario: Scenario, end: float) -> list[tuple[float, float, float]]:
    """(mean, ci_low, ci_high) of the service level at each curve threshold."""
    results = simulate(scenario, replications=REPLICATIONS, workers=None, record_events=False)
    samples = [
        observe(r, scenario, end=end, thresholds=CURVE_THRESHOLDS)["queue"] for r in results.records
    ]
    levels = []
    for threshold in CURVE_THRESHOLDS:
        e = estimate([s[service_level_name(threshold)] for s in samples], CURVE_CONFIDENCE)
        levels.append((e.mean, e.ci_low, e.ci_high))
    return levels


def draw_curves(axes: plt.Axes, curves: list[tuple[str, Scenario, float]]) -> None:
    fine = np.linspace(0, CURVE_THRESHOLDS[-1], 241)
    colors = plt.get_cmap("tab10").colors
    for (label, scenario, end), color in zip(curves, colors, strict=False):
        model = queue_theory(scenario)["queue"]
        axes.plot(fine, [model.service_level(t) for t in fine], color=color, lw=1.8, label=label)
        levels = np.array(simulated_levels(scenario, end))
        axes.errorbar(
            CURVE_THRESHOLDS,
            levels[:, 0],
            yerr=[levels[:, 0] - levels[:, 1], levels[:, 2] - levels[:, 0]],
            fmt="o",
            ms=4,
            color=color,
            capsize=3,
            lw=1,
        )
    axes.plot([], [], "o", color="0.35", label=f"simulated, {100 * CURVE_CONFIDENCE:g}% CI")
    axes.set_xlabel("threshold t (seconds; mean handle time 60 s)")
    axes.set_ylim(0, 1.02)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize=9)


def plot() -> None:
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    erlang_c = []
    for agents, load in ERLANG_C_CURVES:
        scenario, end = erlang_scenario(
            agents, load, chats=int(max(20_000, 60 * relaxation_chats(load))), seed=agents
        )
        erlang_c.append((f"c = {agents}", scenario, end))
    draw_curves(left, erlang_c)
    left.set_title("Erlang C (M/M/c), load 0.85")
    left.set_ylabel("service level P(answered within t)")
    erlang_a = []
    for patience in ERLANG_A_CURVES:
        scenario, end = erlang_scenario(
            10, 1.05, patience=patience, chats=20_000, seed=int(patience)
        )
        erlang_a.append((f"mean patience {patience:g} s", scenario, end))
    draw_curves(right, erlang_a)
    right.set_title("Erlang A (M/M/10+M), load 1.05: abandoned count as failures")
    figure.suptitle(
        f"Simulated service level (points, {100 * CURVE_CONFIDENCE:g}% intervals over "
        f"{REPLICATIONS} replications) against theory (lines)",
        fontsize=11,
    )
    figure.tight_layout()
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(FIGURE, dpi=130)
    plt.close(figure)


# --------------------------------------------------------------------------- page


def page(done: list[tuple[Case, Validation]]) -> str:
    rows, judged, inside = sections(done)
    level = f"{100 * TABLE_CONFIDENCE:g}%"
    return "\n".join(
        [
            "# Validation: ccsim against queueing theory",
            "",
            "<!-- Generated by scripts/validation_table.py: do not edit by hand. -->",
            "Regenerate this page and its figure with "
            "`.venv/bin/python scripts/validation_table.py` (about two minutes on two cores; "
            "seeds are fixed, so the same code gives the same page). "
            f"Produced by ccsim {ccsim_version()}.",
            "",
            "Where a scenario is Markovian, queueing theory knows the exact steady-state",
            "answer, so the simulator can be checked against it. ccsim recognises such",
            "scenarios (`ccsim.validation.markov_problems`): Poisson arrivals at a constant",
            "rate, exponential handle times, no or exponential patience, no wrap-up, offers",
            "answered at once, agents on all day without slowdown, each group serving one",
            "directory, and transfers only as cold immediate directory transfers whose",
            "transfer point `at` has the source's exponential handle-time distribution.",
            "A chat agent with `max_chats = k` and no slowdown is k independent servers, so",
            "c agents make an M/M/(c·k) queue. The same comparison is one command away for",
            "any scenario: `ccsim theory SCENARIO` (for a non-Markovian scenario it names",
            "the failing fields and shows Erlang C/A only as a labelled rough guide).",
            "",
            "## Method",
            "",
            f"- Each case runs {REPLICATIONS} independent replications. Each starts empty,"
            " warms up for 20 relaxation times 1/(cμ(1-√ρ)²) (50 mean handle or patience"
            " times with abandonment), measures chats arriving in a window, then drains so"
            " that every measured chat is answered before the run stops.",
            f"- The interval is Student t over the replications' values at {level}; "
            '"inside" says whether theory falls in it. With '
            f"{level} intervals a correct simulator leaves theory outside about one row in"
            f" {round(1 / (1 - TABLE_CONFIDENCE))}.",
            "- Metrics: `arrival_rate` chats entering the queue (arrivals and transfers in);"
            " `wait_probability` share not answered at once; `wait_mean` mean wait of"
            " answered chats; `service_level` answered within the directory's threshold"
            " (20 s for Erlang C, 30 s for Erlang A, half the mean handle time in the"
            " network) over arrivals,"
            " abandoned ones counting as failures; `abandon_rate`; `utilization` held slot"
            " time over staffed slot time; `transfer_wait_*` the same for chats transferred"
            " *into* the directory, whose wait (request to new agent connected) equals the"
            " wait in that queue.",
            "- The Jackson case links three directories by cold immediate transfers,"
            " including a feedback loop c → a; theory takes each directory as an M/M/c"
            " queue at its total arrival rate from the traffic equations λ = γ + λP.",
            "",
            "## Comparison",
            "",
            f"Theory inside the {level} interval for **{inside} of {judged}** metrics.",
            "",
            *rows,
            "",
            "## Service-level curves",
            "",
            "Simulated service level at thresholds from 0 to 120 s (points with"
            f" {100 * CURVE_CONFIDENCE:g}% intervals over {REPLICATIONS} replications)"
            " against the analytic curves: Erlang C for 1 to 100 servers at load 0.85, and"
            " Erlang A for an overloaded queue with three patience levels, where the curve"
            " levels off at the share of chats that are answered at all.",
            "",
            "![Simulated against analytic service-level curves](img/service_level_curves.png)",
            "",
            "## In the test suite",
            "",
            "`tests/test_theory_sim.py` runs the same comparisons in CI (M/M/c for c from"
            " 1 to 100 and loads 0.5 to 0.95, c agents x k slots against M/M/(c·k),"
            " Erlang A, the Jackson network, and arrival counts per schedule interval"
            " against Poisson). Each test holds its whole family of checks to 99.9% with"
            " Bonferroni intervals and fixed seeds; the long grids are marked `slow`"
            " (`pytest -m slow`). `tests/test_properties.py` checks invariants (R13"
            " conservation, capacity, offers only to eligible agents, non-negative"
            " durations, handoff gap ≤ transfer wait, determinism, common random"
            " numbers) on random scenarios with hypothesis.",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all)")
    parser.add_argument("--no-plot", action="store_true", help="skip the figure")
    args = parser.parse_args()
    done = run_cases(args.workers)
    PAGE.write_text(page(done))
    print(f"wrote {PAGE.relative_to(ROOT)}", file=sys.stderr)
    if not args.no_plot:
        plot()
        print(f"wrote {FIGURE.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
