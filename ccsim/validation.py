"""Check simulated results against queueing theory, wherever theory gives an exact answer.

Three steps, each reusable on its own (by ``ccsim theory``, by
``scripts/validation_table.py`` and by the tests):

1. :func:`markov_problems` says whether a scenario is *Markovian enough* for an exact
   answer and, if not, which assumption fails, naming the field. The exact cases are:
   Poisson arrivals at a constant rate, exponential handle times, infinite or
   exponential patience, no wrap-up, offers answered at once, agents on all day with
   independent slots (no slowdown), each agent group serving one directory, and
   transfers only as *cold immediate directory transfers* whose transfer point ``at``
   has the same exponential distribution as the source's handle time. Each directory is
   then an M/M/c queue (Erlang C) or, with exponential patience and no transfers, an
   M/M/c+M queue (Erlang A); directories linked by transfers form an open Jackson
   network, whose nodes behave as M/M/c queues at their total arrival rate.
2. :func:`queue_theory` gives each directory's analytic model (exact, or an Erlang
   *rough guide* built from mean times when the assumptions fail).
3. :func:`observe` measures the same quantities on a replication's records over a time
   window; :func:`batch_windows` cuts one long replication into batches. Samples (one
   per replication, or one per batch) are summarised by :func:`compare` into Student-t
   intervals, with a verdict on whether theory lies inside.

**Why ``at`` must match the handle time.** On a leg where a transfer rule is chosen the
agent works ``at`` and then requests the transfer; otherwise the agent works the drawn
handle time. The time a chat holds a slot at a directory is exponential with one rate
whichever happens only if ``at`` has the handle time's exponential distribution.

**Why no abandonment in a network.** With patience, the stream of chats *served* at a
directory is not a Poisson stream and routing depends on how a chat left (served or
abandoned), so Jackson's product form is lost; Erlang A is exact for stand-alone
directories only.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise

import numpy as np

from ccsim.api import simulate
from ccsim.model.records import AgentState, LegOutcome, Outcome, Records
from ccsim.results import Estimate, estimate
from ccsim.scenario import scenario_from_dict
from ccsim.scenario.schema import (
    Constant,
    Exponential,
    Scenario,
    ToDirectory,
    Transfer,
)
from ccsim.theory import ErlangA, ErlangC, erlang_a, erlang_c, jackson_arrival_rates

__all__ = [
    "Comparison",
    "Observation",
    "QueueTheory",
    "Validation",
    "batch_windows",
    "bonferroni",
    "compare",
    "erlang_scenario",
    "format_metric",
    "jackson_scenario",
    "markov_problems",
    "observe",
    "queue_theory",
    "relaxation_time",
    "service_level_name",
    "validate",
]

#: Relative tolerance when checking that a transfer's ``at`` mean equals the handle mean.
MEAN_TOLERANCE = 1e-9

Observation = dict[str, dict[str, float]]
"""Per directory, metric name -> value measured in one sample (replication or batch)."""


# --------------------------------------------------------------------------- assumptions


def _distribution_name(dist: object) -> str:
    return getattr(dist, "dist", type(dist).__name__.lower())


def _used_directories(scenario: Scenario) -> list[str]:
    """Directories that see chats: those with arrivals and transfer targets."""
    targets = {
        t.to.directory
        for t in scenario.transfers
        if isinstance(t.to, ToDirectory) and t.probability > 0
    }
    return [
        name
        for name, spec in scenario.directories.items()
        if spec.arrivals is not None or name in targets
    ]


def _rates_in_run(scenario: Scenario, directory: str) -> list[float]:
    """The distinct arrival rates in force at some time of the run."""
    arrivals = scenario.directories[directory].arrivals
    if arrivals is None:
        return []
    return sorted({piece.rate for piece in arrivals.schedule if piece.start < scenario.duration})


def _network_directories(scenario: Scenario) -> set[str]:
    """Directories that send or receive a transfer of any kind (with probability > 0)."""
    linked: set[str] = set()
    for rule in scenario.transfers:
        if rule.probability == 0 or rule.source_directory is None:
            continue
        linked.add(rule.source_directory)
        if isinstance(rule.to, ToDirectory):
            linked.add(rule.to.directory)
    return linked


def _longest_route(scenario: Scenario) -> float:
    """Most directory transfers a chat can make (inf when the routing has a cycle)."""
    edges: dict[str, set[str]] = defaultdict(set)
    for rule in scenario.transfers:
        if isinstance(rule.to, ToDirectory) and rule.probability > 0 and rule.source_directory:
            edges[rule.source_directory].add(rule.to.directory)
    memo: dict[str, float] = {}
    visiting: set[str] = set()

    def depth(node: str) -> float:
        if node in memo:
            return memo[node]
        if node in visiting:
            return math.inf
        visiting.add(node)
        best = max((1 + depth(nxt) for nxt in edges[node]), default=0.0)
        visiting.discard(node)
        memo[node] = best
        return best

    return max((depth(node) for node in list(edges)), default=0.0)


def _transfer_problems(scenario: Scenario, index: int, rule: Transfer) -> list[str]:
    where = f"transfers.{index}"
    if not isinstance(rule.to, ToDirectory):
        kind = "a conference" if rule.kind == "conference" else "a transfer to an agent"
        return [
            f"{where}.to: {kind} of group {rule.to.group!r} holds two agents at once; only "
            "cold directory transfers keep each directory an M/M/c queue"
        ]
    if rule.source_directory is None:
        return [
            f"{where}.from: rules of group {rule.source_group!r} follow agent transfers, "
            "which hold two agents at once"
        ]
    problems = []
    if rule.leave != "immediately":
        leave = rule.leave if isinstance(rule.leave, str) else f"after {rule.leave.after:g}s"
        problems.append(
            f"{where}.leave: {leave!r} keeps the inviter's slot while the chat waits in "
            f"{rule.to.directory!r}; only 'immediately' (cold) frees it at once"
        )
    handle = scenario.directories[rule.source_directory].handle_time
    if not isinstance(rule.at, Exponential) or not isinstance(handle, Exponential):
        problems.append(
            f"{where}.at: {_distribution_name(rule.at)}, must be exponential with the same "
            f"mean as directories.{rule.source}.handle_time so that service time at "
            f"{rule.source!r} does not depend on the routing"
        )
    elif abs(rule.at.mean - handle.mean) > MEAN_TOLERANCE * handle.mean:
        problems.append(
            f"{where}.at: exponential mean {rule.at.mean:g}s differs from "
            f"directories.{rule.source}.handle_time mean {handle.mean:g}s, so service time at "
            f"{rule.source!r} depends on the routing"
        )
    return problems


def markov_problems(scenario: Scenario) -> list[str]:
    """Why the scenario is not exactly an Erlang C / Erlang A / Jackson model.

    Each problem starts with the field path that breaks an assumption; an empty list
    means theory is exact (in steady state: a warm-up is still needed to forget the
    empty start). Settings that cannot matter in an exact scenario are not reported:
    routing policy (servers are identical), ramp-up (agents become Ready only at time 0,
    with an empty queue) and the no-answer timeout (offers are answered at once).
    """
    problems: list[str] = []
    used = _used_directories(scenario)
    linked = _network_directories(scenario)
    for name in used:
        spec = scenario.directories[name]
        where = f"directories.{name}"
        rates = _rates_in_run(scenario, name)
        arrivals = spec.arrivals
        if arrivals is not None and arrivals.exact:
            problems.append(f"{where}.arrivals: explicit instants (times), not a Poisson process")
        elif len(rates) > 1:
            problems.append(
                f"{where}.arrivals: the rate changes during the run "
                f"({', '.join(f'{3600 * r:g}/h' for r in rates)}), so there is no steady state"
            )
        if not isinstance(spec.handle_time, Exponential):
            problems.append(
                f"{where}.handle_time: {_distribution_name(spec.handle_time)}, not exponential"
            )
        if spec.patience is not None and not isinstance(spec.patience, Exponential):
            problems.append(
                f"{where}.patience: {_distribution_name(spec.patience)}, not exponential "
                "(Erlang A needs exponential patience)"
            )
        elif spec.patience is not None and name in linked:
            problems.append(
                f"{where}.patience: abandonment in a network of transfers breaks Jackson's "
                "product form (served chats no longer leave as a Poisson stream)"
            )
        if not (isinstance(spec.wrap_up, Constant) and spec.wrap_up.value == 0):
            problems.append(
                f"{where}.wrap_up: after-chat work holds the slot after service, so the "
                "slot's holding time is not exponential"
            )
    for group_name, group in scenario.agents.items():
        where = f"agents.{group_name}"
        if group.shifts is not None:
            problems.append(f"{where}.shifts: staffing changes during the run; use 'count'")
        if group.slowdown is not None and any(f != 1 for f in group.slowdown):
            problems.append(
                f"{where}.slowdown: a chat's speed depends on the agent's other chats, so "
                "slots are not independent servers"
            )
        if len(group.directories) > 1:
            problems.append(
                f"{where}.directories: serves {', '.join(group.directories)}, so those "
                "queues share agents and none is an M/M/c queue of its own"
            )
    offer = scenario.offer
    if not (isinstance(offer.response_time, Constant) and offer.response_time.value == 0):
        problems.append(
            "offer.response_time: agents take time to accept, which adds to the wait and "
            "holds a slot while the offer rings; Erlang models need 0"
        )
    if offer.no_answer_probability > 0:
        problems.append(
            "offer.no_answer_probability: missed offers send agents Not Ready, removing "
            "servers at random"
        )
    for index, rule in enumerate(scenario.transfers):
        if rule.probability > 0:
            problems.extend(_transfer_problems(scenario, index, rule))
    if scenario.max_transfers is not None and scenario.max_transfers < _longest_route(scenario):
        problems.append(
            f"max_transfers: {scenario.max_transfers} cuts routes short, so routing depends "
            "on a chat's history (Jackson routing must not)"
        )
    return problems


# --------------------------------------------------------------------------- theory


def service_level_name(threshold: float) -> str:
    """Metric name of the service level at an extra threshold, e.g. ``service_level_30s``."""
    return f"service_level_{threshold:g}s"


@dataclass(frozen=True)
class QueueTheory:
    """The analytic model of one directory (exact, or a rough Erlang guide).

    ``arrival_rate`` is the total rate of chats entering the queue (arrivals plus
    transfers in), per second; ``servers`` counts chat slots; ``model`` is None when no
    steady state exists (no servers, or load ≥ servers without abandonment), with
    ``note`` saying why.
    """

    directory: str
    exact: bool
    servers: int
    arrival_rate: float
    external_rate: float
    service_rate: float
    patience_rate: float | None
    threshold: float
    receives_transfers: bool
    model: ErlangC | ErlangA | None
    note: str = ""
    #: Directories whose chats wait in one pool with this one (a rough guide only).
    pooled_with: tuple[str, ...] = ()
    #: Without an honest guide: the service level with only the slots dedicated to this
    #: directory and with every slot that can serve it taken as its own (low, high).
    bounds: tuple[float, float] | None = None

    @property
    def label(self) -> str:
        """``M/M/12 (Erlang C)`` style description of the model."""
        kind = "M/M/{c}" if self.patience_rate is None else "M/M/{c}+M"
        name = "Erlang C" if self.patience_rate is None else "Erlang A"
        label = f"{kind.format(c=self.servers)} ({name})"
        if self.pooled_with:
            label += f" pooled with {', '.join(self.pooled_with)}"
        return label if self.exact else f"{label}, rough guide"

    def service_level(self, threshold: float) -> float:
        """P(answered within ``threshold``) over arrivals (abandoned ones count as failures)."""
        if self.model is None:
            return math.nan
        return self.model.service_level(threshold)

    def wait_probability(self) -> float:
        """Share of arrivals not answered at once (all servers busy on arrival)."""
        if isinstance(self.model, ErlangC):
            return self.model.probability_of_waiting
        if isinstance(self.model, ErlangA):
            return 1.0 - float(self.model.state_probabilities[: self.servers].sum())
        return math.nan

    def metrics(self, thresholds: Sequence[float] = ()) -> dict[str, float]:
        """Theory for every metric :func:`observe` measures for this directory.

        ``thresholds`` adds service levels at other thresholds (:func:`service_level_name`).
        Chats transferred in see the same queue as arrivals (arrivals see time averages
        in an open Jackson network), so transfer metrics equal the queue's wait metrics.
        """
        model = self.model
        result: dict[str, float] = {"arrival_rate": self.arrival_rate}
        if model is None:
            return result
        waits: dict[str, float] = {"wait_probability": self.wait_probability()}
        if isinstance(model, ErlangA):
            waits["wait_mean"] = model.mean_wait_answered
        else:
            waits["wait_mean"] = model.mean_wait
        waits["service_level"] = model.service_level(self.threshold)
        for threshold in thresholds:
            waits[service_level_name(threshold)] = model.service_level(threshold)
        if self.external_rate > 0:
            result.update(waits)
            if isinstance(model, ErlangA):
                result["abandon_rate"] = model.abandon_probability
        result["utilization"] = model.occupancy
        if self.receives_transfers:
            result["transfer_wait_probability"] = waits["wait_probability"]
            result["transfer_wait_mean"] = waits["wait_mean"]
            result["transfer_service_level"] = waits["service_level"]
        return result


def _measured_rate(scenario: Scenario, directory: str) -> float:
    """Mean external arrival rate over the measured window [warmup, duration)."""
    arrivals = scenario.directories[directory].arrivals
    if arrivals is None:
        return 0.0
    span = scenario.duration - scenario.warmup
    return arrivals.expected_count(scenario.warmup, scenario.duration) / span


def _mean_staff(scenario: Scenario, group: str) -> float:
    """Mean number of the group's agents on shift over [warmup, duration)."""
    spec = scenario.agents[group]
    if spec.shifts is None:
        return float(spec.on_shift(spec.count or 0))  # after shrinkage, as the model runs
    start, end = scenario.warmup, scenario.duration
    covered = sum(
        spec.on_shift(shift.count) * max(0.0, min(end, shift.end) - max(start, shift.start))
        for shift in spec.shifts
    )
    return covered / (end - start)


