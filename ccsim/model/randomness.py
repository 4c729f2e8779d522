"""Explicit random streams: one numpy stream per role and name, never global state.

Replication ``r`` of seed ``s`` starts from ``SeedSequence(s).spawn(R)[r]`` (which is
``SeedSequence(s, spawn_key=(r,))`` whatever ``R`` is). Every role (arrivals, patience,
handle times, transfer decisions, offers, ...) of every directory or agent group gets its
own child keyed by the role and a stable hash of the name, so adding a directory or
changing the transfer rules leaves every other stream untouched: this is what makes
common random numbers work for paired comparisons.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterator
from itertools import chain, repeat

import numpy as np

from ccsim.scenario.schema import (
    Arrivals,
    Constant,
    Empirical,
    Exponential,
    Gamma,
    LogNormal,
    Mixture,
    Uniform,
)

ROLES: dict[str, int] = {
    "arrivals": 1,
    "patience": 2,
    "handle": 3,
    "transfer_decision": 4,
    "offer": 5,
    "wrap_up": 6,
    "transfer": 7,
    "patience_in_transfer": 8,
    "handle_after_transfer": 9,
    "decision_after_transfer": 10,
    "group_transfer_decision": 11,  # rules of a group's members after an agent transfer
    # Roles of later features take numbers of their own (not the next free one), so that
    # features developed side by side never share a stream.
    "busyness": 21,  # the day's factor on every arrival rate (one draw per replication)
    "initial_patience": 22,  # patience of the chats waiting in an initial state
    "initial_handle": 23,  # their handling work
    "initial_decision": 24,  # whether (and which) transfer follows it
    # Customers' behaviour (issue 14): a retried attempt draws its times from streams of
    # its own, so first attempts keep their draws whatever the retries do.
    "balk": 31,  # whether a customer who finds no free agent leaves at once
    "retry": 32,  # whether a customer who abandoned tries again
    "retry_delay": 33,  # how long until it does
    "retry_patience": 34,
    "retry_handle": 35,
    "retry_decision": 36,  # the transfer decision of a retried attempt's first leg
}

BLOCK = 512  # values drawn per numpy call: amortises the call, same sequence either way


def replication_seed(seed: int, replication: int) -> np.random.SeedSequence:
    """The seed sequence of one replication, equal to ``SeedSequence(seed).spawn(n)[r]``."""
    return np.random.SeedSequence(seed, spawn_key=(replication,))


def stream(root: np.random.SeedSequence, role: str, name: str) -> np.random.Generator:
    """The generator for ``role`` of the directory, group or rule called ``name``."""
    key = (*root.spawn_key, ROLES[role], zlib.crc32(name.encode()))
    child = np.random.SeedSequence(root.entropy, spawn_key=key, pool_size=root.pool_size)
    return np.random.Generator(np.random.PCG64(child))


Distribution = Constant | Exponential | LogNormal | Gamma | Uniform | Empirical | Mixture


def block_drawer(dist: Distribution, rng: np.random.Generator) -> Callable[[int], np.ndarray]:
    """A function drawing ``n`` values of ``dist`` from ``rng`` in one numpy call."""
    if isinstance(dist, Exponential):
        mean = dist.mean
        return lambda n: rng.exponential(mean, n)
    if isinstance(dist, LogNormal):
        sigma2 = math.log1p(dist.cv**2)
        mu, sigma = math.log(dist.mean) - sigma2 / 2, math.sqrt(sigma2)
        return lambda n: rng.lognormal(mu, sigma, n)
    if isinstance(dist, Gamma):
        shape, scale = 1 / dist.cv**2, dist.mean * dist.cv**2
        return lambda n: rng.gamma(shape, scale, n)
    if isinstance(dist, Uniform):
        low, high = dist.low, dist.high
        return lambda n: rng.uniform(low, high, n)
    if isinstance(dist, Empirical):
        values = np.asarray(dist.values, dtype=float)
        return lambda n: values[rng.integers(0, len(values), n)]
    if isinstance(dist, Constant):
        value = dist.value
        return lambda n: np.full(n, value)
    if isinstance(dist, Mixture):
        return _mixture_drawer(dist, rng)
    raise TypeError(f"unknown distribution {dist!r}")


def _mixture_drawer(dist: Mixture, rng: np.random.Generator) -> Callable[[int], np.ndarray]:
    """Choose each value's component by weight, then draw each component's values in one
    call: the same stream, the same values, however the block is split."""
    weights = np.asarray(dist.weights)
    parts = [block_drawer(component.of, rng) for component in dist.components]

    def draw(n: int) -> np.ndarray:
        chosen = rng.choice(len(parts), size=n, p=weights)
        values = np.empty(n)
        for index, part in enumerate(parts):
            where = chosen == index
            count = int(where.sum())
            if count:
                values[where] = part(count)
        return values

    return draw


def sampler(dist: Distribution | None, rng: np.random.Generator) -> Callable[[], float]:
    """A zero-argument function returning the next value of ``dist``.

    Constants (and ``None``, meaning infinity, for patience) consume no random numbers,
    so making a time constant in a candidate scenario does not shift the other draws.
    Their ``next`` of :func:`itertools.repeat` is called in C: a model draws several
    per chat (infinite patience, instant answers, no wrap-up).
    """
    if dist is None:
        return repeat(math.inf).__next__
    if isinstance(dist, Constant):
        return repeat(dist.value).__next__
    draw = block_drawer(dist, rng)
    return _block_values(lambda: draw(BLOCK).tolist())


def uniform_sampler(rng: np.random.Generator) -> Callable[[], float]:
    """Next U(0, 1) value, for decisions (which transfer, whether an offer is missed)."""
    return _block_values(lambda: rng.random(BLOCK).tolist())


def _block_values(block: Callable[[], list[float]]) -> Callable[[], float]:
    """``next`` of the endless concatenation of ``block()`` lists: iterated in C, which
    costs less per value than resuming a generator."""
    return chain.from_iterable(iter(block, None)).__next__


def arrival_times(
    arrivals: Arrivals, rng: np.random.Generator, busyness: float = 1.0
) -> Iterator[float]:
    """Arrival instants: the explicit ``times``, or a Poisson process with a
    piecewise-constant rate, every rate multiplied by the day's ``busyness``.

    Each Poisson arrival uses one Exp(1) draw, spent against the integrated rate (inversion),
    so the process is exact at every change of rate and the draw count per arrival is one.
    Explicit times are replayed as given, whatever the busyness.
    """
    if arrivals.times:
        return iter(arrivals.times)  # replayed exactly, no random numbers
    return _poisson_times(arrivals, rng, busyness)


def busyness_factor(dist: Distribution | None, rng: np.random.Generator) -> float:
    """The day's factor on every arrival rate: one draw of ``dist`` (1 without one),
    capped at ``MAX_BUSYNESS`` so that a run stays finite."""
    from ccsim.scenario.limits import MAX_BUSYNESS

    if dist is None:
        return 1.0
    return min(max(sampler(dist, rng)(), 0.0), MAX_BUSYNESS)


def _constant_rate_times(rate: float, rng: np.random.Generator) -> Iterator[float]:
    """:func:`_poisson_times` with one rate, a block of instants per numpy call.

    The same Exp(1) draws (blocks of ``BLOCK``), each divided by the rate and added to
    the previous instant, left to right (``np.cumsum`` adds in order, as the loop does):
    the same instants to the last bit (``tests/test_scale.py`` checks it), without a
    Python step per arrival."""
    if not rate > 0:
        return iter(())

    def blocks() -> Iterator[list[float]]:
        now = 0.0
        while True:
            steps = rng.exponential(1.0, BLOCK) / rate
            steps[0] += now
            instants = np.cumsum(steps)
            now = float(instants[-1])
            yield instants.tolist()

    return chain.from_iterable(blocks())


def _poisson_times(
    arrivals: Arrivals, rng: np.random.Generator, busyness: float = 1.0
) -> Iterator[float]:
    if len(arrivals.schedule) == 1:  # one rate from 0 (the first piece's start is 0)
        return _constant_rate_times(arrivals.schedule[0].rate * busyness, rng)
    return _piecewise_times(arrivals, rng, busyness)


def _piecewise_times(
    arrivals: Arrivals, rng: np.random.Generator, busyness: float = 1.0
) -> Iterator[float]:
    unit = sampler(Exponential(dist="exponential", mean=1.0), rng)
    pieces = [(p.start, p.rate * busyness) for p in arrivals.schedule]
    ends = [p[0] for p in pieces[1:]] + [math.inf]
    index, now = 0, 0.0
    while True:
        budget = unit()
        while True:
            _start, rate = pieces[index]
            end = ends[index]
            span = end - now
            if rate > 0 and budget < rate * span:
                now += budget / rate
                break
            if end == math.inf:
                return  # a final rate of 0: no more arrivals
            budget -= rate * span
            now = end
            index += 1
        yield now
