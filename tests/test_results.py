"""Metric definitions on hand-made records, intervals, determinism and common random numbers."""

from __future__ import annotations

import math
from array import array
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import ccsim
from ccsim.model import run_replication
from ccsim.model.records import AgentState, LegKind, LegOutcome, Outcome, Records
from ccsim.output import load_results, write_results
from ccsim.results import estimate, replication_metrics

ROOT = Path(__file__).resolve().parents[1]


def _records() -> Records:
    """Two directories, one group of one agent with 2 slots, warm-up 10 s, end 110 s."""
    r = Records(
        directories=("a", "b"),
        groups=("team",),
        agent_group=(0,),
        agent_member=(0,),
        group_max_chats=(2,),
        duration=110.0,
        warmup=10.0,
    )
    nan = math.nan
    #          id dir arrival connect end   outcome                          transfers
    chats = [
        (0, 0, 5.0, 6.0, 50.0, Outcome.COMPLETED, 0),  # before warm-up: not measured
        (1, 0, 20.0, 30.0, 80.0, Outcome.COMPLETED, 1),  # wait 10
        (2, 0, 30.0, 100.0, nan, Outcome.OPEN, 0),  # wait 70 (over the 60 s threshold)
        (3, 1, 40.0, nan, 70.0, Outcome.ABANDONED, 0),
        (4, 1, 105.0, nan, nan, Outcome.OPEN, 0),
    ]  # still waiting: out of SL
    for cid, d, arrival, connect, end, outcome, transfers in chats:
        r.chat_id.append(cid)
        r.chat_directory.append(d)
        r.chat_arrival.append(arrival)
        r.chat_connect.append(connect)
        r.chat_end.append(end)
        r.chat_outcome.append(outcome)
        r.chat_transfers.append(transfers)
        r.chat_final_directory.append(d)
    # chat 1: cold directory transfer requested at 50, inviter left at 50, connected at 62
    r.leg_chat.append(1)
    r.leg_kind.append(LegKind.DIRECTORY_COLD)
    r.leg_source.append(0)
    r.leg_target_directory.append(1)
    r.leg_target_group.append(-1)
    r.leg_requested.append(50.0)
    r.leg_connected.append(62.0)
    r.leg_inviter_left.append(50.0)
    r.leg_closed.append(62.0)
    r.leg_outcome.append(LegOutcome.CONNECTED)
    r.leg_handoff_gap.append(12.0)
    r.leg_overlap.append(0.0)
    # agent: ready 0-110; holds 1 slot 30-80 (2 slots 62-80) and nothing else
    for start, end, held in ((0.0, 30.0, 0), (30.0, 62.0, 1), (62.0, 80.0, 2), (80.0, 110.0, 0)):
        r.interval_agent.append(0)
        r.interval_start.append(start)
        r.interval_end.append(end)
        r.interval_state.append(AgentState.READY)
        r.interval_held.append(held)
    return r


def test_metric_definitions_on_a_known_replication() -> None:
    metrics = replication_metrics(_records(), {"a": 60.0, "b": 60.0})
    overall = metrics.overall
    assert overall["offered"] == 4  # chat 0 arrived during the warm-up
    assert overall["answered"] == 2
    assert overall["abandoned"] == 1
    assert overall["abandon_rate"] == pytest.approx(1 / 4)
    # chats 1 (10 s) within 60 s; chat 2 (70 s) not; chat 3 abandoned; chat 4 left out
    assert overall["service_level"] == pytest.approx(1 / 3)
    assert overall["wait_mean"] == pytest.approx(40.0)
    assert overall["transfers"] == 1
    assert overall["transfer_rate"] == pytest.approx(1 / 2)
    assert overall["transfer_wait_mean"] == pytest.approx(12.0)
    assert overall["handoff_gap_mean"] == pytest.approx(12.0)
    assert overall["session_time_mean"] == pytest.approx(((80 - 20) + (70 - 40)) / 2)
    # measured window 10-110 (100 s, 2 slots): held 1x32 + 2x18 = 68 slot-seconds
    assert overall["utilization"] == pytest.approx(68 / 200)
    assert overall["occupancy"] == pytest.approx(50 / 100)
    assert metrics.directories["a"]["offered"] == 2
    assert metrics.directories["a"]["transfers"] == 1  # legs count where they came from
    assert metrics.directories["b"]["abandon_rate"] == pytest.approx(1 / 2)
    assert metrics.groups["team"]["utilization"] == pytest.approx(68 / 200)


