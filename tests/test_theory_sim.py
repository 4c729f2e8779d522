"""The simulator against queueing theory: Erlang C, Erlang A, Jackson networks, Poisson
arrival counts; plus the Markov-assumption checks and the ``ccsim theory`` command.

**Tolerances** come only from each run's own confidence intervals: Student t over
independent replications, or over batch means of one long replication (30 consecutive
batches after a warm-up of many relaxation times, each batch long enough to be nearly
independent of the next). Nothing is compared with a hand-picked fudge factor.

**Multiple comparisons.** A 95% interval misses a correct value 5% of the time, so a
test that checks m metrics at 95% each would fail a correct simulator far too often.
Each test here holds its *family* of checks to 99.9%: every check uses the Bonferroni
confidence 1 - 0.001/m (:func:`ccsim.validation.bonferroni`), so a correct simulator
fails a given test with probability at most 0.1% for a random seed. Seeds are fixed,
so the default suite is deterministic.

**What is checked** is chosen from theory before running: a share within 1% of 0 or 1
(waiting at c = 100 and load 0.5) is a rare event whose batch means are mostly equal
and far from normal, so a t interval cannot judge it (:func:`checkable`).

**Power.** The fast tests still catch a broken queue discipline: serving the queue
last-come-first-served keeps the mean wait but moves the service level by many
interval widths, and a lost server changes the probability of waiting and the
utilization by far more than their intervals. Longer grids (c up to 100, loads up to
0.95) are marked ``slow``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from ccsim.api import simulate
from ccsim.cli import app
from ccsim.model import run_replication
from ccsim.results import replication_metrics
from ccsim.scenario import Scenario, load_scenario, scenario_from_dict
from ccsim.theory import erlang_c, poisson_count_interval
from ccsim.validation import (
    Comparison,
    Observation,
    QueueTheory,
    batch_windows,
    bonferroni,
    compare,
    erlang_scenario,
    jackson_scenario,
    markov_problems,
    observe,
    queue_theory,
)

FAMILY_CONFIDENCE = 0.999
RARE = 0.01
BATCHES = 30
HANDLE = 60.0  # mean handle time of erlang_scenario, seconds
REPO = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------- helpers


def chats_needed(load: float, relaxations: int) -> int:
    """Measured arrivals for batch means: ``relaxations`` relaxation times of the queue
    (ρ/(1-√ρ)² arrivals each, whatever c), so that each of the 30 batches spans many of
    them and batch means are nearly independent; at least 60,000."""
    return int(max(60_000, relaxations * load / (1 - math.sqrt(load)) ** 2))


def checkable(
    theory: Mapping[str, QueueTheory], thresholds: Sequence[float]
) -> set[tuple[str, str]]:
    """The (directory, metric) pairs to check, chosen from theory alone before running.

    A share within ``RARE`` of 0 or 1 (waiting at c = 100 and load 0.5, answering in an
    overloaded queue with long patience) is a rare event: its batch means are mostly
    equal and far from normal, so a t interval says nothing; the same goes for a mean
    wait when waiting itself is rare.
    """
    pairs = set()
    for name, queue in theory.items():
        values = queue.metrics(thresholds)
        for metric, value in values.items():
            if metric.endswith("wait_mean"):
                value = values[metric.replace("mean", "probability")]
            elif metric == "arrival_rate":
                value = 0.5
            if RARE <= value <= 1 - RARE:
                pairs.add((name, metric))
    return pairs


def checked(
    scenario: Scenario, samples: Sequence[Observation], thresholds: Sequence[float]
) -> list[Comparison]:
    """Theory against the samples' intervals, at the Bonferroni confidence of the
    test's family of checks."""
    assert markov_problems(scenario) == []
    theory = queue_theory(scenario)
    pairs = checkable(theory, thresholds)
    confidence = bonferroni(FAMILY_CONFIDENCE, len(pairs))
    rows = compare(theory, samples, confidence, thresholds=thresholds)
    return [row for row in rows if (row.directory, row.metric) in pairs]


def batch_comparisons(
    scenario: Scenario, measured_end: float, thresholds: Sequence[float] = ()
) -> list[Comparison]:
    """Batch means of one long replication against exact theory."""
    records = run_replication(scenario, 0, record_events=False)
    windows = batch_windows(scenario.warmup, measured_end, BATCHES)
    samples = [observe(records, scenario, a, b, thresholds) for a, b in windows]
    return checked(scenario, samples, thresholds)


