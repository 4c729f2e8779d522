"""Analytic queueing results that validate the simulator and seed staffing searches.

The simulator is checked against the textbook models it reduces to when transfers,
conferences and handoff gaps are switched off:

* **Erlang B** (M/M/c/c): blocking probability of a loss system.
* **Erlang C** (M/M/c): infinite patience; :func:`erlang_c` returns an :class:`ErlangC`.
* **Erlang A** (M/M/c+M): exponential patience with rate θ; :func:`erlang_a` returns an
  :class:`ErlangA` computed from the birth-death chain of the number in system.
* **Jackson networks**: total arrival rates of directories linked by cold (immediate)
  transfers, each directory then being analysed as its own M/M/c queue.
* **Poisson counts**: the interval an arrival count should fall in, to test schedules.

**Chat agents.** An agent with ``max_chats = k`` and no slowdown (a chat's service rate
does not depend on how many other chats the agent holds) works each of its chats
independently, so it is exactly k independent servers; a pool of n such agents behind
one FCFS queue that routes to any free slot is an M/M/(n·k) system
(:func:`servers_from_agents`).

All computations are stable for thousands of servers and loads near 1: Erlang B uses
its recursion, and the Erlang A chain is built in log space, so nothing computes a
factorial or a power of the load that could overflow.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
from scipy import special, stats

__all__ = [
    "ErlangA",
    "ErlangC",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "jackson_arrival_rates",
    "poisson_count_interval",
    "servers_for_abandonment",
    "servers_for_service_level",
    "servers_for_wait",
    "servers_from_agents",
]

#: Stop adding Erlang A states once the whole remaining tail weighs less than this
#: fraction of the largest state probability.
TAIL_TOLERANCE = 1e-16
#: The Erlang A chain refuses to grow beyond this many states (a near-critical system
#: with almost no abandonment); such a system is better treated as Erlang C.
MAX_STATES = 10_000_000
#: Staffing searches give up beyond this many servers.
MAX_SERVERS = 10_000_000


# --------------------------------------------------------------------------- checks


def _check_servers(servers: int, *, minimum: int = 1) -> int:
    if isinstance(servers, bool) or not isinstance(servers, Integral) or servers < minimum:
        raise ValueError(f"servers must be an integer >= {minimum}, got {servers!r}")
    return int(servers)


def _check_rate(name: str, value: float, *, allow_zero: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value!r}")
    return value


def _check_threshold(threshold: float) -> float:
    threshold = float(threshold)
    if not threshold >= 0:
        raise ValueError(f"waiting-time threshold must be >= 0, got {threshold!r}")
    return threshold


def _check_probability_target(name: str, target: float) -> float:
    target = float(target)
    if not 0 < target < 1:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {target!r}")
    return target


# --------------------------------------------------------------------------- Erlang B


def erlang_b(servers: int, offered_load: float) -> float:
    """Blocking probability of an M/M/c/c loss system with ``offered_load`` = λ/μ Erlang.

    Uses the recursion B(0) = 1, B(k) = a·B(k-1) / (k + a·B(k-1)), whose every step is a
    ratio in [0, 1], so it neither overflows nor loses precision for thousands of servers.
    """
    servers = _check_servers(servers, minimum=0)
    load = _check_rate("offered_load", offered_load, allow_zero=True)
    blocking = 1.0
    for k in range(1, servers + 1):
        carried = load * blocking
        blocking = carried / (k + carried)
    return blocking


# --------------------------------------------------------------------------- Erlang C


def _require_stable(load: float, servers: int) -> None:
    """Without abandonment a queue with a ≥ c grows forever: say so instead of returning
    a meaningless number."""
    if load >= servers:
        raise ValueError(
            f"unstable M/M/c system: offered load a = λ/μ = {load:.6g} Erlang needs more than "
            f"c = {servers} servers (occupancy a/c = {load / servers:.4g} ≥ 1), so the queue "
            "grows without bound and Erlang C has no steady state; add servers or model "
            "abandonment with erlang_a"
        )


@dataclass(frozen=True)
class ErlangC:
    """Steady state of an M/M/c queue (infinite patience, FCFS).

    Waiting time W: P(W > t) = P(W>0)·exp(-(cμ-λ)t), i.e. an atom at 0 plus an
    exponential tail whose rate is the spare service capacity.
    """

    arrival_rate: float
    service_rate: float
    servers: int
    probability_of_waiting: float
    """P(W > 0), the Erlang C formula: share of arrivals finding all servers busy."""

    @property
    def offered_load(self) -> float:
        """a = λ/μ in Erlang, also the mean number of busy servers."""
        return self.arrival_rate / self.service_rate

    @property
    def occupancy(self) -> float:
        """ρ = a/c, the long-run share of server time spent serving."""
        return self.offered_load / self.servers

    @property
    def spare_capacity(self) -> float:
        """cμ - λ, the rate of the exponential tail of the waiting time."""
        return self.servers * self.service_rate - self.arrival_rate

    @property
    def mean_wait(self) -> float:
        """E[W] over all arrivals, including those answered at once."""
        return self.probability_of_waiting / self.spare_capacity

    @property
    def mean_wait_of_waiting(self) -> float:
        """E[W | W > 0] = 1/(cμ - λ): mean wait of those who do wait."""
        return 1.0 / self.spare_capacity

    @property
    def mean_queue_length(self) -> float:
        """E[Q], the mean number waiting (Little: λ·E[W])."""
        return self.arrival_rate * self.mean_wait

    def service_level(self, threshold: float) -> float:
        """P(W ≤ t) = 1 - P(W>0)·exp(-(cμ-λ)t): share of arrivals answered within t."""
        threshold = _check_threshold(threshold)
        return 1.0 - self.probability_of_waiting * math.exp(-self.spare_capacity * threshold)

    def wait_quantile(self, probability: float) -> float:
        """Smallest t with P(W ≤ t) ≥ ``probability`` (0 when enough are answered at once)."""
        probability = float(probability)
        if not 0 <= probability <= 1:
            raise ValueError(f"probability must be in [0, 1], got {probability!r}")
        if probability <= 1.0 - self.probability_of_waiting:
            return 0.0
        if probability == 1:
            return math.inf
        return math.log(self.probability_of_waiting / (1.0 - probability)) / self.spare_capacity


def erlang_c(arrival_rate: float, service_rate: float, servers: int) -> ErlangC:
    """Steady state of M/M/c; raise ``ValueError`` when λ/μ ≥ c (no steady state exists).

    P(W>0) = c·B / (c - a·(1 - B)) with B the Erlang B blocking probability, which keeps
    the computation on the stable recursion.
    """
    arrival_rate = _check_rate("arrival_rate", arrival_rate, allow_zero=True)
    service_rate = _check_rate("service_rate", service_rate, allow_zero=False)
    servers = _check_servers(servers)
    load = arrival_rate / service_rate
    _require_stable(load, servers)
    blocking = erlang_b(servers, load)
    waiting = servers * blocking / (servers - load * (1.0 - blocking))
    return ErlangC(arrival_rate, service_rate, servers, min(max(waiting, 0.0), 1.0))


# --------------------------------------------------------------------------- Erlang A


def _log_state_weights(
    arrival_rate: float, service_rate: float, servers: int, abandon_rate: float
) -> np.ndarray:
    """Unnormalised log stationary probabilities of the M/M/c+M number in system.

    Birth rate λ in every state; death rate min(n, c)μ + max(n - c, 0)θ. States 0..c are
    log(a^n/n!) exactly; beyond c the chain is extended chunk by chunk until a geometric
    bound on the remaining tail falls below ``TAIL_TOLERANCE`` times the largest weight.
    """
    load = arrival_rate / service_rate
    n = np.arange(servers + 1, dtype=float)
    head = n * math.log(load) - special.gammaln(n + 1.0)
    pieces = [head]
    last = float(head[-1])
    largest = float(head.max())
    full_capacity = servers * service_rate
    log_arrival = math.log(arrival_rate)
    first_queued, chunk, total = 1, 1024, servers + 1
    while True:
        queued = np.arange(first_queued, first_queued + chunk, dtype=float)
        segment = last + np.cumsum(log_arrival - np.log(full_capacity + queued * abandon_rate))
        # Ratio π(n+1)/π(n) for the next state; later ratios are no larger, so once it
        # is below 1 the tail beyond this state is at most π(n)·r/(1-r).
        next_ratio = arrival_rate / (full_capacity + (queued + 1.0) * abandon_rate)
        running_max = np.maximum(np.maximum.accumulate(segment), largest)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_tail = segment + np.log(next_ratio) - np.log1p(-next_ratio)
        done = (next_ratio < 1.0) & (log_tail < running_max + math.log(TAIL_TOLERANCE))
        if done.any():
            stop = int(np.argmax(done))
            pieces.append(segment[: stop + 1])
            return np.concatenate(pieces)
        pieces.append(segment)
        total += chunk
        if total > MAX_STATES:
            raise ValueError(
                f"Erlang A chain needs more than {MAX_STATES} states (λ = {arrival_rate:g}, "
                f"cμ = {full_capacity:g}, θ = {abandon_rate:g}): the system is critically "
                "loaded with almost no abandonment; use erlang_c or a larger patience rate"
            )
        last = float(segment[-1])
        largest = float(running_max[-1])
        first_queued += chunk
        chunk *= 2


@dataclass(frozen=True)
class ErlangA:
    """Steady state of an M/M/c+M queue: FCFS, exponential patience with rate θ.

    A customer arriving (PASTA) to n = c + m - 1 customers in system takes queue
    position m. Its *virtual wait* T (time to reach a server if it never abandoned) is
    the sum of exponential phases with rates cμ + (i-1)θ, i = m..1 (services plus
    abandonments of those ahead); it is answered iff T < its patience τ ~ Exp(θ), and its
    time in queue is min(T, τ). This gives, with α = cμ and x = exp(-θt):

    * P(answered | m) = α / (α + mθ);
    * P(answered, W ≤ t | m) = α/(α + mθ) · (1 - I_x(α/θ + 1, m)), since the wait of an
      answered customer is hypoexponential with rates α + iθ, i = 1..m, whose survival
      function is the regularised incomplete beta function I_x;
    * P(min(T, τ) > t | m) = I_x(α/θ, m) · exp(-θt);
    * E[min(T, τ) | m] = m / (α + mθ).

    For θ = 0 the incomplete beta functions become Erlang (gamma) distributions.
    """

    arrival_rate: float
    service_rate: float
    servers: int
    abandon_rate: float
    state_probabilities: np.ndarray = field(repr=False, compare=False)
    """π(n), n = 0..N: stationary probability of n customers in system (read-only)."""

    # ---- per-arrival building blocks

    @property
    def _arrival_queue_probabilities(self) -> np.ndarray:
        """P(an arrival takes queue position m), m = 1..N-c+1 (index m-1), by PASTA."""
        return self.state_probabilities[self.servers :]

    @property
    def _positions(self) -> np.ndarray:
        return np.arange(1, self.state_probabilities.size - self.servers + 1, dtype=float)

    @property
    def _full_capacity(self) -> float:
        return self.servers * self.service_rate

    def _answered_given_position(self) -> np.ndarray:
        alpha = self._full_capacity
        return alpha / (alpha + self._positions * self.abandon_rate)

    # ---- stationary summaries

    @property
    def offered_load(self) -> float:
        """a = λ/μ in Erlang (work offered, part of which abandons)."""
        return self.arrival_rate / self.service_rate

    @property
    def probability_of_waiting(self) -> float:
        """P(N ≥ c): share of arrivals finding all servers busy (PASTA)."""
        return float(self.state_probabilities[self.servers :].sum())

    @property
    def mean_queue_length(self) -> float:
        """E[Q] = Σ (n - c)⁺ π(n), the time-average number waiting."""
        queue = self.state_probabilities[self.servers :]
        return float(np.dot(np.arange(queue.size, dtype=float), queue))

    @property
    def mean_busy_servers(self) -> float:
        """E[min(N, c)], equal to λ·P(answered)/μ by flow balance."""
        n = np.arange(self.state_probabilities.size, dtype=float)
        return float(np.dot(np.minimum(n, self.servers), self.state_probabilities))

    @property
    def occupancy(self) -> float:
        """Long-run share of server time spent serving, E[busy]/c."""
        return self.mean_busy_servers / self.servers

    @property
    def abandon_probability(self) -> float:
        """P(Ab), share of arrivals who abandon; equals θ·E[Q]/λ."""
        weighted_patience = self._positions * self.abandon_rate
        abandon_given_position = weighted_patience / (self._full_capacity + weighted_patience)
        return float(np.dot(self._arrival_queue_probabilities, abandon_given_position))

    @property
    def answered_probability(self) -> float:
        """1 - P(Ab): share of arrivals who reach an agent."""
        weights = self._arrival_queue_probabilities
        answered_at_once = float(self.state_probabilities[: self.servers].sum())
        return answered_at_once + float(np.dot(weights, self._answered_given_position()))

    @property
    def mean_wait(self) -> float:
        """E[W] over all arrivals, W being time in queue until answer or abandonment.

        Equal to E[Q]/λ (Little); computed per arrival as Σ P(m)·m/(cμ + mθ).
        """
        alpha = self._full_capacity
        positions = self._positions
        weights = self._arrival_queue_probabilities
        return float(np.dot(weights, positions / (alpha + positions * self.abandon_rate)))

    @property
    def mean_wait_answered(self) -> float:
        """E[W | answered]: mean wait of the customers who reach an agent, counting those
        answered at once as waiting 0."""
        alpha = self._full_capacity
        positions = self._positions
        mean_phase_sums = np.cumsum(1.0 / (alpha + positions * self.abandon_rate))
        weights = self._arrival_queue_probabilities
        joint = float(np.dot(weights, self._answered_given_position() * mean_phase_sums))
        return joint / self.answered_probability

    @property
    def mean_wait_abandoned(self) -> float:
        """E[W | abandoned]: mean time abandoning customers wait before leaving (nan if
        nobody abandons)."""
        abandon = self.abandon_probability
        if abandon <= 0:
            return math.nan
        answered_part = self.mean_wait_answered * self.answered_probability
        return (self.mean_wait - answered_part) / abandon

    # ---- waiting-time distribution

    def service_level(self, threshold: float) -> float:
        """P(answered and W ≤ t) over **all** arrivals, abandoned ones included.

        This is the usual contact-center service level "answered within t / offered":
        abandoned customers count as failures whatever their wait. Its limit as t → ∞ is
        1 - P(Ab), not 1.
        """
        threshold = _check_threshold(threshold)
        weights = self._arrival_queue_probabilities
        answered_at_once = float(self.state_probabilities[: self.servers].sum())
        if weights.size == 0:
            return answered_at_once
        alpha = self._full_capacity
        positions = self._positions
        if self.abandon_rate > 0:
            # 1 - I_x(α/θ+1, m) = I_{1-x}(m, α/θ+1), with 1-x computed without cancellation.
            reached = special.betainc(
                positions,
                alpha / self.abandon_rate + 1.0,
                -math.expm1(-self.abandon_rate * threshold),
            )
        else:
            reached = special.gammainc(positions, alpha * threshold)
        answered = self._answered_given_position()
        return answered_at_once + float(np.dot(weights, answered * reached))

    def service_level_of_answered(self, threshold: float) -> float:
        """P(W ≤ t | answered): the service level counted over answered customers only."""
        return self.service_level(threshold) / self.answered_probability

    def wait_within(self, threshold: float) -> float:
        """P(W ≤ t) over all arrivals, W = time in queue until answered *or* abandoned."""
        threshold = _check_threshold(threshold)
        weights = self._arrival_queue_probabilities
        answered_at_once = float(self.state_probabilities[: self.servers].sum())
        if weights.size == 0:
            return answered_at_once
        alpha = self._full_capacity
        positions = self._positions
        if self.abandon_rate > 0:
            # I_x(α/θ, m) = 1 - I_{1-x}(m, α/θ); the complement keeps 1-x exact for tiny θt.
            virtual_survival = special.betaincc(
                positions, alpha / self.abandon_rate, -math.expm1(-self.abandon_rate * threshold)
            )
        else:
            virtual_survival = special.gammaincc(positions, alpha * threshold)
        still_waiting = virtual_survival * math.exp(-self.abandon_rate * threshold)
        return answered_at_once + float(np.dot(weights, 1.0 - still_waiting))

    def abandon_within(self, threshold: float) -> float:
        """P(abandoned and W ≤ t): share of arrivals who give up within t (useful for
        service-level variants that discount short abandons)."""
        return self.wait_within(threshold) - self.service_level(threshold)


def erlang_a(
    arrival_rate: float, service_rate: float, servers: int, abandon_rate: float
) -> ErlangA:
    """Steady state of M/M/c+M (Erlang A) from its birth-death chain.

    ``abandon_rate`` θ is the rate of the exponential patience (1/mean patience). With
    θ > 0 the system is stable at any load; θ = 0 is allowed and reproduces Erlang C, but
    then λ/μ must be below c.
    """
    arrival_rate = _check_rate("arrival_rate", arrival_rate, allow_zero=False)
    service_rate = _check_rate("service_rate", service_rate, allow_zero=False)
    servers = _check_servers(servers)
    abandon_rate = _check_rate("abandon_rate", abandon_rate, allow_zero=True)
    if abandon_rate == 0:
        _require_stable(arrival_rate / service_rate, servers)
    log_weights = _log_state_weights(arrival_rate, service_rate, servers, abandon_rate)
    probabilities = np.exp(log_weights - special.logsumexp(log_weights))
    probabilities /= probabilities.sum()
    probabilities.setflags(write=False)
    return ErlangA(arrival_rate, service_rate, servers, abandon_rate, probabilities)


# --------------------------------------------------------------------------- staffing


def smallest_meeting(
    meets: Callable[[int], bool], start: int, lowest: int, highest: int
) -> int | None:
    """Smallest ``c`` in ``[lowest, highest]`` with ``meets(c)``, or None if even
    ``highest`` fails, for a criterion that stays met once met (more servers never hurt).

    Gallops away from ``start`` (steps of 1, 2, 4, ...) and then bisects, so it costs
    O(log |answer - start|) evaluations: few when ``start`` is a good estimate, which
    matters when each evaluation is a simulation (``ccsim staff``)."""
    start = min(max(start, lowest), highest)
    if meets(start):
        passing, failing, step = start, lowest - 1, 1
        while passing > lowest:
            candidate = max(passing - step, lowest)
            if not meets(candidate):
                failing = candidate
                break
            passing, step = candidate, step * 2
    else:
        failing, step = start, 1
        while True:
            if failing == highest:
                return None
            candidate = min(failing + step, highest)
            if meets(candidate):
                passing = candidate
                break
            failing, step = candidate, step * 2
    while passing - failing > 1:
        middle = (passing + failing) // 2
        if meets(middle):
            passing = middle
        else:
            failing = middle
    return passing


def _smallest_servers(meets: Callable[[int], bool], start: int, lowest: int = 1) -> int:
    """Smallest c ≥ ``lowest`` with ``meets(c)``, searched from the offered load."""
    servers = smallest_meeting(meets, start, lowest, MAX_SERVERS)
    if servers is None:
        raise ValueError(f"target not reachable with {MAX_SERVERS} servers")
    return servers


def _queue_model(
    arrival_rate: float, service_rate: float, servers: int, patience_rate: float | None
) -> ErlangC | ErlangA:
    if patience_rate is None:
        return erlang_c(arrival_rate, service_rate, servers)
    return erlang_a(arrival_rate, service_rate, servers, patience_rate)


def _check_staffing_rates(
    arrival_rate: float, service_rate: float, patience_rate: float | None
) -> tuple[float, float, float | None]:
    arrival_rate = _check_rate("arrival_rate", arrival_rate, allow_zero=False)
    service_rate = _check_rate("service_rate", service_rate, allow_zero=False)
    if patience_rate is not None:
        patience_rate = _check_rate("patience_rate", patience_rate, allow_zero=False)
    return arrival_rate, service_rate, patience_rate


def _first_candidate(arrival_rate: float, service_rate: float, patience_rate: float | None) -> int:
    """Erlang C needs c > a; with abandonment start at the load and let bisection go down."""
    load = arrival_rate / service_rate
    return math.floor(load) + 1 if patience_rate is None else max(1, math.ceil(load))


def servers_for_service_level(
    arrival_rate: float,
    service_rate: float,
    target: float,
    threshold: float,
    patience_rate: float | None = None,
) -> int:
    """Smallest c with service level (answered within ``threshold``) ≥ ``target``.

    Erlang C when ``patience_rate`` is None, else Erlang A, whose service level counts
    abandoned customers as failures (see :meth:`ErlangA.service_level`).
    """
    arrival_rate, service_rate, patience_rate = _check_staffing_rates(
        arrival_rate, service_rate, patience_rate
    )
    target = _check_probability_target("service-level target", target)
    threshold = _check_threshold(threshold)
    lowest = _first_candidate(arrival_rate, service_rate, patience_rate)

    def meets(servers: int) -> bool:
        model = _queue_model(arrival_rate, service_rate, servers, patience_rate)
        return model.service_level(threshold) >= target

    return _smallest_servers(meets, lowest, 1 if patience_rate is not None else lowest)


def servers_for_abandonment(
    arrival_rate: float, service_rate: float, patience_rate: float, target: float
) -> int:
    """Smallest c with Erlang A abandonment probability ≤ ``target``."""
    arrival_rate, service_rate, patience_rate = _check_staffing_rates(
        arrival_rate, service_rate, patience_rate
    )
    target = _check_probability_target("abandonment target", target)

    def meets(servers: int) -> bool:
        model = erlang_a(arrival_rate, service_rate, servers, patience_rate)
        return model.abandon_probability <= target

    return _smallest_servers(meets, _first_candidate(arrival_rate, service_rate, patience_rate))


def servers_for_wait(
    arrival_rate: float,
    service_rate: float,
    target: float,
    patience_rate: float | None = None,
) -> int:
    """Smallest c with mean wait over all arrivals E[W] ≤ ``target`` (same time unit as
    the rates); Erlang C, or Erlang A when ``patience_rate`` is given."""
    arrival_rate, service_rate, patience_rate = _check_staffing_rates(
        arrival_rate, service_rate, patience_rate
    )
    target = _check_rate("mean-wait target", target, allow_zero=False)
    lowest = _first_candidate(arrival_rate, service_rate, patience_rate)

    def meets(servers: int) -> bool:
        return _queue_model(arrival_rate, service_rate, servers, patience_rate).mean_wait <= target

    return _smallest_servers(meets, lowest, 1 if patience_rate is not None else lowest)


def servers_from_agents(agents: int, max_chats: int) -> int:
    """Equivalent server count of ``agents`` chat agents holding up to ``max_chats`` chats
    each with no slowdown: every chat slot is an independent server."""
    agents = _check_servers(agents, minimum=0)
    max_chats = _check_servers(max_chats, minimum=1)
    return agents * max_chats


# --------------------------------------------------------------------------- networks


def jackson_arrival_rates(
    external_rates: Mapping[str, float], routing: Mapping[str, Mapping[str, float]]
) -> dict[str, float]:
    """Total arrival rate λ of each node of an open Jackson network: λ = γ + λP.

    ``external_rates[i]`` is γᵢ; ``routing[i][j]`` the probability that a customer
    finishing at i moves to j (a cold transfer); what is missing from a row leaves the
    network. Nodes named only in ``routing`` get γ = 0. Each node can then be checked as
    its own M/M/c queue with arrival rate λᵢ.
    """
    nodes = list(
        dict.fromkeys([*external_rates, *routing, *(j for r in routing.values() for j in r)])
    )
    index = {node: k for k, node in enumerate(nodes)}
    external = np.zeros(len(nodes))
    for node, rate in external_rates.items():
        external[index[node]] = _check_rate(f"external rate of {node!r}", rate, allow_zero=True)
    transfer = np.zeros((len(nodes), len(nodes)))
    for source, row in routing.items():
        for destination, probability in row.items():
            probability = float(probability)
            if not 0 <= probability <= 1:
                raise ValueError(
                    f"routing probability {source!r} -> {destination!r} must be in [0, 1], "
                    f"got {probability!r}"
                )
            transfer[index[source], index[destination]] += probability
        if transfer[index[source]].sum() > 1 + 1e-12:
            raise ValueError(
                f"routing probabilities out of {source!r} sum to "
                f"{transfer[index[source]].sum():.6g} > 1"
            )
    if nodes and np.max(np.abs(np.linalg.eigvals(transfer))) >= 1 - 1e-12:
        raise ValueError(
            "routing is closed: some customers are transferred forever and never leave "
            "the network, so arrival rates are unbounded"
        )
    rates = np.linalg.solve(np.eye(len(nodes)) - transfer.T, external) if nodes else external
    return {node: float(rates[index[node]]) for node in nodes}


# --------------------------------------------------------------------------- arrivals


def poisson_count_interval(lam_mean: float, confidence: float) -> tuple[int, int]:
    """Two-sided interval [lo, hi] for a Poisson count with mean ``lam_mean``.

    lo and hi are the (1-confidence)/2 and (1+confidence)/2 quantiles, so each tail
    outside the interval has probability at most (1-confidence)/2 and the coverage is at
    least ``confidence`` (counts are discrete). For a non-homogeneous Poisson process the
    mean is the integral of the rate over the window.
    """
    lam_mean = _check_rate("lam_mean", lam_mean, allow_zero=True)
    confidence = _check_probability_target("confidence", confidence)
    if lam_mean == 0:
        return 0, 0
    tail = (1.0 - confidence) / 2.0
    low = stats.poisson.ppf(tail, lam_mean)
    high = stats.poisson.ppf(1.0 - tail, lam_mean)
    return int(low), int(high)