def _mean(dist: object) -> float:
    return float(dist.mean) if dist is not None else 0.0  # type: ignore[attr-defined]


def _routing(scenario: Scenario) -> dict[str, dict[str, float]]:
    routing: dict[str, dict[str, float]] = defaultdict(dict)
    for rule in scenario.transfers:
        if isinstance(rule.to, ToDirectory) and rule.source_directory is not None:
            row = routing[rule.source_directory]
            row[rule.to.directory] = row.get(rule.to.directory, 0.0) + rule.probability
    return dict(routing)


def _build(
    directory: str,
    exact: bool,
    servers: int,
    arrival_rate: float,
    external_rate: float,
    holding_time: float,
    patience_mean: float | None,
    threshold: float,
    receives_transfers: bool,
) -> QueueTheory:
    service_rate = 1.0 / holding_time if holding_time > 0 else math.inf
    patience_rate = None if patience_mean is None else 1.0 / patience_mean
    model: ErlangC | ErlangA | None = None
    note = ""
    if servers < 1:
        note = "no agent serves this directory"
    elif arrival_rate <= 0:
        note = "no chats reach this directory"
    elif not math.isfinite(service_rate):
        note = "handle time is 0"
    elif patience_rate is None and arrival_rate / service_rate >= servers:
        note = (
            f"overloaded: offered load {arrival_rate / service_rate:.3g} Erlang ≥ {servers} "
            "slots and nobody abandons, so the queue grows without bound"
        )
    elif patience_rate is None:
        model = erlang_c(arrival_rate, service_rate, servers)
    else:
        model = erlang_a(arrival_rate, service_rate, servers, patience_rate)
    return QueueTheory(
        directory,
        exact,
        servers,
        arrival_rate,
        external_rate,
        service_rate,
        patience_rate,
        threshold,
        receives_transfers,
        model,
        note,
    )