def replication_comparisons(
    scenario: Scenario, replications: int, measured_end: float, thresholds: Sequence[float] = ()
) -> list[Comparison]:
    """Independent replications (each with its own warm-up) against exact theory."""
    results = simulate(scenario, replications=replications, record_events=False)
    samples = [
        observe(records, scenario, scenario.warmup, measured_end, thresholds)
        for records in results.records
    ]
    return checked(scenario, samples, thresholds)


def assert_all_inside(comparisons: Sequence[Comparison], expected: int | None = None) -> None:
    assert comparisons, "nothing was compared"
    if expected is not None:
        assert len(comparisons) == expected, [c.metric for c in comparisons]
    outside = [c.describe() for c in comparisons if not c.inside]
    assert not outside, "theory outside the interval:\n" + "\n".join(outside)


def wait_thresholds(scenario: Scenario) -> list[float]:
    """Thresholds where the Erlang C waiting-time distribution is informative: its 60%,
    80% and 95% quantiles, when positive."""
    queue = queue_theory(scenario)["queue"]
    assert queue.model is not None
    quantiles = [round(queue.model.wait_quantile(p), 1) for p in (0.6, 0.8, 0.95)]  # type: ignore[union-attr]
    return sorted({q for q in quantiles if q > 0})


# --------------------------------------------------------------------------- Erlang C


WAIT_METRICS = frozenset({"wait_probability", "wait_mean", "service_level"})


def run_erlang_c(
    agents: int,
    load: float,
    chats: int,
    max_chats: int = 1,
    required: frozenset[str] = frozenset(),
    **kwargs: Any,
) -> None:
    servers = agents * max_chats
    threshold = max(round(erlang_c(load * servers / HANDLE, 1 / HANDLE, servers).mean_wait), 1)
    scenario, end = erlang_scenario(
        agents, load, max_chats=max_chats, chats=chats, threshold=threshold, **kwargs
    )
    comparisons = batch_comparisons(scenario, end, wait_thresholds(scenario))
    assert {c.metric for c in comparisons} >= required | {"arrival_rate", "utilization"}
    assert_all_inside(comparisons)


@pytest.mark.parametrize(("agents", "load"), [(1, 0.5), (5, 0.8), (20, 0.85), (100, 0.9)])
def test_mmc_matches_erlang_c(agents: int, load: float) -> None:
    """M/M/c: arrival rate, P(wait > 0), mean wait, service level at the directory's
    threshold and at the 60/80/95% wait quantiles, utilization."""
    run_erlang_c(agents, load, chats_needed(load, 1000), required=WAIT_METRICS)


@pytest.mark.slow
@pytest.mark.parametrize("agents", [1, 2, 5, 10, 20, 50, 100])
@pytest.mark.parametrize("load", [0.5, 0.7, 0.8, 0.9, 0.95])
def test_mmc_matches_erlang_c_grid(agents: int, load: float) -> None:
    run_erlang_c(agents, load, chats_needed(load, 2000), seed=agents)


@pytest.mark.parametrize(
    ("agents", "max_chats", "load", "routing"),
    [(4, 3, 0.85, "longest_idle"), (3, 4, 0.8, "least_busy")],
)
def test_agents_with_chat_slots_match_mmck(
    agents: int, max_chats: int, load: float, routing: str
) -> None:
    """c agents with k slots each and no slowdown are an M/M/(c·k) queue, whatever the
    routing policy."""
    run_erlang_c(
        agents,
        load,
        chats_needed(load, 1000),
        max_chats=max_chats,
        routing=routing,
        required=WAIT_METRICS,
    )


@pytest.mark.slow
@pytest.mark.parametrize(("agents", "max_chats"), [(1, 4), (10, 2), (25, 4)])
@pytest.mark.parametrize("load", [0.7, 0.9, 0.95])
def test_agents_with_chat_slots_match_mmck_grid(agents: int, max_chats: int, load: float) -> None:
    run_erlang_c(agents, load, chats_needed(load, 2000), max_chats=max_chats, seed=7)


# --------------------------------------------------------------------------- Erlang A


def run_erlang_a(
    agents: int,
    max_chats: int,
    load: float,
    patience: float,
    replications: int,
    chats: int,
    required: frozenset[str] = frozenset(),
) -> None:
    scenario, end = erlang_scenario(
        agents,
        load,
        max_chats=max_chats,
        patience=patience,
        chats=chats // replications,
        threshold=30.0,
    )
    comparisons = replication_comparisons(scenario, replications, end, thresholds=(10.0, 60.0))
    assert {c.metric for c in comparisons} >= required | {"arrival_rate"}
    assert_all_inside(comparisons)


