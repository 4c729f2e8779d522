"""Checks of ccsim.theory against textbook values, brute-force computations and identities."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, linalg, stats

from ccsim.theory import (
    ErlangA,
    erlang_a,
    erlang_b,
    erlang_c,
    jackson_arrival_rates,
    poisson_count_interval,
    servers_for_abandonment,
    servers_for_service_level,
    servers_for_wait,
    servers_from_agents,
    smallest_meeting,
)

# ----------------------------------------------------------------- brute-force references


def factorial_erlang_b(servers: int, load: float) -> float:
    """Erlang B straight from its definition; only sensible for small c."""
    terms = [load**k / math.factorial(k) for k in range(servers + 1)]
    return terms[-1] / sum(terms)


def factorial_erlang_c(servers: int, load: float) -> float:
    """Erlang C straight from its definition; only sensible for small c."""
    head = sum(load**k / math.factorial(k) for k in range(servers))
    tail = load**servers / math.factorial(servers) * servers / (servers - load)
    return tail / (head + tail)


def generator_stationary(lam: float, mu: float, c: int, theta: float, states: int) -> np.ndarray:
    """Stationary law of the truncated M/M/c+M chain by solving πQ = 0, Σπ = 1."""
    q = np.zeros((states, states))
    for n in range(states):
        if n + 1 < states:
            q[n, n + 1] = lam
        if n > 0:
            q[n, n - 1] = min(n, c) * mu + max(n - c, 0) * theta
        q[n, n] = -q[n].sum()
    system = np.vstack([q.T, np.ones(states)])
    rhs = np.zeros(states + 1)
    rhs[-1] = 1.0
    return np.linalg.lstsq(system, rhs, rcond=None)[0]


def tagged_customer_probabilities(model: ErlangA, t: float) -> tuple[float, float]:
    """(P(answered within t), P(left queue within t)) from the tagged customer's own
    absorbing chain: positions m = 1..M, then 'answered' and 'abandoned'."""
    c, mu, theta = model.servers, model.service_rate, model.abandon_rate
    arrival = model.state_probabilities[c:]
    positions = arrival.size
    answered, abandoned = positions, positions + 1
    q = np.zeros((positions + 2, positions + 2))
    for m in range(1, positions + 1):
        i = m - 1
        q[i, i - 1 if m > 1 else answered] = c * mu + (m - 1) * theta
        q[i, abandoned] = theta
        q[i, i] = -(c * mu + m * theta)
    start = np.zeros(positions + 2)
    start[:positions] = arrival
    at_t = start @ linalg.expm(q * t)
    answered_at_once = model.state_probabilities[:c].sum()
    return answered_at_once + at_t[answered], answered_at_once + at_t[answered] + at_t[abandoned]


# ----------------------------------------------------------------- Erlang B and C


def test_erlang_b_textbook_value() -> None:
    assert erlang_b(10, 5.0) == pytest.approx(0.018385, abs=1e-6)
    assert erlang_b(0, 3.0) == 1.0
    assert erlang_b(5, 0.0) == 0.0


@pytest.mark.parametrize("servers", [1, 2, 5, 10, 15, 20])
@pytest.mark.parametrize("occupancy", [0.1, 0.5, 0.8, 0.95])
def test_erlang_b_and_c_match_factorial_formulas(servers: int, occupancy: float) -> None:
    load = occupancy * servers
    assert erlang_b(servers, load) == pytest.approx(factorial_erlang_b(servers, load), rel=1e-12)
    model = erlang_c(load, 1.0, servers)
    assert model.probability_of_waiting == pytest.approx(
        factorial_erlang_c(servers, load), rel=1e-12
    )


def test_erlang_c_textbook_value_and_derived_quantities() -> None:
    model = erlang_c(arrival_rate=10.0, service_rate=1.0, servers=12)
    assert model.probability_of_waiting == pytest.approx(0.449388, abs=1e-6)
    assert model.offered_load == 10.0
    assert model.occupancy == pytest.approx(10 / 12)
    assert model.mean_wait == pytest.approx(model.probability_of_waiting / 2.0)
    assert model.mean_wait_of_waiting == pytest.approx(0.5)
    assert model.mean_queue_length == pytest.approx(10.0 * model.mean_wait)
    assert model.service_level(0.0) == pytest.approx(1 - model.probability_of_waiting)
    assert model.service_level(1.0) == pytest.approx(1 - 0.449388 * math.exp(-2.0), abs=1e-6)


def test_erlang_c_wait_quantile_inverts_service_level() -> None:
    model = erlang_c(10.0, 1.0, 12)
    assert model.wait_quantile(0.5) == 0.0  # more than half are answered at once
    for p in (0.6, 0.8, 0.95, 0.999):
        t = model.wait_quantile(p)
        assert t > 0
        assert model.service_level(t) == pytest.approx(p, rel=1e-12)
    assert model.wait_quantile(1.0) == math.inf


@pytest.mark.parametrize(("lam", "c"), [(12.0, 12), (13.0, 12)])
def test_erlang_c_unstable_raises(lam: float, c: int) -> None:
    with pytest.raises(ValueError, match="unstable"):
        erlang_c(lam, 1.0, c)
    with pytest.raises(ValueError, match="unstable"):
        erlang_a(lam, 1.0, c, 0.0)


def test_invalid_arguments_raise() -> None:
    with pytest.raises(ValueError):
        erlang_c(1.0, 0.0, 2)
    with pytest.raises(ValueError):
        erlang_c(1.0, 1.0, 0)
    with pytest.raises(ValueError):
        erlang_b(2.5, 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        erlang_a(1.0, 1.0, 2, -0.1)
    with pytest.raises(ValueError):
        erlang_c(1.0, 1.0, 2).service_level(-1.0)


def test_large_system_is_numerically_stable() -> None:
    servers, load = 2000, 0.99 * 2000
    blocking = erlang_b(servers, load)
    assert math.isfinite(blocking) and 0 < blocking < 1
    model_c = erlang_c(load, 1.0, servers)
    assert math.isfinite(model_c.probability_of_waiting)
    assert 0 <= model_c.probability_of_waiting <= 1
    assert math.isfinite(model_c.mean_wait) and model_c.mean_wait > 0
    for theta in (0.0, 0.01, 1.0):
        model_a = erlang_a(load, 1.0, servers, theta)
        assert np.all(np.isfinite(model_a.state_probabilities))
        assert model_a.state_probabilities.sum() == pytest.approx(1.0)
        assert 0 <= model_a.probability_of_waiting <= 1
        assert 0 <= model_a.service_level(0.05) <= 1
    # θ = 0 is Erlang C even at this size.
    assert erlang_a(load, 1.0, servers, 0.0).probability_of_waiting == pytest.approx(
        model_c.probability_of_waiting, rel=1e-10
    )


# ----------------------------------------------------------------- Erlang A


@pytest.mark.parametrize("theta", [0.0, 1e-9, 1e-6])
def test_erlang_a_tends_to_erlang_c(theta: float) -> None:
    model_c = erlang_c(10.0, 1.0, 12)
    model_a = erlang_a(10.0, 1.0, 12, theta)
    tolerance = 1e-9 + 100 * theta  # the gap to Erlang C is O(θ)
    assert model_a.probability_of_waiting == pytest.approx(
        model_c.probability_of_waiting, abs=tolerance
    )
    assert model_a.mean_wait == pytest.approx(model_c.mean_wait, abs=tolerance)
    assert model_a.mean_wait_answered == pytest.approx(model_c.mean_wait, abs=tolerance)
    assert model_a.mean_queue_length == pytest.approx(model_c.mean_queue_length, abs=tolerance)
    assert model_a.abandon_probability == pytest.approx(0.0, abs=tolerance)
    for t in (0.0, 0.1, 0.5, 2.0):
        assert model_a.service_level(t) == pytest.approx(model_c.service_level(t), abs=tolerance)
        assert model_a.wait_within(t) == pytest.approx(model_c.service_level(t), abs=tolerance)


@pytest.mark.parametrize(
    ("lam", "mu", "c", "theta"),
    [(10.0, 1.0, 12, 0.5), (15.0, 1.0, 12, 0.2), (4.0, 0.5, 5, 2.0), (30.0, 1.0, 40, 1.0)],
)
def test_erlang_a_identities(lam: float, mu: float, c: int, theta: float) -> None:
    model = erlang_a(lam, mu, c, theta)
    # Flow balance: customers answered per unit time = completions per unit time.
    assert lam * (1 - model.abandon_probability) == pytest.approx(
        mu * model.mean_busy_servers, rel=1e-10
    )
    # Abandonment: the queue loses θ per waiting customer.
    assert model.abandon_probability == pytest.approx(
        theta * model.mean_queue_length / lam, rel=1e-10
    )
    # Little's law for the queue.
    assert model.mean_wait == pytest.approx(model.mean_queue_length / lam, rel=1e-10)
    assert model.answered_probability == pytest.approx(1 - model.abandon_probability, rel=1e-12)
    # Service level limits.
    assert model.service_level(0.0) == pytest.approx(1 - model.probability_of_waiting)
    assert model.service_level(1e4) == pytest.approx(model.answered_probability, rel=1e-10)
    assert model.wait_within(1e4) == pytest.approx(1.0, rel=1e-10)
    assert model.abandon_within(1e4) == pytest.approx(model.abandon_probability, rel=1e-8)
    # Waits of answered and abandoned customers average to the overall wait.
    mixed = (
        model.answered_probability * model.mean_wait_answered
        + model.abandon_probability * model.mean_wait_abandoned
    )
    assert mixed == pytest.approx(model.mean_wait, rel=1e-10)


@pytest.mark.parametrize(
    ("lam", "mu", "c", "theta"),
    [(8.0, 1.0, 10, 0.5), (12.0, 1.0, 10, 0.3), (3.0, 1.0, 2, 1.5)],
)
def test_erlang_a_matches_direct_numerical_computation(
    lam: float, mu: float, c: int, theta: float
) -> None:
    model = erlang_a(lam, mu, c, theta)
    direct = generator_stationary(lam, mu, c, theta, states=250)
    n = np.arange(direct.size)
    queue = np.maximum(n - c, 0)
    assert model.probability_of_waiting == pytest.approx(direct[c:].sum(), abs=1e-12)
    assert model.mean_queue_length == pytest.approx(queue @ direct, rel=1e-9)
    assert model.abandon_probability == pytest.approx(theta * (queue @ direct) / lam, rel=1e-9)
    # Waiting-time distribution against the tagged customer's chain (matrix exponential).
    for t in (0.05, 0.3, 1.0, 3.0):
        answered_within, left_within = tagged_customer_probabilities(model, t)
        assert model.service_level(t) == pytest.approx(answered_within, abs=1e-9)
        assert model.wait_within(t) == pytest.approx(left_within, abs=1e-9)
    # Mean answered wait: E[W; answered] = ∫ (P(answered) - P(answered, W ≤ t)) dt.
    gap, _ = integrate.quad(
        lambda t: model.answered_probability - model.service_level(t), 0, np.inf, limit=200
    )
    assert model.mean_wait_answered == pytest.approx(gap / model.answered_probability, rel=1e-6)


def test_erlang_a_overloaded_is_stable() -> None:
    model = erlang_a(arrival_rate=30.0, service_rate=1.0, servers=20, abandon_rate=0.1)
    assert model.probability_of_waiting > 0.99
    # About the excess 10/h must abandon: λ·P(Ab) ≈ λ - cμ.
    assert 30.0 * model.abandon_probability == pytest.approx(10.0, rel=0.05)
    assert model.state_probabilities.sum() == pytest.approx(1.0)


# ----------------------------------------------------------------- staffing


@pytest.mark.parametrize(("lam", "mu"), [(10.0, 1.0), (100.0, 0.25), (1980.0, 1.0)])
@pytest.mark.parametrize(("target", "threshold"), [(0.8, 0.1), (0.95, 0.05)])
def test_servers_for_service_level_erlang_c_is_minimal(
    lam: float, mu: float, target: float, threshold: float
) -> None:
    c = servers_for_service_level(lam, mu, target, threshold)
    assert erlang_c(lam, mu, c).service_level(threshold) >= target
    if c - 1 > lam / mu:
        assert erlang_c(lam, mu, c - 1).service_level(threshold) < target


@pytest.mark.parametrize(("lam", "theta"), [(10.0, 0.5), (200.0, 2.0)])
@pytest.mark.parametrize("target", [0.3, 0.8, 0.95])
def test_servers_for_service_level_erlang_a_is_minimal(
    lam: float, theta: float, target: float
) -> None:
    c = servers_for_service_level(lam, 1.0, target, 0.1, patience_rate=theta)
    assert erlang_a(lam, 1.0, c, theta).service_level(0.1) >= target
    if c > 1:
        assert erlang_a(lam, 1.0, c - 1, theta).service_level(0.1) < target


@pytest.mark.parametrize("target", [0.001, 0.02, 0.2, 0.6])
def test_servers_for_abandonment_is_minimal(target: float) -> None:
    lam, mu, theta = 50.0, 1.0, 0.5
    c = servers_for_abandonment(lam, mu, theta, target)
    assert erlang_a(lam, mu, c, theta).abandon_probability <= target
    if c > 1:
        assert erlang_a(lam, mu, c - 1, theta).abandon_probability > target


@pytest.mark.parametrize("patience_rate", [None, 0.5])
@pytest.mark.parametrize("target", [0.01, 0.2, 1.0])
def test_servers_for_wait_is_minimal(patience_rate: float | None, target: float) -> None:
    lam, mu = 20.0, 1.0

    def wait(c: int) -> float:
        if patience_rate is None:
            return erlang_c(lam, mu, c).mean_wait if c > lam / mu else math.inf
        return erlang_a(lam, mu, c, patience_rate).mean_wait

    c = servers_for_wait(lam, mu, target, patience_rate=patience_rate)
    assert wait(c) <= target
    if c > 1:
        assert wait(c - 1) > target


def test_servers_from_agents() -> None:
    assert servers_from_agents(7, 3) == 21
    assert servers_from_agents(0, 3) == 0
    with pytest.raises(ValueError):
        servers_from_agents(2, 0)


# ----------------------------------------------------------------- Jackson and Poisson


def test_jackson_three_node_known_solution() -> None:
    # A -> B always, B -> C half the time, C -> A half the time; external arrivals at A
    # and C. λA = 1 + λC/2, λB = λA, λC = 2 + λB/2  =>  λA = 8/3, λB = 8/3, λC = 10/3.
    rates = jackson_arrival_rates(
        {"A": 1.0, "C": 2.0}, {"A": {"B": 1.0}, "B": {"C": 0.5}, "C": {"A": 0.5}}
    )
    assert rates == pytest.approx({"A": 8 / 3, "B": 8 / 3, "C": 10 / 3})


def test_jackson_satisfies_traffic_equations_and_rejects_closed_routing() -> None:
    external = {"sales": 3.0, "support": 1.0}
    routing = {"sales": {"support": 0.2, "billing": 0.1}, "billing": {"sales": 0.3}}
    rates = jackson_arrival_rates(external, routing)
    assert set(rates) == {"sales", "support", "billing"}
    for node, rate in rates.items():
        inflow = external.get(node, 0.0) + sum(
            rates[src] * row.get(node, 0.0) for src, row in routing.items()
        )
        assert rate == pytest.approx(inflow)
    with pytest.raises(ValueError, match="never leave"):
        jackson_arrival_rates({"A": 1.0}, {"A": {"B": 1.0}, "B": {"A": 1.0}})
    with pytest.raises(ValueError, match="sum"):
        jackson_arrival_rates({"A": 1.0}, {"A": {"B": 0.7, "C": 0.6}})


@pytest.mark.parametrize("mean", [0.5, 10.0, 1234.5])
@pytest.mark.parametrize("confidence", [0.9, 0.99])
def test_poisson_count_interval_covers(mean: float, confidence: float) -> None:
    low, high = poisson_count_interval(mean, confidence)
    assert low <= mean <= high
    coverage = stats.poisson.cdf(high, mean) - stats.poisson.cdf(low - 1, mean)
    assert coverage >= confidence
    assert poisson_count_interval(0.0, confidence) == (0, 0)


# ----------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(
    load=st.floats(min_value=0.1, max_value=300.0),
    extra=st.integers(min_value=0, max_value=50),
    theta=st.one_of(st.none(), st.floats(min_value=0.01, max_value=5.0)),
)
def test_probability_of_waiting_decreases_with_servers(
    load: float, extra: int, theta: float | None
) -> None:
    c = math.floor(load) + 1 + extra
    if theta is None:
        smaller, larger = erlang_c(load, 1.0, c), erlang_c(load, 1.0, c + 1)
    else:
        smaller, larger = erlang_a(load, 1.0, c, theta), erlang_a(load, 1.0, c + 1, theta)
    assert larger.probability_of_waiting <= smaller.probability_of_waiting + 1e-12
    assert 0 <= larger.probability_of_waiting <= 1


@given(
    answer=st.integers(0, 400),
    start=st.integers(0, 400),
    lowest=st.integers(0, 50),
    highest=st.integers(50, 300),
)
def test_smallest_meeting_finds_the_threshold_or_says_none(
    answer: int, start: int, lowest: int, highest: int
) -> None:
    """The search shared by the Erlang helpers and ``ccsim staff``: exact for any monotone
    criterion, None when even ``highest`` fails, never evaluating outside the range."""
    seen: list[int] = []

    def meets(count: int) -> bool:
        seen.append(count)
        return count >= answer

    found = smallest_meeting(meets, start, lowest, highest)
    assert found == (max(answer, lowest) if answer <= highest else None)
    assert all(lowest <= count <= highest for count in seen)