def queue_theory(scenario: Scenario, exact: bool | None = None) -> dict[str, QueueTheory]:
    """The analytic model of every directory that sees chats.

    Exact scenarios (``markov_problems`` empty; pass ``exact`` to skip that check) use
    each directory's own slots and its Jackson arrival rate. Otherwise a *rough guide*:
    holding time = mean handle + mean wrap-up + mean response time, patience taken as
    exponential with its mean, arrival rate averaged over the measured window and
    routed through directory transfers of any kind, and a group's mean on-shift slots
    for the one directory it serves; directories whose agents also serve others get the
    pooled guide or the bounds of :func:`_shared_guides`, never a made-up share of a
    shared group. With ``days`` the whole run's schedules and shifts are used.
    """
    scenario = scenario.over_run()
    if exact is None:
        exact = not markov_problems(scenario)
    used = _used_directories(scenario)
    external = {name: _measured_rate(scenario, name) for name in used}
    routing = _routing(scenario)
    rates = jackson_arrival_rates(external, routing) if routing else dict(external)
    receives = {d for row in routing.values() for d, p in row.items() if p > 0}
    holding: dict[str, float] = {}
    for name in used:
        spec = scenario.directories[name]
        holding[name] = _mean(spec.handle_time)
        if not exact:
            holding[name] += _mean(spec.wrap_up) + _mean(scenario.offer.response_time)
    slots: dict[str, float] = defaultdict(float)
    capacity = {
        group_name: _mean_staff(scenario, group_name) * group.max_chats
        for group_name, group in scenario.agents.items()
    }
    for group_name, group in scenario.agents.items():
        served = [d for d in group.directories if d in holding]
        if len(served) == 1:
            slots[served[0]] += capacity[group_name]
    theory = {}
    shared = {} if exact else _shared_guides(scenario, used, rates, holding, capacity, external)
    for name in used:
        if name in shared:
            theory[name] = shared[name]
            continue
        spec = scenario.directories[name]
        patience = spec.patience
        theory[name] = _build(
            name,
            exact,
            round(slots[name]),
            rates.get(name, 0.0),
            external[name],
            holding[name],
            None if patience is None else _mean(patience),
            spec.service_level,
            name in receives,
        )
    return theory


