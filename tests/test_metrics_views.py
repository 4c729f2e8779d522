"""Metrics that must not mislead: service level with chats still waiting at the end, the
arrival and queue views per directory, and outcomes that add up (issue 9).

Exact timelines: constant times, chats placed in short windows (``windows``), every
expected value worked out by hand from the arrival instants read back from the records.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest
from conftest import build, chats, legs, run_placed, windows
from typer.testing import CliRunner

import ccsim
from ccsim.cli import app
from ccsim.expect import parse_expectation
from ccsim.model import LegOutcome, Outcome, Records, run_replication
from ccsim.output import load_results, write_results
from ccsim.results import (
    CHAT_METRICS,
    COUNT_METRICS,
    QUEUE_METRICS,
    RATIO_METRICS,
    TIME_METRICS,
    Metrics,
    ReplicationMetrics,
    Summary,
    chat_metrics_between,
    replication_metrics,
)

ROOT = Path(__file__).resolve().parents[1]
OUTCOMES = ("completed", "abandoned_initial", "abandoned_in_transfer", "open_at_end")


def exact(value: float) -> Any:
    return pytest.approx(value, abs=1e-9)


def metrics(data: dict[str, Any], records: Records) -> ReplicationMetrics:
    """The replication's metrics with the scenario's own thresholds."""
    scenario = build(data)
    thresholds = {name: d.service_level for name, d in scenario.directories.items()}
    return replication_metrics(records, thresholds)


def overloaded() -> dict[str, Any]:
    """One agent, one slot, handle 300 s, threshold 60 s; chats near 0, 10, 20 and 350 s;
    the run stops at 400 s."""
    return {
        "duration": 400,
        "directories": {
            "d": {
                "arrivals": windows((0, 1), (10, 11), (20, 21), (350, 351)),
                "handle_time": 300,
                "service_level": 60,
            }
        },
        "agents": {"a": {"count": 1, "directories": ["d"], "max_chats": 1}},
    }


def transfers_into_x(
    x: dict[str, Any] | None = None, gx: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """Directory d (two chats near 0 and 10 s, both answered at once, handle 300 s) sends
    every chat to x, which has no arrivals of its own, cold, 120 s after connecting; x
    (handle 200 s, threshold 60 s) is served by one agent with one slot."""
    return {
        "duration": 2000,
        "directories": {
            "d": {"arrivals": windows((0, 1), (10, 11)), "handle_time": 300},
            "x": {"handle_time": 200, "service_level": 60, **(x or {})},
        },
        "agents": {
            "a": {"count": 1, "directories": ["d"], "max_chats": 2},
            "gx": {"count": 1, "directories": ["x"], "max_chats": 1, **(gx or {})},
        },
        "transfers": [
            {
                "from": "d",
                "to": {"directory": "x"},
                "probability": 1,
                "at": 120,
                "leave": "immediately",
            }
        ],
        **extra,
    }


def assert_outcomes_add_up(scope: Metrics) -> None:
    assert sum(scope[name] for name in OUTCOMES) == scope["offered"]
    assert scope["abandoned"] == scope["abandoned_initial"] + scope["abandoned_in_transfer"]


# --------------------------------------------------------------------------- service level


def test_service_level_counts_chats_still_waiting_past_the_threshold_as_misses() -> None:
    """Overloaded: chat 0 is answered at once; chat 1 after ~290 s; chat 2 still waits
    at the end after ~380 s (a miss, not left out); chat 3 has waited ~50 s of its 60 s
    (left out). Service level 1/3; leaving chat 2 out would report 1/2."""
    data = overloaded()
    r = run_placed(data)
    first, second, third, fourth = chats(r)
    assert first.connect == first.arrival
    assert second.connect == exact(first.arrival + 300)
    assert math.isnan(third.connect) and math.isnan(fourth.connect)
    assert 400 - third.arrival > 60 and 400 - fourth.arrival <= 60
    overall = metrics(data, r).overall
    assert overall["service_level"] == exact(1 / 3)
    assert overall["queued_service_level"] == exact(1 / 3)
    assert overall["offered"] == 4 and overall["answered"] == 2
    # chat 0 ended at ~300; chat 1 is being served and chats 2, 3 wait at 400
    assert [overall[name] for name in OUTCOMES] == [1, 0, 0, 3]


def test_service_level_per_interval_judges_waits_at_the_end_of_the_run() -> None:
    """Staffing per interval shares the rule: chats arriving in [0, 100) give 1/3 (chat 2
    still waiting is a miss), chats arriving in [300, 400) give no service level (chat 3
    is still within its threshold when the run stops)."""
    data = overloaded()
    r = run_placed(data)
    thresholds = {"d": 60.0}
    early = chat_metrics_between(r, thresholds, 0, 100)
    assert early.overall["offered"] == 3
    assert early.overall["service_level"] == exact(1 / 3)
    assert early.directories["d"]["service_level"] == exact(1 / 3)
    late = chat_metrics_between(r, thresholds, 300, 400)
    assert late.overall["offered"] == 1 and late.overall["open_at_end"] == 1
    assert math.isnan(late.overall["service_level"])
    assert math.isnan(late.overall["queued_service_level"])


def test_chat_still_waiting_within_the_threshold_is_left_out() -> None:
    """One chat waiting from the start, nobody staffed: it is left out while it has waited
    at most the threshold, and a miss as soon as it has waited longer."""
    data = {
        "duration": 1000,
        "directories": {
            "d": {"arrivals": windows((0, 1)), "handle_time": 300, "service_level": 60}
        },
        "agents": {"a": {"count": 0, "directories": ["d"]}},
    }
    r = run_placed(data)
    (chat,) = chats(r)
    assert chat.outcome is Outcome.OPEN and math.isnan(chat.connect)
    thresholds = {"d": 60.0}
    for run_end, expected in (
        (chat.arrival + 30, math.nan),
        (chat.arrival + 60, math.nan),  # exactly the threshold: it may still be in time
        (chat.arrival + 60.5, 0.0),
        (1000.0, 0.0),
    ):
        stopped = dataclasses.replace(r, duration=run_end)
        overall = replication_metrics(stopped, thresholds).overall
        assert overall["service_level"] == pytest.approx(expected, nan_ok=True), run_end
        assert overall["queued_service_level"] == pytest.approx(expected, nan_ok=True)
        assert overall["offered"] == 1 and overall["open_at_end"] == 1


# --------------------------------------------------------------------------- queue view


def test_r8_transferred_in_chats_show_in_the_target_queue_view() -> None:
    """x has no arrivals: its arrival view shows nothing, its queue view shows both
    transfers. Chat 0 enters x at a0 + 120 and is answered at once (its agent is free
    until a0 + 320); chat 1 enters at a1 + 120 and waits until a0 + 320."""
    data = transfers_into_x()
    r = run_placed(data)
    first, second = chats(r)
    a0, a1 = first.arrival, second.arrival
    leg0, leg1 = legs(r)
    assert leg0.requested == exact(a0 + 120) and leg0.connected == exact(a0 + 120)
    assert leg1.requested == exact(a1 + 120) and leg1.connected == exact(a0 + 320)
    m = metrics(data, r)
    x = m.directories["x"]
    assert x["offered"] == 0 and x["answered"] == 0 and math.isnan(x["service_level"])
    assert x["queued"] == 2 and x["transferred_in"] == 2
    assert x["queued_answered"] == 2 and x["queued_abandoned"] == 0
    second_wait = (a0 + 320) - (a1 + 120)
    assert second_wait > 60
    assert x["queued_wait_mean"] == exact(second_wait / 2)
    assert x["queued_wait_p90"] == exact(0.9 * second_wait)
    assert x["queued_service_level"] == exact(1 / 2)
    d = m.directories["d"]
    assert d["offered"] == 2 and d["queued"] == 2 and d["transferred_in"] == 0
    assert d["queued_wait_mean"] == 0 and d["queued_service_level"] == 1
    assert d["transfers"] == 2  # legs count where they were requested
    overall = m.overall
    assert overall["queued"] == overall["offered"] + overall["transferred_in"] == 4
    assert overall["queued_wait_mean"] == exact(second_wait / 4)
    assert overall["queued_service_level"] == exact(3 / 4)


def test_r8_abandon_in_transfer_counts_in_the_target_queue_view() -> None:
    """Nobody serves x and its customers wait 60 s: both chats are abandoned there.
    In d's arrival view they were answered and abandoned (answered + abandoned = 2 x
    offered), while the outcomes still add up to offered."""
    data = transfers_into_x(x={"patience": 60}, gx={"count": 0})
    r = run_placed(data)
    assert [c.outcome for c in chats(r)] == [Outcome.ABANDONED_IN_TRANSFER] * 2
    assert [leg.outcome for leg in legs(r)] == [LegOutcome.ABANDONED] * 2
    m = metrics(data, r)
    x = m.directories["x"]
    assert x["queued"] == 2 and x["transferred_in"] == 2
    assert x["queued_abandoned"] == 2 and x["queued_answered"] == 0
    assert x["queued_service_level"] == 0  # an abandoned stay is a miss
    assert math.isnan(x["queued_wait_mean"])
    assert x["offered"] == 0 and x["abandoned"] == 0
    d = m.directories["d"]
    assert d["offered"] == 2 and d["answered"] == 2 and d["abandoned"] == 2
    assert d["abandoned_in_transfer"] == 2 and d["abandoned_initial"] == 0
    assert d["queued_abandoned"] == 0
    assert_outcomes_add_up(d)
    assert_outcomes_add_up(m.overall)
    assert m.overall["queued_abandoned"] == m.overall["abandoned"] == 2


def test_r13_open_transfer_stay_past_the_threshold_is_a_miss_in_the_target_queue() -> None:
    """Nobody serves x and nobody gives up: both stays in x are still open at the end,
    long past x's threshold, so x's queue service level is 0, not undefined."""
    data = transfers_into_x(gx={"count": 0}, duration=1000)
    r = run_placed(data)
    assert [leg.outcome for leg in legs(r)] == [LegOutcome.OPEN] * 2
    x = metrics(data, r).directories["x"]
    assert x["queued"] == 2 and x["queued_answered"] == 0
    assert x["queued_service_level"] == 0
    first, second = chats(r)
    # stopped 30 s after the second chat entered x: both stays are still within 60 s
    assert second.arrival + 30 - first.arrival <= 60
    early = dataclasses.replace(r, duration=second.arrival + 150)
    x_early = replication_metrics(early, {"d": 60.0, "x": 60.0}).directories["x"]
    assert math.isnan(x_early["queued_service_level"])


def test_queue_view_metrics_are_metric_paths_with_units() -> None:
    """The new names are chat metrics of the right kind, so ``ccsim check``, ``compare``,
    ``sweep`` and ``staff`` accept them as paths."""
    assert set(QUEUE_METRICS) <= set(CHAT_METRICS)
    counts = {"queued", "transferred_in", "queued_answered", "queued_abandoned", *OUTCOMES}
    assert counts <= COUNT_METRICS
    assert {"queued_wait_mean", "queued_wait_p90"} <= TIME_METRICS
    assert "queued_service_level" in RATIO_METRICS
    data = transfers_into_x()
    r = run_placed(data)
    summary = Summary.from_replications([metrics(data, r)])
    for text, holds in (
        ("directories.x.queued_service_level >= 50%", True),
        ("directories.x.transferred_in == 2", True),
        ("directories.x.offered == 0", True),
        ("directories.x.queued_wait_p90 <= 10s", False),
        ("open_at_end == 0", True),
    ):
        expectation = parse_expectation(text)
        assert expectation.evaluate(summary.lookup(expectation.path)).holds is holds, text


# --------------------------------------------------------------------------- outcomes


@pytest.mark.parametrize("seed", range(40))
def test_r13_outcomes_add_up_to_offered(seed: int) -> None:
    """On a random scenario with transfers, abandonment and chats open at the end."""
    scenario = ccsim.load_scenario(ROOT / "scenarios" / "retail.yaml", ["duration=1h", "warmup=5m"])
    thresholds = {name: d.service_level for name, d in scenario.directories.items()}
    m = replication_metrics(run_replication(scenario, 0, seed=seed), thresholds)
    assert_outcomes_add_up(m.overall)
    for scope in m.directories.values():
        assert_outcomes_add_up(scope)
        assert scope["queued_answered"] + scope["queued_abandoned"] <= scope["queued"]
    overall = m.overall
    assert overall["queued"] == overall["offered"] + overall["transferred_in"]
    assert overall["queued_abandoned"] == overall["abandoned"]
    for name in ("queued", "transferred_in", "queued_answered", "queued_abandoned", *OUTCOMES):
        assert sum(d[name] for d in m.directories.values()) == overall[name]


def test_r13_outcomes_add_up_in_the_summary_and_a_reloaded_folder(tmp_path: Path) -> None:
    scenario = ccsim.load_scenario(
        ROOT / "scenarios" / "retail.yaml", ["duration=2h", "warmup=10m"]
    )
    results = ccsim.simulate(scenario, replications=3, workers=1)
    write_results(results, tmp_path / "out", tables=False)
    again = load_results(tmp_path / "out")
    for loaded in (results, again):
        summary = loaded.summary_table
        for scope in (summary.overall, *summary.directories.values()):
            total = sum(scope[name].mean for name in OUTCOMES)
            assert total == pytest.approx(scope["offered"].mean, abs=1e-9)
        assert loaded.metric("directories.support.transferred_in") > 0
        per_replication = loaded.per_replication()
        assert set(QUEUE_METRICS) | set(OUTCOMES) <= set(per_replication["metric"])
    for path in ("open_at_end", "directories.support.queued_service_level"):
        assert again.metric(path) == pytest.approx(results.metric(path))


def test_cli_names_the_two_per_directory_views() -> None:
    retail = str(ROOT / "scenarios" / "retail.yaml")
    args = ["run", retail, "-n", "1", "--workers", "1", "--set", "duration=1h", "--quiet"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "chats that arrived here" in out
    assert "every stay queued here, incl. transfers in" in out
    assert "completed + abandoned_initial + abandoned_in_transfer + open_at_end" in out
    assert max(len(line) for line in out.splitlines()) <= 100
