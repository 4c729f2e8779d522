"""Big centers and long runs (issue 12, items 4 and 5).

- Choosing an agent uses heaps with lazy invalidation instead of scanning every available
  agent. The choice must be exactly the old one, ties included: every column of the
  records is compared byte for byte with a reference center that keeps the old ordered
  sets and scans them in full (:class:`LinearCenter`), on the shipped scenarios, variants
  of them and random scenarios, over several seeds.
- Without tables (``tables=False``) the model keeps only what the metrics need
  (:class:`ccsim.model.Tallies`); the metrics must equal those of the full records.

No timing is asserted here: ``benchmarks/engine.py`` measures speed and memory.
"""

from __future__ import annotations

import copy
import math
import random
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import ccsim
from ccsim.api import run_one
from ccsim.model import Center, Records, Tallies, run_replication
from ccsim.model.center import Agent, DirectoryState, RoutingOrder
from ccsim.results import METRICS, ReplicationMetrics, replication_metrics
from ccsim.scenario import Scenario, load_scenario, scenario_from_dict

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


# --------------------------------------------------------------------------- reference


class LinearCenter(Center):
    """The agent choice as it was before the heaps: insertion-ordered sets of available
    agents per directory and per group, scanned in full at every choice; the first of
    equals in the set wins."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owners = [*self.directories.values(), *self.groups.values(), *self.overflow_levels]
        orders = [o.order for o in owners]
        orders += [o for d in self.directories.values() for o in d.orders]
        self.available: dict[int, dict[Agent, None]] = {id(o): {} for o in orders}

    def _refresh(self, agent: Agent) -> None:
        was = agent.listed
        super()._refresh(agent)
        if agent.listed == was:
            return
        group = agent.group
        # a directory split by preference level: the order of the agent's level (issue 14)
        for order in [*(group.order_of.get(d, d.order) for d in agent.directories), group.order]:
            if agent.listed:
                self.available[id(order)][agent] = None
            else:
                del self.available[id(order)][agent]

    def _pick(
        self,
        order: RoutingOrder,
        participants: dict[Agent, DirectoryState],
        tried: list[Agent] | tuple[()],
    ) -> Agent | None:
        best: Agent | None = None
        for agent in self.available[id(order)]:
            if agent in participants or agent in tried:
                continue
            if best is None:
                best = agent
            elif order.least_busy:
                if agent.held < best.held or (
                    agent.held == best.held and agent.last_end < best.last_end
                ):
                    best = agent
            elif agent.last_end < best.last_end or (
                agent.last_end == best.last_end and agent.held < best.held
            ):
                best = agent
        return best

    def _dispatch(self, directory: DirectoryState) -> None:
        if directory.general:  # preference levels or overflow: one order each, same picks
            self._dispatch_general(directory)
            return
        available = self.available[id(directory.order)]
        while directory.waiting and available:
            chat = self._head(directory)
            agent = self._pick(directory.order, chat.participants, ())
            if agent is None:
                for agent in list(available):
                    self._agent_free(agent)
                return
            self._offer(self._pop(directory), agent, directory)


class HeapCenter(Center):
    """Every routing order kept in order (a sorted run and a heap), however small."""

    scan_agents = -1


class ScanCenter(Center):
    """Every routing order scanned, however large."""

    scan_agents = 10**9


def columns(records: Records) -> dict[str, bytes]:
    """Every array column of the records, as bytes."""
    return {
        name: value.tobytes() for name, value in vars(records).items() if isinstance(value, array)
    }


# --------------------------------------------------------------------------- scenarios


def shipped() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(SCENARIOS.glob("**/*.yaml")):
        yield path.stem, yaml.safe_load(path.read_text())


def retail() -> dict[str, Any]:
    return yaml.safe_load((SCENARIOS / "retail.yaml").read_text())


def variants() -> Iterator[tuple[str, dict[str, Any]]]:
    """Variants of retail.yaml that stress the choice of agent."""
    base = retail()
    base["duration"] = "4h"

    data = copy.deepcopy(base)
    for spec in data["directories"].values():
        spec["routing"] = "least_busy"
        spec["ramp_up"] = "20s"
    yield "least_busy_ramp_up", data

    # a group serving both directories; warm transfers from sales to support, so its
    # members are often the inviter, who may not be offered the chat it is transferring
    data = copy.deepcopy(base)
    data["agents"]["floaters"] = {"count": 4, "directories": ["sales", "support"], "max_chats": 3}
    data["agents"]["sales_team"]["count"] = 8
    data["transfers"][0]["probability"] = 0.5
    data["transfers"][0]["confirm"] = "5s"
    data["directories"]["support"]["routing"] = "least_busy"
    yield "multi_directory_warm", data

    # invitations with retries that are often missed, and a fallback to a directory
    data = copy.deepcopy(base)
    data["agents"]["supervisors"]["count"] = 3
    data["agents"]["supervisors"]["max_chats"] = 1
    data["offer"]["no_answer_probability"] = 0.3
    conference = data["transfers"][1]
    conference["probability"] = 0.3
    conference["on_decline"] = "retry"
    conference["retries"] = 2
    data["transfers"].append(
        {
            "from": "support",
            "to": {"group": "supervisors"},
            "probability": 0.2,
            "at": "1m",
            "on_decline": {"directory": "sales"},
        }
    )
    data["transfers"].append(
        {"from": {"group": "supervisors"}, "to": {"directory": "support"}, "probability": 0.3}
    )
    yield "invitations_retry", data

    # constant times: many exact ties in last_end, broken by listing order
    data = copy.deepcopy(base)
    data["offer"] = {"response_time": 0}
    for spec in data["directories"].values():
        spec["handle_time"] = "5m"
        spec.pop("wrap_up", None)
        spec["arrivals"] = "300/h"
    data["agents"]["sales_team"]["max_chats"] = 2
    yield "constant_ties", data

    # overloaded and cut short: chats and directory transfers still waiting at the end,
    # shifts ending with chats in hand, warm-up, long patience
    data = copy.deepcopy(base)
    data["duration"] = "2h"
    data["warmup"] = "20m"
    data["agents"]["sales_team"]["count"] = 5
    data["agents"]["support_team"]["shifts"] = [
        {"from": "0h", "to": "1h", "count": 3},
        {"from": "1h", "to": "2h", "count": 1},
    ]
    data["directories"]["sales"]["patience"] = {"dist": "exponential", "mean": "40m"}
    data["transfers"][0]["leave"] = {"after": "10s"}
    yield "overloaded", data


def random_scenario(rng: random.Random) -> dict[str, Any]:
    """A small random scenario: 1-3 directories, groups serving one or several of them,
    shifts, every kind of transfer, retries and missed offers."""
    names = [f"d{i}" for i in range(rng.randint(1, 3))]
    directories = {}
    for name in names:
        directories[name] = {
            "arrivals": f"{rng.choice([30, 60, 120])}/h",
            "handle_time": rng.choice(["4m", {"dist": "exponential", "mean": "6m"}]),
            "routing": rng.choice(["longest_idle", "least_busy"]),
            "wrap_up": rng.choice([0, "10s"]),
            "ramp_up": rng.choice([0, 0, "15s"]),
        }
        if rng.random() < 0.7:
            directories[name]["patience"] = {"dist": "exponential", "mean": "5m"}
    agents: dict[str, Any] = {}
    for g in range(rng.randint(1, 3)):
        served = rng.sample(names, rng.randint(1, len(names)))
        spec: dict[str, Any] = {"directories": served, "max_chats": rng.randint(1, 3)}
        if rng.random() < 0.3:
            spec["shifts"] = [
                {"from": "0h", "to": "1h", "count": rng.randint(1, 4)},
                {"from": "1h", "to": "2h", "count": rng.randint(1, 4)},
            ]
        else:
            spec["count"] = rng.randint(1, 5)
        agents[f"g{g}"] = spec
    for name in names:  # every directory is served
        if not any(name in spec["directories"] for spec in agents.values()):
            agents["g0"]["directories"].append(name)
    agents["experts"] = {"count": rng.randint(1, 3), "directories": [], "max_chats": 2}
    transfers: list[dict[str, Any]] = []
    for name in names:
        target = rng.choice(names)
        transfers.append(
            {
                "from": name,
                "to": {"directory": target},
                "probability": 0.2,
                "at": "1m",
                "leave": rng.choice(["on_connect", "immediately", {"after": "20s"}]),
            }
        )
        invite: dict[str, Any] = {
            "from": name,
            "to": {"group": rng.choice(list(agents))},
            "probability": 0.2,
            "at": "30s",
            "kind": rng.choice(["transfer", "conference"]),
        }
        if invite["kind"] == "conference":
            invite["duration"] = "1m"
        decline = rng.choice(["keep", "retry", {"directory": name}])
        invite["on_decline"] = decline
        if decline == "retry":
            invite["retries"] = rng.randint(1, 3)
        if rng.random() < 0.5:
            invite["consult"] = "10s"
        transfers.append(invite)
    return {
        "name": "random",
        "duration": "2h",
        "warmup": rng.choice([0, "15m"]),
        "directories": directories,
        "agents": agents,
        "offer": {
            "response_time": {"dist": "exponential", "mean": "3s"},
            "no_answer_probability": rng.choice([0.0, 0.2]),
            "no_answer_timeout": "8s",
        },
        "transfers": transfers,
        "max_transfers": rng.choice([None, 2]),
    }


def all_scenarios() -> list[tuple[str, Scenario]]:
    found = [*shipped(), *variants()]
    rng = random.Random(12)
    found += [(f"random{i}", random_scenario(rng)) for i in range(12)]
    return [(name, scenario_from_dict(data)) for name, data in found]


ALL = all_scenarios()


# --------------------------------------------------------------------------- item 4


@pytest.mark.parametrize(("name", "scenario"), ALL, ids=[name for name, _ in ALL])
def test_heaps_choose_exactly_the_agents_the_full_scan_chose(name: str, scenario: Scenario) -> None:
    """The ordered orders (``HeapCenter``), the scanned ones (``ScanCenter``) and the
    default mix give the records of the old full scan, byte for byte."""
    for replication, seed in ((0, None), (1, 5), (0, 77)):
        expected = columns(LinearCenter(scenario, replication, seed).run())
        assert expected["chat_id"]
        for model in (HeapCenter, ScanCenter, Center):
            got = columns(model(scenario, replication, seed).run())
            assert got == expected, (model.__name__, name, replication, seed)


def test_mmc_with_many_agents_matches_the_full_scan() -> None:
    """A larger M/M/c center: thousands of choices among hundreds of idle agents, with
    stale heap entries piling up and being compacted."""
    data = {
        "name": "mmc",
        "duration": "3h",
        "directories": {
            "q": {"arrivals": "540/h", "handle_time": {"dist": "exponential", "mean": "5m"}}
        },
        "agents": {"servers": {"count": 50, "directories": ["q"], "max_chats": 1}},
    }
    for rate in ("540/h", "200/h", "700/h"):  # busy, mostly idle, overloaded
        data["directories"]["q"]["arrivals"] = rate
        scenario = scenario_from_dict(data)
        expected = columns(LinearCenter(scenario).run())
        for model in (HeapCenter, Center):
            assert columns(model(scenario).run()) == expected, (model.__name__, rate)


def test_routing_orders_stay_bounded() -> None:
    """Stale entries are compacted away: no order holds much more than twice its agents."""
    center = HeapCenter(dict(ALL)["invitations_retry"])
    seen = 0

    def check(_event: Any) -> None:
        nonlocal seen
        for owner in [*center.directories.values(), *center.groups.values()]:
            assert len(owner.order) <= owner.order.limit + len(center.agents)
            seen = max(seen, len(owner.order))

    center.env.process(_watch(center, check))
    center.run()
    assert seen > 0


def _watch(center: Center, check: Any) -> Iterator[Any]:
    while True:
        yield center.env.timeout(60)
        check(None)


def test_free_counts_match_the_listed_agents() -> None:
    scenario = dict(ALL)["multi_directory_warm"]
    center = Center(scenario)
    checks = 0

    def check(_event: Any) -> None:
        nonlocal checks
        for directory in center.directories.values():
            assert directory.free == sum(agent.listed for agent in directory.agents)
        checks += 1

    center.env.process(_watch(center, check))
    center.run()
    assert checks > 100 and not math.isnan(center.env.now)


# --------------------------------------------------------------------------- item 5


def thresholds(scenario: Scenario) -> dict[str, float]:
    return {name: d.service_level for name, d in scenario.directories.items()}


def assert_same_metrics(tallied: ReplicationMetrics, full: ReplicationMetrics) -> None:
    """Every metric, overall, per directory and per group, in the same order; equal to
    rounding (sums are accumulated in another order than numpy's)."""
    scopes = [("overall", {"all": tallied.overall}, {"all": full.overall})]
    scopes += [("directories", tallied.directories, full.directories)]
    scopes += [("groups", tallied.groups, full.groups)]
    for scope, got, expected in scopes:
        assert list(got) == list(expected), scope
        for name, metrics in expected.items():
            assert list(got[name]) == list(metrics), (scope, name)
            for metric, value in metrics.items():
                if math.isnan(value):
                    assert math.isnan(got[name][metric]), (scope, name, metric)
                else:
                    assert got[name][metric] == pytest.approx(value, rel=1e-12, abs=1e-12), (
                        scope,
                        name,
                        metric,
                    )


METRIC_CASES = [*ALL]


@pytest.mark.parametrize(("name", "scenario"), METRIC_CASES, ids=[n for n, _ in METRIC_CASES])
def test_tallies_give_the_metrics_of_the_full_records(name: str, scenario: Scenario) -> None:
    for replication, seed in ((0, None), (1, 9)):
        full = run_replication(scenario, replication, seed, record_events=False)
        tallies = run_replication(scenario, replication, seed, tables=False)
        assert isinstance(tallies, Tallies) and tallies.chat_count == full.chat_count
        assert_same_metrics(
            replication_metrics(tallies, thresholds(scenario)),
            replication_metrics(full, thresholds(scenario)),
        )


def test_the_checked_scenarios_reach_every_kind_of_row() -> None:
    """The equality above is checked on runs that have every outcome, leg kind and state,
    and measured legs and waits (not only empty arrays)."""
    outcomes: set[int] = set()
    legs: set[tuple[int, int]] = set()
    still_waiting_transfers = 0
    for _, scenario in METRIC_CASES:
        tallies = run_replication(scenario, tables=False)
        for tally in tallies.by_directory:
            outcomes |= {o for o, count in enumerate(tally.outcomes) if count}
            still_waiting_transfers += len(tally.transfer_in_waiting_since)
        full = run_replication(scenario, record_events=False)
        legs |= set(zip(full.leg_kind, full.leg_outcome, strict=True))
    assert outcomes == {0, 1, 2, 3}
    assert {kind for kind, _ in legs} == {0, 1, 2, 3}
    assert {outcome for _, outcome in legs} == {0, 1, 2, 3}
    assert still_waiting_transfers > 0


def test_other_thresholds_apply_to_the_tallies_too() -> None:
    """Waits are kept, not judged during the run: any threshold gives the full records'
    service levels."""
    scenario = dict(ALL)["overloaded"]
    full = run_replication(scenario, record_events=False)
    tallies = run_replication(scenario, tables=False)
    for seconds in (0.0, 5.0, 45.0, 600.0):
        limits = {name: seconds for name in scenario.directories}
        assert_same_metrics(replication_metrics(tallies, limits), replication_metrics(full, limits))


def test_the_same_run_gives_the_same_counts_in_both_modes() -> None:
    """Tallies change what is kept, not what happens: counted straight from the full
    records, every directory has the same outcomes, legs and transfers in."""
    import numpy as np

    scenario = dict(ALL)["overloaded"]
    full = run_replication(scenario, 2)
    tallies = run_replication(scenario, 2, tables=False)
    assert tallies.chats == full.chat_count
    arrival = np.frombuffer(full.chat_arrival)
    measured = arrival >= full.warmup
    directory = np.frombuffer(full.chat_directory, dtype=np.int64)
    outcome = np.frombuffer(full.chat_outcome, dtype=np.int8)
    measured_ids = set(np.frombuffer(full.chat_id, dtype=np.int64)[measured].tolist())
    leg_measured = np.array([chat in measured_ids for chat in full.leg_chat], dtype=bool)
    source = np.frombuffer(full.leg_source, dtype=np.int64)
    target = np.frombuffer(full.leg_target_directory, dtype=np.int64)
    for index, tally in enumerate(tallies.by_directory):
        mine = measured & (directory == index)
        assert tally.outcomes == [int(np.count_nonzero(mine & (outcome == o))) for o in range(4)]
        assert tally.transfers == int(np.count_nonzero(leg_measured & (source == index)))
        assert tally.transferred_in == int(np.count_nonzero(leg_measured & (target == index)))


def test_simulate_without_records_keeps_tallies_and_the_same_metrics() -> None:
    scenario = load_scenario(SCENARIOS / "retail.yaml")
    full = ccsim.simulate(scenario, replications=3, seed=4, record_events=False)
    lean = ccsim.simulate(scenario, replications=3, seed=4, keep_records=False)
    assert not lean.records and len(full.records) == 3
    for got, expected in zip(lean.replication_metrics, full.replication_metrics, strict=True):
        assert_same_metrics(got, expected)
    assert list(lean.summary_table.overall) == [
        m for m in METRICS if m in full.summary_table.overall
    ]
    with pytest.raises(LookupError):
        lean.table("chats")
    done = run_one(scenario, 0, 4, keep_records=False)
    assert done.records is None


def test_run_without_out_uses_tallies(monkeypatch: pytest.MonkeyPatch) -> None:
    """``ccsim run`` without --out or --report keeps no tables."""
    from typer.testing import CliRunner

    import ccsim.api
    from ccsim.cli import app

    seen: list[bool] = []
    real = ccsim.api.run_replication

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("tables", True))
        return real(*args, **kwargs)

    monkeypatch.setattr(ccsim.api, "run_replication", spy)
    path = str(SCENARIOS / "retail.yaml")
    result = CliRunner().invoke(
        app, ["run", path, "-n", "2", "--workers", "1", "--set", "duration=1h"]
    )
    assert result.exit_code == 0, result.output
    assert seen == [False, False]


def test_the_model_leaves_no_cyclic_garbage() -> None:
    """The cyclic collector is paused while a run goes (``cyclic_gc_paused``), which is
    safe only because a run creates no reference cycles: reference counting frees
    everything, whatever the scenario."""
    import gc

    assert gc.isenabled()
    gc.collect()
    gc.freeze()  # the objects alive so far are left out of the collections below
    try:
        for name, scenario in ALL:
            gc.collect()
            center = Center(scenario, 0, 3)
            center.run()
            assert gc.isenabled()
            assert gc.collect() == 0, name  # the center is alive: only the run's garbage
            del center
    finally:
        gc.unfreeze()