def _shared_guides(
    scenario: Scenario,
    used: Sequence[str],
    rates: Mapping[str, float],
    holding: Mapping[str, float],
    capacity: Mapping[str, float],
    external: Mapping[str, float],
) -> dict[str, QueueTheory]:
    """Rough guides for directories whose agents also serve other directories.

    A group's slots are never split between its directories by some proportion: how its
    agents' time divides depends on both queues' dynamics, which no Erlang model gives.
    Where the directories linked by shared groups form one pool (every group that serves
    one of them serves all, same priority, no overflow), their chats wait in one queue
    taken in arrival order, so the pool is one Erlang queue with the pooled rate and
    the load-weighted holding and patience: that guide is given, marked as pooled.
    Otherwise there is no honest guide: the directory gets ``bounds`` instead (its
    service level with only its dedicated slots, and with every slot that can serve it
    as if no other directory used them) and a note saying why.
    """
    groups_of: dict[str, list[str]] = {name: [] for name in used}
    for group_name, group in scenario.agents.items():
        if capacity[group_name] <= 0:
            continue  # nobody on shift in the measured window: serves no one
        for d in group.directories:
            if d in groups_of:
                groups_of[d].append(group_name)
    linked: dict[str, set[str]] = {name: {name} for name in used}
    for group_name, group in scenario.agents.items():
        served = [d for d in group.directories if d in groups_of]
        if len(served) > 1 and capacity[group_name] > 0:
            merged = set().union(*(linked[d] for d in served))
            for d in merged:
                linked[d] = merged
    guides: dict[str, QueueTheory] = {}
    for name in used:
        pool = sorted(linked[name])
        if len(pool) == 1:
            continue
        specs = [scenario.directories[d] for d in pool]
        groups = sorted({g for d in pool for g in groups_of[d]})
        full = all(set(pool) <= set(scenario.agents[g].directories) for g in groups)
        # Priorities, boosts and overflow (when the scenario has them) reorder the pool.
        ordered = any(
            getattr(spec, "overflow", ()) or getattr(spec, "priority_boost", None) for spec in specs
        )
        alike = len({getattr(spec, "priority", 0) for spec in specs}) == 1 and not ordered
        patient = {spec.patience is None for spec in specs}
        spec = scenario.directories[name]
        others = tuple(d for d in pool if d != name)
        if full and alike and len(patient) == 1:
            total = sum(rates.get(d, 0.0) for d in pool)
            weights = {d: rates.get(d, 0.0) / total if total > 0 else 1 / len(pool) for d in pool}
            mean_holding = sum(weights[d] * holding[d] for d in pool)
            patience = None
            if patient == {False}:
                patience = sum(weights[d] * _mean(scenario.directories[d].patience) for d in pool)
            pooled = _build(
                name,
                False,
                round(sum(capacity[g] for g in groups)),
                total,
                external[name],
                mean_holding,
                patience,
                spec.service_level,
                False,
            )
            guides[name] = replace(
                pooled,
                arrival_rate=rates.get(name, 0.0),
                receives_transfers=any(
                    rules.get(name, 0) > 0 for rules in _routing(scenario).values()
                ),
                pooled_with=others,
            )
            continue
        own = sum(capacity[g] for g in groups_of[name] if len(scenario.agents[g].directories) == 1)
        reach = sum(capacity[g] for g in groups_of[name])
        patience = None if spec.patience is None else _mean(spec.patience)

        def level(servers: float, name: str = name, patience: float | None = patience) -> float:
            threshold = scenario.directories[name].service_level
            rate, holding_time = rates.get(name, 0.0), holding[name]
            guide = _build(
                name, False, round(servers), rate, 0.0, holding_time, patience, threshold, False
            )
            if guide.model is not None:
                return guide.service_level(threshold)
            return 0.0 if servers < 1 or rate > 0 else math.nan

        sharing = sorted(g for g in groups_of[name] if len(scenario.agents[g].directories) > 1)
        also = {g: [d for d in scenario.agents[g].directories if d != name] for g in sharing}
        why = ", ".join(f"group {g} also serves {', '.join(also[g])}" for g in sharing)
        reason = "they do not all serve the same directories"
        if full and not alike:
            reason = "the directories differ in priority or overflow"
        elif full:
            reason = "some have patience and some do not"
        guides[name] = QueueTheory(
            name,
            False,
            round(reach),
            rates.get(name, 0.0),
            external[name],
            1.0 / holding[name] if holding[name] > 0 else math.inf,
            None if patience is None else 1.0 / patience,
            spec.service_level,
            False,
            None,
            note=(
                f"agents are shared ({why}) and {reason}: how their time divides depends "
                "on every queue they serve, which no Erlang model gives"
            ),
            pooled_with=(),
            bounds=(level(own), level(reach)),
        )
    return guides