@pytest.mark.parametrize(
    ("agents", "max_chats", "load", "patience"), [(8, 1, 1.1, 120.0), (5, 2, 0.95, 300.0)]
)
def test_exponential_patience_matches_erlang_a(
    agents: int, max_chats: int, load: float, patience: float
) -> None:
    """M/M/c+M over 30 independent replications: abandonment, P(wait > 0), mean wait of
    answered chats, service level (abandoned chats count as failures), utilization;
    overloaded (load 1.1) and underloaded."""
    run_erlang_a(
        agents,
        max_chats,
        load,
        patience,
        replications=30,
        chats=120_000,
        required=WAIT_METRICS | {"abandon_rate", "utilization"},
    )


@pytest.mark.slow
@pytest.mark.parametrize(("agents", "load"), [(1, 0.8), (10, 1.0), (50, 1.3), (100, 0.95)])
@pytest.mark.parametrize("patience", [30.0, 180.0, 600.0])
def test_exponential_patience_matches_erlang_a_grid(
    agents: int, load: float, patience: float
) -> None:
    run_erlang_a(agents, 1, load, patience, replications=40, chats=400_000)


# --------------------------------------------------------------------------- Jackson network

JACKSON_HANDLES = {"a": 60.0, "b": 90.0, "c": 120.0}
JACKSON_EXTERNAL = {"a": 1.5 / 60, "b": 1.0 / 60}  # per second
JACKSON_ROUTING = {"a": {"b": 0.3, "c": 0.2}, "b": {"c": 0.25}, "c": {"a": 0.15}}
JACKSON_AGENTS = {"a": (2, 1), "b": (1, 3), "c": (2, 1)}  # (count, max_chats)


def run_jackson(visits: int, seed: int) -> None:
    scenario, end = jackson_scenario(
        JACKSON_EXTERNAL,
        JACKSON_ROUTING,
        JACKSON_HANDLES,
        JACKSON_AGENTS,
        visits=visits,
        seed=seed,
    )
    theory = queue_theory(scenario)
    assert all(q.exact and q.model is not None for q in theory.values())
    assert theory["c"].external_rate == 0 and theory["c"].receives_transfers
    comparisons = batch_comparisons(scenario, end)
    # external arrivals at a and b: first waits; transfers into every directory: the same
    # queue's wait; every directory: total arrival rate (Jackson's traffic equations).
    assert {(c.directory, c.metric) for c in comparisons} >= {
        ("a", "wait_mean"),
        ("b", "service_level"),
        ("c", "arrival_rate"),
        ("a", "transfer_wait_mean"),
        ("c", "transfer_wait_probability"),
    }
    assert_all_inside(comparisons, expected=2 * 3 + 3 * 2 + 3 * 3)


def test_cold_transfer_network_matches_jackson() -> None:
    """Each directory of an open network of cold immediate transfers is Erlang C at its
    Jackson arrival rate, and a transfer into it waits like any arrival there."""
    run_jackson(visits=300_000, seed=5)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_cold_transfer_network_matches_jackson_long(seed: int) -> None:
    run_jackson(visits=1_500_000, seed=seed)


# --------------------------------------------------------------------------- schedules

SCHEDULE = [(0.0, 30.0), (3600.0, 120.0), (7200.0, 0.0), (9000.0, 60.0), (14400.0, 200.0)]
SCHEDULE_END = 18000.0


def schedule_counts(replications: int) -> tuple[np.ndarray, list[float]]:
    """Arrivals per schedule piece in each replication, and each piece's Poisson mean."""
    scenario = scenario_from_dict(
        {
            "duration": SCHEDULE_END,
            "seed": 3,
            "directories": {
                "web": {
                    "arrivals": {
                        "schedule": [
                            {"from": start, "rate": f"{rate}/h"} for start, rate in SCHEDULE
                        ]
                    },
                    "handle_time": 1,
                }
            },
            "agents": {"team": {"count": 5, "directories": ["web"]}},
        }
    )
    arrivals = scenario.directories["web"].arrivals
    assert arrivals is not None
    edges = [start for start, _ in SCHEDULE] + [SCHEDULE_END]
    means = [arrivals.expected_count(a, b) for a, b in pairwise(edges)]
    counts = []
    for replication in range(replications):
        records = run_replication(scenario, replication, record_events=False)
        times = np.frombuffer(records.chat_arrival, dtype=float)
        counts.append(np.histogram(times, bins=edges)[0])
    return np.array(counts), means