def test_estimate_is_the_student_t_interval() -> None:
    samples = [1.0, 2.0, 4.0, 5.0]
    result = estimate(samples)
    half = stats.t.ppf(0.975, 3) * np.std(samples, ddof=1) / 2
    assert result.mean == pytest.approx(3.0)
    assert (result.ci_low, result.ci_high) == pytest.approx((3 - half, 3 + half))
    single = estimate([2.0])
    assert single.mean == 2.0 and math.isnan(single.ci_low)
    assert math.isnan(estimate([math.nan, math.nan]).mean)


def _columns(records: Records) -> dict[str, bytes]:
    return {
        name: value.tobytes() for name, value in vars(records).items() if isinstance(value, array)
    }


def test_same_seed_same_bytes_different_seed_different_records() -> None:
    scenario = ccsim.load_scenario(ROOT / "scenarios" / "retail.yaml", ["duration=2h", "warmup=0"])
    first = _columns(run_replication(scenario, 0))
    assert first == _columns(run_replication(scenario, 0))
    assert first["chat_arrival"] != _columns(run_replication(scenario, 1))["chat_arrival"]
    assert first["chat_arrival"] != _columns(run_replication(scenario, 0, seed=8))["chat_arrival"]


def test_changing_transfer_rules_keeps_arrivals_and_first_handle_times() -> None:
    """Common random numbers: the candidate sees the same customers as the baseline."""
    base = ccsim.load_scenario(ROOT / "scenarios" / "transfer_warm.yaml", ["duration=2h"])
    cold = ccsim.load_scenario(ROOT / "scenarios" / "transfer_cold.yaml", ["duration=2h"])
    more = (
        base.with_changes({"transfers.0.probability": 0.5})
        if hasattr(base, "with_changes")
        else ccsim.load_scenario(
            ROOT / "scenarios" / "transfer_warm.yaml",
            ["duration=2h", "transfers.0.probability=0.5"],
        )
    )
    runs = [run_replication(s, 3) for s in (base, cold, more)]
    arrivals = [sorted(zip(r.chat_directory, r.chat_arrival, strict=True)) for r in runs]
    assert arrivals[0] == arrivals[1] == arrivals[2]


def test_results_round_trip_through_a_folder(tmp_path: Path) -> None:
    scenario = ccsim.load_scenario(ROOT / "scenarios" / "retail.yaml", ["duration=1h", "warmup=0"])
    results = ccsim.simulate(scenario, replications=2)
    write_results(results, tmp_path / "out")
    again = load_results(tmp_path / "out")
    assert again.scenario == scenario
    assert again.seed == results.seed and again.replications == 2
    for name in ("service_level", "wait_p90", "utilization"):
        assert again.summary_table.overall[name].mean == pytest.approx(
            results.summary_table.overall[name].mean, nan_ok=True
        )
    assert len(again.chats) == len(results.chats)
    assert list(again.chats.columns) == list(results.chats.columns)


def test_tables_have_one_row_per_chat_and_readable_categories() -> None:
    scenario = ccsim.load_scenario(ROOT / "scenarios" / "retail.yaml", ["duration=1h"])
    results = ccsim.simulate(scenario, replications=2)
    chats = results.chats
    assert not chats.duplicated(["replication", "chat"]).any()
    assert set(chats["outcome"].cat.categories) == {
        "completed",
        "abandoned",
        "abandoned_in_transfer",
        "open",
    }
    transfers = results.transfers
    assert set(transfers["kind"].unique()) <= {
        "directory_warm",
        "directory_cold",
        "agent_transfer",
        "conference",
    }
    assert (transfers["handoff_gap"] >= 0).all()
    agents = results.agents
    assert (agents["held"] <= agents["max_chats"]).all()
    assert (agents["end"] >= agents["start"]).all()


def test_a_write_that_fails_midway_leaves_nothing_behind(tmp_path: Path, monkeypatch) -> None:
    """Files are written whole or not at all: an existing folder survives untouched."""
    import ccsim.output as output

    scenario = ccsim.load_scenario(ROOT / "scenarios" / "retail.yaml", ["duration=1h"])
    results = ccsim.simulate(scenario, replications=1)
    out = tmp_path / "out"
    write_results(results, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(frame, stem, fmt, header):
        if stem.name == "transfers":
            raise OSError("disk full")
        return original(frame, stem, fmt, header)

    original = output._write_table
    monkeypatch.setattr(output, "_write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        write_results(results, out, force=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    with pytest.raises(OSError):
        write_results(results, tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists()