# --------------------------------------------------------------------------- measurement


def _window_mask(values: np.ndarray, start: float, end: float) -> np.ndarray:
    return (values >= start) & (values < end)


def _wait_metrics(
    waited: np.ndarray, answered: np.ndarray, unresolved: np.ndarray, threshold: float
) -> tuple[float, float, float]:
    """P(not answered at once), mean wait of answered, answered within threshold / resolved.

    ``waited`` holds waits of answered entries (nan otherwise); ``unresolved`` marks
    entries still waiting when the run stopped, left out of the service level as ccsim's
    summary does.
    """
    count = waited.size
    if count == 0:
        return math.nan, math.nan, math.nan
    at_once = int(np.count_nonzero(answered & (waited <= 0)))
    answered_waits = waited[answered]
    resolved = count - int(np.count_nonzero(unresolved))
    within = int(np.count_nonzero(answered_waits <= threshold))
    return (
        1.0 - at_once / count,
        float(answered_waits.mean()) if answered_waits.size else math.nan,
        within / resolved if resolved else math.nan,
    )


def observe(
    records: Records,
    scenario: Scenario,
    start: float | None = None,
    end: float | None = None,
    thresholds: Sequence[float] = (),
) -> Observation:
    """Measure, per directory, what :meth:`QueueTheory.metrics` predicts.

    Chats count when they *arrive* in ``[start, end)`` (default ``[warmup, duration)``),
    transfer legs when they are *requested* in it, agent time when it falls in it.

    - ``arrival_rate``: chats entering the queue (arrivals and transfers in) per second;
    - ``wait_probability``: share of arrivals not answered at once; ``wait_mean``: mean
      wait of answered arrivals; ``service_level`` (and ``service_level_<t>s`` for each
      extra threshold): answered within the threshold / arrivals no longer waiting;
    - ``abandon_rate``: arrivals abandoned (first queue or later) / arrivals;
    - ``utilization``: held slot time / staffed slot time of the groups serving it;
    - ``transfer_wait_*``: the same wait metrics for transfers *into* the directory,
      from request to the new agent connecting.

    With the window ``[warmup, duration)`` the shared metrics equal those of
    :func:`ccsim.results.replication_metrics`.
    """
    start = records.warmup if start is None else start
    end = records.duration if end is None else end
    span = end - start
    arrival = np.frombuffer(records.chat_arrival, dtype=float)
    connect = np.frombuffer(records.chat_connect, dtype=float)
    outcome = np.frombuffer(records.chat_outcome, dtype=np.int8)
    origin = np.frombuffer(records.chat_directory, dtype=np.int64)
    in_window = _window_mask(arrival, start, end)

    leg_target = np.frombuffer(records.leg_target_directory, dtype=np.int64)
    requested = np.frombuffer(records.leg_requested, dtype=float)
    connected = np.frombuffer(records.leg_connected, dtype=float)
    leg_outcome = np.frombuffer(records.leg_outcome, dtype=np.int8)
    leg_in_window = _window_mask(requested, start, end)

    interval_start = np.clip(np.frombuffer(records.interval_start, dtype=float), start, end)
    interval_end = np.clip(np.frombuffer(records.interval_end, dtype=float), start, end)
    length = interval_end - interval_start
    agent = np.frombuffer(records.interval_agent, dtype=np.int64)
    group_of_agent = np.asarray(records.agent_group, dtype=np.int64)
    interval_group = group_of_agent[agent] if agent.size else np.zeros(0, dtype=np.int64)
    staffed = np.frombuffer(records.interval_state, dtype=np.int8) != AgentState.OFFLINE
    held = np.frombuffer(records.interval_held, dtype=np.int8).astype(float)
    max_chats = np.asarray(records.group_max_chats, dtype=float)

    result: Observation = {}
    for index, name in enumerate(records.directories):
        spec = scenario.directories[name]
        threshold = spec.service_level
        mine = in_window & (origin == index)
        answered = ~np.isnan(connect[mine])
        waited = connect[mine] - arrival[mine]
        unresolved = (outcome[mine] == Outcome.OPEN) & ~answered
        probability, mean, level = _wait_metrics(waited, answered, unresolved, threshold)
        chats = int(np.count_nonzero(mine))
        abandoned = np.count_nonzero(
            (outcome[mine] == Outcome.ABANDONED) | (outcome[mine] == Outcome.ABANDONED_IN_TRANSFER)
        )
        legs_in = leg_in_window & (leg_target == index)
        metrics: dict[str, float] = {
            "arrival_rate": (chats + int(np.count_nonzero(legs_in))) / span,
            "wait_probability": probability,
            "wait_mean": mean,
            "service_level": level,
            "abandon_rate": abandoned / chats if chats else math.nan,
        }
        answered_waits = waited[answered]
        resolved = chats - int(np.count_nonzero(unresolved))
        for extra in thresholds:
            within = int(np.count_nonzero(answered_waits <= extra))
            metrics[service_level_name(extra)] = within / resolved if resolved else math.nan
        leg_answered = leg_outcome[legs_in] == LegOutcome.CONNECTED
        leg_waited = connected[legs_in] - requested[legs_in]
        leg_unresolved = leg_outcome[legs_in] == LegOutcome.OPEN
        (
            metrics["transfer_wait_probability"],
            metrics["transfer_wait_mean"],
            metrics["transfer_service_level"],
        ) = _wait_metrics(leg_waited, leg_answered, leg_unresolved, threshold)
        groups = [
            g
            for g, group in enumerate(records.groups)
            if name in scenario.agents[group].directories
        ]
        pool = np.isin(interval_group, groups) & staffed
        slot_time = float((length * max_chats[interval_group])[pool].sum()) if agent.size else 0.0
        held_time = float((length * held)[pool].sum()) if agent.size else 0.0
        metrics["utilization"] = held_time / slot_time if slot_time else math.nan
        result[name] = metrics
    return result