def check_schedule(replications: int) -> None:
    counts, means = schedule_counts(replications)
    pieces = len(means)
    # per replication and piece, plus each piece's total over all replications
    confidence = bonferroni(FAMILY_CONFIDENCE, pieces * (replications + 1))
    for piece, mean in enumerate(means):
        low, high = poisson_count_interval(mean, confidence)
        column = counts[:, piece]
        assert ((column >= low) & (column <= high)).all(), (piece, mean, column, (low, high))
        low, high = poisson_count_interval(replications * mean, confidence)
        assert low <= column.sum() <= high, (piece, replications * mean, column.sum())
    assert counts[:, 2].sum() == 0  # a zero-rate piece has no arrivals at all


def test_schedule_counts_per_interval_match_poisson_means() -> None:
    """Arrivals in each piece of a schedule are Poisson with mean rate x length, checked
    per replication and summed over 40 replications (which detects a rate off by 5%)."""
    check_schedule(replications=40)


@pytest.mark.slow
def test_schedule_counts_per_interval_match_poisson_means_long() -> None:
    check_schedule(replications=1000)


# --------------------------------------------------------------------------- observe


def test_observe_over_the_run_agrees_with_replication_metrics() -> None:
    """The validation's measurements use the same definitions as ccsim's summaries."""
    scenario = load_scenario(REPO / "scenarios" / "transfer_cold.yaml")
    records = run_replication(scenario, 0)
    thresholds = {name: d.service_level for name, d in scenario.directories.items()}
    summary = replication_metrics(records, thresholds)
    observed = observe(records, scenario)
    for name, metrics in observed.items():
        for metric in ("wait_mean", "service_level", "abandon_rate"):
            assert metrics[metric] == pytest.approx(summary.directories[name][metric], rel=1e-12)
    assert observed["support"]["transfer_wait_mean"] > 0


# --------------------------------------------------------------------------- assumptions


def exact_network() -> dict[str, Any]:
    """A small exact scenario with one cold immediate transfer a -> b."""
    return {
        "duration": "10h",
        "warmup": "1h",
        "directories": {
            "a": {"arrivals": "60/h", "handle_time": {"dist": "exponential", "mean": "2m"}},
            "b": {"arrivals": "30/h", "handle_time": {"dist": "exponential", "mean": "3m"}},
        },
        "agents": {
            "team_a": {"count": 3, "directories": ["a"], "max_chats": 1},
            "team_b": {"count": 2, "directories": ["b"], "max_chats": 2},
        },
        "transfers": [
            {
                "from": "a",
                "to": {"directory": "b"},
                "probability": 0.3,
                "at": {"dist": "exponential", "mean": "2m"},
                "leave": "immediately",
            }
        ],
    }


def with_changes(changes: Mapping[str, Any]) -> Scenario:
    data = exact_network()
    for path, value in changes.items():
        node = data
        keys = path.split(".")
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
        if isinstance(node, list):
            node[int(keys[-1])] = value
        else:
            node[keys[-1]] = value
    return scenario_from_dict(data)


def test_exact_network_has_no_problems_and_jackson_rates() -> None:
    scenario = with_changes({})
    assert markov_problems(scenario) == []
    theory = queue_theory(scenario)
    assert theory["b"].arrival_rate == pytest.approx((30 + 0.3 * 60) / 3600)
    assert theory["b"].servers == 4 and theory["a"].servers == 3
    assert theory["b"].label == "M/M/4 (Erlang C)"
    assert "transfer_wait_mean" in theory["b"].metrics()
    assert "transfer_wait_mean" not in theory["a"].metrics()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (
            {"directories.a.handle_time": {"dist": "lognormal", "mean": 120, "cv": 1}},
            "directories.a.handle_time",
        ),
        (
            {"directories.a.patience": {"dist": "gamma", "mean": 60, "cv": 2}},
            "directories.a.patience",
        ),
        ({"directories.a.patience": {"dist": "exponential", "mean": 60}}, "directories.a.patience"),
        ({"directories.b.wrap_up": "10s"}, "directories.b.wrap_up"),
        (
            {
                "directories.a.arrivals": {
                    "schedule": [{"from": 0, "rate": "60/h"}, {"from": "5h", "rate": "90/h"}]
                }
            },
            "directories.a.arrivals",
        ),
        (
            {
                "agents.team_a": {
                    "shifts": [{"from": 0, "to": "10h", "count": 3}],
                    "directories": ["a"],
                    "max_chats": 1,
                }
            },
            "agents.team_a.shifts",
        ),
        ({"agents.team_b.slowdown": [1, 1.4]}, "agents.team_b.slowdown"),
        ({"agents.team_a.directories": ["a", "b"]}, "agents.team_a.directories"),
        ({"offer": {"response_time": "3s"}}, "offer.response_time"),
        ({"offer": {"no_answer_probability": 0.1}}, "offer.no_answer_probability"),
        ({"transfers.0.leave": "on_connect"}, "transfers.0.leave"),
        ({"transfers.0.leave": {"after": "10s"}}, "transfers.0.leave"),
        ({"transfers.0.at": "1m"}, "transfers.0.at"),
        ({"transfers.0.at": {"dist": "exponential", "mean": "1m"}}, "transfers.0.at"),
        (
            {"transfers.0.to": {"group": "team_b"}, "transfers.0.leave": "on_connect"},
            "transfers.0.to",
        ),
        (
            {
                "transfers.0.to": {"group": "team_b"},
                "transfers.0.kind": "conference",
                "transfers.0.duration": "1m",
                "transfers.0.leave": "on_connect",
            },
            "transfers.0.to",
        ),
    ],
)
def test_markov_problems_name_the_failing_field(changes: dict[str, Any], field: str) -> None:
    problems = markov_problems(with_changes(changes))
    assert any(p.startswith(field + ":") for p in problems), problems