def batch_windows(start: float, end: float, batches: int) -> list[tuple[float, float]]:
    """``batches`` equal consecutive windows covering ``[start, end)``, for batch means:
    one long replication cut into batches long enough to be nearly independent."""
    if batches < 1 or not end > start:
        raise ValueError("need at least one batch and end > start")
    edges = np.linspace(start, end, batches + 1)
    return [(float(a), float(b)) for a, b in pairwise(edges)]


# --------------------------------------------------------------------------- comparison


RATE_METRICS = frozenset({"arrival_rate"})
TIME_METRICS = frozenset({"wait_mean", "transfer_wait_mean"})


def format_metric(metric: str, value: float) -> str:
    """Rates per hour, times in seconds, shares as percentages."""
    if value is None or math.isnan(value):
        return "-"
    if metric in RATE_METRICS:
        return f"{3600 * value:.2f}/h"
    if metric in TIME_METRICS:
        return f"{value:.2f}s"
    return f"{100 * value:.2f}%"


@dataclass(frozen=True)
class Comparison:
    """One metric of one directory: theory against the simulation's interval."""

    directory: str
    metric: str
    theory: float
    simulation: Estimate
    confidence: float

    @property
    def inside(self) -> bool | None:
        """Whether theory lies in the interval; None without theory or without a proper
        interval (fewer than two samples, or all samples equal, as when the event
        measured is too rare to be seen)."""
        low, high = self.simulation.ci_low, self.simulation.ci_high
        if math.isnan(low) or math.isnan(high) or math.isnan(self.theory) or low == high:
            return None  # no interval: too few samples, or all equal (a rare event)
        return low <= self.theory <= high

    def describe(self) -> str:
        """One line for assertion messages."""
        e = self.simulation
        return (
            f"{self.directory}.{self.metric}: theory {self.theory:.6g}, simulation "
            f"{e.mean:.6g} [{e.ci_low:.6g}, {e.ci_high:.6g}] ({100 * self.confidence:g}%, "
            f"n={e.n})"
        )


def compare(
    theory: Mapping[str, QueueTheory],
    samples: Sequence[Observation],
    confidence: float = 0.95,
    metrics: Sequence[str] | None = None,
    thresholds: Sequence[float] = (),
) -> list[Comparison]:
    """Student-t interval of each metric over independent samples (replications, or
    batches of one long run) against theory; ``metrics`` restricts which are compared."""
    rows = []
    for name, queue in theory.items():
        for metric, value in queue.metrics(thresholds).items():
            if metrics is not None and metric not in metrics:
                continue
            values = [sample[name][metric] for sample in samples if name in sample]
            rows.append(Comparison(name, metric, value, estimate(values, confidence), confidence))
    return rows


def bonferroni(family_confidence: float, checks: int) -> float:
    """Per-check confidence so that all ``checks`` intervals hold together with at least
    ``family_confidence`` (Bonferroni): a correct simulator then fails a test with
    probability at most 1 - ``family_confidence``."""
    return 1.0 - (1.0 - family_confidence) / max(checks, 1)


@dataclass
class Validation:
    """Everything ``ccsim theory`` shows: the verdict on assumptions and the comparison."""

    scenario: Scenario
    problems: list[str]
    theory: dict[str, QueueTheory]
    comparisons: list[Comparison]
    replications: int
    seed: int
    confidence: float
    runtime_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return not self.problems

    @property
    def all_inside(self) -> bool:
        """No exact comparison falls outside its interval."""
        return self.exact and all(c.inside is not False for c in self.comparisons)


def validate(
    scenario: Scenario,
    replications: int | None = None,
    seed: int | None = None,
    confidence: float = 0.95,
    workers: int | None = 1,
    thresholds: Sequence[float] = (),
    end: float | None = None,
) -> Validation:
    """Simulate ``scenario`` and compare every directory with its (exact or rough) theory,
    one sample per replication over ``[warmup, end)`` (``end`` defaults to the duration;
    an earlier end leaves time for the last measured chats to be answered)."""
    problems = markov_problems(scenario)
    theory = queue_theory(scenario, exact=not problems)
    results = simulate(
        scenario,
        replications=replications,
        seed=seed,
        workers=workers,
        record_events=False,
        keep_records=True,
    )
    samples = [
        observe(records, scenario, end=end, thresholds=thresholds) for records in results.records
    ]
    notes = []
    if scenario.warmup == 0:
        notes.append(
            "warmup is 0: the run starts empty, which biases waits down; theory is steady state"
        )
    return Validation(
        scenario=scenario,
        problems=problems,
        theory=theory,
        comparisons=compare(theory, samples, confidence, thresholds=thresholds),
        replications=results.replications,
        seed=results.seed,
        confidence=confidence,
        runtime_s=results.runtime_s,
        notes=notes,
    )