def test_max_transfers_matters_only_when_it_cuts_routes() -> None:
    assert markov_problems(with_changes({"max_transfers": 1})) == []
    assert any(
        p.startswith("max_transfers:") for p in markov_problems(with_changes({"max_transfers": 0}))
    )
    back = {
        "from": "b",
        "to": {"directory": "a"},
        "probability": 0.1,
        "at": {"dist": "exponential", "mean": "3m"},
        "leave": "immediately",
    }
    data = exact_network()
    data["transfers"].append(back)
    data["max_transfers"] = 5
    problems = markov_problems(scenario_from_dict(data))
    assert any(p.startswith("max_transfers:") for p in problems)  # a cycle: any cap cuts it


def test_rough_guide_is_labelled_and_uses_mean_times() -> None:
    scenario = with_changes(
        {
            "directories.a.handle_time": {"dist": "lognormal", "mean": 100, "cv": 1},
            "directories.a.wrap_up": "20s",
        }
    )
    theory = queue_theory(scenario)
    assert not theory["a"].exact and theory["a"].label.endswith("rough guide")
    assert 1 / theory["a"].service_rate == pytest.approx(120.0)


def test_overloaded_queue_without_patience_has_no_theory() -> None:
    theory = queue_theory(with_changes({"agents.team_a.count": 2}))["a"]
    assert theory.model is None and "overloaded" in theory.note
    assert set(theory.metrics()) == {"arrival_rate"}


# --------------------------------------------------------------------------- ccsim theory

EXACT_YAML = """\
name: small_mmc
duration: 40h
warmup: 2h
seed: 4
replications: 8
directories:
  queue:
    arrivals: 240/h
    handle_time: {dist: exponential, mean: 1m}
    service_level: 20s
agents:
  team: {count: 5, directories: [queue], max_chats: 1}
"""


def test_theory_command_prints_theory_simulation_interval_and_verdict(tmp_path: Path) -> None:
    path = tmp_path / "mmc.yaml"
    path.write_text(EXACT_YAML)
    result = CliRunner().invoke(app, ["theory", str(path), "-n", "6", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "Exact theory" in result.output and "M/M/5 (Erlang C)" in result.output
    for word in ("theory", "simulation", "95% CI", "inside?", "wait_probability", "service_level"):
        assert word in result.output
    expected = erlang_c(240 / 3600, 1 / 60, 5).service_level(20)
    assert f"{100 * expected:.2f}%" in result.output


def test_theory_command_names_failing_assumptions_and_labels_the_guide() -> None:
    result = CliRunner().invoke(
        app,
        [
            "theory",
            str(REPO / "scenarios" / "transfer_cold.yaml"),
            "-n",
            "2",
            "--workers",
            "1",
            "--set",
            "duration=2h",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Not exact" in result.output and "rough guide" in result.output
    assert "directories.sales.handle_time" in result.output
    assert "transfers.0.at" in result.output
    assert "inside?" not in result.output


@pytest.mark.parametrize(
    "arguments",
    [
        ["theory", "no-such-file.yaml"],
        ["theory", "{path}", "--set", "agents.team.cuont=3"],
        ["theory", "{path}", "--confidence", "1.5"],
    ],
)
def test_theory_command_rejects_bad_input_with_exit_2(tmp_path: Path, arguments: list[str]) -> None:
    path = tmp_path / "mmc.yaml"
    path.write_text(EXACT_YAML)
    result = CliRunner().invoke(app, [a.format(path=path) for a in arguments])
    assert result.exit_code == 2, result.output
    assert "error" in result.output