# --------------------------------------------------------------------------- exact scenarios


def relaxation_time(servers: int, load: float, handle_time: float) -> float:
    """Time an M/M/c queue at occupancy ``load`` < 1 takes to forget its state,
    1/(cμ(1-√ρ)²) in heavy traffic: warm-ups and batches are sized in multiples of it.
    It spans ρ/(1-√ρ)² arrivals, whatever c."""
    return handle_time / (servers * (1.0 - math.sqrt(load)) ** 2)


def erlang_scenario(
    agents: int,
    load: float,
    *,
    chats: int,
    max_chats: int = 1,
    handle_time: float = 60.0,
    patience: float | None = None,
    threshold: float = 20.0,
    routing: str = "longest_idle",
    seed: int = 1,
    replications: int = 1,
) -> tuple[Scenario, float]:
    """An exact M/M/c (or M/M/c+M with ``patience``) scenario, and the end of its
    measured window.

    One directory with Poisson arrivals at ``load`` per slot and exponential handle
    times, ``agents`` x ``max_chats`` slots, offers answered at once. ``chats`` is the
    expected number of measured arrivals (per replication). The warm-up lasts 20
    relaxation times (50 mean handle or patience times with abandonment); after the
    measured window a drain lets the last measured chats be answered, so measurements
    stop at the returned end, not at the duration.
    """
    servers = agents * max_chats
    rate = load * servers / handle_time
    if patience is None:
        warmup = max(20 * relaxation_time(servers, load, handle_time), 20 * handle_time)
        drain = 60 / (servers / handle_time - rate)  # 60 mean waits of those who wait
    else:
        warmup = drain = 50 * max(handle_time, patience)
    measured = chats / rate
    directory: dict[str, object] = {
        "arrivals": rate,
        "handle_time": {"dist": "exponential", "mean": handle_time},
        "service_level": threshold,
        "routing": routing,
    }
    if patience is not None:
        directory["patience"] = {"dist": "exponential", "mean": patience}
    kind = f"M/M/{servers}" if patience is None else f"M/M/{servers}+M"
    scenario = scenario_from_dict(
        {
            "name": f"{kind} ({agents} agents x {max_chats} slots, load {load:g})",
            "duration": warmup + measured + drain,
            "warmup": warmup,
            "seed": seed,
            "replications": replications,
            "directories": {"queue": directory},
            "agents": {
                "agents": {"count": agents, "directories": ["queue"], "max_chats": max_chats}
            },
        }
    )
    return scenario, warmup + measured


def jackson_scenario(
    external: Mapping[str, float],
    routing: Mapping[str, Mapping[str, float]],
    handle_times: Mapping[str, float],
    agents: Mapping[str, tuple[int, int]],
    *,
    visits: int,
    seed: int = 1,
    replications: int = 1,
) -> tuple[Scenario, float]:
    """An exact open Jackson network and the end of its measured window.

    Directories (named by ``handle_times``, exponential means in seconds) get Poisson
    arrivals at ``external`` rates (per second) and are linked by cold immediate
    transfers with ``routing`` probabilities whose ``at`` is the source's handle-time
    distribution; ``agents[d] = (count, max_chats)`` serve directory ``d`` only.
    ``visits`` queue entries (arrivals plus transfers) are measured per replication.
    """
    rates = jackson_arrival_rates(external, routing)
    longest = max(handle_times.values())
    warmup, drain = 200 * longest, 100 * longest
    measured = visits / sum(rates.values())
    directories: dict[str, dict[str, object]] = {}
    for name, handle in handle_times.items():
        directories[name] = {
            "handle_time": {"dist": "exponential", "mean": handle},
            "service_level": handle / 2,
        }
        if external.get(name, 0) > 0:
            directories[name]["arrivals"] = external[name]
    transfers = [
        {
            "from": source,
            "to": {"directory": target},
            "probability": probability,
            "at": {"dist": "exponential", "mean": handle_times[source]},
            "leave": "immediately",
        }
        for source, row in routing.items()
        for target, probability in row.items()
    ]
    scenario = scenario_from_dict(
        {
            "name": f"Jackson network of {len(handle_times)} directories",
            "duration": warmup + measured + drain,
            "warmup": warmup,
            "seed": seed,
            "replications": replications,
            "directories": directories,
            "agents": {
                f"team_{name}": {"count": count, "max_chats": slots, "directories": [name]}
                for name, (count, slots) in agents.items()
            },
            "transfers": transfers,
        }
    )
    return scenario, warmup + measured
